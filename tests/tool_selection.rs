//! Toolsets and read-only mode, through the binary as a client sees it.
//! Listing and refusing need no Kitaru server: nothing connects until an
//! offered tool runs.

use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use rmcp::service::{RoleClient, RunningService, ServiceError};
use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};

use kitaru_mcp::catalog::TOOLS;

/// The binary with these extra arguments and environment, isolated from the
/// user's Kitaru config.
async fn start(
    args: &[&str],
    env: &[(&str, &str)],
) -> (RunningService<RoleClient, ()>, tempfile::TempDir) {
    let config = tempfile::tempdir().unwrap();
    let command = tokio::process::Command::new(env!("CARGO_BIN_EXE_kitaru-mcp")).configure(|cmd| {
        cmd.env_clear()
            .env("KITARU_CONFIG_PATH", config.path())
            .envs(env.iter().copied())
            .args(args)
            .current_dir(config.path());
    });
    let client = ().serve(TokioChildProcess::new(command).unwrap()).await.unwrap();
    (client, config)
}

async fn listed(client: &RunningService<RoleClient, ()>) -> Vec<String> {
    let mut names: Vec<String> = client
        .list_all_tools()
        .await
        .unwrap()
        .into_iter()
        .map(|tool| tool.name.to_string())
        .collect();
    names.sort();
    names
}

fn declared(keep: impl Fn(&kitaru_mcp::catalog::ToolInfo) -> bool) -> Vec<String> {
    let mut names: Vec<String> = TOOLS
        .iter()
        .filter(|tool| keep(tool))
        .map(|tool| tool.name.to_owned())
        .collect();
    names.sort();
    names
}

/// The JSON-RPC error message of calling `tool`.
async fn refusal(client: &RunningService<RoleClient, ()>, tool: &'static str) -> String {
    let error = client
        .call_tool(CallToolRequestParams::new(tool))
        .await
        .expect_err("a hidden tool is refused");
    match error {
        ServiceError::McpError(error) => error.message.to_string(),
        other => panic!("{tool}: {other}"),
    }
}

#[tokio::test]
async fn read_only_mode_lists_no_tool_that_changes_things_and_refuses_them_by_name() {
    let (client, _config) = start(&["--read-only"], &[]).await;
    let tools = listed(&client).await;
    assert_eq!(tools, declared(|tool| tool.read_only));
    for mutating in ["kitaru_executions_cancel", "kitaru_executions_input"] {
        assert!(!tools.iter().any(|name| name == mutating));
        let message = refusal(&client, mutating).await;
        assert!(message.contains("read-only"), "{message}");
    }
    let instructions = client.peer_info().unwrap().instructions.clone().unwrap();
    assert!(
        !instructions.contains("kitaru_executions_cancel"),
        "{instructions}"
    );
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn the_read_only_variable_works_like_the_flag() {
    let (client, _config) = start(&[], &[("KITARU_MCP_READ_ONLY", "true")]).await;
    assert_eq!(listed(&client).await, declared(|tool| tool.read_only));
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn toolsets_select_and_exclusions_win() {
    let (client, _config) =
        start(&[], &[("KITARU_MCP_TOOLSETS", "executions,stacks,-stacks")]).await;
    assert_eq!(
        listed(&client).await,
        declared(|tool| tool.toolset == "executions")
    );
    let message = refusal(&client, "kitaru_stacks_list").await;
    assert!(
        message.contains("toolset `stacks` is not selected"),
        "{message}"
    );
    client.cancel().await.unwrap();

    let (client, _config) = start(&["--toolsets", "-connection", "--read-only"], &[]).await;
    assert_eq!(
        listed(&client).await,
        declared(|tool| tool.read_only && tool.toolset != "connection")
    );
    client.cancel().await.unwrap();
}

#[test]
fn an_unknown_toolset_stops_the_binary_with_the_known_ones() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_kitaru-mcp"))
        .args(["--toolsets", "executions,memories"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(
        output.stdout.is_empty(),
        "stdout is for protocol messages only"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("unknown toolset `memories`"), "{stderr}");
    assert!(stderr.contains("executions"), "{stderr}");
}
