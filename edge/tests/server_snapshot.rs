//! `GET /v1/snapshot`, natively: the signed server snapshot for server SDKs, with the
//! key in a header, `ETag`/`304`, and only ever the document the edge verified.

use base64ct::{Base64UrlUnpadded, Encoding};
use edgeflag_edge::{
    Config, Edge, MemoryKv, Request, Response,
    keys::{KeyEntry, KeyIndex, KeyKind, hash_key},
    kv::Kv,
    layout,
};
use edgeflag_engine::{
    accept::{self, Policy},
    envelope::{KeySet, SigningKey},
};
use serde_json::{Value, json};

const NOW: i64 = 1_795_608_000_000;
const SERVER_KEY: &str = "srv_production_0123456789";
const CLIENT_KEY: &str = "cli_production_0123456789";

fn signer() -> SigningKey {
    SigningKey::from_seed("publisher-1", [7; 32])
}

fn trusted() -> KeySet {
    KeySet::new(vec![signer().verifying_key()])
}

fn edge() -> Edge {
    let jwks = serde_json::to_string(&trusted().to_jwks()).unwrap();
    let config = Config::from_vars(|name| match name {
        "EDGEFLAG_TRUSTED_KEYS" => Some(jwks.clone()),
        "EDGEFLAG_REFRESH_INTERVAL_MS" => Some("0".into()),
        _ => None,
    })
    .unwrap();
    Edge::new(config)
}

fn demo(version: u64) -> Value {
    let mut doc: Value =
        serde_json::from_str(include_str!("../../examples/demo-snapshot.json")).unwrap();
    doc["environment"] = json!("production");
    doc["version"] = json!(version);
    doc
}

fn publish(edge: &Edge, kv: &MemoryKv, version: u64) {
    let doc = demo(version);
    let keys = KeyIndex {
        environment: "production".into(),
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
    let sign = |payload: &Value, aud: &str| {
        signer().sign(
            &serde_json::to_vec(payload).unwrap(),
            Some("production"),
            Some(version),
            Some(aud),
        )
    };
    let body = json!({
        "server": sign(&doc, "server"),
        "client": sign(&client, "client"),
        "keys": sign(&serde_json::to_value(&keys).unwrap(), "keys"),
    });
    let req = Request::new("PUT", "/publish/v1/environments/production")
        .body(serde_json::to_vec(&body).unwrap());
    let res = call(edge, kv, req);
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
}

fn call(edge: &Edge, kv: &MemoryKv, req: Request) -> Response {
    pollster::block_on(edge.handle(&req, kv, NOW))
}

fn get(auth: Option<(&str, &str)>) -> Request {
    let req = Request::new("GET", "/v1/snapshot");
    match auth {
        Some((header, value)) => req.header(header, value),
        None => req,
    }
}

fn error_code(res: &Response) -> Value {
    serde_json::from_slice::<Value>(&res.body).unwrap()["error"]["code"].clone()
}

#[test]
fn serves_the_signed_server_snapshot_to_a_server_key() {
    let (edge, kv) = (edge(), MemoryKv::new());
    publish(&edge, &kv, 3);
    let bearer = format!("Bearer {SERVER_KEY}");
    let res = call(&edge, &kv, get(Some(("authorization", &bearer))));
    assert_eq!(res.status, 200);
    assert_eq!(res.get_header("content-type"), Some("application/jose"));
    assert_eq!(res.get_header("cache-control"), Some("private, no-cache"));
    let token = String::from_utf8(res.body.clone()).unwrap();
    // What a server SDK does with it: verify and accept under the server policy.
    let accepted = accept::accept(&token, &trusted(), &Policy::server("production"), None)
        .unwrap()
        .unwrap();
    assert_eq!(accepted.loaded.snapshot.version(), 3);
    assert_eq!(
        accepted.loaded.snapshot.len(),
        4,
        "every flag, not only client-visible ones"
    );
    // The same document with the key in `X-API-Key`.
    let res = call(&edge, &kv, get(Some(("x-api-key", SERVER_KEY))));
    assert_eq!(String::from_utf8(res.body).unwrap(), token);
}

#[test]
fn answers_304_to_the_etag_it_gave_and_200_after_a_publish() {
    let (edge, kv) = (edge(), MemoryKv::new());
    publish(&edge, &kv, 3);
    let bearer = format!("Bearer {SERVER_KEY}");
    let first = call(&edge, &kv, get(Some(("authorization", &bearer))));
    let etag = first.get_header("etag").unwrap().to_string();
    let again = get(Some(("authorization", &bearer))).header("if-none-match", &etag);
    let res = call(&edge, &kv, again.clone());
    assert_eq!((res.status, res.body.len()), (304, 0));
    publish(&edge, &kv, 4);
    let res = call(&edge, &kv, again);
    assert_eq!(res.status, 200);
    assert_ne!(res.get_header("etag"), Some(etag.as_str()));
}

#[test]
fn refuses_missing_unknown_and_client_keys() {
    let (edge, kv) = (edge(), MemoryKv::new());
    publish(&edge, &kv, 3);
    let res = call(&edge, &kv, get(None));
    assert_eq!((res.status, error_code(&res)), (401, json!("UNAUTHORIZED")));
    let res = call(&edge, &kv, get(Some(("authorization", "Bearer nope"))));
    assert_eq!(res.status, 401);
    let bearer = format!("Bearer {CLIENT_KEY}");
    let res = call(&edge, &kv, get(Some(("authorization", &bearer))));
    assert_eq!((res.status, error_code(&res)), (403, json!("FORBIDDEN")));
    // The key never goes in the URL: a query parameter is not a key.
    let res = call(
        &edge,
        &kv,
        Request::new("GET", &format!("/v1/snapshot?key={SERVER_KEY}")),
    );
    assert_eq!(res.status, 401);
}

#[test]
fn a_corrupt_stored_snapshot_never_reaches_an_sdk() {
    let (edge, kv) = (edge(), MemoryKv::new());
    publish(&edge, &kv, 3);
    let bearer = format!("Bearer {SERVER_KEY}");
    let good = call(&edge, &kv, get(Some(("authorization", &bearer)))).body;
    // Someone with write access to KV swaps the payload and bumps the version pointer.
    let token = String::from_utf8(good.clone()).unwrap();
    let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
    let payload = Base64UrlUnpadded::decode_vec(&parts[1]).unwrap();
    let forged =
        String::from_utf8(payload)
            .unwrap()
            .replacen("\"enabled\":true", "\"enabled\":false", 1);
    parts[1] = Base64UrlUnpadded::encode_string(forged.as_bytes());
    pollster::block_on(async {
        kv.put(
            &layout::server_snapshot("production"),
            parts.join(".").as_bytes(),
        )
        .await
        .unwrap();
        kv.put(&layout::version("production"), b"4").await.unwrap();
    });
    let res = call(&edge, &kv, get(Some(("authorization", &bearer))));
    assert_eq!(res.status, 200);
    assert_eq!(res.body, good, "the last verified document keeps serving");
}
