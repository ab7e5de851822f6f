//! Following a new execution for a bounded time: until it finished, failed,
//! was cancelled or waits for input — whichever comes first — or the bound
//! passed while it still runs.

use std::time::{Duration, Instant};

use super::execution::{Execution, RunState};
use super::lookup;
use super::status::ExecutionStatus;
use crate::bridge::Job;
use crate::{Error, Kitaru};

/// How often the execution is read while it runs.
const POLL: Duration = Duration::from_millis(500);
/// How long the Python process may take, once the execution ended, to
/// record what it records afterwards (the frozen execution spec).
const WRAP_UP: Duration = Duration::from_secs(20);

/// The execution `run_id` once it no longer runs, or as it stands when
/// `bound` has passed. `job` is the Python process running it, if any:
/// once that has ended, the execution is read one last time.
pub(crate) async fn settle(
    kitaru: &Kitaru,
    run_id: &str,
    bound: Duration,
    mut job: Option<&mut Job>,
) -> Result<Execution, Error> {
    let deadline = Instant::now() + bound;
    loop {
        let job_ended = job.as_mut().is_some_and(|job| job.ended());
        let run = lookup::reload(kitaru, run_id).await?;
        let state = RunState::load_all(kitaru, vec![run])
            .await?
            .pop()
            .ok_or_else(|| Error::Unexpected(format!("execution '{run_id}' vanished")))?;
        let status = state.status();
        if status != ExecutionStatus::Running || job_ended || Instant::now() >= deadline {
            let finished = !matches!(status, ExecutionStatus::Running | ExecutionStatus::Waiting);
            if let Some(job) = job.as_mut().filter(|_| finished && !job_ended) {
                // The run is over; its Python process still writes metadata.
                let wrap_up = Instant::now() + WRAP_UP;
                while !job.ended() && Instant::now() < wrap_up {
                    tokio::time::sleep(POLL / 5).await;
                }
                return Execution::load(kitaru, lookup::reload(kitaru, run_id).await?).await;
            }
            return Execution::from_state(kitaru, state).await;
        }
        tokio::time::sleep(POLL).await;
    }
}
