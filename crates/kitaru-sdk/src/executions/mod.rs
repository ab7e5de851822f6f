//! Executions: Kitaru's view of ZenML pipeline runs.
//!
//! An execution is a pipeline run, a checkpoint one of its steps, a pending
//! wait a run wait condition. The functions here are the execution tools:
//! [`list`], [`latest`], [`get`], [`logs`], [`cancel`], [`input`],
//! [`replay()`], [`retry`], [`run`], [`watch`], [`cohort`], [`diff`] and
//! [`diff_matrix`]; the payloads they return keep the reference server's
//! field names and order. Running flow code needs the user's Kitaru Python
//! ([`crate::bridge`]); nothing else does.
//!
//! Listing and detail use few requests: the runs query filters on the
//! server, and the wait conditions and steps of a whole page of runs come in
//! one query each (`oneof:` filters), as do the artifacts of an execution.

mod cancel;
mod checkpoints;
mod cohort;
mod diff;
mod events;
mod execution;
mod failure;
mod list;
mod logs;
mod lookup;
pub mod replay;
mod resume;
mod run;
mod settle;
mod spec;
mod statistics;
mod status;
mod usage;
mod waits;

pub use cancel::cancel;
pub(crate) use checkpoints::checkpoint_name;
pub use checkpoints::{Attempt, Checkpoint, CheckpointOrigin, CheckpointProvenance};
pub use cohort::{Cohort, CohortFiltered, CohortQuery, RankedExecution, cohort};
pub use diff::{
    CheckpointDiff, DiffMatrix, ExecutionDiff, HashPair, REPLAY_SCAN_LIMIT, ReplayComparison,
    ReplayScan, TokenDelta, diff, diff_matrix,
};
pub use events::{Events, ExecutionEvent, Heard, PROGRESS_KIND, Pace, QUIET_LOOK, events};
pub use execution::{Execution, ExecutionDetail, ExecutionSummary, get};
pub(crate) use execution::{PIPELINE_NAME_PREFIX, flow_name};
pub use failure::{Failure, FailureOrigin};
pub use list::{ExecutionFilter, ListPosition, latest, list, list_from};
pub use logs::{LogQuery, logs};
pub(crate) use lookup::find_run;
pub use replay::{
    LaunchOptions, PlanDocument, Relaunch, ReplayChanges, ReplayProblem, ReplayResult,
    ReplaySubmission, ReplaySummary, SubmitOptions, replay, replay_executions, retry,
};
pub use resume::resume;
pub(crate) use run::check_target;
pub use run::{FlowRun, run};
pub use settle::{Observer, Update, watch};
pub use spec::{
    ConnectionSettings, FlowDefaults, FrozenExecutionSpec, ImageSettings, LlmEstimatedCosts,
    ModelAlias, ModelRegistry, ResolvedExecution,
};
pub use statistics::{
    Aggregation, Dimension, Granularity, Grouping, Metric, Source, Statistics, StatisticsGroup,
    StatisticsQuery, statistics, statistics_computed_here,
};
pub use status::ExecutionStatus;
pub use usage::UsageRecord;
pub use waits::{PendingWait, abort_wait, input};

pub(crate) use checkpoints::run_artifacts;

use kitaru_client::types::ErrorBody;

use crate::Kitaru;

/// Page size of the steps, wait-condition and artifact queries.
const PAGE_SIZE: i64 = 200;

/// The client's error type.
type ClientError = kitaru_client::Error<ErrorBody>;

/// Scopes a list query to the configured project; without one the
/// server's default project applies.
trait InProject: Sized {
    /// The query, scoped.
    fn in_project(self, kitaru: &Kitaru) -> Self;
}

macro_rules! in_project {
    ($($builder:ident),+ $(,)?) => {$(
        impl InProject for kitaru_client::builder::$builder<'_> {
            fn in_project(self, kitaru: &Kitaru) -> Self {
                match kitaru.project() {
                    Some(project) => self.project(project),
                    None => self,
                }
            }
        }
    )+};
}

in_project!(ListRuns, ListRunSteps, ListWaitConditions);

/// Reads a field that is absent (`None`), null (`Some(None)`) or a value:
/// the payloads of one server line carry keys another's lack.
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    serde::Deserialize::deserialize(deserializer).map(Some)
}

/// A `oneof:` filter value: `oneof:["a","b"]`.
fn one_of<S: AsRef<str>>(values: &[S]) -> String {
    let values: Vec<&str> = values.iter().map(AsRef::as_ref).collect();
    format!("oneof:{}", serde_json::Value::from(values))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Asserts that these keys occur in `json` (first occurrences) in this order.
    pub(crate) fn assert_key_order(json: &str, keys: &[&str]) {
        let positions: Vec<usize> = keys
            .iter()
            .map(|key| {
                json.find(&format!("\"{key}\":"))
                    .unwrap_or_else(|| panic!("no key {key} in {json}"))
            })
            .collect();
        assert!(
            positions.windows(2).all(|pair| pair[0] < pair[1]),
            "keys out of order {keys:?} in {json}"
        );
    }

    #[test]
    fn a_one_of_filter_is_a_json_list() {
        assert_eq!(
            one_of(&["paused", "running"]),
            r#"oneof:["paused","running"]"#
        );
        assert_eq!(one_of(&["a\"b"]), r#"oneof:["a\"b"]"#);
    }
}
