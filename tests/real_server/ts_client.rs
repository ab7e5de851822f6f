//! The official TypeScript MCP SDK as the client (`tests/node/ts_client.mjs`),
//! the one most hosts are built on. It checks every result that carries
//! structured content against the tool's output schema, errors included,
//! and warns about schema formats it does not know: every success and every
//! refusal of the bad-input suite must reach it as a result, with no
//! validation error thrown and no warning printed.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use serde_json::{Value, json};

use kitaru_testkit::server;

fn node_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/node")
}

/// Installs the pinned Node packages once (`npm ci`), unless present.
pub(crate) fn node_packages() -> &'static Path {
    static READY: OnceLock<PathBuf> = OnceLock::new();
    READY.get_or_init(|| {
        let dir = node_dir();
        let installed = ["sdk", "ext-apps"].iter().all(|package| {
            dir.join("node_modules/@modelcontextprotocol")
                .join(package)
                .is_dir()
        });
        if !installed {
            let status = Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund", "--prefix"])
                .arg(&dir)
                .stdout(Stdio::null())
                .status()
                .expect("npm runs (Node 20 is on the machines)");
            assert!(status.success(), "npm ci --prefix tests/node failed");
        }
        dir
    })
}

/// Runs the TypeScript client with `request`; its one-line JSON report.
fn ts_client(request: &Value) -> Value {
    let dir = node_packages();
    let mut child = Command::new("node")
        .arg(dir.join("ts_client.mjs"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node runs");
    {
        use std::io::Write as _;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(request.to_string().as_bytes()).unwrap();
    }
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|_| {
        panic!(
            "ts_client printed no report: {stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// The environment of a server started by the client: the seeded
/// project's, as `server().command` sets it.
fn server_request(args: &[&str], calls: Vec<(String, Value)>) -> Value {
    let env: serde_json::Map<String, Value> = server()
        .env()
        .into_iter()
        .map(|(key, value)| (key, Value::String(value)))
        .collect();
    let mut command = vec![crate::support::KITARU_MCP.to_owned()];
    command.extend(args.iter().map(|arg| (*arg).to_owned()));
    json!({
        "command": command,
        "env": env,
        "cwd": server().str("/project_dir"),
        "list": true,
        "calls": calls.into_iter().map(|(tool, arguments)| json!([tool, arguments])).collect::<Vec<_>>(),
    })
}

/// The tools' listing, read through our own peer.
fn listed_tools(args: &[&str]) -> Vec<Value> {
    crate::support::ours(args).tools()
}

fn assert_clean(report: &Value) {
    let thrown: Vec<&Value> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|result| !result["thrown"].is_null())
        .collect();
    assert!(
        thrown.is_empty(),
        "the SDK threw on {} calls: {thrown:#?}",
        thrown.len()
    );
    assert_eq!(report["warnings"], json!([]), "the SDK warned");
    assert_eq!(report["list_error"], Value::Null);
}

#[test]
fn every_tool_and_every_refusal_reaches_the_typescript_sdk_as_a_result() {
    let _stable = kitaru_testkit::executions_lock()
        .read()
        .unwrap_or_else(|p| p.into_inner());
    let scope = kitaru_testkit::fresh("ts-client");
    let successes: Vec<(String, Value)> = crate::mcp_python::native_calls(&scope)
        .into_iter()
        .map(|(tool, arguments)| (tool.to_owned(), arguments))
        .collect();
    let secret = kitaru_testkit::fresh("ts-secret");
    let mut refusals: Vec<(String, Value, String)> = Vec::new();
    for tool in listed_tools(&[]) {
        let name = tool["name"].as_str().unwrap().to_owned();
        for (arguments, argument) in crate::mcp_fuzz::broken_cases(&tool, &secret) {
            refusals.push((name.clone(), arguments, argument));
        }
    }
    let mut calls = successes.clone();
    calls.extend(
        refusals
            .iter()
            .map(|(tool, arguments, _)| (tool.clone(), arguments.clone())),
    );
    let mut request = server_request(&[], calls);
    request["env"]["KITARU_PYTHON"] = json!("/nonexistent/python");
    let report = ts_client(&request);
    assert_clean(&report);
    assert_eq!(report["tools"], kitaru_mcp::catalog::TOOLS.len());
    assert!(report["prompts"].as_u64().unwrap() > 0, "{report}");
    assert!(report["templates"].as_u64().unwrap() > 0, "{report}");
    let results = report["results"].as_array().unwrap();
    assert_eq!(results.len(), successes.len() + refusals.len());
    // The reads of the seeded data answer (other calls are refusals of the
    // server's own, which must arrive as tool errors all the same).
    for (result, (tool, _)) in results.iter().zip(&successes) {
        if [
            "kitaru_executions_list",
            "kitaru_executions_get",
            "kitaru_memory_get",
            "kitaru_stacks_list",
        ]
        .contains(&tool.as_str())
        {
            assert_eq!(result["is_error"], false, "{tool}: {result}");
        }
    }
    for (result, (tool, arguments, argument)) in results[successes.len()..].iter().zip(&refusals) {
        assert_eq!(result["is_error"], true, "{tool} {arguments}: {result}");
        let text = result["text"].as_str().unwrap_or_default();
        assert!(
            text.contains(argument.as_str()),
            "{tool} {arguments}: the text names `{argument}`: {text}"
        );
    }
    assert!(refusals.len() > 150, "{} refusals", refusals.len());
}

#[test]
fn api_tools_and_discovery_reach_the_typescript_sdk_as_results() {
    let args = ["--toolsets", "api:all,api:discovery"];
    let mut calls: Vec<(String, Value)> = vec![
        ("api_list_stacks".into(), json!({})),
        (
            "api_get_run".into(),
            json!({"run_id": "00000000-0000-0000-0000-000000000000"}),
        ),
        ("api_search".into(), json!({"query": "runs"})),
        (
            "api_describe".into(),
            json!({"operation": "no_such_operation"}),
        ),
        (
            "api_call".into(),
            json!({"operation": "get_secret", "arguments": {}}),
        ),
    ];
    let mut refusals = 0;
    for tool in listed_tools(&args) {
        let name = tool["name"].as_str().unwrap().to_owned();
        if name.starts_with("api_") {
            for (arguments, _) in crate::mcp_fuzz::broken_cases(&tool, "unused") {
                calls.push((name.clone(), arguments));
                refusals += 1;
            }
        }
    }
    let report = ts_client(&server_request(&args, calls));
    assert_clean(&report);
    let results = report["results"].as_array().unwrap();
    assert_eq!(results[0]["is_error"], false, "{}", results[0]);
    assert_eq!(results[2]["is_error"], false, "{}", results[2]);
    for result in [&results[1], &results[3], &results[4]] {
        assert_eq!(result["is_error"], true, "{result}");
    }
    assert!(results[5..].iter().all(|result| result["is_error"] == true));
    assert!(refusals > 1_000, "{refusals} refusals");
}
