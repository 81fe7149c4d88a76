//! Client snapshots that reveal no one (docs/snapshot-format.md, "Client snapshots"):
//! the documents the admin builds, and the warnings it gives about private attributes.

mod common;

use axum::http::Method;
use common::{TestApp, app, bool_flag};
use edgeflag_engine::{Context, LoadError, Snapshot};
use serde_json::{Value, json};
use sqlx::Row;

/// `banner` (client-visible) needs `gate` (server-only), which names vip-person and the
/// `testers` segment (tester-one, and everyone at corp.example but tester-nine); `banner`
/// itself matches a case-insensitive list of emails and a list of a number and a string.
/// The names are long enough never to turn up inside a hash by chance.
async fn scenario(t: &TestApp) {
    t.project().await;
    let segment = json!({"key": "testers", "name": "Testers", "included": ["tester-one"], "excluded": ["tester-nine"],
        "rules": [{"conditions": [{"attribute": "email", "op": "endsWith", "values": ["@corp.example"]}]}]});
    t.owner
        .ok(Method::POST, "/v1/projects/web/segments", Some(segment))
        .await
        .unwrap();
    let mut gate = bool_flag("gate");
    gate["clientVisible"] = json!(false);
    gate["description"] = json!("Who may see the new banner");
    gate["environments"] = json!({"production": {"enabled": true, "offVariation": "off",
        "targets": [{"variation": "on", "values": ["vip-person"]}],
        "rules": [{"conditions": [{"op": "inSegment", "values": ["testers"]}], "serve": {"variation": "on"}}],
        "defaultRule": {"variation": "off"}}});
    let mut banner = bool_flag("banner");
    banner["environments"] = json!({"production": {"enabled": true, "offVariation": "off",
        "rules": [
            {"conditions": [{"attribute": "email", "op": "in", "caseInsensitive": true, "values": ["Ada@Example.com"]}], "serve": {"variation": "off"}},
            {"conditions": [{"attribute": "tier", "op": "notIn", "values": [3, "gold"]}], "serve": {"variation": "on"}}
        ],
        "defaultRule": {"variation": "off"}, "prerequisites": [{"flag": "gate", "variation": "on"}]}});
    for flag in [gate, banner] {
        t.owner
            .ok(Method::POST, "/v1/projects/web/flags", Some(flag))
            .await
            .unwrap();
    }
}

async fn build(t: &TestApp, version: u64) -> edgeflag_admin_core::snapshot::Documents {
    let mut conn = t.state.pool.acquire().await.unwrap();
    let env_id: String = sqlx::query("SELECT id FROM environments WHERE key = 'production'")
        .fetch_one(&mut *conn)
        .await
        .unwrap()
        .get("id");
    edgeflag_admin_core::snapshot::build(&mut conn, &env_id, version)
        .await
        .unwrap()
}

fn load(doc: &Value) -> Snapshot {
    let loaded = Snapshot::load(doc.to_string().as_bytes()).unwrap();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    loaded.snapshot
}

