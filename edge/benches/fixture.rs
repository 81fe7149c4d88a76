//! The fixture the edge's benchmark (`benches/requests.rs`) and the instruction-count
//! example (`examples/fresh_instance.rs`) share: an edge with one environment published.

use edgeflag_edge::{
    Config, Edge, MemoryKv, Request,
    keys::{KeyEntry, KeyIndex, KeyKind, hash_key},
};
use edgeflag_engine::envelope::{KeySet, SigningKey};
use serde_json::{Value, json};

pub const NOW: i64 = 1_795_608_000_000;
pub const SERVER: &str = "srv_bench_0123456789";
pub const CLIENT: &str = "cli_bench_0123456789";

/// What the edge is configured with besides its trusted key.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Live updates (a stream secret).
    pub live: bool,
    /// Evaluation counts (an admin URL and an ingestion key).
    pub usage: bool,
    /// Sealed records (a seal secret), as production Spin apps are configured.
    pub sealed: bool,
}

/// The Worker load benchmark's 100 flags (`edge-worker/bench/load.mjs`).
pub fn hundred_flags() -> Value {
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

/// An edge configured with `options` that has published `doc` as `production` v1.
pub fn edge_with(mut doc: Value, options: Options) -> (Edge, MemoryKv) {
    let signer = SigningKey::from_seed("bench", [7; 32]);
    let jwks = serde_json::to_string(&KeySet::new(vec![signer.verifying_key()]).to_jwks())
        .unwrap_or_default();
    let config = Config::from_vars(|name| match name {
        "EDGEFLAG_TRUSTED_KEYS" => Some(jwks.clone()),
        "EDGEFLAG_REFRESH_INTERVAL_MS" => Some("3600000".into()),
        "EDGEFLAG_STREAM_SECRET" if options.live => {
            Some("a benchmark stream secret, 32 bytes+".into())
        }
        "EDGEFLAG_USAGE_URL" if options.usage => Some("http://admin.invalid".into()),
        "EDGEFLAG_USAGE_KEY" if options.usage => Some("efi_bench".into()),
        "EDGEFLAG_SEAL_SECRET" if options.sealed => {
            Some("a benchmark seal secret, 32 bytes+".into())
        }
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

/// The load benchmark's one-flag OFREP request.
pub fn single_request() -> Request {
    Request::new("POST", "/ofrep/v1/evaluate/flags/flag-00042")
        .header("authorization", &format!("Bearer {SERVER}"))
        .header("content-type", "application/json")
        .body(r#"{"context":{"targetingKey":"user-42","country":"NZ","email":"ada@example.org"}}"#)
}
