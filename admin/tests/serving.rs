//! How the admin is served: HTTPS with rustls when a certificate is configured (the
//! real binary, a self-signed certificate made here), security headers on every
//! answer, and `edgeflag config check`.

mod common;

use std::{
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use axum::{body::Body, http::Request};
use serde_json::Value;
use tower::ServiceExt;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running admin, killed when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn serves_https_with_the_configured_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let cert_file = dir.path().join("cert.pem");
    let key_file = dir.path().join("key.pem");
    std::fs::write(&cert_file, certified.cert.pem()).unwrap();
    std::fs::write(&key_file, certified.signing_key.serialize_pem()).unwrap();
    let port = free_port();
    let _admin = Running(
        Command::new(env!("CARGO_BIN_EXE_edgeflag"))
            .arg("serve")
            .env(
                "EDGEFLAG_DATABASE_URL",
                format!("sqlite://{}/admin.db", dir.path().display()),
            )
            .env("EDGEFLAG_LISTEN", format!("127.0.0.1:{port}"))
            .env("EDGEFLAG_TLS_CERT_FILE", &cert_file)
            .env("EDGEFLAG_TLS_KEY_FILE", &key_file)
            .env("EDGEFLAG_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let trusted = reqwest::Certificate::from_pem(certified.cert.pem().as_bytes()).unwrap();
    let client = reqwest::Client::builder()
        .add_root_certificate(trusted)
        .resolve("localhost", ([127, 0, 0, 1], port).into())
        .build()
        .unwrap();
    let url = format!("https://localhost:{port}/healthz");
    let deadline = Instant::now() + Duration::from_secs(60);
    let response = loop {
        match client.get(&url).send().await {
            Ok(response) => break response,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("the admin never answered over HTTPS: {e}"),
        }
    };
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["strict-transport-security"],
        edgeflag_admin::security::HSTS
    );
    // The TLS port does not speak plain HTTP.
    let plain = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/healthz"))
        .timeout(Duration::from_secs(5))
        .send()
        .await;
    assert!(plain.is_err() || !plain.unwrap().status().is_success());
    // A client that does not trust the certificate is refused.
    let untrusting = reqwest::Client::builder()
        .resolve("localhost", ([127, 0, 0, 1], port).into())
        .build()
        .unwrap();
    assert!(untrusting.get(&url).send().await.is_err());
}

async fn headers_of(app: &common::TestApp, path: &str) -> axum::http::HeaderMap {
    let response = edgeflag_admin::router(app.state.clone())
        .oneshot(Request::get(path).body(Body::empty()).unwrap())
        .await
        .unwrap();
    response.headers().clone()
}

#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let app = common::app().await;
    // An API answer, an error, a health check and the dashboard.
    for path in ["/v1/projects", "/v1/nothing-here", "/healthz", "/"] {
        let h = headers_of(&app, path).await;
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        // Plain HTTP without an https:// public URL: no HSTS.
        assert!(h.get("strict-transport-security").is_none(), "{path}");
    }
    // The dashboard keeps its own, stricter policy.
    let h = headers_of(&app, "/").await;
    assert!(
        h["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src"),
        "{h:?}"
    );

    let behind_tls =
        common::app_with(|c| c.public_url = Some("https://flags.example.com".into())).await;
    let h = headers_of(&behind_tls, "/healthz").await;
    assert_eq!(
        h["strict-transport-security"],
        edgeflag_admin::security::HSTS
    );
}

fn config_check(envs: &[(&str, &str)]) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_edgeflag"));
    command
        .args(["config", "check", "--format", "json"])
        .env_remove("EDGEFLAG_MASTER_KEY")
        .env("EDGEFLAG_LOG", "warn");
    for (name, value) in envs {
        command.env(name, value);
    }
    command.output().unwrap()
}

