//! The client against the real edge code (`edgeflag-edge` over an in-memory KV, served
//! on a local port): fetching, `304`s, change events, background refresh, signing-key
//! rotations, pinned keys, and every way a snapshot is refused while the last good one
//! keeps serving. The Worker itself is exercised by `tests/worker.rs`.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::Duration,
};

use axum::{body::Body, extract::State};
use edgeflag::{Client, Context, Error, Event, Reason};
use edgeflag_edge::{
    Config, Edge, Request,
    keys::{KeyEntry, KeyIndex, KeyKind, hash_key},
    kv::{Kv, KvError},
};
use edgeflag_engine::envelope::{KeySet, SigningKey};
use serde_json::{Value, json};

const SERVER_KEY: &str = "efs_test_server_key_0123456789";
const CLIENT_KEY: &str = "efc_test_client_key_0123456789";
const ENV: &str = "production";

fn publisher(n: u8) -> SigningKey {
    SigningKey::from_seed(&format!("publisher-{n}"), [n; 32])
}

fn jwks(keys: &[&SigningKey]) -> String {
    let set = KeySet::new(keys.iter().map(|k| k.verifying_key()).collect());
    serde_json::to_string(&set.to_jwks()).unwrap()
}

/// The demo snapshot at `version`, with `new-checkout`'s default rule serving `default`.
fn snapshot(version: u64, default: &str) -> Value {
    let mut doc: Value =
        serde_json::from_str(include_str!("../../../examples/demo-snapshot.json")).unwrap();
    doc["environment"] = json!(ENV);
    doc["version"] = json!(version);
    for flag in doc["flags"].as_array_mut().unwrap() {
        if flag["key"] == "new-checkout" {
            flag["defaultRule"] = json!({"variation": default});
        }
    }
    doc
}

fn sign(by: &SigningKey, doc: &Value, aud: &str) -> String {
    let version = doc["version"].as_u64();
    by.sign(
        &serde_json::to_vec(doc).unwrap(),
        Some(ENV),
        version,
        Some(aud),
    )
}

/// An in-memory store that threads can share (the edge's own `MemoryKv` is for one thread).
#[derive(Default)]
struct MemoryKv(Mutex<std::collections::BTreeMap<String, Vec<u8>>>);

impl Kv for MemoryKv {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        Ok(self.0.lock().unwrap().get(key).cloned())
    }

    async fn put(&self, key: &str, value: &[u8]) -> Result<(), KvError> {
        self.0
            .lock()
            .unwrap()
            .insert(key.to_string(), value.to_vec());
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), KvError> {
        self.0.lock().unwrap().remove(key);
        Ok(())
    }
}

/// The edge's request handler on a local port, with a switch that tampers with the
/// server snapshot in flight and a count of snapshot requests.
struct TestEdge {
    url: String,
    edge: Arc<Edge>,
    kv: Arc<MemoryKv>,
    tamper: Arc<AtomicBool>,
    snapshot_requests: Arc<AtomicUsize>,
}

#[derive(Clone)]
struct Shared {
    edge: Arc<Edge>,
    kv: Arc<MemoryKv>,
    tamper: Arc<AtomicBool>,
    snapshot_requests: Arc<AtomicUsize>,
}

async fn serve(State(s): State<Shared>, req: axum::extract::Request) -> axum::response::Response {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, 1 << 24).await.unwrap();
    let mut edge_req =
        Request::new(parts.method.as_str(), &parts.uri.to_string()).body(body.to_vec());
    for (name, value) in &parts.headers {
        edge_req = edge_req.header(name.as_str(), value.to_str().unwrap_or_default());
    }
    if edge_req.path == "/v1/snapshot" {
        s.snapshot_requests.fetch_add(1, Ordering::SeqCst);
    }
    let tamper = s.tamper.load(Ordering::SeqCst) && edge_req.path == "/v1/snapshot";
    // The edge's futures need not be `Send`; run each request to completion on a blocking thread.
    let res = tokio::task::spawn_blocking(move || {
        pollster::block_on(s.edge.handle(&edge_req, &*s.kv, 1_795_608_000_000))
    })
    .await
    .unwrap();
    let mut body = res.body;
    if tamper && res.status == 200 {
        body = forge(&String::from_utf8(body).unwrap()).into_bytes();
    }
    let mut out = axum::response::Response::builder().status(res.status);
    for (name, value) in &res.headers {
        out = out.header(name, value);
    }
    out.body(Body::from(body)).unwrap()
}

