//! Metrics: the latency histogram keeps statuses apart, so the metrics text is valid
//! Prometheus exposition with one series per label set. (Access logs: `access_log.rs`.)

mod common;

use std::collections::{BTreeMap, BTreeSet};

use axum::{
    body::Body,
    http::{Method, Request, StatusCode},
};
use common::app;
use http_body_util::BodyExt;
use tower::ServiceExt;

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
