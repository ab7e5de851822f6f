//! Parity of the tools kitaru-mcp 0.21 added (secrets list, projects,
//! aborting a wait, cohorts) with the 0.21 reference; on a 0.10 server the
//! reference has none of them (their behaviour there is tested in
//! `mcp_stdio` and the SDK's suite).

use serde_json::json;

use super::{
    assert_same_answers, execution_fixes, ours, reference, same_change, same_payload, strs,
};
use kitaru_testkit::{Line, server};

/// Whether the reference of the server's line has the 0.21 tools; says so
/// when it has not.
fn reference_has_them() -> bool {
    let has = server().line() == Line::V0_21;
    if !has {
        eprintln!(
            "the {} reference has no such tool: nothing to compare",
            server().line()
        );
    }
    has
}

/// What ours fixes in the reference's secret list.
const KEYS_READ: [&str; 2] = ["/result/*/keys", "/result/*/has_missing_values"];

#[test]
fn secrets_list_pages_alike() {
    if !reference_has_them() {
        return;
    }
    // Other tests create secrets meanwhile: compare only answers given
    // while ours answered the same before and after the reference's.
    for arguments in [
        json!({}),
        json!({"page": 1, "size": 1}),
        json!({"page": 2, "size": 2}),
        json!({"size": 1000}),
        json!({"page": 1000}),
    ] {
        let mut compared = false;
        for _ in 0..5 {
            let before = ours().call("kitaru_secrets_list", arguments.clone());
            let theirs = reference().call("kitaru_secrets_list", arguments.clone());
            let after = ours().call("kitaru_secrets_list", arguments.clone());
            if before.structured != after.structured {
                continue;
            }
            // The reference lists every secret with no keys (the server's
            // list carries no values): ours reads them (a documented fix).
            let (_, ours) =
                assert_same_answers("kitaru_secrets_list", &arguments, theirs, after, &KEYS_READ);
            let listed = ours["result"].as_array().unwrap();
            for secret in listed {
                assert_eq!(
                    secret.as_object().unwrap().len(),
                    5,
                    "metadata only: {secret}"
                );
            }
            if arguments == json!({"size": 1000}) {
                let seeded = server().str("/seed/secret/name");
                let seeded = listed
                    .iter()
                    .find(|s| s["name"] == seeded)
                    .expect("the seeded secret");
                assert_eq!(
                    seeded["keys"],
                    server().get("/seed/secret/keys").clone(),
                    "{ours}"
                );
                let text = ours.to_string();
                for value in server()
                    .get("/seed/secret_values")
                    .as_object()
                    .unwrap()
                    .values()
                {
                    assert!(!text.contains(value.as_str().unwrap()), "a value was shown");
                }
            }
            compared = true;
            break;
        }
        assert!(compared, "the secrets kept changing: {arguments}");
    }
    for arguments in [
        json!({"page": 0}),
        json!({"size": 0}),
        json!({"page": -1, "size": 5}),
    ] {
        same_payload("kitaru_secrets_list", arguments, &[]);
    }
}

#[test]
fn projects_read_alike() {
    if !reference_has_them() {
        return;
    }
    let (_, listed) = same_payload("kitaru_projects_list", json!({}), &[]);
    let listed = listed.structured.unwrap();
    let projects = listed["result"].as_array().unwrap();
    assert_eq!(
        projects.iter().filter(|p| p["is_active"] == true).count(),
        1,
        "{listed}"
    );
    let (_, current) = same_payload("kitaru_projects_current", json!({}), &[]);
    let current = current.structured.unwrap();
    assert_eq!(current["id"], server().str("/seed/project/id"));
    let id = current["id"].as_str().unwrap().to_owned();
    for selector in [
        json!(id),
        json!(current["name"]),
        json!(&id[..8]),
        json!(format!("  {}  ", current["name"].as_str().unwrap())),
        json!("nope"),
        json!("   "),
        json!("00000000-0000-4000-8000-000000000000"),
    ] {
        same_payload("kitaru_projects_show", json!({"name_or_id": selector}), &[]);
    }
}

