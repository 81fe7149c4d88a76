//! One error type for every edge surface, and one mapping to each surface's shape:
//! OFREP's `{key, errorCode, errorDetails}` and the native `{error: {code, message}}`.

use serde_json::json;

use crate::http::Response;

/// Which protocol's error shape a response takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    Ofrep,
    Native,
}

/// A request that cannot be answered with a result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    /// An OpenFeature error code (`PARSE_ERROR`, …) or an edge code (`UNAUTHORIZED`, …).
    pub code: &'static str,
    pub message: String,
    /// The flag the error is about, for OFREP's `key`.
    pub key: Option<String>,
}

impl ApiError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            key: None,
        }
    }

    pub fn for_flag(mut self, key: &str) -> Self {
        self.key = Some(key.to_string());
        self
    }

    pub fn parse(message: impl Into<String>) -> Self {
        Self::new(400, "PARSE_ERROR", message)
    }

    pub fn invalid_context(message: impl Into<String>) -> Self {
        Self::new(400, "INVALID_CONTEXT", message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(401, "UNAUTHORIZED", message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(403, "FORBIDDEN", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(404, "NOT_FOUND", message)
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(503, "SNAPSHOT_UNAVAILABLE", message)
    }

    pub fn respond(&self, surface: Surface) -> Response {
        let body = match surface {
            Surface::Ofrep => match &self.key {
                Some(key) => {
                    json!({"key": key, "errorCode": self.code, "errorDetails": self.message})
                }
                None => json!({"errorCode": self.code, "errorDetails": self.message}),
            },
            Surface::Native => json!({"error": {"code": self.code, "message": self.message}}),
        };
        Response::json(self.status, &body)
    }
}
