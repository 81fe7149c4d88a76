//! One error enum for the whole API, one JSON shape for every error:
//! `{"error": {"code": "...", "message": "...", "path": "/rules/0/..."}}`
//! (`path` only on validation errors). Each variant says which status it becomes;
//! database and unexpected errors are logged and answered with a bare 500.
//!
//! The domain (`edgeflag_admin_core`) fails with its own [`CoreError`], which says
//! what went wrong; `From<CoreError>` below is the one place that decides which status
//! each of those becomes.

use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use edgeflag_admin_core::Error as CoreError;
use serde::Serialize;

/// Everything a handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{message}")]
    Unprocessable { path: String, message: String },
    #[error("rate limit exceeded; retry in {0} s")]
    RateLimited(u64),
    /// Also a 429 `RATE_LIMITED` with `Retry-After`, saying which limit: too many
    /// failed sign-ins, too many open streams.
    #[error("{0}; retry in {1} s")]
    Throttled(String, u64),
    #[error("{0}")]
    Unavailable(String),
    /// A failure the client is told nothing about; the text is for the log.
    #[error("{0}")]
    Internal(String),
}

impl From<CoreError> for ApiError {
    fn from(err: CoreError) -> Self {
        match err {
            CoreError::NotFound(m) => Self::NotFound(m),
            CoreError::Conflict(m) => Self::Conflict(m),
            CoreError::Invalid { path, message } => Self::Unprocessable { path, message },
            CoreError::Forbidden(m) => Self::Forbidden(m),
            CoreError::Unauthenticated(m) => Self::Unauthorized(m),
            e @ (CoreError::Database(_) | CoreError::MasterKey(_) | CoreError::Internal(_)) => {
                Self::Internal(e.to_string())
            }
        }
    }
}

/// Handlers that query the database directly get the domain's reading of the error
/// (a unique-constraint violation is a conflict).
impl From<sqlx::Error> for ApiError {
    fn from(err: sqlx::Error) -> Self {
        CoreError::from(err).into()
    }
}

#[derive(Serialize)]
struct Body<'a> {
    error: Detail<'a>,
}

#[derive(Serialize)]
struct Detail<'a> {
    code: &'a str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<&'a str>,
}

impl ApiError {
    pub fn invalid(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Unprocessable {
            path: path.into(),
            message: message.into(),
        }
    }

    pub fn not_found(what: &str, key: &str) -> Self {
        Self::NotFound(format!("{what} `{key}` does not exist"))
    }

    pub fn internal(err: impl std::fmt::Display) -> Self {
        Self::Internal(format!("internal error: {err}"))
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::RateLimited(_) | Self::Throttled(..) => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "BAD_REQUEST",
            Self::Unauthorized(_) => "UNAUTHORIZED",
            Self::Forbidden(_) => "FORBIDDEN",
            Self::NotFound(_) => "NOT_FOUND",
            Self::Conflict(_) => "CONFLICT",
            Self::PayloadTooLarge(_) => "PAYLOAD_TOO_LARGE",
            Self::UnsupportedMediaType(_) => "UNSUPPORTED_MEDIA_TYPE",
            Self::Unprocessable { .. } => "VALIDATION_FAILED",
            Self::RateLimited(_) | Self::Throttled(..) => "RATE_LIMITED",
            Self::Unavailable(_) => "UNAVAILABLE",
            Self::Internal(_) => "INTERNAL",
        }
    }

    fn public_message(&self) -> String {
        match self {
            Self::Internal(_) => {
                "internal error; the request id in X-Request-Id finds it in the logs".to_string()
            }
            other => other.to_string(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        let path = match &self {
            Self::Unprocessable { path, .. } => Some(path.as_str()),
            _ => None,
        };
        let body = Body {
            error: Detail {
                code: self.code(),
                message: self.public_message(),
                path,
            },
        };
        let mut response = (status, Json(body)).into_response();
        if let Self::RateLimited(seconds) | Self::Throttled(_, seconds) = self
            && let Ok(value) = HeaderValue::from_str(&seconds.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    /// Every domain error becomes the status the API promised before the split.
    #[test]
    fn domain_errors_become_their_statuses() {
        let cases = [
            (
                CoreError::not_found("flag", "f"),
                StatusCode::NOT_FOUND,
                "NOT_FOUND",
            ),
            (
                CoreError::Conflict("in use".into()),
                StatusCode::CONFLICT,
                "CONFLICT",
            ),
            (
                CoreError::invalid("/rules/0", "bad"),
                StatusCode::UNPROCESSABLE_ENTITY,
                "VALIDATION_FAILED",
            ),
            (
                CoreError::Forbidden("no".into()),
                StatusCode::FORBIDDEN,
                "FORBIDDEN",
            ),
            (
                CoreError::Unauthenticated("who?".into()),
                StatusCode::UNAUTHORIZED,
                "UNAUTHORIZED",
            ),
            (
                CoreError::Database(sqlx::Error::RowNotFound),
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL",
            ),
            (
                CoreError::internal("x"),
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL",
            ),
        ];
        for (core, status, code) in cases {
            let api = ApiError::from(core);
            assert_eq!((api.status(), api.code()), (status, code), "{api:?}");
        }
        let hidden = ApiError::from(CoreError::Database(sqlx::Error::RowNotFound));
        assert!(!hidden.public_message().contains("no rows"));
    }
}
