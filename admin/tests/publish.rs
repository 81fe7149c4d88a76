//! Publishing: the snapshot builder, the outbox and the publisher, delivered to a
//! directory, to a fake edge that runs the edge crate's own publish checks, and to a
//! fake Cloudflare KV API; SDK-key and signing-key rotation; and a publisher killed
//! mid-publish that converges after a restart with nothing lost.

mod common;

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
};

use axum::{
    Json, Router,
    extract::{Path, State},
    http::{Method, StatusCode},
    routing::{post, put},
};
use base64ct::{Base64UrlUnpadded, Encoding};
use common::{TestApp, app_with, bool_flag};
use edgeflag_admin::{AppState, Config, config::TargetConfig};
use edgeflag_edge::publish::{PublishRequest, verify_documents};
use edgeflag_edge::{
    MemoryKv,
    kv::Kv,
    trusted::{self, Issuer, TrustedKeys as KeySet},
};
use serde_json::{Value, json};

fn payload(jws: &str) -> Value {
    let part = jws.split('.').nth(1).unwrap();
    serde_json::from_slice(&Base64UrlUnpadded::decode_vec(part).unwrap()).unwrap()
}

async fn jwks(t: &TestApp) -> KeySet {
    let (_, body) = common::call(&t.owner, Method::GET, "/.well-known/jwks.json", None).await;
    KeySet::from_jwks_json(body.to_string().as_bytes()).unwrap()
}

async fn dir_app(dir: &std::path::Path) -> TestApp {
    let path = dir.to_path_buf();
    app_with(move |c| {
        c.publish.targets = vec![TargetConfig::Directory {
            name: "dir".into(),
            path,
        }]
    })
    .await
}

async fn status(t: &TestApp, env: &str) -> Value {
    t.owner
        .ok(
            Method::GET,
            &format!("/v1/projects/web/environments/{env}/publish-status"),
            None,
        )
        .await
        .unwrap()
}

