//! The edge end to end, natively: publish signed documents into an in-memory KV,
//! then call every surface through `Edge::handle`, as the Worker and the Spin app do.

use edgeflag_edge::{
    Config, Edge, MemoryKv, Request, Response,
    keys::{KeyEntry, KeyIndex, KeyKind, hash_key},
    kv::Kv,
    layout,
    live::{Handoff, StreamGrant},
};
use edgeflag_engine::envelope::{KeySet, SigningKey};
use serde_json::{Value, json};

const NOW: i64 = 1_795_608_000_000;
const SERVER_KEY: &str = "srv_production_0123456789";
const CLIENT_KEY: &str = "cli_production_0123456789";

fn signer() -> SigningKey {
    SigningKey::from_seed("publisher-1", [7; 32])
}

fn edge() -> Edge {
    edge_with(None)
}

const SEAL_SECRET: &str = "a seal secret of at least 32 bytes, for tests";

/// An edge that writes and reads sealed records (`sealed.rs`), as a Spin app does.
fn sealed_edge() -> Edge {
    edge_with(Some(SEAL_SECRET))
}

fn edge_with(seal: Option<&str>) -> Edge {
    let jwks =
        serde_json::to_string(&KeySet::new(vec![signer().verifying_key()]).to_jwks()).unwrap();
    let config = Config::from_vars(|name| match name {
        "EDGEFLAG_TRUSTED_KEYS" => Some(jwks.clone()),
        "EDGEFLAG_REFRESH_INTERVAL_MS" => Some("1000".into()),
        "EDGEFLAG_SEAL_SECRET" => seal.map(str::to_string),
        _ => None,
    })
    .unwrap();
    Edge::new(config)
}

fn demo(env: &str, version: u64) -> Value {
    let mut doc: Value =
        serde_json::from_str(include_str!("../../examples/demo-snapshot.json")).unwrap();
    doc["environment"] = json!(env);
    doc["version"] = json!(version);
    doc
}

fn client_subset(doc: &Value) -> Value {
    let mut client = doc.clone();
    let flags: Vec<Value> = doc["flags"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["clientVisible"] == json!(true))
        .cloned()
        .collect();
    client["flags"] = json!(flags);
    client
}

fn keys(env: &str, version: u64, server: &str, client: &str, extra: Vec<KeyEntry>) -> KeyIndex {
    let mut keys = vec![
        KeyEntry {
            hash: hash_key(server),
            kind: KeyKind::Server,
            expires_at_ms: None,
        },
        KeyEntry {
            hash: hash_key(client),
            kind: KeyKind::Client,
            expires_at_ms: None,
        },
    ];
    keys.extend(extra);
    KeyIndex {
        environment: env.into(),
        version,
        keys,
        retired: false,
    }
}

fn publish_body(doc: &Value, keys: &KeyIndex, signer: &SigningKey) -> Vec<u8> {
    let env = doc["environment"].as_str().unwrap();
    let ver = doc["version"].as_u64().unwrap();
    let sign = |payload: &[u8], aud: &str| signer.sign(payload, Some(env), Some(ver), Some(aud));
    let body = json!({
        "server": sign(&serde_json::to_vec(doc).unwrap(), "server"),
        "client": sign(&serde_json::to_vec(&client_subset(doc)).unwrap(), "client"),
        "keys": sign(&serde_json::to_vec(keys).unwrap(), "keys"),
    });
    serde_json::to_vec(&body).unwrap()
}

fn call(edge: &Edge, kv: &MemoryKv, req: Request, now: i64) -> Response {
    pollster::block_on(edge.handle(&req, kv, now))
}

fn json_of(res: &Response) -> Value {
    serde_json::from_slice(&res.body).unwrap_or(Value::Null)
}

fn publish(edge: &Edge, kv: &MemoryKv, body: Vec<u8>, env: &str) -> Response {
    call(
        edge,
        kv,
        Request::new("PUT", &format!("/publish/v1/environments/{env}")).body(body),
        NOW,
    )
}

fn ofrep(key: Option<&str>, auth: &str, context: Value) -> Request {
    let path = match key {
        Some(key) => format!("/ofrep/v1/evaluate/flags/{key}"),
        None => "/ofrep/v1/evaluate/flags".into(),
    };
    Request::new("POST", &path)
        .header("authorization", &format!("Bearer {auth}"))
        .header("content-type", "application/json")
        .body(serde_json::to_vec(&json!({"context": context})).unwrap())
}

/// An edge with `production` v1 published.
fn published() -> (Edge, MemoryKv) {
    let (edge, kv) = (edge(), MemoryKv::new());
    let doc = demo("production", 1);
    let res = publish(
        &edge,
        &kv,
        publish_body(
            &doc,
            &keys("production", 1, SERVER_KEY, CLIENT_KEY, vec![]),
            &signer(),
        ),
        "production",
    );
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    (edge, kv)
}

#[test]
fn publish_then_evaluate_over_ofrep() {
    let (edge, kv) = published();
    let res = call(
        &edge,
        &kv,
        ofrep(
            Some("new-checkout"),
            SERVER_KEY,
            json!({"targetingKey": "user-2", "email": "ada@example.com"}),
        ),
        NOW,
    );
    assert_eq!(res.status, 200);
    assert_eq!(
        json_of(&res),
        json!({"key": "new-checkout", "value": true, "reason": "TARGETING_MATCH", "variant": "on",
               "metadata": {"flagVersion": 3}})
    );
    let missing = call(&edge, &kv, ofrep(Some("nope"), SERVER_KEY, json!({})), NOW);
    assert_eq!(missing.status, 404);
    assert_eq!(json_of(&missing)["errorCode"], "FLAG_NOT_FOUND");
    let no_key = call(
        &edge,
        &kv,
        ofrep(Some("new-checkout"), SERVER_KEY, json!({"plan": "x"})),
        NOW,
    );
    assert_eq!(
        (no_key.status, json_of(&no_key)["errorCode"].clone()),
        (400, json!("TARGETING_KEY_MISSING"))
    );
    assert!(kv.keys().contains(&layout::version("production")));
}

#[test]
fn bulk_evaluation_carries_an_etag_and_answers_304() {
    let (edge, kv) = published();
    let res = call(
        &edge,
        &kv,
        ofrep(None, SERVER_KEY, json!({"targetingKey": "user-1"})),
        NOW,
    );
    assert_eq!(res.status, 200);
    let body = json_of(&res);
    assert_eq!(body["flags"].as_array().unwrap().len(), 4);
    assert_eq!(
        body["flags"][3],
        json!({"key": "search-results-per-page", "value": 10, "reason": "DEFAULT", "variant": "ten", "metadata": {"flagVersion": 2}})
    );
    let etag = res.get_header("etag").unwrap().to_string();
    let again = call(
        &edge,
        &kv,
        ofrep(None, SERVER_KEY, json!({"targetingKey": "user-1"})).header("if-none-match", &etag),
        NOW,
    );
    assert_eq!((again.status, again.body.len()), (304, 0));
    let other = call(
        &edge,
        &kv,
        ofrep(None, SERVER_KEY, json!({"targetingKey": "qa-1"})).header("if-none-match", &etag),
        NOW,
    );
    assert_eq!(
        other.status, 200,
        "another context gives another body and another ETag"
    );
}

