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
async fn unknown_operators_are_refused_with_the_known_ones() {
    let t = with_flag().await;
    for op in ["endswith", "greaterThan"] {
        let body = targeting(json!({"attribute": "email", "op": op, "values": ["x"]}));
        let message = refused(&t, Method::PUT, TARGETING, body, "/rules/0/conditions/0/op").await;
        assert!(message.contains(&format!("`{op}`")), "{message}");
        assert!(
            message.contains("endsWith") && message.contains("semverGte"),
            "{message}"
        );
    }
    let segment = json!({"key": "s", "name": "S", "rules": [{"conditions": [{"attribute": "age", "op": "greaterThan", "values": [3]}]}]});
    let message = refused(
        &t,
        Method::POST,
        "/v1/projects/web/segments",
        segment,
        "/rules/0/conditions/0/op",
    )
    .await;
    assert!(message.contains("gt"), "{message}");
}

#[tokio::test]
async fn stray_fields_are_refused_where_they_are() {
    let t = with_flag().await;
    t.owner
        .ok(
            Method::POST,
            "/v1/projects/web/segments",
            Some(json!({"key": "beta", "name": "Beta", "included": ["u1"]})),
        )
        .await
        .unwrap();
    let cases = [
        (
            json!({"attribute": "email", "op": "inSegment", "values": ["beta"]}),
            "/rules/0/conditions/0/attribute",
        ),
        (
            json!({"attribute": "email", "op": "exists", "values": ["x"]}),
            "/rules/0/conditions/0/values",
        ),
        (
            json!({"attribute": "age", "op": "lt", "values": [3], "caseInsensitive": true}),
            "/rules/0/conditions/0/caseInsensitive",
        ),
        (
            json!({"attribute": "age", "op": "lt", "values": [3], "colour": "red"}),
            "/rules/0/conditions/0/colour",
        ),
    ];
    for (condition, path) in cases {
        refused(&t, Method::PUT, TARGETING, targeting(condition), path).await;
    }
    let mut body = targeting(json!({"attribute": "age", "op": "lt", "values": [3]}));
    body["rules"][0]["serve"]["weight"] = json!(1);
    refused(&t, Method::PUT, TARGETING, body, "/rules/0/serve/weight").await;
    let mut flag = bool_flag("g");
    flag["variations"][0]["label"] = json!("x");
    refused(
        &t,
        Method::POST,
        "/v1/projects/web/flags",
        flag,
        "/variations/0/label",
    )
    .await;
    let segment = json!({"key": "s", "name": "S", "rules": [{"conditions": [], "serve": {}}]});
    refused(
        &t,
        Method::POST,
        "/v1/projects/web/segments",
        segment,
        "/rules/0/serve",
    )
    .await;
}

