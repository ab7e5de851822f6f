//! The SDK's executions and `artifacts::list` (behind the execution tools and
//! `kitaru_artifacts_list`) against the seeded server: detail, listing with
//! filters, latest, logs, and — on executions these tests start themselves —
//! input and cancel.

use std::sync::OnceLock;

use kitaru_sdk::artifacts::ArtifactDirection;
use kitaru_sdk::artifacts::{ArtifactFilter, ArtifactRef};
use kitaru_sdk::executions::{
    self, CheckpointOrigin, Execution, ExecutionDetail, ExecutionFilter, ExecutionStatus,
    FailureOrigin, ListPosition, LlmEstimatedCosts, LogQuery,
};
use kitaru_sdk::{Error, Kitaru, ServerLine, artifacts};
use serde_json::{Value, json};

use kitaru_testkit::{
    Line, changing_executions, executions_lock, server, start_waiting_executions,
};

async fn kitaru() -> Kitaru {
    server().kitaru().await
}

async fn get(exec_id: &str) -> Result<Execution, Error> {
    executions::get(&kitaru().await, exec_id).await
}

/// The line of the test server, as the SDK reads it from the server.
async fn line() -> ServerLine {
    kitaru().await.server().await.unwrap().line
}

/// The seeded failure's message as the reference of the server's line
/// words it: the exception's message (0.10), or the exception as Python
/// prints it (0.21).
async fn seeded_failure_message() -> String {
    let message = seed("/seed/failed/exception_message");
    match line().await {
        ServerLine::Kitaru021 => format!("RuntimeError: {message}"),
        _ => message.to_owned(),
    }
}

fn list_args(status: Option<&str>, flow: Option<&str>, stack: Option<&str>) -> ExecutionFilter {
    ExecutionFilter {
        status: status.map(|status| ExecutionStatus::parse_filter(status).unwrap()),
        flow: flow.map(str::to_owned),
        stack: stack.map(str::to_owned),
    }
}

async fn list(kitaru: &Kitaru, filter: ExecutionFilter) -> Result<Vec<Execution>, Error> {
    executions::list(kitaru, &filter, None).await
}

async fn latest(kitaru: &Kitaru, filter: ExecutionFilter) -> Result<Option<Execution>, Error> {
    executions::latest(kitaru, &filter).await
}

struct LogsArgs {
    exec_id: String,
    query: LogQuery,
}

fn logs_args(exec_id: &str, checkpoint: Option<&str>, source: &str, limit: usize) -> LogsArgs {
    LogsArgs {
        exec_id: exec_id.to_owned(),
        query: LogQuery {
            checkpoint: checkpoint.map(str::to_owned),
            source: source.to_owned(),
            limit,
        },
    }
}

async fn logs(kitaru: &Kitaru, args: LogsArgs) -> Result<String, Error> {
    executions::logs(kitaru, &args.exec_id, &args.query).await
}

struct ArtifactsArgs {
    exec_id: String,
    filter: ArtifactFilter,
    limit: Option<usize>,
}

fn artifacts_args(exec_id: &str) -> ArtifactsArgs {
    ArtifactsArgs {
        exec_id: exec_id.to_owned(),
        filter: ArtifactFilter::default(),
        limit: None,
    }
}

async fn list_artifacts(kitaru: &Kitaru, args: ArtifactsArgs) -> Result<Vec<ArtifactRef>, Error> {
    artifacts::list(kitaru, &args.exec_id, &args.filter, args.limit).await
}

fn seed(pointer: &str) -> &'static str {
    server().str(pointer)
}

fn detail(execution: &Execution) -> &ExecutionDetail {
    execution
        .detail
        .as_ref()
        .expect("a single execution comes in detail")
}

fn names(execution: &Execution) -> Vec<&str> {
    detail(execution)
        .checkpoints
        .iter()
        .map(|c| c.name.as_str())
        .collect()
}

// --- get --------------------------------------------------------------------

