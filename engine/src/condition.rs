//! Conditions: one test of one context attribute, compiled once at load.
//!
//! The rule every operator follows: a missing attribute, a `null`, or a value of
//! the wrong type never matches, and `negate` does not turn that into a match.
//! `negate` inverts only a test that could be made. Array attributes match when
//! any element matches. The one exception is `exists` / `notExists`, which test
//! presence itself.

use alloc::{borrow::Cow, format, string::String, sync::Arc, vec::Vec};
use core::cmp::Ordering;
use hashbrown::{HashMap, HashSet};
use serde_json::Value;
use smallvec::SmallVec;

use crate::{
    attribute::AttributeRef,
    context::{Context, type_name},
    date::{self, Now},
    error::FieldError,
    hashed::{self, DigestSet, Hasher},
    input::{self, CondValue},
    limits::Limits,
    regex::{self, Bounds, Regex},
    segment::Segment,
    semver::{self, OwnedVersion},
    strings::Strings,
};

/// Every operator of the snapshot format, by its wire name.
pub const OPERATORS: &[&str] = &[
    "in",
    "notIn",
    "startsWith",
    "endsWith",
    "contains",
    "matches",
    "lt",
    "lte",
    "gt",
    "gte",
    "eq",
    "semverEq",
    "semverLt",
    "semverLte",
    "semverGt",
    "semverGte",
    "before",
    "after",
    "inSegment",
    "notInSegment",
    "exists",
    "notExists",
];

/// What evaluation needs besides the condition: the context, the evaluation time
/// as a JSON number of epoch seconds, the snapshot's segments and its hash salt.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Env<'a> {
    pub ctx: &'a Context,
    pub now: &'a Now,
    pub segments: &'a [Segment],
    /// Hashes context values for hashed targets, segment members and `in` lists.
    pub hasher: &'a Hasher<'a>,
}

#[derive(Debug, Clone)]
pub(crate) struct Condition {
    attribute: AttributeRef,
    test: Test,
    negate: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TextOp {
    StartsWith,
    EndsWith,
    Contains,
}

#[derive(Debug, Clone)]
enum Test {
    /// `in` (`none == false`) and `notIn` (`none == true`).
    Equals {
        set: ValueSet,
        none: bool,
    },
    Text {
        op: TextOp,
        needles: SmallVec<[Arc<str>; 1]>,
        fold: bool,
    },
    Regex(Vec<Regex>),
    Number {
        order: &'static [Ordering],
        values: Vec<f64>,
    },
    Semver {
        order: &'static [Ordering],
        values: Vec<OwnedVersion>,
    },
    /// `before` (`Less`) and `after` (`Greater`), in epoch milliseconds.
    Date {
        order: Ordering,
        values: Vec<i64>,
    },
    Segment {
        indices: Vec<usize>,
        member: bool,
    },
    Exists(bool),
    /// An operator this engine does not know: it never matches.
    Unknown,
}

const LT: &[Ordering] = &[Ordering::Less];
const LTE: &[Ordering] = &[Ordering::Less, Ordering::Equal];
const GT: &[Ordering] = &[Ordering::Greater];
const GTE: &[Ordering] = &[Ordering::Greater, Ordering::Equal];
const EQ: &[Ordering] = &[Ordering::Equal];

/// How a condition's compiler resolves segment keys: to an index, or to the
/// reason the segment cannot be used.
pub(crate) type SegmentLookup<'a> = &'a HashMap<Cow<'a, str>, Result<usize, String>>;

impl Condition {
    /// Compiles one condition. `segments` is `None` inside segments, whose rules may
    /// not refer to other segments.
    pub(crate) fn compile(
        wire: input::Condition<'_>,
        segments: Option<SegmentLookup<'_>>,
        limits: &Limits,
        strings: &mut Strings,
    ) -> Result<Self, FieldError> {
        let count = wire.values.len() + wire.hashes.len();
        if count > limits.max_values {
            return Err(FieldError::new(
                "/values",
                format!("{count} values, over the limit of {}", limits.max_values),
            ));
        }
        let input::Condition {
            attribute,
            op,
            values,
            hashes,
            case_insensitive,
            negate,
        } = wire;
        if !hashes.is_empty() && !matches!(&*op, "in" | "notIn") && OPERATORS.contains(&&*op) {
            return Err(FieldError::new(
                "/hashes",
                format!("`{op}` takes no hashed values; only `in` and `notIn` do"),
            ));
        }
        let values = Values { values, hashes };
        let test = Test::compile(&op, values, case_insensitive, segments, limits, strings)?;
        let attribute = match test {
            // Segment membership looks at the whole context; no attribute is needed.
            Test::Segment { .. } | Test::Unknown if attribute.is_empty() => {
                AttributeRef::Top("".into())
            }
            _ => AttributeRef::parse_shared(&attribute, strings)
                .map_err(|e| e.within("/attribute"))?,
        };
        Ok(Self {
            attribute,
            test,
            negate,
        })
    }

