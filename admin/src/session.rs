//! The session cookie and the CSRF defences of requests made with it.
//!
//! The cookie holds the session's secret: `HttpOnly` (no script reads it),
//! `SameSite=Strict` (no other site's page sends it), `Path=/`, and `Secure` when the
//! dashboard is served over TLS (`login.cookie_secure`), in which case it is named
//! `__Host-edgeflag_session` so a browser accepts it only from this host, over TLS,
//! without a `Domain`. Over plain HTTP (development on 127.0.0.1) it is
//! `edgeflag_session`.
//!
//! A request authenticated by the cookie that changes something (any method but GET,
//! HEAD, OPTIONS) must also carry the session's CSRF token in `X-CSRF-Token`, which
//! only a page of this origin can read (from `/v1/auth/session` or the sign-in
//! answer); and when the browser says where the request comes from, it must be this
//! origin: `Sec-Fetch-Site: same-origin`, and an `Origin` equal to `public_url`'s
//! (or to the request's own `Host`). Bearer credentials need none of this: browsers
//! never attach them by themselves.

use axum::{
    extract::FromRequestParts,
    http::{HeaderMap, HeaderValue, Method, header, request::Parts},
};
use cookie::{Cookie, SameSite, time::Duration};
use subtle::ConstantTimeEq;

use crate::{
    config::{Config, CookieSecure},
    error::ApiError,
    state::AppState,
    throttle,
};

/// The cookie's name over TLS.
pub const SECURE_COOKIE: &str = "__Host-edgeflag_session";
/// The cookie's name over plain HTTP.
pub const PLAIN_COOKIE: &str = "edgeflag_session";
/// The header carrying the CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The session secret the request's cookie carries, if any.
pub fn secret(headers: &HeaderMap) -> Option<String> {
    let mut plain = None;
    for value in headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
    {
        for cookie in Cookie::split_parse(value).flatten() {
            match cookie.name() {
                SECURE_COOKIE => return Some(cookie.value().to_string()),
                PLAIN_COOKIE => plain = Some(cookie.value().to_string()),
                _ => {}
            }
        }
    }
    plain
}

/// Whether this request's answer sets a `Secure` cookie.
pub fn is_secure(config: &Config, headers: &HeaderMap) -> bool {
    match config.login.cookie_secure {
        CookieSecure::Always => true,
        CookieSecure::Never => false,
        CookieSecure::Auto => {
            config
                .public_url
                .as_deref()
                .is_some_and(|u| u.starts_with("https://"))
                || headers
                    .get("x-forwarded-proto")
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"))
        }
    }
}

fn cookie(secure: bool, value: String, max_age: Duration) -> HeaderValue {
    let name = if secure { SECURE_COOKIE } else { PLAIN_COOKIE };
    let text = Cookie::build((name, value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .max_age(max_age)
        .to_string();
    // A cookie built from our own name and a base64url secret is always a valid header.
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The `Set-Cookie` of a new session, kept by the browser until the session's absolute end.
pub fn set_cookie(secure: bool, secret: &str, absolute_secs: i64) -> HeaderValue {
    cookie(secure, secret.to_string(), Duration::seconds(absolute_secs))
}

/// The `Set-Cookie` headers that make the browser forget the session cookie (both names).
pub fn clear_cookies() -> [HeaderValue; 2] {
    [
        cookie(true, String::new(), Duration::ZERO),
        cookie(false, String::new(), Duration::ZERO),
    ]
}

/// Whether the method changes something (and so needs the CSRF checks).
pub fn changes_state(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The browser's word on where a request comes from, checked against this origin:
/// refused when `Sec-Fetch-Site` says another site, or `Origin` names another origin.
/// Clients that send neither (scripts) pass; browsers always send them on such requests.
pub fn check_origin(headers: &HeaderMap, config: &Config) -> Result<(), ApiError> {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && site != "same-origin"
    {
        return Err(ApiError::Forbidden(format!(
            "a cross-site request (Sec-Fetch-Site: {site}) cannot use the session cookie"
        )));
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return Ok(());
    };
    let expected = match config.public_origin() {
        Some(public) => public.to_string(),
        None => {
            let host = headers
                .get(header::HOST)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            let scheme = if is_secure(config, headers) {
                "https"
            } else {
                "http"
            };
            format!("{scheme}://{host}")
        }
    };
    if origin.eq_ignore_ascii_case(&expected) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "a request from {origin} cannot use the session cookie of {expected}"
        )))
    }
}