#[tokio::test]
async fn the_completed_seed_comes_back_with_its_checkpoints_and_artifacts() {
    let execution = get(seed("/seed/completed/exec_id")).await.unwrap();
    let summary = &execution.summary;
    let detail = detail(&execution);
    assert_eq!(summary.status, ExecutionStatus::Completed);
    assert_eq!(summary.flow_name.as_deref(), Some("seed_completed"));
    assert_eq!(
        summary.flow_id.as_deref(),
        Some(seed("/seed/completed/flow_id"))
    );
    assert_eq!(summary.stack_name.as_deref(), Some("default"));
    assert_eq!(summary.status_reason, None);
    assert_eq!(summary.pending_wait, None);
    assert_eq!(summary.failure, None);
    assert!(summary.metadata.contains_key("kitaru_execution_spec"));
    let expected_names: Vec<&str> = server()
        .get("/seed/completed/checkpoint_names")
        .as_array()
        .unwrap()
        .iter()
        .map(|name| name.as_str().unwrap())
        .collect();
    assert_eq!(names(&execution), expected_names);
    assert_eq!(summary.checkpoint_count, 6);
    assert_eq!(summary.artifact_count, 8);
    assert_eq!(detail.artifacts.len(), 8);
    let spec = detail
        .frozen_execution_spec
        .as_ref()
        .expect("a frozen spec");
    assert_eq!(spec.version, 1);
    assert_eq!(spec.resolved_execution.stack.as_deref(), Some("default"));
    assert_eq!(detail.original_exec_id, None);

    for expected in server()
        .get("/seed/completed/checkpoints")
        .as_array()
        .unwrap()
    {
        let checkpoint = detail
            .checkpoints
            .iter()
            .find(|c| c.call_id == expected["call_id"])
            .unwrap_or_else(|| panic!("no checkpoint {}", expected["call_id"]));
        assert_eq!(checkpoint.name, expected["name"]);
        assert_eq!(
            json!(checkpoint.checkpoint_type),
            expected["checkpoint_type"]
        );
        assert_eq!(checkpoint.status, ExecutionStatus::Completed);
        assert_eq!(checkpoint.attempts.len(), 1);
        let mut ids: Vec<&str> = checkpoint
            .artifacts
            .iter()
            .map(|a| a.artifact_id.as_str())
            .collect();
        ids.sort_unstable();
        let mut expected_ids: Vec<&str> = expected["artifact_ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|id| id.as_str().unwrap())
            .collect();
        expected_ids.sort_unstable();
        assert_eq!(ids, expected_ids, "artifacts of {}", checkpoint.name);
    }
    let line = line().await;
    for expected in server()
        .get("/seed/completed/artifacts")
        .as_array()
        .unwrap()
    {
        let artifact = detail
            .artifacts
            .iter()
            .find(|a| a.artifact_id == expected["artifact_id"])
            .unwrap();
        let actual = serde_json::to_value(artifact).unwrap();
        assert_eq!(
            actual["kind"],
            expected_kind(line, expected),
            "kind of {}",
            artifact.name
        );
        for field in ["name", "save_type", "metadata"] {
            assert_eq!(
                actual[field], expected[field],
                "{field} of {}",
                artifact.name
            );
        }
        assert_eq!(actual["producing_call"], expected["checkpoint"]);
    }
}

#[tokio::test]
async fn the_completed_seed_carries_the_fields_of_its_servers_line() {
    let execution = get(seed("/seed/completed/exec_id")).await.unwrap();
    let detail = detail(&execution);
    let spec = detail.frozen_execution_spec.as_ref().unwrap();
    let gather = detail
        .checkpoints
        .iter()
        .find(|c| c.name == "gather")
        .unwrap();
    let gathered = &gather.artifacts[0];
    match line().await {
        ServerLine::Kitaru021 => {
            // No LLM calls: no summary (the SDK writes none), no records.
            assert_eq!(execution.summary.llm_usage_summary, Some(None));
            assert_eq!(detail.llm_usage_records, Some(Vec::new()));
            for checkpoint in &detail.checkpoints {
                let provenance = checkpoint.provenance.as_ref().unwrap();
                assert_eq!(provenance.checkpoint_origin, CheckpointOrigin::User);
                assert_eq!(provenance.adapter, None);
                assert!(provenance.replay_input_slots.is_empty());
                assert_eq!(checkpoint.llm_usage_records, Some(Vec::new()));
                assert_eq!(checkpoint.attempts[0].llm_usage_records, Some(Vec::new()));
            }
            // A tool_call's `output` reads as one; its input `topic` is no
            // structural input, so it is not listed.
            assert_eq!(gathered.kind.as_deref(), Some("output"));
            assert_eq!(gather.artifacts.len(), 1);
            assert_eq!(
                spec.resolved_execution.llm_estimated_costs,
                Some(LlmEstimatedCosts::Auto)
            );
            assert_eq!(spec.flow_defaults.llm_estimated_costs, Some(None));
        }
        _ => {
            let text = serde_json::to_string(&execution).unwrap();
            for key in [
                "llm_usage_summary",
                "llm_usage_records",
                "checkpoint_origin",
                "adapter",
                "replay_input_slots",
                "direction",
                "input_type",
                "llm_estimated_costs",
            ] {
                assert!(!text.contains(&format!("\"{key}\"")), "{key} in {text}");
            }
            assert_eq!(gathered.kind, None);
        }
    }
    assert!(detail.artifacts.iter().all(|a| a.direction.is_none()));
}

/// The kind the reference of the server's line gives an artifact the
/// harness recorded (kitaru 0.21 names a tool_call's `output` `output` and
/// an llm_call's `response`).
fn expected_kind(line: ServerLine, expected: &Value) -> Value {
    let types: Vec<&Value> = server()
        .get("/seed/completed/checkpoints")
        .as_array()
        .unwrap()
        .iter()
        .filter(|checkpoint| checkpoint["name"] == expected["checkpoint"])
        .map(|checkpoint| &checkpoint["checkpoint_type"])
        .collect();
    let output = expected["name"]
        .as_str()
        .is_some_and(|name| name.ends_with("::output"));
    match (line, &expected["kind"], types.as_slice(), output) {
        (ServerLine::Kitaru021, Value::Null, [checkpoint_type], true) => {
            match checkpoint_type.as_str() {
                Some("tool_call") => json!("output"),
                Some("llm_call") => json!("response"),
                _ => Value::Null,
            }
        }
        (_, kind, _, _) => kind.clone(),
    }
}

#[tokio::test]
async fn the_failed_seed_reports_the_real_exception() {
    let execution = get(seed("/seed/failed/exec_id")).await.unwrap();
    assert_eq!(execution.summary.status, ExecutionStatus::Failed);
    let failure = execution.summary.failure.as_ref().expect("a failure");
    assert_eq!(failure.message, seeded_failure_message().await);
    assert_eq!(failure.exception_type.as_deref(), Some("RuntimeError"));
    assert_eq!(failure.origin, FailureOrigin::UserCode);
    assert!(
        failure
            .traceback
            .as_deref()
            .unwrap()
            .contains("raise RuntimeError")
    );
    assert_eq!(names(&execution), ["boom"]);
    let boom = &detail(&execution).checkpoints[0];
    assert_eq!(boom.call_id, seed("/seed/failed/failed_checkpoint/call_id"));
    assert_eq!(boom.status, ExecutionStatus::Failed);
    assert_eq!(
        boom.failure.as_ref().unwrap().message,
        seeded_failure_message().await
    );
    assert_eq!(boom.attempts[0].failure, boom.failure);
    assert_eq!(execution.summary.checkpoint_count, 1);
    assert_eq!(execution.summary.artifact_count, 0);
}

#[tokio::test]
async fn the_waiting_seed_shows_its_pending_wait_and_reason() {
    let execution = get(seed("/seed/waiting/exec_id")).await.unwrap();
    let summary = &execution.summary;
    assert_eq!(summary.status, ExecutionStatus::Waiting);
    assert_eq!(summary.status_reason.as_deref(), Some("Waiting for input."));
    let wait =
        serde_json::to_value(summary.pending_wait.as_ref().expect("a pending wait")).unwrap();
    let expected = server().get("/seed/waiting/wait");
    for field in [
        "wait_id",
        "name",
        "question",
        "schema",
        "metadata",
        "entered_waiting_at",
    ] {
        assert_eq!(wait[field], expected[field], "{field}");
    }
    assert_eq!(names(&execution), ["prepare"]);
}

#[tokio::test]
async fn an_execution_is_found_by_run_name_id_prefix_or_any_uuid_form() {
    let exec_id = seed("/seed/waiting/exec_id");
    for reference in [
        seed("/seed/waiting/name").to_owned(),
        exec_id[..8].to_owned(),
        exec_id.to_uppercase(),
        exec_id.replace('-', ""),
    ] {
        let execution = get(&reference).await.unwrap();
        assert_eq!(execution.summary.exec_id, exec_id, "{reference}");
    }
}

#[tokio::test]
async fn an_unknown_execution_fails_with_the_references_words() {
    // Kitaru 0.21 names the project it searched (ZenML 0.98's words, its
    // own space after the scope included).
    let scope = match line().await {
        ServerLine::Kitaru021 => format!("in project {}  ", seed("/seed/project/id")),
        _ => String::new(),
    };
    assert_eq!(
        get("nope").await.unwrap_err().to_string(),
        format!(
            "Failed to load execution 'nope': \"No runs have been found {scope}that have an ID \
             prefix that matches the provided string 'nope'.\""
        )
    );
    let missing = "00000000-0000-4000-8000-000000000000";
    assert_eq!(
        get(missing).await.unwrap_err().to_string(),
        format!(
            "Failed to load execution '{missing}': '\"Unable to get pipeline run with ID \\'{missing}\\': No pipeline run with this ID found\"'"
        )
    );
}

// --- list and latest ----------------------------------------------------------

#[tokio::test]
async fn listing_by_flow_gives_summaries_with_real_counts() {
    let kitaru = kitaru().await;
    let completed = list(&kitaru, list_args(None, Some("seed_completed"), None))
        .await
        .unwrap();
    assert_eq!(completed.len(), 1);
    assert_eq!(completed[0].detail, None);
    let summary = &completed[0].summary;
    assert_eq!(summary.exec_id, seed("/seed/completed/exec_id"));
    assert_eq!((summary.checkpoint_count, summary.artifact_count), (6, 8));
    let item = serde_json::to_value(&completed[0]).unwrap();
    // kitaru 0.21 adds `llm_usage_summary`.
    let keys = match line().await {
        ServerLine::Kitaru021 => 14,
        _ => 13,
    };
    assert_eq!(item.as_object().unwrap().len(), keys, "{item}");

    let failed = list(
        &kitaru,
        list_args(Some("FAILED "), Some("seed_failed"), Some("default")),
    )
    .await
    .unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(
        failed[0].summary.failure.as_ref().unwrap().message,
        seeded_failure_message().await
    );
}

#[tokio::test]
async fn listing_by_status_maps_zenml_statuses_to_kitarus() {
    let kitaru = kitaru().await;
    let waiting = list(&kitaru, list_args(Some("waiting"), None, None))
        .await
        .unwrap();
    let seeded = waiting
        .iter()
        .map(|e| &e.summary)
        .find(|e| e.exec_id == seed("/seed/waiting/exec_id"))
        .expect("the waiting seed is listed as waiting");
    assert_eq!(seeded.pending_wait.as_ref().unwrap().name, "approve_seed");
    assert!(
        waiting
            .iter()
            .all(|e| e.summary.status == ExecutionStatus::Waiting)
    );

    let running = list(
        &kitaru,
        list_args(Some("running"), Some("seed_waiting"), None),
    )
    .await
    .unwrap();
    assert!(running.is_empty(), "{running:?}");

    let newest_first = list(&kitaru, list_args(None, None, None)).await.unwrap();
    let position = |id: &str| {
        newest_first
            .iter()
            .position(|e| e.summary.exec_id == id)
            .unwrap()
    };
    assert!(position(seed("/seed/waiting/exec_id")) < position(seed("/seed/failed/exec_id")));
    assert!(position(seed("/seed/failed/exec_id")) < position(seed("/seed/completed/exec_id")));
}

#[tokio::test]
async fn a_limit_caps_the_listing() {
    let filter = ExecutionFilter::default();
    let listed = executions::list(&kitaru().await, &filter, Some(2))
        .await
        .unwrap();
    assert_eq!(listed.len(), 2);
}

fn ids(executions: Vec<Execution>) -> Vec<String> {
    executions
        .into_iter()
        .map(|execution| execution.summary.exec_id)
        .collect()
}

/// Listing a part at a time goes on where the last part stopped: the parts
/// add up to the whole listing, in order; a listing from a later page of
/// runs starts there; one from past the last page is empty.
#[test]
fn listing_part_by_part_adds_up_to_the_whole_listing() {
    let _listing = executions_lock().read().unwrap_or_else(|e| e.into_inner());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let kitaru = kitaru().await;
        let filter = ExecutionFilter::default();
        let whole = ids(list(&kitaru, filter.clone()).await.unwrap());
        assert!(whole.len() >= 3);

        let mut parts = Vec::new();
        let mut from = ListPosition::default();
        loop {
            let (part, next) = executions::list_from(&kitaru, &filter, from, 7)
                .await
                .unwrap();
            assert!(
                part.len() == 7 || next.is_none(),
                "{from:?}: {}",
                part.len()
            );
            parts.extend(ids(part));
            match next {
                Some(next) => from = next,
                None => break,
            }
        }
        assert_eq!(parts, whole);

        // Runs come 50 a page.
        let second_page = ListPosition { page: 2, index: 0 };
        let (part, _) = executions::list_from(&kitaru, &filter, second_page, 3)
            .await
            .unwrap();
        let expected: Vec<String> = whole.iter().skip(50).take(3).cloned().collect();
        assert_eq!(ids(part), expected);

        let past_the_end = ListPosition {
            page: 10_000,
            index: 0,
        };
        let (part, next) = executions::list_from(&kitaru, &filter, past_the_end, 3)
            .await
            .unwrap();
        assert!(part.is_empty() && next.is_none());
    });
}

