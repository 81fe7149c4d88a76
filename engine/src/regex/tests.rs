use super::*;
use alloc::{string::ToString, vec, vec::Vec};
use proptest::{
    prelude::{ProptestConfig, prop, prop_assert_eq, prop_oneof, proptest},
    strategy::Strategy as _,
};
use regex_syntax::hir::{Class as HirClass, ClassUnicode, ClassUnicodeRange, HirKind};

/// Limits far above any pattern here, so that only syntax decides acceptance.
const WIDE: Bounds = Bounds {
    size: 1 << 24,
    class_ranges: 1 << 24,
};

/// The limits a snapshot gets by default (`Limits::default()`).
const DEFAULT: Bounds = Bounds {
    size: 512,
    class_ranges: 4096,
};

fn re(pattern: &str) -> Regex {
    match Regex::new(pattern, false, WIDE) {
        Ok(re) => re,
        Err(e) => panic!("`{pattern}` should compile: {e}"),
    }
}

fn error(pattern: &str) -> String {
    match Regex::new(pattern, false, DEFAULT) {
        Ok(_) => panic!("`{pattern}` should be refused"),
        Err(e) => e.to_string(),
    }
}

/// The set of characters `regex-syntax` makes of a class pattern such as `(?i)[a-z]`.
fn crate_class(pattern: &str) -> Vec<(u32, u32)> {
    let hir = regex_syntax::Parser::new()
        .parse(pattern)
        .unwrap_or_else(|e| panic!("{pattern}: {e}"));
    match hir.kind() {
        HirKind::Class(HirClass::Unicode(class)) => class
            .ranges()
            .iter()
            .map(|r| (u32::from(r.start()), u32::from(r.end())))
            .collect(),
        HirKind::Literal(lit) => {
            let c = core::str::from_utf8(&lit.0)
                .unwrap()
                .chars()
                .next()
                .unwrap();
            vec![(u32::from(c), u32::from(c))]
        }
        other => panic!("{pattern}: not a class: {other:?}"),
    }
}

/// `regex-syntax`'s case fold of a set, as canonical ranges.
fn crate_fold(set: &[(u32, u32)]) -> Vec<(u32, u32)> {
    let ranges = set.iter().map(|&(lo, hi)| {
        ClassUnicodeRange::new(char::from_u32(lo).unwrap(), char::from_u32(hi).unwrap())
    });
    let mut class = ClassUnicode::new(ranges);
    class.case_fold_simple();
    let ranges = class
        .ranges()
        .iter()
        .map(|r| (u32::from(r.start()), u32::from(r.end())))
        .collect();
    class::canonical(ranges)
}

#[test]
fn whitespace_table_is_char_is_whitespace() {
    for c in (0..=0x10FFFF).filter_map(char::from_u32) {
        assert_eq!(
            class::contains(parse::WHITESPACE, u32::from(c)),
            c.is_whitespace(),
            "{c:?}"
        );
    }
}

#[test]
fn perl_tables_are_the_regex_crates() {
    assert_eq!(crate_class(r"\w"), tables::WORD);
    assert_eq!(crate_class(r"\d"), tables::DECIMAL);
    assert_eq!(crate_class(r"\s"), parse::WHITESPACE);
    for table in [tables::WORD, tables::DECIMAL, parse::WHITESPACE] {
        assert!(table.iter().all(|(lo, hi)| lo <= hi));
        assert!(table.windows(2).all(|w| w[0].1 + 1 < w[1].0));
    }
}

