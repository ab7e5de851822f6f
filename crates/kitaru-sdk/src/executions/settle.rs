//! Following an execution for a bounded time: until it finished, failed,
//! was cancelled or waits for input — whichever comes first — or the bound
//! passed while it still runs; telling an [`Observer`] where it stands at
//! each look.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use serde::Serialize;

use super::checkpoints::{checkpoint_name, steps_of};
use super::events::{ExecutionEvent, Pace};
use super::execution::{Execution, RunState};
use super::lookup;
use super::status::ExecutionStatus;
use crate::bridge::Job;
use crate::{Error, Kitaru, ServerLine};

/// How often the execution is read while it runs, where the server does
/// not stream its events.
const POLL: Duration = Duration::from_millis(500);
/// How long the Python process may take, once the execution ended, to
/// record what it records afterwards (the frozen execution spec).
const WRAP_UP: Duration = Duration::from_secs(20);

/// Where a followed execution stands at one look.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Update {
    /// The execution.
    pub exec_id: String,
    /// Its status.
    pub status: ExecutionStatus,
    /// The newest checkpoint it has started, if any.
    pub checkpoint: Option<String>,
    /// How many of its checkpoints have finished.
    pub checkpoints_done: usize,
    /// How many looks this is (1, 2, …).
    pub look: u32,
    /// What the running checkpoint last reported of its progress (heard
    /// from the execution's events: `page 2 of 4 (50%)`).
    pub progress: Option<String>,
}

impl Update {
    /// One line for a person: `running, at summarize (1 checkpoint done)`.
    pub fn describe(&self) -> String {
        let at = self
            .checkpoint
            .as_deref()
            .map(|name| format!(", at {name}"))
            .unwrap_or_default();
        let plural = if self.checkpoints_done == 1 { "" } else { "s" };
        let progress = self
            .progress
            .as_deref()
            .map(|progress| format!(": {progress}"))
            .unwrap_or_default();
        format!(
            "{}{at} ({} checkpoint{plural} done){progress}",
            self.status.as_str(),
            self.checkpoints_done
        )
    }
}

/// The future an [`Observer`] returns: awaited before the next look.
type Heard = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// Called with an [`Update`] at each look at a followed execution; the
/// future it returns is awaited before following goes on (so that, say, a
/// progress notification is sent before the result).
#[derive(Clone)]
pub struct Observer(Arc<dyn Fn(Update) -> Heard + Send + Sync>);

impl Observer {
    /// An observer calling `f`.
    pub fn new<F>(f: impl Fn(Update) -> F + Send + Sync + 'static) -> Self
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        Self(Arc::new(move |update| Box::pin(f(update))))
    }
}

impl std::fmt::Debug for Observer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Observer")
    }
}

/// Follows execution `exec_id` (an id, prefix or run name) for at most
/// `bound`: returns it once it has finished, failed, been cancelled or
/// waits for input, or as it stands when `bound` has passed
/// (`kitaru_executions_watch`). `observer` hears where it stands at each
/// look: when its events say something happened, where the server streams
/// them, else every half second.
pub async fn watch(
    kitaru: &Kitaru,
    exec_id: &str,
    bound: Duration,
    observer: Option<&Observer>,
) -> Result<Execution, Error> {
    let run = lookup::find_run(kitaru, exec_id).await?;
    settle(kitaru, &run.id.to_string(), bound, None, observer).await
}

/// The execution `run_id` once it no longer runs, or as it stands when
/// `bound` has passed. `job` is the Python process running it, if any:
/// once that has ended, the execution is read one last time.
pub(crate) async fn settle(
    kitaru: &Kitaru,
    run_id: &str,
    bound: Duration,
    mut job: Option<&mut Job>,
    observer: Option<&Observer>,
) -> Result<Execution, Error> {
    let deadline = Instant::now() + bound;
    let line = kitaru.server().await?.line;
    let mut pace = Pace::follow(kitaru, run_id, POLL).await;
    let mut look = 0;
    loop {
        look += 1;
        let job_ended = job.as_mut().is_some_and(|job| job.ended());
        let run = lookup::reload(kitaru, run_id).await?;
        let state = RunState::load_all(kitaru, line, vec![run])
            .await?
            .pop()
            .ok_or_else(|| Error::Unexpected(format!("execution '{run_id}' vanished")))?;
        let status = state.status();
        if let Some(observer) = observer {
            let progress = pace.progress().map(ExecutionEvent::report);
            (observer.0)(update(kitaru, line, run_id, status, look, progress).await?).await;
        }
        if status != ExecutionStatus::Running || job_ended || Instant::now() >= deadline {
            if let Some(job) = job.as_mut().filter(|_| status.ended() && !job_ended) {
                // The run is over; its Python process still writes metadata.
                let wrap_up = Instant::now() + WRAP_UP;
                while !job.ended() && Instant::now() < wrap_up {
                    tokio::time::sleep(POLL / 5).await;
                }
                return Execution::load(kitaru, lookup::reload(kitaru, run_id).await?).await;
            }
            return Execution::from_state(kitaru, state).await;
        }
        pace.wait(deadline).await;
    }
}

/// Where the run stands: its newest checkpoint and how many have finished
/// (one more request, made only for an observer).
async fn update(
    kitaru: &Kitaru,
    line: ServerLine,
    run_id: &str,
    status: ExecutionStatus,
    look: u32,
    progress: Option<String>,
) -> Result<Update, Error> {
    let steps = steps_of(kitaru, &[run_id.to_owned()])
        .await?
        .remove(run_id)
        .unwrap_or_default();
    let finished = |step: &&kitaru_client::types::StepRunResponse| {
        step.body
            .as_ref()
            .is_some_and(|body| ExecutionStatus::from_zenml(&body.status, line).ended())
    };
    Ok(Update {
        exec_id: run_id.to_owned(),
        status,
        checkpoint: steps
            .last()
            .map(|step| checkpoint_name(&step.name).to_owned()),
        checkpoints_done: steps.iter().filter(finished).count(),
        look,
        progress,
    })
}
