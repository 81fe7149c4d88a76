//! Evaluation insights through the router: ingestion keys, batches accepted or
//! refused as a whole, idempotency, the per-key rate limit, rollups, retention, the
//! usage answers, the stale-flag report and the metrics. They run on SQLite, and on
//! PostgreSQL under `cargo xtask test admin-postgres`.

mod common;

use axum::{
    body::Body,
    http::{HeaderMap, Method, Request, StatusCode},
};
use common::{TestApp, app, app_with, bool_flag, call};
use edgeflag_admin_core::{db::now_ms, usage_writer::apply_retention};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

const DAY: i64 = 86_400_000;

/// Project `web` (environments `staging`, `production`) and an ingestion key.
async fn setup(app: &TestApp) -> String {
    app.project().await;
    let key = app
        .owner
        .ok(
            Method::POST,
            "/v1/ingestion-keys",
            Some(json!({"name": "edge"})),
        )
        .await
        .unwrap();
    key["secret"].as_str().unwrap().to_string()
}

/// Posts a batch; returns the status, headers and body.
async fn post_batch(
    app: &TestApp,
    key: Option<&str>,
    batch_id: Option<&str>,
    body: Value,
) -> (StatusCode, HeaderMap, Value) {
    let mut request = Request::post("/v1/usage/batches").header("content-type", "application/json");
    if let Some(key) = key {
        request = request.header("x-api-key", key);
    }
    if let Some(id) = batch_id {
        request = request.header("idempotency-key", id);
    }
    let request = request
        .body(Body::from(serde_json::to_vec(&body).unwrap()))
        .unwrap();
    let response = edgeflag_admin::router(app.state.clone())
        .oneshot(request)
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, headers, value)
}

fn item(env: &str, flag: &str, variant: &str, reason: &str, time: i64, count: i64) -> Value {
    json!({"environment": env, "flag": flag, "variant": variant, "reason": reason, "time": time, "count": count})
}

async fn total(app: &TestApp, flag: &str, query: &str) -> Value {
    app.owner
        .ok(
            Method::GET,
            &format!("/v1/projects/web/flags/{flag}/usage?{query}"),
            None,
        )
        .await
        .unwrap()
}

#[tokio::test]
async fn a_batch_is_counted_once_in_every_resolution() {
    let app = app().await;
    let key = setup(&app).await;
    let now = now_ms();
    let items = json!({"items": [
        item("web-production", "checkout", "on", "SPLIT", now, 3),
        item("web-production", "checkout", "off", "SPLIT", now, 2),
        item("web-staging", "checkout", "on", "TARGETING_MATCH", now - 60_000, 4),
    ]});
    let (status, _, body) = post_batch(&app, Some(&key), Some("b-1"), items.clone()).await;
    assert_eq!(
        (status, body["accepted"].as_i64()),
        (StatusCode::ACCEPTED, Some(3))
    );
    let (status, _, body) = post_batch(&app, Some(&key), Some("b-1"), items).await;
    assert_eq!(status, StatusCode::OK, "a retried batch is recognised");
    assert_eq!(body["duplicate"], true);

    for resolution in ["minute", "hour", "day"] {
        let usage = total(&app, "checkout", &format!("resolution={resolution}")).await;
        assert_eq!(usage["total"], 9, "{resolution}: {usage}");
    }
    let minutes = total(&app, "checkout", "resolution=minute&environment=production").await;
    assert_eq!(minutes["total"], 5);
    let bucket = &minutes["buckets"][0];
    assert_eq!(bucket["environment"], "production");
    assert_eq!(bucket["variants"], json!({"on": 3, "off": 2}));
    assert_eq!(bucket["reasons"], json!({"SPLIT": 5}));

    let last = app
        .owner
        .ok(Method::GET, "/v1/projects/web/usage/last-evaluated", None)
        .await
        .unwrap();
    let items = last["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{last}");
    assert_eq!(items[0]["environment"], "production");
    let minute = now - now.rem_euclid(60_000);
    assert_eq!(
        items[0]["lastEvaluatedAt"],
        edgeflag_admin_core::db::rfc3339(minute)
    );
}

