//! `Edge::answer_cached`, the synchronous answer from the isolate's cache: the same
//! answer and the same usage counts as `Edge::handle` when the cache is warm, and
//! nothing at all (no answer, no count, no state) when it is not.

use edgeflag_edge::{
    Config, Edge, MemoryKv, Request, Response,
    keys::{KeyEntry, KeyIndex, KeyKind, hash_key},
};
use edgeflag_engine::envelope::{KeySet, SigningKey};
use serde_json::{Value, json};

const NOW: i64 = 1_795_608_000_000;
const REFRESH_MS: i64 = 1_000;
const SERVER_KEY: &str = "srv_production_0123456789";
const CLIENT_KEY: &str = "cli_production_0123456789";

fn signer() -> SigningKey {
    SigningKey::from_seed("publisher-1", [7; 32])
}

/// An edge that counts usage, its batches named from a fixed seed so that two edges
/// given the same requests make the same batches.
fn edge() -> Edge {
    let jwks =
        serde_json::to_string(&KeySet::new(vec![signer().verifying_key()]).to_jwks()).unwrap();
    let config = Config::from_vars(|name| match name {
        "EDGEFLAG_TRUSTED_KEYS" => Some(jwks.clone()),
        "EDGEFLAG_REFRESH_INTERVAL_MS" => Some(REFRESH_MS.to_string()),
        "EDGEFLAG_USAGE_URL" => Some("https://admin.example.com".into()),
        "EDGEFLAG_USAGE_KEY" => Some("efi_test".into()),
        "EDGEFLAG_USAGE_INTERVAL_MS" => Some("60000".into()),
        _ => None,
    })
    .unwrap();
    Edge::with_seed(config, "twin")
}

