//! The binary as users run it, driven by a real MCP client over stdio.

use rmcp::ServiceExt;
use rmcp::transport::TokioChildProcess;
use serde_json::json;
use tokio::process::Command;

use kitaru_testkit::server;

use crate::support::kitaru_mcp;

#[tokio::test]
async fn initialize_and_list_tools_over_stdio() {
    let client =
        ().serve(TokioChildProcess::new(Command::from(kitaru_mcp())).unwrap())
            .await
            .unwrap();
    let info = client.peer_info().expect("the server answered initialize");
    let implementation = info.server_info.as_ref().expect("serverInfo");
    assert_eq!(implementation.name, "kitaru");
    assert_eq!(implementation.version, env!("CARGO_PKG_VERSION"));
    assert!(info.capabilities.tools.is_some());
    let instructions = info.instructions.as_deref().expect("instructions");
    for tool in kitaru_mcp::catalog::TOOLS {
        assert!(instructions.contains(tool.name), "{instructions}");
    }
    assert_eq!(
        instructions,
        kitaru_mcp::server::instructions(&Default::default())
    );
    let tools = client.list_all_tools().await.unwrap();
    let mut names: Vec<&str> = tools.iter().map(|tool| tool.name.as_ref()).collect();
    names.sort();
    let mut declared: Vec<&str> = kitaru_mcp::catalog::TOOLS
        .iter()
        .map(|tool| tool.name)
        .collect();
    declared.sort();
    assert_eq!(
        names, declared,
        "every tool of openapi/tools.toml is listed"
    );
    // Every listed tool is well-formed: a name and an object input schema.
    for tool in &tools {
        assert!(!tool.name.is_empty());
        assert_eq!(
            tool.input_schema.get("type").and_then(|t| t.as_str()),
            Some("object")
        );
    }
    client.cancel().await.unwrap();
}

#[test]
fn stdout_carries_only_protocol_messages() {
    use std::io::Write;
    use std::process::Stdio;

    let mut child = kitaru_mcp()
        .env("KITARU_MCP_LOG", "debug")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    for message in [
        r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"test","version":"0"}}}"#,
        r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
        r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#,
    ] {
        writeln!(stdin, "{message}").unwrap();
    }
    drop(stdin); // EOF ends the session
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "two answers, nothing else: {stdout}");
    for line in lines {
        let message: serde_json::Value =
            serde_json::from_str(line).expect("each stdout line is JSON-RPC");
        assert_eq!(message["jsonrpc"], "2.0");
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("kitaru-mcp starting"),
        "logs go to stderr: {stderr}"
    );
}

#[test]
fn help_and_version() {
    let version = std::process::Command::new(crate::support::KITARU_MCP)
        .arg("--version")
        .output()
        .unwrap();
    assert!(version.status.success());
    // The crate version, and the server APIs the client was generated from.
    assert_eq!(
        String::from_utf8(version.stdout).unwrap().trim(),
        format!(
            "kitaru-mcp {} (Kitaru server APIs: ZenML {})",
            env!("CARGO_PKG_VERSION"),
            kitaru_client::operations::SERVER_VERSIONS.join(", ")
        )
    );
    let help = std::process::Command::new(crate::support::KITARU_MCP)
        .arg("--help")
        .output()
        .unwrap();
    assert!(help.status.success());
    let text = String::from_utf8(help.stdout).unwrap();
    assert!(
        text.contains("KITARU_SERVER_URL") && text.contains("--log"),
        "{text}"
    );
    // It names every tool there is.
    for tool in kitaru_mcp::catalog::TOOLS {
        assert!(text.contains(tool.name), "{} missing in {text}", tool.name);
    }
}

#[test]
fn failures_name_their_kind() {
    let mut peer = kitaru_testkit::StdioPeer::start(kitaru_mcp());
    let missing = peer.call("kitaru_executions_get", json!({"exec_id": "nope"}));
    assert!(missing.is_error);
    assert_eq!(missing.error_kind.as_deref(), Some("not_found"));
    let finished = kitaru_testkit::server().str("/seed/completed/exec_id");
    let refused = peer.call("kitaru_executions_cancel", json!({"exec_id": finished}));
    assert!(refused.is_error);
    assert_eq!(refused.error_kind.as_deref(), Some("state"));
    assert_eq!(
        refused.texts,
        ["Cannot stop a run that is already completed."]
    );
}

