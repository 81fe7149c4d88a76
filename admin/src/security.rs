//! Security headers on every answer, the API's as well as the dashboard's: no MIME
//! sniffing, no referrer, no framing (`X-Frame-Options` for old browsers, CSP
//! `frame-ancestors` for current ones), and HSTS when the admin is reached over HTTPS
//! (TLS served here, or a `public_url` that is `https://`). A header a route set
//! itself (the dashboard's full Content-Security-Policy) is kept.

use axum::{
    extract::{Request, State},
    http::{HeaderName, HeaderValue, header},
    middleware::Next,
    response::Response,
};

use crate::config::Config;

/// HSTS for a year, subdomains included: sent only over HTTPS.
pub const HSTS: &str = "max-age=31536000; includeSubDomains";

/// What every answer carries unless its route says otherwise.
const ALWAYS: [(HeaderName, &str); 4] = [
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::REFERRER_POLICY, "no-referrer"),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::CONTENT_SECURITY_POLICY, "frame-ancestors 'none'"),
];

/// The headers' settings, decided once from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub hsts: bool,
}

impl Policy {
    pub fn of(config: &Config) -> Self {
        let https_url = config
            .public_url
            .as_deref()
            .is_some_and(|url| url.starts_with("https://"));
        Self {
            hsts: config.tls.enabled() || https_url,
        }
    }
}

/// Middleware adding the headers to every response.
pub async fn headers(State(policy): State<Policy>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    for (name, value) in ALWAYS {
        h.entry(name).or_insert(HeaderValue::from_static(value));
    }
    if policy.hsts {
        h.entry(header::STRICT_TRANSPORT_SECURITY)
            .or_insert(HeaderValue::from_static(HSTS));
    }
    response
}
