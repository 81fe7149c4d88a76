//! The CLI commands that are more than a call into the library: publishing
//! everything, tailing the audit log, and the `flags` / `sdk-keys` groups, which act
//! through the router in-process (`edgeflag_admin::local::Local`) with `EDGEFLAG_API_KEY`, so
//! the CLI gets the same validation, roles and audit as any HTTP caller.

use std::path::PathBuf;

use anyhow::Context as _;
use axum::http::Method;
use clap::Subcommand;
use serde_json::json;

use edgeflag_admin::{
    AppState,
    local::Local,
    usage_cli::{self, UsageArgs},
};
use edgeflag_admin_core::{Role, api_keys, invitations, outbox, passwords, publisher, users};

/// The demo organization's owner, made by `seed-demo`.
pub const DEMO_OWNER: &str = "demo@example.com";

/// The first owner of an organization, made by `init --owner-email` or `seed-demo`.
#[derive(Debug)]
pub struct FirstOwner<'a> {
    pub org_key: &'a str,
    pub email: &'a str,
    pub name: Option<&'a str>,
    /// Invite instead of setting a password, on behalf of this API key (the org's first).
    pub invite_by: Option<&'a str>,
}

/// The local part of an email address, as a default name.
fn default_name(email: &str) -> &str {
    email.split('@').next().unwrap_or(email)
}

