//! The connection and maintenance tools: they work without a server.

use kitaru_sdk::Connector;
use kitaru_sdk::clean::{self, CleanPreview};
use kitaru_sdk::status::{self, StatusReport};

use super::args::{CleanPreviewArgs, InfoArgs, StatusArgs};
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
