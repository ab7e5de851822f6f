//! Explicit connection settings, the first layer of resolution.

use std::path::PathBuf;
use std::time::Duration;

use super::env::{Environment, ProcessEnv};
use super::{ConnectionError, ResolvedConnection, Secret, VerifySsl, resolve};
use crate::session::{ApiToken, Credentials};

/// Connection settings given by the program; each one set here wins over the
/// environment and the CLI's config files.
///
/// ```no_run
/// use kitaru_client::connection::ConnectionOptions;
///
/// let connection = ConnectionOptions::new()
///     .project("demo")
///     .resolve_from_process_env()?;
/// println!("connecting to {connection}");
/// # Ok::<(), kitaru_client::connection::ConnectionError>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct ConnectionOptions {
    pub(crate) server_url: Option<String>,
    pub(crate) credentials: Option<Credentials>,
    pub(crate) project: Option<String>,
    pub(crate) stack: Option<String>,
    pub(crate) verify_ssl: Option<VerifySsl>,
    pub(crate) http_timeout: Option<Duration>,
    pub(crate) max_concurrent_requests: Option<usize>,
    pub(crate) config_dir: Option<PathBuf>,
    pub(crate) working_dir: Option<PathBuf>,
}

impl ConnectionOptions {
    /// No explicit settings: everything comes from the environment and the
    /// CLI's config files.
    pub fn new() -> Self {
        Self::default()
    }

    /// The project set here, if any.
    pub fn explicit_project(&self) -> Option<&str> {
        self.project.as_deref()
    }

    /// The stack set here, if any.
    pub fn explicit_stack(&self) -> Option<&str> {
        self.stack.as_deref()
    }

    /// The CLI config directory set here, if any (else the environment's
    /// or the platform default).
    pub fn explicit_config_dir(&self) -> Option<&std::path::Path> {
        self.config_dir.as_deref()
    }

    /// The working directory set here, if any (else the process's).
    pub fn explicit_working_dir(&self) -> Option<&std::path::Path> {
        self.working_dir.as_deref()
    }

    /// The server's base URL (`http://` or `https://`, without `/api/v1`).
    pub fn server_url(mut self, url: impl Into<String>) -> Self {
        self.server_url = Some(url.into());
        self
    }

    /// Authenticate with a service-account API key. Replaces any other
    /// credentials set on these options.
    pub fn api_key(mut self, key: impl Into<Secret>) -> Self {
        self.credentials = Some(Credentials::ApiKey(key.into()));
        self
    }

    /// Authenticate with a username and password. Replaces any other
    /// credentials set on these options.
    pub fn password(mut self, username: impl Into<String>, password: impl Into<Secret>) -> Self {
        self.credentials = Some(Credentials::Password {
            username: username.into(),
            password: password.into(),
        });
        self
    }

    /// Authenticate with a bearer token, used as it is. Replaces any other
    /// credentials set on these options.
    pub fn bearer_token(mut self, token: impl Into<Secret>) -> Self {
        self.credentials = Some(Credentials::Token(ApiToken {
            access_token: token.into(),
            expires_at: None,
        }));
        self
    }

    /// The project (name or id) to scope requests to.
    pub fn project(mut self, project: impl Into<String>) -> Self {
        self.project = Some(project.into());
        self
    }

    /// The active stack (name or id).
    pub fn stack(mut self, stack: impl Into<String>) -> Self {
        self.stack = Some(stack.into());
        self
    }

    /// How to check the server's TLS certificate.
    pub fn verify_ssl(mut self, verify_ssl: VerifySsl) -> Self {
        self.verify_ssl = Some(verify_ssl);
        self
    }

    /// The timeout for each HTTP request.
    pub fn http_timeout(mut self, timeout: Duration) -> Self {
        self.http_timeout = Some(timeout);
        self
    }

    /// How many requests may be under way to the server at once; further
    /// ones wait their turn. See [`ResolvedConnection::max_concurrent_requests`].
    pub fn max_concurrent_requests(mut self, limit: usize) -> Self {
        self.max_concurrent_requests = Some(limit.max(1));
        self
    }

    /// The CLI's global config directory, instead of `KITARU_CONFIG_PATH`,
    /// `ZENML_CONFIG_PATH` or the platform default.
    pub fn config_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.config_dir = Some(dir.into());
        self
    }

    /// The directory from which the repository's `.kitaru/` is searched and
    /// against which relative paths are taken; defaults to the process's
    /// current directory.
    pub fn working_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.working_dir = Some(dir.into());
        self
    }

    /// Resolves the connection against `env`.
    ///
    /// Precedence, first found wins: these options; `KITARU_*` variables;
    /// `ZENML_*` variables; the repository's `.kitaru/config.yaml` (project
    /// and stack only); the global `config.yaml`; `credentials.yaml` (for
    /// credentials of the chosen server).
    ///
    /// Fails when no server is configured, when a value is malformed, and
    /// when the environment names a server without credentials or without
    /// a project (see [`ConnectionError`]).
    pub fn resolve(&self, env: &impl Environment) -> Result<ResolvedConnection, ConnectionError> {
        resolve::resolve(self, env)
    }

    /// [`resolve`](Self::resolve) against the process environment.
    pub fn resolve_from_process_env(&self) -> Result<ResolvedConnection, ConnectionError> {
        self.resolve(&ProcessEnv)
    }
}

impl ResolvedConnection {
    /// Resolves the connection from the process environment and the CLI's
    /// config files alone, as the `kitaru` CLI would.
    pub fn from_process_env() -> Result<Self, ConnectionError> {
        ConnectionOptions::new().resolve_from_process_env()
    }
}