#[tokio::test]
async fn the_client_snapshot_names_no_one_and_answers_as_the_server_snapshot() {
    let t = app().await;
    scenario(&t).await;
    let docs = build(&t, 1).await;
    let client = &docs.client;
    let text = client.to_string();
    for secret in [
        "vip-person",
        "tester-one",
        "tester-nine",
        "Ada@Example.com",
        "ada@example.com",
        "gold",
        "Who may see",
    ] {
        assert!(!text.contains(secret), "`{secret}` is readable in {text}");
    }
    assert_eq!(
        (&client["schemaVersion"], &client["audience"]),
        (&json!(2), &json!("client"))
    );
    assert_eq!(docs.server["schemaVersion"], 1);
    assert!(docs.server.get("hashSalt").is_none());
    let salt = client["hashSalt"].as_str().unwrap();
    assert_eq!(salt.len(), 22, "16 random bytes, base64url");
    // What stays readable, as the spec says: numbers, the segment's endsWith rule.
    assert!(text.contains("@corp.example"), "{text}");
    let gate = &client["flags"].as_array().unwrap()[1];
    assert_eq!(gate["key"], "gate");
    assert_eq!(
        gate["variations"],
        json!([{"key": "on", "value": false}, {"key": "off", "value": false}])
    );
    assert!(
        gate.get("tags").is_none() && gate.get("description").is_none(),
        "{gate}"
    );

    let (server, browser) = (load(&docs.server), load(client));
    let contexts = [
        json!({"targetingKey": "vip-person"}),
        json!({"targetingKey": "tester-one", "email": "ADA@example.COM"}),
        json!({"targetingKey": "tester-one", "tier": "gold"}),
        json!({"targetingKey": "tester-one", "tier": 3}),
        json!({"targetingKey": "tester-one", "tier": "silver"}),
        json!({"targetingKey": "u2", "email": "x@corp.example", "tier": 1}),
        json!({"targetingKey": "tester-nine", "email": "x@corp.example", "tier": 1}),
        json!({"targetingKey": "u3"}),
    ];
    for ctx in contexts {
        let context = Context::from_value(ctx.clone()).unwrap();
        let at_edge = serde_json::to_value(server.evaluate("banner", &context, 0)).unwrap();
        let in_browser = serde_json::to_value(browser.evaluate("banner", &context, 0)).unwrap();
        assert_eq!(at_edge, in_browser, "{ctx}");
        let hidden = serde_json::to_value(browser.evaluate("gate", &context, 0)).unwrap();
        assert_eq!(hidden["errorCode"], "FLAG_NOT_FOUND", "{ctx}");
    }
    assert_eq!(
        browser.flags().map(|f| f.key).collect::<Vec<_>>(),
        ["banner"]
    );

    // The salt is the environment's, kept across publishes.
    assert_eq!(build(&t, 2).await.client["hashSalt"], salt);
}

/// What an engine that reads only schemaVersion 1 does with this document: it refuses
/// anything else. And labelled schemaVersion 1, the document is refused by this engine
/// too, so no publisher can pass hashed values to engines that would ignore them.
#[tokio::test]
async fn the_client_snapshot_is_one_an_older_engine_refuses() {
    let t = app().await;
    scenario(&t).await;
    let mut client = build(&t, 1).await.client;
    assert_ne!(client["schemaVersion"], 1);
    client["schemaVersion"] = json!(1);
    let refused = Snapshot::load(client.to_string().as_bytes()).unwrap_err();
    assert!(
        matches!(&refused, LoadError::Invalid { path, .. } if path == "/schemaVersion"),
        "{refused}"
    );
}

#[tokio::test]
async fn readable_tests_of_private_attributes_are_warned_about() {
    let t = app().await;
    scenario(&t).await;
    let project = t
        .owner
        .ok(
            Method::PATCH,
            "/v1/projects/web",
            Some(json!({"privateAttributes": ["email", "tier"]})),
        )
        .await
        .unwrap();
    assert_eq!(project["privateAttributes"], json!(["email", "tier"]));

    // banner's `in` list of emails is hashed; its `tier` list holds a readable number.
    let config = json!({"enabled": true, "offVariation": "off", "rules": [
        {"conditions": [{"attribute": "email", "op": "in", "values": ["a@example.com"]}], "serve": {"variation": "on"}},
        {"conditions": [{"attribute": "tier", "op": "notIn", "values": [3]}], "serve": {"variation": "on"}},
        {"conditions": [{"attribute": "email", "op": "endsWith", "values": ["@example.com"]}], "serve": {"variation": "on"}}
    ], "defaultRule": {"variation": "off"}});
    let path = "/v1/projects/web/flags/banner/environments/production";
    let saved = t
        .owner
        .ok(Method::PUT, path, Some(config.clone()))
        .await
        .unwrap();
    let paths: Vec<&str> = saved["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        [
            "/environments/production/rules/1/conditions/0",
            "/environments/production/rules/2/conditions/0"
        ]
    );
    assert_eq!(saved["warnings"][0]["code"], "PRIVATE_ATTRIBUTE_READABLE");
    let shown = t
        .owner
        .ok(Method::GET, "/v1/projects/web/flags/banner", None)
        .await
        .unwrap();
    assert!(
        shown.get("warnings").is_none(),
        "only changes answer with warnings"
    );

    // The same rules on a server-only flag are never in a browser: no warning.
    let saved = t
        .owner
        .ok(
            Method::PUT,
            "/v1/projects/web/flags/gate/environments/production",
            Some(config),
        )
        .await;
    assert!(saved.unwrap().get("warnings").is_none());

    // The segment's endsWith on `email`: `gate` uses it, but `gate` is server-only.
    let segment = json!({"name": "Testers", "included": ["tester-one"],
        "rules": [{"conditions": [{"attribute": "email", "op": "endsWith", "values": ["@corp.example"]}]}]});
    let seg_path = "/v1/projects/web/segments/testers";
    let saved = t
        .owner
        .ok(Method::PUT, seg_path, Some(segment.clone()))
        .await
        .unwrap();
    assert!(saved.get("warnings").is_none(), "{saved}");
    // Once a client-visible flag uses the segment, it is warned about.
    let uses = json!({"enabled": true, "offVariation": "off", "defaultRule": {"variation": "off"},
        "rules": [{"conditions": [{"op": "inSegment", "values": ["testers"]}], "serve": {"variation": "on"}}]});
    t.owner.ok(Method::PUT, path, Some(uses)).await.unwrap();
    let saved = t
        .owner
        .ok(Method::PUT, seg_path, Some(segment))
        .await
        .unwrap();
    assert_eq!(saved["warnings"][0]["path"], "/rules/0/conditions/0");
}

