//! Replaying several executions at once (kitaru 0.21's replay): one plan
//! per source, one new execution per planned source, and a submission that
//! says what became of each — replayed, failed, or skipped because `at`
//! names nothing in it.
//!
//! Each replay is tagged and carries kitaru's correlation metadata
//! (`submission_id`, `original_exec_id`, the checkpoints played back,
//! `replay_tag`), written here over REST whichever way it was made.

use std::time::Instant;

use kitaru_client::types::{
    MetadataResourceTypes, MetadataTypeEnum, PipelineRunResponse, PipelineRunUpdate,
    RunMetadataRequest, RunMetadataResource,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, json};

use super::request::{self, PlanDocument, ReplayChanges};
use super::{LaunchOptions, latest_checkpoints, launch, recorded_inputs, refuse_running};
use crate::executions::settle::settle;
use crate::executions::{ExecutionStatus, diff, lookup};
use crate::ui::UiRoutes;
use crate::{Error, Kitaru};

/// The metadata key listing the checkpoints a replay played back.
const SKIPPED_STEPS_KEY: &str = "kitaru_replay_skipped_steps_v1";

/// How a batch of replays is submitted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SubmitOptions {
    /// A tag put on every new execution (and recorded as `replay_tag`).
    pub tag: Option<String>,
    /// Follow each new execution until it ends (within
    /// [`LaunchOptions::settle`], for the whole batch). Default: only when
    /// one execution is replayed.
    pub wait: Option<bool>,
    /// `fail`: stop at the first source that cannot be replayed, with its
    /// error; `collect`: record it and go on. Default: `fail` for one
    /// execution, `collect` for several.
    pub on_error: Option<String>,
}

/// One new execution of a submission.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct ReplayResult {
    /// The source as given.
    pub original_exec_ref: String,
    /// The source's id.
    pub original_exec_id: String,
    /// The new execution's id.
    pub replay_exec_id: String,
    /// `completed` or `failed` once followed to its end, else `submitted`
    /// (still running, or paused on a wait).
    pub status: String,
    /// The UI page comparing the two, if the server has a UI.
    pub compare_url: Option<String>,
}

/// A source that could not be replayed, or a source skipped because `at`
/// names no checkpoint in it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct ReplayProblem {
    /// The source as given.
    pub original_exec_ref: String,
    /// The source's id, once found.
    pub original_exec_id: Option<String>,
    /// Why.
    pub reason: String,
}

/// The submission's counts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct ReplaySummary {
    /// New executions made.
    pub submitted: usize,
    /// Of those, completed.
    pub completed: usize,
    /// Sources that failed, and new executions that failed.
    pub failed: usize,
    /// Sources skipped.
    pub skipped: usize,
}

/// What a batch replay made (kitaru 0.21's replay submission).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct ReplaySubmission {
    /// `rs-<UTC time>-<8 hex>`, also recorded on each new execution.
    pub submission_id: String,
    /// The tag put on the new executions.
    pub tag: Option<String>,
    /// The cut point as given.
    pub at: String,
    /// Whether the new executions were followed to their end.
    pub wait: bool,
    /// The request, with the calls each override reached (from the last
    /// planned source).
    pub plan: PlanDocument,
    /// The new executions.
    pub results: Vec<ReplayResult>,
    /// The sources that could not be replayed.
    pub failures: Vec<ReplayProblem>,
    /// The sources skipped.
    pub skipped: Vec<ReplayProblem>,
    /// The counts.
    pub summary: ReplaySummary,
    /// The UI page comparing every source with its replay.
    pub compare_url: Option<String>,
}

