//! Authentication and roles.
//!
//! An API key (`efk_…`, stored as a SHA-256 hash) is exchanged at
//! `POST /v1/auth/token` for a short-lived EdDSA JWT plus a single-use refresh token.
//! Handlers take a [`Principal`] extractor, which accepts the JWT (or, for scripts,
//! the API key itself) as `Authorization: Bearer …` and reloads the key's
//! organization and role from the database on every request, so revocation is
//! immediate; it yields the domain's [`Actor`], which is all a handler passes on. The
//! same extractor applies the per-key rate limit.

use std::{collections::HashMap, sync::Mutex, time::Instant};

use axum::{extract::FromRequestParts, http::request::Parts};
pub use edgeflag_admin_core::Role;
use edgeflag_admin_core::{
    Actor, api_keys,
    db::{self, now_ms},
    signing::seed_key,
};
use jwt_compact::{AlgorithmExt, Claims, Header, TimeOptions, UntrustedToken, alg::Ed25519};
use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::{app::AppState, error::ApiError};

/// The extractor of an authenticated caller: the [`Actor`] its credential acts as,
/// with the request's id. Handlers destructure it, `Principal(who): Principal`.
#[derive(Debug, Clone)]
pub struct Principal(pub Actor);

/// The claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenClaims {
    /// The API key id.
    pub sub: String,
    pub org: String,
    pub role: Role,
}

/// The admin's token-signing key (purpose `token` in `signing_keys`).
#[derive(Debug, Clone)]
pub struct TokenKey {
    kid: String,
    key: ed25519_dalek::SigningKey,
}

impl TokenKey {
    /// Loads the token key, creating it on first start.
    pub async fn load_or_create(pool: &sqlx::AnyPool) -> Result<Self, sqlx::Error> {
        let row = sqlx::query("SELECT kid, seed FROM signing_keys WHERE purpose = 'token' AND retired_at IS NULL ORDER BY created_at DESC LIMIT 1")
            .fetch_optional(pool)
            .await?;
        if let Some(row) = row {
            let seed: String = row.try_get("seed")?;
            if let Some(key) = seed_key(&seed) {
                return Ok(Self {
                    kid: row.try_get("kid")?,
                    key,
                });
            }
        }
        let seed = db::random_bytes::<32>();
        let kid = db::new_id("tok");
        sqlx::query("INSERT INTO signing_keys (kid, purpose, seed, created_at) VALUES ($1, 'token', $2, $3)")
            .bind(&kid)
            .bind(hex::encode(seed))
            .bind(now_ms())
            .execute(pool)
            .await?;
        Ok(Self {
            kid,
            key: ed25519_dalek::SigningKey::from_bytes(&seed),
        })
    }

    pub fn issue(&self, claims: TokenClaims, ttl_secs: i64) -> Result<String, ApiError> {
        let header = Header::empty().with_key_id(self.kid.clone());
        let claims = Claims::new(claims).set_duration_and_issuance(
            &TimeOptions::default(),
            chrono::Duration::seconds(ttl_secs),
        );
        Ed25519
            .token(&header, &claims, &self.key)
            .map_err(ApiError::internal)
    }

    pub fn verify(&self, token: &str) -> Result<TokenClaims, ApiError> {
        let bad = |_| ApiError::Unauthorized("the access token is invalid or expired".into());
        let untrusted = UntrustedToken::new(token).map_err(|e| bad(e.to_string()))?;
        let verifying = self.key.verifying_key();
        let token = Ed25519
            .validator::<TokenClaims>(&verifying)
            .validate(&untrusted)
            .map_err(|e| bad(e.to_string()))?;
        token
            .claims()
            .validate_expiration(&TimeOptions::default())
            .map_err(|e| bad(e.to_string()))?;
        Ok(token.claims().custom.clone())
    }
}

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

/// The rate-limit state of one request, for the `X-RateLimit-*` headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateInfo {
    pub limit: u32,
    pub remaining: u32,
    pub reset_secs: u64,
}

/// Where the [`Principal`] extractor leaves the request's [`RateInfo`] for the
/// middleware that writes the headers (an extractor cannot touch the response).
#[derive(Debug, Clone, Default)]
pub struct RateSlot(pub std::sync::Arc<Mutex<Option<RateInfo>>>);

/// Middleware: gives every authenticated response its `X-RateLimit-*` headers.
pub async fn rate_headers(
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let slot = RateSlot::default();
    request.extensions_mut().insert(slot.clone());
    let mut response = next.run(request).await;
    let info = *slot
        .0
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(info) = info {
        let headers = response.headers_mut();
        for (name, value) in [
            ("x-ratelimit-limit", u64::from(info.limit)),
            ("x-ratelimit-remaining", u64::from(info.remaining)),
            ("x-ratelimit-reset", info.reset_secs),
        ] {
            headers.insert(name, axum::http::HeaderValue::from(value));
        }
    }
    response
}

/// A fixed-window limiter: `limit` requests per key per minute.
#[derive(Debug)]
pub struct RateLimiter {
    pub limit: u32,
    windows: Mutex<HashMap<String, (Instant, u32)>>,
}

impl RateLimiter {
    pub fn new(limit: u32) -> Self {
        Self {
            limit,
            windows: Mutex::new(HashMap::new()),
        }
    }

    pub fn check(&self, key: &str) -> Result<RateInfo, ApiError> {
        let now = Instant::now();
        let mut windows = self
            .windows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = windows.entry(key.to_string()).or_insert((now, 0));
        if now.duration_since(entry.0).as_secs() >= 60 {
            *entry = (now, 0);
        }
        let reset_secs = 60 - now.duration_since(entry.0).as_secs().min(59);
        if entry.1 >= self.limit {
            return Err(ApiError::RateLimited(reset_secs));
        }
        entry.1 += 1;
        Ok(RateInfo {
            limit: self.limit,
            remaining: self.limit - entry.1,
            reset_secs,
        })
    }

    /// Seconds until `key`'s window resets.
    pub fn reset_secs(&self, key: &str) -> u64 {
        let windows = self
            .windows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        windows
            .get(key)
            .map_or(60, |(start, _)| 60 - start.elapsed().as_secs().min(59))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limiter_refuses_over_the_limit() {
        let limiter = RateLimiter::new(2);
        assert_eq!(limiter.check("k").unwrap().remaining, 1);
        assert_eq!(limiter.check("k").unwrap().remaining, 0);
        assert!(matches!(limiter.check("k"), Err(ApiError::RateLimited(_))));
        assert!(limiter.check("other").is_ok());
    }
}
