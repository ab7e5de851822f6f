//! The tool calls the benchmark times on both servers, each with the bare
//! REST requests its answer needs.

use serde_json::{Value, json};

use crate::floor::Floor;
use kitaru_testkit::TestServer;

/// A flow name no execution has.
const NO_SUCH_FLOW: &str = "bench_no_such_flow";

/// One tool call, made the same way on both servers.
pub struct Case {
    /// How the report names it.
    pub label: &'static str,
    pub tool: &'static str,
    pub arguments: Value,
    /// What a plain HTTP client has to ask the Kitaru server for the same answer.
    pub floor: Floor,
}

/// The calls, on the seeded data `server` describes.
pub fn all(server: &TestServer) -> Vec<Case> {
    let completed = server.str("/seed/completed/exec_id").to_owned();
    let artifact = seeded_artifact(server, "seed_completed::pair::output_0");
    let memory_key = "prefs";
    let scope = server.str("/seed/memory/scope");
    let memory_artifact = server
        .str(&format!("/seed/memory/keys/{memory_key}/artifact_name"))
        .to_owned();
    vec![
        Case {
            label: "executions_list limit=10",
            tool: "kitaru_executions_list",
            arguments: json!({"limit": 10}),
            floor: Floor::Listing(vec![("size", "10".into())]),
        },
        Case {
            label: "executions_list status=failed",
            tool: "kitaru_executions_list",
            arguments: json!({"status": "failed"}),
            // The ZenML statuses Kitaru shows as failed; a page a model reads.
            floor: Floor::Listing(vec![
                ("status", r#"oneof:["failed","retried"]"#.into()),
                ("size", "15".into()),
            ]),
        },
        Case {
            label: "executions_list flow=(none)",
            tool: "kitaru_executions_list",
            arguments: json!({"flow": NO_SUCH_FLOW}),
            // A flow's pipeline may carry Kitaru's source prefix.
            floor: Floor::Listing(vec![
                (
                    "pipeline_name",
                    format!(
                        r#"oneof:["{NO_SUCH_FLOW}","__kitaru_pipeline_source_{NO_SUCH_FLOW}"]"#
                    ),
                ),
                ("size", "15".into()),
            ]),
        },
        Case {
            label: "executions_get (completed)",
            tool: "kitaru_executions_get",
            arguments: json!({"exec_id": completed}),
            floor: Floor::Run(completed),
        },
        Case {
            label: "executions_latest",
            tool: "kitaru_executions_latest",
            arguments: json!({}),
            floor: Floor::Newest,
        },
        Case {
            label: "artifacts_get",
            tool: "kitaru_artifacts_get",
            arguments: json!({"artifact_id": artifact}),
            floor: Floor::Artifact(artifact),
        },
        Case {
            label: "memory_get",
            tool: "kitaru_memory_get",
            arguments: json!({"key": memory_key, "scope": scope, "scope_type": "namespace"}),
            floor: Floor::Memory(memory_artifact),
        },
    ]
}

/// The id of the completed run's artifact named `name`.
fn seeded_artifact(server: &TestServer, name: &str) -> String {
    server
        .get("/seed/completed/artifacts")
        .as_array()
        .into_iter()
        .flatten()
        .find(|artifact| artifact["name"] == name)
        .and_then(|artifact| artifact["artifact_id"].as_str())
        .unwrap_or_else(|| panic!("server.json: the completed run has no artifact {name}"))
        .to_owned()
}
