//! `edgeflag flags usage` and `edgeflag flags stale`: the usage answers as a table
//! (the default) or as the API's JSON (`--json`). They act through the API ([`Api`]: in-process or a remote admin), so
//! they get the same tenancy and validation as any caller;
//! each returns the text to print, so tests read exactly what a person would.

use std::fmt::Write as _;

use axum::http::Method;
use serde_json::Value;

use crate::client::{Api, encode};

/// What `flags usage` asks for.
#[derive(Debug, Default, Clone, clap::Args)]
pub struct UsageArgs {
    /// `minute`, `hour` (default) or `day`.
    #[arg(long)]
    pub resolution: Option<String>,
    /// RFC 3339 start (default: 24 hours before `--to`).
    #[arg(long)]
    pub from: Option<String>,
    /// RFC 3339 end (default: now).
    #[arg(long)]
    pub to: Option<String>,
    /// Only this environment (its key).
    #[arg(long)]
    pub env: Option<String>,
    /// Print the API's JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// The text of `edgeflag flags usage PROJECT FLAG`.
pub async fn usage(
    api: &Api,
    project: &str,
    flag: &str,
    args: &UsageArgs,
) -> anyhow::Result<String> {
    let mut query = Vec::new();
    for (name, value) in [
        ("resolution", &args.resolution),
        ("from", &args.from),
        ("to", &args.to),
        ("environment", &args.env),
    ] {
        if let Some(v) = value {
            query.push(format!("{name}={}", encode(v)));
        }
    }
    let path = format!(
        "/v1/projects/{project}/flags/{flag}/usage?{}",
        query.join("&")
    );
    let answer = api.ok(Method::GET, &path, None).await?;
    if args.json {
        return Ok(serde_json::to_string_pretty(&answer)? + "\n");
    }
    let mut out = format!(
        "{flag}: {} evaluations from {} to {} per {}\n",
        answer["total"],
        text(&answer["from"]),
        text(&answer["to"]),
        text(&answer["resolution"])
    );
    let _ = writeln!(
        out,
        "{:<26} {:<14} {:>10}  variants / reasons",
        "START", "ENVIRONMENT", "COUNT"
    );
    for bucket in answer["buckets"].as_array().into_iter().flatten() {
        let _ = writeln!(
            out,
            "{:<26} {:<14} {:>10}  {} / {}",
            text(&bucket["start"]),
            text(&bucket["environment"]),
            bucket["count"],
            pairs(&bucket["variants"]),
            pairs(&bucket["reasons"])
        );
    }
    Ok(out)
}

/// The text of `edgeflag flags stale PROJECT`.
pub async fn stale(api: &Api, project: &str, days: i64, json: bool) -> anyhow::Result<String> {
    let path = format!("/v1/projects/{project}/usage/stale?days={days}");
    let report = api.ok(Method::GET, &path, None).await?;
    if json {
        return Ok(serde_json::to_string_pretty(&report)? + "\n");
    }
    let mut out = format!(
        "{:<32} {:<24} {:<26} DETAIL\n",
        "FLAG", "WHY", "LAST EVALUATED"
    );
    for (kind, why) in [
        ("notEvaluated", format!("not evaluated {days} d")),
        ("singleVariation", format!("one variation {days} d")),
        (
            "archivedButEvaluated",
            "archived, still evaluated".to_string(),
        ),
    ] {
        for flag in report[kind].as_array().into_iter().flatten() {
            let detail = match (flag.get("variant"), flag.get("evaluations")) {
                (Some(v), Some(n)) => format!("serves `{}` ({n} evaluations)", text(v)),
                (None, Some(n)) => format!("{n} evaluations since archived"),
                _ => String::new(),
            };
            let last = flag
                .get("lastEvaluatedAt")
                .map_or("never", |v| v.as_str().unwrap_or(""));
            let _ = writeln!(
                out,
                "{:<32} {:<24} {:<26} {detail}",
                text(&flag["flag"]),
                why,
                last
            );
        }
    }
    Ok(out)
}

fn text(value: &Value) -> &str {
    value.as_str().unwrap_or("")
}

/// `on=3 off=2` from a JSON object of counts (`-` names the empty variant).
fn pairs(value: &Value) -> String {
    let items: Vec<String> = value
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{}={v}", if k.is_empty() { "-" } else { k }))
        .collect();
    items.join(" ")
}
