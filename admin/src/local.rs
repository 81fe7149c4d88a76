//! An API client that drives the router in-process with `oneshot`: the CLI's
//! `flags`, `sdk-keys` and `audit-tail` commands and the router tests use it, so they
//! get the same validation, roles and audit as any HTTP caller.

use axum::{
    Router,
    body::Body,
    http::{Method, Request, StatusCode},
};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

use crate::state::AppState;

/// An API client that calls the router in-process.
#[derive(Debug, Clone)]
pub struct Local {
    router: Router,
    token: String,
}

impl Local {
    pub fn new(state: &AppState, api_key: &str) -> Self {
        Self {
            router: crate::router(state.clone()),
            token: api_key.to_string(),
        }
    }

    /// Sends a request; returns the status and the JSON body (`null` when empty).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<(StatusCode, Value)> {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header("authorization", format!("Bearer {}", self.token));
        let body = match body {
            Some(v) => {
                request = request.header("content-type", "application/json");
                Body::from(serde_json::to_vec(&v)?)
            }
            None => Body::empty(),
        };
        let response = self.router.clone().oneshot(request.body(body)?).await?;
        let status = response.status();
        let bytes = response.into_body().collect().await?.to_bytes();
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        };
        Ok((status, value))
    }

    /// Like [`Self::call`], but a non-2xx status is an error carrying the body.
    pub async fn ok(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let (status, value) = self.call(method.clone(), path, body).await?;
        if !status.is_success() {
            anyhow::bail!("{method} {path}: {status} {value}");
        }
        Ok(value)
    }
}
