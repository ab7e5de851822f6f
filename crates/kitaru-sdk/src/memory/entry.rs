//! One stored memory version, as the server holds it and as callers see it.

use kitaru_client::types::ArtifactVersionResponse;
use serde::Serialize;
use serde_json::Value;

use super::scope::{MemoryScope, ScopeType, parse_artifact_name};
use crate::executions::PIPELINE_NAME_PREFIX;

/// Run-metadata key: the scope type (required on every memory version).
pub(crate) const META_SCOPE_TYPE: &str = "kitaru_memory_scope_type";
/// Run-metadata key: whether the version is a tombstone.
pub(crate) const META_DELETED: &str = "kitaru_memory_deleted";
/// Run-metadata key: the flow the written scope belongs to.
pub(crate) const META_FLOW_ID: &str = "kitaru_memory_flow_id";
/// Run-metadata key: that flow's name.
pub(crate) const META_FLOW_NAME: &str = "kitaru_memory_flow_name";

/// A version of a memory key, without its value.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct MemoryEntry {
    /// The key.
    pub key: String,
    /// The value's Python type name: `str`, `int`, `dict`, `NoneType` for a
    /// deleted key, or a class name for values written by Python code.
    pub value_type: String,
    /// The version number, from 1.
    pub version: i64,
    /// The scope's name.
    pub scope: String,
    /// The scope type: namespace, flow or execution.
    pub scope_type: ScopeType,
    /// When the version was written (server time, UTC, no offset).
    pub created_at: String,
    /// Whether this version marks the key deleted (a tombstone).
    pub is_deleted: bool,
    /// The id of the artifact version holding it.
    pub artifact_id: String,
    /// The execution that wrote it, when written inside a flow.
    pub execution_id: Option<String>,
    /// The flow the scope belongs to, when known.
    pub flow_id: Option<String>,
    /// That flow's name, when known.
    pub flow_name: Option<String>,
}

/// A memory version read from the server: its entry, and where its value is.
#[derive(Clone, Debug)]
pub(crate) struct Stored {
    pub(crate) entry: MemoryEntry,
    pub(crate) scope: MemoryScope,
    /// For ordering ties: the server's creation time, as sent.
    created: kitaru_client::timestamp::Timestamp,
    /// Where the value's files are (a local path or a store URL).
    pub(crate) uri: String,
    /// `module.attribute` of the materializer that wrote the value.
    pub(crate) materializer: String,
    /// `module.attribute` of the value's type.
    pub(crate) data_type: String,
}

impl Stored {
    /// Reads an artifact version as memory; `None` when it is not a valid
    /// memory version (a name that does not parse, or a missing or
    /// contradicting scope-type record), as the Python SDK skips those.
    pub(crate) fn from_version(version: &ArtifactVersionResponse) -> Option<Self> {
        let body = version.body.as_ref()?;
        let (scope, key) = parse_artifact_name(&body.artifact.name)?;
        let empty = serde_json::Map::new();
        let metadata = version
            .metadata
            .as_ref()
            .map_or(&empty, |metadata| &metadata.run_metadata);
        let recorded = match metadata.get(META_SCOPE_TYPE)? {
            Value::String(text) => ScopeType::parse(text).ok()?,
            _ => return None,
        };
        if recorded != scope.scope_type() {
            return None;
        }
        let number: i64 = body.version.trim().parse().ok()?;
        let import_path = |source: &kitaru_client::types::Source| match &source.attribute {
            Some(attribute) => format!("{}.{attribute}", source.module),
            None => source.module.clone(),
        };
        let data_type = import_path(&body.data_type);
        let value_type = data_type
            .rsplit('.')
            .next()
            .filter(|name| !name.trim().is_empty())
            .unwrap_or("unknown")
            .to_owned();
        let entry = MemoryEntry {
            key,
            value_type,
            version: number,
            scope: scope.name().to_owned(),
            scope_type: scope.scope_type(),
            created_at: body.created.to_string(),
            is_deleted: is_deleted(metadata.get(META_DELETED)),
            artifact_id: version.id.to_string(),
            execution_id: version
                .resources
                .as_ref()
                .and_then(|resources| resources.producer_pipeline_run_id)
                .map(|id| id.to_string()),
            flow_id: metadata_string(metadata.get(META_FLOW_ID)),
            flow_name: metadata_string(metadata.get(META_FLOW_NAME)).and_then(|name| {
                let name = name.strip_prefix(PIPELINE_NAME_PREFIX).unwrap_or(&name);
                (!name.trim().is_empty()).then(|| name.trim().to_owned())
            }),
        };
        Some(Self {
            entry,
            scope,
            created: body.created,
            uri: body.uri.clone(),
            materializer: import_path(&body.materializer),
            data_type,
        })
    }

