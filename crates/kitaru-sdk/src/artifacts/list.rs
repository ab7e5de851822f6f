//! The artifacts an execution's checkpoints produced.

use kitaru_client::types::{
    ArtifactSaveType, ArtifactVersionResponse, ArtifactVersionResponseBody,
    ArtifactVersionResponseMetadata,
};

use super::{ArtifactDirection, ArtifactRef, SaveType};
use crate::executions::run_artifacts;
use crate::{Error, Kitaru};

/// The run-metadata key `kitaru.save(type=...)` stores the kind under.
const KIND_KEY: &str = "kitaru_artifact_type";

/// Which of an execution's artifacts to list; the default keeps all.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ArtifactFilter {
    /// Only artifacts with exactly this name.
    pub name: Option<String>,
    /// Only artifacts of this kind (`prompt`, `response`, `context`,
    /// `input`, `output`, `blob`).
    pub kind: Option<String>,
    /// Only artifacts produced by the checkpoint with this name.
    pub producing_call: Option<String>,
}

/// Lists an execution's artifacts in checkpoint order, each once
/// (`kitaru_artifacts_list`), keeping those that match `filter`; at most
/// `limit` (at least 1) when given.
///
/// Three requests: the execution, its steps, its artifact versions.
pub async fn list(
    kitaru: &Kitaru,
    exec_id: &str,
    filter: &ArtifactFilter,
    limit: Option<usize>,
) -> Result<Vec<ArtifactRef>, Error> {
    if limit == Some(0) {
        return Err(Error::argument(
            "limit",
            "`limit` must be >= 1 when provided.",
        ));
    }
    let wanted = |filter: &Option<String>, value: Option<&str>| {
        filter.as_deref().is_none_or(|filter| value == Some(filter))
    };
    Ok(run_artifacts(kitaru, exec_id)
        .await?
        .into_iter()
        .filter(|artifact| {
            wanted(&filter.name, Some(&artifact.name))
                && wanted(&filter.kind, artifact.kind.as_deref())
                && wanted(&filter.producing_call, artifact.producing_call.as_deref())
        })
        .take(limit.unwrap_or(usize::MAX))
        .collect())
}

impl ArtifactRef {
    /// The reference to an artifact version. Its kind and metadata come from
    /// the version's run metadata, so pass a hydrated version for them.
    pub(crate) fn from_version(
        version: &ArtifactVersionResponse,
        producing_call: Option<String>,
    ) -> Self {
        Self::from_parts(
            version.id,
            version.body.as_ref(),
            version.metadata.as_ref(),
            producing_call,
        )
    }

    /// The reference to the artifact version `id` with this body and
    /// metadata (as a version or a step's input carries them).
    pub(crate) fn from_parts(
        id: uuid::Uuid,
        body: Option<&ArtifactVersionResponseBody>,
        metadata: Option<&ArtifactVersionResponseMetadata>,
        producing_call: Option<String>,
    ) -> Self {
        let metadata = metadata.map(|m| m.run_metadata.clone()).unwrap_or_default();
        Self {
            artifact_id: id.to_string(),
            name: body.map(|b| b.artifact.name.clone()).unwrap_or_default(),
            kind: metadata
                .get(KIND_KEY)
                .and_then(|kind| kind.as_str())
                .map(str::to_owned),
            save_type: body.map_or(SaveType::Other(String::new()), |b| {
                SaveType::from(&b.save_type)
            }),
            producing_call,
            metadata,
            direction: None,
            input_type: None,
        }
    }

    /// This artifact with `kind` when it has none of its own.
    pub(crate) fn or_kind(mut self, kind: &str) -> Self {
        self.kind.get_or_insert_with(|| kind.to_owned());
        self
    }

    /// This artifact as a checkpoint's input `slot`, which reached it as
    /// `input_type`.
    pub(crate) fn into_input(mut self, slot: &str, input_type: &str) -> Self {
        self.name = slot.to_owned();
        self.producing_call = None;
        self.direction = Some(ArtifactDirection::Input);
        self.input_type = Some(input_type.to_owned());
        self
    }

    /// Whether a checkpoint was given this artifact rather than produced it.
    pub(crate) fn is_input(&self) -> bool {
        self.direction == Some(ArtifactDirection::Input)
    }
}

impl From<&ArtifactSaveType> for SaveType {
    fn from(save_type: &ArtifactSaveType) -> Self {
        match save_type {
            ArtifactSaveType::StepOutput => Self::StepOutput,
            ArtifactSaveType::Manual => Self::Manual,
            ArtifactSaveType::External => Self::External,
            ArtifactSaveType::Preexisting => Self::Preexisting,
            ArtifactSaveType::Unrecognized(other) => Self::Other(other.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_saved_artifact_shows_its_kind_and_metadata() {
        let version: ArtifactVersionResponse = serde_json::from_value(json!({
            "id": "57af9456-f899-4986-bf6d-b8ed73283a8c",
            "permission_denied": false,
            "body": {
                "created": "2026-11-26T13:45:19.1", "updated": "2026-11-26T13:45:19.1",
                "project_id": "d1fa1388-9387-4b5c-8af7-1d3c87ef5922",
                "artifact": {"id": "fc372e1e-5bcb-4dca-bf04-d6d711824c34", "name": "seed_response", "permission_denied": false},
                "version": "1", "uri": "/tmp/x", "type": "BaseArtifact",
                "materializer": {"module": "m", "attribute": "a", "type": "internal"},
                "data_type": {"module": "builtins", "attribute": "str", "type": "builtin"},
                "save_type": "manual",
            },
            "metadata": {"run_metadata": {"storage_size": 35, "kitaru_artifact_type": "response"}},
        }))
        .unwrap();
        let reference = ArtifactRef::from_version(&version, Some("pair".into()));
        assert_eq!(
            serde_json::to_value(&reference).unwrap(),
            json!({
                "artifact_id": "57af9456-f899-4986-bf6d-b8ed73283a8c",
                "name": "seed_response",
                "kind": "response",
                "save_type": "manual",
                "producing_call": "pair",
                "metadata": {"storage_size": 35, "kitaru_artifact_type": "response"},
            })
        );
    }

    #[test]
    fn a_kind_that_is_not_text_is_no_kind() {
        let version: ArtifactVersionResponse = serde_json::from_value(json!({
            "id": "57af9456-f899-4986-bf6d-b8ed73283a8c",
            "permission_denied": false,
            "metadata": {"run_metadata": {"kitaru_artifact_type": 3}},
        }))
        .unwrap();
        assert_eq!(ArtifactRef::from_version(&version, None).kind, None);
    }
}
