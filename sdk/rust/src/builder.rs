//! Configuring and starting a [`Client`].

use std::{path::PathBuf, sync::Arc, time::Duration};

use edgeflag_engine::{
    accept::{self, Policy},
    envelope::{KeySet, VerifyingKey},
};
use tokio::sync::{Notify, watch};

use crate::{
    Client, Error,
    client::{Clock, Inner, refresh_loop},
    events::Listeners,
    live::{self, LiveState},
    source::Source,
    store::{self, Current, Store},
};

/// How often the background task asks the edge for a newer snapshot, by default.
pub const DEFAULT_REFRESH_INTERVAL: Duration = Duration::from_secs(30);

/// How long one request to the edge may take, by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Configures a [`Client`]. Online: [`url`](Self::url) and
/// [`server_key`](Self::server_key). Offline: a [`bootstrap`](Self::bootstrap) snapshot
/// and pinned keys ([`jwks`](Self::jwks)). Both: start from the bootstrap, refresh from
/// the edge behind it.
#[derive(Clone)]
pub struct ClientBuilder {
    url: Option<String>,
    server_key: Option<String>,
    jwks: Vec<String>,
    keys: Vec<VerifyingKey>,
    environment: Option<String>,
    bootstrap: Option<Bootstrap>,
    refresh_interval: Duration,
    live_updates: bool,
    timeout: Duration,
    http: Option<reqwest::Client>,
    clock: Option<Clock>,
}

#[derive(Debug, Clone)]
enum Bootstrap {
    Token(String),
    File(PathBuf),
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("url", &self.url)
            .field("server_key", &self.server_key.as_ref().map(|_| "…"))
            .field("pinned_keys", &(self.jwks.len() + self.keys.len()))
            .field("environment", &self.environment)
            .field("bootstrap", &self.bootstrap.is_some())
            .field("refresh_interval", &self.refresh_interval)
            .field("live_updates", &self.live_updates)
            .finish_non_exhaustive()
    }
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self {
            url: None,
            server_key: None,
            jwks: Vec::new(),
            keys: Vec::new(),
            environment: None,
            bootstrap: None,
            refresh_interval: DEFAULT_REFRESH_INTERVAL,
            live_updates: true,
            timeout: DEFAULT_TIMEOUT,
            http: None,
            clock: None,
        }
    }
}

impl Client {
    /// Starts configuring a client.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }
}

