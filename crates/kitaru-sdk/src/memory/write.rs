//! Writing memory: a new version of a key, a deletion (tombstone), an
//! audit record — each one artifact version, stored as the Python SDK
//! stores it so that either side reads what the other wrote.

use kitaru_client::types;
use serde_json::Value;

use super::encode::{Encoded, MATERIALIZER_MODULE};
use super::entry::{
    META_DELETED, META_FLOW_ID, META_FLOW_NAME, META_SCOPE_TYPE, MemoryEntry, Stored,
};
use super::scope::{self, MemoryScope, ScopeType, TAG_MARKER};
use super::store::ArtifactStore;
use super::versions;
use crate::error::ApiContext as _;
use crate::python_repr::str_repr;
use crate::{Error, Kitaru};

/// Sets `key` in `scope` to `value` (any JSON, null included): a new
/// version, numbered after the latest.
///
/// The value is written to the active stack's artifact store, then
/// registered on the server; if registering fails, the written files are
/// removed again.
pub async fn set(
    kitaru: &Kitaru,
    scope: &MemoryScope,
    key: &str,
    value: &Value,
) -> Result<MemoryEntry, Error> {
    let key = scope::key(key)?;
    let context = format!(
        "Failed to set memory key {} in scope {}",
        str_repr(&key),
        str_repr(scope.name())
    );
    Ok(write(kitaru, scope, &key, value, false, &context)
        .await?
        .entry)
}

/// Deletes `key` in `scope`: writes a tombstone version, so the history
/// keeps the old values. `None` when the key does not exist; a key already
/// deleted gives its tombstone back without writing another.
pub async fn delete(
    kitaru: &Kitaru,
    scope: &MemoryScope,
    key: &str,
) -> Result<Option<MemoryEntry>, Error> {
    let key = scope::key(key)?;
    let context = format!(
        "Failed to delete memory key {} in scope {}",
        str_repr(&key),
        str_repr(scope.name())
    );
    let Some(latest) = versions::latest(kitaru, scope, &key, None, &context).await? else {
        return Ok(None);
    };
    if latest.entry.is_deleted {
        return Ok(Some(latest.entry));
    }
    let tombstone = write(kitaru, scope, &key, &Value::Null, true, &context).await?;
    Ok(Some(tombstone.entry))
}

/// How often a write is retried when another writer took the same version
/// number at the same moment.
const CONFLICT_RETRIES: u32 = 5;

