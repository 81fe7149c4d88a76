//! Hashed values: how a client snapshot carries the values that identify people
//! (individual targets, segment members, the strings of `in` / `notIn`) without
//! showing them, while evaluating exactly as the readable form does.
//!
//! A value travels as `base64url(SHA-256(hashSalt ":" value)[0..16])`, 22 characters,
//! where `hashSalt` is the snapshot's. Loading decodes each one to a 128-bit number;
//! evaluation hashes the context's value the same way and looks the number up. The
//! specification is docs/snapshot-format.md, "Hashed values (schemaVersion 2)".

use alloc::{format, string::String, vec::Vec};
use base64ct::{Base64UrlUnpadded, Encoding};
use core::cell::OnceCell;
use hashbrown::HashSet;
use sha2::{Digest as _, Sha256};

use crate::{context::Context, error::FieldError, input};

/// The length of a hashed value as it travels: 16 bytes in unpadded base64url.
pub const HASH_LEN: usize = 22;

/// A hashed value as it is compared: the first 16 bytes of the SHA-256, big-endian.
pub(crate) type Digest = u128;

/// A set of hashed values. Digests are uniformly distributed, so hashing them
/// again costs little and a set never degrades.
pub(crate) type DigestSet = HashSet<Digest>;

/// The hashed form of `value` under `salt`, as a publisher writes it into a
/// snapshot. With `case_insensitive`, the value is lower-cased first (Unicode's full
/// lowercase mapping, `str::to_lowercase`), as a case-insensitive `in` compares.
pub fn hash(salt: &str, value: &str, case_insensitive: bool) -> String {
    let digest = if case_insensitive {
        digest(salt, &value.to_lowercase())
    } else {
        digest(salt, value)
    };
    Base64UrlUnpadded::encode_string(&digest.to_be_bytes())
}

/// `SHA-256(salt ":" value)`, cut to its first 16 bytes.
pub(crate) fn digest(salt: &str, value: &str) -> Digest {
    let full: [u8; 32] = Sha256::new()
        .chain_update(salt.as_bytes())
        .chain_update(b":")
        .chain_update(value.as_bytes())
        .finalize()
        .into();
    full.split_first_chunk::<16>()
        .map_or(0, |(head, _)| u128::from_be_bytes(*head))
}

/// Reads one hashed value: exactly 22 characters of canonical, unpadded base64url.
pub(crate) fn parse(text: &str) -> Result<Digest, String> {
    let decoded = crate::base64url::decode(text)
        .and_then(|bytes| <[u8; 16]>::try_from(bytes.as_slice()).ok());
    match decoded {
        Some(bytes) => Ok(u128::from_be_bytes(bytes)),
        None => Err(format!(
            "`{text}` is not a hashed value ({HASH_LEN} characters of unpadded base64url)"
        )),
    }
}

/// Reads a list of hashed values, reporting a bad one at `/{i}` (the caller
/// prefixes the field's own pointer).
pub(crate) fn parse_all(list: Vec<input::Str<'_>>) -> Result<Vec<Digest>, FieldError> {
    list.iter()
        .enumerate()
        .map(|(i, text)| parse(text).map_err(|m| FieldError::new(format!("/{i}"), m)))
        .collect()
}

/// Whether a parsed flag carries any hashed value, which only schemaVersion 2 may.
pub(crate) fn in_flag(flag: &input::Flag<'_>) -> bool {
    flag.targets
        .iter()
        .any(|t| t.hashes.as_ref().is_some_and(|h| !h.is_empty()))
        || flag
            .rules
            .iter()
            .any(|r| r.conditions.iter().any(|c| !c.hashes.is_empty()))
}

/// Whether a parsed segment carries any hashed value.
pub(crate) fn in_segment(segment: &input::Segment<'_>) -> bool {
    !segment.included_hashes.is_empty()
        || !segment.excluded_hashes.is_empty()
        || segment
            .rules
            .iter()
            .any(|r| r.conditions.iter().any(|c| !c.hashes.is_empty()))
}

/// What hashed lookups need during one evaluation: the snapshot's salt, and the
/// targeting key's digest, made on first use and then shared by every individual
/// target list and segment the evaluation consults.
#[derive(Debug)]
pub(crate) struct Hasher<'a> {
    salt: Option<&'a str>,
    key: OnceCell<Option<Digest>>,
}

impl<'a> Hasher<'a> {
    pub(crate) fn new(salt: Option<&'a str>) -> Self {
        Self {
            salt,
            key: OnceCell::new(),
        }
    }

    /// The digest of `value`; `None` when the snapshot has no salt (then it holds
    /// no hashed value either: loading refuses hashed values without a salt).
    pub(crate) fn of(&self, value: &str) -> Option<Digest> {
        self.salt.map(|salt| digest(salt, value))
    }

