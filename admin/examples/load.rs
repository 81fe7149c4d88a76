//! A load figure for the admin: reads (`GET` a flag) and writes (toggle a flag,
//! which validates, versions, audits and enqueues a publish in one transaction)
//! over real HTTP on 127.0.0.1, from concurrent clients, for a fixed time.
//!
//! ```text
//! cargo run --release -p edgeflag-admin --example load -- [DATABASE_URL] [SECONDS] [CLIENTS]
//! ```
//! Without a URL it uses a SQLite file in a temporary directory. The server and the
//! load generator share the machine, so the figures are a floor, not a ceiling.

use std::time::{Duration, Instant};

use edgeflag_admin::{AppState, Config, routes::orgs::create_org};
use serde_json::json;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = tempfile::tempdir()?;
    let url = args
        .first()
        .cloned()
        .unwrap_or_else(|| format!("sqlite://{}/load.db", dir.path().display()));
    let seconds: u64 = args.get(1).map_or(Ok(10), |s| s.parse())?;
    let clients: usize = args.get(2).map_or(Ok(16), |s| s.parse())?;
    let config = Config {
        database_url: url.clone(),
        rate_limit_per_minute: u32::MAX,
        ..Config::default()
    };
    let state = AppState::from_config(config).await?;
    let (_, key) = create_org(&state.pool, &format!("load{}", std::process::id()), "Load")
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let server =
        tokio::spawn(async move { axum::serve(listener, edgeflag_admin::router(state)).await });
    let client = reqwest::Client::new();
    let auth = format!("Bearer {key}");
    let post = |path: &str, body: serde_json::Value| {
        client
            .post(format!("{base}{path}"))
            .header("authorization", &auth)
            .json(&body)
            .send()
    };
    post("/v1/projects", json!({"key": "load", "name": "Load"}))
        .await?
        .error_for_status()?;
    post(
        "/v1/projects/load/environments",
        json!({"key": "prod", "name": "Prod", "edgeName": format!("load-{}", std::process::id())}),
    )
    .await?
    .error_for_status()?;
    for i in 0..clients {
        let flag = json!({"key": format!("f{i}"), "name": "f", "type": "boolean", "variations": [{"key": "on", "value": true}, {"key": "off", "value": false}]});
        post("/v1/projects/load/flags", flag)
            .await?
            .error_for_status()?;
    }
    println!(
        "database: {}",
        if url.starts_with("postgres") {
            "PostgreSQL"
        } else {
            "SQLite"
        }
    );
    for write in [false, true] {
        let (count, errors, mut latencies) = run(
            &client,
            &base,
            &auth,
            clients,
            Duration::from_secs(seconds),
            write,
        )
        .await;
        latencies.sort_unstable();
        let pct = |p: f64| {
            latencies
                .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
                .copied()
                .unwrap_or_default()
        };
        println!(
            "{:<6} {clients} clients, {seconds} s: {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, errors {errors}",
            if write { "writes" } else { "reads" },
            count as f64 / seconds as f64,
            pct(0.50).as_secs_f64() * 1000.0,
            pct(0.99).as_secs_f64() * 1000.0,
        );
    }
    server.abort();
    Ok(())
}

async fn run(
    client: &reqwest::Client,
    base: &str,
    auth: &str,
    clients: usize,
    length: Duration,
    write: bool,
) -> (usize, usize, Vec<Duration>) {
    let deadline = Instant::now() + length;
    let mut tasks = Vec::new();
    for i in 0..clients {
        let (client, base, auth) = (client.clone(), base.to_string(), auth.to_string());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0;
            let mut on = false;
            while Instant::now() < deadline {
                let start = Instant::now();
                let request = if write {
                    on = !on;
                    client
                        .post(format!(
                            "{base}/v1/projects/load/flags/f{i}/environments/prod/toggle"
                        ))
                        .json(&json!({"enabled": on}))
                } else {
                    client.get(format!("{base}/v1/projects/load/flags/f{i}"))
                };
                match request.header("authorization", &auth).send().await {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        latencies.push(start.elapsed());
                    }
                    _ => errors += 1,
                }
            }
            (latencies, errors)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for task in tasks {
        if let Ok((l, e)) = task.await {
            all.extend(l);
            errors += e;
        }
    }
    (all.len(), errors, all)
}