    pub(crate) fn matches(&self, env: &Env<'_>) -> bool {
        match self.outcome(env) {
            Some(matched) => matched != self.negate,
            None => false,
        }
    }

    /// `Some(result)` when the test could be made, `None` when it could not
    /// (missing attribute, wrong type, unknown operator).
    fn outcome(&self, env: &Env<'_>) -> Option<bool> {
        let value = self.attribute.resolve(env.ctx, env.now);
        match &self.test {
            Test::Unknown => None,
            Test::Exists(want) => Some(value.is_some_and(|v| !v.is_null()) == *want),
            Test::Segment { indices, member } => {
                let inside = indices
                    .iter()
                    .any(|&i| env.segments.get(i).is_some_and(|s| s.contains(env)));
                Some(inside == *member)
            }
            Test::Regex(patterns) if value.is_some_and(|v| !affordable(patterns, v)) => None,
            test => match value? {
                Value::Array(items) => {
                    let mut tested = false;
                    for item in items {
                        match test.scalar(item, env.hasher) {
                            Some(true) => return Some(true),
                            Some(false) => tested = true,
                            None => {}
                        }
                    }
                    tested.then_some(false)
                }
                scalar => test.scalar(scalar, env.hasher),
            },
        }
    }
}

impl Test {
    /// Compiles an operator and its values. String values are shared through
    /// `strings` rather than allocated for each use: loading large snapshots is
    /// dominated by allocation.
    fn compile(
        op: &str,
        values: Values<'_>,
        fold: bool,
        segments: Option<SegmentLookup<'_>>,
        limits: &Limits,
        strings: &mut Strings,
    ) -> Result<Self, FieldError> {
        let Values { values, hashes } = values;
        let owned = values;
        let values = &owned;
        Ok(match op {
            "in" => Self::Equals {
                set: ValueSet::compile(owned, hashes, fold, strings)?,
                none: false,
            },
            "notIn" => Self::Equals {
                set: ValueSet::compile(owned, hashes, fold, strings)?,
                none: true,
            },
            "startsWith" => Self::text(TextOp::StartsWith, owned, fold, strings)?,
            "endsWith" => Self::text(TextOp::EndsWith, owned, fold, strings)?,
            "contains" => Self::text(TextOp::Contains, owned, fold, strings)?,
            "matches" => Self::Regex(each(&json_values(owned), |v| regex(v, fold, limits))?),
            "lt" => Self::number(LT, values)?,
            "lte" => Self::number(LTE, values)?,
            "gt" => Self::number(GT, values)?,
            "gte" => Self::number(GTE, values)?,
            "eq" => Self::number(EQ, values)?,
            "semverEq" => Self::semver(EQ, values)?,
            "semverLt" => Self::semver(LT, values)?,
            "semverLte" => Self::semver(LTE, values)?,
            "semverGt" => Self::semver(GT, values)?,
            "semverGte" => Self::semver(GTE, values)?,
            "before" => Self::date(Ordering::Less, &json_values(owned))?,
            "after" => Self::date(Ordering::Greater, &json_values(owned))?,
            "inSegment" => Self::segment(values, segments, true)?,
            "notInSegment" => Self::segment(values, segments, false)?,
            "exists" => Self::Exists(true),
            "notExists" => Self::Exists(false),
            _ => Self::Unknown,
        })
    }

