//! Percentage rollouts and bucketing.
//!
//! The recipe, which `docs/snapshot-format.md` spells out with worked examples:
//! `bucket = xxh3_64(utf8(salt) ++ ":" ++ utf8(value)) mod 100_000`, with seed 0,
//! where `salt` is the flag's salt (its key when absent) and `value` is the
//! bucket-by attribute: a string as is, an integer in plain decimal.
//! The bucket selects the first variation whose cumulative weight exceeds it.

use serde_json::Value;
use smallvec::SmallVec;
use xxhash_rust::xxh3::{Xxh3, xxh3_64};

use crate::{
    attribute::{AttributeRef, TARGETING_KEY},
    error::FieldError,
    input,
    strings::Strings,
};

/// Weights are in units of 1/100,000: 0.001 % steps.
pub const BUCKETS: u32 = 100_000;

/// The bucket in `0..100_000` of `value` under `salt`.
pub fn bucket(salt: &str, value: &str) -> u32 {
    // Hash from a stack buffer when the input fits, which is nearly always; the
    // streaming hasher gives the same answer for longer input.
    let len = salt.len() + 1 + value.len();
    let mut buf = [0u8; 256];
    let hash = match buf.get_mut(..len) {
        Some(slot) => {
            let (s, rest) = slot.split_at_mut(salt.len());
            s.copy_from_slice(salt.as_bytes());
            let (sep, v) = rest.split_at_mut(1);
            sep.copy_from_slice(b":");
            v.copy_from_slice(value.as_bytes());
            xxh3_64(slot)
        }
        None => {
            let mut h = Xxh3::new();
            h.update(salt.as_bytes());
            h.update(b":");
            h.update(value.as_bytes());
            h.digest()
        }
    };
    (hash % u64::from(BUCKETS)) as u32
}

/// The largest whole number a double holds together with all its neighbours,
/// 2^53 − 1 (JavaScript's `Number.MAX_SAFE_INTEGER`).
pub const MAX_SAFE_INTEGER: i64 = (1 << 53) - 1;

/// The bucket of a JSON attribute value, or `None` when the value cannot be
/// bucketed. Strings can; numbers can when they are whole and within
/// ±(2^53 − 1), so that every runtime, JavaScript's included, writes the same
/// decimal text for them (`42.0` and `-0` are `42` and `0`).
pub fn bucket_value(salt: &str, value: &Value) -> Option<u32> {
    match value {
        Value::String(s) => Some(bucket(salt, s)),
        Value::Number(n) => {
            let whole = safe_integer(n)?;
            Some(bucket(salt, itoa::Buffer::new().format(whole)))
        }
        _ => None,
    }
}

/// A number as a whole number within ±(2^53 − 1), judged on its double: an integer
/// literal beyond that range is not one, whatever its digits.
pub(crate) fn safe_integer(n: &serde_json::Number) -> Option<i64> {
    let whole = match (n.as_i64(), n.as_u64()) {
        (Some(i), _) => i,
        (None, Some(_)) => return None, // above i64::MAX, so far above 2^53
        (None, None) => {
            let f = n.as_f64()?;
            // Within ±2^53 the cast is exact, so a round trip tells a fraction apart.
            if !(-9_007_199_254_740_992.0..=9_007_199_254_740_992.0).contains(&f)
                || f != (f as i64) as f64
            {
                return None;
            }
            f as i64
        }
    };
    (whole.unsigned_abs() <= MAX_SAFE_INTEGER.unsigned_abs()).then_some(whole)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Slot {
    /// Exclusive upper bound of cumulative weight.
    upper: u32,
    variation: usize,
}

/// A compiled rollout: the attribute to bucket by and cumulative slots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rollout {
    pub bucket_by: AttributeRef,
    slots: SmallVec<[Slot; 2]>,
}

impl Rollout {
    /// Compiles a wire rollout; `variation` resolves a variation key to its index.
    pub(crate) fn compile(
        wire: input::Rollout<'_>,
        variation: impl Fn(&str) -> Option<usize>,
        strings: &mut Strings,
    ) -> Result<Self, FieldError> {
        let name = wire.bucket_by.as_deref().unwrap_or(TARGETING_KEY);
        let bucket_by =
            AttributeRef::parse_shared(name, strings).map_err(|e| e.within("/bucketBy"))?;
        if wire.variations.is_empty() {
            return Err(FieldError::new(
                "/variations",
                "a rollout needs at least one variation",
            ));
        }
        let total: u64 = wire.variations.iter().map(|wv| u64::from(wv.weight)).sum();
        if total != u64::from(BUCKETS) {
            return Err(FieldError::new(
                "/variations",
                alloc::format!(
                    "rollout weights must add up to exactly {BUCKETS}, they add up to {total}"
                ),
            ));
        }
        let mut slots = SmallVec::with_capacity(wire.variations.len());
        let mut upper: u32 = 0;
        for (i, wv) in wire.variations.iter().enumerate() {
            let index = variation(&wv.variation).ok_or_else(|| {
                FieldError::new(
                    alloc::format!("/variations/{i}/variation"),
                    alloc::format!("unknown variation `{}`", wv.variation),
                )
            })?;
            // Cannot saturate: the weights were just checked to sum to BUCKETS.
            upper = upper.saturating_add(wv.weight);
            if wv.weight > 0 {
                slots.push(Slot {
                    upper,
                    variation: index,
                });
            }
        }
        Ok(Self { bucket_by, slots })
    }

