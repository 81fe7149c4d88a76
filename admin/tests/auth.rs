//! Sign-in: `POST /v1/auth/token` is throttled per client address and per API key with
//! the API's one 429, and a refresh token used twice revokes its whole family.

mod common;

use std::net::SocketAddr;

use axum::{
    body::Body,
    extract::ConnectInfo,
    http::{Method, Request, StatusCode, header::HeaderMap},
};
use common::{TestApp, app_with};
use edgeflag_admin::local::Local;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

/// `POST path` with a JSON body, from the TCP peer `peer` as `serve` records it.
async fn post_from(
    t: &TestApp,
    peer: &str,
    path: &str,
    body: Value,
) -> (StatusCode, HeaderMap, Value) {
    let mut request = Request::post(path)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let peer: SocketAddr = peer.parse().unwrap();
    request.extensions_mut().insert(ConnectInfo(peer));
    let response = edgeflag_admin::router(t.state.clone())
        .oneshot(request)
        .await
        .unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, headers, serde_json::from_slice(&bytes).unwrap())
}

async fn limited_app() -> TestApp {
    app_with(|c| c.auth_rate_limit_per_minute = 3).await
}

/// The 429 every limit of the API answers: one error shape, `Retry-After` and the
/// `X-RateLimit-*` headers.
fn assert_limited(status: StatusCode, headers: &HeaderMap, body: &Value) {
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["error"]["code"], "RATE_LIMITED", "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("retry in")
    );
    let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(headers["x-ratelimit-limit"], "3");
    assert_eq!(headers["x-ratelimit-remaining"], "0");
    assert!(headers.contains_key("x-ratelimit-reset"));
}

#[tokio::test]
async fn wrong_keys_from_one_address_are_throttled() {
    let t = limited_app().await;
    let attacker = "203.0.113.9:40000";
    for n in 0..3 {
        let (status, headers, body) = post_from(
            &t,
            attacker,
            "/v1/auth/token",
            json!({"apiKey": format!("efk_guess{n}")}),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert_eq!(headers["x-ratelimit-remaining"], (2 - n).to_string());
    }
    // Over the limit, even the right key is refused from that address...
    let (status, headers, body) = post_from(
        &t,
        "203.0.113.9:40001",
        "/v1/auth/token",
        json!({"apiKey": t.owner_key}),
    )
    .await;
    assert_limited(status, &headers, &body);
    // ...and from another port of the same IPv6 /64 too.
    for port in [1, 2, 3] {
        post_from(
            &t,
            &format!("[2001:db8:7:7::{port}]:443"),
            "/v1/auth/token",
            json!({"apiKey": "efk_guess"}),
        )
        .await;
    }
    let (status, headers, body) = post_from(
        &t,
        "[2001:db8:7:7:ffff::1]:443",
        "/v1/auth/token",
        json!({"apiKey": "efk_guess"}),
    )
    .await;
    assert_limited(status, &headers, &body);
    // Another address is not affected.
    let (status, _, body) = post_from(
        &t,
        "198.51.100.4:5000",
        "/v1/auth/token",
        json!({"apiKey": t.owner_key}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn one_key_is_throttled_across_addresses() {
    let t = limited_app().await;
    for n in 1..=3 {
        let (status, _, body) = post_from(
            &t,
            &format!("198.51.100.{n}:5000"),
            "/v1/auth/token",
            json!({"apiKey": t.owner_key}),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (status, headers, body) = post_from(
        &t,
        "198.51.100.77:5000",
        "/v1/auth/token",
        json!({"apiKey": t.owner_key}),
    )
    .await;
    assert_limited(status, &headers, &body);
}

async fn status_with(t: &TestApp, access: &Value) -> StatusCode {
    let client = Local::new(&t.state, access.as_str().unwrap());
    client
        .call(Method::GET, "/v1/projects", None)
        .await
        .unwrap()
        .0
}

#[tokio::test]
async fn reusing_a_refresh_token_revokes_its_family() {
    let t = app_with(|_| {}).await;
    let peer = "192.0.2.1:1000";
    let sign_in = json!({"apiKey": t.owner_key});
    let (_, _, first) = post_from(&t, peer, "/v1/auth/token", sign_in.clone()).await;
    let (_, _, other) = post_from(&t, peer, "/v1/auth/token", sign_in.clone()).await;
    let (status, _, second) = post_from(
        &t,
        peer,
        "/v1/auth/refresh",
        json!({"refreshToken": first["refreshToken"]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{second}");
    assert_eq!(
        status_with(&t, &second["accessToken"]).await,
        StatusCode::OK
    );

    // The first refresh token again: a copy is in other hands.
    let (status, _, body) = post_from(
        &t,
        peer,
        "/v1/auth/refresh",
        json!({"refreshToken": first["refreshToken"]}),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    // Everything issued in that family is revoked: the refresh token it bought and
    // both access tokens.
    let (status, _, body) = post_from(
        &t,
        peer,
        "/v1/auth/refresh",
        json!({"refreshToken": second["refreshToken"]}),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(
        status_with(&t, &second["accessToken"]).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        status_with(&t, &first["accessToken"]).await,
        StatusCode::UNAUTHORIZED
    );

    // Another sign-in of the same key is its own family, untouched.
    assert_eq!(status_with(&t, &other["accessToken"]).await, StatusCode::OK);
    let (status, _, body) = post_from(
        &t,
        peer,
        "/v1/auth/refresh",
        json!({"refreshToken": other["refreshToken"]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _, _) = post_from(&t, peer, "/v1/auth/token", sign_in).await;
    assert_eq!(status, StatusCode::OK);
}
