//! A load figure for usage ingestion: batches posted to `POST /v1/usage/batches` over
//! real HTTP on 127.0.0.1 at a fixed rate (open loop: a slow answer does not slow the
//! sender down), for a fixed time; it prints the rate achieved and the latency of the
//! acknowledgements (each one waits for its batch's commit).
//!
//! ```text
//! cargo run --release -p edgeflag-admin --example usage_load -- \
//!     [DATABASE_URL|-] [SECONDS] [ITEMS_PER_MINUTE] [ITEMS_PER_BATCH]
//! ```
//! Without a URL (or with `-`) it uses a SQLite file in a temporary directory. Items
//! spread over 50 flags, 2 environments, 2 variants and 2 reasons, as an edge's would.
//! The server and the load generator share the machine.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use edgeflag_admin::{AppState, Config, routes::orgs::create_org};
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = tempfile::tempdir()?;
    let url = match args.first().map(String::as_str) {
        None | Some("-") => format!("sqlite://{}/usage.db", dir.path().display()),
        Some(url) => url.to_string(),
    };
    let seconds: u64 = args.get(1).map_or(Ok(30), |s| s.parse())?;
    let per_minute: u64 = args.get(2).map_or(Ok(10_000), |s| s.parse())?;
    let per_batch: u64 = args.get(3).map_or(Ok(10), |s| s.parse())?;
    let mut config = Config {
        database_url: url,
        ..Config::default()
    };
    config.usage.rate_limit_per_minute = u32::MAX;
    let state = AppState::from_config(config).await?;
    let org = format!("usage{}", std::process::id());
    let (_, owner) = create_org(&state.pool, &org, "Usage")
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, edgeflag_admin::router(state)).await });
    let client = reqwest::Client::new();
    let post = |path: &str, body: Value| {
        client
            .post(format!("{base}{path}"))
            .bearer_auth(&owner)
            .json(&body)
            .send()
    };
    post("/v1/projects", json!({"key": "load", "name": "Load"}))
        .await?
        .error_for_status()?;
    let mut envs = Vec::new();
    for env in ["prod", "stage"] {
        let edge = format!("{org}-{env}");
        post(
            "/v1/projects/load/environments",
            json!({"key": env, "name": env, "edgeName": edge}),
        )
        .await?
        .error_for_status()?;
        envs.push(edge);
    }
    let key: Value = post("/v1/ingestion-keys", json!({"name": "load"}))
        .await?
        .json()
        .await?;
    let key = key["secret"].as_str().unwrap_or_default().to_string();

    let batches_per_sec = per_minute as f64 / 60.0 / per_batch as f64;
    let every = Duration::from_secs_f64(1.0 / batches_per_sec);
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let failures = Arc::new(Mutex::new(0u64));
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let start = Instant::now();
    let mut sent = 0u64;
    let mut tasks = Vec::new();
    while start.elapsed() < Duration::from_secs(seconds) {
        tick.tick().await;
        let now = chrono::Utc::now().timestamp_millis();
        let items: Vec<Value> = (0..per_batch)
            .map(|i| {
                let n = sent * per_batch + i;
                json!({"environment": envs[(n % 2) as usize], "flag": format!("f{}", n % 50),
                       "variant": if n.is_multiple_of(3) { "on" } else { "off" },
                       "reason": if n.is_multiple_of(5) { "TARGETING_MATCH" } else { "SPLIT" },
                       "time": now, "count": 1 + n % 7})
            })
            .collect();
        let request = client
            .post(format!("{base}/v1/usage/batches"))
            .header("x-api-key", &key)
            .header("idempotency-key", format!("load-{sent}"))
            .json(&json!({"items": items}));
        let (latencies, failures) = (latencies.clone(), failures.clone());
        tasks.push(tokio::spawn(async move {
            let begun = Instant::now();
            let ok = request
                .send()
                .await
                .is_ok_and(|r| r.status().as_u16() == 202);
            if ok {
                latencies.lock().unwrap().push(begun.elapsed());
            } else {
                *failures.lock().unwrap() += 1;
            }
        }));
        sent += 1;
    }
    for task in tasks {
        task.await?;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let mut lat = latencies.lock().unwrap().clone();
    lat.sort();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    let acked = lat.len() as u64;
    println!(
        "target {per_minute} items/min in batches of {per_batch}: {} batches acknowledged in {elapsed:.1} s = {:.0} items/min; \
         p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms, max {:.2} ms; {} failed",
        acked,
        (acked * per_batch) as f64 / elapsed * 60.0,
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.95).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        lat.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
        failures.lock().unwrap()
    );
    Ok(())
}
