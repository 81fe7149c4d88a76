//! The snapshot as [`crate::Snapshot::load`] reads it: the wire format of
//! [`crate::wire`], field for field, but borrowing its strings from the input.
//!
//! Most strings of a snapshot (operators, variation names in serves and rollouts,
//! segment keys, the type) are only looked at while compiling; reading them as
//! borrowed slices, and condition values as typed scalars rather than
//! [`serde_json::Value`]s, spares an allocation and a free for each. Strings with
//! escapes cannot be borrowed and are owned instead. The public wire types stay the
//! publisher's (and the admin's) types; these accept exactly the same documents.

use alloc::{borrow::Cow, boxed::Box, string::String, vec::Vec};
use core::fmt;
use serde::{
    Deserialize, Deserializer,
    de::{self, Visitor},
};
use serde_json::{Map, Number, Value};

use crate::wire;

/// A JSON string, borrowed from the input when it has no escapes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Str<'a>(pub Cow<'a, str>);

impl<'a> Str<'a> {
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    pub(crate) fn into_boxed(self) -> Box<str> {
        match self.0 {
            Cow::Borrowed(s) => s.into(),
            Cow::Owned(s) => s.into_boxed_str(),
        }
    }

    pub(crate) fn into_string(self) -> String {
        self.0.into_owned()
    }
}

impl core::ops::Deref for Str<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Str<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<String> for Str<'static> {
    fn from(s: String) -> Self {
        Self(Cow::Owned(s))
    }
}

/// A condition value: any JSON value, with the scalars conditions use kept typed
/// and strings borrowed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum CondValue<'a> {
    String(Str<'a>),
    Number(Number),
    Bool(bool),
    /// `null`, arrays and objects: never valid in a condition, kept to report them.
    Other(Value),
}

impl CondValue<'_> {
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Self::String(s) => Some(s),
            _ => None,
        }
    }

    pub(crate) fn as_f64(&self) -> Option<f64> {
        match self {
            Self::Number(n) => n.as_f64(),
            _ => None,
        }
    }

    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Self::String(_) => "string",
            Self::Number(_) => "number",
            Self::Bool(_) => "boolean",
            Self::Other(v) => crate::context::type_name(v),
        }
    }

    pub(crate) fn into_value(self) -> Value {
        match self {
            Self::String(s) => Value::String(s.into_string()),
            Self::Number(n) => Value::Number(n),
            Self::Bool(b) => Value::Bool(b),
            Self::Other(v) => v,
        }
    }
}

impl From<Value> for CondValue<'static> {
    fn from(v: Value) -> Self {
        match v {
            Value::String(s) => Self::String(s.into()),
            Value::Number(n) => Self::Number(n),
            Value::Bool(b) => Self::Bool(b),
            other => Self::Other(other),
        }
    }
}

/// An optional member whose value is `null` counts as absent: the default.
pub(crate) fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Whole numbers as the format reads them: any JSON number whose value, read as
/// the nearest double, is a whole number (`7`, `7.0` and `0.7e1` are all 7).
#[derive(Debug)]
pub(crate) struct Whole;

impl Whole {
    /// The value of `n` when it is a whole number from 0 to 2^64 − 1.
    pub(crate) fn of(n: &Number) -> Option<u64> {
        if let Some(u) = n.as_u64() {
            return Some(u);
        }
        let f = n.as_f64()?;
        // Below 2^64 the cast is exact for whole numbers; `-0.0` is 0.
        ((0.0..18_446_744_073_709_551_616.0).contains(&f) && f == (f as u64) as f64)
            .then_some(f as u64)
    }
}

/// Reads a whole number from 0 to `max`.
struct WholeVisitor(u64);

impl WholeVisitor {
    fn check<E: de::Error>(
        &self,
        value: Option<u64>,
        unexpected: de::Unexpected<'_>,
    ) -> Result<u64, E> {
        value
            .filter(|v| *v <= self.0)
            .ok_or_else(|| E::invalid_value(unexpected, self))
    }
}

