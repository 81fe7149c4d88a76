//! People: sign-in with a session cookie, CSRF, throttling, invitations, roles, the
//! audit under a person's name, expiry, and signing out (everywhere).

mod common;

use axum::{
    body::Body,
    http::{HeaderMap, Method, Request, StatusCode, header},
};
use edgeflag_admin::AppState;
use edgeflag_admin_core::{Role, users};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

const PASSWORD: &str = "correct horse battery";

/// A browser: it keeps the session cookie and sends the CSRF token it was given.
struct Browser {
    state: AppState,
    cookie: Option<String>,
    csrf: Option<String>,
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
}

impl Browser {
    fn new(state: &AppState) -> Self {
        Self {
            state: state.clone(),
            cookie: None,
            csrf: None,
        }
    }

    async fn send(
        &mut self,
        method: Method,
        path: &str,
        body: Option<Value>,
        extra: &[(&str, &str)],
    ) -> Answer {
        let mut request = Request::builder()
            .method(method.clone())
            .uri(path)
            .header("host", "127.0.0.1:8080")
            .header("user-agent", "test-browser");
        if let Some(cookie) = &self.cookie {
            request = request.header(header::COOKIE, cookie);
        }
        if method != Method::GET
            && let Some(csrf) = &self.csrf
        {
            request = request.header("x-csrf-token", csrf);
        }
        for (k, v) in extra {
            request = request.header(*k, *v);
        }
        let body = match body {
            Some(v) => {
                request = request.header("content-type", "application/json");
                Body::from(v.to_string())
            }
            None => Body::empty(),
        };
        let response = edgeflag_admin::router(self.state.clone())
            .oneshot(request.body(body).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if let Some(set) = headers
            .get(header::SET_COOKIE)
            .and_then(|v| v.to_str().ok())
        {
            let pair = set.split(';').next().unwrap().to_string();
            self.cookie = (!pair.ends_with('=')).then_some(pair);
        }
        if let Some(token) = body.get("csrfToken").and_then(Value::as_str) {
            self.csrf = Some(token.to_string());
        }
        Answer {
            status,
            headers,
            body,
        }
    }

    async fn sign_in(&mut self, email: &str, password: &str) -> Answer {
        let body = json!({"email": email, "password": password});
        self.send(Method::POST, "/v1/auth/login", Some(body), &[])
            .await
    }
}

/// An app with a person of `role` (besides the owner key), signed in.
async fn person(app: &common::TestApp, email: &str, role: Role) -> Browser {
    users::add(
        &app.state.pool,
        "acme",
        email,
        "Ada Lovelace",
        PASSWORD,
        role,
        &app.state.config.accounts,
    )
    .await
    .unwrap();
    let mut browser = Browser::new(&app.state);
    let answer = browser.sign_in(email, PASSWORD).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    browser
}

#[tokio::test]
async fn sign_in_sets_a_strict_http_only_cookie_and_the_session_acts_under_the_persons_name() {
    let app = common::app().await;
    app.project().await;
    users::add(
        &app.state.pool,
        "acme",
        "Ada@Example.com",
        "Ada Lovelace",
        PASSWORD,
        Role::Editor,
        &app.state.config.accounts,
    )
    .await
    .unwrap();
    let mut browser = Browser::new(&app.state);
    let answer = browser.sign_in("ada@example.com", PASSWORD).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let cookie = answer.headers[header::SET_COOKIE].to_str().unwrap();
    for part in [
        "edgeflag_session=efsess_",
        "HttpOnly",
        "SameSite=Strict",
        "Path=/",
    ] {
        assert!(cookie.contains(part), "{cookie} lacks {part}");
    }
    assert!(!cookie.contains("Secure"), "plain HTTP: {cookie}");
    assert_eq!(answer.body["role"], "editor");
    assert_eq!(answer.body["user"]["email"], "ada@example.com");
    assert_eq!(answer.body["organization"]["key"], "acme");

    let made = browser
        .send(
            Method::POST,
            "/v1/projects/web/flags",
            Some(common::bool_flag("by-ada")),
            &[],
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    let (_, audit) = common::call(
        &app.owner,
        Method::GET,
        "/v1/audit?action=flag.create",
        None,
    )
    .await;
    let actor = audit["items"][0]["actor"].as_str().unwrap();
    assert!(
        actor.starts_with("usr_") && actor.ends_with("(Ada Lovelace <ada@example.com>)"),
        "{actor}"
    );

    // Over TLS (a proxy says so), the cookie is Secure and host-only.
    let mut tls = Browser::new(&app.state);
    let body = json!({"email": "ada@example.com", "password": PASSWORD});
    let answer = tls
        .send(
            Method::POST,
            "/v1/auth/login",
            Some(body),
            &[("x-forwarded-proto", "https")],
        )
        .await;
    let cookie = answer.headers[header::SET_COOKIE].to_str().unwrap();
    assert!(
        cookie.starts_with("__Host-edgeflag_session=") && cookie.contains("Secure"),
        "{cookie}"
    );
}

#[tokio::test]
async fn wrong_passwords_get_one_answer_and_are_throttled_per_account_with_the_apis_429() {
    let app = common::app_with(|c| c.login.failures_per_account = 3).await;
    let mut ada = person(&app, "ada@example.com", Role::Viewer).await;
    let mut stranger = Browser::new(&app.state);
    let unknown = stranger.sign_in("nobody@example.com", PASSWORD).await;
    let wrong = stranger
        .sign_in("ada@example.com", "not the password")
        .await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        unknown.body, wrong.body,
        "unknown address and wrong password look alike"
    );
    for _ in 0..2 {
        stranger
            .sign_in("ada@example.com", "not the password")
            .await;
    }
    let limited = stranger.sign_in("ada@example.com", PASSWORD).await;
    assert_eq!(
        limited.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        limited.body
    );
    assert_eq!(limited.body["error"]["code"], "RATE_LIMITED");
    assert!(
        limited.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("this account")
    );
    let wait: u64 = limited.headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&wait), "{wait}");
    assert!(
        stranger.cookie.is_none(),
        "even the right password is refused while throttled"
    );
    // The session already open is not affected.
    assert_eq!(
        ada.send(Method::GET, "/v1/auth/session", None, &[])
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn cookie_requests_that_change_something_need_the_csrf_token_and_this_origin() {
    let app = common::app().await;
    app.project().await;
    let mut ada = person(&app, "ada@example.com", Role::Editor).await;
    let flag = || Some(common::bool_flag("f"));
    let token = ada.csrf.take().unwrap();
    // Reading needs no token.
    assert_eq!(
        ada.send(Method::GET, "/v1/projects/web/flags", None, &[])
            .await
            .status,
        StatusCode::OK
    );
    let missing = ada
        .send(Method::POST, "/v1/projects/web/flags", flag(), &[])
        .await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN, "{}", missing.body);
    assert!(
        missing.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("x-csrf-token")
    );
    let wrong = ada
        .send(
            Method::POST,
            "/v1/projects/web/flags",
            flag(),
            &[("x-csrf-token", "0000")],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    let cross = [
        ("x-csrf-token", token.as_str()),
        ("origin", "https://evil.example"),
        ("sec-fetch-site", "cross-site"),
    ];
    let cross = ada
        .send(Method::POST, "/v1/projects/web/flags", flag(), &cross)
        .await;
    assert_eq!(cross.status, StatusCode::FORBIDDEN);
    let (_, flags) = common::call(&app.owner, Method::GET, "/v1/projects/web/flags", None).await;
    assert_eq!(
        flags["items"].as_array().unwrap().len(),
        0,
        "nothing refused was made"
    );
    let same = [
        ("x-csrf-token", token.as_str()),
        ("origin", "http://127.0.0.1:8080"),
        ("sec-fetch-site", "same-origin"),
    ];
    let ok = ada
        .send(Method::POST, "/v1/projects/web/flags", flag(), &same)
        .await;
    assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.body);
    // An API key in the Authorization header needs no CSRF token.
    let (status, _) = common::call(
        &app.owner,
        Method::POST,
        "/v1/projects/web/flags",
        Some(common::bool_flag("g")),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn a_viewer_session_is_refused_edits() {
    let app = common::app().await;
    app.project().await;
    let mut viewer = person(&app, "vic@example.com", Role::Viewer).await;
    let refused = viewer
        .send(
            Method::POST,
            "/v1/projects/web/flags",
            Some(common::bool_flag("f")),
            &[],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(
        refused.body["error"]["message"],
        "this needs the editor role; the user `Ada Lovelace <vic@example.com>` is viewer"
    );
}

#[tokio::test]
async fn an_invitation_link_works_once_makes_the_account_and_signs_in() {
    let app = common::app().await;
    let (status, invitation) = common::call(
        &app.owner,
        Method::POST,
        "/v1/invitations",
        Some(json!({"email": "Bea@Example.com", "role": "editor"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{invitation}");
    let token = invitation["token"].as_str().unwrap().to_string();
    assert!(
        invitation["url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/#/invitation/{token}"))
    );
    let (_, listed) = common::call(&app.owner, Method::GET, "/v1/invitations", None).await;
    assert_eq!(listed["items"][0]["state"], "pending");
    assert!(
        listed["items"][0].get("token").is_none(),
        "the token is shown once"
    );

    let mut bea = Browser::new(&app.state);
    let offer = bea
        .send(
            Method::POST,
            "/v1/invitations/inspect",
            Some(json!({"token": token})),
            &[],
        )
        .await;
    assert_eq!(offer.body["email"], "bea@example.com");
    assert_eq!(offer.body["role"], "editor");
    assert_eq!(offer.body["existingAccount"], false);
    let weak = bea
        .send(
            Method::POST,
            "/v1/invitations/accept",
            Some(json!({"token": token, "name": "Bea", "password": "short"})),
            &[],
        )
        .await;
    assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(weak.body["error"]["path"], "/password");
    let accept = json!({"token": token, "name": "Bea", "password": PASSWORD});
    let accepted = bea
        .send(
            Method::POST,
            "/v1/invitations/accept",
            Some(accept.clone()),
            &[],
        )
        .await;
    assert_eq!(accepted.status, StatusCode::OK, "{}", accepted.body);
    assert_eq!(accepted.body["role"], "editor");
    assert!(bea.cookie.is_some());
    let again = Browser::new(&app.state)
        .send(Method::POST, "/v1/invitations/accept", Some(accept), &[])
        .await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED, "a link works once");

    let (_, members) = common::call(&app.owner, Method::GET, "/v1/users", None).await;
    assert_eq!(members["items"][0]["email"], "bea@example.com");
    let (_, audit) =
        common::call(&app.owner, Method::GET, "/v1/audit?action=user.join", None).await;
    assert!(
        audit["items"][0]["actor"]
            .as_str()
            .unwrap()
            .contains("Bea <bea@example.com>")
    );
    // Only admins invite, and only owners invite owners.
    let editor = app.client("editor").await;
    let (status, _) = common::call(
        &editor,
        Method::POST,
        "/v1/invitations",
        Some(json!({"email": "x@example.com", "role": "viewer"})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let admin = app.client("admin").await;
    let (status, _) = common::call(
        &admin,
        Method::POST,
        "/v1/invitations",
        Some(json!({"email": "x@example.com", "role": "owner"})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn an_expired_invitation_is_refused() {
    let app = common::app_with(|c| c.accounts.invitation_ttl_secs = 0).await;
    let (_, invitation) = common::call(
        &app.owner,
        Method::POST,
        "/v1/invitations",
        Some(json!({"email": "late@example.com", "role": "viewer"})),
    )
    .await;
    let token = invitation["token"].as_str().unwrap();
    let mut late = Browser::new(&app.state);
    let answer = late
        .send(
            Method::POST,
            "/v1/invitations/accept",
            Some(json!({"token": token, "name": "Late", "password": PASSWORD})),
            &[],
        )
        .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert!(
        answer.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("expired")
    );
    let (_, listed) = common::call(&app.owner, Method::GET, "/v1/invitations", None).await;
    assert_eq!(listed["items"][0]["state"], "expired");
}

#[tokio::test]
async fn idle_sessions_end() {
    let app = common::app_with(|c| c.accounts.session_idle_secs = 1).await;
    let mut ada = person(&app, "ada@example.com", Role::Viewer).await;
    assert_eq!(
        ada.send(Method::GET, "/v1/auth/session", None, &[])
            .await
            .status,
        StatusCode::OK
    );
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let ended = ada.send(Method::GET, "/v1/projects", None, &[]).await;
    assert_eq!(ended.status, StatusCode::UNAUTHORIZED);
    assert!(
        ended.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("sign in again")
    );
}

#[tokio::test]
async fn sessions_are_listed_and_signing_out_everywhere_ends_them_all() {
    let app = common::app().await;
    let mut first = person(&app, "ada@example.com", Role::Viewer).await;
    let mut second = Browser::new(&app.state);
    second.sign_in("ada@example.com", PASSWORD).await;
    let listed = first
        .send(Method::GET, "/v1/auth/sessions", None, &[])
        .await;
    let items = listed.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{}", listed.body);
    assert_eq!(items.iter().filter(|s| s["current"] == true).count(), 1);
    assert_eq!(items[0]["userAgent"], "test-browser");

    // Signing out ends this session only.
    let out = second
        .send(Method::POST, "/v1/auth/logout", None, &[])
        .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    let listed = first
        .send(Method::GET, "/v1/auth/sessions", None, &[])
        .await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);

    let mut third = Browser::new(&app.state);
    third.sign_in("ada@example.com", PASSWORD).await;
    let everywhere = first
        .send(Method::DELETE, "/v1/auth/sessions", None, &[])
        .await;
    assert_eq!(everywhere.status, StatusCode::NO_CONTENT);
    assert!(
        everywhere.headers[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    for mut browser in [first, third] {
        let gone = browser
            .send(Method::GET, "/v1/auth/session", None, &[])
            .await;
        assert_eq!(gone.status, StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn removing_a_member_ends_their_sessions_and_the_last_owner_stays() {
    let app = common::app().await;
    let mut owner = person(&app, "olga@example.com", Role::Owner).await;
    let mut ed = person(&app, "ed@example.com", Role::Editor).await;
    let me = ed.send(Method::GET, "/v1/me", None, &[]).await;
    let ed_id = me.body["id"].as_str().unwrap().to_string();
    let role = owner
        .send(
            Method::PATCH,
            &format!("/v1/users/{ed_id}"),
            Some(json!({"role": "viewer"})),
            &[],
        )
        .await;
    assert_eq!(role.body["role"], "viewer", "{}", role.body);
    assert_eq!(
        ed.send(Method::GET, "/v1/auth/session", None, &[])
            .await
            .body["role"],
        "viewer",
        "roles apply at once"
    );
    let removed = owner
        .send(Method::DELETE, &format!("/v1/users/{ed_id}"), None, &[])
        .await;
    assert_eq!(removed.status, StatusCode::OK, "{}", removed.body);
    assert_eq!(
        ed.send(Method::GET, "/v1/projects", None, &[]).await.status,
        StatusCode::UNAUTHORIZED
    );
    let olga = owner.send(Method::GET, "/v1/me", None, &[]).await.body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let last = owner
        .send(
            Method::PATCH,
            &format!("/v1/users/{olga}"),
            Some(json!({"role": "admin"})),
            &[],
        )
        .await;
    assert_eq!(last.status, StatusCode::CONFLICT, "{}", last.body);
}

#[tokio::test]
async fn changing_ones_password_ends_the_other_sessions() {
    let app = common::app().await;
    let mut here = person(&app, "ada@example.com", Role::Viewer).await;
    let mut there = Browser::new(&app.state);
    there.sign_in("ada@example.com", PASSWORD).await;
    let body = json!({"currentPassword": PASSWORD, "newPassword": "a new long passphrase"});
    let changed = here
        .send(Method::POST, "/v1/me/password", Some(body), &[])
        .await;
    assert_eq!(changed.status, StatusCode::NO_CONTENT, "{}", changed.body);
    assert_eq!(
        here.send(Method::GET, "/v1/auth/session", None, &[])
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        there
            .send(Method::GET, "/v1/auth/session", None, &[])
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        Browser::new(&app.state)
            .sign_in("ada@example.com", PASSWORD)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        Browser::new(&app.state)
            .sign_in("ada@example.com", "a new long passphrase")
            .await
            .status,
        StatusCode::OK
    );
}
