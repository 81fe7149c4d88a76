//! The test harness: a fresh database per test (a SQLite file in a temp dir, or a
//! fresh PostgreSQL database when `EDGEFLAG_TEST_DATABASE_URL` is set), the app
//! state over it, and an in-process client that drives the router with `oneshot`.

#![allow(dead_code)]

use axum::http::{Method, StatusCode};
use edgeflag_admin::{AppState, Config, local::Local};
use edgeflag_admin_core::orgs::bootstrap;
use serde_json::Value;

pub struct TestApp {
    pub state: AppState,
    pub owner: Local,
    pub owner_key: String,
    pub url: String,
    _dir: tempfile::TempDir,
}

/// A fresh database URL for one test.
pub async fn fresh_url(dir: &tempfile::TempDir) -> String {
    match std::env::var("EDGEFLAG_TEST_DATABASE_URL") {
        Ok(base) if !base.is_empty() => fresh_postgres(&base).await,
        _ => format!("sqlite://{}/admin.db", dir.path().display()),
    }
}

async fn fresh_postgres(base: &str) -> String {
    use sqlx::Connection;
    let name = format!(
        "edgeflag_test_{}",
        hex::encode(edgeflag_admin_core::db::random_bytes::<6>())
    );
    let mut conn = sqlx::PgConnection::connect(base)
        .await
        .expect("connect to EDGEFLAG_TEST_DATABASE_URL");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("create test database");
    let (prefix, _) = base.rsplit_once('/').expect("a database URL with a path");
    format!("{prefix}/{name}")
}

pub async fn app_with(configure: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_url(&dir).await;
    let mut config = Config {
        database_url: url.clone(),
        ..Config::default()
    };
    // A SQLite file gets its master key from a file next to it; PostgreSQL needs one.
    if url.starts_with("postgres") {
        config.master_key = Some(edgeflag_admin_core::masterkey::KeyText::new(
            edgeflag_admin_core::masterkey::Keyring::generate(),
        ));
    }
    configure(&mut config);
    let state = AppState::from_config(config).await.unwrap();
    // As `edgeflag init` does: the first owner key is an instance operator.
    let owner_key = bootstrap(&state.pool, "acme", "Acme")
        .await
        .unwrap()
        .owner_secret;
    let owner = Local::new(&state, &owner_key);
    TestApp {
        state,
        owner,
        owner_key,
        url,
        _dir: dir,
    }
}

pub async fn app() -> TestApp {
    app_with(|_| {}).await
}

impl TestApp {
    /// A client holding a new API key of `role`.
    pub async fn client(&self, role: &str) -> Local {
        let key = self
            .owner
            .ok(
                Method::POST,
                "/v1/api-keys",
                Some(serde_json::json!({"name": role, "role": role})),
            )
            .await
            .unwrap();
        Local::new(&self.state, key["secret"].as_str().unwrap())
    }

    /// Project `web` with environments `staging` and `production`.
    pub async fn project(&self) {
        self.owner
            .ok(
                Method::POST,
                "/v1/projects",
                Some(serde_json::json!({"key": "web", "name": "Web"})),
            )
            .await
            .unwrap();
        for env in ["staging", "production"] {
            self.owner
                .ok(
                    Method::POST,
                    "/v1/projects/web/environments",
                    Some(serde_json::json!({"key": env, "name": env})),
                )
                .await
                .unwrap();
        }
    }
}

pub async fn call(
    client: &Local,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    client.call(method, path, body).await.unwrap()
}

pub fn bool_flag(key: &str) -> Value {
    serde_json::json!({
        "key": key, "name": key, "type": "boolean",
        "variations": [{"key": "on", "value": true}, {"key": "off", "value": false}],
        "tags": ["checkout"], "clientVisible": true
    })
}
