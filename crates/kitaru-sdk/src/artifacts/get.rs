//! `kitaru_artifacts_get`: one artifact version with its value.
//!
//! REST calls: the lookup (one `GET /artifact_versions/{id}` for a UUID;
//! otherwise the latest version by artifact name, then an id-prefix search
//! when no name matches), then concurrently the producing step
//! (`GET /steps/{id}`, when there is one) and the stored files (read from the artifact store's
//! folder when it is on this machine, else download token + data; skipped
//! when only Python could read them).

use kitaru_client::types::{ArtifactVersionResponse, ArtifactVersionResponseBody, Source};
use serde::Serialize;

use super::{ArtifactRef, ArtifactValue, ValueFormat, ValueUnavailable};
use crate::error::ApiContext;
use crate::{Error, Kitaru};

/// An artifact with its value: what the reference returns, plus whether the
/// value could be read and, if not, why.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct Artifact {
    /// What the artifact is and where it came from.
    #[serde(flatten)]
    pub artifact: ArtifactRef,
    /// The value as JSON, or its Python `repr()` text (see `value_format`);
    /// null when it could not be read.
    pub value: serde_json::Value,
    /// How to read `value`: `json` or `repr`; null when it could not be read.
    pub value_format: Option<ValueFormat>,
    /// The value's Python type, `module.qualname` (e.g. `builtins.dict`).
    pub value_type: String,
    /// Whether the value was read. Values only Python can load (pickled
    /// objects, numpy, pandas, custom materializers) are not.
    pub value_available: bool,
    /// Why the value could not be read; absent when it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_unavailable: Option<ValueUnavailable>,
}

impl Artifact {
    fn new(
        artifact: ArtifactRef,
        value_type: String,
        value: Result<ArtifactValue, ValueUnavailable>,
    ) -> Self {
        let (value, value_format, value_unavailable) = match value {
            Ok(loaded) => (loaded.value, Some(loaded.value_format), None),
            Err(unavailable) => (serde_json::Value::Null, None, Some(unavailable)),
        };
        Self {
            artifact,
            value,
            value_format,
            value_type,
            value_available: value_unavailable.is_none(),
            value_unavailable,
        }
    }
}

/// One artifact version, by id, artifact name (its latest version in the
/// project) or unique id prefix, with its value read from its files (here, or sent by the server).
pub async fn get(kitaru: &Kitaru, wanted: &str) -> Result<Artifact, Error> {
    if wanted.trim().is_empty() {
        return Err(Error::argument(
            "artifact_id",
            "give an artifact version id, a unique id prefix or an artifact name",
        ));
    }
    let version = find(kitaru, wanted).await?;
    let body = body(&version)?;
    let mut artifact = ArtifactRef::from_version(&version, None);
    let value_type = import_path(&body.data_type);
    let materializer = import_path(&body.materializer);
    let (producing_call, value) = tokio::join!(
        producing_call(kitaru, &version),
        super::value::load(
            kitaru,
            &artifact.artifact_id,
            &body.uri,
            &materializer,
            &value_type
        )
    );
    artifact.producing_call = producing_call?;
    let value = value.map_err(|unavailable| {
        unavailable.in_context(
            "KitaruArtifactUnavailableError",
            &format!(
                "Artifact '{}' ({}) exists",
                artifact.artifact_id, artifact.name
            ),
        )
    });
    Ok(Artifact::new(artifact, value_type, value))
}

