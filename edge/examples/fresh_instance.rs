//! What a fresh Spin instance does for one OFREP request, natively, `N` times: a new
//! edge reads, verifies and loads the stored documents (100 flags), then evaluates. For
//! counting instructions, which a busy machine does not disturb (BENCHMARKS.md, Spin):
//! `valgrind --tool=callgrind target/release/examples/fresh_instance 10`, minus the
//! same with `0` (the setup: signing and one publish). The fixture is the one of
//! `benches/requests.rs`.

use edgeflag_edge::{
    Config, Edge, MemoryKv, Request,
    keys::{KeyEntry, KeyIndex, KeyKind, hash_key},
};
use edgeflag_engine::envelope::{KeySet, SigningKey};
use serde_json::{Value, json};
const NOW: i64 = 1_795_608_000_000;
const SERVER: &str = "srv_bench_0123456789";
const CLIENT: &str = "cli_bench_0123456789";

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

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(0);
    let (edge, kv) = edge_with(hundred_flags(), false, false);
    let config = edge.config().clone();
    let single = Request::new("POST", "/ofrep/v1/evaluate/flags/flag-00042")
        .header("authorization", &format!("Bearer {SERVER}"))
        .header("content-type", "application/json")
        .body(r#"{"context":{"targetingKey":"user-42","country":"NZ","email":"ada@example.org"}}"#);
    for _ in 0..n {
        let r = pollster::block_on(Edge::new(config.clone()).handle(&single, &kv, NOW));
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    }
}
