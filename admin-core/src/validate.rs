//! Validation of flags and segments before they are stored, in two steps:
//!
//! 1. The publisher's own rules ([`publisher_rules`]): the engine tolerates what a
//!    newer publisher might send (an unknown operator never matches, a member it does
//!    not define is ignored), but the admin *is* the publisher, so a misspelt operator,
//!    an attribute on `inSegment` or metadata the edge cannot return is a mistake.
//! 2. The engine itself: every item is loaded by `Snapshot::load`, and the loader's
//!    first warning is refused.
//!
//! Both report a path into the item's engine document. [`Sent`] says where the request
//! body sits in the flag, so that [`Sent::locate`] turns that path into a JSON Pointer
//! into the body as sent.

use std::collections::BTreeSet;

use edgeflag_engine::{ItemKind, OPERATORS, Snapshot};
use serde_json::{Value, json};

use crate::error::Error;

/// Operators that test the whole context and take no attribute.
const SEGMENT_OPS: &[&str] = &["inSegment", "notInSegment"];
/// Operators that look at presence only and take no values.
const PRESENCE_OPS: &[&str] = &["exists", "notExists"];
/// Operators `caseInsensitive` applies to (`docs/snapshot-format.md`, "Conditions").
const CASE_OPS: &[&str] = &[
    "in",
    "notIn",
    "startsWith",
    "endsWith",
    "contains",
    "matches",
];
/// The metadata name the edge reports the flag's version under.
const RESERVED_METADATA: &str = "flagVersion";

/// Checks one item, `kind` named `key`, by the publisher's rules and then by loading
/// it with `flags` and `segments` (which hold it and what it refers to). The error's
/// path points into the item's engine document (`/rules/0/conditions/0/op`).
pub fn check(
    flags: Vec<Value>,
    segments: Vec<Value>,
    kind: ItemKind,
    key: &str,
) -> Result<(), Error> {
    let items = if kind == ItemKind::Flag {
        &flags
    } else {
        &segments
    };
    if let Some(item) = items.iter().find(|i| i["key"] == key) {
        publisher_rules(kind, item)?;
    }
    let document = json!({
        "schemaVersion": 1,
        "environment": "validation",
        "version": 0,
        "generatedAt": "2026-01-01T00:00:00Z",
        "flags": flags,
        "segments": segments,
    });
    let bytes = serde_json::to_vec(&document).map_err(Error::internal)?;
    // The snapshot around the item is ours; if the whole of it is refused, the item
    // is what made it so (a limit of the snapshot's size, say).
    let loaded = Snapshot::load(&bytes).map_err(|e| Error::invalid("", e.to_string()))?;
    let problem = loaded
        .warnings
        .iter()
        .find(|w| w.kind == kind && w.key.as_deref() == Some(key));
    match problem {
        Some(w) => Err(Error::invalid(w.path.clone(), w.message.clone())),
        None => Ok(()),
    }
}

/// What the admin refuses though the engine would load it: unknown operators, stray
/// condition members, and flag metadata that is not a name-to-scalar object.
pub fn publisher_rules(kind: ItemKind, item: &Value) -> Result<(), Error> {
    let rules = item["rules"].as_array().map_or(&[][..], Vec::as_slice);
    for (r, rule) in rules.iter().enumerate() {
        let conditions = rule["conditions"].as_array().map_or(&[][..], Vec::as_slice);
        for (c, condition) in conditions.iter().enumerate() {
            check_condition(condition).map_err(|(member, message)| {
                Error::invalid(format!("/rules/{r}/conditions/{c}{member}"), message)
            })?;
        }
    }
    if kind == ItemKind::Flag
        && let Some(metadata) = item.get("metadata")
    {
        check_metadata(metadata)?;
    }
    Ok(())
}

/// The member of a condition that is wrong, and why.
fn check_condition(condition: &Value) -> Result<(), (&'static str, String)> {
    let op = condition["op"].as_str().unwrap_or_default();
    if !OPERATORS.contains(&op) {
        let hint = OPERATORS
            .iter()
            .find(|known| known.eq_ignore_ascii_case(op))
            .map(|known| format!("did you mean `{known}`? "))
            .unwrap_or_default();
        let message = format!(
            "unknown operator `{op}`; {hint}the operators are {}",
            OPERATORS.join(", ")
        );
        return Err(("/op", message));
    }
    if SEGMENT_OPS.contains(&op) && condition.get("attribute").is_some() {
        let message = format!("`{op}` takes no attribute: it tests the whole context");
        return Err(("/attribute", message));
    }
    let has_values = condition["values"]
        .as_array()
        .is_some_and(|v| !v.is_empty());
    if PRESENCE_OPS.contains(&op) && has_values {
        let message = format!("`{op}` takes no values: it tests whether the attribute is present");
        return Err(("/values", message));
    }
    if !CASE_OPS.contains(&op) && condition["caseInsensitive"] == true {
        let message = format!(
            "`caseInsensitive` has no effect on `{op}`; it applies to {}",
            CASE_OPS.join(", ")
        );
        return Err(("/caseInsensitive", message));
    }
    Ok(())
}