/// The hydrated artifact version `wanted` names, looked up as the Python
/// client does.
pub(super) async fn find(kitaru: &Kitaru, wanted: &str) -> Result<ArtifactVersionResponse, Error> {
    let context = || format!("Failed to load artifact '{wanted}'");
    if let Ok(id) = uuid::Uuid::parse_str(wanted) {
        return Ok(kitaru
            .client
            .get_artifact_version()
            .artifact_version_id(id)
            .hydrate(true)
            .send()
            .await
            .context(context())?
            .into_inner());
    }
    let mut by_name = kitaru
        .client
        .list_artifact_versions()
        .artifact(wanted)
        .size(1)
        .sort_by("desc:created")
        .hydrate(true);
    if let Some(project) = kitaru.project() {
        by_name = by_name.project(project);
    }
    let latest = by_name.send().await.context(context())?.into_inner();
    if let Some(version) = latest.items.into_iter().next() {
        return Ok(version);
    }
    let by_prefix = kitaru
        .client
        .list_artifact_versions()
        .id(format!("startswith:{wanted}"))
        .size(PREFIX_MATCHES_SHOWN)
        .hydrate(true)
        .send()
        .await
        .context(context())?
        .into_inner();
    match by_prefix.total {
        1 => Ok(by_prefix.items.into_iter().next().ok_or_else(|| {
            Error::Unexpected(format!(
                "{}: the server counted one match but sent none",
                context()
            ))
        })?),
        0 => {
            let scope = kitaru
                .lookup_project()
                .await
                .map_or_else(String::new, |project| format!(" in project {project}"));
            Err(Error::NotFound(format!(
                "{}: 'No artifact_versions found for name, ID or prefix {wanted}{scope}.'",
                context()
            )))
        }
        total => {
            let ids: Vec<String> = by_prefix.items.iter().map(|v| v.id.to_string()).collect();
            let more = if total > ids.len() as u64 {
                ", ..."
            } else {
                ""
            };
            Err(Error::NotFound(format!(
                "{}: {total} artifact_versions have been found that have an id prefix that \
                 matches the provided string '{wanted}': {}{more}. Please provide more characters \
                 to uniquely identify only one of the artifact_versions.",
                context(),
                ids.join(", ")
            )))
        }
    }
}

/// How many of the versions an ambiguous prefix matches the error lists.
const PREFIX_MATCHES_SHOWN: i64 = 10;

/// The checkpoint that produced the version (for a cached step, the original
/// run's), or none for versions saved outside a checkpoint.
async fn producing_call(
    kitaru: &Kitaru,
    version: &ArtifactVersionResponse,
) -> Result<Option<String>, Error> {
    let Some(step_id) = version
        .resources
        .as_ref()
        .and_then(|resources| resources.producer_step_run_id)
    else {
        return Ok(None);
    };
    let step = kitaru
        .client
        .get_step()
        .step_id(step_id)
        .hydrate(true)
        .send()
        .await
        .context(format!(
            "Failed to load the checkpoint that produced artifact '{}'",
            version.id
        ))?
        .into_inner();
    Ok(Some(
        crate::executions::checkpoint_name(&step.name).to_owned(),
    ))
}

/// The body of a hydrated artifact version (always sent, optional in the spec).
pub(super) fn body(
    version: &ArtifactVersionResponse,
) -> Result<&ArtifactVersionResponseBody, Error> {
    version.body.as_ref().ok_or_else(|| {
        Error::Unexpected(format!(
            "the server sent artifact version {} without its body",
            version.id
        ))
    })
}

/// `module.attribute`, the import path of a ZenML source.
pub(super) fn import_path(source: &Source) -> String {
    match &source.attribute {
        Some(attribute) => format!("{}.{attribute}", source.module),
        None => source.module.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::artifacts::SaveType;

    #[cfg(feature = "schemars")]
    #[test]
    fn the_output_schema_is_one_object_with_the_reference_fields() {
        let schema = serde_json::to_value(schemars::schema_for!(Artifact)).unwrap();
        assert_eq!(schema["type"], "object");
        let properties = schema["properties"].as_object().unwrap();
        for field in [
            "artifact_id",
            "name",
            "kind",
            "save_type",
            "producing_call",
            "metadata",
            "value",
            "value_format",
            "value_type",
            "value_available",
            "value_unavailable",
        ] {
            assert!(properties.contains_key(field), "{field} in {schema:#}");
        }
    }

    #[test]
    fn an_unreadable_value_is_null_with_the_reason() {
        let artifact = ArtifactRef {
            artifact_id: "a".into(),
            name: "n".into(),
            kind: None,
            save_type: SaveType::StepOutput,
            producing_call: Some("make".into()),
            metadata: serde_json::Map::new(),
            direction: None,
            input_type: None,
        };
        let unavailable = ValueUnavailable::new("UnsupportedMaterializer", "needs Python");
        let artifact = Artifact::new(artifact, "m.Custom".into(), Err(unavailable.clone()));
        assert_eq!(
            serde_json::to_value(&artifact).unwrap(),
            serde_json::json!({
                "artifact_id": "a", "name": "n", "kind": null, "save_type": "step_output",
                "producing_call": "make", "metadata": {},
                "value": null, "value_format": null, "value_type": "m.Custom",
                "value_available": false,
                "value_unavailable": {
                    "error_type": "KitaruArtifactUnavailableError",
                    "cause_type": "UnsupportedMaterializer",
                    "message": "UnsupportedMaterializer: needs Python",
                },
            })
        );
    }
}
