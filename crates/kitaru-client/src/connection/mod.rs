//! Where and how to connect to a Kitaru server.
//!
//! The answer is found the way the `kitaru` CLI finds it, so a machine set up
//! for the CLI works here unchanged. Each setting comes from the first layer
//! that has it:
//!
//! 1. explicit [`ConnectionOptions`];
//! 2. the environment: `KITARU_SERVER_URL`, `KITARU_AUTH_TOKEN` (a
//!    service-account API key, exchanged for a token at login) and
//!    `KITARU_PROJECT`, where a blank value counts as unset; then the
//!    `ZENML_STORE_*` and `ZENML_ACTIVE_*` variables they stand for;
//! 3. the CLI's files: the repository's `.kitaru/config.yaml` (active project
//!    and stack), the global `config.yaml` (server store, active project and
//!    stack) and `credentials.yaml` (credentials per server URL), in the
//!    directory named by `KITARU_CONFIG_PATH`, else `ZENML_CONFIG_PATH`, else
//!    the platform's config directory for `kitaru`.
//!
//! Only servers are supported: a CLI config with a local database store, or
//! none, means "not connected".
//!
//! The result, [`ResolvedConnection`], records where each setting came from
//! ([`ConnectionSources`]) so a failed connection can say what to fix, and
//! never shows a secret in `Debug` or `Display` output.

mod connect;
mod env;
mod error;
mod files;
mod options;
mod resolve;
mod resolved;
mod url;

pub use crate::session::Secret;
pub use crate::session::{ApiToken, Credentials};
pub use connect::ConnectError;
pub use env::{Environment, ProcessEnv};
pub use error::{ConnectionError, NotConnectedReason};
pub use files::{config_dir, find_repository};
pub use options::ConnectionOptions;
pub use resolved::{ConnectionSources, ResolvedConnection, Source, VerifySsl};
