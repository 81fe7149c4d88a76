//! The domain without HTTP: the operations the routes, the CLI and background jobs
//! share, called directly with an `Actor`, on a fresh database per test (SQLite in a
//! temporary directory, or PostgreSQL when `EDGEFLAG_TEST_DATABASE_URL` is set, as
//! `cargo xtask test admin-postgres` does).

use edgeflag_admin_core::{
    Actor, Error, Role, api_keys, db, environments, error::ALREADY_EXISTS, flags, model, orgs,
    projects, seed, segments, snapshot, validate,
};
use serde_json::{Value, json};
use sqlx::{AnyPool, Row};

struct Db {
    pool: AnyPool,
    _dir: tempfile::TempDir,
}

async fn fresh() -> Db {
    let dir = tempfile::tempdir().unwrap();
    let url = match std::env::var("EDGEFLAG_TEST_DATABASE_URL") {
        Ok(base) if !base.is_empty() => fresh_postgres(&base).await,
        _ => format!("sqlite://{}/core.db", dir.path().display()),
    };
    let pool = db::connect(&url).await.unwrap();
    db::migrate(&pool, &url).await.unwrap();
    Db { pool, _dir: dir }
}

async fn fresh_postgres(base: &str) -> String {
    use sqlx::Connection;
    let name = format!("edgeflag_core_{}", hex::encode(db::random_bytes::<6>()));
    let mut conn = sqlx::PgConnection::connect(base).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .unwrap();
    let (prefix, _) = base.rsplit_once('/').unwrap();
    format!("{prefix}/{name}")
}

/// A new organization and its owner, acting with a request id.
async fn owner(pool: &AnyPool, key: &str) -> Actor {
    let org = orgs::create(pool, key, key).await.unwrap();
    let mut actor = api_keys::actor(pool, &org.owner_key_id)
        .await
        .unwrap()
        .unwrap();
    actor.request_id = Some(format!("job-{key}"));
    actor
}

fn flag(key: &str) -> model::FlagDocument {
    let request: flags::CreateFlag = serde_json::from_value(json!({
        "key": key, "name": key, "type": "boolean",
        "variations": [{"key": "on", "value": true}, {"key": "off", "value": false}]
    }))
    .unwrap();
    request.into_document()
}

