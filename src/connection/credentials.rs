//! What the client authenticates with.

use chrono::{DateTime, Utc};

use super::Secret;

/// A bearer token, sent as `Authorization: Bearer <token>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiToken {
    /// The token itself.
    pub access_token: Secret,
    /// The moment from which the token counts as expired, already moved
    /// earlier by the leeway the CLI stored with it; `None` when it never
    /// expires (a bare token, or a local server's token).
    pub expires_at: Option<DateTime<Utc>>,
}

impl ApiToken {
    /// Whether the token can no longer be used at `now`.
    pub fn is_expired_at(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_some_and(|expires_at| expires_at <= now)
    }
}

/// How the client proves who it is.
///
/// API keys and passwords are long-lived: they are exchanged for a token at
/// `POST /api/v1/login` and can be exchanged again when that token expires.
/// A bare token is used as it is and cannot be renewed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Credentials {
    /// No credentials: only a server without authentication (the local
    /// server) answers.
    #[default]
    None,
    /// A service-account API key (`KITARU_AUTH_TOKEN` despite its name),
    /// exchanged for a token with the `zenml-api-key` grant.
    ApiKey(Secret),
    /// A user name and password, exchanged for a token with the `password`
    /// grant.
    Password {
        /// The user name.
        username: String,
        /// The password; may be empty, as for a local server's default user.
        password: Secret,
    },
    /// A bearer token used as it is.
    Token(ApiToken),
}

impl Credentials {
    /// A short name of the kind of credentials, safe to print.
    pub fn kind(&self) -> &'static str {
        match self {
            Credentials::None => "none",
            Credentials::ApiKey(_) => "api key",
            Credentials::Password { .. } => "username and password",
            Credentials::Token(_) => "bearer token",
        }
    }

    /// Whether there are credentials at all.
    pub fn is_none(&self) -> bool {
        matches!(self, Credentials::None)
    }
}

/// The client keeps no expiry with a bare token: it learns that a token
/// expired from the server's 401.
impl From<Credentials> for kitaru_client::Credentials {
    fn from(credentials: Credentials) -> Self {
        match credentials {
            Credentials::None => Self::None,
            Credentials::ApiKey(key) => Self::ApiKey(key),
            Credentials::Password { username, password } => Self::Password { username, password },
            Credentials::Token(token) => Self::Token(token.access_token),
        }
    }
}
