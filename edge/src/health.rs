//! `GET /healthz`. Anyone may ask whether the edge is well (`{"status"}`: `ok`, or
//! `degraded` when a stored snapshot could not be loaded), but which environments an
//! isolate holds, at which versions, and what went wrong is not public: one edge serves
//! many tenants. Details need a credential the edge already trusts:
//! - a **server key** shows its own environment;
//! - an **operator token** shows every environment: a JWS signed by a trusted publisher
//!   key (the keys that may publish, `EDGEFLAG_TRUSTED_KEYS` or endorsed), with
//!   `aud: health` in its header and `{"exp": <epoch seconds>}` as its payload, valid
//!   for at most an hour.

use std::collections::BTreeMap;

use edgeflag_engine::envelope::KeySet;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{error::ApiError, state::EnvHealth};

/// The audience of an operator token.
pub const AUDIENCE: &str = "health";

/// The longest an operator token may be valid for, in seconds: a leaked one soon expires.
pub const MAX_TOKEN_LIFETIME_S: i64 = 3600;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Claims {
    exp: i64,
}

/// True when a bearer credential is a compact JWS rather than an SDK key (SDK keys
/// have no dots).
pub fn is_operator_token(credential: &str) -> bool {
    credential.split('.').count() == 3
}

/// Checks an operator token: signed by a trusted publisher key, for this audience, not
/// expired and not valid for longer than [`MAX_TOKEN_LIFETIME_S`].
pub fn verify_operator_token(token: &str, trusted: &KeySet, now_ms: i64) -> Result<(), ApiError> {
    if trusted.is_empty() {
        return Err(crate::trust::no_trusted_keys());
    }
    let doc = crate::trust::verify_signed(token, trusted, AUDIENCE)?;
    let claims: Claims = serde_json::from_slice(&doc.payload)
        .map_err(|e| ApiError::parse(format!("health token payload: {e}")))?;
    let now_s = now_ms.div_euclid(1000);
    if claims.exp <= now_s {
        return Err(ApiError::unauthorized("the health token has expired"));
    }
    if claims.exp - now_s > MAX_TOKEN_LIFETIME_S {
        return Err(ApiError::unauthorized(format!(
            "a health token may be valid for at most {MAX_TOKEN_LIFETIME_S} seconds"
        )));
    }
    Ok(())
}

/// `ok` unless an environment reports a load error.
pub fn status(environments: &BTreeMap<String, EnvHealth>) -> &'static str {
    if environments.values().any(|h| h.last_error.is_some()) {
        "degraded"
    } else {
        "ok"
    }
}

/// The public answer: the aggregate status only.
pub fn public(environments: &BTreeMap<String, EnvHealth>) -> Value {
    json!({"status": status(environments)})
}

/// The answer with details, for the environments a credential may see.
pub fn detailed(environments: &BTreeMap<String, EnvHealth>) -> Value {
    json!({"status": status(environments), "environments": environments})
}
