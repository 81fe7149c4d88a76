//! The Edgeflag edge as a Cloudflare Worker. A thin adapter: it turns the Worker's
//! request into an [`edgeflag_edge::Request`] (reading no more of the body than the
//! route accepts), gives the shared edge Workers KV and the clock, and turns the answer
//! back. Routing, OFREP, key checks, the snapshot cache and publish checks all live in
//! `edgeflag-edge`; live updates are handed to one Durable Object per environment
//! (`live.rs`).
//!
//! Every call into JavaScript costs more than most of what the edge does with a
//! request, so the adapter makes few (BENCHMARKS.md, "Where the time goes"): it takes
//! workerd's own request and builds workerd's own response (workers-rs's wrappers
//! would read the request's `cf` object and copy headers twice), splits the URL
//! itself, asks only for the headers the edge reads, and looks the KV store's methods
//! up only when a request reads KV.

mod fast;
mod live;

use std::{
    cell::{Cell, OnceCell},
    rc::Rc,
};

use edgeflag_edge::{
    Config, Edge, KvError, Request, Response,
    http::{REQUEST_HEADERS, split_url},
    live::Handoff,
};
use js_sys::{Object, Reflect, Uint8Array};
use wasm_bindgen::{JsValue, closure::Closure, prelude::wasm_bindgen};
use wasm_bindgen_futures::JsFuture;
use web_sys::{ReadableWritablePair, TransformStream, TransformStreamDefaultController};
use worker::{Context, Env, Headers, KvStore, event};

pub use fast::FastPath;
pub use live::EdgeflagLive;

// Two helpers in JavaScript, so that a request's headers and a response's cost one
// call across the wasm boundary and one string each, instead of one call and a string
// per name and value. Names and values are separated by newlines, which HTTP forbids
// in both. The response's headers are given as name-value pairs, not as a `Headers`:
// workerd copies a `Headers` given to `new Response` into one of its own, so building
// one first made two native objects per response.
#[wasm_bindgen(inline_js = r#"
export function pickHeaders(headers, names) {
  let out = '';
  for (const name of names) {
    const value = headers.get(name);
    if (value !== null) out += name + '\n' + value + '\n';
  }
  return out;
}
export function respond(body, status, headers) {
  const init = [];
  const parts = headers.split('\n');
  for (let i = 0; i + 1 < parts.length; i += 2) init.push([parts[i], parts[i + 1]]);
  return new Response(body.slice(), { status, headers: init });
}
"#)]
extern "C" {
    /// `name\nvalue\n` for each of `names` that the request has.
    #[wasm_bindgen(js_name = pickHeaders)]
    fn pick_headers(headers: &web_sys::Headers, names: &js_sys::Array) -> String;
    /// A response with a copy of `body` and `name\nvalue\n…` as its headers.
    #[wasm_bindgen(catch)]
    fn respond(body: &[u8], status: u16, headers: &str) -> Result<web_sys::Response, JsValue>;
}

/// The KV binding, as named in `wrangler.toml`.
pub const KV_BINDING: &str = "FLAGS";

thread_local! {
    /// One edge per isolate: the compiled snapshots live here between requests.
    static EDGE: OnceCell<Rc<Edge>> = const { OnceCell::new() };
    /// Whether this isolate has found the KV binding (`kv`).
    static KV_FOUND: Cell<bool> = const { Cell::new(false) };
    /// The request headers the adapter reads: the edge's, and `content-length`.
    static HEADER_NAMES: js_sys::Array = REQUEST_HEADERS
        .iter()
        .chain(&["content-length"])
        .map(|name| JsValue::from_str(name))
        .collect();
}

#[event(fetch)]
async fn fetch(req: web_sys::Request, env: Env, ctx: Context) -> worker::Result<web_sys::Response> {
    let edge = match edge(&env) {
        Ok(edge) => edge,
        Err(message) => return plain(500, &message),
    };
    let kv = match kv(&env) {
        Ok(kv) => kv,
        Err(message) => return plain(500, &message),
    };
    let request = match decode(&edge, &req).await? {
        Ok(request) => request,
        Err(too_large) => return encode(too_large),
    };
    let mut response = edge.handle(&request, &kv, now_ms()).await;
    send_usage(&edge, &ctx);
    match response.handoff.take() {
        None => encode(response),
        Some(Handoff::Published {
            environment,
            version,
            client_snapshot,
        }) => {
            live::notify(&env, &environment, version, client_snapshot).await;
            encode(response)
        }
        Some(Handoff::Stream(grant)) => live::open(&env, grant, response).await.map(Into::into),
    }
}