    fn text(
        op: TextOp,
        values: Vec<CondValue<'_>>,
        fold: bool,
        strings: &mut Strings,
    ) -> Result<Self, FieldError> {
        let needles = each_owned(values, |v| match v {
            CondValue::String(s) if fold => Ok(strings.get(&s.to_lowercase())),
            CondValue::String(s) => Ok(strings.get(&s)),
            other => Err(format!("expected a string, found {}", other.type_name())),
        })?;
        Ok(Self::Text { op, needles, fold })
    }

    fn number(order: &'static [Ordering], values: &[CondValue<'_>]) -> Result<Self, FieldError> {
        let values = each(values, |v| {
            v.as_f64()
                .ok_or_else(|| format!("expected a number, found {}", v.type_name()))
        })?;
        Ok(Self::Number { order, values })
    }

    fn semver(order: &'static [Ordering], values: &[CondValue<'_>]) -> Result<Self, FieldError> {
        let values = each(values, |v| match v {
            CondValue::String(s) => {
                OwnedVersion::parse(s).ok_or_else(|| format!("`{s}` is not a semantic version"))
            }
            other => Err(format!(
                "expected a semantic version string, found {}",
                other.type_name()
            )),
        })?;
        Ok(Self::Semver { order, values })
    }

    fn date(order: Ordering, values: &[Value]) -> Result<Self, FieldError> {
        let values = each(values, |v| {
            date::parse(v).ok_or_else(|| match v {
                // Named rather than printed: printing a number would bring float
                // formatting into every wasm build for this one message.
                Value::Number(_) => {
                    "expected an RFC 3339 date-time or epoch seconds, found a number of seconds out of range".into()
                }
                Value::String(text) => {
                    format!("expected an RFC 3339 date-time or epoch seconds, found `{text}`")
                }
                other => format!(
                    "expected an RFC 3339 date-time or epoch seconds, found {}",
                    type_name(other)
                ),
            })
        })?;
        Ok(Self::Date { order, values })
    }

    fn segment(
        values: &[CondValue<'_>],
        segments: Option<SegmentLookup<'_>>,
        member: bool,
    ) -> Result<Self, FieldError> {
        let Some(lookup) = segments else {
            return Err(FieldError::new(
                "/op",
                "segment rules cannot refer to other segments",
            ));
        };
        let indices = each(values, |v| {
            let key = v
                .as_str()
                .ok_or_else(|| format!("expected a segment key, found {}", v.type_name()))?;
            match lookup.get(key) {
                Some(Ok(index)) => Ok(*index),
                Some(Err(why)) => Err(format!("segment `{key}` is invalid: {why}")),
                None => Err(format!("unknown segment `{key}`")),
            }
        })?;
        Ok(Self::Segment { indices, member })
    }

    /// Tests one non-array value. `None` means the value has the wrong type.
    fn scalar(&self, value: &Value, hasher: &Hasher<'_>) -> Option<bool> {
        match self {
            Self::Equals { set, none } => set.contains(value, hasher).map(|found| found != *none),
            Self::Text { op, needles, fold } => {
                let text = value.as_str()?;
                let folded;
                let text = if *fold {
                    folded = text.to_lowercase();
                    folded.as_str()
                } else {
                    text
                };
                Some(needles.iter().any(|n| match op {
                    TextOp::StartsWith => text.starts_with(&**n),
                    TextOp::EndsWith => text.ends_with(&**n),
                    TextOp::Contains => text.contains(&**n),
                }))
            }
            Self::Regex(patterns) => {
                let text = value.as_str()?;
                Some(patterns.iter().any(|re| re.is_match(text)))
            }
            Self::Number { order, values } => {
                let n = value.as_f64()?;
                Some(
                    values
                        .iter()
                        .any(|v| n.partial_cmp(v).is_some_and(|o| order.contains(&o))),
                )
            }
            Self::Semver { order, values } => {
                let version = semver::parse(value.as_str()?)?;
                Some(
                    values
                        .iter()
                        .any(|v| order.contains(&semver::compare(&version, &v.view()))),
                )
            }
            Self::Date { order, values } => {
                let at = date::parse(value)?;
                Some(values.iter().any(|v| at.cmp(v) == *order))
            }
            Self::Segment { .. } | Self::Exists(_) | Self::Unknown => None,
        }
    }
}

