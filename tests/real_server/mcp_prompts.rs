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
            "deploy_and_invoke",
            "compare_replays",
            "where_time_goes"
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

/// The text `prompt` renders with `arguments`.
fn rendered(prompt: &str, arguments: Value) -> String {
    text(&ours(&[]).request(
        "prompts/get",
        json!({"name": prompt, "arguments": arguments}),
    ))
}

/// The error `prompts/get` answers for `params`.
fn refused(params: Value) -> String {
    let error = ours(&[]).try_request("prompts/get", params).unwrap_err();
    error["message"]
        .as_str()
        .unwrap_or_else(|| panic!("no message: {error}"))
        .to_owned()
}

#[test]
fn read_memory_renders_the_key_and_scope_it_is_given() {
    let memory = rendered(
        "read_memory",
        json!({"key": "style/release_notes", "scope": "repo_docs"}),
    );
    for part in [
        "`style/release_notes`",
        "`repo_docs`",
        "scope_type \"namespace\"",
        "`kitaru_memory_get`",
        "do not overwrite the key",
    ] {
        assert!(memory.contains(part), "{part} in {memory}");
    }
}

#[test]
fn resolve_wait_names_the_execution_and_waits_for_the_users_answer() {
    let waiting = server().str("/seed/waiting/exec_id");
    let resolve = rendered("resolve_wait", json!({"exec_id": waiting}));
    assert!(resolve.contains(waiting), "{resolve}");
    assert!(
        resolve.contains("Do not call `kitaru_executions_input` before I have given it"),
        "{resolve}"
    );
}

#[test]
fn status_check_is_a_read_only_look_at_as_many_executions_as_asked() {
    let status = rendered("status_check", json!({"count": "3"}));
    assert!(status.contains("the 3 latest executions"), "{status}");
    assert!(status.contains("read-only check"), "{status}");
}

#[test]
fn run_flow_runs_the_target_with_its_args_and_leaves_waits_to_the_user() {
    let run = rendered(
        "run_flow",
        json!({"target": "flows/a.py:agent", "inputs": "{\"topic\": \"x\"}"}),
    );
    assert!(
        run.contains("Run `flows/a.py:agent` with args {\"topic\": \"x\"}"),
        "{run}"
    );
    assert!(run.contains("do not answer the wait yourself"), "{run}");
}

#[test]
fn replay_execution_without_arguments_picks_the_latest_failed_one_and_asks_first() {
    let replay = rendered("replay_execution", json!({}));
    assert!(replay.contains("latest failed execution"), "{replay}");
    assert!(
        replay.contains("Ask me to confirm. Only then call `kitaru_executions_replay`"),
        "{replay}"
    );
}

#[test]
fn replay_execution_names_the_execution_and_checkpoint_given() {
    let replay = rendered(
        "replay_execution",
        json!({"exec_id": "e1", "from_": "summarize"}),
    );
    assert!(
        replay.contains("`e1`") && replay.contains("from checkpoint `summarize`"),
        "{replay}"
    );
}

#[test]
fn deploy_and_invoke_deploys_an_exclusive_canary_and_invokes_it() {
    let deploy = rendered(
        "deploy_and_invoke",
        json!({"target": "flows/research.py:research_agent"}),
    );
    assert!(
        deploy.contains("as a `canary` deployment (exclusive)"),
        "{deploy}"
    );
    assert!(deploy.contains("`kitaru_deployments_invoke`"), "{deploy}");
}

#[test]
fn manage_local_stack_makes_local_dev_unless_it_exists() {
    let stack = rendered("manage_local_stack", json!({}));
    assert!(
        stack.contains("named `local-dev` if it does not already exist")
            && stack.contains("`manage_stack`"),
        "{stack}"
    );
}

#[test]
fn inspect_results_looks_at_the_response_artifacts() {
    let results = rendered("inspect_results", json!({}));
    assert!(results.contains("response artifacts"), "{results}");
}

#[test]
fn a_missing_argument_is_refused_naming_it() {
    let missing = refused(json!({"name": "read_memory", "arguments": {"key": "k"}}));
    assert!(missing.contains("needs the argument `scope`"), "{missing}");
}

#[test]
fn an_unknown_argument_is_refused_naming_it() {
    let unknown = refused(json!({"name": "status_check", "arguments": {"colour": "red"}}));
    assert!(unknown.contains("no argument `colour`"), "{unknown}");
}

#[test]
fn an_unknown_prompt_is_refused_listing_the_prompts() {
    let nothing = refused(json!({"name": "nope"}));
    assert!(
        nothing.contains("the prompts are: status_check"),
        "{nothing}"
    );
}

#[test]
fn memory_scopes_complete_from_the_servers_scopes() {
    let scope = server().str("/seed/memory/scope");
    let scopes = complete(
        &mut ours(&[]),
        "read_memory",
        "scope",
        &scope[..4],
        json!({}),
    );
    assert!(scopes.iter().any(|s| s == scope), "{scopes:?}");
    assert!(
        scopes.iter().all(|s| s.starts_with(&scope[..4])),
        "{scopes:?}"
    );
}

