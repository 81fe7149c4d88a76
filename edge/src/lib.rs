//! The runtime-neutral edge of Edgeflag: everything the Cloudflare Worker and the
//! Spin app have in common. Routing, request parsing and limits, key checks by hash,
//! the per-isolate snapshot cache, publish checks, the OFREP and native response
//! shapes, CORS and error mapping all live here. An adapter supplies a [`Kv`], turns
//! its HTTP request into a [`Request`], calls [`Edge::handle`] with the clock, and
//! turns the [`Response`] back. Adapters hold no routing or evaluation logic.
//!
//! Surfaces (`docs/edge-api.md`): `POST /ofrep/v1/evaluate/flags[/{key}]`,
//! `GET|POST /v1/evaluate`, `GET /v1/flags`, `GET /v1/snapshot` (server SDKs),
//! `GET /.well-known/flags/{client-key}`,
//! `GET /.well-known/jwks.json`, `PUT /publish/v1/environments/{env}`,
//! `PUT /publish/v1/trusted-keys`, `GET /healthz`.

mod cached;
pub mod config;
pub mod error;
mod eval;
pub mod health;
pub mod http;
pub mod keys;
pub mod kv;
pub mod layout;
pub mod live;
mod ofrep;
pub mod publish;
pub mod sealed;
mod server_snapshot;
pub mod state;
pub mod trust;
pub mod trusted;
pub mod usage;

use std::sync::Arc;

pub use config::Config;
pub use error::{ApiError, Surface};
pub use http::{Request, Response};
use keys::KeyKind;
pub use kv::{Kv, KvError, MemoryKv};
use state::{Cache, EnvState};

/// One edge instance: configuration plus the isolate's cache. Create it once per
/// isolate (Worker) or per instance (Spin) and reuse it across requests.
#[derive(Debug)]
pub struct Edge {
    config: Config,
    cache: Cache,
    stream_urls: live::UrlCache,
    usage: usage::Usage,
}

impl Edge {
    pub fn new(config: Config) -> Self {
        Self::with_seed(config, "")
    }

    /// An edge whose usage batches are named from `seed`, which must differ between
    /// isolates (the adapters pass a random number) so their idempotency keys do.
    pub fn with_seed(config: Config, seed: &str) -> Self {
        Self {
            usage: usage::Usage::new(config.usage.clone(), seed),
            config,
            cache: Cache::new(),
            stream_urls: live::UrlCache::default(),
        }
    }

    /// Usage batches to send to the admin now, off the request path (usually none).
    /// A batch the admin did not acknowledge goes back through [`Edge::usage_retry`].
    pub fn usage_due(&self, now_ms: i64) -> Vec<usage::UsageBatch> {
        self.usage.due(now_ms, false)
    }

    /// The delay after which to call [`Self::usage_timer_fired`], when counts wait and
    /// no flush is scheduled yet (see [`usage::Usage::timer`]).
    pub fn usage_timer(&self, now_ms: i64) -> Option<i64> {
        self.usage.timer(now_ms)
    }

    /// The scheduled flush's batches.
    pub fn usage_timer_fired(&self, now_ms: i64) -> Vec<usage::UsageBatch> {
        self.usage.timer_fired(now_ms)
    }

    /// Every count now, whatever the interval (tests, shutdown).
    pub fn usage_flush(&self, now_ms: i64) -> Vec<usage::UsageBatch> {
        self.usage.due(now_ms, true)
    }

    /// Where nothing outlives a request (Spin): parks this instance's counts in the
    /// store after the response (`usage/parked.rs`).
    pub async fn usage_park(&self, kv: &impl Kv, now_ms: i64) -> Result<(), KvError> {
        usage::parked::park(&self.usage, kv, now_ms).await
    }

    /// Where nothing outlives a request: the parked counts due for sending (usually
    /// none; at most once every few seconds across instances).
    pub async fn usage_collect(
        &self,
        kv: &impl Kv,
        now_ms: i64,
    ) -> Result<Vec<usage::parked::Collected>, KvError> {
        usage::parked::collect(&self.usage, kv, now_ms).await
    }

