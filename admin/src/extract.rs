//! The JSON body and query extractors. A body must be sent as `application/json` or
//! a `+json` type (415 otherwise) and hold JSON objects wherever an object is
//! expected ([`Strict`]); unknown fields are refused by the target types
//! (`deny_unknown_fields`); every other error becomes a 422 whose `path` is the JSON
//! Pointer of the member in the body as sent, in the words of [`input_error`]; a body
//! over the limit becomes 413 — all in the one error shape.

use axum::{
    body::Bytes,
    extract::{FromRequest, Request},
    http::header,
};
use serde::de::DeserializeOwned;

use crate::{
    error::ApiError,
    input_error::{self, pointer},
    strict::Strict,
};

/// A JSON request body.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok());
        check_media_type(content_type)?;
        let limit = req
            .extensions()
            .get::<BodyLimit>()
            .map_or(DEFAULT_BODY_LIMIT, |l| l.0);
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|_| ApiError::PayloadTooLarge(limit))?;
        parse(&bytes).map(JsonBody)
    }
}

/// Accepts `application/json` and `application/*+json` (parameters such as
/// `charset` aside), nothing else: not `text/plain`, not `application/jsonx`.
pub fn check_media_type(content_type: Option<&str>) -> Result<(), ApiError> {
    let essence = content_type
        .and_then(|t| t.split(';').next())
        .map(|t| t.trim().to_ascii_lowercase());
    let json = essence.as_deref().is_some_and(|t| {
        t == "application/json"
            || t.strip_prefix("application/")
                .is_some_and(|sub| sub.len() > "+json".len() && sub.ends_with("+json"))
    });
    if json {
        Ok(())
    } else {
        Err(ApiError::UnsupportedMediaType(format!(
            "send the body as application/json (Content-Type was {})",
            content_type.map_or_else(|| "missing".to_string(), |t| format!("`{t}`"))
        )))
    }
}

/// The configured body limit, put in the request extensions by the router.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;

/// Parses JSON, reporting where it failed as a JSON Pointer.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(Strict(&mut de)).map_err(|err| {
        let path = pointer(err.path());
        let inner = err.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            not_json(&inner)
        } else {
            let (path, message) = input_error::translate(&path, &inner.to_string());
            ApiError::invalid(path, message)
        }
    })?;
    de.end().map_err(|e| not_json(&e))?;
    Ok(value)
}

fn not_json(err: &serde_json::Error) -> ApiError {
    ApiError::BadRequest(format!("request body is not valid JSON: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_media_types_only() {
        for ok in [
            "application/json",
            "application/json; charset=utf-8",
            "Application/JSON",
            "application/merge-patch+json",
        ] {
            assert!(check_media_type(Some(ok)).is_ok(), "{ok}");
        }
        for bad in [
            None,
            Some("text/plain"),
            Some("text/plain; a=json"),
            Some("application/jsonx"),
            Some("application/+json"),
            Some("text/json"),
        ] {
            assert!(check_media_type(bad).is_err(), "{bad:?}");
        }
    }
}

/// Query parameters, refused in the one error shape (422 whose `path` is `/` and the
/// parameter's name, as the list routes' own checks name them).
#[derive(Debug)]
pub struct QueryParams<T>(pub T);

impl<S, T> axum::extract::FromRequestParts<S> for QueryParams<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or_default();
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de)
            .map(QueryParams)
            .map_err(|err| {
                let path = pointer(err.path());
                let (path, message) = input_error::translate(&path, &err.into_inner().to_string());
                ApiError::invalid(path, message)
            })
    }
}
