//! The client: one verified snapshot in memory, evaluated locally, replaced in the
//! background when the edge has a newer one.

use std::{
    collections::BTreeMap,
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use edgeflag_engine::{Context, Snapshot, ValueType, Warning};
use serde_json::Value;
use tokio::sync::{Notify, broadcast, watch};

use crate::{
    Error,
    details::{Details, Evaluation, as_int},
    events::{Change, Event, ListenerId, Listeners},
    live::LiveState,
    source::Source,
    store::{Current, Store},
};

/// The host's clock in epoch milliseconds; the engine has none of its own.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// An Edgeflag client. Cheap to clone (clones share one snapshot and one refresh
/// task); safe to use from any thread. Built with [`Client::builder`].
///
/// Evaluations never fail and never wait: they read the snapshot in use. The typed
/// getters answer the caller's default when the engine answers `ERROR`; the
/// `*_details` getters say why.
#[derive(Clone)]
pub struct Client {
    /// Read on every evaluation: one pointer away from the snapshot store.
    inner: Arc<Inner>,
    /// Shared by the clones; closes the client when the last one goes.
    _open: Arc<Handle>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let current = self.inner().store.load();
        f.debug_struct("Client")
            .field("environment", &current.snapshot.environment())
            .field("version", &current.snapshot.version())
            .field("online", &self.inner().source.is_some())
            .finish()
    }
}

/// Closes the client when the last clone is dropped: the refresh task holds only the
/// [`Inner`], so it ends then too.
struct Handle {
    inner: Arc<Inner>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.inner.close();
    }
}

pub(crate) struct Inner {
    pub store: Store,
    pub source: Option<Source>,
    /// Keys come from the edge's JWKS (none were pinned): an unknown key id makes the
    /// client fetch the JWKS again once. Pinned keys are never widened from the network.
    pub trusts_edge_jwks: bool,
    pub clock: Option<Clock>,
    pub listeners: Listeners,
    /// Wakes the refresh task at once: an event on the live-update stream, or the caller.
    pub wake: Notify,
    pub live: LiveState,
    pub closed: watch::Sender<bool>,
    /// The runtime the client was built on, for the blocking calls.
    pub runtime: Option<tokio::runtime::Handle>,
}

impl Inner {
    pub fn close(&self) {
        self.closed.send_replace(true);
    }

    pub fn is_closed(&self) -> bool {
        *self.closed.borrow()
    }

    /// Offers a signed snapshot; announces a change.
    pub fn update(&self, token: &str) -> Result<Option<Change>, Error> {
        let change = self.store.offer(token)?;
        if let Some(change) = &change {
            self.listeners.emit(&Event::Changed(change.clone()));
        }
        Ok(change)
    }

    /// Fetches the server snapshot and offers it. After a signing-key rotation the
    /// snapshot names a key the client has not seen: if its keys come from the edge,
    /// it fetches the JWKS once more and offers the snapshot again.
    pub async fn refresh(&self) -> Result<Option<Change>, Error> {
        let source = self
            .source
            .as_ref()
            .ok_or_else(|| Error::Config("refresh needs a `url` and a `server_key`".into()))?;
        let Some(fetched) = source.snapshot().await? else {
            return Ok(None);
        };
        let change = match self.update(&fetched.token) {
            Err(Error::Refused(e)) if e.is_unknown_key() && self.trusts_edge_jwks => {
                self.store.trust(source.jwks().await?);
                self.update(&fetched.token)
            }
            other => other,
        }?;
        source.set_etag(fetched.etag);
        Ok(change)
    }

    pub fn now_ms(&self) -> i64 {
        match &self.clock {
            Some(clock) => clock(),
            None => system_now_ms(),
        }
    }
}

fn system_now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The background refresh: every `every`, or at once when woken (by the live-update
/// stream, or [`Client::request_refresh`]), until closed. Without an interval it only
/// answers wake-ups. A failure is announced and the snapshot in use keeps serving.
pub(crate) async fn refresh_loop(inner: Arc<Inner>, every: Option<Duration>, mut now: bool) {
    let mut closed = inner.closed.subscribe();
    loop {
        if !now {
            let tick = async {
                match every {
                    Some(every) => tokio::time::sleep(every).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = tick => {}
                () = inner.wake.notified() => {}
                _ = closed.wait_for(|c| *c) => return,
            }
        }
        now = false;
        if inner.is_closed() {
            return;
        }
        if let Err(error) = inner.refresh().await {
            inner.listeners.emit(&Event::RefreshFailed(error));
        }
    }
}

/// The snapshot in use, borrowed for as long as this guard lives (see [`Client::snapshot`]).
pub struct SnapshotGuard(arc_swap::Guard<Arc<Current>>);

impl std::ops::Deref for SnapshotGuard {
    type Target = Snapshot;

    #[inline]
    fn deref(&self) -> &Snapshot {
        &self.0.snapshot
    }
}

impl std::fmt::Debug for SnapshotGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnapshotGuard")
            .field("environment", &self.environment())
            .field("version", &self.version())
            .finish()
    }
}

