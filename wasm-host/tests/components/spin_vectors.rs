//! Every shared vector through the Spin app, as the Worker suite runs them: untyped
//! cases over OFREP single evaluation and the native API, typed cases over OFREP
//! with the type checked afterwards as an OpenFeature client does, evaluate-all
//! cases over OFREP bulk. Writes the `spin-app` row of the conformance table.

use edgeflag_vectors::{FILES, Tally, now, parse, same, suppressions, text};
use serde_json::{Map, Value, json};

use crate::support::{
    ofrep, publish, publish_body, publish_text_body, send, signer, spin_app, variables,
};

const RUNTIME: &str = "spin-app";

#[tokio::test]
async fn every_vector_passes_through_the_spin_app() {
    let publisher = signer("vectors", 9);
    let app = spin_app(variables(&[&publisher], &[("edgeflag_test_clock", "true")]));
    let suppressed = suppressions(RUNTIME);
    let mut tally = Tally::default();
    for (n, (name, text_)) in FILES.iter().enumerate() {
        let doc = parse(name, text_);
        let env = format!("v{n}");
        let key = format!("srv_{env}");
        let mut snapshot = doc["snapshot"].clone();
        snapshot["environment"] = json!(env);
        let res = publish(
            &app,
            &env,
            publish_body(&snapshot, &key, &format!("cli_{env}"), &publisher),
        )
        .await;
        assert_eq!(res.status, 200, "{name}: {:?}", res.json());
        for case in doc["cases"].as_array().into_iter().flatten() {
            let label = format!("{name} / {}", text(case, "name"));
            let outcome = run_case(&app, &key, case).await;
            let is_suppressed = suppressed.contains(&(name.to_string(), text(case, "name")));
            tally.record(label, outcome, is_suppressed);
        }
        for (i, load) in doc["loads"].as_array().into_iter().flatten().enumerate() {
            let label = format!("{name} / {}", text(load, "name"));
            let outcome = run_load(&app, &publisher, &format!("{env}-l{i}"), load).await;
            let is_suppressed = suppressed.contains(&(name.to_string(), text(load, "name")));
            tally.record(label, outcome, is_suppressed);
        }
    }
    tally.finish(RUNTIME);
}

