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
use std::time::Duration;

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
/// How many connections of credentials not (yet) accepted are kept.
const PENDING_KEPT: usize = 64;
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
    connectors: Mutex<Connectors>,
}

/// Connections by credential, least recently used first.
#[derive(Debug, Default)]
struct Connectors {
    /// Those whose credential the Kitaru server accepted.
    accepted: Vec<(String, Arc<Connector>)>,
    /// Those not (yet) accepted.
    pending: Vec<(String, Arc<Connector>)>,
}

impl Callers {
    /// Connections made with `base` (server URL, project, TLS settings)
    /// and each caller's credentials.
    pub fn new(base: ConnectionOptions) -> Self {
        Self {
            base,
            connectors: Mutex::default(),
        }
    }

    /// The connection for the caller whose `Authorization` header is
    /// `authorization`: the one kept for that credential, or a new one that
    /// is kept only once the Kitaru server accepted it (see
    /// [`kitaru`](Self::kitaru)).
    pub fn connector(&self, authorization: Option<&str>) -> Result<Arc<Connector>, ConnectError> {
        Ok(self.lookup(authorization)?.1)
    }

    /// The connected server for the caller: a credential is kept (with its
    /// connection) only after the Kitaru server accepted it, so requests
    /// with made-up credentials cannot push out the callers kept.
    pub async fn kitaru(
        &self,
        authorization: Option<&str>,
    ) -> Result<Arc<kitaru_sdk::Kitaru>, kitaru_sdk::Error> {
        let (key, connector, kept) = self.lookup(authorization)?;
        let kitaru = connector.get().await?;
        if !kept {
            self.keep(key, connector);
        }
        Ok(kitaru)
    }

    /// The key, the connection, and whether it is kept already.
    fn lookup(
        &self,
        authorization: Option<&str>,
    ) -> Result<(String, Arc<Connector>, bool), ConnectError> {
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
        if let Some(at) = connectors
            .accepted
            .iter()
            .position(|(known, _)| *known == key)
        {
            // Most recently used last.
            let entry = connectors.accepted.remove(at);
            let connector = Arc::clone(&entry.1);
            connectors.accepted.push(entry);
            return Ok((key, connector, true));
        }
        // Not accepted yet: the same credential again (tools that connect
        // only when they need to, say) reuses its connection, but pending
        // ones only ever push out each other.
        if let Some((_, connector)) = connectors.pending.iter().find(|(known, _)| *known == key) {
            return Ok((key, Arc::clone(connector), false));
        }
        let options = match credential.0 {
            Kind::ApiKey => self.base.clone().api_key(credential.1),
            Kind::Token => self.base.clone().bearer_token(credential.1),
        };
        let connector = Arc::new(Connector::new(options).with_program(crate::program()));
        if connectors.pending.len() >= PENDING_KEPT {
            connectors.pending.remove(0);
        }
        connectors
            .pending
            .push((key.clone(), Arc::clone(&connector)));
        Ok((key, connector, false))
    }

    /// Keeps an accepted credential's connection, dropping the least
    /// recently used past [`CALLERS_KEPT`].
    fn keep(&self, key: String, connector: Arc<Connector>) {
        let mut connectors = self
            .connectors
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        connectors.pending.retain(|(known, _)| *known != key);
        if connectors.accepted.iter().any(|(known, _)| *known == key) {
            return;
        }
        if connectors.accepted.len() >= CALLERS_KEPT {
            connectors.accepted.remove(0);
        }
        connectors.accepted.push((key, connector));
    }

    /// How many callers' connections are kept.
    pub fn kept(&self) -> usize {
        self.connectors
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .accepted
            .len()
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

/// Connections served at once; the next waits in the listen queue.
const MAX_CONNECTIONS: usize = 256;
/// How long a client may take to send a request's headers (and how long an
/// idle kept-alive connection stays open).
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a client may take to send a request's body.
const BODY_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest request body read.
const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;
/// The paths MCP is served at.
const MCP_PATHS: [&str; 2] = ["/", "/mcp"];

/// Serves MCP over streamable HTTP at `settings.address` until the process
/// is stopped.
pub async fn serve(
    settings: HttpSettings,
    base: ConnectionOptions,
    selection: ToolSelection,
) -> anyhow::Result<()> {
    let callers = Arc::new(Callers::new(base));
    let prototype = KitaruServer::for_callers(Arc::clone(&callers), selection);
    // The Origin is checked here (with CORS); the Host by rmcp.
    let mut config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_max_request_body_bytes(MAX_BODY_BYTES)
        .disable_allowed_origins();
    if !settings.allowed_hosts.is_empty() {
        config = config.with_allowed_hosts(settings.allowed_hosts.clone());
    }
    let mcp = StreamableHttpService::new(
        move || Ok(prototype.clone()),
        Arc::new(NeverSessionManager::default()),
        config,
    );
    let origins = Arc::new(Origins::new(&settings));
    let listener = tokio::net::TcpListener::bind(settings.address).await?;
    tracing::info!(address = %listener.local_addr()?, "kitaru-mcp serving MCP over HTTP");
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
            return Ok(());
        };
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::warn!("accept failed: {error}");
                continue;
            }
        };
        let mcp = mcp.clone();
        let origins = Arc::clone(&origins);
        tokio::spawn(async move {
            let _slot = slot;
            let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                let mcp = mcp.clone();
                let origins = Arc::clone(&origins);
                async move { Ok::<_, Infallible>(handle(request, mcp, &origins).await) }
            });
            let io = hyper_util::rt::TokioIo::new(stream);
            if let Err(error) = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .keep_alive(true)
                .serve_connection(io, service)
                .await
            {
                tracing::debug!(%peer, "connection ended: {error}");
            }
        });
    }
}

