//! Flags: compiled from the wire form once, at load.

use alloc::{boxed::Box, format, string::String, sync::Arc, vec::Vec};
use hashbrown::HashMap;
use serde_json::{Map, Value};
use smallvec::SmallVec;

use crate::{
    condition::{Condition, Env, SegmentLookup},
    error::FieldError,
    hashed::{self, Digest},
    input,
    limits::Limits,
    reason::ValueType,
    rollout::Rollout,
    segment::compile_conditions,
    strings::Strings,
};

#[derive(Debug, Clone)]
pub(crate) struct Variation {
    pub key: Arc<str>,
    pub value: Value,
}

/// What a rule or the default rule serves.
#[derive(Debug, Clone)]
pub(crate) enum Serve {
    Variation(usize),
    Rollout(Rollout),
}

#[derive(Debug, Clone)]
pub(crate) struct Rule {
    pub id: Option<Arc<str>>,
    pub conditions: SmallVec<[Condition; 2]>,
    pub serve: Serve,
}

#[derive(Debug, Clone)]
pub(crate) struct Prerequisite {
    pub key: Box<str>,
    /// The prerequisite's index in the snapshot, once resolved; `None` if it is absent.
    pub flag: Option<usize>,
    /// The required variation's index in the prerequisite flag, once resolved.
    pub variation: Option<usize>,
    /// The required variation's key, kept to resolve it after every flag is compiled.
    pub variation_key: Box<str>,
}

/// A compiled, valid flag.
#[derive(Debug, Clone)]
pub(crate) struct Flag {
    pub value_type: ValueType,
    pub variations: SmallVec<[Variation; 2]>,
    pub enabled: bool,
    pub off: usize,
    pub targets: HashMap<Box<str>, usize>,
    /// Individual targets given hashed (schemaVersion 2), by digest.
    pub hashed_targets: HashMap<Digest, usize>,
    pub rules: SmallVec<[Rule; 1]>,
    pub default_rule: Serve,
    pub prerequisites: Vec<Prerequisite>,
    /// The bucketing salt when it differs from the flag key (the default).
    pub salt: Option<Box<str>>,
    /// No prerequisites, targets or rules, and a single default variation: `STATIC`.
    pub is_static: bool,
}

/// Descriptive fields, kept for listing flags; never used by evaluation.
#[derive(Debug, Clone, Default)]
pub(crate) struct FlagMeta {
    pub value_type: Option<ValueType>,
    pub description: Option<String>,
    pub tags: Vec<String>,
    pub metadata: Map<String, Value>,
}

impl Flag {
    /// Compiles a flag from its parsed form. Loading is dominated by allocation, so
    /// values are moved into the compiled flag, and recurring strings are shared
    /// through `strings` rather than allocated for each use.
    pub(crate) fn compile(
        wire: input::Flag<'_>,
        segments: SegmentLookup<'_>,
        limits: &Limits,
        strings: &mut Strings,
    ) -> Result<Self, FieldError> {
        let value_type = ValueType::parse(&wire.value_type).ok_or_else(|| {
            FieldError::new(
                "/type",
                format!(
                    "unknown type `{}`; expected boolean, string, number or object",
                    wire.value_type
                ),
            )
        })?;
        let variations = compile_variations(wire.variations, value_type, limits, strings)?;
        let find = |key: &str| variations.iter().position(|v| &*v.key == key);
        let off = find(wire.off_variation.as_str()).ok_or_else(|| {
            FieldError::new(
                "/offVariation",
                format!("unknown variation `{}`", wire.off_variation),
            )
        })?;
        let (targets, hashed_targets) = compile_targets(wire.targets, &find, limits)?;
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
        let mut rules = SmallVec::with_capacity(wire.rules.len());
        for (r, rule) in wire.rules.into_iter().enumerate() {
            let at = |e: FieldError| e.within(format!("/rules/{r}"));
            rules.push(Rule {
                id: rule.id.map(|id| strings.get(&id)),
                conditions: compile_conditions(rule.conditions, Some(segments), limits, strings)
                    .map_err(at)?,
                serve: compile_serve(rule.serve, &find, strings)
                    .map_err(|e| at(e.within("/serve")))?,
            });
        }
        let default_rule = compile_serve(wire.default_rule, &find, strings)
            .map_err(|e| e.within("/defaultRule"))?;
        let prerequisites = compile_prerequisites(wire.prerequisites, limits)?;
        let is_static = prerequisites.is_empty()
            && targets.is_empty()
            && hashed_targets.is_empty()
            && rules.is_empty()
            && matches!(default_rule, Serve::Variation(_));
        Ok(Self {
            value_type,
            variations,
            enabled: wire.enabled,
            off,
            targets,
            hashed_targets,
            rules,
            default_rule,
            prerequisites,
            salt: wire.salt.map(input::Str::into_boxed),
            is_static,
        })
    }

    pub(crate) fn variation_index(&self, key: &str) -> Option<usize> {
        self.variations.iter().position(|v| &*v.key == key)
    }

