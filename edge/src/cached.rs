//! Answers from the isolate's cache alone, without waiting: what lets an adapter answer
//! a warm OFREP evaluation in one synchronous call (the Worker's fast path,
//! `edge-worker/js/entry.mjs`) instead of through an async executor and its promises.

use std::{
    future::{Future, pending},
    pin::pin,
    task::{Context, Poll, Waker},
};

use crate::{Edge, Kv, KvError, Request, Response};

impl Edge {
    /// The answer to an OFREP evaluation (`POST /ofrep/…`) when the isolate already holds
    /// all it needs — the key's record and the environment's snapshot, both checked within
    /// the refresh interval — or `None` when answering needs storage, for any other route,
    /// and for any other method.
    ///
    /// It is [`Edge::handle`] itself, run over a storage that never answers: the first read
    /// parks it, and then it is dropped. Nothing on these routes changes the isolate's
    /// state before its last read of storage (the cache settles after a read, usage is
    /// counted after the snapshot is found), so a `None` leaves everything as it was and
    /// the caller answers the same request through [`Edge::handle`]; a `Some` is exactly
    /// what `handle` would have answered, usage counted included.
    pub fn answer_cached(&self, req: &Request, now_ms: i64) -> Option<Response> {
        if req.method != "POST" || !req.path.starts_with("/ofrep/") {
            return None;
        }
        let answer = pin!(self.handle(req, &Unanswered, now_ms));
        match answer.poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(response) => Some(response),
            Poll::Pending => None,
        }
    }
}

/// Storage whose every call waits forever.
struct Unanswered;

impl Kv for Unanswered {
    fn get(&self, _key: &str) -> impl Future<Output = Result<Option<Vec<u8>>, KvError>> {
        pending()
    }

    fn put(&self, _key: &str, _value: &[u8]) -> impl Future<Output = Result<(), KvError>> {
        pending()
    }

    fn delete(&self, _key: &str) -> impl Future<Output = Result<(), KvError>> {
        pending()
    }
}
