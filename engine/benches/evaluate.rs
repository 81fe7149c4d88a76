//! Engine benchmarks, with the same scenarios run in the same process against two
//! peers on equivalent definitions: Unleash's `unleash-yggdrasil` and LaunchDarkly's
//! `launchdarkly-server-sdk-evaluation`.
//!
//! Scenarios (issue: "the engine"):
//! - `simple`:   one boolean flag, on, no targeting;
//! - `rules5x3`: five rules of three conditions each, none of which matches (the first
//!   two conditions of every rule match, the third does not), then a 50/50 rollout;
//! - `all100`:   evaluate every one of 100 flags (one rule of two conditions + rollout);
//! - `load`:     parse and compile 1,000 and 10,000 such flags;
//! - `matches`, `matches-worst`: a regular expression, and the slowest ones the limits
//!   let through (Edgeflag alone);
//! - `hashed`:   the client snapshot's hashed values (schemaVersion 2) against the same
//!   values in plain text, Edgeflag only: a flag with 1,000 individual targets and an
//!   `in` list of 1,000 emails, none of which the context matches (the costliest case:
//!   both lookups are made).
//!
//! Run: `cargo bench -p edgeflag-engine --bench evaluate`. Results: BENCHMARKS.md.

use std::{collections::HashMap, hint::black_box, time::Duration};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use edgeflag_engine::{Context, Snapshot};
use launchdarkly_server_sdk_evaluation as ld;
use serde_json::{Value, json};
use unleash_yggdrasil as ygg;

const NOW: i64 = 1_795_608_000_000;

// ---------------------------------------------------------------------------
// Definitions. Each scenario is written once per system, by the same recipe.
// ---------------------------------------------------------------------------

/// The conditions of rule `i` of the five-rule flag: country and email match the
/// benchmark context, the plan never does.
fn rule_conditions(i: usize) -> [(&'static str, &'static str, Vec<String>); 3] {
    [
        ("country", "in", vec!["DE".into(), "AT".into(), "CH".into()]),
        ("email", "endsWith", vec!["@example.com".into()]),
        ("plan", "in", vec![format!("enterprise-{i}")]),
    ]
}

fn edgeflag_flag(key: &str, rules: usize) -> Value {
    let rules: Vec<Value> = (0..rules)
        .map(|i| {
            let conditions: Vec<Value> = rule_conditions(i)
                .into_iter()
                .map(|(a, op, v)| json!({"attribute": a, "op": op, "values": v}))
                .collect();
            json!({"id": format!("r{i}"), "conditions": conditions, "serve": {"variation": "on"}})
        })
        .collect();
    json!({
        "key": key, "version": 1, "type": "boolean", "enabled": true,
        "variations": [{"key": "on", "value": true}, {"key": "off", "value": false}],
        "offVariation": "off", "rules": rules,
        "defaultRule": {"rollout": {"variations": [
            {"variation": "on", "weight": 50000}, {"variation": "off", "weight": 50000}]}}
    })
}

fn edgeflag_simple() -> Value {
    json!({"key": "simple", "version": 1, "type": "boolean", "enabled": true,
           "variations": [{"key": "on", "value": true}, {"key": "off", "value": false}],
           "offVariation": "off", "defaultRule": {"variation": "on"}})
}

fn edgeflag_snapshot(flags: Vec<Value>) -> Vec<u8> {
    serde_json::to_vec(
        &json!({"schemaVersion": 1, "environment": "bench", "version": 1,
        "generatedAt": "2026-11-25T12:00:00Z", "flags": flags}),
    )
    .unwrap()
}

fn ld_flag(key: &str, rules: usize) -> Value {
    let rules: Vec<Value> = (0..rules)
        .map(|i| {
            let clauses: Vec<Value> = rule_conditions(i)
                .into_iter()
                .map(|(a, op, v)| json!({"attribute": a, "op": op, "values": v, "negate": false}))
                .collect();
            json!({"id": format!("r{i}"), "clauses": clauses, "variation": 0, "trackEvents": false})
        })
        .collect();
    json!({
        "key": key, "version": 1, "on": true, "targets": [], "prerequisites": [], "rules": rules,
        "fallthrough": {"rollout": {"variations": [{"variation": 0, "weight": 50000}, {"variation": 1, "weight": 50000}]}},
        "offVariation": 1, "variations": [true, false], "salt": key, "clientSide": false, "deleted": false,
        "trackEvents": false, "trackEventsFallthrough": false, "debugEventsUntilDate": null
    })
}