impl<'de> Visitor<'de> for WholeVisitor {
    type Value = u64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a whole number from 0 to {}", self.0)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
        self.check(Some(v), de::Unexpected::Unsigned(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<u64, E> {
        self.check(u64::try_from(v).ok(), de::Unexpected::Signed(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<u64, E> {
        self.check(
            Number::from_f64(v).as_ref().and_then(Whole::of),
            de::Unexpected::Float(v),
        )
    }
}

/// The largest version: 2^53 − 1, the largest whole number every JSON reader,
/// JavaScript's included, reads exactly.
pub(crate) const MAX_VERSION: u64 = (1 << 53) - 1;

/// A flag's or segment's `version`: a whole number from 0 to 2^53 − 1; absent or
/// `null` is 0.
pub(crate) fn version<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    struct Optional;
    impl<'de> Visitor<'de> for Optional {
        type Value = u64;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            WholeVisitor(MAX_VERSION).expecting(f)
        }
        fn visit_none<E: de::Error>(self) -> Result<u64, E> {
            Ok(0)
        }
        fn visit_unit<E: de::Error>(self) -> Result<u64, E> {
            Ok(0)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<u64, D::Error> {
            d.deserialize_any(WholeVisitor(MAX_VERSION))
        }
    }
    d.deserialize_option(Optional)
}

/// The snapshot's `version` or `schemaVersion` in [`wire::SnapshotDocument`]: a
/// whole number from 0 to 2^53 − 1, required.
pub(crate) fn required_version<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    d.deserialize_any(WholeVisitor(MAX_VERSION))
}

/// A rollout weight: a whole number from 0 to 100,000.
pub(crate) fn weight<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let w = d.deserialize_any(WholeVisitor(u64::from(crate::rollout::BUCKETS)))?;
    // Cannot fail: the visitor refuses anything above 100,000.
    u32::try_from(w).map_err(|_| de::Error::custom("weight out of range"))
}

/// What can still be read of a flag or segment that is malformed: its `key`,
/// `version` and `clientVisible`, each when it appears once with the right type.
#[derive(Debug)]
pub(crate) struct ItemHeader {
    pub key: Option<String>,
    /// `None` when `version` is malformed: the item's version is unknown.
    pub version: Option<u64>,
    pub client_visible: bool,
}

/// [`wire::WireFlag`], borrowing.
#[derive(Debug, Default)]
#[cfg_attr(test, derive(Deserialize))]
#[cfg_attr(test, serde(rename_all = "camelCase"))]
pub(crate) struct Flag<'a> {
    #[cfg_attr(test, serde(borrow))]
    pub key: Str<'a>,
    #[cfg_attr(test, serde(default, deserialize_with = "version"))]
    pub version: u64,
    #[cfg_attr(test, serde(rename = "type", borrow))]
    pub value_type: Str<'a>,
    #[cfg_attr(test, serde(borrow))]
    pub variations: Vec<Variation<'a>>,
    pub enabled: bool,
    #[cfg_attr(test, serde(borrow))]
    pub off_variation: Str<'a>,
    #[cfg_attr(test, serde(borrow, default, deserialize_with = "nullable"))]
    pub targets: Vec<Target<'a>>,
    #[cfg_attr(test, serde(borrow, default, deserialize_with = "nullable"))]
    pub rules: Vec<Rule<'a>>,
    #[cfg_attr(test, serde(borrow))]
    pub default_rule: Serve<'a>,
    #[cfg_attr(test, serde(borrow, default, deserialize_with = "nullable"))]
    pub prerequisites: Vec<Prerequisite<'a>>,
    #[cfg_attr(test, serde(borrow, default))]
    pub salt: Option<Str<'a>>,
    #[cfg_attr(test, serde(default, deserialize_with = "nullable"))]
    pub client_visible: bool,
    #[cfg_attr(test, serde(default))]
    pub description: Option<String>,
    #[cfg_attr(test, serde(default, deserialize_with = "nullable"))]
    pub tags: Vec<String>,
    #[cfg_attr(test, serde(default, deserialize_with = "nullable"))]
    pub metadata: Map<String, Value>,
}

#[derive(Debug)]
#[cfg_attr(test, derive(Deserialize))]
pub(crate) struct Variation<'a> {
    #[cfg_attr(test, serde(borrow))]
    pub key: Str<'a>,
    pub value: Value,
}

