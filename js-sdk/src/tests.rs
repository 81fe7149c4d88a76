//! Native tests of the adapter: the envelope, acceptance rules and encoding. The
//! JavaScript suites (`js-sdk/test/`) run the same code as wasm, vectors included.

use edgeflag_engine::envelope::SigningKey;
use serde_json::{Value, json};

use crate::Engine;

fn snapshot(version: u64) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "schemaVersion": 1, "environment": "production", "version": version,
        "generatedAt": "2026-11-25T12:00:00Z",
        "flags": [{
            "key": "banner", "version": 3, "type": "boolean", "enabled": true,
            "variations": [{"key": "on", "value": true}, {"key": "off", "value": false}],
            "offVariation": "off",
            "rules": [{"id": "beta", "conditions": [{"attribute": "plan", "op": "in", "values": ["beta"]}], "serve": {"variation": "on"}}],
            "defaultRule": {"variation": "off"}
        }]
    }))
    .unwrap()
}

fn signer(seed: u8) -> SigningKey {
    SigningKey::from_seed("k1", [seed; 32])
}

fn sign(key: &SigningKey, version: u64, aud: &str) -> String {
    key.sign(
        &snapshot(version),
        Some("production"),
        Some(version),
        Some(aud),
    )
}

fn engine_trusting(key: &SigningKey) -> Engine {
    let mut engine = Engine::new();
    let jwks = json!({ "keys": [key.verifying_key().to_jwk()] }).to_string();
    let answer = parse(&engine.trust(&jwks));
    assert_eq!(answer["ok"]["kids"], json!(["k1"]));
    engine
}

fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

const NOW: f64 = 1_795_608_000_000.0;

