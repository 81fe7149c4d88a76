//! The Edgeflag edge as a Fermyon Spin HTTP component. A thin adapter, the twin of
//! `edge-worker`: it turns Spin's request into an [`edgeflag_edge::Request`], gives
//! the shared edge Spin's key-value store and the clock, and turns the answer back.
//! Routing, OFREP, key checks, the snapshot cache and publish checks all live in
//! `edgeflag-edge`.
//!
//! Built for `wasm32-wasip2` with spin-sdk 7 (`wasi:http/handler@0.3.0`,
//! `spin:key-value@3.0.0`, `spin:variables@3.0.0`); see `spin.toml`.

use std::{
    cell::OnceCell,
    collections::BTreeMap,
    hash::{BuildHasher, RandomState},
    rc::Rc,
    time::SystemTime,
};

use bytes::Bytes;
use edgeflag_edge::{Config, Edge, KvError, Request, Response, config::vars};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use spin_sdk::{
    http::{self, IntoResponse},
    http_service, key_value, variables,
};

/// A complete response body.
type Body = http::FullBody<Bytes>;

/// The key-value store label, as listed in `spin.toml`'s `key_value_stores`.
pub const KV_STORE: &str = "default";

/// The configuration variables the edge reads, by their edge name.
const VARIABLES: [&str; 7] = [
    vars::TRUSTED_KEYS,
    vars::REFRESH_INTERVAL_MS,
    vars::CORS_ORIGIN,
    vars::TEST_CLOCK,
    vars::SEAL_SECRET,
    vars::USAGE_URL,
    vars::USAGE_KEY,
];

thread_local! {
    /// One edge per instance: Spin may reuse an instance for several requests, and
    /// the compiled snapshots then live here between them.
    static EDGE: OnceCell<Rc<Edge>> = const { OnceCell::new() };
}

#[http_service]
async fn handle(req: http::Request) -> impl IntoResponse {
    let edge = match edge().await {
        Ok(edge) => edge,
        Err(message) => return plain(500, &message),
    };
    let kv = match key_value::Store::open(KV_STORE).await {
        Ok(store) => SpinKv(store),
        Err(e) => {
            return plain(
                500,
                &format!("the key-value store `{KV_STORE}` is not available ({e}); see spin.toml"),
            );
        }
    };
    let request = match decode(&edge, req).await {
        Ok(Ok(request)) => request,
        Ok(Err(too_large)) => return encode(too_large),
        Err(message) => return plain(400, &message),
    };
    // Live updates are off on Spin (the secret is never read), so no response hands
    // anything off: nothing outlives a request here to hold a stream open.
    let now = now_ms();
    let response = edge.handle(&request, &kv, now).await;
    send_usage(&edge, kv, edge.clock(&request, now));
    encode(response)
}

/// After the response (Spin keeps an instance until the work it spawned finishes:
/// WASIp3 execution after returning, so the caller never waits for it): parks what this
/// request counted in the store, then sends the parked counts that are due, at most
/// every few seconds across instances, and marks what the admin acknowledged
/// (`edge/src/usage/parked.rs`). A batch the admin does not take (a network error,
/// `429`, `5xx`) is tried once more; its slot stays parked for a later request if it
/// still fails.
fn send_usage(edge: &Rc<Edge>, kv: SpinKv, now: i64) {
    if edge.config().usage.is_none() {
        return;
    }
    let edge = edge.clone();
    spin_sdk::wasip3::spawn(async move {
        if edge.usage_park(&kv, now).await.is_err() {
            return;
        }
        let Ok(due) = edge.usage_collect(&kv, now).await else {
            return;
        };
        for collected in due {
            let mut delivered = true;
            for batch in &collected.batches {
                delivered &= deliver(batch).await;
            }
            if delivered {
                let _ = edge.usage_settle(&kv, &collected).await;
            }
        }
    });
}

/// Whether the admin took `batch`, in at most two tries.
async fn deliver(batch: &edgeflag_edge::usage::UsageBatch) -> bool {
    for _ in 0..2 {
        if let Ok(status) = post(batch).await
            && status != 429
            && status < 500
        {
            return (200..300).contains(&status);
        }
    }
    false
}