#[test]
fn config_check_prints_the_effective_configuration_without_secrets() {
    let output = config_check(&[
        (
            "EDGEFLAG_DATABASE_URL",
            "postgres://edgeflag:hunter2@db:5432/edgeflag",
        ),
        ("EDGEFLAG_MASTER_KEY", "efmk_not_shown"),
        ("EDGEFLAG_LOGIN_WINDOW_SECS", "120"),
        (
            "EDGEFLAG_PUBLISH_TARGETS",
            r#"[{"kind":"cloudflare-kv","name":"kv","account_id":"a","namespace_id":"n","api_token":"cf-secret"}]"#,
        ),
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for secret in ["hunter2", "efmk_not_shown", "cf-secret"] {
        assert!(!stdout.contains(secret), "{secret} printed: {stdout}");
    }
    let effective: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(effective["login"]["window_secs"], 120);
    assert_eq!(
        effective["database_url"],
        "postgres://edgeflag:***@db:5432/edgeflag"
    );
    assert_eq!(effective["master_key"], "***");
    assert_eq!(effective["publish"]["targets"][0]["api_token"], "***");

    let bad = config_check(&[("EDGEFLAG_TLS_CERT_FILE", "/nonexistent/cert.pem")]);
    assert!(!bad.status.success());
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        stderr.contains("tls.key_file: tls.cert_file is set"),
        "{stderr}"
    );
    let bad = config_check(&[
        ("EDGEFLAG_TLS_CERT_FILE", "/nonexistent/cert.pem"),
        ("EDGEFLAG_TLS_KEY_FILE", "/nonexistent/key.pem"),
    ]);
    assert!(!bad.status.success());
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        stderr.contains("tls.cert_file /nonexistent/cert.pem"),
        "{stderr}"
    );
    let bad = config_check(&[("EDGEFLAG_REQUEST_TIMEOUT_SECS", "soon")]);
    assert!(!bad.status.success());
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        stderr.contains("EDGEFLAG_REQUEST_TIMEOUT_SECS: `soon` is not a number"),
        "{stderr}"
    );
}

#[tokio::test]
async fn metrics_show_the_pool_each_targets_lag_and_webhook_outcomes() {
    let dir = tempfile::tempdir().unwrap();
    let files = dir.path().join("published");
    let app = common::app_with(|c| {
        c.publish.targets = vec![
            edgeflag_admin::config::TargetConfig::Directory {
                name: "files".into(),
                path: files.clone(),
            },
            // Nothing listens on port 1: this target stays behind.
            edgeflag_admin::config::TargetConfig::Edge {
                name: "down".into(),
                url: "http://127.0.0.1:1".into(),
            },
        ];
    })
    .await;
    app.project().await;
    app.state.publisher().tick().await.unwrap();
    let response = edgeflag_admin::router(app.state.clone())
        .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let bytes = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    let value = |series: &str| -> f64 {
        let line = text
            .lines()
            .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
            .unwrap_or_else(|| panic!("no {series} in\n{text}"));
        line[series.len()..].trim().parse().unwrap()
    };
    assert_eq!(
        value("edgeflag_admin_target_environments_behind{target=\"files\"}"),
        0.0
    );
    assert_eq!(
        value("edgeflag_admin_target_lag_seconds{target=\"files\"}"),
        0.0
    );
    assert_eq!(
        value("edgeflag_admin_target_environments_behind{target=\"down\"}"),
        2.0
    );
    assert!(value("edgeflag_admin_target_lag_seconds{target=\"down\"}") >= 0.0);
    assert!(value("edgeflag_admin_db_pool_max_connections") >= 1.0);
    assert!(value("edgeflag_admin_db_pool_connections{state=\"idle\"}") >= 0.0);
    // Every series is in the one table of docs/deployment.md.
    let docs = include_str!("../../docs/deployment.md");
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let name = rest.split(' ').next().unwrap();
            assert!(
                docs.contains(&format!("| `{name}` |")),
                "{name} is not in the metrics table of docs/deployment.md"
            );
        }
    }
    for status in ["pending", "delivered", "failed"] {
        assert_eq!(
            value(&format!(
                "edgeflag_admin_webhook_deliveries{{status=\"{status}\"}}"
            )),
            0.0
        );
    }
}
