//! Observability: every request is logged at the default level with its method,
//! matched route, status and duration, and never with its query string or
//! credentials; the latency histogram keeps statuses apart, so the metrics text is
//! valid Prometheus exposition with one series per label set.

mod common;

use std::{
    collections::{BTreeMap, BTreeSet},
    io::Write,
    sync::{Arc, Mutex},
};

use axum::{
    body::Body,
    http::{Method, Request, StatusCode},
};
use common::app;
use edgeflag_admin::access_log::DEFAULT_FILTER;
use http_body_util::BodyExt;
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
    let _guard = tracing::subscriber::set_default(subscriber);
    let request = Request::get("/v1/projects/web?token=secret-in-query")
        .header("authorization", format!("Bearer {}", t.owner_key))
        .body(Body::empty())
        .unwrap();
    let response = edgeflag_admin::router(t.state.clone())
        .oneshot(request)
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    drop(_guard);

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

/// One sample of the text format: metric name, labels, value.
type Sample = (String, BTreeMap<String, String>, f64);

/// Reads Prometheus text exposition (the subset the admin writes: no escapes in
/// label values, no timestamps).
fn parse_samples(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').unwrap();
            let (name, labels) = match series.split_once('{') {
                Some((name, rest)) => (name, rest.strip_suffix('}').unwrap()),
                None => (series, ""),
            };
            let labels = labels
                .split(',')
                .filter(|l| !l.is_empty())
                .map(|pair| {
                    let (k, v) = pair.split_once('=').unwrap();
                    (k.to_string(), v.trim_matches('"').to_string())
                })
                .collect();
            (name.to_string(), labels, value.parse().unwrap())
        })
        .collect()
}

#[tokio::test]
async fn two_statuses_on_one_route_are_two_latency_series() {
    let t = app().await;
    t.project().await;
    let (found, _) = t
        .owner
        .call(Method::GET, "/v1/projects/web", None)
        .await
        .unwrap();
    let (missing, _) = t
        .owner
        .call(Method::GET, "/v1/projects/nope", None)
        .await
        .unwrap();
    assert_eq!((found, missing), (StatusCode::OK, StatusCode::NOT_FOUND));

    let response = edgeflag_admin::router(t.state.clone())
        .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let text = String::from_utf8(
        response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap();
    let samples = parse_samples(&text);
    let mut seen = BTreeSet::new();
    for (name, labels, _) in &samples {
        assert!(
            seen.insert((name.clone(), labels.clone())),
            "duplicate series {name}{labels:?} in\n{text}"
        );
    }
    let counts: BTreeMap<String, f64> = samples
        .iter()
        .filter(|(name, labels, _)| {
            name == "edgeflag_admin_request_duration_seconds_count"
                && labels["route"] == "/v1/projects/{project}"
        })
        .map(|(_, labels, value)| (labels["status"].clone(), *value))
        .collect();
    assert_eq!(
        counts,
        BTreeMap::from([("200".to_string(), 1.0), ("404".to_string(), 1.0)]),
        "{text}"
    );
}
