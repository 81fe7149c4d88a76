//! `edgeflag serve`'s lifecycle: take the SQLite file for this process alone, start the
//! background work (publisher, webhook deliverer, retention jobs), serve (HTTPS when
//! `tls` is configured, see `tls`), and on
//! SIGTERM or SIGINT shut down gracefully within `shutdown_timeout_secs`: stop
//! accepting connections, let in-flight requests finish, let the publisher finish its
//! delivery (or give back its claim), then close the pool.

use std::{fs::File, io::Write as _, path::PathBuf, time::Duration};

use anyhow::Context as _;
use axum::serve::ListenerExt as _;
use edgeflag_admin_core::{db::Backend, lease, masterkey, retention, usage_writer};
use tokio::{sync::watch, task::JoinHandle};

use crate::AppState;

/// Runs the server until a signal, then drains.
pub async fn run(state: AppState) -> anyhow::Result<()> {
    let lock = SqliteLock::take(&state.config.database_url)?;
    if lock.is_some() {
        // The only process: what a killed predecessor claimed is void, not left to expire.
        lease::void_all(&state.pool).await?;
        tracing::info!(
            "SQLite: this process serves the database alone; run several replicas on PostgreSQL"
        );
    }
    let (stop_tx, stop) = watch::channel(false);
    let background = spawn_background(&state, &stop);
    let listener = crate::tls::Incoming::bind(&state.config).await?;
    let tls = listener.is_tls();
    tracing::info!(address = %axum::serve::Listener::local_addr(&listener)?, tls, "edgeflag admin listening");
    let feed = state.feed.clone();
    // The peer address is what sign-in throttling counts per client. (`tap_io` with
    // nothing to do gives the listener axum's `ConnectInfo<SocketAddr>`.)
    let app =
        crate::router(state.clone()).into_make_service_with_connect_info::<std::net::SocketAddr>();
    let server = axum::serve(listener.tap_io(|_| {}), app).with_graceful_shutdown(async move {
        signal().await;
        tracing::info!("shutting down: no new connections; finishing requests and deliveries");
        let _ = stop_tx.send(true);
        // Open change-feed streams never end by themselves: end them, so draining does.
        feed.close();
    });
    let mut server = tokio::spawn(server.into_future());
    let mut stopped = stop.clone();
    tokio::select! {
        done = &mut server => return done.context("the server task")?.context("serving"),
        () = lease::stopped(&mut stopped) => {}
    }
    let deadline = Duration::from_secs(state.config.shutdown_timeout_secs);
    let drain = async {
        let served = (&mut server).await;
        for task in background {
            let _ = task.await;
        }
        served
    };
    match tokio::time::timeout(deadline, drain).await {
        Ok(served) => served.context("the server task")?.context("serving")?,
        Err(_) => {
            tracing::warn!(
                seconds = deadline.as_secs(),
                "shutdown deadline passed; abandoning what is still running"
            );
            server.abort();
            give_back(&state).await;
        }
    }
    state.pool.close().await;
    tracing::info!("drained; bye");
    Ok(())
}

fn spawn_background(state: &AppState, stop: &watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
    let config = &state.config;
    let mut tasks = vec![
        usage_writer::spawn_retention(
            state.pool.clone(),
            config.usage.clone(),
            state.usage.metrics.clone(),
            state.holder.clone(),
            stop.clone(),
        ),
        retention::spawn(
            state.pool.clone(),
            config.retention.clone(),
            state.holder.clone(),
            stop.clone(),
        ),
    ];
    if config.publish.enabled {
        tasks.push(state.publisher().spawn_until(stop.clone()));
    }
    if config.webhooks.enabled {
        tasks.push(state.deliverer().spawn_until(stop.clone()));
    }
    tasks
}

/// Gives back what the background tasks held when they were cut off, so other replicas
/// take it over at once instead of when it expires.
async fn give_back(state: &AppState) {
    if let Err(e) = lease::release_all(&state.pool, &state.holder).await {
        tracing::warn!(error = %e, "could not give back leases; they expire");
    }
    if let Err(e) = state.deliverer().release_claims().await {
        tracing::warn!(error = %e, "could not give back webhook claims; they expire");
    }
}

/// Resolves on SIGINT or SIGTERM.
async fn signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = term => {} }
}

/// An exclusive lock on `{database}.serve.lock` while a process serves a SQLite file:
/// two processes writing one SQLite file would each publish and deliver on their own.
/// The operating system releases it when the process ends, even by SIGKILL. The file
/// says who holds it, for the refusal a second process prints.
#[derive(Debug)]
pub struct SqliteLock {
    _file: File,
}

impl SqliteLock {
    /// Takes the lock of the SQLite file `database_url` names (nothing for
    /// PostgreSQL or an in-memory database), or says which process holds it.
    pub fn take(database_url: &str) -> anyhow::Result<Option<Self>> {
        if Backend::of(database_url) != Backend::Sqlite {
            return Ok(None);
        }
        let Some(db) = masterkey::sqlite_path(database_url) else {
            return Ok(None);
        };
        let path = lock_path(&db);
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let holder = std::fs::read_to_string(&path).unwrap_or_default();
                anyhow::bail!(
                    "another edgeflag process already serves the SQLite database {} ({}); \
                     SQLite is for one process: stop that one first, or move to PostgreSQL to run \
                     several replicas (docs/admin-config.md, \"Several replicas\")",
                    db.display(),
                    holder.trim()
                );
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("locking {}", path.display()));
            }
        }
        file.set_len(0)?;
        let holder = lease::Holder::this_process();
        writeln!(file, "pid {} on {}", std::process::id(), host_of(&holder))?;
        Ok(Some(Self { _file: file }))
    }
}

fn lock_path(db: &std::path::Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".serve.lock");
    PathBuf::from(name)
}

fn host_of(holder: &lease::Holder) -> &str {
    holder.as_str().split(':').next().unwrap_or("localhost")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_one_sqlite_file_is_refused_with_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/admin.db?mode=rwc", dir.path().display());
        let first = SqliteLock::take(&url).unwrap();
        assert!(first.is_some());
        let refusal = SqliteLock::take(&url).unwrap_err().to_string();
        assert!(refusal.contains("already serves"), "{refusal}");
        assert!(
            refusal.contains(&format!("pid {}", std::process::id())),
            "{refusal}"
        );
        drop(first);
        assert!(
            SqliteLock::take(&url).unwrap().is_some(),
            "released on drop"
        );
        assert!(SqliteLock::take("postgres://x/y").unwrap().is_none());
    }
}