#[tokio::test]
async fn private_attribute_names_cannot_be_empty() {
    let t = app().await;
    t.project().await;
    let (status, body) = common::call(
        &t.owner,
        Method::PATCH,
        "/v1/projects/web",
        Some(json!({"privateAttributes": ["email", ""]})),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["path"], "/privateAttributes/1");
}

#[tokio::test]
async fn a_project_can_be_created_with_private_attributes() {
    let t = app().await;
    let body = json!({"key": "shop", "name": "Shop", "privateAttributes": ["email"]});
    let created = t
        .owner
        .ok(Method::POST, "/v1/projects", Some(body))
        .await
        .unwrap();
    assert_eq!(created["privateAttributes"], json!(["email"]));
    let (status, body) = common::call(
        &t.owner,
        Method::POST,
        "/v1/projects",
        Some(json!({"key": "blog", "name": "Blog", "privateAttributes": [""]})),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["path"], "/privateAttributes/0");
    let plain = t
        .owner
        .ok(
            Method::POST,
            "/v1/projects",
            Some(json!({"key": "docs", "name": "Docs"})),
        )
        .await
        .unwrap();
    assert_eq!(plain["privateAttributes"], json!([]));
}

/// Where the admin-built pair of snapshots is kept for the JS SDK's tests
/// (`js-sdk/test/admin-snapshots.test.mjs`, and in Chromium): the chain from the
/// admin's publish to the browser's answers, proven on what the admin really builds.
const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/fixtures/admin-client-snapshot.json"
);

/// Every value [`scenario`] and [`fixture_flags`] name a person by, which the client
/// snapshot must not show.
const SECRETS: [&str; 9] = [
    "vip-person",
    "tester-one",
    "tester-nine",
    "Ada@Example.com",
    "ada@example.com",
    "gold",
    "Zoë-Łukasz",
    "ops-lead",
    "Who may see",
];

/// A string flag with individual targets (one of them non-ASCII) and a
/// case-insensitive `in` over an array attribute, beside the scenario's flags.
async fn fixture_flags(t: &TestApp) {
    let plan = json!({"key": "plan", "name": "Plan", "type": "string", "clientVisible": true,
        "variations": [{"key": "pro", "value": "pro"}, {"key": "staff", "value": "staff"}, {"key": "free", "value": "free"}],
        "environments": {"production": {"enabled": true, "offVariation": "free",
            "targets": [{"variation": "pro", "values": ["vip-person", "Zoë-Łukasz"]}],
            "rules": [{"conditions": [{"attribute": "roles", "op": "in", "caseInsensitive": true, "values": ["OPS-LEAD"]}], "serve": {"variation": "staff"}}],
            "defaultRule": {"variation": "free"}}}});
    t.owner
        .ok(Method::POST, "/v1/projects/web/flags", Some(plan))
        .await
        .unwrap();
}

