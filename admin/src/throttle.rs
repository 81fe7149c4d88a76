//! Sign-in throttling: failed sign-ins are counted per email address and per client
//! address in a fixed window; over either limit, sign-in answers 429 (the API's
//! `RATE_LIMITED` shape, with `Retry-After`) before any password is checked, so the
//! answer says nothing about the password. A success clears the address's account
//! count. Unknown addresses are counted like known ones: the throttle leaks nothing
//! about which accounts exist.
//!
//! Why not `governor`: it meters every request, while this counts failures only and
//! must check a key without spending from it. On PostgreSQL the counts live in the
//! database (`counters`, windows aligned to the epoch), so replicas behind one balancer
//! count together; on SQLite (one process) they live in memory, and a restart forgets
//! them (a restart is not something an attacker can cause through the API). A database
//! error while counting is logged and lets the attempt through: the sign-in that
//! follows needs the same database and fails anyway.

use std::{
    collections::HashMap,
    net::{IpAddr, SocketAddr},
    sync::Mutex,
    time::{Duration, Instant},
};

use axum::{extract::ConnectInfo, http::request::Parts};
use edgeflag_admin_core::{counters, db::now_ms};
use sqlx::AnyPool;

/// Counts of failures per key in a fixed window.
#[derive(Debug)]
pub struct Throttle {
    window: Duration,
    counts: Mutex<HashMap<String, (Instant, u32)>>,
    /// The database counting for every replica (PostgreSQL).
    shared: Option<AnyPool>,
}

/// The bucket prefix of sign-in failures in `rate_counters`.
const BUCKET: &str = "failures";

/// Entries kept before old windows are swept out, so memory stays bounded.
const SWEEP_AT: usize = 10_000;

impl Throttle {
    /// A throttle counting in this process's memory.
    pub fn new(window: Duration) -> Self {
        Self {
            window,
            counts: Mutex::new(HashMap::new()),
            shared: None,
        }
    }

    /// A throttle counting in the database, shared by every replica.
    pub fn shared(window: Duration, pool: AnyPool) -> Self {
        Self {
            shared: Some(pool),
            ..Self::new(window)
        }
    }

    fn window_ms(&self) -> i64 {
        i64::try_from(self.window.as_millis())
            .unwrap_or(i64::MAX)
            .max(1)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Instant, u32)>> {
        self.counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// `Err(seconds until the window ends)` when `key` has `limit` failures already.
    pub async fn check(&self, key: &str, limit: u32) -> Result<(), u64> {
        if let Some(pool) = &self.shared {
            let bucket = format!("{BUCKET}:{key}");
            return match counters::peek(pool, &bucket, self.window_ms(), now_ms()).await {
                Ok(w) if w.hits >= i64::from(limit) => {
                    Err(u64::try_from(w.reset_ms).unwrap_or(0).div_ceil(1000).max(1))
                }
                Ok(_) => Ok(()),
                Err(e) => {
                    tracing::warn!(error = %e, "sign-in throttle unreadable; letting the attempt through");
                    Ok(())
                }
            };
        }
        let counts = self.lock();
        match counts.get(key) {
            Some((start, n)) if *n >= limit && start.elapsed() < self.window => {
                Err((self.window - start.elapsed()).as_secs().max(1))
            }
            _ => Ok(()),
        }
    }

    /// Counts one failure of `key`.
    pub async fn fail(&self, key: &str) {
        if let Some(pool) = &self.shared {
            let bucket = format!("{BUCKET}:{key}");
            if let Err(e) = counters::hit(pool, &bucket, self.window_ms(), now_ms()).await {
                tracing::warn!(error = %e, "could not count a failed sign-in");
            }
            return;
        }
        let mut counts = self.lock();
        let now = Instant::now();
        if counts.len() >= SWEEP_AT {
            counts.retain(|_, (start, _)| now.duration_since(*start) < self.window);
        }
        let entry = counts.entry(key.to_string()).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        entry.1 = entry.1.saturating_add(1);
    }

    /// Forgets `key`'s failures (after a success).
    pub async fn clear(&self, key: &str) {
        if let Some(pool) = &self.shared {
            if let Err(e) = counters::clear(pool, &format!("{BUCKET}:{key}")).await {
                tracing::warn!(error = %e, "could not clear sign-in failures");
            }
            return;
        }
        self.lock().remove(key);
    }
}

/// The client's address: the connection's peer, or with `trust_forwarded_for` the
/// last `X-Forwarded-For` entry (the one the trusted proxy added). Empty when unknown
/// (a request made in-process).
pub fn client_address(parts: &Parts, trust_forwarded_for: bool) -> String {
    if trust_forwarded_for
        && let Some(last) = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|a| a.trim().parse::<IpAddr>().ok())
            .next_back()
    {
        return last.to_string();
    }
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn failures_over_the_limit_are_refused_until_the_window_ends() {
        let throttle = Throttle::new(Duration::from_secs(60));
        for _ in 0..3 {
            assert!(throttle.check("a", 3).await.is_ok());
            throttle.fail("a").await;
        }
        let wait = throttle.check("a", 3).await.unwrap_err();
        assert!((1..=60).contains(&wait), "{wait}");
        assert!(
            throttle.check("b", 3).await.is_ok(),
            "keys are counted apart"
        );
        throttle.clear("a").await;
        assert!(throttle.check("a", 3).await.is_ok());
        let short = Throttle::new(Duration::from_millis(0));
        short.fail("a").await;
        assert!(
            short.check("a", 1).await.is_ok(),
            "an ended window counts nothing"
        );
    }

    #[test]
    fn the_forwarded_address_is_used_only_when_trusted() {
        let request = axum::http::Request::get("/")
            .header("x-forwarded-for", "203.0.113.9, 198.51.100.7")
            .body(())
            .unwrap();
        let (mut parts, ()) = request.into_parts();
        parts
            .extensions
            .insert(ConnectInfo(SocketAddr::from(([10, 0, 0, 1], 4000))));
        assert_eq!(client_address(&parts, true), "198.51.100.7");
        assert_eq!(client_address(&parts, false), "10.0.0.1");
    }
}
