use super::*;
use alloc::string::ToString;
use proptest::{
    prelude::{ProptestConfig, prop, prop_assert_eq, prop_oneof, proptest},
    strategy::Strategy as _,
};

const LIMIT: usize = 256 * 1024;

fn re(pattern: &str) -> Regex {
    match Regex::new(pattern, false, LIMIT) {
        Ok(re) => re,
        Err(e) => panic!("`{pattern}` should compile: {e}"),
    }
}

fn error(pattern: &str) -> String {
    match Regex::new(pattern, false, LIMIT) {
        Ok(_) => panic!("`{pattern}` should be refused"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn whitespace_table_is_char_is_whitespace() {
    for c in (0..=0x10FFFF).filter_map(char::from_u32) {
        assert_eq!(in_ranges(WHITESPACE, c), c.is_whitespace(), "{c:?}");
    }
}

#[test]
fn tables_are_sorted_and_disjoint() {
    for table in [tables::WORD, tables::DECIMAL, WHITESPACE] {
        assert!(table.iter().all(|(lo, hi)| lo <= hi));
        assert!(table.windows(2).all(|w| w[0].1 + 1 < w[1].0));
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
        ("^(ab)*$", "ababab", true),
        ("^(ab)*$", "ababa", false),
        ("^(a*)*$", "aaa", true),
        ("^(a|)+$", "aa", true),
        ("^a+?b*?c??$", "aac", true),
        ("^.$", "é", true),
        ("^.$", "\n", false),
        ("(?s)^.$", "\n", true),
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
        ("^[^abc]$", "d", true),
        ("^[^abc]$", "b", false),
        ("^[]a]+$", "]a]", true),
        ("^[a-]+$", "-a", true),
        ("^[-a]+$", "a-", true),
        ("^[\\d_]+$", "1_2", true),
        ("^[[:alpha:]]+$", "abcXYZ", true),
        ("^[[:^digit:]]+$", "abc", true),
        ("^[[:^digit:]]+$", "a1", false),
        ("^\\x41\\x{42}\\u0043\\u{44}\\U00000045$", "ABCDE", true),
        (
            "^\\.\\*\\+\\?\\(\\)\\[\\]\\{\\}\\|\\^\\$\\\\$",
            ".*+?()[]{}|^$\\",
            true,
        ),
        ("^\\t\\n$", "\t\n", true),
        ("(?i)^bob$", "BoB", true),
        ("(?i)^bob$", "bobby", false),
        ("(?i)straße", "STRASSE", false),
        ("(?i)ǅ", "ǆ", true),
        ("(?i)k", "\u{212A}", true),
        ("(?i)\u{212A}", "k", true),
        ("(?i)s", "ſ", true),
        ("(?i)σ", "ς", true),
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
        ("(?P<name>a)(?<other>b)", "ab", true),
        ("(?:a|b)+c", "abac", true),
        ("@example\\.com$", "a@example.com", true),
        ("^(|a)$", "", true),
        ("()*x", "x", true),
    ];
    for &(pattern, text, expected) in cases {
        assert_eq!(
            re(pattern).is_match(text),
            expected,
            "`{pattern}` on {text:?}"
        );
    }
}

#[test]
fn the_fold_option_is_a_leading_i_flag() {
    let folded = Regex::new("^alice", true, LIMIT).unwrap();
    assert!(folded.is_match("ALICE SMITH"));
    let unfolded = Regex::new("(?-i)^alice", true, LIMIT).unwrap();
    assert!(!unfolded.is_match("ALICE"));
}

#[test]
fn refusals_say_what_and_where() {
    let cases: &[(&str, &str)] = &[
        ("(unclosed", "unclosed group at byte 0"),
        ("a)", "unopened group: `)` without `(` at byte 1"),
        ("[abc", "unclosed class at byte 0"),
        ("*a", "repetition operator without an expression at byte 0"),
        ("a**", "a repetition cannot repeat at byte 2"),
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
        (
            "[\\PL]",
            "Unicode property classes (\\p{…}) are not supported at byte 1",
        ),
        ("(a)\\1", "backreferences are not supported at byte 3"),
        ("(?=a)", "look-around is not supported at byte 0"),
        ("(?<!a)", "look-around is not supported at byte 0"),
        ("(?q)", "unsupported group flag `q` at byte 2"),
        ("(?-u)", "Unicode mode cannot be turned off at byte 3"),
        ("(?)", "expected a flag before `)` at byte 2"),
        ("(?i-)", "expected a flag before `)` at byte 4"),
        ("\\q", "unrecognized escape `\\q` at byte 0"),
        ("\\", "`\\` at the end of the pattern at byte 0"),
        ("\\<", "`\\<` is not supported at byte 0"),
        ("[z-a]", "class range out of order at byte 1"),
        ("[a[b]]", "nested classes are not supported at byte 2"),
        (
            "[a&&b]",
            "class set operations (`&&`, `--`, `~~`) are not supported at byte 2",
        ),
        ("[[:bogus:]]", "unknown POSIX class `bogus` at byte 1"),
        ("[\\b]", "`\\b` is not allowed in a class at byte 1"),
        (
            "\\x{110000}",
            "invalid hexadecimal escape (not a Unicode scalar value) at byte 0",
        ),
        (
            "\\xZ1",
            "invalid hexadecimal escape (not a Unicode scalar value) at byte 0",
        ),
        ("(?P<1a>x)", "invalid capture group name at byte 0"),
    ];
    for &(pattern, expected) in cases {
        assert_eq!(error(pattern), expected, "`{pattern}`");
    }
}

#[test]
fn nesting_and_size_are_bounded() {
    let deep = "(".repeat(65) + &")".repeat(65);
    assert_eq!(error(&deep), "groups nest deeper than 64 at byte 64");
    assert!(Regex::new(&("(".repeat(64) + &")".repeat(64)), false, LIMIT).is_ok());
    let huge = Regex::new("(\\w{1000}){1000}", false, LIMIT)
        .unwrap_err()
        .to_string();
    assert_eq!(
        huge,
        "compiled form over the limit of 262144 bytes at byte 0"
    );
    // Repeating nothing compiles to nothing, however many times.
    assert!(re("((){4000000000}){4000000000}x").is_match("x"));
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

/// Pieces of patterns whose meaning the `regex` crate shares exactly (case
/// folding of these characters included).
fn atom() -> impl proptest::strategy::Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "a",
            "b",
            "A",
            "B",
            "é",
            "É",
            "0",
            "1",
            "_",
            "-",
            " ",
            "\\n",
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
            "^",
            "$",
            "\\b",
            "\\B",
            "\\A",
            "\\z",
            "\\x41",
            "\\u00e9",
        ])
        .prop_map(String::from),
    ]
}

