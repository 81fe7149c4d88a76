//! Endorsing publisher keys: `PUT /publish/v1/trusted-keys`.
//!
//! The keys in `EDGEFLAG_TRUSTED_KEYS` are the edge's root of trust and change only
//! when an operator redeploys. So that a publisher can rotate its signing key with no
//! redeploy and no failed request, a key the edge already trusts may endorse a new key
//! set: a JWS (`aud: trusted-keys`, a `ver` that only grows) whose payload is a JWKS.
//! The edge verifies it against the keys it trusts now, then stores the JWKS as
//! `trusted-keys.json`; from then on it trusts the configured keys plus that set.
//! A rotation is therefore: endorse {old, new} (signed by old), publish signed by new,
//! and once every edge holds a snapshot signed by new, endorse {new} (signed by new).

use edgeflag_engine::envelope::{self, EnvelopeError, KeySet, Verified};
use serde::{Deserialize, Serialize};

use crate::{config::Config, error::ApiError, kv::Kv, layout, state};

/// The audience of an endorsement JWS.
pub const AUDIENCE: &str = "trusted-keys";

/// The body of an endorsement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndorseRequest {
    /// JWS, `aud: trusted-keys`, payload a JWKS of Ed25519 public keys.
    pub jwks: String,
}

/// The reply to an accepted endorsement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndorseAccepted {
    /// The endorsement's version, now the stored one.
    pub version: u64,
    /// The key ids now trusted in addition to the configured ones.
    pub kids: Vec<String>,
}

/// Verifies and stores an endorsed key set.
pub async fn endorse(
    body: &[u8],
    kv: &impl Kv,
    config: &Config,
) -> Result<EndorseAccepted, ApiError> {
    crate::eval::require_object(body, "trusted-keys body")?;
    let request: EndorseRequest = serde_json::from_slice(body)
        .map_err(|e| ApiError::parse(format!("trusted-keys body: {e}")))?;
    let trusted = state::trusted_keys(kv, config)
        .await
        .map_err(ApiError::unavailable)?;
    if trusted.is_empty() {
        return Err(no_trusted_keys());
    }
    let doc = verify_signed(&request.jwks, &trusted, AUDIENCE)?;
    let version = doc
        .header
        .ver
        .ok_or_else(|| ApiError::parse("the trusted-keys document has no `ver` in its header"))?;
    let endorsed = KeySet::from_jwks_json(&doc.payload)
        .map_err(|e| ApiError::parse(format!("the trusted-keys document: {e}")))?;
    if endorsed.is_empty() {
        return Err(ApiError::parse("the trusted-keys document endorses no key"));
    }
    let fail = |e: crate::kv::KvError| ApiError::unavailable(e.to_string());
    let stored = kv.get(layout::TRUSTED_KEYS_VERSION).await.map_err(fail)?;
    let stored = stored.and_then(|b| String::from_utf8_lossy(&b).trim().parse::<u64>().ok());
    if let Some(stored) = stored.filter(|stored| version <= *stored) {
        return Err(ApiError::new(
            409,
            "STALE_VERSION",
            format!("the edge holds trusted keys version {stored}; this endorsement is {version}"),
        ));
    }
    kv.put(layout::TRUSTED_KEYS, &doc.payload)
        .await
        .map_err(fail)?;
    kv.put(layout::TRUSTED_KEYS_VERSION, version.to_string().as_bytes())
        .await
        .map_err(fail)?;
    Ok(EndorseAccepted {
        version,
        kids: endorsed.kids().map(str::to_string).collect(),
    })
}

/// The error for an edge that trusts no key at all.
pub fn no_trusted_keys() -> ApiError {
    ApiError::new(
        503,
        "NO_TRUSTED_KEYS",
        "no trusted publisher keys are configured (EDGEFLAG_TRUSTED_KEYS)",
    )
}

/// Verifies a signed document against `trusted` and checks its audience. A signature
/// that does not verify is `401`; anything malformed is `400 PARSE_ERROR`.
pub fn verify_signed(token: &str, trusted: &KeySet, aud: &str) -> Result<Verified, ApiError> {
    let doc = envelope::verify(token, trusted).map_err(|e| match e {
        EnvelopeError::UnknownKey(_) | EnvelopeError::BadSignature(_) => {
            ApiError::unauthorized(format!("{aud} document: {e}"))
        }
        other => ApiError::parse(format!("{aud} document: {other}")),
    })?;
    if doc.header.aud.as_deref() != Some(aud) {
        return Err(ApiError::parse(format!(
            "the {aud} document has audience {:?}",
            doc.header.aud
        )));
    }
    Ok(doc)
}
