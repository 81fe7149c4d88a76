//! The OpenAPI document, generated from the handlers' annotations (utoipa), and a
//! small docs page that renders it.

use axum::{Json, Router, response::Html, routing::get};
use utoipa::OpenApi;

use crate::state::AppState;

use super::{
    audit, auth, environments, evaluate, feed, flags, health, keys, orgs, projects, segments,
    sessions, usage, users, versions, webhooks,
};

#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "Edgeflag admin API",
        description = "The control plane of Edgeflag. Errors share one shape: {\"error\": {\"code\", \"message\", \"path\"?}}."
    ),
    paths(
        health::healthz,
        health::readyz,
        health::metrics,
        health::jwks,
        auth::token,
        auth::refresh,
        auth::create_key,
        auth::list_keys,
        auth::revoke_key,
        orgs::list,
        orgs::create,
        orgs::current,
        orgs::update,
        projects::list,
        projects::create,
        projects::show,
        projects::update,
        projects::archive,
        projects::restore,
        environments::list,
        environments::create,
        environments::show,
        environments::archive,
        environments::restore,
        flags::list,
        flags::create,
        flags::show,
        flags::update,
        flags::set_targeting,
        flags::toggle,
        flags::bulk_toggle,
        flags::archive,
        flags::restore,
        versions::list,
        versions::show,
        versions::diff,
        versions::restore,
        segments::list,
        segments::create,
        segments::show,
        segments::update,
        segments::archive,
        segments::restore,
        evaluate::evaluate,
        audit::list,
        keys::list_sdk_keys,
        keys::create_sdk_key,
        keys::rotate_sdk_key,
        keys::revoke_sdk_key,
        keys::publish_status,
        keys::republish,
        keys::list_signing_keys,
        keys::rotate_signing_key,
        keys::rotate_instance_key,
        webhooks::create,
        webhooks::list,
        webhooks::show,
        webhooks::update,
        webhooks::disable,
        webhooks::deliveries,
        sessions::login,
        sessions::logout,
        sessions::current,
        sessions::list,
        sessions::revoke,
        sessions::sign_out_everywhere,
        users::list,
        users::fetch,
        users::change_role,
        users::remove,
        users::list_invitations,
        users::invite,
        users::revoke_invitation,
        users::inspect,
        users::accept,
        users::me,
        users::change_password,
        feed::open,
        usage::ingest,
        usage::list_keys,
        usage::create_key,
        usage::revoke_key,
        usage::flag_usage,
        usage::last_evaluated,
        usage::stale,
    )
)]
pub struct ApiDoc;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/docs/openapi.json",
            get(|| async { Json(ApiDoc::openapi()) }),
        )
        .route("/v1/docs", get(|| async { Html(PAGE) }))
}

/// A dependency-free page: it fetches the document and lists every operation.
const PAGE: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Edgeflag admin API</title>
<style>body{font:15px system-ui;margin:2rem auto;max-width:60rem}code{background:#eee;padding:0 .3em}h2{margin-top:2rem}</style></head>
<body><h1>Edgeflag admin API</h1><p>Machine-readable: <a href="/v1/docs/openapi.json">/v1/docs/openapi.json</a>.
Authenticate with <code>Authorization: Bearer &lt;token or API key&gt;</code>.</p><div id="ops">Loading…</div>
<script>
fetch('/v1/docs/openapi.json').then(r => r.json()).then(doc => {
  const out = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      out.push(`<h2><code>${method.toUpperCase()} ${path}</code></h2><p>${op.description || op.summary || ''}</p>`);
    }
  }
  document.getElementById('ops').innerHTML = out.join('');
});
</script></body></html>"#;
