//! `edgeflag backup` and `edgeflag restore`, run as the real binary: a SQLite
//! instance holding a row in (nearly) every table is backed up, restored into a new
//! database and backed up again, and every table must come back row for row. With
//! `EDGEFLAG_TEST_DATABASE_URL` set (the `admin-postgres` suite) the middle database is
//! PostgreSQL, so the round trip is SQLite → PostgreSQL → SQLite; otherwise SQLite →
//! SQLite. Restoring into a non-empty database, a truncated file and a wrong master
//! key are refused with a sentence.

mod common;

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{Command, Output},
};

use axum::{
    body::Body,
    extract::ConnectInfo,
    http::{Method, Request, StatusCode},
};
use edgeflag_admin::{AppState, Config, config::TargetConfig, local::Local};
use edgeflag_admin_core::{Role, orgs, seed, users};
use serde_json::{Value, json};
use tower::ServiceExt;

/// Tables that may be empty after `populate`: nothing a normal instance does in a
/// test this short writes them. Every other table must hold rows, so the comparison
/// covers it.
const MAY_BE_EMPTY: &[&str] = &[];

/// A table's rows, sorted, so two databases that order text differently compare equal.
type Tables = BTreeMap<String, (Vec<String>, Vec<String>)>;

fn edgeflag(args: &[&str], db: &str, master_key_file: Option<&Path>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_edgeflag"));
    command
        .args(args)
        .env("EDGEFLAG_DATABASE_URL", db)
        .env("EDGEFLAG_LOG", "warn")
        .env_remove("EDGEFLAG_MASTER_KEY");
    match master_key_file {
        Some(file) => command.env("EDGEFLAG_MASTER_KEY_FILE", file),
        None => command.env_remove("EDGEFLAG_MASTER_KEY_FILE"),
    };
    command.output().unwrap()
}

fn succeeded(output: &Output, what: &str) {
    assert!(
        output.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A backup file's tables (header and closing line checked, then set aside).
fn read(file: &Path) -> Tables {
    let text = std::fs::read_to_string(file).unwrap();
    let mut lines = text.lines();
    let header: Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    assert_eq!(header["format"], "edgeflag-backup");
    assert_eq!(header["formatVersion"], 1);
    assert!(header["schemaVersion"].as_i64().unwrap() >= 9, "{header}");
    let mut tables = Tables::new();
    let mut current = String::new();
    let mut ended = false;
    for line in lines {
        let value: Value = serde_json::from_str(line).unwrap();
        if let Value::Array(values) = value {
            // Keyed by column, so two databases with the same columns in another
            // order compare equal (restore matches columns by name too).
            let (columns, rows) = tables.get_mut(&current).unwrap();
            let row: serde_json::Map<String, Value> = columns.iter().cloned().zip(values).collect();
            rows.push(Value::Object(row).to_string());
        } else if value.get("end").is_some() {
            ended = true;
        } else {
            current = value["table"].as_str().unwrap().to_string();
            let columns = value["columns"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap().to_string())
                .collect();
            tables.insert(current.clone(), (columns, Vec::new()));
        }
    }
    assert!(ended, "the backup has its closing line");
    for (columns, rows) in tables.values_mut() {
        columns.sort();
        rows.sort();
    }
    tables
}

/// Sends a request the way a browser or an edge would (no bearer key), from 127.0.0.1.
async fn raw(
    state: &AppState,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Value,
) -> (StatusCode, Value) {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let mut request = request
        .body(Body::from(serde_json::to_vec(&body).unwrap()))
        .unwrap();
    request
        .extensions_mut()
        .insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40000))));
    let response = edgeflag_admin::router(state.clone())
        .oneshot(request)
        .await
        .unwrap();
    let status = response.status();
    let bytes = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// Fills a SQLite instance with what an instance holds after some use.
