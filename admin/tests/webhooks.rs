//! Webhooks: a receiver on 127.0.0.1 (allowed by `webhooks.allowed_networks`) gets one
//! signed delivery per matching change, a receiver that fails twice gets it on the
//! third attempt, a receiver that always fails is given up after `max_attempts`, only
//! admins manage webhooks, non-public destinations are refused when a webhook is
//! written and again at delivery, and the log never shows what a receiver answered.

mod common;

use std::sync::{Arc, Mutex};

use axum::{
    Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, Method, StatusCode},
    routing::post,
};
use common::{TestApp, app_with, bool_flag, call};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

#[derive(Clone, Default)]
struct Receiver {
    seen: Arc<Mutex<Vec<(HeaderMap, Bytes)>>>,
    /// Answer 500 to this many requests first.
    failures: Arc<Mutex<u32>>,
}

/// What a failing receiver answers; the delivery log must never show it.
const RECEIVER_SECRET: &str = "stack trace with db password hunter2";

async fn receive(
    State(r): State<Receiver>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, &'static str) {
    r.seen.lock().unwrap().push((headers, body));
    let mut failures = r.failures.lock().unwrap();
    if *failures > 0 {
        *failures -= 1;
        (StatusCode::INTERNAL_SERVER_ERROR, RECEIVER_SECRET)
    } else {
        (StatusCode::NO_CONTENT, "")
    }
}

