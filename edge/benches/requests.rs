//! What one request costs in the shared edge, natively, with live updates off and on:
//! the per-request work a runtime adds around it (HTTP, KV) is measured by the Worker's
//! load benchmark. With live updates on, OFREP answers and the client snapshot carry a
//! freshly minted stream URL (a SHA-256 and two HMAC-SHA256 more per request).
//! With evaluation counting on (`/usage on`), each evaluation also updates the
//! isolate's in-memory counts (sending them is the adapter's, after the response).
//! The `fresh instance` group is what the Spin app pays per request (a fresh instance
//! per request reloads the environment from the key-value store).
//! Run: `cargo bench -p edgeflag-edge --bench requests`.

use criterion::{Criterion, criterion_group, criterion_main};
use edgeflag_edge::{
    Config, Edge, MemoryKv, Request,
    keys::{KeyEntry, KeyIndex, KeyKind, hash_key},
};
use edgeflag_engine::envelope::{KeySet, SigningKey};
use serde_json::{Value, json};

const NOW: i64 = 1_795_608_000_000;
const SERVER: &str = "srv_bench_0123456789";
const CLIENT: &str = "cli_bench_0123456789";

fn edge(live: bool, usage: bool) -> (Edge, MemoryKv) {
    let doc: Value =
        serde_json::from_str(include_str!("../../examples/demo-snapshot.json")).unwrap_or_default();
    edge_with(doc, live, usage)
}

/// The Worker load benchmark's 100 flags (`edge-worker/bench/load.mjs`).
fn hundred_flags() -> Value {
    let flags: Vec<Value> = (0..100)
        .map(|i| {
            json!({"key": format!("flag-{i:05}"), "version": 1, "type": "boolean", "enabled": true,
                "offVariation": "off", "variations": [{"key": "on", "value": true}, {"key": "off", "value": false}],
                "rules": [{"id": "r0", "serve": {"variation": "on"}, "conditions": [
                    {"attribute": "country", "op": "in", "values": ["DE", "AT", "CH"]},
                    {"attribute": "email", "op": "endsWith", "values": ["@example.com"]}]}],
                "defaultRule": {"rollout": {"variations": [
                    {"variation": "on", "weight": 50000}, {"variation": "off", "weight": 50000}]}}})
        })
        .collect();
    json!({"schemaVersion": 1, "generatedAt": "2026-11-25T12:00:00Z", "flags": flags, "segments": []})
}

/// The client snapshot as the admin builds it: the client-visible flags.
fn client_subset(doc: &Value) -> Value {
    let mut client = doc.clone();
    let visible: Vec<Value> = doc["flags"]
        .as_array()
        .map(|flags| {
            flags
                .iter()
                .filter(|f| f["clientVisible"] == json!(true))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    client["flags"] = json!(visible);
    client
}

fn edge_with(mut doc: Value, live: bool, usage: bool) -> (Edge, MemoryKv) {
    let signer = SigningKey::from_seed("bench", [7; 32]);
    let jwks = serde_json::to_string(&KeySet::new(vec![signer.verifying_key()]).to_jwks())
        .unwrap_or_default();
    let config = Config::from_vars(|name| match name {
        "EDGEFLAG_TRUSTED_KEYS" => Some(jwks.clone()),
        "EDGEFLAG_REFRESH_INTERVAL_MS" => Some("3600000".into()),
        "EDGEFLAG_STREAM_SECRET" if live => Some("a benchmark stream secret, 32 bytes+".into()),
        "EDGEFLAG_USAGE_URL" if usage => Some("http://admin.invalid".into()),
        "EDGEFLAG_USAGE_KEY" if usage => Some("efi_bench".into()),
        _ => None,
    });
    let edge = Edge::new(config.unwrap_or_default());
    let kv = MemoryKv::new();
    doc["environment"] = json!("production");
    doc["version"] = json!(1);
    let keys = KeyIndex {
        environment: "production".into(),
        version: 1,
        keys: vec![
            KeyEntry {
                hash: hash_key(SERVER),
                kind: KeyKind::Server,
                expires_at_ms: None,
            },
            KeyEntry {
                hash: hash_key(CLIENT),
                kind: KeyKind::Client,
                expires_at_ms: None,
            },
        ],
        retired: false,
    };
    let sign = |payload: &Value, aud: &str| {
        signer.sign(
            &serde_json::to_vec(payload).unwrap_or_default(),
            Some("production"),
            Some(1),
            Some(aud),
        )
    };
    let body = json!({
        "server": sign(&doc, "server"),
        "client": sign(&client_subset(&doc), "client"),
        "keys": sign(&serde_json::to_value(&keys).unwrap_or_default(), "keys"),
    });
    let publish = Request::new("PUT", "/publish/v1/environments/production")
        .body(serde_json::to_vec(&body).unwrap_or_default());
    let res = pollster::block_on(edge.handle(&publish, &kv, NOW));
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    (edge, kv)
}

fn requests(c: &mut Criterion) {
    let ofrep = |path: &str| {
        Request::new("POST", path)
            .header("authorization", &format!("Bearer {SERVER}"))
            .header("content-type", "application/json")
            .body(r#"{"context":{"targetingKey":"user-1","email":"ada@example.com"}}"#)
    };
    let cases = [
        (
            "ofrep single",
            ofrep("/ofrep/v1/evaluate/flags/new-checkout"),
        ),
        ("ofrep bulk", ofrep("/ofrep/v1/evaluate/flags")),
        (
            "client snapshot",
            Request::new("GET", &format!("/.well-known/flags/{CLIENT}")),
        ),
    ];
    for (live, usage) in [(false, false), (true, false), (false, true)] {
        let (edge, kv) = edge(live, usage);
        for (name, req) in &cases {
            let id = if usage {
                format!("{name}/usage on")
            } else {
                format!("{name}/live {}", if live { "on" } else { "off" })
            };
            c.bench_function(&id, |b| {
                b.iter(|| pollster::block_on(edge.handle(req, &kv, NOW)));
            });
        }
    }
}

/// What Spin pays: a fresh instance per request, so a fresh edge that reads, verifies
/// and loads the stored documents before it answers; `/healthz` loads nothing.
fn fresh_instance(c: &mut Criterion) {
    let (edge, kv) = edge_with(hundred_flags(), false, false);
    let config = edge.config().clone();
    let single = Request::new("POST", "/ofrep/v1/evaluate/flags/flag-00042")
        .header("authorization", &format!("Bearer {SERVER}"))
        .header("content-type", "application/json")
        .body(r#"{"context":{"targetingKey":"user-42","country":"NZ","email":"ada@example.org"}}"#);
    let health = Request::new("GET", "/healthz");
    for (name, req) in [("ofrep single", &single), ("healthz", &health)] {
        let answer = pollster::block_on(Edge::new(config.clone()).handle(req, &kv, NOW));
        assert_eq!(
            answer.status,
            200,
            "{}",
            String::from_utf8_lossy(&answer.body)
        );
        c.bench_function(&format!("fresh instance, 100 flags/{name}"), |b| {
            b.iter(|| pollster::block_on(Edge::new(config.clone()).handle(req, &kv, NOW)));
        });
    }
}

criterion_group!(benches, requests, fresh_instance);
criterion_main!(benches);
