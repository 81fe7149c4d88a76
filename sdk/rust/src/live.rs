//! Live updates: the client follows the event stream the edge names (Server-Sent
//! Events, as OFREP's ADR-0008 describes them) and refreshes as soon as an event says a
//! newer version exists, instead of waiting for its next poll.
//!
//! - The stream URL comes from the `edgeflag-event-stream` header of the snapshot
//!   answers; it carries a short-lived credential of its own (never the server key).
//!   An edge that names none (the Spin app) leaves the client polling.
//! - An event (`data: {"type":"refetchEvaluation",…}`, its `id` the version) wakes the
//!   refresh task; bursts coalesce into one refresh, and the store announces a change
//!   only when a newer snapshot verifies.
//! - A reconnect sends `Last-Event-ID` (the newest version seen), so a version
//!   published while the stream was down arrives as soon as it is back.
//! - A refused URL (`401`: its credential expired) is dropped and the client refreshes
//!   to learn a fresh one; other failures reconnect after a backoff that doubles up to
//!   a minute, with jitter, starting from the edge's `retry:` advice. Polling goes on
//!   meanwhile, at the configured interval.

use std::{
    hash::{BuildHasher, RandomState},
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::Duration,
};

use eventsource_stream::Eventsource;
use futures_util::StreamExt;
use reqwest::{StatusCode, header};
use tokio::time::{Instant, sleep, timeout};

use crate::client::Inner;

/// The backoff before the first reconnect when the edge gave no `retry:` advice.
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// The longest wait between reconnects.
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// Silence (no event, no heartbeat) after which a stream counts as dead: the edge sends
/// a heartbeat every 25 s by default.
const SILENCE: Duration = Duration::from_secs(75);
/// How long one connection may stay open before the client reconnects with the
/// newest URL (the credential in a URL lives 15 to 30 minutes).
const CONNECTION_LIFETIME: Duration = Duration::from_secs(20 * 60);

/// Whether the stream is open now, for [`Client::is_streaming`](crate::Client::is_streaming).
#[derive(Debug, Default)]
pub(crate) struct LiveState {
    pub connected: AtomicBool,
}

/// How one connection ended.
enum Ended {
    /// The edge refused the URL's credential: learn a fresh URL.
    Refused,
    /// Closed, failed or fell silent: reconnect after the backoff.
    Lost,
    /// The client closed.
    Closed,
}

/// Follows the edge's event stream until the client closes.
pub(crate) async fn follow(inner: Arc<Inner>) {
    let Some(source) = inner.source.as_ref() else {
        return;
    };
    let mut urls = source.stream();
    let mut closed = inner.closed.subscribe();
    let mut backoff = FIRST_BACKOFF;
    let mut advice: Option<Duration> = None;
    let mut last_id = 0_u64;
    loop {
        let url = tokio::select! {
            found = urls.wait_for(Option::is_some) => match found {
                Ok(url) => url.clone().unwrap_or_default(),
                Err(_) => return,
            },
            _ = closed.wait_for(|c| *c) => return,
        };
        let started = Instant::now();
        let ended = tokio::select! {
            ended = connect(&inner, &url, &mut last_id, &mut advice) => ended,
            _ = closed.wait_for(|c| *c) => Ended::Closed,
        };
        inner.live.connected.store(false, Ordering::Relaxed);
        match ended {
            Ended::Closed => return,
            Ended::Refused => {
                source.forget_stream(&url);
                inner.wake.notify_one();
            }
            Ended::Lost => {}
        }
        // A connection that lasted resets the backoff; one that failed at once doubles it.
        if started.elapsed() > MAX_BACKOFF {
            backoff = advice.unwrap_or(FIRST_BACKOFF);
        }
        tokio::select! {
            () = sleep(jitter(backoff)) => {}
            _ = closed.wait_for(|c| *c) => return,
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// One connection: reads events until it ends.
async fn connect(
    inner: &Inner,
    url: &str,
    last_id: &mut u64,
    advice: &mut Option<Duration>,
) -> Ended {
    let Some(source) = inner.source.as_ref() else {
        return Ended::Closed;
    };
    let seen = (*last_id).max(inner.store.load().snapshot.version());
    let request = source
        .http()
        .get(url)
        .header(header::ACCEPT, "text/event-stream")
        .header(header::CACHE_CONTROL, "no-cache")
        .header("last-event-id", seen.to_string())
        .timeout(CONNECTION_LIFETIME);
    let Ok(response) = request.send().await else {
        return Ended::Lost;
    };
    match response.status() {
        StatusCode::OK => {}
        StatusCode::UNAUTHORIZED => return Ended::Refused,
        _ => return Ended::Lost,
    }
    inner.live.connected.store(true, Ordering::Relaxed);
    // Heartbeats are comments, which the parser swallows: the bytes themselves say the
    // stream is alive, so their arrival is noted before parsing.
    let opened = Instant::now();
    let heard = AtomicU64::new(0);
    let mut events = response
        .bytes_stream()
        .inspect(|_| heard.store(millis_since(opened), Ordering::Relaxed))
        .eventsource();
    loop {
        let next = match timeout(SILENCE / 3, events.next()).await {
            Ok(Some(Ok(event))) => event,
            Ok(Some(Err(_)) | None) => return Ended::Lost,
            Err(_) => {
                let quiet = millis_since(opened).saturating_sub(heard.load(Ordering::Relaxed));
                if Duration::from_millis(quiet) > SILENCE {
                    return Ended::Lost;
                }
                continue;
            }
        };
        if let Some(retry) = next.retry {
            *advice = Some(retry.clamp(Duration::from_millis(100), MAX_BACKOFF));
        }
        if !is_refetch(&next.data) {
            continue;
        }
        let version = next.id.trim().parse::<u64>().unwrap_or(0);
        if version > *last_id {
            *last_id = version;
        }
        if version == 0 || version > inner.store.load().snapshot.version() {
            source.hint(version);
            inner.wake.notify_one();
        }
    }
}

fn millis_since(start: Instant) -> u64 {
    u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// `{"type":"refetchEvaluation",…}`: the one event type the edge sends.
fn is_refetch(data: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(data)
        .ok()
        .and_then(|v| {
            v.get("type")
                .and_then(|t| t.as_str())
                .map(|t| t == "refetchEvaluation")
        })
        .unwrap_or(false)
}

/// `base` spread over ±50 %, so that clients cut off together do not return together.
fn jitter(base: Duration) -> Duration {
    let random = RandomState::new().hash_one(Instant::now());
    let millis = u64::try_from(base.as_millis()).unwrap_or(u64::MAX);
    let spread = millis / 2;
    let offset = if spread == 0 {
        0
    } else {
        random % (2 * spread + 1)
    };
    Duration::from_millis(millis - spread + offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_refetch_events_count() {
        assert!(is_refetch(
            r#"{"type":"refetchEvaluation","etag":"\"43\""}"#
        ));
        assert!(!is_refetch(r#"{"type":"somethingElse"}"#));
        assert!(!is_refetch("not json"));
        assert!(!is_refetch(""));
    }

    #[test]
    fn jitter_stays_within_half_the_base_either_way() {
        for _ in 0..1000 {
            let d = jitter(Duration::from_secs(2));
            assert!(
                d >= Duration::from_secs(1) && d <= Duration::from_secs(3),
                "{d:?}"
            );
        }
        assert_eq!(jitter(Duration::ZERO), Duration::ZERO);
    }
}