type Mcp = StreamableHttpService<KitaruServer, NeverSessionManager>;

/// One request: the checks that need no MCP, then MCP.
async fn handle(request: Request<Incoming>, mut mcp: Mcp, origins: &Origins) -> Response<Body> {
    let origin = match request.headers().get(http::header::ORIGIN) {
        None => None,
        Some(value) => match value.to_str().ok().filter(|origin| origins.allows(origin)) {
            Some(origin) => Some(origin.to_owned()),
            None => {
                return refusal(
                    StatusCode::FORBIDDEN,
                    -32600,
                    "Forbidden: this Origin is not allowed (kitaru-mcp --allowed-origins)",
                    None,
                );
            }
        },
    };
    let mut response = checked(request, &mut mcp, origin.is_some()).await;
    if let Some(origin) = origin {
        cors(response.headers_mut(), &origin);
    }
    response
}

async fn checked(request: Request<Incoming>, mcp: &mut Mcp, has_origin: bool) -> Response<Body> {
    if !MCP_PATHS.contains(&request.uri().path()) {
        return refusal(
            StatusCode::NOT_FOUND,
            -32600,
            "Not Found: MCP is served at / (and /mcp)",
            None,
        );
    }
    if let Some(reason) = absolute_form_mismatch(&request) {
        return refusal(StatusCode::BAD_REQUEST, -32600, reason, None);
    }
    if request.method() == http::Method::OPTIONS {
        // A preflight: answered before credentials, which browsers do not
        // send with it.
        let mut response = Response::new(empty());
        *response.status_mut() = StatusCode::NO_CONTENT;
        response.headers_mut().insert(
            http::header::ALLOW,
            http::HeaderValue::from_static("GET, POST, DELETE, OPTIONS"),
        );
        if has_origin {
            preflight(response.headers_mut());
        }
        return response;
    }
    if !has_credentials(&request) {
        return unauthorized();
    }
    if request.method() != http::Method::POST {
        return mcp
            .call(request)
            .await
            .unwrap_or_else(|never| match never {});
    }
    let (parts, body) = request.into_parts();
    let bytes = match read_body(body).await {
        Ok(bytes) => bytes,
        Err(response) => return response,
    };
    if let Err(response) = check_message(&bytes) {
        return response;
    }
    let request = Request::from_parts(parts, Full::new(bytes));
    mcp.call(request)
        .await
        .unwrap_or_else(|never| match never {})
}

/// An absolute-form request target (`POST http://host/ HTTP/1.1`) must name
/// the same authority as the `Host` header, which is what is checked.
fn absolute_form_mismatch(request: &Request<Incoming>) -> Option<&'static str> {
    let authority = request.uri().authority()?;
    let host = request
        .headers()
        .get(http::header::HOST)
        .and_then(|host| host.to_str().ok())?;
    (!authority.as_str().eq_ignore_ascii_case(host.trim()))
        .then_some("Bad Request: the request target names another host than the Host header")
}

/// The body, read within [`BODY_TIMEOUT`] and up to [`MAX_BODY_BYTES`].
async fn read_body(body: Incoming) -> Result<Bytes, Response<Body>> {
    let limited = http_body_util::Limited::new(body, MAX_BODY_BYTES);
    match tokio::time::timeout(BODY_TIMEOUT, limited.collect()).await {
        Err(_) => Err(refusal(
            StatusCode::REQUEST_TIMEOUT,
            -32600,
            "Request Timeout: the request body did not arrive in time",
            None,
        )),
        Ok(Err(error)) if error.is::<http_body_util::LengthLimitError>() => Err(refusal(
            StatusCode::PAYLOAD_TOO_LARGE,
            -32600,
            &format!("Payload Too Large: a request body may have at most {MAX_BODY_BYTES} bytes"),
            None,
        )),
        Ok(Err(error)) => Err(refusal(
            StatusCode::BAD_REQUEST,
            -32600,
            &format!("Bad Request: the request body could not be read: {error}"),
            None,
        )),
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
    }
}