fn ld_simple() -> Value {
    json!({"key": "simple", "version": 1, "on": true, "targets": [], "prerequisites": [], "rules": [],
           "fallthrough": {"variation": 0}, "offVariation": 1, "variations": [true, false],
           "salt": "simple", "clientSide": false, "deleted": false})
}

fn ygg_op(op: &str) -> &'static str {
    match op {
        "in" => "IN",
        "endsWith" => "STR_ENDS_WITH",
        other => panic!("no Unleash operator for {other}"),
    }
}

fn ygg_feature(name: &str, rules: usize) -> Value {
    let mut strategies: Vec<Value> = (0..rules)
        .map(|i| {
            let constraints: Vec<Value> = rule_conditions(i)
                .into_iter()
                .map(|(a, op, v)| {
                    json!({"contextName": a, "operator": ygg_op(op), "values": v,
                                         "caseInsensitive": false, "inverted": false})
                })
                .collect();
            json!({"name": "flexibleRollout", "constraints": constraints,
                   "parameters": {"rollout": "100", "stickiness": "default", "groupId": name}})
        })
        .collect();
    strategies.push(json!({"name": "flexibleRollout", "constraints": [],
        "parameters": {"rollout": "50", "stickiness": "default", "groupId": name}}));
    json!({"name": name, "type": "release", "enabled": true, "strategies": strategies})
}

fn ygg_simple() -> Value {
    json!({"name": "simple", "type": "release", "enabled": true,
           "strategies": [{"name": "default", "parameters": {}}]})
}

fn ygg_engine(features: Vec<Value>) -> ygg::EngineState {
    let engine = ygg::EngineState::default();
    let state: ygg::ClientFeatures =
        serde_json::from_value(json!({"version": 2, "features": features})).unwrap();
    engine.take_state(ygg::UpdateMessage::FullResponse(state));
    engine
}

struct LdStore(HashMap<String, ld::Flag>);

impl ld::Store for LdStore {
    fn flag(&self, key: &str) -> Option<ld::Flag> {
        self.0.get(key).cloned()
    }
    fn segment(&self, _key: &str) -> Option<ld::Segment> {
        None
    }
}

fn ld_store(flags: Vec<Value>) -> LdStore {
    LdStore(
        flags
            .into_iter()
            .map(|f| {
                let flag: ld::Flag = serde_json::from_value(f).unwrap();
                (flag.key.clone(), flag)
            })
            .collect(),
    )
}

// ---------------------------------------------------------------------------
// Contexts: the same user for every system.
// ---------------------------------------------------------------------------

fn edgeflag_context() -> Context {
    Context::from_value(json!({"targetingKey": "user-42", "country": "DE",
        "email": "ada@example.com", "plan": "free"}))
    .unwrap()
}

fn ld_context() -> ld::Context {
    ld::ContextBuilder::new("user-42")
        .set_string("country", "DE")
        .set_string("email", "ada@example.com")
        .set_string("plan", "free")
        .build()
        .unwrap()
}

