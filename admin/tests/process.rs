//! Across processes: the real `edgeflag serve` binary is SIGKILLed right after a
//! burst of edits (mid-publish or before it), started again on the same database,
//! and the published directory converges to a snapshot holding every edit. It always
//! uses SQLite: the process boundary, not the database, is what is under test here.

use std::{
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use base64ct::{Base64UrlUnpadded, Encoding};
use serde_json::{Value, json};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running admin; dropping it kills the process, so a failing test leaves nothing behind.
struct Running(Child);

impl Running {
    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.kill();
    }
}

fn start(db: &str, port: u16, out: &Path) -> Running {
    let child = Command::new(env!("CARGO_BIN_EXE_edgeflag"))
        .arg("serve")
        .env("EDGEFLAG_DATABASE_URL", db)
        .env("EDGEFLAG_LISTEN", format!("127.0.0.1:{port}"))
        .env("EDGEFLAG_PUBLISH_DIR", out)
        .env("EDGEFLAG_LOG", "warn")
        .env("EDGEFLAG_USAGE_RATE_LIMIT_PER_MINUTE", "1000000")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Running(child)
}

/// Waits (up to a generous deadline) until `probe` answers `Some`.
async fn eventually<T>(what: &str, mut probe: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn published_flags(out: &Path) -> Option<usize> {
    let jws = std::fs::read_to_string(out.join("env/web-production/server.jws")).ok()?;
    let payload = Base64UrlUnpadded::decode_vec(jws.split('.').nth(1)?).ok()?;
    let snapshot: Value = serde_json::from_slice(&payload).ok()?;
    snapshot["flags"].as_array().map(Vec::len)
}

#[tokio::test]
async fn a_killed_admin_converges_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("kv");
    let db = format!("sqlite://{}/admin.db", dir.path().display());
    let config = edgeflag_admin::Config {
        database_url: db.clone(),
        ..Default::default()
    };
    let state = edgeflag_admin::AppState::from_config(config).await.unwrap();
    let (_, key) = edgeflag_admin::routes::orgs::create_org(&state.pool, "acme", "Acme")
        .await
        .unwrap();
    state.pool.close().await;

    let port = free_port();
    let mut admin = start(&db, port, &out);
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let post = |path: String, body: Value| {
        client
            .post(format!("{base}{path}"))
            .bearer_auth(&key)
            .json(&body)
            .send()
    };
    eventually("the admin to listen", async || {
        client.get(format!("{base}/readyz")).send().await.ok()
    })
    .await;
    post("/v1/projects".into(), json!({"key": "web", "name": "Web"}))
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    post(
        "/v1/projects/web/environments".into(),
        json!({"key": "production", "name": "P"}),
    )
    .await
    .unwrap()
    .error_for_status()
    .unwrap();
    for i in 0..10 {
        let flag = json!({"key": format!("f{i}"), "name": "f", "type": "boolean", "variations": [{"key": "on", "value": true}, {"key": "off", "value": false}]});
        post("/v1/projects/web/flags".into(), flag)
            .await
            .unwrap()
            .error_for_status()
            .unwrap();
    }
    admin.kill(); // SIGKILL: no graceful shutdown, the publisher dies wherever it is.

    let mut admin = start(&db, port, &out);
    let flags = eventually("all ten flags at the edge", async || {
        published_flags(&out).filter(|n| *n == 10)
    })
    .await;
    assert_eq!(flags, 10);
    admin.kill();
}

/// Posts one usage batch of one item (count 1) with idempotency key `id`.
async fn post_usage(client: &reqwest::Client, base: &str, key: &str, id: &str) -> Option<u16> {
    let now = chrono_now_ms();
    let body = json!({"items": [{"environment": "web-production", "flag": "f", "variant": "on",
        "reason": "STATIC", "time": now, "count": 1}]});
    let response = client
        .post(format!("{base}/v1/usage/batches"))
        .header("x-api-key", key)
        .header("idempotency-key", id)
        .json(&body)
        .send()
        .await
        .ok()?;
    Some(response.status().as_u16())
}

