//! Authentication and roles.
//!
//! An API key (`efk_…`, stored as a SHA-256 hash) is exchanged at
//! `POST /v1/auth/token` for a short-lived EdDSA JWT plus a single-use refresh token.
//! Handlers take a [`Principal`] extractor, which accepts the JWT (or, for scripts,
//! the API key itself) as `Authorization: Bearer …` and reloads the key's
//! organization and role from the database on every request, so revocation is
//! immediate; it yields the domain's [`Actor`], which is all a handler passes on. The
//! same extractor applies the per-key rate limit.

use axum::{extract::FromRequestParts, http::request::Parts};
pub use edgeflag_admin_core::Role;
use edgeflag_admin_core::{Actor, api_keys};

use crate::{
    error::ApiError,
    limit::{RateInfo, RateSlot},
    state::AppState,
};

/// The extractor of an authenticated caller: the [`Actor`] its credential acts as,
/// with the request's id. Handlers destructure it, `Principal(who): Principal`.
#[derive(Debug, Clone)]
pub struct Principal(pub Actor);

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let credential = bearer(parts).ok_or_else(|| {
            ApiError::Unauthorized("send `Authorization: Bearer <token or API key>`".into())
        })?;
        let key_id = if credential.starts_with("efk_") {
            key_id_for_secret(state, &credential).await?
        } else {
            state.token_key.verify(&credential)?.sub
        };
        let mut actor = api_keys::actor(&state.pool, &key_id)
            .await?
            .ok_or_else(|| {
                ApiError::Unauthorized("the API key behind this token was revoked".into())
            })?;
        actor.request_id = parts
            .headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let outcome = state.limiter.check(&actor.id);
        if let Some(slot) = parts.extensions.get::<RateSlot>() {
            let info = match &outcome {
                Ok(info) => *info,
                Err(_) => RateInfo {
                    limit: state.limiter.limit,
                    remaining: 0,
                    reset_secs: state.limiter.reset_secs(&actor.id),
                },
            };
            *slot
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(info);
        }
        outcome?;
        Ok(Principal(actor))
    }
}

fn bearer(parts: &Parts) -> Option<String> {
    let headers = &parts.headers;
    if let Some(value) = headers.get("authorization").and_then(|v| v.to_str().ok()) {
        let (scheme, token) = value.split_once(' ')?;
        return scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim().to_string());
    }
    headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_string())
}

/// The id of the live API key with this secret, or 401.
pub async fn key_id_for_secret(state: &AppState, secret: &str) -> Result<String, ApiError> {
    api_keys::live_key_id(&state.pool, secret)
        .await?
        .ok_or_else(|| ApiError::Unauthorized("unknown or revoked API key".into()))
}