#[test]
fn publishes_are_refused_unless_signed_trusted_consistent_and_newer() {
    let (edge, kv) = published();
    let keys2 = keys("production", 2, SERVER_KEY, CLIENT_KEY, vec![]);
    let stranger = SigningKey::from_seed("publisher-1", [9; 32]);
    let unknown_kid = SigningKey::from_seed("somebody", [7; 32]);
    let cases: Vec<(Vec<u8>, &str, u16, &str)> = vec![
        (
            publish_body(&demo("production", 2), &keys2, &stranger),
            "production",
            401,
            "UNAUTHORIZED",
        ),
        (
            publish_body(&demo("production", 2), &keys2, &unknown_kid),
            "production",
            401,
            "UNAUTHORIZED",
        ),
        (
            publish_body(
                &demo("production", 1),
                &keys("production", 1, SERVER_KEY, CLIENT_KEY, vec![]),
                &signer(),
            ),
            "production",
            409,
            "STALE_VERSION",
        ),
        (
            publish_body(&demo("production", 2), &keys2, &signer()),
            "staging",
            400,
            "PARSE_ERROR",
        ),
        (b"not json".to_vec(), "production", 400, "PARSE_ERROR"),
        (
            br#"{"server":"a.b.c","client":"a.b.c","keys":"a.b.c"}"#.to_vec(),
            "production",
            400,
            "PARSE_ERROR",
        ),
        (
            br#"{"server":"x","client":"y","keys":"z","extra":1}"#.to_vec(),
            "production",
            400,
            "PARSE_ERROR",
        ),
    ];
    for (body, env, status, code) in cases {
        let res = publish(&edge, &kv, body, env);
        assert_eq!(
            (res.status, json_of(&res)["error"]["code"].clone()),
            (status, json!(code)),
            "{}",
            String::from_utf8_lossy(&res.body)
        );
    }
    let res = publish(
        &edge,
        &kv,
        publish_body(&demo("production", 2), &keys2, &signer()),
        "production",
    );
    assert_eq!(
        (res.status, json_of(&res)["version"].clone()),
        (200, json!(2))
    );
}

#[test]
fn keys_are_checked_by_kind_and_environment() {
    let (edge, kv) = published();
    let mut staging = demo("staging", 1);
    staging["flags"].as_array_mut().unwrap().push(json!({
        "key": "staging-only", "type": "boolean", "enabled": true, "offVariation": "off",
        "variations": [{"key": "on", "value": true}, {"key": "off", "value": false}],
        "defaultRule": {"variation": "on"}}));
    let res = publish(
        &edge,
        &kv,
        publish_body(
            &staging,
            &keys("staging", 1, "srv_staging", "cli_staging", vec![]),
            &signer(),
        ),
        "staging",
    );
    assert_eq!(res.status, 200);
    let ctx = json!({"targetingKey": "u"});
    assert_eq!(
        call(
            &edge,
            &kv,
            ofrep(Some("staging-only"), "srv_staging", ctx.clone()),
            NOW
        )
        .status,
        200
    );
    assert_eq!(
        call(
            &edge,
            &kv,
            ofrep(Some("staging-only"), SERVER_KEY, ctx.clone()),
            NOW
        )
        .status,
        404
    );
    let client = call(
        &edge,
        &kv,
        ofrep(Some("new-checkout"), CLIENT_KEY, ctx.clone()),
        NOW,
    );
    assert_eq!(client.status, 403);
    assert_eq!(
        call(
            &edge,
            &kv,
            ofrep(Some("new-checkout"), "nonsense", ctx.clone()),
            NOW
        )
        .status,
        401
    );
    let anonymous = Request::new("POST", "/ofrep/v1/evaluate/flags/new-checkout");
    assert_eq!(call(&edge, &kv, anonymous, NOW).status, 401);
    let via_header = Request::new("GET", "/v1/flags").header("X-API-Key", SERVER_KEY);
    assert_eq!(call(&edge, &kv, via_header, NOW).status, 200);
}

#[test]
fn rotated_keys_work_until_their_grace_period_ends() {
    let (edge, kv) = (edge(), MemoryKv::new());
    let old = KeyEntry {
        hash: hash_key("srv_old"),
        kind: KeyKind::Server,
        expires_at_ms: Some(NOW + 60_000),
    };
    let body = publish_body(
        &demo("production", 1),
        &keys("production", 1, SERVER_KEY, CLIENT_KEY, vec![old]),
        &signer(),
    );
    assert_eq!(publish(&edge, &kv, body, "production").status, 200);
    let ctx = json!({"targetingKey": "u"});
    assert_eq!(
        call(
            &edge,
            &kv,
            ofrep(Some("new-checkout"), "srv_old", ctx.clone()),
            NOW
        )
        .status,
        200
    );
    assert_eq!(
        call(
            &edge,
            &kv,
            ofrep(Some("new-checkout"), "srv_old", ctx.clone()),
            NOW + 60_000
        )
        .status,
        401
    );
    // Dropping the key from the index removes its record from KV too.
    let body = publish_body(
        &demo("production", 2),
        &keys("production", 2, SERVER_KEY, CLIENT_KEY, vec![]),
        &signer(),
    );
    assert_eq!(publish(&edge, &kv, body, "production").status, 200);
    assert!(!kv.keys().contains(&layout::sdk_key(&hash_key("srv_old"))));
}