    /// The variation index for a bucket in `0..BUCKETS`.
    pub(crate) fn choose(&self, bucket: u32) -> Option<usize> {
        self.slots
            .iter()
            .find(|s| bucket < s.upper)
            .map(|s| s.variation)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{WireRollout, WireWeightedVariation};
    use alloc::string::ToString;
    use serde_json::json;

    /// Known answers, pinned so that any change to the recipe fails loudly. They were
    /// cross-checked against Python's `xxhash` package (see docs/snapshot-format.md).
    #[test]
    fn known_answers() {
        assert_eq!(bucket("new-checkout", "user-1"), KNOWN[0]);
        assert_eq!(bucket("new-checkout", "user-2"), KNOWN[1]);
        assert_eq!(bucket("salt", ""), KNOWN[2]);
    }
    const KNOWN: [u32; 3] = [31_778, 851, 59_530];

    #[test]
    fn long_inputs_hash_like_short_ones_would() {
        let long = "x".repeat(600);
        let mut h = Xxh3::new();
        h.update(b"s:");
        h.update(long.as_bytes());
        assert_eq!(u64::from(bucket("s", &long)), h.digest() % 100_000);
    }

    #[test]
    fn integers_bucket_as_decimal_text() {
        assert_eq!(bucket_value("f", &json!(42)), Some(bucket("f", "42")));
        assert_eq!(bucket_value("f", &json!(42.0)), Some(bucket("f", "42")));
        assert_eq!(bucket_value("f", &json!(-7)), Some(bucket("f", "-7")));
        assert_eq!(bucket_value("f", &json!(4.5)), None);
        assert_eq!(bucket_value("f", &json!(true)), None);
        assert_eq!(bucket_value("f", &json!(-0.0)), Some(bucket("f", "0")));
    }

    #[test]
    fn only_safe_integers_bucket() {
        let max = 9_007_199_254_740_991_i64;
        assert_eq!(
            bucket_value("f", &json!(max)),
            Some(bucket("f", "9007199254740991"))
        );
        assert_eq!(
            bucket_value("f", &json!(-max)),
            Some(bucket("f", "-9007199254740991"))
        );
        assert_eq!(
            bucket_value("f", &json!(max as f64)),
            Some(bucket("f", "9007199254740991"))
        );
        assert_eq!(bucket_value("f", &json!(max + 1)), None);
        assert_eq!(bucket_value("f", &json!(-max - 1)), None);
        assert_eq!(bucket_value("f", &json!(9_007_199_254_740_992.0)), None);
        assert_eq!(bucket_value("f", &json!(u64::MAX)), None);
        assert_eq!(bucket_value("f", &json!(1e20)), None);
        assert_eq!(bucket_value("f", &json!(1e21)), None);
    }

    fn rollout(weights: &[(&str, u32)]) -> Result<Rollout, FieldError> {
        let wire = WireRollout {
            bucket_by: None,
            variations: weights
                .iter()
                .map(|(v, w)| WireWeightedVariation {
                    variation: v.to_string(),
                    weight: *w,
                })
                .collect(),
        };
        Rollout::compile(
            wire.into(),
            |k| ["a", "b", "c"].iter().position(|x| *x == k),
            &mut Strings::default(),
        )
    }

    #[test]
    fn slots_are_cumulative_and_skip_zero_weights() {
        let r = rollout(&[("a", 25_000), ("b", 0), ("c", 75_000)]).unwrap();
        assert_eq!(r.choose(0), Some(0));
        assert_eq!(r.choose(24_999), Some(0));
        assert_eq!(r.choose(25_000), Some(2));
        assert_eq!(r.choose(99_999), Some(2));
        assert!(r.bucket_by.is_targeting_key());
    }

    #[test]
    fn weights_must_sum_to_the_whole() {
        let err = rollout(&[("a", 50_000), ("b", 49_999)]).unwrap_err();
        assert_eq!(err.path, "/variations");
        let err = rollout(&[("a", u32::MAX), ("b", u32::MAX)]).unwrap_err();
        assert!(
            err.message.ends_with("they add up to 8589934590"),
            "{}",
            err.message
        );
        let err = rollout(&[("z", 100_000)]).unwrap_err();
        assert_eq!(err.path, "/variations/0/variation");
        assert_eq!(rollout(&[]).unwrap_err().path, "/variations");
    }
}
