//! The Edgeflag edge as a Cloudflare Worker. A thin adapter: it turns the Worker's
//! request into an [`edgeflag_edge::Request`], gives the shared edge Workers KV and the
//! clock, and turns the answer back. Routing, OFREP, key checks, the snapshot cache and
//! publish checks all live in `edgeflag-edge`.

use std::{cell::OnceCell, rc::Rc};

use edgeflag_edge::{Config, Edge, KvError, Request, Response};
use worker::{Context, Date, Env, Headers, KvStore, event};

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
    _ctx: Context,
) -> worker::Result<worker::Response> {
    let edge = match edge(&env) {
        Ok(edge) => edge,
        Err(message) => return plain(500, &message),
    };
    let kv = match env.kv(KV_BINDING) {
        Ok(kv) => WorkersKv(kv),
        Err(_) => {
            return plain(
                500,
                &format!("the KV binding `{KV_BINDING}` is missing; see wrangler.toml"),
            );
        }
    };
    let request = decode(&mut req).await?;
    let now_ms = i64::try_from(Date::now().as_millis()).unwrap_or(i64::MAX);
    encode(edge.handle(&request, &kv, now_ms).await)
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
    let edge = Rc::new(Edge::new(config));
    EDGE.with(|cell| cell.set(edge.clone()).ok());
    Ok(edge)
}

async fn decode(req: &mut worker::Request) -> worker::Result<Request> {
    let url = req.url()?;
    Ok(Request {
        method: req.method().to_string(),
        path: url.path().to_string(),
        query: url.query().unwrap_or("").to_string(),
        headers: req.headers().entries().collect(),
        body: req.bytes().await.unwrap_or_default(),
    })
}

fn encode(response: Response) -> worker::Result<worker::Response> {
    let headers = Headers::new();
    for (name, value) in &response.headers {
        headers.append(name, value)?;
    }
    Ok(worker::Response::from_bytes(response.body)?
        .with_status(response.status)
        .with_headers(headers))
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