async fn audit(pool: &AnyPool, org_id: &str) -> Vec<(String, String, Option<String>)> {
    sqlx::query("SELECT action, actor, request_id FROM audit_log WHERE org_id = $1 ORDER BY id")
        .bind(org_id)
        .fetch_all(pool)
        .await
        .unwrap()
        .iter()
        .map(|r| {
            (
                r.try_get("action").unwrap(),
                r.try_get("actor").unwrap(),
                r.try_get("request_id").unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_flag_change_is_versioned_audited_and_queued_without_http() {
    let t = fresh().await;
    let who = owner(&t.pool, "acme").await;
    assert_eq!((who.role, who.name.as_str()), (Role::Owner, "first owner"));
    projects::create(&t.pool, &who, "web", "Web", "", &[])
        .await
        .unwrap();
    environments::create(&t.pool, &who, "web", "prod", "Prod", None)
        .await
        .unwrap();
    let created = flags::create(&t.pool, &who, "web", flag("f"))
        .await
        .unwrap();
    assert_eq!(created.version, 1);
    assert!(!created.document.environments["prod"].enabled);
    let what = flags::Edit {
        action: "flag.on",
        sent: validate::Sent::Nothing,
    };
    let on = flags::modify(&t.pool, &who, "web", "f", what, |doc| {
        doc.environments.get_mut("prod").unwrap().enabled = true;
        Ok(())
    })
    .await
    .unwrap();
    assert_eq!(on.version, 2);
    assert!(on.document.environments["prod"].enabled);
    let label = format!("{} (first owner)", who.id);
    let rows = audit(&t.pool, &who.org_id).await;
    let actions: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(
        actions,
        [
            "project.create",
            "environment.create",
            "flag.create",
            "flag.on"
        ]
    );
    assert!(
        rows.iter()
            .all(|r| r.1 == label && r.2.as_deref() == Some("job-acme"))
    );
    let pending: i64 = sqlx::query("SELECT COUNT(*) AS n FROM outbox WHERE processed_at IS NULL")
        .fetch_one(&t.pool)
        .await
        .unwrap()
        .try_get("n")
        .unwrap();
    assert_eq!(pending, 3, "environment.create, flag.create, flag.on");
}

#[tokio::test]
async fn errors_say_what_went_wrong_in_domain_terms() {
    let t = fresh().await;
    let who = owner(&t.pool, "acme").await;
    let other = owner(&t.pool, "other").await;
    projects::create(&t.pool, &who, "web", "Web", "", &[])
        .await
        .unwrap();
    environments::create(&t.pool, &who, "web", "prod", "Prod", None)
        .await
        .unwrap();
    match projects::create(&t.pool, &who, "web", "Again", "", &[]).await {
        Err(Error::Conflict(m)) => assert_eq!(m, ALREADY_EXISTS),
        other => panic!("a duplicate key: {other:?}"),
    }
    match projects::create(&t.pool, &who, "-bad", "Bad", "", &[]).await {
        Err(Error::Invalid { path, .. }) => assert_eq!(path, "/key"),
        other => panic!("a bad key: {other:?}"),
    }
    match flags::create(&t.pool, &other, "web", flag("f")).await {
        Err(Error::NotFound(m)) => assert_eq!(m, "project `web` does not exist"),
        other => panic!("another organization's project: {other:?}"),
    }
    let mut bad = flag("g");
    let rule = json!({"conditions": [{"attribute": "age", "op": "lt", "values": ["x"]}], "serve": {"variation": "on"}});
    let mut prod = model::EnvConfig {
        enabled: true,
        off_variation: "off".into(),
        targets: vec![],
        rules: vec![serde_json::from_value(rule).unwrap()],
        default_rule: model::Serve {
            variation: Some("off".into()),
            rollout: None,
        },
        prerequisites: vec![],
    };
    bad.environments.insert("prod".into(), prod.clone());
    match flags::create(&t.pool, &who, "web", bad).await {
        Err(Error::Invalid { path, .. }) => {
            assert_eq!(path, "/environments/prod/rules/0/conditions/0/values/0")
        }
        other => panic!("a rule the engine refuses: {other:?}"),
    }
    let body: model::SegmentBody = serde_json::from_value(json!({"included": ["u1"]})).unwrap();
    let fields = segments::SegmentFields {
        name: "Beta",
        description: "",
        body: &body,
    };
    segments::create(&t.pool, &who, "web", "beta", &fields)
        .await
        .unwrap();
    prod.rules = vec![
        serde_json::from_value(json!({"conditions": [{"op": "inSegment", "values": ["beta"]}], "serve": {"variation": "on"}}))
            .unwrap(),
    ];
    let mut uses = flag("uses-beta");
    uses.environments.insert("prod".into(), prod);
    flags::create(&t.pool, &who, "web", uses).await.unwrap();
    match segments::set_archived(&t.pool, &who, "web", "beta", true).await {
        Err(Error::Conflict(m)) => assert!(m.contains("flag `uses-beta`"), "{m}"),
        other => panic!("archiving a segment in use: {other:?}"),
    }
}

#[tokio::test]
async fn seed_demo_builds_the_demo_snapshot_without_http() {
    let t = fresh().await;
    let keys = seed::demo(&t.pool).await.unwrap();
    assert!(keys.owner_api_key.starts_with("efk_"));
    assert!(keys.server_sdk_key.starts_with("efs_") && keys.client_sdk_key.starts_with("efc_"));
    let env_id: String = sqlx::query("SELECT id FROM environments WHERE edge_name = 'production'")
        .fetch_one(&t.pool)
        .await
        .unwrap()
        .try_get("id")
        .unwrap();
    let mut conn = t.pool.acquire().await.unwrap();
    let docs = snapshot::build(&mut conn, &env_id, 1).await.unwrap();
    let demo: Value =
        serde_json::from_str(include_str!("../../examples/demo-snapshot.json")).unwrap();
    let keys_of = |v: &Value| -> Vec<String> {
        let mut k: Vec<String> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["key"].as_str().unwrap().to_string())
            .collect();
        k.sort();
        k
    };
    assert_eq!(keys_of(&docs.server["flags"]), keys_of(&demo["flags"]));
    assert_eq!(
        keys_of(&docs.server["segments"]),
        keys_of(&demo["segments"])
    );
    assert_eq!(docs.keys.keys.len(), 2);
    let org_id: String = sqlx::query("SELECT id FROM organizations WHERE key = 'demo'")
        .fetch_one(&t.pool)
        .await
        .unwrap()
        .try_get("id")
        .unwrap();
    let rows = audit(&t.pool, &org_id).await;
    // The project, the environment, each segment and flag, and the two SDK keys.
    let items =
        demo["segments"].as_array().unwrap().len() + demo["flags"].as_array().unwrap().len();
    assert_eq!(rows.len(), 2 + items + 2);
    assert!(rows.iter().all(|r| r.1.ends_with(" (first owner)")));
}
