//! The fast path for OFREP evaluation (`js/entry.mjs` calls it): one synchronous call
//! that answers from the isolate's cache. workers-rs's entry wraps every request in a
//! new `Proxy`, an `async` function, a Rust future driven by wasm-bindgen's executor
//! and their promises, even when the answer is ready in memory; the Worker's own
//! entry point reads the request in JavaScript and calls [`FastPath::answer`]
//! instead, and takes the workers-rs path only when this answers nothing.
//!
//! The answer is the edge's own ([`edgeflag_edge::Edge::answer_cached`] is
//! `Edge::handle` without storage), decoded and encoded by the same functions as the
//! workers-rs path, so both answer byte for byte alike (`test/fast.test.mjs`).

use edgeflag_edge::{Request, http::REQUEST_HEADERS};
use wasm_bindgen::{JsCast, JsValue, prelude::wasm_bindgen};
use worker::Context;

use crate::{EDGE, KV_FOUND, encode, now_ms, picked_headers, send_usage};

/// The calls the Worker's entry point (`js/entry.mjs`) makes; static methods of a
/// class, so that worker-build does not also make them methods of its entry point.
#[wasm_bindgen]
#[derive(Debug)]
pub struct FastPath;

#[wasm_bindgen]
impl FastPath {
    /// The request headers the edge reads (the entry passes them to
    /// [`FastPath::answer`]), read once per isolate.
    #[wasm_bindgen(js_name = headerNames)]
    pub fn header_names() -> js_sys::Array {
        REQUEST_HEADERS
            .iter()
            .map(|h| JsValue::from_str(h))
            .collect()
    }

    /// The largest OFREP request body this isolate accepts, or 0 while its edge is not
    /// configured yet (the first request, which the workers-rs path answers, does
    /// that). The entry reads a body only when its `Content-Length` is at most this;
    /// anything else (no length, a larger one) takes the workers-rs path, which
    /// counts a body without a length and answers `413` for one over it.
    #[wasm_bindgen(js_name = bodyLimit)]
    pub fn body_limit() -> u32 {
        match EDGE.with(|cell| cell.get().cloned()) {
            Some(edge) if KV_FOUND.get() => {
                let limit = edge.body_limit("POST", "/ofrep/");
                u32::try_from(limit).unwrap_or(u32::MAX)
            }
            _ => 0,
        }
    }

    /// The answer to `POST url` (an OFREP evaluation) with `headers`, as
    /// `name\nvalue\n` for each of [`FastPath::header_names`] the request has, and
    /// its whole `body`; or `undefined` when the isolate's cache cannot answer it
    /// alone, and then nothing was counted or changed. Usage batches that are due
    /// go out through `ctx.waitUntil`, as on the workers-rs path.
    pub fn answer(
        url: &str,
        headers: &str,
        body: Vec<u8>,
        ctx: JsValue,
    ) -> Result<Option<web_sys::Response>, JsValue> {
        let Some(edge) = EDGE.with(|cell| cell.get().cloned()) else {
            return Ok(None);
        };
        if !KV_FOUND.get() {
            return Ok(None);
        }
        let (origin, path, query) = edgeflag_edge::http::split_url(url);
        let (headers, _) = picked_headers(headers);
        let request = Request {
            method: "POST".to_string(),
            path: path.to_string(),
            query: query.to_string(),
            origin,
            headers,
            body,
        };
        let Some(response) = edge.answer_cached(&request, now_ms()) else {
            return Ok(None);
        };
        send_usage(&edge, &Context::new(ctx.unchecked_into()));
        encode(response).map(Some).map_err(JsValue::from)
    }
}