/// `values` and `hashes` (schemaVersion 2) are optional here so that a target with
/// neither can be refused as a target without `values` always was (`null` counts as
/// absent, as for every optional member).
#[derive(Debug)]
#[cfg_attr(test, derive(Deserialize))]
pub(crate) struct Target<'a> {
    #[cfg_attr(test, serde(borrow))]
    pub variation: Str<'a>,
    #[cfg_attr(test, serde(borrow, default))]
    pub values: Option<Vec<Str<'a>>>,
    #[cfg_attr(test, serde(borrow, default))]
    pub hashes: Option<Vec<Str<'a>>>,
}

#[derive(Debug)]
#[cfg_attr(test, derive(Deserialize))]
pub(crate) struct Rule<'a> {
    #[cfg_attr(test, serde(borrow, default))]
    pub id: Option<Str<'a>>,
    #[cfg_attr(test, serde(borrow, default, deserialize_with = "nullable"))]
    pub conditions: Vec<Condition<'a>>,
    #[cfg_attr(test, serde(borrow))]
    pub serve: Serve<'a>,
}

#[derive(Debug, Default)]
#[cfg_attr(test, derive(Deserialize))]
pub(crate) struct Serve<'a> {
    #[cfg_attr(test, serde(borrow, default))]
    pub variation: Option<Str<'a>>,
    #[cfg_attr(test, serde(borrow, default))]
    pub rollout: Option<Rollout<'a>>,
}

#[derive(Debug)]
#[cfg_attr(test, derive(Deserialize))]
#[cfg_attr(test, serde(rename_all = "camelCase"))]
pub(crate) struct Rollout<'a> {
    #[cfg_attr(test, serde(borrow, default))]
    pub bucket_by: Option<Str<'a>>,
    #[cfg_attr(test, serde(borrow))]
    pub variations: Vec<WeightedVariation<'a>>,
}

#[derive(Debug)]
#[cfg_attr(test, derive(Deserialize))]
pub(crate) struct WeightedVariation<'a> {
    #[cfg_attr(test, serde(borrow))]
    pub variation: Str<'a>,
    #[cfg_attr(test, serde(deserialize_with = "weight"))]
    pub weight: u32,
}

#[derive(Debug)]
#[cfg_attr(test, derive(Deserialize))]
pub(crate) struct Prerequisite<'a> {
    #[cfg_attr(test, serde(borrow))]
    pub flag: Str<'a>,
    #[cfg_attr(test, serde(borrow))]
    pub variation: Str<'a>,
}

#[derive(Debug, Clone)]
#[cfg_attr(test, derive(Deserialize))]
#[cfg_attr(test, serde(rename_all = "camelCase"))]
pub(crate) struct Condition<'a> {
    #[cfg_attr(test, serde(borrow, default, deserialize_with = "nullable"))]
    pub attribute: Str<'a>,
    #[cfg_attr(test, serde(borrow))]
    pub op: Str<'a>,
    #[cfg_attr(test, serde(borrow, default, deserialize_with = "nullable"))]
    pub values: Vec<CondValue<'a>>,
    #[cfg_attr(test, serde(borrow, default, deserialize_with = "nullable"))]
    pub hashes: Vec<Str<'a>>,
    #[cfg_attr(test, serde(default, deserialize_with = "nullable"))]
    pub case_insensitive: bool,
    #[cfg_attr(test, serde(default, deserialize_with = "nullable"))]
    pub negate: bool,
}

