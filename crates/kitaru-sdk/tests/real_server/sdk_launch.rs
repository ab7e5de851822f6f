//! Running flows, replaying and retrying executions with the SDK against
//! the real server: the flows of `tests/harness/flows/extra_replay.py` run in
//! the harness's Kitaru Python through the bridge, and every outcome is
//! checked over REST, not only through the SDK's own reading.

use std::time::Duration;

use kitaru_client::types::ExecutionStatus as ZenmlStatus;
use kitaru_sdk::executions::{self, Checkpoint, Execution, ExecutionStatus};
use kitaru_sdk::{ErrorKind, Kitaru, artifacts};
use serde_json::{Map, Value, json};

use kitaru_testkit::{FLOWS, changing_executions, launch_options, server};

fn object(value: Value) -> Map<String, Value> {
    value.as_object().cloned().expect("an object")
}

async fn run(kitaru: &Kitaru, flow: &str, args: Value) -> Execution {
    let target = format!("{FLOWS}:{flow}");
    let started = executions::run(kitaru, &target, &object(args), None, &launch_options())
        .await
        .unwrap_or_else(|e| panic!("run {target}: {e}"));
    assert_eq!(started.target, target);
    let execution = started.execution.expect("the new execution is read");
    assert_eq!(execution.summary.exec_id, started.exec_id);
    execution
}

fn checkpoint<'a>(execution: &'a Execution, name: &str) -> &'a Checkpoint {
    let detail = execution.detail.as_ref().expect("detail");
    detail
        .checkpoints
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no checkpoint {name} in {:#?}", detail.checkpoints))
}

/// The value of a checkpoint's only output, read back from the store.
async fn output(kitaru: &Kitaru, execution: &Execution, name: &str) -> Value {
    let artifact = &checkpoint(execution, name).artifacts[0];
    artifacts::get(kitaru, &artifact.artifact_id)
        .await
        .unwrap()
        .value
}

/// The ZenML status of each step of a run, by step name, from the server.
async fn step_statuses(
    kitaru: &Kitaru,
    run_id: &str,
) -> Vec<(String, ZenmlStatus, Option<String>)> {
    let steps = kitaru
        .client
        .list_run_steps()
        .pipeline_run_id(run_id)
        .hydrate(true)
        .sort_by("asc:created")
        .size(100)
        .send()
        .await
        .unwrap()
        .into_inner()
        .items;
    steps
        .into_iter()
        .map(|step| {
            let original = step
                .metadata
                .as_ref()
                .and_then(|m| m.original_step_run_id)
                .map(|id| id.to_string());
            (step.name, step.body.unwrap().status, original)
        })
        .collect()
}