fn publish_body() -> Vec<u8> {
    let mut doc: Value =
        serde_json::from_str(include_str!("../../examples/demo-snapshot.json")).unwrap();
    doc["environment"] = json!("production");
    doc["version"] = json!(1);
    let keys = KeyIndex {
        environment: "production".into(),
        version: 1,
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
    let signer = signer();
    let sign = |payload: &Value, aud: &str| {
        signer.sign(
            &serde_json::to_vec(payload).unwrap(),
            Some("production"),
            Some(1),
            Some(aud),
        )
    };
    let body = json!({
        "server": sign(&doc, "server"),
        "client": sign(&doc, "client"),
        "keys": sign(&serde_json::to_value(&keys).unwrap(), "keys"),
    });
    serde_json::to_vec(&body).unwrap()
}

fn call(edge: &Edge, kv: &MemoryKv, req: &Request, now: i64) -> Response {
    pollster::block_on(edge.handle(req, kv, now))
}

/// A KV holding `production` v1, published through another isolate.
fn stored() -> MemoryKv {
    let kv = MemoryKv::new();
    let req = Request::new("PUT", "/publish/v1/environments/production").body(publish_body());
    let res = call(&edge(), &kv, &req, NOW);
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    kv
}

fn ofrep(path: &str, auth: &str, body: &str) -> Request {
    Request::new("POST", path)
        .header("authorization", &format!("Bearer {auth}"))
        .header("content-type", "application/json")
        .body(body)
}

/// Requests of every kind the fast path meets: answers, flag errors, body errors,
/// key errors, a 304, and bodies over the limit.
fn requests() -> Vec<Request> {
    let single = "/ofrep/v1/evaluate/flags/new-checkout";
    let bulk = "/ofrep/v1/evaluate/flags";
    let context = r#"{"context": {"targetingKey": "user-1", "country": "DE"}}"#;
    let oversize = format!(
        r#"{{"context": {{"targetingKey": "{}"}}}}"#,
        "x".repeat(200_000)
    );
    vec![
        ofrep(single, SERVER_KEY, context),
        ofrep(bulk, SERVER_KEY, context),
        ofrep("/ofrep/v1/evaluate/flags/checkout-banner", SERVER_KEY, "{}"),
        ofrep("/ofrep/v1/evaluate/flags/no-such-flag", SERVER_KEY, context),
        ofrep("/ofrep/v1/evaluate/flags/", SERVER_KEY, context),
        ofrep(single, SERVER_KEY, "{not json"),
        ofrep(single, SERVER_KEY, r#"{"context": [1]}"#),
        ofrep(single, SERVER_KEY, r#"{"context": {"targetingKey": 5}}"#),
        ofrep(bulk, SERVER_KEY, r#"{"context": {}, "surprise": 1}"#),
        ofrep(single, SERVER_KEY, &oversize),
        ofrep(single, CLIENT_KEY, context),
        ofrep(single, "srv_unknown", context),
        Request::new("POST", single)
            .header("content-type", "application/json")
            .body(context),
        Request::new("POST", single)
            .header("x-api-key", SERVER_KEY)
            .header("content-type", "text/plain")
            .body(context),
        Request::new("GET", single).header("authorization", &format!("Bearer {SERVER_KEY}")),
    ]
}

#[test]
fn a_warm_cache_answers_exactly_as_handle_and_counts_the_same() {
    let kv = stored();
    let (slow, fast) = (edge(), edge());
    // Both isolates learn the environment and every key the requests use through
    // `handle`, as the Worker's first requests do.
    for req in requests() {
        call(&slow, &kv, &req, NOW);
        call(&fast, &kv, &req, NOW);
    }
    let bulk = call(&slow, &kv, &requests()[1], NOW);
    call(&fast, &kv, &requests()[1], NOW);
    let etag = bulk.get_header("etag").unwrap().to_string();
    let mut cases = requests();
    cases.push(
        ofrep(
            "/ofrep/v1/evaluate/flags",
            SERVER_KEY,
            r#"{"context": {"targetingKey": "user-1", "country": "DE"}}"#,
        )
        .header("if-none-match", &etag),
    );
    for req in &cases {
        let now = NOW + 10;
        let expected = call(&slow, &kv, req, now);
        let answered = fast.answer_cached(req, now);
        if req.method != "POST" {
            assert_eq!(answered, None, "{} {}", req.method, req.path);
            call(&fast, &kv, req, now);
            continue;
        }
        assert_eq!(answered.as_ref(), Some(&expected), "{}", req.path);
    }
    assert!(cases.iter().any(|r| {
        fast.answer_cached(r, NOW + 20)
            .is_some_and(|a| a.status == 304)
    }));
    // The same evaluations were counted, into the same batches.
    assert_eq!(
        slow.usage_flush(NOW + 20).len(),
        1,
        "the requests were counted"
    );
    fast.usage_flush(NOW + 20);
    for req in &cases {
        call(&slow, &kv, req, NOW + 30);
        if fast.answer_cached(req, NOW + 30).is_none() {
            call(&fast, &kv, req, NOW + 30);
        }
    }
    assert_eq!(counts(&slow), counts(&fast));
}

/// Every count waiting in `edge`'s usage, in a stable order (a batch lists them in the
/// order of a hash map).
fn counts(edge: &Edge) -> Vec<String> {
    let mut items: Vec<String> = edge
        .usage_flush(NOW + 40)
        .iter()
        .flat_map(|batch| {
            let body: Value = serde_json::from_slice(&batch.body).unwrap();
            body["items"].as_array().unwrap().clone()
        })
        .map(|item| item.to_string())
        .collect();
    items.sort();
    assert!(!items.is_empty());
    items
}

#[test]
fn a_cold_or_stale_cache_answers_nothing_and_changes_nothing() {
    let kv = stored();
    let edge = edge();
    let req = ofrep(
        "/ofrep/v1/evaluate/flags/new-checkout",
        SERVER_KEY,
        r#"{"context": {"targetingKey": "user-1"}}"#,
    );
    // A fresh isolate knows neither the key nor the environment.
    assert_eq!(edge.answer_cached(&req, NOW), None);
    assert!(edge.usage_flush(NOW).is_empty(), "nothing was counted");
    let health = Request::new("GET", "/healthz");
    assert_eq!(
        call(&edge, &kv, &health, NOW),
        call(&self::edge(), &kv, &health, NOW),
        "nothing was cached"
    );
    let answer = call(&edge, &kv, &req, NOW);
    assert_eq!(answer.status, 200);
    assert_eq!(edge.answer_cached(&req, NOW + 1).as_ref(), Some(&answer));
    // Past the refresh interval the snapshot must be checked in KV again.
    assert_eq!(edge.answer_cached(&req, NOW + REFRESH_MS), None);
    edge.usage_flush(NOW + REFRESH_MS);
    assert_eq!(call(&edge, &kv, &req, NOW + REFRESH_MS), answer);
    assert_eq!(
        edge.answer_cached(&req, NOW + REFRESH_MS + 1).as_ref(),
        Some(&answer)
    );
    // An unknown key is remembered as unknown, like a known one.
    let stranger = ofrep("/ofrep/v1/evaluate/flags/new-checkout", "srv_unknown", "{}");
    assert_eq!(edge.answer_cached(&stranger, NOW + REFRESH_MS + 1), None);
    let refused = call(&edge, &kv, &stranger, NOW + REFRESH_MS + 1);
    assert_eq!(refused.status, 401);
    assert_eq!(
        edge.answer_cached(&stranger, NOW + REFRESH_MS + 2),
        Some(refused)
    );
}

#[test]
fn other_routes_and_methods_are_never_answered() {
    let kv = stored();
    let edge = edge();
    let auth = format!("Bearer {SERVER_KEY}");
    call(
        &edge,
        &kv,
        &ofrep("/ofrep/v1/evaluate/flags", SERVER_KEY, "{}"),
        NOW,
    );
    for req in [
        Request::new("OPTIONS", "/ofrep/v1/evaluate/flags"),
        Request::new("GET", "/v1/flags").header("authorization", &auth),
        Request::new("POST", "/v1/evaluate").header("authorization", &auth),
        Request::new("GET", "/healthz"),
        Request::new("PUT", "/publish/v1/environments/production").body(publish_body()),
    ] {
        assert_eq!(edge.answer_cached(&req, NOW), None, "{}", req.path);
    }
}
