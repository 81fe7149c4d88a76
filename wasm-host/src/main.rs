//! `edgeflag-wasm-host`: run the Spin app locally (`serve`), or measure both
//! components (`measure`). See ARCHITECTURE.md and BENCHMARKS.md.
//!
//! ```text
//! edgeflag-wasm-host serve 127.0.0.1:3000 [--var name=value ...] [--allow-outbound http://admin:8080 ...]
//! edgeflag-wasm-host measure
//! ```
//! Component paths come from `EDGEFLAG_SPIN_COMPONENT` and `EDGEFLAG_ENGINE_COMPONENT`
//! (`cargo xtask build-components` prints them). Variables use Spin's lower-case
//! names (`edgeflag_trusted_keys`, …); `SPIN_VARIABLE_<NAME>` environment variables
//! are read too, as `spin up` reads them.

mod measure;

use std::{collections::BTreeMap, net::SocketAddr, sync::Arc};

use edgeflag_wasm_host::{SPIN_COMPONENT_VAR, component_path, serve, spin::SpinApp};
use wasmtime::{Result, bail, error::Context as _};

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("serve") => run_serve(args.get(1..).unwrap_or_default()).await,
        Some("measure") => measure::run().await,
        _ => bail!(
            "usage: edgeflag-wasm-host serve ADDR [--var name=value ...] [--allow-outbound scheme://host:port ...] | measure"
        ),
    }
}

async fn run_serve(args: &[String]) -> Result<()> {
    let Some(addr) = args.first() else {
        bail!("serve needs an address, e.g. 127.0.0.1:3000");
    };
    let addr = addr
        .parse::<SocketAddr>()
        .with_context(|| format!("bad address {addr}"))?;
    let (variables, outbound) = options(args.get(1..).unwrap_or_default())?;
    let path = component_path(SPIN_COMPONENT_VAR)?;
    let app = Arc::new(SpinApp::from_file(&path, variables)?.allow_outbound(outbound));
    let (local, serving) = serve::bind(app, addr).await?;
    println!("edgeflag Spin app ({}) on http://{local}", path.display());
    serving.await;
    Ok(())
}

/// Variables (`SPIN_VARIABLE_*` from the environment, then `--var name=value` flags)
/// and the origins outbound requests may go to (`--allow-outbound scheme://host:port`,
/// what `allowed_outbound_hosts` lists in `spin.toml`).
fn options(args: &[String]) -> Result<(BTreeMap<String, String>, Vec<String>)> {
    let mut vars: BTreeMap<String, String> = std::env::vars()
        .filter_map(|(k, v)| Some((k.strip_prefix("SPIN_VARIABLE_")?.to_ascii_lowercase(), v)))
        .collect();
    let mut outbound = Vec::new();
    let mut rest = args.iter();
    while let Some(flag) = rest.next() {
        match (flag.as_str(), rest.next()) {
            ("--var", Some(pair)) => {
                let Some((name, value)) = pair.split_once('=') else {
                    bail!("--var wants name=value, got {pair}");
                };
                vars.insert(name.to_ascii_lowercase(), value.to_string());
            }
            ("--allow-outbound", Some(origin)) => outbound.push(origin.clone()),
            _ => bail!(
                "unexpected argument {flag}; use --var name=value or --allow-outbound scheme://host:port"
            ),
        }
    }
    Ok((vars, outbound))
}