/// `use` the reference refuses on a server that is not ZenML Pro; ours
/// makes the project the active one (a documented difference), so it is
/// tested in `mcp_stdio`; here the refusal of bad selectors is the same.
#[test]
fn projects_use_refuses_bad_selectors_alike() {
    if !reference_has_them() {
        return;
    }
    let theirs = reference().call("kitaru_projects_use", json!({"name_or_id": "default"}));
    assert!(theirs.is_error);
    assert!(
        theirs.texts[0].contains("requires a ZenML Pro/Cloud server"),
        "{:?}",
        theirs.texts
    );
    let ours = ours().call("kitaru_projects_use", json!({"name_or_id": "   "}));
    assert_eq!(
        ours.error_kind.as_deref(),
        Some("invalid_argument"),
        "{:?}",
        ours.texts
    );
    assert!(
        ours.texts[0].contains("Project name_or_id cannot be empty."),
        "{:?}",
        ours.texts
    );
}

#[test]
fn aborting_a_wait_ends_in_the_same_state() {
    if !reference_has_them() {
        return;
    }
    let allowed = execution_fixes("");
    same_change(
        "kitaru_executions_abort_wait",
        |exec_id| json!({"exec_id": exec_id, "wait": "approve_extra"}),
        &strs(&allowed),
    );
    // An unknown wait, and an execution with nothing pending.
    same_change(
        "kitaru_executions_abort_wait",
        |exec_id| json!({"exec_id": exec_id, "wait": "nope"}),
        &[],
    );
    let completed = server().str("/seed/completed/exec_id");
    let (theirs, ours) = same_payload(
        "kitaru_executions_abort_wait",
        json!({"exec_id": completed, "wait": "x"}),
        &[],
    );
    assert!(theirs.is_error && ours.is_error);
    same_payload(
        "kitaru_executions_abort_wait",
        json!({"exec_id": "nope", "wait": "x"}),
        &[],
    );
}

/// Statistics answers alike, on whatever executions the server has (other
/// tests add some meanwhile: an answer counts when ours was the same
/// before and after the reference's).
#[test]
fn statistics_group_and_aggregate_alike() {
    if !reference_has_them() {
        return;
    }
    let metrics = json!([
        "took:duration:avg",
        "longest:duration:max",
        "steps:step_count:sum",
        "cached:cached_step_count:max",
        "outputs:output_artifact_count:min",
        "llm_total_tokens",
        "llm_display_cost",
        {"name": "spec", "source": "metadata", "aggregation": "avg", "metadata_key": "kitaru_execution_spec"},
    ]);
    let flow = server().str("/seed/completed/flow_name");
    for arguments in [
        json!({}),
        json!({"group_by": ["status"]}),
        json!({"group_by": ["status", "flow"], "metrics": metrics}),
        json!({"group_by": ["flow"], "metrics": metrics, "status": "completed"}),
        json!({"group_by": ["status"], "status": "failed"}),
        json!({"group_by": ["time:day", "stack"], "metrics": ["d:duration:sum"]}),
        json!({"group_by": ["tag", "time:hour"]}),
        json!({"group_by": ["metadata:kitaru_execution_spec", "status"]}),
        json!({"group_by": ["flow"], "max_groups": 1}),
        json!({"group_by": ["status"], "max_groups": 2, "flow": flow}),
        json!({"flow": flow, "stack": "default", "metrics": ["n:step_count:avg"]}),
        json!({"tags": ["no-such-tag"], "group_by": ["status"]}),
    ] {
        let mut compared = false;
        for _ in 0..5 {
            let before = ours().call("kitaru_executions_statistics", arguments.clone());
            let theirs = reference().call("kitaru_executions_statistics", arguments.clone());
            let after = ours().call("kitaru_executions_statistics", arguments.clone());
            if before.structured != after.structured {
                continue;
            }
            let (_, answer) = assert_same_answers(
                "kitaru_executions_statistics",
                &arguments,
                theirs,
                after,
                &[],
            );
            assert!(answer["groups"].is_array(), "{answer}");
            compared = true;
            break;
        }
        assert!(compared, "the executions kept changing: {arguments}");
    }
    for arguments in [
        json!({"max_groups": 0}),
        json!({"max_groups": 10001}),
        json!({"group_by": ["time:year"]}),
        json!({"group_by": ["Status"]}),
        json!({"group_by": ["time:day", "time:week"]}),
        json!({"group_by": ["tag", "tag"]}),
        json!({"group_by": ["metadata:  "]}),
        json!({"metrics": ["a:b"]}),
        json!({"metrics": ["x:speed:avg"]}),
        json!({"metrics": ["x:duration:median"]}),
        json!({"metrics": ["x:metadata:avg"]}),
        json!({"metrics": ["x:duration:avg", "x:step_count:sum"]}),
        json!({"metrics": [{"name": "x", "source": "duration", "aggregation": "sum", "metadata_key": "k"}]}),
        json!({"tags": ["a", "  "]}),
    ] {
        same_payload("kitaru_executions_statistics", arguments, &[]);
    }
}

