//! Wire types: the snapshot format (schemaVersion 1 and 2) exactly as it appears in JSON.
//!
//! These are the publisher's types. The engine loads through their borrowing twin
//! in `input.rs`, which accepts exactly the same documents, and compiles that into
//! the evaluation types in [`crate::flag`], [`crate::segment`] and
//! [`crate::condition`]; evaluation never touches either. They deliberately accept
//! unknown fields, so that a snapshot from a newer publisher still loads (see
//! `docs/snapshot-format.md`, "Compatibility").

use alloc::{string::String, vec::Vec};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::input::{nullable, required_version, version, weight};

/// One flag definition.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WireFlag {
    pub key: String,
    #[serde(default, deserialize_with = "version")]
    pub version: u64,
    #[serde(rename = "type")]
    pub value_type: String,
    pub variations: Vec<WireVariation>,
    pub enabled: bool,
    pub off_variation: String,
    #[serde(default, deserialize_with = "nullable")]
    pub targets: Vec<WireTarget>,
    #[serde(default, deserialize_with = "nullable")]
    pub rules: Vec<WireRule>,
    pub default_rule: WireServe,
    #[serde(default, deserialize_with = "nullable")]
    pub prerequisites: Vec<WirePrerequisite>,
    #[serde(default)]
    pub salt: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub client_visible: bool,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub tags: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub metadata: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct WireVariation {
    pub key: String,
    pub value: Value,
}

/// Individual targets: plain targeting keys in `values`, hashed ones in `hashes`
/// (schemaVersion 2). A target needs at least one of the two fields.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct WireTarget {
    pub variation: String,
    #[serde(default, deserialize_with = "nullable")]
    pub values: Vec<String>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub hashes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct WireRule {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub conditions: Vec<WireCondition>,
    pub serve: WireServe,
}

/// What a rule or the default rule serves: exactly one of a variation or a rollout.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, Default)]
pub struct WireServe {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout: Option<WireRollout>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WireRollout {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket_by: Option<String>,
    pub variations: Vec<WireWeightedVariation>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct WireWeightedVariation {
    pub variation: String,
    #[serde(deserialize_with = "weight")]
    pub weight: u32,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct WirePrerequisite {
    pub flag: String,
    pub variation: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WireCondition {
    #[serde(default, deserialize_with = "nullable")]
    pub attribute: String,
    pub op: String,
    #[serde(default, deserialize_with = "nullable")]
    pub values: Vec<Value>,
    /// The string values of `in` / `notIn`, hashed (schemaVersion 2).
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub hashes: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub case_insensitive: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub negate: bool,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct WireSegment {
    pub key: String,
    #[serde(default, deserialize_with = "version")]
    pub version: u64,
    #[serde(default, deserialize_with = "nullable")]
    pub included: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub excluded: Vec<String>,
    /// `included` and `excluded` keys, hashed (schemaVersion 2).
    #[serde(
        default,
        rename = "includedHashes",
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub included_hashes: Vec<String>,
    #[serde(
        default,
        rename = "excludedHashes",
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub excluded_hashes: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub rules: Vec<WireSegmentRule>,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct WireSegmentRule {
    #[serde(default)]
    pub id: Option<String>,
    pub conditions: Vec<WireCondition>,
}

/// A whole snapshot as a publisher writes it. The admin builds this and serializes
/// it; the engine itself reads snapshots through [`crate::Snapshot::load`], which
/// tolerates malformed flags where this strict type would not.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotDocument {
    #[serde(deserialize_with = "required_version")]
    pub schema_version: u64,
    pub environment: String,
    #[serde(deserialize_with = "required_version")]
    pub version: u64,
    pub generated_at: String,
    /// `server` or `client` (schemaVersion 2); absent means `server`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    /// The salt of every hashed value (schemaVersion 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash_salt: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub flags: Vec<WireFlag>,
    #[serde(default, deserialize_with = "nullable")]
    pub segments: Vec<WireSegment>,
}