/// The same JWS with one byte of its payload changed: the signature no longer matches.
fn forge(jws: &str) -> String {
    let mut parts: Vec<String> = jws.split('.').map(str::to_string).collect();
    let mut payload = parts[1].clone().into_bytes();
    payload[10] = if payload[10] == b'A' { b'B' } else { b'A' };
    parts[1] = String::from_utf8(payload).unwrap();
    parts.join(".")
}

impl TestEdge {
    /// An edge trusting `publisher-1`, holding `production` at `version`.
    async fn start(version: u64) -> Self {
        let trusted = jwks(&[&publisher(1)]);
        let config = Config::from_vars(|name| match name {
            "EDGEFLAG_TRUSTED_KEYS" => Some(trusted.clone()),
            "EDGEFLAG_REFRESH_INTERVAL_MS" => Some("0".into()),
            _ => None,
        })
        .unwrap();
        let shared = Shared {
            edge: Arc::new(Edge::new(config)),
            kv: Arc::new(MemoryKv::default()),
            tamper: Arc::new(AtomicBool::new(false)),
            snapshot_requests: Arc::new(AtomicUsize::new(0)),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let app = axum::Router::new()
            .fallback(serve)
            .with_state(shared.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let edge = Self {
            url,
            edge: shared.edge,
            kv: shared.kv,
            tamper: shared.tamper,
            snapshot_requests: shared.snapshot_requests,
        };
        edge.publish(&publisher(1), &snapshot(version, "off")).await;
        edge
    }

    async fn call(&self, req: Request) -> edgeflag_edge::Response {
        let (edge, kv) = (self.edge.clone(), self.kv.clone());
        tokio::task::spawn_blocking(move || {
            pollster::block_on(edge.handle(&req, &*kv, 1_795_608_000_000))
        })
        .await
        .unwrap()
    }

    async fn publish(&self, by: &SigningKey, doc: &Value) {
        let version = doc["version"].as_u64().unwrap();
        let keys = KeyIndex {
            environment: ENV.into(),
            version,
            keys: vec![
                KeyEntry {
                    hash: hash_key(SERVER_KEY),
                    kind: KeyKind::Server,
                    expires_at_ms: None,
                },
                KeyEntry {
                    hash: hash_key(CLIENT_KEY),
                    kind: KeyKind::Client,
                    expires_at_ms: None,
                },
            ],
            retired: false,
        };
        let mut client = doc.clone();
        client["flags"] = json!([]);
        let body = json!({
            "server": sign(by, doc, "server"),
            "client": sign(by, &client, "client"),
            "keys": sign(by, &serde_json::to_value(&keys).unwrap(), "keys"),
        });
        let req = Request::new("PUT", &format!("/publish/v1/environments/{ENV}"))
            .body(serde_json::to_vec(&body).unwrap());
        let res = self.call(req).await;
        assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    }

    /// `publisher-1` endorses `publisher-1` and `publisher-2`: the edge's JWKS grows.
    async fn endorse_second_key(&self) {
        let token = publisher(1).sign(
            jwks(&[&publisher(1), &publisher(2)]).as_bytes(),
            None,
            Some(1),
            Some("trusted-keys"),
        );
        let body = serde_json::to_vec(&json!({"jwks": token})).unwrap();
        let res = self
            .call(Request::new("PUT", "/publish/v1/trusted-keys").body(body))
            .await;
        assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    }

    fn client(&self) -> edgeflag::ClientBuilder {
        Client::builder()
            .url(&self.url)
            .server_key(SERVER_KEY)
            .refresh_interval(Duration::ZERO)
    }
}

fn visitor() -> Context {
    Context::from_json(br#"{"targetingKey":"user-2","email":"bob@example.org"}"#).unwrap()
}

fn staff() -> Context {
    Context::from_json(br#"{"targetingKey":"user-2","email":"ada@example.com"}"#).unwrap()
}

#[tokio::test]
async fn starts_from_the_edge_and_evaluates_locally() {
    let edge = TestEdge::start(1).await;
    let client = edge.client().environment(ENV).build().await.unwrap();
    assert_eq!(
        (client.version(), client.environment()),
        (1, ENV.to_string())
    );
    let details = client.bool_details("new-checkout", &staff(), false);
    assert_eq!(
        (
            details.value,
            details.reason,
            details.rule_id.as_deref(),
            details.flag_version
        ),
        (true, Reason::TargetingMatch, Some("staff"), Some(3))
    );
    assert!(!client.bool_value("new-checkout", &visitor(), true));
    // Typed getters answer the default with the error; the untyped answer has no value.
    let wrong = client.string_details("new-checkout", &staff(), "dflt");
    assert_eq!(
        (wrong.value.as_str(), wrong.error_code.map(|c| c.as_str())),
        ("dflt", Some("TYPE_MISMATCH"))
    );
    let missing = client.evaluate("nope", &staff());
    assert_eq!(
        (missing.value, missing.error_code.map(|c| c.as_str())),
        (None, Some("FLAG_NOT_FOUND"))
    );
    assert_eq!(
        client.int_value("search-results-per-page", &visitor(), 7),
        10
    );
    assert_eq!(
        client.number_value("search-results-per-page", &visitor(), 7.5),
        10.0
    );
    assert_eq!(
        client.json_value("pricing-page", &visitor(), json!(null))["layout"],
        "table"
    );
    assert_eq!(client.evaluate_all(&visitor()).len(), 4);
    assert_eq!(client.snapshot().flags().count(), 4);
}

#[tokio::test]
async fn refreshes_with_etags_and_announces_which_flags_changed() {
    let edge = TestEdge::start(1).await;
    let client = edge.client().build().await.unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    client.on_event(move |event| sink.lock().unwrap().push(event.clone()));
    assert_eq!(
        client.refresh().await.unwrap(),
        None,
        "nothing newer: a 304"
    );
    edge.publish(&publisher(1), &snapshot(2, "on")).await;
    let change = client.refresh().await.unwrap().expect("version 2");
    assert_eq!((change.version, change.previous_version), (2, 1));
    assert_eq!(change.flags, ["new-checkout"]);
    assert!(change.segments.is_empty());
    assert!(client.bool_value("new-checkout", &visitor(), false));
    assert_eq!(*seen.lock().unwrap(), [Event::Changed(change)]);
}

#[tokio::test]
async fn the_background_task_follows_the_edge() {
    let edge = TestEdge::start(1).await;
    let client = edge
        .client()
        .refresh_interval(Duration::from_millis(20))
        .build()
        .await
        .unwrap();
    let mut events = client.subscribe();
    edge.publish(&publisher(1), &snapshot(2, "on")).await;
    let event = tokio::time::timeout(Duration::from_secs(10), events.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(
        matches!(event, Event::Changed(ref c) if c.version == 2),
        "{event:?}"
    );
    assert!(client.bool_value("new-checkout", &visitor(), false));
    // Closing stops the polling.
    client.close();
    tokio::time::sleep(Duration::from_millis(60)).await;
    let after_close = edge.snapshot_requests.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(edge.snapshot_requests.load(Ordering::SeqCst), after_close);
    assert_eq!(client.refresh().await, Err(Error::Closed));
}

#[tokio::test]
async fn follows_a_signing_key_rotation_through_the_edge_jwks() {
    let edge = TestEdge::start(1).await;
    let client = edge.client().build().await.unwrap();
    edge.endorse_second_key().await;
    edge.publish(&publisher(2), &snapshot(2, "on")).await;
    let change = client
        .refresh()
        .await
        .unwrap()
        .expect("the snapshot signed by the new key");
    assert_eq!(change.version, 2);
    assert!(client.bool_value("new-checkout", &visitor(), false));
}

#[tokio::test]
async fn pinned_keys_are_never_widened_from_the_network() {
    let edge = TestEdge::start(1).await;
    let client = edge
        .client()
        .jwks(jwks(&[&publisher(1)]))
        .build()
        .await
        .unwrap();
    edge.endorse_second_key().await;
    edge.publish(&publisher(2), &snapshot(2, "on")).await;
    let refused = client.refresh().await.unwrap_err();
    assert_eq!(refused.code(), "UNKNOWN_KEY", "{refused}");
    assert_eq!(client.version(), 1);
    assert!(!client.bool_value("new-checkout", &visitor(), true));
}

#[tokio::test]
async fn a_tampered_snapshot_is_refused_and_the_last_good_one_serves() {
    let edge = TestEdge::start(1).await;
    let client = edge.client().build().await.unwrap();
    let errors = Arc::new(Mutex::new(Vec::new()));
    let sink = errors.clone();
    client.on_event(move |event| {
        if let Event::RefreshFailed(e) = event {
            sink.lock().unwrap().push(e.code());
        }
    });
    edge.publish(&publisher(1), &snapshot(2, "on")).await;
    edge.tamper.store(true, Ordering::SeqCst);
    let refused = client.refresh().await.unwrap_err();
    assert_eq!(refused.code(), "BAD_SIGNATURE", "{refused}");
    assert_eq!(client.version(), 1);
    assert!(!client.bool_value("new-checkout", &visitor(), true));
    // The refused response's ETag was not kept: once the edge answers honestly again,
    // the client gets the full snapshot rather than a 304.
    edge.tamper.store(false, Ordering::SeqCst);
    assert_eq!(client.refresh().await.unwrap().map(|c| c.version), Some(2));
    // A manual refresh reports its error to the caller, not to the listeners.
    assert!(errors.lock().unwrap().is_empty());
}

#[tokio::test]
async fn refuses_old_foreign_and_misdirected_snapshots() {
    let edge = TestEdge::start(5).await;
    let client = edge.client().environment(ENV).build().await.unwrap();
    let older = sign(&publisher(1), &snapshot(4, "on"), "server");
    assert_eq!(client.update(&older).unwrap_err().code(), "STALE_SNAPSHOT");
    let same = sign(&publisher(1), &snapshot(5, "on"), "server");
    assert_eq!(client.update(&same).unwrap(), None);
    let for_browsers = sign(&publisher(1), &snapshot(6, "on"), "client");
    assert_eq!(
        client.update(&for_browsers).unwrap_err().code(),
        "WRONG_SNAPSHOT"
    );
    let mut other_env = snapshot(6, "on");
    other_env["environment"] = json!("staging");
    let other = publisher(1).sign(
        &serde_json::to_vec(&other_env).unwrap(),
        Some("staging"),
        Some(6),
        Some("server"),
    );
    assert_eq!(client.update(&other).unwrap_err().code(), "WRONG_SNAPSHOT");
    let stranger = sign(&publisher(9), &snapshot(6, "on"), "server");
    assert_eq!(client.update(&stranger).unwrap_err().code(), "UNKNOWN_KEY");
    assert_eq!(client.update("not a jws").unwrap_err().code(), "MALFORMED");
    assert_eq!(client.version(), 5);
    assert!(!client.bool_value("new-checkout", &visitor(), true));
}

#[tokio::test]
async fn a_wrong_key_or_an_unreachable_edge_fails_the_start() {
    let edge = TestEdge::start(1).await;
    let err = Client::builder()
        .url(&edge.url)
        .server_key("efs_nope")
        .build()
        .await
        .unwrap_err();
    assert_eq!(err.code(), "FETCH_FAILED");
    assert!(err.to_string().contains("401"), "{err}");
    let err = Client::builder()
        .url(&edge.url)
        .server_key(CLIENT_KEY)
        .build()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("403"), "{err}");
    let err = Client::builder()
        .url("http://127.0.0.1:1")
        .server_key(SERVER_KEY)
        .build()
        .await
        .unwrap_err();
    assert_eq!(err.code(), "FETCH_FAILED");
}

#[test]
fn offline_from_a_bootstrap_file_with_pinned_keys() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("snapshot.jws");
    std::fs::write(&path, sign(&publisher(1), &snapshot(3, "on"), "server")).unwrap();
    let client = Client::builder()
        .jwks(jwks(&[&publisher(1)]))
        .bootstrap_file(&path)
        .build_blocking()
        .unwrap();
    assert_eq!(client.version(), 3);
    assert!(client.bool_value("new-checkout", &visitor(), false));
    // No edge to refresh from.
    assert_eq!(client.refresh_blocking().unwrap_err().code(), "CONFIG");
    // Offline needs pinned keys and a bootstrap that verifies.
    let no_keys = Client::builder()
        .bootstrap_file(&path)
        .build_blocking()
        .unwrap_err();
    assert_eq!(no_keys.code(), "CONFIG");
    let wrong_keys = Client::builder()
        .jwks(jwks(&[&publisher(2)]))
        .bootstrap_file(&path)
        .build_blocking()
        .unwrap_err();
    assert_eq!(wrong_keys.code(), "UNKNOWN_KEY");
    let missing = Client::builder()
        .jwks(jwks(&[&publisher(1)]))
        .bootstrap_file(dir.path().join("nope.jws"))
        .build_blocking()
        .unwrap_err();
    assert_eq!(missing.code(), "BOOTSTRAP");
}

#[test]
fn a_blocking_client_refreshes_on_its_own_thread() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let edge = runtime.block_on(TestEdge::start(1));
    let client = edge.client().build_blocking().unwrap();
    runtime.block_on(edge.publish(&publisher(1), &snapshot(2, "on")));
    assert_eq!(
        client.refresh_blocking().unwrap().map(|c| c.version),
        Some(2)
    );
    // A bootstrap older than the edge's snapshot serves at once, then the edge's replaces it.
    let old = sign(&publisher(1), &snapshot(1, "off"), "server");
    let client = edge
        .client()
        .bootstrap(old)
        .refresh_interval(Duration::from_millis(20))
        .build_blocking()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while client.version() != 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "the edge's snapshot never replaced the bootstrap"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}
