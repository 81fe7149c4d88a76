//! The Spin app in wasmtime, over HTTP with a fresh instance per request: the
//! scenarios of the Worker suite (`edge-worker/test/edge.test.mjs`) — publishing,
//! key isolation, the signed client snapshot, OFREP with ETag/304, bad input.

use base64ct::{Base64UrlUnpadded, Encoding};
use edgeflag_edge::keys::hash_key;
use edgeflag_wasm_host::spin::SpinApp;
use serde_json::{Value, json};

use crate::support::{
    Answer, demo, ofrep, publish, publish_body, send, signer, spin_app, variables,
};

const SERVER: &str = "srv_prod_test";
const CLIENT: &str = "cli_prod_test";

/// An app trusting `publisher-1`, with the demo flags published as version 1.
async fn published() -> SpinApp {
    let trusted = signer("publisher-1", 1);
    let app = spin_app(variables(&[&trusted], &[]));
    let res = publish(
        &app,
        "production",
        publish_body(&demo("production", 1), SERVER, CLIENT, &trusted),
    )
    .await;
    assert_eq!(res.status, 200, "{:?}", res.json());
    app
}

#[tokio::test]
async fn publish_refuses_bad_signatures_unknown_keys_older_versions_and_garbage() {
    let app = published().await;
    let doc = demo("production", 2);
    let stranger = signer("publisher-1", 2); // same kid, another key
    let cases: Vec<(Vec<u8>, u16, &str)> = vec![
        (
            publish_body(&doc, SERVER, CLIENT, &stranger),
            401,
            "UNAUTHORIZED",
        ),
        (
            publish_body(&doc, SERVER, CLIENT, &signer("nobody", 3)),
            401,
            "UNAUTHORIZED",
        ),
        (
            publish_body(
                &demo("production", 1),
                SERVER,
                CLIENT,
                &signer("publisher-1", 1),
            ),
            409,
            "STALE_VERSION",
        ),
        (br#"{"server": 1}"#.to_vec(), 400, "PARSE_ERROR"),
        (b"garbage".to_vec(), 400, "PARSE_ERROR"),
    ];
    for (body, status, code) in cases {
        let res = publish(&app, "production", body).await;
        let json = res.json();
        assert_eq!(res.status, status, "{json}");
        assert_eq!(json["error"]["code"], code);
    }
}

#[tokio::test]
async fn a_newer_publish_is_served_at_once() {
    let app = published().await;
    let mut doc = demo("production", 3);
    doc["flags"][0]["enabled"] = json!(false); // new-checkout off
    let res = publish(
        &app,
        "production",
        publish_body(&doc, SERVER, CLIENT, &signer("publisher-1", 1)),
    )
    .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["version"], 3);
    let flag = ofrep(
        &app,
        SERVER,
        Some("new-checkout"),
        &json!({"targetingKey": "qa-1"}),
        &[],
    )
    .await
    .json();
    assert_eq!(
        (&flag["value"], &flag["reason"]),
        (&json!(false), &json!("DISABLED"))
    );
    let health = send(&app, "GET", "/healthz", &[], "").await.json();
    assert_eq!(health["status"], "ok");
}

#[tokio::test]
async fn keys_isolate_environments_and_client_keys_stay_off_server_routes() {
    let app = published().await;
    let mut staging = demo("staging", 1);
    staging["flags"] = json!([{
        "key": "staging-only", "type": "boolean", "enabled": true, "offVariation": "off",
        "variations": [{"key": "on", "value": true}, {"key": "off", "value": false}],
        "defaultRule": {"variation": "on"},
    }]);
    let res = publish(
        &app,
        "staging",
        publish_body(
            &staging,
            "srv_staging",
            "cli_staging",
            &signer("publisher-1", 1),
        ),
    )
    .await;
    assert_eq!(res.status, 200);
    let user = json!({"targetingKey": "u"});
    assert_eq!(
        ofrep(&app, "srv_staging", Some("staging-only"), &user, &[])
            .await
            .status,
        200
    );
    let crossed = ofrep(&app, SERVER, Some("staging-only"), &user, &[]).await;
    assert_eq!(crossed.status, 404);
    assert_eq!(crossed.json()["errorCode"], "FLAG_NOT_FOUND");
    assert_eq!(
        ofrep(&app, CLIENT, Some("new-checkout"), &json!({}), &[])
            .await
            .status,
        403
    );
    assert_eq!(
        ofrep(&app, "wrong", Some("new-checkout"), &json!({}), &[])
            .await
            .status,
        401
    );
    let anonymous = send(
        &app,
        "POST",
        "/ofrep/v1/evaluate/flags/new-checkout",
        &[],
        "",
    )
    .await;
    assert_eq!(anonymous.status, 401);
}

