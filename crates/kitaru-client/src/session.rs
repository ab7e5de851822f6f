//! Authentication for the generated client.
//!
//! A Kitaru server is a ZenML server: requests carry `Authorization: Bearer
//! <token>`, and a token comes from `POST /api/v1/login` (form-encoded), either
//! from a service-account API key or from a username and password. A local
//! server runs without authentication and answers every request as it is.
//!
//! The [`Session`] rides along as the generated [`Client`]'s inner value; the
//! request hook attaches the current token and, when the server answers 401,
//! logs in once and repeats the request. That covers the first request against
//! a server that needs a login as well as a token that expired mid-session.

use std::fmt;
use std::sync::{Arc, RwLock};

use progenitor_client::{ClientHooks, ClientInfo, OperationInfo};
use reqwest::header::{AUTHORIZATION, HeaderValue};
use reqwest::{Request, Response, StatusCode};

use crate::Client;

/// A string that must never be printed: API keys, passwords, tokens.
///
/// `Debug` and `Display` show `***`; the value is reachable only through
/// [`Secret::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret value itself, for sending it where it belongs.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

/// How the client proves who it is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Credentials {
    /// Send no credentials: a local server without authentication.
    #[default]
    None,
    /// A service-account API key, exchanged for a token at `/api/v1/login`.
    ApiKey(Secret),
    /// A user name and password, exchanged for a token at `/api/v1/login`.
    Password {
        /// The user name.
        username: String,
        /// The password (may be empty, as for a local server's default user).
        password: Secret,
    },
    /// A bearer token used as it is; it cannot be renewed when it expires.
    Token(ApiToken),
}

/// A bearer token, sent as `Authorization: Bearer <token>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiToken {
    /// The token itself.
    pub access_token: Secret,
    /// The moment from which the token counts as expired, already moved
    /// earlier by the leeway the CLI stored with it; `None` when it never
    /// expires (a bare token, or a local server's token). The session does
    /// not check it: it learns that a token expired from the server's 401.
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl ApiToken {
    /// A token with no known expiry.
    pub fn new(access_token: impl Into<Secret>) -> Self {
        Self {
            access_token: access_token.into(),
            expires_at: None,
        }
    }

    /// Whether the token can no longer be used at `now`.
    pub fn is_expired_at(&self, now: chrono::DateTime<chrono::Utc>) -> bool {
        self.expires_at.is_some_and(|expires_at| expires_at <= now)
    }
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

    /// The login form for credentials that can be exchanged for a token.
    fn login_form(&self) -> Option<Vec<(&'static str, &str)>> {
        match self {
            Credentials::ApiKey(key) => Some(vec![
                ("grant_type", "zenml-api-key"),
                ("password", key.expose()),
            ]),
            Credentials::Password { username, password } => Some(vec![
                ("grant_type", "password"),
                ("username", username.as_str()),
                ("password", password.expose()),
            ]),
            Credentials::None | Credentials::Token(_) => None,
        }
    }
}

/// The authentication state shared by all clones of a [`Client`].
#[derive(Clone, Debug, Default)]
pub struct Session {
    state: Arc<SessionState>,
    // Requests under way at once; `None`: no limit.
    turns: Option<Arc<tokio::sync::Semaphore>>,
}

#[derive(Debug, Default)]
struct SessionState {
    credentials: Credentials,
    token: RwLock<Option<Secret>>,
    // Serialises logins so that concurrent 401s cause one login, not many.
    login: tokio::sync::Mutex<()>,
}

/// The token the login endpoint answers with.
#[derive(serde::Deserialize)]
struct LoginAnswer {
    access_token: String,
}

impl Session {
    /// A session that authenticates with `credentials`.
    pub fn new(credentials: Credentials) -> Self {
        let token = match &credentials {
            Credentials::Token(token) => Some(token.access_token.clone()),
            _ => None,
        };
        Self {
            state: Arc::new(SessionState {
                credentials,
                token: RwLock::new(token),
                login: tokio::sync::Mutex::new(()),
            }),
            turns: None,
        }
    }

    /// Lets at most `limit` requests be under way at once; the others wait
    /// their turn, first come first served (the HTTP timeout starts when a
    /// request is sent).
    pub fn with_concurrency_limit(mut self, limit: usize) -> Self {
        self.turns = Some(Arc::new(tokio::sync::Semaphore::new(limit.max(1))));
        self
    }

    /// Starts the session with a token obtained earlier (for instance the
    /// one the CLI cached in `credentials.yaml`). If the server rejects it,
    /// the session logs in again with its credentials.
    pub fn with_token(self, token: Secret) -> Self {
        self.set_token(Some(token));
        self
    }

    /// The credentials this session was made with.
    pub fn credentials(&self) -> &Credentials {
        &self.state.credentials
    }

    /// Whether the session currently holds a bearer token.
    pub fn has_token(&self) -> bool {
        self.current_token().is_some()
    }