/// The isolate's edge, configured from Worker variables and secrets on first use.
fn edge(env: &Env) -> Result<Rc<Edge>, String> {
    if let Some(edge) = EDGE.with(|cell| cell.get().cloned()) {
        return Ok(edge);
    }
    let lookup = |name: &str| {
        env.secret(name)
            .map(|s| s.to_string())
            .or_else(|_| env.var(name).map(|v| v.to_string()))
            .ok()
    };
    let config = Config::from_vars(lookup).map_err(|e| format!("configuration: {e}"))?;
    // Names this isolate's usage batches; any value unlikely to repeat will do.
    let seed = format!("{}-{}", now_ms(), js_sys::Math::random());
    let edge = Rc::new(Edge::with_seed(config, &seed));
    EDGE.with(|cell| cell.set(edge.clone()).ok());
    Ok(edge)
}

/// Sends the usage batches that are due to the admin after the response, through
/// `waitUntil`: the request never waits for the admin. When counts are left waiting,
/// one request per interval also keeps a timer in its `waitUntil` that sends them when
/// the interval ends, so the last counts before traffic stops are not held until the
/// next request. A batch the admin does not acknowledge (a network error or a 5xx/429)
/// is kept and sent again [`RETRY_MS`] later by the same `waitUntil` (and with any
/// send before that); one it refuses (any other 4xx) would be refused again, so it is
/// dropped. Each send takes what it sends out of the isolate's queue, so two requests
/// never send the same batch at once.
fn send_usage(edge: &Rc<Edge>, ctx: &Context) {
    let now = now_ms();
    let batches = edge.usage_due(now);
    let timer = edge.usage_timer(now);
    if batches.is_empty() && timer.is_none() {
        return;
    }
    let edge = edge.clone();
    ctx.wait_until(async move {
        let mut kept = send_batches(&edge, batches).await;
        if let Some(delay) = timer {
            sleep_ms(delay).await;
            kept |= send_batches(&edge, edge.usage_timer_fired(now_ms())).await;
        }
        if kept {
            sleep_ms(RETRY_MS).await;
            send_batches(&edge, edge.usage_flush(now_ms())).await;
        }
    });
}

/// How long an unacknowledged batch waits before it is sent again without traffic.
const RETRY_MS: i64 = 1_000;

async fn sleep_ms(ms: i64) {
    let ms = u64::try_from(ms).unwrap_or(0);
    worker::Delay::from(std::time::Duration::from_millis(ms)).await;
}

/// Sends `batches`; whether any was kept for a retry.
async fn send_batches(edge: &Edge, batches: Vec<edgeflag_edge::usage::UsageBatch>) -> bool {
    let mut kept = false;
    for batch in batches {
        let retry = match post(&batch).await {
            Ok(code) => code == 429 || code >= 500,
            Err(_) => true,
        };
        if retry {
            edge.usage_retry(batch);
            kept = true;
        }
    }
    kept
}

async fn post(batch: &edgeflag_edge::usage::UsageBatch) -> worker::Result<u16> {
    let mut init = worker::RequestInit::new();
    init.with_method(worker::Method::Post)
        .with_headers(headers(&batch.headers)?)
        .with_body(Some(Uint8Array::from(batch.body.as_slice()).into()));
    let request = worker::Request::new_with_init(&batch.url, &init)?;
    let response = worker::Fetch::Request(request).send().await?;
    Ok(response.status_code())
}

/// Workers KV. Whether the binding exists is asked once per isolate (a binding does not
/// come and go while an isolate lives; reading it from `env` builds a new wrapper each
/// time), and the store's methods are looked up only when a request reads KV.
fn kv(env: &Env) -> Result<WorkersKv<'_>, String> {
    if !KV_FOUND.get() {
        let binding = Reflect::get(env, &JsValue::from_str(KV_BINDING)).unwrap_or_default();
        if binding.is_undefined() {
            return Err(format!(
                "the KV binding `{KV_BINDING}` is missing; see wrangler.toml"
            ));
        }
        KV_FOUND.set(true);
    }
    Ok(WorkersKv {
        env,
        store: OnceCell::new(),
    })
}

fn now_ms() -> i64 {
    // `Date.now()` is whole milliseconds; the cast saturates (and NaN becomes 0).
    js_sys::Date::now() as i64
}

/// The edge's request, or the edge's `413` when the body is over the route's limit: a
/// larger `Content-Length` is refused before reading, and reading stops at the limit,
/// so an oversized upload never sits in the isolate's memory.
async fn decode(edge: &Edge, req: &web_sys::Request) -> worker::Result<Result<Request, Response>> {
    let url = req.url();
    let (origin, path, query) = split_url(&url);
    let method = req.method();
    let limit = edge.body_limit(&method, path);
    let picked = HEADER_NAMES.with(|names| pick_headers(&req.headers(), names));
    let (headers, declared) = picked_headers(&picked);
    if declared.is_some_and(|length| length > limit as u64) {
        return Ok(Err(edge.body_too_large(&method, path)));
    }
    // A body with a Content-Length within the limit cannot be longer (workerd frames
    // it by that length): read it in one go. Only a body without one is counted.
    let body = match declared {
        Some(_) => Some(read_all(req).await?),
        None => read_body(req, limit).await?,
    };
    let Some(body) = body else {
        return Ok(Err(edge.body_too_large(&method, path)));
    };
    Ok(Ok(Request {
        path: path.to_string(),
        query: query.to_string(),
        origin,
        method,
        headers,
        body,
    }))
}