/// The contexts the fixture's two snapshots must answer alike.
fn fixture_contexts() -> Vec<Value> {
    vec![
        json!({}),
        json!({"targetingKey": "vip-person"}),
        json!({"targetingKey": "VIP-PERSON"}),
        json!({"targetingKey": "Zoë-Łukasz"}),
        json!({"targetingKey": "tester-one", "email": "ADA@example.COM"}),
        json!({"targetingKey": "tester-one", "email": "ada@example.com", "tier": "gold"}),
        json!({"targetingKey": "tester-one", "tier": "gold"}),
        json!({"targetingKey": "tester-one", "tier": 3}),
        json!({"targetingKey": "tester-one", "tier": "silver"}),
        json!({"targetingKey": "u2", "email": "x@corp.example", "tier": 1}),
        json!({"targetingKey": "tester-nine", "email": "x@corp.example", "tier": 1}),
        json!({"targetingKey": "u3", "roles": ["viewer", "Ops-Lead"]}),
        json!({"targetingKey": "u3", "roles": ["viewer"]}),
        json!({"targetingKey": "u3", "roles": "ops-lead"}),
    ]
}

/// The admin's client snapshot, with a fixed salt, answers every client-visible flag
/// exactly as its server snapshot does, and no other; the pair is kept in
/// [`FIXTURE`], which the JS SDK's tests run in node and in Chromium. It must be what
/// the admin builds today: `EDGEFLAG_WRITE_FIXTURES=1` rewrites it after a deliberate
/// change.
#[tokio::test]
async fn the_admin_built_client_snapshot_is_kept_for_the_js_sdk() {
    let t = app().await;
    scenario(&t).await;
    fixture_flags(&t).await;
    sqlx::query(
        "UPDATE environments SET hash_salt = 'pR1vacyF1xtureSa1t0000' WHERE key = 'production'",
    )
    .execute(&t.state.pool)
    .await
    .unwrap();
    let docs = build(&t, 1).await;
    let (mut server, mut client) = (docs.server, docs.client);
    for doc in [&mut server, &mut client] {
        doc["generatedAt"] = json!("2026-11-25T12:00:00Z");
    }
    let text = client.to_string();
    for secret in SECRETS {
        assert!(!text.contains(secret), "`{secret}` is readable in {text}");
    }

    let (at_edge, in_browser) = (load(&server), load(&client));
    let contexts = fixture_contexts();
    let visible: Vec<&str> = in_browser.flags().map(|f| f.key).collect();
    assert_eq!(visible, ["banner", "plan"]);
    for ctx in &contexts {
        let context = Context::from_value(ctx.clone()).unwrap();
        for flag in at_edge.flags().map(|f| f.key) {
            let edge = serde_json::to_value(at_edge.evaluate(flag, &context, 0)).unwrap();
            let browser = serde_json::to_value(in_browser.evaluate(flag, &context, 0)).unwrap();
            if visible.contains(&flag) {
                assert_eq!(edge, browser, "{flag} for {ctx}");
            } else {
                assert_eq!(browser["errorCode"], "FLAG_NOT_FOUND", "{flag} for {ctx}");
            }
        }
    }

    let fixture = json!({
        "description": "Written by admin/tests/privacy.rs (EDGEFLAG_WRITE_FIXTURES=1 rewrites it): one environment's server snapshot (schemaVersion 1) and client snapshot (schemaVersion 2, hashed, salt fixed for the test) as the admin builds them. Every runtime that reads client snapshots must answer each client-visible flag alike from both for every context, and FLAG_NOT_FOUND from the client snapshot for the others; `secrets` must not appear in the client snapshot.",
        "secrets": SECRETS,
        "contexts": contexts,
        "server": server,
        "client": client,
    });
    if std::env::var_os("EDGEFLAG_WRITE_FIXTURES").is_some() {
        let mut pretty = serde_json::to_string_pretty(&fixture).unwrap();
        pretty.push('\n');
        std::fs::write(FIXTURE, pretty).unwrap();
    }
    let kept: Value = std::fs::read_to_string(FIXTURE)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or(Value::Null);
    assert!(
        kept == fixture,
        "{FIXTURE} is not what the admin builds: rerun with EDGEFLAG_WRITE_FIXTURES=1 and review the diff"
    );
}
