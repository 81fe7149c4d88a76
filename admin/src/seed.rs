//! `edgeflag seed-demo` and other CLI commands that act through the API itself:
//! an in-process client drives the router with `oneshot`, so the CLI gets the same
//! validation, audit and outbox as any HTTP caller.

use axum::{
    Router,
    body::Body,
    http::{Method, Request, StatusCode},
};
use http_body_util::BodyExt;
use serde_json::{Map, Value, json};
use tower::ServiceExt;

use crate::{app::AppState, error::ApiError, routes::orgs::create_org};

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

/// What `seed-demo` created.
#[derive(Debug)]
pub struct DemoKeys {
    pub owner_api_key: String,
    pub server_sdk_key: String,
    pub client_sdk_key: String,
}

const DEMO: &str = include_str!("../../examples/demo-snapshot.json");

/// Creates the demo organization, project `demo`, environment `production` (edge
/// name `production`) and the flags and segment of `examples/demo-snapshot.json`.
pub async fn demo(state: &AppState) -> anyhow::Result<DemoKeys> {
    let (_, owner) = create_org(&state.pool, "demo", "Demo organization")
        .await
        .map_err(|e: ApiError| anyhow::anyhow!("{e}"))?;
    let api = Local::new(state, &owner);
    api.ok(Method::POST, "/v1/projects", Some(json!({"key": "demo", "name": "Demo", "description": "The flags of examples/demo-snapshot.json"}))).await?;
    api.ok(
        Method::POST,
        "/v1/projects/demo/environments",
        Some(json!({"key": "production", "name": "Production", "edgeName": "production"})),
    )
    .await?;
    let snapshot: Value = serde_json::from_str(DEMO)?;
    for segment in snapshot["segments"].as_array().into_iter().flatten() {
        let mut body = segment.clone();
        body["name"] = body["key"].clone();
        api.ok(Method::POST, "/v1/projects/demo/segments", Some(body))
            .await?;
    }
    for flag in snapshot["flags"].as_array().into_iter().flatten() {
        api.ok(
            Method::POST,
            "/v1/projects/demo/flags",
            Some(flag_body(flag)),
        )
        .await?;
    }
    let env = "/v1/projects/demo/environments/production/sdk-keys";
    let server = api
        .ok(Method::POST, env, Some(json!({"kind": "server"})))
        .await?;
    let client = api
        .ok(Method::POST, env, Some(json!({"kind": "client"})))
        .await?;
    Ok(DemoKeys {
        owner_api_key: owner,
        server_sdk_key: server["secret"].as_str().unwrap_or_default().to_string(),
        client_sdk_key: client["secret"].as_str().unwrap_or_default().to_string(),
    })
}

/// An engine flag document as a create-flag request with its `production` targeting.
fn flag_body(flag: &Value) -> Value {
    let mut targeting = Map::new();
    for field in [
        "enabled",
        "offVariation",
        "targets",
        "rules",
        "defaultRule",
        "prerequisites",
    ] {
        if let Some(v) = flag.get(field) {
            targeting.insert(field.to_string(), v.clone());
        }
    }
    let mut body = Map::new();
    for field in [
        "key",
        "description",
        "type",
        "variations",
        "tags",
        "clientVisible",
        "salt",
    ] {
        if let Some(v) = flag.get(field) {
            body.insert(field.to_string(), v.clone());
        }
    }
    body.insert("name".into(), flag["key"].clone());
    body.insert("environments".into(), json!({ "production": targeting }));
    Value::Object(body)
}
