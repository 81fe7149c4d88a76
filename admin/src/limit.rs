//! The per-API-key rate limit: a fixed window of `rate_limit_per_minute` requests,
//! checked by the `Principal` extractor, and the middleware that writes the
//! `X-RateLimit-*` headers of every authenticated response.

use std::{collections::HashMap, sync::Mutex, time::Instant};

use crate::error::ApiError;

/// The rate-limit state of one request, for the `X-RateLimit-*` headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateInfo {
    pub limit: u32,
    pub remaining: u32,
    pub reset_secs: u64,
}

/// Where the `Principal` extractor leaves the request's [`RateInfo`] for the
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
