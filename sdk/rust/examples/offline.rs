//! Evaluates flags offline from a saved server snapshot and pinned keys:
//!
//! ```sh
//! curl -s http://127.0.0.1:8787/v1/snapshot -H "Authorization: Bearer $SERVER_KEY" > snapshot.jws
//! curl -s http://127.0.0.1:8787/.well-known/jwks.json > jwks.json   # or the admin's `edgeflag jwks`
//! cargo run -p edgeflag --example offline -- snapshot.jws jwks.json '{"targetingKey":"user-2","email":"ada@example.com"}'
//! ```
//!
//! Prints every flag's answer for the context, one line each.

use edgeflag::{Client, Context};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: offline <snapshot.jws> <jwks.json> [context JSON]";
    let snapshot = args.next().ok_or(usage)?;
    let jwks = std::fs::read_to_string(args.next().ok_or(usage)?)?;
    let context = args.next().unwrap_or_else(|| "{}".into());
    let client = Client::builder()
        .jwks(jwks)
        .bootstrap_file(snapshot)
        .build_blocking()?;
    let ctx = Context::from_json(context.as_bytes())?;
    println!(
        "environment {} version {}",
        client.environment(),
        client.version()
    );
    for (flag, answer) in client.evaluate_all(&ctx) {
        println!("{flag}: {}", serde_json::to_string(&answer)?);
    }
    Ok(())
}
