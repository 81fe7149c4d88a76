//! What one request costs in the shared edge, natively, with live updates off and on:
//! the per-request work a runtime adds around it (HTTP, KV) is measured by the Worker's
//! load benchmark. With live updates on, OFREP answers and the client snapshot carry a
//! freshly minted stream URL (a SHA-256 and two HMAC-SHA256 more per request).
//! With evaluation counting on (`/usage on`), each evaluation also updates the
//! isolate's in-memory counts (sending them is the adapter's, after the response).
//! The `fresh instance` group is what the Spin app pays per request (a fresh instance
//! per request reloads the environment from the key-value store).
//! Run: `cargo bench -p edgeflag-edge --bench requests`.

use criterion::{Criterion, criterion_group, criterion_main};
use edgeflag_edge::{Edge, Request};
use serde_json::Value;

#[path = "fixture.rs"]
mod fixture;
use fixture::{CLIENT, NOW, Options, SERVER, edge_with, hundred_flags, single_request};

fn edge(live: bool, usage: bool) -> (Edge, edgeflag_edge::MemoryKv) {
    let doc: Value =
        serde_json::from_str(include_str!("../../examples/demo-snapshot.json")).unwrap_or_default();
    edge_with(
        doc,
        Options {
            live,
            usage,
            sealed: false,
        },
    )
}

fn requests(c: &mut Criterion) {
    let ofrep = |path: &str| {
        Request::new("POST", path)
            .header("authorization", &format!("Bearer {SERVER}"))
            .header("content-type", "application/json")
            .body(r#"{"context":{"targetingKey":"user-1","email":"ada@example.com"}}"#)
    };
    let cases = [
        (
            "ofrep single",
            ofrep("/ofrep/v1/evaluate/flags/new-checkout"),
        ),
        ("ofrep bulk", ofrep("/ofrep/v1/evaluate/flags")),
        (
            "client snapshot",
            Request::new("GET", &format!("/.well-known/flags/{CLIENT}")),
        ),
    ];
    for (live, usage) in [(false, false), (true, false), (false, true)] {
        let (edge, kv) = edge(live, usage);
        for (name, req) in &cases {
            let id = if usage {
                format!("{name}/usage on")
            } else {
                format!("{name}/live {}", if live { "on" } else { "off" })
            };
            c.bench_function(&id, |b| {
                b.iter(|| pollster::block_on(edge.handle(req, &kv, NOW)));
            });
        }
    }
}

/// What Spin pays: a fresh instance per request, so a fresh edge that reads, verifies
/// and loads the stored documents before it answers, or, with a seal secret, opens the
/// flag's sealed record; `/healthz` loads nothing.
fn fresh_instance(c: &mut Criterion) {
    let health = Request::new("GET", "/healthz");
    let single = single_request();
    for sealed in [false, true] {
        let options = Options {
            sealed,
            ..Options::default()
        };
        let (edge, kv) = edge_with(hundred_flags(), options);
        let config = edge.config().clone();
        let cases: &[(&str, &Request)] = if sealed {
            &[("ofrep single (sealed)", &single)]
        } else {
            &[("ofrep single", &single), ("healthz", &health)]
        };
        for (name, req) in cases {
            let answer = pollster::block_on(Edge::new(config.clone()).handle(req, &kv, NOW));
            assert_eq!(
                answer.status,
                200,
                "{}",
                String::from_utf8_lossy(&answer.body)
            );
            c.bench_function(&format!("fresh instance, 100 flags/{name}"), |b| {
                b.iter(|| pollster::block_on(Edge::new(config.clone()).handle(req, &kv, NOW)));
            });
        }
    }
}

criterion_group!(benches, requests, fresh_instance);
criterion_main!(benches);
