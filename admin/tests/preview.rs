//! The evaluate preview runs the engine off the async runtime: while previews of the
//! slowest `matches` conditions the limits accept are evaluating, the same runtime
//! still answers `/healthz`.

mod common;

use std::time::Duration;

use axum::{
    body::Body,
    http::{Method, Request, StatusCode},
};
use common::{app, bool_flag};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

/// The slowest pattern shape the limits accept (`BENCHMARKS.md`, `matches-worst`,
/// case `vm`: size 505) and the longest attribute its work limit lets it test.
const WORST: &str = "(?:.?.?.?.?){63}!";
const ATTRIBUTE_BYTES: usize = 250;
/// Rules per flag, each testing the pattern (none matches, so every one runs).
const RULES: usize = 150;

fn slow_targeting() -> Value {
    let rules: Vec<Value> = (0..RULES)
        .map(|i| {
            json!({"id": format!("r{i}"), "serve": {"variation": "on"},
                   "conditions": [{"attribute": "s", "op": "matches", "values": [WORST]}]})
        })
        .collect();
    json!({"enabled": true, "offVariation": "off", "rules": rules,
           "defaultRule": {"variation": "off"}})
}

fn preview_request(key: &str) -> Request<Body> {
    let body = json!({"context": {"targetingKey": "u", "s": "a".repeat(ATTRIBUTE_BYTES)}});
    Request::post("/v1/projects/web/environments/production/evaluate")
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

/// A current-thread runtime is one runtime worker: an evaluation that ran on it
/// would hold every other request until it ended.
#[tokio::test(flavor = "current_thread")]
async fn healthz_answers_while_previews_evaluate() {
    let t = app().await;
    t.project().await;
    t.owner
        .ok(
            Method::POST,
            "/v1/projects/web/flags",
            Some(bool_flag("slow")),
        )
        .await
        .unwrap();
    t.owner
        .ok(
            Method::PUT,
            "/v1/projects/web/flags/slow/environments/production",
            Some(slow_targeting()),
        )
        .await
        .unwrap();
    let router = edgeflag_admin::router(t.state.clone());
    let previews: Vec<_> = (0..2)
        .map(|_| tokio::spawn(router.clone().oneshot(preview_request(&t.owner_key))))
        .collect();
    // Give the previews time to read the database and reach the engine (their reads
    // take milliseconds, their evaluations far longer).
    tokio::time::sleep(Duration::from_millis(100)).await;

    let health = router
        .clone()
        .oneshot(Request::get("/healthz").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let running = previews.iter().filter(|p| !p.is_finished()).count();
    assert_eq!(running, 2, "/healthz waited for the previews to finish");

    for preview in previews {
        let response = preview.await.unwrap().unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value =
            serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes())
                .unwrap();
        let slow = &body["results"]["slow"];
        assert_eq!(
            (&slow["value"], &slow["reason"]),
            (&json!(false), &json!("DEFAULT")),
            "{body}"
        );
    }
}
