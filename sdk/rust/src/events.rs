//! What a client tells its application: a newly accepted snapshot changed some flags,
//! or a background refresh failed (the snapshot in use keeps serving). Delivered to
//! callbacks ([`Client::on_event`](crate::Client::on_event)) and to async receivers
//! ([`Client::subscribe`](crate::Client::subscribe)).

use std::sync::{
    Arc, Mutex, PoisonError,
    atomic::{AtomicU64, Ordering},
};

use tokio::sync::broadcast;

use crate::Error;

/// A newer snapshot was accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The snapshot version now in use.
    pub version: u64,
    /// The version it replaced.
    pub previous_version: u64,
    /// Flags added, removed, or whose definition changed, sorted by key.
    pub flags: Vec<String>,
    /// Segments added, removed or changed. A flag that uses a changed segment can answer
    /// differently without being listed in `flags`.
    pub segments: Vec<String>,
}

/// Something the client's application may want to know.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A newer snapshot is in use.
    Changed(Change),
    /// A background refresh failed; the snapshot in use keeps serving.
    RefreshFailed(Error),
}

/// Identifies a callback given to [`Client::on_event`](crate::Client::on_event).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ListenerId(u64);

impl ListenerId {
    /// The id as a number, for bindings that hand it to another language.
    pub fn into_raw(self) -> u64 {
        self.0
    }

    pub fn from_raw(raw: u64) -> Self {
        Self(raw)
    }
}

type Callback = Arc<dyn Fn(&Event) + Send + Sync>;

/// Callbacks and async subscribers.
pub(crate) struct Listeners {
    next: AtomicU64,
    callbacks: Mutex<Vec<(u64, Callback)>>,
    channel: broadcast::Sender<Event>,
}

impl std::fmt::Debug for Listeners {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let count = self.callbacks.lock().map_or(0, |c| c.len());
        f.debug_struct("Listeners")
            .field("callbacks", &count)
            .finish()
    }
}

impl Listeners {
    pub fn new() -> Self {
        Self {
            next: AtomicU64::new(1),
            callbacks: Mutex::new(Vec::new()),
            // Events are rare (one per publish or failed refresh); a slow receiver that
            // falls 64 behind gets `Lagged` rather than holding memory.
            channel: broadcast::channel(64).0,
        }
    }

    pub fn add(&self, callback: Callback) -> ListenerId {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        self.lock().push((id, callback));
        ListenerId(id)
    }

    pub fn remove(&self, id: ListenerId) -> bool {
        let mut callbacks = self.lock();
        let before = callbacks.len();
        callbacks.retain(|(i, _)| *i != id.0);
        callbacks.len() != before
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.channel.subscribe()
    }

    /// Calls every callback (outside the lock, so a callback may add or remove one)
    /// and sends to every subscriber. A panicking callback stops neither the others
    /// nor the refresh task.
    pub fn emit(&self, event: &Event) {
        let callbacks: Vec<Callback> = self.lock().iter().map(|(_, c)| c.clone()).collect();
        for callback in callbacks {
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| callback(event)));
        }
        // No subscriber is not an error.
        let _ = self.channel.send(event.clone());
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(u64, Callback)>> {
        self.callbacks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}