#[tokio::test]
async fn paths_point_into_the_body_as_sent() {
    let t = with_flag().await;
    // A create without environments: the environments it starts are not in the body.
    let mut flag = bool_flag("g");
    flag["type"] = json!("bool");
    refused(&t, Method::POST, "/v1/projects/web/flags", flag, "/type").await;
    // A PUT body is the environment's targeting: its own paths, never /environments/….
    let mut body = targeting(json!({"attribute": "age", "op": "lt", "values": [3]}));
    body["rules"][0]["serve"]["variation"] = json!("nope");
    refused(&t, Method::PUT, TARGETING, body, "/rules/0/serve/variation").await;
    let body = targeting(json!({"attribute": "age", "op": "lt", "values": ["x"]}));
    refused(
        &t,
        Method::PUT,
        TARGETING,
        body,
        "/rules/0/conditions/0/values/0",
    )
    .await;
    // A missing member is pointed at, not its parent.
    let message = refused(
        &t,
        Method::PUT,
        TARGETING,
        json!({"enabled": true, "defaultRule": {"variation": "off"}}),
        "/offVariation",
    )
    .await;
    assert_eq!(message, "`offVariation` is required");
    // A PATCH that drops a variation the stored targeting serves points at /variations.
    let message = refused(
        &t,
        Method::PATCH,
        "/v1/projects/web/flags/f",
        json!({"variations": [{"key": "on", "value": true}]}),
        "/variations",
    )
    .await;
    assert!(message.contains("production"), "{message}");
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
async fn limits_are_enforced_where_documented() {
    let t = with_flag().await;
    for uri in [
        "/v1/audit?limit=0",
        "/v1/audit?limit=201",
        "/v1/audit?limit=100000",
        "/v1/projects/web/flags?limit=0",
        "/v1/projects/web/segments?limit=201",
        "/v1/projects?limit=0",
    ] {
        let (status, answer) = call(&t.owner, Method::GET, uri, None).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{uri}: {answer}");
        assert_eq!(answer["error"]["path"], "/limit", "{uri}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains("1 to 200"), "{uri}: {message}");
    }
    // The webhook delivery log too (it used to clamp to 1–500 silently).
    let hook = t
        .owner
        .ok(
            Method::POST,
            "/v1/webhooks",
            Some(json!({"url": "https://hooks.example.com/edgeflag"})),
        )
        .await
        .unwrap();
    let deliveries = format!("/v1/webhooks/{}/deliveries", hook["id"].as_str().unwrap());
    for limit in ["0", "201", "500"] {
        let uri = format!("{deliveries}?limit={limit}");
        let (status, answer) = call(&t.owner, Method::GET, &uri, None).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{uri}: {answer}");
        assert_eq!(answer["error"]["path"], "/limit", "{uri}");
    }
    let (status, _) = call(
        &t.owner,
        Method::GET,
        &format!("{deliveries}?limit=200"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, answer) = call(&t.owner, Method::GET, "/v1/audit?limit=abc", None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        (
            answer["error"]["path"].clone(),
            answer["error"]["message"].clone()
        ),
        (json!("/limit"), json!("expected a whole number ≥ 0"))
    );
    let page = t
        .owner
        .ok(Method::GET, "/v1/audit?limit=200", None)
        .await
        .unwrap();
    assert!(page["items"].as_array().unwrap().len() <= 200);
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

#[tokio::test]
async fn archived_flags_say_so() {
    let t = with_flag().await;
    t.owner
        .ok(Method::POST, "/v1/projects/web/flags/f/archive", None)
        .await
        .unwrap();
    let (status, answer) = call(
        &t.owner,
        Method::POST,
        "/v1/projects/web/flags",
        Some(bool_flag("f")),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    let message = answer["error"]["message"].as_str().unwrap();
    assert!(message.contains("archived"), "{message}");
    assert!(
        message.contains("POST /v1/projects/web/flags/f/restore"),
        "{message}"
    );

    let body = targeting(json!({"attribute": "age", "op": "lt", "values": [3]}));
    let (status, answer) = call(&t.owner, Method::PUT, TARGETING, Some(body.clone())).await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("archived")
    );

    t.owner
        .ok(Method::POST, "/v1/projects/web/flags/f/restore", None)
        .await
        .unwrap();
    t.owner
        .ok(Method::PUT, TARGETING, Some(body))
        .await
        .unwrap();
}

#[tokio::test]
async fn flag_metadata_is_validated_stored_published_and_returned() {
    let t = app().await;
    t.project().await;
    let mut flag = bool_flag("f");
    flag["metadata"] = json!({"owner": "payments", "ticket": 42, "reviewed": true});
    let created = t
        .owner
        .ok(Method::POST, "/v1/projects/web/flags", Some(flag.clone()))
        .await
        .unwrap();
    assert_eq!(created["metadata"], flag["metadata"]);
    let changed = t
        .owner
        .ok(
            Method::PATCH,
            "/v1/projects/web/flags/f",
            Some(json!({"metadata": {"owner": "growth"}})),
        )
        .await
        .unwrap();
    assert_eq!(changed["metadata"], json!({"owner": "growth"}));
    let shown = t
        .owner
        .ok(Method::GET, "/v1/projects/web/flags/f", None)
        .await
        .unwrap();
    assert_eq!(shown["metadata"], json!({"owner": "growth"}));

    let pool = &t.state.pool;
    let env_id: String = sqlx::query_scalar("SELECT id FROM environments WHERE key = 'production'")
        .fetch_one(pool)
        .await
        .unwrap();
    let mut conn = pool.acquire().await.unwrap();
    let docs = edgeflag_admin_core::snapshot::build(&mut conn, &env_id, 1)
        .await
        .unwrap();
    assert_eq!(
        docs.server["flags"][0]["metadata"],
        json!({"owner": "growth"})
    );
    assert_eq!(
        docs.client["flags"][0]["metadata"],
        json!({"owner": "growth"})
    );

    for (metadata, path) in [
        (json!({"owner": {"team": "x"}}), "/metadata/owner"),
        (json!({"tags": ["a"]}), "/metadata/tags"),
        (json!({"gone": null}), "/metadata/gone"),
        (json!({"flagVersion": 3}), "/metadata/flagVersion"),
        (json!(["owner"]), "/metadata"),
    ] {
        let mut flag = bool_flag("g");
        flag["metadata"] = metadata;
        refused(&t, Method::POST, "/v1/projects/web/flags", flag, path).await;
    }
}

/// The OpenAPI document says what these routes now answer.
#[tokio::test]
async fn the_openapi_document_says_so() {
    let t = app().await;
    let doc = t
        .owner
        .ok(Method::GET, "/v1/docs/openapi.json", None)
        .await
        .unwrap();
    let targeting = &doc["paths"]["/v1/projects/{project}/flags/{flag}/environments/{env}"]["put"];
    assert!(targeting["responses"]["409"].is_object(), "{targeting}");
    let audit = &doc["paths"]["/v1/audit"]["get"];
    assert!(audit["responses"]["422"].is_object(), "{audit}");
    let schemas = &doc["components"]["schemas"];
    for schema in ["CreateFlag", "UpdateFlag", "FlagDef"] {
        assert!(
            schemas[schema]["properties"]["metadata"].is_object(),
            "{schema}: {}",
            schemas[schema]
        );
    }
}
