//! The CLI's commands on an organization's data: projects, environments, flags,
//! segments, SDK keys, API keys and the audit log. Each one is a call on the REST API
//! through an [`Api`] (the router in-process, or a remote admin), so the CLI has no rule
//! of its own. Lists print a table by default and the API's JSON with `--json`; each
//! command returns the text to print, so tests read exactly what a person would.

use std::{fmt::Write as _, path::PathBuf};

use anyhow::Context as _;
use axum::http::Method;
use clap::{Args, Subcommand};
use comfy_table::{Table, presets::NOTHING};
use serde_json::{Value, json};

use crate::{
    client::{Api, encode},
    usage_cli::{self, UsageArgs},
};

/// How a command prints: a table (the default) or the API's JSON.
#[derive(Debug, Default, Clone, Copy, Args)]
pub struct Output {
    /// Print the API's JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Which items a list shows: live ones (the default), archived ones, or both.
#[derive(Debug, Default, Clone, Copy, Args)]
pub struct Archived {
    /// `live` (default), `archived` or `all`.
    #[arg(long = "archived", value_enum, default_value_t = Which::Live)]
    pub which: Which,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Which {
    #[default]
    Live,
    Archived,
    All,
}

impl Archived {
    /// `path` with the list's `archived` query parameter.
    fn path(self, path: &str) -> String {
        let value = match self.which {
            Which::Live => "false",
            Which::Archived => "true",
            Which::All => "all",
        };
        format!("{path}?archived={value}")
    }
}

/// The commands that act on an organization through the API.
#[derive(Debug, Subcommand)]
pub enum ApiCommand {
    /// Projects of the organization.
    Projects {
        #[command(subcommand)]
        command: ProjectsCommand,
    },
    /// Environments of a project.
    Environments {
        #[command(subcommand)]
        command: EnvironmentsCommand,
    },
    /// Flags of a project.
    Flags {
        #[command(subcommand)]
        command: FlagsCommand,
    },
    /// Segments of a project.
    Segments {
        #[command(subcommand)]
        command: SegmentsCommand,
    },
    /// SDK keys of an environment.
    SdkKeys {
        #[command(subcommand)]
        command: SdkKeysCommand,
    },
    /// API keys of the organization (for scripts and this CLI).
    ApiKeys {
        #[command(subcommand)]
        command: ApiKeysCommand,
    },
    /// The newest audit entries, oldest first; `--follow` keeps printing new ones.
    #[command(alias = "audit-tail")]
    Audit {
        #[arg(long, default_value_t = 20)]
        limit: u32,
        /// Keep printing new entries.
        #[arg(long)]
        follow: bool,
        #[command(flatten)]
        out: Output,
    },
}

#[derive(Debug, Subcommand)]
pub enum ProjectsCommand {
    List {
        #[command(flatten)]
        archived: Archived,
        #[command(flatten)]
        out: Output,
    },
    Create {
        key: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long, default_value = "")]
        description: String,
    },
    Archive {
        key: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum EnvironmentsCommand {
    List {
        project: String,
        #[command(flatten)]
        archived: Archived,
        #[command(flatten)]
        out: Output,
    },
    Create {
        project: String,
        key: String,
        #[arg(long)]
        name: Option<String>,
    },
    /// Retire an environment: the edge answers 410 for it after the next publish.
    Archive {
        project: String,
        key: String,
    },
    Restore {
        project: String,
        key: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum FlagsCommand {
    List {
        project: String,
        #[command(flatten)]
        archived: Archived,
        #[command(flatten)]
        out: Output,
    },
    /// One flag: its variations and, per environment, whether it is on and what it serves.
    Show {
        project: String,
        flag: String,
        #[command(flatten)]
        out: Output,
    },
    /// Create one flag from a JSON file (the body of `POST /v1/projects/{p}/flags`).
    Create {
        project: String,
        file: PathBuf,
    },
    /// Replace a flag's targeting in one environment with a JSON file (the body of
    /// `PUT /v1/projects/{p}/flags/{f}/environments/{e}`: targets, rules, default rule).
    Rules {
        project: String,
        flag: String,
        env: String,
        file: PathBuf,
    },
    /// Serve the first variation to PERCENT % of contexts by default (the rest get the off variation).
    Rollout {
        project: String,
        flag: String,
        env: String,
        percent: f64,
    },
    Toggle {
        project: String,
        flag: String,
        env: String,
        #[arg(long)]
        off: bool,
    },
    Archive {
        project: String,
        flag: String,
    },
    Restore {
        project: String,
        flag: String,
    },
    /// Write every flag of a project as JSON to stdout.
    Export {
        project: String,
    },
    /// Create the flags of an export (JSON file) in a project, with progress on stderr.
    Import {
        project: String,
        file: PathBuf,
    },
    /// A flag's evaluations over a time range, per bucket and environment.
    Usage {
        project: String,
        flag: String,
        #[command(flatten)]
        args: UsageArgs,
    },
    /// Flags not evaluated, serving one variation, or archived but still evaluated.
    Stale {
        project: String,
        /// The window, days.
        #[arg(long, default_value_t = 30)]
        days: i64,
        #[command(flatten)]
        out: Output,
    },
}

#[derive(Debug, Subcommand)]
pub enum SegmentsCommand {
    List {
        project: String,
        #[command(flatten)]
        archived: Archived,
        #[command(flatten)]
        out: Output,
    },
    Show {
        project: String,
        segment: String,
    },
    /// Create one segment from a JSON file (the body of `POST /v1/projects/{p}/segments`).
    Create {
        project: String,
        file: PathBuf,
    },
    Archive {
        project: String,
        segment: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum SdkKeysCommand {
    List {
        project: String,
        env: String,
        #[command(flatten)]
        out: Output,
    },
    /// Create a key of kind `server` or `client`; the secret is printed once.
    Create {
        project: String,
        env: String,
        kind: String,
    },
    /// Issue a replacement; the old key keeps working for the grace period.
    Rotate {
        project: String,
        env: String,
        id: String,
        #[arg(long)]
        grace_seconds: Option<i64>,
    },
    Revoke {
        project: String,
        env: String,
        id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ApiKeysCommand {
    List {
        #[command(flatten)]
        out: Output,
    },
    /// Create a key with a role (`viewer`, `editor`, `admin`, `owner`); the secret is printed once.
    Create {
        name: String,
        #[arg(long, default_value = "editor")]
        role: String,
    },
    Revoke {
        id: String,
    },
}

/// Runs `command` on `api`; returns the text to print on stdout (progress goes to stderr).
pub async fn run(api: &Api, command: ApiCommand) -> anyhow::Result<String> {
    match command {
        ApiCommand::Projects { command } => projects(api, command).await,
        ApiCommand::Environments { command } => environments(api, command).await,
        ApiCommand::Flags { command } => flags(api, command).await,
        ApiCommand::Segments { command } => segments(api, command).await,
        ApiCommand::SdkKeys { command } => sdk_keys(api, command).await,
        ApiCommand::ApiKeys { command } => api_keys(api, command).await,
        ApiCommand::Audit { limit, follow, out } => audit(api, limit, follow, out).await,
    }
}

async fn projects(api: &Api, command: ProjectsCommand) -> anyhow::Result<String> {
    match command {
        ProjectsCommand::List { archived, out } => {
            let items = api.all(&archived.path("/v1/projects")).await?;
            list(out, &items, &["KEY", "NAME", "ARCHIVED", "CREATED"], |p| {
                vec![
                    text(&p["key"]),
                    text(&p["name"]),
                    yes_no(&p["archived"]),
                    text(&p["createdAt"]),
                ]
            })
        }
        ProjectsCommand::Create {
            key,
            name,
            description,
        } => {
            let body = json!({"key": key, "name": name.unwrap_or_else(|| key.clone()), "description": description});
            let created = api.ok(Method::POST, "/v1/projects", Some(body)).await?;
            Ok(format!("created project {}\n", text(&created["key"])))
        }
        ProjectsCommand::Archive { key } => {
            api.ok(
                Method::POST,
                &format!("/v1/projects/{}/archive", encode(&key)),
                None,
            )
            .await?;
            Ok(format!("archived project {key}\n"))
        }
    }
}

async fn environments(api: &Api, command: EnvironmentsCommand) -> anyhow::Result<String> {
    let base = |p: &str| format!("/v1/projects/{}/environments", encode(p));
    match command {
        EnvironmentsCommand::List {
            project,
            archived,
            out,
        } => {
            let items = api.all(&archived.path(&base(&project))).await?;
            list(
                out,
                &items,
                &["KEY", "NAME", "EDGE NAME", "SNAPSHOT", "ARCHIVED"],
                |e| {
                    vec![
                        text(&e["key"]),
                        text(&e["name"]),
                        text(&e["edgeName"]),
                        e["snapshotVersion"].to_string(),
                        yes_no(&e["archived"]),
                    ]
                },
            )
        }
        EnvironmentsCommand::Create { project, key, name } => {
            let body = json!({"key": key, "name": name.unwrap_or_else(|| key.clone())});
            let created = api.ok(Method::POST, &base(&project), Some(body)).await?;
            Ok(format!(
                "created environment {} (edge name {})\n",
                text(&created["key"]),
                text(&created["edgeName"])
            ))
        }
        EnvironmentsCommand::Archive { project, key } => {
            api.ok(
                Method::POST,
                &format!("{}/{}/archive", base(&project), encode(&key)),
                None,
            )
            .await?;
            Ok(format!("archived environment {key}\n"))
        }
        EnvironmentsCommand::Restore { project, key } => {
            api.ok(
                Method::POST,
                &format!("{}/{}/restore", base(&project), encode(&key)),
                None,
            )
            .await?;
            Ok(format!("restored environment {key}\n"))
        }
    }
}

async fn flags(api: &Api, command: FlagsCommand) -> anyhow::Result<String> {
    let base = |p: &str| format!("/v1/projects/{}/flags", encode(p));
    let one = |p: &str, f: &str| format!("/v1/projects/{}/flags/{}", encode(p), encode(f));
    match command {
        FlagsCommand::List {
            project,
            archived,
            out,
        } => {
            let items = api.all(&archived.path(&base(&project))).await?;
            list(
                out,
                &items,
                &["KEY", "TYPE", "VERSION", "ENVIRONMENTS", "TAGS"],
                |f| {
                    vec![
                        text(&f["key"]),
                        text(&f["type"]),
                        f["version"].to_string(),
                        env_states(f),
                        strings(&f["tags"]).join(","),
                    ]
                },
            )
        }
        FlagsCommand::Show { project, flag, out } => {
            let f = api.ok(Method::GET, &one(&project, &flag), None).await?;
            if out.json {
                return pretty(&f);
            }
            let mut s = format!(
                "{} ({}), {}, version {}{}\n",
                text(&f["key"]),
                text(&f["name"]),
                text(&f["type"]),
                f["version"],
                if f["archived"] == json!(true) {
                    ", archived"
                } else {
                    ""
                }
            );
            s.push_str("variations:\n");
            for v in f["variations"].as_array().into_iter().flatten() {
                let _ = writeln!(s, "  {:<20} {}", text(&v["key"]), v["value"]);
            }
            s.push_str("environments:\n");
            for (env, c) in f["environments"].as_object().into_iter().flatten() {
                let _ = writeln!(
                    s,
                    "  {:<20} {:<4} {} targets, {} rules, default {}",
                    env,
                    if c["enabled"] == json!(true) {
                        "on"
                    } else {
                        "off"
                    },
                    c["targets"].as_array().map_or(0, Vec::len),
                    c["rules"].as_array().map_or(0, Vec::len),
                    serve(&c["defaultRule"])
                );
            }
            Ok(s)
        }
        FlagsCommand::Create { project, file } => {
            let created = api
                .ok(Method::POST, &base(&project), Some(read_json(&file)?))
                .await?;
            Ok(format!(
                "created {} (version {})\n",
                text(&created["key"]),
                created["version"]
            ))
        }
        FlagsCommand::Rules {
            project,
            flag,
            env,
            file,
        } => {
            let path = format!("{}/environments/{}", one(&project, &flag), encode(&env));
            let saved = api.ok(Method::PUT, &path, Some(read_json(&file)?)).await?;
            Ok(format!(
                "{flag} in {env}: targeting replaced (version {})\n",
                saved["version"]
            ))
        }
        FlagsCommand::Rollout {
            project,
            flag,
            env,
            percent,
        } => {
            let weight = rollout_weight(percent)?;
            let path = one(&project, &flag);
            let current = api.ok(Method::GET, &path, None).await?;
            let mut config = current["environments"][&env].clone();
            if config.is_null() {
                anyhow::bail!("flag `{flag}` has no environment `{env}`");
            }
            let on = current["variations"][0]["key"].clone();
            let off = config["offVariation"].clone();
            config["defaultRule"] = json!({"rollout": {"variations": [
                {"variation": on, "weight": weight}, {"variation": off, "weight": 100_000 - weight}]}});
            let result = api
                .ok(
                    Method::PUT,
                    &format!("{path}/environments/{}", encode(&env)),
                    Some(config),
                )
                .await?;
            Ok(format!(
                "{flag} in {env}: {percent}% get {} (version {})\n",
                text(&on),
                result["version"]
            ))
        }
        FlagsCommand::Toggle {
            project,
            flag,
            env,
            off,
        } => {
            let path = format!(
                "{}/environments/{}/toggle",
                one(&project, &flag),
                encode(&env)
            );
            let result = api
                .ok(Method::POST, &path, Some(json!({"enabled": !off})))
                .await?;
            Ok(format!(
                "{flag} in {env}: {} (version {})\n",
                if off { "off" } else { "on" },
                result["version"]
            ))
        }
        FlagsCommand::Archive { project, flag } => {
            api.ok(
                Method::POST,
                &format!("{}/archive", one(&project, &flag)),
                None,
            )
            .await?;
            Ok(format!("archived flag {flag}\n"))
        }
        FlagsCommand::Restore { project, flag } => {
            api.ok(
                Method::POST,
                &format!("{}/restore", one(&project, &flag)),
                None,
            )
            .await?;
            Ok(format!("restored flag {flag}\n"))
        }
        FlagsCommand::Usage {
            project,
            flag,
            args,
        } => usage_cli::usage(api, &project, &flag, &args).await,
        FlagsCommand::Stale { project, days, out } => {
            usage_cli::stale(api, &project, days, out.json).await
        }
        FlagsCommand::Export { project } => {
            pretty(&json!({"flags": api.all(&base(&project)).await?}))
        }
        FlagsCommand::Import { project, file } => {
            let doc = read_json(&file)?;
            let flags = doc["flags"].as_array().with_context(|| {
                format!(
                    "{}: expected an export, {{\"flags\": [...]}}",
                    file.display()
                )
            })?;
            for (i, flag) in flags.iter().enumerate() {
                let mut body = flag.clone();
                if let Some(map) = body.as_object_mut() {
                    for field in ["version", "archived", "createdAt", "updatedAt"] {
                        map.remove(field);
                    }
                }
                let key = text(&flag["key"]);
                api.ok(Method::POST, &base(&project), Some(body))
                    .await
                    .with_context(|| {
                        format!("importing flag {} of {} (`{key}`)", i + 1, flags.len())
                    })?;
                eprintln!("[{}/{}] {key}", i + 1, flags.len());
            }
            Ok(format!("imported {} flags into {project}\n", flags.len()))
        }
    }
}

async fn segments(api: &Api, command: SegmentsCommand) -> anyhow::Result<String> {
    let base = |p: &str| format!("/v1/projects/{}/segments", encode(p));
    match command {
        SegmentsCommand::List {
            project,
            archived,
            out,
        } => {
            let items = api.all(&archived.path(&base(&project))).await?;
            list(
                out,
                &items,
                &["KEY", "NAME", "INCLUDED", "EXCLUDED", "RULES", "ARCHIVED"],
                |s| {
                    let count = |v: &Value| v.as_array().map_or(0, Vec::len).to_string();
                    vec![
                        text(&s["key"]),
                        text(&s["name"]),
                        count(&s["included"]),
                        count(&s["excluded"]),
                        count(&s["rules"]),
                        yes_no(&s["archived"]),
                    ]
                },
            )
        }
        SegmentsCommand::Show { project, segment } => pretty(
            &api.ok(
                Method::GET,
                &format!("{}/{}", base(&project), encode(&segment)),
                None,
            )
            .await?,
        ),
        SegmentsCommand::Create { project, file } => {
            let created = api
                .ok(Method::POST, &base(&project), Some(read_json(&file)?))
                .await?;
            Ok(format!(
                "created segment {} (version {})\n",
                text(&created["key"]),
                created["version"]
            ))
        }
        SegmentsCommand::Archive { project, segment } => {
            api.ok(
                Method::POST,
                &format!("{}/{}/archive", base(&project), encode(&segment)),
                None,
            )
            .await?;
            Ok(format!("archived segment {segment}\n"))
        }
    }
}

async fn sdk_keys(api: &Api, command: SdkKeysCommand) -> anyhow::Result<String> {
    let base = |p: &str, e: &str| {
        format!(
            "/v1/projects/{}/environments/{}/sdk-keys",
            encode(p),
            encode(e)
        )
    };
    match command {
        SdkKeysCommand::List { project, env, out } => {
            let items = api.all(&base(&project, &env)).await?;
            list(
                out,
                &items,
                &["ID", "KIND", "PREFIX", "CREATED", "EXPIRES"],
                |k| {
                    vec![
                        text(&k["id"]),
                        text(&k["kind"]),
                        text(&k["prefix"]),
                        text(&k["createdAt"]),
                        k["expiresAt"].as_str().unwrap_or("-").to_string(),
                    ]
                },
            )
        }
        SdkKeysCommand::Create { project, env, kind } => {
            let created = api
                .ok(
                    Method::POST,
                    &base(&project, &env),
                    Some(json!({"kind": kind})),
                )
                .await?;
            Ok(secret_once("SDK key", &created))
        }
        SdkKeysCommand::Rotate {
            project,
            env,
            id,
            grace_seconds,
        } => {
            let path = format!("{}/{}/rotate", base(&project, &env), encode(&id));
            let created = api
                .ok(
                    Method::POST,
                    &path,
                    Some(json!({"graceSeconds": grace_seconds})),
                )
                .await?;
            Ok(secret_once("replacement SDK key", &created))
        }
        SdkKeysCommand::Revoke { project, env, id } => {
            api.ok(
                Method::POST,
                &format!("{}/{}/revoke", base(&project, &env), encode(&id)),
                None,
            )
            .await?;
            Ok(format!("revoked SDK key {id}\n"))
        }
    }
}

async fn api_keys(api: &Api, command: ApiKeysCommand) -> anyhow::Result<String> {
    match command {
        ApiKeysCommand::List { out } => {
            let items = api.all("/v1/api-keys").await?;
            list(
                out,
                &items,
                &["ID", "NAME", "ROLE", "PREFIX", "CREATED"],
                |k| {
                    vec![
                        text(&k["id"]),
                        text(&k["name"]),
                        text(&k["role"]),
                        text(&k["prefix"]),
                        text(&k["createdAt"]),
                    ]
                },
            )
        }
        ApiKeysCommand::Create { name, role } => {
            let created = api
                .ok(
                    Method::POST,
                    "/v1/api-keys",
                    Some(json!({"name": name, "role": role})),
                )
                .await?;
            Ok(secret_once("API key", &created))
        }
        ApiKeysCommand::Revoke { id } => {
            api.ok(
                Method::DELETE,
                &format!("/v1/api-keys/{}", encode(&id)),
                None,
            )
            .await?;
            Ok(format!("revoked API key {id}\n"))
        }
    }
}

async fn audit(api: &Api, limit: u32, follow: bool, out: Output) -> anyhow::Result<String> {
    let page = api
        .ok(Method::GET, &format!("/v1/audit?limit={limit}"), None)
        .await?;
    let mut items: Vec<Value> = page["items"].as_array().cloned().unwrap_or_default();
    items.reverse();
    let mut last = items.last().and_then(|i| i["id"].as_i64()).unwrap_or(0);
    let print = |items: &[Value]| -> anyhow::Result<String> {
        if out.json {
            return Ok(items.iter().map(|i| format!("{i}\n")).collect());
        }
        list(
            Output::default(),
            items,
            &["AT", "ACTION", "RESOURCE", "ACTOR"],
            |i| {
                vec![
                    text(&i["at"]),
                    text(&i["action"]),
                    text(&i["resource"]),
                    text(&i["actor"]),
                ]
            },
        )
    };
    if !follow {
        return print(&items);
    }
    // Following prints as it goes; nothing is left to return.
    print!("{}", print(&items)?);
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        let page = api.ok(Method::GET, "/v1/audit?limit=100", None).await?;
        let mut fresh: Vec<Value> = page["items"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|i| i["id"].as_i64().unwrap_or(0) > last)
            .collect();
        fresh.reverse();
        if let Some(id) = fresh.last().and_then(|i| i["id"].as_i64()) {
            last = id;
            if out.json {
                print!("{}", print(&fresh)?);
            } else {
                for item in &fresh {
                    println!(
                        "{}  {}  {}  {}",
                        text(&item["at"]),
                        text(&item["action"]),
                        text(&item["resource"]),
                        text(&item["actor"])
                    );
                }
            }
        }
    }
}

/// A table of `items` (or their JSON with `--json`).
fn list(
    out: Output,
    items: &[Value],
    header: &[&str],
    row: impl Fn(&Value) -> Vec<String>,
) -> anyhow::Result<String> {
    if out.json {
        return pretty(&json!({ "items": items }));
    }
    let mut table = Table::new();
    table.load_style(NOTHING).set_header(header.iter().copied());
    for item in items {
        table.add_row(row(item));
    }
    for column in table.column_iter_mut() {
        column.set_padding((0, 2));
    }
    let mut s = table.trim_fmt();
    s.push('\n');
    Ok(s)
}

fn pretty(value: &Value) -> anyhow::Result<String> {
    Ok(serde_json::to_string_pretty(value)? + "\n")
}

fn secret_once(what: &str, created: &Value) -> String {
    format!(
        "{what} {} ({}) created; its secret, shown once:\n{}\n",
        text(&created["id"]),
        created["kind"]
            .as_str()
            .or_else(|| created["role"].as_str())
            .unwrap_or(""),
        text(&created["secret"])
    )
}

fn read_json(file: &PathBuf) -> anyhow::Result<Value> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not JSON", file.display()))
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or("").to_string()
}

fn yes_no(value: &Value) -> String {
    if value == &json!(true) { "yes" } else { "no" }.to_string()
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect()
}

/// `production=on staging=off`.
fn env_states(flag: &Value) -> String {
    let states: Vec<String> = flag["environments"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| {
            format!(
                "{k}={}",
                if v["enabled"] == json!(true) {
                    "on"
                } else {
                    "off"
                }
            )
        })
        .collect();
    states.join(" ")
}

/// What a rule serves: a variation, or a rollout's shares in percent.
fn serve(rule: &Value) -> String {
    if let Some(v) = rule["variation"].as_str() {
        return v.to_string();
    }
    let shares: Vec<String> = rule["rollout"]["variations"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|w| {
            format!(
                "{} {}%",
                text(&w["variation"]),
                w["weight"].as_f64().unwrap_or(0.0) / 1000.0
            )
        })
        .collect();
    if shares.is_empty() {
        "-".into()
    } else {
        format!("rollout {}", shares.join(", "))
    }
}

/// Percent to rollout weight (units of 1/100,000).
fn rollout_weight(percent: f64) -> anyhow::Result<u32> {
    if !(0.0..=100.0).contains(&percent) {
        anyhow::bail!("percent must be between 0 and 100, not {percent}");
    }
    // In range by the check above, so the cast cannot truncate.
    Ok((percent * 1000.0).round() as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rollout_weights_are_thousandths_of_a_percent() {
        assert_eq!(rollout_weight(12.5).unwrap(), 12_500);
        assert_eq!(rollout_weight(100.0).unwrap(), 100_000);
        assert!(rollout_weight(100.5).is_err());
        assert!(rollout_weight(-1.0).is_err());
    }

    #[test]
    fn tables_align_columns_and_json_keeps_every_field() {
        let items = vec![
            json!({"key": "a", "name": "Alpha", "extra": 1}),
            json!({"key": "longer-key", "name": "B"}),
        ];
        let table = list(Output::default(), &items, &["KEY", "NAME"], |p| {
            vec![text(&p["key"]), text(&p["name"])]
        })
        .unwrap();
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 3, "{table}");
        assert_eq!(lines[0].find("NAME"), lines[1].find("Alpha"), "{table}");
        let json = list(Output { json: true }, &items, &["KEY"], |_| vec![]).unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(&json).unwrap()["items"][0]["extra"],
            1
        );
    }
}
