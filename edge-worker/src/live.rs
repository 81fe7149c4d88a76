//! Live updates on the Worker: one Durable Object per environment (class
//! `EdgeflagLive`, binding `LIVE`, both in `wrangler.toml`) holds that environment's
//! open event streams in an `edgeflag_edge::live::Hub`. The publish path tells it when a
//! new version is stored; a stream request is verified by the edge first (a bad or
//! expired token never reaches the object) and then handed to it.
//!
//! The object knows the current version from the publishes it is told about; when it
//! starts (first use, or after an eviction or restart) it reads the version pointer
//! from KV once, and again once a minute while streams are open, so a publish whose
//! notice was lost still reaches its clients. Reconnecting clients send
//! `Last-Event-ID` and get the newest version at once if they missed one.
//! Nothing here logs a stream URL or its token.

use std::{
    cell::{Cell, RefCell},
    rc::Rc,
    time::Duration,
};

use edgeflag_edge::{
    Response,
    error::Surface,
    live::{Handoff, Hub, StreamGrant},
    state::read_version,
};
use futures_util::StreamExt;
use wasm_bindgen::JsValue;
use worker::{
    Delay, DurableObject, Env, Method, RequestInit, State, console_error, durable_object,
};

/// The Durable Object binding, as named in `wrangler.toml`.
pub const LIVE_BINDING: &str = "LIVE";

/// The URL the Worker calls the object with; only the object sees it.
const OBJECT_URL: &str = "https://live.edgeflag.internal/";

/// How often the object reads the version pointer while streams are open.
const KV_CHECK_MS: u64 = 60_000;

/// Tells the environment's object that a publish stored `version`. A failure is
/// logged and does not fail the publish: the object reads the version pointer itself
/// within a minute, and clients resume with `Last-Event-ID`.
pub async fn notify(env: &Env, environment: &str, version: u64, client_snapshot: Option<String>) {
    let handoff = Handoff::Published {
        environment: environment.to_string(),
        version,
        client_snapshot,
    };
    if let Err(e) = call(env, environment, &handoff).await {
        console_error!("live updates: `{environment}` was not told of version {version}: {e}");
    }
}

/// Opens the stream the edge granted: the object's body under the edge's headers
/// (CORS, `text/event-stream`), or the object's refusal (`429`) with the CORS headers.
pub async fn open(
    env: &Env,
    grant: StreamGrant,
    edge_response: Response,
) -> worker::Result<worker::Response> {
    let environment = grant.environment.clone();
    let answer = match call(env, &environment, &Handoff::Stream(grant)).await {
        Ok(answer) => answer,
        Err(e) => {
            console_error!("live updates: no stream for `{environment}`: {e}");
            let error = edgeflag_edge::ApiError::new(
                503,
                "STREAMS_UNAVAILABLE",
                "event streams are unavailable right now; poll instead",
            );
            return with_cors(error.respond(Surface::Native), &edge_response);
        }
    };
    if answer.status_code() == 200 {
        let headers = crate::headers(&edge_response.headers)?;
        return Ok(answer.with_headers(headers));
    }
    let cors = crate::headers(&cors_of(&edge_response))?;
    for (name, value) in answer.headers().entries() {
        if !name.starts_with("access-control-") {
            cors.append(&name, &value)?;
        }
    }
    Ok(answer.with_headers(cors))
}

fn cors_of(response: &Response) -> Vec<(String, String)> {
    response
        .headers
        .iter()
        .filter(|(name, _)| name.starts_with("access-control-"))
        .cloned()
        .collect()
}

fn with_cors(mut response: Response, from: &Response) -> worker::Result<worker::Response> {
    response.headers.extend(cors_of(from));
    crate::encode_worker(response)
}

async fn call(env: &Env, environment: &str, handoff: &Handoff) -> worker::Result<worker::Response> {
    let stub = env
        .durable_object(LIVE_BINDING)?
        .id_from_name(environment)?
        .get_stub()?;
    let body =
        serde_json::to_string(handoff).map_err(|e| worker::Error::RustError(e.to_string()))?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_body(Some(JsValue::from_str(&body)));
    stub.fetch_with_request(worker::Request::new_with_init(OBJECT_URL, &init)?)
        .await
}

