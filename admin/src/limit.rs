//! Rate limits: fixed windows of requests per minute per key. The per-API-key limit
//! (`rate_limit_per_minute`) is checked by the `Principal` extractor; the sign-in
//! limit (`auth_rate_limit_per_minute`) by `POST /v1/auth/token` and
//! `/v1/auth/refresh`, per client address ([`client_key`]) and per API key. The
//! middleware writes the `X-RateLimit-*` headers of every limited response, and a
//! refusal is the one `429` with `Retry-After`.
//!
//! Where the counts live: on PostgreSQL in the database (`counters`, windows aligned to
//! the minute), so replicas behind one balancer share every limit; on SQLite, where one
//! process serves the database, in this process's memory (windows from a key's first
//! request).

use std::{collections::HashMap, net::IpAddr, sync::Mutex, time::Instant};

use edgeflag_admin_core::{counters, db::now_ms};
use sqlx::AnyPool;

use crate::error::ApiError;

/// A minute, the window of every request limit.
const WINDOW_MS: i64 = 60_000;

/// Windows kept before expired ones are dropped, so keys that come and go (client
/// addresses) cannot grow the map without bound.
const PRUNE_ABOVE: usize = 10_000;

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
    /// The database counting for every replica, and this limiter's bucket prefix.
    shared: Option<(AnyPool, &'static str)>,
}

impl RateLimiter {
    /// A limiter counting in this process's memory.
    pub fn new(limit: u32) -> Self {
        Self {
            limit,
            windows: Mutex::new(HashMap::new()),
            shared: None,
        }
    }

    /// A limiter counting in the database (`counters`) under buckets `{name}:{key}`.
    pub fn shared(limit: u32, pool: AnyPool, name: &'static str) -> Self {
        Self {
            shared: Some((pool, name)),
            ..Self::new(limit)
        }
    }

    /// Counts one request of `key`; `429` when it is over the limit.
    pub async fn check(&self, key: &str) -> Result<RateInfo, ApiError> {
        let Some((pool, name)) = &self.shared else {
            return self.check_here(key);
        };
        let window = counters::hit(pool, &format!("{name}:{key}"), WINDOW_MS, now_ms()).await?;
        let reset_secs = u64::try_from(window.reset_ms)
            .unwrap_or(0)
            .div_ceil(1000)
            .clamp(1, 60);
        let used = u32::try_from(window.hits).unwrap_or(u32::MAX);
        if used > self.limit {
            return Err(ApiError::RateLimited(reset_secs));
        }
        Ok(RateInfo {
            limit: self.limit,
            remaining: self.limit - used,
            reset_secs,
        })
    }

    fn check_here(&self, key: &str) -> Result<RateInfo, ApiError> {
        let now = Instant::now();
        let mut windows = self
            .windows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if windows.len() > PRUNE_ABOVE {
            windows.retain(|_, (start, _)| now.duration_since(*start).as_secs() < 60);
        }
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
        if self.shared.is_some() {
            let into = now_ms().rem_euclid(WINDOW_MS);
            return u64::try_from(WINDOW_MS - into).unwrap_or(0).div_ceil(1000);
        }
        let windows = self
            .windows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        windows
            .get(key)
            .map_or(60, |(start, _)| 60 - start.elapsed().as_secs().min(59))
    }
}

impl RateLimiter {
    /// [`Self::check`], leaving the outcome in `slot` for the `X-RateLimit-*` headers.
    pub async fn check_into(
        &self,
        key: &str,
        slot: Option<&RateSlot>,
    ) -> Result<RateInfo, ApiError> {
        let outcome = self.check(key).await;
        if let Some(slot) = slot {
            let info = match &outcome {
                Ok(info) => *info,
                Err(_) => RateInfo {
                    limit: self.limit,
                    remaining: 0,
                    reset_secs: self.reset_secs(key),
                },
            };
            *slot
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(info);
        }
        outcome
    }
}

/// The rate-limit key of a client address: the address, an IPv6 one by its /64
/// (which one host usually holds whole), or `unknown` (a request made in-process).
pub fn client_key(address: &str) -> String {
    let Ok(ip) = address.parse::<IpAddr>() else {
        return "unknown".to_string();
    };
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let [a, b, c, d, ..] = v6.segments();
            format!("{a:x}:{b:x}:{c:x}:{d:x}::/64")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limiter_refuses_over_the_limit() {
        let limiter = RateLimiter::new(2);
        assert_eq!(limiter.check_here("k").unwrap().remaining, 1);
        assert_eq!(limiter.check_here("k").unwrap().remaining, 0);
        assert!(matches!(
            limiter.check_here("k"),
            Err(ApiError::RateLimited(_))
        ));
        assert!(limiter.check_here("other").is_ok());
    }

    #[test]
    fn clients_are_keyed_by_address_and_ipv6_by_its_64() {
        assert_eq!(client_key("192.0.2.7"), "192.0.2.7");
        assert_eq!(client_key("::ffff:192.0.2.7"), "192.0.2.7");
        assert_eq!(
            client_key("2001:db8:1:2:aaaa::1"),
            client_key("2001:db8:1:2:bbbb::9")
        );
        assert_ne!(client_key("2001:db8:1:2::1"), client_key("2001:db8:1:3::1"));
        assert_eq!(client_key(""), "unknown");
    }

    #[test]
    fn expired_windows_are_dropped_when_many() {
        let limiter = RateLimiter::new(1);
        {
            let mut windows = limiter.windows.lock().unwrap();
            let old = Instant::now() - std::time::Duration::from_secs(61);
            for i in 0..=PRUNE_ABOVE {
                windows.insert(format!("k{i}"), (old, 1));
            }
        }
        assert!(limiter.check_here("new").is_ok());
        assert_eq!(limiter.windows.lock().unwrap().len(), 1);
    }
}
