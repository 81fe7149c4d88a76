//! Router tests of flags, segments, versions, bulk changes, the evaluate preview
//! and the audit log.

mod common;

use axum::http::{Method, StatusCode};
use common::{app, bool_flag, call};
use serde_json::json;

fn staff_rule() -> serde_json::Value {
    json!({
        "enabled": true, "offVariation": "off",
        "targets": [{"variation": "on", "values": ["qa-1"]}],
        "rules": [{"id": "staff", "conditions": [{"attribute": "email", "op": "endsWith", "values": ["@example.com"]}], "serve": {"variation": "on"}}],
        "defaultRule": {"rollout": {"variations": [{"variation": "on", "weight": 25000}, {"variation": "off", "weight": 75000}]}}
    })
}

#[tokio::test]
async fn flag_lifecycle_with_targeting_versions_and_preview() {
    let t = app().await;
    t.project().await;
    let created = t
        .owner
        .ok(
            Method::POST,
            "/v1/projects/web/flags",
            Some(bool_flag("new-checkout")),
        )
        .await
        .unwrap();
    assert_eq!(created["version"], 1);
    assert_eq!(created["environments"]["production"]["enabled"], false);
    assert_eq!(created["environments"]["production"]["offVariation"], "off");
    let path = "/v1/projects/web/flags/new-checkout/environments/production";
    let updated = t
        .owner
        .ok(Method::PUT, path, Some(staff_rule()))
        .await
        .unwrap();
    assert_eq!(updated["version"], 2);
    assert_eq!(
        updated["environments"]["production"]["rules"][0]["id"],
        "staff"
    );
    assert_eq!(updated["environments"]["staging"]["enabled"], false);

    let preview = "/v1/projects/web/environments/production/evaluate";
    let result = t
        .owner
        .ok(
            Method::POST,
            preview,
            Some(json!({"context": {"targetingKey": "user-9", "email": "ada@example.com"}})),
        )
        .await
        .unwrap();
    let detail = &result["results"]["new-checkout"];
    assert_eq!(
        (
            detail["value"].clone(),
            detail["reason"].clone(),
            detail["ruleId"].clone()
        ),
        (json!(true), json!("TARGETING_MATCH"), json!("staff"))
    );
    let result = t
        .owner
        .ok(
            Method::POST,
            preview,
            Some(json!({"context": {"targetingKey": "qa-1"}})),
        )
        .await
        .unwrap();
    assert_eq!(
        result["results"]["new-checkout"]["reason"],
        "TARGETING_MATCH"
    );
    let result = t
        .owner
        .ok(
            Method::POST,
            preview,
            Some(json!({"context": {"targetingKey": "user-2"}, "flags": ["new-checkout"]})),
        )
        .await
        .unwrap();
    assert_eq!(result["results"]["new-checkout"]["reason"], "SPLIT");
    let staging = t
        .owner
        .ok(
            Method::POST,
            "/v1/projects/web/environments/staging/evaluate",
            Some(json!({"context": {"targetingKey": "u"}})),
        )
        .await
        .unwrap();
    assert_eq!(staging["results"]["new-checkout"]["reason"], "DISABLED");

    // Toggle off, then look at the history and roll back to version 2.
    let off = t
        .owner
        .ok(
            Method::POST,
            &format!("{path}/toggle"),
            Some(json!({"enabled": false})),
        )
        .await
        .unwrap();
    assert_eq!(
        (
            off["version"].clone(),
            off["environments"]["production"]["enabled"].clone()
        ),
        (json!(3), json!(false))
    );
    let versions = t
        .owner
        .ok(
            Method::GET,
            "/v1/projects/web/flags/new-checkout/versions",
            None,
        )
        .await
        .unwrap();
    assert_eq!(versions["items"].as_array().unwrap().len(), 3);
    let diff = t
        .owner
        .ok(
            Method::GET,
            "/v1/projects/web/flags/new-checkout/versions/diff?from=2&to=3",
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        diff["changes"],
        json!([{"op": "replace", "path": "/environments/production/enabled", "from": true, "value": false}])
    );
    let restored = t
        .owner
        .ok(
            Method::POST,
            "/v1/projects/web/flags/new-checkout/versions/2/restore",
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        (
            restored["version"].clone(),
            restored["environments"]["production"]["enabled"].clone()
        ),
        (json!(4), json!(true))
    );

    // Archive removes it from listings (and snapshots); restore brings it back.
    t.owner
        .ok(
            Method::POST,
            "/v1/projects/web/flags/new-checkout/archive",
            None,
        )
        .await
        .unwrap();
    let live = t
        .owner
        .ok(Method::GET, "/v1/projects/web/flags", None)
        .await
        .unwrap();
    assert_eq!(live["items"], json!([]));
    let archived = t
        .owner
        .ok(Method::GET, "/v1/projects/web/flags?archived=true", None)
        .await
        .unwrap();
    assert_eq!(archived["items"][0]["key"], "new-checkout");
    let result = t
        .owner
        .ok(
            Method::POST,
            preview,
            Some(json!({"context": {"targetingKey": "u"}, "flags": ["new-checkout"]})),
        )
        .await
        .unwrap();
    assert_eq!(
        result["results"]["new-checkout"]["errorCode"],
        "FLAG_NOT_FOUND"
    );
    t.owner
        .ok(
            Method::POST,
            "/v1/projects/web/flags/new-checkout/restore",
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        t.owner
            .ok(Method::GET, "/v1/projects/web/flags", None)
            .await
            .unwrap()["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn the_engine_refuses_bad_flags_with_a_path() {
    let t = app().await;
    t.project().await;
    t.owner
        .ok(Method::POST, "/v1/projects/web/flags", Some(bool_flag("f")))
        .await
        .unwrap();
    let path = "/v1/projects/web/flags/f/environments/production";
    let mut bad = staff_rule();
    bad["rules"][0]["serve"] = json!({"variation": "maybe"});
    let (status, body) = call(&t.owner, Method::PUT, path, Some(bad)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    // The PUT body is the environment's targeting: paths are relative to it.
    assert_eq!(body["error"]["path"], "/rules/0/serve/variation");
    let mut bad = staff_rule();
    bad["rules"][0]["conditions"][0]["op"] = json!("matches");
    bad["rules"][0]["conditions"][0]["values"] = json!(["("]);
    let (status, body) = call(&t.owner, Method::PUT, path, Some(bad)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["path"], "/rules/0/conditions/0/values/0");
    let mut bad = staff_rule();
    bad["rules"][0]["sevre"] = json!({});
    let (status, body) = call(&t.owner, Method::PUT, path, Some(bad)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body["error"]["message"].as_str().unwrap().contains("sevre"));
    let mut bad = staff_rule();
    bad["defaultRule"]["rollout"]["variations"][0]["weight"] = json!(1);
    assert_eq!(
        call(&t.owner, Method::PUT, path, Some(bad)).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let mut wrong_type = bool_flag("g");
    wrong_type["variations"][0]["value"] = json!("yes");
    let (status, body) = call(
        &t.owner,
        Method::POST,
        "/v1/projects/web/flags",
        Some(wrong_type),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let mut prereq = staff_rule();
    prereq["prerequisites"] = json!([{"flag": "missing", "variation": "on"}]);
    let (status, body) = call(&t.owner, Method::PUT, path, Some(prereq)).await;
    assert_eq!(
        (status, body["error"]["path"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("/prerequisites/0/flag")
        )
    );
    // Nothing was stored by the refused writes.
    let flag = t
        .owner
        .ok(Method::GET, "/v1/projects/web/flags/f", None)
        .await
        .unwrap();
    assert_eq!(flag["version"], 1);
}

#[tokio::test]
async fn segments_are_validated_and_used_by_rules() {
    let t = app().await;
    t.project().await;
    let segment = json!({"key": "beta", "name": "Beta", "included": ["u1"], "rules": [{"conditions": [{"attribute": "plan", "op": "in", "values": ["beta"]}]}]});
    t.owner
        .ok(Method::POST, "/v1/projects/web/segments", Some(segment))
        .await
        .unwrap();
    let recursive = json!({"key": "loop", "name": "Loop", "rules": [{"conditions": [{"op": "inSegment", "values": ["beta"]}]}]});
    let (status, body) = call(
        &t.owner,
        Method::POST,
        "/v1/projects/web/segments",
        Some(recursive),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["path"], "/rules/0/conditions/0/op");
    let mut flag = bool_flag("beta-only");
    flag["environments"] = json!({"production": {"enabled": true, "offVariation": "off", "rules": [{"conditions": [{"op": "inSegment", "values": ["beta"]}], "serve": {"variation": "on"}}], "defaultRule": {"variation": "off"}}});
    t.owner
        .ok(Method::POST, "/v1/projects/web/flags", Some(flag))
        .await
        .unwrap();
    let mut unknown = bool_flag("bad-segment");
    unknown["environments"] = json!({"production": {"enabled": true, "offVariation": "off", "rules": [{"conditions": [{"op": "inSegment", "values": ["nope"]}], "serve": {"variation": "on"}}], "defaultRule": {"variation": "off"}}});
    assert_eq!(
        call(
            &t.owner,
            Method::POST,
            "/v1/projects/web/flags",
            Some(unknown)
        )
        .await
        .0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let preview = "/v1/projects/web/environments/production/evaluate";
    let r = t
        .owner
        .ok(
            Method::POST,
            preview,
            Some(json!({"context": {"targetingKey": "x", "plan": "beta"}})),
        )
        .await
        .unwrap();
    assert_eq!(r["results"]["beta-only"]["value"], true);
    t.owner
        .ok(
            Method::PUT,
            "/v1/projects/web/segments/beta",
            Some(json!({"name": "Beta", "included": ["u1"]})),
        )
        .await
        .unwrap();
    let r = t
        .owner
        .ok(
            Method::POST,
            preview,
            Some(json!({"context": {"targetingKey": "x", "plan": "beta"}})),
        )
        .await
        .unwrap();
    assert_eq!(r["results"]["beta-only"]["value"], false);
    let seg = t
        .owner
        .ok(Method::GET, "/v1/projects/web/segments/beta", None)
        .await
        .unwrap();
    assert_eq!(seg["version"], 2);
}

#[tokio::test]
async fn bulk_toggle_is_all_or_nothing() {
    let t = app().await;
    t.project().await;
    for key in ["a", "b", "c"] {
        t.owner
            .ok(Method::POST, "/v1/projects/web/flags", Some(bool_flag(key)))
            .await
            .unwrap();
    }
    let bulk = "/v1/projects/web/environments/production/flags/bulk-toggle";
    let (status, body) = call(
        &t.owner,
        Method::POST,
        bulk,
        Some(json!({"flags": ["a", "missing", "b"], "enabled": true})),
    )
    .await;
    assert_eq!(
        (status, body["error"]["path"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("/flags/1"))
    );
    let a = t
        .owner
        .ok(Method::GET, "/v1/projects/web/flags/a", None)
        .await
        .unwrap();
    assert_eq!(
        (
            a["version"].clone(),
            a["environments"]["production"]["enabled"].clone()
        ),
        (json!(1), json!(false))
    );
    let done = t
        .owner
        .ok(
            Method::POST,
            bulk,
            Some(json!({"flags": ["a", "b"], "enabled": true})),
        )
        .await
        .unwrap();
    assert_eq!(done["versions"], json!({"a": 2, "b": 2}));
    let c = t
        .owner
        .ok(Method::GET, "/v1/projects/web/flags/c", None)
        .await
        .unwrap();
    assert_eq!(c["environments"]["production"]["enabled"], false);
}

#[tokio::test]
async fn lists_paginate_filter_and_sort() {
    let t = app().await;
    t.project().await;
    for i in 0..7 {
        let mut flag = bool_flag(&format!("flag-{i}"));
        if i % 2 == 0 {
            flag["tags"] = json!(["even"]);
        }
        t.owner
            .ok(Method::POST, "/v1/projects/web/flags", Some(flag))
            .await
            .unwrap();
    }
    let mut seen = Vec::new();
    let mut path = "/v1/projects/web/flags?limit=3".to_string();
    loop {
        let page = t.owner.ok(Method::GET, &path, None).await.unwrap();
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["key"].as_str().unwrap().to_string()),
        );
        match page["nextCursor"].as_str() {
            Some(c) => path = format!("/v1/projects/web/flags?limit=3&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(
        seen,
        (0..7).map(|i| format!("flag-{i}")).collect::<Vec<_>>()
    );
    let desc = t
        .owner
        .ok(
            Method::GET,
            "/v1/projects/web/flags?sort=-key&limit=2",
            None,
        )
        .await
        .unwrap();
    assert_eq!(desc["items"][0]["key"], "flag-6");
    assert_eq!(desc["items"][1]["key"], "flag-5");
    let page2 = t
        .owner
        .ok(
            Method::GET,
            &format!(
                "/v1/projects/web/flags?sort=-key&limit=2&cursor={}",
                desc["nextCursor"].as_str().unwrap()
            ),
            None,
        )
        .await
        .unwrap();
    assert_eq!(page2["items"][0]["key"], "flag-4");
    let even = t
        .owner
        .ok(Method::GET, "/v1/projects/web/flags?tag=even", None)
        .await
        .unwrap();
    assert_eq!(even["items"].as_array().unwrap().len(), 4);
    let q = t
        .owner
        .ok(Method::GET, "/v1/projects/web/flags?q=flag-3", None)
        .await
        .unwrap();
    assert_eq!(q["items"].as_array().unwrap().len(), 1);
    assert_eq!(
        call(
            &t.owner,
            Method::GET,
            "/v1/projects/web/flags?sort=colour",
            None
        )
        .await
        .0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
}

#[tokio::test]
async fn the_audit_log_records_and_filters() {
    let t = app().await;
    t.project().await;
    let editor = t.client("editor").await;
    editor
        .ok(Method::POST, "/v1/projects/web/flags", Some(bool_flag("f")))
        .await
        .unwrap();
    editor
        .ok(
            Method::POST,
            "/v1/projects/web/flags/f/environments/production/toggle",
            Some(json!({"enabled": true})),
        )
        .await
        .unwrap();
    let all = t.owner.ok(Method::GET, "/v1/audit", None).await.unwrap();
    let actions: Vec<&str> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions[..2], ["flag.on", "flag.create"]);
    assert!(actions.contains(&"project.create"));
    let flags = t
        .owner
        .ok(Method::GET, "/v1/audit?action=flag.*", None)
        .await
        .unwrap();
    assert_eq!(flags["items"].as_array().unwrap().len(), 2);
    let toggle = &flags["items"][0];
    assert_eq!(
        toggle["before"]["environments"]["production"]["enabled"],
        false
    );
    assert_eq!(
        toggle["after"]["environments"]["production"]["enabled"],
        true
    );
    assert!(toggle["requestId"].is_string());
    assert!(toggle["actor"].as_str().unwrap().contains("editor"));
    let by_actor = t
        .owner
        .ok(Method::GET, "/v1/audit?actor=editor", None)
        .await
        .unwrap();
    assert_eq!(by_actor["items"].as_array().unwrap().len(), 2, "{by_actor}");
    let by_resource = t
        .owner
        .ok(Method::GET, "/v1/audit?resource=project/web/flag/f", None)
        .await
        .unwrap();
    assert_eq!(by_resource["items"].as_array().unwrap().len(), 2);
    let future = t
        .owner
        .ok(Method::GET, "/v1/audit?from=2100-01-01T00:00:00Z", None)
        .await
        .unwrap();
    assert_eq!(future["items"], json!([]));
    let page = t
        .owner
        .ok(Method::GET, "/v1/audit?limit=1", None)
        .await
        .unwrap();
    let next = page["nextCursor"].as_str().unwrap();
    let page2 = t
        .owner
        .ok(
            Method::GET,
            &format!("/v1/audit?limit=1&cursor={next}"),
            None,
        )
        .await
        .unwrap();
    assert_eq!(page2["items"][0]["action"], "flag.create");
}
