//! `manage_stack` against the real server, over stdio: a local stack made,
//! seen by both our listing and the `kitaru` CLI, a flow run on it, then
//! deleted with its components. The active stack is a local setting, so
//! these sessions run in a folder of their own holding a copy of the seeded
//! project's `.kitaru/config.yaml` (the other tests keep theirs).

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use kitaru_testkit::{StdioPeer, server};

/// A fresh folder with its own copy of the seeded project's repository
/// config, and the harness flows as `stackflows.py`.
pub fn own_project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a project folder");
    let seeded = Path::new(server().str("/project_dir"));
    std::fs::create_dir(dir.path().join(".kitaru")).unwrap();
    std::fs::copy(
        seeded.join(".kitaru/config.yaml"),
        dir.path().join(".kitaru/config.yaml"),
    )
    .expect("copy the repository config");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/harness/flows/extra_replay.py"),
        dir.path().join("stackflows.py"),
    )
    .expect("copy the flows");
    dir
}

/// `program` as a user in `project` would run it.
pub fn in_project(program: &str, project: &Path) -> Command {
    let mut command = server().command(program);
    command.current_dir(project);
    command
}

/// Our server, run from `project`, flows run by the harness's Python.
pub fn ours_in(project: &Path) -> StdioPeer {
    let mut command = in_project(crate::support::KITARU_MCP, project);
    command.env("KITARU_PYTHON", server().str("/python"));
    StdioPeer::start(command)
}

/// A stack name no other test or earlier run uses.
pub fn unique_name(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}-{}-{}", std::process::id(), nanos % 1_000_000_000)
}

/// The active stack id the repository config of `project` records.
fn recorded_stack(project: &Path) -> String {
    let text = std::fs::read_to_string(project.join(".kitaru/config.yaml")).unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix("active_stack_id:"))
        .map(|value| value.trim().trim_matches(['\'', '"']).to_owned())
        .unwrap_or_default()
}

/// The kinds of component a local stack gets: kitaru 0.21 adds a sandbox.
pub fn local_kinds() -> &'static [&'static str] {
    match server().line() {
        kitaru_testkit::Line::V0_21 => &["orchestrator", "artifact_store", "sandbox"],
        _ => &["orchestrator", "artifact_store"],
    }
}

/// `<name> (<kind>)` for each kind.
fn labels(name: &str, kinds: &[&str]) -> Vec<String> {
    kinds
        .iter()
        .map(|kind| format!("{name} ({kind})"))
        .collect()
}

/// The components of `name` and `kind` on the server.
pub fn components_named(name: &str, kind: &str) -> Vec<Value> {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let page = server()
            .client()
            .list_stack_components()
            .name(format!("equals:{name}"))
            .type_(kind)
            .hydrate(true)
            .send()
            .await
            .expect("list components")
            .into_inner();
        page.items
            .into_iter()
            .map(|item| serde_json::to_value(item).unwrap())
            .collect()
    })
}

fn default_stack_id() -> String {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let page = server()
            .client()
            .list_stacks()
            .name("equals:default")
            .send()
            .await
            .unwrap()
            .into_inner();
        page.items[0].id.to_string()
    })
}

fn runs_on_stack(stack_id: &str) -> Vec<String> {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let page = server()
            .client()
            .list_runs()
            .stack_id(stack_id)
            .send()
            .await
            .unwrap()
            .into_inner();
        page.items.iter().map(|run| run.id.to_string()).collect()
    })
}

/// Asserts `kitaru_stacks_list` has no stack named `name`.
fn assert_not_listed(peer: &mut StdioPeer, name: &str) {
    let listed = peer
        .call("kitaru_stacks_list", json!({}))
        .structured
        .unwrap();
    assert!(
        listed["result"]
            .as_array()
            .unwrap()
            .iter()
            .all(|stack| stack["name"] != name),
        "{listed}"
    );
}

fn cli_stacks(project: &Path) -> Vec<Value> {
    let output = in_project(server().str("/kitaru"), project)
        .args(["stack", "list", "--output", "json", "--size", "100"])
        .output()
        .expect("run kitaru stack list");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let listing: Value = serde_json::from_slice(&output.stdout).expect("JSON from the CLI");
    listing["items"].as_array().cloned().unwrap_or_default()
}

