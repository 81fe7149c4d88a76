use super::*;
use crate::wire::WireCondition;
use alloc::{string::ToString, vec, vec::Vec};
use serde_json::json;

fn cond(attribute: &str, op: &str, values: Value) -> WireCondition {
    WireCondition {
        attribute: attribute.to_string(),
        op: op.to_string(),
        values: match values {
            Value::Array(v) => v,
            other => vec![other],
        },
        hashes: Vec::new(),
        case_insensitive: false,
        negate: false,
    }
}

fn check(wire: &WireCondition, ctx: Value) -> bool {
    let lookup = HashMap::new();
    let strings = &mut Strings::default();
    let c = Condition::compile(
        wire.clone().into(),
        Some(&lookup),
        &Limits::default(),
        strings,
    )
    .unwrap();
    let ctx = Context::from_value(ctx).unwrap();
    let now = crate::date::Now::new(1_000_000_000_000);
    c.matches(&Env {
        ctx: &ctx,
        now: &now,
        segments: &[],
        hasher: &crate::hashed::Hasher::new(None),
    })
}

#[test]
fn missing_and_mistyped_attributes_never_match_even_negated() {
    let mut c = cond("age", "lt", json!(30));
    assert!(check(&c, json!({"age": 20})));
    assert!(!check(&c, json!({})));
    assert!(!check(&c, json!({"age": "20"})));
    c.negate = true;
    assert!(!check(&c, json!({"age": 20})));
    assert!(check(&c, json!({"age": 40})));
    assert!(!check(&c, json!({})));
    assert!(!check(&c, json!({"age": null})));
}

#[test]
fn equality_is_typed() {
    let c = cond("v", "in", json!(["1", 2, true]));
    assert!(check(&c, json!({"v": "1"})));
    assert!(check(&c, json!({"v": 2.0})));
    assert!(check(&c, json!({"v": true})));
    assert!(!check(&c, json!({"v": 1})));
    assert!(!check(&c, json!({"v": false})));
    let not_in = cond("v", "notIn", json!(["a"]));
    assert!(check(&not_in, json!({"v": "b"})));
    assert!(!check(&not_in, json!({"v": 3})));
}

#[test]
fn large_sets_hash_and_fold_case() {
    let values: Vec<Value> = (0..100).map(|i| json!(format!("User-{i}"))).collect();
    let mut c = cond("targetingKey", "in", Value::Array(values));
    assert!(check(&c, json!({"targetingKey": "User-42"})));
    assert!(!check(&c, json!({"targetingKey": "user-42"})));
    c.case_insensitive = true;
    assert!(check(&c, json!({"targetingKey": "user-42"})));
}

#[test]
fn arrays_match_when_any_element_does() {
    let c = cond("roles", "in", json!(["admin"]));
    assert!(check(&c, json!({"roles": ["viewer", "admin"]})));
    assert!(!check(&c, json!({"roles": ["viewer"]})));
    assert!(!check(&c, json!({"roles": [1, 2]})));
    assert!(!check(&c, json!({"roles": []})));
}

#[test]
fn text_regex_semver_and_dates() {
    let mut ends = cond("email", "endsWith", json!("@EXAMPLE.com"));
    assert!(!check(&ends, json!({"email": "a@example.com"})));
    ends.case_insensitive = true;
    assert!(check(&ends, json!({"email": "a@example.COM"})));
    assert!(check(
        &cond("email", "matches", json!("^[a-z]+@")),
        json!({"email": "ab@x"})
    ));
    assert!(check(
        &cond("v", "semverGte", json!("1.2")),
        json!({"v": "1.2.0"})
    ));
    assert!(!check(
        &cond("v", "semverGt", json!("1.2.0")),
        json!({"v": "1.2.0-beta.1"})
    ));
    assert!(!check(
        &cond("v", "semverEq", json!("1.0.0")),
        json!({"v": "not.a.version"})
    ));
    assert!(check(
        &cond("$now", "after", json!("2001-01-01T00:00:00Z")),
        json!({})
    ));
    assert!(check(
        &cond("d", "before", json!(10)),
        json!({"d": "1970-01-01T00:00:09Z"})
    ));
}

#[test]
fn exists_tests_presence() {
    let c = cond("plan", "exists", json!([]));
    assert!(check(&c, json!({"plan": "x"})));
    assert!(!check(&c, json!({"plan": null})));
    assert!(check(&cond("plan", "notExists", json!([])), json!({})));
}

#[test]
fn unknown_operators_never_match() {
    let mut c = cond("a", "fuzzyMatch", json!("x"));
    assert!(!check(&c, json!({"a": "x"})));
    c.negate = true;
    assert!(!check(&c, json!({"a": "x"})));
}

#[test]
fn bad_values_report_their_index() {
    let lookup = HashMap::new();
    let limits = Limits::default();
    let err = |w: WireCondition| {
        Condition::compile(w.into(), Some(&lookup), &limits, &mut Strings::default()).unwrap_err()
    };
    assert_eq!(err(cond("a", "lt", json!([1, "x"]))).path, "/values/1");
    assert_eq!(err(cond("a", "matches", json!("("))).path, "/values/0");
    assert_eq!(err(cond("a", "semverEq", json!("x.y"))).path, "/values/0");
    assert_eq!(err(cond("a", "in", json!([]))).path, "/values");
    assert_eq!(
        err(cond("a", "inSegment", json!("nope"))).message,
        "unknown segment `nope`"
    );
    assert_eq!(err(cond("", "in", json!("x"))).path, "/attribute");
    let long = "a".repeat(2000);
    assert!(
        err(cond("a", "matches", json!(long)))
            .message
            .contains("over the limit")
    );
}

#[test]
fn a_date_value_that_is_not_one_is_named_without_printing_numbers() {
    let compile = |values: Value| {
        let lookup = HashMap::new();
        Condition::compile(
            cond("d", "after", values).into(),
            Some(&lookup),
            &Limits::default(),
            &mut Strings::default(),
        )
        .map(drop)
        .unwrap_err()
    };
    let err = compile(json!([1e300]));
    assert_eq!(err.path, "/values/0");
    assert!(
        err.message
            .ends_with("found a number of seconds out of range"),
        "{}",
        err.message
    );
    let err = compile(json!(["2026-13-01"]));
    assert!(
        err.message.ends_with("found `2026-13-01`"),
        "{}",
        err.message
    );
    let err = compile(json!([true]));
    assert!(err.message.ends_with("found boolean"), "{}", err.message);
}