#[tokio::test]
async fn builds_signed_documents_the_edge_accepts_into_a_directory() {
    let out = tempfile::tempdir().unwrap();
    let t = dir_app(out.path()).await;
    t.project().await;
    let mut flag = bool_flag("new-checkout");
    flag["environments"] = json!({"production": {"enabled": true, "offVariation": "off", "defaultRule": {"variation": "on"}}});
    t.owner
        .ok(Method::POST, "/v1/projects/web/flags", Some(flag))
        .await
        .unwrap();
    let mut hidden = bool_flag("server-only");
    hidden["clientVisible"] = json!(false);
    t.owner
        .ok(Method::POST, "/v1/projects/web/flags", Some(hidden))
        .await
        .unwrap();
    let sdk = t
        .owner
        .ok(
            Method::POST,
            "/v1/projects/web/environments/production/sdk-keys",
            Some(json!({"kind": "server"})),
        )
        .await
        .unwrap();
    t.state.publisher().tick().await.unwrap();

    let env_dir = out.path().join("env/web-production");
    let version: u64 = std::fs::read_to_string(env_dir.join("version"))
        .unwrap()
        .parse()
        .unwrap();
    let server = std::fs::read_to_string(env_dir.join("server.jws")).unwrap();
    let client = std::fs::read_to_string(env_dir.join("client.jws")).unwrap();
    let keys = std::fs::read_to_string(env_dir.join("keys.jws")).unwrap();
    let docs =
        verify_documents("web-production", &server, &client, &keys, &jwks(&t).await).unwrap();
    assert_eq!(docs.version, version);
    assert!(docs.warnings.is_empty(), "{:?}", docs.warnings);
    assert_eq!(docs.snapshot.len(), 2);
    let client_flags: Vec<String> = payload(&client)["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["key"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(client_flags, ["new-checkout"]);
    let hash = edgeflag_edge::keys::hash_key(sdk["secret"].as_str().unwrap());
    assert!(docs.keys.find(&hash).is_some());
    let record: Value = serde_json::from_str(
        &std::fs::read_to_string(out.path().join(format!("sdk-key/{hash}"))).unwrap(),
    )
    .unwrap();
    assert_eq!(
        record,
        json!({"environment": "web-production", "kind": "server"})
    );
    let s = status(&t, "production").await;
    assert_eq!(s["targets"][0]["deliveredVersion"], json!(version));
    assert_eq!(s["pendingChanges"], 0);
    // Both environments were published, each at its own version.
    assert!(out.path().join("env/web-staging/version").exists());
}

#[tokio::test]
async fn bursts_coalesce_into_one_version() {
    let out = tempfile::tempdir().unwrap();
    let t = dir_app(out.path()).await;
    t.project().await;
    t.state.publisher().tick().await.unwrap();
    let before = status(&t, "production").await["latestVersion"]
        .as_i64()
        .unwrap();
    for i in 0..5 {
        t.owner
            .ok(
                Method::POST,
                "/v1/projects/web/flags",
                Some(bool_flag(&format!("f{i}"))),
            )
            .await
            .unwrap();
    }
    t.state.publisher().tick().await.unwrap();
    let after = status(&t, "production").await;
    assert_eq!(after["latestVersion"].as_i64().unwrap(), before + 1);
    assert_eq!(
        after["targets"][0]["deliveredVersion"],
        after["latestVersion"]
    );
}

#[tokio::test]
async fn a_publisher_killed_mid_publish_converges_after_restart() {
    let out = tempfile::tempdir().unwrap();
    let path = out.path().to_path_buf();
    let t = app_with(move |c| {
        c.publish.targets = vec![TargetConfig::Directory {
            name: "dir".into(),
            path,
        }];
        // Short claims: the killed publisher may hold one, which a restart waits out.
        c.publish.claim_ttl_ms = 300;
    })
    .await;
    t.project().await;
    let task = t.state.publisher().spawn();
    for i in 0..8 {
        t.owner
            .ok(
                Method::POST,
                "/v1/projects/web/flags",
                Some(bool_flag(&format!("f{i}"))),
            )
            .await
            .unwrap();
        if i == 3 {
            tokio::task::yield_now().await;
        }
    }
    task.abort();
    let _ = task.await;
    // And a crash between building a snapshot and delivering it.
    t.owner
        .ok(
            Method::POST,
            "/v1/projects/web/flags",
            Some(bool_flag("f8")),
        )
        .await
        .unwrap();
    let env_id: String =
        sqlx::query_scalar("SELECT id FROM environments WHERE edge_name = 'web-production'")
            .fetch_one(&t.state.pool)
            .await
            .unwrap();
    t.state.publisher().build(&env_id).await.unwrap();
    // A new process: fresh state over the same database.
    let config = Config {
        database_url: t.url.clone(),
        publish: t.state.config.publish.clone(),
        master_key: t.state.config.master_key.clone(),
        ..Config::default()
    };
    let restarted = AppState::from_config(config).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let publisher = restarted.publisher();
    publisher.tick().await.unwrap();
    let s = status(&t, "production").await;
    assert_eq!(s["pendingChanges"], 0);
    assert_eq!(s["targets"][0]["deliveredVersion"], s["latestVersion"]);
    let server = std::fs::read_to_string(out.path().join("env/web-production/server.jws")).unwrap();
    let snapshot = payload(&server);
    assert_eq!(snapshot["version"], s["latestVersion"]);
    assert_eq!(
        snapshot["flags"].as_array().unwrap().len(),
        9,
        "no edit is lost"
    );
}

/// A fake edge: the edge crate's own checks (signatures, organization bindings,
/// endorsements), plus its stale-version rule.
#[derive(Default)]
struct FakeEdge {
    /// The configured keys (`EDGEFLAG_TRUSTED_KEYS`).
    trusted: Mutex<Option<KeySet>>,
    /// What the edge keeps in KV: endorsed keys.
    kv: Mutex<std::collections::BTreeMap<String, Vec<u8>>>,
    /// Environment → the organization it is bound to.
    bound: Mutex<std::collections::HashMap<String, String>>,
    held: Mutex<std::collections::HashMap<String, u64>>,
    fail_next: Mutex<u32>,
    accepted: Mutex<Vec<(String, u64)>>,
    /// The `x-request-id` of each accepted publish, by environment and version.
    request_ids: Mutex<Vec<(String, u64, Option<String>)>>,
    /// The bodies of `PUT /publish/v1/trusted-keys`.
    endorsements: Mutex<Vec<Vec<u8>>>,
}

async fn edge_put(
    State(edge): State<Arc<FakeEdge>>,
    Path(env): Path<String>,
    headers: axum::http::HeaderMap,
    Json(body): Json<PublishRequest>,
) -> (StatusCode, Json<Value>) {
    {
        let mut fail = edge.fail_next.lock().unwrap();
        if *fail > 0 {
            *fail -= 1;
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"error": {"code": "UNAVAILABLE", "message": "try later"}})),
            );
        }
    }
    let trusted = edge.effective();
    let docs = match verify_documents(&env, &body.server, &body.client, &body.keys, &trusted) {
        Ok(d) => d,
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({"error": {"code": "REFUSED", "message": format!("{e:?}")}})),
            );
        }
    };
    let bound = edge.bound.lock().unwrap().get(&env).cloned();
    match (
        trusted::check_binding(&env, bound.as_deref(), &docs.issuer),
        &docs.issuer,
    ) {
        (Err(e), _) => {
            return (
                StatusCode::FORBIDDEN,
                Json(json!({"error": {"code": e.code, "message": e.message}})),
            );
        }
        (Ok(()), Issuer::Organization(org)) => {
            edge.bound.lock().unwrap().insert(env.clone(), org.clone());
        }
        (Ok(()), Issuer::Instance) => {}
    }
    let mut held = edge.held.lock().unwrap();
    let stored = held.get(&env).copied().unwrap_or(0);
    if docs.version <= stored {
        let message = format!(
            "`{env}` holds version {stored}; a publish must be newer, this one is {}",
            docs.version
        );
        return (
            StatusCode::CONFLICT,
            Json(json!({"error": {"code": "STALE_VERSION", "message": message}})),
        );
    }
    held.insert(env.clone(), docs.version);
    edge.accepted
        .lock()
        .unwrap()
        .push((env.clone(), docs.version));
    let request_id = headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    edge.request_ids
        .lock()
        .unwrap()
        .push((env.clone(), docs.version, request_id));
    (
        StatusCode::OK,
        Json(
            json!({"environment": env, "version": docs.version, "flags": docs.snapshot.len(), "warnings": []}),
        ),
    )
}