fn pattern() -> impl proptest::strategy::Strategy<Value = String> {
    atom().prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 1..4).prop_map(|v| v.concat()),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a}|{b}")),
            inner.clone().prop_map(|a| format!("({a})")),
            (
                inner.clone(),
                prop::sample::select(vec!["*", "+", "?", "{2}", "{1,3}", "{0,}", "*?"])
            )
                .prop_map(|(a, op)| format!("(?:{a}){op}")),
            (
                prop::sample::select(vec!["(?i)", "(?m)", "(?s)", "(?im)", "(?i:", "(?-i)"]),
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
            'a', 'b', 'A', 'B', 'é', 'É', '0', '1', '_', '-', ' ', '\n', '.', 'x',
        ]),
        0..10,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    /// Where both accept a pattern, this engine and the `regex` crate agree.
    #[test]
    fn agrees_with_the_regex_crate(pattern in pattern(), texts in prop::collection::vec(text(), 8)) {
        let ours = Regex::new(&pattern, false, LIMIT);
        let theirs = regex::Regex::new(&pattern);
        prop_assert_eq!(ours.is_ok(), theirs.is_ok(), "`{}`: {:?}", pattern, ours.err());
        if let (Ok(ours), Ok(theirs)) = (ours, theirs) {
            for text in &texts {
                prop_assert_eq!(ours.is_match(text), theirs.is_match(text), "`{}` on {:?}", pattern, text);
            }
        }
    }

    /// The literal and precomputed-closure strategies answer as the Pike VM does.
    #[test]
    fn strategies_agree_with_the_vm(pattern in pattern(), texts in prop::collection::vec(text(), 8)) {
        if let Ok(re) = Regex::new(&pattern, false, LIMIT) {
            for text in &texts {
                prop_assert_eq!(re.is_match(text), Vm::new(&re).run(text), "`{}` ({:?}) on {:?}", pattern, re.strategy, text);
            }
        }
    }

    /// Any pattern at all either compiles or is refused; neither panics, and
    /// matching a compiled one terminates.
    #[test]
    fn never_panics(pattern in "\\PC{0,40}", text in "\\PC{0,40}") {
        if let Ok(re) = Regex::new(&pattern, false, LIMIT) {
            let _ = re.is_match(&text);
        }
    }
}

/// Case-insensitive literals match exactly what they match in the `regex` crate, for
/// every cased character, except the dotless `ı` (whose uppercase is `I`, so it folds
/// with `i` here) and characters newer than the crate's Unicode 16 tables.
#[test]
fn case_folding_agrees_with_the_regex_crate() {
    let cased: Vec<char> = (0..=0x1FFFF)
        .filter_map(char::from_u32)
        .filter(|&c| variants(c).iter().any(|&v| v != c))
        .collect();
    let newer = |c: char| matches!(u32::from(c), 0xA7CE..=0xA7DC | 0x16EA0..=0x16EDF);
    for &c in &cased {
        let theirs =
            regex::Regex::new(&format!("(?i)^{}$", regex::escape(&c.to_string()))).unwrap();
        let ours = re(&format!("(?i)^{}$", regex::escape(&c.to_string())));
        for &d in &cased {
            let text = d.to_string();
            if ours.is_match(&text) != theirs.is_match(&text) {
                assert!(
                    newer(c) || newer(d) || [c, d].contains(&'ı'),
                    "(?i){c:?} on {d:?}: ours {}",
                    ours.is_match(&text)
                );
            }
        }
    }
}

/// `docs/snapshot-format.md` counts 12 bytes per instruction against the limit.
#[test]
fn an_instruction_is_twelve_bytes() {
    assert_eq!(core::mem::size_of::<Inst>(), 12);
}
