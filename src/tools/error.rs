//! Errors a tool reports to the assistant.

use kitaru_sdk::ErrorKind;

/// Why a tool call failed: the message the assistant reads, and a stable
/// kind (`not_found`, `invalid_argument`, ...) carried in the result's
/// `_meta`. Never carries a secret value.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ToolError {
    kind: &'static str,
    message: String,
}

impl ToolError {
    /// An argument is missing, malformed or out of range.
    pub fn argument(argument: impl AsRef<str>, reason: impl AsRef<str>) -> Self {
        kitaru_sdk::Error::argument(argument.as_ref(), reason.as_ref()).into()
    }

    /// The arguments as a whole are wrong, e.g. a required one is missing.
    pub fn arguments(reason: impl std::fmt::Display) -> Self {
        Self {
            kind: ErrorKind::InvalidArgument.as_str(),
            message: format!("invalid arguments: {reason}"),
        }
    }

    /// Nothing matched what the arguments ask for.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::NotFound.as_str(),
            message: message.into(),
        }
    }

    /// The client cancelled the call.
    pub fn cancelled() -> Self {
        Self {
            kind: "cancelled",
            message: "the call was cancelled by the client".to_owned(),
        }
    }

    /// The kind, as a stable snake_case name.
    pub fn kind(&self) -> &'static str {
        self.kind
    }
}

impl From<kitaru_sdk::Error> for ToolError {
    fn from(error: kitaru_sdk::Error) -> Self {
        Self {
            kind: error.kind().as_str(),
            message: error.to_string(),
        }
    }
}
