//! The project tools.

use kitaru_sdk::projects::{self, ProjectInfo};
use kitaru_sdk::{Connector, Kitaru};

use super::args::{ProjectsCurrentArgs, ProjectsListArgs, ProjectsShowArgs, ProjectsUseArgs};
use super::{ToolContext, ToolError};

/// `kitaru_projects_list`.
pub async fn list(
    kitaru: &Kitaru,
    _: ProjectsListArgs,
    _: &ToolContext,
) -> Result<Vec<ProjectInfo>, ToolError> {
    Ok(projects::list(kitaru).await?)
}

/// `kitaru_projects_current`.
pub async fn current(
    kitaru: &Kitaru,
    _: ProjectsCurrentArgs,
    _: &ToolContext,
) -> Result<ProjectInfo, ToolError> {
    Ok(projects::current(kitaru).await?)
}

/// `kitaru_projects_show`.
pub async fn show(
    kitaru: &Kitaru,
    args: ProjectsShowArgs,
    _: &ToolContext,
) -> Result<ProjectInfo, ToolError> {
    Ok(projects::show(kitaru, &args.name_or_id).await?)
}

/// `kitaru_projects_use`.
pub async fn use_project(
    connector: &Connector,
    args: ProjectsUseArgs,
    _: &ToolContext,
) -> Result<ProjectInfo, ToolError> {
    Ok(projects::use_project(connector, &args.name_or_id).await?)
}
