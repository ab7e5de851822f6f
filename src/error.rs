//! Errors a tool reports to the assistant.
//!
//! Each message names the thing that went wrong and the next step; the MCP
//! layer turns it into a tool result with `isError: true`. None of them ever
//! carries a secret value.

use kitaru_client::types::ErrorBody;

use crate::connection::{ConnectError, error_detail};

/// Why a tool call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ToolError {
    /// An argument is missing, malformed or out of range.
    #[error("invalid argument `{argument}`: {reason}")]
    InvalidArgument {
        /// The argument's name as the tool's schema spells it.
        argument: String,
        /// What is wrong with it and what would be accepted.
        reason: String,
    },
    /// The arguments as a whole are wrong, e.g. a required one is missing.
    #[error("invalid arguments: {0}")]
    Arguments(String),
    /// The thing asked for does not exist (or is ambiguous).
    #[error("{0}")]
    NotFound(String),
    /// The thing exists but its state forbids the operation.
    #[error("{0}")]
    State(String),
    /// No connection to the Kitaru server could be made.
    #[error(transparent)]
    Connection(#[from] ConnectError),
    /// The server refused or failed a request.
    #[error("{context}: {detail}")]
    Api {
        /// What was being done, e.g. `Failed to load execution 'x'`.
        context: String,
        /// The HTTP status, when the server answered.
        status: Option<u16>,
        /// The server's reason, or the transport error.
        detail: String,
    },
    /// The server answered something this tool cannot read.
    #[error("{0}")]
    Unexpected(String),
}

impl ToolError {
    /// An invalid-argument error.
    pub fn argument(argument: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidArgument {
            argument: argument.into(),
            reason: reason.into(),
        }
    }

    /// Wraps a client error with what was being done.
    pub fn api(context: impl Into<String>, error: kitaru_client::Error<ErrorBody>) -> Self {
        let (status, detail) = match error {
            kitaru_client::Error::ErrorResponse(answer) => (
                Some(answer.status().as_u16()),
                error_detail(&answer.into_inner().0),
            ),
            other => (other.status().map(|s| s.as_u16()), other.to_string()),
        };
        Self::Api {
            context: context.into(),
            status,
            detail,
        }
    }

    /// Whether the server answered 404 Not Found.
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            Self::Api {
                status: Some(404),
                ..
            }
        )
    }
}

/// Adds what was being done to a client error: `.context("Failed to load execution 'x'")?`.
pub trait ApiContext<T> {
    /// Turns the client error into a [`ToolError::Api`] with this context.
    fn context(self, context: impl Into<String>) -> Result<T, ToolError>;
}

impl<T> ApiContext<T> for Result<T, kitaru_client::Error<ErrorBody>> {
    fn context(self, context: impl Into<String>) -> Result<T, ToolError> {
        self.map_err(|error| ToolError::api(context, error))
    }
}
