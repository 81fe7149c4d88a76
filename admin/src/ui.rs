//! The dashboard (`admin/ui/`), served by the binary itself: `GET /` answers the app's
//! page and `GET /assets/…` its content-hashed files, all embedded at compile time by
//! `build.rs` from `admin/ui/dist/`. Nothing is fetched at run time and nothing comes
//! from another origin, so every answer carries a strict Content-Security-Policy: scripts,
//! styles and connections only from this server, and WebAssembly compilation for the
//! preview engine (`'wasm-unsafe-eval'`), no inline script or style.
//!
//! Hashed assets are cached for a year (`immutable`); the page itself is revalidated on
//! every load, so a new binary's dashboard is picked up at once. Browsers that accept
//! gzip get the precompressed copy. A binary built before the dashboard was built serves
//! a page that says how to build it.

use axum::{
    Router,
    extract::Path,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};

/// One embedded file of `admin/ui/dist/`.
#[derive(Debug)]
pub struct Asset {
    /// Relative to `dist/`, e.g. `assets/app-3F2A.js`.
    pub path: &'static str,
    pub bytes: &'static [u8],
    /// The build's precompressed copy, when it wrote one.
    pub gzip: Option<&'static [u8]>,
}

include!(concat!(env!("OUT_DIR"), "/ui_assets.rs"));

/// The policy of every dashboard answer.
pub const CSP: &str = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; \
    img-src 'self'; connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; \
    frame-ancestors 'none'";

const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// The dashboard's routes; generic over the state so tests need no application state.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(index))
        .route("/assets/{*path}", get(asset))
}

fn find(path: &str) -> Option<(&'static [u8], Option<&'static [u8]>)> {
    ASSETS
        .iter()
        .find(|a| a.path == path)
        .map(|a| (a.bytes, a.gzip))
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or_default() {
        "html" => "text/html; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "wasm" => "application/wasm",
        "svg" => "image/svg+xml",
        "json" => "application/json",
        "png" => "image/png",
        _ => "application/octet-stream",
    }
}

fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.trim().split(';');
            let name = parts.next().unwrap_or_default().trim();
            let refused = parts.any(|p| p.trim().replace(' ', "") == "q=0");
            (name == "gzip" || name == "*") && !refused
        })
}

fn answer(path: &str, cache: &'static str, headers: &HeaderMap) -> Response {
    let Some((bytes, gz)) = find(path) else {
        return (StatusCode::NOT_FOUND, "no such dashboard file").into_response();
    };
    let mut response = match gz.filter(|_| accepts_gzip(headers)) {
        Some(gz) => {
            let mut r = gz.into_response();
            r.headers_mut()
                .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            r
        }
        None => bytes.into_response(),
    };
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(path)),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    secure(h);
    response
}

/// The headers every dashboard answer carries.
fn secure(h: &mut HeaderMap) {
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
}

async fn index(headers: HeaderMap) -> Response {
    if find("index.html").is_some() {
        return answer("index.html", "no-cache", &headers);
    }
    let mut response = (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        PLACEHOLDER,
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    secure(response.headers_mut());
    response
}

async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    answer(&format!("assets/{path}"), IMMUTABLE, &headers)
}

/// What `/` answers when the binary was built without the dashboard.
const PLACEHOLDER: &str = "<!doctype html>
<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Edgeflag: dashboard not built</title></head>
<body><main>
<h1>The dashboard is not built into this binary</h1>
<p>This <code>edgeflag</code> was compiled before the dashboard's assets existed. The REST API
works as usual (<a href=\"/v1/docs\">/v1/docs</a>).</p>
<p>To get the dashboard, build it and then the binary again, from the repository root:</p>
<pre>cargo xtask build-ui
cargo build -p edgeflag-admin</pre>
<p><code>cargo xtask up</code> does both.</p>
</main></body></html>
";

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use tower::ServiceExt;

    use super::*;

    async fn get(path: &str, gzip: bool) -> Response {
        let mut request = axum::http::Request::get(path);
        if gzip {
            request = request.header(header::ACCEPT_ENCODING, "gzip");
        }
        router::<()>()
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn the_page_carries_the_policy_and_is_revalidated() {
        let page = get("/", false).await;
        assert_eq!(page.status(), StatusCode::OK);
        let h = page.headers();
        assert_eq!(h[header::CONTENT_SECURITY_POLICY], CSP);
        assert_eq!(h[header::CACHE_CONTROL], "no-cache");
        assert_eq!(h[header::CONTENT_TYPE], "text/html; charset=utf-8");
        assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    }

    #[tokio::test]
    async fn hashed_assets_are_immutable_and_sent_gzipped_when_accepted() {
        assert_eq!(
            get("/assets/nothing-here.js", true).await.status(),
            StatusCode::NOT_FOUND
        );
        // Only a binary built after `cargo xtask build-ui` has assets; the `ui` suite builds
        // it so, and its browser tests load every one of them.
        for asset in ASSETS.iter().filter(|a| a.path.starts_with("assets/")) {
            let (name, gz) = (asset.path, asset.gzip);
            let answer = get(&format!("/{name}"), true).await;
            assert_eq!(answer.status(), StatusCode::OK, "{name}");
            let h = answer.headers();
            assert_eq!(h[header::CACHE_CONTROL], IMMUTABLE, "{name}");
            assert_eq!(h[header::CONTENT_SECURITY_POLICY], CSP, "{name}");
            assert_eq!(
                h.get(header::CONTENT_ENCODING).is_some(),
                gz.is_some(),
                "{name}"
            );
        }
    }

    #[test]
    fn gzip_is_chosen_only_when_accepted() {
        let mut h = HeaderMap::new();
        assert!(!accepts_gzip(&h));
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("gzip, deflate, br"),
        );
        assert!(accepts_gzip(&h));
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("br, gzip;q=0"),
        );
        assert!(!accepts_gzip(&h));
    }

    #[test]
    fn types_cover_what_the_build_writes() {
        for Asset { path: name, .. } in ASSETS {
            assert_ne!(
                content_type(name),
                "application/octet-stream",
                "{name} has no content type"
            );
        }
        assert_eq!(
            content_type("assets/edgeflag_js_bg-AB12.wasm"),
            "application/wasm"
        );
    }
}
