//! Whose Kitaru connection a request uses: over stdio the one user's (one
//! lazily made connection for every request), over HTTP each caller's own,
//! from the credential in the request's `Authorization` header (a
//! [`ConnectorPool`], one connection per credential).
//!
//! Near the bottom of the server: it knows the SDK, the request and the
//! program's name, nothing else of this crate.

use std::sync::Arc;

use kitaru_client::ConnectionOptions;
use kitaru_client::connection::ConnectError;
use kitaru_sdk::{Connector, ConnectorPool, Credential, Kitaru};
use rmcp::RoleServer;
use rmcp::service::RequestContext;

use crate::limits::program;

/// The prefix of Kitaru (ZenML) service-account API keys.
const API_KEY_PREFIX: &str = "ZENKEY_";

/// The connections requests use.
#[derive(Clone, Debug)]
pub enum Connections {
    /// One connection for every request (stdio: one user).
    One(Arc<Connector>),
    /// The caller's, from the request's credentials (HTTP).
    PerCaller(Arc<ConnectorPool>),
}

impl Connections {
    /// One connection, resolved from `options` against the environment and
    /// the CLI's config on first use.
    pub fn one(options: ConnectionOptions) -> Self {
        Self::One(Arc::new(Connector::new(options).with_program(program())))
    }

    /// Each caller's own, made from `base` and the caller's credential.
    pub fn per_caller(base: ConnectionOptions) -> Self {
        Self::PerCaller(Arc::new(ConnectorPool::new(base).with_program(program())))
    }

    /// Whether each request acts as its caller (HTTP).
    pub fn is_per_caller(&self) -> bool {
        matches!(self, Self::PerCaller(_))
    }

    /// The connection `request` uses, not connected yet perhaps.
    pub fn connector_of(
        &self,
        request: &RequestContext<RoleServer>,
    ) -> Result<Arc<Connector>, kitaru_sdk::Error> {
        match self {
            Self::One(connector) => Ok(Arc::clone(connector)),
            Self::PerCaller(pool) => Ok(pool.connector(&caller(request)?)),
        }
    }

    /// The connected server for `request`, connecting now if needed.
    pub async fn kitaru_of(
        &self,
        request: &RequestContext<RoleServer>,
    ) -> Result<Arc<Kitaru>, kitaru_sdk::Error> {
        match self {
            Self::One(connector) => connector.get().await,
            Self::PerCaller(pool) => pool.kitaru(&caller(request)?).await,
        }
    }
}

/// The credential of an HTTP request, or why it has none.
fn caller(request: &RequestContext<RoleServer>) -> Result<Credential, ConnectError> {
    request
        .extensions
        .get::<http::request::Parts>()
        .and_then(|parts| parts.headers.get(http::header::AUTHORIZATION))
        .and_then(|value| value.to_str().ok())
        .and_then(credential)
        .ok_or_else(|| ConnectError::Rejected {
            connection: "this HTTP request".to_owned(),
            status: 401,
            detail: "it carries no Kitaru credentials: send `Authorization: Bearer <API key or \
                     token>`"
                .to_owned(),
        })
}

/// The credential an `Authorization` header carries: `Bearer <token>`,
/// `Bearer ZENKEY_…` (an API key) or `ApiKey <key>`.
pub fn credential(header: &str) -> Option<Credential> {
    let (scheme, value) = header.trim().split_once(' ')?;
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    match scheme.to_ascii_lowercase().as_str() {
        "apikey" => Some(Credential::ApiKey(value.to_owned())),
        "bearer" if value.starts_with(API_KEY_PREFIX) => Some(Credential::ApiKey(value.to_owned())),
        "bearer" => Some(Credential::Token(value.to_owned())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_read_from_the_authorization_header() {
        assert_eq!(
            credential("Bearer ZENKEY_abc"),
            Some(Credential::ApiKey("ZENKEY_abc".into()))
        );
        assert_eq!(
            credential("ApiKey k1"),
            Some(Credential::ApiKey("k1".into()))
        );
        assert_eq!(
            credential("bearer  eyJtok "),
            Some(Credential::Token("eyJtok".into()))
        );
        assert_eq!(credential("Bearer"), None);
        assert_eq!(credential("Basic dXNlcjpwdw=="), None);
    }
}
