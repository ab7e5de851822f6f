//! Parity of the deployment tools: the same reads of versions the Python
//! SDK deployed, and the same refusals, through the reference and ours.

use serde_json::json;

use super::same_payload;
use kitaru_testkit::{deployments_lock, python_deploy};

/// Ours fills `schema` from where deploy records it; the reference's is null.
const SCHEMA: [&str; 2] = ["/schema", "/result/*/schema"];

#[tokio::test]
async fn deployment_reads_and_refusals_match() {
    let _one = deployments_lock().await;
    let deployed = python_deploy("parity", false, "parity").await;
    let version = deployed["version"].clone();
    tokio::task::spawn_blocking(move || {
        let flow = "research_agent";
        same_payload("kitaru_deployments_list", json!({"flow": flow}), &SCHEMA);
        same_payload(
            "kitaru_deployments_list",
            json!({"flow": "never_deployed"}),
            &[],
        );
        same_payload(
            "kitaru_deployments_get",
            json!({"flow": flow, "version": version}),
            &SCHEMA,
        );
        same_payload(
            "kitaru_deployments_get",
            json!({"flow": flow, "tag": "parity"}),
            &SCHEMA,
        );
        for arguments in [
            json!({"flow": flow, "version": 1, "tag": "x"}),
            json!({"flow": flow, "version": 0}),
            json!({"flow": flow, "version": 9999}),
            json!({"flow": flow, "tag": "never-used"}),
            json!({"flow": "a::b"}),
            json!({"flow": " "}),
        ] {
            same_payload("kitaru_deployments_get", arguments, &[]);
        }
        same_payload(
            "kitaru_deployments_invoke",
            json!({"flow": "never_deployed"}),
            &[],
        );
        same_payload(
            "kitaru_deployments_invoke",
            json!({"flow": flow, "version": version}),
            &[],
        );
        same_payload(
            "kitaru_deployments_untag",
            json!({"flow": flow, "version": version, "tag": "default"}),
            &[],
        );
        same_payload(
            "kitaru_deployments_tag",
            json!({"flow": flow, "version": version, "tag": "kitaru:deployment:x"}),
            &[],
        );
        same_payload(
            "kitaru_deployments_tag",
            json!({"flow": flow, "version": 9999, "tag": "x"}),
            &[],
        );
        same_payload(
            "kitaru_deployments_delete",
            json!({"flow": flow, "version": 9999}),
            &[],
        );
        // Deploy: refused on the local stack; reserved inputs; bad targets.
        kitaru_testkit::install_flow_module("extra_replay");
        let target = "flows/extra_replay.py:research_agent";
        for arguments in [
            json!({"target": target, "inputs": {"topic": "t"}}),
            json!({"target": target, "inputs": {"stack": "x", "tags": 1}}),
            json!({"target": target, "tag": "kitaru:deployment:x"}),
            json!({"target": "flows/extra_replay.py"}),
            json!({"target": "flows/missing.py:agent"}),
        ] {
            same_payload("kitaru_deployments_deploy", arguments, &[]);
        }
        // Untagging a tag the version does not hold changes nothing.
        same_payload(
            "kitaru_deployments_untag",
            json!({"flow": flow, "version": version, "tag": "absent"}),
            &SCHEMA,
        );
    })
    .await
    .unwrap();
}