/// The server names itself to the SDK: status reports it as `sdk_version`.
#[test]
fn status_names_kitaru_mcp_as_the_program() {
    let mut peer = kitaru_testkit::StdioPeer::start(kitaru_mcp());
    let status = peer.call("kitaru_status", json!({}));
    assert!(!status.is_error, "{:?}", status.texts);
    assert_eq!(
        status.structured.unwrap()["sdk_version"],
        concat!("kitaru-mcp ", env!("CARGO_PKG_VERSION"))
    );
}

/// Arguments have sane maximums, and an error quotes at most a short
/// prefix of what it was given.
#[test]
fn oversized_arguments_are_refused_and_not_echoed() {
    let server = server();
    let mut peer = kitaru_testkit::StdioPeer::start(kitaru_mcp());
    let exec_id = server.str("/seed/completed/exec_id");
    let logs = peer.call(
        "get_execution_logs",
        json!({"exec_id": exec_id, "limit": 10_001}),
    );
    assert_eq!(logs.error_kind.as_deref(), Some("invalid_argument"));
    assert!(
        logs.texts[0].starts_with("invalid argument `limit`: `limit` must be <= 10000"),
        "{:?}",
        logs.texts
    );
    let listed = peer.call("kitaru_executions_list", json!({"limit": 1_000_000}));
    assert!(
        listed.texts[0].contains("must be <= 1000"),
        "{:?}",
        listed.texts
    );
    let huge = "x".repeat(5 * 1024 * 1024);
    let missing = peer.call("kitaru_executions_get", json!({"exec_id": huge}));
    assert!(missing.is_error);
    let text = &missing.texts[0];
    assert!(text.chars().count() < 2_100, "{} characters", text.len());
    assert!(
        text.contains("more characters)"),
        "{}",
        &text[text.len() - 60..]
    );
}

/// A failed call carries no structured content (a client checks any
/// against the tool's output schema, errors too); its details are in
/// `_meta` — kind, message, the argument at fault and the values it
/// accepts — and the text names the allowed values.
#[test]
fn errors_carry_their_details_in_meta() {
    let mut peer = kitaru_testkit::StdioPeer::start(kitaru_mcp());
    let bad_scope_type = peer.call(
        "kitaru_memory_list",
        json!({"scope": "x", "scope_type": "global"}),
    );
    assert!(bad_scope_type.is_error);
    assert_eq!(bad_scope_type.structured, None);
    let text = &bad_scope_type.texts[0];
    assert!(
        text.contains("'namespace', 'flow', or 'execution'"),
        "the allowed values are in the text: {text}"
    );
    assert_eq!(
        bad_scope_type.error,
        Some(json!({
            "kind": "invalid_argument",
            "argument": "scope_type",
            "allowed": ["namespace", "flow", "execution"],
            "message": text,
        }))
    );
    let bad_status = peer.call("kitaru_executions_list", json!({"status": "sleeping"}));
    let error = bad_status.error.unwrap();
    assert_eq!(error["argument"], "status");
    assert_eq!(
        error["allowed"],
        json!(["running", "waiting", "completed", "failed", "cancelled"])
    );
    for status in ["running", "waiting", "completed", "failed", "cancelled"] {
        assert!(
            bad_status.texts[0].contains(status),
            "{:?}",
            bad_status.texts
        );
    }
    let missing = peer.call("kitaru_executions_get", json!({"exec_id": "nope"}));
    assert_eq!(missing.structured, None);
    assert_eq!(
        missing.error,
        Some(json!({"kind": "not_found", "message": missing.texts[0]}))
    );
    let unknown = peer.call(
        "kitaru_memory_get",
        json!({"key": "k", "scope": "x", "scope_type": "namespace", "bogus": 1}),
    );
    assert_eq!(unknown.error.unwrap()["argument"], "bogus");
}

