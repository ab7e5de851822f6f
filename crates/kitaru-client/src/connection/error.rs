//! Why a connection could not be resolved, worded so the user knows what to
//! change.

use std::path::PathBuf;

use super::Source;
use crate::cli_config::CliConfigError;

/// A failure to work out where and how to connect.
///
/// No message contains a secret or a server URL as given (a URL may carry a
/// password); each names the setting at fault and the next step.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectionError {
    /// Credentials came from the environment, but no server URL did, and the
    /// CLI is not logged in to any server.
    #[error(
        "{var} is set but no Kitaru server URL is available; set KITARU_SERVER_URL or run `kitaru login`."
    )]
    CredentialsWithoutServerUrl {
        /// The variable that holds the credentials.
        var: &'static str,
    },

    /// The server URL came from the environment, but no credentials for it
    /// were found anywhere.
    #[error(
        "{var} is set but no Kitaru auth token is available; set KITARU_AUTH_TOKEN or run `kitaru login`."
    )]
    ServerUrlWithoutCredentials {
        /// The variable that holds the server URL.
        var: &'static str,
    },

    /// The server URL came from the environment, but no project did: the
    /// projects saved in the CLI's config files belong to the server it is
    /// logged in to, not necessarily to this one.
    #[error(
        "A remote Kitaru server is configured via environment variables ({var}), but no project is active. Set KITARU_PROJECT (preferred) or ZENML_ACTIVE_PROJECT_ID before using the SDK."
    )]
    ProjectRequired {
        /// The variable that holds the server URL.
        var: &'static str,
    },

    /// The old name of the stack variable is still set.
    #[error("`KITARU_RUNNER` was renamed to `KITARU_STACK`; use the new name.")]
    RunnerRenamed,

    /// No server to connect to: neither options nor environment name one,
    /// and the CLI's global config has no server store.
    #[error(
        "Kitaru is not connected to a server: {reason}. Run `kitaru login <server-url>`, or set KITARU_SERVER_URL, KITARU_AUTH_TOKEN and KITARU_PROJECT."
    )]
    NotConnected {
        /// What the global config lacks.
        reason: NotConnectedReason,
    },

    /// A setting that must not be empty is.
    #[error("The {what} from {from} cannot be empty; give it a value or leave it unset.")]
    Empty {
        /// What the setting is, e.g. "server URL".
        what: &'static str,
        /// Where the empty value came from.
        from: Source,
    },

    /// A server URL that is not an `http://` or `https://` URL with a host.
    #[error(
        "Invalid Kitaru server URL from {from}. Please use an http:// or https:// URL, e.g. https://kitaru.example.com."
    )]
    InvalidServerUrl {
        /// Where the URL came from.
        from: Source,
    },

    /// A setting whose value cannot be understood.
    #[error("Invalid {what} from {from}: {value:?}; expected {expected}.")]
    InvalidValue {
        /// What the setting is, e.g. "HTTP timeout".
        what: &'static str,
        /// Where the value came from.
        from: Source,
        /// The value as given (never a secret).
        value: String,
        /// What would have been accepted.
        expected: &'static str,
    },

    /// Only one half of a username and password pair is set.
    #[error("{set} is set but {missing} is not; set both (the password may be empty) or neither.")]
    IncompletePassword {
        /// The variable that is set.
        set: &'static str,
        /// The variable that is missing.
        missing: &'static str,
    },

    /// The platform's config directory cannot be located.
    #[error(
        "Cannot locate the Kitaru config directory because {var} is not set; set KITARU_CONFIG_PATH to the directory that holds the CLI's config.yaml."
    )]
    UnknownConfigDir {
        /// The variable the default location is derived from.
        var: &'static str,
    },

    /// The working directory, needed to find the repository's `.kitaru/`,
    /// cannot be read; pass one with
    /// [`ConnectionOptions::working_dir`](super::ConnectionOptions::working_dir).
    #[error(
        "Cannot read the current working directory ({0}); pass a working directory explicitly."
    )]
    WorkingDir(#[source] std::io::Error),

    /// A config file of the CLI cannot be read.
    #[error(transparent)]
    ConfigFile(#[from] CliConfigError),
}

/// Why the CLI's global config does not name a server.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NotConnectedReason {
    /// There is no `config.yaml` at all.
    #[error("{} does not exist", .0.display())]
    NoConfigFile(PathBuf),
    /// `config.yaml` has no `store` section.
    #[error("{} has no server store", .0.display())]
    NoStore(PathBuf),
    /// `config.yaml` points at a local database, which only the Python
    /// client can open.
    #[error("{} uses a local `{store_type}` store, which this client cannot open", path.display())]
    LocalStore {
        /// The config file.
        path: PathBuf,
        /// The store type written there, e.g. `sql`.
        store_type: String,
    },
}
