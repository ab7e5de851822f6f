//! `stacks::create` and `stacks::delete` against the real server, as each
//! line's Kitaru makes stacks: on the 0.21 line local stacks get a sandbox
//! and Modal stacks exist; a 0.10 server refuses both, naming the version
//! they need.

use kitaru_client::ConnectionOptions;
use kitaru_sdk::stacks::{self, StackCreate};
use kitaru_sdk::{Connector, Error, ErrorKind};
use kitaru_testkit::{Line, changing_executions, fresh, server};

/// Connects as a user of the seeded project would; nothing here activates
/// a stack, so the project's config is left as it is.
fn connector() -> Connector {
    let server = server();
    Connector::new(
        ConnectionOptions::new()
            .config_dir(server.str("/config_path"))
            .working_dir(server.str("/project_dir")),
    )
}

fn labels(name: &str, kinds: &[&str]) -> Vec<String> {
    kinds
        .iter()
        .map(|kind| format!("{name} ({kind})"))
        .collect()
}

/// The refusal's reason, which must be an invalid argument.
fn refusal(result: Result<impl std::fmt::Debug, Error>) -> String {
    match result {
        Err(error) => {
            assert_eq!(error.kind(), ErrorKind::InvalidArgument, "{error}");
            error.to_string()
        }
        Ok(made) => panic!("made {made:?}"),
    }
}

const NEEDS: &str = "needs a server with sandbox stack components: ZenML 0.98.0 (kitaru 0.21) \
                     or later. The connected server runs ZenML 0.94.4 (the kitaru 0.10 line).";

// Both add stacks: no comparison of listings may straddle them.
#[test]
fn a_local_stack_gets_a_sandbox_where_the_server_has_them() {
    changing_executions(local_stack());
}

#[test]
fn a_modal_stack_is_one_request_on_the_021_line() {
    changing_executions(modal_stack());
}

async fn local_stack() {
    let connector = connector();
    let name = fresh("sdk-local");
    let request = StackCreate {
        activate: false,
        ..StackCreate::local(&name)
    };
    let made = stacks::create(&connector, &request).await.unwrap();
    let kinds: &[&str] = match server().line() {
        Line::V0_21 => &["orchestrator", "artifact_store", "sandbox"],
        _ => &["orchestrator", "artifact_store"],
    };
    assert_eq!(made.components_created, labels(&name, kinds));
    let deleted = stacks::delete(&connector, &name, true, false)
        .await
        .unwrap();
    assert_eq!(deleted.components_deleted, labels(&name, kinds));

    let with_sandbox = StackCreate {
        sandbox: Some("docker".into()),
        ..request
    };
    if server().line() != Line::V0_21 {
        let reason = refusal(stacks::create(&connector, &with_sandbox).await);
        assert!(reason.contains(&format!("`sandbox` {NEEDS}")), "{reason}");
        return;
    }
    stacks::create(&connector, &with_sandbox).await.unwrap();
    let deleted = stacks::delete(&connector, &name, true, false)
        .await
        .unwrap();
    assert_eq!(deleted.components_deleted, labels(&name, kinds));
}

async fn modal_stack() {
    let connector = connector();
    let name = fresh("sdk-modal");
    let request = StackCreate {
        activate: false,
        stack_type: "modal".into(),
        artifact_store: Some("gs://bucket/kitaru".into()),
        container_registry: Some("europe-west4-docker.pkg.dev/project/images".into()),
        ..StackCreate::local(&name)
    };
    if server().line() != Line::V0_21 {
        let reason = refusal(stacks::create(&connector, &request).await);
        assert!(
            reason.contains("Unsupported stack type: modal. Use 'local', 'kubernetes', 'vertex', 'sagemaker', or 'azureml'."),
            "{reason}"
        );
        assert!(reason.contains(NEEDS), "{reason}");
        return;
    }
    let made = stacks::create(&connector, &request).await.unwrap();
    let kinds = [
        "orchestrator",
        "artifact_store",
        "container_registry",
        "image_builder",
    ];
    assert_eq!(made.stack_type, "modal");
    assert_eq!(made.components_created, labels(&name, &kinds));
    assert_eq!(made.service_connectors_created, Some(Vec::new()));
    let deleted = stacks::delete(&connector, &made.id, true, false)
        .await
        .unwrap();
    assert_eq!(deleted.components_deleted, labels(&name, &kinds));
}

/// A Modal stack given no cloud inputs reuses the server's service
/// connectors for its bucket and its registry, as kitaru 0.21 does: the
/// same connectors, resource ids and labels as the reference's request for
/// the same stack on the same server (the reference builds it with its own
/// code — it cannot send it without the `modal` package), the same
/// refusals when two connectors fit or only one side has one; deleting the
/// stack leaves the connectors.
#[test]
fn a_modal_stack_reuses_the_servers_connectors_as_kitaru_does() {
    if server().line() != Line::V0_21 {
        return;
    }
    changing_executions(modal_reuse());
}

