//! Live updates (OFREP ADR-0008): evaluation responses point at a Server-Sent Events
//! stream, and the stream says `refetchEvaluation` whenever the environment's snapshot
//! version changes.
//!
//! This module is what every runtime shares: the `eventStreams` entry, the stream
//! route's checks (a valid, unexpired token, or `401` before any stream opens), the
//! version hint a refetch carries, and the fan-out [`hub`]. Holding streams open needs
//! something that outlives a request; the Cloudflare Worker has Durable Objects (one per
//! environment, `edge-worker/src/live.rs`), the Spin app has nothing of the kind and
//! offers no streams (clients poll). Live updates are on when `EDGEFLAG_STREAM_SECRET`
//! is set; the Spin adapter never reads it.

pub mod hub;
pub mod token;

use std::{
    collections::HashMap,
    sync::{Mutex, PoisonError},
};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::{
    config::LiveConfig,
    error::ApiError,
    http::{Request, Response},
};
pub use hub::{Hub, HubConfig, StreamGrant, Subscription};
pub use token::Secret;

/// The path of the stream route.
pub const STREAM_PATH: &str = "/v1/events";

/// Seconds of client inactivity (a hidden tab) after which a provider should close
/// the stream (ADR-0008 `inactivityDelaySec`); it reconnects and refetches on return.
pub const INACTIVITY_DELAY_SEC: u64 = 120;

/// The response header that carries the stream URL next to a signed snapshot (the
/// JS SDK reads it; a snapshot is a JWS, not JSON, so it cannot carry `eventStreams`).
pub const STREAM_HEADER: &str = "edgeflag-event-stream";

/// What the adapter must do with a response besides sending it. Serializable, so an
/// adapter can pass it on (the Worker sends it to the environment's Durable Object).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Handoff {
    /// A publish stored `version` of `environment`: tell the environment's streams,
    /// handing them the version's signed client snapshot to carry (see [`hub::event`]).
    Published {
        environment: String,
        version: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_snapshot: Option<String>,
    },
    /// Open an event stream for this verified grant; the response holds its headers.
    Stream(StreamGrant),
}

/// The URL of the event stream for the key whose hash is `key_hash`, as of `version`.
/// Absolute when the adapter told the edge its origin.
pub fn stream_url(
    live: &LiveConfig,
    origin: &str,
    environment: &str,
    key_hash: &str,
    version: u64,
    now_ms: i64,
) -> String {
    let token = live.secret.mint(environment, key_hash, now_ms);
    format!("{origin}{STREAM_PATH}?token={token}&v={version}")
}

/// Minted stream URLs, per key hash, reused while nothing they depend on changes (the
/// environment's version, the token window, the origin): minting is two HMACs and some
/// encoding, on every OFREP answer otherwise.
#[derive(Debug, Default)]
pub struct UrlCache {
    urls: Mutex<HashMap<String, CachedUrl>>,
}

#[derive(Debug, Clone)]
struct CachedUrl {
    environment: String,
    version: u64,
    window: i64,
    origin: String,
    url: String,
}

/// Keys remembered at most; past that the cache starts again (a key churn attack costs
/// it nothing but the minting it would have done anyway).
const URL_CACHE_KEYS: usize = 4096;

impl UrlCache {
    pub fn get_or_mint(
        &self,
        live: &LiveConfig,
        origin: &str,
        environment: &str,
        key_hash: &str,
        version: u64,
        now_ms: i64,
    ) -> String {
        let window = now_ms.div_euclid(1000).div_euclid(token::WINDOW_S);
        let mut urls = self.urls.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(cached) = urls.get(key_hash)
            && cached.window == window
            && cached.version == version
            && cached.environment == environment
            && cached.origin == origin
        {
            return cached.url.clone();
        }
        let url = stream_url(live, origin, environment, key_hash, version, now_ms);
        if urls.len() >= URL_CACHE_KEYS {
            urls.clear();
        }
        let cached = CachedUrl {
            environment: environment.to_string(),
            version,
            window,
            origin: origin.to_string(),
            url: url.clone(),
        };
        urls.insert(key_hash.to_string(), cached);
        url
    }
}

/// The `eventStreams` member of an OFREP response.
pub fn event_streams(url: String) -> Value {
    json!([{"type": "sse", "url": url, "inactivityDelaySec": INACTIVITY_DELAY_SEC}])
}