/// Like [`each`], consuming the values.
fn each_owned<V, T, C: FromIterator<T>>(
    values: Vec<V>,
    mut f: impl FnMut(V) -> Result<T, String>,
) -> Result<C, FieldError> {
    if values.is_empty() {
        return Err(FieldError::new(
            "/values",
            "this operator needs at least one value",
        ));
    }
    values
        .into_iter()
        .enumerate()
        .map(|(i, v)| f(v).map_err(|m| FieldError::new(format!("/values/{i}"), m)))
        .collect()
}

/// Compiles each value, reporting the first failure at `/values/{i}`.
fn each<V, T>(
    values: &[V],
    mut f: impl FnMut(&V) -> Result<T, String>,
) -> Result<Vec<T>, FieldError> {
    if values.is_empty() {
        return Err(FieldError::new(
            "/values",
            "this operator needs at least one value",
        ));
    }
    values
        .iter()
        .enumerate()
        .map(|(i, v)| f(v).map_err(|m| FieldError::new(format!("/values/{i}"), m)))
        .collect()
}

fn regex(value: &Value, fold: bool, limits: &Limits) -> Result<Regex, String> {
    let pattern = value.as_str().ok_or_else(|| {
        format!(
            "expected a regular expression string, found {}",
            type_name(value)
        )
    })?;
    if pattern.len() > limits.max_regex_len {
        return Err(format!(
            "regular expression is {} bytes, over the limit of {}",
            pattern.len(),
            limits.max_regex_len
        ));
    }
    let bounds = Bounds {
        size: limits.max_regex_size as u64,
        class_ranges: limits.max_regex_class_ranges,
    };
    Regex::new(pattern, fold, bounds)
        .map_err(|e| format!("invalid regular expression `{pattern}`: {e}"))
}

/// Whether testing `value` against `patterns` stays within the work limit of regular
/// expressions (`docs/snapshot-format.md`); a test that does not is not made, as for
/// a value of the wrong type.
fn affordable(patterns: &[Regex], value: &Value) -> bool {
    let elements = value.as_array().into_iter().flatten();
    let strings = value
        .as_str()
        .into_iter()
        .chain(elements.filter_map(Value::as_str));
    regex::work(patterns, strings.map(str::len)) <= regex::WORK_LIMIT
}

/// Condition values as JSON, for the operators that read them so.
fn json_values(values: Vec<CondValue<'_>>) -> Vec<Value> {
    values.into_iter().map(CondValue::into_value).collect()
}

/// A condition's right-hand side as read: its `values`, and the hashed strings that
/// `in` / `notIn` may carry besides (schemaVersion 2).
struct Values<'a> {
    values: Vec<CondValue<'a>>,
    hashes: Vec<input::Str<'a>>,
}

/// The right-hand side of `in` / `notIn`, split by JSON type for typed lookups.
/// Hashed strings count as strings: a string attribute is looked up among both.
#[derive(Debug, Clone)]
struct ValueSet {
    strings: StrSet,
    hashes: DigestSet,
    numbers: Vec<f64>,
    booleans: [bool; 2],
    fold: bool,
}