async fn modal_reuse() {
    use serde_json::json;

    let connector = connector();
    let kitaru = connector.get().await.unwrap();
    // Resources of this test alone: no other test's Modal stack matches.
    let bucket = fresh("bucket").to_lowercase();
    let account = format!("{:012}", std::process::id());
    let host = format!("{account}.dkr.ecr.eu-west-1.amazonaws.com");
    let store = format!("s3://{bucket}/kitaru");
    let registry = format!("{host}/images");
    let register = |name: String, resource_type: &str, resource_id: String| {
        let kitaru = kitaru.clone();
        let body: kitaru_client::types::ServiceConnectorRequest = serde_json::from_value(json!({
            "name": name, "connector_type": "aws", "auth_method": "implicit",
            "resource_types": [resource_type], "resource_id": resource_id,
            "configuration": {"region": "eu-west-1"}, "description": "", "labels": {},
            "supports_instances": false,
        }))
        .unwrap();
        async move {
            kitaru
                .client
                .create_service_connector()
                .body(body)
                .send()
                .await
                .unwrap()
                .into_inner()
        }
    };
    let unregister = |id: uuid::Uuid| {
        let kitaru = kitaru.clone();
        async move {
            kitaru
                .client
                .delete_service_connector()
                .connector_id(id)
                .send()
                .await
                .unwrap();
        }
    };
    let bucket_connector = register(fresh("s3"), "s3-bucket", format!("s3://{bucket}")).await;
    let registry_connector = register(fresh("ecr"), "docker-registry", host.clone()).await;
    let request = |name: &str| StackCreate {
        activate: false,
        stack_type: "modal".into(),
        artifact_store: Some(store.clone()),
        container_registry: Some(registry.clone()),
        ..StackCreate::local(name)
    };
    let theirs = |name: &str| {
        let input = json!({"name": name, "artifact_store": store, "container_registry": registry});
        kitaru_testkit::python_module("modal_reuse", &[], Some(&input))
    };

    // Reused: each component on its connector, scoped as the reference
    // scopes it; the label says so.
    let name = fresh("sdk-modal-reuse");
    let reference = theirs(&name);
    let their_request = &reference["request"];
    assert!(their_request.is_object(), "{reference}");
    let made = stacks::create(&connector, &request(&name)).await.unwrap();
    assert_eq!(
        made.service_connectors_created,
        Some(vec![
            bucket_connector.name.clone(),
            registry_connector.name.clone()
        ])
    );
    let stack = kitaru
        .client
        .get_stack()
        .stack_id(made.id.parse::<uuid::Uuid>().unwrap())
        .hydrate(true)
        .send()
        .await
        .unwrap()
        .into_inner();
    let metadata = stack.metadata.as_ref().unwrap();
    assert_eq!(
        serde_json::to_value(&metadata.labels).unwrap(),
        their_request["labels"]
    );
    let their_connectors = their_request["service_connectors"].as_array().unwrap();
    for (target, connector_id) in [
        ("artifact_store", bucket_connector.id),
        ("container_registry", registry_connector.id),
    ] {
        // The stack holds its components in brief: read this one in full.
        let component = kitaru
            .client
            .get_stack_component()
            .component_id(metadata.components[target][0].id)
            .hydrate(true)
            .send()
            .await
            .unwrap()
            .into_inner();
        let component_metadata = component.metadata.as_ref().unwrap();
        let their_component = &their_request["components"][target][0];
        let index = their_component["service_connector_index"].as_u64().unwrap() as usize;
        assert_eq!(their_connectors[index], json!(connector_id.to_string()));
        assert_eq!(
            component_metadata.connector.as_ref().map(|c| c.id),
            Some(connector_id),
            "{target}"
        );
        assert_eq!(
            component_metadata.connector_resource_id.as_deref(),
            their_component["service_connector_resource_id"].as_str(),
            "{target}"
        );
    }
    // Deleting the stack leaves the connectors it found.
    stacks::delete(&connector, &made.id, true, false)
        .await
        .unwrap();
    for id in [bucket_connector.id, registry_connector.id] {
        kitaru
            .client
            .get_service_connector()
            .connector_id(id)
            .send()
            .await
            .expect("a reused connector outlives the stack");
    }

    // Two fit the bucket: refused alike, naming both; nothing is made.
    let twin = register(fresh("s3-twin"), "s3-bucket", format!("s3://{bucket}/")).await;
    let name = fresh("sdk-modal-ambiguous");
    let their_error = theirs(&name)["error"].as_str().unwrap().to_owned();
    assert!(
        their_error.contains("ambiguous existing service connectors"),
        "{their_error}"
    );
    let ours = refusal(stacks::create(&connector, &request(&name)).await);
    assert!(
        ours.ends_with(&their_error),
        "ours: {ours}\ntheirs: {their_error}"
    );
    assert!(ours.contains(&twin.id.to_string()) && ours.contains(&bucket_connector.id.to_string()));
    assert!(
        stacks::list(&kitaru)
            .await
            .unwrap()
            .iter()
            .all(|s| s.name != name)
    );

    // Only the bucket has one: refused alike, saying what is missing.
    unregister(twin.id).await;
    unregister(registry_connector.id).await;
    let name = fresh("sdk-modal-partial");
    let their_error = theirs(&name)["error"].as_str().unwrap().to_owned();
    assert!(
        their_error.contains("only part of the existing service connector pair"),
        "{their_error}"
    );
    let ours = refusal(stacks::create(&connector, &request(&name)).await);
    assert!(
        ours.ends_with(&their_error),
        "ours: {ours}\ntheirs: {their_error}"
    );
    assert!(ours.contains(&format!("resource ID '{host}'")), "{ours}");
    unregister(bucket_connector.id).await;
}