#[test]
fn the_client_snapshot_is_served_signed_to_client_keys_only() {
    let (edge, kv) = published();
    let res = call(
        &edge,
        &kv,
        Request::new("GET", &format!("/.well-known/flags/{CLIENT_KEY}")),
        NOW,
    );
    assert_eq!(
        (res.status, res.get_header("content-type")),
        (200, Some("application/jose"))
    );
    let trusted = KeySet::new(vec![signer().verifying_key()]);
    let verified =
        edgeflag_engine::envelope::verify(std::str::from_utf8(&res.body).unwrap(), &trusted)
            .unwrap();
    assert_eq!(verified.header.aud.as_deref(), Some("client"));
    let snapshot: Value = serde_json::from_slice(&verified.payload).unwrap();
    let keys: Vec<&str> = snapshot["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["key"].as_str().unwrap())
        .collect();
    assert_eq!(
        keys,
        ["new-checkout", "checkout-banner"],
        "server-only flags stay out"
    );
    let etag = res.get_header("etag").unwrap().to_string();
    let again = Request::new("GET", &format!("/.well-known/flags/{CLIENT_KEY}"))
        .header("If-None-Match", &etag);
    assert_eq!(call(&edge, &kv, again, NOW).status, 304);
    let with_server_key = call(
        &edge,
        &kv,
        Request::new("GET", &format!("/.well-known/flags/{SERVER_KEY}")),
        NOW,
    );
    assert_eq!(with_server_key.status, 403);
    let jwks = json_of(&call(
        &edge,
        &kv,
        Request::new("GET", "/.well-known/jwks.json"),
        NOW,
    ));
    assert_eq!(jwks["keys"][0]["kid"], "publisher-1");
}

#[test]
fn bad_input_gets_a_clear_error_in_the_protocol_shape() {
    let (edge, kv) = published();
    let base = || {
        Request::new("POST", "/ofrep/v1/evaluate/flags/new-checkout")
            .header("authorization", &format!("Bearer {SERVER_KEY}"))
    };
    let cases = [
        (
            base()
                .header("content-type", "application/json")
                .body("{not json"),
            400,
            "PARSE_ERROR",
        ),
        (
            base()
                .header("content-type", "application/json")
                .body(r#"{"context": [1]}"#),
            400,
            "INVALID_CONTEXT",
        ),
        (
            base()
                .header("content-type", "application/json")
                .body(r#"{"context": {"targetingKey": 5}}"#),
            400,
            "INVALID_CONTEXT",
        ),
        (
            base()
                .header("content-type", "application/json")
                .body(r#"{"context": {}, "surprise": 1}"#),
            400,
            "PARSE_ERROR",
        ),
        (
            base()
                .header("content-type", "text/plain")
                .body(r#"{"context": {}}"#),
            415,
            "UNSUPPORTED_MEDIA_TYPE",
        ),
        (
            base()
                .header("content-type", "application/json")
                .body(vec![b' '; 70_000]),
            413,
            "PAYLOAD_TOO_LARGE",
        ),
    ];
    for (req, status, code) in cases {
        let res = call(&edge, &kv, req, NOW);
        let body = json_of(&res);
        assert_eq!(
            (res.status, body["errorCode"].clone()),
            (status, json!(code)),
            "{body}"
        );
        assert_eq!(body["key"], "new-checkout");
        assert!(body["errorDetails"].as_str().is_some_and(|d| !d.is_empty()));
    }
    let native = call(&edge, &kv, Request::new("GET", "/v1/nothing-here"), NOW);
    assert_eq!(
        (native.status, json_of(&native)["error"]["code"].clone()),
        (404, json!("NOT_FOUND"))
    );
    let preflight = call(
        &edge,
        &kv,
        Request::new("OPTIONS", "/ofrep/v1/evaluate/flags"),
        NOW,
    );
    assert_eq!(
        (
            preflight.status,
            preflight.get_header("access-control-allow-origin")
        ),
        (204, Some("*"))
    );
    // A preflight names what a browser may send, for a day; an actual answer only who
    // may read it and which headers (browsers read the rest on preflights alone).
    assert_eq!(
        preflight.get_header("access-control-allow-headers"),
        Some("authorization, x-api-key, content-type, if-none-match, last-event-id")
    );
    assert_eq!(
        preflight.get_header("access-control-max-age"),
        Some("86400")
    );
    assert_eq!(
        native.get_header("access-control-expose-headers"),
        Some("etag, edgeflag-event-stream")
    );
    assert_eq!(native.get_header("access-control-allow-origin"), Some("*"));
    assert_eq!(native.get_header("access-control-allow-methods"), None);
    assert_eq!(native.get_header("access-control-allow-headers"), None);
}

#[test]
fn native_api_evaluates_from_query_or_body_with_full_detail() {
    let (edge, kv) = published();
    let auth = format!("Bearer {SERVER_KEY}");
    let get = Request::new(
        "GET",
        "/v1/evaluate?flag=new-checkout&flag=nope&targetingKey=user-9&email=bob%40example.com",
    )
    .header("authorization", &auth);
    let body = json_of(&call(&edge, &kv, get, NOW));
    assert_eq!(body["snapshotVersion"], 1);
    assert_eq!(
        body["flags"]["new-checkout"],
        json!({"value": true, "variant": "on", "reason": "TARGETING_MATCH", "ruleIndex": 0, "ruleId": "staff", "flagVersion": 3})
    );
    assert_eq!(body["flags"]["nope"]["errorCode"], "FLAG_NOT_FOUND");
    assert!(body["flags"]["nope"]["errorMessage"].as_str().is_some());
    let post = Request::new("POST", "/v1/evaluate")
        .header("authorization", &auth)
        .header("content-type", "application/json")
        .body(r#"{"context": {"targetingKey": "user-1"}}"#);
    let body = json_of(&call(&edge, &kv, post, NOW));
    assert_eq!(body["flags"].as_object().unwrap().len(), 4);
    let flags = json_of(&call(
        &edge,
        &kv,
        Request::new("GET", "/v1/flags").header("authorization", &auth),
        NOW,
    ));
    assert_eq!(flags["flags"][0]["key"], "checkout-banner");
    assert_eq!(flags["flags"][0]["clientVisible"], true);
}

#[test]
fn a_corrupt_stored_snapshot_keeps_the_last_good_one_serving() {
    let (edge, kv) = published();
    let ctx = json!({"targetingKey": "user-2", "email": "ada@example.com"});
    assert_eq!(
        call(
            &edge,
            &kv,
            ofrep(Some("new-checkout"), SERVER_KEY, ctx.clone()),
            NOW
        )
        .status,
        200
    );
    // Someone writes garbage and bumps the version behind the edge's back.
    pollster::block_on(async {
        kv.put(&layout::server_snapshot("production"), b"tampered")
            .await
            .unwrap();
        kv.put(&layout::version("production"), b"5").await.unwrap();
    });
    let later = NOW + 5_000;
    let res = call(
        &edge,
        &kv,
        ofrep(Some("new-checkout"), SERVER_KEY, ctx),
        later,
    );
    assert_eq!(
        (res.status, json_of(&res)["value"].clone()),
        (200, json!(true))
    );
    let health = json_of(&call(&edge, &kv, healthz(Some(SERVER_KEY)), later));
    assert_eq!(health["status"], "degraded");
    assert_eq!(health["environments"]["production"]["version"], 1);
    assert!(
        health["environments"]["production"]["lastError"]
            .as_str()
            .unwrap()
            .contains("refused")
    );
}

#[test]
fn a_reload_checks_the_stored_client_snapshot_signature_but_does_not_load_it_again() {
    let (publisher, kv) = published();
    drop(publisher);
    let ctx = json!({"targetingKey": "user-2", "email": "ada@example.com"});
    let evaluate = |edge: &Edge| {
        call(
            edge,
            &kv,
            ofrep(Some("new-checkout"), SERVER_KEY, ctx.clone()),
            NOW,
        )
    };
    let signed =
        |payload: &[u8]| signer().sign(payload, Some("production"), Some(1), Some("client"));
    let store = |jws: &str| {
        pollster::block_on(kv.put(&layout::client_snapshot("production"), jws.as_bytes())).unwrap()
    };
    // Signed, for this environment and version, but not a snapshot: a publish refuses it
    // (it is loaded then); a reload, which serves the client snapshot as the signed
    // bytes it stores, checks the signature, environment and version, not the content.
    store(&signed(br#"{"not": "a snapshot"}"#));
    let res = evaluate(&edge());
    assert_eq!(
        (res.status, json_of(&res)["value"].clone()),
        (200, json!(true))
    );
    // Anything whose signature does not verify is still refused.
    let tampered = signed(b"{}").replace(".e30.", ".e319.");
    store(&tampered);
    let res = evaluate(&edge());
    assert_eq!(res.status, 503, "{}", String::from_utf8_lossy(&res.body));
    // So is a client snapshot signed for another version.
    store(&signer().sign(b"{}", Some("production"), Some(2), Some("client")));
    assert_eq!(evaluate(&edge()).status, 503);
}

#[test]
fn a_fresh_isolate_loads_from_kv_once_per_interval() {
    let (publisher, kv) = published();
    drop(publisher);
    let edge = edge();
    let ctx = json!({"targetingKey": "user-2", "email": "ada@example.com"});
    let res = call(
        &edge,
        &kv,
        ofrep(Some("new-checkout"), SERVER_KEY, ctx),
        NOW,
    );
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    let health = json_of(&call(&edge, &kv, healthz(Some(SERVER_KEY)), NOW));
    assert_eq!(health["environments"]["production"]["version"], 1);
}

fn healthz(credential: Option<&str>) -> Request {
    let req = Request::new("GET", "/healthz");
    match credential {
        Some(c) => req.header("authorization", &format!("Bearer {c}")),
        None => req,
    }
}

/// An operator's health token: `{"exp"}` signed by `by` for the `health` audience.
fn health_token(by: &SigningKey, exp_s: i64, aud: &str) -> String {
    let payload = serde_json::to_vec(&json!({"exp": exp_s})).unwrap();
    by.sign(&payload, None, None, Some(aud))
}

#[test]
fn healthz_is_an_aggregate_in_public_and_details_need_a_credential() {
    let (edge, kv) = published();
    let staging = demo("staging", 1);
    let staging_keys = keys("staging", 1, "srv_staging_1", "cli_staging_1", vec![]);
    let res = publish(
        &edge,
        &kv,
        publish_body(&staging, &staging_keys, &signer()),
        "staging",
    );
    assert_eq!(res.status, 200);

    let public = call(&edge, &kv, healthz(None), NOW);
    assert_eq!(
        (public.status, json_of(&public)),
        (200, json!({"status": "ok"}))
    );
    assert!(!String::from_utf8_lossy(&public.body).contains("production"));

    // A server key sees its own environment, and only that.
    let own = json_of(&call(&edge, &kv, healthz(Some(SERVER_KEY)), NOW));
    let envs: Vec<&String> = own["environments"].as_object().unwrap().keys().collect();
    assert_eq!(envs, ["production"]);
    assert_eq!(own["environments"]["production"]["version"], 1);

    // An operator token signed by a trusted publisher key sees every environment.
    let now_s = NOW / 1000;
    let operator = health_token(&signer(), now_s + 600, "health");
    let all = json_of(&call(&edge, &kv, healthz(Some(&operator)), NOW));
    let envs: Vec<&String> = all["environments"].as_object().unwrap().keys().collect();
    assert_eq!(envs, ["production", "staging"]);

    let stranger = SigningKey::from_seed("publisher-1", [9; 32]);
    let refused = [
        ("unknown key", "nope".to_string()),
        ("client key", CLIENT_KEY.to_string()),
        ("expired", health_token(&signer(), now_s - 1, "health")),
        (
            "valid too long",
            health_token(&signer(), now_s + 7200, "health"),
        ),
        (
            "another audience",
            health_token(&signer(), now_s + 600, "server"),
        ),
        (
            "untrusted signer",
            health_token(&stranger, now_s + 600, "health"),
        ),
    ];
    for (what, credential) in refused {
        let res = call(&edge, &kv, healthz(Some(&credential)), NOW);
        assert!(
            matches!(res.status, 400 | 401 | 403),
            "{what}: {} {}",
            res.status,
            String::from_utf8_lossy(&res.body)
        );
        assert!(
            !String::from_utf8_lossy(&res.body).contains("staging"),
            "{what}"
        );
    }
}

#[test]
fn only_json_media_types_and_json_objects_are_accepted_as_bodies() {
    let (edge, kv) = published();
    let post = |path: &str, content_type: &str, body: &str| {
        let req = Request::new("POST", path)
            .header("authorization", &format!("Bearer {SERVER_KEY}"))
            .header("content-type", content_type)
            .body(body.to_string());
        call(&edge, &kv, req, NOW)
    };
    let single = "/ofrep/v1/evaluate/flags/new-checkout";
    let ctx = r#"{"context": {"targetingKey": "user-1"}}"#;
    for refused in [
        "text/plain; a=json",
        "application/jsonx",
        "text/json",
        "application/+json",
        "json",
        "",
    ] {
        let res = post(single, refused, ctx);
        assert_eq!(
            (res.status, json_of(&res)["errorCode"].clone()),
            (415, json!("UNSUPPORTED_MEDIA_TYPE")),
            "{refused}"
        );
    }
    for accepted in [
        "application/json",
        "Application/JSON; charset=utf-8",
        "application/vnd.openfeature+json",
    ] {
        assert_eq!(post(single, accepted, ctx).status, 200, "{accepted}");
    }
    // A JSON array (or any other non-object) is not a request body, on every surface.
    for path in [single, "/ofrep/v1/evaluate/flags", "/v1/evaluate"] {
        for body in [
            r#"[{"targetingKey": "user-1"}]"#,
            "[]",
            "\"context\"",
            "7",
            "null",
        ] {
            let res = post(path, "application/json", body);
            let json = json_of(&res);
            let code = json["errorCode"]
                .as_str()
                .or(json["error"]["code"].as_str());
            assert_eq!(
                (res.status, code),
                (400, Some("PARSE_ERROR")),
                "{path} {body}: {json}"
            );
            assert!(res.body.windows(4).any(|w| w == b"must"), "{json}");
        }
    }
    let publish = call(
        &edge,
        &kv,
        Request::new("PUT", "/publish/v1/environments/production").body(r#"["a", "b", "c"]"#),
        NOW,
    );
    assert_eq!(
        (publish.status, json_of(&publish)["error"]["code"].clone()),
        (400, json!("PARSE_ERROR"))
    );
}

#[test]
fn adapters_learn_each_route_body_limit_and_its_answer() {
    let edge = edge();
    assert_eq!(
        edge.body_limit("POST", "/ofrep/v1/evaluate/flags"),
        64 * 1024
    );
    assert_eq!(edge.body_limit("POST", "/v1/evaluate"), 64 * 1024);
    assert_eq!(
        edge.body_limit("PUT", "/publish/v1/environments/x"),
        40 * 1024 * 1024
    );
    let single = edge.body_too_large("POST", "/ofrep/v1/evaluate/flags/new-checkout");
    assert_eq!(single.status, 413);
    assert_eq!(
        (
            json_of(&single)["errorCode"].clone(),
            json_of(&single)["key"].clone()
        ),
        (json!("PAYLOAD_TOO_LARGE"), json!("new-checkout"))
    );
    assert_eq!(single.get_header("access-control-allow-origin"), Some("*"));
    let publish = edge.body_too_large("PUT", "/publish/v1/environments/x");
    assert_eq!(json_of(&publish)["error"]["code"], "PAYLOAD_TOO_LARGE");
    assert!(
        json_of(&publish)["error"]["message"]
            .as_str()
            .unwrap()
            .contains("41943040")
    );
}

/// Every shared vector through OFREP: value, variant and reason, or the error code.
/// Typed cases (TYPE_MISMATCH) have no OFREP form — OpenFeature's SDKs check types
/// on the client — so they are counted and left to the typed runtimes.
#[test]
fn shared_vectors_through_ofrep() {
    let index: Value =
        serde_json::from_str(include_str!("../../tests/vectors/index.json")).unwrap();
    let (mut passed, mut typed) = (0, 0);
    let mut failures = Vec::new();
    // Sealed: every case is asked of a fresh edge, as each Spin request is, which
    // answers from the flag's sealed record.
    for sealed in [false, true] {
        for (n, file) in index["files"].as_array().unwrap().iter().enumerate() {
            let path = format!(
                "{}/../tests/vectors/{}",
                env!("CARGO_MANIFEST_DIR"),
                file.as_str().unwrap()
            );
            let vectors: Value =
                serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
            let env = format!("v{n}");
            let mut doc = vectors["snapshot"].clone();
            doc["environment"] = json!(env);
            let new_edge = || if sealed { sealed_edge() } else { edge() };
            let (edge, kv) = (new_edge(), MemoryKv::new());
            let key_index = keys(
                &env,
                doc["version"].as_u64().unwrap(),
                SERVER_KEY,
                CLIENT_KEY,
                vec![],
            );
            let res = publish(&edge, &kv, publish_body(&doc, &key_index, &signer()), &env);
            assert_eq!(
                res.status,
                200,
                "{file}: {}",
                String::from_utf8_lossy(&res.body)
            );
            for case in vectors["cases"].as_array().unwrap() {
                let (Some(flag), None) = (case["flag"].as_str(), case.get("type")) else {
                    typed += 1;
                    continue;
                };
                let now = case["now"].as_i64().unwrap_or(NOW);
                let fresh;
                let edge = if sealed {
                    fresh = new_edge();
                    &fresh
                } else {
                    &edge
                };
                let res = call(
                    edge,
                    &kv,
                    ofrep(Some(flag), SERVER_KEY, case["context"].clone()),
                    now,
                );
                let got = json_of(&res);
                let expect = &case["expect"];
                let ok = match expect.get("errorCode") {
                    Some(code) => got["errorCode"] == *code,
                    None => {
                        res.status == 200
                            && got["value"] == expect["value"]
                            && got["variant"] == expect["variant"]
                            && got["reason"] == expect["reason"]
                    }
                };
                if ok {
                    passed += 1;
                } else {
                    failures.push(format!(
                        "{file} / {} (sealed: {sealed}): expected {expect}, got {} {got}",
                        case["name"], res.status
                    ));
                }
            }
        }
    }
    println!(
        "OFREP: {passed} vectors passed, {typed} typed or evaluate-all cases left to typed runtimes"
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(passed > 1000, "only {passed} vectors ran");
}

#[test]
fn the_test_clock_header_is_honoured_only_when_enabled() {
    let (edge, kv) = published();
    let jwks =
        serde_json::to_string(&KeySet::new(vec![signer().verifying_key()]).to_jwks()).unwrap();
    let test_edge = Edge::new(
        Config::from_vars(|name| match name {
            "EDGEFLAG_TRUSTED_KEYS" => Some(jwks.clone()),
            "EDGEFLAG_TEST_CLOCK" => Some("true".into()),
            _ => None,
        })
        .unwrap(),
    );
    let black_friday = "1795867200000";
    let ctx = json!({"targetingKey": "user-2", "email": "ada@example.com"});
    let banner = |edge: &Edge| {
        let req = ofrep(Some("checkout-banner"), SERVER_KEY, ctx.clone())
            .header("x-edgeflag-test-now", black_friday);
        json_of(&call(edge, &kv, req, NOW))["variant"].clone()
    };
    assert_eq!(
        banner(&edge),
        json!("none"),
        "production edges ignore the header"
    );
    assert_eq!(banner(&test_edge), json!("black-friday"));
}

fn endorse(
    edge: &Edge,
    kv: &MemoryKv,
    by: &SigningKey,
    ver: u64,
    keys: &[&SigningKey],
) -> Response {
    let jwks = KeySet::new(keys.iter().map(|k| k.verifying_key()).collect()).to_jwks();
    let token = by.sign(
        &serde_json::to_vec(&jwks).unwrap(),
        None,
        Some(ver),
        Some("trusted-keys"),
    );
    let body = serde_json::to_vec(&json!({ "jwks": token })).unwrap();
    call(
        edge,
        kv,
        Request::new("PUT", "/publish/v1/trusted-keys").body(body),
        NOW,
    )
}

fn kids(edge: &Edge, kv: &MemoryKv) -> Vec<String> {
    let jwks = json_of(&call(
        edge,
        kv,
        Request::new("GET", "/.well-known/jwks.json"),
        NOW,
    ));
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_trusted_key_endorses_its_successor_and_the_edge_follows_the_rotation() {
    let (edge, kv) = published();
    let next = SigningKey::from_seed("publisher-2", [8; 32]);
    let body = |ver, by: &SigningKey| {
        publish_body(
            &demo("production", ver),
            &keys("production", ver, SERVER_KEY, CLIENT_KEY, vec![]),
            by,
        )
    };
    // Not yet trusted: a publish signed by the new key is refused.
    assert_eq!(
        publish(&edge, &kv, body(2, &next), "production").status,
        401
    );
    // A stranger cannot endorse itself.
    let res = endorse(&edge, &kv, &next, 1, &[&next]);
    assert_eq!(res.status, 401, "{}", String::from_utf8_lossy(&res.body));
    // The current key endorses {old, new}; the new key can publish at once.
    let res = endorse(&edge, &kv, &signer(), 1, &[&signer(), &next]);
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    assert_eq!(json_of(&res)["kids"], json!(["publisher-1", "publisher-2"]));
    assert_eq!(kids(&edge, &kv), ["publisher-1", "publisher-2"]);
    assert_eq!(
        publish(&edge, &kv, body(2, &next), "production").status,
        200
    );
    // An endorsement is refused unless newer than the stored one.
    let res = endorse(&edge, &kv, &next, 1, &[&next]);
    assert_eq!(res.status, 409);
    assert_eq!(json_of(&res)["error"]["code"], "STALE_VERSION");
    // The new key drops the old from the endorsed set; the configured root stays.
    assert_eq!(endorse(&edge, &kv, &next, 2, &[&next]).status, 200);
    assert_eq!(kids(&edge, &kv), ["publisher-1", "publisher-2"]);
    // A fresh isolate reading the same KV trusts the endorsed key too.
    let fresh = self::edge();
    let res = call(
        &fresh,
        &kv,
        ofrep(
            Some("new-checkout"),
            SERVER_KEY,
            json!({"targetingKey": "user-1"}),
        ),
        NOW,
    );
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
}

#[test]
fn an_endorsement_that_is_malformed_or_empty_is_refused_and_changes_nothing() {
    let (edge, kv) = published();
    let put = |body: &[u8]| {
        call(
            &edge,
            &kv,
            Request::new("PUT", "/publish/v1/trusted-keys").body(body.to_vec()),
            NOW,
        )
    };
    for bad in [
        &b"not json"[..],
        br#"{"jwks": "a.b.c"}"#,
        br#"{"jwks": "x", "more": 1}"#,
    ] {
        let res = put(bad);
        assert_eq!(res.status, 400, "{}", String::from_utf8_lossy(bad));
        assert_eq!(json_of(&res)["error"]["code"], "PARSE_ERROR");
    }
    assert_eq!(endorse(&edge, &kv, &signer(), 1, &[]).status, 400);
    let no_ver = signer().sign(br#"{"keys":[]}"#, None, None, Some("trusted-keys"));
    let res = put(&serde_json::to_vec(&json!({ "jwks": no_ver })).unwrap());
    assert_eq!(res.status, 400);
    assert!(
        pollster::block_on(kv.get(layout::TRUSTED_KEYS))
            .unwrap()
            .is_none()
    );
    assert_eq!(kids(&edge, &kv), ["publisher-1"]);
}

const STREAM_SECRET: &str = "a stream secret of at least thirty-two bytes";

/// An edge with live updates on (as the Worker configures it), sharing nothing with `edge()`.
fn live_edge() -> Edge {
    let jwks =
        serde_json::to_string(&KeySet::new(vec![signer().verifying_key()]).to_jwks()).unwrap();
    let config = Config::from_vars(|name| match name {
        "EDGEFLAG_TRUSTED_KEYS" => Some(jwks.clone()),
        "EDGEFLAG_REFRESH_INTERVAL_MS" => Some("1000".into()),
        "EDGEFLAG_STREAM_SECRET" => Some(STREAM_SECRET.into()),
        _ => None,
    })
    .unwrap();
    Edge::new(config)
}

fn publish_version(edge: &Edge, kv: &MemoryKv, version: u64) -> Response {
    let doc = demo("production", version);
    let body = publish_body(
        &doc,
        &keys("production", version, SERVER_KEY, CLIENT_KEY, vec![]),
        &signer(),
    );
    publish(edge, kv, body, "production")
}

fn stream_request(url: &str) -> Request {
    let path = url.strip_prefix("https://flags.example.com").unwrap_or(url);
    Request::new("GET", path)
}

#[test]
fn ofrep_answers_point_at_an_event_stream_when_live_updates_are_on() {
    let (edge, kv) = (live_edge(), MemoryKv::new());
    assert_eq!(publish_version(&edge, &kv, 1).status, 200);
    let mut req = ofrep(None, SERVER_KEY, json!({"targetingKey": "user-1"}));
    req.origin = "https://flags.example.com".into();
    let bulk = call(&edge, &kv, req.clone(), NOW);
    let streams = json_of(&bulk)["eventStreams"].clone();
    assert_eq!(streams.as_array().map(Vec::len), Some(1), "{streams}");
    assert_eq!(streams[0]["type"], "sse");
    assert_eq!(streams[0]["inactivityDelaySec"], 120);
    let url = streams[0]["url"].as_str().unwrap();
    assert!(
        url.starts_with("https://flags.example.com/v1/events?token="),
        "{url}"
    );
    assert!(url.ends_with("&v=1"), "{url}");
    assert!(!url.contains(SERVER_KEY) && !url.contains(&hash_key(SERVER_KEY)));
    // The same URL for every answer within the token's window: the ETag still holds.
    let etag = bulk.get_header("etag").unwrap().to_string();
    let again = call(&edge, &kv, req.header("if-none-match", &etag), NOW + 60_000);
    assert_eq!(again.status, 304);

    let mut single = ofrep(
        Some("new-checkout"),
        SERVER_KEY,
        json!({"targetingKey": "user-1"}),
    );
    single.origin = "https://flags.example.com".into();
    let single = json_of(&call(&edge, &kv, single, NOW));
    assert_eq!(single["eventStreams"][0]["url"], url);
    assert_eq!(single["value"], false);

    // The signed client snapshot names the same stream for its client key, in a header.
    let client = call(
        &edge,
        &kv,
        Request::new("GET", &format!("/.well-known/flags/{CLIENT_KEY}")),
        NOW,
    );
    let link = client.get_header("edgeflag-event-stream").unwrap();
    assert!(
        link.starts_with("/v1/events?token=") && link.ends_with("&v=1"),
        "{link}"
    );
    assert_ne!(
        link,
        url.strip_prefix("https://flags.example.com").unwrap(),
        "another key, another token"
    );
    assert!(
        client
            .get_header("access-control-expose-headers")
            .unwrap()
            .contains("edgeflag-event-stream")
    );
    // The signed server snapshot (server SDKs) names the server key's stream, as OFREP does.
    let server = call(
        &edge,
        &kv,
        Request::new("GET", "/v1/snapshot")
            .header("authorization", &format!("Bearer {SERVER_KEY}")),
        NOW,
    );
    assert_eq!(server.status, 200);
    assert_eq!(
        server.get_header("edgeflag-event-stream"),
        url.strip_prefix("https://flags.example.com")
    );

    // Without a stream secret (Spin, or a Worker without one) nothing points anywhere.
    let (plain, kv) = published();
    let bulk = json_of(&call(&plain, &kv, ofrep(None, SERVER_KEY, json!({})), NOW));
    assert!(bulk.get("eventStreams").is_none(), "{bulk}");
    let client = call(
        &plain,
        &kv,
        Request::new("GET", &format!("/.well-known/flags/{CLIENT_KEY}")),
        NOW,
    );
    assert_eq!(client.get_header("edgeflag-event-stream"), None);
}

#[test]
fn a_stream_opens_only_with_a_valid_unexpired_token_and_resumes_from_what_the_client_saw() {
    let (edge, kv) = (live_edge(), MemoryKv::new());
    assert_eq!(publish_version(&edge, &kv, 1).status, 200);
    let bulk = json_of(&call(&edge, &kv, ofrep(None, SERVER_KEY, json!({})), NOW));
    let url = bulk["eventStreams"][0]["url"].as_str().unwrap().to_string();

    let opened = call(&edge, &kv, stream_request(&url), NOW);
    assert_eq!(opened.status, 200);
    assert_eq!(opened.get_header("content-type"), Some("text/event-stream"));
    assert_eq!(opened.get_header("access-control-allow-origin"), Some("*"));
    let Some(Handoff::Stream(grant)) = opened.handoff.clone() else {
        panic!("no stream handoff: {opened:?}");
    };
    assert_eq!(
        (grant.environment.as_str(), grant.since),
        ("production", Some(1))
    );
    let resumed = call(
        &edge,
        &kv,
        stream_request(&url).header("last-event-id", "7"),
        NOW,
    );
    assert!(matches!(
        resumed.handoff,
        Some(Handoff::Stream(StreamGrant { since: Some(7), .. }))
    ));

    let token = url
        .split("token=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    let forged = format!("{}x", token);
    let refused = [
        ("no token", "/v1/events".to_string(), NOW),
        ("a forged token", format!("/v1/events?token={forged}"), NOW),
        ("an SDK key", format!("/v1/events?token={SERVER_KEY}"), NOW),
        (
            "an expired token",
            format!("/v1/events?token={token}"),
            NOW + 31 * 60_000,
        ),
    ];
    for (what, path, at) in refused {
        let res = call(&edge, &kv, Request::new("GET", &path), at);
        assert_eq!(
            res.status,
            401,
            "{what}: {}",
            String::from_utf8_lossy(&res.body)
        );
        assert_eq!(res.handoff, None, "{what}: no stream opens");
        assert_eq!(json_of(&res)["error"]["code"], "UNAUTHORIZED");
        assert!(
            !String::from_utf8_lossy(&res.body).contains(token),
            "{what}: the token is not echoed"
        );
    }
    let (plain, kv) = published();
    let off = call(&plain, &kv, stream_request(&url), NOW);
    assert_eq!((off.status, off.handoff), (404, None));
}

#[test]
fn a_publish_hands_its_version_to_the_adapter() {
    let (edge, kv) = (live_edge(), MemoryKv::new());
    let res = publish_version(&edge, &kv, 4);
    // The client snapshot it hands on is the one the snapshot endpoint serves.
    let served = call(
        &edge,
        &kv,
        Request::new("GET", &format!("/.well-known/flags/{CLIENT_KEY}")),
        NOW,
    );
    assert_eq!(served.status, 200);
    assert_eq!(
        res.handoff,
        Some(Handoff::Published {
            environment: "production".into(),
            version: 4,
            client_snapshot: Some(String::from_utf8(served.body).unwrap()),
        })
    );
    assert_eq!(
        publish_version(&edge, &kv, 4).handoff,
        None,
        "a refused publish hands nothing"
    );
}

#[test]
fn a_refetch_caused_by_an_event_reads_the_new_version_before_the_refresh_interval_ends() {
    let (publisher, kv) = (live_edge(), MemoryKv::new());
    assert_eq!(publish_version(&publisher, &kv, 1).status, 200);
    // Another isolate, which loaded version 1 a moment ago.
    let other = live_edge();
    let ctx = json!({"targetingKey": "user-1"});
    let version = |res: &Response| json_of(res)["metadata"]["snapshotVersion"].clone();
    assert_eq!(
        version(&call(
            &other,
            &kv,
            ofrep(None, SERVER_KEY, ctx.clone()),
            NOW
        )),
        1
    );
    assert_eq!(publish_version(&publisher, &kv, 2).status, 200);
    let later = NOW + 100;
    let plain = call(&other, &kv, ofrep(None, SERVER_KEY, ctx.clone()), later);
    assert_eq!(
        version(&plain),
        1,
        "within its refresh interval an isolate serves what it holds"
    );
    let mut hinted = ofrep(None, SERVER_KEY, ctx.clone());
    hinted.query = "flagConfigEtag=%222%22".into();
    assert_eq!(version(&call(&other, &kv, hinted, later)), 2);
    let client = Request::new(
        "GET",
        &format!("/.well-known/flags/{CLIENT_KEY}?flagConfigEtag=3"),
    );
    assert_eq!(
        call(&other, &kv, client, later + 100).status,
        200,
        "a hint ahead of KV serves what there is"
    );
}

/// An edge counting evaluations for `http://admin`, with `production` v1 published.
fn counting() -> (Edge, MemoryKv) {
    let jwks =
        serde_json::to_string(&KeySet::new(vec![signer().verifying_key()]).to_jwks()).unwrap();
    let config = Config::from_vars(|name| match name {
        "EDGEFLAG_TRUSTED_KEYS" => Some(jwks.clone()),
        "EDGEFLAG_USAGE_URL" => Some("http://admin".into()),
        "EDGEFLAG_USAGE_KEY" => Some("efi_test".into()),
        "EDGEFLAG_USAGE_INTERVAL_MS" => Some("5000".into()),
        _ => None,
    })
    .unwrap();
    let (edge, kv) = (Edge::with_seed(config, "isolate-1"), MemoryKv::new());
    let doc = demo("production", 1);
    let body = publish_body(
        &doc,
        &keys("production", 1, SERVER_KEY, CLIENT_KEY, vec![]),
        &signer(),
    );
    assert_eq!(publish(&edge, &kv, body, "production").status, 200);
    (edge, kv)
}

/// The items of every batch due, as (flag, variant, reason) → count.
fn counted(edge: &Edge, now: i64) -> std::collections::BTreeMap<(String, String, String), u64> {
    let mut out = std::collections::BTreeMap::new();
    for batch in edge.usage_flush(now) {
        assert_eq!(batch.url, "http://admin/v1/usage/batches");
        assert!(
            batch
                .headers
                .contains(&("x-api-key".into(), "efi_test".into()))
        );
        for item in json_of(&Response::json(
            200,
            &serde_json::from_slice::<Value>(&batch.body).unwrap(),
        ))["items"]
            .as_array()
            .unwrap()
        {
            assert_eq!(item["environment"], "production");
            let key = (
                item["flag"].as_str().unwrap().to_string(),
                item["variant"].as_str().unwrap_or("-").to_string(),
                item["reason"].as_str().unwrap().to_string(),
            );
            *out.entry(key).or_default() += item["count"].as_u64().unwrap();
        }
    }
    out
}

#[test]
fn every_evaluation_is_counted_once_and_sent_after_the_interval() {
    let (edge, kv) = counting();
    let ctx = json!({"targetingKey": "user-2", "email": "ada@example.com"});
    for _ in 0..3 {
        let res = call(
            &edge,
            &kv,
            ofrep(Some("new-checkout"), SERVER_KEY, ctx.clone()),
            NOW,
        );
        assert_eq!(res.status, 200);
    }
    assert_eq!(
        call(&edge, &kv, ofrep(Some("nope"), SERVER_KEY, json!({})), NOW).status,
        404
    );
    let bad = Request::new("POST", "/ofrep/v1/evaluate/flags/new-checkout")
        .header("authorization", &format!("Bearer {SERVER_KEY}"))
        .header("content-type", "application/json")
        .body("{");
    assert_eq!(
        call(&edge, &kv, bad, NOW).status,
        400,
        "no evaluation, nothing counted"
    );
    assert!(
        edge.usage_due(NOW + 4_999).is_empty(),
        "not before the interval"
    );
    let due = edge.usage_due(NOW + 5_000);
    assert_eq!(due.len(), 1, "one batch once the interval has passed");
    let counts = counted(&edge, NOW + 5_001);
    assert!(
        counts.is_empty(),
        "a flushed count is not sent again: {counts:?}"
    );
    let items: Value = serde_json::from_slice(&due[0].body).unwrap();
    let mut seen = std::collections::BTreeMap::new();
    for item in items["items"].as_array().unwrap() {
        seen.insert(
            item["flag"].as_str().unwrap().to_string(),
            (
                item["variant"].clone(),
                item["reason"].clone(),
                item["count"].clone(),
            ),
        );
        assert_eq!(item["time"].as_i64().unwrap() % 60_000, 0);
    }
    assert_eq!(
        seen["new-checkout"],
        (json!("on"), json!("TARGETING_MATCH"), json!(3))
    );
    assert_eq!(seen["nope"], (Value::Null, json!("ERROR"), json!(1)));

    let bulk = call(&edge, &kv, ofrep(None, SERVER_KEY, ctx), NOW);
    assert_eq!(bulk.status, 200);
    let flags = json_of(&bulk)["flags"].as_array().unwrap().len() as u64;
    assert_eq!(
        counted(&edge, NOW).values().sum::<u64>(),
        flags,
        "bulk counts each flag"
    );
}

#[test]
fn a_browser_reports_its_counts_with_its_client_key() {
    let (edge, kv) = counting();
    let report = json!({"counts": [
        {"flag": "new-checkout", "variant": "on", "reason": "TARGETING_MATCH", "time": NOW, "count": 4},
        {"flag": "banner", "reason": "ERROR", "time": NOW, "count": 1}
    ]});
    let beacon = |key: &str, body: Vec<u8>| {
        Request::new("POST", &format!("/v1/usage/{key}"))
            .header("content-type", "text/plain;charset=UTF-8")
            .body(body)
    };
    let res = call(
        &edge,
        &kv,
        beacon(CLIENT_KEY, serde_json::to_vec(&report).unwrap()),
        NOW,
    );
    assert_eq!(res.status, 202, "{}", String::from_utf8_lossy(&res.body));
    let counts = counted(&edge, NOW);
    assert_eq!(
        counts[&("new-checkout".into(), "on".into(), "TARGETING_MATCH".into())],
        4
    );
    assert_eq!(counts[&("banner".into(), "-".into(), "ERROR".into())], 1);
    assert_eq!(
        call(
            &edge,
            &kv,
            beacon(SERVER_KEY, b"{\"counts\":[]}".to_vec()),
            NOW
        )
        .status,
        403,
        "client keys only"
    );
    let bad = json!({"counts": [{"flag": "f", "reason": "split", "time": NOW, "count": 1}]});
    let res = call(
        &edge,
        &kv,
        beacon(CLIENT_KEY, serde_json::to_vec(&bad).unwrap()),
        NOW,
    );
    assert_eq!(res.status, 400);
    assert!(String::from_utf8_lossy(&res.body).contains("/counts/0"));
}

#[test]
fn without_an_admin_nothing_is_counted() {
    let (edge, kv) = published();
    let res = call(
        &edge,
        &kv,
        ofrep(
            Some("new-checkout"),
            SERVER_KEY,
            json!({"targetingKey": "u"}),
        ),
        NOW,
    );
    assert_eq!(res.status, 200);
    assert!(edge.usage_flush(NOW + 60_000).is_empty());
}

/// Endorses `keys` as keys of organization `org`, signed by `by`.
fn endorse_for(
    edge: &Edge,
    kv: &MemoryKv,
    by: &SigningKey,
    ver: u64,
    org: &str,
    keys: &[&SigningKey],
) -> Response {
    let keys: Vec<Value> = keys
        .iter()
        .map(|k| {
            let mut jwk = serde_json::to_value(k.verifying_key().to_jwk()).unwrap();
            jwk["org"] = json!(org);
            jwk
        })
        .collect();
    let token = by.sign(
        &serde_json::to_vec(&json!({ "keys": keys })).unwrap(),
        None,
        Some(ver),
        Some("trusted-keys"),
    );
    let body = serde_json::to_vec(&json!({ "jwks": token })).unwrap();
    call(
        edge,
        kv,
        Request::new("PUT", "/publish/v1/trusted-keys").body(body),
        NOW,
    )
}

fn production(ver: u64, by: &SigningKey) -> Vec<u8> {
    publish_body(
        &demo("production", ver),
        &keys("production", ver, SERVER_KEY, CLIENT_KEY, vec![]),
        by,
    )
}

#[test]
fn an_environment_is_bound_to_its_organizations_keys() {
    let (edge, kv) = (edge(), MemoryKv::new());
    let (a, b) = (
        SigningKey::from_seed("org-a-1", [21; 32]),
        SigningKey::from_seed("org-b-1", [22; 32]),
    );
    // The instance key (configured) endorses each organization's key.
    assert_eq!(
        endorse_for(&edge, &kv, &signer(), 1, "org_a", &[&a]).status,
        200
    );
    assert_eq!(
        endorse_for(&edge, &kv, &signer(), 2, "org_b", &[&b]).status,
        200
    );
    let jwks = json_of(&call(
        &edge,
        &kv,
        Request::new("GET", "/.well-known/jwks.json"),
        NOW,
    ));
    let orgs: Vec<&Value> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| &k["org"])
        .collect();
    assert_eq!(orgs, [&Value::Null, &json!("org_a"), &json!("org_b")]);
    // Organization A's first publish binds `production` to A.
    let res = publish(&edge, &kv, production(1, &a), "production");
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    // B's key is trusted and its signature valid, but `production` is not B's.
    let res = publish(&edge, &kv, production(2, &b), "production");
    assert_eq!(res.status, 403, "{}", String::from_utf8_lossy(&res.body));
    assert!(
        json_of(&res)["error"]["message"]
            .as_str()
            .unwrap()
            .contains("org_a")
    );
    // Nor may the instance key publish over an organization's environment.
    assert_eq!(
        publish(&edge, &kv, production(2, &signer()), "production").status,
        403
    );
    // Documents signed by two organizations are refused.
    let mut mixed: Value = serde_json::from_slice(&production(2, &a)).unwrap();
    mixed["keys"] = serde_json::from_slice::<Value>(&production(2, &b)).unwrap()["keys"].clone();
    let res = publish(
        &edge,
        &kv,
        serde_json::to_vec(&mixed).unwrap(),
        "production",
    );
    assert_eq!(res.status, 403, "{}", String::from_utf8_lossy(&res.body));
    assert_eq!(
        publish(&edge, &kv, production(2, &a), "production").status,
        200
    );
    // B's key endorses nothing of A's, and no one can re-endorse A's key id for B.
    assert_eq!(endorse_for(&edge, &kv, &b, 3, "org_a", &[&b]).status, 403);
    let res = endorse_for(&edge, &kv, &signer(), 3, "org_b", &[&a]);
    assert_eq!(res.status, 409, "{}", String::from_utf8_lossy(&res.body));
    assert_eq!(json_of(&res)["error"]["code"], "KEY_CONFLICT");
}

#[test]
fn a_stored_snapshot_signed_by_another_organization_is_not_served() {
    let (edge, kv) = (edge(), MemoryKv::new());
    let (a, b) = (
        SigningKey::from_seed("org-a-1", [21; 32]),
        SigningKey::from_seed("org-b-1", [22; 32]),
    );
    assert_eq!(
        endorse_for(&edge, &kv, &signer(), 1, "org_a", &[&a]).status,
        200
    );
    assert_eq!(
        endorse_for(&edge, &kv, &signer(), 2, "org_b", &[&b]).status,
        200
    );
    assert_eq!(
        publish(&edge, &kv, production(1, &a), "production").status,
        200
    );
    // Someone with write access to KV copies in documents that B signed.
    let forged: Value = serde_json::from_slice(&production(2, &b)).unwrap();
    let put =
        |key: String, value: &str| pollster::block_on(kv.put(&key, value.as_bytes())).unwrap();
    put(
        layout::server_snapshot("production"),
        forged["server"].as_str().unwrap(),
    );
    put(
        layout::client_snapshot("production"),
        forged["client"].as_str().unwrap(),
    );
    put(
        layout::key_index("production"),
        forged["keys"].as_str().unwrap(),
    );
    put(layout::version("production"), "2");
    let fresh = self::edge();
    let res = call(
        &fresh,
        &kv,
        ofrep(
            Some("new-checkout"),
            SERVER_KEY,
            json!({"targetingKey": "user-1"}),
        ),
        NOW,
    );
    assert_ne!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    assert!(
        String::from_utf8_lossy(&res.body).contains("org_a"),
        "the refusal names the owner: {}",
        String::from_utf8_lossy(&res.body)
    );
    let health = json_of(&call(&fresh, &kv, Request::new("GET", "/healthz"), NOW));
    assert_eq!(health["status"], "degraded", "{health}");
}

#[test]
fn an_archived_environment_serves_nothing_and_its_revocations_still_arrive() {
    let (edge, kv) = published();
    const OTHER_SERVER: &str = "srv_production_other_key_1";
    let with = |retired: bool, ver: u64, extra: bool| {
        let mut index = keys("production", ver, SERVER_KEY, CLIENT_KEY, vec![]);
        if extra {
            index.keys.push(KeyEntry {
                hash: hash_key(OTHER_SERVER),
                kind: KeyKind::Server,
                expires_at_ms: None,
            });
        }
        index.retired = retired;
        publish_body(&demo("production", ver), &index, &signer())
    };
    let eval = |key: &str| {
        call(
            &edge,
            &kv,
            ofrep(Some("new-checkout"), key, json!({"targetingKey": "u"})),
            NOW + 10_000,
        )
    };
    assert_eq!(
        publish(&edge, &kv, with(false, 2, true), "production").status,
        200
    );
    assert_eq!(eval(OTHER_SERVER).status, 200);
    // Archived: every key of the environment gets 410, on every surface.
    assert_eq!(
        publish(&edge, &kv, with(true, 3, true), "production").status,
        200
    );
    let res = eval(SERVER_KEY);
    assert_eq!(res.status, 410, "{}", String::from_utf8_lossy(&res.body));
    assert_eq!(json_of(&res)["errorCode"], "ENVIRONMENT_ARCHIVED");
    let res = call(
        &edge,
        &kv,
        Request::new("GET", &format!("/.well-known/flags/{CLIENT_KEY}")),
        NOW + 10_000,
    );
    assert_eq!(res.status, 410, "{}", String::from_utf8_lossy(&res.body));
    assert_eq!(json_of(&res)["error"]["code"], "ENVIRONMENT_ARCHIVED");
    // A revocation while archived reaches the edge: that key is unknown, not archived.
    assert_eq!(
        publish(&edge, &kv, with(true, 4, false), "production").status,
        200
    );
    assert_eq!(eval(OTHER_SERVER).status, 401);
    assert_eq!(eval(SERVER_KEY).status, 410);
    // Restored: served again, and the revoked key stays revoked.
    assert_eq!(
        publish(&edge, &kv, with(false, 5, false), "production").status,
        200
    );
    assert_eq!(eval(SERVER_KEY).status, 200);
    assert_eq!(eval(OTHER_SERVER).status, 401);
}

/// Everything a response says, for byte-for-byte comparisons.
fn whole(res: &Response) -> (u16, Vec<(String, String)>, Vec<u8>) {
    (res.status, res.headers.clone(), res.body.clone())
}

#[test]
fn a_fresh_instance_answers_one_flag_from_its_sealed_record_and_trusts_nothing_else() {
    let (publisher, kv) = (sealed_edge(), MemoryKv::new());
    let doc = demo("production", 1);
    let key_index = keys("production", 1, SERVER_KEY, CLIENT_KEY, vec![]);
    let res = publish(
        &publisher,
        &kv,
        publish_body(&doc, &key_index, &signer()),
        "production",
    );
    assert_eq!(res.status, 200);
    assert!(kv.keys().contains(&layout::seal("production")));
    let contexts = [
        json!({"targetingKey": "user-2", "email": "ada@example.com"}),
        json!({"targetingKey": "user-9", "plan": "pro", "country": "DE"}),
        json!({"plan": "x"}),
    ];
    let mut flags: Vec<String> = doc["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["key"].as_str().unwrap().to_string())
        .collect();
    flags.push("no-such-flag".into());
    // Refusals (a client key, an unknown key) come from the full path, alike.
    for flag in &flags {
        for ctx in &contexts {
            for key in [SERVER_KEY, CLIENT_KEY, "srv_unknown"] {
                let req = ofrep(Some(flag), key, ctx.clone());
                let sealed = call(&sealed_edge(), &kv, req.clone(), NOW);
                let full = call(&edge(), &kv, req, NOW);
                assert_eq!(whole(&sealed), whole(&full), "{flag} {ctx} {key}");
            }
        }
    }
    // With the signed server snapshot corrupt, only the sealed path can answer: it
    // does, and the full path refuses.
    let good_server = pollster::block_on(kv.get(&layout::server_snapshot("production")))
        .unwrap()
        .unwrap();
    pollster::block_on(kv.put(&layout::server_snapshot("production"), b"garbage")).unwrap();
    let ask = |edge: Edge, key: &str| {
        call(
            &edge,
            &kv,
            ofrep(Some("new-checkout"), key, json!({"targetingKey": "u"})),
            NOW,
        )
    };
    assert_eq!(ask(sealed_edge(), SERVER_KEY).status, 200);
    assert_eq!(ask(edge(), SERVER_KEY).status, 503);
    // A record changed behind the edge's back is not trusted: the request takes the
    // full path, which finds the corrupt snapshot.
    let record = layout::flag_record("production", "new-checkout");
    let mut bytes = pollster::block_on(kv.get(&record)).unwrap().unwrap();
    let last = bytes.len() - 2;
    bytes[last] ^= 0x20;
    pollster::block_on(kv.put(&record, &bytes)).unwrap();
    assert_eq!(ask(sealed_edge(), SERVER_KEY).status, 503);
    // With the signed documents back, the full path answers and writes a new seal.
    pollster::block_on(kv.put(&layout::server_snapshot("production"), &good_server)).unwrap();
    pollster::block_on(kv.delete(&layout::seal("production"))).unwrap();
    assert_eq!(ask(sealed_edge(), SERVER_KEY).status, 200);
    assert!(kv.keys().contains(&layout::seal("production")), "resealed");
    pollster::block_on(kv.put(&layout::server_snapshot("production"), b"garbage")).unwrap();
    assert_eq!(
        ask(sealed_edge(), SERVER_KEY).status,
        200,
        "the new seal serves"
    );
    // An endorsement stored since the seal voids it.
    pollster::block_on(kv.put(layout::TRUSTED_KEYS, br#"{"keys":[]}"#)).unwrap();
    assert_eq!(ask(sealed_edge(), SERVER_KEY).status, 503);
}
