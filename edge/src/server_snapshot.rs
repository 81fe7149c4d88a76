//! `GET /v1/snapshot`: the environment's signed server snapshot, for server SDKs that
//! evaluate locally (`sdk/rust`, `sdk/python`).
//!
//! The server key travels in a header (`Authorization: Bearer …` or `X-API-Key`), never
//! in the URL: the server snapshot holds every flag with its targets and rules, so it
//! must not land in access logs or shared caches. The edge serves the very document it
//! verified when it loaded the environment (kept in memory beside the client snapshot),
//! so a corrupt value in KV never reaches an SDK; SDKs verify the signature again
//! themselves (`edgeflag_engine::accept`) and never evaluate from anything else.
//!
//! Polling is cheap: the `ETag` is a hash of the document and `If-None-Match` answers
//! `304` with no body. With live updates on (the Worker), the answer also names the
//! environment's event stream in the `edgeflag-event-stream` header, as the client
//! snapshot does, and a refetch that carries the announced version (`flagConfigEtag`)
//! is answered from the store at once; SDKs that do not follow the stream poll.

use crate::{
    ApiError, Edge, Surface, bearer, eval,
    http::{Request, Response},
    keys::{self, KeyKind},
    kv::Kv,
    live,
};

/// The media type of a compact JWS (RFC 7515), as for the client snapshot.
const JOSE: &str = "application/jose";

impl Edge {
    /// Answers `GET /v1/snapshot` for a server key.
    pub(crate) async fn server_snapshot(
        &self,
        req: &Request,
        kv: &impl Kv,
        now_ms: i64,
    ) -> Response {
        let Some(secret) = bearer(req) else {
            return ApiError::unauthorized(
                "send the server key as `Authorization: Bearer <key>` or `X-API-Key`",
            )
            .respond(Surface::Native);
        };
        let hint = live::version_hint(req);
        let hash = keys::hash_key(&secret);
        match self
            .environment_for_hash(&hash, KeyKind::Server, kv, now_ms, hint)
            .await
        {
            Ok(state) => {
                let response = Response::new(200)
                    .with_header("content-type", JOSE)
                    // Every flag and its targets: only the holder of the key may keep it.
                    .with_header("cache-control", "private, no-cache")
                    .with_body(state.server_jws.as_bytes().to_vec());
                let response = eval::with_etag(req, response);
                match self.stream_url(req, &hash, &state, now_ms) {
                    Some(url) => response.with_header(live::STREAM_HEADER, &url),
                    None => response,
                }
            }
            Err(error) => error.respond(Surface::Native),
        }
    }
}
