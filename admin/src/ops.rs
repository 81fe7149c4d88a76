//! Operators' commands that work on the database or the configuration as they are,
//! before the server's state exists: `backup`, `restore` and `config check`.

use std::{
    io::{BufReader, BufWriter, Write as _},
    path::{Path, PathBuf},
};

use anyhow::Context as _;
use clap::{Subcommand, ValueEnum};
use edgeflag_admin::{Config, config::redact_url, tls};
use edgeflag_admin_core::{backup, db, masterkey, signing};

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Read the file and the environment, check every value, and print the
    /// configuration in effect with its secrets replaced by `***`; exits non-zero,
    /// naming the key or variable, when something is wrong.
    Check {
        #[arg(long, value_enum, default_value_t = Format::Toml)]
        format: Format,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    Toml,
    Json,
}

pub fn config(config: &Config, command: &ConfigCommand) -> anyhow::Result<()> {
    let ConfigCommand::Check { format } = command;
    if let (Some(cert), Some(key)) = (&config.tls.cert_file, &config.tls.key_file) {
        tls::server_config(cert, key)?;
    }
    let tree = config.redacted();
    let text = match format {
        Format::Json => serde_json::to_string_pretty(&tree)?,
        Format::Toml => toml::to_string(&without_nulls(tree))?,
    };
    println!("{text}");
    eprintln!("configuration is valid");
    Ok(())
}

/// TOML has no null: an unset optional key is left out.
fn without_nulls(value: serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Object(map) => map
            .into_iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| (k, without_nulls(v)))
            .collect(),
        serde_json::Value::Array(items) => items.into_iter().map(without_nulls).collect(),
        other => other,
    }
}

pub async fn backup(config: &Config, out: &Path) -> anyhow::Result<()> {
    let pool = db::connect(&config.database_url).await?;
    let summary = if out == Path::new("-") {
        let mut stdout = std::io::stdout().lock();
        backup::write(&pool, &config.database_url, &mut stdout).await?
    } else {
        // Written next to the target and renamed, so a failed backup never leaves a
        // file that looks whole.
        let partial = PathBuf::from(format!("{}.partial", out.display()));
        let file = std::fs::File::create(&partial)
            .with_context(|| format!("cannot create {}", partial.display()))?;
        let mut writer = BufWriter::new(file);
        let summary = backup::write(&pool, &config.database_url, &mut writer).await?;
        writer.flush()?;
        writer.into_inner()?.sync_all()?;
        std::fs::rename(&partial, out)?;
        summary
    };
    eprintln!(
        "backup of {} written: {} tables, {} rows",
        redact_url(&config.database_url),
        summary.tables,
        summary.rows
    );
    Ok(())
}

pub async fn restore(config: &Config, file: &Path) -> anyhow::Result<()> {
    let pool = db::connect(&config.database_url).await?;
    db::migrate(&pool, &config.database_url).await?;
    let summary = if file == Path::new("-") {
        backup::restore(&pool, &config.database_url, std::io::stdin().lock()).await?
    } else {
        let input =
            std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
        backup::restore(&pool, &config.database_url, BufReader::new(input)).await?
    };
    eprintln!(
        "restored into {}: {} tables, {} rows",
        redact_url(&config.database_url),
        summary.tables,
        summary.rows
    );
    // The private keys came sealed: the master key configured here must open them.
    let (keyring, _) = masterkey::resolve(
        &config.database_url,
        config.master_key.as_ref().map(|k| k.expose()),
        config.master_key_file.as_deref(),
    )?;
    signing::prepare(&pool, &keyring).await.context(
        "the rows are restored, but the configured master key does not open the signing keys: \
         set EDGEFLAG_MASTER_KEY (or EDGEFLAG_MASTER_KEY_FILE) to the source's master key",
    )?;
    Ok(())
}