/// POSTs one usage batch; its status, or the transport error.
async fn post(batch: &edgeflag_edge::usage::UsageBatch) -> Result<u16, String> {
    let mut builder = http::Request::builder().method("POST").uri(&batch.url);
    for (name, value) in &batch.headers {
        builder = builder.header(name, value);
    }
    let request = builder
        .body(Body::new(Bytes::from(batch.body.clone())))
        .map_err(|e| e.to_string())?;
    let response = http::send(request).await.map_err(|e| e.to_string())?;
    Ok(response.status().as_u16())
}

/// The instance's edge, configured from Spin variables on first use.
async fn edge() -> Result<Rc<Edge>, String> {
    if let Some(edge) = EDGE.with(|cell| cell.get().cloned()) {
        return Ok(edge);
    }
    let mut values = BTreeMap::new();
    for name in VARIABLES {
        if let Some(value) = variable(name).await? {
            values.insert(name, value);
        }
    }
    let config = Config::from_vars(|name| values.get(name).cloned())
        .map_err(|e| format!("configuration: {e}"))?;
    // Names this instance's usage batches: any value unlikely to repeat will do.
    let seed = format!("spin-{:016x}", RandomState::new().hash_one(now_ms()));
    let edge = Rc::new(Edge::with_seed(config, &seed));
    EDGE.with(|cell| cell.set(edge.clone()).ok());
    Ok(edge)
}

/// A Spin variable by its edge name: Spin variable names are lower case
/// (`EDGEFLAG_TRUSTED_KEYS` is `edgeflag_trusted_keys`). Undefined means unset.
async fn variable(name: &str) -> Result<Option<String>, String> {
    match variables::get(name.to_ascii_lowercase()).await {
        Ok(value) => Ok(Some(value)),
        Err(variables::Error::Undefined(_)) => Ok(None),
        Err(e) => Err(format!("variable {name}: {e}")),
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The edge's request, or the edge's `413` when the body is over the route's limit (a
/// larger `Content-Length` is refused unread; otherwise reading stops at the limit).
async fn decode(edge: &Edge, req: http::Request) -> Result<Result<Request, Response>, String> {
    let (parts, body) = req.into_parts();
    let (method, path) = (parts.method.to_string(), parts.uri.path().to_string());
    let limit = edge.body_limit(&method, &path);
    let declared = parts
        .headers
        .get("content-length")
        .and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return Ok(Err(edge.body_too_large(&method, &path)));
    }
    let body = match Limited::new(body, limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => {
            return Ok(Err(edge.body_too_large(&method, &path)));
        }
        Err(e) => return Err(format!("could not read the request body: {e:?}")),
    };
    let headers = parts
        .headers
        .iter()
        .filter_map(|(name, value)| Some((name.to_string(), value.to_str().ok()?.to_string())))
        .collect();
    Ok(Ok(Request {
        method,
        path,
        query: parts.uri.query().unwrap_or("").to_string(),
        origin: String::new(),
        headers,
        body: body.to_vec(),
    }))
}

fn encode(response: Response) -> http::Response<Body> {
    let mut builder = http::Response::builder().status(response.status);
    for (name, value) in &response.headers {
        builder = builder.header(name, value);
    }
    builder
        .body(Body::new(Bytes::from(response.body)))
        .unwrap_or_else(|e| plain(500, &format!("could not encode the response: {e}")))
}

fn plain(status: u16, message: &str) -> http::Response<Body> {
    let mut response = http::Response::new(Body::new(Bytes::from(message.to_string())));
    *response.status_mut() =
        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    response
        .headers_mut()
        .insert("content-type", http::HeaderValue::from_static("text/plain"));
    response
}

/// Spin's key-value store behind the edge's storage interface.
struct SpinKv(key_value::Store);

impl edgeflag_edge::Kv for SpinKv {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        self.0.get(key).await.map_err(|e| KvError(e.to_string()))
    }

    async fn put(&self, key: &str, value: &[u8]) -> Result<(), KvError> {
        self.0
            .set(key, value)
            .await
            .map_err(|e| KvError(e.to_string()))
    }

    async fn delete(&self, key: &str) -> Result<(), KvError> {
        self.0.delete(key).await.map_err(|e| KvError(e.to_string()))
    }

    async fn keys_with_prefix(&self, prefix: &str) -> Result<Vec<String>, KvError> {
        // Spin lists every key of the store; keep those under `prefix` as they stream.
        let mut keys = self.0.get_keys().await;
        let mut found = Vec::new();
        while let Some(key) = keys.next().await {
            if key.starts_with(prefix) {
                found.push(key);
            }
        }
        keys.result().await.map_err(|e| KvError(e.to_string()))?;
        Ok(found)
    }
}
