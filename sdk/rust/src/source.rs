//! The edge, over HTTP: the signed server snapshot (`GET /v1/snapshot`, the server key
//! in `Authorization`, `If-None-Match` so an unchanged snapshot costs a `304`) and the
//! edge's JWKS (`GET /.well-known/jwks.json`). Nothing fetched here is trusted until
//! the store has verified it.

use std::sync::{Mutex, PoisonError};

use edgeflag_engine::{accept, envelope::VerifyingKey};
use reqwest::{StatusCode, header};

use crate::Error;

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
}

impl Source {
    pub fn new(url: &str, server_key: &str, http: reqwest::Client) -> Self {
        Self {
            base: url.trim_end_matches('/').to_string(),
            server_key: server_key.to_string(),
            http,
            etag: Mutex::new(None),
        }
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
        let response = request.send().await.map_err(|e| Error::fetch(&url, e))?;
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
async fn answered(status: StatusCode, response: reqwest::Response) -> String {
    let body = response.text().await.unwrap_or_default();
    let body: String = body.chars().take(300).collect();
    format!("answered {}: {body}", status.as_u16())
}
