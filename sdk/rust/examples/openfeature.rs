//! The OpenFeature provider against a running edge (`cargo xtask up` prints the key):
//!
//! ```sh
//! EDGEFLAG_SERVER_KEY=efs_… cargo run -p edgeflag --features openfeature --example openfeature
//! ```

use edgeflag::{Client, openfeature::EdgeflagProvider};
use open_feature::{EvaluationContext, OpenFeature};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("EDGEFLAG_URL").unwrap_or_else(|_| "http://127.0.0.1:8787".into());
    let client = Client::builder()
        .url(url)
        .server_key(std::env::var("EDGEFLAG_SERVER_KEY")?)
        .build()
        .await?;
    let mut api = OpenFeature::singleton_mut().await;
    api.set_provider(EdgeflagProvider::new(client)).await;
    let flags = api.create_client();
    drop(api);
    let ctx = EvaluationContext::default()
        .with_targeting_key("user-2")
        .with_custom_field("email", "ada@example.com");
    let details = flags
        .get_bool_details("new-checkout", Some(&ctx), None)
        .await;
    println!("{details:?}");
    Ok(())
}
