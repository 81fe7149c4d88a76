//! People's sessions: sign in with an email address and a password, sign out, the
//! current session (with its CSRF token), one's own sessions, ending one, and
//! "sign out everywhere".

use axum::{
    Json, Router,
    extract::{Path, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{delete, get, post},
};
use edgeflag_admin_core::{
    Actor, Role,
    config::AccountsConfig,
    orgs,
    sessions::{self, Origin, SessionView},
    users::{self, SignedIn},
};
use serde::{Deserialize, Serialize};

use crate::{
    auth::{Caller, Via},
    error::{ApiError, ApiResult},
    extract::JsonBody,
    session::{self, Client},
    state::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/auth/login", post(login))
        .route("/v1/auth/logout", post(logout))
        .route("/v1/auth/session", get(current))
        .route("/v1/auth/sessions", get(list).delete(sign_out_everywhere))
        .route("/v1/auth/sessions/{id}", delete(revoke))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
    /// The organization key to sign in to; the one joined first when absent.
    #[serde(default)]
    pub organization: Option<String>,
}

/// The signed-in session as the dashboard needs it.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionAnswer {
    pub user: UserSummary,
    pub organization: OrgSummary,
    pub role: Role,
    /// Send it as `X-CSRF-Token` with every request that changes something.
    pub csrf_token: String,
    pub session_id: String,
    pub expires_at: String,
    /// Seconds of inactivity after which the session ends.
    pub idle_timeout_secs: i64,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserSummary {
    pub id: String,
    pub email: String,
    pub name: String,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrgSummary {
    pub id: String,
    pub key: String,
    pub name: String,
}

/// What a signed-in user is, built from the actor a session yields.
pub async fn answer(
    state: &AppState,
    actor: &Actor,
    session_id: &str,
    csrf_token: String,
    expires_at: i64,
) -> ApiResult<SessionAnswer> {
    let me = users::me(&state.pool, &actor.id).await?;
    let org = orgs::fetch(&state.pool, &actor.org_id).await?;
    Ok(SessionAnswer {
        user: UserSummary {
            id: me.id,
            email: me.email,
            name: me.name,
        },
        organization: OrgSummary {
            id: org.id,
            key: org.key,
            name: org.name,
        },
        role: actor.role,
        csrf_token,
        session_id: session_id.to_string(),
        expires_at: edgeflag_admin_core::db::rfc3339(expires_at),
        idle_timeout_secs: state.config.accounts.session_idle_secs,
    })
}

/// Opens a session for someone who just proved who they are (sign-in, an accepted
/// invitation), and answers it with its cookie.
pub async fn open_session(
    state: &AppState,
    client: &Client,
    who: &SignedIn,
) -> ApiResult<Response> {
    let policy: &AccountsConfig = &state.config.accounts;
    let user_agent = client
        .headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let from = Origin {
        user_agent,
        address: &client.address,
    };
    let new = sessions::open(&state.pool, &who.user_id, &who.org_id, from, policy).await?;
    let actor = users::actor(&state.pool, &who.user_id, &who.org_id)
        .await?
        .ok_or_else(|| ApiError::internal("a member vanished while signing in"))?;
    let body = answer(
        state,
        &actor,
        &new.id,
        sessions::csrf_token(&new.secret),
        new.expires_at,
    )
    .await?;
    let secure = session::is_secure(&state.config, &client.headers);
    let mut response = Json(body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::SET_COOKIE,
        session::set_cookie(secure, &new.secret, policy.session_absolute_secs),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    tracing::info!(user = %who.user_id, org = %who.org_id, address = %client.address, "signed in");
    Ok(response)
}

/// Signs in with an email address and a password: sets the session cookie and answers
/// the session with its CSRF token. Every failure is the same 401; failures are
/// throttled per address and per account (429 with `Retry-After`).
#[utoipa::path(post, path = "/v1/auth/login", request_body = LoginRequest, responses((status = 200, body = SessionAnswer), (status = 401), (status = 429)))]
pub async fn login(
    State(state): State<AppState>,
    client: Client,
    JsonBody(req): JsonBody<LoginRequest>,
) -> ApiResult<Response> {
    session::check_origin(&client.headers, &state.config)?;
    let login = &state.config.login;
    let address = format!("address:{}", client.address);
    let account = format!("account:{}", req.email.trim().to_lowercase());
    let limits = [
        (&address, login.failures_per_address, "this address"),
        (&account, login.failures_per_account, "this account"),
    ];
    for (key, limit, what) in limits {
        state.sign_ins.check(key, limit).await.map_err(|secs| {
            ApiError::Throttled(format!("too many failed sign-ins from {what}"), secs)
        })?;
    }
    match users::sign_in(
        &state.pool,
        &req.email,
        &req.password,
        req.organization.as_deref(),
    )
    .await
    {
        Ok(who) => {
            state.sign_ins.clear(&account).await;
            open_session(&state, &client, &who).await
        }
        Err(e) => {
            state.sign_ins.fail(&address).await;
            state.sign_ins.fail(&account).await;
            Err(e.into())
        }
    }
}

fn session_of(caller: &Caller) -> ApiResult<(&str, &str, i64)> {
    match &caller.via {
        Via::Session {
            id,
            csrf_token,
            expires_at,
        } => Ok((id, csrf_token, *expires_at)),
        Via::ApiKey { .. } => Err(ApiError::NotFound(
            "this request is authenticated by an API key, not a session".into(),
        )),
    }
}

fn forget_cookie(status: StatusCode) -> Response {
    let mut response = status.into_response();
    for value in session::clear_cookies() {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// Signs out: ends this session and clears its cookie.
#[utoipa::path(post, path = "/v1/auth/logout", responses((status = 204)))]
pub async fn logout(State(state): State<AppState>, caller: Caller) -> ApiResult<Response> {
    let (id, _, _) = session_of(&caller)?;
    sessions::revoke(&state.pool, &caller.actor.id, id).await?;
    Ok(forget_cookie(StatusCode::NO_CONTENT))
}

/// The current session: who, where, which role, and the CSRF token. 404 for API keys.
#[utoipa::path(get, path = "/v1/auth/session", responses((status = 200, body = SessionAnswer), (status = 401)))]
pub async fn current(State(state): State<AppState>, caller: Caller) -> ApiResult<Response> {
    let (id, csrf, expires_at) = session_of(&caller)?;
    let body = answer(&state, &caller.actor, id, csrf.to_string(), expires_at).await?;
    let mut response = Json(body).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// The caller's live sessions, most recently used first, the current one marked.
#[utoipa::path(get, path = "/v1/auth/sessions", responses((status = 200, body = [SessionView])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<serde_json::Value>> {
    let (id, _, _) = session_of(&caller)?;
    let mut items = sessions::list(&state.pool, &caller.actor.id, &state.config.accounts).await?;
    for item in &mut items {
        item.current = item.id == id;
    }
    Ok(Json(serde_json::json!({ "items": items })))
}

/// Ends one of the caller's sessions (another browser, say).
#[utoipa::path(delete, path = "/v1/auth/sessions/{id}", responses((status = 204), (status = 404)))]
pub async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let (current, _, _) = session_of(&caller)?;
    sessions::revoke(&state.pool, &caller.actor.id, &id).await?;
    state.feed.wake();
    Ok(if id == current {
        forget_cookie(StatusCode::NO_CONTENT)
    } else {
        StatusCode::NO_CONTENT.into_response()
    })
}

/// Signs out everywhere: ends every session of the caller, this one included.
#[utoipa::path(delete, path = "/v1/auth/sessions", responses((status = 204)))]
pub async fn sign_out_everywhere(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Response> {
    session_of(&caller)?;
    let ended = sessions::end_all(&state.pool, &caller.actor.id).await?;
    tracing::info!(user = %caller.actor.id, ended, "signed out everywhere");
    Ok(forget_cookie(StatusCode::NO_CONTENT))
}