    /// The variation the context's targeting key is individually targeted with:
    /// plain keys first, then hashed ones. Most flags have no individual targets,
    /// and skip the context lookup.
    pub(crate) fn target(&self, env: &Env<'_>) -> Option<usize> {
        if !self.targets.is_empty()
            && let Some(&variation) = env.ctx.targeting_key().and_then(|k| self.targets.get(k))
        {
            return Some(variation);
        }
        if self.hashed_targets.is_empty() {
            return None;
        }
        let digest = env.hasher.of_key(env.ctx)?;
        self.hashed_targets.get(&digest).copied()
    }
}

fn compile_variations(
    wire: Vec<input::Variation<'_>>,
    value_type: ValueType,
    limits: &Limits,
    strings: &mut Strings,
) -> Result<SmallVec<[Variation; 2]>, FieldError> {
    if wire.is_empty() {
        return Err(FieldError::new(
            "/variations",
            "a flag needs at least one variation",
        ));
    }
    if wire.len() > limits.max_variations {
        return Err(FieldError::new(
            "/variations",
            format!(
                "{} variations, over the limit of {}",
                wire.len(),
                limits.max_variations
            ),
        ));
    }
    let mut out: SmallVec<[Variation; 2]> = SmallVec::with_capacity(wire.len());
    for (i, v) in wire.into_iter().enumerate() {
        if out.iter().any(|seen| *seen.key == *v.key) {
            return Err(FieldError::new(
                format!("/variations/{i}/key"),
                format!("duplicate variation key `{}`", v.key),
            ));
        }
        if !value_type.admits(&v.value) {
            return Err(FieldError::new(
                format!("/variations/{i}/value"),
                format!(
                    "expected a {} value, found {}",
                    value_type,
                    crate::context::type_name(&v.value)
                ),
            ));
        }
        out.push(Variation {
            key: strings.get(&v.key),
            value: v.value,
        });
    }
    Ok(out)
}

type Targets = (HashMap<Box<str>, usize>, HashMap<Digest, usize>);

fn compile_targets(
    wire: Vec<input::Target<'_>>,
    find: &impl Fn(&str) -> Option<usize>,
    limits: &Limits,
) -> Result<Targets, FieldError> {
    let count = |list: &Option<Vec<_>>| list.as_ref().map_or(0, Vec::len);
    let total: usize = wire
        .iter()
        .map(|t| count(&t.values) + count(&t.hashes))
        .sum();
    if total > limits.max_targets {
        return Err(FieldError::new(
            "/targets",
            format!(
                "{total} target keys, over the limit of {}",
                limits.max_targets
            ),
        ));
    }
    let mut targets = HashMap::with_capacity(count_plain(&wire));
    let mut hashed = HashMap::new();
    for (t, target) in wire.into_iter().enumerate() {
        let err =
            |path: &str, message: String| FieldError::new(format!("/targets/{t}{path}"), message);
        let variation = find(&target.variation).ok_or_else(|| {
            err(
                "/variation",
                format!("unknown variation `{}`", target.variation),
            )
        })?;
        if target.values.is_none() && target.hashes.is_none() {
            return Err(err("", "a target needs `values` (or `hashes`)".into()));
        }
        for (k, key) in target.values.into_iter().flatten().enumerate() {
            if targets.contains_key(key.as_str()) {
                let message = format!("context key `{key}` is targeted more than once");
                return Err(err(&format!("/values/{k}"), message));
            }
            targets.insert(key.into_boxed(), variation);
        }
        let digests = hashed::parse_all(target.hashes.unwrap_or_default())
            .map_err(|e| e.within(format!("/targets/{t}/hashes")))?;
        for (k, digest) in digests.into_iter().enumerate() {
            if hashed.insert(digest, variation).is_some() {
                let message = "this hashed context key is targeted more than once".into();
                return Err(err(&format!("/hashes/{k}"), message));
            }
        }
    }
    Ok((targets, hashed))
}

fn count_plain(wire: &[input::Target<'_>]) -> usize {
    wire.iter()
        .map(|t| t.values.as_ref().map_or(0, Vec::len))
        .sum()
}

fn compile_serve(
    wire: input::Serve<'_>,
    find: &impl Fn(&str) -> Option<usize>,
    strings: &mut Strings,
) -> Result<Serve, FieldError> {
    match (wire.variation, wire.rollout) {
        (Some(key), None) => find(&key)
            .map(Serve::Variation)
            .ok_or_else(|| FieldError::new("/variation", format!("unknown variation `{key}`"))),
        (None, Some(rollout)) => Ok(Serve::Rollout(
            Rollout::compile(rollout, find, strings).map_err(|e| e.within("/rollout"))?,
        )),
        (Some(_), Some(_)) => Err(FieldError::new(
            "",
            "serve either a `variation` or a `rollout`, not both",
        )),
        (None, None) => Err(FieldError::new(
            "",
            "serve needs a `variation` or a `rollout`",
        )),
    }
}

fn compile_prerequisites(
    wire: Vec<input::Prerequisite<'_>>,
    limits: &Limits,
) -> Result<Vec<Prerequisite>, FieldError> {
    if wire.len() > limits.max_prerequisites {
        return Err(FieldError::new(
            "/prerequisites",
            format!(
                "{} prerequisites, over the limit of {}",
                wire.len(),
                limits.max_prerequisites
            ),
        ));
    }
    Ok(wire
        .into_iter()
        .map(|p| Prerequisite {
            key: p.flag.into_boxed(),
            flag: None,
            variation: None,
            variation_key: p.variation.into_boxed(),
        })
        .collect())
}
