//! The OpenFeature provider through the `open-feature` crate's own client: values,
//! details with variant and reason, context fields, and engine errors as OpenFeature
//! error codes (the client then answers the default).
#![cfg(feature = "openfeature")]

use edgeflag::{Client, openfeature::EdgeflagProvider};
use edgeflag_engine::envelope::{KeySet, SigningKey};
use open_feature::{EvaluationContext, EvaluationErrorCode, EvaluationReason, OpenFeature};

fn client() -> Client {
    let demo = include_bytes!("../../../examples/demo-snapshot.json");
    let doc: serde_json::Value = serde_json::from_slice(demo).unwrap();
    let publisher = SigningKey::from_seed("of", [4; 32]);
    let token = publisher.sign(
        demo,
        doc["environment"].as_str(),
        doc["version"].as_u64(),
        Some("server"),
    );
    let jwks =
        serde_json::to_string(&KeySet::new(vec![publisher.verifying_key()]).to_jwks()).unwrap();
    Client::builder()
        .jwks(jwks)
        .bootstrap(token)
        .build_blocking()
        .unwrap()
}

#[tokio::test]
async fn resolves_through_the_openfeature_client() {
    let mut api = OpenFeature::singleton_mut().await;
    api.set_provider(EdgeflagProvider::new(client())).await;
    assert_eq!(api.provider_metadata().await.name, "edgeflag");
    let flags = api.create_client();
    drop(api);
    let staff = EvaluationContext::default()
        .with_targeting_key("user-2")
        .with_custom_field("email", "ada@example.com");
    let details = flags
        .get_bool_details("new-checkout", Some(&staff), None)
        .await
        .unwrap();
    assert!(details.value);
    assert_eq!(details.variant.as_deref(), Some("on"));
    assert_eq!(details.reason, Some(EvaluationReason::TargetingMatch));
    let apps = EvaluationContext::default()
        .with_targeting_key("user-1")
        .with_custom_field("appVersion", "4.10.1");
    assert_eq!(
        flags
            .get_int_value("search-results-per-page", Some(&apps), None)
            .await
            .unwrap(),
        25
    );
    assert_eq!(
        flags
            .get_float_value("search-results-per-page", Some(&apps), None)
            .await
            .unwrap(),
        25.0
    );
    let missing = flags
        .get_bool_details("no-such-flag", Some(&staff), None)
        .await
        .unwrap_err();
    assert_eq!(missing.code, EvaluationErrorCode::FlagNotFound);
    let mismatch = flags
        .get_string_value("new-checkout", Some(&staff), None)
        .await
        .unwrap_err();
    assert_eq!(mismatch.code, EvaluationErrorCode::TypeMismatch);
}
