//! The reader held to the serde-based loader it replaced ([`super::reference`]):
//! on valid snapshots, on arbitrary JSON, and on valid snapshots damaged in every way
//! a byte or a member can be, both must load the same snapshot with the same warnings,
//! or refuse it with the same kind of error at the same JSON Pointer.

use alloc::{
    format,
    string::{String, ToString},
    vec,
    vec::Vec,
};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

use crate::{Context, Limits, LoadError, Loaded, Snapshot};

/// Every snapshot of the shared vectors, as text.
fn snapshots() -> &'static [String] {
    static ALL: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    ALL.get_or_init(|| {
        edgeflag_vectors::FILES
            .iter()
            .map(|(name, text)| edgeflag_vectors::parse(name, text)["snapshot"].to_string())
            .collect()
    })
}

fn contexts() -> Vec<Context> {
    ["u", "user-1", "user-2", "ada@example.com"]
        .iter()
        .map(|key| {
            Context::from_value(
                json!({"targetingKey": key, "email": key, "plan": "pro", "age": 30}),
            )
            .unwrap()
        })
        .collect()
}

/// What a warning says that must be the same: kind, key, pointer, and the message up
/// to the number it quotes (the reference printed numbers as serde formats doubles,
/// the reader quotes their text).
fn warnings(loaded: &Loaded) -> Vec<String> {
    loaded
        .warnings
        .iter()
        .map(|w| {
            let message = match w.message.find(", found ") {
                Some(at)
                    if w.message[at + 8..]
                        .starts_with(|c: char| c == '-' || c.is_ascii_digit()) =>
                {
                    &w.message[..at]
                }
                _ => &w.message,
            };
            format!("{:?} {:?} {} {}", w.kind, w.key, w.path, message)
        })
        .collect()
}

/// serde_json also read an object of the format written as an array of its members;
/// the reader refuses it as the format says. Where the reference refused such an array
/// for its length, the two must say the same.
fn as_object(text: String) -> String {
    let mut out = String::new();
    let mut rest = text.as_str();
    while let Some(at) = rest.find("cannot be read: invalid length ") {
        out.push_str(&rest[..at]);
        out.push_str("expected an object, found array");
        rest = &rest[at..];
        rest = &rest[rest.find(" elements").map_or(rest.len(), |e| e + 9)..];
    }
    out.push_str(rest);
    out
}

/// Where serde_json stopped inside arrays nested too deep depends on how it was
/// reading them (the reader names the outermost array that is too deep): pointers
/// that run through more than 100 arrays are compared up to there.
fn deep(text: &str) -> String {
    let run = "/0".repeat(100);
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(&run) {
        out.push_str(&rest[..at]);
        out.push_str("/0…");
        rest = rest[at..].trim_start_matches("/0");
    }
    out.push_str(rest);
    out
}

fn outcome(result: &Result<Loaded, LoadError>) -> String {
    match result {
        Ok(loaded) => {
            let s = &loaded.snapshot;
            let mut out = format!(
                "ok {} {} {} {:?}\n{:#?}\n",
                s.environment(),
                s.version(),
                s.generated_at(),
                s.audience(),
                warnings(loaded)
            );
            out.push_str(&format!("{:?}\n", s.flags().collect::<Vec<_>>()));
            for ctx in contexts() {
                out.push_str(&format!("{:?}\n", s.evaluate_all(&ctx, 1_795_608_000_000)));
            }
            out
        }
        // A text that is not JSON is refused by both; where they stop may differ.
        Err(LoadError::Json { .. }) => "not JSON".to_string(),
        Err(e) => format!(
            "refused {:?} at {:?}: {e}",
            core::mem::discriminant(e),
            e.path()
        ),
    }
}

/// Loads `text` with both and compares.
fn agree(text: &[u8]) -> Result<(), TestCaseError> {
    let limits = Limits::default();
    let ours = Snapshot::load_with_limits(text, &limits);
    let theirs = super::reference::load(text, &limits);
    let (a, b) = (deep(&outcome(&ours)), deep(&as_object(outcome(&theirs))));
    // Where the reader refused an object written as an array, the reference read
    // the array's elements as members: the known difference (see `as_object`).
    prop_assume!(a == b || !a.contains("expected an object, found array"));
    if a != b {
        let diff: Vec<_> = a
            .lines()
            .zip(b.lines())
            .filter(|(x, y)| x != y)
            .map(|(x, y)| format!("reader:    {x}\nreference: {y}"))
            .collect();
        prop_assert!(
            false,
            "{}\n{}",
            String::from_utf8_lossy(text)
                .chars()
                .take(3000)
                .collect::<String>(),
            diff.join("\n")
        );
    }
    Ok(())
}

