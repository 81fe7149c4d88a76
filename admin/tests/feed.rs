//! The change feed (`GET /v1/feed`): changes of flags, segments, environments and keys
//! and publish progress as Server-Sent Events, what each role hears, the per-caller
//! stream limit, and resuming by `Last-Event-ID`, also after the admin restarts.

mod common;

use std::{
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use axum::{
    body::Body,
    http::{Method, Request, StatusCode},
};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

/// One SSE event: its id, type and JSON data.
#[derive(Debug, Clone)]
struct Sse {
    id: Option<i64>,
    event: String,
    data: Value,
}

/// Splits complete events off the front of `buffer`.
fn parse(buffer: &mut String) -> Vec<Sse> {
    let mut events = Vec::new();
    while let Some(end) = buffer.find("\n\n") {
        let block: String = buffer.drain(..end + 2).collect();
        let (mut id, mut event, mut data) = (None, String::from("message"), String::new());
        for line in block.lines() {
            if let Some(v) = line.strip_prefix("id:") {
                id = v.trim().parse().ok();
            } else if let Some(v) = line.strip_prefix("event:") {
                event = v.trim().to_string();
            } else if let Some(v) = line.strip_prefix("data:") {
                data.push_str(v.trim());
            }
        }
        if !data.is_empty() {
            events.push(Sse {
                id,
                event,
                data: serde_json::from_str(&data).unwrap_or(Value::Null),
            });
        }
    }
    events
}

/// An open stream read in-process.
struct Stream {
    body: Body,
    buffer: String,
}

impl Stream {
    async fn open(app: &common::TestApp, key: &str, last_event_id: Option<i64>) -> Self {
        let mut request = Request::get("/v1/feed").header("authorization", format!("Bearer {key}"));
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id.to_string());
        }
        let response = edgeflag_admin::router(app.state.clone())
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        Self {
            body: response.into_body(),
            buffer: String::new(),
        }
    }

    /// The next events until one of type `until` (included), within ten seconds.
    async fn until(&mut self, until: impl Fn(&Sse) -> bool) -> Vec<Sse> {
        let mut seen = Vec::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            for e in parse(&mut self.buffer) {
                let done = until(&e);
                seen.push(e);
                if done {
                    return seen;
                }
            }
            let frame = tokio::time::timeout_at(deadline, self.body.frame())
                .await
                .unwrap_or_else(|_| panic!("no such event; saw {seen:?}"))
                .expect("the stream ended")
                .unwrap();
            if let Ok(bytes) = frame.into_data() {
                self.buffer.push_str(&String::from_utf8_lossy(&bytes));
            }
        }
    }
}