/// The keys the fake edge trusts, as the edge serves them.
async fn edge_jwks(State(edge): State<Arc<FakeEdge>>) -> Json<Value> {
    Json(serde_json::to_value(edge.effective().to_jwks()).unwrap())
}

/// `PUT /publish/v1/trusted-keys`, by the edge crate's own code over the fake's KV.
async fn edge_endorse(
    State(edge): State<Arc<FakeEdge>>,
    body: axum::body::Bytes,
) -> (StatusCode, Json<Value>) {
    let config = edgeflag_edge::Config {
        trusted_keys: edge.configured(),
        ..Default::default()
    };
    edge.endorsements.lock().unwrap().push(body.to_vec());
    let result = edge.with_kv(|kv| ready(edgeflag_edge::trust::endorse(&body, kv, &config)));
    match result {
        Ok(accepted) => (
            StatusCode::OK,
            Json(serde_json::to_value(accepted).unwrap()),
        ),
        Err(e) => (
            StatusCode::from_u16(e.status).unwrap(),
            Json(json!({"error": {"code": e.code, "message": e.message}})),
        ),
    }
}

impl FakeEdge {
    fn configured(&self) -> KeySet {
        self.trusted.lock().unwrap().clone().unwrap_or_default()
    }

    /// Configured plus endorsed keys, as the edge trusts them.
    fn effective(&self) -> KeySet {
        let configured = self.configured();
        self.with_kv(|kv| ready(trusted::load(kv, &configured)))
            .unwrap()
    }

