//! The SDK's `artifacts::get` (behind `kitaru_artifacts_get`) against the
//! seeded server: lookups by id, name and prefix, the producing checkpoint,
//! and values read through the server.

use std::collections::BTreeMap;

use kitaru_sdk::Error;
use kitaru_sdk::artifacts::{self, Artifact, ValueFormat};
use serde_json::{Value, json};

use crate::support::server;

async fn get(artifact_id: &str) -> Result<Artifact, Error> {
    let kitaru = server().kitaru().await;
    artifacts::get(&kitaru, artifact_id).await
}

/// The artifacts the seed flows produced, as the harness recorded them.
fn seeded_artifacts() -> Vec<&'static Value> {
    ["/seed/completed/artifacts", "/seed/waiting/artifacts"]
        .into_iter()
        .flat_map(|pointer| server().get(pointer).as_array().expect("an array"))
        .collect()
}

fn seeded(name: &str) -> &'static Value {
    seeded_artifacts()
        .into_iter()
        .find(|artifact| artifact["name"] == name)
        .unwrap_or_else(|| panic!("the seed has no artifact {name}"))
}

#[tokio::test]
async fn every_seeded_artifact_comes_back_with_its_value() {
    for expected in seeded_artifacts() {
        let id = expected["artifact_id"].as_str().unwrap();
        let artifact = get(id).await.unwrap();
        let actual = serde_json::to_value(&artifact).unwrap();
        for field in [
            "artifact_id",
            "name",
            "kind",
            "save_type",
            "metadata",
            "value",
            "value_type",
        ] {
            assert_eq!(actual[field], expected[field], "{field} of {id}");
        }
        assert_eq!(
            actual["producing_call"], expected["checkpoint"],
            "producing_call of {id}"
        );
        assert_eq!(artifact.value_format, Some(ValueFormat::Json), "{id}");
        assert!(artifact.value_available, "{id}");
    }
}

#[tokio::test]
async fn a_dict_output_has_the_reference_payload() {
    let expected = seeded("seed_completed::gather::output");
    let artifact = get(expected["artifact_id"].as_str().unwrap())
        .await
        .unwrap();
    // The reference's payload for this artifact, plus `value_available`.
    assert_eq!(
        serde_json::to_value(&artifact).unwrap(),
        json!({
            "artifact_id": expected["artifact_id"],
            "name": "seed_completed::gather::output",
            "kind": null,
            "save_type": "step_output",
            "producing_call": "gather",
            "metadata": expected["metadata"],
            "value": {"topic": "durable agents", "sources": 3, "tags": ["a", "b"]},
            "value_format": "json",
            "value_type": "builtins.dict",
            "value_available": true,
        })
    );
}

#[tokio::test]
async fn a_saved_artifact_has_its_kind_and_the_checkpoint_that_saved_it() {
    let artifact = get(seeded("seed_response")["artifact_id"].as_str().unwrap())
        .await
        .unwrap();
    let actual = serde_json::to_value(&artifact).unwrap();
    assert_eq!(actual["kind"], "response");
    assert_eq!(actual["save_type"], "manual");
    assert_eq!(actual["producing_call"], "pair");
    assert_eq!(actual["value"], "final answer about durable agents");
    assert_eq!(actual["value_type"], "builtins.str");
}

#[tokio::test]
async fn a_memory_value_saved_outside_a_flow_has_no_producing_call() {
    let prefs = server().get("/seed/memory/keys/prefs/versions/0");
    let artifact = get(prefs["artifact_version_id"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(artifact.artifact.producing_call, None);
    assert_eq!(artifact.value, prefs["value"]);
    assert_eq!(artifact.value_type, "builtins.dict");
}

#[tokio::test]
async fn an_artifact_name_finds_its_latest_version() {
    for name in ["seed_response", "seed_completed::pair::output_1"] {
        let artifact = get(name).await.unwrap();
        assert_eq!(
            artifact.artifact.artifact_id,
            seeded(name)["artifact_id"],
            "{name}"
        );
        assert_eq!(artifact.value, seeded(name)["value"], "{name}");
    }
}

#[tokio::test]
async fn a_unique_id_prefix_finds_the_version() {
    let expected = seeded("seed_completed::greet::output");
    let id = expected["artifact_id"].as_str().unwrap();
    let artifact = get(&id[..8]).await.unwrap();
    assert_eq!(artifact.artifact.artifact_id, id);
    assert_eq!(artifact.value, "hello from kitaru");
}

#[tokio::test]
async fn an_ambiguous_prefix_names_the_matches() {
    let versions = server()
        .client()
        .list_artifact_versions()
        .size(1000)
        .send()
        .await
        .unwrap()
        .into_inner();
    let mut by_first_char = BTreeMap::<char, Vec<String>>::new();
    for version in &versions.items {
        let id = version.id.to_string();
        by_first_char
            .entry(id.chars().next().unwrap())
            .or_default()
            .push(id);
    }
    let (prefix, ids) = by_first_char
        .into_iter()
        .find(|(_, ids)| ids.len() >= 2)
        .expect("more than 16 artifact versions share a first hex digit");
    let error = get(&prefix.to_string()).await.unwrap_err().to_string();
    assert!(
        error.starts_with(&format!(
            "Failed to load artifact '{prefix}': {} artifact_versions have been found",
            ids.len()
        )),
        "{error}"
    );
    for id in ids {
        assert!(error.contains(&id), "{error} should name {id}");
    }
}

#[tokio::test]
async fn an_unknown_name_is_not_found() {
    let error = get("no-such-artifact").await.unwrap_err();
    assert!(matches!(error, Error::NotFound(_)), "{error:?}");
    assert_eq!(
        error.to_string(),
        "Failed to load artifact 'no-such-artifact': 'No artifact_versions found for name, ID or prefix no-such-artifact.'"
    );
}

#[tokio::test]
async fn an_unknown_id_is_not_found() {
    let id = "00000000-0000-4000-8000-000000000000";
    let error = get(id).await.unwrap_err();
    assert!(error.is_not_found(), "{error:?}");
    let text = error.to_string();
    assert!(
        text.starts_with(&format!("Failed to load artifact '{id}': ")),
        "{text}"
    );
    assert!(
        text.contains("No artifact version with this ID found"),
        "{text}"
    );
}