/// Resuming: the same refusals, and an execution whose wait was answered
/// goes on to the same end (each side resumes an execution of its own).
#[test]
fn resume_refuses_and_resumes_alike() {
    if !reference_has_them() {
        return;
    }
    let allowed = execution_fixes("");
    // A pending wait, then a finished execution.
    same_change(
        "kitaru_executions_resume",
        |exec_id| json!({"exec_id": exec_id}),
        &strs(&allowed),
    );
    same_payload(
        "kitaru_executions_resume",
        json!({"exec_id": server().str("/seed/completed/exec_id")}),
        &[],
    );
    same_payload("kitaru_executions_resume", json!({"exec_id": "nope"}), &[]);
    // Answered first: both resume to the end.
    let _changing = kitaru_testkit::executions_lock()
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let fresh = kitaru_testkit::start_waiting_executions(2);
    for exec_id in &fresh {
        let answered = ours().call(
            "kitaru_executions_input",
            json!({"exec_id": exec_id, "wait": "approve_extra", "value": true}),
        );
        assert!(!answered.is_error, "{:?}", answered.texts);
    }
    let theirs = reference().call("kitaru_executions_resume", json!({"exec_id": fresh[0]}));
    let ours = ours().call("kitaru_executions_resume", json!({"exec_id": fresh[1]}));
    let (_, answer) = assert_same_answers(
        "kitaru_executions_resume",
        &json!({"exec_id": "<exec_id>"}),
        theirs,
        ours,
        &strs(&allowed),
    );
    assert_eq!(answer["status"], "completed", "{answer}");
}

/// The cohort tool's arguments for `cohort_flow`, with `extra` added.
fn cohort(extra: serde_json::Value) -> serde_json::Value {
    let mut arguments = json!({"flow": "cohort_flow", "at": "review"});
    arguments
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    arguments
}