    /// Runs `f` over a `MemoryKv` holding the fake's KV, then keeps what it wrote.
    fn with_kv<T>(&self, f: impl FnOnce(&MemoryKv) -> T) -> T {
        let kv = MemoryKv::new();
        for (k, v) in self.kv.lock().unwrap().iter() {
            ready(kv.put(k, v)).unwrap();
        }
        let out = f(&kv);
        let mut store = self.kv.lock().unwrap();
        store.clear();
        for k in kv.keys() {
            store.insert(k.clone(), ready(kv.get(&k)).unwrap().unwrap());
        }
        out
    }
}

/// The output of a future that is ready at once (the in-memory KV never waits).
fn ready<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(out) => out,
        std::task::Poll::Pending => panic!("the in-memory KV does not wait"),
    }
}

async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    addr
}

#[tokio::test]
async fn delivers_to_the_edge_with_retries_and_jumps_past_a_newer_edge() {
    let edge = Arc::new(FakeEdge::default());
    let addr = serve(
        Router::new()
            .route("/publish/v1/environments/{env}", put(edge_put))
            .route("/.well-known/jwks.json", axum::routing::get(edge_jwks))
            .route("/publish/v1/trusted-keys", put(edge_endorse))
            .with_state(edge.clone()),
    )
    .await;
    let url = format!("http://{addr}");
    let t = app_with(move |c| {
        c.publish.backoff_ms = 0;
        c.publish.targets = vec![TargetConfig::Edge {
            name: "edge".into(),
            url,
        }];
    })
    .await;
    *edge.trusted.lock().unwrap() = Some(jwks(&t).await);
    t.project().await;
    *edge.fail_next.lock().unwrap() = 2;
    edge.held
        .lock()
        .unwrap()
        .insert("web-production".into(), 10);
    let publisher = t.state.publisher();
    publisher.tick().await.unwrap();
    let s = status(&t, "production").await;
    assert_eq!(s["targets"][0]["deliveredVersion"], 0);
    assert!(
        s["targets"][0]["lastError"]
            .as_str()
            .unwrap()
            .contains("503"),
        "{s}"
    );
    for _ in 0..6 {
        publisher.tick().await.unwrap();
    }
    let s = status(&t, "production").await;
    assert_eq!(s["targets"][0]["lastError"], Value::Null, "{s}");
    assert_eq!(s["targets"][0]["deliveredVersion"], s["latestVersion"]);
    assert!(
        s["latestVersion"].as_i64().unwrap() > 10,
        "jumped past the version the edge held: {s}"
    );
    assert!(
        edge.accepted
            .lock()
            .unwrap()
            .iter()
            .any(|(env, _)| env == "web-staging")
    );
}

#[tokio::test]
async fn the_edge_is_told_the_request_id_of_the_edit_a_version_carries() {
    let edge = Arc::new(FakeEdge::default());
    let addr = serve(
        Router::new()
            .route("/publish/v1/environments/{env}", put(edge_put))
            .route("/.well-known/jwks.json", axum::routing::get(edge_jwks))
            .route("/publish/v1/trusted-keys", put(edge_endorse))
            .with_state(edge.clone()),
    )
    .await;
    let url = format!("http://{addr}");
    let t = app_with(move |c| {
        c.publish.targets = vec![TargetConfig::Edge {
            name: "edge".into(),
            url,
        }];
    })
    .await;
    *edge.trusted.lock().unwrap() = Some(jwks(&t).await);
    t.project().await;
    t.owner
        .ok(
            Method::POST,
            "/v1/projects/web/flags",
            Some(bool_flag("checkout")),
        )
        .await
        .unwrap();
    let publisher = t.state.publisher();
    publisher.tick().await.unwrap();
    t.owner
        .ok(
            Method::POST,
            "/v1/projects/web/flags/checkout/environments/production/toggle",
            Some(json!({"enabled": true})),
        )
        .await
        .unwrap();
    let edit = t
        .owner
        .ok(Method::GET, "/v1/audit?limit=1", None)
        .await
        .unwrap();
    assert_eq!(edit["items"][0]["action"], "flag.on", "{edit}");
    let edit_id = edit["items"][0]["requestId"].as_str().unwrap().to_string();
    publisher.tick().await.unwrap();
    let seen = edge.request_ids.lock().unwrap().clone();
    let (_, version, id) = seen
        .iter()
        .rev()
        .find(|(env, _, _)| env == "web-production")
        .unwrap();
    assert_eq!(id.as_deref(), Some(edit_id.as_str()), "{seen:?}");
    assert_eq!(
        *version,
        status(&t, "production").await["latestVersion"]
            .as_u64()
            .unwrap()
    );
    assert!(
        seen.iter().all(|(_, _, id)| id.is_some()),
        "every version made by an API request names it: {seen:?}"
    );
}

