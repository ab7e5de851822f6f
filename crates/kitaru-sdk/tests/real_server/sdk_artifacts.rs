//! The SDK's `artifacts::get` (behind `kitaru_artifacts_get`) against the
//! seeded server: lookups by id, name and prefix, the producing checkpoint,
//! and values read through the server.

use std::collections::BTreeMap;

use kitaru_client::paging::Paged as _;
use kitaru_sdk::Error;
use kitaru_sdk::artifacts::{self, Artifact, ValueFormat};
use serde_json::{Value, json};

use kitaru_testkit::server;

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
    let client = server().client();
    let versions = client
        .list_artifact_versions()
        .size(1000)
        .all()
        .await
        .unwrap();
    // Two-digit prefixes: few matches each, so the error lists them all.
    // Among the few dozen versions two need not share one: then one digit,
    // which more than 16 versions always share.
    let shared = |digits: usize| {
        let mut by_prefix = BTreeMap::<String, Vec<String>>::new();
        for version in &versions {
            let id = version.id.to_string();
            by_prefix
                .entry(id[..digits].to_owned())
                .or_default()
                .push(id);
        }
        by_prefix
            .into_iter()
            .filter(|(_, ids)| ids.len() >= 2)
            .min_by_key(|(_, ids)| ids.len())
    };
    let (prefix, ids) = shared(2)
        .or_else(|| shared(1))
        .expect("two artifact versions share their first hex digit");
    let error = get(&prefix).await.unwrap_err().to_string();
    // Other tests may add versions meanwhile: at least these match.
    let counted: usize = error
        .strip_prefix(&format!("Failed to load artifact '{prefix}': "))
        .and_then(|rest| rest.split(' ').next())
        .and_then(|count| count.parse().ok())
        .unwrap_or_else(|| panic!("{error}"));
    assert!(counted >= ids.len(), "{error}");
    assert!(
        error.contains("artifact_versions have been found that have an id prefix"),
        "{error}"
    );
    if counted <= 10 {
        for id in ids {
            assert!(error.contains(&id), "{error} should name {id}");
        }
    }
}

#[tokio::test]
async fn an_unknown_name_is_not_found() {
    let error = get("no-such-artifact").await.unwrap_err();
    assert!(matches!(error, Error::NotFound(_)), "{error:?}");
    // Kitaru 0.21 names the project it searched (ZenML 0.98's words).
    let kitaru = server().kitaru().await;
    let scope = match kitaru.server().await.unwrap().line {
        kitaru_sdk::ServerLine::Kitaru021 => {
            format!(" in project {}", server().str("/seed/project/id"))
        }
        _ => String::new(),
    };
    assert_eq!(
        error.to_string(),
        format!(
            "Failed to load artifact 'no-such-artifact': 'No artifact_versions found for name, \
             ID or prefix no-such-artifact{scope}.'"
        )
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

/// Runs `tests/harness/flows/extra_pickled.py` once: a real flow whose
/// checkpoints return values beyond plain JSON. Checkpoint -> artifact id.
pub(crate) async fn pickled_flow_outputs() -> BTreeMap<String, String> {
    static OUTPUTS: tokio::sync::OnceCell<BTreeMap<String, String>> =
        tokio::sync::OnceCell::const_new();
    OUTPUTS
        .get_or_init(|| async {
            let ids =
                kitaru_testkit::python("extra_pickled", &[], None, kitaru_testkit::Runs::Flow)
                    .await;
            serde_json::from_value(ids).unwrap()
        })
        .await
        .clone()
}

#[tokio::test]
async fn values_of_a_real_flow_beyond_json_read_as_python_shows_them() {
    let outputs = pickled_flow_outputs().await;
    let expected = [
        ("make_tuple", json!([1, "two", 3.5]), ValueFormat::Json),
        (
            "make_set",
            json!(["apple", "fig", "pear"]),
            ValueFormat::Json,
        ),
        ("make_float", json!(1e16), ValueFormat::Json),
        (
            "make_report",
            json!({"title": "pickled", "score": 0.5, "tags": ["x", "y"]}),
            ValueFormat::Json,
        ),
        (
            "make_bytes",
            json!("b\"\\x00\\x01raw'\""),
            ValueFormat::Repr,
        ),
        (
            "make_mixed_list",
            json!("[1, b'\\x00raw', 'caf\u{e9} \"q\"', [2, 3]]"),
            ValueFormat::Repr,
        ),
        (
            "make_bytes_dict",
            json!("{'blob': b'\\xffdata', 7: 'seven'}"),
            ValueFormat::Repr,
        ),
        (
            "make_uuid",
            json!("UUID('12345678-1234-5678-1234-567812345678')"),
            ValueFormat::Repr,
        ),
    ];
    for (checkpoint, value, format) in expected {
        let artifact = get(&outputs[checkpoint]).await.unwrap();
        assert!(
            artifact.value_available,
            "{checkpoint}: {:?}",
            artifact.value_unavailable
        );
        assert_eq!(artifact.value, value, "{checkpoint}");
        assert_eq!(artifact.value_format, Some(format), "{checkpoint}");
    }
}

#[tokio::test]
async fn a_pickled_object_from_a_real_flow_is_unavailable_and_says_where_to_load_it() {
    let outputs = pickled_flow_outputs().await;
    let artifact = get(&outputs["make_custom"]).await.unwrap();
    assert!(!artifact.value_available);
    assert_eq!(artifact.value, Value::Null);
    assert_eq!(artifact.value_type, "flows.extra_pickled.Custom");
    let unavailable = artifact.value_unavailable.unwrap();
    assert_eq!(unavailable.error_type, "KitaruArtifactUnavailableError");
    assert_eq!(unavailable.cause_type, "UnsupportedMaterializer");
    for part in [
        "CloudpickleMaterializer",
        "flows.extra_pickled.Custom",
        "KitaruClient().artifacts.get(",
    ] {
        assert!(
            unavailable.message.contains(part),
            "{part}: {}",
            unavailable.message
        );
    }
}
