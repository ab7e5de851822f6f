//! Cancelling an execution: the server's forceful stop of a pipeline run.

use kitaru_client::types::ExecutionStatus as ZenmlStatus;

use super::execution::Execution;
use super::{lookup, waits};
use crate::ServerLine;
use crate::{Error, Kitaru};
use kitaru_client::ApiError;

/// Stops an execution and returns its detail (`kitaru_executions_cancel`).
///
/// The server marks the run as stopping (Kitaru: `cancelled` on the kitaru
/// 0.10 line; still `running`, or `waiting` while its wait is pending, on
/// the 0.21 line, as kitaru 0.21 reads a run being stopped), then asks
/// the run's orchestrator to kill it. Orchestrators that cannot (the local
/// one) make the server answer "not implemented" after the mark is set:
/// for a paused execution nothing is left running, so that is success; for
/// one that is running it is an error, since its process goes on until it
/// ends, fails or reaches a wait.
///
/// On the 0.21 line a run only marked stopping would read as running or
/// waiting forever, so cancelling finishes the job: an execution blocked on
/// a wait has the wait aborted (the server stops the run, and a runner
/// polling the wait ends cleanly), and a paused one the orchestrator cannot
/// kill is marked stopped. Either reads as `cancelled`. (The reference
/// kitaru-mcp 0.21 reports the local orchestrator's missing forceful stop
/// as a failure and leaves the run stopping.)
pub async fn cancel(kitaru: &Kitaru, exec_id: &str) -> Result<Execution, Error> {
    let run = lookup::find_run(kitaru, exec_id).await?;
    if run
        .resources
        .as_ref()
        .and_then(|r| r.stack.as_ref())
        .is_none()
    {
        return Err(Error::State(
            "The stack that this pipeline run response was executed on is either not \
             accessible or has been deleted."
                .to_owned(),
        ));
    }
    let status = run.body.as_ref().map(|body| body.status.clone());
    if let Some(refusal) = status.as_ref().and_then(refusal) {
        return Err(Error::State(refusal.to_owned()));
    }
    let run_id = run.id.to_string();
    let line = kitaru.server().await.map(|facts| facts.line).ok();
    if line == Some(ServerLine::Kitaru021) {
        let pending = waits::pending_waits_of(kitaru, std::slice::from_ref(&run_id))
            .await?
            .remove(&run_id)
            .unwrap_or_default();
        if let Some(condition) = waits::current_wait(&run, &pending) {
            abort_wait(kitaru, exec_id, condition.id).await?;
            return Execution::load(kitaru, lookup::reload(kitaru, &run_id).await?).await;
        }
    }
    let answer = kitaru
        .client
        .stop_run()
        .run_id(run.id)
        .graceful(false)
        .send()
        .await;
    if let Err(error) = answer {
        let exception = ApiError::from(error);
        let paused = status == Some(ZenmlStatus::Paused);
        if !(cannot_kill(&exception) && paused) {
            return Err(stop_failed(exec_id, exception));
        }
        if line == Some(ServerLine::Kitaru021) {
            finish_stop(kitaru, exec_id, run.id).await?;
        }
    }
    Execution::load(kitaru, lookup::reload(kitaru, &run_id).await?).await
}

/// Ends a run blocked on a wait by aborting the wait: the server then
/// marks the run stopped (`Wait condition was aborted.`), and a runner
/// still polling the wait ends without failing the run. Used on the 0.21
/// line, where a run merely marked stopping reads as still waiting.
async fn abort_wait(kitaru: &Kitaru, exec_id: &str, condition: uuid::Uuid) -> Result<(), Error> {
    super::waits::resolve_condition(kitaru, condition, None)
        .await
        .map_err(|error| {
            Error::api(
                format!("Failed to cancel execution '{exec_id}' (aborting its wait)"),
                error,
            )
        })
}

/// Marks a paused run that the server left stopping as stopped: nothing
/// runs it, so nothing else ever would (on the 0.21 line a stopping run
/// reads as running).
async fn finish_stop(kitaru: &Kitaru, exec_id: &str, run_id: uuid::Uuid) -> Result<(), Error> {
    super::resume::mark(
        kitaru,
        run_id,
        ZenmlStatus::Stopped,
        "Manual stop requested.",
    )
    .await
    .map_err(|error| {
        Error::api(
            format!("Failed to cancel execution '{exec_id}' (marking it stopped)"),
            error,
        )
    })
}

/// Why a run in this ZenML status cannot be stopped, if it cannot.
fn refusal(status: &ZenmlStatus) -> Option<&'static str> {
    match status {
        ZenmlStatus::Completed => Some("Cannot stop a run that is already completed."),
        ZenmlStatus::Stopped => Some("Run is already stopped."),
        ZenmlStatus::Stopping => Some("Run is already being stopped."),
        _ => None,
    }
}

/// Whether the orchestrator could not kill the run (after the server had
/// marked it as stopping).
fn cannot_kill(exception: &ApiError) -> bool {
    exception.status == Some(501)
        || exception.exception_type.as_deref() == Some("NotImplementedError")
}

fn stop_failed(exec_id: &str, exception: ApiError) -> Error {
    if cannot_kill(&exception) {
        Error::State(format!(
            "Execution '{exec_id}' is now marked as stopping (it reads as cancelled), but its \
             orchestrator cannot stop it: {} Its process keeps running until it finishes, \
             fails or reaches a wait.",
            exception.message
        ))
    } else if matches!(exception.status, Some(400 | 403 | 409)) {
        Error::State(exception.message)
    } else {
        Error::api(format!("Failed to cancel execution '{exec_id}'"), exception)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finished_or_stopping_runs_are_refused_with_the_servers_words() {
        assert_eq!(
            refusal(&ZenmlStatus::Completed),
            Some("Cannot stop a run that is already completed.")
        );
        assert_eq!(
            refusal(&ZenmlStatus::Stopped),
            Some("Run is already stopped.")
        );
        assert_eq!(
            refusal(&ZenmlStatus::Stopping),
            Some("Run is already being stopped.")
        );
        for status in [
            ZenmlStatus::Running,
            ZenmlStatus::Paused,
            ZenmlStatus::Failed,
        ] {
            assert_eq!(refusal(&status), None);
        }
    }

    #[test]
    fn a_running_local_execution_that_cannot_be_killed_says_what_happened() {
        let exception = ApiError {
            status: Some(501),
            exception_type: Some("NotImplementedError".into()),
            message: "The forceful stop run functionality is not implemented for the \
                      'LocalOrchestrator' orchestrator."
                .into(),
            timed_out: false,
        };
        let message = stop_failed("r1", exception).to_string();
        assert!(
            message.starts_with("Execution 'r1' is now marked as stopping"),
            "{message}"
        );
        assert!(message.contains("'LocalOrchestrator'"), "{message}");
    }

    #[test]
    fn an_illegal_stop_reports_the_servers_reason() {
        let exception = ApiError {
            status: Some(403),
            exception_type: Some("IllegalOperationError".into()),
            message: "Run is already being stopped.".into(),
            timed_out: false,
        };
        assert_eq!(
            stop_failed("r1", exception).to_string(),
            "Run is already being stopped."
        );
    }
}