#[test]
fn bad_arguments_are_tool_errors_that_name_the_argument() {
    let server = server();
    let mut peer = kitaru_testkit::StdioPeer::start(kitaru_mcp());
    let exec_id = server.str("/seed/completed/exec_id");
    for (tool, arguments, expected) in [
        (
            "kitaru_executions_list",
            json!({"limit": "x"}),
            "invalid argument `limit`: invalid type: string \"x\", expected an integer",
        ),
        (
            "kitaru_executions_list",
            json!({"limit": 0}),
            "invalid argument `limit`: `limit` must be >= 1 when provided.",
        ),
        (
            "kitaru_executions_list",
            json!({"status": "sleeping"}),
            "Unsupported status filter 'sleeping'",
        ),
        (
            "kitaru_executions_get",
            json!({}),
            "invalid argument `exec_id`: missing field `exec_id`",
        ),
        (
            "kitaru_executions_get",
            json!({"exec_id": exec_id, "bogus": 1}),
            "invalid argument `bogus`: unknown field `bogus`",
        ),
        (
            "get_execution_logs",
            json!({"exec_id": exec_id, "limit": -1}),
            "invalid argument `limit`: `limit` must be >= 1.",
        ),
        (
            "kitaru_clean_preview",
            json!({"scope": "everything"}),
            "invalid argument `scope`: unknown scope 'everything': expected project, global or all",
        ),
        (
            "kitaru_executions_input",
            json!({"exec_id": exec_id, "wait": "w"}),
            "missing field `value`",
        ),
    ] {
        let answer = peer.call(tool, arguments.clone());
        assert!(
            answer.is_error,
            "{tool} {arguments} should fail: {:?}",
            answer.structured
        );
        assert!(
            answer.texts.iter().any(|text| text.contains(expected)),
            "{tool} {arguments}: {:?} does not say {expected:?}",
            answer.texts
        );
        assert_eq!(
            answer.error_kind.as_deref(),
            Some("invalid_argument"),
            "{tool} {arguments}"
        );
    }
    assert!(
        peer.noise.is_empty(),
        "stdout carried non-protocol lines: {:?}",
        peer.noise
    );
}

/// A completed `research_agent` execution and a failed `flaky` one (which
/// succeeds when retried).
async fn launch_sources() -> (String, String) {
    use kitaru_testkit::{FLOWS, launch_options};
    let kitaru = server().kitaru().await;
    let marker = std::env::temp_dir().join(format!("kitaru-flaky-{}", uuid::Uuid::new_v4()));
    let mut ids = Vec::new();
    for (flow, args) in [
        ("research_agent", json!({"topic": "schemas"})),
        ("flaky", json!({"marker": marker.display().to_string()})),
    ] {
        let args = args.as_object().cloned().unwrap();
        let started = kitaru_sdk::executions::run(
            &kitaru,
            &format!("{FLOWS}:{flow}"),
            &args,
            None,
            &launch_options(),
        )
        .await
        .unwrap();
        ids.push(started.exec_id);
    }
    (ids[0].clone(), ids[1].clone())
}