/// Replays each of `exec_ids` from `at` with `changes`
/// (`kitaru_executions_replay`, kitaru 0.21's form).
pub async fn replay_executions(
    kitaru: &Kitaru,
    exec_ids: &[String],
    at: &str,
    changes: &ReplayChanges,
    submit: &SubmitOptions,
    options: &LaunchOptions,
) -> Result<ReplaySubmission, Error> {
    let single = exec_ids.len() == 1;
    let wait = submit.wait.unwrap_or(single);
    let collect = match submit.on_error.as_deref() {
        None => !single,
        Some("fail") => false,
        Some("collect") => true,
        Some(_) => {
            return Err(Error::argument(
                "on_error",
                "`on_error` must be 'collect' or 'fail'.",
            ));
        }
    };
    if exec_ids.is_empty() {
        return Err(Error::argument(
            "exec_ids",
            "Pass at least one execution ID to replay.",
        ));
    }
    let mut plan_document = changes.document()?;
    let submission_id = submission_id();
    let routes = UiRoutes::of(kitaru).await;
    // The first replayed source: the submission's comparison page is under
    // its flow.
    let mut first_source = None;
    let deadline = Instant::now() + options.settle;
    let mut results: Vec<ReplayResult> = Vec::new();
    let mut failures = Vec::new();
    let mut skipped = Vec::new();

    for exec_ref in exec_ids {
        let mut original_id = None;
        let attempt: Result<Option<(ReplayResult, Box<PipelineRunResponse>)>, Error> = async {
            let source = lookup::find_run(kitaru, exec_ref).await?;
            let source_id = source.id.to_string();
            original_id = Some(source_id.clone());
            refuse_running(&source, exec_ref)?;
            let checkpoints = latest_checkpoints(kitaru, &source).await?;
            if collect {
                match request::at_status(&checkpoints, at) {
                    "missing" | "no_checkpoints" => {
                        skipped.push(ReplayProblem {
                            original_exec_ref: exec_ref.clone(),
                            original_exec_id: Some(source_id.clone()),
                            reason: request::at_problem(&source_id, &checkpoints, at),
                        });
                        return Ok(None);
                    }
                    "ambiguous" => {
                        return Err(Error::State(request::at_problem(
                            &source_id,
                            &checkpoints,
                            at,
                        )));
                    }
                    _ => {}
                }
            }
            let recorded = recorded_inputs(&source);
            let (plan, document) = request::plan(&source_id, &checkpoints, &recorded, at, changes)?;
            plan_document = document;
            let mut launched = launch(kitaru, exec_ref, &source, &plan, options).await?;
            let replay_id = launched.run_id.clone();
            record(
                kitaru,
                &source,
                &replay_id,
                &submission_id,
                submit,
                &plan.steps_to_skip,
            )
            .await;
            let status = if wait {
                let left = deadline.saturating_duration_since(Instant::now());
                let execution = settle(
                    kitaru,
                    &replay_id,
                    left,
                    launched.job.as_mut(),
                    options.observer.as_ref(),
                )
                .await?;
                match execution.summary.status {
                    ExecutionStatus::Completed => "completed",
                    ExecutionStatus::Failed | ExecutionStatus::Cancelled => "failed",
                    _ => "submitted",
                }
            } else {
                "submitted"
            };
            let result = ReplayResult {
                original_exec_ref: exec_ref.clone(),
                original_exec_id: source_id.clone(),
                compare_url: diff::compare_url_from(
                    routes.as_ref(),
                    &source,
                    &[&source_id, &replay_id],
                ),
                replay_exec_id: replay_id,
                status: status.to_owned(),
            };
            Ok(Some((result, source)))
        }
        .await;
        match attempt {
            Ok(Some((result, source))) => {
                first_source.get_or_insert(source);
                results.push(result);
            }
            Ok(None) => {}
            Err(error) if collect => failures.push(ReplayProblem {
                original_exec_ref: exec_ref.clone(),
                original_exec_id: original_id,
                reason: error.to_string(),
            }),
            Err(error) => return Err(with_made(error, &results)),
        }
    }

    let pairs: Vec<&str> = results
        .iter()
        .flat_map(|row| [row.original_exec_id.as_str(), row.replay_exec_id.as_str()])
        .collect();
    let compare_url =
        first_source.and_then(|first| diff::compare_url_from(routes.as_ref(), &first, &pairs));
    let summary = ReplaySummary {
        submitted: results.len(),
        completed: results.iter().filter(|r| r.status == "completed").count(),
        failed: failures.len() + results.iter().filter(|r| r.status == "failed").count(),
        skipped: skipped.len(),
    };
    Ok(ReplaySubmission {
        submission_id,
        tag: submit.tag.clone(),
        at: at.to_owned(),
        wait,
        plan: plan_document,
        results,
        failures,
        skipped,
        summary,
        compare_url,
    })
}

