//! Validation by the engine itself: every flag and segment is loaded by
//! `Snapshot::load` before it is stored, and the loader's first warning becomes a
//! 422 whose `path` points into the request body.

use edgeflag_engine::{ItemKind, Snapshot};
use serde_json::{Value, json};

use crate::error::Error;

/// Loads `flags` and `segments` as one snapshot; the first warning about an item of
/// `kind` named `key` is refused, its path prefixed with `prefix`.
pub fn check(
    flags: Vec<Value>,
    segments: Vec<Value>,
    kind: ItemKind,
    key: &str,
    prefix: &str,
) -> Result<(), Error> {
    let document = json!({
        "schemaVersion": 1,
        "environment": "validation",
        "version": 0,
        "generatedAt": "2026-01-01T00:00:00Z",
        "flags": flags,
        "segments": segments,
    });
    let bytes = serde_json::to_vec(&document).map_err(Error::internal)?;
    let loaded = Snapshot::load(&bytes).map_err(|e| Error::invalid(prefix, e.to_string()))?;
    let problem = loaded
        .warnings
        .iter()
        .find(|w| w.kind == kind && w.key.as_deref() == Some(key));
    match problem {
        Some(w) => Err(Error::invalid(
            format!("{prefix}{}", w.path),
            w.message.clone(),
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_rules_are_refused_with_a_path() {
        let flag = json!({
            "key": "f", "type": "number", "enabled": true, "offVariation": "a",
            "variations": [{"key": "a", "value": 1}],
            "rules": [{"conditions": [{"attribute": "age", "op": "lt", "values": ["x"]}], "serve": {"variation": "a"}}],
            "defaultRule": {"variation": "a"}
        });
        let err = check(
            vec![flag],
            vec![],
            ItemKind::Flag,
            "f",
            "/environments/prod",
        )
        .unwrap_err();
        match err {
            Error::Invalid { path, .. } => {
                assert_eq!(path, "/environments/prod/rules/0/conditions/0/values/0")
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