#[tokio::test]
async fn writes_cloudflare_kv_through_the_bulk_api_version_last() {
    type Calls = Arc<Mutex<Vec<(String, Value)>>>;
    let calls: Calls = Arc::default();
    async fn bulk(
        State(calls): State<Calls>,
        Path((account, ns)): Path<(String, String)>,
        headers: axum::http::HeaderMap,
        Json(body): Json<Value>,
    ) -> Json<Value> {
        assert_eq!(headers["authorization"], "Bearer cf-token");
        calls
            .lock()
            .unwrap()
            .push((format!("{account}/{ns}"), body));
        Json(
            json!({"success": true, "errors": [], "messages": [], "result": {"successful_key_count": 1, "unsuccessful_keys": []}}),
        )
    }
    let router = Router::new()
        .route(
            "/client/v4/accounts/{account}/storage/kv/namespaces/{ns}/bulk",
            put(bulk),
        )
        .route(
            "/client/v4/accounts/{account}/storage/kv/namespaces/{ns}/bulk/delete",
            post(bulk),
        )
        .with_state(calls.clone());
    let addr = serve(router).await;
    let api_base = format!("http://{addr}/client/v4");
    let t = app_with(move |c| {
        c.publish.targets = vec![TargetConfig::CloudflareKv {
            name: "cf".into(),
            account_id: "acct".into(),
            namespace_id: "ns1".into(),
            api_token: "cf-token".into(),
            api_base,
        }]
    })
    .await;
    t.owner
        .ok(
            Method::POST,
            "/v1/projects",
            Some(json!({"key": "web", "name": "Web"})),
        )
        .await
        .unwrap();
    t.owner
        .ok(
            Method::POST,
            "/v1/projects/web/environments",
            Some(json!({"key": "production", "name": "P", "edgeName": "production"})),
        )
        .await
        .unwrap();
    t.state.publisher().tick().await.unwrap();
    let calls = calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert_eq!(calls[0].0, "acct/ns1");
    let keys: Vec<&str> = calls[0]
        .1
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["key"].as_str().unwrap())
        .collect();
    assert!(
        keys.contains(&"env/production/server.jws") && keys.contains(&"env/production/keys.jws")
    );
    assert_eq!(
        calls[1].1,
        json!([{"key": "env/production/version", "value": "1"}])
    );
}