#[tokio::test]
async fn listing_with_filters_nothing_matches_is_empty() {
    let listed = list(
        &kitaru().await,
        list_args(None, Some("seed_completed"), Some("nope")),
    )
    .await
    .unwrap();
    assert!(listed.is_empty());
}

#[tokio::test]
async fn an_unknown_status_filter_is_refused() {
    let error = ExecutionStatus::parse_filter("done").unwrap_err();
    assert_eq!(error.kind(), kitaru_sdk::ErrorKind::InvalidArgument);
    assert!(
        error.to_string().contains(
            "Unsupported status filter 'done'. Expected one of: running, waiting, completed, failed, cancelled."
        ),
        "{error}"
    );
}

#[tokio::test]
async fn latest_is_a_detail_with_checkpoints() {
    let latest = latest(
        &kitaru().await,
        list_args(Some("completed"), Some("seed_completed"), None),
    )
    .await
    .unwrap()
    .expect("the completed seed");
    assert_eq!(latest.summary.exec_id, seed("/seed/completed/exec_id"));
    let detail = detail(&latest);
    assert_eq!(detail.checkpoints.len(), 6);
    assert_eq!(latest.summary.checkpoint_count, 6);
    assert_eq!(latest.summary.artifact_count, detail.artifacts.len());
    assert!(detail.frozen_execution_spec.is_some());
}

#[tokio::test]
async fn latest_with_no_match_is_none() {
    let none = latest(&kitaru().await, list_args(None, Some("x"), Some("nope")))
        .await
        .unwrap();
    assert_eq!(none, None);
}

// --- logs ---------------------------------------------------------------------

#[tokio::test]
async fn a_failed_checkpoints_log_shows_the_error_with_its_level_name() {
    let text = logs(
        &kitaru().await,
        logs_args(seed("/seed/failed/exec_id"), None, "step", 200),
    )
    .await
    .unwrap();
    let line = text.lines().next().unwrap();
    assert!(
        line.ends_with("Z ERROR [boom] An exception has occurred."),
        "{text}"
    );
    assert!(text.contains("RuntimeError: deliberate failure"), "{text}");
}

