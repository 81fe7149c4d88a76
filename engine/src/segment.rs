//! Segments: reusable groups of contexts, referred to by `inSegment` / `notInSegment`.
//!
//! A context is in a segment when its targeting key is included; otherwise, when
//! it is not excluded and any of the segment's rules matches (a rule's conditions
//! are ANDed). Segment rules cannot refer to other segments, so membership never recurses.

use alloc::{format, sync::Arc, vec::Vec};
use smallvec::SmallVec;

use crate::{
    condition::{Condition, Env, StrSet},
    error::FieldError,
    hashed::{self, DigestSet},
    input,
    limits::Limits,
    strings::Strings,
};

#[derive(Debug, Clone)]
pub(crate) struct Segment {
    included: StrSet,
    excluded: StrSet,
    /// `included` and `excluded` keys given hashed (schemaVersion 2).
    included_hashes: DigestSet,
    excluded_hashes: DigestSet,
    rules: Vec<SmallVec<[Condition; 2]>>,
}

impl Segment {
    pub(crate) fn compile(
        wire: input::Segment<'_>,
        limits: &Limits,
        strings: &mut Strings,
    ) -> Result<Self, FieldError> {
        let keys = wire.included.len()
            + wire.excluded.len()
            + wire.included_hashes.len()
            + wire.excluded_hashes.len();
        if keys > limits.max_targets {
            return Err(FieldError::new(
                "",
                format!(
                    "{keys} included and excluded keys, over the limit of {}",
                    limits.max_targets
                ),
            ));
        }
        if wire.rules.len() > limits.max_rules {
            return Err(FieldError::new(
                "/rules",
                format!(
                    "{} rules, over the limit of {}",
                    wire.rules.len(),
                    limits.max_rules
                ),
            ));
        }
        let mut rules = Vec::with_capacity(wire.rules.len());
        for (r, rule) in wire.rules.into_iter().enumerate() {
            rules.push(
                compile_conditions(rule.conditions, None, limits, strings)
                    .map_err(|e| e.within(format!("/rules/{r}")))?,
            );
        }
        let digests = |list, field: &str| {
            hashed::parse_all(list)
                .map(DigestSet::from_iter)
                .map_err(|e| e.within(format!("/{field}")))
        };
        Ok(Self {
            included_hashes: digests(wire.included_hashes, "includedHashes")?,
            excluded_hashes: digests(wire.excluded_hashes, "excludedHashes")?,
            included: StrSet::new(boxed(wire.included)),
            excluded: StrSet::new(boxed(wire.excluded)),
            rules,
        })
    }

    pub(crate) fn contains(&self, env: &Env<'_>) -> bool {
        if let Some(key) = env.ctx.targeting_key() {
            if self.included.contains(key) || has_hashed(&self.included_hashes, env) {
                return true;
            }
            if self.excluded.contains(key) || has_hashed(&self.excluded_hashes, env) {
                return false;
            }
        }
        self.rules
            .iter()
            .any(|conditions| conditions.iter().all(|c| c.matches(env)))
    }
}

/// Whether the context's hashed targeting key is in `set`; hashes it only when the
/// set is not empty.
fn has_hashed(set: &DigestSet, env: &Env<'_>) -> bool {
    !set.is_empty() && env.hasher.of_key(env.ctx).is_some_and(|d| set.contains(&d))
}

/// Included and excluded keys rarely recur, so they are not shared.
fn boxed(keys: Vec<input::Str<'_>>) -> Vec<Arc<str>> {
    keys.into_iter()
        .map(|key| Arc::from(key.as_str()))
        .collect()
}

/// Compiles the conditions of one rule, reporting failures at `/conditions/{i}`.
pub(crate) fn compile_conditions(
    wire: Vec<input::Condition<'_>>,
    segments: Option<crate::condition::SegmentLookup<'_>>,
    limits: &Limits,
    strings: &mut Strings,
) -> Result<SmallVec<[Condition; 2]>, FieldError> {
    if wire.len() > limits.max_conditions {
        return Err(FieldError::new(
            "/conditions",
            format!(
                "{} conditions, over the limit of {}",
                wire.len(),
                limits.max_conditions
            ),
        ));
    }
    wire.into_iter()
        .enumerate()
        .map(|(i, c)| {
            Condition::compile(c, segments, limits, strings)
                .map_err(|e| e.within(format!("/conditions/{i}")))
        })
        .collect()
}
