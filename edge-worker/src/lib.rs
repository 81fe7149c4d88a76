//! The Edgeflag edge as a Cloudflare Worker. A thin adapter: it turns the Worker's
//! request into an [`edgeflag_edge::Request`] (reading no more of the body than the
//! route accepts), gives the shared edge Workers KV and the clock, and turns the answer
//! back. Routing, OFREP, key checks, the snapshot cache and publish checks all live in
//! `edgeflag-edge`; live updates are handed to one Durable Object per environment
//! (`live.rs`).

mod live;

use std::{
    cell::{Cell, OnceCell},
    rc::Rc,
};

use edgeflag_edge::{Config, Edge, KvError, Request, Response, live::Handoff};
use js_sys::{Object, Reflect, Uint8Array};
use wasm_bindgen::{JsValue, closure::Closure};
use wasm_bindgen_futures::JsFuture;
use web_sys::{ReadableWritablePair, TransformStream, TransformStreamDefaultController};
use worker::{Context, Date, Env, Headers, KvStore, event};

pub use live::EdgeflagLive;

/// The KV binding, as named in `wrangler.toml`.
pub const KV_BINDING: &str = "FLAGS";

thread_local! {
    /// One edge per isolate: the compiled snapshots live here between requests.
    static EDGE: OnceCell<Rc<Edge>> = const { OnceCell::new() };
}

#[event(fetch)]
async fn fetch(
    mut req: worker::Request,
    env: Env,
    ctx: Context,
) -> worker::Result<worker::Response> {
    let edge = match edge(&env) {
        Ok(edge) => edge,
        Err(message) => return plain(500, &message),
    };
    let kv = match kv(&env) {
        Ok(kv) => kv,
        Err(message) => return plain(500, &message),
    };
    let request = match decode(&edge, &mut req).await? {
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
        Some(Handoff::Stream(grant)) => live::open(&env, grant, response).await,
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
/// is kept for the next send; one it refuses (any other 4xx) would be refused again, so
/// it is dropped.
fn send_usage(edge: &Rc<Edge>, ctx: &Context) {
    let now = now_ms();
    let batches = edge.usage_due(now);
    let timer = edge.usage_timer(now);
    if batches.is_empty() && timer.is_none() {
        return;
    }
    let edge = edge.clone();
    ctx.wait_until(async move {
        send_batches(&edge, batches).await;
        if let Some(delay) = timer {
            let delay = std::time::Duration::from_millis(u64::try_from(delay).unwrap_or(0));
            worker::Delay::from(delay).await;
            send_batches(&edge, edge.usage_timer_fired(now_ms())).await;
        }
    });
}

async fn send_batches(edge: &Edge, batches: Vec<edgeflag_edge::usage::UsageBatch>) {
    for batch in batches {
        let retry = match post(&batch).await {
            Ok(code) => code == 429 || code >= 500,
            Err(_) => true,
        };
        if retry {
            edge.usage_retry(batch);
        }
    }
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

fn kv(env: &Env) -> Result<WorkersKv, String> {
    env.kv(KV_BINDING)
        .map(WorkersKv)
        .map_err(|_| format!("the KV binding `{KV_BINDING}` is missing; see wrangler.toml"))
}

fn now_ms() -> i64 {
    i64::try_from(Date::now().as_millis()).unwrap_or(i64::MAX)
}

/// The edge's request, or the edge's `413` when the body is over the route's limit: a
/// larger `Content-Length` is refused before reading, and reading stops at the limit,
/// so an oversized upload never sits in the isolate's memory.
async fn decode(
    edge: &Edge,
    req: &mut worker::Request,
) -> worker::Result<Result<Request, Response>> {
    let url = req.url()?;
    let method = req.method().to_string();
    let limit = edge.body_limit(&method, url.path());
    let declared = req
        .headers()
        .get("content-length")?
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return Ok(Err(edge.body_too_large(&method, url.path())));
    }
    // A body with a Content-Length within the limit cannot be longer (workerd frames
    // it by that length): read it in one go. Only a body without one is counted.
    let body = match declared {
        Some(_) => Some(req.bytes().await?),
        None => read_body(req, limit).await?,
    };
    let Some(body) = body else {
        return Ok(Err(edge.body_too_large(&method, url.path())));
    };
    Ok(Ok(Request {
        method,
        path: url.path().to_string(),
        query: url.query().unwrap_or("").to_string(),
        origin: url.origin().ascii_serialization(),
        headers: req.headers().entries().collect(),
        body,
    }))
}

/// The body, or `None` as soon as it passes `limit` bytes. workerd reads it through a
/// counting `TransformStream` whose step errors at the limit, which cancels the rest
/// of the upload. The reads stay in JS, in this request's I/O context (workerd refuses
/// I/O on one request's body from another's); Rust only counts, inside each step, and
/// awaits one promise for the whole body.
async fn read_body(req: &worker::Request, limit: usize) -> worker::Result<Option<Vec<u8>>> {
    let Some(body) = req.inner().body() else {
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

fn encode(response: Response) -> worker::Result<worker::Response> {
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

fn plain(status: u16, message: &str) -> worker::Result<worker::Response> {
    worker::Response::error(message, status)
}

/// Workers KV behind the edge's storage interface.
struct WorkersKv(KvStore);

impl edgeflag_edge::Kv for WorkersKv {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        self.0
            .get(key)
            .bytes()
            .await
            .map_err(|e| KvError(e.to_string()))
    }

    async fn put(&self, key: &str, value: &[u8]) -> Result<(), KvError> {
        self.0
            .put_bytes(key, value)
            .map_err(|e| KvError(e.to_string()))?
            .execute()
            .await
            .map_err(|e| KvError(e.to_string()))
    }

    async fn delete(&self, key: &str) -> Result<(), KvError> {
        self.0.delete(key).await.map_err(|e| KvError(e.to_string()))
    }
}
