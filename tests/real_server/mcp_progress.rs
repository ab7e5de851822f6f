//! Following an execution with progress notifications: `kitaru_executions_watch`
//! (and run, replay, retry) send one per look at the execution when the
//! call carries a progress token, before the result.

use serde_json::{Value, json};

use kitaru_testkit::{FLOWS, StdioPeer, executions_lock, launch_options, server};

/// Calls `tool` with a progress token; returns the result's structured
/// content and the progress notifications that came with it.
fn call_with_progress(
    peer: &mut StdioPeer,
    tool: &str,
    arguments: Value,
    token: &str,
) -> (Value, Vec<Value>) {
    let result = peer.request(
        "tools/call",
        json!({"name": tool, "arguments": arguments, "_meta": {"progressToken": token}}),
    );
    assert_ne!(result["isError"], true, "{tool}: {result}");
    let progress = peer
        .take_notifications("notifications/progress")
        .into_iter()
        .map(|n| n["params"].clone())
        .filter(|params| params["progressToken"] == token)
        .collect();
    (result["structuredContent"].clone(), progress)
}

#[test]
fn watching_an_execution_reports_progress_until_it_ends() {
    let _changing = executions_lock().write().unwrap_or_else(|p| p.into_inner());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let kitaru = runtime.block_on(server().kitaru());
    let args = json!({"topic": "progress"}).as_object().cloned().unwrap();
    let started = runtime
        .block_on(kitaru_sdk::executions::run(
            &kitaru,
            &format!("{FLOWS}:waits_long"),
            &args,
            None,
            &launch_options(),
        ))
        .unwrap();
    let exec_id = started.exec_id;

    let mut command = crate::support::kitaru_mcp();
    command.env("KITARU_PYTHON", server().str("/python"));
    let mut peer = StdioPeer::start(command);

    // Waiting for input: one look, and the answer.
    let (execution, progress) = call_with_progress(
        &mut peer,
        "kitaru_executions_watch",
        json!({"exec_id": exec_id, "max_wait_seconds": 30}),
        "w1",
    );
    assert_eq!(execution["status"], "waiting");
    assert_eq!(progress.len(), 1, "{progress:?}");
    assert_eq!(progress[0]["progress"], 1.0);
    assert_eq!(
        progress[0]["message"],
        "waiting, at ask (1 checkpoint done)"
    );

    // Given its input, it runs on and ends while watched.
    runtime
        .block_on(kitaru_sdk::executions::input(
            &kitaru,
            &exec_id,
            "go",
            json!(true),
        ))
        .unwrap();
    let (execution, progress) = call_with_progress(
        &mut peer,
        "kitaru_executions_watch",
        json!({"exec_id": exec_id, "max_wait_seconds": 120}),
        "w2",
    );
    assert_eq!(execution["status"], "completed", "{execution}");
    let looks: Vec<f64> = progress
        .iter()
        .map(|p| p["progress"].as_f64().unwrap())
        .collect();
    assert!(
        looks.windows(2).all(|w| w[0] < w[1]),
        "progress only grows: {looks:?}"
    );
    let last = progress.last().expect("progress notifications");
    assert_eq!(
        last["message"],
        "completed, at publish_answer (2 checkpoints done)"
    );

    // Without a token, no notifications.
    let answer = peer.call("kitaru_executions_watch", json!({"exec_id": exec_id}));
    assert!(!answer.is_error);
    assert!(peer.take_notifications("notifications/progress").is_empty());
}

/// Where the Kitaru server streams execution events, `watch`'s progress
/// notifications carry what the running checkpoint reported of itself.
#[test]
fn watching_reports_what_the_checkpoint_reported() {
    let _changing = executions_lock().write().unwrap_or_else(|p| p.into_inner());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let kitaru = runtime.block_on(server().kitaru());
    let args = json!({"pages": 2, "seconds": 3.0})
        .as_object()
        .cloned()
        .unwrap();
    let mut options = launch_options();
    options.settle = std::time::Duration::ZERO;
    let started = runtime
        .block_on(kitaru_sdk::executions::run(
            &kitaru,
            &format!("{FLOWS}:reports_progress"),
            &args,
            None,
            &options,
        ))
        .unwrap();
    let mut peer = StdioPeer::start(crate::support::kitaru_mcp());
    let (execution, progress) = call_with_progress(
        &mut peer,
        "kitaru_executions_watch",
        json!({"exec_id": started.exec_id, "max_wait_seconds": 120}),
        "p1",
    );
    assert_eq!(execution["status"], "completed", "{execution}");
    let messages: Vec<&str> = progress
        .iter()
        .filter_map(|p| p["message"].as_str())
        .collect();
    let reported = messages
        .iter()
        .any(|m| m.starts_with("running, at crawl (") && m.ends_with("done): page 1 of 2 (50%)"));
    assert_eq!(reported, server().streams_events(), "{messages:#?}");
}