#[test]
fn a_run_replayed_from_a_checkpoint_skips_the_earlier_ones_and_takes_overrides() {
    changing_executions(async {
        let kitaru = server().kitaru().await;
        let source = run(
            &kitaru,
            "research_agent",
            json!({"topic": "durable agents"}),
        )
        .await;
        assert_eq!(source.summary.status, ExecutionStatus::Completed);
        let source_id = source.summary.exec_id.clone();
        let gathered = checkpoint(&source, "gather_sources").call_id.clone();
        assert_eq!(
            output(&kitaru, &source, "summarize").await,
            json!({"summary": "notes on durable agents", "n": 23})
        );

        // The docs' example: from summarize, with gather_sources overridden
        // (by notes never used before, so that no cache can answer).
        let notes = format!("OVERRIDDEN NOTES {}", uuid::Uuid::new_v4());
        let replayed = executions::replay(
            &kitaru,
            &source_id,
            "summarize",
            &object(json!({"checkpoint.gather_sources": notes})),
            &Map::new(),
            &launch_options(),
        )
        .await
        .unwrap();
        assert!(replayed.available);
        assert_eq!(replayed.operation, "replay");
        let new = &replayed.execution;
        let first_replay = new.summary.exec_id.clone();
        assert_ne!(new.summary.exec_id, source_id);
        assert_eq!(new.summary.status, ExecutionStatus::Completed);
        let detail = new.detail.as_ref().unwrap();
        assert_eq!(detail.original_exec_id.as_deref(), Some(source_id.as_str()));
        let skipped = checkpoint(new, "gather_sources");
        assert_eq!(skipped.original_call_id.as_deref(), Some(gathered.as_str()));
        assert_eq!(
            output(&kitaru, new, "summarize").await,
            json!({"summary": notes, "n": notes.len()})
        );
        // Over REST: the server recorded the skip and the re-execution.
        let steps = step_statuses(&kitaru, &new.summary.exec_id).await;
        let gather = steps
            .iter()
            .find(|s| s.0.ends_with("gather_sources"))
            .unwrap();
        assert_eq!(gather.1, ZenmlStatus::Skipped, "{steps:?}");
        assert_eq!(gather.2.as_deref(), Some(gathered.as_str()));
        let summarize = steps.iter().find(|s| s.0.ends_with("summarize")).unwrap();
        assert_eq!(summarize.1, ZenmlStatus::Completed, "{steps:?}");

        // New flow inputs reach the first checkpoint replayed.
        let topic = format!("replayed {}", uuid::Uuid::new_v4());
        let replayed = executions::replay(
            &kitaru,
            &source_id,
            "gather_sources",
            &Map::new(),
            &object(json!({"topic": topic})),
            &launch_options(),
        )
        .await
        .unwrap();
        let notes = format!("notes on {topic}");
        assert_eq!(
            output(&kitaru, &replayed.execution, "gather_sources").await,
            json!(notes)
        );
        assert_eq!(
            output(&kitaru, &replayed.execution, "summarize").await,
            json!({"summary": notes, "n": notes.len()})
        );

        // The diff finds both replays from the original (newest first) and
        // pairs each checkpoint with its own: the re-run summaries differ.
        let diff = executions::diff(&kitaru, &source_id, &[]).await.unwrap();
        let found: Vec<&str> = diff
            .compared
            .iter()
            .map(|replay| replay.replay_exec_id.as_str())
            .collect();
        let second_replay = replayed.execution.summary.exec_id.as_str();
        assert_eq!(found, [second_replay, first_replay.as_str()]);
        for replay in &diff.compared {
            let names: Vec<&str> = replay.checkpoints.iter().map(|c| c.name.as_str()).collect();
            assert_eq!(names, ["gather_sources", "summarize"], "{replay:?}");
            let summarize = &replay.checkpoints[1];
            assert!(summarize.status_match, "{summarize:?}");
            let hashes: Vec<_> = summarize.artifact_hashes.values().collect();
            assert_eq!(hashes.len(), 1, "{summarize:?}");
            assert!(hashes[0].original.is_some() && hashes[0].replay.is_some());
            assert_ne!(hashes[0].original, hashes[0].replay);
        }
        // A scan cut short says so: the newest run (the second replay) is
        // read, the older ones are not.
        let short = executions::ReplayScan { limit: 1 }
            .diff(&kitaru, &source_id, &[])
            .await
            .unwrap();
        let found: Vec<&str> = short
            .compared
            .iter()
            .map(|replay| replay.replay_exec_id.as_str())
            .collect();
        assert_eq!(found, [second_replay]);
        assert_eq!(
            short.warnings,
            [
                "Replay discovery for flow research_agent scanned 1 executions before confirming \
              that older executions remain. This row may omit older replays; pass replay \
              execution IDs explicitly to compare them."
            ]
        );
        let reused = &diff.compared[1].checkpoints[0];
        assert_eq!(reused.original_call_id.as_deref(), Some(gathered.as_str()));
        assert!(diff.warnings.is_empty());
        assert_eq!(diff.urls.len(), 1, "{:?}", diff.urls);
    });
}