#[test]
fn a_local_stack_is_made_listed_by_both_used_by_a_flow_and_deleted() {
    // Runs a flow and adds a stack: no comparison may straddle it.
    let _changing = kitaru_testkit::executions_lock()
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let project = own_project();
    let name = unique_name("mcp-stack");
    let mut peer = ours_in(project.path());

    let created = peer.call("manage_stack", json!({"action": "create", "name": name}));
    assert!(!created.is_error, "{:?}", created.texts);
    let created = created.structured.unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(
        created,
        json!({
            "id": id, "name": name, "is_active": true, "previous_active_stack": "default",
            "components_created": labels(&name, local_kinds()),
            "stack_type": "local",
        })
    );
    assert_eq!(
        recorded_stack(project.path()),
        id,
        "activated in the repository config"
    );
    for kind in local_kinds() {
        let found = components_named(&name, kind);
        assert_eq!(found.len(), 1, "one fresh {kind}");
        assert_eq!(found[0]["body"]["flavor_name"], "local");
    }

    // Both listings see it, active and managed.
    let ours = peer
        .call("kitaru_stacks_list", json!({}))
        .structured
        .unwrap();
    let entry = json!({"id": id, "name": name, "is_active": true, "is_managed": true});
    assert!(
        ours["result"].as_array().unwrap().contains(&entry),
        "{ours}"
    );
    let theirs = cli_stacks(project.path());
    assert!(theirs.contains(&entry), "kitaru stack list: {theirs:?}");

    // A flow started from this project runs on it.
    let run = peer.call(
        "kitaru_executions_run",
        json!({"target": "stackflows.py:research_agent", "args": {"topic": name}, "max_wait_seconds": 240}),
    );
    assert!(!run.is_error, "{:?}", run.texts);
    let run = run.structured.unwrap();
    assert_eq!(run["execution"]["status"], "completed", "{run}");
    assert_eq!(run["execution"]["stack_name"], name.as_str());
    let exec_id = run["exec_id"].as_str().unwrap();
    assert_eq!(runs_on_stack(&id), vec![exec_id.to_owned()]);

    // The active stack needs `force`; with it `default` takes over.
    let refused = peer.call("manage_stack", json!({"action": "delete", "name": name}));
    assert!(refused.is_error);
    assert_eq!(refused.error_kind.as_deref(), Some("state"));
    assert!(
        refused.texts[0].contains("Cannot delete the active stack."),
        "{:?}",
        refused.texts
    );
    assert_eq!(
        recorded_stack(project.path()),
        id,
        "a refusal changes nothing"
    );

    let deleted = peer.call(
        "manage_stack",
        json!({"action": "delete", "name": name, "recursive": true, "force": true}),
    );
    assert!(!deleted.is_error, "{:?}", deleted.texts);
    assert_eq!(
        deleted.structured.unwrap(),
        json!({
            "deleted_stack": name,
            "components_deleted": labels(&name, local_kinds()),
            "new_active_stack": "default", "recursive": true,
        })
    );
    assert_eq!(recorded_stack(project.path()), default_stack_id());
    for kind in local_kinds() {
        assert!(components_named(&name, kind).is_empty(), "{kind} deleted");
    }
    assert_not_listed(&mut peer, &name);
    let default_entry = cli_stacks(project.path())
        .into_iter()
        .find(|stack| stack["name"] == "default")
        .unwrap();
    assert_eq!(
        default_entry["is_active"], true,
        "the CLI agrees default is active"
    );
}

