//! `GET /v1/audit`: the organization's audit log, newest first, with filters and a cursor.

use axum::{Json, Router, extract::State, routing::get};
use edgeflag_admin_core::audit::{self, AuditQuery};
use serde_json::Value;

use crate::{auth::Principal, error::ApiResult, extract::QueryParams, state::AppState};

pub fn router() -> Router<AppState> {
    Router::new().route("/v1/audit", get(list))
}

/// Reads the audit log. Any role may read it.
#[utoipa::path(get, path = "/v1/audit", params(AuditQuery), responses((status = 200), (status = 422, description = "a bad query parameter, e.g. limit outside 1–200")))]
pub async fn list(
    State(state): State<AppState>,
    Principal(who): Principal,
    QueryParams(q): QueryParams<AuditQuery>,
) -> ApiResult<Json<Value>> {
    let page = audit::read(&state.pool, &who.org_id, &q).await?;
    Ok(Json(page))
}