/// Every tool, called through the official Python MCP SDK, which checks each
/// structured result against the output schema the tool advertises.
#[tokio::test]
async fn every_tool_answers_what_its_output_schema_says() {
    let llm =
        kitaru_testkit::FakeLlm::start(200, kitaru_testkit::FakeLlm::openai_answer("summary"))
            .await;
    let server = server();
    let exec_id = server.str("/seed/completed/exec_id");
    let artifact_id = server.get("/seed/completed/artifacts")[0]["artifact_id"].clone();
    let scope = kitaru_testkit::fresh("schemas");
    let common = json!({"scope": scope, "scope_type": "namespace"});
    let mem = |extra: serde_json::Value| kitaru_testkit::merged(&common, extra);
    // Executions of our own to replay and retry, to answer and to cancel
    // (the seeded ones stay as they are: other tests count them).
    let (sources, waiting) = {
        let _changing = kitaru_testkit::executions_lock()
            .write()
            .unwrap_or_else(|p| p.into_inner());
        let waiting = tokio::task::spawn_blocking(|| kitaru_testkit::start_waiting_executions(3))
            .await
            .unwrap();
        (launch_sources().await, waiting)
    };
    // Two deployment versions of our own: one to read and tag, one to delete.
    let _deployments = kitaru_testkit::deployments_lock().await;
    let kept = kitaru_testkit::python_deploy(&scope, false, "schemas").await["version"].clone();
    let doomed =
        kitaru_testkit::python_deploy("schemas-doomed", false, "schemas").await["version"].clone();
    let deployment = |extra: serde_json::Value| {
        kitaru_testkit::merged(&json!({"flow": "research_agent", "version": kept}), extra)
    };
    let calls = json!([
        ["kitaru_executions_list", {"limit": 3}],
        ["kitaru_executions_get", {"exec_id": exec_id}],
        ["kitaru_executions_latest", {"status": "failed"}],
        ["kitaru_executions_cohort", {"flow": "seed_completed", "at": "greet"}],
        ["get_execution_logs", {"exec_id": exec_id}],
        ["kitaru_artifacts_list", {"exec_id": exec_id}],
        ["kitaru_artifacts_get", {"artifact_id": artifact_id}],
        ["kitaru_status", {}],
        ["kitaru_info", {"all": true}],
        ["kitaru_stacks_list", {}],
        ["kitaru_clean_preview", {}],
        ["kitaru_memory_set", mem(json!({"key": "k", "value": {"a": [1, null]}}))],
        ["kitaru_memory_set", mem(json!({"key": "k", "value": null}))],
        ["kitaru_memory_get", mem(json!({"key": "k"}))],
        ["kitaru_memory_get", mem(json!({"key": "k", "version": 1}))],
        ["kitaru_memory_get", mem(json!({"key": "missing"}))],
        ["kitaru_memory_list", mem(json!({}))],
        ["kitaru_memory_history", mem(json!({"key": "k"}))],
        ["kitaru_memory_compact", mem(json!({"key": "k", "source_mode": "history", "model": "ollama/m", "target_key": "s"}))],
        ["kitaru_memory_delete", mem(json!({"key": "k"}))],
        ["kitaru_memory_delete", mem(json!({"key": "missing"}))],
        ["kitaru_memory_purge", mem(json!({"key": "k", "keep": 1}))],
        ["kitaru_memory_purge_scope", mem(json!({"include_deleted": true}))],
        ["kitaru_memory_compaction_log", mem(json!({}))],
        ["kitaru_secrets_create", {"name": scope, "values": {"K": "v"}}],
        ["kitaru_secrets_list", {"size": 5}],
        ["kitaru_executions_statistics", {"group_by": ["status", "time:day"], "metrics": ["d:duration:avg", "llm_total_tokens", {"name": "s", "source": "step_count", "aggregation": "sum"}]}],
        ["kitaru_projects_list", {}],
        ["kitaru_projects_current", {}],
        ["kitaru_projects_show", {"name_or_id": server.str("/seed/project/name")}],
        ["kitaru_executions_run", {"target": "flows/extra_replay.py:research_agent", "args": {"topic": "schemas"}}],
        ["kitaru_executions_replay", {"exec_id": sources.0, "from_": "summarize"}],
        ["kitaru_executions_replay", {"exec_ids": [sources.0, exec_id], "at": "summarize", "tag": "schemas", "wait": true}],
        ["kitaru_executions_retry", {"exec_id": sources.1}],
        ["kitaru_executions_diff", {"original": sources.0}],
        ["kitaru_executions_diff", {"original": exec_id, "executions": [sources.1]}],
        ["kitaru_executions_diff_matrix", {"exec_ids": [sources.0, exec_id]}],
        ["kitaru_executions_watch", {"exec_id": exec_id, "max_wait_seconds": 1}],
        ["kitaru_executions_input", {"exec_id": waiting[0], "wait": "approve_extra", "value": true}],
        ["kitaru_executions_resume", {"exec_id": waiting[0]}],
        ["kitaru_executions_cancel", {"exec_id": waiting[1]}],
        ["kitaru_executions_abort_wait", {"exec_id": waiting[2], "wait": "approve_extra"}],
        ["kitaru_deployments_list", {"flow": "research_agent"}],
        ["kitaru_deployments_get", {"flow": "research_agent", "tag": scope}],
        ["kitaru_deployments_tag", deployment(json!({"tag": "schemas-x", "exclusive": true}))],
        ["kitaru_deployments_untag", deployment(json!({"tag": "schemas-x"}))],
        ["kitaru_deployments_delete", {"flow": "research_agent", "version": doomed}],
    ]);
    let called: Vec<&str> = calls
        .as_array()
        .unwrap()
        .iter()
        .map(|call| call[0].as_str().unwrap())
        .collect();
    for tool in kitaru_mcp::catalog::TOOLS {
        let elsewhere = [
            // The local server (on this machine, the test server itself):
            // checked the same way, in a config of its own, in mcp_python.
            "kitaru_start_local_server",
            "kitaru_stop_local_server",
            // Adds a stack, which comparisons of listings must not straddle:
            // checked the same way, under the lock, in mcp_stacks.
            "manage_stack",
            // Changes the active project in the CLI config: checked the
            // same way, in a repository config of its own, in mcp_projects.
            "kitaru_projects_use",
            // Cannot succeed here: the test server's only stacks are local,
            // and it neither deploys from nor runs a deployment of a stack
            // with local components (deploy refuses it before compiling;
            // invoke is refused by the server: "was created from stack
            // 'default', which the Kitaru server cannot execute remotely").
            // Deploy answers what get answers (checked below); invoke's
            // refusal is compared with the reference's in parity.
            "kitaru_deployments_invoke",
            "kitaru_deployments_deploy",
        ];
        if !elsewhere.contains(&tool.name) {
            assert!(called.contains(&tool.name), "{} is not checked", tool.name);
        }
    }
    // A deployed version is the same record whichever tool answers it.
    let schemas: std::collections::HashMap<String, serde_json::Value> = crate::support::ours(&[])
        .tools()
        .into_iter()
        .map(|tool| {
            (
                tool["name"].as_str().unwrap().to_owned(),
                tool["outputSchema"].clone(),
            )
        })
        .collect();
    assert_eq!(
        schemas["kitaru_deployments_deploy"], schemas["kitaru_deployments_get"],
        "deploy answers a deployment as get does"
    );
    let request = json!({
        "command": [crate::support::KITARU_MCP],
        "env": {"OLLAMA_HOST": llm.url, "KITARU_PYTHON": server.str("/python")},
        "calls": calls,
    });
    kitaru_testkit::install_flow_module("extra_replay");
    let answer = kitaru_testkit::python(
        "mcp_client_check",
        &[],
        Some(request),
        kitaru_testkit::Runs::Flow,
    )
    .await;
    // Every call that failed or broke its schema, not just the first.
    let failed: Vec<String> = answer["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|result| {
            result["invalid"] != serde_json::Value::Null || result["is_error"] != false
        })
        .map(serde_json::Value::to_string)
        .collect();
    assert!(failed.is_empty(), "{}", failed.join("\n"));
    assert_eq!(llm.received().len(), 1, "compact called the model once");
}