#[test]
fn memory_keys_complete_from_the_scopes_live_keys_sorted() {
    let server = server();
    let scope = server.str("/seed/memory/scope");
    let keys = complete(
        &mut ours(&[]),
        "read_memory",
        "key",
        "",
        json!({"scope": scope}),
    );
    let live: Vec<String> =
        serde_json::from_value(server.get("/seed/memory/live_keys").clone()).unwrap();
    assert_eq!(keys, live, "the keys holding a value, sorted");
}

#[test]
fn fixed_choices_complete_from_their_values() {
    let mut peer = ours(&[]);
    assert_eq!(
        complete(&mut peer, "read_memory", "scope_type", "ex", json!({})),
        ["execution"]
    );
    assert_eq!(
        complete(&mut peer, "inspect_results", "kind", "re", json!({})),
        ["response"]
    );
}

#[test]
fn stack_names_complete_from_the_servers_stacks() {
    assert_eq!(
        complete(
            &mut ours(&[]),
            "manage_local_stack",
            "name",
            "def",
            json!({})
        ),
        ["default"]
    );
}

#[test]
fn execution_ids_complete_from_the_waiting_executions_only() {
    let server = server();
    let waiting = server.str("/seed/waiting/exec_id");
    let exec_ids = complete(
        &mut ours(&[]),
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
}

#[test]
fn flow_names_complete_from_the_servers_flows() {
    let flow = server().str("/seed/completed/flow_name");
    let flows = complete(
        &mut ours(&[]),
        "inspect_results",
        "flow",
        &flow[..5],
        json!({}),
    );
    assert!(flows.iter().any(|f| f == flow), "{flows:?}");
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
    assert_eq!(
        names,
        [
            "status_check",
            "inspect_results",
            "read_memory",
            "compare_replays",
            "where_time_goes"
        ]
    );
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
}

#[test]
fn a_toolset_offers_only_the_prompts_its_tools_serve() {
    let listed = ours(&["--toolsets", "memory"]).request("prompts/list", json!({}));
    let names: Vec<&str> = listed["prompts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["read_memory"], "{listed}");
}

#[test]
fn where_time_goes_asks_for_the_statistics_it_names_and_changes_nothing() {
    let flow = server().str("/seed/completed/flow_name");
    let text = rendered("where_time_goes", json!({"by": "time:day", "flow": flow}));
    for part in [
        "`kitaru_executions_statistics`",
        "group_by [\"time:day\"], flow \"",
        "\"llm_display_cost\"",
        "read-only",
    ] {
        assert!(text.contains(part), "{part} in {text}");
    }
    assert!(text.contains(flow), "{text}");
    let default = rendered("where_time_goes", json!({}));
    assert!(default.contains("group_by [\"flow\"] and"), "{default}");
    // The metrics it names are ones the tool accepts.
    let mut peer = ours(&[]);
    let answer = peer.call(
        "kitaru_executions_statistics",
        json!({"group_by": ["flow"], "metrics": [
            "mean_seconds:duration:avg", "longest_seconds:duration:max",
            "mean_checkpoints:step_count:avg", "llm_total_tokens", "llm_display_cost"
        ]}),
    );
    assert!(!answer.is_error, "{:?}", answer.texts);
    // Its arguments complete: the groupings, and flows from the server.
    let by = complete(&mut peer, "where_time_goes", "by", "time", json!({}));
    assert_eq!(by, ["time:day", "time:week"]);
    let flows = complete(&mut peer, "where_time_goes", "flow", &flow[..4], json!({}));
    assert!(flows.iter().any(|f| f == flow), "{flows:?}");
}

#[test]
fn compare_replays_diffs_the_execution_given_or_the_latest_completed_one() {
    let completed = server().str("/seed/completed/exec_id");
    let given = rendered("compare_replays", json!({"exec_id": completed}));
    for part in [
        completed,
        "`kitaru_executions_diff`",
        "`original`",
        "read-only",
    ] {
        assert!(given.contains(part), "{part} in {given}");
    }
    let latest = rendered("compare_replays", json!({}));
    assert!(
        latest.contains("`kitaru_executions_latest` (status \"completed\")"),
        "{latest}"
    );
    // The call it asks for works, and its execution ids complete from the
    // completed executions.
    let mut peer = ours(&[]);
    let answer = peer.call("kitaru_executions_diff", json!({"original": completed}));
    assert!(!answer.is_error, "{:?}", answer.texts);
    let ids = complete(
        &mut peer,
        "compare_replays",
        "exec_id",
        &completed[..6],
        json!({}),
    );
    assert!(ids.iter().any(|id| id == completed), "{ids:?}");
}
