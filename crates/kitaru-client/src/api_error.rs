//! What the server said when a request failed.
//!
//! A ZenML server answers a failed request with `{"detail": ...}`: the
//! Python exception as `["KeyError", "message"]`, a plain message, or
//! FastAPI's validation report. [`ApiError`] keeps the readable part of any of
//! these, with the HTTP status, or says that there was no answer at all.

use crate::Error;
use crate::types::ErrorBody;

/// A failed request, reduced to what a person can act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status, when the server answered.
    pub status: Option<u16>,
    /// The Python exception's class name, when the server named it
    /// (`KeyError`, `ValueError`, `IllegalOperationError`, ...).
    pub exception_type: Option<String>,
    /// The server's message, or the transport error with its causes.
    pub message: String,
    /// Whether the request timed out before an answer came.
    pub timed_out: bool,
}

impl ApiError {
    /// Whether the server rejected a value (Python's `ValueError`,
    /// `TypeError`, pydantic's `ValidationError`, or FastAPI's 422).
    pub fn is_validation(&self) -> bool {
        self.status == Some(422)
            || matches!(
                self.exception_type.as_deref(),
                Some("ValueError" | "TypeError" | "ValidationError")
            )
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ApiError {}

impl ApiError {
    /// Like `From`, but also reads the body of an answer the API does not
    /// declare for the operation (e.g. a 501 from a server that cannot
    /// reach its artifact store), which `From` cannot do without waiting.
    pub async fn read(error: Error<ErrorBody>) -> Self {
        match error {
            Error::UnexpectedResponse(answer) => {
                let status = answer.status().as_u16();
                let text = answer.text().await.unwrap_or_default();
                let body: serde_json::Value = serde_json::from_str(&text)
                    .unwrap_or_else(|_| serde_json::Value::String(text.trim().to_owned()));
                let (exception_type, message) = exception(&body);
                Self {
                    status: Some(status),
                    exception_type,
                    message,
                    timed_out: false,
                }
            }
            other => other.into(),
        }
    }
}

/// The exception type and message of a ZenML error body.
fn exception(body: &serde_json::Value) -> (Option<String>, String) {
    let detail = body.get("detail").unwrap_or(body);
    match detail.as_array().map(Vec::as_slice) {
        Some(
            [
                serde_json::Value::String(kind),
                serde_json::Value::String(message),
            ],
        ) => (Some(kind.clone()), message.clone()),
        _ => (None, error_detail(body)),
    }
}

impl From<Error<ErrorBody>> for ApiError {
    fn from(error: Error<ErrorBody>) -> Self {
        match error {
            Error::ErrorResponse(answer) => {
                let status = Some(answer.status().as_u16());
                let body = answer.into_inner().0;
                let (exception_type, message) = exception(&body);
                Self {
                    status,
                    exception_type,
                    message,
                    timed_out: false,
                }
            }
            Error::UnexpectedResponse(answer) => Self {
                status: Some(answer.status().as_u16()),
                exception_type: None,
                message: format!(
                    "the server answered HTTP {} ({}), which this operation does not declare",
                    answer.status().as_u16(),
                    answer
                        .status()
                        .canonical_reason()
                        .unwrap_or("unknown status")
                ),
                timed_out: false,
            },
            other => Self {
                status: other.status().map(|s| s.as_u16()),
                exception_type: None,
                timed_out: matches!(&other, Error::CommunicationError(e) if e.is_timeout()),
                message: other.to_string(),
            },
        }
    }
}

/// The readable part of a ZenML error answer: `{"detail": ["Type", "message"]}`,
/// `{"detail": "message"}` or anything else as JSON text.
pub fn error_detail(body: &serde_json::Value) -> String {
    let detail = body.get("detail").unwrap_or(body);
    match detail {
        serde_json::Value::String(text) => text.clone(),
        serde_json::Value::Array(parts) if parts.iter().all(|p| p.is_string()) => parts
            .iter()
            .filter_map(|p| p.as_str())
            .collect::<Vec<_>>()
            .join(": "),
        other => other.to_string(),
    }
}
