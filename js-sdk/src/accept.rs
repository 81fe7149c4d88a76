//! Which signed snapshots a client accepts. Verification itself is the engine's
//! (`envelope::verify`); this module only adds the client's expectations: the
//! audience, the environment, and a version never older than the one in use.

use edgeflag_engine::{
    Loaded, Snapshot,
    envelope::{self, Jwks, KeySet, VerifyingKey},
};

use crate::SdkError;

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
}

/// Parses a JWKS in which every key must be a valid Ed25519 public key.
pub fn parse_jwks(json: &str) -> Result<Vec<VerifyingKey>, SdkError> {
    let jwks: Jwks = serde_json::from_str(json)
        .map_err(|e| SdkError::Keys(envelope::EnvelopeError::InvalidKey(e.to_string())))?;
    jwks.keys
        .iter()
        .map(VerifyingKey::from_jwk)
        .collect::<Result<_, _>>()
        .map_err(SdkError::Keys)
}

/// Verifies `token` and decides whether it replaces the snapshot at version `current`:
/// `Some` with the newer snapshot loaded, or `None` when it holds the version in use.
pub fn accept(
    token: &str,
    keys: &KeySet,
    policy: &Policy,
    current: Option<u64>,
) -> Result<Option<Loaded>, SdkError> {
    if keys.is_empty() {
        return Err(SdkError::NoTrustedKeys);
    }
    let verified = envelope::verify(token, keys).map_err(SdkError::Signature)?;
    let header = verified.header;
    let audience = header.aud.unwrap_or_default();
    if !policy.audiences.contains(&audience) {
        return Err(SdkError::Audience(audience));
    }
    let env = header.env.ok_or(SdkError::MissingClaim("env"))?;
    if let Some(expected) = &policy.environment
        && *expected != env
    {
        return Err(SdkError::Environment {
            expected: expected.clone(),
            found: env,
        });
    }
    let ver = header.ver.ok_or(SdkError::MissingClaim("ver"))?;
    match current {
        Some(held) if ver < held => return Err(SdkError::Stale { found: ver, held }),
        Some(held) if ver == held => return Ok(None),
        _ => {}
    }
    let loaded = Snapshot::load(&verified.payload).map_err(SdkError::Load)?;
    let snapshot = &loaded.snapshot;
    if snapshot.version() != ver || snapshot.environment() != env {
        return Err(SdkError::HeaderMismatch {
            header: format!("`{env}` version {ver}"),
            payload: format!(
                "`{}` version {}",
                snapshot.environment(),
                snapshot.version()
            ),
        });
    }
    Ok(Some(loaded))
}
