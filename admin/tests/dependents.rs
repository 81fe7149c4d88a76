//! Router tests of the cross-item checks: archiving a segment a live flag uses, and
//! changing the variations another flag requires as a prerequisite.

mod common;

use axum::http::{Method, StatusCode};
use common::{app, bool_flag, call};
use serde_json::json;

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