#[test]
fn every_vector_snapshot_loads_the_same() {
    for text in snapshots() {
        agree(text.as_bytes()).unwrap();
    }
}

#[test]
fn known_corners_load_the_same() {
    let head =
        r#""schemaVersion":1,"environment":"e","version":1,"generatedAt":"2026-11-25T12:00:00Z""#;
    let flag = r#""key":"f","type":"boolean","variations":[{"key":"a","value":true}],"offVariation":"a","defaultRule":{"variation":"a"},"enabled":true"#;
    let deep = |n: usize| format!("{}1{}", "[".repeat(n), "]".repeat(n));
    for body in [
        format!(r#"{{{head},"flags":[{{{flag}}}]}}"#),
        format!(
            r#"{{{head},"flags":[{{{flag},"metadata":{{"a":{}}}}}]}}"#,
            deep(124)
        ),
        format!(
            r#"{{{head},"flags":[{{{flag},"metadata":{{"a":{}}}}}]}}"#,
            deep(125)
        ),
        format!(
            r#"{{{head},"flags":[{{{flag},"metadata":{{"a":{}}}}}]}}"#,
            deep(126)
        ),
        format!(
            r#"{{{head},"x":{},"flags":[{{{flag},"y":{}}}]}}"#,
            deep(5000),
            deep(5000)
        ),
        format!(r#"{{{head},"flags":[{{{flag},"\ud800":1}}]}}"#),
        format!(r#"{{{head},"flags":[{{{flag},"version":1e400,"key":"g"}}]}}"#),
        format!(r#"{{{head},"flags":[{{{flag},"enabled":"\ud800"}}]}}"#),
        format!(r#"{{{head},"flags":[{{{flag},"enabled":1e400}}]}}"#),
        format!(
            r#"{{{head},"flags":[{{{flag},"rules":[{{"serve":{{}},"conditions":[{{"op":"in","values":[1e400]}}]}}]}}]}}"#
        ),
        format!(r#"{{{head},"flags":[{{{flag},"key":"g","clientVisible":true}}]}}"#),
        format!(r#"{{{head},"flags":[{{{flag},"key":"g","clientVisible":true,"\udc00":1}}]}}"#),
        format!(r#"{{{head},"flags":[1,"\ud800",null,[]]}}"#),
        format!(r#"{{{head},"flags":"\ud800"}}"#),
        format!(r#"{{{head},"\ud800":1}}"#),
        format!(r#"{{{head},"flags":1e400}}"#),
        r#""\ud800""#.to_string(),
        "1e400".to_string(),
        format!(r#"{{{head},"environment":"\ud800"}}"#),
        format!(r#"{{{head},"version":"\ud800"}}"#),
        r#"{"schemaVersion":-0,"environment":"e","version":1e2,"generatedAt":"2026-11-25T12:00:00Z"}"#
            .to_string(),
    ] {
        agree(body.as_bytes()).unwrap();
    }
}

/// Replaces the value at a path (keys and indices chosen modulo the length) with
/// `with`, or removes it.
fn mutate(value: &mut Value, path: &[usize], with: Option<Value>) {
    let Some((&step, rest)) = path.split_first() else {
        return;
    };
    match value {
        Value::Object(map) if !map.is_empty() => {
            let key = map.keys().nth(step % map.len()).cloned().unwrap();
            let nested = matches!(map.get(&key), Some(Value::Object(_) | Value::Array(_)));
            if rest.is_empty() || !nested {
                match with {
                    Some(w) => drop(map.insert(key, w)),
                    None => drop(map.remove(&key)),
                }
            } else {
                mutate(map.get_mut(&key).unwrap(), rest, with);
            }
        }
        Value::Array(items) if !items.is_empty() => {
            let i = step % items.len();
            if rest.is_empty() || !matches!(items[i], Value::Object(_) | Value::Array(_)) {
                match with {
                    Some(w) => items[i] = w,
                    None => drop(items.remove(i)),
                }
            } else {
                mutate(&mut items[i], rest, with);
            }
        }
        _ => {}
    }
}

fn scalar() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        Just(None),
        Just(Some(Value::Null)),
        any::<bool>().prop_map(|b| Some(Value::Bool(b))),
        any::<i64>().prop_map(|n| Some(Value::from(n))),
        Just(Some(Value::from(-1.5))),
        Just(Some(Value::from(3.0))),
        Just(Some(Value::from(100_001))),
        "[a-z]{0,6}".prop_map(|s| Some(Value::String(s))),
        Just(Some(Value::Array(Vec::new()))),
        Just(Some(Value::Object(Map::new()))),
        Just(Some(json!([[["x"]]]))),
        Just(Some(json!({"variation": "a"}))),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "[a-z]{0,4}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("key".to_string()),
                    Just("type".to_string()),
                    Just("flags".to_string()),
                    Just("variations".to_string()),
                    "[a-z]{1,3}"
                ],
                inner,
                0..5
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Text edits that make JSON defects serde_json and the reader must both see.
fn damage(text: &str, at: usize, how: u8, byte: u8) -> Vec<u8> {
    let mut bytes = text.as_bytes().to_vec();
    let i = at % (bytes.len() + 1);
    // Member-level edits start at the next character boundary.
    let c = (i..=text.len())
        .find(|&j| text.is_char_boundary(j))
        .unwrap_or(text.len());
    match how {
        0 if i < bytes.len() => drop(bytes.remove(i)),
        1 => bytes.insert(i, byte),
        2 if i < bytes.len() => bytes[i] = byte,
        3 => {
            // Writes a member again: the text from a `"` to the next `,` or `}`.
            if let Some(start) = text[c..].find('"').map(|s| s + c)
                && let Some(len) = text[start..].find([',', '}'])
            {
                let member = text[start..start + len].to_string();
                let at = start + len;
                let insert = format!(",{member}");
                bytes.splice(at..at, insert.bytes());
            }
        }
        4 => {
            // Wraps a value in many arrays.
            if let Some(colon) = text[c..].find(':').map(|s| s + c + 1)
                && let Some(len) = text[colon..].find([',', '}'])
            {
                let n = 120 + usize::from(byte % 16);
                let value = &text[colon..colon + len];
                let wrapped = format!("{}{value}{}", "[".repeat(n), "]".repeat(n));
                bytes.splice(colon..colon + len, wrapped.bytes());
            }
        }
        _ => bytes.truncate(i),
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1_500))]

    /// A member of a valid snapshot removed or given another type.
    #[test]
    fn mutated_snapshots_load_the_same(
        pick in any::<prop::sample::Index>(),
        path in prop::collection::vec(any::<usize>(), 1..7),
        with in scalar(),
    ) {
        let all = snapshots();
        let mut doc: Value = serde_json::from_str(pick.get(all).as_str()).unwrap();
        mutate(&mut doc, &path, with);
        agree(doc.to_string().as_bytes())?;
    }

    /// Bytes of a valid snapshot flipped, removed or inserted, members written twice,
    /// values nested deep.
    #[test]
    fn damaged_snapshots_load_the_same(
        pick in any::<prop::sample::Index>(),
        at in any::<usize>(),
        how in 0..6u8,
        byte in prop::sample::select(&b"{}[],:\"\\0123456789.eE+-tnu x\x01"[..]),
    ) {
        let text = pick.get(snapshots()).as_str();
        agree(&damage(text, at, how, byte))?;
    }

    /// Arbitrary JSON as the snapshot, as its flags and as its segments.
    #[test]
    fn arbitrary_json_loads_the_same(value in json_value(), flags in json_value()) {
        agree(value.to_string().as_bytes())?;
        let head = json!({"schemaVersion": 1, "environment": "e", "version": 1,
            "generatedAt": "2026-11-25T12:00:00Z"});
        for field in ["flags", "segments"] {
            let mut doc = head.clone();
            doc[field] = json!([flags.clone()]);
            agree(doc.to_string().as_bytes())?;
        }
    }
}
