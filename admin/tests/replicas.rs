//! Several admins on one database. On PostgreSQL (the `admin-postgres` suite): rate
//! limits and sign-in throttles count across replicas, and three real `edgeflag serve`
//! processes, one SIGKILLed in the middle of a delivery, deliver every snapshot version
//! once and in order to every target and every webhook once. On SQLite: limits count
//! per process, and a second `serve` of the same file is refused.

mod common;

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    path::Path,
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{
    Json, Router,
    body::Body,
    extract::{Path as UrlPath, State},
    http::{HeaderMap, Method, Request, StatusCode},
    routing::{get, post, put},
};
use base64ct::{Base64UrlUnpadded, Encoding};
use edgeflag_admin::{AppState, local::Local};
use edgeflag_admin_core::db::Backend;
use serde_json::{Value, json};
use sqlx::AnyPool;
use tokio::sync::Notify;
use tower::ServiceExt;

fn on_postgres(t: &common::TestApp) -> bool {
    Backend::of(&t.url) == Backend::Postgres
}

/// Waits out the last seconds of a minute, so a test's requests share one aligned
/// window (the shared counters' windows start on the minute).
async fn early_in_a_minute() {
    let into = edgeflag_admin_core::db::now_ms().rem_euclid(60_000);
    if into > 50_000 {
        tokio::time::sleep(Duration::from_millis(u64::try_from(60_100 - into).unwrap())).await;
    }
}

/// A second replica: another state (and router) over the same database.
async fn replica(t: &common::TestApp) -> AppState {
    AppState::from_config((*t.state.config).clone())
        .await
        .unwrap()
}

