//! The environment: connection status and diagnostics.
//!
//! `kitaru_status` and `kitaru_info` describe the connection the SDK
//! uses: the server and what it says (version, user, active project and
//! stack), where each setting came from, the local server, the CLI's files
//! and the `KITARU_*` variables. They never fail because the server is down
//! or the configuration is broken: they say so in `warning`.
//!
//! The CLI's files, the local server and the environment variables are read
//! here for [`crate::clean`] too.

pub(crate) mod config_files;
pub(crate) mod environment;
pub(crate) mod local_server;
mod log_store;
mod provenance;
mod report;

pub use environment::{EnvironmentType, EnvironmentVariable, SystemInfo};
pub use provenance::{SelectionProvenance, SelectionResource, SelectionSource};
pub use report::{ConnectionKind, SettingSources, StatusReport};

use crate::Connector;

/// The status of the connection, as `kitaru status` reports it.
///
/// Never fails: a connection that cannot be made is reported as
/// `unavailable`, with the reason.
pub async fn status(connector: &Connector) -> StatusReport {
    report::build(connector, false).await
}

/// The status with more detail, as `kitaru info` reports it: with `all`, the
/// provenance of the active stack and project and the environment type.
///
/// `packages` and `all_packages` list Python packages in the reference;
/// the SDK has none, so `packages` stays null.
pub async fn info(connector: &Connector, all: bool) -> StatusReport {
    report::build(connector, all).await
}

#[cfg(test)]
pub(crate) mod test_env {
    use std::collections::HashMap;

    /// An environment holding exactly these variables.
    pub(crate) fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect()
    }
}
