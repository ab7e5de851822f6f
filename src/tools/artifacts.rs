//! The artifact tools.

use kitaru_sdk::Kitaru;
use kitaru_sdk::artifacts::{self, Artifact, ArtifactFilter, ArtifactRef};

use super::args::{ArtifactsGetArgs, ArtifactsListArgs};
use super::{Bounded, Listed, ToolContext, ToolError, optional_limit};

/// `kitaru_artifacts_list`.
pub async fn list(
    kitaru: &Kitaru,
    args: ArtifactsListArgs,
    _: &ToolContext,
) -> Result<Listed<ArtifactRef>, ToolError> {
    let filter = ArtifactFilter {
        name: args.name,
        kind: args.kind,
        producing_call: args.producing_call,
    };
    match optional_limit(args.limit) {
        Some(limit) => Ok(artifacts::list(kitaru, &args.exec_id, &filter, Some(limit))
            .await?
            .into()),
        // Without a limit, a page a model can read, and how to get more.
        None => {
            let size = super::list_size(DEFAULT_ARTIFACTS);
            let limit = Some(size + 1);
            let found = artifacts::list(kitaru, &args.exec_id, &filter, limit).await?;
            Ok(Listed::bounded(
                found,
                size,
                "The execution has more matching artifacts: these are the first. Pass \
                 `limit` for more, or narrow with `name`, `kind` or `producing_call`.",
            ))
        }
    }
}

/// How many artifacts a list without `limit` returns.
pub const DEFAULT_ARTIFACTS: usize = 100;

/// `kitaru_artifacts_get`.
pub async fn get(
    kitaru: &Kitaru,
    args: ArtifactsGetArgs,
    _: &ToolContext,
) -> Result<Bounded<Artifact>, ToolError> {
    let mut artifact = artifacts::get(kitaru, &args.artifact_id).await?;
    let value_truncated = super::bounded::bound(
        &mut artifact.value,
        "The value is larger than a tool result should be: load it whole with the Kitaru SDK \
         (`KitaruClient().artifacts.get(<id>).load()`, or kitaru_sdk::artifacts::get).",
    );
    Ok(Bounded {
        inner: artifact,
        value_truncated,
    })
}
