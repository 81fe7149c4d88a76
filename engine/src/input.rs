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
    de::value::SeqAccessDeserializer,
    de::{self, MapAccess, SeqAccess, Visitor, value::MapAccessDeserializer},
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

impl<'de: 'a, 'a> Deserialize<'de> for Str<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Str<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Owned(v.into())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
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

impl<'de: 'a, 'a> Deserialize<'de> for CondValue<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = CondValue<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any valid JSON value")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(CondValue::String(Str(Cow::Borrowed(v))))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(CondValue::String(Str(Cow::Owned(v.into()))))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(CondValue::String(Str(Cow::Owned(v))))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(CondValue::Bool(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(CondValue::Number(v.into()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(CondValue::Number(v.into()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                // As `serde_json::Value` reads it: a non-finite number becomes null.
                Ok(Number::from_f64(v).map_or(CondValue::Other(Value::Null), CondValue::Number))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(CondValue::Other(Value::Null))
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(CondValue::Other(Value::Null))
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                CondValue::deserialize(d)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                Value::deserialize(SeqAccessDeserializer::new(seq)).map(CondValue::Other)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                Value::deserialize(MapAccessDeserializer::new(map)).map(CondValue::Other)
            }
        }
        d.deserialize_any(V)
    }
}

/// [`wire::WireFlag`], borrowing.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Flag<'a> {
    #[serde(borrow)]
    pub key: Str<'a>,
    #[serde(default)]
    pub version: u64,
    #[serde(rename = "type", borrow)]
    pub value_type: Str<'a>,
    #[serde(borrow)]
    pub variations: Vec<Variation<'a>>,
    pub enabled: bool,
    #[serde(borrow)]
    pub off_variation: Str<'a>,
    #[serde(borrow, default)]
    pub targets: Vec<Target<'a>>,
    #[serde(borrow, default)]
    pub rules: Vec<Rule<'a>>,
    #[serde(borrow)]
    pub default_rule: Serve<'a>,
    #[serde(borrow, default)]
    pub prerequisites: Vec<Prerequisite<'a>>,
    #[serde(borrow, default)]
    pub salt: Option<Str<'a>>,
    #[serde(default)]
    pub client_visible: bool,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub metadata: Map<String, Value>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Variation<'a> {
    #[serde(borrow)]
    pub key: Str<'a>,
    pub value: Value,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Target<'a> {
    #[serde(borrow)]
    pub variation: Str<'a>,
    #[serde(borrow)]
    pub values: Vec<Str<'a>>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Rule<'a> {
    #[serde(borrow, default)]
    pub id: Option<Str<'a>>,
    #[serde(borrow, default)]
    pub conditions: Vec<Condition<'a>>,
    #[serde(borrow)]
    pub serve: Serve<'a>,
}

#[derive(Debug, Deserialize, Default)]
pub(crate) struct Serve<'a> {
    #[serde(borrow, default)]
    pub variation: Option<Str<'a>>,
    #[serde(borrow, default)]
    pub rollout: Option<Rollout<'a>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Rollout<'a> {
    #[serde(borrow, default)]
    pub bucket_by: Option<Str<'a>>,
    #[serde(borrow)]
    pub variations: Vec<WeightedVariation<'a>>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct WeightedVariation<'a> {
    #[serde(borrow)]
    pub variation: Str<'a>,
    pub weight: u32,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Prerequisite<'a> {
    #[serde(borrow)]
    pub flag: Str<'a>,
    #[serde(borrow)]
    pub variation: Str<'a>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Condition<'a> {
    #[serde(borrow, default)]
    pub attribute: Str<'a>,
    #[serde(borrow)]
    pub op: Str<'a>,
    #[serde(borrow, default)]
    pub values: Vec<CondValue<'a>>,
    #[serde(default)]
    pub case_insensitive: bool,
    #[serde(default)]
    pub negate: bool,
}

/// `version`, `description` and rule ids are read only to check their types: a
/// segment whose fields have the wrong types is malformed, as in [`wire::WireSegment`].
#[derive(Debug, Deserialize)]
#[allow(dead_code)]
pub(crate) struct Segment<'a> {
    #[serde(borrow)]
    pub key: Str<'a>,
    #[serde(default)]
    pub version: u64,
    #[serde(borrow, default)]
    pub included: Vec<Str<'a>>,
    #[serde(borrow, default)]
    pub excluded: Vec<Str<'a>>,
    #[serde(borrow, default)]
    pub rules: Vec<SegmentRule<'a>>,
    #[serde(borrow, default)]
    pub description: Option<Str<'a>>,
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
pub(crate) struct SegmentRule<'a> {
    #[serde(borrow, default)]
    pub id: Option<Str<'a>>,
    #[serde(borrow)]
    pub conditions: Vec<Condition<'a>>,
}

impl From<wire::WireCondition> for Condition<'static> {
    fn from(w: wire::WireCondition) -> Self {
        Self {
            attribute: w.attribute.into(),
            op: w.op.into(),
            values: w.values.into_iter().map(CondValue::from).collect(),
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
