//! Deployments, both ways: versions the Python SDK deploys are listed,
//! tagged, untagged and deleted here, and the Python SDK sees each change;
//! selector rules and refusals on the real server.

use std::collections::BTreeMap;

use kitaru_sdk::deployments::{self, Deployment, Selector};
use kitaru_sdk::{ErrorKind, Kitaru};
use serde_json::{Map, Value, json};

use kitaru_testkit::{Runs, deployments_lock, install_flow_module, python, python_deploy, server};

const FLOW: &str = "research_agent";

/// The Python SDK's view of the flow's deployments: version → tags.
async fn python_view() -> BTreeMap<u32, BTreeMap<String, bool>> {
    install_flow_module("extra_replay");
    let listed = python("deploy_interop", &["list"], None, Runs::NoFlow).await;
    listed
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let version = u32::try_from(d["version"].as_u64().unwrap()).unwrap();
            (version, tags(d["tags"].clone()))
        })
        .collect()
}

async fn ours(kitaru: &Kitaru, version: u32) -> Deployment {
    deployments::get(kitaru, FLOW, &Selector::Version(version))
        .await
        .unwrap()
}

fn tags(value: Value) -> BTreeMap<String, bool> {
    serde_json::from_value(value).unwrap()
}

#[tokio::test]
async fn python_deployments_are_managed_here_and_the_python_sdk_sees_each_change() {
    let _one = deployments_lock().await;
    let kitaru = server().kitaru().await;
    let first = python_deploy("beta", false, "deployed topic").await;
    let second = python_deploy("canary", true, "deployed topic").await;
    let (v1, v2) = (
        u32::try_from(first["version"].as_u64().unwrap()).unwrap(),
        u32::try_from(second["version"].as_u64().unwrap()).unwrap(),
    );
    assert_eq!(v2, v1 + 1);

    // Read here as Python wrote them, with what deploy recorded.
    let listed = deployments::list(&kitaru, Some(FLOW)).await.unwrap();
    let mine = listed.iter().find(|d| d.version == v1).unwrap();
    assert_eq!(mine.deployment_id, first["deployment_id"].as_str().unwrap());
    assert_eq!(mine.tags, tags(first["tags"].clone()));
    assert_eq!(mine.stack.as_deref(), Some("default"));
    let schema = mine
        .schema
        .as_ref()
        .expect("the input schema deploy recorded");
    assert_eq!(
        schema["properties"]["topic"]["default"], "deployed topic",
        "{schema}"
    );
    assert!(mine.created_at.is_some());
    let versions: Vec<u32> = listed.iter().map(|d| d.version).collect();
    let mut sorted = versions.clone();
    sorted.sort_unstable();
    assert_eq!(versions, sorted, "sorted by version");
    assert_eq!(
        deployments::get(&kitaru, FLOW, &Selector::Tag("canary".into()))
            .await
            .unwrap()
            .version,
        v2
    );

    // An exclusive tag moves: canary from v2 to v1, and Python sees it.
    let moved = deployments::tag(&kitaru, FLOW, i64::from(v1), "canary", true)
        .await
        .unwrap();
    assert_eq!(moved.tags.get("canary"), Some(&true));
    assert!(!ours(&kitaru, v2).await.tags.contains_key("canary"));
    let view = python_view().await;
    assert_eq!(view[&v1].get("canary"), Some(&true));
    assert!(!view[&v2].contains_key("canary"));

    // Any tag text survives the native encoding, both ways.
    let odd = "release 1.0/é";
    deployments::tag(&kitaru, FLOW, i64::from(v2), odd, false)
        .await
        .unwrap();
    assert_eq!(python_view().await[&v2][odd], false);
    let untagged = deployments::untag(&kitaru, FLOW, i64::from(v2), odd)
        .await
        .unwrap();
    assert!(!untagged.tags.contains_key(odd));
    assert!(python_view().await[&v2].get(odd).is_none());

    // A shared tag on two versions makes a tag selector ambiguous.
    let shared = format!("shared-{}", &uuid::Uuid::new_v4().to_string()[..8]);
    for version in [v1, v2] {
        deployments::tag(&kitaru, FLOW, i64::from(version), &shared, false)
            .await
            .unwrap();
    }
    let error = deployments::get(&kitaru, FLOW, &Selector::Tag(shared.clone()))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::State);
    assert_eq!(
        error.to_string(),
        format!(
            "Deployment tag '{shared}' is ambiguous for flow 'research_agent'; matched versions: \
             {v1}, {v2}."
        )
    );

    // Exclusive tags protect a version; v2 holds none now and goes.
    let error = deployments::delete(&kitaru, FLOW, i64::from(v1))
        .await
        .unwrap_err();
    assert!(
        error.to_string().starts_with(&format!(
            "Cannot delete deployment 'research_agent' v{v1} while it holds exclusive tag(s): "
        )),
        "{error}"
    );
    let deleted = deployments::delete(&kitaru, FLOW, i64::from(v2))
        .await
        .unwrap();
    assert!(deleted.deleted);
    assert!(!python_view().await.contains_key(&v2));
    let error = deployments::delete(&kitaru, FLOW, i64::from(v2))
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        format!("No deployment found for flow 'research_agent' version {v2}.")
    );
    // Leave v1 deletable for later runs of this test on the same server.
    deployments::untag(&kitaru, FLOW, i64::from(v1), "canary")
        .await
        .unwrap();
}

