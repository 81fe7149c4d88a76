//! Wire types: snapshot format v1 exactly as it appears in JSON.
//!
//! These are the publisher's types. The engine loads through their borrowing twin
//! in `input.rs`, which accepts exactly the same documents, and compiles that into
//! the evaluation types in [`crate::flag`], [`crate::segment`] and
//! [`crate::condition`]; evaluation never touches either. They deliberately accept
//! unknown fields, so that a snapshot from a newer publisher still loads (see
//! `docs/snapshot-format.md`, "Compatibility").

use alloc::{string::String, vec::Vec};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, value::RawValue};

/// The top level of a snapshot. Flags and segments stay raw here so that each one
/// can be parsed on its own and a malformed one degrades alone.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WireSnapshot<'a> {
    pub schema_version: u64,
    pub environment: String,
    pub version: u64,
    pub generated_at: String,
    #[serde(borrow, default)]
    pub flags: Vec<&'a RawValue>,
    #[serde(borrow, default)]
    pub segments: Vec<&'a RawValue>,
}

/// One flag definition.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WireFlag {
    pub key: String,
    #[serde(default)]
    pub version: u64,
    #[serde(rename = "type")]
    pub value_type: String,
    pub variations: Vec<WireVariation>,
    pub enabled: bool,
    pub off_variation: String,
    #[serde(default)]
    pub targets: Vec<WireTarget>,
    #[serde(default)]
    pub rules: Vec<WireRule>,
    pub default_rule: WireServe,
    #[serde(default)]
    pub prerequisites: Vec<WirePrerequisite>,
    #[serde(default)]
    pub salt: Option<String>,
    #[serde(default)]
    pub client_visible: bool,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub metadata: Map<String, Value>,
}

/// The fields of a flag that are still readable when the rest of it is not, so a
/// malformed flag can be reported under its key (and its version, when present).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WireFlagHeader {
    pub key: String,
    #[serde(default)]
    pub version: Option<Value>,
    #[serde(default)]
    pub client_visible: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct WireVariation {
    pub key: String,
    pub value: Value,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct WireTarget {
    pub variation: String,
    pub values: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct WireRule {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
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
    #[serde(default)]
    pub attribute: String,
    pub op: String,
    #[serde(default)]
    pub values: Vec<Value>,
    #[serde(default)]
    pub case_insensitive: bool,
    #[serde(default)]
    pub negate: bool,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct WireSegment {
    pub key: String,
    #[serde(default)]
    pub version: u64,
    #[serde(default)]
    pub included: Vec<String>,
    #[serde(default)]
    pub excluded: Vec<String>,
    #[serde(default)]
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

/// Only the key of a segment, to report a malformed one under its name.
#[derive(Debug, Deserialize)]
pub(crate) struct WireKeyOnly {
    pub key: String,
}

/// A whole snapshot as a publisher writes it. The admin builds this and serializes
/// it; the engine itself reads snapshots through [`crate::Snapshot::load`], which
/// tolerates malformed flags where this strict type would not.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotDocument {
    pub schema_version: u64,
    pub environment: String,
    pub version: u64,
    pub generated_at: String,
    #[serde(default)]
    pub flags: Vec<WireFlag>,
    #[serde(default)]
    pub segments: Vec<WireSegment>,
}