impl Client {
    pub(crate) fn from_inner(inner: Arc<Inner>) -> Self {
        Self {
            _open: Arc::new(Handle {
                inner: inner.clone(),
            }),
            inner,
        }
    }

    #[inline]
    pub(crate) fn inner(&self) -> &Inner {
        &self.inner
    }

    pub(crate) fn inner_arc(&self) -> Arc<Inner> {
        self.inner.clone()
    }

    /// `flag`'s boolean value for `context`, or `default` when the engine answers `ERROR`.
    #[inline]
    pub fn bool_value(&self, flag: &str, context: &Context, default: bool) -> bool {
        let current = self.inner().store.load();
        let now = self.now_ms();
        current
            .snapshot
            .evaluate_as(flag, ValueType::Boolean, context, now)
            .value
            .and_then(Value::as_bool)
            .unwrap_or(default)
    }

    /// `flag`'s string value, or `default`.
    pub fn string_value(&self, flag: &str, context: &Context, default: &str) -> String {
        let current = self.inner().store.load();
        let now = self.now_ms();
        let detail = current
            .snapshot
            .evaluate_as(flag, ValueType::String, context, now);
        detail
            .value
            .and_then(Value::as_str)
            .unwrap_or(default)
            .to_string()
    }

    /// `flag`'s number value, or `default`.
    pub fn number_value(&self, flag: &str, context: &Context, default: f64) -> f64 {
        let current = self.inner().store.load();
        let now = self.now_ms();
        current
            .snapshot
            .evaluate_as(flag, ValueType::Number, context, now)
            .value
            .and_then(Value::as_f64)
            .unwrap_or(default)
    }

    /// `flag`'s value as a whole number, or `default` (also when the number has a fraction).
    pub fn int_value(&self, flag: &str, context: &Context, default: i64) -> i64 {
        self.int_details(flag, context, default).value
    }

    /// `flag`'s object (or array) value, or `default`.
    pub fn json_value(&self, flag: &str, context: &Context, default: Value) -> Value {
        self.json_details(flag, context, default).value
    }

    pub fn bool_details(&self, flag: &str, context: &Context, default: bool) -> Details<bool> {
        self.typed(flag, ValueType::Boolean, context, default, Value::as_bool)
    }

    pub fn string_details(&self, flag: &str, context: &Context, default: &str) -> Details<String> {
        self.typed(flag, ValueType::String, context, default.to_string(), |v| {
            v.as_str().map(str::to_string)
        })
    }

    pub fn number_details(&self, flag: &str, context: &Context, default: f64) -> Details<f64> {
        self.typed(flag, ValueType::Number, context, default, Value::as_f64)
    }

    pub fn int_details(&self, flag: &str, context: &Context, default: i64) -> Details<i64> {
        self.typed(flag, ValueType::Number, context, default, as_int)
    }

    pub fn json_details(&self, flag: &str, context: &Context, default: Value) -> Details<Value> {
        self.typed(flag, ValueType::Object, context, default, |v| {
            Some(v.clone())
        })
    }

    fn typed<T>(
        &self,
        flag: &str,
        value_type: ValueType,
        context: &Context,
        default: T,
        convert: impl FnOnce(&Value) -> Option<T>,
    ) -> Details<T> {
        let current = self.inner().store.load();
        let detail = current
            .snapshot
            .evaluate_as(flag, value_type, context, self.now_ms());
        Evaluation::typed_from(flag, &detail, default, convert)
    }

    /// The engine's answer for `flag`, untyped: no default, no `value` on `ERROR`.
    pub fn evaluate(&self, flag: &str, context: &Context) -> Evaluation {
        let current = self.inner().store.load();
        let detail = current.snapshot.evaluate(flag, context, self.now_ms());
        Evaluation::from_detail(flag, &detail)
    }