/// The edge's headers from `pick_headers`'s `name\nvalue\n…`, and the declared
/// `Content-Length` apart (the fast path, `fast.rs`, decodes its headers here too).
fn picked_headers(picked: &str) -> (Vec<(String, String)>, Option<u64>) {
    let mut headers = Vec::new();
    let mut declared = None;
    let mut lines = picked.split('\n');
    while let (Some(name), Some(value)) = (lines.next(), lines.next()) {
        if name == "content-length" {
            declared = value.trim().parse::<u64>().ok();
        } else {
            headers.push((name.to_string(), value.to_string()));
        }
    }
    (headers, declared)
}

/// The whole body, one `arrayBuffer()`.
async fn read_all(req: &web_sys::Request) -> worker::Result<Vec<u8>> {
    let buffer = JsFuture::from(req.array_buffer()?).await?;
    Ok(Uint8Array::new(&buffer).to_vec())
}

/// The body, or `None` as soon as it passes `limit` bytes. workerd reads it through a
/// counting `TransformStream` whose step errors at the limit, which cancels the rest
/// of the upload. The reads stay in JS, in this request's I/O context (workerd refuses
/// I/O on one request's body from another's); Rust only counts, inside each step, and
/// awaits one promise for the whole body.
async fn read_body(req: &web_sys::Request, limit: usize) -> worker::Result<Option<Vec<u8>>> {
    let Some(body) = req.body() else {
        return Ok(Some(Vec::new()));
    };
    let over = Rc::new(Cell::new(false));
    let seen = Cell::new(0usize);
    let flag = over.clone();
    let step =
        Closure::<dyn FnMut(JsValue, TransformStreamDefaultController) -> Result<(), JsValue>>::new(
            move |chunk: JsValue, controller: TransformStreamDefaultController| {
                seen.set(seen.get() + Uint8Array::new(&chunk).length() as usize);
                if seen.get() > limit {
                    flag.set(true);
                    controller.error_with_reason(&JsValue::from_str("request body over the limit"));
                    return Ok(());
                }
                controller.enqueue_with_chunk(&chunk)
            },
        );
    let transformer = Object::new();
    Reflect::set(&transformer, &JsValue::from_str("transform"), step.as_ref())?;
    let counting = TransformStream::new_with_transformer(&transformer)?;
    let piped = body.pipe_through(&ReadableWritablePair::new(
        &counting.readable(),
        &counting.writable(),
    ));
    let collected =
        web_sys::Response::new_with_opt_readable_stream(Some(&piped))?.array_buffer()?;
    let result = JsFuture::from(collected).await;
    drop(step);
    match result {
        Ok(buffer) => Ok(Some(Uint8Array::new(&buffer).to_vec())),
        Err(_) if over.get() => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// workerd's response, built in one call: one copy of the body into JavaScript.
fn encode(response: Response) -> worker::Result<web_sys::Response> {
    let mut lines = String::new();
    for (name, value) in &response.headers {
        for part in [name, value] {
            lines.push_str(part);
            lines.push('\n');
        }
    }
    Ok(respond(&response.body, response.status, &lines)?)
}

/// The same as a workers-rs response, for the Durable Object's answers (`live.rs`).
fn encode_worker(response: Response) -> worker::Result<worker::Response> {
    Ok(worker::Response::from_bytes(response.body)?
        .with_status(response.status)
        .with_headers(headers(&response.headers)?))
}

fn headers(pairs: &[(String, String)]) -> worker::Result<Headers> {
    let headers = Headers::new();
    for (name, value) in pairs {
        headers.append(name, value)?;
    }
    Ok(headers)
}

fn plain(status: u16, message: &str) -> worker::Result<web_sys::Response> {
    worker::Response::error(message, status).map(Into::into)
}

/// Workers KV behind the edge's storage interface.
struct WorkersKv<'a> {
    env: &'a Env,
    store: OnceCell<KvStore>,
}

impl WorkersKv<'_> {
    fn store(&self) -> Result<&KvStore, KvError> {
        if let Some(store) = self.store.get() {
            return Ok(store);
        }
        let store = self
            .env
            .kv(KV_BINDING)
            .map_err(|e| KvError(e.to_string()))?;
        Ok(self.store.get_or_init(|| store))
    }
}

impl edgeflag_edge::Kv for WorkersKv<'_> {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        self.store()?
            .get(key)
            .bytes()
            .await
            .map_err(|e| KvError(e.to_string()))
    }

    async fn put(&self, key: &str, value: &[u8]) -> Result<(), KvError> {
        self.store()?
            .put_bytes(key, value)
            .map_err(|e| KvError(e.to_string()))?
            .execute()
            .await
            .map_err(|e| KvError(e.to_string()))
    }

    async fn delete(&self, key: &str) -> Result<(), KvError> {
        self.store()?
            .delete(key)
            .await
            .map_err(|e| KvError(e.to_string()))
    }
}
