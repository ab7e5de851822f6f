//! Parity of `manage_stack`: the same refusals for bad options, the same
//! payloads for a stack made and deleted — each server deleting the stack
//! the other one made, with its components.

use serde_json::{Value, json};

use super::{assert_same_answers, ours, reference, same_payload, server};
use crate::mcp_stacks::{local_kinds, unique_name};

/// A payload with `name` written as `<name>`, so that two stacks compare.
fn named(mut payload: Value, name: &str) -> Value {
    fn walk(value: &mut Value, name: &str) {
        match value {
            Value::String(text) => *text = text.replace(name, "<name>"),
            Value::Array(items) => items.iter_mut().for_each(|item| walk(item, name)),
            Value::Object(map) => map.values_mut().for_each(|item| walk(item, name)),
            _ => {}
        }
    }
    walk(&mut payload, name);
    payload
}

#[test]
fn bad_stack_options_are_refused_alike() {
    let k8s = json!({"action": "create", "name": "p", "stack_type": "kubernetes"});
    let merged = |extra: Value| kitaru_testkit::merged(&k8s, extra);
    for arguments in [
        json!({"action": "create", "name": "p", "recursive": true}),
        json!({"action": "create", "name": "p", "force": true}),
        json!({"action": "create", "name": "p", "stack_type": "ecs"}),
        json!({"action": "create", "name": "p", "async_mode": true}),
        json!({"action": "create", "name": "p", "extra": {"bogus": {}}}),
        json!({"action": "create", "name": "p", "extra": {"orchestrator": 1}}),
        json!({"action": "create", "name": "p", "extra": {"container_registry": {"uri": "x"}}}),
        json!({"action": "create", "name": "p", "region": "eu", "verify": false}),
        json!({"action": "create", "name": "p", "stack_type": "vertex", "cluster": "c", "workspace": "w"}),
        merged(json!({"artifact_store": "s3://b"})),
        merged(
            json!({"artifact_store": "s3://b", "container_registry": " ", "cluster": "c", "region": "r"}),
        ),
        json!({"action": "create", "name": "p", "stack_type": "vertex", "artifact_store": "s3://b",
               "container_registry": "r", "region": "r"}),
        json!({"action": "create", "name": "p", "stack_type": "sagemaker", "artifact_store": "gs://b",
               "container_registry": "r", "region": "r", "execution_role": "arn"}),
        merged(
            json!({"artifact_store": "ftp://b", "container_registry": "r", "cluster": "c", "region": "r"}),
        ),
        json!({"action": "create", "name": "   "}),
        json!({"action": "create", "name": "default"}),
        json!({"action": "create", "name": "p", "extra": {"orchestrator": {"bogus_field": 1}}}),
        json!({"action": "delete", "name": "p", "activate": false}),
        json!({"action": "delete", "name": "p", "stack_type": "vertex", "region": "eu", "async_mode": true}),
        json!({"action": "delete", "name": "p", "stack_type": "ecs"}),
        json!({"action": "delete", "name": "never-made-stack"}),
        json!({"action": "delete", "name": "default"}),
        // The 0.21 type and target: their checks there, the 0.10
        // reference's refusals (ours adds the version they need).
        json!({"action": "create", "name": "p", "stack_type": "modal"}),
        json!({"action": "create", "name": "p", "extra": {"sandbox": 1}}),
    ] {
        same_payload("manage_stack", arguments, &[]);
    }
}

