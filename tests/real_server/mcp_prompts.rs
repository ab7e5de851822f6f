//! Prompts over stdio: listed with their arguments, rendered with the
//! arguments given, completed from the seeded server's real data, and
//! offered only with the tools they need.

use serde_json::{Value, json};

use kitaru_testkit::{StdioPeer, server};

use crate::support::ours;

fn text(result: &Value) -> String {
    result["messages"][0]["content"]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("no text message: {result}"))
        .to_owned()
}

fn complete(
    peer: &mut StdioPeer,
    prompt: &str,
    argument: &str,
    typed: &str,
    context: Value,
) -> Vec<String> {
    let answer = peer.request(
        "completion/complete",
        json!({
            "ref": {"type": "ref/prompt", "name": prompt},
            "argument": {"name": argument, "value": typed},
            "context": {"arguments": context},
        }),
    );
    serde_json::from_value(answer["completion"]["values"].clone()).unwrap()
}

#[test]
fn prompts_are_listed_with_their_arguments() {
    let mut peer = ours(&[]);
    let listed = peer.request("prompts/list", json!({}));
    let prompts = listed["prompts"].as_array().unwrap();
    let names: Vec<&str> = prompts
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "status_check",
            "run_flow",
            "resolve_wait",
            "replay_execution",
            "inspect_results",
            "read_memory",
            "manage_local_stack",
            "deploy_and_invoke"
        ]
    );
    let read_memory = &prompts[5];
    assert_eq!(read_memory["title"], "Read durable memory safely");
    let arguments: Vec<(&str, bool)> = read_memory["arguments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["name"].as_str().unwrap(),
                a["required"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        arguments,
        [("key", true), ("scope", true), ("scope_type", false)]
    );
}

#[test]
fn prompts_render_the_safe_sequence_with_the_arguments_given() {
    let server = server();
    let mut peer = ours(&[]);
    let memory = peer.request(
        "prompts/get",
        json!({"name": "read_memory", "arguments": {"key": "style/release_notes", "scope": "repo_docs"}}),
    );
    let memory = text(&memory);
    for part in [
        "`style/release_notes`",
        "`repo_docs`",
        "scope_type \"namespace\"",
        "`kitaru_memory_get`",
        "do not overwrite the key",
    ] {
        assert!(memory.contains(part), "{part} in {memory}");
    }
    let waiting = server.str("/seed/waiting/exec_id");
    let resolve = peer.request(
        "prompts/get",
        json!({"name": "resolve_wait", "arguments": {"exec_id": waiting}}),
    );
    let resolve = text(&resolve);
    assert!(resolve.contains(waiting), "{resolve}");
    assert!(
        resolve.contains("Do not call `kitaru_executions_input` before I have given it"),
        "{resolve}"
    );
    let status = text(&peer.request(
        "prompts/get",
        json!({"name": "status_check", "arguments": {"count": "3"}}),
    ));
    assert!(status.contains("the 3 latest executions"), "{status}");
    assert!(status.contains("read-only check"), "{status}");
    let run = text(&peer.request(
        "prompts/get",
        json!({"name": "run_flow", "arguments": {"target": "flows/a.py:agent", "inputs": "{\"topic\": \"x\"}"}}),
    ));
    assert!(
        run.contains("Run `flows/a.py:agent` with args {\"topic\": \"x\"}"),
        "{run}"
    );
    assert!(run.contains("do not answer the wait yourself"), "{run}");
    let replay = text(&peer.request("prompts/get", json!({"name": "replay_execution"})));
    assert!(replay.contains("latest failed execution"), "{replay}");
    assert!(
        replay.contains("Ask me to confirm. Only then call `kitaru_executions_replay`"),
        "{replay}"
    );
    let replay = text(&peer.request(
        "prompts/get",
        json!({"name": "replay_execution", "arguments": {"exec_id": "e1", "from_": "summarize"}}),
    ));
    assert!(
        replay.contains("`e1`") && replay.contains("from checkpoint `summarize`"),
        "{replay}"
    );
    let deploy = text(&peer.request(
        "prompts/get",
        json!({"name": "deploy_and_invoke", "arguments": {"target": "flows/research.py:research_agent"}}),
    ));
    assert!(
        deploy.contains("as a `canary` deployment (exclusive)"),
        "{deploy}"
    );
    assert!(deploy.contains("`kitaru_deployments_invoke`"), "{deploy}");
    let stack = text(&peer.request("prompts/get", json!({"name": "manage_local_stack"})));
    assert!(
        stack.contains("named `local-dev` if it does not already exist")
            && stack.contains("`manage_stack`"),
        "{stack}"
    );
    assert_eq!(
        complete(&mut peer, "manage_local_stack", "name", "def", json!({})),
        ["default"]
    );
    let results = text(&peer.request("prompts/get", json!({"name": "inspect_results"})));
    assert!(results.contains("response artifacts"), "{results}");

    // Missing or unknown arguments, unknown prompts: errors that say so.
    let missing = peer
        .try_request(
            "prompts/get",
            json!({"name": "read_memory", "arguments": {"key": "k"}}),
        )
        .unwrap_err();
    assert!(
        missing["message"]
            .as_str()
            .unwrap()
            .contains("needs the argument `scope`"),
        "{missing}"
    );
    let unknown = peer
        .try_request(
            "prompts/get",
            json!({"name": "status_check", "arguments": {"colour": "red"}}),
        )
        .unwrap_err();
    assert!(
        unknown["message"]
            .as_str()
            .unwrap()
            .contains("no argument `colour`"),
        "{unknown}"
    );
    let nothing = peer
        .try_request("prompts/get", json!({"name": "nope"}))
        .unwrap_err();
    assert!(
        nothing["message"]
            .as_str()
            .unwrap()
            .contains("the prompts are: status_check"),
        "{nothing}"
    );
}

