//! The Rust client against the real thing: the admin binary publishing to the built
//! Worker on local workerd (`sdk/testing/stack.mjs`, started as the end-to-end suite
//! starts them). An edit in the admin reaches the client's background refresh; a
//! signing-key rotation is followed through the edge's JWKS; a snapshot tampered with in
//! flight is refused and the last good one keeps serving.
//!
//! Needs the built Worker (`cargo xtask build-worker`), the admin binary and the Worker
//! package's node; `cargo xtask test sdks` provides all three.

use std::{
    io::{BufRead, BufReader},
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use edgeflag::{Client, Context, Event, Reason};
use serde_json::{Value, json};
use tokio::sync::broadcast;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn required(path: PathBuf, what: &str) -> PathBuf {
    assert!(
        path.exists(),
        "{what} is missing at {}: run this test through `cargo xtask test sdks`",
        path.display()
    );
    path
}

/// The admin and the Worker behind the tampering proxy, and what `stack.mjs` printed.
struct Stack {
    info: Value,
    child: Child,
}

/// Closing the stack's standard input stops it: it stops the admin and Miniflare (and
/// with it workerd) itself, which a kill would leave running. Runs on a panic too.
impl Drop for Stack {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Stack {
    /// Starts the stack and waits (blocking) for its first line.
    fn start() -> Self {
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map_or_else(|| root().join("target"), PathBuf::from);
        let admin = std::env::var_os("EDGEFLAG_ADMIN_BIN")
            .map_or_else(|| target.join("debug/edgeflag"), PathBuf::from);
        let node = std::env::var_os("EDGEFLAG_NODE").map_or_else(
            || root().join("edge-worker/node_modules/.bin/node"),
            PathBuf::from,
        );
        required(
            root().join("edge-worker/build/worker/shim.mjs"),
            "the built Worker",
        );
        let mut child = Command::new(required(node, "node 22 (edge-worker's npm install)"))
            .arg(root().join("sdk/testing/stack.mjs"))
            .env("EDGEFLAG_ADMIN_BIN", required(admin, "the admin binary"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start sdk/testing/stack.mjs");
        let stdout = child.stdout.take().expect("stack stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the stack's output");
        let info = serde_json::from_str(&line).unwrap_or_else(|_| {
            panic!("the stack exited before it was ready (its error is above): {line:?}")
        });
        Self { info, child }
    }

    fn get(&self, field: &str) -> String {
        self.info[field].as_str().unwrap_or_default().to_string()
    }

    async fn admin(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let url = format!("{}{path}", self.get("admin"));
        let res = reqwest::Client::new()
            .request(method, &url)
            .bearer_auth(self.get("token"))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        let status = res.status();
        let body: Value =
            serde_json::from_slice(&res.bytes().await.unwrap()).unwrap_or(Value::Null);
        assert!(status.is_success(), "{url} answered {status}: {body}");
        body
    }

    async fn target(&self, default_variation: &str) {
        let path = format!(
            "/v1/projects/{}/flags/{}/environments/{}",
            self.get("project"),
            self.get("flag"),
            self.get("environment")
        );
        let rules = json!([{"id": "staff", "conditions": [{"attribute": "email", "op": "endsWith", "values": ["@example.com"]}], "serve": {"variation": "on"}}]);
        let body = json!({"enabled": true, "offVariation": "off", "rules": rules, "defaultRule": {"variation": default_variation}});
        self.admin(reqwest::Method::PUT, &path, body).await;
    }

    async fn tamper(&self, on: bool) {
        let res = reqwest::Client::new()
            .post(format!("{}/__tamper", self.get("edge")))
            .body(if on { "on" } else { "off" })
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success());
    }

    async fn edge_kids(&self) -> Vec<String> {
        let res = reqwest::get(format!("{}/.well-known/jwks.json", self.get("edge")))
            .await
            .unwrap();
        let jwks: Value = serde_json::from_slice(&res.bytes().await.unwrap()).unwrap();
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_string())
            .collect()
    }
}

/// Waits for the first event `wanted` accepts, for up to 20 s.
async fn next_event(
    events: &mut broadcast::Receiver<Event>,
    wanted: impl Fn(&Event) -> bool,
) -> Event {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, events.recv()).await {
            Ok(Ok(event)) if wanted(&event) => return event,
            Ok(Ok(_) | Err(broadcast::error::RecvError::Lagged(_))) => {}
            Ok(Err(e)) => panic!("event channel closed: {e}"),
            Err(_) => panic!("no such event within 20 s"),
        }
    }
}