#[tokio::test]
async fn invoking_a_local_stack_deployment_is_refused_in_the_references_words() {
    let _one = deployments_lock().await;
    let kitaru = server().kitaru().await;
    python_deploy("inv", false, "invoked").await;
    let version = deployments::get(&kitaru, FLOW, &Selector::Tag("inv".into()))
        .await
        .unwrap()
        .version;
    let error = deployments::invoke(&kitaru, FLOW, &Selector::Version(version), &Map::new())
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::State);
    assert_eq!(
        error.to_string(),
        format!(
            "Deployment 'research_agent' v{version} was created from stack 'default', which the \
             Kitaru server cannot execute remotely. Rebuild the deployment using a stack the \
             Kitaru server can execute remotely before invoking it."
        )
    );
    let inputs = json!({"topic": "x"}).as_object().cloned().unwrap();
    let error = deployments::invoke(
        &kitaru,
        "never_deployed",
        &Selector::ImplicitDefault,
        &inputs,
    )
    .await
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "No deployments found for flow 'never_deployed'. Deploy this flow first, then invoke it \
         by version or tag."
    );
    deployments::untag(&kitaru, FLOW, i64::from(version), "inv")
        .await
        .unwrap();
}

#[tokio::test]
async fn bad_selectors_and_tags_are_refused_before_any_request() {
    let kitaru = server().kitaru().await;
    let cases = [
        (
            Selector::of(Some(1), Some("x")).map(|_| ()),
            "`version` and `tag` are mutually exclusive.",
        ),
        (
            Selector::of(Some(0), None).map(|_| ()),
            "Deployment version must be >= 1.",
        ),
        (
            Selector::of(None, Some(" ")).map(|_| ()),
            "Deployment tags must be non-empty strings.",
        ),
    ];
    for (result, expected) in cases {
        let error = result.unwrap_err();
        assert!(error.to_string().ends_with(expected), "{error}");
    }
    let error = deployments::list(&kitaru, Some("a::b")).await.unwrap_err();
    assert!(
        error
            .to_string()
            .ends_with("Deployment flow names cannot contain `::`.")
    );
    let error = deployments::untag(&kitaru, FLOW, 1, "default")
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .ends_with("The reserved `default` deployment tag cannot be removed.")
    );
    let error = deployments::tag(&kitaru, FLOW, 1, "kitaru:deployment:x", false)
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .ends_with("Deployment tags cannot use the `kitaru:` namespace.")
    );
}

#[tokio::test]
async fn a_compiled_flow_is_published_as_the_next_version_with_its_tags() {
    let _one = deployments_lock().await;
    let kitaru = server().kitaru().await;
    let options = kitaru_testkit::launch_options();
    let tag = format!("pub-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let request = deployments::DeployRequest {
        target: format!("{}:research_agent", kitaru_testkit::FLOWS),
        inputs: json!({"topic": "published"}).as_object().cloned().unwrap(),
        tag: tag.clone(),
        exclusive: true,
        ..Default::default()
    };
    // The local stack is refused, in the reference's words.
    let error = deployments::deploy(&kitaru, &request, &options)
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid argument `stack`: Flow 'research_agent' cannot be deployed with stack 'default' \
         because that stack is not one the Kitaru server can execute remotely. Choose a stack the \
         Kitaru server can execute remotely (for example Kubernetes, Vertex, SageMaker, or \
         AzureML) and try again."
    );
    // Its steps one by one: compiled by Python, named and tagged here.
    let before = deployments::list(&kitaru, Some(FLOW)).await.unwrap();
    let highest = before.iter().map(|d| d.version).max().unwrap_or(0);
    let (flow, source) = deployments::compile(&kitaru, &request, &options)
        .await
        .unwrap();
    assert_eq!(flow, FLOW);
    let first = deployments::publish(&kitaru, &flow, &source, &tag, true)
        .await
        .unwrap();
    assert_eq!(first.version, highest + 1);
    assert_eq!(first.deployment_id, source);
    assert_eq!(first.tags.get(&tag), Some(&true));
    assert_eq!(
        first.schema.as_ref().unwrap()["properties"]["topic"]["default"],
        "published"
    );
    // A second version takes the exclusive tag over; Python sees both.
    let (_, source) = deployments::compile(&kitaru, &request, &options)
        .await
        .unwrap();
    let second = deployments::publish(&kitaru, &flow, &source, &tag, true)
        .await
        .unwrap();
    assert_eq!(second.version, highest + 2);
    let view = python_view().await;
    assert!(view[&first.version].get(&tag).is_none(), "{view:?}");
    assert_eq!(view[&second.version][&tag], true);
    // Free both for later runs.
    deployments::untag(&kitaru, FLOW, i64::from(second.version), &tag)
        .await
        .unwrap();
}