#[tokio::test]
async fn logs_come_oldest_first_in_checkpoint_order_and_stop_at_the_limit() {
    let kitaru = kitaru().await;
    let exec_id = seed("/seed/completed/exec_id");
    let text = logs(&kitaru, logs_args(exec_id, None, "prepare_step", 200))
        .await
        .unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 12, "{text}");
    assert!(
        lines[0].ends_with("INFO [greet] Step `greet` has started."),
        "{text}"
    );
    assert!(lines[11].contains("[finalize]"), "{text}");

    let first = logs(&kitaru, logs_args(exec_id, None, "prepare_step", 1))
        .await
        .unwrap();
    assert_eq!(first, lines[0]);

    let pair = logs(
        &kitaru,
        logs_args(exec_id, Some(" pair "), "Prepare_Step", 200),
    )
    .await
    .unwrap();
    assert!(pair.lines().all(|line| line.contains(" [pair] ")), "{pair}");
    assert_eq!(pair.lines().count(), 2);
}

#[tokio::test]
async fn a_log_nobody_wrote_is_no_entries() {
    let kitaru = kitaru().await;
    let exec_id = seed("/seed/completed/exec_id");
    for args in [
        logs_args(exec_id, Some("no_such_checkpoint"), "step", 200),
        logs_args(exec_id, None, "client", 200),
    ] {
        assert_eq!(logs(&kitaru, args).await.unwrap(), "No log entries found.");
    }
}

#[tokio::test]
async fn runner_logs_of_a_local_execution_are_unavailable() {
    let error = logs(
        &kitaru().await,
        logs_args(seed("/seed/failed/exec_id"), None, "runner", 200),
    )
    .await
    .unwrap_err();
    // The server's reason, in the words of its ZenML release.
    let reason = match server().line() {
        Line::V0_10 => "The run does not have a snapshot, thus the runner logs are not available.",
        Line::V0_21 => "Runner logs are unavailable for this run.",
    };
    assert_eq!(
        error.to_string(),
        format!("Failed to retrieve runtime logs for source 'runner': {reason}")
    );
}

#[tokio::test]
async fn bad_log_arguments_are_refused_before_any_request() {
    let kitaru = kitaru().await;
    let cases = [
        (logs_args("nope", None, "step", 0), "`limit` must be >= 1."),
        (
            logs_args("nope", None, "  ", 5),
            "`source` must be a non-empty string.",
        ),
        (
            logs_args("nope", Some(" "), "step", 5),
            "`checkpoint` must be non-empty when provided.",
        ),
        (
            logs_args("nope", Some("boom"), "runner", 5),
            "`checkpoint` cannot be combined with `source='runner'`.",
        ),
    ];
    for (args, expected) in cases {
        let error = logs(&kitaru, args).await.unwrap_err();
        assert!(error.to_string().contains(expected), "{error}");
    }
}

// --- artifacts list -----------------------------------------------------------

#[tokio::test]
async fn an_executions_artifacts_are_listed_in_checkpoint_order() {
    let kitaru = kitaru().await;
    let exec_id = seed("/seed/completed/exec_id");
    let all = list_artifacts(&kitaru, artifacts_args(exec_id))
        .await
        .unwrap();
    assert_eq!(all.len(), 8);
    let producers: Vec<&str> = all
        .iter()
        .map(|a| a.producing_call.as_deref().unwrap())
        .collect();
    assert_eq!(
        producers,
        [
            "greet",
            "gather",
            "split_words",
            "count_words",
            "pair",
            "pair",
            "pair",
            "finalize"
        ]
    );

    let mut responses = artifacts_args(exec_id);
    responses.filter.kind = Some("response".into());
    let saved = list_artifacts(&kitaru, responses).await.unwrap();
    assert_eq!(saved.len(), 1);
    assert_eq!(
        saved[0].artifact_id,
        seed("/seed/completed/saved_artifact/artifact_id")
    );

    let mut pair = artifacts_args(exec_id);
    pair.filter.producing_call = Some("pair".into());
    pair.limit = Some(2);
    assert_eq!(list_artifacts(&kitaru, pair).await.unwrap().len(), 2);

    let mut by_name = artifacts_args(exec_id);
    by_name.filter.name = Some("seed_completed::count_words::output".into());
    let count_words = list_artifacts(&kitaru, by_name).await.unwrap();
    assert_eq!(count_words.len(), 1);
    assert_eq!(count_words[0].metadata["string_representation"], "3");
}

#[tokio::test]
async fn artifacts_of_an_unknown_execution_fail_like_get() {
    let error = list_artifacts(&kitaru().await, artifacts_args("nope"))
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("Failed to load execution 'nope': "),
        "{error}"
    );
}

// --- input and cancel -----------------------------------------------------------

async fn input(
    kitaru: &Kitaru,
    (exec_id, wait, value): (&str, &str, Value),
) -> Result<Execution, Error> {
    executions::input(kitaru, exec_id, wait, value).await
}

fn input_args<'a>(exec_id: &'a str, wait: &'a str, value: Value) -> (&'a str, &'a str, Value) {
    (exec_id, wait, value)
}

#[tokio::test]
async fn input_of_the_wrong_type_is_refused_before_the_server_sees_it() {
    let kitaru = kitaru().await;
    let exec_id = seed("/seed/waiting/exec_id");
    let error = input(&kitaru, input_args(exec_id, "approve_seed", json!("yes")))
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("Wait input does not match the pending wait schema type (['boolean'])."),
        "{error}"
    );
    let still = get(exec_id).await.unwrap();
    assert_eq!(still.summary.pending_wait.unwrap().name, "approve_seed");
}

#[tokio::test]
async fn input_to_an_unknown_wait_lists_the_pending_ones() {
    let exec_id = seed("/seed/waiting/exec_id");
    let error = input(&kitaru().await, input_args(exec_id, "ship_it", json!(true)))
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "Execution '{exec_id}' has no pending wait 'ship_it'. Available waits: approve_seed."
        )
    );
}

#[tokio::test]
async fn an_execution_without_waits_takes_no_input() {
    let exec_id = seed("/seed/completed/exec_id");
    let error = input(
        &kitaru().await,
        input_args(exec_id, "approve_seed", json!(true)),
    )
    .await
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        format!("Execution '{exec_id}' has no pending waits to resolve.")
    );
}

#[tokio::test]
async fn a_finished_execution_cannot_be_cancelled() {
    let exec_id = seed("/seed/completed/exec_id");
    let error = executions::cancel(&kitaru().await, exec_id)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), kitaru_sdk::ErrorKind::State);
    assert_eq!(
        error.to_string(),
        "Cannot stop a run that is already completed."
    );
}