    /// The digest of the context's targeting key, if it has one.
    pub(crate) fn of_key(&self, ctx: &Context) -> Option<Digest> {
        *self
            .key
            .get_or_init(|| ctx.targeting_key().and_then(|key| self.of(key)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::{string::ToString, vec::Vec};

    /// Known answers, computed independently with Python's standard library:
    /// `base64.urlsafe_b64encode(hashlib.sha256(b"salt:value").digest()[:16]).rstrip(b"=")`.
    #[test]
    fn known_answers() {
        assert_eq!(hash("s4lt", "user-1", false), "FBxn5wq2ggeHRIz6zPlcqw");
        assert_eq!(hash("s4lt", "", false), "KUwNFCqp6IP0M6Jqy14N7A");
        assert_eq!(hash("", "user-1", false), "iwRLtXCcmlXjmmw3C_doQA");
        assert_eq!(hash("s4lt", "über", false), "jVWlHLr7P0yEfNYIjCS2gA");
        assert_eq!(hash("s4lt", "ÜBER", true), "jVWlHLr7P0yEfNYIjCS2gA");
    }

    #[test]
    fn parses_exactly_what_it_writes() {
        for value in ["user-1", "", "ünïcødé-😀"] {
            let text = hash("salt", value, false);
            assert_eq!(text.len(), HASH_LEN);
            assert_eq!(parse(&text), Ok(digest("salt", value)));
        }
        let good = hash("salt", "user-1", false);
        for bad in [
            "",
            "FBxn5wq2ggeHRIz6zPlcq",
            "FBxn5wq2ggeHRIz6zPlcqwA",
            "FBxn5wq2ggeHRIz6zPlcqw==",
            "FBxn5wq2ggeHRIz6zPlcq+",
            // The last character carries 2 bits of the 16th byte and 4 unused bits,
            // which must be zero: `x` is not canonical where `w` is.
            "FBxn5wq2ggeHRIz6zPlcqx",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert!(parse(&good).is_ok());
    }

    /// A snapshot in which `plain` targets, includes and lists the given strings, and
    /// its twin with every one of them hashed, as a publisher writes a client snapshot.
    fn twins(
        targets: &[String],
        listed: &[String],
        fold: bool,
    ) -> (crate::Snapshot, crate::Snapshot) {
        use serde_json::json;
        let doc = |hashed: bool| {
            let salt = "twin-salt";
            let list = |values: &[String], fold: bool| -> serde_json::Value {
                let field = if hashed { "hashes" } else { "values" };
                let values: Vec<String> = if hashed {
                    values.iter().map(|v| hash(salt, v, fold)).collect()
                } else {
                    values.to_vec()
                };
                json!({ field: values })
            };
            let mut target = list(targets, false);
            target["variation"] = json!("t");
            let mut condition = list(listed, fold);
            condition["attribute"] = json!("name");
            condition["op"] = json!("in");
            condition["caseInsensitive"] = json!(fold);
            let mut segment = json!({"key": "s"});
            segment[if hashed { "includedHashes" } else { "included" }] =
                list(listed, false)[if hashed { "hashes" } else { "values" }].clone();
            let variations: Vec<_> = ["t", "r", "s", "d"]
                .iter()
                .map(|k| json!({"key": k, "value": k}))
                .collect();
            let flag = json!({
                "key": "f", "type": "string", "enabled": true, "offVariation": "d",
                "variations": variations, "targets": [target],
                "rules": [
                    {"conditions": [condition], "serve": {"variation": "r"}},
                    {"conditions": [{"op": "inSegment", "values": ["s"]}], "serve": {"variation": "s"}}
                ],
                "defaultRule": {"variation": "d"}
            });
            let mut doc = json!({"schemaVersion": 2, "environment": "e", "version": 1,
                "generatedAt": "2026-11-25T12:00:00Z", "flags": [flag], "segments": [segment]});
            if hashed {
                doc["hashSalt"] = json!(salt);
            }
            let loaded = crate::Snapshot::load(doc.to_string().as_bytes()).unwrap();
            assert_eq!(loaded.warnings, [], "{doc}");
            loaded.snapshot
        };
        (doc(false), doc(true))
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]

        /// Hashing every target, member and `in` string changes no answer, for contexts
        /// that hit them and contexts that miss.
        #[test]
        fn hashed_values_evaluate_as_their_plain_forms(
            targets in proptest::collection::btree_set("[a-cA-CΣσς]{0,3}", 0..4),
            listed in proptest::collection::btree_set("[a-cA-CΣσς]{0,3}", 1..4),
            pick_key in 0usize..8,
            pick_name in 0usize..8,
            upper in proptest::prelude::any::<bool>(),
            fold in proptest::prelude::any::<bool>(),
        ) {
            let targets: Vec<String> = targets.into_iter().collect();
            let listed: Vec<String> = listed.into_iter().collect();
            // Contexts that hit a target or a listed value as often as they miss.
            let pool: Vec<&String> = targets.iter().chain(&listed).collect();
            let miss = String::from("miss");
            let key = pool.get(pick_key).copied().unwrap_or(&miss);
            let name = pool.get(pick_name).copied().unwrap_or(&miss);
            let name = if upper { name.to_uppercase() } else { name.clone() };
            let (plain, hashed) = twins(&targets, &listed, fold);
            let ctx = Context::from_value(serde_json::json!({"targetingKey": key, "name": name})).unwrap();
            let answer = |s: &crate::Snapshot| serde_json::to_value(s.evaluate("f", &ctx, 0)).unwrap();
            proptest::prop_assert_eq!(answer(&plain), answer(&hashed));
        }
    }

    #[test]
    fn the_targeting_key_is_hashed_once_per_evaluation() {
        let ctx = Context::with_targeting_key("user-1");
        let hasher = Hasher::new(Some("s4lt"));
        let first = hasher.of_key(&ctx);
        assert_eq!(first, Some(digest("s4lt", "user-1")));
        // A second context does not change a cached answer: one Hasher serves one evaluation.
        assert_eq!(hasher.of_key(&Context::new()), first);
        assert_eq!(Hasher::new(None).of_key(&ctx), None);
        assert_eq!(Hasher::new(Some("s4lt")).of_key(&Context::new()), None);
    }
}