/// One environment's open streams.
#[durable_object]
pub struct EdgeflagLive {
    env: Env,
    hub: Rc<RefCell<Option<Hub>>>,
    ticking: Rc<Cell<bool>>,
}

impl DurableObject for EdgeflagLive {
    fn new(_state: State, env: Env) -> Self {
        Self {
            env,
            hub: Rc::new(RefCell::new(None)),
            ticking: Rc::new(Cell::new(false)),
        }
    }

    async fn fetch(&self, mut req: worker::Request) -> worker::Result<worker::Response> {
        let handoff: Handoff = req.json().await?;
        let edge = crate::edge(&self.env).map_err(worker::Error::RustError)?;
        let Some(live) = edge.config().live.clone() else {
            return worker::Response::error("live updates are off", 404);
        };
        if self.hub.borrow().is_none() {
            *self.hub.borrow_mut() = Some(Hub::new(edgeflag_edge::live::hub_config(&live)));
        }
        match handoff {
            Handoff::Published {
                version,
                client_snapshot,
                ..
            } => {
                self.with_hub(|hub| hub.publish(version, client_snapshot.as_deref()));
                worker::Response::empty()
            }
            Handoff::Stream(grant) => {
                if self.version().is_none() {
                    self.check_stored(&grant.environment).await;
                }
                let opened = self.with_hub(|hub| hub.open(&grant));
                match opened {
                    Some(Ok(subscription)) => {
                        self.keep_ticking(grant.environment, live.heartbeat_ms);
                        worker::Response::from_stream(subscription.map(Ok::<_, worker::Error>))
                    }
                    Some(Err(refused)) => crate::encode_worker(refused.respond(Surface::Native)),
                    None => worker::Response::error("no hub", 500),
                }
            }
        }
    }
}

impl std::fmt::Debug for EdgeflagLive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let open = self.hub.borrow().as_ref().map_or(0, Hub::len);
        f.debug_struct("EdgeflagLive")
            .field("open_streams", &open)
            .finish_non_exhaustive()
    }
}

impl EdgeflagLive {
    fn with_hub<T>(&self, f: impl FnOnce(&mut Hub) -> T) -> Option<T> {
        self.hub.borrow_mut().as_mut().map(f)
    }

    fn version(&self) -> Option<u64> {
        self.with_hub(|hub| hub.version()).flatten()
    }

    fn advance(&self, version: u64) {
        self.with_hub(|hub| hub.advance(version));
    }

    /// Reads the version pointer (no borrow is held across the read).
    async fn check_stored(&self, environment: &str) {
        if let Some(version) = stored_version(&self.env, environment).await {
            self.advance(version);
        }
    }

    /// Heartbeats while streams are open; the loop ends with the last stream.
    fn keep_ticking(&self, environment: String, heartbeat_ms: u64) {
        if self.ticking.replace(true) {
            return;
        }
        let (hub, ticking, env) = (self.hub.clone(), self.ticking.clone(), self.env.clone());
        wasm_bindgen_futures::spawn_local(async move {
            let mut since_check = 0;
            loop {
                Delay::from(Duration::from_millis(heartbeat_ms)).await;
                since_check += heartbeat_ms;
                if since_check >= KV_CHECK_MS {
                    since_check = 0;
                    if let Some(version) = stored_version(&env, &environment).await
                        && let Some(hub) = hub.borrow_mut().as_mut()
                    {
                        hub.advance(version);
                    }
                }
                let open = hub.borrow_mut().as_mut().map_or(0, Hub::tick);
                if open == 0 {
                    break;
                }
            }
            ticking.set(false);
        });
    }
}

async fn stored_version(env: &Env, environment: &str) -> Option<u64> {
    let kv = crate::kv(env).ok()?;
    match read_version(&kv, environment).await {
        Ok(version) => version,
        Err(e) => {
            console_error!("live updates: reading the version of `{environment}`: {e}");
            None
        }
    }
}
