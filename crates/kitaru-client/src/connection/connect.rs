//! From a resolved connection to a client that has talked to the server.

use crate::api_error::error_detail;
use crate::{Client, Session};

use super::{ConnectionError, ConnectionOptions, ResolvedConnection, VerifySsl};

/// Why no working client could be made.
///
/// Each message names where the connection settings came from, so the user
/// knows which setting to fix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The settings themselves are missing or inconsistent.
    #[error(transparent)]
    Resolve(#[from] ConnectionError),
    /// The CA bundle named by `verify_ssl` could not be used.
    #[error("cannot use the CA bundle {path} for the Kitaru server's TLS certificate: {reason}")]
    CaBundle {
        /// The PEM file.
        path: std::path::PathBuf,
        /// What went wrong reading or parsing it.
        reason: String,
    },
    /// The HTTP client could not be built (TLS setup).
    #[error("cannot set up the HTTP client for the Kitaru server: {0}")]
    Http(#[source] reqwest::Error),
    /// No answer from the server.
    #[error(
        "cannot reach the Kitaru server at {connection}: {reason}. Check that the server is \
         running and the URL is right (`kitaru login` or KITARU_SERVER_URL)."
    )]
    Unreachable {
        /// The resolved connection, with the source of each setting.
        connection: String,
        /// The transport error.
        reason: String,
    },
    /// The server answered, but refused the credentials.
    #[error(
        "the Kitaru server at {connection} refused the credentials (HTTP {status}: {detail}). \
         Log in again with `kitaru login`, or set a valid service-account API key in \
         KITARU_AUTH_TOKEN."
    )]
    Rejected {
        /// The resolved connection, with the source of each setting.
        connection: String,
        /// The HTTP status.
        status: u16,
        /// The server's reason.
        detail: String,
    },
    /// The server answered something else than expected.
    #[error("the Kitaru server at {connection} answered HTTP {status}: {detail}")]
    Unexpected {
        /// The resolved connection, with the source of each setting.
        connection: String,
        /// The HTTP status.
        status: u16,
        /// The server's answer.
        detail: String,
    },
}

/// How long an idle connection to the server is kept for reuse: well under
/// the 5 s after which the ZenML server closes it.
const POOL_IDLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

impl ResolvedConnection {
    /// A client for this connection, without talking to the server yet.
    ///
    /// A token the CLI cached for these credentials is used first, unless it
    /// has expired; when the server rejects it the client logs in again.
    pub fn client(&self) -> Result<Client, ConnectError> {
        let mut http = reqwest::Client::builder()
            .timeout(self.http_timeout)
            // ZenML's server (uvicorn) closes a keep-alive connection idle
            // for 5 s; one reused just then fails with "connection closed
            // before message completed". Connections idle for longer than
            // this are not reused.
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .user_agent(concat!("kitaru-client/", env!("CARGO_PKG_VERSION")));
        match &self.verify_ssl {
            VerifySsl::Enabled => {}
            VerifySsl::Disabled => http = http.tls_danger_accept_invalid_certs(true),
            VerifySsl::CaBundle(path) => {
                let fail = |reason: String| ConnectError::CaBundle {
                    path: path.clone(),
                    reason,
                };
                let pem = std::fs::read(path).map_err(|e| fail(e.to_string()))?;
                let certificate =
                    reqwest::Certificate::from_pem(&pem).map_err(|e| fail(e.to_string()))?;
                http = http.tls_certs_merge([certificate]);
            }
        }
        let mut session = Session::new(self.credentials.clone())
            .with_concurrency_limit(self.max_concurrent_requests);
        if let Some(token) = &self.cached_token
            && !token.is_expired_at(chrono::Utc::now())
        {
            session = session.with_token(token.access_token.clone());
        }
        let http = http.build().map_err(ConnectError::Http)?;
        Ok(Client::with_session(&self.server_url, session, http))
    }

    /// A client for this connection that has proven it can talk to the
    /// server: it asks who the current user is, which needs a login where
    /// the server has authentication on.
    pub async fn connect(&self) -> Result<Client, ConnectError> {
        let client = self.client()?;
        let connection = self.to_string();
        match client.get_current_user().send().await {
            Ok(_) => Ok(client),
            Err(crate::Error::ErrorResponse(answer)) => {
                let status = answer.status().as_u16();
                let detail = error_detail(&answer.into_inner().0);
                Err(if status == 401 || status == 403 {
                    ConnectError::Rejected {
                        connection,
                        status,
                        detail,
                    }
                } else {
                    ConnectError::Unexpected {
                        connection,
                        status,
                        detail,
                    }
                })
            }
            // An answer the operation does not declare (a 500 with the
            // server's message, say): the server is there, and said why.
            Err(error @ crate::Error::UnexpectedResponse(_)) => {
                let answer = crate::ApiError::read(error).await;
                Err(ConnectError::Unexpected {
                    connection,
                    status: answer.status.unwrap_or_default(),
                    detail: answer.message,
                })
            }
            Err(crate::Error::CommunicationError(error)) => Err(ConnectError::Unreachable {
                connection,
                reason: crate::api_error::transport_failure(&error),
            }),
            Err(error) => Err(ConnectError::Unreachable {
                connection,
                reason: error_chain(&error),
            }),
        }
    }
}

impl ConnectionOptions {
    /// Resolves these options against the process environment and the CLI's
    /// config files, then connects (see [`ResolvedConnection::connect`]).
    pub async fn connect(&self) -> Result<(ResolvedConnection, Client), ConnectError> {
        let resolved = self.resolve_from_process_env()?;
        let client = resolved.connect().await?;
        Ok((resolved, client))
    }
}

/// An error with its causes, e.g. `error sending request: connection refused`.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        let inner_text = inner.to_string();
        if !text.contains(&inner_text) {
            text.push_str(": ");
            text.push_str(&inner_text);
        }
        cause = inner.source();
    }
    text
}