#[tokio::test]
async fn the_api_rate_limit_counts_across_replicas_on_postgres_and_per_process_on_sqlite() {
    let t = common::app_with(|c| c.rate_limit_per_minute = 3).await;
    let other = replica(&t).await;
    let (a, b) = (
        Local::new(&t.state, &t.owner_key),
        Local::new(&other, &t.owner_key),
    );
    early_in_a_minute().await;
    for client in [&a, &a, &b] {
        let (status, body) = common::call(client, Method::GET, "/v1/projects", None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (status, body) = common::call(&b, Method::GET, "/v1/projects", None).await;
    if on_postgres(&t) {
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
        assert_eq!(body["error"]["code"], "RATE_LIMITED");
    } else {
        assert_eq!(status, StatusCode::OK, "SQLite counts per process: {body}");
    }
}

async fn sign_in(state: &AppState, email: &str) -> StatusCode {
    let request = Request::builder()
        .method(Method::POST)
        .uri("/v1/auth/login")
        .header("host", "127.0.0.1:8080")
        .header("content-type", "application/json")
        .body(Body::from(
            json!({"email": email, "password": "not the password"}).to_string(),
        ))
        .unwrap();
    edgeflag_admin::router(state.clone())
        .oneshot(request)
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn failed_sign_ins_count_across_replicas_on_postgres_and_per_process_on_sqlite() {
    let t = common::app_with(|c| c.login.failures_per_account = 2).await;
    let other = replica(&t).await;
    assert_eq!(
        sign_in(&t.state, "eve@example.com").await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        sign_in(&other, "eve@example.com").await,
        StatusCode::UNAUTHORIZED
    );
    let third = sign_in(&t.state, "eve@example.com").await;
    if on_postgres(&t) {
        assert_eq!(third, StatusCode::TOO_MANY_REQUESTS);
    } else {
        assert_eq!(third, StatusCode::UNAUTHORIZED, "SQLite counts per process");
    }
}

// ---------------------------------------------------------------------------------
// Real processes.

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running admin; dropping it kills the process.
struct Running {
    child: Child,
    base: String,
}

impl Running {
    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL: no graceful shutdown, whatever it was doing stops there.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.kill();
    }
}

fn command(db: &str, master_key: Option<&str>, port: u16, out: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_edgeflag"));
    cmd.arg("serve")
        .env("EDGEFLAG_DATABASE_URL", db)
        .env("EDGEFLAG_LISTEN", format!("127.0.0.1:{port}"))
        .env("EDGEFLAG_PUBLISH_DIR", out)
        .env("EDGEFLAG_LOG", "warn")
        .env("EDGEFLAG_RATE_LIMIT_PER_MINUTE", "1000000")
        .stdout(Stdio::null());
    if let Some(key) = master_key {
        cmd.env("EDGEFLAG_MASTER_KEY", key);
    }
    cmd
}

/// Waits (up to a generous deadline) until `probe` answers `Some`.
async fn eventually<T>(what: &str, mut probe: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn listening(client: &reqwest::Client, base: &str) {
    eventually("an admin to listen", async || {
        client
            .get(format!("{base}/readyz"))
            .send()
            .await
            .ok()
            .filter(|r| r.status().is_success())
    })
    .await;
}

/// A fake edge: takes any publish newer than what it holds (signatures are the edge
/// crate's business, tested there), answers its JWKS as the admin's so no endorsement
/// is needed, and can stall the next publish until released.
struct FakeEdge {
    pool: AnyPool,
    held: Mutex<BTreeMap<String, u64>>,
    accepted: Mutex<Vec<u64>>,
    stall_next: Mutex<bool>,
    stalled: Notify,
    release: Notify,
}

async fn edge_jwks(State(edge): State<Arc<FakeEdge>>) -> Json<Value> {
    let jwks = edgeflag_admin_core::signing::jwks(&edge.pool)
        .await
        .unwrap();
    Json(serde_json::to_value(jwks).unwrap())
}

async fn edge_put(
    State(edge): State<Arc<FakeEdge>>,
    UrlPath(env): UrlPath<String>,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    let stall = std::mem::take(&mut *edge.stall_next.lock().unwrap());
    if stall {
        // The admin sending this is killed meanwhile: nothing it sent counts.
        edge.stalled.notify_one();
        edge.release.notified().await;
        return (StatusCode::SERVICE_UNAVAILABLE, Json(json!({})));
    }
    let server = body["server"].as_str().unwrap();
    let payload = Base64UrlUnpadded::decode_vec(server.split('.').nth(1).unwrap()).unwrap();
    let version = serde_json::from_slice::<Value>(&payload).unwrap()["version"]
        .as_u64()
        .unwrap();
    let mut held = edge.held.lock().unwrap();
    let stored = held.get(&env).copied().unwrap_or(0);
    if version <= stored {
        let message = format!(
            "`{env}` holds version {stored}; a publish must be newer, this one is {version}"
        );
        let error = json!({"error": {"code": "STALE_VERSION", "message": message}});
        return (StatusCode::CONFLICT, Json(error));
    }
    held.insert(env, version);
    edge.accepted.lock().unwrap().push(version);
    (StatusCode::OK, Json(json!({"version": version})))
}

/// Counts webhook deliveries by their `Edgeflag-Delivery` id.
#[derive(Default)]
struct Receiver {
    seen: Mutex<BTreeMap<String, u32>>,
}

async fn receive(State(r): State<Arc<Receiver>>, headers: HeaderMap) -> StatusCode {
    let id = headers["edgeflag-delivery"].to_str().unwrap().to_string();
    *r.seen.lock().unwrap().entry(id).or_default() += 1;
    StatusCode::OK
}

async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    addr
}

/// The count `sql` answers.
async fn count(pool: &AnyPool, sql: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn scalar(pool: &AnyPool, sql: &str, env_id: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sql)
        .bind(env_id)
        .fetch_one(pool)
        .await
        .unwrap()
}

const PENDING_HOOKS: &str = "SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'pending'";

/// Whether every target holds the newest version, nothing is left in the outbox and
/// no webhook delivery is pending.
async fn settled(pool: &AnyPool, env_id: &str, targets: i64) -> bool {
    let latest = scalar(
        pool,
        "SELECT snapshot_version FROM environments WHERE id = $1",
        env_id,
    )
    .await;
    let up_to_date = scalar(
        pool,
        "SELECT COUNT(*) FROM publish_status p JOIN environments e ON e.id = p.environment_id \
         WHERE p.environment_id = $1 AND p.delivered_version = e.snapshot_version",
        env_id,
    )
    .await;
    let pending = scalar(
        pool,
        "SELECT COUNT(*) FROM outbox WHERE environment_id = $1 AND processed_at IS NULL",
        env_id,
    )
    .await;
    let hooks = count(pool, PENDING_HOOKS).await;
    latest > 0 && up_to_date == targets && pending == 0 && hooks == 0
}

/// The versions each target was recorded as receiving, in the order recorded.
async fn recorded_deliveries(pool: &AnyPool) -> BTreeMap<String, Vec<u64>> {
    let rows: Vec<String> = sqlx::query_scalar(
        "SELECT data FROM feed_events WHERE type = 'publish.delivered' ORDER BY seq",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let mut out: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for data in rows {
        let data: Value = serde_json::from_str(&data).unwrap();
        out.entry(data["target"].as_str().unwrap().to_string())
            .or_default()
            .push(data["version"].as_u64().unwrap());
    }
    out
}

/// Each version once, each the one after the last, ending at `latest`.
fn assert_in_order_once(what: &str, versions: &[u64], latest: u64) {
    assert!(!versions.is_empty(), "{what}: nothing delivered");
    for pair in versions.windows(2) {
        assert_eq!(
            pair[1],
            pair[0] + 1,
            "{what}: a version skipped or delivered twice: {versions:?}"
        );
    }
    assert_eq!(versions.last(), Some(&latest), "{what}: {versions:?}");
}

/// On SQLite: a second `serve` of one file is refused, naming the first process.
async fn second_sqlite_serve_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/admin.db", dir.path().display());
    let out = dir.path().join("kv");
    let first = Running {
        child: command(&db, None, free_port(), &out)
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
        base: String::new(),
    };
    let lock = dir.path().join("admin.db.serve.lock");
    eventually("the first admin's lock", async || {
        std::fs::read_to_string(&lock)
            .ok()
            .filter(|s| s.contains("pid"))
    })
    .await;
    let second = command(&db, None, free_port(), &out)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(!second.status.success(), "the second admin must not serve");
    assert!(
        stderr.contains("already serves the SQLite database")
            && stderr.contains(&format!("pid {}", first.pid())),
        "{stderr}"
    );
}

#[tokio::test]
async fn several_serve_processes_on_one_database() {
    let t = common::app().await;
    if !on_postgres(&t) {
        return second_sqlite_serve_is_refused().await;
    }
    let pool = t.state.pool.clone();
    let master_key = t
        .state
        .config
        .master_key
        .as_ref()
        .map(|k| k.expose().to_string());
    let edge = Arc::new(FakeEdge {
        pool: pool.clone(),
        held: Mutex::default(),
        accepted: Mutex::default(),
        stall_next: Mutex::new(false),
        stalled: Notify::new(),
        release: Notify::new(),
    });
    let edge_addr = serve(
        Router::new()
            .route("/.well-known/jwks.json", get(edge_jwks))
            .route("/publish/v1/environments/{env}", put(edge_put))
            .with_state(edge.clone()),
    )
    .await;
    let receiver = Arc::new(Receiver::default());
    let hook_addr = serve(
        Router::new()
            .route("/hook", post(receive))
            .with_state(receiver.clone()),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("kv");
    let mut admins: Vec<Running> = (0..3)
        .map(|_| {
            let port = free_port();
            let child = command(&t.url, master_key.as_deref(), port, &out)
                .env("EDGEFLAG_PUBLISH_EDGE_URL", format!("http://{edge_addr}"))
                .env("EDGEFLAG_PUBLISH_CLAIM_TTL_MS", "6000")
                .env("EDGEFLAG_WEBHOOKS_POLL_MS", "100")
                .env("EDGEFLAG_WEBHOOKS_ALLOWED_NETWORKS", "127.0.0.0/8")
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            Running {
                child,
                base: format!("http://127.0.0.1:{port}"),
            }
        })
        .collect();
    let client = reqwest::Client::new();
    for admin in &admins {
        listening(&client, &admin.base).await;
    }
    let call = async |base: &str, path: &str, body: Value| {
        let response = client
            .post(format!("{base}{path}"))
            .bearer_auth(&t.owner_key)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
    };
    call(
        &admins[0].base,
        "/v1/projects",
        json!({"key": "web", "name": "Web"}),
    )
    .await;
    call(
        &admins[1].base,
        "/v1/projects/web/environments",
        json!({"key": "production", "name": "P"}),
    )
    .await;
    call(
        &admins[2].base,
        "/v1/webhooks",
        json!({"url": format!("http://{hook_addr}/hook")}),
    )
    .await;
    let env_id: String = sqlx::query_scalar("SELECT id FROM environments WHERE key = 'production'")
        .fetch_one(&pool)
        .await
        .unwrap();
    let flag = |i: usize| {
        json!({"key": format!("f{i}"), "name": "f", "type": "boolean",
            "variations": [{"key": "on", "value": true}, {"key": "off", "value": false}]})
    };
    // Edits through all three, some while the others publish.
    for i in 0..9 {
        call(&admins[i % 3].base, "/v1/projects/web/flags", flag(i)).await;
        if i % 3 == 2 {
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }
    eventually("the first edits everywhere", async || {
        settled(&pool, &env_id, 2).await.then_some(())
    })
    .await;

    // The next publish to the edge stalls; its sender is killed mid-delivery.
    *edge.stall_next.lock().unwrap() = true;
    let stalled = edge.stalled.notified();
    call(&admins[0].base, "/v1/projects/web/flags", flag(9)).await;
    tokio::time::timeout(Duration::from_secs(30), stalled)
        .await
        .expect("a publish reaches the edge");
    let claim = format!("deliver/{env_id}/edge");
    let holder = edgeflag_admin_core::lease::holder_of(&pool, &claim)
        .await
        .unwrap()
        .expect("the delivery is claimed while in flight");
    let pid: u32 = holder.split(':').nth(1).unwrap().parse().unwrap();
    // Its webhook delivery is sent first, so the kill cuts no webhook in half.
    eventually("the edit's webhook", async || {
        (count(&pool, PENDING_HOOKS).await == 0).then_some(())
    })
    .await;
    let victim = admins
        .iter()
        .position(|a| a.pid() == pid)
        .expect("the holder is one of the three");
    admins[victim].kill();
    edge.release.notify_one();
    let survivors: Vec<String> = admins
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != victim)
        .map(|(_, a)| a.base.clone())
        .collect();
    for i in 10..14 {
        call(&survivors[i % 2], "/v1/projects/web/flags", flag(i)).await;
    }
    eventually("every target at the newest version", async || {
        settled(&pool, &env_id, 2).await.then_some(())
    })
    .await;

    let latest = u64::try_from(
        scalar(
            &pool,
            "SELECT snapshot_version FROM environments WHERE id = $1",
            &env_id,
        )
        .await,
    )
    .unwrap();
    let accepted = edge.accepted.lock().unwrap().clone();
    assert_in_order_once("the edge", &accepted, latest);
    let recorded = recorded_deliveries(&pool).await;
    assert_eq!(recorded["edge"], accepted, "recorded as the edge took them");
    assert_in_order_once("the directory", &recorded["directory"], latest);
    let on_disk = std::fs::read_to_string(out.join("env/web-production/version")).unwrap();
    assert_eq!(on_disk.trim(), latest.to_string());
    let server = std::fs::read_to_string(out.join("env/web-production/server.jws")).unwrap();
    let payload = Base64UrlUnpadded::decode_vec(server.split('.').nth(1).unwrap()).unwrap();
    let snapshot: Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(snapshot["flags"].as_array().unwrap().len(), 14);

    let deliveries: Vec<String> = sqlx::query_scalar("SELECT event_id FROM webhook_deliveries")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(deliveries.len(), 14, "one delivery per flag created");
    let seen = receiver.seen.lock().unwrap().clone();
    for id in &deliveries {
        assert_eq!(
            seen.get(id),
            Some(&1),
            "webhook {id} delivered once: {seen:?}"
        );
    }
    assert_eq!(seen.len(), deliveries.len());
}
