//! Which signed snapshots an SDK accepts: the rules every Edgeflag SDK shares (the
//! JS SDK in browsers, the Rust and Python server SDKs), written once.
//!
//! Verification itself is [`envelope::verify`]; this module adds what a client expects
//! on top of a valid signature: the audience (`client` or `server`), the environment,
//! a version never older than the one in use, and a header that agrees with the
//! payload it signs. A refused snapshot must never replace the one in use; callers
//! keep serving what they have and report the [`AcceptError`].

use alloc::{
    format,
    string::{String, ToString},
    vec::Vec,
};

use crate::{
    LoadError, Loaded, Snapshot,
    envelope::{self, EnvelopeError, Jwks, KeySet, VerifyingKey},
};

/// What a client expects of the snapshots it accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    audiences: Vec<String>,
    environment: Option<String>,
}

impl Default for Policy {
    /// Client snapshots of any environment: what `/.well-known/flags/{client-key}` serves.
    fn default() -> Self {
        Self::new("client", "")
    }
}

impl Policy {
    /// `audiences` is comma-separated; an empty `environment` accepts any.
    pub fn new(audiences: &str, environment: &str) -> Self {
        Self {
            audiences: audiences
                .split(',')
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .map(str::to_string)
                .collect(),
            environment: Some(environment.trim())
                .filter(|e| !e.is_empty())
                .map(str::to_string),
        }
    }

    /// Server snapshots (`aud: server`, every flag), of `environment` if it is not empty:
    /// what a server SDK fetches from the edge's `GET /v1/snapshot`.
    pub fn server(environment: &str) -> Self {
        Self::new("server", environment)
    }
}

/// Why a key set or a signed snapshot was refused. The snapshot in use stays.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AcceptError {
    #[error("invalid trusted keys: {0}")]
    Keys(EnvelopeError),
    #[error("no trusted key: give the client a JWKS or a public key before any snapshot")]
    NoTrustedKeys,
    #[error("{0}")]
    Signature(EnvelopeError),
    #[error("signed snapshot is for audience `{0}`, which this client does not accept")]
    Audience(String),
    #[error("signed snapshot header lacks `{0}`")]
    MissingClaim(&'static str),
    #[error("signed snapshot is for environment `{found}`, this client expects `{expected}`")]
    Environment { expected: String, found: String },
    #[error("signed snapshot version {found} is older than version {held} in use")]
    Stale { found: u64, held: u64 },
    #[error("snapshot refused: {0}")]
    Load(LoadError),
    #[error("signed header says {header}, the snapshot itself {payload}")]
    HeaderMismatch { header: String, payload: String },
}

impl AcceptError {
    /// A stable, machine-readable code, the same in every SDK.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Keys(_) | Self::NoTrustedKeys => "INVALID_KEYS",
            Self::Signature(EnvelopeError::Malformed(_)) => "MALFORMED",
            Self::Signature(EnvelopeError::UnknownKey(_)) => "UNKNOWN_KEY",
            Self::Signature(_) => "BAD_SIGNATURE",
            Self::Audience(_) | Self::Environment { .. } | Self::MissingClaim(_) => {
                "WRONG_SNAPSHOT"
            }
            Self::Stale { .. } => "STALE_SNAPSHOT",
            Self::Load(_) | Self::HeaderMismatch { .. } => "SNAPSHOT_REFUSED",
        }
    }

    /// True when the snapshot names a key the client does not trust: after a signing-key
    /// rotation, a client that trusts the edge's JWKS fetches it again once.
    pub fn is_unknown_key(&self) -> bool {
        matches!(self, Self::Signature(EnvelopeError::UnknownKey(_)))
    }
}

/// Parses a JWKS in which every key must be a valid Ed25519 public key.
pub fn parse_jwks(json: &[u8]) -> Result<Vec<VerifyingKey>, AcceptError> {
    let keys_error = |message| AcceptError::Keys(EnvelopeError::InvalidKey(message));
    let text = crate::error::json_text(json).map_err(keys_error)?;
    let jwks: Jwks = serde_json::from_str(text).map_err(|e| keys_error(e.to_string()))?;
    jwks.keys
        .iter()
        .map(VerifyingKey::from_jwk)
        .collect::<Result<_, _>>()
        .map_err(AcceptError::Keys)
}

/// Verifies `token` and decides whether it replaces the snapshot at version `current`:
/// `Some` with the newer snapshot loaded, or `None` when it holds the version in use.
pub fn accept(
    token: &str,
    keys: &KeySet,
    policy: &Policy,
    current: Option<u64>,
) -> Result<Option<Accepted>, AcceptError> {
    if keys.is_empty() {
        return Err(AcceptError::NoTrustedKeys);
    }
    let verified = envelope::verify(token, keys).map_err(AcceptError::Signature)?;
    let header = verified.header;
    let audience = header.aud.unwrap_or_default();
    if !policy.audiences.contains(&audience) {
        return Err(AcceptError::Audience(audience));
    }
    let env = header.env.ok_or(AcceptError::MissingClaim("env"))?;
    if let Some(expected) = &policy.environment
        && *expected != env
    {
        return Err(AcceptError::Environment {
            expected: expected.clone(),
            found: env,
        });
    }
    let ver = header.ver.ok_or(AcceptError::MissingClaim("ver"))?;
    match current {
        Some(held) if ver < held => return Err(AcceptError::Stale { found: ver, held }),
        Some(held) if ver == held => return Ok(None),
        _ => {}
    }
    let loaded = Snapshot::load(&verified.payload).map_err(AcceptError::Load)?;
    let snapshot = &loaded.snapshot;
    if snapshot.version() != ver || snapshot.environment() != env {
        return Err(AcceptError::HeaderMismatch {
            header: format!("`{env}` version {ver}"),
            payload: format!(
                "`{}` version {}",
                snapshot.environment(),
                snapshot.version()
            ),
        });
    }
    Ok(Some(Accepted {
        loaded,
        kid: header.kid,
        payload: verified.payload,
    }))
}