#[tokio::test]
async fn sdk_keys_rotate_with_a_grace_period_and_revoke() {
    let out = tempfile::tempdir().unwrap();
    let t = dir_app(out.path()).await;
    t.project().await;
    let base = "/v1/projects/web/environments/production/sdk-keys";
    let old = t
        .owner
        .ok(Method::POST, base, Some(json!({"kind": "client"})))
        .await
        .unwrap();
    let new = t
        .owner
        .ok(
            Method::POST,
            &format!("{base}/{}/rotate", old["id"].as_str().unwrap()),
            Some(json!({"graceSeconds": 3600})),
        )
        .await
        .unwrap();
    assert!(new["secret"].as_str().unwrap().starts_with("efc_"));
    t.state.publisher().tick().await.unwrap();
    let index =
        payload(&std::fs::read_to_string(out.path().join("env/web-production/keys.jws")).unwrap());
    let old_hash = edgeflag_edge::keys::hash_key(old["secret"].as_str().unwrap());
    let entries = index["keys"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    let old_entry = entries
        .iter()
        .find(|e| e["hash"] == json!(old_hash))
        .unwrap();
    assert!(old_entry["expiresAtMs"].as_i64().unwrap() > edgeflag_admin_core::db::now_ms());
    let list = t.owner.ok(Method::GET, base, None).await.unwrap();
    assert!(
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k.get("secret").is_none())
    );
    t.owner
        .ok(
            Method::POST,
            &format!("{base}/{}/revoke", old["id"].as_str().unwrap()),
            None,
        )
        .await
        .unwrap();
    t.state.publisher().tick().await.unwrap();
    let index =
        payload(&std::fs::read_to_string(out.path().join("env/web-production/keys.jws")).unwrap());
    assert_eq!(index["keys"].as_array().unwrap().len(), 1);
    assert!(
        !out.path().join(format!("sdk-key/{old_hash}")).exists(),
        "a removed key's record is deleted"
    );
    // A zero grace period expires the old key at the next publish.
    let current = index["keys"][0]["hash"].clone();
    let id = list["items"][1]["id"].as_str().unwrap().to_string();
    t.owner
        .ok(
            Method::POST,
            &format!("{base}/{id}/rotate"),
            Some(json!({"graceSeconds": 0})),
        )
        .await
        .unwrap();
    t.state.publisher().tick().await.unwrap();
    let index =
        payload(&std::fs::read_to_string(out.path().join("env/web-production/keys.jws")).unwrap());
    assert_eq!(index["keys"].as_array().unwrap().len(), 1);
    assert_ne!(index["keys"][0]["hash"], current);
}

