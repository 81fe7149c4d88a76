//! `POST …/environments/{env}/evaluate`: runs the engine on the stored flags, so a
//! user can check targeting before (or without) publishing.

use axum::{
    Json, Router,
    extract::{Path, State},
    routing::post,
};
use edgeflag_admin_core::{db::now_ms, scope, snapshot};
use edgeflag_engine::{Context, Snapshot};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::{
    auth::Principal,
    error::{ApiError, ApiResult},
    extract::JsonBody,
    state::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new().route(
        "/v1/projects/{project}/environments/{env}/evaluate",
        post(evaluate),
    )
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EvaluateRequest {
    /// An OpenFeature evaluation context: `targetingKey` plus attributes.
    pub context: Map<String, Value>,
    /// Flags to evaluate; all when absent.
    pub flags: Option<Vec<String>>,
    /// Evaluation time, epoch milliseconds; now when absent.
    #[serde(rename = "nowMs")]
    pub now_ms: Option<i64>,
}

/// Evaluates flags for a context against the current (unpublished) state.
#[utoipa::path(post, path = "/v1/projects/{project}/environments/{env}/evaluate", request_body = EvaluateRequest, responses((status = 200)))]
pub async fn evaluate(
    State(state): State<AppState>,
    Principal(who): Principal,
    Path((project, env)): Path<(String, String)>,
    JsonBody(req): JsonBody<EvaluateRequest>,
) -> ApiResult<Json<Value>> {
    let (_, env) = scope::project_env(&state.pool, &who.org_id, &project, &env).await?;
    let mut conn = state.pool.acquire().await?;
    let docs = snapshot::build(&mut conn, &env.id, 0).await?;
    drop(conn);
    let context =
        Context::from_map(req.context).map_err(|e| ApiError::invalid("/context", e.to_string()))?;
    let now = req.now_ms.unwrap_or_else(now_ms);
    // Loading compiles every pattern and evaluating may run many `matches` conditions,
    // each bounded by the engine but together long enough to stall a runtime worker:
    // both run on the blocking pool, so the async runtime keeps serving other requests.
    let results = tokio::task::spawn_blocking(move || run(&docs.server, &context, req.flags, now))
        .await
        .map_err(ApiError::internal)??;
    Ok(Json(json!({ "environment": env.key, "results": results })))
}

/// Loads the server document and evaluates `flags` (all when `None`) for `context`.
fn run(
    document: &Value,
    context: &Context,
    flags: Option<Vec<String>>,
    now: i64,
) -> ApiResult<Map<String, Value>> {
    let bytes = serde_json::to_vec(document).map_err(ApiError::internal)?;
    let loaded = Snapshot::load(&bytes).map_err(ApiError::internal)?;
    let keys: Vec<String> = match flags {
        Some(keys) => keys,
        None => loaded.snapshot.flags().map(|f| f.key.to_string()).collect(),
    };
    let mut results = Map::new();
    for key in keys {
        let detail = loaded.snapshot.evaluate(&key, context, now);
        results.insert(
            key.clone(),
            serde_json::to_value(&detail).map_err(ApiError::internal)?,
        );
    }
    Ok(results)
}
