//! Parity of run, replay and retry: the same flow run, the same replay of
//! one source, and the same bad calls, through the reference and ours. The
//! reference runs the flow inside its own process; ours in the harness's
//! Kitaru Python through the bridge.

use serde_json::{Value, json};

use super::{assert_same_answers, execution_fixes, ours, reference, strs};
use kitaru_testkit::{executions_lock, install_flow_module, server};

const AGENT: &str = "flows/extra_replay.py:research_agent";

/// Calls `tool` with `arguments` on both servers (the reference first),
/// holding off listing tests, and compares their answers.
pub(super) fn same_launch(tool: &str, arguments: &Value, allowed: &[&str]) -> (Value, Value) {
    let _changing = executions_lock()
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    install_flow_module("extra_replay");
    let theirs = reference().call(tool, arguments.clone());
    let ours = ours().call(tool, arguments.clone());
    assert_same_answers(tool, arguments, theirs, ours, allowed)
}

#[test]
fn a_flow_run_and_its_replay_match() {
    let allowed = execution_fixes("/execution");
    let (theirs, ours) = same_launch(
        "kitaru_executions_run",
        &json!({"target": AGENT, "args": {"topic": "parity"}}),
        &strs(&allowed),
    );
    assert_eq!(ours["execution"]["status"], "completed");
    assert_eq!(ours["target"], AGENT);
    // The reference's run is the source of the replays through both.
    let source = theirs["exec_id"].as_str().unwrap().to_owned();
    assert_ne!(source, ours["exec_id"].as_str().unwrap());
    let replay = json!({
        "exec_id": source,
        "from_": "summarize",
        "overrides": {"checkpoint.gather_sources": "OVERRIDDEN NOTES"},
        "flow_inputs": {"topic": "replayed"},
    });
    let ours = if server().line() == kitaru_testkit::Line::V0_21 {
        // The 0.21 reference takes its new replay form only: ours alone
        // (the 0.21 form is compared in `tools_v`).
        ours_only_launch("kitaru_executions_replay", &replay)
    } else {
        same_launch("kitaru_executions_replay", &replay, &strs(&allowed)).1
    };
    assert_eq!(ours["operation"], "replay");
    assert_eq!(ours["execution"]["status"], "completed", "{ours}");
    assert_eq!(ours["execution"]["original_exec_id"], source.as_str());
}

/// Calls `tool` on ours alone (holding off listing tests): its payload.
pub(super) fn ours_only_launch(tool: &str, arguments: &Value) -> Value {
    let _changing = executions_lock()
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    install_flow_module("extra_replay");
    let answer = ours().call(tool, arguments.clone());
    assert!(!answer.is_error, "{tool} {arguments}: {:?}", answer.texts);
    answer.structured.unwrap()
}

#[test]
fn bad_runs_fail_alike() {
    for target in [
        "flows/extra_replay.py",
        "flows/missing.py:agent",
        "flows/extra_replay.py:nope",
    ] {
        same_launch("kitaru_executions_run", &json!({"target": target}), &[]);
    }
    same_launch(
        "kitaru_executions_run",
        &json!({"target": AGENT, "args": {"nope": 1}}),
        &[],
    );
}

#[test]
fn bad_replays_fail_alike() {
    if server().line() == kitaru_testkit::Line::V0_21 {
        eprintln!("the 0.21 reference takes only its new replay form: compared in tools_v");
        return;
    }
    let completed = server().str("/seed/completed/exec_id");
    for (from, overrides) in [
        ("greet", json!({"wait.approve": true})),
        ("greet", json!({"greeting": 1})),
        ("greet", json!({"checkpoint. ": 1})),
        ("nope", json!({})),
        ("gather", json!({"checkpoint.pair": 1})),
        ("gather", json!({"checkpoint.finalize": 1})),
        ("  ", json!({})),
    ] {
        same_launch(
            "kitaru_executions_replay",
            &json!({"exec_id": completed, "from_": from, "overrides": overrides}),
            &[],
        );
    }
    same_launch(
        "kitaru_executions_replay",
        &json!({"exec_id": "nope", "from_": "greet"}),
        &[],
    );
}

#[test]
fn bad_retries_fail_alike() {
    let completed = server().str("/seed/completed/exec_id");
    let waiting = server().str("/seed/waiting/exec_id");
    for exec_id in [completed, waiting, "nope"] {
        same_launch("kitaru_executions_retry", &json!({"exec_id": exec_id}), &[]);
    }
}
