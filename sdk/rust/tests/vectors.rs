//! Every shared vector (`tests/vectors/`) through the Rust client's public API: each
//! file's snapshot is signed and given to the client as its bootstrap (so the client's
//! verification runs too), then every case is evaluated with `evaluate`, `evaluate_as`
//! or `evaluate_all` at the case's time (the client's clock). Writes the `rust-client`
//! conformance row; suppressions are read from `tests/vectors/suppressions.json` like
//! every runtime's.

use std::{
    collections::BTreeSet,
    sync::{
        Arc,
        atomic::{AtomicI64, Ordering},
    },
};

use edgeflag::{Client, Context, Evaluation, ValueType};
use edgeflag_engine::envelope::{KeySet, SigningKey};
use edgeflag_vectors::{FILES, Tally, compare, now, parse, suppressions, text};
use serde_json::{Map, Value, json};

const RUNTIME: &str = "rust-client";

/// What a vector's `expect` states: the engine's detail without `errorMessage`.
fn result(evaluation: &Evaluation) -> Value {
    let mut out = Map::new();
    if let Some(value) = &evaluation.value {
        out.insert("value".into(), value.clone());
    }
    if let Some(variant) = &evaluation.variant {
        out.insert("variant".into(), json!(variant));
    }
    out.insert("reason".into(), json!(evaluation.reason.as_str()));
    if let Some(code) = evaluation.error_code {
        out.insert("errorCode".into(), json!(code.as_str()));
    }
    if let Some(index) = evaluation.rule_index {
        out.insert("ruleIndex".into(), json!(index));
    }
    if let Some(id) = &evaluation.rule_id {
        out.insert("ruleId".into(), json!(id));
    }
    if let Some(flag) = &evaluation.failed_prerequisite {
        out.insert("failedPrerequisite".into(), json!(flag));
    }
    if let Some(version) = evaluation.flag_version {
        out.insert("flagVersion".into(), json!(version));
    }
    Value::Object(out)
}

fn run_case(client: &Client, clock: &AtomicI64, case: &Value) -> Result<(), String> {
    clock.store(
        now(case).ok_or("`now` is not an integer")?,
        Ordering::SeqCst,
    );
    let context = Context::from_value(case["context"].clone());
    if case.get("all").and_then(Value::as_bool) == Some(true) {
        let ctx =
            context.map_err(|e| format!("an evaluate-all case needs a valid context: {e}"))?;
        let all: Map<String, Value> = client
            .evaluate_all(&ctx)
            .iter()
            .map(|(key, evaluation)| (key.clone(), result(evaluation)))
            .collect();
        return compare(&case["expectAll"], &Value::Object(all));
    }
    let flag = case["flag"].as_str().ok_or("`flag` is not a string")?;
    let actual = match context {
        // A Rust caller builds the context first; a refused one never reaches the client.
        Err(e) => json!({"reason": "ERROR", "errorCode": e.code().as_str()}),
        Ok(ctx) => match case.get("type").and_then(Value::as_str) {
            Some(name) => {
                let value_type = ValueType::parse(name).ok_or("unknown `type`")?;
                result(&client.evaluate_as(flag, value_type, &ctx))
            }
            None => result(&client.evaluate(flag, &ctx)),
        },
    };
    compare(&case["expect"], &actual)
}

fn warnings_match(expected: &Value, client: &Client) -> bool {
    let actual: Vec<Value> = client
        .warnings()
        .iter()
        .map(|w| json!({"kind": w.kind.as_str(), "key": w.key, "path": w.path}))
        .collect();
    let expected: Vec<&Value> = expected.as_array().into_iter().flatten().collect();
    let fits = |e: &Value, a: &Value| {
        e["kind"] == a["kind"]
            && e["key"] == a["key"]
            && (e.get("path").is_none() || e["path"] == a["path"])
    };
    expected.iter().all(|e| actual.iter().any(|a| fits(e, a)))
        && actual.iter().all(|a| expected.iter().any(|e| fits(e, a)))
}

#[test]
fn every_vector_passes_through_the_client() {
    let publisher = SigningKey::from_seed("vectors", [11; 32]);
    let jwks =
        serde_json::to_string(&KeySet::new(vec![publisher.verifying_key()]).to_jwks()).unwrap();
    let suppressed: BTreeSet<(String, String)> = suppressions(RUNTIME);
    let mut tally = Tally::default();
    for (name, text_) in FILES {
        let doc = parse(name, text_);
        let snapshot = &doc["snapshot"];
        let token = publisher.sign(
            &serde_json::to_vec(snapshot).unwrap(),
            snapshot["environment"].as_str(),
            snapshot["version"].as_u64(),
            Some("server"),
        );
        let clock = Arc::new(AtomicI64::new(0));
        let time = clock.clone();
        let client = Client::builder()
            .jwks(jwks.clone())
            .bootstrap(token)
            .clock(move || time.load(Ordering::SeqCst))
            .build_blocking();
        let client = match client {
            Ok(client) => client,
            Err(e) => {
                tally.fail(format!(
                    "{name}: the client refused the signed snapshot: {e}"
                ));
                continue;
            }
        };
        if !warnings_match(&doc["expectWarnings"], &client) {
            tally.fail(format!("{name}: load warnings {:?}", client.warnings()));
        }
        for case in doc["cases"].as_array().into_iter().flatten() {
            let case_name = text(case, "name");
            let outcome = run_case(&client, &clock, case);
            let is_suppressed = suppressed.contains(&(name.to_string(), case_name.clone()));
            tally.record(format!("{name} / {case_name}"), outcome, is_suppressed);
        }
    }
    tally.finish(RUNTIME);
}
