//! The edge, over HTTP: the signed server snapshot (`GET /v1/snapshot`, the server key
//! in `Authorization`, `If-None-Match` so an unchanged snapshot costs a `304`) and the
//! edge's JWKS (`GET /.well-known/jwks.json`). Nothing fetched here is trusted until
//! the store has verified it.
//!
//! Each snapshot answer (a `304` too) may name the environment's event stream in the
//! `edgeflag-event-stream` header; the source keeps the newest URL for the stream
//! follower ([`crate::live`]). A refresh that an event triggered carries the event's
//! version as `sseEtag`, so the edge reads its version pointer at once instead of
//! serving its cached snapshot until its own refresh interval ends.

use std::sync::{
    Mutex, PoisonError,
    atomic::{AtomicU64, Ordering},
};

use edgeflag_engine::{accept, envelope::VerifyingKey};
use reqwest::{StatusCode, header};
use tokio::sync::watch;

use crate::Error;

/// The response header that names the environment's event stream.
pub const STREAM_HEADER: &str = "edgeflag-event-stream";

/// A signed snapshot as fetched, and the `ETag` to send next time once it is accepted.
#[derive(Debug)]
pub(crate) struct Fetched {
    pub token: String,
    pub etag: Option<String>,
}

#[derive(Debug)]
pub(crate) struct Source {
    base: String,
    server_key: String,
    http: reqwest::Client,
    etag: Mutex<Option<String>>,
    /// The event stream the edge named last; `None` until one is named, or after the
    /// edge refused it (an expired credential).
    stream: watch::Sender<Option<String>>,
    /// A version an event announced, sent with the next snapshot request (0: none).
    hint: AtomicU64,
}

impl Source {
    pub fn new(url: &str, server_key: &str, http: reqwest::Client) -> Self {
        Self {
            base: url.trim_end_matches('/').to_string(),
            server_key: server_key.to_string(),
            http,
            etag: Mutex::new(None),
            stream: watch::Sender::new(None),
            hint: AtomicU64::new(0),
        }
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The signed server snapshot, or `None` when the edge says the one we hold is current.
    pub async fn snapshot(&self) -> Result<Option<Fetched>, Error> {
        let url = format!("{}/v1/snapshot", self.base);
        let mut request = self
            .http
            .get(&url)
            .bearer_auth(&self.server_key)
            .header(header::ACCEPT, "application/jose");
        if let Some(etag) = self.etag() {
            request = request.header(header::IF_NONE_MATCH, etag);
        }
        let hint = self.hint.swap(0, Ordering::Relaxed);
        if hint > 0 {
            request = request.query(&[("sseEtag", hint)]);
        }
        let response = request.send().await.map_err(|e| Error::fetch(&url, e))?;
        if let Some(stream) = response
            .headers()
            .get(STREAM_HEADER)
            .and_then(|v| v.to_str().ok())
        {
            self.stream.send_if_modified(|current| {
                let changed = current.as_deref() != Some(stream);
                if changed {
                    *current = Some(stream.to_string());
                }
                changed
            });
        }
        match response.status() {
            StatusCode::NOT_MODIFIED => Ok(None),
            status if status.is_success() => {
                let etag = response
                    .headers()
                    .get(header::ETAG)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                let token = response.text().await.map_err(|e| Error::fetch(&url, e))?;
                Ok(Some(Fetched { token, etag }))
            }
            status => Err(Error::fetch(&url, answered(status, response).await)),
        }
    }

    /// The keys the edge publishes.
    pub async fn jwks(&self) -> Result<Vec<VerifyingKey>, Error> {
        let url = format!("{}/.well-known/jwks.json", self.base);
        let response = self
            .http
            .get(&url)
            .header(header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| Error::fetch(&url, e))?;
        let status = response.status();
        if !status.is_success() {
            return Err(Error::fetch(&url, answered(status, response).await));
        }
        let body = response.bytes().await.map_err(|e| Error::fetch(&url, e))?;
        Ok(accept::parse_jwks(&body)?)
    }

    /// Follows the event stream URL the edge names.
    pub fn stream(&self) -> watch::Receiver<Option<String>> {
        self.stream.subscribe()
    }

    /// Forgets a stream URL the edge refused, so that the follower waits for the next
    /// snapshot answer to name a fresh one.
    pub fn forget_stream(&self, url: &str) {
        self.stream.send_if_modified(|current| {
            let stale = current.as_deref() == Some(url);
            if stale {
                *current = None;
            }
            stale
        });
    }

    /// The next snapshot request names `version`: an event announced it.
    pub fn hint(&self, version: u64) {
        self.hint.fetch_max(version, Ordering::Relaxed);
    }

    /// Remembers the `ETag` of the snapshot now in use.
    pub fn set_etag(&self, etag: Option<String>) {
        *self.etag.lock().unwrap_or_else(PoisonError::into_inner) = etag;
    }

    fn etag(&self) -> Option<String> {
        self.etag
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// "answered 401: {…}" with the start of the body, which says why in the edge's error shape.
pub(crate) async fn answered(status: StatusCode, response: reqwest::Response) -> String {
    let body = response.text().await.unwrap_or_default();
    let body: String = body.chars().take(300).collect();
    format!("answered {}: {body}", status.as_u16())
}
