//! Authentication and roles.
//!
//! Two kinds of caller, one [`Actor`]:
//! - scripts and CI: an API key (`efk_…`, stored as a SHA-256 hash), exchanged at
//!   `POST /v1/auth/token` for a short-lived EdDSA JWT plus a single-use refresh token,
//!   sent as `Authorization: Bearer …` (the JWT or the key itself);
//! - people: a session cookie from `POST /v1/auth/login` (`session.rs`), plus the
//!   session's CSRF token on every request that changes something.
//!
//! The [`Caller`] extractor accepts either (a bearer credential wins), reloads the key or
//! the person's membership from the database on every request, so revocation, removal
//! and role changes take effect at once, and applies the rate limit per key or person.
//! Handlers take [`Principal`], the [`Actor`] alone, unless they need to know how the
//! caller signed in (sessions, the change feed).

use axum::{extract::FromRequestParts, http::request::Parts};
pub use edgeflag_admin_core::Role;
use edgeflag_admin_core::{Actor, api_keys, sessions, users};

use crate::{error::ApiError, limit::RateSlot, refresh, session, state::AppState};

/// The extractor of an authenticated caller: the [`Actor`] its credential acts as,
/// with the request's id. Handlers destructure it, `Principal(who): Principal`.
#[derive(Debug, Clone)]
pub struct Principal(pub Actor);

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Caller::from_request_parts(parts, state)
            .await
            .map(|caller| Principal(caller.actor))
    }
}

/// How a caller proved who they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// An API key, directly or through an access token.
    ApiKey { key_id: String },
    /// A person's session cookie.
    Session {
        id: String,
        /// The session's CSRF token (for the answers that hand it to the page).
        csrf_token: String,
        expires_at: i64,
    },
}

/// The extractor of an authenticated caller with the way they signed in.
#[derive(Debug, Clone)]
pub struct Caller {
    pub actor: Actor,
    pub via: Via,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let mut caller = if let Some(credential) = bearer(parts) {
            by_key(state, &credential).await?
        } else if let Some(secret) = session::secret(&parts.headers) {
            by_session(parts, state, &secret).await?
        } else {
            return Err(ApiError::Unauthorized(
                "sign in, or send `Authorization: Bearer <token or API key>`".into(),
            ));
        };
        caller.actor.request_id = parts
            .headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        rate_limit(parts, state, &caller.actor.id).await?;
        Ok(caller)
    }
}

async fn by_key(state: &AppState, credential: &str) -> Result<Caller, ApiError> {
    let key_id = if credential.starts_with("efk_") {
        key_id_for_secret(state, credential).await?
    } else {
        let claims = state.token_key.verify(credential)?;
        if let Some(family) = &claims.fam
            && refresh::family_revoked(&state.pool, family).await?
        {
            return Err(ApiError::Unauthorized(
                "this sign-in was revoked (a refresh token was used twice); sign in again".into(),
            ));
        }
        claims.sub
    };
    let actor = api_keys::actor(&state.pool, &key_id)
        .await?
        .ok_or_else(|| {
            ApiError::Unauthorized("the API key behind this token was revoked".into())
        })?;
    Ok(Caller {
        actor,
        via: Via::ApiKey { key_id },
    })
}

async fn by_session(parts: &Parts, state: &AppState, secret: &str) -> Result<Caller, ApiError> {
    let found = sessions::find(&state.pool, secret, &state.config.accounts)
        .await?
        .ok_or_else(|| ApiError::Unauthorized("your session has ended; sign in again".into()))?;
    let actor = users::actor(&state.pool, &found.user_id, &found.org_id)
        .await?
        .ok_or_else(|| {
            ApiError::Unauthorized(
                "you are no longer a member of this organization; sign in again".into(),
            )
        })?;
    let csrf_token = sessions::csrf_token(secret);
    if session::changes_state(&parts.method) {
        session::check_csrf(&parts.headers, &state.config, &csrf_token)?;
    }
    Ok(Caller {
        actor,
        via: Via::Session {
            id: found.id,
            csrf_token,
            expires_at: found.expires_at,
        },
    })
}

/// Applies the per-caller rate limit and leaves its state for the response headers.
async fn rate_limit(parts: &Parts, state: &AppState, id: &str) -> Result<(), ApiError> {
    state
        .limiter
        .check_into(id, parts.extensions.get::<RateSlot>())
        .await
        .map(drop)
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