#[tokio::test]
async fn the_signed_client_snapshot_holds_client_visible_flags_with_an_etag() {
    let app = published().await;
    let res = send(
        &app,
        "GET",
        &format!("/.well-known/flags/{CLIENT}"),
        &[],
        "",
    )
    .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("content-type"), Some("application/jose"));
    let jws = String::from_utf8(res.body.to_vec()).unwrap();
    let part = |i: usize| -> Value {
        let text = jws.split('.').nth(i).unwrap();
        serde_json::from_slice(&Base64UrlUnpadded::decode_vec(text).unwrap()).unwrap()
    };
    assert_eq!(part(0)["aud"], "client");
    let payload = part(1);
    let keys: Vec<&str> = payload["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["new-checkout", "checkout-banner"]);
    let etag = res.header("etag").unwrap().to_string();
    let again = send(
        &app,
        "GET",
        &format!("/.well-known/flags/{CLIENT}"),
        &[("if-none-match", &etag)],
        "",
    )
    .await;
    assert_eq!(again.status, 304);
    let server_key = send(
        &app,
        "GET",
        &format!("/.well-known/flags/{SERVER}"),
        &[],
        "",
    )
    .await;
    assert_eq!(server_key.status, 403);
    let jwks = send(&app, "GET", "/.well-known/jwks.json", &[], "")
        .await
        .json();
    assert_eq!(jwks["keys"][0]["kid"], "publisher-1");
}

#[tokio::test]
async fn the_store_holds_only_hashes_of_keys() {
    let app = published().await;
    let names = app.kv_keys();
    assert!(
        names.contains(&format!("sdk-key/{}", hash_key(SERVER))),
        "{names:?}"
    );
    assert!(!names.iter().any(|n| n.contains(SERVER)), "{names:?}");
}

#[tokio::test]
async fn ofrep_bulk_answers_with_an_etag_and_304() {
    let app = published().await;
    let user = json!({"targetingKey": "user-1"});
    let res = ofrep(&app, SERVER, None, &user, &[]).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["flags"].as_array().map(Vec::len), Some(4));
    let etag = res.header("etag").expect("an etag").to_string();
    let again = ofrep(&app, SERVER, None, &user, &[("if-none-match", &etag)]).await;
    assert_eq!(again.status, 304);
}

#[tokio::test]
async fn native_evaluation_gives_full_detail() {
    let app = published().await;
    let auth = format!("Bearer {SERVER}");
    let res = send(
        &app,
        "GET",
        "/v1/evaluate?flag=new-checkout&targetingKey=user-2&email=ada%40example.com",
        &[("authorization", &auth)],
        "",
    )
    .await;
    let body = res.json();
    assert_eq!(res.status, 200, "{body}");
    let flag = &body["flags"]["new-checkout"];
    assert_eq!(flag["value"], true, "{body}");
    assert_eq!(flag["reason"], "TARGETING_MATCH");
    assert_eq!(flag["ruleId"], "staff");
    let listed = send(&app, "GET", "/v1/flags", &[("x-api-key", SERVER)], "").await;
    assert_eq!(listed.status, 200);
}