/// Two characters are case variants exactly when the `regex` crate says so: the
/// orbits of the [`tables::FOLD`] runs are `regex-syntax`'s, for every character.
#[test]
fn fold_runs_are_simple_case_folding() {
    let mut representative: Vec<u32> = (0..=class::MAX).collect();
    for &(packed, delta) in tables::FOLD {
        let (start, len, stride) = tables::unpack(packed);
        for k in 0..len {
            let c = start + k * stride;
            assert_eq!(representative[c as usize], c, "{c:#X} is in two runs");
            representative[c as usize] = c.wrapping_add_signed(delta);
        }
    }
    let mut orbits: std::collections::HashMap<u32, Vec<(u32, u32)>> = Default::default();
    for c in 0..=0x1FFFF {
        let rep = representative[c as usize];
        assert_eq!(
            representative[rep as usize], rep,
            "{c:#X} maps to a non-representative"
        );
        orbits.entry(rep).or_default().push((c, c));
    }
    for c in (0..=0x1FFFF).filter_map(char::from_u32) {
        let c = u32::from(c);
        let ours = class::canonical(orbits[&representative[c as usize]].clone());
        assert_eq!(ours, crate_fold(&[(c, c)]), "the case variants of {c:#X}");
        // `case_fold` itself, on every character that has variants and on a sample of
        // the rest (sets of many characters: `case_fold_of_sets`).
        if ours.len() > 1 || c % 61 == 0 {
            assert_eq!(class::case_fold(&[(c, c)]), ours, "case_fold of {c:#X}");
        }
    }
    // Above U+1FFFF nothing has case variants.
    let high = [(0x20000, class::MAX)];
    assert_eq!(crate_fold(&high), high);
    assert_eq!(class::case_fold(&high), high);
    assert!(
        representative[0x20000..]
            .iter()
            .zip(0x20000..)
            .all(|(&r, c)| r == c)
    );
}

/// Every cased character, as a case-insensitive literal and in a case-insensitive
/// class, matches exactly what it matches in the `regex` crate (no exceptions: `ß` and
/// `ẞ`, `ᾀ` and `ᾈ`, the Kelvin sign, `ſ`, `ς`, `µ`, `ǅ`; `İ` and `ı` have none).
#[test]
fn every_cased_character_folds_as_in_the_regex_crate() {
    let cased: Vec<char> = (0..=0x1FFFF)
        .filter_map(char::from_u32)
        .filter(|&c| crate_fold(&[(u32::from(c), u32::from(c))]) != [(u32::from(c), u32::from(c))])
        .collect();
    assert!(cased.len() > 2_900, "{}", cased.len());
    for &c in &cased {
        let escaped = regex::escape(&c.to_string());
        let variants = crate_fold(&[(u32::from(c), u32::from(c))]);
        // The variants, and the characters `char`'s own case mappings relate to `c`.
        let mut candidates: Vec<char> = variants
            .iter()
            .flat_map(|&(lo, hi)| (lo..=hi).filter_map(char::from_u32))
            .collect();
        candidates.extend(c.to_lowercase().chain(c.to_uppercase()));
        candidates.extend(['a', 'I', 'i', 'ı', 'İ', 'ß', 's', 'k', '\u{212A}']);
        for pattern in [format!("(?i)^{escaped}$"), format!("(?i)^[{escaped}]$")] {
            let ours = re(&pattern);
            let theirs = regex::Regex::new(&pattern).unwrap();
            for &d in &candidates {
                let text = d.to_string();
                assert_eq!(
                    ours.is_match(&text),
                    theirs.is_match(&text),
                    "`{pattern}` on {d:?} (U+{:04X})",
                    u32::from(d)
                );
            }
        }
    }
}

#[test]
fn case_insensitive_examples() {
    let cases: &[(&str, &str, bool)] = &[
        ("(?i)^ß$", "ẞ", true),
        ("(?i)^ẞ$", "ß", true),
        ("(?i)^[ß]$", "ẞ", true),
        ("(?i)^ᾀ$", "ᾈ", true),
        ("(?i)^[ᾈ]$", "ᾀ", true),
        ("(?i)^İ$", "i", false),
        ("(?i)^İ$", "İ", true),
        ("(?i)^i$", "İ", false),
        ("(?i)^ı$", "I", false),
        ("(?i)^I$", "ı", false),
        ("(?i)^[k]$", "\u{212A}", true),
        ("(?i)^[\u{212A}]$", "k", true),
        ("(?i)^[ſ]$", "S", true),
        ("(?i)^[ς]$", "Σ", true),
        ("(?i)^[µ]$", "Μ", true),
        ("(?i)^[ǅ]$", "Ǆ", true),
        ("(?i)^[[:upper:]]$", "ſ", true),
        ("(?i)^[^k]$", "\u{212A}", false),
        ("(?i)straße", "STRASSE", false),
    ];
    for &(pattern, text, expected) in cases {
        assert_eq!(
            re(pattern).is_match(text),
            expected,
            "`{pattern}` on {text:?}"
        );
        assert_eq!(
            regex::Regex::new(pattern).unwrap().is_match(text),
            expected,
            "the regex crate: `{pattern}` on {text:?}"
        );
    }
}