/// `GET /v1/events?token=…`: checks the token and what the client has seen, and
/// answers with the stream's headers and a [`Handoff::Stream`]; the adapter opens it.
pub fn open(live: Option<&LiveConfig>, req: &Request, now_ms: i64) -> Result<Response, ApiError> {
    let live = live.ok_or_else(|| {
        ApiError::not_found(
            "this edge offers no event streams (live updates need EDGEFLAG_STREAM_SECRET, on the Worker); poll instead",
        )
    })?;
    let pairs = req.query_pairs();
    let param = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let token = param("token")
        .ok_or_else(|| ApiError::unauthorized("the event stream URL carries no token"))?;
    let claims = live.secret.verify(token, now_ms)?;
    // `Last-Event-ID` is what the client last received on this stream; `v` is the
    // version of the answer that gave it the URL. A newer version sends an event at once.
    let since = req
        .get_header("last-event-id")
        .and_then(|id| id.trim().parse().ok())
        .or_else(|| param("v").and_then(|v| v.parse().ok()));
    let grant = StreamGrant {
        environment: claims.environment,
        subject: claims.subject,
        since,
    };
    Ok(Response::new(200)
        .with_header("content-type", "text/event-stream")
        .with_header("cache-control", "no-store")
        .with_header("x-accel-buffering", "no")
        .handoff(Handoff::Stream(grant)))
}

/// The version a refetch asks for at least, from the metadata of the event that
/// triggered it (`flagConfigEtag`, as `@openfeature/ofrep-web-provider` sends it, or
/// ADR-0008's earlier `sseEtag`). The edge then reads the version pointer at once
/// instead of serving its cached snapshot until the refresh interval ends.
pub fn version_hint(req: &Request) -> Option<u64> {
    if req.query.is_empty() {
        return None;
    }
    req.query_pairs()
        .into_iter()
        .filter(|(k, _)| k == "flagConfigEtag" || k == "sseEtag")
        .find_map(|(_, v)| {
            v.trim()
                .trim_start_matches("W/")
                .trim_matches('"')
                .parse()
                .ok()
        })
}

/// The hub settings a runtime's fan-out uses, from the configuration.
pub fn hub_config(live: &LiveConfig) -> HubConfig {
    HubConfig {
        limit_per_subject: live.limit_per_key,
        retry_base_ms: 1000,
        retry_spread_ms: 2000,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live() -> LiveConfig {
        LiveConfig {
            secret: Secret::new(*b"0123456789abcdef0123456789abcdef").unwrap(),
            heartbeat_ms: 25_000,
            limit_per_key: 10,
        }
    }

    #[test]
    fn cached_urls_change_with_the_version_the_window_and_the_key() {
        let (cache, live, now) = (UrlCache::default(), live(), 1_795_608_000_000);
        let first = cache.get_or_mint(&live, "", "production", "h1", 1, now);
        assert_eq!(first, stream_url(&live, "", "production", "h1", 1, now));
        assert_eq!(
            cache.get_or_mint(&live, "", "production", "h1", 1, now + 60_000),
            first
        );
        let newer = cache.get_or_mint(&live, "", "production", "h1", 2, now);
        assert!(newer.ends_with("&v=2"), "{newer}");
        let later = cache.get_or_mint(&live, "", "production", "h1", 2, now + 900_000);
        assert_ne!(later, newer, "a new window mints a new token");
        assert_ne!(
            cache.get_or_mint(&live, "", "production", "h2", 2, now + 900_000),
            later
        );
        let absolute = cache.get_or_mint(
            &live,
            "https://e.example",
            "production",
            "h2",
            2,
            now + 900_000,
        );
        assert!(
            absolute.starts_with("https://e.example/v1/events?"),
            "{absolute}"
        );
    }

    #[test]
    fn version_hints_come_from_the_refetch_metadata() {
        let hint = |q: &str| version_hint(&Request::new("POST", &format!("/x?{q}")));
        assert_eq!(hint("flagConfigEtag=%2212%22"), Some(12));
        assert_eq!(hint("sseEtag=W/%227%22"), Some(7));
        assert_eq!(hint("flagConfigEtag=abc"), None);
        assert_eq!(hint("other=1"), None);
        assert_eq!(version_hint(&Request::new("POST", "/x")), None);
    }
}