#[test]
fn a_failed_execution_is_retried_from_its_failed_checkpoint() {
    changing_executions(async {
        let kitaru = server().kitaru().await;
        let marker = tempfile::tempdir().unwrap();
        let marker = marker.path().join("failed-once");
        let target = format!("{FLOWS}:flaky");
        let started = executions::run(
            &kitaru,
            &target,
            &object(json!({"marker": marker.display().to_string()})),
            None,
            &launch_options(),
        )
        .await
        .unwrap();
        let failed = started.execution.expect("the failed execution is read");
        assert_eq!(failed.summary.status, ExecutionStatus::Failed);
        let failure = failed.summary.failure.as_ref().expect("a failure");
        assert!(
            failure.message.contains("first attempt fails"),
            "{failure:?}"
        );
        let warning = started.warning.expect("the flow's error is reported");
        assert!(warning.contains("first attempt fails"), "{warning}");
        let prepared = checkpoint(&failed, "prepare_flaky").call_id.clone();

        let retried = executions::retry(&kitaru, &failed.summary.exec_id, &launch_options())
            .await
            .unwrap();
        assert_eq!(retried.operation, "retry");
        let new = &retried.execution;
        assert_ne!(
            new.summary.exec_id, failed.summary.exec_id,
            "a new execution"
        );
        assert_eq!(new.summary.status, ExecutionStatus::Completed);
        assert_eq!(
            new.detail.as_ref().unwrap().original_exec_id.as_deref(),
            Some(failed.summary.exec_id.as_str())
        );
        assert_eq!(
            checkpoint(new, "prepare_flaky").original_call_id.as_deref(),
            Some(prepared.as_str()),
            "the successful checkpoint is reused"
        );
        assert_eq!(
            output(&kitaru, new, "fragile").await,
            json!("prepared, then recovered")
        );
        let steps = step_statuses(&kitaru, &new.summary.exec_id).await;
        assert!(
            steps
                .iter()
                .any(|s| s.0.ends_with("prepare_flaky") && s.1 == ZenmlStatus::Skipped),
            "{steps:?}"
        );

        // The source stays failed: retrying it again is allowed, a
        // completed one is not.
        let error = executions::retry(&kitaru, &new.summary.exec_id, &launch_options())
            .await
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::State);
        assert_eq!(
            error.to_string(),
            format!(
                "Only failed executions can be retried. Execution '{}' is currently 'completed'.",
                new.summary.exec_id
            )
        );
    });
}

