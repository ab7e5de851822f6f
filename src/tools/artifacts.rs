//! The artifact tools.

use kitaru_sdk::Kitaru;
use kitaru_sdk::artifacts::{self, Artifact, ArtifactFilter, ArtifactRef};

use super::args::{ArtifactsGetArgs, ArtifactsListArgs};
use super::{ToolContext, ToolError, optional_limit};

/// `kitaru_artifacts_list`.
pub async fn list(
    kitaru: &Kitaru,
    args: ArtifactsListArgs,
    _: &ToolContext,
) -> Result<Vec<ArtifactRef>, ToolError> {
    let limit = optional_limit(args.limit);
    let filter = ArtifactFilter {
        name: args.name,
        kind: args.kind,
        producing_call: args.producing_call,
    };
    Ok(artifacts::list(kitaru, &args.exec_id, &filter, limit).await?)
}

/// `kitaru_artifacts_get`.
pub async fn get(
    kitaru: &Kitaru,
    args: ArtifactsGetArgs,
    _: &ToolContext,
) -> Result<Artifact, ToolError> {
    Ok(artifacts::get(kitaru, &args.artifact_id).await?)
}
