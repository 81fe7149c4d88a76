//! `GET /v1/feed`: the caller's organization's changes as Server-Sent Events.
//!
//! ```text
//! retry: 3000
//! id: 41
//! event: ready
//! data: {"id":41}
//!
//! id: 42
//! event: change
//! data: {"id":42,"type":"flag.on","resource":"project/web/flag/new-checkout","actor":"usr_… (Ada <ada@example.com>)","at":"…","auditId":17,"data":{"project":"web","version":3}}
//!
//! : heartbeat
//! ```
//!
//! The event id is the organization's feed number (`feed_events.seq`). A client that
//! reconnects with `Last-Event-ID: 42` (or `?lastEventId=42`) gets every event after 42
//! from the database first, then live ones; if 43 is no longer kept (retention) or the
//! id is unknown, it gets a `reset` event instead: reload everything, then follow. A
//! stream ends with an `end` event when its credential stops being good (signed out,
//! session expired, key revoked, member removed), checked at every heartbeat.

use std::{collections::VecDeque, convert::Infallible, sync::Arc, time::Duration};

use axum::{
    Router,
    extract::State,
    http::{HeaderMap, HeaderValue},
    response::{
        IntoResponse, Response,
        sse::{Event, Sse},
    },
    routing::get,
};
use edgeflag_admin_core::{Actor, Role, api_keys, feed, feed::FeedEvent, sessions, users};
use futures_util::Stream;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::{broadcast, watch};