/// Every protocol revision rmcp speaks: the handshake settles on the one
/// asked for, and a tool call works on it; 2026-07-28 has no handshake, each
/// request names its revision in `_meta`.
#[test]
fn each_protocol_revision_negotiates_and_calls_a_tool() {
    use kitaru_testkit::StdioPeer;
    for revision in ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"] {
        let mut peer = StdioPeer::spawn(kitaru_mcp());
        let answer = peer.initialize(revision);
        assert_eq!(answer["protocolVersion"], revision);
        assert_eq!(answer["serverInfo"]["name"], "kitaru");
        let stacks = peer.call("kitaru_stacks_list", json!({}));
        assert!(!stacks.is_error, "{revision}: {:?}", stacks.texts);
        assert!(stacks.structured.unwrap()["result"].as_array().is_some());
    }
    // A revision the server does not know: it answers with the newest one
    // that has a handshake.
    let mut peer = StdioPeer::spawn(kitaru_mcp());
    assert_eq!(
        peer.initialize("2099-01-01")["protocolVersion"],
        "2025-11-25"
    );

    let mut peer = StdioPeer::spawn(kitaru_mcp());
    let meta = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "revisions", "version": "0"},
    });
    let answer = peer.request(
        "tools/call",
        json!({"name": "kitaru_stacks_list", "arguments": {}, "_meta": meta}),
    );
    assert_ne!(answer["isError"], true, "{answer}");
    assert!(
        answer["structuredContent"]["result"].as_array().is_some(),
        "{answer}"
    );
    let listed = peer.request("tools/list", json!({"_meta": meta}));
    assert!(
        listed["tools"]
            .as_array()
            .is_some_and(|tools| !tools.is_empty())
    );
}

/// The most a single tool result of the seeded server may cost a model's
/// context, as the client receives it (structured content and its text).
const RESULT_BUDGET: usize = 24_000;