    /// Reads this version's value (see [`crate::artifacts::load`]).
    pub(crate) async fn load(
        &self,
        kitaru: &crate::Kitaru,
    ) -> Result<crate::artifacts::ArtifactValue, crate::artifacts::ValueUnavailable> {
        crate::artifacts::load(
            kitaru,
            &self.entry.artifact_id,
            &self.uri,
            &self.materializer,
            &self.data_type,
        )
        .await
    }

    /// Whether this version belongs to `scope`.
    pub(crate) fn is_in(&self, scope: &MemoryScope) -> bool {
        &self.scope == scope
    }
}

/// Newest first: by version number, then creation time, then id, each
/// descending — the order the Python SDK uses everywhere.
pub(crate) fn sort_newest_first(versions: &mut [Stored]) {
    versions.sort_by(|a, b| {
        (b.entry.version, b.created.as_utc(), &b.entry.artifact_id).cmp(&(
            a.entry.version,
            a.created.as_utc(),
            &a.entry.artifact_id,
        ))
    });
}

/// The tombstone flag as the Python SDK reads it: a bool as is, a string
/// only when it says `true`, a number when non-zero; absent is false.
fn is_deleted(value: Option<&Value>) -> bool {
    match value {
        Some(Value::Bool(flag)) => *flag,
        Some(Value::String(text)) => text.trim().eq_ignore_ascii_case("true"),
        Some(Value::Number(number)) => number.as_f64().is_some_and(|n| n != 0.0),
        Some(Value::Array(items)) => !items.is_empty(),
        Some(Value::Object(map)) => !map.is_empty(),
        Some(Value::Null) | None => false,
    }
}

/// A metadata value as a trimmed string; empty is none.
fn metadata_string(value: Option<&Value>) -> Option<String> {
    let text = match value? {
        Value::Null => return None,
        Value::String(text) => text.trim().to_owned(),
        other => other.to_string(),
    };
    (!text.is_empty()).then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn version(name: &str, number: &str, metadata: Value) -> ArtifactVersionResponse {
        serde_json::from_value(json!({
            "id": "d72718f9-69d1-4c0f-adf3-948713df4c0f",
            "permission_denied": false,
            "body": {
                "artifact": {"id": "7b50c6f4-5a6c-48ed-a7b7-ade0be8487a5", "name": name,
                             "permission_denied": false,
                             "body": {"created": "2026-11-24T18:32:26.961268", "updated": "2026-11-24T18:32:26.961268", "project_id": "d1fa1388-9387-4b5c-8af7-1d3c87ef5922"}},
                "version": number, "uri": "/tmp/x", "type": "DataArtifact",
                "created": "2026-11-24T18:32:26.961268", "updated": "2026-11-24T18:32:26.961268",
                "project_id": "d1fa1388-9387-4b5c-8af7-1d3c87ef5922", "save_type": "manual", "artifact_store_id": null,
                "materializer": {"module": "zenml.materializers.built_in_materializer",
                                 "attribute": "BuiltInContainerMaterializer", "type": "internal"},
                "data_type": {"module": "builtins", "attribute": "dict", "type": "builtin"}
            },
            "metadata": {"run_metadata": metadata}
        }))
        .unwrap()
    }

    #[test]
    fn a_version_written_by_either_side_reads_as_an_entry() {
        let stored = Stored::from_version(&version(
            "kitaru_mem:execution:6c4939ce-4f05-479b-8b9e-b54859b61021:note",
            "2",
            json!({"kitaru_memory_scope_type": "execution", "kitaru_memory_deleted": "True ",
                   "kitaru_memory_flow_id": " 2a74e735-a07a-45f6-8842-27342acfe6f2 ",
                   "kitaru_memory_flow_name": "__kitaru_pipeline_source_mem_agent"}),
        ))
        .unwrap();
        let entry = &stored.entry;
        assert_eq!((entry.key.as_str(), entry.version), ("note", 2));
        assert_eq!(entry.value_type, "dict");
        assert!(entry.is_deleted);
        assert_eq!(
            entry.flow_id.as_deref(),
            Some("2a74e735-a07a-45f6-8842-27342acfe6f2")
        );
        assert_eq!(entry.flow_name.as_deref(), Some("mem_agent"));
        assert_eq!(
            stored.materializer,
            "zenml.materializers.built_in_materializer.BuiltInContainerMaterializer"
        );
    }

    #[test]
    fn versions_without_a_matching_scope_type_record_are_not_memory() {
        let name = "kitaru_mem:namespace:ns:k";
        assert!(Stored::from_version(&version(name, "1", json!({}))).is_none());
        let flow = json!({"kitaru_memory_scope_type": "flow"});
        assert!(Stored::from_version(&version(name, "1", flow)).is_none());
        let bad_number = json!({"kitaru_memory_scope_type": "namespace"});
        assert!(Stored::from_version(&version(name, "one", bad_number)).is_none());
    }
}