#[test]
fn matches() {
    let cases: &[(&str, &str, bool)] = &[
        ("beta", "my-beta-user", true),
        ("beta", "alpha", false),
        ("", "", true),
        ("", "anything", true),
        ("^$", "", true),
        ("^$", "x", false),
        ("^v[0-9]+\\.[0-9]+$", "v12.3", true),
        ("^v[0-9]+\\.[0-9]+$", "v12.3.1", false),
        ("a|b|c", "xxc", true),
        ("^(foo|bar)baz$", "barbaz", true),
        ("^(foo|bar)baz$", "quxbaz", false),
        ("^a{3}$", "aaa", true),
        ("^a{3}$", "aaaa", false),
        ("^a{2,}$", "aaaaa", true),
        ("^a{2,}$", "a", false),
        ("^a{1,2}b$", "aab", true),
        ("^a{1,2}b$", "aaab", false),
        ("^a{0}b$", "b", true),
        ("^a{ 2 }$", "aa", true),
        ("^a{2 , 3}$", "aaa", true),
        ("^x{2}{3}$", "xxxxxx", true),
        ("^x{2}{3}$", "xxxx", false),
        ("^a**$", "aaa", true),
        ("^(ab)*$", "ababab", true),
        ("^(ab)*$", "ababa", false),
        ("^(a*)*$", "aaa", true),
        ("^(a|)+$", "aa", true),
        ("^a+?b*?c??$", "aac", true),
        ("^.$", "é", true),
        ("^.$", "\n", false),
        ("(?s)^.$", "\n", true),
        ("(?R)^.$", "\r", false),
        ("(?mR)^b$", "a\r\nb\r\nc", true),
        ("(?m)^b$", "a\r\nb\r\nc", false),
        ("^\\w+$", "αβγ", true),
        ("^\\w+$", "a-b", false),
        ("^\\d{5}$", "10115", true),
        ("^\\d$", "٣", true),
        ("^\\D$", "a", true),
        ("^\\s$", "\u{3000}", true),
        ("^\\S$", " ", false),
        ("\\bcat\\b", "a cat!", true),
        ("\\bcat\\b", "concat", false),
        ("\\Bcat", "concat", true),
        ("\\b{start}cat", "a cat", true),
        ("\\b{start}cat", "concat", false),
        ("cat\\b{end}", "cats", false),
        ("\\<cat\\>", "a cat.", true),
        ("\\b{start-half}a", "ba", false),
        ("a\\b{end-half}", "a!", true),
        ("^[^abc]$", "d", true),
        ("^[^abc]$", "b", false),
        ("^[]a]+$", "]a]", true),
        ("^[a-]+$", "-a", true),
        ("^[-a]+$", "a-", true),
        ("^[--z]+$", "-z", true),
        ("^[--z]$", "a", false),
        ("^[\\d_]+$", "1_2", true),
        ("^[[:alpha:]]+$", "abcXYZ", true),
        ("^[[:^digit:]]+$", "abc", true),
        ("^[[:^digit:]]+$", "a1", false),
        ("^[[:foo:]]+$", "of:", true),
        ("^[a-z&&[^aeiou]]+$", "xyz", true),
        ("^[a-z&&[^aeiou]]+$", "xyza", false),
        ("^[a-z--aeiou]+$", "xyz", true),
        ("^[a-c~~b-d]+$", "ad", true),
        ("^[a-c~~b-d]+$", "b", false),
        ("^[a[b]]+$", "ab", true),
        ("[^\\x00-\\x{10FFFF}]", "anything", false),
        (
            "^\\x41\\x{42}\\u0043\\u{44}\\U00000045\\x{000000046}$",
            "ABCDEF",
            true,
        ),
        (
            "^\\.\\*\\+\\?\\(\\)\\[\\]\\{\\}\\|\\^\\$\\\\\\%\\ $",
            ".*+?()[]{}|^$\\% ",
            true,
        ),
        ("^\\\n$", "\n", true),
        ("^\\t\\n$", "\t\n", true),
        ("(?i)^bob$", "BoB", true),
        ("(?i)^bob$", "bobby", false),
        ("(?i)[a-z]+", "ABC", true),
        ("(?i)[^a-z]", "A", false),
        ("a(?i)b|c", "C", true),
        ("(?i:a)b", "Ab", true),
        ("(?i:a)b", "AB", false),
        ("(?i)a(?-i)b", "Ab", true),
        ("(?i)a(?-i)b", "AB", false),
        ("(?m)^b$", "a\nb\nc", true),
        ("^b$", "a\nb\nc", false),
        ("\\Ab", "ab", false),
        ("a\\z", "ba", true),
        ("(?x) a b  # comment\n c", "abc", true),
        ("(?x)a\\ b", "a b", true),
        ("(?x)a{1 0}", "aaaaaaaaaa", true),
        ("(?P<name>a)(?<other>b)(?<é.[0]>c)", "abc", true),
        ("(?:a|b)+c", "abac", true),
        ("@example\\.com$", "a@example.com", true),
        ("^(|a)$", "", true),
        ("()*x", "x", true),
        ("^a\\b{2}$", "a", true),
    ];
    for &(pattern, text, expected) in cases {
        assert_eq!(
            re(pattern).is_match(text),
            expected,
            "`{pattern}` on {text:?}"
        );
        assert_eq!(
            regex::Regex::new(pattern).unwrap().is_match(text),
            expected,
            "the regex crate: `{pattern}` on {text:?}"
        );
    }
}

