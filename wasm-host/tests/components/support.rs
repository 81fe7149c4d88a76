//! Shared set-up: the compiled components (once per run), signing, publish bodies
//! and requests, mirroring `edge-worker/test/helpers.mjs`.

use std::{collections::BTreeMap, sync::OnceLock};

use bytes::Bytes;
use edgeflag_edge::keys::{KeyEntry, KeyIndex, KeyKind, hash_key};
use edgeflag_engine::envelope::{KeySet, SigningKey};
use edgeflag_wasm_host::{
    ENGINE_COMPONENT_VAR, SPIN_COMPONENT_VAR, component_path, engine::EngineComponent,
    spin::SpinApp,
};
use serde_json::{Value, json};

/// The engine component, compiled once for the whole run.
pub fn engine_component() -> &'static EngineComponent {
    static COMPONENT: OnceLock<EngineComponent> = OnceLock::new();
    COMPONENT.get_or_init(|| {
        let path = component_path(ENGINE_COMPONENT_VAR).unwrap_or_else(|e| panic!("{e}"));
        EngineComponent::from_file(&path).unwrap_or_else(|e| panic!("{e:?}"))
    })
}

/// The Spin app, compiled once; each caller gets its own empty key-value store.
pub fn spin_app(variables: BTreeMap<String, String>) -> SpinApp {
    static APP: OnceLock<SpinApp> = OnceLock::new();
    let compiled = APP.get_or_init(|| {
        let path = component_path(SPIN_COMPONENT_VAR).unwrap_or_else(|e| panic!("{e}"));
        SpinApp::from_file(&path, BTreeMap::new()).unwrap_or_else(|e| panic!("{e:?}"))
    });
    compiled.with_fresh_store(variables)
}

pub const SEAL_SECRET: &str = "the test apps' seal secret, 32 bytes or more";

/// The Spin variables of a test app trusting `signers`.
pub fn variables(signers: &[&SigningKey], extra: &[(&str, &str)]) -> BTreeMap<String, String> {
    let keys = KeySet::new(signers.iter().map(|s| s.verifying_key()).collect());
    let mut vars = BTreeMap::from([
        (
            "edgeflag_trusted_keys".to_string(),
            serde_json::to_string(&keys.to_jwks()).unwrap(),
        ),
        ("edgeflag_refresh_interval_ms".to_string(), "0".to_string()),
        // As a production Spin app is configured: one-flag evaluations answer from
        // sealed records (`edge/src/sealed.rs`).
        ("edgeflag_seal_secret".to_string(), SEAL_SECRET.to_string()),
    ]);
    for (name, value) in extra {
        vars.insert((*name).to_string(), (*value).to_string());
    }
    vars
}

pub fn signer(kid: &str, seed: u8) -> SigningKey {
    SigningKey::from_seed(kid, [seed; 32])
}

pub fn demo(env: &str, version: u64) -> Value {
    let mut doc: Value =
        serde_json::from_str(include_str!("../../../examples/demo-snapshot.json")).unwrap();
    doc["environment"] = json!(env);
    doc["version"] = json!(version);
    doc
}

pub fn keys_for(env: &str, version: u64, server: &str, client: &str) -> KeyIndex {
    let entry = |secret: &str, kind| KeyEntry {
        hash: hash_key(secret),
        kind,
        expires_at_ms: None,
    };
    KeyIndex {
        environment: env.into(),
        version,
        keys: vec![
            entry(server, KeyKind::Server),
            entry(client, KeyKind::Client),
        ],
        retired: false,
    }
}

/// The three signed documents of one environment version, as the admin publishes them.
pub fn publish_body(doc: &Value, server: &str, client: &str, signer: &SigningKey) -> Vec<u8> {
    let env = doc["environment"].as_str().unwrap();
    let ver = doc["version"].as_u64().unwrap();
    let mut client_doc = doc.clone();
    let visible: Vec<Value> = doc["flags"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["clientVisible"] == json!(true))
        .cloned()
        .collect();
    client_doc["flags"] = json!(visible);
    let sign = |payload: &Value, aud: &str| {
        signer.sign(
            &serde_json::to_vec(payload).unwrap(),
            Some(env),
            Some(ver),
            Some(aud),
        )
    };
    let keys = serde_json::to_value(keys_for(env, ver, server, client)).unwrap();
    serde_json::to_vec(&json!({
        "server": sign(doc, "server"),
        "client": sign(&client_doc, "client"),
        "keys": sign(&keys, "keys"),
    }))
    .unwrap()
}

/// A publish of a snapshot given as JSON text (a vector's load), signed byte for byte
/// as both the server and the client snapshot, under `env` at version 1.
pub fn publish_text_body(
    text: &str,
    env: &str,
    server: &str,
    client: &str,
    signer: &SigningKey,
) -> Vec<u8> {
    let sign = |payload: &[u8], aud: &str| signer.sign(payload, Some(env), Some(1), Some(aud));
    let keys = serde_json::to_vec(&keys_for(env, 1, server, client)).unwrap();
    serde_json::to_vec(&json!({
        "server": sign(text.as_bytes(), "server"),
        "client": sign(text.as_bytes(), "client"),
        "keys": sign(&keys, "keys"),
    }))
    .unwrap()
}

/// A response, its body parsed as JSON when it is JSON.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(&self.body)))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Sends one request through a fresh instance of `app`.
pub async fn send(
    app: &SpinApp,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> Answer {
    let mut request = http::Request::builder()
        .method(method)
        .uri(format!("http://localhost{path}"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request.body(body.into()).unwrap();
    let response = app
        .handle(request)
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let (parts, body) = response.into_parts();
    Answer {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body,
    }
}

pub async fn publish(app: &SpinApp, env: &str, body: impl Into<Bytes>) -> Answer {
    let path = format!("/publish/v1/environments/{env}");
    send(
        app,
        "PUT",
        &path,
        &[("content-type", "application/json")],
        body,
    )
    .await
}

/// `POST /ofrep/v1/evaluate/flags[/{flag}]` with `{"context": …}`.
pub async fn ofrep(
    app: &SpinApp,
    key: &str,
    flag: Option<&str>,
    context: &Value,
    extra: &[(&str, &str)],
) -> Answer {
    let path = match flag {
        Some(flag) => format!("/ofrep/v1/evaluate/flags/{flag}"),
        None => "/ofrep/v1/evaluate/flags".to_string(),
    };
    let auth = format!("Bearer {key}");
    let mut headers = vec![
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
    ];
    headers.extend_from_slice(extra);
    let body = serde_json::to_vec(&json!({ "context": context })).unwrap();
    send(app, "POST", &path, &headers, body).await
}
