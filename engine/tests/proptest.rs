//! Property tests: whatever a snapshot or a context holds, loading and evaluating
//! never panic, answers are deterministic, errors carry no value, and rollouts
//! split traffic as their weights say.

use edgeflag_engine::{Context, OPERATORS, Reason, Snapshot, rollout};
use proptest::prelude::*;
use serde_json::{Value, json};

/// Any JSON value, a few levels deep.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        (-1e12f64..1e12).prop_map(|n| json!(n)),
        "[a-zA-Z0-9@./:_ -]{0,12}".prop_map(Value::String),
        Just(json!("1.2.3")),
        Just(json!("2026-11-25T12:00:00Z")),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z]{1,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn attribute() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("targetingKey".to_string()),
        Just("$now".to_string()),
        "[a-z]{1,6}",
        "/[a-z]{1,4}/[a-z0-9]{1,3}",
        Just(String::new()),
    ]
}

fn operator() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(OPERATORS).prop_map(str::to_string),
        "[a-zA-Z]{1,10}",
    ]
}

fn condition() -> impl Strategy<Value = Value> {
    (attribute(), operator(), prop::collection::vec(any_json(), 0..4), any::<bool>(), any::<bool>())
        .prop_map(|(a, op, values, ci, negate)| {
            json!({"attribute": a, "op": op, "values": values, "caseInsensitive": ci, "negate": negate})
        })
}

fn variation_key() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["a", "b", "c", "zz"]).prop_map(str::to_string)
}

fn serve() -> impl Strategy<Value = Value> {
    prop_oneof![
        variation_key().prop_map(|v| json!({"variation": v})),
        (
            prop::collection::vec((variation_key(), 0u32..60_000), 1..4),
            attribute()
        )
            .prop_map(|(weights, by)| {
                let variations: Vec<Value> = weights
                    .iter()
                    .map(|(v, w)| json!({"variation": v, "weight": w}))
                    .collect();
                json!({"rollout": {"bucketBy": by, "variations": variations}})
            }),
        Just(json!({})),
    ]
}

fn flag(key: String, others: Vec<String>) -> impl Strategy<Value = Value> {
    (
        prop::sample::select(vec!["boolean", "string", "number", "object", "other"]),
        any::<bool>(),
        prop::collection::vec((prop::collection::vec(condition(), 0..4), serve()), 0..4),
        serve(),
        prop::collection::vec((prop::sample::select(others), variation_key()), 0..3),
        prop::collection::vec("[a-z0-9-]{1,8}", 0..4),
    )
        .prop_map(move |(ty, enabled, rules, default, prereqs, targets)| {
            let value = |i: usize| match ty {
                "boolean" => json!(i.is_multiple_of(2)),
                "number" => json!(i),
                "object" => json!({"i": i}),
                _ => json!(format!("v{i}")),
            };
            let rules: Vec<Value> = rules
                .into_iter()
                .map(|(conditions, serve)| json!({"conditions": conditions, "serve": serve}))
                .collect();
            let prerequisites: Vec<Value> =
                prereqs.into_iter().map(|(f, v)| json!({"flag": f, "variation": v})).collect();
            json!({
                "key": key, "version": 1, "type": ty, "enabled": enabled,
                "variations": [{"key": "a", "value": value(0)}, {"key": "b", "value": value(1)}, {"key": "c", "value": value(2)}],
                "offVariation": "b", "targets": [{"variation": "a", "values": targets}],
                "rules": rules, "defaultRule": default, "prerequisites": prerequisites,
                "segments": []
            })
        })
}

fn snapshot() -> impl Strategy<Value = Value> {
    let keys: Vec<String> = (0..5).map(|i| format!("f{i}")).collect();
    let flags: Vec<_> = keys.iter().map(|k| flag(k.clone(), keys.clone())).collect();
    let segment_rules = prop::collection::vec(prop::collection::vec(condition(), 0..3), 0..3);
    (flags, segment_rules).prop_map(|(flags, rules)| {
        let rules: Vec<Value> = rules
            .into_iter()
            .map(|c| json!({"conditions": c}))
            .collect();
        json!({"schemaVersion": 1, "environment": "p", "version": 1,
               "generatedAt": "2026-11-25T12:00:00Z", "flags": flags,
               "segments": [{"key": "s", "included": ["u1"], "excluded": ["u2"], "rules": rules}]})
    })
}

fn context() -> impl Strategy<Value = Value> {
    (
        prop::option::of("[a-z0-9-]{0,8}"),
        prop::collection::btree_map("[a-z]{1,6}", any_json(), 0..5),
    )
        .prop_map(|(key, attrs)| {
            let mut map: serde_json::Map<String, Value> = attrs.into_iter().collect();
            if let Some(key) = key {
                map.insert("targetingKey".into(), Value::String(key));
            }
            Value::Object(map)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = Snapshot::load(&bytes);
        let _ = Context::from_json(&bytes);
    }

    #[test]
    fn arbitrary_json_never_panics(doc in any_json()) {
        let bytes = serde_json::to_vec(&doc).unwrap();
        let _ = Snapshot::load(&bytes);
    }

    #[test]
    fn evaluation_is_total_and_deterministic(doc in snapshot(), ctx in context(), now in any::<i64>()) {
        let bytes = serde_json::to_vec(&doc).unwrap();
        let loaded = Snapshot::load(&bytes).unwrap();
        let ctx = Context::from_value(ctx).unwrap();
        let first = loaded.snapshot.evaluate_all(&ctx, now);
        let second = loaded.snapshot.evaluate_all(&ctx, now);
        prop_assert_eq!(&first, &second);
        for (key, detail) in &first {
            prop_assert_eq!(detail.reason == Reason::Error, detail.value.is_none(), "{}: {:?}", key, detail);
            prop_assert_eq!(detail.reason == Reason::Error, detail.error.is_some());
            prop_assert_eq!(&loaded.snapshot.evaluate(key, &ctx, now), detail);
        }
    }

    #[test]
    fn buckets_stay_in_range(salt in ".{0,40}", value in ".{0,300}") {
        prop_assert!(rollout::bucket(&salt, &value) < rollout::BUCKETS);
    }
}

/// A 30/70 rollout over 20,000 keys lands within half a percentage point of its weights.
#[test]
fn rollouts_split_as_weighted() {
    let doc = json!({"schemaVersion": 1, "environment": "p", "version": 1,
        "generatedAt": "2026-11-25T12:00:00Z", "flags": [{
            "key": "split", "type": "boolean", "enabled": true, "offVariation": "off",
            "variations": [{"key": "on", "value": true}, {"key": "off", "value": false}],
            "defaultRule": {"rollout": {"variations": [
                {"variation": "on", "weight": 30000}, {"variation": "off", "weight": 70000}]}}}]});
    let snapshot = Snapshot::load(&serde_json::to_vec(&doc).unwrap())
        .unwrap()
        .snapshot;
    let on = (0..20_000)
        .filter(|i| {
            let ctx = Context::with_targeting_key(&format!("user-{i}"));
            snapshot.evaluate("split", &ctx, 0).variant == Some("on")
        })
        .count();
    let share = on as f64 / 20_000.0;
    assert!((share - 0.30).abs() < 0.005, "on share {share}");
}