/// Two executions of `flows/extra_waiting.py`, paused on their wait, that
/// the tests below change: [0] gets input, [1] is cancelled. Call it while
/// holding [`executions_lock`] for writing.
fn fresh_waiting_executions() -> &'static [String] {
    static IDS: OnceLock<Vec<String>> = OnceLock::new();
    IDS.get_or_init(|| start_waiting_executions(2))
}

#[test]
fn input_to_a_paused_execution_resolves_its_wait() {
    changing_executions(give_input_to_a_paused_execution());
}

async fn give_input_to_a_paused_execution() {
    let exec_id = fresh_waiting_executions()[0].as_str();
    let kitaru = kitaru().await;
    let before = get(exec_id).await.unwrap();
    let wait_id = before
        .summary
        .pending_wait
        .as_ref()
        .unwrap()
        .wait_id
        .clone();

    let after = input(&kitaru, input_args(exec_id, &wait_id, json!(true)))
        .await
        .unwrap();
    assert_eq!(after.summary.exec_id, exec_id);
    assert_eq!(after.summary.status, ExecutionStatus::Waiting);
    assert_eq!(after.summary.pending_wait, None);
    assert_eq!(
        after.summary.status_reason.as_deref(),
        Some("Waiting for manual resume.")
    );
    assert_eq!(names(&after), ["draft"]);

    let again = input(&kitaru, input_args(exec_id, "approve_extra", json!(true)))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        again.starts_with(&format!(
            "Execution '{exec_id}' has no pending waits to resolve."
        )),
        "{again}"
    );
    assert!(again.contains("manual resume"), "{again}");
}

#[test]
fn cancelling_a_paused_execution_stops_it() {
    changing_executions(cancel_a_paused_execution());
}

async fn cancel_a_paused_execution() {
    let exec_id = fresh_waiting_executions()[1].clone();
    let kitaru = kitaru().await;
    let cancelled = executions::cancel(&kitaru, &exec_id).await.unwrap();
    // On the 0.10 line the server marks the run `stopping`, which kitaru
    // 0.10 reads as cancelled. On the 0.21 line, where `stopping` reads as
    // still running (waiting, with its wait pending), the wait is aborted
    // instead: the server stops the run.
    let (reason, again) = match line().await {
        ServerLine::Kitaru021 => ("Wait condition was aborted.", "Run is already stopped."),
        _ => ("Manual stop requested.", "Run is already being stopped."),
    };
    assert_eq!(cancelled.summary.status_reason.as_deref(), Some(reason));
    assert_eq!(cancelled.summary.pending_wait, None);
    assert_eq!(cancelled.summary.status, ExecutionStatus::Cancelled);
    let listed = list(
        &kitaru,
        ExecutionFilter::default()
            .status(ExecutionStatus::Cancelled)
            .flow("extra_waiting"),
    )
    .await
    .unwrap();
    assert!(listed.iter().any(|e| e.summary.exec_id == exec_id));

    let error = executions::cancel(&kitaru, &exec_id).await.unwrap_err();
    assert_eq!(error.to_string(), again);
}

#[test]
fn aborting_a_wait_stops_the_execution() {
    changing_executions(abort_a_wait());
}

async fn abort_a_wait() {
    let exec_id = start_waiting_executions(1).remove(0);
    let kitaru = kitaru().await;
    let unknown = executions::abort_wait(&kitaru, &exec_id, "ship_it")
        .await
        .unwrap_err();
    assert_eq!(
        unknown.to_string(),
        format!(
            "Execution '{exec_id}' has no pending wait 'ship_it'. Available waits: approve_extra."
        )
    );
    let aborted = executions::abort_wait(&kitaru, &exec_id, "approve_extra")
        .await
        .unwrap();
    assert_eq!(aborted.summary.status, ExecutionStatus::Cancelled);
    assert_eq!(
        aborted.summary.status_reason.as_deref(),
        Some("Wait condition was aborted.")
    );
    assert_eq!(aborted.summary.pending_wait, None);
    // Over REST: the server stopped the run.
    let run = kitaru
        .client
        .get_run()
        .run_id(uuid::Uuid::parse_str(&exec_id).unwrap())
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        run.body.unwrap().status,
        kitaru_client::types::ExecutionStatus::Stopped
    );
    let again = executions::abort_wait(&kitaru, &exec_id, "approve_extra")
        .await
        .unwrap_err();
    assert_eq!(
        again.to_string(),
        format!("Execution '{exec_id}' has no pending waits to resolve.")
    );
}

// --- the kitaru 0.21 line's LLM usage ---------------------------------------

/// A fresh execution of `flows/llm_usage.py` (kitaru 0.21 only): its id,
/// and the records the flow logged (call name → input tokens, output
/// tokens, estimated cost).
async fn llm_usage_execution() -> (String, Value) {
    let made = kitaru_testkit::python("llm_usage", &[], None, kitaru_testkit::Runs::Flow).await;
    (
        made["exec_id"].as_str().unwrap().to_owned(),
        made["records"].clone(),
    )
}

