//! Access logs: every request is logged at the default level with its method, matched
//! route, status and duration, and never with its query string or credentials.
//!
//! One test in its own binary, with a global subscriber: a subscriber scoped to one
//! thread misses the events of callsites that another test's thread registers first.

mod common;

use std::{
    io::Write,
    sync::{Arc, Mutex},
};

use axum::{
    body::Body,
    http::{Request, StatusCode},
};
use common::app;
use edgeflag_admin::access_log::DEFAULT_FILTER;
use serde_json::Value;
use tower::ServiceExt;

/// A log sink the test can read back.
#[derive(Clone, Default)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Sink {
    type Writer = Sink;
    fn make_writer(&'a self) -> Sink {
        self.clone()
    }
}

#[tokio::test]
async fn access_log_at_the_default_level_without_credentials() {
    let t = app().await;
    t.project().await;
    let sink = Sink::default();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_env_filter(tracing_subscriber::EnvFilter::new(DEFAULT_FILTER))
        .with_writer(sink.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).unwrap();
    let request = Request::get("/v1/projects/web?token=secret-in-query")
        .header("authorization", format!("Bearer {}", t.owner_key))
        .body(Body::empty())
        .unwrap();
    let response = edgeflag_admin::router(t.state.clone())
        .oneshot(request)
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
    assert!(
        !text.contains("secret-in-query"),
        "query string logged: {text}"
    );
    assert!(!text.contains(&t.owner_key), "credential logged: {text}");
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let access = lines
        .iter()
        .find(|l| l["fields"]["message"] == "request served")
        .unwrap_or_else(|| panic!("no access log line at `{DEFAULT_FILTER}`: {text}"));
    assert_eq!(access["level"], "INFO");
    assert_eq!(access["fields"]["status"], 200);
    assert!(access["fields"]["duration_ms"].as_f64().unwrap() >= 0.0);
    assert_eq!(access["span"]["method"], "GET");
    assert_eq!(access["span"]["route"], "/v1/projects/{project}");
    assert!(
        !access["span"]["request_id"].as_str().unwrap().is_empty(),
        "{access}"
    );
}
