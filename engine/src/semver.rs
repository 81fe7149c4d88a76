//! Semantic versions for the `semver*` operators: SemVer 2.0.0, with a missing
//! minor or patch read as 0 (`1` is `1.0.0`, `1.2-rc.1` is `1.2.0-rc.1`).
//!
//! Numeric identifiers (major, minor, patch and numeric pre-release identifiers)
//! compare as whole numbers of any size: SemVer sets no bound, and a bound such as
//! 2^64 would be one more rule for every other implementation to copy. As SemVer
//! forbids leading zeros, comparing such numbers is comparing their lengths, then
//! their digits. Build metadata is checked and then ignored.

use alloc::boxed::Box;
use core::cmp::Ordering;

/// A parsed version, borrowing the text it was parsed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Version<'a> {
    major: &'a str,
    minor: &'a str,
    patch: &'a str,
    /// The pre-release identifiers without the leading `-`; empty when there are none.
    pre: &'a str,
}

/// Parses a version; `None` when `text` is not one.
pub(crate) fn parse(text: &str) -> Option<Version<'_>> {
    locate(text).map(|parts| parts.view(text))
}

/// SemVer 2.0.0 precedence (section 11); build metadata was dropped by [`parse`].
pub(crate) fn compare(a: &Version<'_>, b: &Version<'_>) -> Ordering {
    compare_numbers(a.major, b.major)
        .then_with(|| compare_numbers(a.minor, b.minor))
        .then_with(|| compare_numbers(a.patch, b.patch))
        .then_with(|| compare_pre_release(a.pre, b.pre))
}

/// A version compiled once from a condition value: its text and where its parts lie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OwnedVersion {
    text: Box<str>,
    parts: Parts,
}

impl OwnedVersion {
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let parts = locate(text)?;
        Some(Self {
            text: text.into(),
            parts,
        })
    }

    pub(crate) fn view(&self) -> Version<'_> {
        self.parts.view(&self.text)
    }
}

/// Byte ranges of a version's parts in its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Parts {
    major: (usize, usize),
    /// `None` when the text leaves the minor or patch out: it is 0.
    minor: Option<(usize, usize)>,
    patch: Option<(usize, usize)>,
    /// Empty when there is no pre-release.
    pre: (usize, usize),
}

impl Parts {
    fn view(self, text: &str) -> Version<'_> {
        let part = |range: Option<(usize, usize)>, absent: &'static str| {
            range
                .and_then(|(start, end)| text.get(start..end))
                .unwrap_or(absent)
        };
        Version {
            major: part(Some(self.major), "0"),
            minor: part(self.minor, "0"),
            patch: part(self.patch, "0"),
            pre: part(Some(self.pre), ""),
        }
    }
}

/// Checks `text` against the grammar and finds its parts:
/// `core ["-" pre-release] ["+" build]`, `core = number ["." number ["." number]]`.
fn locate(text: &str) -> Option<Parts> {
    let end = text.find('+').unwrap_or(text.len());
    if end < text.len() && !text.get(end + 1..)?.split('.').all(is_identifier) {
        return None;
    }
    let rest = text.get(..end)?;
    let (core_end, pre) = match rest.find('-') {
        Some(dash)
            if rest
                .get(dash + 1..)?
                .split('.')
                .all(is_pre_release_identifier) =>
        {
            (dash, (dash + 1, end))
        }
        Some(_) => return None,
        None => (end, (end, end)),
    };
    let mut numbers = [None; 3];
    let mut start = 0;
    for (i, number) in text.get(..core_end)?.split('.').enumerate() {
        if !is_number(number) {
            return None;
        }
        *numbers.get_mut(i)? = Some((start, start + number.len()));
        start += number.len() + 1;
    }
    let [major, minor, patch] = numbers;
    Some(Parts {
        major: major?,
        minor,
        patch,
        pre,
    })
}

/// `0`, or a digit 1–9 followed by digits.
fn is_number(s: &str) -> bool {
    match s.as_bytes() {
        [] => false,
        [b'0'] => true,
        [b'0', ..] => false,
        digits => digits.iter().all(u8::is_ascii_digit),
    }
}

/// One or more of `0-9A-Za-z-`.
fn is_identifier(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-')
}

/// An identifier that, when it is all digits, has no leading zero.
fn is_pre_release_identifier(s: &str) -> bool {
    is_identifier(s) && (!is_all_digits(s) || is_number(s))
}

fn is_all_digits(s: &str) -> bool {
    s.bytes().all(|c| c.is_ascii_digit())
}