fn chrono_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Usage batches are acknowledged only once committed: the admin is SIGKILLed while
/// batches are in flight; after a restart every acknowledged batch is counted, and
/// retrying every batch (with its idempotency key) counts each exactly once.
#[tokio::test]
async fn acknowledged_usage_survives_a_kill() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("kv");
    let db = format!("sqlite://{}/admin.db", dir.path().display());
    let config = edgeflag_admin::Config {
        database_url: db.clone(),
        ..Default::default()
    };
    let state = edgeflag_admin::AppState::from_config(config).await.unwrap();
    let (_, owner) = edgeflag_admin::routes::orgs::create_org(&state.pool, "acme", "Acme")
        .await
        .unwrap();
    state.pool.close().await;

    let port = free_port();
    let mut admin = start(&db, port, &out);
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    eventually("the admin to listen", async || {
        client.get(format!("{base}/readyz")).send().await.ok()
    })
    .await;
    for (path, body) in [
        ("/v1/projects", json!({"key": "web", "name": "Web"})),
        (
            "/v1/projects/web/environments",
            json!({"key": "production", "name": "P"}),
        ),
    ] {
        client
            .post(format!("{base}{path}"))
            .bearer_auth(&owner)
            .json(&body)
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap();
    }
    let key: Value = client
        .post(format!("{base}/v1/ingestion-keys"))
        .bearer_auth(&owner)
        .json(&json!({"name": "edge"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = key["secret"].as_str().unwrap().to_string();

    const BATCHES: usize = 1_000;
    let acked = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut senders = Vec::new();
    for i in 0..BATCHES {
        let (client, base, key, acked) = (client.clone(), base.clone(), key.clone(), acked.clone());
        senders.push(tokio::spawn(async move {
            if post_usage(&client, &base, &key, &format!("b{i}")).await == Some(202) {
                acked.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        }));
    }
    // Kill mid-stream: once some batches are acknowledged, others still in flight.
    eventually("some acknowledgements", async || {
        (acked.load(std::sync::atomic::Ordering::SeqCst) >= 20).then_some(())
    })
    .await;
    admin.kill();
    for sender in senders {
        let _ = sender.await;
    }
    let acked = acked.load(std::sync::atomic::Ordering::SeqCst);

    let mut admin = start(&db, port, &out);
    eventually("the admin to listen again", async || {
        client.get(format!("{base}/readyz")).send().await.ok()
    })
    .await;
    let total = |client: reqwest::Client| {
        let (base, owner) = (base.clone(), owner.clone());
        async move {
            let usage: Value = client
                .get(format!(
                    "{base}/v1/projects/web/flags/f/usage?resolution=day"
                ))
                .bearer_auth(&owner)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            usage["total"].as_u64().unwrap() as usize
        }
    };
    let after_restart = total(client.clone()).await;
    assert!(
        after_restart >= acked,
        "{acked} batches were acknowledged but only {after_restart} counted"
    );
    assert!(
        acked < BATCHES,
        "the kill should have interrupted the stream"
    );
    for i in 0..BATCHES {
        let status = post_usage(&client, &base, &key, &format!("b{i}")).await;
        assert!(
            matches!(status, Some(200 | 202)),
            "retry of b{i}: {status:?}"
        );
    }
    assert_eq!(
        total(client.clone()).await,
        BATCHES,
        "every batch counted once"
    );
    admin.kill();
}

/// A SIGKILLed `serve` leaves its delivery lease behind; on SQLite the next `serve` is
/// the only process (it holds the file's lock), so it voids that lease and delivers at
/// once instead of waiting for the lease to expire.
#[tokio::test]
async fn a_restart_on_sqlite_voids_the_leases_a_killed_process_left() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("kv");
    let db = format!("sqlite://{}/admin.db", dir.path().display());
    let config = edgeflag_admin::Config {
        database_url: db.clone(),
        ..Default::default()
    };
    let state = edgeflag_admin::AppState::from_config(config).await.unwrap();
    let (_, key) = edgeflag_admin::routes::orgs::create_org(&state.pool, "acme", "Acme")
        .await
        .unwrap();
    let owner = edgeflag_admin::local::Local::new(&state, &key);
    for (path, body) in [
        ("/v1/projects", json!({"key": "web", "name": "Web"})),
        (
            "/v1/projects/web/environments",
            json!({"key": "production", "name": "P"}),
        ),
    ] {
        owner
            .ok(axum::http::Method::POST, path, Some(body))
            .await
            .unwrap();
    }
    let env_id: String = sqlx::query_scalar("SELECT id FROM environments WHERE key = 'production'")
        .fetch_one(&state.pool)
        .await
        .unwrap();
    // As a process killed mid-delivery leaves it: held for an hour by a dead holder.
    let dead = edgeflag_admin_core::lease::Holder::this_process();
    let claim = format!("deliver/{env_id}/directory");
    assert!(
        edgeflag_admin_core::lease::acquire(&state.pool, &claim, &dead, 3_600_000)
            .await
            .unwrap()
    );
    state.pool.close().await;

    let mut admin = start(&db, free_port(), &out);
    eventually("the environment at the edge", async || {
        std::fs::read_to_string(out.join("env/web-production/version")).ok()
    })
    .await;
    admin.kill();
}