/// A body that is not one JSON-RPC message is answered as JSON-RPC asks
/// (as over stdio): -32700 for text that is not JSON, -32600 for a batch or
/// anything else that is not a message.
fn check_message(bytes: &[u8]) -> Result<(), Response<Body>> {
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|error| {
        refusal(
            StatusCode::BAD_REQUEST,
            -32700,
            &format!("Parse error: the body is not JSON ({error})"),
            None,
        )
    })?;
    let id = value.get("id").cloned();
    let message = value.as_object().filter(|object| {
        object.get("jsonrpc").and_then(serde_json::Value::as_str) == Some("2.0")
            && (object
                .get("method")
                .is_some_and(serde_json::Value::is_string)
                || object.contains_key("result")
                || object.contains_key("error"))
    });
    match (message, &value) {
        (Some(_), _) => Ok(()),
        (None, serde_json::Value::Array(_)) => Err(refusal(
            StatusCode::BAD_REQUEST,
            -32600,
            "Invalid Request: JSON-RPC batches are not supported; send one message per request",
            None,
        )),
        (None, _) => Err(refusal(
            StatusCode::BAD_REQUEST,
            -32600,
            "Invalid Request: not a JSON-RPC 2.0 message",
            id.filter(|id| id.is_string() || id.is_number()),
        )),
    }
}

/// The browser origins allowed: those given, and for a server listening on
/// a loopback address any page of this machine (`localhost`, `127.0.0.1`,
/// `[::1]`, any port), as the MCP specification advises.
#[derive(Debug)]
struct Origins {
    allowed: Vec<String>,
}

impl Origins {
    fn new(settings: &HttpSettings) -> Self {
        let mut allowed: Vec<String> = settings
            .allowed_origins
            .iter()
            .map(|origin| origin.trim().trim_end_matches('/').to_ascii_lowercase())
            .collect();
        if settings.address.ip().is_loopback() {
            for scheme in ["http", "https"] {
                for host in ["localhost", "127.0.0.1", "[::1]"] {
                    allowed.push(format!("{scheme}://{host}:*"));
                    allowed.push(format!("{scheme}://{host}"));
                }
            }
        }
        Self { allowed }
    }

    /// Whether `origin` (`scheme://host[:port]`) is allowed: equal to an
    /// allowed origin (default ports made explicit), or matching one that
    /// ends in `:*` (any port).
    fn allows(&self, origin: &str) -> bool {
        let origin = origin.trim().to_ascii_lowercase();
        let Some((scheme, rest)) = origin.split_once("://") else {
            return false;
        };
        if rest.is_empty() || rest.contains(['/', '?', '#', '@', ' ']) {
            return false;
        }
        let default_port = match scheme {
            "http" => "80",
            "https" => "443",
            _ => return false,
        };
        let (host, port) = split_port(rest);
        let port = port.unwrap_or(default_port);
        self.allowed.iter().any(|allowed| {
            let Some((allowed_scheme, allowed_rest)) = allowed.split_once("://") else {
                return false;
            };
            if allowed_scheme != scheme {
                return false;
            }
            let (allowed_host, allowed_port) = split_port(allowed_rest);
            allowed_host == host
                && match allowed_port {
                    Some("*") => true,
                    Some(allowed_port) => allowed_port == port,
                    None => port == default_port,
                }
        })
    }
}

/// `host[:port]` (IPv6 hosts in brackets).
fn split_port(authority: &str) -> (&str, Option<&str>) {
    match authority.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && !port.contains(']') => (host, Some(port)),
        _ => (authority, None),
    }
}