/// A new submission's id: `rs-<UTC time>-<8 hex digits>`, as kitaru makes it.
fn submission_id() -> String {
    let now = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("rs-{now}-{}", &random[..8])
}

/// An error that stopped a batch, naming the replays already made (they
/// exist and run: the caller must not lose them).
fn with_made(error: Error, made: &[ReplayResult]) -> Error {
    if made.is_empty() {
        return error;
    }
    let list: Vec<String> = made
        .iter()
        .map(|row| format!("{} → {}", row.original_exec_id, row.replay_exec_id))
        .collect();
    let note = format!(" (replays already submitted: {})", list.join(", "));
    match error {
        Error::InvalidArgument { argument, reason } => Error::InvalidArgument {
            argument,
            reason: reason + &note,
        },
        Error::State(message) => Error::State(message + &note),
        Error::NotFound(message) => Error::NotFound(message + &note),
        other => Error::State(format!("{other}{note}")),
    }
}

/// Tags replay `replay_id` and records kitaru's correlation metadata on it.
/// Best effort, as in kitaru: the replay exists either way; a failure is
/// logged.
async fn record(
    kitaru: &Kitaru,
    source: &kitaru_client::types::PipelineRunResponse,
    replay_id: &str,
    submission_id: &str,
    submit: &SubmitOptions,
    steps_to_skip: &[String],
) {
    let Ok(run_id) = replay_id.parse::<uuid::Uuid>() else {
        return;
    };
    let mut skipped: Vec<&String> = steps_to_skip.iter().filter(|s| !s.is_empty()).collect();
    skipped.sort();
    skipped.dedup();
    let mut values = Map::new();
    values.insert("submission_id".into(), json!(submission_id));
    values.insert("original_exec_id".into(), json!(source.id.to_string()));
    values.insert(SKIPPED_STEPS_KEY.into(), json!(skipped));
    if let Some(tag) = submit.tag.as_deref().filter(|tag| !tag.is_empty()) {
        values.insert("replay_tag".into(), json!(tag));
    }
    let types = values
        .iter()
        .map(|(key, value)| {
            let kind = if value.is_array() {
                MetadataTypeEnum::List
            } else {
                MetadataTypeEnum::Str
            };
            (key.clone(), kind)
        })
        .collect();
    if let Some(project) = source.body.as_ref().map(|body| body.project_id) {
        let request = RunMetadataRequest {
            project,
            publisher_step_id: None,
            resources: vec![RunMetadataResource {
                id: run_id,
                type_: MetadataResourceTypes::PipelineRun,
            }],
            stack_component_id: None,
            types,
            user: None,
            values,
        };
        if let Err(error) = kitaru
            .client
            .create_run_metadata()
            .body(request)
            .send()
            .await
        {
            tracing::warn!("could not record the replay metadata of {replay_id}: {error}");
        }
    }
    if let Some(tag) = submit.tag.as_deref().filter(|tag| !tag.is_empty()) {
        let update = PipelineRunUpdate {
            add_logs: None,
            add_tags: Some(vec![tag.to_owned()]),
            exception_info: None,
            orchestrator_run_id: None,
            outputs: None,
            remove_tags: None,
            status: None,
            status_reason: None,
        };
        let tagged = kitaru
            .client
            .update_run()
            .run_id(run_id)
            .body(update)
            .send()
            .await;
        if let Err(error) = tagged {
            tracing::warn!("could not tag replay {replay_id}: {error}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn submission_ids_look_like_kitarus() {
        let id = submission_id();
        assert_eq!(id.len(), "rs-20261207T201500Z-0123abcd".len(), "{id}");
        assert!(id.starts_with("rs-2"), "{id}");
        assert!(id[3..19].ends_with('Z'), "{id}");
        assert!(id[20..].bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
    }
}
