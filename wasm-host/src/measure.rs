//! `measure`: component sizes, compile and instantiate times, the cost of one
//! evaluation through the component boundary, and one Spin request end to end.
//! Figures go to BENCHMARKS.md; nothing here asserts a time.

use std::{collections::BTreeMap, io::Write as _, time::Instant};

use bytes::Bytes;
use edgeflag_wasm_host::{
    ENGINE_COMPONENT_VAR, SPIN_COMPONENT_VAR, component_path,
    engine::{Context, EngineComponent},
    spin::SpinApp,
};
use wasmtime::Result;

const DEMO: &[u8] = include_bytes!("../../examples/demo-snapshot.json");
const NOW_MS: i64 = 1_795_608_000_000;

pub async fn run() -> Result<()> {
    let engine_path = component_path(ENGINE_COMPONENT_VAR)?;
    let spin_path = component_path(SPIN_COMPONENT_VAR)?;
    for path in [&engine_path, &spin_path] {
        let raw = std::fs::read(path)?;
        println!(
            "{}: {} bytes raw, {} bytes gzip -9",
            path.display(),
            raw.len(),
            gzip_len(&raw)?
        );
    }
    engine(&engine_path)?;
    spin(&spin_path).await
}

fn gzip_len(bytes: &[u8]) -> Result<usize> {
    let mut child = std::process::Command::new("gzip")
        .arg("-9c")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()?;
    // Write from another thread: gzip's output would fill its pipe otherwise.
    let input = bytes.to_vec();
    let stdin = child.stdin.take();
    let writer = std::thread::spawn(move || stdin.map(|mut s| s.write_all(&input)));
    let output = child.wait_with_output()?;
    let _ = writer.join();
    Ok(output.stdout.len())
}

fn engine(path: &std::path::Path) -> Result<()> {
    let start = Instant::now();
    let component = EngineComponent::from_file(path)?;
    let compiled = start.elapsed();
    let start = Instant::now();
    let mut instance = component.instantiate()?;
    let instantiated = start.elapsed();
    let start = Instant::now();
    let snapshot = instance
        .load(DEMO)?
        .map_err(|e| wasmtime::format_err!("{}", e.message))?;
    let loaded = start.elapsed();
    let context = Context {
        targeting_key: Some("user-2".into()),
        attributes: Vec::new(),
    };
    let rounds = 100_000u32;
    let start = Instant::now();
    for _ in 0..rounds {
        instance.evaluate(snapshot, "new-checkout", &context, NOW_MS)?;
    }
    let per_eval = start.elapsed() / rounds;
    println!(
        "engine component: compile {compiled:?}, instantiate {instantiated:?}, load demo snapshot {loaded:?}, evaluate {per_eval:?} per call ({rounds} calls)"
    );
    Ok(())
}

async fn spin(path: &std::path::Path) -> Result<()> {
    let start = Instant::now();
    let app = SpinApp::from_file(path, BTreeMap::new())?;
    let compiled = start.elapsed();
    let rounds = 200u32;
    let start = Instant::now();
    for _ in 0..rounds {
        let request = http::Request::get("http://localhost/healthz").body(Bytes::new())?;
        app.handle(request).await?;
    }
    let per_request = start.elapsed() / rounds;
    println!(
        "spin app: compile {compiled:?}, instantiate + one GET /healthz {per_request:?} ({rounds} requests)"
    );
    Ok(())
}