/// Returns the owner's API key.
async fn populate(db: &str, publish_dir: &Path) -> String {
    let mut config = Config {
        database_url: db.to_string(),
        ..Config::default()
    };
    config.publish.targets.push(TargetConfig::Directory {
        name: "files".into(),
        path: publish_dir.to_path_buf(),
    });
    config.webhooks.allowed_networks = vec!["127.0.0.0/8".parse().unwrap()];
    let state = AppState::from_config(config).await.unwrap();
    let owner_key = orgs::bootstrap(&state.pool, "acme", "Acme")
        .await
        .unwrap()
        .owner_secret;
    let owner = Local::new(&state, &owner_key);
    seed::demo(&state.pool).await.unwrap();
    owner
        .ok(
            Method::POST,
            "/v1/projects",
            Some(json!({"key": "web", "name": "Web"})),
        )
        .await
        .unwrap();
    let environment = owner
        .ok(
            Method::POST,
            "/v1/projects/web/environments",
            Some(json!({"key": "production", "name": "Production"})),
        )
        .await
        .unwrap();
    // The demo took the edge name `production`; usage counts name the edge's.
    let edge_name = environment["edgeName"].as_str().unwrap().to_string();
    owner
        .ok(
            Method::POST,
            "/v1/webhooks",
            Some(json!({"url": "http://127.0.0.1:9/hook", "events": ["flag.*"]})),
        )
        .await
        .unwrap();
    owner
        .ok(
            Method::POST,
            "/v1/projects/web/flags",
            Some(
                json!({"key": "checkout", "name": "Checkout", "type": "boolean",
                "variations": [{"key": "on", "value": true}, {"key": "off", "value": false}]}),
            ),
        )
        .await
        .unwrap();
    owner
        .ok(
            Method::POST,
            "/v1/projects/web/flags/checkout/environments/production/toggle",
            Some(json!({"enabled": true})),
        )
        .await
        .unwrap();
    owner
        .ok(
            Method::POST,
            "/v1/projects/web/segments",
            Some(json!({"key": "staff", "name": "Staff", "included": ["ann"]})),
        )
        .await
        .unwrap();
    owner
        .ok(
            Method::POST,
            "/v1/invitations",
            Some(json!({"email": "bea@example.com", "role": "editor"})),
        )
        .await
        .unwrap();
    let password = "a long enough password";
    users::add(
        &state.pool,
        "acme",
        "cy@example.com",
        "Cy",
        password,
        Role::Editor,
        &state.config.accounts,
    )
    .await
    .unwrap();
    let (status, body) = raw(
        &state,
        Method::POST,
        "/v1/auth/login",
        &[],
        json!({"email": "cy@example.com", "password": password}),
    )
    .await;
    assert!(status.is_success(), "sign-in: {status} {body}");
    let (status, body) = raw(
        &state,
        Method::POST,
        "/v1/auth/token",
        &[],
        json!({"apiKey": owner_key}),
    )
    .await;
    assert!(status.is_success(), "token: {status} {body}");
    let ingestion = owner
        .ok(
            Method::POST,
            "/v1/ingestion-keys",
            Some(json!({"name": "edge"})),
        )
        .await
        .unwrap();
    let secret = ingestion["secret"].as_str().unwrap();
    let now = chrono::Utc::now().timestamp_millis();
    let item = json!({"environment": edge_name, "flag": "checkout", "variant": "on",
        "reason": "TARGETING_MATCH", "time": now, "count": 3});
    let (status, body) = raw(
        &state,
        Method::POST,
        "/v1/usage/batches",
        &[("x-api-key", secret), ("idempotency-key", "b1")],
        json!({"items": [item]}),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    state.publisher().tick().await.unwrap();
    // The usage writer commits in the background: wait for its rows.
    for _ in 0..200 {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM usage_last_seen")
            .fetch_one(&state.pool)
            .await
            .unwrap();
        if n > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    state.pool.close().await;
    owner_key
}

#[tokio::test]
async fn a_round_trip_through_another_database_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let source = format!("sqlite://{}/source.db", dir.path().display());
    let owner_key = populate(&source, &dir.path().join("published")).await;
    // A SQLite file's generated master key lives next to it; the copies need it.
    let key_file = dir.path().join("source.db.master-key");
    assert!(key_file.exists());

    let first = dir.path().join("first.jsonl");
    succeeded(
        &edgeflag(&["backup", "--out", first.to_str().unwrap()], &source, None),
        "backup of the source",
    );
    let original = read(&first);
    let empty: Vec<&String> = original
        .iter()
        .filter(|(name, (_, rows))| rows.is_empty() && !MAY_BE_EMPTY.contains(&name.as_str()))
        .map(|(name, _)| name)
        .collect();
    assert!(
        empty.is_empty(),
        "populate leaves these tables empty: {empty:?}"
    );
    for table in [
        "organizations",
        "flag_versions",
        "signing_keys",
        "audit_log",
        "users",
        "webhook_deliveries",
    ] {
        assert!(original.contains_key(table), "{table} is backed up");
    }

    let middle = common::fresh_url(&dir).await;
    let middle = if middle.starts_with("sqlite") {
        format!("sqlite://{}/middle.db", dir.path().display())
    } else {
        middle
    };
    let restored = edgeflag(
        &["restore", first.to_str().unwrap()],
        &middle,
        Some(&key_file),
    );
    succeeded(&restored, "restore into the middle database");
    assert!(String::from_utf8_lossy(&restored.stderr).contains("restored into"));
    let second = dir.path().join("second.jsonl");
    succeeded(
        &edgeflag(
            &["backup", "--out", second.to_str().unwrap()],
            &middle,
            Some(&key_file),
        ),
        "backup of the middle database",
    );
    assert_tables_equal(&original, &read(&second));

    // The restored database takes new writes: its sequences (PostgreSQL's BIGSERIAL
    // ids of the audit log, outbox and deliveries) continue after the restored rows.
    let config = Config {
        database_url: middle.clone(),
        master_key_file: Some(key_file.clone()),
        ..Config::default()
    };
    let state = AppState::from_config(config).await.unwrap();
    Local::new(&state, &owner_key)
        .ok(
            Method::POST,
            "/v1/projects/web/flags/checkout/environments/production/toggle",
            Some(json!({"enabled": false})),
        )
        .await
        .unwrap();
    state.pool.close().await;

    let last = format!("sqlite://{}/last.db", dir.path().display());
    succeeded(
        &edgeflag(
            &["restore", second.to_str().unwrap()],
            &last,
            Some(&key_file),
        ),
        "restore into the last database",
    );
    let third = dir.path().join("third.jsonl");
    succeeded(
        &edgeflag(
            &["backup", "--out", third.to_str().unwrap()],
            &last,
            Some(&key_file),
        ),
        "backup of the last database",
    );
    assert_tables_equal(&original, &read(&third));

    // The restored instance works: it starts, opens its signing keys and publishes.
    let mut config = Config {
        database_url: last.clone(),
        master_key_file: Some(key_file.clone()),
        ..Config::default()
    };
    config.publish.targets.push(TargetConfig::Directory {
        name: "files".into(),
        path: dir.path().join("republished"),
    });
    let state = AppState::from_config(config).await.unwrap();
    edgeflag_admin_core::outbox::enqueue_all(&state.pool, "test")
        .await
        .unwrap();
    state.publisher().tick().await.unwrap();
    assert!(
        dir.path()
            .join("republished")
            .read_dir()
            .unwrap()
            .next()
            .is_some()
    );

    // Restoring into a database that holds anything is refused.
    let again = edgeflag(
        &["restore", first.to_str().unwrap()],
        &last,
        Some(&key_file),
    );
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("the target database is not empty"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
}

fn assert_tables_equal(expected: &Tables, actual: &Tables) {
    assert_eq!(
        expected.keys().collect::<Vec<_>>(),
        actual.keys().collect::<Vec<_>>(),
        "the same tables"
    );
    for (table, (columns, rows)) in expected {
        let (other_columns, other_rows) = &actual[table];
        assert_eq!(columns, other_columns, "columns of {table}");
        assert_eq!(rows.len(), other_rows.len(), "row count of {table}");
        for (a, b) in rows.iter().zip(other_rows) {
            assert_eq!(a, b, "a row of {table}");
        }
    }
}

#[tokio::test]
async fn a_truncated_backup_or_a_wrong_master_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let source = format!("sqlite://{}/source.db", dir.path().display());
    populate(&source, &dir.path().join("published")).await;
    let key_file = dir.path().join("source.db.master-key");
    let full = dir.path().join("full.jsonl");
    succeeded(
        &edgeflag(&["backup", "--out", full.to_str().unwrap()], &source, None),
        "backup",
    );

    let text = std::fs::read_to_string(&full).unwrap();
    let cut: Vec<&str> = text.lines().collect();
    let truncated = dir.path().join("truncated.jsonl");
    std::fs::write(&truncated, cut[..cut.len() - 1].join("\n")).unwrap();
    let target = format!("sqlite://{}/t1.db", dir.path().display());
    let output = edgeflag(
        &["restore", truncated.to_str().unwrap()],
        &target,
        Some(&key_file),
    );
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("truncated"), "{stderr}");
    // Nothing was written: the same database takes the whole file afterwards.
    succeeded(
        &edgeflag(
            &["restore", full.to_str().unwrap()],
            &target,
            Some(&key_file),
        ),
        "restore after a refused one",
    );

    // Without the source's master key, the new database's own key cannot open the
    // signing keys, and the command says which setting to fix.
    let target = format!("sqlite://{}/t2.db", dir.path().display());
    let output = edgeflag(&["restore", full.to_str().unwrap()], &target, None);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("EDGEFLAG_MASTER_KEY"), "{stderr}");

    let garbage: PathBuf = dir.path().join("garbage.jsonl");
    std::fs::write(&garbage, "{\"format\":\"something-else\"}\n").unwrap();
    let target = format!("sqlite://{}/t3.db", dir.path().display());
    let output = edgeflag(
        &["restore", garbage.to_str().unwrap()],
        &target,
        Some(&key_file),
    );
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("line 1"), "{stderr}");
}
