//! The change feed's fan-out: one broadcast channel per organization with open streams,
//! fed by one poller that reads new rows of `feed_events` (the domain's `feed`).
//!
//! Reading the table, rather than being told by the code that writes it, is what lets
//! the feed hear of changes made by the CLI, by the publisher and by a second admin on
//! the same database, and resume after a restart: the database is the source, the
//! channel only carries what was read. This process's own API writes wake the poller
//! at once ([`wake_after_changes`]); otherwise it looks every `feed.poll_ms`.
//!
//! Bounds: each organization's channel holds `feed.buffer_events` events; a stream that
//! falls further behind is ended (its client was not reading) and catches up from the
//! database when it reconnects with `Last-Event-ID`. Each user or API key may hold
//! `feed.max_streams_per_principal` streams. On shutdown every stream ends, so a
//! graceful stop is not held open by them.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use edgeflag_admin_core::{
    db::now_ms,
    feed::{self, FeedEvent},
    lease::{self, Holder},
    sessions,
};
use sqlx::AnyPool;
use tokio::sync::{Notify, broadcast, watch};

use crate::{config::FeedConfig, error::ApiError};

/// The most events read from the database for one organization in one poll.
const PAGE: i64 = 500;

/// The fan-out of every organization's feed in this process.
#[derive(Debug)]
pub struct FeedHub {
    pool: AnyPool,
    config: FeedConfig,
    /// This process, as the holder of the pruning job's lease.
    holder: Holder,
    inner: Mutex<Inner>,
    wake: Notify,
    closing: watch::Sender<bool>,
    running: AtomicBool,
}

#[derive(Debug, Default)]
struct Inner {
    orgs: HashMap<String, Channel>,
    streams: HashMap<String, usize>,
}

#[derive(Debug)]
struct Channel {
    sender: broadcast::Sender<Arc<FeedEvent>>,
    /// Events up to this number were sent (or were before any stream's start); `None`
    /// until the first stream said where it starts.
    known: Option<i64>,
}

/// A stream's place in the per-principal count; dropping it frees the place.
#[derive(Debug)]
pub struct StreamSlot {
    hub: Arc<FeedHub>,
    principal: String,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut inner = self.hub.lock();
        if let Some(n) = inner.streams.get_mut(&self.principal) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                inner.streams.remove(&self.principal);
            }
        }
    }
}