#[test]
fn the_fold_option_is_a_leading_i_flag() {
    let folded = Regex::new("^alice", true, DEFAULT).unwrap();
    assert!(folded.is_match("ALICE SMITH"));
    let unfolded = Regex::new("(?-i)^alice", true, DEFAULT).unwrap();
    assert!(!unfolded.is_match("ALICE"));
}

/// Patterns the `regex` crate accepts (first list) and refuses (second), including
/// every shape the outside review found treated differently. Both lists are checked
/// against the crate itself, so they cannot drift from it.
#[test]
fn accepts_and_refuses_what_the_regex_crate_does() {
    let accepted = [
        "a{ 2 }",
        "a{2 ,3}",
        "a{ 2, 3 }",
        "a**",
        "a*+?",
        "x{2}{3}",
        "a{2}?",
        "\\b{start}",
        "\\b{end}",
        "\\b{start-half}",
        "\\b{end-half}",
        "\\b{2}",
        "\\<a\\>",
        "\\\n",
        "\\\t",
        "\\%",
        "\\ ",
        "\\#",
        "[--z]",
        "[-]",
        "[]]",
        "[^]]",
        "[]-a]",
        "[a-]",
        "[&&a]",
        "[a&&]",
        "[a--b]",
        "[a~~b]",
        "[a-z&&b-c--d]",
        "[[a]]",
        "[a[b[c]]]",
        "[[:alpha:]]",
        "[[:^alpha:]]",
        "[[:foo:]]",
        "[[:alpha:]-]",
        "[:alpha:]",
        "[\\[]",
        "(?i-m)a",
        "(?imsxRU)a",
        "(?u)a",
        "(?R)^a$",
        "(?x)[ a - z ]",
        "(?x)a { 2 }",
        "(?x)\\x 4 1",
        "(?x)( ?: a )",
        "(?:)",
        "()",
        "(|)",
        "a||b",
        "|a",
        "^*",
        "$+",
        "\\b+",
        "(?i:)",
        "(?P<a>x)(?P<b>y)",
        "(?<a.b[1]>x)",
        "(?<é>x)",
        "\\x{000000041}",
        "\\x{10FFFF}",
        "[\\x00-\\x{10FFFF}]",
        "[^\\x00-\\x{10FFFF}]",
        "]",
        "}",
        "a{2}{0}",
        "(?x)#only a comment",
        "(?x)a#\n*",
    ];
    let refused = [
        "(?P<a>x)(?P<a>y)",
        "(?<a>x)(?P<a>y)",
        "(?ii)a",
        "(?i-i)a",
        "(?--i)a",
        "(?i-)a",
        "(?)",
        "(?-)",
        "(?q)",
        "(?i",
        "[\\d-z]",
        "[a-\\d]",
        "[z-a]",
        "[a",
        "[]",
        "[^]",
        "[a-",
        "[\\b]",
        "[\\A]",
        "[\\<]",
        "a{",
        "a{x}",
        "a{2",
        "a{,2}",
        "a{2, }",
        "a{2,1}",
        "a{4294967296}",
        "{2}",
        "*",
        "a|*",
        "(*)",
        "(?i)*",
        "a(?i)+",
        "\\b{foo}",
        "\\b{start",
        "\\b{",
        "\\e",
        "\\Q",
        "\\Z",
        "\\é",
        "\\1",
        "\\0",
        "\\x4",
        "\\xZ1",
        "\\x{}",
        "\\x{110000}",
        "\\x{D800}",
        "\\u{FFFFFFFFF}",
        "(?=a)",
        "(?!a)",
        "(?<=a)",
        "(?<!a)",
        "(?P=a)",
        "(?P<>a)",
        "(?P<1a>a)",
        "(?P<a-b>a)",
        "(?P<a",
        "(a",
        "a)",
        "\\",
        "(?x)a{2, }b{,3}",
    ];
    for pattern in accepted {
        assert!(
            regex::Regex::new(pattern).is_ok(),
            "the regex crate accepts `{pattern}`"
        );
        if let Err(e) = Regex::new(pattern, false, WIDE) {
            panic!("`{pattern}` should be accepted: {e}");
        }
    }
    for pattern in refused {
        assert!(
            regex::Regex::new(pattern).is_err(),
            "the regex crate refuses `{pattern:?}`"
        );
        assert!(
            Regex::new(pattern, false, WIDE).is_err(),
            "`{pattern:?}` should be refused"
        );
    }
}

