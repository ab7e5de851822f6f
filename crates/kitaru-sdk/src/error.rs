//! Why a Kitaru operation failed.
//!
//! Every error has a stable [`ErrorKind`] a program can branch on, and a
//! message that names the thing that went wrong and the next step. None of
//! them ever carries a secret value.

use kitaru_client::ApiError;
use kitaru_client::connection::ConnectError;
use kitaru_client::types::ErrorBody;

/// The kind of a failure: stable names a caller can branch on (and an MCP
/// client can read as `not_found`, `invalid_argument`, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schemars", derive(serde::Serialize))]
#[cfg_attr(feature = "schemars", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum ErrorKind {
    /// The thing asked for does not exist, or a name or prefix is ambiguous.
    NotFound,
    /// An input is missing, malformed or out of range.
    InvalidArgument,
    /// The change conflicts with what the server already has.
    Conflict,
    /// The thing exists, but its state forbids the operation.
    State,
    /// The server refused the credentials or the permission.
    Auth,
    /// No connection to the server could be made.
    Unavailable,
    /// The server failed, or answered something that cannot be read.
    Backend,
    /// The server did not answer in time.
    Timeout,
}

impl ErrorKind {
    /// The kind as a stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotFound => "not_found",
            Self::InvalidArgument => "invalid_argument",
            Self::Conflict => "conflict",
            Self::State => "state",
            Self::Auth => "auth",
            Self::Unavailable => "unavailable",
            Self::Backend => "backend",
            Self::Timeout => "timeout",
        }
    }

    /// The kind an HTTP answer (or its absence) stands for.
    fn of_api(error: &ApiError) -> Self {
        match error.status {
            _ if error.timed_out => Self::Timeout,
            None => Self::Unavailable,
            Some(400 | 422) => Self::InvalidArgument,
            Some(401 | 403) => Self::Auth,
            Some(404) => Self::NotFound,
            Some(409) => Self::Conflict,
            Some(408 | 504) => Self::Timeout,
            Some(_) => Self::Backend,
        }
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a Kitaru operation failed. Cheap to clone (a connection failure is
/// shared by every call that waited for the same attempt).
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An input is missing, malformed or out of range.
    #[error("invalid argument `{argument}`: {reason}")]
    InvalidArgument {
        /// The input's name (as the tools and the reference spell it).
        argument: String,
        /// What is wrong with it and what would be accepted.
        reason: String,
    },
    /// The thing asked for does not exist (or is ambiguous).
    #[error("{0}")]
    NotFound(String),
    /// The thing exists but its state forbids the operation.
    #[error("{0}")]
    State(String),
    /// No connection to the Kitaru server could be made.
    #[error(transparent)]
    Connection(std::sync::Arc<ConnectError>),
    /// The server refused or failed a request.
    #[error("{context}: {detail}")]
    Api {
        /// What was being done, e.g. `Failed to load execution 'x'`.
        context: String,
        /// The kind, from the HTTP status.
        kind: ErrorKind,
        /// The HTTP status, when the server answered.
        status: Option<u16>,
        /// The server's reason, or the transport error.
        detail: String,
    },
    /// The server answered something this SDK cannot read.
    #[error("{0}")]
    Unexpected(String),
    /// Work that needs the user's Kitaru Python (running flow code, the
    /// local server daemon) failed there, or no such Python was found.
    #[error("{message}")]
    Python {
        /// What kind of failure it was: `invalid_argument` for a bad flow
        /// target or flow inputs, `unavailable` when no Kitaru Python is
        /// installed, `timeout`, or `backend`.
        kind: ErrorKind,
        /// What Python said (the exception's text), and the next step.
        message: String,
    },
}

impl From<ConnectError> for Error {
    fn from(error: ConnectError) -> Self {
        Self::Connection(std::sync::Arc::new(error))
    }
}

impl Error {
    /// An invalid-argument error.
    pub fn argument(argument: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidArgument {
            argument: argument.into(),
            reason: reason.into(),
        }
    }

    /// A failed request, with what was being done.
    pub fn api(context: impl Into<String>, error: impl Into<ApiError>) -> Self {
        let error = error.into();
        Self::Api {
            context: context.into(),
            kind: ErrorKind::of_api(&error),
            status: error.status,
            detail: error.message,
        }
    }

    /// The stable kind of this failure.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::InvalidArgument { .. } => ErrorKind::InvalidArgument,
            Self::NotFound(_) => ErrorKind::NotFound,
            Self::State(_) => ErrorKind::State,
            Self::Connection(error) => match &**error {
                ConnectError::Rejected { .. } => ErrorKind::Auth,
                ConnectError::Http(_) | ConnectError::Unexpected { .. } => ErrorKind::Backend,
                _ => ErrorKind::Unavailable,
            },
            Self::Api { kind, .. } => *kind,
            Self::Unexpected(_) => ErrorKind::Backend,
            Self::Python { kind, .. } => *kind,
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
pub(crate) trait ApiContext<T> {
    /// Turns the client error into an [`Error::Api`] with this context.
    fn context(self, context: impl Into<String>) -> Result<T, Error>;
}

impl<T> ApiContext<T> for Result<T, kitaru_client::Error<ErrorBody>> {
    fn context(self, context: impl Into<String>) -> Result<T, Error> {
        self.map_err(|error| Error::api(context, error))
    }
}

/// Results of the SDK.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    fn answered(status: Option<u16>) -> ErrorKind {
        ErrorKind::of_api(&ApiError {
            status,
            exception_type: None,
            message: String::new(),
            timed_out: false,
        })
    }

    #[test]
    fn http_statuses_map_to_stable_kinds() {
        assert_eq!(answered(Some(404)), ErrorKind::NotFound);
        assert_eq!(answered(Some(422)), ErrorKind::InvalidArgument);
        assert_eq!(answered(Some(401)), ErrorKind::Auth);
        assert_eq!(answered(Some(409)), ErrorKind::Conflict);
        assert_eq!(answered(Some(500)), ErrorKind::Backend);
        assert_eq!(answered(Some(504)), ErrorKind::Timeout);
        assert_eq!(answered(None), ErrorKind::Unavailable);
    }

    #[test]
    fn kinds_have_snake_case_names() {
        assert_eq!(ErrorKind::InvalidArgument.as_str(), "invalid_argument");
        assert_eq!(Error::NotFound("x".into()).kind().to_string(), "not_found");
    }
}
