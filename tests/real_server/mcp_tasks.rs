//! Executions as MCP tasks, and waits answered by elicitation, against real
//! flows: a client that declares the tasks extension gets a task for each
//! started execution, follows it with `tasks/get`, answers its wait with
//! `tasks/update` and cancels it with `tasks/cancel`; a client that takes
//! elicitation requests is asked the wait's question during the call.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use kitaru_testkit::{StdioPeer, install_flow_module, server};

const TASKS: &str = "io.modelcontextprotocol/tasks";
const FLOWS: &str = "flows/extra_replay.py";

/// Our server from the seeded project, flows run by the harness's Python,
/// the session declaring `capabilities`.
fn ours(capabilities: Value) -> StdioPeer {
    install_flow_module("extra_replay");
    let mut command = crate::support::kitaru_mcp();
    command.env("KITARU_PYTHON", server().str("/python"));
    let mut peer = StdioPeer::spawn(command);
    let answer = peer.initialize_with("2025-11-25", capabilities);
    assert!(
        answer["capabilities"]["extensions"].get(TASKS).is_some(),
        "the server declares tasks: {answer}"
    );
    peer
}

fn tasks_client() -> StdioPeer {
    ours(json!({"extensions": {TASKS: {}}}))
}

/// Starts `flow` as a task; returns the task as created.
fn start_task(peer: &mut StdioPeer, flow: &str, topic: &str) -> Value {
    let created = peer.request(
        "tools/call",
        json!({"name": "kitaru_executions_run",
               "arguments": {"target": format!("{FLOWS}:{flow}"), "args": {"topic": topic}}}),
    );
    assert_eq!(created["resultType"], "task", "{created}");
    assert!(created["taskId"].as_str().is_some_and(|id| !id.is_empty()));
    created
}

/// Polls `tasks/get` until the task's status is one of `wanted`; returns
/// the statuses seen on the way (in order, without repeats) and the last
/// answer.
fn poll_until(peer: &mut StdioPeer, task_id: &str, wanted: &[&str]) -> (Vec<String>, Value) {
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut seen: Vec<String> = Vec::new();
    loop {
        let task = peer.request("tasks/get", json!({"taskId": task_id}));
        let status = task["status"].as_str().unwrap().to_owned();
        if seen.last() != Some(&status) {
            seen.push(status.clone());
        }
        if wanted.contains(&status.as_str()) {
            return (seen, task);
        }
        assert!(Instant::now() < deadline, "task stuck in {seen:?}: {task}");
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The execution's status as the server reports it, read with the SDK.
pub(crate) fn server_status(exec_id: &str) -> String {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let kitaru = server().kitaru().await;
        let execution = kitaru_sdk::executions::get(&kitaru, exec_id).await.unwrap();
        serde_json::to_value(execution.summary.status)
            .unwrap()
            .as_str()
            .unwrap()
            .to_owned()
    })
}

#[test]
fn a_run_as_a_task_goes_from_working_to_completed_with_the_execution_as_result() {
    let _changing = kitaru_testkit::executions_lock()
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let mut peer = tasks_client();
    let created = start_task(&mut peer, "research_agent", "tasks");
    assert_eq!(created["status"], "working", "{created}");
    assert!(created["pollIntervalMs"].as_u64().is_some());
    let task_id = created["taskId"].as_str().unwrap();

    let (seen, done) = poll_until(&mut peer, task_id, &["completed", "failed", "cancelled"]);
    assert_eq!(seen.last().map(String::as_str), Some("completed"), "{done}");
    assert!(
        seen.iter().all(|s| s == "working" || s == "completed"),
        "{seen:?}"
    );
    let payload = &done["result"]["structuredContent"];
    assert_eq!(payload["target"], format!("{FLOWS}:research_agent"));
    assert_eq!(payload["execution"]["status"], "completed");
    assert_eq!(payload["execution"]["checkpoint_count"], 2);
    let exec_id = payload["exec_id"].as_str().unwrap();
    assert_eq!(server_status(exec_id), "completed");

    // The task is the execution: a new server process answers for it.
    drop(peer);
    let mut again = tasks_client();
    let (_, same) = poll_until(&mut again, task_id, &["completed"]);
    assert_eq!(
        same["result"]["structuredContent"]["execution"]["exec_id"],
        exec_id
    );
}

