//! The Spin app in wasmtime: a fresh instance per request, as `spin up` does, with
//! WASI, `wasi:http@0.3.0`, and Spin's key-value store and variables. An instance
//! lives on after its response until the work it spawned finishes (WASIp3's
//! execution after returning, which Spin gives `spawn`ed tasks), at most
//! [`POST_RETURN_LIMIT`]; outbound requests go only to the origins the app is allowed,
//! as `allowed_outbound_hosts` in `spin.toml` does.

use std::{collections::BTreeMap, path::Path, sync::Arc, time::Duration};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use wasmtime::error::Context as _;
use wasmtime::{
    Config, Engine, Store,
    component::{Component, Linker, ResourceTable},
};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{
    Error as HttpError, RequestOptions, WasiBody, WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks,
    WasiHttpView,
    p3::{Request, bindings::ServicePre},
};

use crate::kv::{SharedMap, Spin, SpinCtx};

/// The store label the app opens (`key_value_stores` in `spin.toml`).
pub const KV_STORE: &str = "default";

/// Per-request store data.
struct HostState {
    spin: SpinCtx,
    wasi: WasiCtx,
    http: WasiHttpCtx,
    hooks: Outbound,
}

/// How long an instance may keep working after its response (sending what it
/// counted) before it is dropped.
pub const POST_RETURN_LIMIT: Duration = Duration::from_secs(10);

/// HTTP hooks that send outbound requests to the allowed origins only
/// (`scheme://host:port`, as `allowed_outbound_hosts` lists them) and refuse the rest.
#[derive(Clone, Default)]
struct Outbound {
    allowed: Arc<Vec<String>>,
}

impl Outbound {
    fn allows(&self, uri: &http::Uri) -> bool {
        let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
            return false;
        };
        let origin = format!("{scheme}://{authority}");
        self.allowed
            .iter()
            .any(|allowed| allowed.trim_end_matches('/') == origin)
    }
}

impl WasiHttpHooks for Outbound {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _fut: Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ) -> Box<OutboundResponse> {
        if !self.allows(request.uri()) {
            return Box::new(async { Err(HttpError::HttpRequestDenied) });
        }
        Box::new(async move {
            let (response, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
            Ok((
                response.map(BodyExt::boxed_unsync),
                Box::new(io) as Box<dyn Future<Output = Result<(), HttpError>> + Send>,
            ))
        })
    }
}

/// What an outbound request resolves to, in `WasiHttpHooks::send_request`.
type OutboundResponse = dyn Future<
        Output = Result<
            (
                http::Response<WasiBody>,
                Box<dyn Future<Output = Result<(), HttpError>> + Send>,
            ),
            HttpError,
        >,
    > + Send;

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.spin.table,
        }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.spin.table,
            hooks: &mut self.hooks,
        }
    }
}

/// A compiled, linked Spin app with its key-value data and variables.
pub struct SpinApp {
    engine: Engine,
    pre: ServicePre<HostState>,
    kv: SharedMap,
    variables: Arc<BTreeMap<String, String>>,
    outbound: Outbound,
}

