//! The streamable HTTP transport (`kitaru-mcp --http ADDR`): one server for
//! a team.
//!
//! Stateless: no MCP session is kept between requests, so any instance
//! behind a load balancer can answer any request. Each request acts as its
//! caller: the `Authorization` header carries the caller's Kitaru
//! credentials (`Bearer <API key or token>`, or `ApiKey <key>`), which are
//! exchanged with the Kitaru server on first use and the connection kept per
//! credential; the instance's own credentials are never used. Requests
//! without credentials are refused with 401 before MCP sees them; a browser
//! `Origin` must be allowed explicitly; the `Host` header must be one the
//! instance serves (loopback unless told otherwise). Credentials are never
//! logged.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, combinators::BoxBody};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use tower_service::Service;

use kitaru_client::ConnectionOptions;
use kitaru_client::connection::ConnectError;
use kitaru_sdk::Connector;

use crate::selection::ToolSelection;
use crate::server::KitaruServer;

/// How many callers' connections are kept; past that the oldest is dropped
/// (and made again on its next request).
const CALLERS_KEPT: usize = 1_000;
/// The prefix of Kitaru (ZenML) service-account API keys.
const API_KEY_PREFIX: &str = "ZENKEY_";

/// Where and how to serve.
#[derive(Clone, Debug)]
pub struct HttpSettings {
    /// The address to listen on.
    pub address: SocketAddr,
    /// `Host` header values accepted (host or host:port); loopback names
    /// when empty.
    pub allowed_hosts: Vec<String>,
    /// Browser origins allowed (`https://app.example.com`); none when empty.
    pub allowed_origins: Vec<String>,
}

/// The connections of the callers seen so far, one per credential.
#[derive(Debug)]
pub struct Callers {
    base: ConnectionOptions,
    connectors: Mutex<Vec<(String, Arc<Connector>)>>,
}

impl Callers {
    /// Connections made with `base` (server URL, project, TLS settings)
    /// and each caller's credentials.
    pub fn new(base: ConnectionOptions) -> Self {
        Self {
            base,
            connectors: Mutex::new(Vec::new()),
        }
    }

    /// The connection for the caller whose `Authorization` header is
    /// `authorization`.
    pub fn connector(&self, authorization: Option<&str>) -> Result<Arc<Connector>, ConnectError> {
        let credential =
            authorization
                .and_then(credential)
                .ok_or_else(|| ConnectError::Rejected {
                    connection: "this HTTP request".to_owned(),
                    status: 401,
                    detail:
                        "it carries no Kitaru credentials: send `Authorization: Bearer <API key \
                         or token>`"
                            .to_owned(),
                })?;
        let key = format!("{}:{}", credential.0 as u8, credential.1);
        let mut connectors = self
            .connectors
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((_, connector)) = connectors.iter().find(|(known, _)| *known == key) {
            return Ok(Arc::clone(connector));
        }
        let options = match credential.0 {
            Kind::ApiKey => self.base.clone().api_key(credential.1),
            Kind::Token => self.base.clone().bearer_token(credential.1),
        };
        let connector = Arc::new(Connector::new(options));
        if connectors.len() >= CALLERS_KEPT {
            connectors.remove(0);
        }
        connectors.push((key, Arc::clone(&connector)));
        Ok(connector)
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    ApiKey,
    Token,
}

/// The credential an `Authorization` header carries.
fn credential(header: &str) -> Option<(Kind, String)> {
    let (scheme, value) = header.trim().split_once(' ')?;
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    match scheme.to_ascii_lowercase().as_str() {
        "apikey" => Some((Kind::ApiKey, value.to_owned())),
        "bearer" if value.starts_with(API_KEY_PREFIX) => Some((Kind::ApiKey, value.to_owned())),
        "bearer" => Some((Kind::Token, value.to_owned())),
        _ => None,
    }
}

type Body = BoxBody<Bytes, Infallible>;

/// Serves MCP over streamable HTTP at `settings.address` until the process
/// is stopped.
pub async fn serve(
    settings: HttpSettings,
    base: ConnectionOptions,
    selection: ToolSelection,
) -> anyhow::Result<()> {
    let callers = Arc::new(Callers::new(base));
    let prototype = KitaruServer::for_callers(Arc::clone(&callers), selection);
    let mut config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .enforce_origin_validation()
        .with_allowed_origins(settings.allowed_origins.clone());
    if !settings.allowed_hosts.is_empty() {
        config = config.with_allowed_hosts(settings.allowed_hosts.clone());
    }
    let mcp = StreamableHttpService::new(
        move || Ok(prototype.clone()),
        Arc::new(NeverSessionManager::default()),
        config,
    );
    let listener = tokio::net::TcpListener::bind(settings.address).await?;
    tracing::info!(address = %listener.local_addr()?, "kitaru-mcp serving MCP over HTTP");
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::warn!("accept failed: {error}");
                continue;
            }
        };
        let mcp = mcp.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                let mut mcp = mcp.clone();
                async move {
                    if !has_credentials(&request) {
                        return Ok::<_, Infallible>(unauthorized());
                    }
                    mcp.call(request).await
                }
            });
            let io = hyper_util::rt::TokioIo::new(stream);
            if let Err(error) = hyper::server::conn::http1::Builder::new()
                .serve_connection(io, service)
                .await
            {
                tracing::debug!(%peer, "connection ended: {error}");
            }
        });
    }
}

/// Whether the request carries a credential the server can use.
fn has_credentials(request: &Request<Incoming>) -> bool {
    request
        .headers()
        .get(http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(credential)
        .is_some()
}

/// 401 with a JSON-RPC error body saying what to send.
fn unauthorized() -> Response<Body> {
    let body = serde_json::json!({
        "jsonrpc": "2.0", "id": null,
        "error": {"code": -32001, "message": "Kitaru credentials required: send `Authorization: Bearer <service-account API key or token>`"},
    });
    Response::builder()
        .status(StatusCode::UNAUTHORIZED)
        .header(http::header::WWW_AUTHENTICATE, "Bearer")
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(
            Full::new(Bytes::from(body.to_string()))
                .map_err(|never| match never {})
                .boxed(),
        )
        .unwrap_or_else(|_| {
            Response::new(
                Full::new(Bytes::new())
                    .map_err(|never| match never {})
                    .boxed(),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorization_headers_name_an_api_key_or_a_token() {
        assert_eq!(
            credential("Bearer ZENKEY_abc"),
            Some((Kind::ApiKey, "ZENKEY_abc".into()))
        );
        assert_eq!(credential("ApiKey k1"), Some((Kind::ApiKey, "k1".into())));
        assert_eq!(
            credential("bearer  eyJtok "),
            Some((Kind::Token, "eyJtok".into()))
        );
        assert_eq!(credential("Bearer"), None);
        assert_eq!(credential("Basic dXNlcjpwdw=="), None);
    }

    #[test]
    fn one_connection_per_credential_and_none_without() {
        let callers = Callers::new(ConnectionOptions::new().server_url("http://127.0.0.1:1"));
        let a = callers.connector(Some("Bearer t1")).unwrap();
        let again = callers.connector(Some("Bearer t1")).unwrap();
        let b = callers.connector(Some("Bearer t2")).unwrap();
        assert!(Arc::ptr_eq(&a, &again));
        assert!(!Arc::ptr_eq(&a, &b));
        assert!(callers.connector(None).is_err());
        let error = callers.connector(Some("Bearer")).unwrap_err().to_string();
        assert!(error.contains("no Kitaru credentials"), "{error}");
    }
}