/// Whole numbers without leading zeros, of any length.
fn compare_numbers(a: &str, b: &str) -> Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// A version without pre-release ranks above one with; otherwise identifier by
/// identifier, numeric below alphanumeric, and a longer list above its prefix.
fn compare_pre_release(a: &str, b: &str) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Greater,
        (false, true) => return Ordering::Less,
        (false, false) => {}
    }
    let (mut a, mut b) = (a.split('.'), b.split('.'));
    loop {
        match (a.next(), b.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => {
                let order = match (is_all_digits(x), is_all_digits(y)) {
                    (true, true) => compare_numbers(x, y),
                    (true, false) => Ordering::Less,
                    (false, true) => Ordering::Greater,
                    (false, false) => x.cmp(y),
                };
                if order != Ordering::Equal {
                    return order;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::{format, string::String, vec::Vec};
    use proptest::prelude::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        compare(&parse(a).unwrap(), &parse(b).unwrap())
    }

    #[test]
    fn a_missing_minor_or_patch_is_zero() {
        assert_eq!(cmp("1", "1.0.0"), Ordering::Equal);
        assert_eq!(cmp("1.2", "1.2.0"), Ordering::Equal);
        assert_eq!(cmp("1.2-rc.1", "1.2.0-rc.1"), Ordering::Equal);
        assert_eq!(cmp("1+build", "1.0.0"), Ordering::Equal);
        for bad in [
            "", "1.2.3.4", "1.", ".1", "01", "1.02", "v1", " 1", "1-", "1+", "1.0.0-01",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn numbers_of_any_size_compare_numerically() {
        let big = "18446744073709551616"; // 2^64
        assert_eq!(cmp(big, "18446744073709551615"), Ordering::Greater);
        assert_eq!(cmp(&format!("1.{big}"), "1.9"), Ordering::Greater);
        assert_eq!(cmp(&format!("1.0.0-{big}"), "1.0.0-9"), Ordering::Greater);
        assert_eq!(cmp(&format!("{big}0"), &format!("{big}0")), Ordering::Equal);
    }

    #[test]
    fn semver_precedence_example() {
        // SemVer 2.0.0, section 11.4.
        let ordered = [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
        ];
        for pair in ordered.windows(2) {
            assert_eq!(cmp(pair[0], pair[1]), Ordering::Less, "{pair:?}");
            assert_eq!(cmp(pair[1], pair[0]), Ordering::Greater, "{pair:?}");
        }
    }

    #[test]
    fn owned_versions_view_as_parsed() {
        for text in ["1", "1.2", "1.2.3", "1.2-rc.1+b", "0.0.0-0", "3+x"] {
            let owned = OwnedVersion::parse(text).unwrap();
            assert_eq!(owned.view(), parse(text).unwrap(), "{text}");
        }
        assert_eq!(OwnedVersion::parse("x"), None);
    }

    /// The `semver` crate as the engine used it before: full versions as the crate
    /// reads them, `1` and `1.2` padded.
    fn reference(text: &str) -> Option<::semver::Version> {
        if let Ok(v) = ::semver::Version::parse(text) {
            return Some(v);
        }
        let core_end = text.find(['-', '+']).unwrap_or(text.len());
        let (core, tail) = text.split_at(core_end);
        let padding = match core.split('.').count() {
            1 => ".0.0",
            2 => ".0",
            _ => return None,
        };
        ::semver::Version::parse(&format!("{core}{padding}{tail}")).ok()
    }

    fn reference_cmp(a: &::semver::Version, b: &::semver::Version) -> Ordering {
        (a.major, a.minor, a.patch, &a.pre).cmp(&(b.major, b.minor, b.patch, &b.pre))
    }

    fn version_like() -> impl Strategy<Value = String> {
        let number = prop_oneof!["0", "[1-9][0-9]{0,2}", "0[0-9]", "[0-9]{19,21}"];
        let ident = prop_oneof!["[0-9]{1,3}", "[a-zA-Z-][0-9a-zA-Z-]{0,3}", "", "0[0-9]"];
        (
            prop::collection::vec(number, 1..5),
            prop::option::of(prop::collection::vec(ident.clone(), 1..4)),
            prop::option::of(prop::collection::vec(ident, 1..3)),
        )
            .prop_map(|(core, pre, build)| {
                let mut text = core.join(".");
                if let Some(pre) = pre {
                    text = format!("{text}-{}", pre.join("."));
                }
                if let Some(build) = build {
                    text = format!("{text}+{}", build.join("."));
                }
                text
            })
    }

    /// Whether every number in the version's core fits the `semver` crate's u64.
    fn fits_u64(text: &str) -> bool {
        let core = text.split(['-', '+']).next().unwrap_or_default();
        core.split('.')
            .all(|n| n.parse::<u64>().is_ok() || n.is_empty())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4_000))]

        /// Within the `semver` crate's range, this parser accepts what the crate
        /// accepts and orders versions as it does.
        #[test]
        fn agrees_with_the_semver_crate(a in version_like(), b in version_like()) {
            for text in [&a, &b] {
                if fits_u64(text) {
                    prop_assert_eq!(parse(text).is_some(), reference(text).is_some(), "{}", text);
                }
            }
            if let (Some(x), Some(y)) = (reference(&a), reference(&b)) {
                let (p, q) = (parse(&a).unwrap(), parse(&b).unwrap());
                prop_assert_eq!(compare(&p, &q), reference_cmp(&x, &y), "{} vs {}", a, b);
            }
        }

        #[test]
        fn never_panics(text in "\\PC{0,24}") {
            let _ = parse(&text).map(|v| compare(&v, &v));
            let collected: Vec<_> = OwnedVersion::parse(&text).into_iter().collect();
            prop_assert!(collected.len() <= 1);
        }
    }
}