/// The differences from the `regex` crate that `docs/snapshot-format.md` lists: the
/// crate accepts these, the engine refuses them.
#[test]
fn listed_differences() {
    for pattern in ["\\pL", "\\p{Greek}", "[\\PL]", "(?-u)a", "(?-u:a)"] {
        assert!(regex::Regex::new(pattern).is_ok(), "{pattern}");
        assert!(Regex::new(pattern, false, WIDE).is_err(), "{pattern}");
    }
}

fn deep_shapes(n: usize) -> Vec<String> {
    vec![
        "(".repeat(n) + &")".repeat(n),
        "(".repeat(n) + "a" + &")".repeat(n),
        "(".repeat(n) + "ab" + &")".repeat(n),
        "(?:".repeat(n) + "a|b" + &")".repeat(n),
        "a".to_string() + &"*".repeat(n),
        "x(?i)".to_string() + &"(".repeat(n) + &")".repeat(n),
        "[".repeat(n) + "a" + &"]".repeat(n),
        "[".repeat(n) + "ab" + &"]".repeat(n),
        "[a&&".repeat(n) + "a" + &"]".repeat(n),
    ]
}

/// Nesting is refused where the crate refuses it, counted its way.
#[test]
fn nesting_is_limited_as_in_the_regex_crate() {
    // The crate itself needs a deep stack for some of these (in a debug build).
    let crate_accepts = std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(|| {
            (246..=252)
                .flat_map(deep_shapes)
                .map(|p| {
                    let ok = regex::RegexBuilder::new(&p)
                        .size_limit(1 << 30)
                        .build()
                        .is_ok();
                    (p, ok)
                })
                .collect::<Vec<_>>()
        })
        .unwrap()
        .join()
        .unwrap();
    for (pattern, theirs) in crate_accepts {
        let ours = Regex::new(&pattern, false, WIDE);
        assert_eq!(ours.is_ok(), theirs, "{pattern}: {:?}", ours.err());
    }
}