/// Every read of the seeded server fits the budget; lists without `limit`
/// stop at a default size and say how to get more.
#[test]
fn results_fit_a_models_context() {
    use kitaru_testkit::StdioPeer;
    let server = server();
    let exec_id = server.str("/seed/completed/exec_id");
    let artifact_id = server.get("/seed/completed/artifacts")[0]["artifact_id"].clone();
    let memory = json!({"scope": server.str("/seed/memory/scope"), "scope_type": "namespace"});
    let key = server.get("/seed/memory/live_keys")[0].clone();
    let mut with_key = memory.clone();
    with_key["key"] = key;
    let calls = [
        ("kitaru_executions_list", json!({})),
        ("kitaru_executions_get", json!({"exec_id": exec_id})),
        ("kitaru_executions_latest", json!({})),
        ("get_execution_logs", json!({"exec_id": exec_id})),
        ("kitaru_artifacts_list", json!({"exec_id": exec_id})),
        ("kitaru_artifacts_get", json!({"artifact_id": artifact_id})),
        ("kitaru_status", json!({})),
        ("kitaru_info", json!({"all": true})),
        ("kitaru_stacks_list", json!({})),
        ("kitaru_clean_preview", json!({"scope": "all"})),
        ("kitaru_memory_list", memory.clone()),
        ("kitaru_memory_get", with_key.clone()),
        ("kitaru_memory_history", with_key),
        ("kitaru_memory_compaction_log", memory),
    ];
    let mut peer = StdioPeer::start(kitaru_mcp());
    for (tool, arguments) in calls {
        let raw = peer.request("tools/call", json!({"name": tool, "arguments": arguments}));
        assert_ne!(raw["isError"], true, "{tool}: {raw}");
        let size = raw.to_string().len();
        assert!(
            size <= RESULT_BUDGET,
            "{tool} costs {size} bytes, over {RESULT_BUDGET}"
        );
    }

    // A default size of 1: the newest execution, and how to get more.
    let mut small = kitaru_mcp();
    small.env("KITARU_MCP_LIST_SIZE", "1");
    let mut peer = StdioPeer::start(small);
    let listed = peer
        .call("kitaru_executions_list", json!({}))
        .structured
        .unwrap();
    assert_eq!(listed["result"].as_array().unwrap().len(), 1);
    assert_eq!(listed["more"]["shown"], 1);
    assert!(
        listed["more"]["hint"]
            .as_str()
            .unwrap()
            .contains("Pass `limit`"),
        "{listed}"
    );
    // A limit is the caller's choice: the reference's shape, nothing added.
    let limited = peer
        .call("kitaru_executions_list", json!({"limit": 2}))
        .structured
        .unwrap();
    assert_eq!(limited["result"].as_array().unwrap().len(), 2);
    assert_eq!(limited.as_object().unwrap().len(), 1, "{limited}");
    let artifacts = peer
        .call("kitaru_artifacts_list", json!({"exec_id": exec_id}))
        .structured
        .unwrap();
    assert_eq!(artifacts["result"].as_array().unwrap().len(), 1);
    assert_eq!(artifacts["more"]["shown"], 1);

    // A value larger than a result should be: its beginning, and its size.
    let scope = kitaru_testkit::fresh("budget");
    let big: Vec<String> = (0..20_000).map(|i| format!("line {i}")).collect();
    let at = json!({"key": "big", "scope": scope, "scope_type": "namespace"});
    let mut set = at.clone();
    set["value"] = json!(big);
    assert!(!peer.call("kitaru_memory_set", set).is_error);
    let raw = peer.request(
        "tools/call",
        json!({"name": "kitaru_memory_get", "arguments": at}),
    );
    assert!(
        raw.to_string().len() <= RESULT_BUDGET,
        "{}",
        raw.to_string().len()
    );
    let found = &raw["structuredContent"]["result"];
    let total = serde_json::to_string(&big).unwrap().len();
    assert_eq!(found["value_truncated"]["total_bytes"], total);
    assert_eq!(found["value_truncated"]["shown_bytes"], 8_000);
    let shown = found["value"].as_str().unwrap();
    assert!(
        shown.starts_with("[\"line 0\", \"line 1\"") || shown.starts_with("[\"line 0\",\"line 1\""),
        "{}",
        &shown[..40]
    );
    assert!(shown.ends_with('…'));
}