/// The ids of the keys the JWKS holds for organizations (not the instance key).
fn org_kids(keys: &KeySet) -> Vec<String> {
    keys.kids()
        .filter(|kid| matches!(keys.issuer(kid), Some(Issuer::Organization(_))))
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn signing_key_rotation_keeps_the_old_key_until_the_edges_moved() {
    let out = tempfile::tempdir().unwrap();
    let t = dir_app(out.path()).await;
    t.project().await;
    t.state.publisher().tick().await.unwrap();
    let before = jwks(&t).await;
    assert_eq!(org_kids(&before).len(), 1);
    let rotated = t
        .owner
        .ok(Method::POST, "/v1/signing-keys/rotate", None)
        .await
        .unwrap();
    let new_kid = rotated["kid"].as_str().unwrap().to_string();
    let during = jwks(&t).await;
    assert_eq!(
        org_kids(&during).len(),
        2,
        "old and new while edges hold old signatures"
    );
    t.state.publisher().tick().await.unwrap();
    let after = jwks(&t).await;
    assert_eq!(org_kids(&after), [new_kid.as_str()]);
    let server = std::fs::read_to_string(out.path().join("env/web-production/server.jws")).unwrap();
    assert_eq!(
        edgeflag_engine::envelope::peek_header(&server).unwrap().kid,
        new_kid
    );
}

/// An edge serving two organizations, configured with the instance key only (the
/// first `edgeflag jwks`), both organizations publishing to it.
async fn two_orgs_at_one_edge() -> (TestApp, Arc<FakeEdge>, edgeflag_admin::local::Local) {
    let edge = Arc::new(FakeEdge::default());
    let addr = serve(
        Router::new()
            .route("/publish/v1/environments/{env}", put(edge_put))
            .route("/.well-known/jwks.json", axum::routing::get(edge_jwks))
            .route("/publish/v1/trusted-keys", put(edge_endorse))
            .with_state(edge.clone()),
    )
    .await;
    let url = format!("http://{addr}");
    let t = app_with(move |c| {
        c.publish.backoff_ms = 0;
        c.publish.targets = vec![TargetConfig::Edge {
            name: "edge".into(),
            url,
        }];
    })
    .await;
    *edge.trusted.lock().unwrap() = Some(jwks(&t).await);
    assert!(org_kids(&edge.configured()).is_empty());
    t.project().await;
    let created = t
        .owner
        .ok(
            Method::POST,
            "/v1/organizations",
            Some(json!({"key": "globex", "name": "Globex"})),
        )
        .await
        .unwrap();
    let other =
        edgeflag_admin::local::Local::new(&t.state, created["ownerApiKey"].as_str().unwrap());
    other
        .ok(
            Method::POST,
            "/v1/projects",
            Some(json!({"key": "shop", "name": "Shop"})),
        )
        .await
        .unwrap();
    other
        .ok(
            Method::POST,
            "/v1/projects/shop/environments",
            Some(json!({"key": "live", "name": "Live"})),
        )
        .await
        .unwrap();
    t.state.publisher().tick().await.unwrap();
    (t, edge, other)
}

#[tokio::test]
async fn each_organization_signs_with_its_own_key_and_rotates_only_its_own() {
    let (t, edge, other) = two_orgs_at_one_edge().await;
    let accepted = edge.accepted.lock().unwrap().clone();
    for env in ["web-production", "web-staging", "shop-live"] {
        assert!(
            accepted.iter().any(|(e, _)| e == env),
            "{env}: {accepted:?}"
        );
    }
    // Each environment is bound to its own organization's key, which the instance
    // key endorsed at the edge (no redeploy).
    let bound = edge.bound.lock().unwrap().clone();
    assert_ne!(bound["web-production"], bound["shop-live"]);
    assert_eq!(bound["web-production"], bound["web-staging"]);
    assert_eq!(edge.endorsements.lock().unwrap().len(), 1);
    let acme_keys = t
        .owner
        .ok(Method::GET, "/v1/signing-keys", None)
        .await
        .unwrap();
    let globex_keys = other
        .ok(Method::GET, "/v1/signing-keys", None)
        .await
        .unwrap();
    let kid = |keys: &Value| keys["items"][0]["kid"].as_str().unwrap().to_string();
    let (acme_kid, globex_kid) = (kid(&acme_keys), kid(&globex_keys));
    assert_ne!(acme_kid, globex_kid);
    assert_eq!(
        globex_keys["jwks"]["keys"].as_array().unwrap().len(),
        1,
        "its own keys only"
    );
    // Globex's owner rotates Globex's key: only Globex's environments move.
    let before = edge.accepted.lock().unwrap().len();
    let rotated = other
        .ok(Method::POST, "/v1/signing-keys/rotate", None)
        .await
        .unwrap();
    t.state.publisher().tick().await.unwrap();
    let moved: Vec<String> = edge.accepted.lock().unwrap()[before..]
        .iter()
        .map(|(e, _)| e.clone())
        .collect();
    assert_eq!(moved, ["shop-live"]);
    let acme_after = t
        .owner
        .ok(Method::GET, "/v1/signing-keys", None)
        .await
        .unwrap();
    assert_eq!(kid(&acme_after), acme_kid);
    assert_eq!(acme_after["items"].as_array().unwrap().len(), 1);
    let audit = other.ok(Method::GET, "/v1/audit", None).await.unwrap();
    assert_eq!(audit["items"][0]["action"], "signing-key.rotate");
    assert_eq!(
        audit["items"][0]["resource"],
        format!("signing-key/{}", rotated["kid"].as_str().unwrap())
    );
    // Globex's owner is no instance operator: no organizations, no instance key.
    for (path, body) in [
        ("/v1/organizations", Some(json!({"key": "x", "name": "X"}))),
        ("/v1/instance/signing-key/rotate", None),
    ] {
        let (status, body) = common::call(&other, Method::POST, path, body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {body}");
        assert!(body.to_string().contains("operator"), "{body}");
    }
    // The operator rotates the instance key; the old one endorses the new at the edge.
    let (rotated_instance, _) = common::call(
        &t.owner,
        Method::POST,
        "/v1/instance/signing-key/rotate",
        None,
    )
    .await;
    assert_eq!(rotated_instance, StatusCode::OK);
    t.owner
        .ok(
            Method::POST,
            "/v1/projects/web/environments/production/publish",
            None,
        )
        .await
        .unwrap();
    t.state.publisher().tick().await.unwrap();
    assert_eq!(
        edge.endorsements.lock().unwrap().len(),
        3,
        "rotation, then instance key"
    );
    let s = status(&t, "production").await;
    assert_eq!(s["targets"][0]["lastError"], Value::Null, "{s}");
}

#[tokio::test]
async fn an_archived_environment_is_published_retired_and_its_revocations_arrive() {
    let out = tempfile::tempdir().unwrap();
    let t = dir_app(out.path()).await;
    t.project().await;
    t.owner
        .ok(
            Method::POST,
            "/v1/projects/web/flags",
            Some(bool_flag("f1")),
        )
        .await
        .unwrap();
    let base = "/v1/projects/web/environments/production";
    let key = t
        .owner
        .ok(
            Method::POST,
            &format!("{base}/sdk-keys"),
            Some(json!({"kind": "server"})),
        )
        .await
        .unwrap();
    t.state.publisher().tick().await.unwrap();
    let index = || {
        payload(&std::fs::read_to_string(out.path().join("env/web-production/keys.jws")).unwrap())
    };
    let server = || {
        payload(&std::fs::read_to_string(out.path().join("env/web-production/server.jws")).unwrap())
    };
    assert_eq!(index()["retired"], Value::Null);
    assert_eq!(index()["keys"].as_array().unwrap().len(), 1);
    t.owner
        .ok(Method::POST, &format!("{base}/archive"), None)
        .await
        .unwrap();
    t.state.publisher().tick().await.unwrap();
    assert_eq!(index()["retired"], json!(true));
    assert_eq!(server()["flags"], json!([]));
    // Revoked while archived: the edge hears of it, and nothing stays pending.
    t.owner
        .ok(
            Method::POST,
            &format!("{base}/sdk-keys/{}/revoke", key["id"].as_str().unwrap()),
            None,
        )
        .await
        .unwrap();
    t.state.publisher().tick().await.unwrap();
    assert_eq!(index()["keys"], json!([]));
    assert_eq!(
        std::fs::read_dir(out.path().join("sdk-key")).map_or(0, |d| d.count()),
        0
    );
    let s = status(&t, "production").await;
    assert_eq!(s["pendingChanges"], 0);
    assert_eq!(
        s["targets"][0]["deliveredVersion"], s["latestVersion"],
        "{s}"
    );
    // Restored: served again.
    t.owner
        .ok(Method::POST, &format!("{base}/restore"), None)
        .await
        .unwrap();
    t.state.publisher().tick().await.unwrap();
    assert_eq!(index()["retired"], Value::Null);
    assert_ne!(server()["flags"], json!([]));
}

/// A target that is behind gets every version it lacks, once each and in order (the
/// first delivery to an empty target is the newest).
#[tokio::test]
async fn a_target_behind_gets_each_missing_version_in_order() {
    let out = tempfile::tempdir().unwrap();
    let t = dir_app(out.path()).await;
    t.project().await;
    let publisher = t.state.publisher();
    publisher.tick().await.unwrap();
    let env_id: String =
        sqlx::query_scalar("SELECT id FROM environments WHERE edge_name = 'web-production'")
            .fetch_one(&t.state.pool)
            .await
            .unwrap();
    let first = status(&t, "production").await["latestVersion"]
        .as_u64()
        .unwrap();
    for _ in 0..3 {
        publisher.build(&env_id).await.unwrap();
    }
    publisher.tick().await.unwrap();
    let delivered: Vec<String> = sqlx::query_scalar(
        "SELECT data FROM feed_events WHERE type = 'publish.delivered' ORDER BY seq",
    )
    .fetch_all(&t.state.pool)
    .await
    .unwrap();
    let versions: Vec<u64> = delivered
        .iter()
        .map(|d| serde_json::from_str::<Value>(d).unwrap())
        .filter(|d| d["environment"] == "production")
        .map(|d| d["version"].as_u64().unwrap())
        .collect();
    assert_eq!(
        versions,
        (first..=first + 3).collect::<Vec<_>>(),
        "each version once, in order"
    );
    let on_disk = std::fs::read_to_string(out.path().join("env/web-production/version")).unwrap();
    assert_eq!(on_disk, (first + 3).to_string());
}