/// Nesting is read with heap stacks, so the deepest accepted pattern needs little
/// call stack (this is a debug build; release builds need a fraction of it).
#[test]
fn deep_nesting_needs_little_stack() {
    std::thread::Builder::new()
        .stack_size(512 << 10)
        .spawn(|| {
            for pattern in (250..=251).flat_map(deep_shapes) {
                if let Ok(re) = Regex::new(&pattern, false, WIDE) {
                    re.is_match("ab");
                }
            }
        })
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn refusals_say_what_and_where() {
    let cases: &[(&str, &str)] = &[
        ("(unclosed", "unclosed group at byte 0"),
        ("a)", "unopened group: `)` without `(` at byte 1"),
        ("[abc", "unclosed class at byte 0"),
        ("*a", "repetition operator without an expression at byte 0"),
        (
            "a{2,1}",
            "counted repetition with its maximum below its minimum at byte 1",
        ),
        (
            "a{x}",
            "counted repetition needs a decimal number at byte 1",
        ),
        ("a{2", "unclosed counted repetition `{` at byte 1"),
        (
            "(?i)*",
            "repetition operator without an expression at byte 4",
        ),
        (
            "\\p{Greek}",
            "Unicode property classes (\\p{…}) are not supported at byte 0",
        ),
        ("(a)\\1", "backreferences are not supported at byte 3"),
        ("(?=a)", "look-around is not supported at byte 0"),
        ("(?q)", "unknown flag `q` at byte 2"),
        ("(?ii)", "flag `i` repeated at byte 3"),
        ("(?-u)", "Unicode mode cannot be turned off at byte 3"),
        ("(?)", "expected a flag at byte 2"),
        ("(?i-)", "`-` must be followed by a flag at byte 3"),
        ("\\q", "unrecognized escape `\\q` at byte 0"),
        ("\\", "`\\` at the end of the pattern at byte 0"),
        ("[z-a]", "class range out of order at byte 1"),
        (
            "[\\d-z]",
            "a class range must be between characters at byte 1",
        ),
        ("[\\b]", "an assertion in a class at byte 1"),
        ("\\b{x}", "unknown word boundary `\\b{x}` at byte 0"),
        (
            "\\x{110000}",
            "invalid hexadecimal escape (not a Unicode scalar value) at byte 0",
        ),
        ("\\xZ1", "invalid hexadecimal escape at byte 0"),
        (
            "(?P<1a>x)",
            "invalid character in a capture group name at byte 4",
        ),
        (
            "(?P<a>x)(?<a>y)",
            "duplicate capture group name `a` at byte 11",
        ),
        (
            "(?:a|b){5462}",
            "pattern of size 21848, over the limit of 512 at byte 0",
        ),
        (
            "[\\w!][\\w#][\\w%][\\w&][\\w*][\\w<]",
            "classes of 4782 ranges, over the limit of 4096 at byte 0",
        ),
    ];
    for &(pattern, expected) in cases {
        assert_eq!(error(pattern), expected, "`{pattern}`");
    }
}

/// The size formula of `docs/snapshot-format.md`, by example.
#[test]
fn sizes_follow_the_formula() {
    let cases: &[(&str, u64)] = &[
        ("", 0),
        ("a", 1),
        ("abc", 3),
        ("[a-z]", 1),
        ("\\w", 1),
        ("^a$", 3),
        ("a|b", 4),
        ("a|b|c", 7),
        ("(?:a|b){5}", 20),
        ("a?", 2),
        ("a*", 3),
        ("a+", 2),
        ("a{3}", 3),
        ("a{3,}", 4),
        ("a{2,5}", 8),
        ("(?:ab){2,5}", 13),
        ("(?:){1000}", 0),
        ("(?:a{0}){1000}", 0),
        ("(?:a|){3}", 9),
        ("(?:.{0,800}){10}!", 16_001),
        ("x{2}{3}", 6),
        ("a**", 5),
        ("(?i)k", 1),
        ("(?i)(?x) a b", 2),
    ];
    for &(pattern, size) in cases {
        assert_eq!(re(pattern).size(), size, "`{pattern}`");
        assert_eq!(re(pattern).program.len() as u64, size + 1, "`{pattern}`");
    }
}

/// The largest pattern of a shape accepted under the default limit, and the next
/// refused: the boundaries the shared vectors also pin.
#[test]
fn the_size_limit_is_exact() {
    assert!(Regex::new("(?:a|b){128}", false, DEFAULT).is_ok());
    assert!(Regex::new("(?:a|b){129}", false, DEFAULT).is_err());
    assert!(Regex::new("a{512}", false, DEFAULT).is_ok());
    assert!(Regex::new("a{513}", false, DEFAULT).is_err());
    assert!(Regex::new("a{0,256}", false, DEFAULT).is_ok());
    assert!(Regex::new("a{0,257}", false, DEFAULT).is_err());
    // Repeating nothing compiles to nothing, however many times.
    assert!(re("((){4000000000}){4000000000}x").is_match("x"));
}

#[test]
fn the_work_of_a_condition() {
    let (a, b) = (re("a{10}"), re("(?:x|y){5}"));
    assert_eq!(work([&a], [0]), 26);
    assert_eq!(work([&a], [99]), 2_600);
    assert_eq!(work([&a, &b], [99]), 6_200);
    assert_eq!(work([&a, &b], [9, 0, 19]), 62 * 31);
}

#[test]
fn strategies_follow_the_pattern_shape() {
    let literal = |p: &str| matches!(re(p).strategy, super::Strategy::Literal { .. });
    let closures = |p: &str| matches!(re(p).strategy, super::Strategy::Closures(_));
    assert!(literal("beta") && literal("^/api/") && literal("@example\\.com$") && literal("^$"));
    assert!(!literal("(?i)beta") && !literal("a|b") && !literal("(?m)^a"));
    assert!(closures("(?i)beta") && closures("^[a-z]+@x\\.com$") && closures("a|b"));
    assert!(!closures("\\bcat") && !closures("(?m)^a") && !closures("a{300}"));
    let dfa = |p: &str| matches!(&re(p).strategy, super::Strategy::Closures(c) if c.dfa.is_some());
    assert!(dfa("^[a-z0-9._%+-]+@[a-z0-9.-]+\\.[a-z]{2,}$") && dfa("(?i)^(alice|bob)$"));
    // Too many states for the table: `(a|b)*a(a|b){12}` needs 2^13 of them.
    assert!(closures("(a|b)*a(a|b){12}") && !dfa("(a|b)*a(a|b){12}"));
    assert!(
        re("(a|b)*a(a|b){9}").is_match("bbbabbbbbbbbb")
            && !re("^(a|b)*a(a|b){9}$").is_match("bbbbbbbbbbbbb")
    );
}

#[test]
fn matching_time_is_linear() {
    // Exponential for a backtracking engine; a few microseconds here.
    let text = "a".repeat(5_000);
    assert!(!re("^(a|a)*(a|a)*b$").is_match(&text));
    assert!(!re("(a*)*b").is_match(&text));
}

/// Pieces of patterns, including the shapes where the syntax has corners.
fn atom() -> impl proptest::strategy::Strategy<Value = String> {
    prop::sample::select(vec![
        "a",
        "b",
        "A",
        "B",
        "é",
        "É",
        "k",
        "K",
        "s",
        "ß",
        "ẞ",
        "ı",
        "İ",
        "σ",
        "ς",
        "0",
        "1",
        "_",
        "-",
        " ",
        "#",
        "]",
        "}",
        "&",
        "~",
        "\\n",
        "\\r",
        "\\.",
        ".",
        "\\d",
        "\\w",
        "\\s",
        "\\D",
        "\\W",
        "\\S",
        "[ab]",
        "[^a]",
        "[a-z]",
        "[A-Z0-9]",
        "[\\w-]",
        "[^\\s]",
        "[[:alpha:]]",
        "[[:^upper:]]",
        "[[:foo:]]",
        "[]a]",
        "[^]a]",
        "[--z]",
        "[-a]",
        "[a-]",
        "[a-z&&[^aeiou]]",
        "[a-c--b]",
        "[a-c~~b-d]",
        "[a[bc]]",
        "[\\d-z]",
        "[ a - c ]",
        "[k&&K]",
        "[ſ]",
        "[K]",
        "^",
        "$",
        "\\b",
        "\\B",
        "\\A",
        "\\z",
        "\\b{start}",
        "\\b{end}",
        "\\b{start-half}",
        "\\b{end-half}",
        "\\<",
        "\\>",
        "\\x41",
        "\\x{41}",
        "\\x{ 41 }",
        "\\u00e9",
        "\\u{E9}",
        "\\U0001F600",
        "\\%",
        "\\ ",
        "\\#",
        "\\\n",
        "\\e",
        "\\b{2}",
        "(?P<n>a)",
        "(?<m>b)",
        "(?ii)",
        "(?i-i)",
        "(?-)",
        "(?)",
        "(?:)",
        "()",
        "(|a)",
        "#c\n",
    ])
    .prop_map(String::from)
}

fn pattern() -> impl proptest::strategy::Strategy<Value = String> {
    atom().prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 1..4).prop_map(|v| v.concat()),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a}|{b}")),
            inner.clone().prop_map(|a| format!("({a})")),
            (
                inner.clone(),
                prop::sample::select(vec![
                    "*", "+", "?", "{2}", "{1,3}", "{0,}", "*?", "**", "{2}{2}", "{ 2 }",
                    "{2 , 3}", "{ 1,}", "{2, }", "{,2}", "{2", "{x}", "{3,1}", "+?*", "{0}",
                ])
            )
                .prop_map(|(a, op)| format!("(?:{a}){op}")),
            (
                prop::sample::select(vec![
                    "(?i)", "(?m)", "(?s)", "(?x)", "(?R)", "(?U)", "(?u)", "(?im)", "(?mR)",
                    "(?i:", "(?x:", "(?-i)", "(?i-s)", "(?sR:",
                ]),
                inner
            )
                .prop_map(|(flag, a)| if flag.ends_with(':') {
                    format!("{flag}{a})")
                } else {
                    format!("{flag}{a}")
                }),
        ]
    })
}