#[test]
fn a_waiting_task_asks_for_input_and_completes_with_the_answer() {
    let _changing = kitaru_testkit::executions_lock()
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let mut peer = tasks_client();
    let task_id = start_task(&mut peer, "waits_long", "tasks-input")["taskId"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, waiting) = poll_until(&mut peer, &task_id, &["input_required"]);
    let requests = waiting["inputRequests"]
        .as_object()
        .expect("input requests");
    assert_eq!(requests.len(), 1, "{waiting}");
    let (key, request) = requests.iter().next().unwrap();
    assert_eq!(request["method"], "elicitation/create");
    assert_eq!(request["params"]["message"], "Publish?");
    assert_eq!(
        request["params"]["requestedSchema"],
        json!({"type": "object", "properties": {"value": {"type": "boolean"}}, "required": ["value"]})
    );

    // Declined: it keeps waiting.
    peer.request(
        "tasks/update",
        json!({"taskId": task_id, "inputResponses": {key.as_str(): {"action": "decline"}}}),
    );
    assert_eq!(
        peer.request("tasks/get", json!({"taskId": task_id}))["status"],
        "input_required"
    );
    // A key that is not outstanding is refused.
    let wrong = peer
        .try_request(
            "tasks/update",
            json!({"taskId": task_id, "inputResponses": {"wait:other": {"action": "accept", "content": {"value": true}}}}),
        )
        .unwrap_err();
    assert!(
        wrong["message"]
            .as_str()
            .unwrap()
            .contains("no outstanding input request"),
        "{wrong}"
    );

    peer.request(
        "tasks/update",
        json!({"taskId": task_id, "inputResponses": {key.as_str(): {"action": "accept", "content": {"value": true}}}}),
    );
    let (_, done) = poll_until(&mut peer, &task_id, &["completed", "failed", "cancelled"]);
    let execution = &done["result"]["structuredContent"]["execution"];
    assert_eq!(execution["status"], "completed", "{done}");
    let published = execution["checkpoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|checkpoint| checkpoint["name"] == "publish_answer")
        .expect("publish_answer ran");
    assert_eq!(published["status"], "completed");
    // The flow got the value: its last checkpoint's output says so.
    let artifact_id = published["artifacts"][0]["artifact_id"].clone();
    let artifact = peer.call("kitaru_artifacts_get", json!({"artifact_id": artifact_id}));
    assert_eq!(
        artifact.structured.unwrap()["value"],
        "may I publish tasks-input? approved=True"
    );
}

#[test]
fn cancelling_the_task_cancels_the_execution() {
    let _changing = kitaru_testkit::executions_lock()
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let mut peer = tasks_client();
    let created = start_task(&mut peer, "waits_long", "tasks-cancel");
    let task_id = created["taskId"].as_str().unwrap().to_owned();
    let (_, waiting) = poll_until(&mut peer, &task_id, &["input_required"]);
    assert_eq!(
        waiting["_meta"]["kitaru/exec_id"],
        created["_meta"]["kitaru/exec_id"]
    );
    peer.request("tasks/cancel", json!({"taskId": task_id}));
    let (_, cancelled) = poll_until(&mut peer, &task_id, &["cancelled"]);
    assert_eq!(cancelled["status"], "cancelled");
    let exec_id = cancelled["_meta"]["kitaru/exec_id"].as_str().unwrap();
    assert_eq!(server_status(exec_id), "cancelled", "verified over REST");
}

#[test]
fn without_the_extension_a_run_answers_in_the_call_and_a_wait_is_asked_by_elicitation() {
    let _changing = kitaru_testkit::executions_lock()
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let mut peer = ours(json!({"elicitation": {"form": {}}}));
    peer.answer_requests_with(|request| {
        assert_eq!(request["method"], "elicitation/create");
        json!({"action": "accept", "content": {"value": false}})
    });
    let answer = peer.call(
        "kitaru_executions_run",
        json!({"target": format!("{FLOWS}:waits_long"), "args": {"topic": "elicited"}, "max_wait_seconds": 240}),
    );
    assert!(!answer.is_error, "{:?}", answer.texts);
    let payload = answer.structured.unwrap();
    assert_eq!(payload["execution"]["status"], "completed", "{payload}");
    assert_eq!(peer.server_requests.len(), 1, "asked once");
    assert_eq!(peer.server_requests[0]["params"]["message"], "Publish?");

    // A declined question leaves the execution waiting, its question in the answer.
    let mut peer = ours(json!({"elicitation": {}}));
    peer.answer_requests_with(|_| json!({"action": "decline"}));
    let answer = peer.call(
        "kitaru_executions_run",
        json!({"target": format!("{FLOWS}:waits_long"), "args": {"topic": "declined"}, "max_wait_seconds": 240}),
    );
    let payload = answer.structured.unwrap();
    assert_eq!(payload["execution"]["status"], "waiting", "{payload}");
    assert_eq!(payload["execution"]["pending_wait"]["question"], "Publish?");
    let exec_id = payload["exec_id"].as_str().unwrap();
    // (The local orchestrator cannot stop the process: the call says so, and
    // the execution reads as cancelled.)
    peer.call("kitaru_executions_cancel", json!({"exec_id": exec_id}));
    assert_eq!(server_status(exec_id), "cancelled");
}

/// Where the Kitaru server streams execution events, a running task's
/// status message carries what its checkpoint last reported (`crawl`
/// reports each page it reads with `kitaru.progress`); elsewhere it says
/// only that the execution runs.
#[test]
fn a_running_task_says_what_its_checkpoint_reported() {
    let _changing = kitaru_testkit::executions_lock()
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let mut peer = tasks_client();
    let created = peer.request(
        "tools/call",
        json!({"name": "kitaru_executions_run",
               "arguments": {"target": format!("{FLOWS}:reports_progress"),
                             "args": {"pages": 3, "seconds": 3.0,
                                      "batch": kitaru_testkit::fresh("task")}}}),
    );
    assert_eq!(created["resultType"], "task", "{created}");
    let task_id = created["taskId"].as_str().unwrap();
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut messages: Vec<String> = Vec::new();
    let done = loop {
        let task = peer.request("tasks/get", json!({"taskId": task_id}));
        if task["status"] != "working" {
            break task;
        }
        let message = task["statusMessage"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if messages.last() != Some(&message) {
            messages.push(message);
        }
        assert!(Instant::now() < deadline, "stuck: {messages:?}");
        std::thread::sleep(Duration::from_millis(500));
    };
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(
        done["result"]["structuredContent"]["execution"]["status"],
        "completed"
    );
    let reported: Vec<&String> = messages
        .iter()
        .filter(|message| message.contains(" of 3 ("))
        .collect();
    if server().streams_events() {
        assert!(
            messages
                .iter()
                .any(|message| message.ends_with(" so far). page 1 of 3 (33%).")),
            "{messages:#?}"
        );
        assert!(reported.len() >= 2, "{messages:#?}");
    } else {
        assert!(reported.is_empty(), "{messages:#?}");
    }
}
