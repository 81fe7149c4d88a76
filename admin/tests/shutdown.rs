//! Graceful shutdown of the real `edgeflag serve`: on SIGTERM a request in flight
//! completes, new connections are refused, and the process exits 0 before the
//! deadline; a request that never completes is cut off at the deadline.

use std::{
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running admin; dropping it kills the process.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Running {
    fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the exit; `None` if it takes longer than `limit`.
    async fn exit_within(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Some(status) = self.0.try_wait().unwrap() {
                return Some(status);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        None
    }
}

/// An admin on a fresh SQLite database with an owner API key.
async fn start(deadline_secs: u64) -> (Running, u16, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
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
    let child = Command::new(env!("CARGO_BIN_EXE_edgeflag"))
        .arg("serve")
        .env("EDGEFLAG_DATABASE_URL", &db)
        .env("EDGEFLAG_LISTEN", format!("127.0.0.1:{port}"))
        .env("EDGEFLAG_PUBLISH_DIR", dir.path().join("kv"))
        .env("EDGEFLAG_SHUTDOWN_TIMEOUT_SECS", deadline_secs.to_string())
        .env("EDGEFLAG_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let running = Running(child);
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        assert!(Instant::now() < deadline, "the admin never listened");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (running, port, key, dir)
}

/// Sends the head of a `POST /v1/projects` and half its body: the request is in
/// flight until the rest is sent.
async fn half_a_request(port: u16, key: &str) -> (TcpStream, &'static [u8]) {
    let body: &[u8] = br#"{"key": "slow", "name": "Sent slowly"}"#;
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let head = format!(
        "POST /v1/projects HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer {key}\r\n\
         content-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body[..10]).await.unwrap();
    stream.flush().await.unwrap();
    (stream, &body[10..])
}

#[tokio::test]
async fn sigterm_finishes_the_request_in_flight_refuses_new_ones_and_exits_0() {
    let (mut admin, port, key, _dir) = start(20).await;
    let (mut stream, rest) = half_a_request(port, &key).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let signalled = Instant::now();
    admin.terminate();
    // The listener closes at once.
    let deadline = Instant::now() + Duration::from_secs(5);
    while TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
        assert!(
            Instant::now() < deadline,
            "new connections are still accepted"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        admin.0.try_wait().unwrap().is_none(),
        "it waits for the request in flight"
    );
    stream.write_all(rest).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    let status = admin
        .exit_within(Duration::from_secs(15))
        .await
        .expect("exits once drained");
    assert!(status.success(), "{status}");
    assert!(signalled.elapsed() < Duration::from_secs(15));
}

#[tokio::test]
async fn a_request_that_never_ends_is_cut_off_at_the_deadline() {
    let (mut admin, port, key, _dir) = start(1).await;
    let (_stream, _rest) = half_a_request(port, &key).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let signalled = Instant::now();
    admin.terminate();
    let status = admin
        .exit_within(Duration::from_secs(10))
        .await
        .expect("exits at the deadline");
    assert!(status.success(), "{status}");
    let took = signalled.elapsed();
    assert!(
        took >= Duration::from_millis(900),
        "it waited for the deadline: {took:?}"
    );
}