/// The CSRF checks of a state-changing request authenticated by the cookie whose
/// session has `expected_token`.
pub fn check_csrf(
    headers: &HeaderMap,
    config: &Config,
    expected_token: &str,
) -> Result<(), ApiError> {
    check_origin(headers, config)?;
    let sent = headers
        .get(CSRF_HEADER)
        .map(HeaderValue::as_bytes)
        .unwrap_or_default();
    if sent.is_empty() {
        return Err(ApiError::Forbidden(format!(
            "send the session's CSRF token in {CSRF_HEADER} (GET /v1/auth/session answers it)"
        )));
    }
    if !bool::from(sent.ct_eq(expected_token.as_bytes())) {
        return Err(ApiError::Forbidden(format!(
            "the {CSRF_HEADER} header does not match this session's CSRF token"
        )));
    }
    Ok(())
}

/// The extractor of what a sign-in needs to know about the request: its headers (for
/// the origin checks, the user agent and `Secure`) and the client's address.
#[derive(Debug, Clone)]
pub struct Client {
    pub headers: HeaderMap,
    pub address: String,
}

impl FromRequestParts<AppState> for Client {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Ok(Self {
            headers: parts.headers.clone(),
            address: throttle::client_address(parts, state.config.login.trust_forwarded_for),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(headers: &[(&str, &str)]) -> HeaderMap {
        let mut request = axum::http::Request::post("/v1/x");
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        request.body(()).unwrap().into_parts().0.headers
    }

    #[test]
    fn cookies_are_strict_http_only_and_secure_over_tls() {
        let secure = set_cookie(true, "efsess_x", 60);
        let text = secure.to_str().unwrap();
        for part in [
            "__Host-edgeflag_session=efsess_x",
            "HttpOnly",
            "SameSite=Strict",
            "Secure",
            "Path=/",
            "Max-Age=60",
        ] {
            assert!(text.contains(part), "{text} lacks {part}");
        }
        let plain = set_cookie(false, "efsess_x", 60);
        assert!(
            plain
                .to_str()
                .unwrap()
                .starts_with("edgeflag_session=efsess_x")
        );
        assert!(!plain.to_str().unwrap().contains("Secure"));
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; edgeflag_session=s1; b=2"),
        );
        assert_eq!(secret(&h).as_deref(), Some("s1"));
        h.append(
            header::COOKIE,
            HeaderValue::from_static("__Host-edgeflag_session=s2"),
        );
        assert_eq!(secret(&h).as_deref(), Some("s2"), "the TLS cookie wins");
    }

    #[test]
    fn secure_follows_the_setting_the_public_url_and_a_tls_proxy() {
        let mut config = Config::default();
        let mut h = HeaderMap::new();
        assert!(!is_secure(&config, &h));
        h.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        assert!(is_secure(&config, &h));
        config.login.cookie_secure = CookieSecure::Never;
        assert!(!is_secure(&config, &h));
        config.login.cookie_secure = CookieSecure::Auto;
        config.public_url = Some("https://flags.example.com".into());
        assert!(is_secure(&config, &HeaderMap::new()));
    }

    #[test]
    fn cross_site_requests_and_wrong_tokens_are_refused() {
        let config = Config::default();
        let same = [
            ("host", "127.0.0.1:8080"),
            ("origin", "http://127.0.0.1:8080"),
            ("sec-fetch-site", "same-origin"),
        ];
        let token = [(CSRF_HEADER, "tok")];
        let with = |extra: &[(&str, &str)]| parts(&[&same[..], extra].concat());
        assert!(check_csrf(&with(&token), &config, "tok").is_ok());
        assert!(check_csrf(&with(&[]), &config, "tok").is_err(), "no token");
        assert!(check_csrf(&with(&[(CSRF_HEADER, "other")]), &config, "tok").is_err());
        let cross = parts(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "https://evil.example"),
            (CSRF_HEADER, "tok"),
        ]);
        assert!(check_csrf(&cross, &config, "tok").is_err());
        let site = parts(&[("sec-fetch-site", "same-site"), (CSRF_HEADER, "tok")]);
        assert!(check_csrf(&site, &config, "tok").is_err());
        // A script sends neither header: only the token is needed.
        assert!(check_csrf(&parts(&token), &config, "tok").is_ok());
        let public = Config {
            public_url: Some("https://flags.example.com".into()),
            ..Config::default()
        };
        let behind = parts(&[
            ("host", "10.0.0.5:8080"),
            ("origin", "https://flags.example.com"),
            (CSRF_HEADER, "tok"),
        ]);
        assert!(check_csrf(&behind, &public, "tok").is_ok());
    }
}