/// kitaru 0.21's replay, on either server line: several sources at once,
/// an output override, new flow inputs, a checkpoint played back, a tag;
/// what each new execution ran is checked over REST, with the correlation
/// recorded on it.
#[test]
fn executions_are_replayed_together_with_kitaru_0_21s_overrides() {
    changing_executions(async {
        let kitaru = server().kitaru().await;
        let first = run(&kitaru, "research_agent", json!({"topic": "batch one"})).await;
        let second = run(&kitaru, "research_agent", json!({"topic": "batch two"})).await;
        let completed = server().str("/seed/completed/exec_id").to_owned();
        let sources = [
            first.summary.exec_id.clone(),
            second.summary.exec_id.clone(),
            completed.clone(),
        ];
        let notes = format!("NOTES {}", uuid::Uuid::new_v4());
        let changes: executions::ReplayChanges = serde_json::from_value(json!({
            "checkpoint_overrides": {"gather_sources": {"output": notes}},
            "flow_overrides": {"topic": "ignored: gather_sources is overridden"},
        }))
        .unwrap();
        let tag = format!("batch-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
        let submit = executions::SubmitOptions {
            tag: Some(tag.clone()),
            wait: Some(true),
            on_error: None,
        };
        let submission = executions::replay_executions(
            &kitaru,
            &sources,
            "summarize",
            &changes,
            &submit,
            &launch_options(),
        )
        .await
        .unwrap();
        // Several sources: errors are collected; the seeded execution has
        // no `summarize`, so it is skipped, naming what it has.
        assert!(submission.wait);
        assert_eq!(submission.results.len(), 2, "{submission:#?}");
        assert!(submission.failures.is_empty(), "{submission:#?}");
        assert_eq!(submission.skipped.len(), 1);
        assert_eq!(
            submission.skipped[0].original_exec_id.as_deref(),
            Some(completed.as_str())
        );
        assert!(
            submission.skipped[0]
                .reason
                .starts_with("Unknown checkpoint selector 'summarize'."),
            "{}",
            submission.skipped[0].reason
        );
        assert_eq!(submission.summary.completed, 2);
        assert_eq!(
            submission.plan.matched_targets["checkpoint:gather_sources"],
            ["gather_sources"]
        );
        for (row, source) in submission.results.iter().zip([&first, &second]) {
            assert_eq!(row.original_exec_id, source.summary.exec_id);
            assert_eq!(row.status, "completed");
            let replay = executions::get(&kitaru, &row.replay_exec_id).await.unwrap();
            assert_eq!(
                output(&kitaru, &replay, "summarize").await,
                json!({"summary": notes, "n": notes.len()})
            );
            let steps = step_statuses(&kitaru, &row.replay_exec_id).await;
            let gather = steps
                .iter()
                .find(|s| s.0.ends_with("gather_sources"))
                .unwrap();
            assert_eq!(gather.1, ZenmlStatus::Skipped, "{steps:?}");
            let metadata = &replay.summary.metadata;
            assert_eq!(metadata["submission_id"], json!(submission.submission_id));
            assert_eq!(metadata["original_exec_id"], json!(source.summary.exec_id));
            assert_eq!(metadata["replay_tag"], json!(tag));
            assert_eq!(
                metadata["kitaru_replay_skipped_steps_v1"],
                json!(["gather_sources"])
            );
            let run = kitaru
                .client
                .get_run()
                .run_id(row.replay_exec_id.parse::<uuid::Uuid>().unwrap())
                .send()
                .await
                .unwrap()
                .into_inner();
            let tags: Vec<String> = run
                .resources
                .unwrap()
                .tags
                .into_iter()
                .map(|t| t.name)
                .collect();
            assert!(tags.contains(&tag), "{tags:?}");
        }

        // One source, failing fast; `skip` plays a checkpoint back that
        // would run again, new inputs reach the first re-run one.
        let topic = format!("topic {}", uuid::Uuid::new_v4());
        let changes: executions::ReplayChanges =
            serde_json::from_value(json!({"flow_overrides": {"topic": topic}})).unwrap();
        let submission = executions::replay_executions(
            &kitaru,
            &sources[..1],
            "gather_sources",
            &changes,
            &executions::SubmitOptions::default(),
            &launch_options(),
        )
        .await
        .unwrap();
        assert!(submission.wait, "one source is followed by default");
        let replay = executions::get(&kitaru, &submission.results[0].replay_exec_id)
            .await
            .unwrap();
        assert_eq!(
            output(&kitaru, &replay, "gather_sources").await,
            json!(format!("notes on {topic}"))
        );
        let skipping: executions::ReplayChanges =
            serde_json::from_value(json!({"skip": ["summarize"]})).unwrap();
        let submission = executions::replay_executions(
            &kitaru,
            &sources[..1],
            "gather_sources",
            &skipping,
            &executions::SubmitOptions::default(),
            &launch_options(),
        )
        .await
        .unwrap();
        let steps = step_statuses(&kitaru, &submission.results[0].replay_exec_id).await;
        let summarize = steps.iter().find(|s| s.0.ends_with("summarize")).unwrap();
        assert_eq!(summarize.1, ZenmlStatus::Skipped, "{steps:?}");
        // Run again (its unchanged inputs let the cache answer).
        let gather = steps
            .iter()
            .find(|s| s.0.ends_with("gather_sources"))
            .unwrap();
        assert!(
            matches!(gather.1, ZenmlStatus::Completed | ZenmlStatus::Cached),
            "{steps:?}"
        );

        // Failing fast: an unknown checkpoint is an error, nothing is made.
        let error = executions::replay_executions(
            &kitaru,
            &sources[..1],
            "nope",
            &executions::ReplayChanges::default(),
            &executions::SubmitOptions::default(),
            &launch_options(),
        )
        .await
        .unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("Unknown checkpoint selector 'nope'."),
            "{error}"
        );
    });
}