#[test]
fn component_settings_are_checked_and_a_failed_create_leaves_nothing() {
    let project = own_project();
    let mut peer = ours_in(project.path());
    let before = recorded_stack(project.path());

    // A misspelt option is refused before anything is made.
    let name = unique_name("mcp-badopt");
    let refused = peer.call(
        "manage_stack",
        json!({"action": "create", "name": name, "extra": {"artifact_store": {"pth": "/tmp/x"}}}),
    );
    assert!(refused.is_error);
    assert_eq!(refused.error_kind.as_deref(), Some("invalid_argument"));
    assert!(
        refused.texts[0].contains(
            "Invalid ZenML option for artifact_store (local flavor): `pth`. Did you mean `path`? \
             See ZenML docs for supported fields: https://docs.zenml.io/stack-components/artifact-stores/local"
        ),
        "{:?}",
        refused.texts
    );
    assert!(components_named(&name, "orchestrator").is_empty());

    // A colliding artifact store: the orchestrator made first is removed again.
    let name = unique_name("mcp-collide");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let existing: kitaru_client::types::ComponentRequest = serde_json::from_value(json!({
        "name": name, "type": "artifact_store", "flavor": "local", "configuration": {},
    }))
    .unwrap();
    let existing = runtime
        .block_on(
            server()
                .client()
                .create_stack_component()
                .body(existing)
                .send(),
        )
        .expect("make a colliding artifact store")
        .into_inner();
    let refused = peer.call(
        "manage_stack",
        json!({"action": "create", "name": name, "activate": false}),
    );
    assert!(refused.is_error);
    assert_eq!(refused.error_kind.as_deref(), Some("state"));
    assert!(
        refused.texts[0].contains(&format!(
            "Cannot create stack '{name}' because a artifact_store named '{name}' already exists. \
             Kitaru always creates fresh stack components and never reuses existing ones."
        )),
        "{:?}",
        refused.texts
    );
    assert!(
        components_named(&name, "orchestrator").is_empty(),
        "cleaned up"
    );
    assert_eq!(
        components_named(&name, "artifact_store").len(),
        1,
        "theirs kept"
    );
    runtime
        .block_on(
            server()
                .client()
                .deregister_stack_component()
                .component_id(existing.id)
                .send(),
        )
        .unwrap();

    // Given settings reach the component.
    let name = unique_name("mcp-path");
    let store = project.path().join("store");
    let made = peer.call(
        "manage_stack",
        json!({"action": "create", "name": name, "activate": false,
               "extra": {"artifact_store": {"path": store}}}),
    );
    assert!(!made.is_error, "{:?}", made.texts);
    let made = made.structured.unwrap();
    assert_eq!(made["is_active"], false);
    assert_eq!(made["previous_active_stack"], Value::Null);
    let found = components_named(&name, "artifact_store");
    assert_eq!(found[0]["metadata"]["configuration"]["path"], json!(store));
    assert_eq!(recorded_stack(project.path()), before, "not activated");
    let deleted = peer.call(
        "manage_stack",
        json!({"action": "delete", "name": made["id"], "recursive": true}),
    );
    assert!(!deleted.is_error, "{:?}", deleted.texts);
    assert_eq!(deleted.structured.unwrap()["new_active_stack"], Value::Null);
    assert!(components_named(&name, "artifact_store").is_empty());
}

#[test]
fn a_remote_stack_the_server_cannot_connect_to_is_refused_without_echoing_credentials() {
    let project = own_project();
    let mut peer = ours_in(project.path());
    let name = unique_name("mcp-k8s");
    let secret = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY";
    let answer = peer.call(
        "manage_stack",
        json!({
            "action": "create", "name": name, "stack_type": "kubernetes",
            "artifact_store": "s3://bucket/kitaru", "container_registry": "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
            "cluster": "c1", "region": "eu-west-1",
            "credentials": format!("aws-access-keys:AKIAEXAMPLE:{secret}"),
        }),
    );
    assert!(answer.is_error);
    assert_eq!(answer.error_kind.as_deref(), Some("state"));
    let text = answer.texts.join("\n");
    assert!(
        text.contains("the server has no 'aws' service connector type"),
        "{text}"
    );
    assert!(
        text.contains(&format!("Failed to prepare Kubernetes stack '{name}'")),
        "{text}"
    );
    assert!(!text.contains(secret), "the secret is not echoed: {text}");
    assert!(components_named(&name, "orchestrator").is_empty());
    assert_not_listed(&mut peer, &name);
}

/// The official Python MCP client checks both results against the output
/// schema `manage_stack` advertises (an object that is one of the two).
#[test]
fn both_results_match_the_output_schema_for_the_python_client() {
    let _changing = kitaru_testkit::executions_lock()
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let name = unique_name("mcp-schema");
    let request = json!({
        "command": [crate::support::KITARU_MCP],
        "env": {},
        "calls": [
            ["manage_stack", {"action": "create", "name": name, "activate": false}],
            ["manage_stack", {"action": "delete", "name": name, "recursive": true}],
        ],
    });
    let answer = kitaru_testkit::python_module("mcp_client_check", &[], Some(&request));
    let results = answer["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    for result in results {
        assert_eq!(result["invalid"], Value::Null, "{result}");
        assert_eq!(result["is_error"], false, "{result}");
    }
}

