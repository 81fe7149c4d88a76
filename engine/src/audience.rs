//! Who a snapshot is for, and the schemaVersion 2 rules that come with it.
//!
//! A client snapshot is a public document: it carries the client-visible flags, the
//! prerequisites they need (which may be server-only), and values that identify
//! people only in hashed form. Its `audience` tells the engine to answer the
//! client-visible flags alone, so that no adapter has to filter. These fields, like
//! hashed values, change answers, so only schemaVersion 2 may carry them: an older
//! engine refuses a schemaVersion 2 snapshot rather than misread it.

use alloc::{format, string::String};

use crate::error::LoadError;

/// The oldest and the newest `schemaVersion` this engine reads.
pub(crate) const SCHEMA_VERSIONS: core::ops::RangeInclusive<u64> = 1..=2;

/// Whom a snapshot is for (`audience`, schemaVersion 2; default `server`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Audience {
    /// Every flag answers: the edge's server snapshot.
    #[default]
    Server,
    /// Only client-visible flags answer; the others are there for evaluating
    /// prerequisites and answer `FLAG_NOT_FOUND`: the browser's client snapshot.
    Client,
}

impl Audience {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Server => "server",
            Self::Client => "client",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        match text {
            "server" => Some(Self::Server),
            "client" => Some(Self::Client),
            _ => None,
        }
    }

    /// Whether a flag that is (or is not) client-visible answers for this audience.
    pub(crate) fn answers(self, client_visible: bool) -> bool {
        self == Self::Server || client_visible
    }
}

/// The snapshot-wide fields of schemaVersion 2, as read.
#[derive(Debug, Clone, Default)]
pub(crate) struct V2Fields {
    pub audience: Option<String>,
    pub hash_salt: Option<String>,
    /// Whether any flag or segment carries a hashed value.
    pub hashed: bool,
}

/// What the schemaVersion 2 fields make of a snapshot.
#[derive(Debug)]
pub(crate) struct Checked {
    pub audience: Audience,
    pub hash_salt: Option<String>,
}