use crate::{
    auth::{Caller, Via},
    error::{ApiError, ApiResult},
    extract::QueryParams,
    feed::{FeedHub, StreamSlot},
    state::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new().route("/v1/feed", get(open))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct FeedQuery {
    /// Resume after this event id (for clients that cannot send `Last-Event-ID`).
    pub last_event_id: Option<String>,
}

/// Opens the organization's change feed (`text/event-stream`). Any role; events about
/// API keys and invitations reach admins only. 429 over the per-caller stream limit.
#[utoipa::path(get, path = "/v1/feed", params(FeedQuery), responses((status = 200, description = "text/event-stream"), (status = 429)))]
pub async fn open(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    QueryParams(q): QueryParams<FeedQuery>,
) -> ApiResult<Response> {
    let resume = resume_point(&headers, q.last_event_id.as_deref())?;
    let hub = state.feed.clone();
    let slot = hub.admit(&caller.actor.id)?;
    let rx = hub.subscribe(&caller.actor.org_id);
    let position = feed::position(&state.pool, &caller.actor.org_id).await?;
    hub.seen(&caller.actor.org_id, position.latest);
    let mut live = Live::new(&state, hub, caller, rx, slot);
    match resume {
        Some(after) if position.can_resume_from(after) => {
            live.last_sent = after;
            live.catch_up_to = position.latest;
        }
        Some(_) => live.announce("reset", position.latest),
        None => live.announce("ready", position.latest),
    }
    let mut response = Sse::new(live.into_stream()).into_response();
    // Proxies such as nginx would otherwise buffer the stream.
    response
        .headers_mut()
        .insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(response)
}

fn resume_point(headers: &HeaderMap, query: Option<&str>) -> Result<Option<i64>, ApiError> {
    let header = headers.get("last-event-id").and_then(|v| v.to_str().ok());
    let (text, path) = match (header, query) {
        (Some(h), _) => (h, "Last-Event-ID"),
        (None, Some(q)) => (q, "?lastEventId"),
        (None, None) => return Ok(None),
    };
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    text.parse::<i64>()
        .map(Some)
        .map_err(|_| ApiError::invalid(path, format!("`{text}` is not an event id of this feed")))
}

/// One open stream.
struct Live {
    pool: sqlx::AnyPool,
    accounts: edgeflag_admin_core::config::AccountsConfig,
    actor: Actor,
    via: Via,
    rx: broadcast::Receiver<Arc<FeedEvent>>,
    closing: watch::Receiver<bool>,
    heartbeat: tokio::time::Interval,
    /// The newest event this stream has passed (sent, or skipped as not visible).
    last_sent: i64,
    /// Events up to here are read from the database before live ones.
    catch_up_to: i64,
    pending: VecDeque<Event>,
    done: bool,
    _slot: StreamSlot,
}

/// Events read from the database at once while catching up.
const CATCH_UP_PAGE: i64 = 200;

impl Live {
    fn new(
        state: &AppState,
        hub: Arc<FeedHub>,
        caller: Caller,
        rx: broadcast::Receiver<Arc<FeedEvent>>,
        slot: StreamSlot,
    ) -> Self {
        let every = Duration::from_secs(hub.config().heartbeat_secs.max(1));
        let heartbeat = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        let mut pending = VecDeque::new();
        pending.push_back(Event::default().retry(Duration::from_secs(3)));
        Self {
            pool: state.pool.clone(),
            accounts: state.config.accounts.clone(),
            actor: caller.actor,
            via: caller.via,
            rx,
            closing: hub.closing(),
            heartbeat,
            last_sent: 0,
            catch_up_to: 0,
            pending,
            done: false,
            _slot: slot,
        }
    }

    /// Queues a `ready` or `reset` event at `latest`, from which the stream continues.
    fn announce(&mut self, kind: &str, latest: i64) {
        self.last_sent = latest;
        self.catch_up_to = latest;
        let data = json!({"id": latest});
        self.pending.push_back(
            Event::default()
                .id(latest.to_string())
                .event(kind)
                .data(data.to_string()),
        );
    }

    fn into_stream(self) -> impl Stream<Item = Result<Event, Infallible>> {
        futures_util::stream::unfold(self, |mut live| async move {
            live.next().await.map(|event| (Ok(event), live))
        })
    }

    /// Passes event `e` if it is the next one, queueing it when the caller may see it.
    fn pass(&mut self, e: &FeedEvent) {
        self.last_sent = e.seq;
        if e.visible_to(self.actor.role) {
            self.pending.push_back(
                Event::default()
                    .id(e.seq.to_string())
                    .event("change")
                    .data(e.to_json().to_string()),
            );
        }
    }

    async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some(event);
            }
            if self.done || *self.closing.borrow() {
                return None;
            }
            if self.last_sent < self.catch_up_to {
                if let Err(e) = self.catch_up().await {
                    tracing::warn!(error = %e, "change feed catch-up failed; ending the stream");
                    return None;
                }
                continue;
            }
            tokio::select! {
                _ = self.closing.changed() => return None,
                received = self.rx.recv() => self.receive(received)?,
                _ = self.heartbeat.tick() => return Some(self.beat().await),
            }
        }
    }

    /// Reads the next page of missed events from the database.
    async fn catch_up(&mut self) -> Result<(), edgeflag_admin_core::Error> {
        let org = self.actor.org_id.clone();
        let page = feed::between(
            &self.pool,
            &org,
            self.last_sent,
            self.catch_up_to,
            CATCH_UP_PAGE,
        )
        .await?;
        if page.is_empty() {
            // Nothing kept in between (pruned meanwhile): carry on from the target.
            self.last_sent = self.catch_up_to;
        }
        for e in &page {
            self.pass(e);
        }
        Ok(())
    }

    /// Handles what the channel gave; `None` ends the stream.
    fn receive(
        &mut self,
        received: Result<Arc<FeedEvent>, broadcast::error::RecvError>,
    ) -> Option<()> {
        match received {
            Ok(e) if e.seq <= self.last_sent => {}
            Ok(e) if e.seq == self.last_sent + 1 => self.pass(&e),
            // A gap (this stream started between two polls): read it from the database.
            Ok(e) => self.catch_up_to = e.seq,
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                tracing::info!(actor = %self.actor.id, missed, "change feed client too slow; ending its stream");
                return None;
            }
            Err(broadcast::error::RecvError::Closed) => return None,
        }
        Some(())
    }

    /// A heartbeat, or the `end` event when the credential is no longer good.
    async fn beat(&mut self) -> Event {
        match self.still_allowed().await {
            Ok(Some(role)) => {
                self.actor.role = role;
                Event::default().comment("heartbeat")
            }
            Ok(None) => {
                self.done = true;
                Event::default()
                    .event("end")
                    .data(json!({"reason": "signed-out"}).to_string())
            }
            // A database hiccup is no reason to drop the stream; check at the next beat.
            Err(e) => {
                tracing::warn!(error = %e, "change feed credential check failed");
                Event::default().comment("heartbeat")
            }
        }
    }

    /// The caller's role now, or `None` when its credential no longer works.
    async fn still_allowed(&self) -> Result<Option<Role>, edgeflag_admin_core::Error> {
        let actor = match &self.via {
            Via::ApiKey { key_id } => api_keys::actor(&self.pool, key_id).await?,
            Via::Session { id, .. } => {
                if !sessions::is_live(&self.pool, id, &self.accounts).await? {
                    return Ok(None);
                }
                users::actor(&self.pool, &self.actor.id, &self.actor.org_id).await?
            }
        };
        Ok(actor.map(|a| a.role))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_resume_point_comes_from_the_header_or_the_query() {
        let mut h = HeaderMap::new();
        assert_eq!(resume_point(&h, None).unwrap(), None);
        assert_eq!(resume_point(&h, Some("7")).unwrap(), Some(7));
        h.insert("last-event-id", HeaderValue::from_static("9"));
        assert_eq!(
            resume_point(&h, Some("7")).unwrap(),
            Some(9),
            "the header wins"
        );
        h.insert("last-event-id", HeaderValue::from_static("nine"));
        match resume_point(&h, None) {
            Err(ApiError::Unprocessable { path, .. }) => assert_eq!(path, "Last-Event-ID"),
            other => panic!("{other:?}"),
        }
    }
}