/// A load (tests/vectors/README.md, "Loads"), published as its text, byte for byte, into
/// an environment of its own (the text names the environment `vectors`, renamed here). A
/// refused snapshot's publish must answer 422 SNAPSHOT_REFUSED naming the member at
/// fault; an accepted one must answer as `expectAll` says over OFREP bulk.
async fn run_load(
    app: &edgeflag_wasm_host::spin::SpinApp,
    publisher: &edgeflag_engine::envelope::SigningKey,
    env: &str,
    load: &Value,
) -> Result<(), String> {
    let key = format!("srv_{env}");
    let json = load["text"].as_str().ok_or("`text` is not a string")?;
    let json = json.replacen(
        r#""environment":"vectors""#,
        &format!(r#""environment":"{env}""#),
        1,
    );
    let body = publish_text_body(&json, env, &key, &format!("cli_{env}"), publisher);
    let res = publish(app, env, body).await;
    let answer = res.json();
    if let Some(refused) = load.get("refused") {
        let error = &answer["error"];
        if res.status != 422 || error["code"] != "SNAPSHOT_REFUSED" {
            return Err(format!("publish answered {}: {answer}", res.status));
        }
        let member = refused.as_str().unwrap_or_default().trim_start_matches('/');
        let message = error["message"].as_str().unwrap_or_default();
        if !member.is_empty() && !message.contains(&format!("`{member}`")) {
            return Err(format!("the refusal does not name `{member}`: {message}"));
        }
        return Ok(());
    }
    if res.status != 200 {
        return Err(format!("publish answered {}: {answer}", res.status));
    }
    let all = json!({"all": true, "context": {}, "expectAll": load["expectAll"]});
    run_case(app, &key, &all).await
}

async fn run_case(
    app: &edgeflag_wasm_host::spin::SpinApp,
    key: &str,
    case: &Value,
) -> Result<(), String> {
    let clock = now(case).ok_or("`now` is not an integer")?.to_string();
    let headers = [("x-edgeflag-test-now", clock.as_str())];
    if case.get("all").and_then(Value::as_bool) == Some(true) {
        let body = ofrep(app, key, None, &case["context"], &headers)
            .await
            .json();
        let got: Map<String, Value> = body["flags"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|f| (f["key"].as_str().unwrap_or_default().to_string(), f.clone()))
            .collect();
        let expect_all = case["expectAll"].as_object().ok_or("no expectAll")?;
        if got.len() != expect_all.len() {
            return Err(format!(
                "{} flags, expected {}",
                got.len(),
                expect_all.len()
            ));
        }
        for (flag, expect) in expect_all {
            let answer = got.get(flag).ok_or(format!("{flag} missing"))?;
            ofrep_matches(expect, answer).map_err(|e| format!("{flag}: {e}"))?;
        }
        return Ok(());
    }
    let flag = case["flag"].as_str().ok_or("`flag` is not a string")?;
    let answer = ofrep(app, key, Some(flag), &case["context"], &headers)
        .await
        .json();
    if let Some(type_name) = case.get("type").and_then(Value::as_str) {
        return ofrep_matches(&case["expect"], &client_typed(answer, type_name));
    }
    ofrep_matches(&case["expect"], &answer).map_err(|e| format!("OFREP: {e}"))?;
    native_matches(app, key, flag, case, &headers).await
}

/// What an OpenFeature client makes of an OFREP answer when it asked for a type.
fn client_typed(answer: Value, type_name: &str) -> Value {
    if answer.get("errorCode").is_some() {
        return answer;
    }
    let value = &answer["value"];
    let fits = match type_name {
        "boolean" => value.is_boolean(),
        "string" => value.is_string(),
        "number" => value.is_number(),
        _ => value.is_object() || value.is_array(),
    };
    if fits {
        answer
    } else {
        json!({"errorCode": "TYPE_MISMATCH"})
    }
}

/// OFREP carries value, variant, reason and error code: compare those.
fn ofrep_matches(expect: &Value, got: &Value) -> Result<(), String> {
    let ok = match expect.get("errorCode") {
        Some(code) => got.get("errorCode") == Some(code),
        None => {
            same(&expect["value"], &got["value"])
                && expect["variant"] == got["variant"]
                && expect["reason"] == got["reason"]
        }
    };
    if ok {
        Ok(())
    } else {
        Err(format!("expected {expect}, got {got}"))
    }
}

/// The native API carries the whole detail: compare all of it but the message.
async fn native_matches(
    app: &edgeflag_wasm_host::spin::SpinApp,
    key: &str,
    flag: &str,
    case: &Value,
    clock: &[(&str, &str)],
) -> Result<(), String> {
    let auth = format!("Bearer {key}");
    let mut headers = vec![
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
    ];
    headers.extend_from_slice(clock);
    let body = serde_json::to_vec(&json!({"context": case["context"], "flags": [flag]})).unwrap();
    let answer = send(app, "POST", "/v1/evaluate", &headers, body)
        .await
        .json();
    let mut got = match answer.get("error") {
        Some(error) => json!({"reason": "ERROR", "errorCode": error["code"]}),
        None => answer["flags"][flag].clone(),
    };
    if let Some(map) = got.as_object_mut() {
        map.remove("errorMessage");
    }
    let expect = &case["expect"];
    let comparable = if answer.get("error").is_some() {
        json!({"reason": expect["reason"], "errorCode": expect["errorCode"]})
    } else {
        expect.clone()
    };
    if same(&comparable, &got) {
        Ok(())
    } else {
        Err(format!("native: expected {expect}, got {got}"))
    }
}
