//! Memory versions as the server stores them, for tests that look behind
//! the SDK.

use kitaru_sdk::Kitaru;
use kitaru_sdk::memory::MemoryScope;
use serde_json::json;

/// Where a version's files are.
pub async fn stored_uri(kitaru: &Kitaru, artifact_id: &str) -> String {
    kitaru
        .client
        .get_artifact_version()
        .artifact_version_id(artifact_id.parse::<uuid::Uuid>().unwrap())
        .send()
        .await
        .unwrap()
        .into_inner()
        .body
        .unwrap()
        .uri
}

/// Registers a memory version (a `str`) of `key` in the namespace `scope`
/// whose files the server says are at `uri`, as anyone allowed to register
/// artifact versions can (in `store`, if given).
pub async fn register_memory_version(
    kitaru: &Kitaru,
    scope: &MemoryScope,
    key: &str,
    uri: &str,
    store: Option<uuid::Uuid>,
) {
    let project = kitaru
        .client
        .list_projects()
        .send()
        .await
        .unwrap()
        .into_inner()
        .items[0]
        .id;
    let name = scope.name();
    let mut request = json!({
        "project": project, "artifact_name": format!("kitaru_mem:namespace:{name}:{key}"),
        "has_custom_name": true, "type": "DataArtifact", "uri": uri,
        "materializer": {"module": "zenml.materializers.built_in_materializer", "attribute": "BuiltInMaterializer", "type": "internal"},
        "data_type": {"module": "builtins", "attribute": "str", "type": "builtin"},
        "save_type": "manual",
        "tags": ["kitaru:memory", format!("kitaru:memory:scope:{name}"), format!("kitaru:memory:key:{key}"), "kitaru:memory:scope_type:namespace"],
        "metadata": {"kitaru_memory_scope_type": "namespace", "kitaru_memory_deleted": false},
    });
    if let Some(store) = store {
        request["artifact_store_id"] = json!(store);
    }
    kitaru
        .client
        .create_artifact_version()
        .body(
            serde_json::from_value::<kitaru_client::types::ArtifactVersionRequest>(request)
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
}
