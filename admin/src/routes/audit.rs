//! `GET /v1/audit`: the organization's audit log, newest first, with filters and a cursor.

use axum::{Json, Router, extract::State, routing::get};
use serde::Deserialize;
use serde_json::{Value, json};
use sqlx::{Row, any::AnyRow};

use edgeflag_admin_core::db::rfc3339;

use crate::{
    app::AppState,
    auth::Principal,
    error::{ApiError, ApiResult},
    extract::QueryParams,
};

pub fn router() -> Router<AppState> {
    Router::new().route("/v1/audit", get(list))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(default, deny_unknown_fields)]
pub struct AuditQuery {
    /// Substring of the actor (API key id or name).
    pub actor: Option<String>,
    /// An action (`flag.create`) or a family (`flag.*`).
    pub action: Option<String>,
    /// A resource prefix, e.g. `project/web/flag/new-checkout`.
    pub resource: Option<String>,
    /// RFC 3339 lower bound (inclusive).
    pub from: Option<String>,
    /// RFC 3339 upper bound (exclusive).
    pub to: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

fn time(path: &str, text: Option<&str>, default: i64) -> ApiResult<i64> {
    match text {
        None => Ok(default),
        Some(t) => chrono::DateTime::parse_from_rfc3339(t)
            .map(|d| d.timestamp_millis())
            .map_err(|_| ApiError::invalid(path, format!("`{t}` is not an RFC 3339 date-time"))),
    }
}

fn entry(row: &AnyRow) -> ApiResult<Value> {
    let doc = |name: &str| -> ApiResult<Value> {
        let text: Option<String> = row.try_get(name)?;
        Ok(text
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or(Value::Null))
    };
    Ok(json!({
        "id": row.try_get::<i64, _>("id")?,
        "at": rfc3339(row.try_get("at")?),
        "actor": row.try_get::<String, _>("actor")?,
        "action": row.try_get::<String, _>("action")?,
        "resource": row.try_get::<String, _>("resource")?,
        "before": doc("before_doc")?,
        "after": doc("after_doc")?,
        "requestId": row.try_get::<Option<String>, _>("request_id")?,
    }))
}

/// Reads the audit log. Any role may read it.
#[utoipa::path(get, path = "/v1/audit", params(AuditQuery), responses((status = 200)))]
pub async fn list(
    State(state): State<AppState>,
    Principal(who): Principal,
    QueryParams(q): QueryParams<AuditQuery>,
) -> ApiResult<Json<Value>> {
    let page = read(&state, &who.org_id, &q).await?;
    Ok(Json(page))
}

/// One page of the log, newest first; shared with the CLI's `audit tail`.
pub async fn read(state: &AppState, org_id: &str, q: &AuditQuery) -> ApiResult<Value> {
    let limit = i64::from(q.limit.unwrap_or(50).clamp(1, 500));
    let before_id = match &q.cursor {
        Some(c) => c
            .parse::<i64>()
            .map_err(|_| ApiError::invalid("/cursor", "not a cursor this API issued"))?,
        None => i64::MAX,
    };
    let action = match q.action.as_deref() {
        Some(a) => a
            .strip_suffix('*')
            .map_or_else(|| a.to_string(), |p| format!("{p}%")),
        None => "%".to_string(),
    };
    let sql = "SELECT * FROM audit_log WHERE org_id = $1 AND id < $2 AND actor LIKE $3 AND action LIKE $4 \
               AND resource LIKE $5 AND at >= $6 AND at < $7 ORDER BY id DESC LIMIT $8";
    let rows = sqlx::query(sql)
        .bind(org_id)
        .bind(before_id)
        .bind(format!("%{}%", q.actor.as_deref().unwrap_or("")))
        .bind(action)
        .bind(format!("{}%", q.resource.as_deref().unwrap_or("")))
        .bind(time("/from", q.from.as_deref(), 0)?)
        .bind(time("/to", q.to.as_deref(), i64::MAX)?)
        .bind(limit + 1)
        .fetch_all(&state.pool)
        .await?;
    let mut items = rows.iter().map(entry).collect::<ApiResult<Vec<_>>>()?;
    let more = items.len() > usize::try_from(limit).unwrap_or(usize::MAX);
    if more {
        items.pop();
    }
    let next = if more {
        items
            .last()
            .and_then(|e| e["id"].as_i64())
            .map(|id| id.to_string())
    } else {
        None
    };
    Ok(json!({ "items": items, "nextCursor": next }))
}
