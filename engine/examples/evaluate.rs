//! Evaluates flags of a snapshot file for one context, printing each result as JSON.
//!
//! ```sh
//! cargo run -p edgeflag-engine --example evaluate -- examples/demo-snapshot.json '{"targetingKey":"user-2"}' [flag] [now-ms]
//! ```
//! Without a flag key (or with "") it evaluates every flag. `now-ms` defaults to the current time.

use std::{env, fs, process::ExitCode, time::SystemTime};

use edgeflag_engine::{Context, Snapshot};

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let (Some(path), Some(context)) = (args.first(), args.get(1)) else {
        eprintln!("usage: evaluate SNAPSHOT.json CONTEXT-JSON [FLAG] [NOW-MS]");
        return ExitCode::from(2);
    };
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) => {
            eprintln!("cannot read {path}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let loaded = match Snapshot::load(&bytes) {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("snapshot refused: {e}");
            return ExitCode::FAILURE;
        }
    };
    for warning in &loaded.warnings {
        eprintln!("warning: {warning}");
    }
    let ctx = match Context::from_json(context.as_bytes()) {
        Ok(ctx) => ctx,
        Err(e) => {
            eprintln!("context refused ({}): {e}", e.code());
            return ExitCode::FAILURE;
        }
    };
    let now = args
        .get(3)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(now_ms);
    let snapshot = &loaded.snapshot;
    let results = match args.get(2).filter(|flag| !flag.is_empty()) {
        Some(flag) => vec![(flag.as_str(), snapshot.evaluate(flag, &ctx, now))],
        None => snapshot.evaluate_all(&ctx, now),
    };
    for (key, detail) in results {
        let json = serde_json::to_string(&detail).unwrap_or_default();
        println!("{key}: {json}");
    }
    ExitCode::SUCCESS
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
