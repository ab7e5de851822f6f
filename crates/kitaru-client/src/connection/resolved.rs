//! The outcome of connection resolution and where each part of it came from.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::session::{ApiToken, Credentials};

/// Where one setting of the connection came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// [`ConnectionOptions`](super::ConnectionOptions) set by the program.
    Explicit,
    /// An environment variable (or, for a username and password, a pair of
    /// them), named as the user would type it.
    Env(&'static str),
    /// A config file of the Kitaru CLI.
    File(PathBuf),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Explicit => f.write_str("explicit options"),
            Source::Env(var) => f.write_str(var),
            Source::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// Where each part of a [`ResolvedConnection`] came from, so that a failure
/// can tell the user which setting to fix.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConnectionSources {
    /// Where the server URL came from.
    pub server_url: Source,
    /// Where the credentials came from; `None` when there are none.
    pub credentials: Option<Source>,
    /// Where the project came from; `None` when none is set.
    pub project: Option<Source>,
    /// Where the stack came from; `None` when none is set.
    pub stack: Option<Source>,
    /// Where the config directory came from; `None` for the platform default.
    pub config_dir: Option<Source>,
}

/// Whether and how the server's TLS certificate is checked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum VerifySsl {
    /// Check it against the system's trusted roots.
    #[default]
    Enabled,
    /// Do not check it.
    Disabled,
    /// Check it against the CA bundle in this PEM file.
    CaBundle(PathBuf),
}

/// Where and how to connect to a Kitaru server, as resolved from explicit
/// options, the environment and the CLI's config files.
///
/// `Debug` and `Display` never show a secret.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResolvedConnection {
    /// The server's base URL, without a trailing slash and without `/api/v1`.
    pub server_url: String,
    /// How the server's TLS certificate is checked.
    pub verify_ssl: VerifySsl,
    /// The timeout for each HTTP request (counted from when it is sent, not
    /// while it waits for its turn).
    pub http_timeout: Duration,
    /// How many requests may be under way to the server at once.
    ///
    /// A local server is one Python process: requests sent at once compete
    /// for it and all finish later than they would one after another
    /// (measured: 100 tool calls at once took 1.5× as long as in sequence
    /// without a limit, and less time than in sequence with one request at a
    /// time). So a server on a loopback address gets one request at a time by
    /// default, any other server 8; `KITARU_MAX_CONCURRENT_REQUESTS` or
    /// [`ConnectionOptions::max_concurrent_requests`](crate::ConnectionOptions::max_concurrent_requests) sets it.
    pub max_concurrent_requests: usize,
    /// What the client authenticates with.
    pub credentials: Credentials,
    /// A token an earlier login with these same credentials left in the
    /// CLI's `credentials.yaml`: worth trying before logging in again, unless
    /// it has expired.
    pub cached_token: Option<ApiToken>,
    /// The project (name or id) to scope requests to; `None` lets the
    /// server's default apply.
    pub project: Option<String>,
    /// The active stack (name or id); `None` lets the server's default apply.
    pub stack: Option<String>,
    /// The CLI's global config directory (`config.yaml`, `credentials.yaml`).
    pub config_dir: PathBuf,
    /// The folder holding the repository's `.kitaru/` directory, if one was
    /// found.
    pub repository_root: Option<PathBuf>,
    /// Where each setting came from.
    pub sources: ConnectionSources,
    /// Harmless inconsistencies noticed on the way, e.g. a `KITARU_*` and a
    /// `ZENML_*` variable that disagree; worth logging.
    pub warnings: Vec<String>,
}

/// One line saying where the connection points and why, e.g.
/// `http://127.0.0.1:8383 (server URL from KITARU_SERVER_URL, credentials from
/// /home/u/.config/kitaru/credentials.yaml (api key), project 'demo' from
/// KITARU_PROJECT, no stack set)`.
impl fmt::Display for ResolvedConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sources = &self.sources;
        write!(
            f,
            "{} (server URL from {}, ",
            self.server_url, sources.server_url
        )?;
        match &sources.credentials {
            Some(source) => write!(f, "credentials from {source} ({})", self.credentials.kind())?,
            None => f.write_str("no credentials")?,
        }
        for (what, value, source) in [
            ("project", &self.project, &sources.project),
            ("stack", &self.stack, &sources.stack),
        ] {
            match (value, source) {
                (Some(value), Some(source)) => write!(f, ", {what} '{value}' from {source}")?,
                _ => write!(f, ", no {what} set")?,
            }
        }
        f.write_str(")")
    }
}