/// Starts a receiver on a free port; abort the handle to stop it.
async fn receiver(failures: u32) -> (Receiver, String, tokio::task::JoinHandle<()>) {
    let r = Receiver::default();
    *r.failures.lock().unwrap() = failures;
    let app = Router::new()
        .route("/hook", post(receive))
        .with_state(r.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (r, url, server)
}

async fn test_app(max_attempts: i64) -> TestApp {
    let t = app_with(move |c| {
        c.webhooks.backoff_ms = 0;
        c.webhooks.max_attempts = max_attempts;
        c.webhooks.allowed_networks =
            vec!["127.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()];
    })
    .await;
    t.project().await;
    t
}

async fn create_hook(t: &TestApp, url: &str) -> Value {
    t.owner
        .ok(
            Method::POST,
            "/v1/webhooks",
            Some(json!({"url": url, "events": ["flag.*"], "project": "web"})),
        )
        .await
        .unwrap()
}

/// Checks the documented scheme independently of the admin's code.
fn verify(secret: &str, headers: &HeaderMap, body: &[u8]) -> bool {
    let header = headers["edgeflag-signature"].to_str().unwrap();
    let (t, v1) = header.split_once(',').unwrap();
    let t = t.strip_prefix("t=").unwrap();
    let v1 = hex::decode(v1.strip_prefix("v1=").unwrap()).unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    mac.verify_slice(&v1).is_ok()
}

async fn metrics_text(t: &TestApp) -> String {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let request = axum::http::Request::get("/metrics")
        .body(axum::body::Body::empty())
        .unwrap();
    let response = edgeflag_admin::router(t.state.clone())
        .oneshot(request)
        .await
        .unwrap();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

async fn log(t: &TestApp, id: &str) -> Vec<Value> {
    let body = t
        .owner
        .ok(Method::GET, &format!("/v1/webhooks/{id}/deliveries"), None)
        .await
        .unwrap();
    body["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn each_change_is_delivered_once_and_signed() {
    let t = test_app(5).await;
    let (r, url, server) = receiver(0).await;
    let hook = create_hook(&t, &url).await;
    let secret = hook["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"), "{hook}");
    let id = hook["id"].as_str().unwrap();

    t.owner
        .ok(
            Method::POST,
            "/v1/projects/web/flags",
            Some(bool_flag("checkout")),
        )
        .await
        .unwrap();
    t.owner
        .ok(
            Method::POST,
            "/v1/projects/web/flags/checkout/environments/production/toggle",
            Some(json!({"enabled": true})),
        )
        .await
        .unwrap();
    // Not a flag event: filtered out.
    t.owner
        .ok(
            Method::POST,
            "/v1/projects/web/segments",
            Some(json!({"key": "beta", "name": "Beta"})),
        )
        .await
        .unwrap();

    let deliverer = t.state.deliverer();
    assert_eq!(deliverer.tick().await.unwrap(), 2);
    assert_eq!(deliverer.tick().await.unwrap(), 0);
    let seen = r.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    let mut types = Vec::new();
    for (headers, body) in &seen {
        assert!(verify(&secret, headers, body), "signature must verify");
        assert!(!verify("whsec_wrong", headers, body));
        let mut tampered = body.to_vec();
        tampered.push(b' ');
        assert!(!verify(&secret, headers, &tampered));
        let event: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(headers["edgeflag-event"], event["type"].as_str().unwrap());
        assert_eq!(headers["edgeflag-delivery"], event["id"].as_str().unwrap());
        assert_eq!(event["project"], "web");
        assert_eq!(event["resource"], "project/web/flag/checkout");
        types.push(event["type"].as_str().unwrap().to_string());
    }
    assert_eq!(types, ["flag.create", "flag.on"]);
    let (headers, body) = &seen[1];
    let now = chrono::Utc::now().timestamp();
    let header = headers["edgeflag-signature"].to_str().unwrap();
    assert!(edgeflag_admin_core::webhooks::verify(
        &secret, header, body, now, 300
    ));

    let entries = log(&t, id).await;
    assert_eq!(entries.len(), 2);
    for e in &entries {
        assert_eq!(e["status"], "delivered", "{e}");
        assert_eq!(e["attempts"], 1);
        assert_eq!(e["responseCode"], 204);
        assert_eq!(e["lastError"], Value::Null);
    }
    assert_eq!(entries[0]["event"], "flag.on");

    // Disabled (DELETE): later changes are not queued for it.
    let off = t
        .owner
        .ok(Method::DELETE, &format!("/v1/webhooks/{id}"), None)
        .await
        .unwrap();
    assert_eq!(off["enabled"], false);
    assert!(off.get("secret").is_none());
    t.owner
        .ok(
            Method::POST,
            "/v1/projects/web/flags/checkout/environments/production/toggle",
            Some(json!({"enabled": false})),
        )
        .await
        .unwrap();
    assert_eq!(deliverer.tick().await.unwrap(), 0);
    assert_eq!(log(&t, id).await.len(), 2);
    server.abort();
}

#[tokio::test]
async fn a_failing_receiver_gets_it_on_the_third_attempt() {
    let t = test_app(5).await;
    let (r, url, server) = receiver(2).await;
    let hook = create_hook(&t, &url).await;
    let id = hook["id"].as_str().unwrap();
    t.owner
        .ok(Method::POST, "/v1/projects/web/flags", Some(bool_flag("f")))
        .await
        .unwrap();
    let deliverer = t.state.deliverer();

    deliverer.tick().await.unwrap();
    let entry = log(&t, id).await.remove(0);
    assert_eq!(entry["status"], "pending", "{entry}");
    assert_eq!(entry["attempts"], 1);
    assert_eq!(entry["responseCode"], 500);
    assert_eq!(entry["lastError"], "HTTP 500", "only our words: {entry}");

    deliverer.tick().await.unwrap();
    deliverer.tick().await.unwrap();
    let entry = log(&t, id).await.remove(0);
    assert_eq!(entry["status"], "delivered", "{entry}");
    assert_eq!(entry["attempts"], 3);
    assert_eq!(entry["responseCode"], 204);
    let seen = r.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 3);
    // Every retry carries the same event id.
    let ids: Vec<_> = seen
        .iter()
        .map(|(h, _)| h["edgeflag-delivery"].clone())
        .collect();
    assert!(ids.iter().all(|i| *i == ids[0]));
    server.abort();
}

#[tokio::test]
async fn a_receiver_that_always_fails_is_given_up_after_max_attempts() {
    let t = test_app(2).await;
    let (r, url, server) = receiver(u32::MAX).await;
    let hook = create_hook(&t, &url).await;
    let id = hook["id"].as_str().unwrap();
    t.owner
        .ok(Method::POST, "/v1/projects/web/flags", Some(bool_flag("f")))
        .await
        .unwrap();
    let deliverer = t.state.deliverer();
    for _ in 0..4 {
        deliverer.tick().await.unwrap();
    }
    let entry = log(&t, id).await.remove(0);
    assert_eq!(entry["status"], "failed", "{entry}");
    assert_eq!(entry["attempts"], 2);
    assert_eq!(r.seen.lock().unwrap().len(), 2);
    let metrics = metrics_text(&t).await;
    assert!(
        metrics.contains("edgeflag_admin_webhook_deliveries{status=\"failed\"} 1"),
        "{metrics}"
    );
    server.abort();
}

#[tokio::test]
async fn only_admins_manage_webhooks_and_secrets_are_shown_once() {
    let t = test_app(5).await;
    let viewer = t.client("viewer").await;
    let editor = t.client("editor").await;
    let admin = t.client("admin").await;
    let body = json!({"url": "http://127.0.0.1:9/hook"});
    for who in [&viewer, &editor] {
        let (status, err) = call(who, Method::POST, "/v1/webhooks", Some(body.clone())).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{err}");
    }
    let hook = admin
        .ok(Method::POST, "/v1/webhooks", Some(body))
        .await
        .unwrap();
    assert_eq!(hook["events"], json!(["flag.*"]));
    assert_eq!(hook["project"], Value::Null);
    let id = hook["id"].as_str().unwrap();
    let listed = viewer.ok(Method::GET, "/v1/webhooks", None).await.unwrap();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    assert!(listed["items"][0].get("secret").is_none());
    let (status, _) = call(&viewer, Method::DELETE, &format!("/v1/webhooks/{id}"), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = call(
        &viewer,
        Method::GET,
        &format!("/v1/webhooks/{id}/deliveries"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    let (status, err) = call(
        &admin,
        Method::POST,
        "/v1/webhooks",
        Some(json!({"url": "ftp://x"})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err["error"]["path"], "/url");
    let (status, err) = call(
        &admin,
        Method::PATCH,
        &format!("/v1/webhooks/{id}"),
        Some(json!({"events": ["fl*g"]})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err["error"]["path"], "/events/0");
    let changed = admin
        .ok(
            Method::PATCH,
            &format!("/v1/webhooks/{id}"),
            Some(json!({"events": ["*"], "enabled": false})),
        )
        .await
        .unwrap();
    assert_eq!(changed["events"], json!(["*"]));
    assert_eq!(changed["enabled"], false);
}

#[tokio::test]
async fn non_public_destinations_are_refused_by_default() {
    let t = app_with(|_| {}).await;
    let refused = [
        "http://127.0.0.1:9/hook",
        "http://localhost:9/hook",
        "http://0.0.0.0/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://[::ffff:10.0.0.1]/",
        "http://10.0.0.1/",
        "http://172.16.5.4/",
        "http://192.168.0.10/",
        "http://100.64.0.1/",
        "http://[fd00::1]/",
        "http://[fe80::1]/",
        "http://224.0.0.251/",
        "http://2130706433/",
        "https://user:pass@hooks.example.com/",
        "ftp://hooks.example.com/",
        "file:///etc/passwd",
    ];
    for url in refused {
        let (status, err) = call(
            &t.owner,
            Method::POST,
            "/v1/webhooks",
            Some(json!({"url": url})),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{url}: {err}");
        assert_eq!(err["error"]["path"], "/url", "{url}: {err}");
    }
    let (_, err) = call(
        &t.owner,
        Method::POST,
        "/v1/webhooks",
        Some(json!({"url": "http://169.254.169.254/"})),
    )
    .await;
    let message = err["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("link-local") && message.contains("allowed_networks"),
        "{message}"
    );

    // A public name is accepted; changing it to an internal address is refused.
    let hook = t
        .owner
        .ok(
            Method::POST,
            "/v1/webhooks",
            Some(json!({"url": "https://hooks.example.com/edgeflag"})),
        )
        .await
        .unwrap();
    let id = hook["id"].as_str().unwrap();
    let (status, err) = call(
        &t.owner,
        Method::PATCH,
        &format!("/v1/webhooks/{id}"),
        Some(json!({"url": "http://127.0.0.1:8080/"})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    assert_eq!(err["error"]["path"], "/url");
}

/// A URL that passed when it was written but now reaches inside (a name rebound to
/// 127.0.0.1, or a row written before the check existed) is refused at delivery, and
/// nothing is sent.
#[tokio::test]
async fn delivery_checks_the_resolved_address_again() {
    let t = test_app(5).await;
    let (r, url, server) = receiver(0).await;
    let port = url.rsplit(':').next().unwrap().trim_end_matches("/hook");
    let by_name = create_hook(&t, &url).await;
    let by_literal = create_hook(&t, &url).await;
    // What the name resolves to changed after the check: `localhost` stands in for a
    // rebinding name (it resolves to loopback here).
    sqlx::query("UPDATE webhooks SET url = $1 WHERE id = $2")
        .bind(format!("http://localhost:{port}/hook"))
        .bind(by_name["id"].as_str().unwrap())
        .execute(&t.state.pool)
        .await
        .unwrap();
    t.owner
        .ok(Method::POST, "/v1/projects/web/flags", Some(bool_flag("f")))
        .await
        .unwrap();
    // The deliverer of an installation that allows no private network.
    let strict = edgeflag_admin_core::webhook_delivery::Deliverer::new(
        t.state.pool.clone(),
        edgeflag_admin::config::WebhookConfig {
            backoff_ms: 0,
            ..Default::default()
        },
        t.state.holder.clone(),
    );
    assert_eq!(strict.tick().await.unwrap(), 2);
    assert!(
        r.seen.lock().unwrap().is_empty(),
        "nothing may reach the receiver"
    );
    for (hook, expected) in [
        (&by_name, "refused: the host resolves to "),
        (
            &by_literal,
            "refused: the URL resolves to 127.0.0.1 (loopback)",
        ),
    ] {
        let entry = log(&t, hook["id"].as_str().unwrap()).await.remove(0);
        assert_eq!(entry["status"], "pending", "{entry}");
        assert_eq!(entry["responseCode"], Value::Null);
        let error = entry["lastError"].as_str().unwrap();
        assert!(
            error.starts_with(expected) && error.contains("(loopback)"),
            "{error}"
        );
    }
    // The same rows go out once the network is allowed.
    assert_eq!(t.state.deliverer().tick().await.unwrap(), 2);
    assert_eq!(r.seen.lock().unwrap().len(), 2);
    server.abort();
}

/// Rows written before the log kept only our words lose the receiver's answer.
#[tokio::test]
async fn migration_scrubs_receiver_answers_from_old_log_rows() {
    let t = test_app(5).await;
    let hook = create_hook(&t, "http://127.0.0.1:9/hook").await;
    t.owner
        .ok(Method::POST, "/v1/projects/web/flags", Some(bool_flag("f")))
        .await
        .unwrap();
    let old = format!("HTTP 500: {RECEIVER_SECRET}");
    sqlx::query("UPDATE webhook_deliveries SET last_error = $1, response_code = 500")
        .bind(&old)
        .execute(&t.state.pool)
        .await
        .unwrap();
    // The statement is the same in both dialects' file.
    let migration = include_str!("../../admin-core/migrations/sqlite/0004_admin_security.sql");
    // The migration's statement about the log (the file holds others).
    let start = migration.find("UPDATE webhook_deliveries").unwrap();
    let scrub = &migration[start..=start + migration[start..].find(';').unwrap()];
    sqlx::raw_sql(scrub).execute(&t.state.pool).await.unwrap();
    let entry = log(&t, hook["id"].as_str().unwrap()).await.remove(0);
    assert_eq!(entry["lastError"], "HTTP 500", "{entry}");
}
