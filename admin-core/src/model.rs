//! The admin's request and stored shapes for flags and segments.
//!
//! They mirror the engine's wire types (`edgeflag_engine::wire`) field for field,
//! but refuse unknown fields: the engine accepts them for forward compatibility,
//! whereas a person typing `"offVaration"` into the admin deserves a 422.
//! [`to_wire`] converts by a serde round trip, so the two cannot drift silently:
//! a field the engine does not know fails the conversion test below.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize, de::DeserializeOwned};
use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Variation {
    pub key: String,
    pub value: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Target {
    pub variation: String,
    pub values: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Condition {
    /// Absent for `inSegment` and `notInSegment`, which test the whole context.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribute: Option<String>,
    pub op: String,
    #[serde(default)]
    pub values: Vec<Value>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub case_insensitive: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub negate: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WeightedVariation {
    pub variation: String,
    pub weight: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Rollout {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket_by: Option<String>,
    pub variations: Vec<WeightedVariation>,
}

/// Exactly one of `variation` or `rollout` (the engine checks which).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Serve {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout: Option<Rollout>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default)]
    pub conditions: Vec<Condition>,
    pub serve: Serve,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Prerequisite {
    pub flag: String,
    pub variation: String,
}

/// A flag's targeting in one environment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnvConfig {
    pub enabled: bool,
    pub off_variation: String,
    #[serde(default)]
    pub targets: Vec<Target>,
    #[serde(default)]
    pub rules: Vec<Rule>,
    pub default_rule: Serve,
    #[serde(default)]
    pub prerequisites: Vec<Prerequisite>,
}

/// A flag's definition, shared by all environments of its project.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FlagDef {
    pub key: String,
    pub name: String,
    pub description: String,
    #[serde(rename = "type")]
    pub value_type: String,
    pub variations: Vec<Variation>,
    pub tags: Vec<String>,
    pub client_visible: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub salt: Option<String>,
    /// Returned to OpenFeature as flag metadata: names to strings, numbers or booleans.
    /// Left out when empty, so documents stored before it existed read the same.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schema(value_type = Object)]
    pub metadata: Metadata,
}

/// A flag's metadata (see `docs/snapshot-format.md`); the admin accepts scalar values
/// only, since those are what OpenFeature's flag metadata can hold.
pub type Metadata = BTreeMap<String, Value>;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SegmentRule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub conditions: Vec<Condition>,
}

/// A segment's membership definition.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SegmentBody {
    #[serde(default)]
    pub included: Vec<String>,
    #[serde(default)]
    pub excluded: Vec<String>,
    #[serde(default)]
    pub rules: Vec<SegmentRule>,
}

/// A flag as a whole document: the definition plus every environment's targeting.
/// It is what `flag_versions` stores and what the API returns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FlagDocument {
    #[serde(flatten)]
    pub definition: FlagDef,
    /// Targeting per environment key.
    pub environments: BTreeMap<String, EnvConfig>,
}

/// The engine's flag document for one environment.
pub fn wire_flag(def: &FlagDef, version: i64, env: &EnvConfig) -> Value {
    let mut flag = Map::new();
    flag.insert("key".into(), Value::from(def.key.clone()));
    flag.insert("version".into(), Value::from(version));
    flag.insert("type".into(), Value::from(def.value_type.clone()));
    flag.insert("variations".into(), to_value(&def.variations));
    flag.insert("enabled".into(), Value::from(env.enabled));
    flag.insert(
        "offVariation".into(),
        Value::from(env.off_variation.clone()),
    );
    flag.insert("targets".into(), to_value(&env.targets));
    flag.insert("rules".into(), to_value(&env.rules));
    flag.insert("defaultRule".into(), to_value(&env.default_rule));
    flag.insert("prerequisites".into(), to_value(&env.prerequisites));
    if let Some(salt) = &def.salt {
        flag.insert("salt".into(), Value::from(salt.clone()));
    }
    flag.insert("clientVisible".into(), Value::from(def.client_visible));
    if !def.description.is_empty() {
        flag.insert("description".into(), Value::from(def.description.clone()));
    }
    flag.insert("tags".into(), to_value(&def.tags));
    if !def.metadata.is_empty() {
        flag.insert("metadata".into(), to_value(&def.metadata));
    }
    Value::Object(flag)
}

/// The engine's segment document.
pub fn wire_segment(key: &str, version: i64, body: &SegmentBody) -> Value {
    let mut segment = match to_value(body) {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    segment.insert("key".into(), Value::from(key));
    segment.insert("version".into(), Value::from(version));
    Value::Object(segment)
}

pub fn to_value<T: Serialize>(value: &T) -> Value {
    // Serializing these plain data types into a Value cannot fail.
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// Converts between the admin's types and the engine's by their common JSON shape.
pub fn to_wire<A: Serialize, W: DeserializeOwned>(value: &A) -> Result<W, serde_json::Error> {
    serde_json::from_value(to_value(value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use edgeflag_engine::wire::WireFlag;
    use serde_json::json;

    #[test]
    fn admin_flags_are_engine_flags() {
        let def: FlagDef = serde_json::from_value(json!({
            "key": "f", "name": "F", "description": "", "type": "boolean",
            "variations": [{"key": "on", "value": true}, {"key": "off", "value": false}],
            "tags": ["t"], "clientVisible": true
        }))
        .unwrap();
        let env: EnvConfig = serde_json::from_value(json!({
            "enabled": true, "offVariation": "off",
            "rules": [{"id": "r", "conditions": [{"attribute": "email", "op": "endsWith", "values": ["@x"], "caseInsensitive": true}], "serve": {"rollout": {"bucketBy": "org", "variations": [{"variation": "on", "weight": 100000}]}}}],
            "defaultRule": {"variation": "off"}
        }))
        .unwrap();
        let wire: WireFlag = serde_json::from_value(wire_flag(&def, 3, &env)).unwrap();
        assert_eq!(wire.version, 3);
        assert!(wire.rules[0].conditions[0].case_insensitive);
        assert_eq!(
            wire.rules[0]
                .serve
                .rollout
                .as_ref()
                .unwrap()
                .bucket_by
                .as_deref(),
            Some("org")
        );
    }

    #[test]
    fn unknown_fields_are_refused() {
        let typo = json!({"enabled": true, "offVaration": "off", "defaultRule": {}});
        assert!(serde_json::from_value::<EnvConfig>(typo).is_err());
    }
}
