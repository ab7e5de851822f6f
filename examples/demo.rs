//! The main job, end to end on a fresh machine:
//!
//!     cargo run --example demo
//!
//! 1. starts a real local Kitaru server, seeded with real flows, through the
//!    test harness (which provisions the pinned Kitaru 0.10.0 environment on
//!    first use; the server stops when the demo exits);
//! 2. connects through the CLI config that `kitaru login` wrote for it, as
//!    any user's machine would, and tours it with the SDK;
//! 3. starts the `kitaru-mcp` binary and talks MCP to it over stdio, as an
//!    assistant would, and calls its tools: status, executions, the waiting
//!    and the failed one, and a completed one's response artifact.

use anyhow::{Context, bail};
use rmcp::ServiceExt;
use rmcp::transport::TokioChildProcess;
use serde_json::{Value, json};

use kitaru_client::connection::{ConnectionOptions, ProcessEnv};
use kitaru_sdk::Kitaru;
use kitaru_sdk::executions::{self, ExecutionFilter, ExecutionStatus};
use kitaru_testkit::McpBinary;

#[path = "sdk_tour.rs"]
#[allow(dead_code)]
mod sdk_tour;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    println!(
        "== starting a seeded local Kitaru server (first run: installs kitaru 0.10.0, ~1-2 min)"
    );
    // Stopped by the harness when this process exits.
    let state_dir = kitaru_testkit::repo_root()
        .join("target/kitaru-demo-server")
        .join(std::process::id().to_string());
    let server = kitaru_testkit::start(&state_dir, std::process::id())?;
    let config_dir = server.str("/config_path");
    let project_dir = server.str("/project_dir");

    println!("\n== the SDK, connected through the CLI config in {config_dir}");
    let resolved = ConnectionOptions::new()
        .config_dir(config_dir)
        .working_dir(project_dir)
        .resolve(&ProcessEnv)?;
    println!("connection: {resolved}");
    let client = resolved.connect().await?;
    sdk_tour::tour(&client).await?;

    println!("\n== the Kitaru SDK, without MCP: the latest failed execution and why");
    let kitaru = Kitaru::connect_with(
        &ConnectionOptions::new()
            .config_dir(config_dir)
            .working_dir(project_dir),
    )
    .await?;
    let failed = ExecutionFilter::default().status(ExecutionStatus::Failed);
    if let Some(execution) = executions::latest(&kitaru, &failed).await? {
        let summary = &execution.summary;
        let failure = summary.failure.as_ref().map(|f| f.message.as_str());
        println!(
            "{} ({}): {} checkpoints, failed with {:?}",
            summary.exec_id,
            summary.flow_name.as_deref().unwrap_or("-"),
            summary.checkpoint_count,
            failure.unwrap_or("-")
        );
    }

    println!("\n== the MCP server over stdio");
    let binary = McpBinary::build()?;
    let child = TokioChildProcess::new(tokio::process::Command::from(binary.command(&server)))?;
    let mcp = ().serve(child).await?;
    let info = mcp.peer_info().context("no initialize answer")?;
    if let Some(server_info) = &info.server_info {
        println!("initialize: {} {}", server_info.name, server_info.version);
    }
    let tools = mcp.list_all_tools().await?;
    println!(
        "tools/list: {}",
        tools
            .iter()
            .map(|tool| tool.name.as_ref())
            .collect::<Vec<_>>()
            .join(", ")
    );

    // What an assistant would do with "check my Kitaru status and summarise
    // anything waiting for input".
    let status = call(&mcp, "kitaru_status", json!({})).await?;
    println!(
        "\nkitaru_status: {} at {} (server {}), user {}, stack {}",
        status["connection"],
        status["server_url"],
        status["server_version"],
        status["active_user"],
        status["active_stack"]
    );
    let executions = call(&mcp, "kitaru_executions_list", json!({"limit": 5})).await?;
    println!("kitaru_executions_list {{limit: 5}}:");
    for execution in executions["result"].as_array().into_iter().flatten() {
        println!(
            "  {} {:<10} {:<15} {}",
            execution["exec_id"].as_str().unwrap_or_default(),
            execution["status"].as_str().unwrap_or_default(),
            execution["flow_name"].as_str().unwrap_or_default(),
            execution["status_reason"].as_str().unwrap_or_default()
        );
    }
    let waiting = call(
        &mcp,
        "kitaru_executions_latest",
        json!({"status": "waiting"}),
    )
    .await?;
    let wait = &waiting["pending_wait"];
    println!(
        "waiting: {} asks {} (wait '{}', schema {})",
        waiting["exec_id"],
        wait["question"],
        wait["name"].as_str().unwrap_or_default(),
        wait["schema"]
    );
    let failed = call(
        &mcp,
        "kitaru_executions_latest",
        json!({"status": "failed"}),
    )
    .await?;
    println!(
        "failed: {} in checkpoint '{}': {}: {}",
        failed["exec_id"],
        failed["checkpoints"]
            .as_array()
            .and_then(|c| c.last())
            .map_or("?", |c| c["name"].as_str().unwrap_or("?")),
        failed["failure"]["exception_type"]
            .as_str()
            .unwrap_or_default(),
        failed["failure"]["message"].as_str().unwrap_or_default()
    );
    let completed = call(
        &mcp,
        "kitaru_executions_latest",
        json!({"status": "completed"}),
    )
    .await?;
    let exec_id = completed["exec_id"].as_str().unwrap_or_default();
    let responses = call(
        &mcp,
        "kitaru_artifacts_list",
        json!({"exec_id": exec_id, "kind": "response"}),
    )
    .await?;
    for artifact in responses["result"].as_array().into_iter().flatten() {
        let id = artifact["artifact_id"].as_str().unwrap_or_default();
        let loaded = call(&mcp, "kitaru_artifacts_get", json!({"artifact_id": id})).await?;
        println!(
            "response artifact '{}': {}",
            loaded["name"].as_str().unwrap_or_default(),
            loaded["value"]
        );
    }
    println!("\n== durable memory, shared with Python flows");
    let scope = json!({"scope": "demo-notes", "scope_type": "namespace"});
    let with = |extra: Value| {
        let mut arguments = scope.clone();
        if let (Some(target), Value::Object(extra)) = (arguments.as_object_mut(), extra) {
            target.extend(extra);
        }
        arguments
    };
    let set = call(
        &mcp,
        "kitaru_memory_set",
        with(json!({"key": "preferences", "value": {"tone": "friendly", "length": "short"}})),
    )
    .await?;
    println!(
        "kitaru_memory_set preferences: version {} ({})",
        set["version"], set["value_type"]
    );
    let read = call(
        &mcp,
        "kitaru_memory_get",
        with(json!({"key": "preferences"})),
    )
    .await?;
    println!("kitaru_memory_get preferences: {}", read["result"]["value"]);
    let listed = call(&mcp, "kitaru_memory_list", with(json!({}))).await?;
    let keys: Vec<&str> = listed["result"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|entry| entry["key"].as_str())
        .collect();
    println!("kitaru_memory_list demo-notes: {keys:?}");
    mcp.cancel().await?;
    println!("\ndone; the server stops now that the demo exits");
    Ok(())
}

/// Calls a tool and returns its structured result, or fails with its error text.
async fn call(
    mcp: &rmcp::service::RunningService<rmcp::RoleClient, ()>,
    tool: &'static str,
    arguments: Value,
) -> anyhow::Result<Value> {
    let Value::Object(arguments) = arguments else {
        bail!("arguments are an object");
    };
    let result = mcp
        .call_tool(rmcp::model::CallToolRequestParams::new(tool).with_arguments(arguments))
        .await?;
    if result.is_error == Some(true) {
        bail!("{tool} failed: {:?}", result.content);
    }
    result
        .structured_content
        .with_context(|| format!("{tool} returned no structured content"))
}
