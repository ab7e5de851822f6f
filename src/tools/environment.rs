//! The connection and maintenance tools: they work without a server.

use kitaru_sdk::Connector;
use kitaru_sdk::clean::{self, CleanPreview};
use kitaru_sdk::local_server::{self, LocalServerStarted, LocalServerStopped};
use kitaru_sdk::status::{self, StatusReport};

use super::args::{
    CleanPreviewArgs, InfoArgs, StartLocalServerArgs, StatusArgs, StopLocalServerArgs,
};
use super::{ToolContext, ToolError};

/// `kitaru_status`.
pub async fn status(
    connector: &Connector,
    _: StatusArgs,
    _: &ToolContext,
) -> Result<StatusReport, ToolError> {
    Ok(status::status(connector).await)
}

/// `kitaru_info`. `packages` and `all_packages` list the Python packages of
/// the reference's environment; there is no Python here, so the report's
/// `packages` stays null whatever they say.
pub async fn info(
    connector: &Connector,
    args: InfoArgs,
    _: &ToolContext,
) -> Result<StatusReport, ToolError> {
    Ok(status::info(connector, args.all).await)
}

/// `kitaru_clean_preview`.
pub async fn clean_preview(
    connector: &Connector,
    args: CleanPreviewArgs,
    _: &ToolContext,
) -> Result<CleanPreview, ToolError> {
    let scope = args.scope.parse()?;
    Ok(clean::preview(connector, scope).await?)
}

/// `kitaru_start_local_server`: the next tool call connects to it.
pub async fn start_local_server(
    connector: &Connector,
    args: StartLocalServerArgs,
    _: &ToolContext,
) -> Result<LocalServerStarted, ToolError> {
    let options = super::launch_options();
    Ok(local_server::start(connector, args.port, args.timeout, &options).await?)
}

/// `kitaru_stop_local_server`: the next tool call connects as the CLI
/// config then says.
pub async fn stop_local_server(
    connector: &Connector,
    _: StopLocalServerArgs,
    _: &ToolContext,
) -> Result<LocalServerStopped, ToolError> {
    Ok(local_server::stop(connector, &super::launch_options()).await?)
}