#[test]
fn cohorts_pick_and_rank_alike() {
    if !reference_has_them() {
        return;
    }
    let made = kitaru_testkit::cohort_executions();
    let runs = made["runs"].as_array().unwrap();
    let started = |index: usize| runs[index]["started_at"].as_str().unwrap().to_owned();
    let first = runs[0]["exec_id"].as_str().unwrap();
    let detail = ours().call("kitaru_executions_get", json!({"exec_id": first}));
    let review_call = detail.structured.unwrap()["checkpoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|checkpoint| checkpoint["name"] == "review")
        .expect("the review checkpoint")["call_id"]
        .clone();
    let day = &started(0)[..10];
    let mut calls = vec![
        cohort(json!({})),
        cohort(json!({"at": "draft", "include_failed": true})),
        cohort(json!({"at": review_call})),
        cohort(json!({"limit": 2})),
        cohort(json!({"limit": 2, "max_scan": 3})),
        cohort(json!({"max_scan": 2, "include_failed": true})),
        cohort(json!({"deployment_version": 1})),
        cohort(json!({"deployment_version": 2, "include_failed": true})),
        cohort(json!({"since": started(1), "until": started(3), "include_failed": true})),
        cohort(json!({"since": started(2)})),
        cohort(json!({"since": day, "until": "  "})),
        cohort(json!({"since": format!("{day} 00:00")})),
    ];
    for order_by in [
        "started_at",
        "-started_at",
        "duration",
        "-duration",
        "display_cost_usd",
        "-display_cost_usd",
        "total_tokens",
        " -total_tokens ",
    ] {
        calls.push(cohort(
            json!({"order_by": order_by, "include_failed": true}),
        ));
    }
    // Refusals, and cohorts nothing matches.
    calls.extend([
        cohort(json!({"at": "nope"})),
        cohort(json!({"flow": "never_ran_flow"})),
        cohort(json!({"until": day})),
        cohort(json!({"deployment_version": 7})),
        cohort(json!({"deployment": "nope"})),
        cohort(json!({"deployment": " default "})),
        cohort(json!({"deployment": ""})),
        cohort(json!({"deployment": "kitaru:x"})),
        cohort(json!({"deployment": "x", "deployment_version": 1})),
        cohort(json!({"order_by": "-"})),
        cohort(json!({"order_by": " "})),
        cohort(json!({"order_by": "cost"})),
        cohort(json!({"limit": 0})),
        cohort(json!({"max_scan": 0})),
        cohort(json!({"flow": "  "})),
        cohort(json!({"at": ""})),
        cohort(json!({"since": "yesterday"})),
    ]);
    for arguments in calls {
        same_payload("kitaru_executions_cohort", arguments, &[]);
    }
}

/// A window bound with an offset: the reference cannot compare it with the
/// server's times (a documented fix); ours reads it in UTC, as the same
/// bound without an offset.
#[test]
fn cohort_windows_with_an_offset_are_read_in_utc() {
    if !reference_has_them() {
        return;
    }
    let made = kitaru_testkit::cohort_executions();
    let since = made["runs"][1]["started_at"].as_str().unwrap();
    let theirs = reference().call(
        "kitaru_executions_cohort",
        cohort(json!({"since": format!("{since}+00:00")})),
    );
    assert!(theirs.is_error, "{:?}", theirs.structured);
    assert!(
        theirs.texts[0].contains("can't compare offset-naive and offset-aware datetimes"),
        "{:?}",
        theirs.texts
    );
    let (_, naive) = same_payload(
        "kitaru_executions_cohort",
        cohort(json!({"since": since})),
        &[],
    );
    let hour: u32 = since[11..13].parse().unwrap();
    if hour < 22 {
        let shifted = format!("{}T{:02}{}+02:00", &since[..10], hour + 2, &since[13..]);
        let shifted = ours().call(
            "kitaru_executions_cohort",
            cohort(json!({"since": shifted})),
        );
        assert_eq!(shifted.structured, naive.structured);
    }
}

/// A deployment tag names the version a cohort keeps the runs of; the
/// runs of `research_agent` the tests make outside a deployment record no
/// version, so both leave them all out, alike.
#[tokio::test]
async fn cohort_deployment_tags_resolve_alike() {
    if !reference_has_them() {
        return;
    }
    let _one = kitaru_testkit::deployments_lock().await;
    let deployed = kitaru_testkit::python_deploy("cohort", true, "cohort").await;
    let version = deployed["version"].clone();
    tokio::task::spawn_blocking(move || {
        for arguments in [
            json!({"flow": "research_agent", "at": "summarize", "deployment": "cohort"}),
            json!({"flow": "research_agent", "at": "summarize", "deployment_version": version}),
        ] {
            same_payload("kitaru_executions_cohort", arguments, &[]);
        }
    })
    .await
    .unwrap();
}

#[test]
fn diffs_of_seeded_executions_match() {
    if !reference_has_them() {
        return;
    }
    let completed = server().str("/seed/completed/exec_id");
    let failed = server().str("/seed/failed/exec_id");
    let waiting = server().str("/seed/waiting/exec_id");
    let name = server().str("/seed/completed/name");
    for arguments in [
        json!({"original": completed, "executions": [failed]}),
        json!({"original": name, "executions": [&completed[..8], waiting]}),
        json!({"original": failed, "executions": [completed, completed]}),
        json!({"original": completed}),
        json!({"original": completed, "executions": []}),
        json!({"original": "nope"}),
        json!({"original": completed, "executions": ["nope"]}),
    ] {
        same_payload("kitaru_executions_diff", arguments, &[]);
    }
    for exec_ids in [
        json!([]),
        json!([completed, failed, completed]),
        json!([name, waiting, completed]),
        json!([completed, "nope"]),
    ] {
        same_payload(
            "kitaru_executions_diff_matrix",
            json!({"exec_ids": exec_ids}),
            &[],
        );
    }
}

/// The content hashes of values of every JSON kind (and of the values
/// beyond JSON that ours reads without Python: bytes, a tuple, a UUID, a
/// pydantic model) are the Python SDK's, byte for byte.
#[test]
fn artifact_hashes_match_pythons_for_every_json_kind() {
    if !reference_has_them() {
        return;
    }
    let made = new_executions("json_kinds", 1);
    let exec_id = made[0].as_str();
    let (_, ours) = same_payload(
        "kitaru_executions_diff",
        json!({"original": exec_id, "executions": [exec_id]}),
        &[],
    );
    let ours = ours.structured.unwrap();
    let checkpoints = ours["diff"]["compared"][0]["checkpoints"]
        .as_array()
        .unwrap();
    assert_eq!(checkpoints.len(), 13, "{ours}");
    for checkpoint in checkpoints {
        let hashes = checkpoint["artifact_hashes"].as_object().unwrap();
        assert_eq!(hashes.len(), 1, "{checkpoint}");
        for pair in hashes.values() {
            assert!(pair["original"].is_string(), "{checkpoint}");
            assert_eq!(pair["original"], pair["replay"], "{checkpoint}");
        }
    }
    same_payload(
        "kitaru_executions_diff_matrix",
        json!({"exec_ids": [exec_id]}),
        &[],
    );
}

/// A run and its replays (made through ours): found by both (newest first)
/// and compared alike; given explicitly, too.
#[test]
fn replays_are_found_and_compared_alike() {
    if !reference_has_them() {
        return;
    }
    let (source, replays) = {
        let _changing = kitaru_testkit::executions_lock()
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        kitaru_testkit::install_flow_module("extra_replay");
        let run = ours().call(
            "kitaru_executions_run",
            json!({"target": "flows/extra_replay.py:research_agent", "args": {"topic": "diff"}}),
        );
        assert!(!run.is_error, "{:?}", run.texts);
        let source = run.structured.unwrap()["exec_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let mut replays = Vec::new();
        for (from, overrides) in [
            (
                "summarize",
                json!({"checkpoint.gather_sources": "OVERRIDDEN NOTES"}),
            ),
            ("gather_sources", json!({})),
        ] {
            let replay = ours().call(
                "kitaru_executions_replay",
                json!({"exec_id": source, "from_": from, "overrides": overrides}),
            );
            assert!(!replay.is_error, "{:?}", replay.texts);
            let replay = replay.structured.unwrap();
            replays.push(replay["execution"]["exec_id"].as_str().unwrap().to_owned());
        }
        (source, replays)
    };
    let (_, found) = same_payload("kitaru_executions_diff", json!({"original": source}), &[]);
    let found = found.structured.unwrap();
    let compared: Vec<&str> = found["diff"]["compared"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["replay_exec_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        compared,
        [replays[1].as_str(), replays[0].as_str()],
        "{found}"
    );
    let url = found["diff"]["urls"][0].as_str().unwrap();
    assert!(url.contains(&format!("executions={source},")), "{url}");
    same_payload(
        "kitaru_executions_diff",
        json!({"original": source, "executions": [replays[0], &replays[1][..8]]}),
        &[],
    );
    same_payload(
        "kitaru_executions_diff_matrix",
        json!({"exec_ids": [replays[0], source, source]}),
        &[],
    );
}

/// Executions with LLM usage: token and cost deltas alike, a call without
/// a cost making the cost delta null.
#[test]
fn llm_usage_deltas_match() {
    if !reference_has_them() {
        return;
    }
    let made = new_executions("llm_usage", 2);
    let (first, second) = (made[0].as_str(), made[1].as_str());
    let completed = server().str("/seed/completed/exec_id");
    let (_, ours) = same_payload(
        "kitaru_executions_diff",
        json!({"original": first, "executions": [second, completed]}),
        &[],
    );
    let ours = ours.structured.unwrap();
    let against_completed = &ours["diff"]["compared"][1]["checkpoints"];
    let ask = against_completed
        .as_array()
        .unwrap()
        .iter()
        .find(|checkpoint| checkpoint["name"] == "ask")
        .unwrap();
    assert_eq!(
        ask["token_delta"],
        json!({"prompt_tokens": -11, "completion_tokens": -7, "total_tokens": -18}),
        "{ask}"
    );
    assert_eq!(ask["cost_delta_usd"], json!(-0.0003), "{ask}");
    same_payload(
        "kitaru_executions_diff",
        json!({"original": completed, "executions": [first]}),
        &[],
    );
}

/// The ids of `count` new executions of `tests/harness/flows/<module>.py`
/// (which prints `{"exec_id": ...}`), made while no listing runs.
fn new_executions(module: &str, count: usize) -> Vec<String> {
    let _changing = kitaru_testkit::executions_lock()
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    (0..count)
        .map(|_| {
            let made = kitaru_testkit::python_module(module, &[], None);
            made["exec_id"].as_str().unwrap().to_owned()
        })
        .collect()
}

/// What a replay submission may differ in: its id (random, recorded on the
/// new executions) and the comparison links, which name the new executions
/// (their ids are anonymized elsewhere; the links are checked apart).
const SUBMISSION_ID: [&str; 3] = ["/submission_id", "/compare_url", "/results/*/compare_url"];

/// The 0.21 replay form: one source through both servers (the reference's
/// run of the research agent), with a checkpoint output override, a flow
/// input, a tag; the same submission, and the same correlation recorded on
/// each new execution.
#[test]
fn replays_in_the_0_21_form_match() {
    if !reference_has_them() {
        return;
    }
    let run = json!({"target": "flows/extra_replay.py:research_agent", "args": {"topic": "p21"}});
    let (source, _) = super::launch::same_launch(
        "kitaru_executions_run",
        &run,
        &strs(&execution_fixes("/execution")),
    );
    let source = source["exec_id"].as_str().unwrap().to_owned();
    let replay = json!({
        "exec_ids": [source],
        "at": "summarize",
        "checkpoint_overrides": {"gather_sources": {"output": "OVERRIDDEN NOTES"}},
        "flow_overrides": {"topic": "replayed"},
        "tag": "parity-21",
    });
    let (theirs, ours_) =
        super::launch::same_launch("kitaru_executions_replay", &replay, &SUBMISSION_ID);
    assert_eq!(
        ours_["summary"],
        json!({"submitted": 1, "completed": 1, "failed": 0, "skipped": 0})
    );
    assert_eq!(
        ours_["plan"]["matched_targets"],
        json!({"checkpoint:gather_sources": ["gather_sources"]})
    );
    assert_eq!(ours_["results"][0]["original_exec_id"], source.as_str());
    let replay_id = ours_["results"][0]["replay_exec_id"].as_str().unwrap();
    let pair = format!("compare?executions={source},{replay_id}");
    for url in [&ours_["compare_url"], &ours_["results"][0]["compare_url"]] {
        assert!(url.as_str().unwrap().ends_with(&pair), "{url}");
    }
    let theirs_url = theirs["compare_url"].as_str().unwrap();
    let ours_url = ours_["compare_url"].as_str().unwrap();
    assert_eq!(
        theirs_url.split("compare?").next(),
        ours_url.split("compare?").next()
    );
    // The replays carry their submission, source and tag alike.
    for submission in [&theirs, &ours_] {
        let replay_id = submission["results"][0]["replay_exec_id"].as_str().unwrap();
        let got = ours().call("kitaru_executions_get", json!({"exec_id": replay_id}));
        let execution = got.structured.unwrap();
        let metadata = &execution["metadata"];
        assert_eq!(
            metadata["submission_id"], submission["submission_id"],
            "{metadata}"
        );
        assert_eq!(metadata["original_exec_id"], source.as_str(), "{metadata}");
        assert_eq!(metadata["replay_tag"], "parity-21", "{metadata}");
        assert_eq!(
            metadata["kitaru_replay_skipped_steps_v1"],
            json!(["gather_sources"]),
            "{metadata}"
        );
        assert_eq!(execution["status"], "completed", "{execution}");
        let tags = run_tags(replay_id);
        assert!(tags.iter().any(|tag| tag == "parity-21"), "{tags:?}");
    }
}

/// Several sources at once, collecting: a source whose checkpoints do not
/// include `at` is skipped, an unknown one fails, the others are submitted
/// without waiting.
#[test]
fn batch_replays_collect_alike() {
    if !reference_has_them() {
        return;
    }
    let completed = server().str("/seed/completed/exec_id");
    // Ours says what it was doing when the lookup failed, before the
    // server's words: compared apart.
    let mut allowed = SUBMISSION_ID.to_vec();
    allowed.push("/failures/*/reason");
    let (theirs, ours_) = super::launch::same_launch(
        "kitaru_executions_replay",
        &json!({"exec_ids": [completed, "nope"], "at": "summarize"}),
        &allowed,
    );
    let (theirs_reason, ours_reason) = (
        theirs["failures"][0]["reason"].as_str().unwrap(),
        ours_["failures"][0]["reason"].as_str().unwrap(),
    );
    assert!(ours_reason.contains(theirs_reason), "{ours_reason}");
    assert_eq!(
        theirs["summary"],
        json!({"submitted": 0, "completed": 0, "failed": 1, "skipped": 1})
    );
    assert_eq!(ours_["wait"], false);
    assert_eq!(ours_["skipped"][0]["original_exec_id"], completed);
}

/// The 0.21 form's refusals, in the reference's words.
#[test]
fn bad_replays_in_the_0_21_form_fail_alike() {
    if !reference_has_them() {
        return;
    }
    let completed = server().str("/seed/completed/exec_id");
    for (at, extra) in [
        ("  ", json!({})),
        ("nope", json!({})),
        ("greet", json!({"checkpoint_overrides": {"greet": 1}})),
        (
            "greet",
            json!({"checkpoint_overrides": {"greet": {"outptu": 1}}}),
        ),
        (
            "greet",
            json!({"invocation_overrides": {"greet": {"input": 1, "output": 2}}}),
        ),
        (
            "greet",
            json!({"checkpoint_overrides": {"nope": {"output": 1}}}),
        ),
        (
            "greet",
            json!({"checkpoint_overrides": {"greet": {"model": "m"}}}),
        ),
        (
            "greet",
            json!({"checkpoint_overrides": {"greet": {"code": "c"}}}),
        ),
        (
            "greet",
            json!({"skip": ["greet"], "checkpoint_overrides": {"greet": {"input": 1}}}),
        ),
        ("greet", json!({"skip": [""]})),
        ("greet", json!({"skip": ["nope"]})),
    ] {
        let mut arguments = json!({"exec_ids": [completed], "at": at});
        arguments
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        super::launch::same_launch("kitaru_executions_replay", &arguments, &[]);
    }
    super::launch::same_launch(
        "kitaru_executions_replay",
        &json!({"exec_ids": [], "at": "greet"}),
        &[],
    );
    super::launch::same_launch(
        "kitaru_executions_replay",
        &json!({"exec_ids": ["nope"], "at": "greet"}),
        &[],
    );
}

/// The tags of run `run_id`, read over REST.
fn run_tags(run_id: &str) -> Vec<String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let kitaru = server().kitaru().await;
            let run = kitaru
                .client
                .get_run()
                .run_id(run_id.parse::<uuid::Uuid>().unwrap())
                .send()
                .await
                .unwrap()
                .into_inner();
            run.resources
                .map(|resources| resources.tags.into_iter().map(|tag| tag.name).collect())
                .unwrap_or_default()
        })
}