impl ValueSet {
    fn compile(
        values: Vec<CondValue<'_>>,
        hashes: Vec<input::Str<'_>>,
        fold: bool,
        shared: &mut Strings,
    ) -> Result<Self, FieldError> {
        let hashes: DigestSet = hashed::parse_all(hashes)
            .map_err(|e| e.within("/hashes"))?
            .into_iter()
            .collect();
        // A long list is most likely of distinct keys: not worth sharing.
        let share = values.len() <= StrSet::SMALL;
        let mut keep = |s: &str| if share { shared.get(s) } else { Arc::from(s) };
        let mut strings: SmallVec<[Arc<str>; 4]> = SmallVec::new();
        let mut numbers = Vec::new();
        let mut booleans = [false; 2];
        let read = |v| {
            match v {
                CondValue::String(s) if fold => strings.push(keep(&s.to_lowercase())),
                CondValue::String(s) => strings.push(keep(&s)),
                CondValue::Number(n) => numbers.push(n.as_f64().unwrap_or(f64::NAN)),
                CondValue::Bool(true) => booleans[1] = true,
                CondValue::Bool(false) => booleans[0] = true,
                other => {
                    return Err(format!(
                        "expected a string, number or boolean, found {}",
                        other.type_name()
                    ));
                }
            }
            Ok(())
        };
        // Hashed strings alone are values enough; otherwise `values` needs some.
        if hashes.is_empty() || !values.is_empty() {
            each_owned::<_, _, ()>(values, read)?;
        }
        Ok(Self {
            strings: StrSet::new(strings),
            hashes,
            numbers,
            booleans,
            fold,
        })
    }

    /// `Some(found)` when `value`'s type appears among the set's values, `None` otherwise.
    fn contains(&self, value: &Value, hasher: &Hasher<'_>) -> Option<bool> {
        match value {
            Value::String(s) if !self.strings.is_empty() || !self.hashes.is_empty() => {
                let folded;
                let s = if self.fold {
                    folded = s.to_lowercase();
                    &folded
                } else {
                    s
                };
                Some(self.strings.contains(s) || self.contains_hashed(s, hasher))
            }
            Value::Number(n) if !self.numbers.is_empty() => {
                let n = n.as_f64()?;
                Some(self.numbers.contains(&n))
            }
            Value::Bool(b) if self.booleans.iter().any(|x| *x) => {
                Some(self.booleans.get(usize::from(*b)).copied().unwrap_or(false))
            }
            _ => None,
        }
    }

    /// Whether the hashed form of `text` (already folded) is among the hashed values.
    fn contains_hashed(&self, text: &str, hasher: &Hasher<'_>) -> bool {
        !self.hashes.is_empty() && hasher.of(text).is_some_and(|d| self.hashes.contains(&d))
    }
}

/// A set of strings: a list while small (faster to scan than to hash), a hash set after.
#[derive(Debug, Clone)]
pub(crate) enum StrSet {
    Small(SmallVec<[Arc<str>; 4]>),
    Large(HashSet<Arc<str>>),
}

impl StrSet {
    const SMALL: usize = 8;

    pub(crate) fn new(
        items: impl IntoIterator<Item = Arc<str>, IntoIter: ExactSizeIterator>,
    ) -> Self {
        let items = items.into_iter();
        if items.len() <= Self::SMALL {
            Self::Small(items.collect())
        } else {
            Self::Large(items.collect())
        }
    }

    pub(crate) fn contains(&self, item: &str) -> bool {
        match self {
            Self::Small(items) => items.iter().any(|s| &**s == item),
            Self::Large(items) => items.contains(item),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        match self {
            Self::Small(items) => items.is_empty(),
            Self::Large(items) => items.is_empty(),
        }
    }
}

#[cfg(test)]
mod tests;
