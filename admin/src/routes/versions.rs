//! A flag's history: every version kept, two versions diffed, an old one restored
//! (as a new version, so history only grows).

use axum::{
    Json, Router,
    extract::{Path, State},
    routing::{get, post},
};
use serde::Deserialize;
use serde_json::{Value, json};
use sqlx::Row;

use crate::{
    app::AppState,
    auth::Principal,
    db::rfc3339,
    error::{ApiError, ApiResult},
    extract::QueryParams,
    flagstore::{self, FlagDocument},
    routes::flags::{FlagView, modify},
    scope,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/projects/{project}/flags/{flag}/versions", get(list))
        .route(
            "/v1/projects/{project}/flags/{flag}/versions/diff",
            get(diff),
        )
        .route(
            "/v1/projects/{project}/flags/{flag}/versions/{version}",
            get(show),
        )
        .route(
            "/v1/projects/{project}/flags/{flag}/versions/{version}/restore",
            post(restore),
        )
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DiffQuery {
    pub from: i64,
    pub to: i64,
}

async fn flag_id(
    state: &AppState,
    who: &Principal,
    project: &str,
    flag: &str,
) -> ApiResult<String> {
    let project = scope::project(state, who, project).await?;
    let mut conn = state.pool.acquire().await?;
    flagstore::find(&mut conn, &project.id, flag).await
}

async fn version_doc(state: &AppState, id: &str, version: i64) -> ApiResult<(Value, String, i64)> {
    let row = sqlx::query(
        "SELECT document, actor, created_at FROM flag_versions WHERE flag_id = $1 AND version = $2",
    )
    .bind(id)
    .bind(version)
    .fetch_optional(&state.pool)
    .await?
    .ok_or_else(|| ApiError::not_found("version", &version.to_string()))?;
    let text: String = row.try_get("document")?;
    let doc = serde_json::from_str(&text).map_err(ApiError::internal)?;
    Ok((doc, row.try_get("actor")?, row.try_get("created_at")?))
}

/// Every version of a flag, newest first.
#[utoipa::path(get, path = "/v1/projects/{project}/flags/{flag}/versions", responses((status = 200)))]
pub async fn list(
    State(state): State<AppState>,
    who: Principal,
    Path((project, flag)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let id = flag_id(&state, &who, &project, &flag).await?;
    let rows = sqlx::query("SELECT version, actor, created_at FROM flag_versions WHERE flag_id = $1 ORDER BY version DESC")
        .bind(&id)
        .fetch_all(&state.pool)
        .await?;
    let mut items = Vec::with_capacity(rows.len());
    for r in rows {
        items.push(json!({"version": r.try_get::<i64, _>("version")?, "actor": r.try_get::<String, _>("actor")?, "createdAt": rfc3339(r.try_get("created_at")?)}));
    }
    Ok(Json(json!({ "items": items })))
}

/// One version's full document.
#[utoipa::path(get, path = "/v1/projects/{project}/flags/{flag}/versions/{version}", responses((status = 200)))]
pub async fn show(
    State(state): State<AppState>,
    who: Principal,
    Path((project, flag, version)): Path<(String, String, i64)>,
) -> ApiResult<Json<Value>> {
    let id = flag_id(&state, &who, &project, &flag).await?;
    let (document, actor, at) = version_doc(&state, &id, version).await?;
    Ok(Json(
        json!({"version": version, "actor": actor, "createdAt": rfc3339(at), "document": document}),
    ))
}

/// The changes from one version to another, as JSON Patch-like operations.
#[utoipa::path(get, path = "/v1/projects/{project}/flags/{flag}/versions/diff", params(DiffQuery), responses((status = 200)))]
pub async fn diff(
    State(state): State<AppState>,
    who: Principal,
    Path((project, flag)): Path<(String, String)>,
    QueryParams(q): QueryParams<DiffQuery>,
) -> ApiResult<Json<Value>> {
    let id = flag_id(&state, &who, &project, &flag).await?;
    let (from, _, _) = version_doc(&state, &id, q.from).await?;
    let (to, _, _) = version_doc(&state, &id, q.to).await?;
    let mut changes = Vec::new();
    json_diff("", &from, &to, &mut changes);
    Ok(Json(
        json!({"from": q.from, "to": q.to, "changes": changes}),
    ))
}

/// Makes an old version current again (as a new version). Needs editor.
#[utoipa::path(post, path = "/v1/projects/{project}/flags/{flag}/versions/{version}/restore", responses((status = 200, body = FlagView)))]
pub async fn restore(
    State(state): State<AppState>,
    who: Principal,
    Path((project, flag, version)): Path<(String, String, i64)>,
) -> ApiResult<Json<FlagView>> {
    let id = flag_id(&state, &who, &project, &flag).await?;
    let (old, _, _) = version_doc(&state, &id, version).await?;
    let old: FlagDocument = serde_json::from_value(old).map_err(ApiError::internal)?;
    let view = modify(
        &state,
        &who,
        &project,
        &flag,
        "flag.restore-version",
        |doc| {
            let current_envs = doc.environments.clone();
            *doc = old;
            // Environments created after that version keep their current targeting.
            for (key, config) in current_envs {
                doc.environments.entry(key).or_insert(config);
            }
            Ok(())
        },
    )
    .await?;
    Ok(Json(view))
}

/// A structural diff: `replace`, `add` and `remove` operations with JSON Pointers.
pub fn json_diff(path: &str, from: &Value, to: &Value, out: &mut Vec<Value>) {
    match (from, to) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, va) in a {
                let p = format!("{path}/{}", k.replace('~', "~0").replace('/', "~1"));
                match b.get(k) {
                    Some(vb) => json_diff(&p, va, vb, out),
                    None => out.push(json!({"op": "remove", "path": p, "from": va})),
                }
            }
            for (k, vb) in b.iter().filter(|(k, _)| !a.contains_key(*k)) {
                let p = format!("{path}/{}", k.replace('~', "~0").replace('/', "~1"));
                out.push(json!({"op": "add", "path": p, "value": vb}));
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (va, vb)) in a.iter().zip(b).enumerate() {
                json_diff(&format!("{path}/{i}"), va, vb, out);
            }
        }
        _ if from != to => {
            out.push(json!({"op": "replace", "path": path, "from": from, "value": to}))
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diffs_name_the_changed_paths() {
        let mut out = Vec::new();
        json_diff(
            "",
            &json!({"a": 1, "b": [1, 2], "c": true}),
            &json!({"a": 2, "b": [1, 3], "d": 0}),
            &mut out,
        );
        let paths: Vec<&str> = out.iter().map(|c| c["path"].as_str().unwrap()).collect();
        assert_eq!(paths, ["/a", "/b/1", "/c", "/d"]);
        assert_eq!(out[2]["op"], "remove");
    }
}