    fn current_token(&self) -> Option<Secret> {
        self.state
            .token
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    fn set_token(&self, token: Option<Secret>) {
        *self
            .state
            .token
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = token;
    }

    /// Exchanges the credentials for a token at `POST {base_url}/api/v1/login`.
    ///
    /// Returns `Ok(None)` when the credentials cannot log in (none, or a bare
    /// token), and the server's answer as `Err` when the login was refused, so
    /// the caller sees the server's own reason.
    async fn login(
        &self,
        http: &reqwest::Client,
        base_url: &str,
    ) -> reqwest::Result<Result<Option<Secret>, Response>> {
        let Some(form) = self.state.credentials.login_form() else {
            return Ok(Ok(None));
        };
        let answer = http
            .post(format!("{base_url}/api/v1/login"))
            .form(&form)
            .send()
            .await?;
        if !answer.status().is_success() {
            return Ok(Err(answer));
        }
        let login: LoginAnswer = answer.json().await?;
        let token = Secret::new(login.access_token);
        self.set_token(Some(token.clone()));
        Ok(Ok(Some(token)))
    }

    /// Sends `request` with the current token; on 401, logs in once and
    /// repeats it.
    pub(crate) async fn execute(
        &self,
        http: &reqwest::Client,
        base_url: &str,
        mut request: Request,
    ) -> reqwest::Result<Response> {
        let sent_token = self.current_token();
        // A streamed body cannot be sent twice; such a request gets no retry.
        let retry = request.try_clone();
        if let Some(token) = &sent_token {
            authorize(&mut request, token);
        }
        let response = self.send(http, request).await?;
        if response.status() != StatusCode::UNAUTHORIZED {
            return Ok(response);
        }
        let Some(mut retry) = retry else {
            return Ok(response);
        };

        let fresh = {
            let _one_login_at_a_time = self.state.login.lock().await;
            match self.current_token() {
                // Another request logged in while this one waited.
                Some(token) if Some(&token) != sent_token.as_ref() => token,
                _ => match self.login(http, base_url).await? {
                    Ok(Some(token)) => token,
                    Ok(None) => return Ok(response),
                    Err(refused) => {
                        self.set_token(None);
                        return Ok(refused);
                    }
                },
            }
        };
        authorize(&mut retry, &fresh);
        self.send(http, retry).await
    }

    /// Sends one request when its turn comes. A request that reads nothing
    /// but found its connection closed under it (a pooled connection the
    /// server dropped just then) is sent once more on a fresh one.
    async fn send(&self, http: &reqwest::Client, request: Request) -> reqwest::Result<Response> {
        let _turn = match &self.turns {
            // The semaphore is never closed, so acquiring cannot fail.
            Some(turns) => turns.acquire().await.ok(),
            None => None,
        };
        let again = if is_idempotent(request.method()) {
            request.try_clone()
        } else {
            None
        };
        match (http.execute(request).await, again) {
            (Err(error), Some(again)) if connection_dropped(&error) => http.execute(again).await,
            (answer, _) => answer,
        }
    }
}

/// Methods that may be sent twice with the effect of once (RFC 9110 9.2.2).
fn is_idempotent(method: &reqwest::Method) -> bool {
    use reqwest::Method;
    [
        Method::GET,
        Method::HEAD,
        Method::OPTIONS,
        Method::PUT,
        Method::DELETE,
    ]
    .contains(method)
}

/// Whether the connection closed before any answer came: the server closed
/// it (an idle keep-alive connection reused just as it timed out) or reset it.
fn connection_dropped(error: &reqwest::Error) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = cause {
        if current
            .downcast_ref::<hyper::Error>()
            .is_some_and(hyper::Error::is_incomplete_message)
            || current.downcast_ref::<std::io::Error>().is_some_and(|io| {
                matches!(
                    io.kind(),
                    std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
                )
            })
        {
            return true;
        }
        cause = current.source();
    }
    false
}

fn authorize(request: &mut Request, token: &Secret) {
    if let Ok(mut value) = HeaderValue::from_str(&format!("Bearer {}", token.expose())) {
        value.set_sensitive(true);
        request.headers_mut().insert(AUTHORIZATION, value);
    }
}

impl ClientHooks<Session> for Client {
    async fn exec(&self, request: Request, _info: &OperationInfo) -> reqwest::Result<Response> {
        self.inner()
            .execute(self.client(), self.baseurl(), request)
            .await
    }
}

impl Client {
    /// A client for the Kitaru server at `base_url` (e.g.
    /// `http://127.0.0.1:8237`, without `/api/v1`), authenticating with
    /// `credentials` over the given HTTP client.
    pub fn with_credentials(
        base_url: &str,
        credentials: Credentials,
        http: reqwest::Client,
    ) -> Self {
        Self::with_session(base_url, Session::new(credentials), http)
    }

    /// A client for the Kitaru server at `base_url` that authenticates
    /// through `session`.
    pub fn with_session(base_url: &str, session: Session, http: reqwest::Client) -> Self {
        Self::new_with_client(base_url.trim_end_matches('/'), http, session)
    }

    /// The authentication session of this client.
    pub fn session(&self) -> &Session {
        self.inner()
    }
}