#[tokio::test]
async fn bad_batches_are_refused_whole_and_name_their_items() {
    let app = app().await;
    let key = setup(&app).await;
    let now = now_ms();
    let good = item("web-production", "checkout", "on", "SPLIT", now, 1);
    let cases = [
        (
            None,
            Some("x"),
            json!({"items": [good]}),
            StatusCode::UNAUTHORIZED,
        ),
        (
            Some(app.owner_key.as_str()),
            Some("x"),
            json!({"items": [good]}),
            StatusCode::UNAUTHORIZED,
        ),
        (
            Some(key.as_str()),
            None,
            json!({"items": [good]}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            Some(key.as_str()),
            Some("x"),
            json!({"items": vec![good.clone(); 1001]}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            Some(key.as_str()),
            Some("x"),
            json!({"items": [good, {"flag": 1}]}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ];
    for (key, id, body, want) in cases {
        let (status, _, answer) = post_batch(&app, key, id, body).await;
        assert_eq!(status, want, "{answer}");
    }
    let batch = json!({"items": [
        good,
        item("web-production", "checkout", "on", "SPLIT", now - 8 * DAY, 1),
        item("other-production", "checkout", "on", "SPLIT", now, 1),
        item("web-production", "checkout", "on", "SPLIT", now + 6 * 60_000, 1),
    ]});
    let (status, _, answer) = post_batch(&app, Some(&key), Some("y"), batch).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(answer["error"]["path"], "/items/1/time");
    let message = answer["error"]["message"].as_str().unwrap();
    for named in ["/items/1/time", "/items/2/environment", "/items/3/time"] {
        assert!(message.contains(named), "{message}");
    }
    assert_eq!(
        total(&app, "checkout", "").await["total"],
        0,
        "nothing of a refused batch is counted"
    );

    let keys = app
        .owner
        .ok(Method::GET, "/v1/ingestion-keys", None)
        .await
        .unwrap();
    assert!(
        keys["items"][0].get("secret").is_none(),
        "the secret is shown once"
    );
    let id = keys["items"][0]["id"].as_str().unwrap();
    let editor = app.client("editor").await;
    let (status, _) = call(
        &editor,
        Method::POST,
        &format!("/v1/ingestion-keys/{id}/revoke"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    app.owner
        .ok(
            Method::POST,
            &format!("/v1/ingestion-keys/{id}/revoke"),
            None,
        )
        .await
        .unwrap();
    let good = json!({"items": [item("web-production", "checkout", "on", "SPLIT", now, 1)]});
    let (status, _, _) = post_batch(&app, Some(&key), Some("z"), good).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a revoked key stops at once"
    );
}

#[tokio::test]
async fn each_ingestion_key_has_its_rate_limit() {
    let app = app_with(|c| c.usage.rate_limit_per_minute = 2).await;
    let key = setup(&app).await;
    let batch = json!({"items": [item("web-production", "f", "on", "STATIC", now_ms(), 1)]});
    for (i, remaining) in [(0, "1"), (1, "0")] {
        let (status, headers, _) =
            post_batch(&app, Some(&key), Some(&format!("r{i}")), batch.clone()).await;
        assert_eq!(status, StatusCode::ACCEPTED);
        assert_eq!(headers["x-ratelimit-limit"], "2");
        assert_eq!(headers["x-ratelimit-remaining"], remaining);
        assert!(headers.contains_key("x-ratelimit-reset"));
    }
    let (status, headers, _) = post_batch(&app, Some(&key), Some("r2"), batch).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry));
    assert_eq!(headers["x-ratelimit-remaining"], "0");
    let text = edgeflag_admin::metrics::render_usage(&app.state.usage.metrics);
    assert!(
        text.contains("edgeflag_admin_usage_items_refused_total{reason=\"rate_limited\"} 1"),
        "{text}"
    );
}

#[tokio::test]
async fn concurrent_batches_are_all_counted() {
    let app = app().await;
    let key = setup(&app).await;
    let now = now_ms();
    let mut tasks = Vec::new();
    for i in 0..40 {
        let app_state = app.state.clone();
        let key = key.clone();
        tasks.push(tokio::spawn(async move {
            let items: Vec<Value> = (0..25)
                .map(|j| {
                    item(
                        "web-production",
                        &format!("f{}", j % 5),
                        "on",
                        "STATIC",
                        now,
                        1,
                    )
                })
                .collect();
            let request = Request::post("/v1/usage/batches")
                .header("content-type", "application/json")
                .header("x-api-key", key)
                .header("idempotency-key", format!("c{i}"))
                .body(Body::from(
                    serde_json::to_vec(&json!({"items": items})).unwrap(),
                ))
                .unwrap();
            edgeflag_admin::router(app_state)
                .oneshot(request)
                .await
                .unwrap()
                .status()
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), StatusCode::ACCEPTED);
    }
    for flag in ["f0", "f4"] {
        assert_eq!(total(&app, flag, "resolution=minute").await["total"], 200);
    }
}

#[tokio::test]
async fn retention_drops_old_buckets_per_resolution() {
    let app = app().await;
    let key = setup(&app).await;
    let now = now_ms();
    let batch = json!({"items": [item("web-production", "f", "on", "STATIC", now, 7)]});
    post_batch(&app, Some(&key), Some("k"), batch).await;
    let config = app.state.config.usage.clone();
    let metrics = &app.state.usage.metrics;
    let removed = apply_retention(&app.state.pool, &config, metrics, now + 2 * DAY)
        .await
        .unwrap();
    assert_eq!(removed["minute"], 0);
    let removed = apply_retention(&app.state.pool, &config, metrics, now + 8 * DAY)
        .await
        .unwrap();
    assert_eq!(
        (removed["minute"], removed["hour"], removed["day"]),
        (1, 0, 0)
    );
    assert_eq!(removed["batches"], 0);
    let removed = apply_retention(&app.state.pool, &config, metrics, now + 92 * DAY)
        .await
        .unwrap();
    assert_eq!(
        (removed["hour"], removed["day"], removed["batches"]),
        (1, 0, 1)
    );
    let days = total(&app, "f", "resolution=day").await;
    assert_eq!(days["total"], 7, "days outlive minutes and hours");
    let text = edgeflag_admin::metrics::render_usage(metrics);
    assert!(
        text.contains("edgeflag_admin_usage_retention_removed_total{resolution=\"minute\"} 1"),
        "{text}"
    );
}

#[tokio::test]
async fn the_stale_report_names_each_kind_of_stale_flag() {
    let app = app().await;
    let key = setup(&app).await;
    for flag in ["unused", "settled", "live", "gone"] {
        app.owner
            .ok(
                Method::POST,
                "/v1/projects/web/flags",
                Some(bool_flag(flag)),
            )
            .await
            .unwrap();
    }
    // The flags are older than the report's window.
    sqlx::query("UPDATE flags SET created_at = created_at - $1")
        .bind(30 * DAY)
        .execute(&app.state.pool)
        .await
        .unwrap();
    app.owner
        .ok(Method::POST, "/v1/projects/web/flags/gone/archive", None)
        .await
        .unwrap();
    let now = now_ms();
    let batch = json!({"items": [
        item("web-production", "settled", "on", "DEFAULT", now, 10),
        item("web-staging", "settled", "on", "DEFAULT", now, 1),
        item("web-production", "live", "on", "SPLIT", now, 5),
        item("web-production", "live", "off", "SPLIT", now, 5),
        item("web-production", "gone", "off", "DISABLED", now, 2),
    ]});
    let (status, _, _) = post_batch(&app, Some(&key), Some("s"), batch).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let report = app
        .owner
        .ok(Method::GET, "/v1/projects/web/usage/stale?days=7", None)
        .await
        .unwrap();
    let names = |kind: &str| -> Vec<String> {
        report[kind]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["flag"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(names("notEvaluated"), ["unused"], "{report}");
    assert_eq!(names("singleVariation"), ["settled"], "{report}");
    assert_eq!(report["singleVariation"][0]["variant"], "on");
    assert_eq!(report["singleVariation"][0]["evaluations"], 11);
    assert_eq!(names("archivedButEvaluated"), ["gone"], "{report}");
    let (status, _) = call(
        &app.owner,
        Method::GET,
        "/v1/projects/web/usage/stale?days=0",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn metrics_and_openapi_describe_usage() {
    let app = app().await;
    let key = setup(&app).await;
    let now = now_ms();
    post_batch(&app, Some(&key), Some("m1"), json!({"items": [item("web-production", "f", "on", "STATIC", now, 1), item("web-production", "g", "on", "STATIC", now, 1)]})).await;
    post_batch(
        &app,
        Some(&key),
        Some("m2"),
        json!({"items": [item("web-production", "f", "on", "STATIC", now - 9 * DAY, 1)]}),
    )
    .await;
    let router = edgeflag_admin::router(app.state.clone());
    let response = router
        .clone()
        .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let text = String::from_utf8(
        response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap();
    for line in [
        "edgeflag_admin_usage_items_ingested_total 2",
        "edgeflag_admin_usage_items_refused_total{reason=\"timestamp\"} 1",
        "edgeflag_admin_usage_queue_depth 0",
        "edgeflag_admin_usage_write_duration_seconds_count 1",
    ] {
        assert!(text.contains(line), "missing `{line}` in\n{text}");
    }
    let doc = app
        .owner
        .ok(Method::GET, "/v1/docs/openapi.json", None)
        .await
        .unwrap();
    for path in [
        "/v1/usage/batches",
        "/v1/projects/{project}/flags/{flag}/usage",
        "/v1/projects/{project}/usage/stale",
        "/v1/ingestion-keys",
    ] {
        assert!(
            doc["paths"].get(path).is_some(),
            "{path} is not in the OpenAPI document"
        );
    }
}

#[tokio::test]
async fn the_cli_prints_usage_and_stale_flags_as_tables_or_json() {
    use edgeflag_admin::{
        client::Api,
        usage_cli::{self, UsageArgs},
    };
    let app = app().await;
    let key = setup(&app).await;
    app.owner
        .ok(
            Method::POST,
            "/v1/projects/web/flags",
            Some(bool_flag("quiet")),
        )
        .await
        .unwrap();
    sqlx::query("UPDATE flags SET created_at = created_at - $1")
        .bind(30 * DAY)
        .execute(&app.state.pool)
        .await
        .unwrap();
    let now = now_ms();
    let batch = json!({"items": [item("web-production", "checkout", "on", "SPLIT", now, 3), item("web-production", "checkout", "", "ERROR", now, 1)]});
    post_batch(&app, Some(&key), Some("cli"), batch).await;

    let args = UsageArgs {
        resolution: Some("minute".into()),
        env: Some("production".into()),
        ..UsageArgs::default()
    };
    let table = usage_cli::usage(&Api::Local(app.owner.clone()), "web", "checkout", &args)
        .await
        .unwrap();
    assert!(
        table.starts_with("checkout: 4 evaluations from "),
        "{table}"
    );
    assert!(
        table.contains("production") && table.contains("-=1 on=3 / ERROR=1 SPLIT=3"),
        "{table}"
    );
    let json_args = UsageArgs {
        json: true,
        from: Some(edgeflag_admin_core::db::rfc3339(now - 3_600_000)),
        ..UsageArgs::default()
    };
    let json: Value = serde_json::from_str(
        &usage_cli::usage(
            &Api::Local(app.owner.clone()),
            "web",
            "checkout",
            &json_args,
        )
        .await
        .unwrap(),
    )
    .unwrap();
    assert_eq!(json["total"], 4);

    let stale = usage_cli::stale(&Api::Local(app.owner.clone()), "web", 7, false)
        .await
        .unwrap();
    let line = stale
        .lines()
        .find(|l| l.starts_with("quiet"))
        .unwrap_or_default();
    assert!(
        line.contains("not evaluated 7 d") && line.contains("never"),
        "{stale}"
    );
    let json: Value = serde_json::from_str(
        &usage_cli::stale(&Api::Local(app.owner.clone()), "web", 7, true)
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(json["notEvaluated"][0]["flag"], "quiet");
    assert!(
        usage_cli::usage(
            &Api::Local(app.owner.clone()),
            "web",
            "checkout",
            &UsageArgs {
                resolution: Some("week".into()),
                ..UsageArgs::default()
            }
        )
        .await
        .is_err()
    );
}