/// `version`, `description` and rule ids are read only to check their types: a
/// segment whose fields have the wrong types is malformed, as in [`wire::WireSegment`].
#[derive(Debug, Default)]
#[cfg_attr(test, derive(Deserialize))]
#[allow(dead_code)]
pub(crate) struct Segment<'a> {
    #[cfg_attr(test, serde(borrow))]
    pub key: Str<'a>,
    #[cfg_attr(test, serde(default, deserialize_with = "version"))]
    pub version: u64,
    #[cfg_attr(test, serde(borrow, default, deserialize_with = "nullable"))]
    pub included: Vec<Str<'a>>,
    #[cfg_attr(test, serde(borrow, default, deserialize_with = "nullable"))]
    pub excluded: Vec<Str<'a>>,
    #[cfg_attr(
        test,
        serde(
            borrow,
            default,
            rename = "includedHashes",
            deserialize_with = "nullable"
        )
    )]
    pub included_hashes: Vec<Str<'a>>,
    #[cfg_attr(
        test,
        serde(
            borrow,
            default,
            rename = "excludedHashes",
            deserialize_with = "nullable"
        )
    )]
    pub excluded_hashes: Vec<Str<'a>>,
    #[cfg_attr(test, serde(borrow, default, deserialize_with = "nullable"))]
    pub rules: Vec<SegmentRule<'a>>,
    #[cfg_attr(test, serde(borrow, default))]
    pub description: Option<Str<'a>>,
}

#[derive(Debug, Default)]
#[cfg_attr(test, derive(Deserialize))]
#[allow(dead_code)]
pub(crate) struct SegmentRule<'a> {
    #[cfg_attr(test, serde(borrow, default))]
    pub id: Option<Str<'a>>,
    #[cfg_attr(test, serde(borrow))]
    pub conditions: Vec<Condition<'a>>,
}

impl From<wire::WireCondition> for Condition<'static> {
    fn from(w: wire::WireCondition) -> Self {
        Self {
            attribute: w.attribute.into(),
            op: w.op.into(),
            values: w.values.into_iter().map(CondValue::from).collect(),
            hashes: w.hashes.into_iter().map(Str::from).collect(),
            case_insensitive: w.case_insensitive,
            negate: w.negate,
        }
    }
}