    /// The engine's answer for `flag`, which must be of `value_type` (else `TYPE_MISMATCH`).
    pub fn evaluate_as(&self, flag: &str, value_type: ValueType, context: &Context) -> Evaluation {
        let current = self.inner().store.load();
        let detail = current
            .snapshot
            .evaluate_as(flag, value_type, context, self.now_ms());
        Evaluation::from_detail(flag, &detail)
    }

    /// Every flag of the snapshot for `context`, by key.
    pub fn evaluate_all(&self, context: &Context) -> BTreeMap<String, Evaluation> {
        let current = self.inner().store.load();
        current
            .snapshot
            .evaluate_all(context, self.now_ms())
            .iter()
            .map(|(key, detail)| ((*key).to_string(), Evaluation::from_detail(key, detail)))
            .collect()
    }

    /// The snapshot in use, to call the engine directly (its listing of flags, or
    /// evaluations that borrow from it and copy nothing). Hold the guard briefly: a
    /// newer snapshot replaces this one for later calls, not for the guard.
    #[inline]
    pub fn snapshot(&self) -> SnapshotGuard {
        SnapshotGuard(self.inner().store.load())
    }

    /// The client's clock in epoch milliseconds (the system clock unless the builder set one).
    #[inline]
    pub fn now_ms(&self) -> i64 {
        self.inner().now_ms()
    }

    /// The version of the snapshot in use.
    pub fn version(&self) -> u64 {
        self.inner().store.load().snapshot.version()
    }

    /// The environment of the snapshot in use.
    pub fn environment(&self) -> String {
        self.inner().store.load().snapshot.environment().to_string()
    }

    /// What loading the snapshot in use found wrong: each such flag answers `PARSE_ERROR` alone.
    pub fn warnings(&self) -> Vec<Warning> {
        self.inner().store.load().warnings.clone()
    }

    /// Offers a signed snapshot (for example one pushed to you). It replaces the one in
    /// use only if it verifies and is newer. `Ok(None)`: it holds the version in use.
    pub fn update(&self, token: &str) -> Result<Option<Change>, Error> {
        self.inner().update(token)
    }

    /// Fetches the server snapshot from the edge now. `Ok(None)`: nothing newer.
    pub async fn refresh(&self) -> Result<Option<Change>, Error> {
        if self.inner().is_closed() {
            return Err(Error::Closed);
        }
        self.inner().refresh().await
    }

    /// [`refresh`](Self::refresh) for callers outside any async runtime: the refresh
    /// runs on the client's runtime (its own thread for a [`build_blocking`] client)
    /// and this waits for it.
    ///
    /// [`build_blocking`]: crate::ClientBuilder::build_blocking
    pub fn refresh_blocking(&self) -> Result<Option<Change>, Error> {
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err(Error::Config(
                "refresh_blocking was called inside an async runtime; use `refresh().await`".into(),
            ));
        }
        let runtime = self.inner().runtime.clone().ok_or(Error::Closed)?;
        let client = self.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        runtime.spawn(async move {
            let _ = tx.send(client.refresh().await);
        });
        rx.recv().map_err(|_| Error::Closed)?
    }

    /// Asks the background task to refresh now rather than at its next tick.
    pub fn request_refresh(&self) {
        self.inner().wake.notify_one();
    }

    /// Whether the client is connected to the edge's live-update stream now. `false`
    /// with an edge that offers none (the Spin app), with live updates turned off, and
    /// while a lost stream reconnects: the client polls meanwhile.
    pub fn is_streaming(&self) -> bool {
        self.inner()
            .live
            .connected
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Calls `callback` for every [`Event`], from the refresh task (or from the thread
    /// that called [`update`](Self::update)). Keep it short; it must not block.
    pub fn on_event(&self, callback: impl Fn(&Event) + Send + Sync + 'static) -> ListenerId {
        self.inner().listeners.add(Arc::new(callback))
    }

    /// Removes a callback; `false` if it was not there.
    pub fn remove_listener(&self, id: ListenerId) -> bool {
        self.inner().listeners.remove(id)
    }

    /// Every [`Event`] from now on, for async code.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.inner().listeners.subscribe()
    }

    /// Stops the background refresh. Evaluations keep answering from the last snapshot.
    /// Dropping the last clone of a client closes it too.
    pub fn close(&self) {
        self.inner().close();
    }

    pub fn is_closed(&self) -> bool {
        self.inner().is_closed()
    }
}
