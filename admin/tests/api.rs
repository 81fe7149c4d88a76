//! Router tests of the admin API: service basics, auth and roles, tenancy, and the
//! resources. Each test gets a fresh database.

mod common;

use axum::{
    body::Body,
    http::{Method, Request, StatusCode},
};
use common::{app, bool_flag, call};
use serde_json::json;
use tower::ServiceExt;

#[tokio::test]
async fn health_ready_metrics_and_request_ids() {
    let t = app().await;
    let router = edgeflag_admin::router(t.state.clone());
    for path in [
        "/healthz",
        "/readyz",
        "/metrics",
        "/v1/docs/openapi.json",
        "/.well-known/jwks.json",
    ] {
        let response = router
            .clone()
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert!(response.headers().contains_key("x-request-id"), "{path}");
    }
    let response = router
        .clone()
        .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let body = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    let text = String::from_utf8_lossy(&body);
    assert!(
        text.contains(
            "edgeflag_admin_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} 1"
        ),
        "{text}"
    );
    assert!(text.contains("edgeflag_admin_publish_lag_seconds"));
    let (_, doc) = call(&t.owner, Method::GET, "/v1/docs/openapi.json", None).await;
    assert!(doc["paths"]["/v1/projects/{project}/flags"].is_object());
}

#[tokio::test]
async fn errors_share_one_shape() {
    let t = app().await;
    let (status, body) = call(&t.owner, Method::GET, "/v1/projects/nope", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "NOT_FOUND");
    let (status, body) = call(
        &t.owner,
        Method::POST,
        "/v1/projects",
        Some(json!({"key": "a", "name": "A", "colour": "red"})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("colour")
    );
    let (status, body) = call(
        &t.owner,
        Method::POST,
        "/v1/projects",
        Some(json!({"key": 5, "name": "A"})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["path"], "/key");
    let (status, _) = call(
        &t.owner,
        Method::POST,
        "/v1/projects",
        Some(json!({"key": "dup", "name": "A"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = call(
        &t.owner,
        Method::POST,
        "/v1/projects",
        Some(json!({"key": "dup", "name": "B"})),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("CONFLICT"))
    );
    let big = "x".repeat(2 * 1024 * 1024);
    let (status, body) = call(
        &t.owner,
        Method::POST,
        "/v1/projects",
        Some(json!({"key": "big", "name": big})),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body["error"]["code"], "PAYLOAD_TOO_LARGE");
}

#[tokio::test]
async fn api_keys_become_tokens_and_refresh_once() {
    let t = app().await;
    let router = edgeflag_admin::router(t.state.clone());
    let anon = edgeflag_admin::local::Local::new(&t.state, "none");
    let (status, tokens) = call(
        &anon,
        Method::POST,
        "/v1/auth/token",
        Some(json!({"apiKey": t.owner_key})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let access = tokens["accessToken"].as_str().unwrap();
    let with_jwt = edgeflag_admin::local::Local::new(&t.state, access);
    let (status, org) = call(&with_jwt, Method::GET, "/v1/organizations/current", None).await;
    assert_eq!(
        (status, org["key"].as_str()),
        (StatusCode::OK, Some("acme"))
    );
    let refresh = json!({"refreshToken": tokens["refreshToken"]});
    let (status, again) = call(
        &anon,
        Method::POST,
        "/v1/auth/refresh",
        Some(refresh.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(again["accessToken"].is_string());
    let (status, _) = call(&anon, Method::POST, "/v1/auth/refresh", Some(refresh)).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a refresh token is single use"
    );
    let (status, _) = call(
        &anon,
        Method::POST,
        "/v1/auth/token",
        Some(json!({"apiKey": "efk_wrong"})),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = call(&anon, Method::GET, "/v1/projects", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let tampered = format!("{}x", &access[..access.len() - 1]);
    let (status, _) = call(
        &edgeflag_admin::local::Local::new(&t.state, &tampered),
        Method::GET,
        "/v1/projects",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let response = router
        .oneshot(Request::get("/v1/projects").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn api_keys_are_shown_once_listed_and_revoked() {
    let t = app().await;
    let created = t
        .owner
        .ok(
            Method::POST,
            "/v1/api-keys",
            Some(json!({"name": "ci", "role": "editor"})),
        )
        .await
        .unwrap();
    let secret = created["secret"].as_str().unwrap().to_string();
    let list = t.owner.ok(Method::GET, "/v1/api-keys", None).await.unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    assert!(
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k.get("secret").is_none())
    );
    let stored: String = sqlx::query_scalar::<_, String>("SELECT hash FROM api_keys WHERE id = $1")
        .bind(created["id"].as_str().unwrap())
        .fetch_one(&t.state.pool)
        .await
        .unwrap();
    assert_ne!(stored, secret, "only the hash is stored");
    let ci = edgeflag_admin::local::Local::new(&t.state, &secret);
    assert_eq!(
        call(&ci, Method::GET, "/v1/projects", None).await.0,
        StatusCode::OK
    );
    let path = format!("/v1/api-keys/{}", created["id"].as_str().unwrap());
    assert_eq!(
        call(&t.owner, Method::DELETE, &path, None).await.0,
        StatusCode::OK
    );
    assert_eq!(
        call(&ci, Method::GET, "/v1/projects", None).await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn roles_are_enforced() {
    let t = app().await;
    t.project().await;
    let viewer = t.client("viewer").await;
    let editor = t.client("editor").await;
    let admin = t.client("admin").await;
    // A viewer reads but cannot write anything.
    assert_eq!(
        call(&viewer, Method::GET, "/v1/projects/web", None).await.0,
        StatusCode::OK
    );
    let (status, body) = call(
        &viewer,
        Method::POST,
        "/v1/projects/web/flags",
        Some(bool_flag("f")),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("FORBIDDEN"))
    );
    assert_eq!(
        call(
            &viewer,
            Method::POST,
            "/v1/projects",
            Some(json!({"key": "x", "name": "x"}))
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        call(&viewer, Method::GET, "/v1/api-keys", None).await.0,
        StatusCode::FORBIDDEN
    );
    // An editor writes flags but not projects, environments or keys.
    assert_eq!(
        call(
            &editor,
            Method::POST,
            "/v1/projects/web/flags",
            Some(bool_flag("f"))
        )
        .await
        .0,
        StatusCode::CREATED
    );
    assert_eq!(
        call(
            &viewer,
            Method::POST,
            "/v1/projects/web/flags/f/environments/staging/toggle",
            Some(json!({"enabled": true}))
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        call(
            &editor,
            Method::POST,
            "/v1/projects",
            Some(json!({"key": "x", "name": "x"}))
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        call(
            &editor,
            Method::POST,
            "/v1/projects/web/environments/staging/sdk-keys",
            Some(json!({"kind": "server"}))
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    // An admin cannot mint an owner key or rotate signing keys.
    assert_eq!(
        call(
            &admin,
            Method::POST,
            "/v1/api-keys",
            Some(json!({"name": "o", "role": "owner"}))
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        call(&admin, Method::POST, "/v1/signing-keys/rotate", None)
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        call(
            &admin,
            Method::POST,
            "/v1/projects",
            Some(json!({"key": "x", "name": "x"}))
        )
        .await
        .0,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn nobody_reaches_another_organizations_data() {
    let t = app().await;
    t.project().await;
    t.owner
        .ok(
            Method::POST,
            "/v1/projects/web/flags",
            Some(bool_flag("secret-flag")),
        )
        .await
        .unwrap();
    let created = t
        .owner
        .ok(
            Method::POST,
            "/v1/organizations",
            Some(json!({"key": "other", "name": "Other"})),
        )
        .await
        .unwrap();
    let other =
        edgeflag_admin::local::Local::new(&t.state, created["ownerApiKey"].as_str().unwrap());
    for path in [
        "/v1/projects/web",
        "/v1/projects/web/flags",
        "/v1/projects/web/flags/secret-flag",
        "/v1/projects/web/environments/staging/publish-status",
    ] {
        assert_eq!(
            call(&other, Method::GET, path, None).await.0,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    let (status, _) = call(
        &other,
        Method::POST,
        "/v1/projects/web/flags/secret-flag/environments/staging/toggle",
        Some(json!({"enabled": true})),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let projects = other.ok(Method::GET, "/v1/projects", None).await.unwrap();
    assert_eq!(projects["items"], json!([]));
    let audit = other.ok(Method::GET, "/v1/audit", None).await.unwrap();
    assert_eq!(audit["items"], json!([]));
    let orgs = other
        .ok(Method::GET, "/v1/organizations", None)
        .await
        .unwrap();
    assert_eq!(orgs["items"].as_array().unwrap().len(), 1);
    assert_eq!(orgs["items"][0]["key"], "other");
    // The same project key in another organization is independent.
    assert_eq!(
        call(
            &other,
            Method::POST,
            "/v1/projects",
            Some(json!({"key": "web", "name": "Web"}))
        )
        .await
        .0,
        StatusCode::CREATED
    );
    let keys = other.ok(Method::GET, "/v1/api-keys", None).await.unwrap();
    assert_eq!(keys["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after() {
    let t = common::app_with(|c| c.rate_limit_per_minute = 3).await;
    let router = edgeflag_admin::router(t.state.clone());
    let mut last = None;
    for _ in 0..4 {
        let request = Request::get("/v1/projects")
            .header("authorization", format!("Bearer {}", t.owner_key))
            .body(Body::empty())
            .unwrap();
        last = Some(router.clone().oneshot(request).await.unwrap());
    }
    let last = last.unwrap();
    assert_eq!(last.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(last.headers().contains_key("retry-after"));
    assert_eq!(last.headers()["x-ratelimit-limit"], "3");
    assert_eq!(last.headers()["x-ratelimit-remaining"], "0");
    let other = edgeflag_admin::routes::orgs::create_org(&t.state.pool, "other", "Other")
        .await
        .unwrap()
        .1;
    let request = Request::get("/v1/projects")
        .header("authorization", format!("Bearer {other}"))
        .body(Body::empty())
        .unwrap();
    let fresh = router.oneshot(request).await.unwrap();
    assert_eq!(fresh.status(), StatusCode::OK, "limits are per key");
    assert_eq!(fresh.headers()["x-ratelimit-remaining"], "2");
}

#[tokio::test]
async fn seed_demo_matches_the_demo_snapshot() {
    let t = app().await;
    let keys = edgeflag_admin_core::seed::demo(&t.state.pool)
        .await
        .unwrap();
    assert!(keys.server_sdk_key.starts_with("efs_") && keys.client_sdk_key.starts_with("efc_"));
    let demo = edgeflag_admin::local::Local::new(&t.state, &keys.owner_api_key);
    let preview = "/v1/projects/demo/environments/production/evaluate";
    let context = json!({"targetingKey": "user-2", "email": "ada@example.com"});
    let result = demo
        .ok(
            Method::POST,
            preview,
            Some(json!({"context": context, "nowMs": 1_795_608_000_000_i64})),
        )
        .await
        .unwrap();
    let checkout = &result["results"]["new-checkout"];
    assert_eq!(
        (checkout["value"].clone(), checkout["ruleId"].clone()),
        (json!(true), json!("staff"))
    );
    assert_eq!(result["results"]["pricing-page"]["reason"], "DISABLED");
    assert_eq!(result["results"].as_object().unwrap().len(), 4);
}

/// The JSON shape of a flag, pinned (ids and times masked).
#[tokio::test]
async fn flag_json_shape_is_stable() {
    let t = app().await;
    t.owner
        .ok(
            Method::POST,
            "/v1/projects",
            Some(json!({"key": "web", "name": "Web"})),
        )
        .await
        .unwrap();
    t.owner
        .ok(
            Method::POST,
            "/v1/projects/web/environments",
            Some(json!({"key": "prod", "name": "Prod"})),
        )
        .await
        .unwrap();
    let mut flag = t
        .owner
        .ok(Method::POST, "/v1/projects/web/flags", Some(bool_flag("f")))
        .await
        .unwrap();
    for field in ["createdAt", "updatedAt"] {
        assert!(flag[field].as_str().unwrap().ends_with('Z'));
        flag[field] = json!("<time>");
    }
    assert_eq!(
        flag,
        json!({
            "key": "f", "name": "f", "description": "", "type": "boolean",
            "variations": [{"key": "on", "value": true}, {"key": "off", "value": false}],
            "tags": ["checkout"], "clientVisible": true,
            "environments": {"prod": {"enabled": false, "offVariation": "off", "targets": [], "rules": [], "defaultRule": {"variation": "off"}, "prerequisites": []}},
            "version": 1, "archived": false, "createdAt": "<time>", "updatedAt": "<time>"
        })
    );
}

#[tokio::test]
async fn readyz_waits_for_every_migration() {
    let t = app().await;
    let ready = |state| async move {
        edgeflag_admin::router(state)
            .oneshot(Request::get("/readyz").body(Body::empty()).unwrap())
            .await
            .unwrap()
            .status()
    };
    assert_eq!(ready(t.state.clone()).await, StatusCode::OK);
    // As if another replica of an older release had migrated this database.
    sqlx::query(
        "DELETE FROM _sqlx_migrations WHERE version = (SELECT MAX(version) FROM _sqlx_migrations)",
    )
    .execute(&t.state.pool)
    .await
    .unwrap();
    assert_eq!(
        ready(t.state.clone()).await,
        StatusCode::SERVICE_UNAVAILABLE
    );
}

#[tokio::test]
async fn readyz_reports_an_unreachable_database() {
    let t = app().await;
    let router = edgeflag_admin::router(t.state.clone());
    t.state.pool.close().await;
    let response = router
        .oneshot(Request::get("/readyz").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let again = edgeflag_admin::router(t.state.clone());
    let alive = again
        .oneshot(Request::get("/healthz").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(
        alive.status(),
        StatusCode::OK,
        "liveness does not depend on the database"
    );
}