fn changed(flag: &str) -> impl Fn(&Event) -> bool + '_ {
    move |event| matches!(event, Event::Changed(c) if c.flags.iter().any(|f| f == flag))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follows_the_admin_through_the_worker_and_refuses_tampering() {
    let stack = tokio::task::spawn_blocking(Stack::start).await.unwrap();
    let flag = stack.get("flag");
    let client = Client::builder()
        .url(stack.get("edge"))
        .server_key(stack.get("serverKey"))
        .environment(stack.get("edgeEnvironment"))
        .refresh_interval(Duration::from_millis(100))
        .build()
        .await
        .expect("a client against the Worker");
    let staff =
        Context::from_json(br#"{"targetingKey":"user-1","email":"ada@example.com"}"#).unwrap();
    let visitor =
        Context::from_json(br#"{"targetingKey":"user-2","email":"bob@example.org"}"#).unwrap();
    let details = client.bool_details(&flag, &staff, false);
    assert_eq!(
        (details.value, details.reason, details.rule_id.as_deref()),
        (true, Reason::TargetingMatch, Some("staff"))
    );
    assert!(!client.bool_value(&flag, &visitor, true));
    let mut events = client.subscribe();

    // A second client that never polls: only the Worker's event stream can tell it.
    let live = Client::builder()
        .url(stack.get("edge"))
        .server_key(stack.get("serverKey"))
        .environment(stack.get("edgeEnvironment"))
        .refresh_interval(Duration::ZERO)
        .build()
        .await
        .expect("a streaming client against the Worker");
    let mut live_events = live.subscribe();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !live.is_streaming() {
        assert!(
            Instant::now() < deadline,
            "the stream did not open within 20 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // An edit in the admin reaches the client through the background refresh.
    let before = client.version();
    stack.target("on").await;
    let Event::Changed(change) = next_event(&mut events, changed(&flag)).await else {
        unreachable!()
    };
    assert!(
        change.version > before && change.previous_version == before,
        "{change:?}"
    );
    assert!(client.bool_value(&flag, &visitor, false));
    // … and the streaming client through the event the Worker sent.
    let Event::Changed(streamed) = next_event(&mut live_events, changed(&flag)).await else {
        unreachable!()
    };
    assert_eq!(streamed.version, change.version);
    assert!(live.bool_value(&flag, &visitor, false));
    live.close();

    // The signing key rotates: the next snapshot names a key the client has not seen;
    // it fetches the edge's JWKS again and accepts it.
    let kids_before = stack.edge_kids().await;
    let rotated = stack
        .admin(reqwest::Method::POST, "/v1/signing-keys/rotate", json!({}))
        .await;
    let new_kid = rotated["kid"].as_str().unwrap().to_string();
    assert!(!kids_before.contains(&new_kid));
    stack.target("off").await;
    next_event(&mut events, changed(&flag)).await;
    assert!(!client.bool_value(&flag, &visitor, true));
    assert!(stack.edge_kids().await.contains(&new_kid));

    // A snapshot changed in flight does not verify: refused, reported, and the last
    // good snapshot keeps serving.
    stack.tamper(true).await;
    let held = client.version();
    stack.target("on").await;
    let refused = next_event(&mut events, |e| matches!(e, Event::RefreshFailed(_))).await;
    let Event::RefreshFailed(error) = refused else {
        unreachable!()
    };
    assert_eq!(error.code(), "BAD_SIGNATURE", "{error}");
    assert_eq!(client.version(), held);
    assert!(
        !client.bool_value(&flag, &visitor, true),
        "still the last good snapshot"
    );
    stack.tamper(false).await;
    next_event(&mut events, changed(&flag)).await;
    assert!(client.bool_value(&flag, &visitor, false));
    client.close();
}
