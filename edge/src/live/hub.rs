//! The fan-out of one environment's event streams, runtime-neutral: the Worker's
//! Durable Object holds one [`Hub`] per environment and gives each open stream's
//! [`Subscription`] to workerd as the response body.
//!
//! Each stream has a mailbox of at most one notification and one heartbeat. A newer
//! version replaces an unsent older one, since a `refetchEvaluation` event only says
//! "fetch again", so a client that reads slowly, or not at all, holds a constant
//! amount of memory however many versions are published. A stream whose mailbox is
//! still full two heartbeats later is closed (its client reconnects and resumes with
//! `Last-Event-ID`), and a stream whose client went away is forgotten at the next
//! heartbeat or publish.

use std::{
    cell::RefCell,
    collections::HashMap,
    pin::Pin,
    rc::Rc,
    task::{Context, Poll, Waker},
};

use futures_core::Stream;
use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::xxh3_64;

use crate::error::ApiError;

/// What a stream is opened with, once its token has been verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamGrant {
    pub environment: String,
    /// Who the token was minted for (`token::Claims::subject`): the unit of the connection limit.
    pub subject: String,
    /// The newest version the client has seen: its `Last-Event-ID`, or the version of the
    /// evaluation that gave it the URL.
    pub since: Option<u64>,
}

/// Limits and timing of a hub.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HubConfig {
    /// Open streams per subject (SDK key) and environment; one more is `429`.
    pub limit_per_subject: usize,
    /// The shortest reconnection delay a stream asks of its client (SSE `retry:`).
    pub retry_base_ms: u64,
    /// Reconnection delays are spread over this much more, per stream, so that clients
    /// cut off together (an eviction, a restart) do not return together.
    pub retry_spread_ms: u64,
}

/// The SSE comment a heartbeat sends: idle proxies see traffic, clients see nothing.
pub const HEARTBEAT: &[u8] = b":\n\n";

/// The largest client snapshot an event carries (see [`event`]); a larger one is left
/// out and clients fetch it as OFREP clients do.
pub const MAX_PUSHED_SNAPSHOT: usize = 64 * 1024;

/// The event that tells clients to fetch `version` (OFREP ADR-0008 `refetchEvaluation`).
/// It has an `id`, so a reconnecting client resumes with `Last-Event-ID`, and the
/// default event type (`message`), which is what `EventSource` listeners receive.
///
/// When the edge has it, the event also carries the signed client snapshot of that
/// version (`clientSnapshot`, the compact JWS the snapshot endpoint serves), so that
/// Edgeflag's own SDKs verify it and need no refetch: a publish then costs one write per
/// stream rather than one request per client. Other clients ignore the extra member.
pub fn event(version: u64, client_snapshot: Option<&str>) -> Vec<u8> {
    let mut out = format!(
        "id: {version}\ndata: {{\"type\":\"refetchEvaluation\",\"etag\":\"\\\"{version}\\\"\""
    );
    if let Some(jws) = client_snapshot {
        out.push_str(",\"clientSnapshot\":\"");
        out.push_str(jws);
        out.push('"');
    }
    out.push_str("}\n\n");
    out.into_bytes()
}

/// `jws` when an event may carry it: a compact JWS (base64url parts and dots, which need
/// no JSON escape and cannot break the event's line) of at most [`MAX_PUSHED_SNAPSHOT`].
fn pushable(jws: &str) -> Option<Rc<str>> {
    let shape = jws
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    (shape && !jws.is_empty() && jws.len() <= MAX_PUSHED_SNAPSHOT).then(|| Rc::from(jws))
}

#[derive(Debug, Default)]
struct Mailbox {
    /// Sent first: the reconnection delay and a comment, so headers and bytes flow at once.
    preamble: Option<Vec<u8>>,
    /// The newest version not yet read by the client.
    event: Option<u64>,
    /// That version's client snapshot, shared by every mailbox (see [`event`]).
    snapshot: Option<Rc<str>>,
    heartbeat: bool,
    /// Heartbeats that found the mailbox still holding an unread notification.
    stalled_ticks: u8,
    /// Set by the hub to end the stream.
    closed: bool,
    /// Set when workerd drops the body (the client went away).
    gone: bool,
    waker: Option<Waker>,
}

impl Mailbox {
    fn wake(&mut self) {
        if let Some(waker) = self.waker.take() {
            waker.wake();
        }
    }

    fn is_holding(&self) -> bool {
        self.preamble.is_some() || self.event.is_some() || self.heartbeat
    }
}

/// One stream's body: the bytes its mailbox releases, in order, until the hub closes it.
#[derive(Debug)]
pub struct Subscription {
    mailbox: Rc<RefCell<Mailbox>>,
}