#[tokio::test]
async fn on_the_0_21_line_llm_usage_comes_as_the_sdk_recorded_and_summed_it() {
    if line().await != ServerLine::Kitaru021 {
        return; // The flow records usage with the kitaru 0.21 SDK.
    }
    let (exec_id, logged) = llm_usage_execution().await;
    let execution = get(&exec_id).await.unwrap();
    let detail = detail(&execution);
    let records = detail.llm_usage_records.as_ref().unwrap();
    let call_names: Vec<&str> = records
        .iter()
        .map(|record| record["call_name"].as_str().unwrap())
        .collect();
    // The execution's own record first, then the checkpoints' in order:
    // `kitaru.llm()`'s (`hello`, mocked) after the logged ones.
    assert_eq!(
        call_names,
        [
            "run_level",
            "ask",
            "agent_turn",
            "flaky_1",
            "flaky_2",
            "hello"
        ]
    );
    for record in records {
        let name = record["call_name"].as_str().unwrap();
        if let Some([input, output, cost]) = logged[name].as_array().map(Vec::as_slice) {
            assert_eq!(&record["usage"]["input_tokens"], input, "{name}");
            assert_eq!(&record["usage"]["output_tokens"], output, "{name}");
            assert_eq!(&record["cost"]["estimated_cost_usd"], cost, "{name}");
            assert_eq!(record["billing_effect"], "incurred", "{name}");
        } else {
            assert_eq!(record["billing_effect"], "unknown", "{name} is mocked");
        }
    }
    // The summary the SDK wrote when the execution ended adds up the same
    // records.
    let summary = execution
        .summary
        .llm_usage_summary
        .clone()
        .flatten()
        .expect("a usage summary");
    let total = |section: &str, key: &str| -> f64 {
        records
            .iter()
            .filter_map(|record| record[section][key].as_f64())
            .sum()
    };
    assert_eq!(summary["usage_record_count"], json!(records.len()));
    for key in ["input_tokens", "output_tokens"] {
        assert_eq!(summary[key].as_f64(), Some(total("usage", key)), "{key}");
    }
    let estimated = summary["estimated_cost_usd"].as_f64().unwrap();
    assert!((estimated - total("cost", "estimated_cost_usd")).abs() < 1e-9);
    let unpriced = records
        .iter()
        .filter(|record| record["cost"]["estimated_cost_usd"].is_null())
        .count();
    assert_eq!(summary["records_without_cost_count"], json!(unpriced));
    assert_eq!(summary["models"], json!(["openai/gpt-test"]));

    let checkpoint = |name: &str| {
        detail
            .checkpoints
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no checkpoint {name}"))
    };
    // An adapter's checkpoint says so.
    let turn = checkpoint("agent_turn").provenance.as_ref().unwrap();
    assert_eq!(turn.checkpoint_origin, CheckpointOrigin::Adapter);
    assert_eq!(turn.adapter.as_deref(), Some("pydantic_ai"));
    assert_eq!(
        turn.adapter_checkpoint_kind.as_deref(),
        Some("model_request")
    );
    assert_eq!(turn.replay_input_slots, ["input"]);
    assert_eq!(turn.replay_output_slots, ["output"]);
    // An llm_call shows its prompt, a tool_call its arguments, as inputs.
    for (name, slot, kind, output_kind) in [
        ("ask", "input", "prompt", "response"),
        ("lookup", "tool_args", "input", "output"),
    ] {
        let artifacts = &checkpoint(name).artifacts;
        assert_eq!(artifacts.len(), 2, "{name}");
        let (given, made) = (&artifacts[0], &artifacts[1]);
        assert_eq!(given.name, slot);
        assert_eq!(given.kind.as_deref(), Some(kind));
        assert_eq!(given.direction, Some(ArtifactDirection::Input));
        assert_eq!(given.input_type.as_deref(), Some("external"));
        assert_eq!(given.producing_call, None);
        assert_eq!(made.kind.as_deref(), Some(output_kind));
        assert_eq!(made.direction, None);
    }
    // `ask`'s output is `agent_turn`'s input: listed once, as produced.
    let answer = &checkpoint("ask").artifacts[1];
    assert!(
        checkpoint("agent_turn")
            .artifacts
            .iter()
            .any(|a| a.artifact_id == answer.artifact_id && a.direction.is_some())
    );
    let listed: Vec<_> = detail
        .artifacts
        .iter()
        .filter(|a| a.artifact_id == answer.artifact_id)
        .collect();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].direction, None);
    assert_eq!(execution.summary.artifact_count, detail.artifacts.len());
    // A retried checkpoint is one checkpoint with two attempts, each with
    // its record; the failed one's failure as Python prints it.
    let flaky = checkpoint("flaky");
    assert_eq!(flaky.attempts.len(), 2);
    assert_eq!(flaky.status, ExecutionStatus::Completed);
    assert_eq!(flaky.failure, None);
    let first = &flaky.attempts[0];
    assert_eq!(first.status, ExecutionStatus::Failed);
    assert_eq!(
        first.failure.as_ref().unwrap().message,
        "ValueError: first attempt fails"
    );
    let attempt_calls: Vec<Vec<&str>> = flaky
        .attempts
        .iter()
        .map(|attempt| {
            attempt
                .llm_usage_records
                .iter()
                .flatten()
                .map(|record| record["call_name"].as_str().unwrap())
                .collect()
        })
        .collect();
    assert_eq!(attempt_calls, [["flaky_1"], ["flaky_2"]]);
    assert_eq!(execution.summary.checkpoint_count, detail.checkpoints.len());
    assert_eq!(detail.checkpoints.len(), 6);

    // Listings carry the summary too, and count what get shows.
    let listed = list(&kitaru().await, list_args(None, Some("llm_usage"), None))
        .await
        .unwrap();
    let item = listed
        .iter()
        .find(|e| e.summary.exec_id == exec_id)
        .unwrap();
    assert_eq!(
        item.summary.llm_usage_summary,
        execution.summary.llm_usage_summary
    );
    assert_eq!(
        (item.summary.checkpoint_count, item.summary.artifact_count),
        (6, detail.artifacts.len())
    );
}

#[test]
fn a_paused_execution_resumes_in_place_once_its_wait_is_answered() {
    changing_executions(resume_a_paused_execution());
}

async fn resume_a_paused_execution() {
    let [exec_id, broken_id]: [String; 2] = start_waiting_executions(2).try_into().unwrap();
    let kitaru = kitaru().await;
    let options = kitaru_testkit::launch_options();
    let refused = executions::resume(&kitaru, &exec_id, &options)
        .await
        .unwrap_err();
    assert_eq!(
        refused.to_string(),
        format!("Resolve pending wait input before resuming execution '{exec_id}'.")
    );
    let completed = seed("/seed/completed/exec_id");
    let refused = executions::resume(&kitaru, completed, &options)
        .await
        .unwrap_err();
    assert_eq!(
        refused.to_string(),
        format!(
            "Only paused executions can be resumed. Execution '{completed}' is currently \
             'completed'."
        )
    );
    for id in [&exec_id, &broken_id] {
        let answered = executions::input(&kitaru, id, "approve_extra", json!(true))
            .await
            .unwrap();
        assert_eq!(answered.summary.pending_wait, None, "{answered:?}");
    }

    // A Python that fails: the run is paused again, with kitaru's reason.
    let dir = tempfile::tempdir().unwrap();
    let failing = dir.path().join("python");
    std::fs::write(
        &failing,
        "#!/bin/sh\necho 'no orchestrator here' >&2\nexit 1\n",
    )
    .unwrap();
    std::fs::set_permissions(
        &failing,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let mut broken = kitaru_testkit::launch_options();
    broken.python.as_mut().unwrap().path = failing;
    let error = executions::resume(&kitaru, &broken_id, &broken)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with(&format!("Failed to resume execution '{broken_id}': ")),
        "{error}"
    );
    assert!(error.contains("no orchestrator here"), "{error}");
    let after = get(&broken_id).await.unwrap();
    assert_eq!(after.summary.status, ExecutionStatus::Waiting);
    assert_eq!(
        after.summary.status_reason.as_deref(),
        Some("Manual resume failed.")
    );

    // Through the Kitaru Python: the same execution goes on and ends.
    let resumed = executions::resume(&kitaru, &exec_id, &options)
        .await
        .unwrap();
    assert_eq!(resumed.summary.exec_id, exec_id);
    assert_eq!(
        resumed.summary.status,
        ExecutionStatus::Completed,
        "{resumed:?}"
    );
    let names: Vec<&str> = detail(&resumed)
        .checkpoints
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert!(names.contains(&"publish_extra"), "{names:?}");
    // And the one whose resume failed can be resumed after all.
    let resumed = executions::resume(&kitaru, &broken_id, &options)
        .await
        .unwrap();
    assert_eq!(
        resumed.summary.status,
        ExecutionStatus::Completed,
        "{resumed:?}"
    );
}