impl From<wire::WireRollout> for Rollout<'static> {
    fn from(w: wire::WireRollout) -> Self {
        Self {
            bucket_by: w.bucket_by.map(Str::from),
            variations: w
                .variations
                .into_iter()
                .map(|v| WeightedVariation {
                    variation: v.variation.into(),
                    weight: v.weight,
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::{format, string::ToString};
    use proptest::prelude::*;
    use std::boxed::Box;

    /// Every flag and segment of the shared vectors (the invalid ones included),
    /// parsed once.
    fn items() -> &'static [(bool, Value)] {
        static ITEMS: std::sync::OnceLock<Vec<(bool, Value)>> = std::sync::OnceLock::new();
        ITEMS.get_or_init(parse_items)
    }

    fn parse_items() -> Vec<(bool, Value)> {
        let mut items = Vec::new();
        for (name, text) in edgeflag_vectors::FILES {
            let doc = edgeflag_vectors::parse(name, text);
            for (is_flag, field) in [(true, "flags"), (false, "segments")] {
                for item in doc["snapshot"][field].as_array().into_iter().flatten() {
                    items.push((is_flag, item.clone()));
                }
            }
        }
        items
    }

    /// Whether the public wire type and this module's twin both accept `json`, or both
    /// refuse it.
    fn agree(is_flag: bool, json: &str) -> Result<(), String> {
        let (wire, input) = if is_flag {
            (
                serde_json::from_str::<wire::WireFlag>(json).map(drop),
                serde_json::from_str::<Flag<'_>>(json).map(drop),
            )
        } else {
            (
                serde_json::from_str::<wire::WireSegment>(json).map(drop),
                serde_json::from_str::<Segment<'_>>(json).map(drop),
            )
        };
        match (wire, input) {
            (Ok(()), Ok(())) | (Err(_), Err(_)) => Ok(()),
            (wire, input) => Err(format!("wire {wire:?}, input {input:?} on {json}")),
        }
    }

    #[test]
    fn twins_accept_what_the_wire_types_accept_on_every_vector() {
        let items = items();
        assert!(items.len() > 100, "{}", items.len());
        for (is_flag, item) in items {
            agree(*is_flag, &item.to_string()).unwrap();
        }
    }

    /// Loads one flag written as `text` and returns its listing and its warnings as
    /// `(pointer, message)`.
    fn load_flag(text: &str) -> (Option<crate::FlagInfo<'static>>, Vec<(String, String)>) {
        let json = format!(
            r#"{{"schemaVersion":1,"environment":"e","version":1,"generatedAt":"2026-11-25T12:00:00Z","flags":[{text}]}}"#
        );
        let loaded = crate::Snapshot::load(json.as_bytes()).unwrap();
        let warnings = loaded
            .warnings
            .iter()
            .map(|w| (w.path.clone(), w.message.clone()))
            .collect();
        // Leaked so that the listing can outlive the function in a test.
        let snapshot: &'static crate::Snapshot = Box::leak(Box::new(loaded.snapshot));
        (snapshot.flags().next(), warnings)
    }

    const HEAD: &str = r#""key":"f","type":"boolean","variations":[{"key":"a","value":true}],"offVariation":"a","defaultRule":{"variation":"a"}"#;

    #[test]
    fn an_optional_member_that_is_null_is_absent() {
        let (info, warnings) = load_flag(&format!(
            r#"{{{HEAD},"enabled":true,"version":null,"targets":null,"rules":null,"prerequisites":null,"salt":null,"clientVisible":null,"description":null,"tags":null,"metadata":null}}"#
        ));
        assert_eq!(warnings, []);
        let info = info.unwrap();
        assert!(info.valid);
        assert_eq!((info.version, info.client_visible), (Some(0), false));
        let (info, warnings) = load_flag(&format!(
            r#"{{{HEAD},"enabled":true,"rules":[{{"conditions":[{{"attribute":"a","op":"exists","values":null,"negate":null,"caseInsensitive":null}}],"serve":{{"variation":"a","rollout":null}}}}]}}"#
        ));
        assert_eq!((info.unwrap().valid, warnings), (true, Vec::new()));
    }

    #[test]
    fn a_required_member_that_is_null_is_the_wrong_type() {
        let (info, warnings) = load_flag(&format!(r#"{{{HEAD},"enabled":null}}"#));
        assert!(!info.unwrap().valid);
        assert_eq!(warnings[0].0, "/enabled");
        assert!(
            warnings[0].1.ends_with("expected a boolean, found null"),
            "{}",
            warnings[0].1
        );
    }

    #[test]
    fn a_malformed_member_is_located_by_a_pointer() {
        let at = |text: String| load_flag(&text).1.into_iter().next().unwrap();
        let (path, message) = at(format!(r#"{{{HEAD},"enabled":"yes"}}"#));
        assert_eq!(path, "/enabled");
        assert!(
            message.ends_with("expected a boolean, found string"),
            "{message}"
        );
        let (path, message) = at(format!(
            r#"{{{HEAD},"enabled":true,"rules":[{{"conditions":[{{"attribute":"a","op":"exists","negate":"no"}}],"serve":{{"variation":"a"}}}}]}}"#
        ));
        assert_eq!(path, "/rules/0/conditions/0/negate", "{message}");
        let (path, message) = at(r#"{"key":"f","type":"boolean"}"#.to_string());
        assert_eq!(path, "/variations", "{message}");
        assert!(message.ends_with("is missing"), "{message}");
        let rollout = r#"{"rollout":{"variations":[{"variation":"a","weight":100001}]}}"#;
        let (path, message) = at(format!(
            r#"{{"key":"f","type":"boolean","variations":[{{"key":"a","value":true}}],"offVariation":"a","enabled":true,"defaultRule":{rollout}}}"#
        ));
        assert_eq!(
            path, "/defaultRule/rollout/variations/0/weight",
            "{message}"
        );
        assert!(
            message.ends_with("expected a whole number from 0 to 100000, found 100001"),
            "{message}"
        );
    }

    #[test]
    fn a_member_written_twice_makes_the_item_malformed() {
        let (info, warnings) = load_flag(&format!(r#"{{{HEAD},"enabled":true,"enabled":true}}"#));
        assert!(!info.unwrap().valid);
        assert_eq!(warnings[0].0, "/enabled");
        assert!(
            warnings[0].1.ends_with("appears more than once"),
            "{}",
            warnings[0].1
        );
        // Unknown members are ignored, however often; data objects keep the last member.
        let (info, warnings) = load_flag(&format!(
            r#"{{{HEAD},"enabled":true,"x":1,"x":2,"metadata":{{"owner":"a","owner":"b"}}}}"#
        ));
        assert_eq!(warnings, []);
        assert_eq!(info.unwrap().metadata["owner"], "b");
    }

    #[test]
    fn numbers_beyond_a_double_and_lone_surrogates_make_the_item_malformed() {
        for (variations, path) in [
            (r#"[{"key":"a","value":1e400}]"#, "/variations/0/value"),
            (r#"[{"key":"a","value":"\ud800"}]"#, "/variations/0/value"),
            (r#"[{"key":"a\udc00","value":"x"}]"#, "/variations/0/key"),
        ] {
            let text = format!(
                r#"{{"key":"f","type":"string","variations":{variations},"offVariation":"a","defaultRule":{{"variation":"a"}},"enabled":true}}"#
            );
            let (info, warnings) = load_flag(&text);
            assert!(!info.unwrap().valid, "{text}");
            assert_eq!(warnings[0].0, path, "{text}: {warnings:?}");
            assert!(warnings[0].1.contains("cannot be read"), "{warnings:?}");
        }
        // Members this format does not define are not read.
        let (info, warnings) = load_flag(&format!(
            r#"{{{HEAD},"enabled":true,"x":[1e400,"\ud800"]}}"#
        ));
        assert_eq!((info.unwrap().valid, warnings), (true, Vec::new()));
    }

    #[test]
    fn a_flag_version_is_a_whole_number_up_to_two_to_the_53_minus_one() {
        for (version, want) in [
            ("3.0", Some(3)),
            ("9007199254740991", Some(9_007_199_254_740_991)),
        ] {
            let (info, warnings) =
                load_flag(&format!(r#"{{{HEAD},"enabled":true,"version":{version}}}"#));
            let info = info.unwrap();
            assert_eq!(
                (info.valid, info.version, warnings),
                (true, want, Vec::new()),
                "{version}"
            );
        }
        for version in [
            "-1",
            r#""7""#,
            "3.5",
            "9007199254740992",
            "18446744073709551616",
            "true",
        ] {
            let (info, warnings) =
                load_flag(&format!(r#"{{{HEAD},"enabled":true,"version":{version}}}"#));
            let info = info.unwrap();
            assert_eq!((info.valid, info.version), (false, None), "{version}");
            assert_eq!(warnings[0].0, "/version", "{version}");
        }
        // A flag malformed elsewhere keeps a readable version.
        let (info, _) = load_flag(&format!(r#"{{{HEAD},"enabled":"yes","version":9}}"#));
        assert_eq!(info.unwrap().version, Some(9));
    }

    /// Replaces the value at a path (object keys / array indices, chosen by index
    /// modulo the length) with `with`, or removes it when `with` is `None`.
    fn mutate(value: &mut Value, path: &[usize], with: Option<Value>) {
        let Some((&step, rest)) = path.split_first() else {
            return;
        };
        match value {
            Value::Object(map) if !map.is_empty() => {
                let key = map
                    .keys()
                    .nth(step % map.len())
                    .cloned()
                    .unwrap_or_default();
                if rest.is_empty()
                    || !matches!(map.get(&key), Some(Value::Object(_) | Value::Array(_)))
                {
                    match with {
                        Some(w) => {
                            map.insert(key, w);
                        }
                        None => {
                            map.remove(&key);
                        }
                    }
                } else if let Some(child) = map.get_mut(&key) {
                    mutate(child, rest, with);
                }
            }
            Value::Array(items) if !items.is_empty() => {
                let i = step % items.len();
                if rest.is_empty() || !matches!(items[i], Value::Object(_) | Value::Array(_)) {
                    match with {
                        Some(w) => items[i] = w,
                        None => {
                            items.remove(i);
                        }
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
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        /// One field of a vector's flag or segment removed or given another type:
        /// the twins still accept exactly what the wire types accept.
        #[test]
        fn twins_agree_on_mutated_items(
            pick in any::<usize>(),
            path in prop::collection::vec(any::<usize>(), 1..5),
            with in scalar(),
        ) {
            let items = items();
            let (is_flag, mut item) = items[pick % items.len()].clone();
            mutate(&mut item, &path, with);
            prop_assert!(agree(is_flag, &item.to_string()).is_ok(), "{:?}", agree(is_flag, &item.to_string()));
        }
    }
}