fn text() -> impl proptest::strategy::Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(vec![
            'a', 'b', 'A', 'B', 'é', 'É', 'k', 'K', '\u{212A}', 's', 'S', 'ſ', 'ß', 'ẞ', 'ı', 'I',
            'i', 'İ', 'σ', 'ς', 'Σ', '0', '1', '_', '-', ' ', '\n', '\r', '.', 'x', ']', '%', '#',
            '&', '~', 'c', 'z',
        ]),
        0..10,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4_000))]

    /// The engine accepts exactly what the `regex` crate accepts, and where both
    /// accept a pattern, they agree on every text.
    #[test]
    fn agrees_with_the_regex_crate(pattern in pattern(), texts in prop::collection::vec(text(), 8)) {
        let ours = Regex::new(&pattern, false, WIDE);
        let theirs = regex::RegexBuilder::new(&pattern).size_limit(1 << 30).build();
        prop_assert_eq!(ours.is_ok(), theirs.is_ok(), "`{}`: {:?} / {:?}", pattern, ours.as_ref().err(), theirs.as_ref().err());
        if let (Ok(ours), Ok(theirs)) = (ours, theirs) {
            for text in &texts {
                prop_assert_eq!(ours.is_match(text), theirs.is_match(text), "`{}` on {:?}", pattern, text);
            }
        }
    }

    /// The same for arbitrary strings of the syntax's own characters, which reach the
    /// corners of the parser that well-formed pieces do not.
    #[test]
    fn agrees_with_the_regex_crate_on_syntax_soup(
        pattern in prop::collection::vec(
            prop::sample::select("[](){}|*+?^$.\\:&~#,<>=!PpxuUbBAzswWdDimsRUx0123456789abcdef_ \n-".chars().collect::<Vec<_>>()),
            0..14,
        ).prop_map(|chars| chars.into_iter().collect::<String>()),
        texts in prop::collection::vec(text(), 4),
    ) {
        let ours = Regex::new(&pattern, false, WIDE);
        let theirs = regex::RegexBuilder::new(&pattern).size_limit(1 << 30).build();
        let listed = pattern.contains("\\p") || pattern.contains("\\P") || pattern.contains("-u");
        if !listed {
            prop_assert_eq!(ours.is_ok(), theirs.is_ok(), "`{:?}`: {:?} / {:?}", pattern, ours.as_ref().err(), theirs.as_ref().err());
        }
        if let (Ok(ours), Ok(theirs)) = (ours, theirs) {
            for text in &texts {
                prop_assert_eq!(ours.is_match(text), theirs.is_match(text), "`{:?}` on {:?}", pattern, text);
            }
        }
    }

    /// The literal and precomputed-closure strategies answer as the Pike VM does, and
    /// every program is as long as the size formula says.
    #[test]
    fn strategies_agree_with_the_vm(pattern in pattern(), texts in prop::collection::vec(text(), 8)) {
        if let Ok(re) = Regex::new(&pattern, false, WIDE) {
            prop_assert_eq!(re.program.len() as u64, re.size + 1);
            for text in &texts {
                prop_assert_eq!(re.is_match(text), Vm::new(&re).run(text), "`{}` ({:?}) on {:?}", pattern, re.strategy, text);
            }
        }
    }

    /// Case folding a set of ranges gives what `regex-syntax` gives.
    #[test]
    fn case_fold_of_sets(ranges in prop::collection::vec((0u32..0x2_0000, 0u32..300), 0..6)) {
        let set: Vec<(u32, u32)> = ranges
            .into_iter()
            .map(|(lo, len)| (lo, (lo + len).min(0x1_FFFF)))
            .filter(|&(lo, hi)| char::from_u32(lo).is_some() && char::from_u32(hi).is_some())
            .collect();
        let set = class::canonical(set);
        prop_assert_eq!(class::case_fold(&set), crate_fold(&set));
    }

    /// Any pattern at all either compiles or is refused; neither panics, and
    /// matching a compiled one terminates.
    #[test]
    fn never_panics(pattern in "\\PC{0,40}", text in "\\PC{0,40}") {
        if let Ok(re) = Regex::new(&pattern, false, DEFAULT) {
            let _ = re.is_match(&text);
        }
    }
}

/// `docs/snapshot-format.md` says what a compiled instruction costs in memory.
#[test]
fn an_instruction_is_twelve_bytes() {
    assert_eq!(core::mem::size_of::<Inst>(), 12);
}