/// CORS headers for an allowed origin's request.
fn cors(headers: &mut http::HeaderMap, origin: &str) {
    if let Ok(origin) = http::HeaderValue::from_str(origin) {
        headers.insert(http::header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    }
    headers.append(http::header::VARY, http::HeaderValue::from_static("Origin"));
    headers.insert(
        http::header::ACCESS_CONTROL_EXPOSE_HEADERS,
        http::HeaderValue::from_static("mcp-session-id, mcp-protocol-version, www-authenticate"),
    );
}

/// What a preflight of an allowed origin is told.
fn preflight(headers: &mut http::HeaderMap) {
    headers.insert(
        http::header::ACCESS_CONTROL_ALLOW_METHODS,
        http::HeaderValue::from_static("GET, POST, DELETE, OPTIONS"),
    );
    headers.insert(
        http::header::ACCESS_CONTROL_ALLOW_HEADERS,
        http::HeaderValue::from_static(
            "authorization, content-type, accept, mcp-protocol-version, mcp-session-id, last-event-id",
        ),
    );
    headers.insert(
        http::header::ACCESS_CONTROL_MAX_AGE,
        http::HeaderValue::from_static("600"),
    );
}

/// Whether the request carries a credential the server can use.
fn has_credentials<B>(request: &Request<B>) -> bool {
    request
        .headers()
        .get(http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(credential)
        .is_some()
}

fn empty() -> Body {
    Full::new(Bytes::new())
        .map_err(|never| match never {})
        .boxed()
}

/// A JSON-RPC error answer with `status`.
fn refusal(
    status: StatusCode,
    code: i64,
    message: &str,
    id: Option<serde_json::Value>,
) -> Response<Body> {
    let body = serde_json::json!({
        "jsonrpc": "2.0", "id": id.unwrap_or(serde_json::Value::Null),
        "error": {"code": code, "message": message},
    });
    let mut response = Response::new(
        Full::new(Bytes::from(body.to_string()))
            .map_err(|never| match never {})
            .boxed(),
    );
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}

/// 401 with a JSON-RPC error body saying what to send.
fn unauthorized() -> Response<Body> {
    let mut response = refusal(
        StatusCode::UNAUTHORIZED,
        -32001,
        "Kitaru credentials required: send `Authorization: Bearer <service-account API key or token>`",
        None,
    );
    response.headers_mut().insert(
        http::header::WWW_AUTHENTICATE,
        http::HeaderValue::from_static("Bearer"),
    );
    response
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
    fn a_credential_is_kept_only_once_accepted_and_none_without() {
        let callers = Callers::new(ConnectionOptions::new().server_url("http://127.0.0.1:1"));
        callers.keep("1:t1".into(), Arc::new(Connector::default()));
        let a = callers.connector(Some("Bearer t1")).unwrap();
        let again = callers.connector(Some("Bearer t1")).unwrap();
        let b = callers.connector(Some("Bearer t2")).unwrap();
        let b_again = callers.connector(Some("Bearer t2")).unwrap();
        assert!(Arc::ptr_eq(&a, &again), "kept");
        assert!(!Arc::ptr_eq(&a, &b));
        assert!(Arc::ptr_eq(&b, &b_again), "pending: reused, not yet kept");
        assert_eq!(callers.kept(), 1, "not accepted yet: not kept");
        // A flood of other credentials pushes out pending ones only.
        for n in 0..2 * PENDING_KEPT {
            callers.connector(Some(&format!("Bearer junk{n}"))).unwrap();
        }
        assert!(Arc::ptr_eq(
            &a,
            &callers.connector(Some("Bearer t1")).unwrap()
        ));
        assert!(!Arc::ptr_eq(
            &b,
            &callers.connector(Some("Bearer t2")).unwrap()
        ));
        assert_eq!(callers.kept(), 1);
        assert!(callers.connector(None).is_err());
        let error = callers.connector(Some("Bearer")).unwrap_err().to_string();
        assert!(error.contains("no Kitaru credentials"), "{error}");
    }

    #[tokio::test]
    async fn refused_credentials_are_not_kept() {
        // Nothing listens on port 1: no credential is ever accepted.
        let callers = Callers::new(
            ConnectionOptions::new()
                .server_url("http://127.0.0.1:1")
                .project("default"),
        );
        for n in 0..5 {
            assert!(
                callers
                    .kitaru(Some(&format!("Bearer junk{n}")))
                    .await
                    .is_err()
            );
        }
        assert_eq!(callers.kept(), 0);
    }

    fn origins(address: &str, allowed: &[&str]) -> Origins {
        Origins::new(&HttpSettings {
            address: address.parse().unwrap(),
            allowed_hosts: Vec::new(),
            allowed_origins: allowed.iter().map(|o| (*o).to_owned()).collect(),
        })
    }

    #[test]
    fn origins_on_this_machine_are_allowed_for_a_loopback_server_only() {
        let local = origins("127.0.0.1:8765", &[]);
        for allowed in [
            "http://localhost:3000",
            "http://127.0.0.1:8765",
            "https://[::1]:9",
            "http://localhost",
        ] {
            assert!(local.allows(allowed), "{allowed}");
        }
        for refused in [
            "http://evil.example.com",
            "http://localhost.evil.example.com:80",
            "null",
            "file://",
            "http://127.0.0.1:8765/path",
            "ftp://localhost:21",
        ] {
            assert!(!local.allows(refused), "{refused}");
        }
        let public = origins(
            "0.0.0.0:8765",
            &["https://app.example.com", "http://dev.example.com:*"],
        );
        assert!(!public.allows("http://localhost:3000"));
        assert!(public.allows("https://app.example.com"));
        assert!(public.allows("https://app.example.com:443"));
        assert!(!public.allows("https://app.example.com:8443"));
        assert!(public.allows("http://dev.example.com:5173"));
        assert!(!public.allows("https://dev.example.com:5173"));
    }
}
