//! Router tests of what the admin refuses and how it says so (issue 13, items 7–11):
//! unknown operators and stray fields, JSON Pointers into the body as sent and
//! messages in JSON's words, limits, media types, objects only, archived keys, and
//! flag metadata.

mod common;

use axum::{
    body::Body,
    http::{Method, Request, StatusCode},
};
use common::{TestApp, app, bool_flag, call};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

const TARGETING: &str = "/v1/projects/web/flags/f/environments/production";

async fn with_flag() -> TestApp {
    let t = app().await;
    t.project().await;
    t.owner
        .ok(Method::POST, "/v1/projects/web/flags", Some(bool_flag("f")))
        .await
        .unwrap();
    t
}

fn targeting(condition: Value) -> Value {
    json!({
        "enabled": true, "offVariation": "off",
        "rules": [{"conditions": [condition], "serve": {"variation": "on"}}],
        "defaultRule": {"variation": "off"}
    })
}

/// Asserts a 422 at `path` and returns its message.
async fn refused(t: &TestApp, method: Method, uri: &str, body: Value, path: &str) -> String {
    let (status, answer) = call(&t.owner, method, uri, Some(body)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(answer["error"]["path"], path, "{answer}");
    answer["error"]["message"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn messages_speak_json_not_rust() {
    let t = with_flag().await;
    let mut body = targeting(json!({"attribute": "age", "op": "lt", "values": [3]}));
    body["defaultRule"] = json!({"rollout": {"variations": [{"variation": "on", "weight": "x"}]}});
    let message = refused(
        &t,
        Method::PUT,
        TARGETING,
        body,
        "/defaultRule/rollout/variations/0/weight",
    )
    .await;
    assert_eq!(
        message,
        "expected a whole number ≥ 0, found the string \"x\""
    );
    let mut body = targeting(json!({"attribute": "age", "op": "lt", "values": [3]}));
    body["targets"] = json!({"on": ["u1"]});
    let message = refused(&t, Method::PUT, TARGETING, body, "/targets").await;
    assert_eq!(message, "expected an array, found an object");
    let mut body = targeting(json!({"attribute": "age", "op": "lt", "values": [3]}));
    body["rules"] = json!([["x"]]);
    let message = refused(&t, Method::PUT, TARGETING, body, "/rules/0").await;
    assert_eq!(message, "expected an object, found an array");
}

#[tokio::test]
async fn json_bodies_only_as_json_media_types_and_objects() {
    let t = app().await;
    let project = r#"{"key": "web", "name": "Web"}"#;
    for content_type in [
        None,
        Some("text/plain"),
        Some("text/plain; a=json"),
        Some("application/jsonx"),
    ] {
        let (status, answer) = raw(&t, "/v1/projects", content_type, project).await;
        assert_eq!(
            status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{content_type:?}"
        );
        assert_eq!(answer["error"]["code"], "UNSUPPORTED_MEDIA_TYPE");
    }
    let (status, answer) = raw(
        &t,
        "/v1/projects",
        Some("application/json"),
        r#"["web", "Web"]"#,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(
        (
            answer["error"]["path"].clone(),
            answer["error"]["message"].clone()
        ),
        (json!(""), json!("expected an object, found an array"))
    );
    let (status, _) = raw(
        &t,
        "/v1/projects",
        Some("application/json"),
        &format!("{project} x"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, answer) = raw(
        &t,
        "/v1/projects",
        Some("application/vnd.edgeflag+json; charset=utf-8"),
        project,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
}

/// Sends `body` as is with `content_type`.
async fn raw(
    t: &TestApp,
    uri: &str,
    content_type: Option<&str>,
    body: &str,
) -> (StatusCode, Value) {
    let mut request = Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header("authorization", format!("Bearer {}", t.owner_key));
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    let response = edgeflag_admin::router(t.state.clone())
        .oneshot(request.body(Body::from(body.to_string())).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}