#[test]
fn evaluates_after_a_verified_update() {
    let key = signer(1);
    let mut engine = engine_trusting(&key);
    let answer = parse(&engine.evaluate("banner", 0, NOW));
    assert_eq!(answer["errorCode"], "PROVIDER_NOT_READY");
    let status = parse(&engine.update(&sign(&key, 5, "client")));
    assert_eq!(status["ok"]["changed"], true);
    assert_eq!(status["ok"]["version"], 5);
    engine.set_context(r#"{"targetingKey":"u1","plan":"beta"}"#);
    let answer = parse(&engine.evaluate("banner", 1, NOW));
    assert_eq!(
        answer,
        json!({"value": true, "variant": "on", "reason": "TARGETING_MATCH", "ruleIndex": 0, "ruleId": "beta", "flagVersion": 3})
    );
    let mismatch = parse(&engine.evaluate("banner", 2, NOW));
    assert_eq!(mismatch["errorCode"], "TYPE_MISMATCH");
    assert!(
        mismatch["errorMessage"]
            .as_str()
            .unwrap()
            .contains("boolean")
    );
    let all = parse(&engine.evaluate_all(NOW));
    assert_eq!(all["banner"]["variant"], "on");
    assert_eq!(parse(&engine.flags())[0]["key"], "banner");
    assert_eq!(engine.version(), Some(5.0));
    assert_eq!(engine.environment().as_deref(), Some("production"));
}

#[test]
fn refuses_bad_tokens_and_keeps_the_last_good_snapshot() {
    let key = signer(1);
    let mut engine = engine_trusting(&key);
    assert!(parse(&engine.update(&sign(&key, 5, "client")))["ok"].is_object());
    let code = |engine: &mut Engine, token: &str| {
        parse(&engine.update(token))["error"]["code"]
            .as_str()
            .unwrap_or("none")
            .to_string()
    };
    assert_eq!(
        code(&mut engine, &sign(&signer(2), 6, "client")),
        "BAD_SIGNATURE"
    );
    assert_eq!(
        code(&mut engine, &sign(&key, 4, "client")),
        "STALE_SNAPSHOT"
    );
    assert_eq!(
        code(&mut engine, &sign(&key, 6, "server")),
        "WRONG_SNAPSHOT"
    );
    assert_eq!(code(&mut engine, "not a token"), "MALFORMED");
    let unsigned = "eyJhbGciOiJub25lIn0.e30.";
    assert_ne!(code(&mut engine, unsigned), "none");
    let other = SigningKey::from_seed("k9", [1; 32]);
    assert_eq!(code(&mut engine, &sign(&other, 6, "client")), "UNKNOWN_KEY");
    let lying = key.sign(&snapshot(7), Some("production"), Some(8), Some("client"));
    assert_eq!(code(&mut engine, &lying), "SNAPSHOT_REFUSED");
    assert_eq!(engine.version(), Some(5.0));
    let same = parse(&engine.update(&sign(&key, 5, "client")));
    assert_eq!(same["ok"]["changed"], false);
}

#[test]
fn policy_and_keys() {
    let key = signer(1);
    let mut engine = Engine::new();
    let none = parse(&engine.update(&sign(&key, 1, "client")));
    assert_eq!(none["error"]["code"], "INVALID_KEYS");
    assert_eq!(
        parse(&engine.trust("{\"keys\":[{}]}"))["error"]["code"],
        "INVALID_KEYS"
    );
    let mut engine = engine_trusting(&key);
    engine.set_policy("server", "staging");
    let wrong_env = parse(&engine.update(&sign(&key, 1, "server")));
    assert_eq!(wrong_env["error"]["code"], "WRONG_SNAPSHOT");
    engine.set_policy("client, server", "production");
    assert!(parse(&engine.update(&sign(&key, 1, "server")))["ok"].is_object());
}

#[test]
fn refused_contexts_and_unknown_types_are_answers() {
    let key = signer(1);
    let mut engine = engine_trusting(&key);
    engine.update(&sign(&key, 1, "client"));
    engine.set_context("[1]");
    assert_eq!(
        parse(&engine.evaluate("banner", 0, NOW))["errorCode"],
        "INVALID_CONTEXT"
    );
    engine.set_context("{");
    assert_eq!(parse(&engine.evaluate_all(NOW))["errorCode"], "PARSE_ERROR");
    engine.set_context("{}");
    let unknown = parse(&engine.evaluate("banner", 9, NOW));
    assert_eq!(unknown["errorCode"], "GENERAL");
    assert_eq!(
        parse(&engine.evaluate("nope", 0, f64::NAN))["errorCode"],
        "FLAG_NOT_FOUND"
    );
}

/// The hand-written answers say what serde_json says of the engine's detail (plus
/// the error message), for every case of every shared vector file.
#[test]
fn answers_match_the_engines_serialized_detail_on_every_vector() {
    use edgeflag_engine::{Context, Snapshot};
    let mut compared = 0;
    for (name, text) in edgeflag_vectors::FILES {
        let doc = edgeflag_vectors::parse(name, text);
        let bytes = serde_json::to_vec(&doc["snapshot"]).unwrap();
        let Ok(loaded) = Snapshot::load(&bytes) else {
            continue;
        };
        for case in doc["cases"].as_array().into_iter().flatten() {
            let ctx = serde_json::to_vec(&case["context"]).unwrap();
            let Ok(ctx) = Context::from_json(&ctx) else {
                continue;
            };
            let now = edgeflag_vectors::now(case).unwrap_or(edgeflag_vectors::DEFAULT_NOW_MS);
            let results = loaded.snapshot.evaluate_all(&ctx, now);
            let mut want = serde_json::Map::new();
            for (key, d) in &results {
                let mut expected = serde_json::to_value(d).unwrap();
                if let Some(message) = d.error_message() {
                    expected["errorMessage"] = json!(message);
                }
                assert_eq!(parse(&crate::encode::detail(d)), expected, "{name}: {key}");
                want.insert((*key).to_string(), expected);
                compared += 1;
            }
            assert_eq!(parse(&crate::encode::all(&results)), Value::Object(want));
        }
        let listing = parse(&crate::encode::flags(Some(&loaded.snapshot)));
        assert_eq!(listing.as_array().unwrap().len(), loaded.snapshot.len());
    }
    assert!(compared > 500, "{compared}");
}