/// A snapshot that passed every rule: loaded, with the key that signed it and the
/// verified payload (the snapshot JSON), for hosts that compare versions of it.
#[derive(Debug, Clone)]
pub struct Accepted {
    pub loaded: Loaded,
    pub kid: String,
    pub payload: Vec<u8>,
}

#[cfg(all(test, feature = "sign"))]
mod tests {
    use super::*;
    use crate::envelope::SigningKey;
    use alloc::vec;

    fn snapshot(env: &str, version: u64) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 1, "environment": env, "version": version,
            "generatedAt": "2026-11-25T12:00:00Z", "flags": []
        }))
        .unwrap()
    }

    fn sign(key: &SigningKey, payload_env: &str, env: &str, ver: u64, aud: &str) -> String {
        key.sign(&snapshot(payload_env, ver), Some(env), Some(ver), Some(aud))
    }

    #[test]
    fn a_jwks_that_is_not_utf8_is_refused() {
        let (key, _) = setup();
        let jwk = serde_json::to_string(&key.verifying_key().to_jwk()).unwrap();
        let ok = [br#"{"keys":["#.as_slice(), jwk.as_bytes(), b"]}"].concat();
        assert_eq!(parse_jwks(&ok).unwrap().len(), 1);
        let bad = [
            b"{\"x\":\"\xff\",\"keys\":[".as_slice(),
            jwk.as_bytes(),
            b"]}",
        ]
        .concat();
        let err = parse_jwks(&bad).unwrap_err();
        assert!(
            err.to_string()
                .contains("not valid UTF-8 (first invalid byte at offset 6)"),
            "{err}"
        );
    }

    fn setup() -> (SigningKey, KeySet) {
        let key = SigningKey::from_seed("k1", [3; 32]);
        let keys = KeySet::new(vec![key.verifying_key()]);
        (key, keys)
    }

    #[test]
    fn accepts_newer_server_snapshots_of_the_expected_environment() {
        let (key, keys) = setup();
        let policy = Policy::server("prod");
        let token = sign(&key, "prod", "prod", 7, "server");
        let accepted = accept(&token, &keys, &policy, Some(6)).unwrap().unwrap();
        assert_eq!(accepted.loaded.snapshot.version(), 7);
        assert_eq!(accepted.kid, "k1");
        assert_eq!(accepted.payload, snapshot("prod", 7));
        assert!(accept(&token, &keys, &policy, Some(7)).unwrap().is_none());
        let stale = accept(&token, &keys, &policy, Some(8)).unwrap_err();
        assert_eq!(stale, AcceptError::Stale { found: 7, held: 8 });
        assert_eq!(stale.code(), "STALE_SNAPSHOT");
    }

    #[test]
    fn refuses_the_wrong_audience_environment_or_header() {
        let (key, keys) = setup();
        let client = sign(&key, "prod", "prod", 1, "client");
        let err = accept(&client, &keys, &Policy::server(""), None).unwrap_err();
        assert_eq!(err, AcceptError::Audience("client".into()));
        let other = sign(&key, "dev", "dev", 1, "server");
        let err = accept(&other, &keys, &Policy::server("prod"), None).unwrap_err();
        assert_eq!(err.code(), "WRONG_SNAPSHOT");
        let lying = sign(&key, "dev", "prod", 1, "server");
        let err = accept(&lying, &keys, &Policy::server("prod"), None).unwrap_err();
        assert_eq!(err.code(), "SNAPSHOT_REFUSED");
    }

    #[test]
    fn names_unknown_keys_and_refuses_without_keys() {
        let (_, keys) = setup();
        let stranger = SigningKey::from_seed("k2", [4; 32]);
        let token = sign(&stranger, "prod", "prod", 1, "server");
        let err = accept(&token, &keys, &Policy::server(""), None).unwrap_err();
        assert!(err.is_unknown_key());
        assert_eq!(err.code(), "UNKNOWN_KEY");
        let err = accept(&token, &KeySet::default(), &Policy::server(""), None).unwrap_err();
        assert_eq!(err, AcceptError::NoTrustedKeys);
        assert!(parse_jwks(b"{\"keys\":[{\"kty\":\"RSA\"}]}").is_err());
        let jwks = serde_json::to_vec(&keys.to_jwks()).unwrap();
        assert_eq!(parse_jwks(&jwks).unwrap().len(), 1);
    }
}