/// Makes the first owner and prints how they sign in: a generated password, or an
/// invitation link to open in a browser.
pub async fn first_owner(state: &AppState, owner: &FirstOwner<'_>) -> anyhow::Result<()> {
    let Some(key_id) = owner.invite_by else {
        return add_user(state, owner.org_key, owner.email, owner.name, Role::Owner).await;
    };
    let inviter = api_keys::actor(&state.pool, key_id)
        .await?
        .context("the organization's first key vanished")?;
    let invitation = invitations::create(
        &state.pool,
        &inviter,
        owner.email,
        Role::Owner,
        &state.config.accounts,
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let token = invitation.token.unwrap_or_default();
    let base = state
        .config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", state.config.listen));
    println!(
        "first owner {} invited; open this link (valid until {}) to choose a password:\n{base}/#/invitation/{token}",
        invitation.email, invitation.expires_at
    );
    Ok(())
}

/// Adds a person with a generated password and prints it once.
pub async fn add_user(
    state: &AppState,
    org: &str,
    email: &str,
    name: Option<&str>,
    role: Role,
) -> anyhow::Result<()> {
    let password = passwords::generate();
    let name = name.unwrap_or_else(|| default_name(email));
    users::add(
        &state.pool,
        org,
        email,
        name,
        &password,
        role,
        &state.config.accounts,
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("{} user: {}", role.as_str(), email.trim().to_lowercase());
    println!("password (shown once; change it after signing in): {password}");
    Ok(())
}

/// Sets a new generated password for a person and prints it once.
pub async fn reset_password(state: &AppState, email: &str) -> anyhow::Result<()> {
    let password = passwords::generate();
    users::reset_password(&state.pool, email, &password, &state.config.accounts)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!(
        "new password for {} (their sessions ended): {password}",
        email.trim().to_lowercase()
    );
    Ok(())
}

#[derive(Debug, Subcommand)]
pub enum SdkKeysCommand {
    List {
        project: String,
        env: String,
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
pub enum FlagsCommand {
    List {
        project: String,
    },
    /// Create one flag from a JSON file (the body of `POST /v1/projects/{p}/flags`).
    Create {
        project: String,
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
    /// Write every flag of a project as JSON to stdout.
    Export {
        project: String,
    },
    /// Create the flags of an export (JSON file) in a project.
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
        /// Print the API's JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

pub async fn publish_all(state: &AppState) -> anyhow::Result<()> {
    outbox::enqueue_all(&state.pool, "cli-publish").await?;
    state.publisher().tick().await?;
    for status in publisher::status_all(&state.pool, &state.config.publish).await? {
        println!("{status}");
    }
    Ok(())
}

fn api_key() -> anyhow::Result<String> {
    std::env::var("EDGEFLAG_API_KEY")
        .context("set EDGEFLAG_API_KEY to an API key of the organization")
}

pub async fn audit_tail(state: &AppState, limit: u32, follow: bool) -> anyhow::Result<()> {
    let secret = api_key()?;
    let api = Local::new(state, &secret);
    let page = api
        .ok(Method::GET, &format!("/v1/audit?limit={limit}"), None)
        .await?;
    let mut items: Vec<serde_json::Value> = page["items"].as_array().cloned().unwrap_or_default();
    items.reverse();
    let mut last = 0;
    for item in &items {
        print_audit(item);
        last = item["id"].as_i64().unwrap_or(last);
    }
    if !follow {
        return Ok(());
    }
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        let page = api.ok(Method::GET, "/v1/audit?limit=100", None).await?;
        let mut fresh: Vec<serde_json::Value> = page["items"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|i| i["id"].as_i64().unwrap_or(0) > last)
            .collect();
        fresh.reverse();
        for item in &fresh {
            print_audit(item);
            last = item["id"].as_i64().unwrap_or(last);
        }
    }
}

fn print_audit(item: &serde_json::Value) {
    println!(
        "{} {:<24} {:<40} {}",
        item["at"].as_str().unwrap_or(""),
        item["action"].as_str().unwrap_or(""),
        item["resource"].as_str().unwrap_or(""),
        item["actor"].as_str().unwrap_or("")
    );
}

pub async fn flags(state: &AppState, command: FlagsCommand) -> anyhow::Result<()> {
    let api = Local::new(state, &api_key()?);
    match command {
        FlagsCommand::List { project } => {
            for flag in all_flags(&api, &project).await? {
                let envs: Vec<String> = flag["environments"]
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
                println!(
                    "{:<32} v{:<4} {:<8} {}",
                    flag["key"].as_str().unwrap_or(""),
                    flag["version"],
                    flag["type"].as_str().unwrap_or(""),
                    envs.join(" ")
                );
            }
        }
        FlagsCommand::Toggle {
            project,
            flag,
            env,
            off,
        } => {
            let path = format!("/v1/projects/{project}/flags/{flag}/environments/{env}/toggle");
            let result = api
                .ok(Method::POST, &path, Some(json!({"enabled": !off})))
                .await?;
            println!(
                "{flag} in {env}: {} (version {})",
                if off { "off" } else { "on" },
                result["version"]
            );
        }
        FlagsCommand::Create { project, file } => {
            let body: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&file)?)?;
            let created = api
                .ok(
                    Method::POST,
                    &format!("/v1/projects/{project}/flags"),
                    Some(body),
                )
                .await?;
            println!(
                "created {} (version {})",
                created["key"].as_str().unwrap_or(""),
                created["version"]
            );
        }
        FlagsCommand::Rollout {
            project,
            flag,
            env,
            percent,
        } => {
            let path = format!("/v1/projects/{project}/flags/{flag}");
            let current = api.ok(Method::GET, &path, None).await?;
            let weight = rollout_weight(percent)?;
            let mut config = current["environments"][&env].clone();
            let on = current["variations"][0]["key"].clone();
            let off = config["offVariation"].clone();
            config["defaultRule"] = json!({"rollout": {"variations": [
                {"variation": on, "weight": weight}, {"variation": off, "weight": 100_000 - weight}]}});
            let result = api
                .ok(
                    Method::PUT,
                    &format!("{path}/environments/{env}"),
                    Some(config),
                )
                .await?;
            println!(
                "{flag} in {env}: {percent}% get {on} (version {})",
                result["version"]
            );
        }
        FlagsCommand::Usage {
            project,
            flag,
            args,
        } => print!("{}", usage_cli::usage(&api, &project, &flag, &args).await?),
        FlagsCommand::Stale {
            project,
            days,
            json,
        } => print!("{}", usage_cli::stale(&api, &project, days, json).await?),
        FlagsCommand::Export { project } => {
            println!(
                "{}",
                serde_json::to_string_pretty(&json!({"flags": all_flags(&api, &project).await?}))?
            );
        }
        FlagsCommand::Import { project, file } => {
            let text = std::fs::read_to_string(&file)?;
            let doc: serde_json::Value = serde_json::from_str(&text)?;
            let flags = doc["flags"].as_array().cloned().unwrap_or_default();
            for (i, flag) in flags.iter().enumerate() {
                let mut body = flag.clone();
                if let Some(map) = body.as_object_mut() {
                    for field in ["version", "archived", "createdAt", "updatedAt"] {
                        map.remove(field);
                    }
                }
                api.ok(
                    Method::POST,
                    &format!("/v1/projects/{project}/flags"),
                    Some(body),
                )
                .await?;
                eprintln!(
                    "[{}/{}] {}",
                    i + 1,
                    flags.len(),
                    flag["key"].as_str().unwrap_or("")
                );
            }
        }
    }
    Ok(())
}

pub async fn sdk_keys(state: &AppState, command: SdkKeysCommand) -> anyhow::Result<()> {
    let api = Local::new(state, &api_key()?);
    let base = |p: &str, e: &str| format!("/v1/projects/{p}/environments/{e}/sdk-keys");
    let result = match command {
        SdkKeysCommand::List { project, env } => {
            api.ok(Method::GET, &base(&project, &env), None).await?
        }
        SdkKeysCommand::Create { project, env, kind } => {
            api.ok(
                Method::POST,
                &base(&project, &env),
                Some(json!({"kind": kind})),
            )
            .await?
        }
        SdkKeysCommand::Rotate {
            project,
            env,
            id,
            grace_seconds,
        } => {
            let path = format!("{}/{id}/rotate", base(&project, &env));
            api.ok(
                Method::POST,
                &path,
                Some(json!({"graceSeconds": grace_seconds})),
            )
            .await?
        }
        SdkKeysCommand::Revoke { project, env, id } => {
            api.ok(
                Method::POST,
                &format!("{}/{id}/revoke", base(&project, &env)),
                None,
            )
            .await?
        }
    };
    println!("{}", serde_json::to_string_pretty(&result)?);
    Ok(())
}

async fn all_flags(api: &Local, project: &str) -> anyhow::Result<Vec<serde_json::Value>> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/v1/projects/{project}/flags?limit=200");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let page = api.ok(Method::GET, &path, None).await?;
        out.extend(page["items"].as_array().cloned().unwrap_or_default());
        match page["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return Ok(out),
        }
    }
}

/// Percent to rollout weight (units of 1/100,000).
fn rollout_weight(percent: f64) -> anyhow::Result<u32> {
    if !(0.0..=100.0).contains(&percent) {
        anyhow::bail!("percent must be between 0 and 100");
    }
    Ok((percent * 1000.0).round() as u32)
}

pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://***{}", &url[..scheme], &url[at..])
        }
        _ => url.to_string(),
    }
}