fn ygg_context() -> ygg::Context {
    let properties = [
        ("country", "DE"),
        ("email", "ada@example.com"),
        ("plan", "free"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    ygg::Context {
        user_id: Some("user-42".into()),
        properties: Some(properties),
        ..Default::default()
    }
}

// ---------------------------------------------------------------------------
// Benchmarks.
// ---------------------------------------------------------------------------

fn single_flag(c: &mut Criterion, name: &str, ours: Value, theirs_ld: Value, theirs_ygg: Value) {
    let snapshot = Snapshot::load(&edgeflag_snapshot(vec![ours]))
        .unwrap()
        .snapshot;
    let key = snapshot.flags().next().unwrap().key.to_string();
    let ctx = edgeflag_context();
    let store = ld_store(vec![theirs_ld]);
    let ld_flag = store.0.values().next().unwrap().clone();
    let ld_ctx = ld_context();
    let engine = ygg_engine(vec![theirs_ygg]);
    let ygg_ctx = ygg_context();

    // Equivalence check before timing: all three agree on the answer.
    let ours_value = snapshot
        .evaluate(&key, &ctx, NOW)
        .value
        .and_then(Value::as_bool);
    let ld_value = ld::evaluate(&store, &ld_flag, &ld_ctx, None)
        .value
        .map(|v| v.as_bool());
    let ygg_value = engine.is_enabled(&key, &ygg_ctx, &None);
    assert!(
        ours_value.is_some() && ld_value.flatten().is_some(),
        "{name}: no value"
    );
    println!("{name}: edgeflag={ours_value:?} launchdarkly={ld_value:?} yggdrasil={ygg_value}");

    let mut group = c.benchmark_group(name);
    group.bench_function("edgeflag", |b| {
        b.iter(|| black_box(snapshot.evaluate(black_box(&key), black_box(&ctx), NOW)))
    });
    group.bench_function("launchdarkly", |b| {
        b.iter(|| {
            black_box(ld::evaluate(
                &store,
                black_box(&ld_flag),
                black_box(&ld_ctx),
                None,
            ))
        })
    });
    group.bench_function("yggdrasil", |b| {
        b.iter(|| black_box(engine.is_enabled(black_box(&key), black_box(&ygg_ctx), &None)))
    });
    group.finish();
}

fn simple(c: &mut Criterion) {
    single_flag(c, "simple", edgeflag_simple(), ld_simple(), ygg_simple());
}

fn rules(c: &mut Criterion) {
    single_flag(
        c,
        "rules5x3",
        edgeflag_flag("rules", 5),
        ld_flag("rules", 5),
        ygg_feature("rules", 5),
    );
}

/// A flag of the evaluate-all and load sets: one rule (two conditions) and a rollout.
fn small(i: usize) -> (Value, Value, Value) {
    let key = format!("flag-{i:05}");
    let mut ours = edgeflag_flag(&key, 1);
    let mut ld = ld_flag(&key, 1);
    let mut ygg = ygg_feature(&key, 1);
    // Keep the two matching conditions only.
    for rule in [
        &mut ours["rules"][0]["conditions"],
        &mut ld["rules"][0]["clauses"],
        &mut ygg["strategies"][0]["constraints"],
    ] {
        rule.as_array_mut().unwrap().truncate(2);
    }
    (ours, ld, ygg)
}

fn all100(c: &mut Criterion) {
    let (ours, lds, yggs): (Vec<_>, Vec<_>, Vec<_>) = (0..100).map(small).fold(
        (Vec::new(), Vec::new(), Vec::new()),
        |(mut a, mut b, mut c), (x, y, z)| {
            a.push(x);
            b.push(y);
            c.push(z);
            (a, b, c)
        },
    );
    let snapshot = Snapshot::load(&edgeflag_snapshot(ours)).unwrap().snapshot;
    let ctx = edgeflag_context();
    let store = ld_store(lds);
    let ld_ctx = ld_context();
    let engine = ygg_engine(yggs);
    let ygg_ctx = ygg_context();
    assert_eq!(snapshot.evaluate_all(&ctx, NOW).len(), 100);
    assert_eq!(
        engine.resolve_all(&ygg_ctx, &None).map(|m| m.len()),
        Some(100)
    );

    let mut group = c.benchmark_group("all100");
    group.bench_function("edgeflag", |b| {
        b.iter(|| black_box(snapshot.evaluate_all(black_box(&ctx), NOW)))
    });
    group.bench_function("launchdarkly", |b| {
        b.iter(|| {
            let out: Vec<_> = store
                .0
                .values()
                .map(|flag| ld::evaluate(&store, flag, &ld_ctx, None))
                .collect();
            black_box(out)
        })
    });
    group.bench_function("yggdrasil", |b| {
        b.iter(|| black_box(engine.resolve_all(black_box(&ygg_ctx), &None)))
    });
    group.finish();
}

fn load(c: &mut Criterion) {
    let mut group = c.benchmark_group("load");
    group.sample_size(20);
    for count in [1_000usize, 10_000] {
        let (ours, lds, yggs): (Vec<_>, Vec<_>, Vec<_>) = (0..count).map(small).fold(
            (Vec::new(), Vec::new(), Vec::new()),
            |(mut a, mut b, mut c), (x, y, z)| {
                a.push(x);
                b.push(y);
                c.push(z);
                (a, b, c)
            },
        );
        let ours = edgeflag_snapshot(ours);
        let ld_bytes = serde_json::to_vec(&lds).unwrap();
        let ygg_bytes = serde_json::to_vec(&json!({"version": 2, "features": yggs})).unwrap();
        group.bench_with_input(BenchmarkId::new("edgeflag", count), &ours, |b, bytes| {
            b.iter(|| black_box(Snapshot::load(bytes).unwrap()))
        });
        group.bench_with_input(
            BenchmarkId::new("launchdarkly", count),
            &ld_bytes,
            |b, bytes| {
                b.iter(|| {
                    let flags: Vec<ld::Flag> = serde_json::from_slice(bytes).unwrap();
                    black_box(
                        flags
                            .into_iter()
                            .map(|f| (f.key.clone(), f))
                            .collect::<HashMap<_, _>>(),
                    )
                })
            },
        );
        group.bench_with_input(
            BenchmarkId::new("yggdrasil", count),
            &ygg_bytes,
            |b, bytes| {
                b.iter(|| {
                    let state: ygg::ClientFeatures = serde_json::from_slice(bytes).unwrap();
                    let engine = ygg::EngineState::default();
                    black_box(engine.take_state(ygg::UpdateMessage::FullResponse(state)))
                })
            },
        );
    }
    group.finish();
}

/// A flag with one regular-expression condition on the email, against LaunchDarkly
/// (which uses the `regex` crate); Unleash has no regular-expression operator.
fn matches(c: &mut Criterion) {
    const PATTERN: &str = "^[a-z0-9._%+-]+@(example|example-corp)\\.(com|org)$";
    let ours = json!({
        "key": "matches", "version": 1, "type": "boolean", "enabled": true,
        "variations": [{"key": "on", "value": true}, {"key": "off", "value": false}],
        "offVariation": "off", "defaultRule": {"variation": "off"},
        "rules": [{"id": "r", "conditions": [{"attribute": "email", "op": "matches", "values": [PATTERN]}],
                   "serve": {"variation": "on"}}]
    });
    let theirs = json!({
        "key": "matches", "version": 1, "on": true, "targets": [], "prerequisites": [],
        "rules": [{"id": "r", "clauses": [{"attribute": "email", "op": "matches", "values": [PATTERN], "negate": false}],
                   "variation": 0, "trackEvents": false}],
        "fallthrough": {"variation": 1}, "offVariation": 1, "variations": [true, false],
        "salt": "matches", "clientSide": false, "deleted": false
    });
    let snapshot = Snapshot::load(&edgeflag_snapshot(vec![ours]))
        .unwrap()
        .snapshot;
    let ctx = edgeflag_context();
    let store = ld_store(vec![theirs]);
    let ld_flag = store.0.values().next().unwrap().clone();
    let ld_ctx = ld_context();
    let ours_value = snapshot.evaluate("matches", &ctx, NOW).value.cloned();
    let ld_value = ld::evaluate(&store, &ld_flag, &ld_ctx, None)
        .value
        .map(|v| v.as_bool());
    assert_eq!(
        ours_value,
        Some(json!(true)),
        "edgeflag: the pattern should match"
    );
    assert_eq!(
        ld_value,
        Some(Some(true)),
        "launchdarkly: the pattern should match"
    );

    let mut group = c.benchmark_group("matches");
    group.bench_function("edgeflag", |b| {
        b.iter(|| black_box(snapshot.evaluate(black_box("matches"), black_box(&ctx), NOW)))
    });
    group.bench_function("launchdarkly", |b| {
        b.iter(|| {
            black_box(ld::evaluate(
                &store,
                black_box(&ld_flag),
                black_box(&ld_ctx),
                None,
            ))
        })
    });
    group.finish();
}

/// The slowest regular-expression tests the limits allow (`docs/snapshot-format.md`,
/// Regular expressions): patterns within the size limit whose work (size + 16, times
/// the attribute's bytes + 1) is at the limit of 131,072, on the inputs that keep every
/// thread alive; and the largest attribute the edge accepts (its 64 KiB body limit)
/// against a pattern of the largest size, which the work limit leaves untested.
fn matches_worst(c: &mut Criterion) {
    let cases: [(&str, &str, &str, usize); 5] = [
        // The Pike VM, with every instruction live on every character.
        ("vm", "(?:.?.?.?.?){63}!", "a", 250),
        ("nullable", "(?:(?:a?)?){170}!", "a", 247),
        // The bit-set matcher, its ASCII automaton too large to build.
        ("closures", "(?:a|b)*a(?:a|b){120}!", "ab", 258),
        // Many large classes, searched for characters outside ASCII.
        ("classes", "[\\w!][\\w#][\\w%][\\w&][\\w*]!", "é", 5_956),
        // The review's shape at the size limit, on a 64 KiB attribute: not tested.
        ("largest-64KiB", "(?:.{0,255})!", "a", 65_000),
    ];
    let flags = cases
        .iter()
        .map(|(name, pattern, _, _)| {
            json!({
                "key": name, "version": 1, "type": "boolean", "enabled": true,
                "variations": [{"key": "on", "value": true}, {"key": "off", "value": false}],
                "offVariation": "off", "defaultRule": {"variation": "off"},
                "rules": [{"id": "r", "conditions": [{"attribute": "s", "op": "matches", "values": [pattern]}],
                           "serve": {"variation": "on"}}]
            })
        })
        .collect();
    let loaded = Snapshot::load(&edgeflag_snapshot(flags)).unwrap();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let mut group = c.benchmark_group("matches-worst");
    for (name, _, unit, bytes) in cases {
        let text = unit.repeat(bytes / unit.len());
        let ctx = Context::from_value(json!({"targetingKey": "u", "s": text})).unwrap();
        let detail = loaded.snapshot.evaluate(name, &ctx, NOW);
        assert_eq!(
            detail.value,
            Some(&json!(false)),
            "{name}: no match, no error"
        );
        group.bench_function(name, |b| {
            b.iter(|| {
                black_box(
                    loaded
                        .snapshot
                        .evaluate(black_box(name), black_box(&ctx), NOW),
                )
            })
        });
    }
    group.finish();
}

/// The `hashed` scenario's flag, with its targets and `in` list plain or hashed.
fn targets_and_list(hashed: bool) -> Vec<u8> {
    let salt = "bench-salt";
    let (field, form): (&str, &dyn Fn(String) -> String) = if hashed {
        ("hashes", &|v: String| {
            edgeflag_engine::hashed::hash(salt, &v, false)
        })
    } else {
        ("values", &|v: String| v)
    };
    let targets: Vec<String> = (0..1000).map(|i| form(format!("user-{i}-x"))).collect();
    let emails: Vec<String> = (0..1000)
        .map(|i| form(format!("u{i}@example.org")))
        .collect();
    let flag = json!({
        "key": "f", "type": "boolean", "enabled": true, "offVariation": "off", "clientVisible": true,
        "variations": [{"key": "on", "value": true}, {"key": "off", "value": false}],
        "targets": [{"variation": "on", field: targets}],
        "rules": [{"conditions": [{"attribute": "email", "op": "in", field: emails}],
                   "serve": {"variation": "on"}}],
        "defaultRule": {"variation": "off"}
    });
    let doc = json!({"schemaVersion": 2, "audience": "client", "hashSalt": salt,
        "environment": "bench", "version": 1, "generatedAt": "2026-11-25T12:00:00Z",
        "flags": [flag]});
    serde_json::to_vec(&doc).unwrap()
}

fn hashed(c: &mut Criterion) {
    let ctx = edgeflag_context();
    let mut group = c.benchmark_group("hashed");
    for (name, hashed) in [("plain", false), ("hashed", true)] {
        let snapshot = Snapshot::load(&targets_and_list(hashed)).unwrap().snapshot;
        assert_eq!(snapshot.evaluate("f", &ctx, NOW).variant, Some("off"));
        group.bench_function(name, |b| {
            b.iter(|| snapshot.evaluate(black_box("f"), &ctx, NOW))
        });
    }
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! {
    name = benches;
    config = config();
    targets = simple, rules, all100, load, matches, matches_worst, hashed
}
criterion_main!(benches);