#[test]
fn arguments_complete_from_the_servers_data() {
    let server = server();
    let mut peer = ours(&[]);
    let scope = server.str("/seed/memory/scope");
    let scopes = complete(&mut peer, "read_memory", "scope", &scope[..4], json!({}));
    assert!(scopes.iter().any(|s| s == scope), "{scopes:?}");
    assert!(
        scopes.iter().all(|s| s.starts_with(&scope[..4])),
        "{scopes:?}"
    );
    let keys = complete(&mut peer, "read_memory", "key", "", json!({"scope": scope}));
    let live: Vec<String> =
        serde_json::from_value(server.get("/seed/memory/live_keys").clone()).unwrap();
    assert_eq!(keys, live, "the keys holding a value, sorted");
    assert_eq!(
        complete(&mut peer, "read_memory", "scope_type", "ex", json!({})),
        ["execution"]
    );
    let waiting = server.str("/seed/waiting/exec_id");
    let exec_ids = complete(
        &mut peer,
        "resolve_wait",
        "exec_id",
        &waiting[..6],
        json!({}),
    );
    assert!(exec_ids.iter().any(|id| id == waiting), "{exec_ids:?}");
    let completed = server.str("/seed/completed/exec_id");
    assert!(
        !exec_ids.iter().any(|id| id == completed),
        "only waiting executions"
    );
    let flow = server.str("/seed/completed/flow_name");
    let flows = complete(&mut peer, "inspect_results", "flow", &flow[..5], json!({}));
    assert!(flows.iter().any(|f| f == flow), "{flows:?}");
    assert_eq!(
        complete(&mut peer, "inspect_results", "kind", "re", json!({})),
        ["response"]
    );
}

#[test]
fn read_only_mode_drops_the_prompts_that_change_executions() {
    let mut peer = ours(&["--read-only"]);
    let listed = peer.request("prompts/list", json!({}));
    let names: Vec<&str> = listed["prompts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["status_check", "inspect_results", "read_memory"]);
    let refused = peer
        .try_request("prompts/get", json!({"name": "resolve_wait"}))
        .unwrap_err();
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("is not available"),
        "{refused}"
    );
    let mut peer = self::ours(&["--toolsets", "memory"]);
    let listed = peer.request("prompts/list", json!({}));
    assert_eq!(listed["prompts"].as_array().unwrap().len(), 1, "{listed}");
}