impl FeedHub {
    /// A hub over `pool`; `holder` (this process) takes the hourly pruning's lease.
    pub fn new(pool: AnyPool, config: FeedConfig, holder: Holder) -> Self {
        Self {
            pool,
            config,
            holder,
            inner: Mutex::new(Inner::default()),
            wake: Notify::new(),
            closing: watch::channel(false).0,
            running: AtomicBool::new(false),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn config(&self) -> &FeedConfig {
        &self.config
    }

    /// Takes a stream place for `principal` (a user or key id), or 429 when it holds
    /// the most it may.
    pub fn admit(self: &Arc<Self>, principal: &str) -> Result<StreamSlot, ApiError> {
        let mut inner = self.lock();
        let open = inner.streams.entry(principal.to_string()).or_insert(0);
        let max = self.config.max_streams_per_principal;
        if *open >= max {
            return Err(ApiError::Throttled(
                format!("{max} change-feed streams are open for this caller already; close one"),
                self.config.heartbeat_secs.max(1),
            ));
        }
        *open += 1;
        Ok(StreamSlot {
            hub: self.clone(),
            principal: principal.to_string(),
        })
    }

    /// How many streams `principal` holds (for tests and metrics).
    pub fn open_streams(&self, principal: &str) -> usize {
        self.lock().streams.get(principal).copied().unwrap_or(0)
    }

    /// Subscribes to an organization's live events, starting the poller if needed.
    /// The caller then reads where the feed stands and reports it with [`Self::seen`].
    pub fn subscribe(self: &Arc<Self>, org_id: &str) -> broadcast::Receiver<Arc<FeedEvent>> {
        self.ensure_running();
        let mut inner = self.lock();
        let channel = inner
            .orgs
            .entry(org_id.to_string())
            .or_insert_with(|| Channel {
                sender: broadcast::channel(self.config.buffer_events.max(1)).0,
                known: None,
            });
        channel.sender.subscribe()
    }

    /// A new subscriber read that the organization's feed stood at `latest` after it
    /// subscribed: the poller sends every later event.
    pub fn seen(&self, org_id: &str, latest: i64) {
        if let Some(channel) = self.lock().orgs.get_mut(org_id) {
            channel.known = Some(channel.known.map_or(latest, |k| k.min(latest)));
        }
        self.wake.notify_one();
    }

    /// Look for new rows now.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Ends every stream (on shutdown) and stops the poller.
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    /// Resolves once [`Self::close`] was called.
    pub fn closing(&self) -> watch::Receiver<bool> {
        self.closing.subscribe()
    }

    fn ensure_running(self: &Arc<Self>) {
        if !self.running.swap(true, Ordering::SeqCst) {
            let hub = self.clone();
            tokio::spawn(async move { hub.run().await });
        }
    }

    async fn run(self: Arc<Self>) {
        let poll = Duration::from_millis(self.config.poll_ms.max(10));
        let mut closing = self.closing();
        let mut pruned = Instant::now();
        loop {
            if *closing.borrow() {
                return;
            }
            if let Err(e) = self.tick().await {
                tracing::warn!(error = %e, "change feed poll failed; retrying");
            }
            if pruned.elapsed() >= Duration::from_secs(3600) {
                pruned = Instant::now();
                self.prune().await;
            }
            tokio::select! {
                () = self.wake.notified() => {}
                () = tokio::time::sleep(poll) => {}
                _ = closing.changed() => return,
            }
        }
    }

    /// Sends every organization's new rows to its streams.
    pub async fn tick(&self) -> Result<(), edgeflag_admin_core::Error> {
        let wanted: Vec<(String, i64)> = {
            let mut inner = self.lock();
            inner.orgs.retain(|_, c| c.sender.receiver_count() > 0);
            inner
                .orgs
                .iter()
                .filter_map(|(org, c)| c.known.map(|k| (org.clone(), k)))
                .collect()
        };
        if wanted.is_empty() {
            return Ok(());
        }
        let latest: HashMap<String, i64> =
            feed::latest_all(&self.pool).await?.into_iter().collect();
        for (org, known) in wanted {
            let newest = latest.get(&org).copied().unwrap_or(0);
            if newest <= known {
                continue;
            }
            let events = feed::between(&self.pool, &org, known, newest, PAGE).await?;
            let mut inner = self.lock();
            let Some(channel) = inner.orgs.get_mut(&org) else {
                continue;
            };
            for event in events {
                channel.known = Some(event.seq);
                // No receiver left is no error: the channel goes at the next tick.
                let _ = channel.sender.send(Arc::new(event));
            }
        }
        Ok(())
    }

    /// Deletes feed rows older than the retention and sessions long over, once an hour
    /// across replicas (the `job/feed-prune` lease).
    async fn prune(&self) {
        let hour = 3_600_000;
        let job = async {
            let before = now_ms().saturating_sub(self.config.retention_hours.saturating_mul(hour));
            if let Err(e) = feed::prune(&self.pool, before).await {
                tracing::warn!(error = %e, "pruning the change feed failed");
            }
            let month = now_ms().saturating_sub(30 * 24 * hour);
            if let Err(e) = sessions::prune(&self.pool, month).await {
                tracing::warn!(error = %e, "pruning old sessions failed");
            }
            Ok(())
        };
        if let Err(e) = lease::once(&self.pool, "feed-prune", &self.holder, hour, job).await {
            tracing::warn!(error = %e, "the pruning lease is unreadable; pruning later");
        }
    }
}

/// Middleware: after a request that may have changed something, the feed looks at once.
pub async fn wake_after_changes(
    axum::extract::State(hub): axum::extract::State<Arc<FeedHub>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let changes = crate::session::changes_state(request.method());
    let response = next.run(request).await;
    if changes && response.status().is_success() {
        hub.wake();
    }
    response
}