/// Flag metadata: an object whose values are strings, numbers or booleans (what
/// OpenFeature's flag metadata holds), without the name the edge reserves.
fn check_metadata(metadata: &Value) -> Result<(), Error> {
    let Some(members) = metadata.as_object() else {
        return Err(Error::invalid("/metadata", "expected an object"));
    };
    for (name, value) in members {
        let path = format!("/metadata/{}", escape(name));
        if name == RESERVED_METADATA {
            return Err(Error::invalid(
                path,
                "`flagVersion` is reserved: the edge reports the flag's version under it",
            ));
        }
        if !(value.is_string() || value.is_number() || value.is_boolean()) {
            return Err(Error::invalid(
                path,
                "expected a string, number or boolean: OpenFeature flag metadata holds only these",
            ));
        }
    }
    Ok(())
}

/// Escapes one reference token of a JSON Pointer (RFC 6901).
pub fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// Where a request body sits in a flag document.
#[derive(Debug, Clone)]
pub enum Sent {
    /// A whole flag (a create): the definition at the root, and the targeting of the
    /// environments named under `/environments/{env}`; the others start off.
    Flag { environments: BTreeSet<String> },
    /// The definition only (a PATCH).
    Definition,
    /// One environment's targeting (a PUT).
    Targeting { env: String },
    /// Nothing of the document (a toggle, a version restore).
    Nothing,
}

/// The members of a flag's engine document that come from its definition; the rest
/// come from an environment's targeting.
const DEFINITION: &[&str] = &[
    "key",
    "version",
    "type",
    "variations",
    "salt",
    "clientVisible",
    "description",
    "tags",
    "metadata",
];

impl Sent {
    /// The error for a problem at `path` of the flag's engine document in `env`, as
    /// a JSON Pointer into the body as sent. A problem in something the body does not
    /// hold is reported at the body member that caused it when there is one (a PATCH
    /// whose new variations no longer have what the stored targeting serves points
    /// at `/variations`), or else at the whole body, and its message says where it is.
    pub fn locate(&self, env: &str, path: &str, message: &str) -> Error {
        let first = path.split('/').nth(1).unwrap_or_default();
        let in_definition = DEFINITION.contains(&first);
        let sent = match self {
            Self::Flag { .. } | Self::Definition if in_definition => Some(path.to_string()),
            Self::Flag { environments } if environments.contains(env) => {
                Some(format!("/environments/{}{path}", escape(env)))
            }
            Self::Targeting { env: target } if target == env && !in_definition => {
                Some(path.to_string())
            }
            _ => None,
        };
        match sent {
            Some(pointer) => Error::invalid(pointer, message),
            None => {
                let cause = match self {
                    Self::Flag { .. } | Self::Definition => "/variations",
                    Self::Targeting { .. } | Self::Nothing => "",
                };
                let place = if in_definition {
                    format!("the flag's {first}")
                } else {
                    format!("the targeting in environment `{env}`")
                };
                Error::invalid(cause, format!("{place}, at {path}: {message}"))
            }
        }
    }

    /// Whether the targeting of `env` is to be checked: all of them, except for a
    /// PUT, which changes one and leaves the others as they were stored.
    pub fn checks(&self, env: &str) -> bool {
        match self {
            Self::Targeting { env: target } => target == env,
            _ => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flag(condition: Value) -> Value {
        json!({
            "key": "f", "type": "number", "enabled": true, "offVariation": "a",
            "variations": [{"key": "a", "value": 1}],
            "rules": [{"conditions": [condition], "serve": {"variation": "a"}}],
            "defaultRule": {"variation": "a"}
        })
    }

    fn refused(item: Value) -> (String, String) {
        match check(vec![item], vec![], ItemKind::Flag, "f").unwrap_err() {
            Error::Invalid { path, message } => (path, message),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn bad_rules_are_refused_with_a_path() {
        let (path, _) = refused(flag(
            json!({"attribute": "age", "op": "lt", "values": ["x"]}),
        ));
        assert_eq!(path, "/rules/0/conditions/0/values/0");
    }

    #[test]
    fn unknown_operators_are_refused_though_the_engine_tolerates_them() {
        let (path, message) = refused(flag(
            json!({"attribute": "a", "op": "endswith", "values": ["x"]}),
        ));
        assert_eq!(path, "/rules/0/conditions/0/op");
        assert!(message.contains("did you mean `endsWith`?"), "{message}");
        assert!(message.contains("notExists"), "{message}");
    }

    #[test]
    fn locating_follows_the_body() {
        let sent = Sent::Flag {
            environments: BTreeSet::from(["prod".to_string()]),
        };
        let at = |sent: &Sent, env, path| match sent.locate(env, path, "m") {
            Error::Invalid { path, .. } => path,
            other => panic!("{other:?}"),
        };
        assert_eq!(at(&sent, "prod", "/type"), "/type");
        assert_eq!(at(&sent, "prod", "/rules/0"), "/environments/prod/rules/0");
        assert_eq!(at(&sent, "dev", "/offVariation"), "/variations");
        let put = Sent::Targeting { env: "prod".into() };
        assert_eq!(at(&put, "prod", "/rules/0"), "/rules/0");
        assert_eq!(at(&Sent::Definition, "prod", "/defaultRule"), "/variations");
        assert_eq!(at(&Sent::Nothing, "prod", "/defaultRule"), "");
    }
}