impl Stream for Subscription {
    type Item = Vec<u8>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Vec<u8>>> {
        let mut mailbox = self.mailbox.borrow_mut();
        let next = if let Some(preamble) = mailbox.preamble.take() {
            Some(preamble)
        } else if let Some(version) = mailbox.event.take() {
            mailbox.heartbeat = false;
            let snapshot = mailbox.snapshot.take();
            Some(event(version, snapshot.as_deref()))
        } else if std::mem::take(&mut mailbox.heartbeat) {
            Some(HEARTBEAT.to_vec())
        } else {
            None
        };
        match next {
            Some(bytes) => {
                mailbox.stalled_ticks = 0;
                Poll::Ready(Some(bytes))
            }
            None if mailbox.closed => Poll::Ready(None),
            None => {
                mailbox.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.mailbox.borrow_mut().gone = true;
    }
}

#[derive(Debug)]
struct Connection {
    subject: String,
    mailbox: Rc<RefCell<Mailbox>>,
}

/// The open streams of one environment and the newest version it knows.
#[derive(Debug)]
pub struct Hub {
    config: HubConfig,
    version: Option<u64>,
    /// The client snapshot of `version`, when the publish passed it on.
    snapshot: Option<Rc<str>>,
    connections: Vec<Connection>,
    per_subject: HashMap<String, usize>,
    opened: u64,
}

/// How many heartbeats a full mailbox may wait before its stream is closed.
const STALL_TICKS: u8 = 2;

impl Hub {
    pub fn new(config: HubConfig) -> Self {
        Self {
            config,
            version: None,
            snapshot: None,
            connections: Vec::new(),
            per_subject: HashMap::new(),
            opened: 0,
        }
    }

    /// The newest version this hub knows of, if any.
    pub fn version(&self) -> Option<u64> {
        self.version
    }

    /// Open streams.
    pub fn len(&self) -> usize {
        self.connections.len()
    }

    pub fn is_empty(&self) -> bool {
        self.connections.is_empty()
    }

    /// Learns that `version` is stored; when it is newer than what the hub knew, every
    /// stream is told. Returns how many streams were told.
    pub fn advance(&mut self, version: u64) -> usize {
        self.publish(version, None)
    }

    /// [`Self::advance`], with the version's signed client snapshot for the events to
    /// carry (one copy, shared by every stream; left out unless [`pushable`]).
    pub fn publish(&mut self, version: u64, client_snapshot: Option<&str>) -> usize {
        if self.version.is_some_and(|known| known >= version) {
            return 0;
        }
        self.version = Some(version);
        self.snapshot = client_snapshot.and_then(pushable);
        self.forget_gone();
        for connection in &self.connections {
            let mut mailbox = connection.mailbox.borrow_mut();
            mailbox.event = Some(version);
            mailbox.snapshot.clone_from(&self.snapshot);
            mailbox.wake();
        }
        self.connections.len()
    }

    /// Opens a stream, or refuses with `429` when its subject has reached the limit.
    /// A client behind the current version gets the event at once.
    pub fn open(&mut self, grant: &StreamGrant) -> Result<Subscription, ApiError> {
        self.forget_gone();
        let open = self.per_subject.get(&grant.subject).copied().unwrap_or(0);
        if open >= self.config.limit_per_subject {
            return Err(ApiError::new(
                429,
                "TOO_MANY_STREAMS",
                format!(
                    "this credential already holds {open} event streams for `{}`, the limit",
                    grant.environment
                ),
            ));
        }
        self.opened += 1;
        let retry = self.retry_ms(&grant.subject);
        let behind = match (grant.since, self.version) {
            (Some(since), Some(current)) => (since < current).then_some(current),
            _ => None,
        };
        let mailbox = Rc::new(RefCell::new(Mailbox {
            preamble: Some(format!("retry: {retry}\n:ok\n\n").into_bytes()),
            event: behind,
            snapshot: behind.and(self.snapshot.clone()),
            ..Mailbox::default()
        }));
        self.connections.push(Connection {
            subject: grant.subject.clone(),
            mailbox: mailbox.clone(),
        });
        *self.per_subject.entry(grant.subject.clone()).or_default() += 1;
        Ok(Subscription { mailbox })
    }

    /// A heartbeat: every stream gets a comment; a stream that has not read its mailbox
    /// for [`STALL_TICKS`] heartbeats is closed; streams whose client left are forgotten.
    /// Returns the streams still open.
    pub fn tick(&mut self) -> usize {
        for connection in &self.connections {
            let mut mailbox = connection.mailbox.borrow_mut();
            if mailbox.is_holding() {
                mailbox.stalled_ticks = mailbox.stalled_ticks.saturating_add(1);
                if mailbox.stalled_ticks >= STALL_TICKS {
                    mailbox.closed = true;
                    mailbox.preamble = None;
                    mailbox.event = None;
                    mailbox.snapshot = None;
                    mailbox.heartbeat = false;
                }
            } else {
                mailbox.heartbeat = true;
            }
            mailbox.wake();
        }
        self.connections.retain(|c| !c.mailbox.borrow().closed);
        self.forget_gone();
        self.recount();
        self.connections.len()
    }

    /// Ends every stream (the hub is going away); clients reconnect and resume.
    pub fn close_all(&mut self) {
        for connection in self.connections.drain(..) {
            let mut mailbox = connection.mailbox.borrow_mut();
            mailbox.closed = true;
            mailbox.wake();
        }
        self.per_subject.clear();
    }

    fn forget_gone(&mut self) {
        let before = self.connections.len();
        self.connections.retain(|c| !c.mailbox.borrow().gone);
        if self.connections.len() != before {
            self.recount();
        }
    }

    fn recount(&mut self) {
        self.per_subject.clear();
        for connection in &self.connections {
            *self
                .per_subject
                .entry(connection.subject.clone())
                .or_default() += 1;
        }
    }

    /// A reconnection delay between base and base + spread, different per stream and
    /// the same on every run (the edge has no randomness of its own).
    fn retry_ms(&self, subject: &str) -> u64 {
        let seed = format!("{subject}/{}", self.opened);
        let spread = self.config.retry_spread_ms.max(1);
        self.config.retry_base_ms + xxh3_64(seed.as_bytes()) % spread
    }
}

#[cfg(test)]
mod tests {
    use std::task::Waker;

    use super::*;

    fn hub(limit: usize) -> Hub {
        Hub::new(HubConfig {
            limit_per_subject: limit,
            retry_base_ms: 1000,
            retry_spread_ms: 2000,
        })
    }

    fn grant(subject: &str, since: Option<u64>) -> StreamGrant {
        StreamGrant {
            environment: "production".into(),
            subject: subject.into(),
            since,
        }
    }

    /// Everything a stream would send now, as text, and whether it has ended.
    fn drain(sub: &mut Subscription) -> (String, bool) {
        let mut cx = Context::from_waker(Waker::noop());
        let mut out = Vec::new();
        loop {
            match Pin::new(&mut *sub).poll_next(&mut cx) {
                Poll::Ready(Some(bytes)) => out.extend(bytes),
                Poll::Ready(None) => return (String::from_utf8(out).unwrap(), true),
                Poll::Pending => return (String::from_utf8(out).unwrap(), false),
            }
        }
    }

    #[test]
    fn a_stream_opens_with_a_retry_delay_then_hears_each_new_version_once() {
        let mut hub = hub(10);
        hub.advance(3);
        let mut sub = hub.open(&grant("a", Some(3))).unwrap();
        let (first, ended) = drain(&mut sub);
        assert!(!ended);
        let retry: u64 = first
            .strip_prefix("retry: ")
            .and_then(|rest| rest.split('\n').next())
            .and_then(|n| n.parse().ok())
            .unwrap();
        assert!((1000..3000).contains(&retry), "{first}");
        assert!(
            !first.contains("data:"),
            "an up-to-date client gets no event: {first}"
        );
        assert_eq!(hub.advance(4), 1);
        assert_eq!(hub.advance(4), 0, "a version already known is not news");
        assert_eq!(hub.advance(2), 0, "nor is an older one");
        assert_eq!(
            drain(&mut sub).0,
            "id: 4\ndata: {\"type\":\"refetchEvaluation\",\"etag\":\"\\\"4\\\"\"}\n\n"
        );
        assert_eq!(drain(&mut sub).0, "");
    }

    #[test]
    fn events_carry_the_published_client_snapshot_when_it_is_a_small_jws() {
        let mut hub = hub(10);
        let mut live = hub.open(&grant("a", None)).unwrap();
        drain(&mut live);
        hub.publish(5, Some("aGVhZA.cGF5bG9hZA.c2ln"));
        let event = drain(&mut live).0;
        assert_eq!(
            event,
            "id: 5\ndata: {\"type\":\"refetchEvaluation\",\"etag\":\"\\\"5\\\"\",\"clientSnapshot\":\"aGVhZA.cGF5bG9hZA.c2ln\"}\n\n"
        );
        let data: serde_json::Value = serde_json::from_str(
            event
                .lines()
                .nth(1)
                .unwrap()
                .strip_prefix("data: ")
                .unwrap(),
        )
        .unwrap();
        assert_eq!(data["clientSnapshot"], "aGVhZA.cGF5bG9hZA.c2ln");
        // A client that connects behind gets the same snapshot with its catch-up event.
        let mut behind = hub.open(&grant("b", Some(4))).unwrap();
        assert!(
            drain(&mut behind)
                .0
                .contains("\"clientSnapshot\":\"aGVhZA.cGF5bG9hZA.c2ln\"")
        );
        // Anything that is not a compact JWS, or is too large, is left out: clients refetch.
        for refused in [
            "with \"quotes\"\ndata: injected".to_string(),
            "a".repeat(MAX_PUSHED_SNAPSHOT + 1),
            String::new(),
        ] {
            let version = hub.version().unwrap() + 1;
            hub.publish(version, Some(&refused));
            let event = drain(&mut live).0;
            assert!(event.starts_with(&format!("id: {version}\n")), "{event}");
            assert!(!event.contains("clientSnapshot"), "{event}");
        }
        // A newer version without a snapshot replaces an unread one with it.
        hub.publish(20, Some("x.y.z"));
        hub.advance(21);
        assert!(!drain(&mut live).0.contains("clientSnapshot"));
    }

    #[test]
    fn a_client_behind_resumes_with_one_event_for_the_newest_version() {
        let mut hub = hub(10);
        hub.advance(7);
        let mut behind = hub.open(&grant("a", Some(5))).unwrap();
        assert!(
            drain(&mut behind).0.ends_with(
                "id: 7\ndata: {\"type\":\"refetchEvaluation\",\"etag\":\"\\\"7\\\"\"}\n\n"
            )
        );
        let mut unknown = hub.open(&grant("a", None)).unwrap();
        assert!(
            !drain(&mut unknown).0.contains("id:"),
            "no Last-Event-ID, no guess"
        );
        let mut ahead = hub.open(&grant("a", Some(9))).unwrap();
        assert!(!drain(&mut ahead).0.contains("id:"));
    }

    #[test]
    fn a_slow_consumer_holds_one_notification_however_many_versions_pass() {
        let mut hub = hub(10);
        let mut slow = hub.open(&grant("a", None)).unwrap();
        let mut reader = hub.open(&grant("b", None)).unwrap();
        drain(&mut slow);
        for version in 1..=10_000 {
            hub.advance(version);
            if version % 1000 == 0 {
                assert!(drain(&mut reader).0.contains(&format!("id: {version}\n")));
            }
        }
        let held = slow.mailbox.borrow();
        assert_eq!(
            (held.event, held.heartbeat, held.preamble.is_none()),
            (Some(10_000), false, true)
        );
        drop(held);
        assert_eq!(
            drain(&mut slow).0.matches("id:").count(),
            1,
            "only the newest survives"
        );
    }

    #[test]
    fn a_stream_that_does_not_read_for_two_heartbeats_is_closed() {
        let mut hub = hub(10);
        let mut stuck = hub.open(&grant("a", None)).unwrap();
        let mut live = hub.open(&grant("a", None)).unwrap();
        drain(&mut live);
        assert_eq!(hub.tick(), 2);
        assert_eq!(drain(&mut live).0, ":\n\n");
        assert_eq!(
            hub.tick(),
            1,
            "the stream that never read its preamble is closed"
        );
        drain(&mut live);
        let (rest, ended) = drain(&mut stuck);
        assert_eq!((rest.as_str(), ended), ("", true));
        assert_eq!(hub.tick(), 1);
    }

    #[test]
    fn each_subject_may_hold_only_so_many_streams_and_departed_ones_free_their_place() {
        let mut hub = hub(2);
        let first = hub.open(&grant("a", None)).unwrap();
        let _second = hub.open(&grant("a", None)).unwrap();
        let refused = hub.open(&grant("a", None)).unwrap_err();
        assert_eq!((refused.status, refused.code), (429, "TOO_MANY_STREAMS"));
        let other = hub.open(&grant("b", None));
        assert!(other.is_ok(), "another credential has its own limit");
        drop(first);
        let again = hub.open(&grant("a", None));
        assert!(again.is_ok(), "a client that left frees its place");
        assert_eq!(hub.len(), 3);
    }

    #[test]
    fn closing_the_hub_ends_every_stream() {
        let mut hub = hub(10);
        let mut sub = hub.open(&grant("a", None)).unwrap();
        hub.close_all();
        assert!(hub.is_empty());
        assert!(drain(&mut sub).1);
    }

    #[test]
    fn retry_delays_are_spread_between_streams() {
        let mut hub = hub(100);
        let mut delays = std::collections::BTreeSet::new();
        for _ in 0..50 {
            let mut sub = hub.open(&grant("a", None)).unwrap();
            delays.insert(drain(&mut sub).0.split('\n').next().unwrap().to_string());
        }
        assert!(delays.len() > 40, "{delays:?}");
    }
}