impl V2Fields {
    /// Checks a supported schema version against the fields that need it:
    /// schemaVersion 1 may carry none of them, and hashed values need a salt to hash
    /// contexts with.
    pub(crate) fn check(self, schema_version: u64) -> Result<Checked, LoadError> {
        let invalid = |path: &str, message: String| LoadError::Invalid {
            path: path.into(),
            message,
        };
        let audience = match self.audience.as_deref() {
            None => Audience::Server,
            Some(text) => Audience::parse(text).ok_or_else(|| {
                invalid(
                    "/audience",
                    format!(
                        "the snapshot's `audience` must be `server` or `client`, found `{text}`"
                    ),
                )
            })?,
        };
        if schema_version < 2 {
            let needs_v2 = |what: &str| {
                invalid(
                    "/schemaVersion",
                    format!(
                        "the snapshot's `schemaVersion` must be 2 for {what}, found 1 (an engine \
                         that reads only schemaVersion 1 would ignore it and answer differently)"
                    ),
                )
            };
            if self.audience.is_some() {
                return Err(needs_v2("an `audience`"));
            }
            if self.hash_salt.is_some() {
                return Err(needs_v2("a `hashSalt`"));
            }
            if self.hashed {
                return Err(needs_v2("hashed values"));
            }
        }
        if self.hashed && self.hash_salt.is_none() {
            return Err(invalid(
                "/hashSalt",
                "the snapshot's `hashSalt` is missing: its hashed values need it to hash contexts"
                    .into(),
            ));
        }
        Ok(Checked {
            audience,
            hash_salt: self.hash_salt,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(audience: Option<&str>, salt: Option<&str>, hashed: bool) -> V2Fields {
        V2Fields {
            audience: audience.map(Into::into),
            hash_salt: salt.map(Into::into),
            hashed,
        }
    }

    #[test]
    fn schema_version_1_carries_none_of_the_new_fields() {
        assert_eq!(
            fields(None, None, false).check(1).unwrap().audience,
            Audience::Server
        );
        for f in [
            fields(Some("client"), None, false),
            fields(None, Some("s"), false),
            fields(None, None, true),
        ] {
            let err = f.check(1).unwrap_err();
            assert!(
                matches!(&err, LoadError::Invalid { path, .. } if path == "/schemaVersion"),
                "{err}"
            );
        }
    }

    #[test]
    fn schema_version_2_checks_its_fields() {
        let ok = fields(Some("client"), Some("s"), true).check(2).unwrap();
        assert_eq!(
            (ok.audience, ok.hash_salt.as_deref()),
            (Audience::Client, Some("s"))
        );
        assert_eq!(
            fields(None, None, false).check(2).unwrap().audience,
            Audience::Server
        );
        assert!(matches!(
            fields(Some("edge"), None, false).check(2),
            Err(LoadError::Invalid { path, .. }) if path == "/audience"
        ));
        assert!(matches!(
            fields(None, None, true).check(2),
            Err(LoadError::Invalid { path, .. }) if path == "/hashSalt"
        ));
    }

    use crate::{Context, ErrorCode, Snapshot, ValueType};
    use alloc::{format, string::ToString, vec, vec::Vec};

    const FLAG: &str = r#""type":"boolean","enabled":true,"offVariation":"off","variations":[{"key":"on","value":true},{"key":"off","value":false}],"defaultRule":{"variation":"on"}"#;
    const HASH: &str = "vjDjbe7GR_F6rHA6TSeO9g";

    fn doc(head: &str, flags: &[String]) -> String {
        format!(
            r#"{{{head},"environment":"e","version":1,"generatedAt":"2026-11-25T12:00:00Z","flags":[{}]}}"#,
            flags.join(",")
        )
    }

    fn flag(key: &str, extra: &str) -> String {
        format!(r#"{{"key":"{key}",{FLAG}{extra}}}"#)
    }

    #[test]
    fn hashed_values_need_schema_version_2_on_both_loading_paths() {
        let hashed = flag(
            "f",
            &format!(r#","targets":[{{"variation":"on","hashes":["{HASH}"]}}]"#),
        );
        // A malformed flag beside it sends the load down the item-by-item path.
        let malformed = r#"{"key":"m","enabled":"yes"}"#.to_string();
        for flags in [vec![hashed.clone()], vec![hashed.clone(), malformed]] {
            let v1 = doc(r#""schemaVersion":1,"hashSalt":"s""#, &flags);
            assert!(
                matches!(Snapshot::load(v1.as_bytes()), Err(LoadError::Invalid { path, .. }) if path == "/schemaVersion"),
                "{v1}"
            );
            let v1_no_salt = doc(r#""schemaVersion":1"#, &flags);
            let err = Snapshot::load(v1_no_salt.as_bytes()).unwrap_err();
            assert!(
                err.to_string().contains("must be 2 for hashed values"),
                "{err}"
            );
            let v2_no_salt = doc(r#""schemaVersion":2"#, &flags);
            assert!(matches!(
                Snapshot::load(v2_no_salt.as_bytes()),
                Err(LoadError::Invalid { path, .. }) if path == "/hashSalt"
            ));
            assert!(
                Snapshot::load(doc(r#""schemaVersion":2,"hashSalt":"s""#, &flags).as_bytes())
                    .is_ok()
            );
        }
        // The version may come after the items it governs.
        let late = format!(
            r#"{{"flags":[{hashed}],"environment":"e","version":1,"generatedAt":"2026-11-25T12:00:00Z","schemaVersion":1}}"#
        );
        assert!(Snapshot::load(late.as_bytes()).is_err());
        let segment = r#"{"schemaVersion":1,"environment":"e","version":1,"generatedAt":"2026-11-25T12:00:00Z","segments":[{"key":"s","excludedHashes":["vjDjbe7GR_F6rHA6TSeO9g"]}]}"#;
        assert!(Snapshot::load(segment.as_bytes()).is_err());
        let condition = doc(
            r#""schemaVersion":1"#,
            &[flag(
                "f",
                &format!(
                    r#","rules":[{{"conditions":[{{"attribute":"a","op":"in","hashes":["{HASH}"]}}],"serve":{{"variation":"on"}}}}]"#
                ),
            )],
        );
        assert!(Snapshot::load(condition.as_bytes()).is_err());
    }

    #[test]
    fn a_client_snapshot_answers_its_client_visible_flags_only() {
        let flags = [
            flag("hidden", r#","clientVisible":false"#),
            flag(
                "shown",
                r#","clientVisible":true,"prerequisites":[{"flag":"hidden","variation":"on"}]"#,
            ),
            flag("unmarked", ""),
        ];
        let client =
            Snapshot::load(doc(r#""schemaVersion":2,"audience":"client""#, &flags).as_bytes())
                .unwrap()
                .snapshot;
        let server = Snapshot::load(doc(r#""schemaVersion":1"#, &flags).as_bytes())
            .unwrap()
            .snapshot;
        let ctx = Context::new();
        assert_eq!(
            (client.audience(), server.audience()),
            (Audience::Client, Audience::Server)
        );
        assert_eq!(
            client.evaluate("shown", &ctx, 0).value,
            Some(&serde_json::json!(true))
        );
        for key in ["hidden", "unmarked"] {
            assert_eq!(
                client.evaluate(key, &ctx, 0).error_code(),
                Some(ErrorCode::FlagNotFound)
            );
            let typed = client.evaluate_as(key, ValueType::String, &ctx, 0);
            assert_eq!(typed.error_code(), Some(ErrorCode::FlagNotFound), "{key}");
            assert!(client.flag(key).is_none());
            assert_eq!(server.evaluate(key, &ctx, 0).error_code(), None);
        }
        let keys = |s: &Snapshot| s.flags().map(|f| f.key.to_string()).collect::<Vec<_>>();
        assert_eq!(keys(&client), ["shown"]);
        assert_eq!(keys(&server), ["hidden", "shown", "unmarked"]);
        let all: Vec<_> = client
            .evaluate_all(&ctx, 0)
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(all, ["shown"]);
        assert_eq!(
            (client.len(), server.len(), client.is_empty()),
            (1, 3, false)
        );
    }

    #[test]
    fn other_versions_are_refused_as_unsupported() {
        for version in ["0", "3", "9007199254740991"] {
            let json = doc(&format!(r#""schemaVersion":{version}"#), &[]);
            let err = Snapshot::load(json.as_bytes()).unwrap_err();
            assert!(
                matches!(err, LoadError::UnsupportedSchema { supported: 2, .. }),
                "{version}: {err}"
            );
        }
    }
}