/// kitaru 0.21: a local stack's sandbox takes the flavor and settings
/// given; a 0.10 server, which has no sandbox components, refuses them
/// naming the version they need.
#[test]
fn a_local_stack_sandbox_takes_settings_where_the_server_has_sandboxes() {
    let project = own_project();
    let mut peer = ours_in(project.path());
    let name = unique_name("mcp-sandbox");
    let made = peer.call(
        "manage_stack",
        json!({"action": "create", "name": name, "activate": false, "sandbox": "local",
               "extra": {"sandbox": {"forward_env": ["HOME"]}}}),
    );
    if server().line() != kitaru_testkit::Line::V0_21 {
        assert!(made.is_error);
        assert_eq!(made.error_kind.as_deref(), Some("invalid_argument"));
        assert!(
            made.texts[0].contains("`sandbox` needs a server with sandbox stack components: ZenML 0.98.0 (kitaru 0.21) or later. The connected server runs ZenML 0.94.4"),
            "{:?}",
            made.texts
        );
        assert!(components_named(&name, "orchestrator").is_empty());
        return;
    }
    assert!(!made.is_error, "{:?}", made.texts);
    let found = components_named(&name, "sandbox");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["body"]["flavor_name"], "local");
    assert_eq!(
        found[0]["metadata"]["configuration"]["forward_env"],
        json!(["HOME"])
    );
    let deleted = peer.call(
        "manage_stack",
        json!({"action": "delete", "name": name, "recursive": true}),
    );
    assert!(!deleted.is_error, "{:?}", deleted.texts);
    assert!(components_named(&name, "sandbox").is_empty());
}

/// kitaru 0.21: a Modal stack without cloud credentials is made on the
/// server in one request (Modal orchestrator, S3 store, ECR registry, local
/// image builder, the sandbox asked for), then deleted with them all; a
/// 0.10 server refuses it naming the version it needs.
#[test]
fn a_modal_stack_is_made_and_deleted_with_its_components() {
    let _changing = kitaru_testkit::executions_lock()
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let project = own_project();
    let mut peer = ours_in(project.path());
    let name = unique_name("mcp-modal");
    let registry = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/kitaru";
    let mut arguments = json!({"action": "create", "name": name, "activate": false,
                               "stack_type": "modal", "artifact_store": "s3://bucket/kitaru",
                               "container_registry": registry, "sandbox": "modal"});
    if server().line() != kitaru_testkit::Line::V0_21 {
        // Not the `sandbox` refused first: the type.
        arguments.as_object_mut().unwrap().remove("sandbox");
    }
    let made = peer.call("manage_stack", arguments);
    if server().line() != kitaru_testkit::Line::V0_21 {
        assert!(made.is_error);
        assert_eq!(made.error_kind.as_deref(), Some("invalid_argument"));
        assert!(
            made.texts[0].contains("`stack_type=\"modal\"` needs a server with sandbox stack components: ZenML 0.98.0 (kitaru 0.21)"),
            "{:?}",
            made.texts
        );
        return;
    }
    assert!(!made.is_error, "{:?}", made.texts);
    let made = made.structured.unwrap();
    let kinds = [
        "orchestrator",
        "artifact_store",
        "container_registry",
        "image_builder",
        "sandbox",
    ];
    assert_eq!(
        made,
        json!({
            "id": made["id"], "name": name, "is_active": false, "previous_active_stack": null,
            "components_created": labels(&name, &kinds), "stack_type": "modal",
            "service_connectors_created": [],
            "resources": {"provider": "aws", "artifact_store": "s3://bucket/kitaru",
                          "container_registry": registry, "sandbox": "modal"},
        })
    );
    let registry_component = components_named(&name, "container_registry");
    assert_eq!(
        registry_component[0]["metadata"]["configuration"],
        json!({"uri": "123456789012.dkr.ecr.eu-west-1.amazonaws.com", "default_repository": "kitaru"})
    );
    let deleted = peer.call(
        "manage_stack",
        json!({"action": "delete", "name": name, "recursive": true}),
    );
    assert!(!deleted.is_error, "{:?}", deleted.texts);
    assert_eq!(
        deleted.structured.unwrap()["components_deleted"],
        json!(labels(&name, &kinds))
    );
    for kind in kinds {
        assert!(components_named(&name, kind).is_empty(), "{kind} deleted");
    }
}
