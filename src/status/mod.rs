//! The environment: connection status, diagnostics, and clean previews.
//!
//! `kitaru_status` and `kitaru_info` describe the connection kitaru-mcp
//! uses: the server and what it says (version, user, active project and
//! stack), where each setting came from, the local server, the CLI's files
//! and the `KITARU_*` variables. They never fail because the server is down
//! or the configuration is broken: they say so in `warning`.
//!
//! `kitaru_clean_preview` shows what `kitaru clean` would delete, reading the
//! local files only.

mod clean;
mod config_files;
mod environment;
mod local_server;
mod log_store;
mod provenance;
mod report;

pub use clean::{CleanPreview, EntryType, PreviewEntry};
pub use environment::{EnvironmentType, EnvironmentVariable, SystemInfo};
pub use provenance::{SelectionProvenance, SelectionResource, SelectionSource};
pub use report::{ConnectionKind, SettingSources, StatusReport};

use crate::connection::ProcessEnv;
use crate::tools::args::{CleanPreviewArgs, InfoArgs, StatusArgs};
use crate::{Connector, ToolError};

/// The status of the connection, as `kitaru status` reports it.
pub async fn status(connector: &Connector, _args: StatusArgs) -> Result<StatusReport, ToolError> {
    Ok(report::build(connector, false).await)
}

/// The status with more detail, as `kitaru info` reports it: with `all`, the
/// provenance of the active stack and project and the environment type.
///
/// `packages` and `all_packages` list Python packages in the reference;
/// kitaru-mcp has none, so `packages` stays null.
pub async fn info(connector: &Connector, args: InfoArgs) -> Result<StatusReport, ToolError> {
    Ok(report::build(connector, args.all).await)
}

/// What `kitaru clean <scope>` would delete; reads the local files only and
/// changes nothing. Fails for the project scope outside a Kitaru project.
pub async fn clean_preview(
    connector: &Connector,
    args: CleanPreviewArgs,
) -> Result<CleanPreview, ToolError> {
    let env = ProcessEnv;
    let locations = config_files::ConfigLocations::discover(connector.options(), &env);
    clean::preview(locations, &env, args.scope).await
}

#[cfg(test)]
mod test_env {
    use std::collections::HashMap;

    /// An environment holding exactly these variables.
    pub(crate) fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect()
    }
}
