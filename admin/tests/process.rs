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
