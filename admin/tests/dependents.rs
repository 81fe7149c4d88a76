//! Cross-item tests: archiving a segment a live flag uses, changing the variations
//! another flag requires as a prerequisite, and the client snapshot carrying the
//! server-only prerequisites (and segments) its client-visible flags need.

mod common;

use axum::http::{Method, StatusCode};
use common::{app, bool_flag, call};
use serde_json::{Value, json};
use sqlx::Row;

#[tokio::test]
async fn a_segment_in_use_cannot_be_archived() {
    let t = app().await;
    t.project().await;
    let segment = json!({"key": "beta", "name": "Beta", "included": ["u1"]});
    t.owner
        .ok(Method::POST, "/v1/projects/web/segments", Some(segment))
        .await
        .unwrap();
    let mut flag = bool_flag("beta-only");
    flag["environments"] = json!({"production": {"enabled": true, "offVariation": "off", "rules": [{"conditions": [{"op": "inSegment", "values": ["beta"]}], "serve": {"variation": "on"}}], "defaultRule": {"variation": "off"}}});
    t.owner
        .ok(Method::POST, "/v1/projects/web/flags", Some(flag))
        .await
        .unwrap();
    let archive = "/v1/projects/web/segments/beta/archive";
    let (status, body) = call(&t.owner, Method::POST, archive, None).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("beta-only"), "{message}");
    assert!(
        message.contains("/environments/production/rules/0/conditions/0"),
        "{message}"
    );
    let seg = t
        .owner
        .ok(Method::GET, "/v1/projects/web/segments/beta", None)
        .await
        .unwrap();
    assert_eq!(seg["archived"], false);

    // Once the flag is archived, the segment may go.
    t.owner
        .ok(
            Method::POST,
            "/v1/projects/web/flags/beta-only/archive",
            None,
        )
        .await
        .unwrap();
    let seg = t.owner.ok(Method::POST, archive, None).await.unwrap();
    assert_eq!(seg["archived"], true);
}

#[tokio::test]
async fn variations_a_dependent_requires_cannot_vanish() {
    let t = app().await;
    t.project().await;
    t.owner
        .ok(
            Method::POST,
            "/v1/projects/web/flags",
            Some(bool_flag("base")),
        )
        .await
        .unwrap();
    let mut dependent = bool_flag("dependent");
    dependent["environments"] = json!({"staging": {"enabled": true, "offVariation": "off", "defaultRule": {"variation": "on"}, "prerequisites": [{"flag": "base", "variation": "on"}]}});
    t.owner
        .ok(Method::POST, "/v1/projects/web/flags", Some(dependent))
        .await
        .unwrap();

    let renamed =
        json!({"variations": [{"key": "yes", "value": true}, {"key": "off", "value": false}]});
    let (status, body) = call(
        &t.owner,
        Method::PATCH,
        "/v1/projects/web/flags/base",
        Some(renamed),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["path"], "/variations");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("dependent"), "{message}");
    assert!(
        message.contains("/environments/staging/prerequisites/0"),
        "{message}"
    );
    let base = t
        .owner
        .ok(Method::GET, "/v1/projects/web/flags/base", None)
        .await
        .unwrap();
    assert_eq!(base["variations"][0]["key"], "on");
    assert_eq!(base["version"], 1);

    // Adding a variation keeps `on`, so it is accepted.
    let added = json!({"variations": [{"key": "on", "value": true}, {"key": "off", "value": false}, {"key": "maybe", "value": true}]});
    let base = t
        .owner
        .ok(Method::PATCH, "/v1/projects/web/flags/base", Some(added))
        .await
        .unwrap();
    assert_eq!(base["version"], 2);
}

#[tokio::test]
async fn client_snapshots_carry_what_visible_flags_need() {
    let t = app().await;
    t.project().await;
    for (key, users) in [("beta", ["u1"]), ("secret", ["vip"])] {
        let segment = json!({"key": key, "name": key, "included": users});
        t.owner
            .ok(Method::POST, "/v1/projects/web/segments", Some(segment))
            .await
            .unwrap();
    }
    let mut gate = bool_flag("gate");
    gate["clientVisible"] = json!(false);
    gate["environments"] = json!({"production": {"enabled": true, "offVariation": "off", "rules": [{"conditions": [{"op": "inSegment", "values": ["beta"]}], "serve": {"variation": "on"}}], "defaultRule": {"variation": "off"}}});
    let mut ui = bool_flag("ui");
    ui["environments"] = json!({"production": {"enabled": true, "offVariation": "off", "defaultRule": {"variation": "on"}, "prerequisites": [{"flag": "gate", "variation": "on"}]}});
    let mut other = bool_flag("other");
    other["clientVisible"] = json!(false);
    other["environments"] = json!({"production": {"enabled": true, "offVariation": "off", "rules": [{"conditions": [{"op": "inSegment", "values": ["secret"]}], "serve": {"variation": "on"}}], "defaultRule": {"variation": "off"}}});
    for flag in [gate, ui, other] {
        t.owner
            .ok(Method::POST, "/v1/projects/web/flags", Some(flag))
            .await
            .unwrap();
    }
    let mut conn = t.state.pool.acquire().await.unwrap();
    let env_id: String = sqlx::query("SELECT id FROM environments WHERE key = 'production'")
        .fetch_one(&mut *conn)
        .await
        .unwrap()
        .get("id");
    let docs = edgeflag_admin_core::snapshot::build(&mut conn, &env_id, 1)
        .await
        .unwrap();
    let keys = |doc: &Value, list: &str| -> Vec<String> {
        doc[list]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["key"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(keys(&docs.client, "flags"), ["gate", "ui"]);
    assert_eq!(keys(&docs.client, "segments"), ["beta"]);
    assert_eq!(keys(&docs.server, "flags"), ["gate", "other", "ui"]);
    let load = |doc: &Value| {
        let loaded = edgeflag_engine::Snapshot::load(doc.to_string().as_bytes()).unwrap();
        assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
        loaded.snapshot
    };
    let (server, client) = (load(&docs.server), load(&docs.client));
    for (user, expected) in [("u1", true), ("u2", false)] {
        let ctx = json!({"targetingKey": user}).as_object().cloned().unwrap();
        let ctx = edgeflag_engine::Context::from_map(ctx).unwrap();
        let at_edge = serde_json::to_value(server.evaluate("ui", &ctx, 0)).unwrap();
        let in_browser = serde_json::to_value(client.evaluate("ui", &ctx, 0)).unwrap();
        assert_eq!(at_edge, in_browser, "{user}");
        assert_eq!(in_browser["value"], json!(expected), "{user}: {in_browser}");
    }
}