impl std::fmt::Debug for SpinApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpinApp")
            .field("variables", &self.variables.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl SpinApp {
    /// Compiles and links the Spin component at `path`. `variables` are Spin
    /// variable names (lower case) and values, as `spin.toml` and `SPIN_VARIABLE_*` give them.
    pub fn from_file(path: &Path, variables: BTreeMap<String, String>) -> wasmtime::Result<Self> {
        let mut config = Config::new();
        config.wasm_component_model_async(true);
        let engine = Engine::new(&config)?;
        let component = Component::from_file(&engine, path)
            .with_context(|| format!("compiling {}", path.display()))?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        wasmtime_wasi::p3::add_to_linker(&mut linker)?;
        wasmtime_wasi_http::p3::add_to_linker(&mut linker)?;
        crate::kv::bindings::SpinImports::add_to_linker::<_, Spin>(
            &mut linker,
            |s: &mut HostState| &mut s.spin,
        )?;
        let pre = ServicePre::new(linker.instantiate_pre(&component)?)?;
        Ok(Self {
            engine,
            pre,
            kv: SharedMap::default(),
            variables: Arc::new(variables),
            outbound: Outbound::default(),
        })
    }

    /// The same app, allowed to send requests to `origins` (`scheme://host:port`).
    pub fn allow_outbound(mut self, origins: Vec<String>) -> Self {
        self.outbound = Outbound {
            allowed: Arc::new(origins),
        };
        self
    }

    /// The same compiled app with an empty key-value store and other variables:
    /// compiling is the expensive part, so tests compile once and isolate stores.
    pub fn with_fresh_store(&self, variables: BTreeMap<String, String>) -> Self {
        Self {
            engine: self.engine.clone(),
            pre: self.pre.clone(),
            kv: SharedMap::default(),
            variables: Arc::new(variables),
            outbound: self.outbound.clone(),
        }
    }

    /// Every key in the key-value store, sorted: for tests.
    pub fn kv_keys(&self) -> Vec<String> {
        self.kv
            .lock()
            .map(|map| map.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Sets one value in the key-value store behind the app's back: for tests that
    /// tamper with what a publish stored.
    pub fn kv_put(&self, key: &str, value: &[u8]) {
        if let Ok(mut map) = self.kv.lock() {
            map.insert(key.to_string(), value.to_vec());
        }
    }

    /// One value of the key-value store: for tests.
    pub fn kv_get(&self, key: &str) -> Option<Vec<u8>> {
        self.kv.lock().ok()?.get(key).cloned()
    }

    fn store(&self) -> Store<HostState> {
        let state = HostState {
            spin: SpinCtx {
                table: ResourceTable::new(),
                kv: self.kv.clone(),
                labels: vec![KV_STORE.to_string()],
                variables: self.variables.clone(),
            },
            wasi: WasiCtx::builder().inherit_stderr().build(),
            http: WasiHttpCtx::new(),
            hooks: self.outbound.clone(),
        };
        Store::new(&self.engine, state)
    }

    /// Sends one request through a fresh instance and collects the whole response. The
    /// instance keeps running after the response until the tasks it spawned finish (at
    /// most [`POST_RETURN_LIMIT`]), on the Tokio runtime, as Spin keeps it.
    pub async fn handle(
        &self,
        request: http::Request<Bytes>,
    ) -> wasmtime::Result<http::Response<Bytes>> {
        let mut store = self.store();
        let service = self.pre.instantiate_async(&mut store).await?;
        let request = request.map(|body| Full::new(body).map_err(HttpError::from));
        let (request, _io) = Request::from_http(&mut Outbound::default(), request);
        let (tx, rx) = tokio::sync::oneshot::channel();
        let instance = tokio::spawn(async move {
            store
                .run_concurrent(async move |accessor| {
                    let answered = async {
                        let response =
                            service.handle(accessor, request).await?.map_err(|code| {
                                wasmtime::format_err!("the app failed the request: {code:?}")
                            })?;
                        let response =
                            accessor.with(|store| response.into_http(store, async { Ok(()) }))?;
                        let (parts, body) = response.into_parts();
                        let body = body
                            .collect()
                            .await
                            .map_err(|e| wasmtime::format_err!("{e:?}"))?;
                        wasmtime::error::Ok(http::Response::from_parts(parts, body.to_bytes()))
                    }
                    .await;
                    let _ = tx.send(answered);
                    // Work after the response: until the guest's tasks are done.
                    let done = std::future::poll_fn(|cx| accessor.poll_no_interesting_tasks(cx));
                    let _ = tokio::time::timeout(POST_RETURN_LIMIT, done).await;
                })
                .await
        });
        match rx.await {
            Ok(answered) => answered,
            // The instance failed before it answered: say why.
            Err(_) => match instance.await {
                Ok(Err(e)) => Err(e),
                Ok(Ok(())) => Err(wasmtime::format_err!("the app gave no response")),
                Err(e) => Err(wasmtime::format_err!("the instance's task failed: {e}")),
            },
        }
    }
}