// --- cohorts ----------------------------------------------------------------

/// This process's executions of `flows/cohort.py` (oldest first: alpha,
/// beta, gamma, delta which failed in `review`, epsilon; deployment
/// versions 1, 2, none, 1, 1) and a query of `review` over exactly their
/// window (earlier processes' runs of the flow stay on the server).
async fn cohort_batch() -> (Vec<String>, executions::CohortQuery) {
    let made = tokio::task::spawn_blocking(kitaru_testkit::cohort_executions)
        .await
        .unwrap();
    let runs = made["runs"].as_array().unwrap();
    let started = |run: &Value| run["started_at"].as_str().unwrap().to_owned();
    let query = executions::CohortQuery {
        since: Some(started(&runs[0])),
        until: Some(started(runs.last().unwrap())),
        ..executions::CohortQuery::new("cohort_flow", "review")
    };
    let ids = runs
        .iter()
        .map(|run| run["exec_id"].as_str().unwrap().to_owned())
        .collect();
    (ids, query)
}

/// The ids at these indices.
fn picked(ids: &[String], indices: &[usize]) -> Vec<String> {
    indices.iter().map(|&index| ids[index].clone()).collect()
}

#[tokio::test]
async fn a_cohort_takes_the_completed_originals_that_passed_the_checkpoint_newest_first() {
    let (ids, query) = cohort_batch().await;
    let cohort = executions::cohort(&kitaru().await, &query).await.unwrap();
    assert_eq!(cohort.exec_ids, picked(&ids, &[4, 2, 1, 0]));
    assert_eq!(cohort.matched, 4);
    assert!(!cohort.partial);
    assert!(cohort.filtered.status >= 1, "{:?}", cohort.filtered);
    assert_eq!(cohort.filtered.checkpoint, 0);
    let values: Vec<f64> = cohort
        .ranked
        .iter()
        .map(|ranked| ranked.sort_value.unwrap())
        .collect();
    assert!(
        values.windows(2).all(|pair| pair[0] > pair[1]),
        "{values:?}"
    );
    assert_eq!(cohort.deployment_version, None);
    // The reference's key order.
    let text = serde_json::to_string(&cohort).unwrap();
    let positions: Vec<usize> = [
        "flow",
        "at",
        "deployment",
        "deployment_version",
        "order_by",
        "exec_ids",
        "scanned",
        "matched",
        "partial",
        "filtered",
        "ranked",
    ]
    .iter()
    .map(|key| text.find(&format!("\"{key}\":")).unwrap())
    .collect();
    assert!(positions.is_sorted(), "{text}");
}

#[tokio::test]
async fn a_cohort_ranks_by_usage_and_keeps_failed_ones_when_asked() {
    let (ids, query) = cohort_batch().await;
    let query = executions::CohortQuery {
        order_by: "-total_tokens".into(),
        statuses: vec![ExecutionStatus::Completed, ExecutionStatus::Failed],
        ..query
    };
    let cohort = executions::cohort(&kitaru().await, &query).await.unwrap();
    let expected = if line().await == ServerLine::Kitaru021 {
        // Tokens 41, 31, 21, 11, 6 (input tokens plus one output token).
        [4, 1, 2, 0, 3]
    } else {
        // No usage on the 0.10 line: the newest first.
        [4, 3, 2, 1, 0]
    };
    assert_eq!(cohort.exec_ids, picked(&ids, &expected));
    let cost = executions::CohortQuery {
        order_by: "display_cost_usd".into(),
        limit: 2,
        ..query.clone()
    };
    let cohort = executions::cohort(&kitaru().await, &cost).await.unwrap();
    if line().await == ServerLine::Kitaru021 {
        // Gamma's usage has no cost (its display cost is 0), then beta's
        // 0.001.
        assert_eq!(cohort.exec_ids, picked(&ids, &[2, 1]));
    }
    assert_eq!(cohort.matched, 2);
}

#[tokio::test]
async fn a_cohort_keeps_one_deployment_version_and_one_checkpoint_call() {
    let (ids, query) = cohort_batch().await;
    let kitaru = kitaru().await;
    let version_1 = executions::CohortQuery {
        deployment_version: Some(1),
        statuses: vec![ExecutionStatus::Completed, ExecutionStatus::Failed],
        ..query.clone()
    };
    let cohort = executions::cohort(&kitaru, &version_1).await.unwrap();
    assert_eq!(cohort.exec_ids, picked(&ids, &[4, 3, 0]));
    assert_eq!(cohort.deployment_version, Some(1));
    // Beta and gamma, and other versions of earlier processes' runs.
    assert!(cohort.filtered.deployment >= 2, "{:?}", cohort.filtered);

    let first = executions::get(&kitaru, &ids[0]).await.unwrap();
    let review = first.detail.unwrap().checkpoints;
    let review = review.iter().find(|c| c.name == "review").unwrap();
    let by_call = executions::CohortQuery {
        at: review.call_id.clone(),
        ..query
    };
    let cohort = executions::cohort(&kitaru, &by_call).await.unwrap();
    assert_eq!(cohort.exec_ids, picked(&ids, &[0]));
    assert_eq!(cohort.filtered.checkpoint, 3, "{:?}", cohort.filtered);
}

#[tokio::test]
async fn a_cohort_stops_at_max_scan_and_says_it_is_partial() {
    cohort_batch().await;
    let query = executions::CohortQuery {
        max_scan: 1,
        limit: 2,
        originals_only: false,
        ..executions::CohortQuery::new("cohort_flow", "review")
    };
    let cohort = executions::cohort(&kitaru().await, &query).await.unwrap();
    assert_eq!((cohort.scanned, cohort.matched), (1, 1));
    assert!(cohort.partial);
}

