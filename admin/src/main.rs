//! `edgeflag`: the admin server and its CLI in one binary. Configuration, pool,
//! migrations, serve — the rest lives in the library.

mod cli;
mod ops;

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use edgeflag_admin::{
    AppState, Config,
    client::{self, Api, Credentials},
    commands::{self, ApiCommand},
    telemetry,
};
use edgeflag_admin_core::{Role, db, masterkey, orgs, seed, signing};

#[derive(Debug, Parser)]
#[command(name = "edgeflag", version, about = "Edgeflag admin: server and CLI")]
struct Cli {
    /// Optional TOML configuration file; EDGEFLAG_* variables override it.
    #[arg(long, global = true, env = "EDGEFLAG_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the API and the background publisher.
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Create the database, an organization and its first owner API key (printed once),
    /// and with --owner-email its first owner: a person who signs in to the dashboard.
    /// The first owner API key is also an instance operator key.
    Init {
        #[arg(long, default_value = "default")]
        org_key: String,
        #[arg(long, default_value = "Default organization")]
        org_name: String,
        /// The first owner's email address; a password is generated and printed once.
        #[arg(long)]
        owner_email: Option<String>,
        /// The first owner's name (default: the email's local part).
        #[arg(long)]
        owner_name: Option<String>,
        /// Print an invitation link for --owner-email instead of a password.
        #[arg(long, requires = "owner_email")]
        invite: bool,
    },
    /// Create the demo organization, project, environment, flags and keys, and the demo
    /// owner `demo@example.com`; print the keys and the owner's password.
    SeedDemo,
    /// Add a person to an organization with a generated password (printed once).
    AddUser {
        #[arg(long, default_value = "default")]
        org: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long, default_value = "viewer")]
        role: String,
    },
    /// Give a person a new generated password (printed once) and end their sessions: the
    /// recovery for a forgotten password, by whoever runs the admin.
    ResetPassword {
        #[arg(long)]
        email: String,
    },
    /// Rebuild and deliver every environment now, then print each one's status.
    Publish,
    /// Print the JWKS an edge must trust (its EDGEFLAG_TRUSTED_KEYS): the instance key
    /// and every organization's snapshot keys.
    Jwks,
    /// Rotate an organization's snapshot signing key (the JWKS keeps the old key while
    /// edges need it).
    RotateSigningKey {
        /// The organization's key (as `init --org-key` set it).
        #[arg(long, default_value = "default")]
        org: String,
    },
    /// Rotate the instance key, which endorses organizations' keys at the edges.
    RotateInstanceKey,
    /// Print a new random master key (for EDGEFLAG_MASTER_KEY or its file).
    GenerateMasterKey,
    /// Store an admin's URL and an API key (read from stdin) for the commands below.
    Login {
        /// The admin's base URL, e.g. https://flags.example.com
        url: String,
    },
    /// Forget what `login` stored.
    Logout,
    /// Commands on an organization's data, through the API: of a running admin when
    /// EDGEFLAG_URL and EDGEFLAG_TOKEN are set or after `login`, else of the configured
    /// database with EDGEFLAG_API_KEY.
    #[command(flatten)]
    Api(ApiCommand),
    /// Write every table (organizations to audit) to one file (docs/backup.md).
    Backup {
        /// The file to write; `-` writes to stdout.
        #[arg(long)]
        out: PathBuf,
    },
    /// Read a backup into a new, empty database (SQLite or PostgreSQL): also the way
    /// to move from SQLite to PostgreSQL. The master key must be the source's.
    Restore {
        /// The backup file; `-` reads stdin.
        file: PathBuf,
    },
    /// Check the configuration.
    Config {
        #[command(subcommand)]
        command: ops::ConfigCommand,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // `serve` exports traces when configured, so its logging starts once the
    // configuration is read; every other command logs at once.
    let serving = matches!(cli.command, Command::Serve);
    if !serving {
        telemetry::init(None)?;
    }
    match cli.command {
        Command::GenerateMasterKey => {
            println!("{}", masterkey::Keyring::generate());
            return Ok(());
        }
        Command::Login { url } => {
            print!("{}", cli::login(&url).await?);
            return Ok(());
        }
        Command::Logout => {
            let removed = Credentials::remove()?;
            println!(
                "{}",
                if removed {
                    "logged out"
                } else {
                    "not logged in"
                }
            );
            return Ok(());
        }
        Command::Api(command) => {
            if let Some(remote) = client::remote_from_env()? {
                print!("{}", commands::run(&Api::Remote(remote), command).await?);
                return Ok(());
            }
            let key = cli::local_api_key()?;
            let config = Config::load(cli.config.as_deref())?;
            config.validate()?;
            let state = AppState::from_config(config).await?;
            print!(
                "{}",
                commands::run(&cli::local_api(&state, &key), command).await?
            );
            return Ok(());
        }
        _ => {}
    }
    let config = Config::load(cli.config.as_deref())?;
    config.validate()?;
    let telemetry = if serving {
        telemetry::init(Some(&config.telemetry))?
    } else {
        telemetry::Telemetry::default()
    };
    // These work on the database as it is, before the state below adds its keys.
    match &cli.command {
        Command::Backup { out } => return ops::backup(&config, out).await,
        Command::Restore { file } => return ops::restore(&config, file).await,
        Command::Config { command } => return ops::config(&config, command),
        _ => {}
    }
    if let Command::Migrate = cli.command {
        let pool = db::connect(&config.database_url).await?;
        db::migrate(&pool, &config.database_url).await?;
        println!(
            "migrations applied to {}",
            cli::redact(&config.database_url)
        );
        return Ok(());
    }
    let state = AppState::from_config(config).await?;
    match cli.command {
        Command::Serve => {
            let served = edgeflag_admin::serve::run(state).await;
            telemetry.shutdown();
            served
        }
        Command::Migrate => Ok(()),
        Command::Init {
            org_key,
            org_name,
            owner_email,
            owner_name,
            invite,
        } => {
            let org = orgs::bootstrap(&state.pool, &org_key, &org_name)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("organization `{org_key}` created.");
            if let Some(email) = owner_email {
                let owner = cli::FirstOwner {
                    org_key: &org_key,
                    email: &email,
                    name: owner_name.as_deref(),
                    invite_by: invite.then_some(org.owner_key_id.as_str()),
                };
                cli::first_owner(&state, &owner).await?;
            }
            // The key stays the last line: scripts read it from there.
            println!(
                "owner and instance operator API key (shown once, store it now):\n{}",
                org.owner_secret
            );
            Ok(())
        }
        Command::SeedDemo => {
            let keys = seed::demo(&state.pool).await?;
            println!("demo organization, project `demo`, environment `production` created.");
            let owner = cli::FirstOwner {
                org_key: "demo",
                email: cli::DEMO_OWNER,
                name: Some("Demo Owner"),
                invite_by: None,
            };
            cli::first_owner(&state, &owner).await?;
            println!("owner API key:  {}", keys.owner_api_key);
            println!("server SDK key: {}", keys.server_sdk_key);
            println!("client SDK key: {}", keys.client_sdk_key);
            Ok(())
        }
        Command::AddUser {
            org,
            email,
            name,
            role,
        } => {
            let role = Role::parse(&role).ok_or_else(|| {
                anyhow::anyhow!("`{role}` is not a role: viewer, editor, admin or owner")
            })?;
            cli::add_user(&state, &org, &email, name.as_deref(), role).await
        }
        Command::ResetPassword { email } => cli::reset_password(&state, &email).await,
        Command::Publish => cli::publish_all(&state).await,
        Command::Jwks => {
            println!(
                "{}",
                serde_json::to_string(&signing::jwks(&state.pool).await?)?
            );
            Ok(())
        }
        Command::RotateSigningKey { org } => {
            let id = orgs::id_by_key(&state.pool, &org).await?;
            let kid = signing::rotate(&state.pool, &state.keyring, &id).await?;
            println!(
                "new signing key `{kid}` of organization `{org}`; its environments are queued for republishing"
            );
            Ok(())
        }
        Command::RotateInstanceKey => {
            let kid = signing::rotate_instance(&state.pool, &state.keyring).await?;
            println!("new instance key `{kid}`; edges learn it at the next delivery");
            Ok(())
        }
        Command::GenerateMasterKey
        | Command::Login { .. }
        | Command::Logout
        | Command::Api(_)
        | Command::Backup { .. }
        | Command::Restore { .. }
        | Command::Config { .. } => Ok(()),
    }
}