/// The audit log: one JSON line per call with the argument names, never
/// their values; and the per-call timeout stops a call with kind `timeout`.
#[test]
fn calls_are_audited_without_values_and_time_out() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.jsonl");
    let mut command = kitaru_mcp();
    command.env("KITARU_MCP_AUDIT_LOG", &log);
    let mut peer = kitaru_testkit::StdioPeer::start(command);
    let scope = kitaru_testkit::fresh("audit");
    let secret_value = "do-not-log-this-value";
    let set = peer.call(
        "kitaru_memory_set",
        json!({"key": "k", "value": secret_value, "scope": scope, "scope_type": "namespace"}),
    );
    assert!(!set.is_error, "{:?}", set.texts);
    let missing = peer.call("kitaru_executions_get", json!({"exec_id": "nope"}));
    assert!(missing.is_error);
    drop(peer);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(!text.contains(secret_value), "{text}");
    assert!(!text.contains(&scope), "argument values stay out: {text}");
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert_eq!(lines[0]["tool"], "kitaru_memory_set");
    assert_eq!(
        lines[0]["arguments"],
        json!(["key", "scope", "scope_type", "value"])
    );
    assert_eq!(lines[0]["outcome"], "ok");
    assert_eq!(lines[0]["error_kind"], serde_json::Value::Null);
    assert!(lines[0]["duration_ms"].as_u64().is_some());
    assert!(lines[0]["time"].as_str().unwrap().ends_with('Z'));
    assert_eq!(lines[1]["outcome"], "error");
    assert_eq!(lines[1]["error_kind"], "not_found");
    assert_ne!(lines[0]["request_id"], lines[1]["request_id"]);

    let mut command = kitaru_mcp();
    command.env("KITARU_MCP_CALL_TIMEOUT", "0.001");
    let mut peer = kitaru_testkit::StdioPeer::start(command);
    let slow = peer.call("kitaru_executions_list", json!({"limit": 50}));
    assert!(slow.is_error);
    assert_eq!(slow.error_kind.as_deref(), Some("timeout"));
    assert!(
        slow.texts[0].contains("KITARU_MCP_CALL_TIMEOUT"),
        "{:?}",
        slow.texts
    );
}

/// Logging never costs a reply: not when the client never reads stderr
/// (its pipe fills up), not when stderr is closed.
#[test]
fn logging_never_costs_a_reply() {
    use kitaru_testkit::StdioPeer;
    let mut never_read = kitaru_mcp();
    never_read
        .args(["--log", "trace"])
        .stderr(std::process::Stdio::piped());
    let mut peer = StdioPeer::spawn_keeping_stderr(never_read);
    let _unread = peer.take_stderr();
    let done = kitaru_testkit::Watchdog::start(peer.pid(), std::time::Duration::from_secs(120));
    peer.initialize("2025-06-18");
    for _ in 0..150 {
        let answer = peer.call("kitaru_stacks_list", json!({}));
        assert!(!answer.is_error, "{:?}", answer.texts);
    }
    done.disarm();

    // Started with stderr closed, at the most verbose level.
    let program = crate::support::KITARU_MCP;
    let mut closed = server().command("sh");
    closed.args(["-c", "exec \"$0\" --log trace 2>&-", program]);
    let mut peer = StdioPeer::spawn_keeping_stderr(closed);
    let done = kitaru_testkit::Watchdog::start(peer.pid(), std::time::Duration::from_secs(60));
    assert_eq!(
        peer.initialize("2025-06-18")["serverInfo"]["name"],
        "kitaru"
    );
    let answer = peer.call("kitaru_executions_list", json!({"limit": 2}));
    assert!(!answer.is_error, "{:?}", answer.texts);
    let missing = peer.call("kitaru_executions_get", json!({"exec_id": "nope"}));
    assert_eq!(missing.error_kind.as_deref(), Some("not_found"));
    done.disarm();
}