impl ClientBuilder {
    /// The edge's base URL, e.g. `https://flags.example.com`.
    #[must_use]
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.url = Some(url.into());
        self
    }

    /// The environment's server key. It is sent in `Authorization`, never in a URL.
    #[must_use]
    pub fn server_key(mut self, key: impl Into<String>) -> Self {
        self.server_key = Some(key.into());
        self
    }

    /// Pins the publisher keys of a JWKS document (the admin's `edgeflag jwks`). With
    /// pinned keys the client never trusts a key it learns from the network; without
    /// any, it trusts the edge's `/.well-known/jwks.json`.
    #[must_use]
    pub fn jwks(mut self, jwks_json: impl Into<String>) -> Self {
        self.jwks.push(jwks_json.into());
        self
    }

    /// Pins one publisher key.
    #[must_use]
    pub fn verifying_key(mut self, key: VerifyingKey) -> Self {
        self.keys.push(key);
        self
    }

    /// Refuses snapshots of any other environment (the edge's name, e.g. `shop-production`).
    #[must_use]
    pub fn environment(mut self, environment: impl Into<String>) -> Self {
        self.environment = Some(environment.into());
        self
    }

    /// A signed server snapshot (compact JWS) to start from without a round trip, or
    /// with no network at all.
    #[must_use]
    pub fn bootstrap(mut self, token: impl Into<String>) -> Self {
        self.bootstrap = Some(Bootstrap::Token(token.into()));
        self
    }

    /// Like [`bootstrap`](Self::bootstrap), read from a file (what `GET /v1/snapshot`
    /// answered, saved as is).
    #[must_use]
    pub fn bootstrap_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.bootstrap = Some(Bootstrap::File(path.into()));
        self
    }

    /// How often to ask the edge for a newer snapshot; [`Duration::ZERO`] turns the
    /// background refresh off (call [`Client::refresh`] yourself). Default 30 s.
    #[must_use]
    pub fn refresh_interval(mut self, every: Duration) -> Self {
        self.refresh_interval = every;
        self
    }

    /// Whether to follow the edge's live-update stream (on by default): an edit reaches
    /// the client as soon as the edge stores it, rather than at the next poll. Polling
    /// goes on at [`refresh_interval`](Self::refresh_interval) as the fallback; with an
    /// interval of zero the stream alone drives refreshes. An edge that names no stream
    /// (the Spin app) leaves the client polling.
    #[must_use]
    pub fn live_updates(mut self, on: bool) -> Self {
        self.live_updates = on;
        self
    }

    /// How long one request to the edge may take. Default 10 s.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The HTTP client to use (proxies, TLS roots); its own timeout applies.
    #[must_use]
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    /// The clock evaluations use, in epoch milliseconds (for tests, or a coarser clock).
    #[must_use]
    pub fn clock(mut self, clock: impl Fn() -> i64 + Send + Sync + 'static) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// Starts the client: trusts its keys, accepts a first verified snapshot (the
    /// bootstrap, else one fetched from the edge) and spawns the background refresh on
    /// the current tokio runtime. Fails if no snapshot could be verified: a client
    /// never evaluates from anything else.
    pub async fn build(self) -> Result<Client, Error> {
        let source = self.source()?;
        let mut keys = self.pinned_keys()?;
        let trusts_edge_jwks = keys.is_empty();
        if trusts_edge_jwks {
            let source = source.as_ref().ok_or_else(|| {
                Error::Config(
                    "an offline client needs pinned keys (`jwks` or `verifying_key`)".into(),
                )
            })?;
            for key in source.jwks().await? {
                keys.push(key);
            }
        }
        let policy = Policy::server(self.environment.as_deref().unwrap_or_default());
        let from_bootstrap = match self.bootstrap_token()? {
            Some(token) => match store::accept_first(&token, &keys, &policy) {
                Ok(current) => Some(current),
                // With an edge to fall back on, a stale or bad bootstrap is not fatal.
                Err(_) if source.is_some() => None,
                Err(e) => return Err(e),
            },
            None => None,
        };
        let bootstrapped = from_bootstrap.is_some();
        let first = match (from_bootstrap, &source) {
            (Some(current), _) => current,
            (None, Some(source)) => {
                first_fetch(source, &mut keys, &policy, trusts_edge_jwks).await?
            }
            (None, None) => {
                return Err(Error::Config(
                    "give a `bootstrap` snapshot, or a `url` and a `server_key`".into(),
                ));
            }
        };
        let online = source.is_some();
        let inner = Arc::new(Inner {
            store: Store::new(first, keys, policy),
            source,
            trusts_edge_jwks,
            clock: self.clock,
            listeners: Listeners::new(),
            wake: Notify::new(),
            live: LiveState::default(),
            closed: watch::Sender::new(false),
            runtime: tokio::runtime::Handle::try_current().ok(),
        });
        let every = (!self.refresh_interval.is_zero()).then_some(self.refresh_interval);
        let live = online && self.live_updates;
        if online && (every.is_some() || bootstrapped || live) {
            // Started from a bootstrap: fetch at once behind it, so it serves only until then.
            tokio::spawn(refresh_loop(inner.clone(), every, bootstrapped));
        }
        if live {
            tokio::spawn(live::follow(inner.clone()));
        }
        Ok(Client::from_inner(inner))
    }

    /// [`build`](Self::build) for programs without an async runtime (and the Python
    /// package): the client gets a thread of its own, named `edgeflag-refresh`, running
    /// a single-threaded tokio runtime for its requests, until it is closed or dropped.
    pub fn build_blocking(self) -> Result<Client, Error> {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("edgeflag-refresh".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(e) => {
                        let _ = tx.send(Err(Error::Config(format!("cannot start a runtime: {e}"))));
                        return;
                    }
                };
                runtime.block_on(async move {
                    match self.build().await {
                        Ok(client) => {
                            let inner = client.inner_arc();
                            let mut closed = inner.closed.subscribe();
                            if tx.send(Ok(client)).is_ok() {
                                // Serve the refresh task until the client is closed or dropped.
                                let _ = closed.wait_for(|c| *c).await;
                            }
                        }
                        Err(e) => {
                            let _ = tx.send(Err(e));
                        }
                    }
                });
            })
            .map_err(|e| Error::Config(format!("cannot start the refresh thread: {e}")))?;
        rx.recv().map_err(|_| {
            Error::Config("the refresh thread stopped before the client started".into())
        })?
    }

    fn source(&self) -> Result<Option<Source>, Error> {
        match (&self.url, &self.server_key) {
            (Some(url), Some(key)) => {
                let http = match &self.http {
                    Some(http) => http.clone(),
                    None => reqwest::Client::builder()
                        .timeout(self.timeout)
                        .user_agent(concat!("edgeflag-rust/", env!("CARGO_PKG_VERSION")))
                        .build()
                        .map_err(|e| Error::Config(format!("HTTP client: {e}")))?,
                };
                Ok(Some(Source::new(url, key, http)))
            }
            (None, None) => Ok(None),
            _ => Err(Error::Config(
                "give both `url` and `server_key`, or neither (offline, from a bootstrap)".into(),
            )),
        }
    }

    fn pinned_keys(&self) -> Result<KeySet, Error> {
        let mut keys = KeySet::default();
        for doc in &self.jwks {
            for key in accept::parse_jwks(doc.as_bytes())? {
                keys.push(key);
            }
        }
        for key in &self.keys {
            keys.push(key.clone());
        }
        Ok(keys)
    }

    fn bootstrap_token(&self) -> Result<Option<String>, Error> {
        match &self.bootstrap {
            None => Ok(None),
            Some(Bootstrap::Token(token)) => Ok(Some(token.clone())),
            Some(Bootstrap::File(path)) => {
                std::fs::read_to_string(path)
                    .map(Some)
                    .map_err(|e| Error::Bootstrap {
                        path: path.display().to_string(),
                        message: e.to_string(),
                    })
            }
        }
    }
}

/// The first snapshot from the edge; an unknown key makes a client that trusts the
/// edge's JWKS fetch it again once, as on every refresh.
async fn first_fetch(
    source: &Source,
    keys: &mut KeySet,
    policy: &Policy,
    trusts_edge_jwks: bool,
) -> Result<Current, Error> {
    let fetched = source
        .snapshot()
        .await?
        .ok_or_else(|| Error::Config("the edge answered 304 to a first request".into()))?;
    let current = match store::accept_first(&fetched.token, keys, policy) {
        Err(Error::Refused(e)) if e.is_unknown_key() && trusts_edge_jwks => {
            for key in source.jwks().await? {
                keys.push(key);
            }
            store::accept_first(&fetched.token, keys, policy)
        }
        other => other,
    }?;
    source.set_etag(fetched.etag);
    Ok(current)
}
