//! The client's per-call overhead over calling the engine directly, on the same
//! snapshot, context and flag: the snapshot load (one atomic read) and the clock the
//! client reads on every call. The direct calls read the same clock, since a host
//! calling the engine must pass the time too. Times are the benchmark thread's CPU time
//! (`iter_custom` with `cpu_time::ThreadTime`), so time spent descheduled on a shared
//! machine does not count. Run:
//!
//! ```sh
//! cargo bench -p edgeflag --bench overhead
//! ```

use std::{
    hint::black_box,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use cpu_time::ThreadTime;
use criterion::{Criterion, criterion_group, criterion_main};
use edgeflag::{Client, Context, Evaluation, ValueType};
use edgeflag_engine::{
    Snapshot,
    envelope::{KeySet, SigningKey},
};
use serde_json::Value;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn setup() -> (Client, Snapshot) {
    let demo = include_bytes!("../../../examples/demo-snapshot.json");
    let doc: Value = serde_json::from_slice(demo).unwrap();
    let publisher = SigningKey::from_seed("bench", [5; 32]);
    let token = publisher.sign(
        demo,
        doc["environment"].as_str(),
        doc["version"].as_u64(),
        Some("server"),
    );
    let jwks =
        serde_json::to_string(&KeySet::new(vec![publisher.verifying_key()]).to_jwks()).unwrap();
    let client = Client::builder()
        .jwks(jwks)
        .bootstrap(token)
        .build_blocking()
        .unwrap();
    let snapshot = Snapshot::load(demo).unwrap().snapshot;
    (client, snapshot)
}

/// `iters` calls of `f`, timed in the thread's CPU time.
fn cpu<R>(iters: u64, mut f: impl FnMut() -> R) -> Duration {
    let started = ThreadTime::now();
    for _ in 0..iters {
        black_box(f());
    }
    started.elapsed()
}

fn overhead(c: &mut Criterion) {
    let (client, snapshot) = setup();
    let ctx =
        Context::from_json(br#"{"targetingKey":"user-2","email":"ada@example.com"}"#).unwrap();
    let flag = "new-checkout";
    assert!(client.bool_value(flag, &ctx, false));
    let mut group = c.benchmark_group("bool value");
    // The same call on the very snapshot the client holds: only the client's own work
    // (one atomic load of the snapshot, the clock) separates it from `client`.
    let held = client.snapshot();
    group.bench_function("engine directly, the client's snapshot", |b| {
        b.iter_custom(|iters| {
            cpu(iters, || {
                held.evaluate_as(
                    black_box(flag),
                    ValueType::Boolean,
                    black_box(&ctx),
                    now_ms(),
                )
                .value
                .and_then(Value::as_bool)
                .unwrap_or(false)
            })
        });
    });
    group.bench_function("client", |b| {
        b.iter_custom(|iters| {
            cpu(iters, || {
                client.bool_value(black_box(flag), black_box(&ctx), false)
            })
        });
    });
    // The same on a snapshot this thread loaded itself (the client's was loaded on its
    // refresh thread): the two baselines agree.
    group.bench_function("engine directly, a snapshot loaded in this thread", |b| {
        b.iter_custom(|iters| {
            cpu(iters, || {
                snapshot
                    .evaluate_as(
                        black_box(flag),
                        ValueType::Boolean,
                        black_box(&ctx),
                        now_ms(),
                    )
                    .value
                    .and_then(Value::as_bool)
                    .unwrap_or(false)
            })
        });
    });
    group.finish();
    let mut group = c.benchmark_group("details");
    group.bench_function("client", |b| {
        b.iter_custom(|iters| {
            cpu(iters, || {
                client.bool_details(black_box(flag), black_box(&ctx), false)
            })
        });
    });
    group.bench_function("engine directly, the client's snapshot, copied out", |b| {
        b.iter_custom(|iters| {
            cpu(iters, || {
                let detail = held.evaluate_as(
                    black_box(flag),
                    ValueType::Boolean,
                    black_box(&ctx),
                    now_ms(),
                );
                Evaluation::from_detail(flag, &detail)
            })
        });
    });
    group.finish();
    drop(held);
    let mut group = c.benchmark_group("clock");
    group.bench_function("SystemTime::now", |b| {
        b.iter_custom(|iters| cpu(iters, now_ms))
    });
    group.finish();
}

criterion_group!(benches, overhead);
criterion_main!(benches);