/// Broken messages get the answer JSON-RPC 2.0 asks for, and the session
/// goes on.
#[test]
fn broken_messages_are_answered_and_the_session_goes_on() {
    let mut peer = kitaru_testkit::StdioPeer::start(kitaru_mcp());
    let done = kitaru_testkit::Watchdog::start(peer.pid(), std::time::Duration::from_secs(60));
    let mut expect = |line: &[u8], id: serde_json::Value, code: i64| {
        peer.send_line(line);
        let answer = peer.next_message();
        assert_eq!(answer["id"], id, "{answer}");
        assert_eq!(answer["error"]["code"], code, "{answer}");
        answer
    };
    expect(b"this is not json", serde_json::Value::Null, -32700);
    expect(b"\xff\xfe{}", serde_json::Value::Null, -32700);
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    expect(deep.as_bytes(), serde_json::Value::Null, -32700);
    expect(br#"{"jsonrpc":"2.0","id":50}"#, json!(50), -32600);
    expect(br#"[1]"#.as_slice(), serde_json::Value::Null, -32600).to_string();
    let bad = expect(
        br#"{"jsonrpc":"2.0","id":51,"method":"tools/call","params":{"name":"kitaru_stacks_list","arguments":[1]}}"#,
        json!(51),
        -32602,
    );
    assert!(
        bad["error"]["message"]
            .as_str()
            .unwrap()
            .contains("`arguments`")
    );
    let huge = format!(
        r#"{{"jsonrpc":"2.0","id":52,"method":"ping","params":{{"x":"{}"}}}}"#,
        "a".repeat(17 * 1024 * 1024)
    );
    let answer = expect(huge.as_bytes(), serde_json::Value::Null, -32700);
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("at most"),
        "{answer}"
    );
    let stacks = peer.call("kitaru_stacks_list", json!({}));
    assert!(!stacks.is_error, "the session goes on: {:?}", stacks.texts);
    done.disarm();
}

/// A stand-in Kitaru server that accepts connections and never answers:
/// calls made against it stay under way until the HTTP timeout.
fn hung_server() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            held.push(stream);
        }
    });
    port
}

/// The binary against the hung stand-in (3 s HTTP timeout), stdio piped.
fn against_hung_server() -> std::process::Child {
    use std::process::Stdio;
    kitaru_mcp()
        .env(
            "KITARU_SERVER_URL",
            format!("http://127.0.0.1:{}", hung_server()),
        )
        .env("KITARU_PROJECT", "default")
        .env("ZENML_STORE_HTTP_TIMEOUT", "3")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn wait_with_deadline(
    child: &mut std::process::Child,
    limit: std::time::Duration,
) -> std::process::ExitStatus {
    let deadline = std::time::Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("kitaru-mcp did not exit within {limit:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn signals_and_eof_end_the_session_cleanly() {
    use std::io::{BufRead, Read, Write};
    let initialize = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"0"}}}"#;
    let initialized = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
    let call = r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"kitaru_stacks_list","arguments":{}}}"#;

    // EOF before initialize: a quiet exit 0.
    let mut child = against_hung_server();
    drop(child.stdin.take());
    let status = wait_with_deadline(&mut child, std::time::Duration::from_secs(10));
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(status.success(), "{status}: {stderr}");
    assert!(
        !stderr.contains("Error") && !stderr.contains("backtrace"),
        "{stderr}"
    );

    // SIGTERM with a call under way: the call is answered, then exit 0.
    let mut child = against_hung_server();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    for line in [initialize, initialized, call] {
        writeln!(stdin, "{line}").unwrap();
    }
    stdin.flush().unwrap();
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    assert!(first.contains(r#""id":1"#), "{first}");
    std::thread::sleep(std::time::Duration::from_millis(500));
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = wait_with_deadline(&mut child, std::time::Duration::from_secs(15));
    assert!(status.success(), "exit after SIGTERM: {status}");
    let answers: Vec<serde_json::Value> = stdout
        .lines()
        .map_while(Result::ok)
        .filter_map(|line| serde_json::from_str(&line).ok())
        .collect();
    let answer = answers
        .iter()
        .find(|message| message["id"] == 2)
        .unwrap_or_else(|| panic!("the call under way was answered: {answers:?}"));
    assert_eq!(answer["result"]["isError"], true, "{answer}");
    drop(stdin);

    // EOF with a call under way: it ends cleanly, without hanging.
    let mut child = against_hung_server();
    let mut stdin = child.stdin.take().unwrap();
    for line in [initialize, initialized, call] {
        writeln!(stdin, "{line}").unwrap();
    }
    stdin.flush().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    drop(stdin);
    let status = wait_with_deadline(&mut child, std::time::Duration::from_secs(15));
    assert!(status.success(), "exit after EOF: {status}");
}
