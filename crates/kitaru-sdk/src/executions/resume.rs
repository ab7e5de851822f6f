//! Resuming a paused execution in place (`kitaru_executions_resume`): once
//! its waits are resolved, the same run goes on from where it paused.
//!
//! The checks and the status are this crate's: the run must be paused with
//! no pending wait; it is marked `resuming` (as kitaru does, with its
//! reason), the orchestrator of its stack continues it through the user's
//! Kitaru Python (only the orchestrator can: on the local one the rest of the
//! flow runs in that process), and when that fails a run still `resuming`
//! is put back to `paused` with kitaru's reason, so it can be resumed again.

use std::time::Duration;

use kitaru_client::ApiError;
use kitaru_client::types::{ExecutionStatus as ZenmlStatus, PipelineRunUpdate};

use super::replay::LaunchOptions;
use super::settle::settle;
use super::waits::run_with_pending_waits;
use super::{Execution, lookup};
use crate::bridge::Job;
use crate::{Error, Kitaru};

/// Why a run is `resuming`, in kitaru's words.
const RESUMING_REASON: &str = "Manual resume requested by user.";
/// Why a run whose resume failed is `paused` again, in kitaru's words.
const ROLLBACK_REASON: &str = "Manual resume failed.";

/// Sets run `run_id`'s status, with the reason shown beside it.
pub(super) async fn mark(
    kitaru: &Kitaru,
    run_id: uuid::Uuid,
    status: ZenmlStatus,
    reason: &str,
) -> Result<(), ApiError> {
    let update = PipelineRunUpdate {
        add_logs: None,
        add_tags: None,
        exception_info: None,
        orchestrator_run_id: None,
        outputs: None,
        remove_tags: None,
        status: Some(status),
        status_reason: Some(reason.to_owned()),
    };
    kitaru
        .client
        .update_run()
        .run_id(run_id)
        .body(update)
        .send()
        .await
        .map(drop)
        .map_err(ApiError::from)
}

/// Resumes paused execution `exec_id` (id, id prefix or run name) whose
/// waits are all resolved, and follows it as a run does: it returns when
/// the execution ends or waits again, or after `options.settle` (still
/// running).
pub async fn resume(
    kitaru: &Kitaru,
    exec_id: &str,
    options: &LaunchOptions,
) -> Result<Execution, Error> {
    let (run, pending) = run_with_pending_waits(kitaru, exec_id).await?;
    let run_id = run.id.to_string();
    if !pending.is_empty() {
        return Err(Error::State(format!(
            "Resolve pending wait input before resuming execution '{exec_id}'."
        )));
    }
    let status = run.body.as_ref().map(|body| body.status.clone());
    if status != Some(ZenmlStatus::Paused) {
        return Err(Error::State(format!(
            "Only paused executions can be resumed. Execution '{exec_id}' is currently '{}'.",
            status.map(|s| s.to_string()).unwrap_or_default()
        )));
    }
    let snapshot = run.resources.as_ref().and_then(|r| r.snapshot.as_ref());
    let Some(snapshot) = snapshot else {
        return Err(Error::State(
            "Unable to resume execution because snapshot metadata is missing.".to_owned(),
        ));
    };
    if snapshot
        .resources
        .as_ref()
        .and_then(|r| r.stack.as_ref())
        .is_none()
        && run
            .resources
            .as_ref()
            .and_then(|r| r.stack.as_ref())
            .is_none()
    {
        return Err(Error::State(
            "Unable to resume execution because snapshot stack metadata is missing.".to_owned(),
        ));
    }
    // Found the Python before the run changes: without one nothing is marked.
    let job_options = options.job_options().await?;
    mark(kitaru, run.id, ZenmlStatus::Resuming, RESUMING_REASON)
        .await
        .map_err(|error| {
            Error::api(
                format!("Failed to reopen execution '{run_id}' for resume"),
                error,
            )
        })?;
    let started = Job::start(
        &job_options,
        crate::bridge::connection_env(&kitaru.connection),
        "resume",
        &serde_json::json!({"exec_id": run_id}),
    );
    let mut job = match started {
        Ok(job) => job,
        Err(error) => return Err(roll_back(kitaru, run.id, error).await),
    };
    let execution = settle(
        kitaru,
        &run_id,
        options.settle,
        Some(&mut job),
        options.observer.as_ref(),
    )
    .await?;
    // A job that ended must have answered; one still going (a long flow
    // after `settle`) goes on in the background.
    if job.ended()
        && let Err(error) = job.until("done", Duration::ZERO).await
    {
        return Err(roll_back(kitaru, run.id, error).await);
    }
    Ok(execution)
}

/// The error of a resume that failed, once a run it left `resuming` is
/// `paused` again; says so when that did not work either.
async fn roll_back(kitaru: &Kitaru, run_id: uuid::Uuid, error: Error) -> Error {
    let kind = error.kind();
    let python_error = |message: String| Error::Python { kind, message };
    let failed = format!("Failed to resume execution '{run_id}': {error}");
    let still_resuming = match lookup::reload(kitaru, &run_id.to_string()).await {
        Ok(run) => run
            .body
            .as_ref()
            .is_some_and(|body| body.status == ZenmlStatus::Resuming),
        Err(refresh) => {
            return python_error(format!(
                "{failed}. Could not verify whether the execution is still RESUMING: {refresh}. \
                 The execution may remain RESUMING."
            ));
        }
    };
    if !still_resuming {
        return python_error(failed);
    }
    match mark(kitaru, run_id, ZenmlStatus::Paused, ROLLBACK_REASON).await {
        Ok(()) => python_error(failed),
        Err(rollback) => python_error(format!(
            "{failed}. Additionally failed to roll back execution status to 'paused': {}. The \
             execution may remain RESUMING.",
            rollback.message
        )),
    }
}