/// kitaru 0.21's `sandbox` and Modal checks (the 0.10 reference has
/// neither: ours refuses them there, see `mcp_stacks`).
#[test]
fn bad_sandbox_and_modal_options_are_refused_alike() {
    if server().line() != kitaru_testkit::Line::V0_21 {
        return;
    }
    let ecr = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/kitaru";
    let modal = json!({"action": "create", "name": "p", "stack_type": "modal",
                       "artifact_store": "s3://b/k", "container_registry": ecr});
    let merged = |extra: Value| kitaru_testkit::merged(&modal, extra);
    for arguments in [
        json!({"action": "create", "name": "p", "sandbox": "  "}),
        json!({"action": "create", "name": "p", "subscription_id": "s"}),
        json!({"action": "create", "name": "p", "stack_type": "modal", "artifact_store": "s3://b"}),
        json!({"action": "create", "name": "p", "stack_type": "kubernetes", "extra": {"sandbox": {"a": 1}},
               "artifact_store": "s3://b", "container_registry": ecr, "cluster": "c", "region": "r"}),
        merged(json!({"extra": {"sandbox": {"a": 1}}})),
        merged(json!({"cluster": "c"})),
        merged(json!({"artifact_store": "ftp://b"})),
        merged(json!({"artifact_store": "gs://b"})),
        merged(json!({"container_registry": "docker.io/library/x"})),
        merged(json!({"container_registry": "https://"})),
        merged(json!({"verify": false})),
        merged(json!({"region": "us-east-1"})),
        merged(json!({"subscription_id": "s"})),
        merged(json!({"credentials": "aws-profile:x"})),
        merged(
            json!({"artifact_store": "gs://b", "container_registry": "europe-west4-docker.pkg.dev/p/r",
                      "region": "us-central1"}),
        ),
        merged(
            json!({"artifact_store": "gs://b", "container_registry": "gcr.io/p", "subscription_id": "s"}),
        ),
        merged(
            json!({"artifact_store": "az://c", "container_registry": "me.azurecr.io", "credentials": "implicit"}),
        ),
        json!({"action": "create", "name": "p", "sandbox": "local", "extra": {"sandbox": {"bogus_field": 1}}}),
        json!({"action": "delete", "name": "p", "sandbox": "local"}),
    ] {
        same_payload("manage_stack", arguments, &[]);
    }
}

#[test]
fn stacks_made_by_one_are_deleted_by_the_other_with_the_same_payloads() {
    // Adds stacks: no comparison of listings may straddle it.
    let _changing = kitaru_testkit::executions_lock()
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let (a, b) = (unique_name("ref-made"), unique_name("our-made"));
    let create = |name: &str| json!({"action": "create", "name": name, "activate": false});
    let made_by_them = reference().call("manage_stack", create(&a));
    let made_by_us = ours().call("manage_stack", create(&b));
    let (x, y) = assert_same_answers(
        "manage_stack",
        &create("<name>"),
        named_answer(made_by_them, &a),
        named_answer(made_by_us, &b),
        &[],
    );
    assert_eq!(x["stack_type"], "local");
    assert_eq!(y["is_active"], false);

    let delete = |name: &str| json!({"action": "delete", "name": name, "recursive": true});
    let deleted_by_them = reference().call("manage_stack", delete(&b));
    let deleted_by_us = ours().call("manage_stack", delete(&a));
    let (x, _) = assert_same_answers(
        "manage_stack",
        &delete("<name>"),
        named_answer(deleted_by_them, &b),
        named_answer(deleted_by_us, &a),
        &[],
    );
    assert_eq!(
        x["components_deleted"].as_array().map(Vec::len),
        Some(local_kinds().len()),
        "{x}"
    );
    for name in [&a, &b] {
        for kind in local_kinds() {
            assert!(
                crate::mcp_stacks::components_named(name, kind).is_empty(),
                "{name} {kind}"
            );
        }
    }
}

/// The answer with the stack's name written as `<name>`.
fn named_answer(mut answer: kitaru_testkit::ToolAnswer, name: &str) -> kitaru_testkit::ToolAnswer {
    answer.structured = answer.structured.map(|payload| named(payload, name));
    answer.texts = answer
        .texts
        .iter()
        .map(|text| text.replace(name, "<name>"))
        .collect();
    answer
}

/// A Modal stack the 0.21 reference cannot make without the `modal` Python
/// package (documented in docs/reference-differences.md): ours makes it
/// (checked in `mcp_stacks`), the reference says what it lacks.
#[test]
fn the_reference_needs_python_modal_for_a_modal_stack() {
    if server().line() != kitaru_testkit::Line::V0_21 {
        return;
    }
    let name = unique_name("ref-modal");
    let theirs = reference().call(
        "manage_stack",
        json!({"action": "create", "name": name, "activate": false, "stack_type": "modal",
               "artifact_store": "s3://bucket/kitaru",
               "container_registry": "123456789012.dkr.ecr.eu-west-1.amazonaws.com"}),
    );
    assert!(theirs.is_error, "{:?}", theirs.structured);
    assert!(
        theirs
            .texts
            .join("\n")
            .contains("Modal stack support requires the Modal Python dependencies"),
        "{:?}",
        theirs.texts
    );
    assert!(crate::mcp_stacks::components_named(&name, "orchestrator").is_empty());
}