/// Writes one version of `key` (the key already checked).
pub(crate) async fn write(
    kitaru: &Kitaru,
    scope: &MemoryScope,
    key: &str,
    value: &Value,
    deleted: bool,
    context: &str,
) -> Result<Stored, Error> {
    let artifact_name = scope.artifact_name(key);
    let (project, store, flow) = tokio::try_join!(
        project_id(kitaru, context),
        ArtifactStore::active(kitaru),
        async { Ok(flow_context(kitaru, scope).await) },
    )?;
    let encoded = Encoded::of(value);
    let written = store
        .write(
            &artifact_name,
            &[("data.json", encoded.data_json.as_bytes())],
        )
        .map_err(|error| match error {
            Error::State(message) => Error::State(format!("{context}: {message}")),
            other => other,
        })?;
    let uri = written.uri();

    let mut tags = scope.tags(key);
    let mut metadata = serde_json::Map::new();
    metadata.insert("storage_size".into(), written.size.into());
    metadata.extend(encoded.metadata.clone());
    metadata.insert(META_SCOPE_TYPE.into(), scope.scope_type().as_str().into());
    metadata.insert(META_DELETED.into(), deleted.into());
    if let Some(flow) = &flow {
        if scope.scope_type() == ScopeType::Execution {
            tags.push(format!("{TAG_MARKER}:flow_id:{}", flow.id));
        }
        metadata.insert(META_FLOW_ID.into(), flow.id.clone().into());
        if let Some(name) = &flow.name {
            metadata.insert(META_FLOW_NAME.into(), name.clone().into());
        }
    }
    let source = |module: &str, attribute: &str, kind: &str| types::Source {
        module: module.to_owned(),
        attribute: Some(attribute.to_owned()),
        type_: kind.into(),
    };
    let request = types::ArtifactVersionRequest::try_from(
        types::ArtifactVersionRequest::builder()
            .project(project)
            .artifact_name(Some(artifact_name))
            .has_custom_name(true)
            .type_("DataArtifact")
            .artifact_store_id(Some(store.id))
            .uri(uri.clone())
            .materializer(source(
                MATERIALIZER_MODULE,
                encoded.materializer,
                "internal",
            ))
            .data_type(source("builtins", encoded.data_type, "builtin"))
            .content_hash(Some(encoded.content_hash.clone()))
            .tags(Some(tags))
            .visualizations(Some(vec![types::ArtifactVisualizationRequest {
                type_: "json".into(),
                uri: format!("{uri}/data.json"),
            }]))
            .save_type("manual")
            .metadata(Some(metadata))
            .item_count(encoded.item_count),
    )
    .map_err(|e| Error::Unexpected(format!("{context}: cannot build the request: {e}")))?;

    let mut attempt = 1;
    let created = loop {
        match kitaru
            .client
            .create_artifact_version()
            .body(request.clone())
            .send()
            .await
        {
            Ok(created) => break created.into_inner(),
            Err(error) => {
                let error = Error::api(context, error);
                if attempt < CONFLICT_RETRIES && is_version_race(&error) {
                    attempt += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(20 * u64::from(attempt)))
                        .await;
                    continue;
                }
                written.discard();
                return Err(error);
            }
        }
    };
    let version = kitaru
        .client
        .get_artifact_version()
        .artifact_version_id(created.id)
        .hydrate(true)
        .send()
        .await
        .context(context)?
        .into_inner();
    Stored::from_version(&version).ok_or_else(|| {
        Error::Unexpected(format!(
            "{context}: the server registered artifact version {} but sent it back without \
             its memory records",
            version.id
        ))
    })
}

/// Whether a failed create lost a race for the next version number with
/// another writer (the server numbers versions itself).
fn is_version_race(error: &Error) -> bool {
    match error {
        Error::Api { status, detail, .. } => {
            *status == Some(409)
                || detail.contains("UNIQUE constraint")
                || detail.contains("IntegrityError")
                || detail.contains("Duplicate entry")
        }
        _ => false,
    }
}

/// The id of the project memory is written to: the active one.
async fn project_id(kitaru: &Kitaru, context: &str) -> Result<uuid::Uuid, Error> {
    kitaru
        .active_project()
        .await
        .map(|project| project.id)
        .map_err(|error| match error {
            Error::State(message) => Error::State(format!("{context}: {message}")),
            Error::Api {
                context: inner,
                kind,
                status,
                detail,
            } => Error::Api {
                context: format!("{context}: {inner}"),
                kind,
                status,
                detail,
            },
            other => other,
        })
}

/// The flow an execution-scoped write belongs to.
struct FlowContext {
    id: String,
    name: Option<String>,
}

/// For an execution scope, the flow of that execution, as the Python SDK
/// records it; nothing for other scopes, or when the execution cannot be
/// found (the write goes ahead without it, as in Python).
async fn flow_context(kitaru: &Kitaru, scope: &MemoryScope) -> Option<FlowContext> {
    if scope.scope_type() != ScopeType::Execution {
        return None;
    }
    let run = match crate::executions::find_run(kitaru, scope.name()).await {
        Ok(run) => run,
        Err(error) => {
            tracing::warn!(
                "memory in execution scope {}: the execution's flow is not recorded: {error}",
                str_repr(scope.name())
            );
            return None;
        }
    };
    let pipeline = run.resources.as_ref()?.pipeline.as_ref()?;
    Some(FlowContext {
        id: pipeline.id.to_string(),
        name: crate::executions::flow_name(&run),
    })
}