#[tokio::test]
async fn a_cohort_nothing_matches_is_an_error_with_the_counts() {
    let (_, query) = cohort_batch().await;
    let nothing = executions::CohortQuery {
        at: "nope".into(),
        ..query.clone()
    };
    let error = executions::cohort(&kitaru().await, &nothing)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), kitaru_sdk::ErrorKind::NotFound);
    let text = error.to_string();
    assert!(
        text.starts_with(
            "Cohort selection matched 0 executions. flow='cohort_flow', at='nope', \
             deployment=None, deployment_version=None, scanned="
        ),
        "{text}"
    );
    assert!(text.contains("'checkpoint': 4"), "{text}");
    for (bad, argument) in [
        (
            executions::CohortQuery {
                limit: 0,
                ..query.clone()
            },
            "limit",
        ),
        (
            executions::CohortQuery {
                statuses: Vec::new(),
                ..query.clone()
            },
            "status",
        ),
        (
            executions::CohortQuery {
                until: Some("tomorrow".into()),
                ..query.clone()
            },
            "until",
        ),
        (
            executions::CohortQuery {
                order_by: "-cost".into(),
                ..query.clone()
            },
            "order_by",
        ),
        (
            executions::CohortQuery {
                deployment: Some("  ".into()),
                ..query.clone()
            },
            "deployment",
        ),
    ] {
        match executions::cohort(&kitaru().await, &bad).await {
            Err(Error::InvalidArgument { argument: got, .. }) => assert_eq!(got, argument),
            other => panic!("{argument}: {other:?}"),
        }
    }
}

// --- diff ---------------------------------------------------------------------

/// `diff` against given executions and `diff_matrix`, on either line: a
/// seeded execution against itself (every checkpoint paired, every value
/// hashed as the Python SDK hashes it), against another, and as a matrix.
#[tokio::test]
async fn executions_diff_against_given_executions_and_as_a_matrix() {
    let kitaru = kitaru().await;
    let completed = seed("/seed/completed/exec_id");
    let failed = seed("/seed/failed/exec_id");
    let itself = executions::diff(&kitaru, completed, &[completed[..8].to_owned()])
        .await
        .unwrap();
    assert_eq!(itself.original_exec_id, completed);
    assert_eq!(itself.compared.len(), 1);
    assert_eq!(itself.compared[0].replay_exec_id, &completed[..8]);
    let checkpoints = &itself.compared[0].checkpoints;
    assert_eq!(checkpoints.len(), 6, "{checkpoints:?}");
    for checkpoint in checkpoints {
        assert!(checkpoint.status_match, "{checkpoint:?}");
        assert_eq!(checkpoint.original_call_id, checkpoint.replay_call_id);
        assert_eq!(checkpoint.duration_delta_ms, Some(0.0));
        assert_eq!(checkpoint.cost_delta_usd, Some(0.0));
        assert!(!checkpoint.artifact_hashes.is_empty(), "{checkpoint:?}");
        for pair in checkpoint.artifact_hashes.values() {
            assert!(pair.original.is_some(), "{checkpoint:?}");
            assert_eq!(pair.original, pair.replay);
        }
    }
    // sha256 of `json.dumps("hello from kitaru", sort_keys=True, default=str)`.
    let greet = &checkpoints[0].artifact_hashes["seed_completed::greet::output"];
    assert_eq!(
        greet.original.as_deref(),
        Some("fc65fd5b7a7fc656c5843ede6736a86d83aa2995a38d349be72c5e7abb7247d6")
    );
    let flow_id = seed("/seed/completed/flow_id");
    let server_url = seed("/server_url").trim_end_matches('/');
    assert_eq!(
        itself.urls,
        [format!(
            "{server_url}/flows/{flow_id}/v/local/compare?executions={completed},{}",
            &completed[..8]
        )]
    );

    let other = executions::diff(&kitaru, completed, &[failed.to_owned()])
        .await
        .unwrap();
    let checkpoints = &other.compared[0].checkpoints;
    let boom = checkpoints.last().unwrap();
    assert_eq!(
        (boom.name.as_str(), boom.original_call_id.as_ref()),
        ("boom", None)
    );
    assert!(boom.replay_call_id.is_some() && !boom.status_match);
    assert!(checkpoints[..6].iter().all(|c| c.replay_call_id.is_none()));

    let matrix = executions::diff_matrix(
        &kitaru,
        &[
            completed.to_owned(),
            failed.to_owned(),
            completed.to_owned(),
        ],
    )
    .await
    .unwrap();
    let rows: Vec<&str> = matrix
        .rows
        .iter()
        .map(|row| row.original_exec_id.as_str())
        .collect();
    assert_eq!(rows, [completed, failed, completed]);
    assert_eq!(matrix.rows[0], matrix.rows[2]);

    let missing = executions::diff(&kitaru, "nope", &[]).await.unwrap_err();
    assert_eq!(missing.kind(), kitaru_sdk::ErrorKind::NotFound, "{missing}");
    let missing = executions::diff_matrix(&kitaru, &[completed.to_owned(), "nope".to_owned()])
        .await
        .unwrap_err();
    assert!(
        missing
            .to_string()
            .starts_with("Failed to load execution 'nope'"),
        "{missing}"
    );
}

/// A value only Python can load has no content hash here; a readable one
/// hashes as Python does, on either line.
#[tokio::test]
async fn artifact_content_hashes_are_pythons_or_none() {
    let kitaru = kitaru().await;
    let artifacts = server()
        .get("/seed/completed/artifacts")
        .as_array()
        .unwrap();
    let count = artifacts
        .iter()
        .find(|artifact| artifact["checkpoint"] == "count_words")
        .unwrap();
    // sha256 of `json.dumps(3)`.
    assert_eq!(
        artifacts::content_hash(&kitaru, count["artifact_id"].as_str().unwrap())
            .await
            .as_deref(),
        Some("4e07408562bedb8b60ce05c1decfe3ad16b72230967de01f640b7e4729b49fce")
    );
    // Beyond JSON: written as their `str()` (what `default=str` does), or
    // refused as Python refuses them.
    let outputs = crate::sdk_artifacts::pickled_flow_outputs().await;
    for (checkpoint, expected) in [
        (
            "make_uuid",
            Some("be6bf1ea57078ff17fa690d9c62d24fb803c8aac2368bb9088431187034a2cfe"),
        ),
        (
            "make_report",
            Some("496925168fd9a93eb458fd5802b12bb906c2d4c6830e874f355952c18658eb60"),
        ),
        // Keys `"blob"` and `7` cannot be sorted: Python's dump raises.
        ("make_bytes_dict", None),
        // Pickled: only Python can load it.
        ("make_custom", None),
    ] {
        assert_eq!(
            artifacts::content_hash(&kitaru, &outputs[checkpoint])
                .await
                .as_deref(),
            expected,
            "{checkpoint}"
        );
    }
    assert_eq!(artifacts::content_hash(&kitaru, "nope").await, None);
    assert_eq!(
        artifacts::content_hash(&kitaru, "00000000-0000-4000-8000-000000000000").await,
        None
    );
}