fn types(events: &[Sse]) -> Vec<String> {
    events
        .iter()
        .filter(|e| e.event == "change")
        .map(|e| e.data["type"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn changes_arrive_numbered_with_what_each_role_may_hear() {
    let app = common::app().await;
    let viewer_key = app.client("viewer").await;
    let (_, made) = common::call(
        &app.owner,
        Method::POST,
        "/v1/api-keys",
        Some(json!({"name": "v", "role": "viewer"})),
    )
    .await;
    let viewer_secret = made["secret"].as_str().unwrap().to_string();
    drop(viewer_key);
    let mut owner = Stream::open(&app, &app.owner_key, None).await;
    let mut viewer = Stream::open(&app, &viewer_secret, None).await;
    let ready = owner.until(|e| e.event == "ready").await;
    let start = ready[0].id.unwrap();
    viewer.until(|e| e.event == "ready").await;

    app.project().await;
    common::call(
        &app.owner,
        Method::POST,
        "/v1/projects/web/flags",
        Some(common::bool_flag("f")),
    )
    .await;
    common::call(
        &app.owner,
        Method::POST,
        "/v1/api-keys",
        Some(json!({"name": "ci", "role": "editor"})),
    )
    .await;
    common::call(
        &app.owner,
        Method::POST,
        "/v1/projects/web/flags/f/environments/production/toggle",
        Some(json!({"enabled": true})),
    )
    .await;

    let heard = owner.until(|e| e.data["type"] == "flag.on").await;
    let changes: Vec<&Sse> = heard.iter().filter(|e| e.event == "change").collect();
    for (i, e) in changes.iter().enumerate() {
        assert_eq!(e.id, Some(e.data["id"].as_i64().unwrap()));
        // Numbers follow each other: publish events interleave, nothing is skipped.
        assert_eq!(
            e.id.unwrap(),
            start + 1 + i64::try_from(i).unwrap(),
            "{heard:?}"
        );
    }
    let owner_types = types(&heard);
    for t in [
        "project.create",
        "environment.create",
        "flag.create",
        "api-key.create",
        "flag.on",
    ] {
        assert!(
            owner_types.iter().any(|x| x == t),
            "{t} missing from {owner_types:?}"
        );
    }
    let toggle = changes
        .iter()
        .find(|e| e.data["type"] == "flag.on")
        .unwrap();
    assert_eq!(toggle.data["resource"], "project/web/flag/f");
    assert!(toggle.data["actor"].as_str().unwrap().starts_with("key_"));
    assert!(toggle.data["auditId"].is_i64());
    let viewer_heard = viewer.until(|e| e.data["type"] == "flag.on").await;
    let viewer_types = types(&viewer_heard);
    assert!(viewer_types.contains(&"flag.create".to_string()));
    assert!(
        !viewer_types.contains(&"api-key.create".to_string()),
        "keys are for admins: {viewer_types:?}"
    );
}

#[tokio::test]
async fn a_stream_resumes_after_its_last_event_id_and_an_unknown_id_resets() {
    let app = common::app().await;
    app.project().await;
    let mut first = Stream::open(&app, &app.owner_key, None).await;
    let at = first.until(|e| e.event == "ready").await[0].id.unwrap();
    drop(first);
    for key in ["a", "b", "c"] {
        common::call(
            &app.owner,
            Method::POST,
            "/v1/projects/web/flags",
            Some(common::bool_flag(key)),
        )
        .await;
    }
    let mut resumed = Stream::open(&app, &app.owner_key, Some(at)).await;
    let missed = resumed
        .until(|e| e.data["resource"] == "project/web/flag/c")
        .await;
    let creates: Vec<&str> = missed
        .iter()
        .filter(|e| e.data["type"] == "flag.create")
        .map(|e| e.data["resource"].as_str().unwrap())
        .collect();
    assert_eq!(
        creates,
        [
            "project/web/flag/a",
            "project/web/flag/b",
            "project/web/flag/c"
        ]
    );
    assert_eq!(
        missed.iter().find(|e| e.event == "change").unwrap().id,
        Some(at + 1)
    );

    let mut future = Stream::open(&app, &app.owner_key, Some(1_000_000)).await;
    let reset = future.until(|e| e.event != "message").await;
    assert_eq!(
        reset[0].event, "reset",
        "an id this feed never gave: reload, then follow"
    );
}

#[tokio::test]
async fn streams_per_caller_are_limited_with_the_apis_429() {
    let app = common::app_with(|c| c.feed.max_streams_per_principal = 1).await;
    let _open = Stream::open(&app, &app.owner_key, None).await;
    let (status, body) = common::call(&app.owner, Method::GET, "/v1/feed", None).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(body["error"]["code"], "RATE_LIMITED");
}

/// A running admin; dropping it kills the process.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(db: &str, port: u16, out: &std::path::Path) -> Running {
    let child = Command::new(env!("CARGO_BIN_EXE_edgeflag"))
        .arg("serve")
        .env("EDGEFLAG_PUBLISH_DIR", out)
        .env("EDGEFLAG_DATABASE_URL", db)
        .env("EDGEFLAG_LISTEN", format!("127.0.0.1:{port}"))
        .env("EDGEFLAG_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Running(child)
}

async fn ready(client: &reqwest::Client, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while client.get(format!("{base}/readyz")).send().await.is_err() {
        assert!(Instant::now() < deadline, "the admin did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Reads an SSE response until `until` holds, within ten seconds.
async fn read_until(response: &mut reqwest::Response, until: impl Fn(&[Sse]) -> bool) -> Vec<Sse> {
    let (mut buffer, mut seen) = (String::new(), Vec::new());
    while !until(&seen) {
        let chunk = tokio::time::timeout(Duration::from_secs(10), response.chunk())
            .await
            .unwrap_or_else(|_| panic!("waited in vain; saw {seen:?}"))
            .unwrap()
            .expect("the stream ended");
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        seen.extend(parse(&mut buffer));
    }
    seen
}

#[tokio::test]
async fn after_an_admin_restart_a_client_resumes_without_missing_a_change() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/admin.db", dir.path().display());
    let config = edgeflag_admin::Config {
        database_url: db.clone(),
        ..Default::default()
    };
    let state = edgeflag_admin::AppState::from_config(config).await.unwrap();
    let (_, key) = edgeflag_admin_core::orgs::create_org(&state.pool, "acme", "Acme")
        .await
        .unwrap();
    state.pool.close().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let out = dir.path().join("kv");
    let client = reqwest::Client::new();
    let post = |path: &str, body: Value| {
        client
            .post(format!("{base}{path}"))
            .bearer_auth(&key)
            .json(&body)
            .send()
    };

    let admin = serve(&db, port, &out);
    ready(&client, &base).await;
    let mut stream = client
        .get(format!("{base}/v1/feed"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    post("/v1/projects", json!({"key": "web", "name": "Web"}))
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    let before = read_until(&mut stream, |s| {
        s.iter().any(|e| e.data["type"] == "project.create")
    })
    .await;
    let last = before.iter().filter_map(|e| e.id).max().unwrap();
    drop(admin); // SIGKILL: the stream breaks as a crash would break it.

    // While the admin is down nobody hears anything; changes made after it is back
    // (and those made by the CLI meanwhile) are read from the database on resume.
    let admin = serve(&db, port, &out);
    ready(&client, &base).await;
    post(
        "/v1/projects/web/environments",
        json!({"key": "production", "name": "P"}),
    )
    .await
    .unwrap()
    .error_for_status()
    .unwrap();
    post("/v1/projects/web/flags", common::bool_flag("after-restart"))
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    let mut resumed = client
        .get(format!("{base}/v1/feed"))
        .bearer_auth(&key)
        .header("last-event-id", last.to_string())
        .send()
        .await
        .unwrap();
    // Publish progress comes through the same feed: built, then delivered to the target.
    let delivered = |e: &Sse| e.data["type"] == "publish.delivered";
    let after = read_until(&mut resumed, |s| s.iter().any(delivered)).await;
    let changes: Vec<&Sse> = after.iter().filter(|e| e.event == "change").collect();
    assert_eq!(
        changes[0].id,
        Some(last + 1),
        "resumes right after the last id: {after:?}"
    );
    let ids: Vec<i64> = changes.iter().filter_map(|e| e.id).collect();
    assert!(ids.windows(2).all(|w| w[1] == w[0] + 1), "no gap: {ids:?}");
    let kinds: Vec<&str> = changes
        .iter()
        .map(|e| e.data["type"].as_str().unwrap())
        .collect();
    for kind in [
        "environment.create",
        "flag.create",
        "publish.built",
        "publish.delivered",
    ] {
        assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
    }
    let delivery = changes.iter().find(|e| delivered(e)).unwrap();
    assert_eq!(
        delivery.data["resource"],
        "project/web/environment/production/target/directory"
    );
    assert!(after.iter().all(|e| e.event != "reset"));
    drop(admin);
}
