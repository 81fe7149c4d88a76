//! The database: one `AnyPool` over SQLite or PostgreSQL, chosen by URL.
//!
//! Why the Any driver rather than a storage trait with two implementations: the
//! schema is deliberately portable (text ids, epoch-millisecond integers, 0/1
//! booleans, JSON as text, `$n` placeholders, which sqlx's SQLite driver also
//! accepts), so one query text serves both databases and every query is written
//! once. Only the migrations differ, in `migrations/sqlite` and `migrations/postgres`.

use sqlx::{AnyPool, any::AnyPoolOptions, migrate::Migrator};

static SQLITE: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES: Migrator = sqlx::migrate!("migrations/postgres");

/// The database a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of(url: &str) -> Self {
        if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Self::Postgres
        } else {
            Self::Sqlite
        }
    }
}

/// Opens a pool. SQLite files are created when missing (`mode=rwc` is added).
pub async fn connect(url: &str) -> Result<AnyPool, sqlx::Error> {
    sqlx::any::install_default_drivers();
    let backend = Backend::of(url);
    let url = match backend {
        Backend::Sqlite if !url.contains("mode=") && !url.contains(":memory:") => {
            let sep = if url.contains('?') { '&' } else { '?' };
            format!("{url}{sep}mode=rwc")
        }
        _ => url.to_string(),
    };
    let max = if backend == Backend::Sqlite { 4 } else { 10 };
    let pool = AnyPoolOptions::new()
        .max_connections(max)
        .after_connect(move |conn, _| {
            Box::pin(async move {
                if backend == Backend::Sqlite {
                    // WAL lets readers run beside the one writer; the busy timeout
                    // makes concurrent writers wait instead of failing.
                    sqlx::query("PRAGMA journal_mode = WAL")
                        .execute(&mut *conn)
                        .await?;
                    sqlx::query("PRAGMA busy_timeout = 5000")
                        .execute(&mut *conn)
                        .await?;
                    sqlx::query("PRAGMA foreign_keys = ON")
                        .execute(&mut *conn)
                        .await?;
                }
                Ok(())
            })
        })
        .connect(&url)
        .await?;
    Ok(pool)
}

/// Applies the pending migrations of the pool's database.
pub async fn migrate(pool: &AnyPool, url: &str) -> Result<(), sqlx::migrate::MigrateError> {
    match Backend::of(url) {
        Backend::Sqlite => SQLITE.run(pool).await,
        Backend::Postgres => POSTGRES.run(pool).await,
    }
}

/// The newest migration this build knows for the database a URL names.
pub fn latest_migration(url: &str) -> i64 {
    let migrator = match Backend::of(url) {
        Backend::Sqlite => &SQLITE,
        Backend::Postgres => &POSTGRES,
    };
    migrator.iter().map(|m| m.version).max().unwrap_or(0)
}

/// Whether every migration this build knows is applied: readiness, since a replica
/// started before another one finished migrating must not take requests yet.
pub async fn migrations_applied(pool: &AnyPool, url: &str) -> Result<bool, sqlx::Error> {
    let applied: Option<i64> =
        sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(pool)
            .await?;
    Ok(applied.unwrap_or(0) >= latest_migration(url))
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A new random id with a readable prefix, e.g. `prj_3f9a…`.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", hex::encode(random_bytes::<10>()))
}

/// Random bytes from the operating system.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    // The OS RNG failing is not recoverable and does not happen on supported systems.
    getrandom::fill(&mut bytes).expect("the operating system's random number generator failed");
    bytes
}

/// RFC 3339 text for an epoch-millisecond time.
pub fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

pub fn bool_int(b: bool) -> i64 {
    i64::from(b)
}

/// Begins a transaction. On SQLite it is `BEGIN IMMEDIATE`: a deferred transaction
/// that reads and then writes cannot wait for another writer and fails with
/// "database is locked"; taking the write lock up front makes writers queue instead.
pub async fn begin(pool: &AnyPool) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
    if pool.connect_options().database_url.scheme() == "sqlite" {
        pool.begin_with("BEGIN IMMEDIATE").await
    } else {
        pool.begin().await
    }
}
