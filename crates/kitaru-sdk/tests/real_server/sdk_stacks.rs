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