    /// Records that the admin acknowledged every batch of `collected`.
    pub async fn usage_settle(
        &self,
        kv: &impl Kv,
        collected: &usage::parked::Collected,
    ) -> Result<(), KvError> {
        usage::parked::settle(kv, collected).await
    }

    /// Keeps an unacknowledged batch for the next send.
    pub fn usage_retry(&self, batch: usage::UsageBatch) {
        self.usage.retry(batch);
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Answers one request. `now_ms` is the host's clock (epoch milliseconds).
    pub async fn handle(&self, req: &Request, kv: &impl Kv, now_ms: i64) -> Response {
        let now_ms = self.clock(req, now_ms);
        if req.method == "OPTIONS" {
            return self.preflight(self.cors(Response::new(204)));
        }
        let response = self.route(req, kv, now_ms).await;
        self.cors(response)
    }

    async fn route(&self, req: &Request, kv: &impl Kv, now_ms: i64) -> Response {
        // No trailing-slash folding: `/ofrep/v1/evaluate/flags/` names the empty flag
        // key (answered FLAG_NOT_FOUND), not the bulk route.
        let segments: Vec<&str> = req.path.split('/').skip(1).collect();
        let max = self.config.max_body_bytes;
        match (req.method.as_str(), segments.as_slice()) {
            ("POST", ["ofrep", "v1", "evaluate", "flags"]) => {
                self.with_server_env(req, kv, now_ms, Surface::Ofrep, |state, hash| {
                    let streams = self.event_streams(req, state, hash, now_ms);
                    eval::ofrep_bulk(state, req, max, now_ms, streams, &self.usage)
                })
                .await
            }
            ("POST", ["ofrep", "v1", "evaluate", "flags", key]) => {
                if let Some(response) = self.sealed_single(req, key, kv, now_ms).await {
                    return response;
                }
                self.with_server_env(req, kv, now_ms, Surface::Ofrep, |state, hash| {
                    let streams = self.event_streams(req, state, hash, now_ms);
                    eval::ofrep_single(state, key, req, max, now_ms, streams, &self.usage)
                })
                .await
            }
            ("GET", ["v1", "events"]) => live::open(self.config.live.as_ref(), req, now_ms)
                .unwrap_or_else(|error| error.respond(Surface::Native)),
            ("GET" | "POST", ["v1", "evaluate"]) => {
                self.with_server_env(req, kv, now_ms, Surface::Native, |state, _| {
                    eval::native_evaluate(state, req, max, now_ms, &self.usage)
                })
                .await
            }
            ("GET", ["v1", "flags"]) => {
                self.with_server_env(req, kv, now_ms, Surface::Native, |state, _| {
                    eval::list_flags(state)
                })
                .await
            }
            ("GET", ["v1", "snapshot"]) => self.server_snapshot(req, kv, now_ms).await,
            ("GET", [".well-known", "flags", client_key]) => {
                self.client_snapshot(req, client_key, kv, now_ms).await
            }
            ("GET", [".well-known", "jwks.json"]) => self.jwks(kv).await,
            ("POST", ["v1", "usage", client_key]) => {
                self.sdk_usage(req, client_key, kv, now_ms).await
            }
            ("PUT", ["publish", "v1", "trusted-keys"]) => self.endorse(req, kv).await,
            ("PUT", ["publish", "v1", "environments", env]) => {
                self.publish(req, env, kv, now_ms).await
            }
            ("GET", ["healthz"]) => self.healthz(req, kv, now_ms).await,
            (_, ["ofrep", ..]) => {
                ApiError::new(405, "METHOD_NOT_ALLOWED", "OFREP evaluation uses POST")
                    .respond(Surface::Ofrep)
            }
            _ => ApiError::not_found(format!("no route for {} {}", req.method, req.path))
                .respond(Surface::Native),
        }
    }

    /// Authenticates a server key, loads its environment, and runs `answer` with the
    /// key's hash (made once per request).
    async fn with_server_env(
        &self,
        req: &Request,
        kv: &impl Kv,
        now_ms: i64,
        surface: Surface,
        answer: impl FnOnce(&EnvState, &str) -> Response,
    ) -> Response {
        let Some(secret) = bearer(req) else {
            return ApiError::unauthorized(
                "send the SDK key as `Authorization: Bearer <key>` or `X-API-Key`",
            )
            .respond(surface);
        };
        let hint = live::version_hint(req);
        let hash = keys::hash_key(&secret);
        match self
            .environment_for_hash(&hash, KeyKind::Server, kv, now_ms, hint)
            .await
        {
            Ok(state) => answer(&state, &hash),
            Err(error) => error.respond(surface),
        }
    }

    /// An OFREP single evaluation answered from the flag's sealed record (`sealed.rs`),
    /// when a seal secret is configured, the instance holds no compiled snapshot of the
    /// environment yet, and the records are intact and current. `None` (the full path
    /// answers) whenever anything is missing or refused, errors included: the full path
    /// is the one that explains them.
    async fn sealed_single(
        &self,
        req: &Request,
        flag: &str,
        kv: &impl Kv,
        now_ms: i64,
    ) -> Option<Response> {
        let seal = self.config.seal.as_ref()?;
        let hash = keys::hash_key(&bearer(req)?);
        let record = self
            .cache
            .key_record(&hash, kv, &self.config, now_ms)
            .await
            .ok()??;
        if self.cache.holds(&record.environment) {
            return None;
        }
        let state = sealed::open(&record.environment, flag, kv, seal, now_ms).await?;
        if live::version_hint(req).is_some_and(|wanted| wanted > state.version) {
            return None;
        }
        state::authorize(&state, &hash, KeyKind::Server, now_ms).ok()?;
        let streams = self.event_streams(req, &state, &hash, now_ms);
        let max = self.config.max_body_bytes;
        Some(eval::ofrep_single(
            &state,
            flag,
            req,
            max,
            now_ms,
            streams,
            &self.usage,
        ))
    }

    /// The stream URL for the caller's key (by its hash), when live updates are on.
    fn stream_url(
        &self,
        req: &Request,
        hash: &str,
        state: &EnvState,
        now_ms: i64,
    ) -> Option<String> {
        let live = self.config.live.as_ref()?;
        let url = self.stream_urls.get_or_mint(
            live,
            &req.origin,
            &state.environment,
            hash,
            state.version,
            now_ms,
        );
        Some(url)
    }

    /// The `eventStreams` member of an OFREP answer, when live updates are on.
    fn event_streams(
        &self,
        req: &Request,
        state: &EnvState,
        hash: &str,
        now_ms: i64,
    ) -> Option<serde_json::Value> {
        self.stream_url(req, hash, state, now_ms)
            .map(live::event_streams)
    }

    async fn environment_for(
        &self,
        secret: &str,
        kind: KeyKind,
        kv: &impl Kv,
        now_ms: i64,
        hint: Option<u64>,
    ) -> Result<Arc<EnvState>, ApiError> {
        let hash = keys::hash_key(secret);
        self.environment_for_hash(&hash, kind, kv, now_ms, hint)
            .await
    }

    async fn environment_for_hash(
        &self,
        hash: &str,
        kind: KeyKind,
        kv: &impl Kv,
        now_ms: i64,
        hint: Option<u64>,
    ) -> Result<Arc<EnvState>, ApiError> {
        let record = self
            .cache
            .key_record(hash, kv, &self.config, now_ms)
            .await?
            .ok_or_else(|| ApiError::unauthorized("unknown SDK key"))?;
        let state = self
            .cache
            .environment(&record.environment, kv, &self.config, now_ms, hint)
            .await?;
        state::authorize(&state, hash, kind, now_ms)?;
        Ok(state)
    }

    async fn client_snapshot(
        &self,
        req: &Request,
        client_key: &str,
        kv: &impl Kv,
        now_ms: i64,
    ) -> Response {
        let hash = keys::hash_key(client_key);
        match self
            .environment_for_hash(&hash, KeyKind::Client, kv, now_ms, live::version_hint(req))
            .await
        {
            Ok(state) => {
                let response = Response::new(200)
                    .with_header("content-type", "application/jose")
                    .with_header("cache-control", "public, max-age=30, must-revalidate")
                    .with_body(state.client_jws.as_bytes().to_vec());
                let response = eval::with_etag(req, response);
                match self.stream_url(req, &hash, &state, now_ms) {
                    Some(url) => response.with_header(live::STREAM_HEADER, &url),
                    None => response,
                }
            }
            Err(error) => error.respond(Surface::Native),
        }
    }

    /// `POST /v1/usage/{client-key}`: a browser SDK's counts of its local evaluations,
    /// added to the edge's own and forwarded with them. The key is in the path because
    /// `navigator.sendBeacon` cannot set headers; the body is JSON whatever its
    /// content type (a beacon sends `text/plain` to stay a simple CORS request).
    async fn sdk_usage(
        &self,
        req: &Request,
        client_key: &str,
        kv: &impl Kv,
        now_ms: i64,
    ) -> Response {
        let state = match self
            .environment_for(client_key, KeyKind::Client, kv, now_ms, None)
            .await
        {
            Ok(state) => state,
            Err(error) => return error.respond(Surface::Native),
        };
        match eval::sdk_report(req, self.config.max_body_bytes) {
            Ok(report) => {
                for c in &report.counts {
                    if (now_ms - c.time).abs() <= 7 * 24 * 3_600_000 {
                        self.usage.record(
                            &state.environment,
                            &c.flag,
                            c.variant.as_deref(),
                            &c.reason,
                            c.time,
                            c.count,
                        );
                    }
                }
                Response::json(
                    202,
                    &serde_json::json!({"accepted": report.counts.len(), "counting": self.usage.enabled()}),
                )
            }
            Err(error) => error.respond(Surface::Native),
        }
    }

    async fn jwks(&self, kv: &impl Kv) -> Response {
        match trusted::load(kv, &self.config.trusted_keys).await {
            Ok(keys) => Response::json(200, &keys.to_jwks())
                .with_header("cache-control", "public, max-age=300"),
            Err(error) => ApiError::unavailable(error).respond(Surface::Native),
        }
    }

    /// `GET /healthz`: the aggregate status for anyone, details with a credential
    /// (`health.rs` says which).
    async fn healthz(&self, req: &Request, kv: &impl Kv, now_ms: i64) -> Response {
        let mut environments = self.cache.health();
        let body = match bearer(req) {
            None => health::public(&environments),
            Some(token) if health::is_operator_token(&token) => {
                let trusted = match trusted::load(kv, &self.config.trusted_keys).await {
                    Ok(trusted) => trusted.instance_keys(),
                    Err(error) => return ApiError::unavailable(error).respond(Surface::Native),
                };
                if let Err(error) = health::verify_operator_token(&token, &trusted, now_ms) {
                    return error.respond(Surface::Native);
                }
                health::detailed(&environments)
            }
            Some(key) => match self
                .environment_for(&key, KeyKind::Server, kv, now_ms, None)
                .await
            {
                Ok(state) => {
                    environments = self.cache.health();
                    environments.retain(|env, _| *env == state.environment);
                    health::detailed(&environments)
                }
                Err(error) => return error.respond(Surface::Native),
            },
        };
        Response::json(200, &body).with_header("cache-control", "no-store")
    }

    /// The largest request body `method path` accepts. An adapter refuses a larger
    /// `Content-Length` before reading and stops reading a body at this size, so an
    /// oversized upload is never held in memory (`body_too_large` is the answer).
    pub fn body_limit(&self, method: &str, path: &str) -> usize {
        if method == "PUT" && path.starts_with("/publish/") {
            self.config.max_publish_bytes
        } else {
            self.config.max_body_bytes
        }
    }

    /// The `413` for a body over [`Edge::body_limit`], in the route's protocol shape.
    pub fn body_too_large(&self, method: &str, path: &str) -> Response {
        let limit = self.body_limit(method, path);
        let error = too_large(limit);
        let response = match path.strip_prefix("/ofrep/v1/evaluate/flags/") {
            Some(key) => error.for_flag(key).respond(Surface::Ofrep),
            None if path.starts_with("/ofrep/") => error.respond(Surface::Ofrep),
            None => error.respond(Surface::Native),
        };
        self.cors(response)
    }

    async fn endorse(&self, req: &Request, kv: &impl Kv) -> Response {
        if req.body.len() > self.config.max_publish_bytes {
            return too_large(self.config.max_publish_bytes).respond(Surface::Native);
        }
        match trust::endorse(&req.body, kv, &self.config).await {
            Ok(accepted) => Response::json(200, &accepted),
            Err(error) => error.respond(Surface::Native),
        }
    }

    async fn publish(&self, req: &Request, env: &str, kv: &impl Kv, now_ms: i64) -> Response {
        if req.body.len() > self.config.max_publish_bytes {
            return too_large(self.config.max_publish_bytes).respond(Surface::Native);
        }
        match publish::publish(env, &req.body, kv, &self.config, &self.cache, now_ms).await {
            Ok((accepted, client_jws)) => {
                let published = live::Handoff::Published {
                    environment: accepted.environment.clone(),
                    version: accepted.version,
                    client_snapshot: Some(client_jws),
                };
                Response::json(200, &accepted).handoff(published)
            }
            Err(error) => error.respond(Surface::Native),
        }
    }

    /// The time `req` is answered at: the host's clock, unless a test suite enabled
    /// `EDGEFLAG_TEST_CLOCK` and the request pins the time (adapters that act on the
    /// time after the answer use this too).
    pub fn clock(&self, req: &Request, now_ms: i64) -> i64 {
        if !self.config.test_clock {
            return now_ms;
        }
        req.get_header("x-edgeflag-test-now")
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(now_ms)
    }

    /// The CORS headers a browser reads on an actual response: who may read it, and which
    /// headers beyond the safelisted ones it may see.
    fn cors(&self, response: Response) -> Response {
        response
            .with_header("access-control-allow-origin", &self.config.cors_origin)
            .with_header("access-control-expose-headers", EXPOSE_HEADERS)
    }

    /// What a preflight (`OPTIONS`) adds: the methods and request headers allowed, and
    /// how long a browser may keep that answer (a day), so that it does not ask again
    /// before every evaluation. Browsers read these on preflights only, so actual
    /// responses do not carry them.
    fn preflight(&self, response: Response) -> Response {
        response
            .with_header("access-control-allow-methods", "GET, POST, PUT, OPTIONS")
            .with_header(
                "access-control-allow-headers",
                "authorization, x-api-key, content-type, if-none-match, last-event-id",
            )
            .with_header("access-control-max-age", "86400")
    }
}

/// The response headers browsers may read: the ETag (for `If-None-Match`) and the
/// event stream's URL ([`live::STREAM_HEADER`]).
const EXPOSE_HEADERS: &str = "etag, edgeflag-event-stream";

#[cfg(test)]
#[test]
fn browsers_may_read_the_stream_header() {
    assert!(EXPOSE_HEADERS.split(", ").any(|h| h == live::STREAM_HEADER));
}

fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        413,
        "PAYLOAD_TOO_LARGE",
        format!("the request body is over the limit of {limit} bytes"),
    )
}

/// The SDK key from `Authorization: Bearer …` or `X-API-Key`.
fn bearer(req: &Request) -> Option<String> {
    let from_auth = req.get_header("authorization").and_then(|v| {
        let (scheme, key) = v.trim().split_once(' ')?;
        scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| key.trim().to_string())
    });
    from_auth
        .or_else(|| req.get_header("x-api-key").map(|k| k.trim().to_string()))
        .filter(|k| !k.is_empty())
}
