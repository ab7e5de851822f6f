//! Where kitaru-mcp needs the user's Kitaru Python, and where it must not:
//! every native tool answers with no usable Python at all (a stand-in
//! `python3` on PATH records any start), the Python tools say what to
//! install, and the local server is started, used and stopped in an
//! isolated config directory.

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use kitaru_testkit::{StdioPeer, server};

/// A `python3` (and `python`, `kitaru`) that only records that it ran.
fn fake_pythons(dir: &Path, marker: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    for name in ["python3", "python", "kitaru"] {
        let path = dir.join(name);
        std::fs::write(
            &path,
            format!(
                "#!/bin/sh\necho \"$0 $*\" >> '{}'\nexit 1\n",
                marker.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

/// Arguments that make each native tool do real work on the seeded server;
/// a tool missing here fails the test, so new tools join it.
pub(crate) fn native_calls(scope: &str) -> Vec<(&'static str, Value)> {
    let server = server();
    let completed = server.str("/seed/completed/exec_id");
    let artifact = server.get("/seed/completed/artifacts")[0]["artifact_id"].clone();
    let mem = |extra: Value| {
        kitaru_testkit::merged(&json!({"scope": scope, "scope_type": "namespace"}), extra)
    };
    let mut calls = vec![
        ("kitaru_executions_list", json!({"limit": 2})),
        ("kitaru_executions_get", json!({"exec_id": completed})),
        ("kitaru_executions_latest", json!({})),
        ("get_execution_logs", json!({"exec_id": completed})),
        // Refused by the server's own checks: no Python either way.
        ("kitaru_executions_cancel", json!({"exec_id": completed})),
        (
            "kitaru_executions_input",
            json!({"exec_id": completed, "wait": "w", "value": 1}),
        ),
        ("kitaru_artifacts_list", json!({"exec_id": completed})),
        (
            "kitaru_executions_diff",
            json!({"original": completed, "executions": [completed]}),
        ),
        (
            "kitaru_executions_diff_matrix",
            json!({"exec_ids": [completed]}),
        ),
        ("kitaru_artifacts_get", json!({"artifact_id": artifact})),
        ("kitaru_status", json!({})),
        ("kitaru_info", json!({"all": true})),
        ("kitaru_stacks_list", json!({})),
        ("kitaru_clean_preview", json!({})),
        ("kitaru_memory_set", mem(json!({"key": "k", "value": 1}))),
        ("kitaru_memory_get", mem(json!({"key": "k"}))),
        ("kitaru_memory_list", mem(json!({}))),
        ("kitaru_memory_history", mem(json!({"key": "k"}))),
        ("kitaru_memory_delete", mem(json!({"key": "k"}))),
        ("kitaru_memory_purge", mem(json!({"key": "k", "keep": 1}))),
        ("kitaru_memory_purge_scope", mem(json!({}))),
        ("kitaru_memory_compaction_log", mem(json!({}))),
        // No model is configured: the error says so, without Python.
        ("kitaru_memory_compact", mem(json!({"key": "k"}))),
        (
            "kitaru_secrets_create",
            json!({"name": scope, "values": {"K": "v"}}),
        ),
        (
            "kitaru_executions_watch",
            json!({"exec_id": completed, "max_wait_seconds": 1}),
        ),
        ("kitaru_deployments_list", json!({})),
        // A flow never deployed: not found, from the server's answers.
        ("kitaru_deployments_get", json!({"flow": "never_deployed"})),
        (
            "kitaru_deployments_invoke",
            json!({"flow": "never_deployed"}),
        ),
        (
            "kitaru_deployments_tag",
            json!({"flow": "never_deployed", "version": 1, "tag": "t"}),
        ),
        (
            "kitaru_deployments_untag",
            json!({"flow": "never_deployed", "version": 1, "tag": "t"}),
        ),
        (
            "kitaru_deployments_delete",
            json!({"flow": "never_deployed", "version": 1}),
        ),
        ("kitaru_secrets_list", json!({"size": 3})),
        (
            "kitaru_executions_statistics",
            json!({"group_by": ["flow", "status"], "metrics": ["d:duration:max", "o:output_artifact_count:sum"]}),
        ),
        (
            "kitaru_executions_cohort",
            json!({"flow": "seed_completed", "at": "greet", "limit": 1}),
        ),
        ("kitaru_projects_list", json!({})),
        ("kitaru_projects_current", json!({})),
        ("kitaru_projects_show", json!({"name_or_id": "default"})),
        // Refused by the server's own checks: nothing is pending.
        (
            "kitaru_executions_abort_wait",
            json!({"exec_id": completed, "wait": "w"}),
        ),
        // Native (its lifecycle is in mcp_projects): a refusal, so that
        // the active project stays.
        ("kitaru_projects_use", json!({"name_or_id": "nope-project"})),
        // Native (its lifecycle is in mcp_stacks): a refusal, so that no
        // stack listing changes here.
        (
            "manage_stack",
            json!({"action": "delete", "name": "never-made-stack"}),
        ),
    ];
    // The checks a Python tool makes before it needs Python.
    calls.push(("kitaru_executions_retry", json!({"exec_id": completed})));
    calls.push(("kitaru_executions_resume", json!({"exec_id": completed})));
    calls.push((
        "kitaru_executions_replay",
        json!({"exec_id": completed, "from_": "nope"}),
    ));
    calls.push((
        "kitaru_executions_replay",
        json!({"exec_ids": [completed], "at": "nope"}),
    ));
    calls.push(("kitaru_executions_run", json!({"target": "no-colon"})));
    calls.push(("kitaru_start_local_server", json!({"port": 0})));
    calls.push(("kitaru_deployments_deploy", json!({"target": "no-colon"})));
    calls
}

/// Tools that need Python for their main work.
const PYTHON_TOOLS: [&str; 6] = [
    "kitaru_deployments_deploy",
    "kitaru_executions_resume",
    "kitaru_executions_run",
    "kitaru_executions_replay",
    "kitaru_executions_retry",
    "kitaru_start_local_server",
];

#[test]
fn native_tools_never_start_python_and_python_tools_say_what_to_install() {
    let _stable = kitaru_testkit::executions_lock()
        .read()
        .unwrap_or_else(|p| p.into_inner());
    let bin = tempfile::tempdir().unwrap();
    let marker = bin.path().join("started");
    fake_pythons(bin.path(), &marker);
    let mut command = crate::support::kitaru_mcp();
    command.env("PATH", bin.path());
    let mut peer = StdioPeer::start(command);

    let scope = kitaru_testkit::fresh("no-python");
    let calls = native_calls(&scope);
    for tool in kitaru_mcp::catalog::TOOLS {
        let covered = calls.iter().any(|(name, _)| *name == tool.name)
            || tool.name == "kitaru_stop_local_server";
        assert!(covered, "{} is not called here", tool.name);
    }
    for (tool, arguments) in &calls {
        let answer = peer.call(tool, arguments.clone());
        let text = answer.texts.join(" ");
        assert_ne!(
            answer.error_kind.as_deref(),
            Some("unavailable"),
            "{tool}: {text}"
        );
        assert!(!text.contains("Kitaru installed"), "{tool}: {text}");
        let refused = tool.ends_with("_cancel")
            || tool.ends_with("_input")
            || tool.ends_with("_compact")
            || tool.ends_with("_abort_wait")
            || tool.ends_with("_projects_use")
            || (tool.contains("_deployments_") && !tool.ends_with("_list"))
            || *tool == "manage_stack";
        if !PYTHON_TOOLS.contains(tool) && !refused {
            assert!(!answer.is_error, "{tool}: {text}");
        }
    }
    assert!(
        !marker.exists(),
        "Python was started: {:?}",
        std::fs::read_to_string(&marker)
    );

    // Work that needs Python: one clear error naming what to install.
    let answer = peer.call(
        "kitaru_executions_replay",
        json!({"exec_id": server().str("/seed/completed/exec_id"), "from_": "finalize"}),
    );
    assert!(answer.is_error);
    assert_eq!(
        answer.error_kind.as_deref(),
        Some("unavailable"),
        "{:?}",
        answer.texts
    );
    let text = answer.texts.join(" ");
    assert!(text.contains("pip install kitaru"), "{text}");
    assert!(text.contains("KITARU_PYTHON"), "{text}");
    assert!(
        marker.exists(),
        "the stand-in python3 was asked whether it has kitaru"
    );
}

/// The local server's lifecycle in a config directory of its own.
#[test]
fn the_local_server_starts_serves_the_next_call_and_stops() {
    let config = tempfile::tempdir().unwrap();
    let project = tempfile::tempdir().unwrap();
    let port = kitaru_testkit::free_port();
    let python = server().str("/python").to_owned();
    let isolated = |program: &str| {
        let mut command = Command::new(program);
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", std::env::var_os("HOME").unwrap_or_default())
            .env("ZENML_CONFIG_PATH", config.path())
            .env("KITARU_ANALYTICS_OPT_IN", "false")
            .env("ZENML_ANALYTICS_OPT_IN", "false")
            .env("KITARU_PYTHON", &python)
            .current_dir(project.path());
        command
    };
    let _stop = StopDaemon(isolated(&python));
    let mut peer = StdioPeer::start(isolated(crate::support::KITARU_MCP));

    let nothing = peer.call("kitaru_stop_local_server", json!({}));
    assert_eq!(
        nothing.structured,
        Some(json!({"stopped": false, "url": null}))
    );

    let url = format!("http://127.0.0.1:{port}");
    let started = peer.call(
        "kitaru_start_local_server",
        json!({"port": port, "timeout": 120}),
    );
    assert!(!started.is_error, "{:?}", started.texts);
    assert_eq!(
        started.structured,
        Some(json!({"mode": "local", "url": url, "action": "started"}))
    );
    assert!(healthy(&url), "the daemon answers /health");
    // The same session now talks to it.
    let status = peer.call("kitaru_status", json!({}));
    assert_eq!(
        status.structured.as_ref().unwrap()["server_url"],
        url.as_str()
    );
    let stacks = peer.call("kitaru_stacks_list", json!({}));
    assert!(!stacks.is_error, "{:?}", stacks.texts);

    let again = peer.call("kitaru_start_local_server", json!({"port": port}));
    assert_eq!(again.structured.as_ref().unwrap()["action"], "connected");

    let stopped = peer.call("kitaru_stop_local_server", json!({}));
    assert_eq!(
        stopped.structured,
        Some(json!({"stopped": true, "url": url}))
    );
    assert!(!healthy(&url), "the daemon is gone");
    let status = peer.call("kitaru_status", json!({}));
    assert_ne!(
        status.structured.as_ref().unwrap()["server_url"],
        url.as_str()
    );
}

/// The official Python MCP client checks every result of the local server's
/// lifecycle against the tools' output schemas: nothing to stop, started,
/// connected, stopped — in a config directory of its own.
#[test]
fn local_server_results_match_the_output_schemas_for_the_python_client() {
    let config = tempfile::tempdir().unwrap();
    let project = tempfile::tempdir().unwrap();
    let port = kitaru_testkit::free_port();
    let python = server().str("/python").to_owned();
    let mut stopper = server().command(&python);
    stopper
        .env("ZENML_CONFIG_PATH", config.path())
        .current_dir(project.path());
    let _stop = StopDaemon(stopper);
    let url = format!("http://127.0.0.1:{port}");
    let request = json!({
        "command": [crate::support::KITARU_MCP],
        "cwd": project.path(),
        "env": {"ZENML_CONFIG_PATH": config.path(), "KITARU_PYTHON": python},
        "calls": [
            ["kitaru_stop_local_server", {}],
            ["kitaru_start_local_server", {"port": port, "timeout": 120}],
            ["kitaru_start_local_server", {"port": port}],
            ["kitaru_stop_local_server", {}],
        ],
    });
    let answer = kitaru_testkit::python_module("mcp_client_check", &[], Some(&request));
    let results = answer["results"].as_array().unwrap();
    for result in results {
        assert_eq!(result["invalid"], Value::Null, "{result}");
        assert_eq!(result["is_error"], false, "{result}");
    }
    let structured: Vec<&Value> = results.iter().map(|r| &r["structured"]).collect();
    assert_eq!(
        structured,
        [
            &json!({"stopped": false, "url": null}),
            &json!({"mode": "local", "url": url, "action": "started"}),
            &json!({"mode": "local", "url": url, "action": "connected"}),
            &json!({"stopped": true, "url": url}),
        ]
    );
    assert!(!healthy(&url), "the daemon is gone");
}

/// Bad arguments and an empty config are answered as the reference answers.
#[test]
fn local_server_answers_match_the_reference() {
    let config = tempfile::tempdir().unwrap();
    let isolated = |program: &str| {
        let mut command = server().command(program);
        command
            .env("ZENML_CONFIG_PATH", config.path())
            .env("KITARU_PYTHON", server().str("/python"));
        command
    };
    let mut theirs = StdioPeer::start(isolated(server().str("/kitaru_mcp")));
    let mut ours = StdioPeer::start(isolated(crate::support::KITARU_MCP));
    for arguments in [
        json!({"port": 0}),
        json!({"port": 70000}),
        json!({"timeout": 0}),
    ] {
        let (a, b) = (
            theirs.call("kitaru_start_local_server", arguments.clone()),
            ours.call("kitaru_start_local_server", arguments.clone()),
        );
        assert!(a.is_error && b.is_error, "{arguments}");
        let expected = a.texts.join(" ");
        let expected = expected.rsplit(": ").next().unwrap();
        assert!(
            b.texts.join(" ").contains(expected),
            "{arguments}: {a:?} vs {b:?}"
        );
    }
    let (a, b) = (
        theirs.call("kitaru_stop_local_server", json!({})),
        ours.call("kitaru_stop_local_server", json!({})),
    );
    assert_eq!(a.structured, b.structured);
}

/// Whether `GET <url>/health` answers 200 (plain HTTP/1.0 over a socket).
fn healthy(url: &str) -> bool {
    use std::io::{Read as _, Write as _};
    let address = url.trim_start_matches("http://");
    let Ok(mut stream) = std::net::TcpStream::connect(address) else {
        return false;
    };
    let timeout = Some(std::time::Duration::from_secs(5));
    stream.set_read_timeout(timeout).unwrap();
    let request = format!("GET /health HTTP/1.0\r\nHost: {address}\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer
        .lines()
        .next()
        .is_some_and(|status| status.contains(" 200"))
}

/// Stops a daemon the test may have left running, whatever happened.
struct StopDaemon(Command);

impl Drop for StopDaemon {
    fn drop(&mut self) {
        let _ = self
            .0
            .arg("-c")
            .arg("from kitaru._local_server import stop_registered_local_server as s; s()")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
    }
}