#[tokio::test]
async fn bad_input_gets_clear_errors_in_ofrep_shape() {
    let app = published().await;
    let auth = format!("Bearer {SERVER}");
    let post = |body: Vec<u8>, content_type: &'static str| {
        let app = &app;
        let auth = auth.clone();
        async move {
            let headers = [
                ("authorization", auth.as_str()),
                ("content-type", content_type),
            ];
            send(
                app,
                "POST",
                "/ofrep/v1/evaluate/flags/new-checkout",
                &headers,
                body,
            )
            .await
        }
    };
    let big = serde_json::to_vec(&json!({"context": {"pad": "x".repeat(70_000)}})).unwrap();
    let cases: Vec<(Answer, u16, &str)> = vec![
        (
            post(b"{oops".to_vec(), "application/json").await,
            400,
            "PARSE_ERROR",
        ),
        (
            post(br#"{"context": "me"}"#.to_vec(), "application/json").await,
            400,
            "INVALID_CONTEXT",
        ),
        (
            post(br#"{"context": {}}"#.to_vec(), "text/plain").await,
            415,
            "UNSUPPORTED_MEDIA_TYPE",
        ),
        (
            post(big, "application/json").await,
            413,
            "PAYLOAD_TOO_LARGE",
        ),
    ];
    for (res, status, code) in cases {
        let body = res.json();
        assert_eq!(res.status, status, "{body}");
        assert_eq!(body["errorCode"], code);
        assert!(body["errorDetails"].as_str().is_some_and(|d| !d.is_empty()));
    }
}

#[tokio::test]
async fn a_missing_store_or_bad_configuration_is_a_500_with_a_sentence() {
    let app = spin_app(variables(&[], &[("edgeflag_refresh_interval_ms", "soon")]));
    let res = send(&app, "GET", "/healthz", &[], "").await;
    assert_eq!(res.status, 500);
    let text = String::from_utf8_lossy(&res.body);
    assert!(text.contains("EDGEFLAG_REFRESH_INTERVAL_MS"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_mode_answers_over_tcp_on_a_free_port() {
    use std::io::{Read, Write};
    let app = std::sync::Arc::new(published().await);
    let addr = "127.0.0.1:0".parse().unwrap();
    let (local, serving) = edgeflag_wasm_host::serve::bind(app, addr).await.unwrap();
    let server = tokio::spawn(serving);
    // A plain blocking client on another thread: the simplest honest HTTP/1.1 peer.
    let reply = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(local).unwrap();
        let request = "GET /healthz HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n";
        stream.write_all(request.as_bytes()).unwrap();
        let mut reply = String::new();
        stream.read_to_string(&mut reply).unwrap();
        reply
    })
    .await
    .unwrap();
    server.abort();
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(reply.contains(r#""status":"ok""#), "{reply}");
}

/// Spin offers no event streams (`docs/edge-api.md`, "Event streams"): nothing outlives a
/// request there to hold one open. Its answers name none, so OFREP providers keep
/// polling, and the stream route says so, even when a stream secret is configured.
#[tokio::test]
async fn spin_names_no_event_stream_and_keeps_clients_polling() {
    let trusted = signer("publisher-1", 1);
    let secret = "a stream secret of thirty-two bytes or more";
    let app = spin_app(variables(
        &[&trusted],
        &[("edgeflag_stream_secret", secret)],
    ));
    let res = publish(
        &app,
        "production",
        publish_body(&demo("production", 1), SERVER, CLIENT, &trusted),
    )
    .await;
    assert_eq!(res.status, 200);
    let user = json!({"targetingKey": "u"});
    for flag in [None, Some("new-checkout")] {
        let answer = ofrep(&app, SERVER, flag, &user, &[]).await.json();
        assert!(answer.get("eventStreams").is_none(), "{answer}");
    }
    let client = send(
        &app,
        "GET",
        &format!("/.well-known/flags/{CLIENT}"),
        &[],
        "",
    )
    .await;
    assert_eq!(client.status, 200);
    assert_eq!(client.header("edgeflag-event-stream"), None);
    let stream = send(&app, "GET", "/v1/events?token=anything", &[], "").await;
    assert_eq!(stream.status, 404);
    let message = stream.json()["error"]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(message.contains("poll"), "{message}");
    // A body over the route's limit is a 413 in the route's shape (reading stops there).
    let big = serde_json::to_vec(&json!({"context": {"pad": "x".repeat(70_000)}})).unwrap();
    let auth = format!("Bearer {SERVER}");
    let headers = [
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
    ];
    let res = send(
        &app,
        "POST",
        "/ofrep/v1/evaluate/flags/new-checkout",
        &headers,
        big,
    )
    .await;
    let body = res.json();
    assert_eq!(
        (res.status, &body["errorCode"], &body["key"]),
        (413, &json!("PAYLOAD_TOO_LARGE"), &json!("new-checkout"))
    );
}

/// Variables trusting `orgs`, each key signing for its organization (`org` in its JWK).
fn org_variables(
    orgs: &[(&edgeflag_engine::envelope::SigningKey, &str)],
) -> std::collections::BTreeMap<String, String> {
    let keys: Vec<Value> = orgs
        .iter()
        .map(|(key, org)| {
            let mut jwk = serde_json::to_value(key.verifying_key().to_jwk()).unwrap();
            jwk["org"] = json!(org);
            jwk
        })
        .collect();
    let mut vars = variables(&[], &[]);
    vars.insert(
        "edgeflag_trusted_keys".into(),
        json!({ "keys": keys }).to_string(),
    );
    vars
}

#[tokio::test]
async fn an_environment_refuses_another_organizations_key() {
    let (a, b) = (signer("org-a-key", 11), signer("org-b-key", 12));
    let app = spin_app(org_variables(&[(&a, "org_a"), (&b, "org_b")]));
    let body = |ver, by| publish_body(&demo("production", ver), SERVER, CLIENT, by);
    assert_eq!(publish(&app, "production", body(1, &a)).await.status, 200);
    let refused = publish(&app, "production", body(2, &b)).await;
    assert_eq!(refused.status, 403, "{:?}", refused.json());
    assert!(
        refused.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("org_a")
    );
    assert_eq!(publish(&app, "production", body(2, &a)).await.status, 200);
}

async fn eval(app: &SpinApp, key: &str) -> Answer {
    let context = json!({"targetingKey": "u"});
    ofrep(app, key, Some("new-checkout"), &context, &[]).await
}

#[tokio::test]
async fn an_archived_environment_answers_410_and_takes_revocations() {
    let trusted = signer("publisher-1", 1);
    let app = spin_app(variables(&[&trusted], &[]));
    let body = |ver: u64, server: &str, retired: bool| {
        let mut docs: Value = serde_json::from_slice(&publish_body(
            &demo("production", ver),
            server,
            CLIENT,
            &trusted,
        ))
        .unwrap();
        let mut keys = crate::support::keys_for("production", ver, server, CLIENT);
        keys.retired = retired;
        docs["keys"] = json!(trusted.sign(
            &serde_json::to_vec(&keys).unwrap(),
            Some("production"),
            Some(ver),
            Some("keys")
        ));
        serde_json::to_vec(&docs).unwrap()
    };
    assert_eq!(
        publish(&app, "production", body(1, SERVER, false))
            .await
            .status,
        200
    );
    assert_eq!(
        publish(&app, "production", body(2, SERVER, true))
            .await
            .status,
        200
    );
    let archived = eval(&app, SERVER).await;
    assert_eq!(archived.status, 410);
    assert_eq!(archived.json()["errorCode"], "ENVIRONMENT_ARCHIVED");
    // The server key is revoked (replaced) while archived: it is unknown from now on.
    assert_eq!(
        publish(&app, "production", body(3, "srv_new", true))
            .await
            .status,
        200
    );
    assert_eq!(eval(&app, SERVER).await.status, 401);
    assert_eq!(
        publish(&app, "production", body(4, "srv_new", false))
            .await
            .status,
        200
    );
    assert_eq!(eval(&app, "srv_new").await.status, 200);
    assert_eq!(eval(&app, SERVER).await.status, 401);
}

#[tokio::test]
async fn a_fresh_instance_answers_one_flag_from_its_sealed_record() {
    // Every test app has a seal secret (support.rs). With the signed server snapshot
    // corrupted behind the app's back, a one-flag evaluation still answers from the
    // flag's sealed record, which the publish wrote; bulk evaluation, which always
    // verifies the signed documents, refuses.
    let app = published().await;
    assert!(app.kv_keys().contains(&"env/production/seal".to_string()));
    let before = eval(&app, SERVER).await;
    assert_eq!(before.status, 200);
    app.kv_put("env/production/server.jws", b"garbage");
    let sealed = eval(&app, SERVER).await;
    assert_eq!((sealed.status, sealed.json()), (200, before.json()));
    let context = json!({"targetingKey": "u"});
    assert_eq!(ofrep(&app, SERVER, None, &context, &[]).await.status, 503);
    // A record changed behind the app's back is not trusted: the full path answers,
    // and it finds the corrupt snapshot.
    let record = "env/production/flag/new-checkout";
    let mut bytes = app.kv_get(record).unwrap();
    let last = bytes.len() - 2;
    bytes[last] ^= 0x20;
    app.kv_put(record, &bytes);
    assert_eq!(eval(&app, SERVER).await.status, 503);
    // Without a seal secret nothing is sealed, and every request verifies.
    let trusted = signer("publisher-1", 1);
    let mut vars = variables(&[&trusted], &[]);
    vars.remove("edgeflag_seal_secret");
    let plain = spin_app(vars);
    let body = publish_body(&demo("production", 1), SERVER, CLIENT, &trusted);
    assert_eq!(publish(&plain, "production", body).await.status, 200);
    assert!(!plain.kv_keys().iter().any(|k| k.ends_with("/seal")));
    assert_eq!(eval(&plain, SERVER).await.status, 200);
}

/// A stand-in for the admin's ingestion endpoint: records every request it gets.
struct Sink {
    origin: String,
    got: std::sync::Arc<std::sync::Mutex<Vec<http::Request<Value>>>>,
    /// Each request waits for a permit before it is answered (none until a test adds
    /// some, when the sink was made holding).
    gate: std::sync::Arc<tokio::sync::Semaphore>,
}

async fn sink() -> Sink {
    sink_holding(false).await
}

async fn sink_holding(hold: bool) -> Sink {
    use http_body_util::BodyExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let got = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let permits = if hold {
        0
    } else {
        tokio::sync::Semaphore::MAX_PERMITS
    };
    let gate = std::sync::Arc::new(tokio::sync::Semaphore::new(permits));
    let store = got.clone();
    let wait = gate.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let store = store.clone();
            let wait = wait.clone();
            tokio::spawn(async move {
                let service =
                    hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
                        let store = store.clone();
                        let wait = wait.clone();
                        async move {
                            let (parts, body) = req.into_parts();
                            let bytes = body
                                .collect()
                                .await
                                .map(|b| b.to_bytes())
                                .unwrap_or_default();
                            let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                            store
                                .lock()
                                .unwrap()
                                .push(http::Request::from_parts(parts, json));
                            let _permit = wait.acquire().await;
                            let reply = http_body_util::Full::new(bytes::Bytes::from_static(b"{}"));
                            let mut response = http::Response::new(reply);
                            *response.status_mut() = http::StatusCode::ACCEPTED;
                            Ok::<_, std::convert::Infallible>(response)
                        }
                    });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Sink { origin, got, gate }
}

/// A Spin app counting into `admin`, allowed to reach it, with the demo flags published
/// and the test clock on (so a test can ask at any time).
async fn counting_app(admin: &Sink) -> SpinApp {
    let trusted = signer("publisher-1", 1);
    let vars = variables(
        &[&trusted],
        &[
            ("edgeflag_usage_url", &admin.origin),
            ("edgeflag_usage_key", "efi_spin_test"),
            ("edgeflag_test_clock", "true"),
        ],
    );
    let app = spin_app(vars).allow_outbound(vec![admin.origin.clone()]);
    let body = publish_body(&demo("production", 1), SERVER, CLIENT, &trusted);
    assert_eq!(publish(&app, "production", body).await.status, 200);
    app
}

/// The next whole minute: later than anything the app did on the host's clock (its
/// publish), so the test clock's collections are not held back by them.
fn next_minute() -> i64 {
    now_ms() / 60_000 * 60_000 + 60_000
}

/// An evaluation of `new-checkout` at `at` (the test clock).
async fn eval_at(app: &SpinApp, i: usize, at: i64) -> Answer {
    let context = json!({"targetingKey": format!("user-{i}"), "email": "ada@example.com"});
    let now = at.to_string();
    ofrep(
        app,
        SERVER,
        Some("new-checkout"),
        &context,
        &[("x-edgeflag-test-now", &now)],
    )
    .await
}

/// A request that counts nothing at `at`: it collects what is due.
async fn tick(app: &SpinApp, at: i64) {
    let req = http::Request::get("/healthz")
        .header("x-edgeflag-test-now", at.to_string())
        .body(bytes::Bytes::new())
        .unwrap();
    assert_eq!(app.handle(req).await.unwrap().status(), 200);
}

/// Ticks at `at` until `want` items reached the admin, a few seconds at most.
async fn until_counted(app: &SpinApp, admin: &Sink, want: u64, at: i64) -> u64 {
    let mut counted = 0;
    for i in 0..100 {
        counted = count_items(admin);
        if counted >= want {
            break;
        }
        if i % 10 == 0 {
            tick(app, at + i64::from(i) * 1_000).await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    counted
}

#[tokio::test]
async fn spin_parks_each_evaluation_and_a_later_request_sends_them_once() {
    let admin = sink().await;
    let app = counting_app(&admin).await;
    let at = next_minute();
    let asks = 12;
    for i in 0..asks {
        assert_eq!(eval_at(&app, i, at + 1_000).await.status, 200);
    }
    // Each request parked its counts after its response: nothing was sent yet.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(count_items(&admin), 0);
    let parked = app
        .kv_keys()
        .iter()
        .filter(|k| k.starts_with("usage/pending/"))
        .count();
    assert_eq!(parked, asks);
    // A request after the slot closed (plus the grace) sends them, as one batch.
    let later = at + 60_000;
    assert_eq!(
        until_counted(&app, &admin, asks as u64, later).await,
        asks as u64
    );
    let got = admin.got.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "one batch for the whole slot");
    let request = &got[0];
    assert_eq!(request.uri().path(), "/v1/usage/batches");
    assert_eq!(request.headers()["x-api-key"], "efi_spin_test");
    assert!(
        request.headers()["idempotency-key"]
            .to_str()
            .unwrap()
            .starts_with("parked-")
    );
    assert_eq!(
        request.body()["items"],
        json!([{"environment": "production", "flag": "new-checkout", "variant": "on",
                "reason": "TARGETING_MATCH", "time": at, "count": asks}])
    );
    // Acknowledged: the entries are gone and nothing is sent again.
    assert!(
        !app.kv_keys()
            .iter()
            .any(|k| k.starts_with("usage/pending/"))
    );
    tick(&app, later + 120_000).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(admin.got.lock().unwrap().len(), 1);
}

/// The items the stand-in admin counted, each idempotency key once (as the admin
/// counts a retried batch once).
fn count_items(sink: &Sink) -> u64 {
    let got = sink.got.lock().unwrap();
    let mut seen = std::collections::BTreeSet::new();
    got.iter()
        .filter(|r| seen.insert(r.headers()["idempotency-key"].clone()))
        .flat_map(|r| r.body()["items"].as_array().cloned().unwrap_or_default())
        .map(|item| item["count"].as_u64().unwrap_or(0))
        .sum()
}

#[tokio::test]
async fn an_admin_the_app_may_not_reach_gets_nothing_and_answers_do_not_suffer() {
    let admin = sink().await;
    let trusted = signer("publisher-1", 1);
    let vars = variables(
        &[&trusted],
        &[
            ("edgeflag_usage_url", &admin.origin),
            ("edgeflag_usage_key", "efi_spin_test"),
            ("edgeflag_test_clock", "true"),
        ],
    );
    let app = spin_app(vars); // no allowed outbound origin
    let body = publish_body(&demo("production", 1), SERVER, CLIENT, &trusted);
    assert_eq!(publish(&app, "production", body).await.status, 200);
    assert_eq!(eval(&app, SERVER).await.status, 200);
    // A later request tries to send and is refused: the counts stay parked for a
    // later try, and the answers were not disturbed.
    let later = http::Request::get("/healthz")
        .header("x-edgeflag-test-now", (now_ms() + 60_000).to_string())
        .body(bytes::Bytes::new())
        .unwrap();
    assert_eq!(app.handle(later).await.unwrap().status(), 200);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(count_items(&admin), 0);
    assert!(
        app.kv_keys()
            .iter()
            .any(|k| k.starts_with("usage/pending/"))
    );
}

#[tokio::test]
async fn the_answer_does_not_wait_for_the_admin() {
    // The admin holds every usage request unanswered; the request that sends the parked
    // counts answers regardless, and the counts arrive once the admin lets them through.
    let admin = sink_holding(true).await;
    let app = counting_app(&admin).await;
    let at = next_minute();
    for i in 0..3 {
        assert_eq!(eval_at(&app, i, at + 1_000).await.status, 200);
    }
    let answered =
        tokio::time::timeout(std::time::Duration::from_secs(30), tick(&app, at + 60_000));
    answered.await.expect("answered while the admin holds");
    admin.gate.add_permits(100);
    assert_eq!(until_counted(&app, &admin, 3, at + 70_000).await, 3);
}

fn now_ms() -> i64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    i64::try_from(since.unwrap().as_millis()).unwrap()
}
