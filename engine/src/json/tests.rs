//! The reader held to serde_json, the parser it replaced, on values and on text.

use super::*;
use alloc::{format, string::ToString};
use proptest::prelude::*;

/// The whole text as one data value, as `Context::from_json` reads it.
fn read(text: &str) -> Result<Result<Value, BadData>, Syntax> {
    let mut r = Reader::new(text);
    let v = r.value()?;
    r.end()?;
    Ok(v)
}

/// Whether the reader and serde_json agree on `text`: the same value, or both refuse.
fn agree(text: &str) -> Result<(), TestCaseError> {
    let ours = read(text);
    let theirs = serde_json::from_str::<Value>(text);
    match (&ours, &theirs) {
        (Ok(Ok(a)), Ok(b)) => {
            prop_assert_eq!(a, b, "{}", text);
            // The same representation too (u64, i64 or f64; the sign of zero).
            prop_assert_eq!(format!("{a:?}"), format!("{b:?}"), "{}", text);
        }
        (Ok(Err(_)) | Err(_), Err(_)) => {}
        _ => prop_assert!(false, "{text:?}: ours {ours:?}, serde_json {theirs:?}"),
    }
    // Skipping accepts exactly the grammar (it never checks surrogates or ranges).
    let mut r = Reader::new(text);
    let skipped = r.skip().and_then(|()| r.end());
    let ignored = serde_json::from_str::<serde::de::IgnoredAny>(text);
    prop_assert_eq!(
        skipped.is_ok(),
        ignored.is_ok(),
        "{:?}: {:?}",
        text,
        skipped
    );
    Ok(())
}

#[test]
fn numbers_are_read_as_serde_json_reads_them() {
    for text in [
        "0",
        "-0",
        "1",
        "-1",
        "18446744073709551615",
        "18446744073709551616",
        "-9223372036854775808",
        "-9223372036854775809",
        "1.5",
        "1e2",
        "1E+2",
        "1e-2",
        "-0.0",
        "0.1",
        "1e400",
        "-1e400",
        "1e-400",
        "2.2250738585072011e-308",
        "9007199254740993",
        "0.30000000000000004",
        "01",
        "1.",
        ".5",
        "+1",
        "-",
        "1e",
        "1e+",
        "NaN",
        "Infinity",
        "-Infinity",
        "0e999999999999999",
        "123456789012345678901234567890",
        "1.7976931348623157e308",
        "1.7976931348623159e308",
    ] {
        agree(text).unwrap();
    }
}

#[test]
fn strings_are_read_as_serde_json_reads_them() {
    for text in [
        r#""""#,
        r#""a""#,
        r#""\"\\\/\b\f\n\r\t""#,
        r#""\u0041\u00e9\u20ac""#,
        r#""\ud83d\ude00""#,
        r#""\ud800""#,
        r#""\udc00""#,
        r#""\ud800\u0041""#,
        r#""\ud800\n""#,
        r#""\ud800\ud800""#,
        r#""\ud800\x""#,
        r#""\x""#,
        r#""\u12""#,
        r#""\u12g4""#,
        "\"a\u{1}\"",
        "\"é😀\"",
        r#""abc"#,
        r#""\ud800\udc00\ud800""#,
        r#""x\ud800\udc00y""#,
    ] {
        agree(text).unwrap();
    }
}

#[test]
fn containers_are_read_as_serde_json_reads_them() {
    for text in [
        "[]",
        "{}",
        "[1,2]",
        "[1,]",
        "[,1]",
        r#"{"a":1,}"#,
        r#"{"a":1,"a":2}"#,
        r#"{"a" 1}"#,
        "{1:2}",
        r#"{"a":1 "b":2}"#,
        "[1 2]",
        "[",
        "{",
        r#"{"a":"#,
        " [ 1 , { } ] ",
        "[1] x",
        "",
        "   ",
        "nul",
        "tru",
        "true false",
        r#"{"\ud800":1}"#,
        r#"[{"a":[1e400]}]"#,
        "[\"\\ud800\", 1e400]",
    ] {
        agree(text).unwrap();
    }
}

#[test]
fn nesting_stops_at_128_arrays_and_objects() {
    for depth in [126, 127, 128, 129] {
        let arrays = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        agree(&arrays).unwrap();
        let objects = format!("{}1{}", r#"{"a":"#.repeat(depth), "}".repeat(depth));
        agree(&objects).unwrap();
    }
    // Skipped values are not limited, and skipping them does not recurse.
    let deep = format!("{}{}", "[{\"a\":".repeat(50_000) + "1", "}]".repeat(50_000));
    assert_eq!(Reader::new(&deep).skip(), Ok(()));
    let open = "[".repeat(50_000);
    assert!(Reader::new(&open).skip().is_err());
    let deep = format!("[{}{}", "[".repeat(127), "]".repeat(128));
    assert_eq!(
        read(&deep).unwrap().unwrap_err(),
        BadData {
            path: "/0".repeat(127),
            why: TOO_DEEP
        }
    );
}

#[test]
fn an_unreadable_part_of_data_is_located_by_a_pointer() {
    let bad = read(r#"{"a":[1,{"b/~":"\ud800"}],"c":1e400}"#)
        .unwrap()
        .unwrap_err();
    assert_eq!(bad.path, "/a/1/b~1~0");
    assert_eq!(bad.why, END_OF_HEX_ESCAPE);
    let bad = read(r#"{"\udc00x":1}"#).unwrap().unwrap_err();
    assert_eq!(bad.path, "/\\udc00x");
}

#[test]
fn strings_without_escapes_are_borrowed() {
    let mut r = Reader::new(r#""plain""#);
    assert!(matches!(r.string(), Ok(Ok(Cow::Borrowed("plain")))));
}

fn json_text() -> impl Strategy<Value = String> {
    let atom = prop_oneof![
        Just("null".to_string()),
        Just("true".to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|f| format!("{f:e}")),
        "-?(0|[1-9][0-9]{0,25})(\\.[0-9]{1,20})?([eE][+-]?[0-9]{1,4})?",
        "\"([a-z]|\\\\[nt\"\\\\/]|\\\\u[dD][89abAB][0-9a-f]{2}|\\\\u[dD][c-fC-F][0-9a-f]{2}|\\\\u00[0-9a-f]{2}|é){0,6}\"",
    ];
    atom.prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(|v| format!("[{}]", v.join(","))),
            prop::collection::vec(("[a-c]{1,2}", inner), 0..5).prop_map(|v| {
                let members: Vec<_> = v.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
                format!("{{{}}}", members.join(","))
            }),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3_000))]

    #[test]
    fn values_agree_with_serde_json(text in json_text()) {
        agree(&text)?;
    }

    #[test]
    fn damaged_values_agree_with_serde_json(
        text in json_text(),
        at in any::<prop::sample::Index>(),
        how in 0..4u8,
        byte in prop::sample::select(&b"{}[],:\"\\0123456789.eE+-tnu x"[..]),
    ) {
        let mut bytes = text.into_bytes();
        let i = at.index(bytes.len() + 1);
        match how {
            0 if i < bytes.len() => { bytes.remove(i); }
            1 => bytes.insert(i, byte),
            2 if i < bytes.len() => bytes[i] = byte,
            _ => bytes.truncate(i),
        }
        if let Ok(text) = core::str::from_utf8(&bytes) {
            agree(text)?;
        }
    }
}