#[tokio::test]
async fn bad_replays_are_refused_before_anything_runs() {
    let kitaru = server().kitaru().await;
    let completed = server().str("/seed/completed/exec_id");
    let replay = |from: &'static str, overrides: Value| {
        let kitaru = &kitaru;
        async move {
            executions::replay(
                kitaru,
                completed,
                from,
                &object(overrides),
                &Map::new(),
                &launch_options(),
            )
            .await
            .unwrap_err()
        }
    };
    let error = replay("greet", json!({"wait.approve": true})).await;
    assert_eq!(error.kind(), ErrorKind::InvalidArgument);
    assert!(
        error
            .to_string()
            .contains("Wait overrides (`wait.*`) are not supported in replay.")
    );
    let error = replay("nope", json!({})).await;
    assert!(
        error.to_string().contains(
            "Unknown checkpoint selector 'nope'. Available checkpoints: count_words, finalize, \
             gather, greet, pair, split_words."
        ),
        "{error}"
    );
    // The outputs in the server's order, which is not always the same.
    let error = replay("gather", json!({"checkpoint.pair": 1}))
        .await
        .to_string();
    assert!(
        [
            "has outputs: output_0, output_1.",
            "has outputs: output_1, output_0."
        ]
        .iter()
        .any(|outputs| error.ends_with(&format!(
            "Checkpoint overrides currently require single-output checkpoints. Checkpoint \
             'pair' {outputs}"
        ))),
        "{error}"
    );
    let error = replay(" ", json!({})).await;
    assert!(
        error
            .to_string()
            .contains("`from_` must be a non-empty selector.")
    );
}

#[tokio::test]
async fn runs_with_a_bad_target_or_inputs_say_what_is_wrong() {
    let kitaru = server().kitaru().await;
    let run = |target: &'static str, args: Value| {
        let kitaru = &kitaru;
        async move {
            executions::run(kitaru, target, &object(args), None, &launch_options())
                .await
                .unwrap_err()
        }
    };
    let error = run("flows/extra_replay.py", json!({})).await;
    assert!(error.to_string().contains(
        "Flow target must use `<module_or_file>:<flow_name>` format (received: 'flows/extra_replay.py')."
    ));
    let error = run("flows/missing.py:agent", json!({})).await;
    assert!(
        error
            .to_string()
            .contains("Flow module path does not exist: flows/missing.py")
    );
    // Python's own answers: a missing flow, inputs that do not fit.
    let error = run("flows/extra_replay.py:nope", json!({})).await;
    assert_eq!(error.kind(), ErrorKind::InvalidArgument, "{error}");
    assert!(
        error
            .to_string()
            .contains("was not found: module `flows/extra_replay.py` has no attribute `nope`"),
        "{error}"
    );
    let error = run("flows.extra_replay:research_agent", json!({"nope": 1})).await;
    assert!(
        error
            .to_string()
            .contains("Invalid or missing pipeline function entrypoint arguments"),
        "{error}"
    );
}

#[test]
fn a_run_that_reaches_a_wait_returns_at_once_and_goes_on_after_input() {
    changing_executions(async {
        let kitaru = server().kitaru().await;
        let began = std::time::Instant::now();
        let execution = run(&kitaru, "waits_long", json!({"topic": "the draft"})).await;
        assert_eq!(execution.summary.status, ExecutionStatus::Waiting);
        let wait = execution
            .summary
            .pending_wait
            .as_ref()
            .expect("its pending wait");
        assert_eq!(wait.name, "go");
        assert!(
            began.elapsed() < Duration::from_secs(180),
            "returned without sitting out the 600 s wait"
        );
        // The flow's process goes on by itself: input lets it finish.
        let exec_id = execution.summary.exec_id.clone();
        executions::input(&kitaru, &exec_id, "go", json!(true))
            .await
            .unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(120);
        let finished = loop {
            let now = executions::get(&kitaru, &exec_id).await.unwrap();
            if now.summary.status == ExecutionStatus::Completed
                || std::time::Instant::now() > deadline
            {
                break now;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        };
        assert_eq!(finished.summary.status, ExecutionStatus::Completed);
        assert_eq!(
            output(&kitaru, &finished, "publish_answer").await,
            json!("may I publish the draft? approved=True")
        );
    });
}
