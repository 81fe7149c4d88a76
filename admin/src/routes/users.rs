//! People of an organization: members and their roles, invitations (and accepting
//! one), and one's own account and password.

use axum::{
    Json, Router,
    extract::{Path, State},
    http::StatusCode,
    response::Response,
    routing::{delete, get, post},
};
use edgeflag_admin_core::{
    Role,
    invitations::{self, Acceptance, InvitationView, Offer},
    users::{self, Me, MemberView},
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{
    auth::{Caller, Principal, Via},
    error::{ApiError, ApiResult},
    extract::JsonBody,
    routes::sessions::open_session,
    session::{self, Client},
    state::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/users", get(list))
        .route(
            "/v1/users/{id}",
            get(fetch).patch(change_role).delete(remove),
        )
        .route("/v1/invitations", get(list_invitations).post(invite))
        .route("/v1/invitations/{id}", delete(revoke_invitation))
        .route("/v1/invitations/inspect", post(inspect))
        .route("/v1/invitations/accept", post(accept))
        .route("/v1/me", get(me))
        .route("/v1/me/password", post(change_password))
}

/// The members of the caller's organization. Any role.
#[utoipa::path(get, path = "/v1/users", responses((status = 200, body = [MemberView])))]
pub async fn list(
    State(state): State<AppState>,
    Principal(who): Principal,
) -> ApiResult<Json<Value>> {
    let items = users::list(&state.pool, &who.org_id).await?;
    Ok(Json(json!({ "items": items })))
}

/// One member. Any role.
#[utoipa::path(get, path = "/v1/users/{id}", responses((status = 200, body = MemberView), (status = 404)))]
pub async fn fetch(
    State(state): State<AppState>,
    Principal(who): Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<MemberView>> {
    Ok(Json(users::fetch(&state.pool, &who.org_id, &id).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleChange {
    pub role: Role,
}

/// Changes a member's role. Needs admin, and owner where owners are concerned; the
/// last owner keeps the role (409).
#[utoipa::path(patch, path = "/v1/users/{id}", request_body = RoleChange, responses((status = 200, body = MemberView), (status = 403), (status = 409)))]
pub async fn change_role(
    State(state): State<AppState>,
    Principal(who): Principal,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<RoleChange>,
) -> ApiResult<Json<MemberView>> {
    Ok(Json(
        users::change_role(&state.pool, &who, &id, req.role).await?,
    ))
}

/// Removes a member from the organization and ends their sessions in it. Needs admin
/// (owner to remove an owner); the last owner stays (409).
#[utoipa::path(delete, path = "/v1/users/{id}", responses((status = 200, body = MemberView), (status = 403), (status = 409)))]
pub async fn remove(
    State(state): State<AppState>,
    Principal(who): Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<MemberView>> {
    Ok(Json(users::remove(&state.pool, &who, &id).await?))
}

/// The organization's invitations, newest first. Needs admin.
#[utoipa::path(get, path = "/v1/invitations", responses((status = 200, body = [InvitationView])))]
pub async fn list_invitations(
    State(state): State<AppState>,
    Principal(who): Principal,
) -> ApiResult<Json<Value>> {
    who.require(Role::Admin)?;
    let items = invitations::list(&state.pool, &who.org_id).await?;
    Ok(Json(json!({ "items": items })))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Invite {
    pub email: String,
    pub role: Role,
}

/// Invites an email address with a role. The answer's `token` and `url` (the link to
/// send) appear in this answer only. Needs admin, and owner to invite an owner.
#[utoipa::path(post, path = "/v1/invitations", request_body = Invite, responses((status = 201, body = InvitationView), (status = 409)))]
pub async fn invite(
    State(state): State<AppState>,
    Principal(who): Principal,
    client: Client,
    JsonBody(req): JsonBody<Invite>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let invitation = invitations::create(
        &state.pool,
        &who,
        &req.email,
        req.role,
        &state.config.accounts,
    )
    .await?;
    let mut body = json!(invitation);
    if let Some(token) = &invitation.token {
        body["url"] = json!(invitation_url(&state, &client, token));
    }
    Ok((StatusCode::CREATED, Json(body)))
}

/// The link an invitee opens: the dashboard's accept page, the token in the fragment
/// (never sent to a server, never in a `Referer`).
pub fn invitation_url(state: &AppState, client: &Client, token: &str) -> String {
    let base = match &state.config.public_url {
        Some(url) => url.clone(),
        None => {
            let host = client
                .headers
                .get(axum::http::header::HOST)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("127.0.0.1");
            let scheme = if session::is_secure(&state.config, &client.headers) {
                "https"
            } else {
                "http"
            };
            format!("{scheme}://{host}")
        }
    };
    format!("{base}/#/invitation/{token}")
}

/// Revokes a pending invitation. Needs admin.
#[utoipa::path(delete, path = "/v1/invitations/{id}", responses((status = 200, body = InvitationView), (status = 409)))]
pub async fn revoke_invitation(
    State(state): State<AppState>,
    Principal(who): Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<InvitationView>> {
    Ok(Json(invitations::revoke(&state.pool, &who, &id).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenBody {
    pub token: String,
}

/// Checks an address's failure budget for invitation tokens (as for sign-ins).
async fn throttle_token_failures(state: &AppState, client: &Client) -> ApiResult<String> {
    let key = format!("address:{}", client.address);
    state
        .sign_ins
        .check(&key, state.config.login.failures_per_address)
        .await
        .map_err(|secs| {
            ApiError::Throttled("too many failed attempts from this address".into(), secs)
        })?;
    Ok(key)
}

/// What an invitation offers (organization, role, email, whether the address has an
/// account), for the page that accepts it. No credential but the token; 401 for any
/// unusable token.
#[utoipa::path(post, path = "/v1/invitations/inspect", request_body = TokenBody, responses((status = 200, body = Offer), (status = 401)))]
pub async fn inspect(
    State(state): State<AppState>,
    client: Client,
    JsonBody(req): JsonBody<TokenBody>,
) -> ApiResult<Json<Offer>> {
    let key = throttle_token_failures(&state, &client).await?;
    match invitations::offer(&state.pool, &req.token).await {
        Ok(offer) => Ok(Json(offer)),
        Err(e) => {
            state.sign_ins.fail(&key).await;
            Err(e.into())
        }
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptRequest {
    pub token: String,
    /// Required for a new account.
    #[serde(default)]
    pub name: Option<String>,
    /// A new account's password, or the existing account's.
    pub password: String,
}

/// Accepts an invitation, creating the account (or proving the existing one with its
/// password), and signs in: sets the session cookie like `POST /v1/auth/login`.
#[utoipa::path(post, path = "/v1/invitations/accept", request_body = AcceptRequest, responses((status = 200, body = crate::routes::sessions::SessionAnswer), (status = 401), (status = 422)))]
pub async fn accept(
    State(state): State<AppState>,
    client: Client,
    JsonBody(req): JsonBody<AcceptRequest>,
) -> ApiResult<Response> {
    session::check_origin(&client.headers, &state.config)?;
    let key = throttle_token_failures(&state, &client).await?;
    let request_id = client
        .headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok());
    let with = Acceptance {
        token: &req.token,
        name: req.name.as_deref(),
        password: &req.password,
        request_id,
    };
    match invitations::accept(&state.pool, with, &state.config.accounts).await {
        Ok(who) => open_session(&state, &client, &who).await,
        Err(e) => {
            if matches!(e, edgeflag_admin_core::Error::Unauthenticated(_)) {
                state.sign_ins.fail(&key).await;
            }
            Err(e.into())
        }
    }
}

/// The caller's own account and organizations. People only (404 for API keys).
#[utoipa::path(get, path = "/v1/me", responses((status = 200, body = Me), (status = 404)))]
pub async fn me(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Me>> {
    if matches!(caller.via, Via::ApiKey { .. }) {
        return Err(ApiError::NotFound(
            "API keys have no account; /v1/me is for people".into(),
        ));
    }
    Ok(Json(users::me(&state.pool, &caller.actor.id).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PasswordChange {
    pub current_password: String,
    pub new_password: String,
}

/// Changes the caller's password (the current one is needed) and ends their other
/// sessions. People only.
#[utoipa::path(post, path = "/v1/me/password", request_body = PasswordChange, responses((status = 204), (status = 422)))]
pub async fn change_password(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(req): JsonBody<PasswordChange>,
) -> ApiResult<StatusCode> {
    let keep = match &caller.via {
        Via::Session { id, .. } => Some(id.as_str()),
        Via::ApiKey { .. } => {
            return Err(ApiError::NotFound(
                "API keys have no password; /v1/me is for people".into(),
            ));
        }
    };
    users::change_password(
        &state.pool,
        &caller.actor,
        &req.current_password,
        &req.new_password,
        keep,
        &state.config.accounts,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
