//! The execution payloads: a summary for listings, the detail for one.

use kitaru_client::types::{PipelineRunResponse, RunWaitConditionResponse};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::checkpoints::{self, Checkpoint};
use super::failure::{Failure, Subject};
use super::spec::FrozenExecutionSpec;
use super::waits::{self, PendingWait};
use super::{ExecutionStatus, lookup};
use crate::artifacts::ArtifactRef;
use crate::{Error, Kitaru};

/// The prefix Kitaru may give the pipeline names of flows.
pub(crate) const PIPELINE_NAME_PREFIX: &str = "__kitaru_pipeline_source_";

/// An execution as listings show it: where it stands, without its
/// checkpoints.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct ExecutionSummary {
    /// The execution's id.
    pub exec_id: String,
    /// The flow's id.
    pub flow_id: Option<String>,
    /// The flow's name.
    pub flow_name: Option<String>,
    /// Where the execution stands.
    pub status: ExecutionStatus,
    /// When it started.
    pub started_at: Option<String>,
    /// When it ended.
    pub ended_at: Option<String>,
    /// The stack it runs on.
    pub stack_name: Option<String>,
    /// The server's reason for the status, e.g. `Waiting for input.`,
    /// `Waiting for manual resume.` (input was given; resume it with the
    /// Kitaru CLI or SDK), `Manual stop requested.`.
    pub status_reason: Option<String>,
    /// The wait it is blocked on, if any.
    pub pending_wait: Option<PendingWait>,
    /// Why it failed, when its status is `failed`.
    pub failure: Option<Failure>,
    /// The run's metadata as stored (e.g. `kitaru_execution_spec`).
    pub metadata: Map<String, Value>,
    /// How many checkpoints it has (each in-run retry counts).
    pub checkpoint_count: usize,
    /// How many distinct artifacts its checkpoints produced.
    pub artifact_count: usize,
}

/// An execution: where it stands, and in single-execution answers its
/// settings, checkpoints and artifacts too. Listings carry the summary
/// keys only.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct Execution {
    /// Where it stands.
    #[serde(flatten)]
    pub summary: ExecutionSummary,
    /// The detail: present when one execution is asked for (get, latest,
    /// cancel, input), absent in listings.
    #[serde(flatten)]
    pub detail: Option<ExecutionDetail>,
}

/// What a single-execution answer adds to the summary.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct ExecutionDetail {
    /// The settings it ran with, from its metadata; null when not recorded.
    pub frozen_execution_spec: Option<FrozenExecutionSpec>,
    /// For a replay: the execution it replays.
    pub original_exec_id: Option<String>,
    /// Its checkpoints, in call order.
    pub checkpoints: Vec<Checkpoint>,
    /// Every artifact its checkpoints produced, in checkpoint order, once.
    pub artifacts: Vec<ArtifactRef>,
}

/// Gets one execution in detail (`kitaru_executions_get`): `exec_id` is its
/// id (any UUID form), its exact run name, or a unique prefix of its id.
pub async fn get(kitaru: &Kitaru, exec_id: &str) -> Result<Execution, Error> {
    Execution::load(kitaru, lookup::find_run(kitaru, exec_id).await?).await
}

/// A run with its pending wait conditions: what its status depends on.
pub(crate) struct RunState {
    run: Box<PipelineRunResponse>,
    pending: Vec<RunWaitConditionResponse>,
}

impl RunState {
    /// The state of each run, asking for the pending waits of those that may
    /// be waiting in one request.
    pub(crate) async fn load_all(
        kitaru: &Kitaru,
        runs: Vec<Box<PipelineRunResponse>>,
    ) -> Result<Vec<Self>, Error> {
        let candidates: Vec<String> = runs
            .iter()
            .filter(|run| zenml_status(run).may_wait())
            .map(|run| run.id.to_string())
            .collect();
        let mut pending = waits::pending_waits_of(kitaru, &candidates).await?;
        Ok(runs
            .into_iter()
            .map(|run| Self {
                pending: pending.remove(&run.id.to_string()).unwrap_or_default(),
                run,
            })
            .collect())
    }

    /// The run's id.
    pub(crate) fn id(&self) -> String {
        self.run.id.to_string()
    }

    /// The execution's status: the run's, or `waiting` while a wait is pending.
    pub(crate) fn status(&self) -> ExecutionStatus {
        zenml_status(&self.run).with_pending_wait(self.current_wait().is_some())
    }

    fn current_wait(&self) -> Option<&RunWaitConditionResponse> {
        if zenml_status(&self.run).may_wait() {
            waits::current_wait(&self.run, &self.pending)
        } else {
            None
        }
    }

    /// The summary, given the execution's checkpoint and artifact counts.
    fn summary(&self, (checkpoint_count, artifact_count): (usize, usize)) -> ExecutionSummary {
        let run = &self.run;
        let exec_id = run.id.to_string();
        let body = run.body.as_ref();
        let metadata = run.metadata.as_ref();
        let status = self.status();
        let status_reason = body.and_then(|b| b.status_reason.clone());
        let failure = (status == ExecutionStatus::Failed)
            .then(|| {
                Failure::from_record(
                    Subject::Execution(&exec_id),
                    true,
                    status_reason.as_deref(),
                    metadata.and_then(|m| m.exception_info.as_ref()),
                )
            })
            .flatten();
        let pipeline = run.resources.as_ref().and_then(|r| r.pipeline.as_ref());
        ExecutionSummary {
            flow_id: pipeline.map(|p| p.id.to_string()),
            flow_name: flow_name(run),
            status,
            started_at: metadata.and_then(|m| m.start_time).map(|t| t.to_string()),
            ended_at: metadata.and_then(|m| m.end_time).map(|t| t.to_string()),
            stack_name: stack_name(run).map(str::to_owned),
            status_reason,
            pending_wait: self.current_wait().map(PendingWait::from_condition),
            failure,
            metadata: metadata.map(|m| m.run_metadata.clone()).unwrap_or_default(),
            checkpoint_count,
            artifact_count,
            exec_id,
        }
    }
}

impl Execution {
    /// The summaries of these runs, asking for all their steps in one
    /// request (per 50 runs) to count checkpoints and artifacts.
    pub(crate) async fn summaries(
        kitaru: &Kitaru,
        states: Vec<RunState>,
    ) -> Result<Vec<Self>, Error> {
        let ids: Vec<String> = states.iter().map(RunState::id).collect();
        let steps = checkpoints::steps_of(kitaru, &ids).await?;
        Ok(states
            .iter()
            .map(|state| {
                let counts = steps
                    .get(&state.id())
                    .map_or((0, 0), |steps| checkpoints::counts(steps));
                Self {
                    summary: state.summary(counts),
                    detail: None,
                }
            })
            .collect())
    }

    /// The detail of this run.
    pub(crate) async fn load(
        kitaru: &Kitaru,
        run: Box<PipelineRunResponse>,
    ) -> Result<Self, Error> {
        let state = RunState::load_all(kitaru, vec![run]).await?.pop();
        let state = state.ok_or_else(|| Error::Unexpected("no run to load".into()))?;
        Self::from_state(kitaru, state).await
    }

    /// The detail of a run whose waits are known.
    pub(crate) async fn from_state(kitaru: &Kitaru, state: RunState) -> Result<Self, Error> {
        let checkpoints = checkpoints::load(kitaru, &state.id()).await?;
        let artifacts = checkpoints::artifacts(&checkpoints);
        let summary = state.summary((checkpoints.len(), artifacts.len()));
        let run = &state.run;
        let detail = ExecutionDetail {
            frozen_execution_spec: run
                .metadata
                .as_ref()
                .and_then(|m| FrozenExecutionSpec::from_run_metadata(&m.run_metadata)),
            original_exec_id: run
                .resources
                .as_ref()
                .and_then(|r| r.original_run.as_ref())
                .map(|original| original.id.to_string()),
            checkpoints,
            artifacts,
        };
        Ok(Self {
            summary,
            detail: Some(detail),
        })
    }
}

/// The run's own status mapped to Kitaru's, before any wait is considered.
fn zenml_status(run: &PipelineRunResponse) -> ExecutionStatus {
    run.body
        .as_ref()
        .map(|body| ExecutionStatus::from_zenml(&body.status))
        .unwrap_or(ExecutionStatus::Running)
}

/// The name of the stack the run is on.
pub(super) fn stack_name(run: &PipelineRunResponse) -> Option<&str> {
    let stack = run.resources.as_ref()?.stack.as_ref()?;
    Some(stack.name.as_str())
}

/// The flow's name from the run's pipeline name: trimmed, without Kitaru's
/// source prefix, null when empty.
pub(crate) fn flow_name(run: &PipelineRunResponse) -> Option<String> {
    let name = run.resources.as_ref()?.pipeline.as_ref()?.name.trim();
    let name = name.strip_prefix(PIPELINE_NAME_PREFIX).unwrap_or(name);
    (!name.is_empty()).then(|| name.to_owned())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::executions::tests::assert_key_order;

    const RUN: &str = "132a071f-4512-4f25-8747-436d5e439045";

    fn run(status: &str, extra_resources: Value, exception: Value) -> PipelineRunResponse {
        let mut resources = json!({
            "tags": [], "visualizations": [],
            "pipeline": {"id": "48c0f6aa-96ad-4a8c-aa13-f8b32a2ce6ff", "name": " __kitaru_pipeline_source_seed_failed ", "permission_denied": false},
            "stack": {"id": "9df65633-97e3-4a98-95e8-0258c6c621ea", "name": "default", "permission_denied": false},
        });
        resources
            .as_object_mut()
            .unwrap()
            .extend(extra_resources.as_object().unwrap().clone());
        serde_json::from_value(json!({
            "id": RUN,
            "name": "seed_failed-2026_11_26-13_45_22_807482",
            "permission_denied": false,
            "body": {
                "created": "2026-11-26T13:45:22.834532", "updated": "2026-11-26T13:45:24.591926",
                "project_id": "d1fa1388-9387-4b5c-8af7-1d3c87ef5922",
                "status": status, "in_progress": false, "index": 1,
                "status_reason": if status == "paused" { json!("Waiting for input.") } else { Value::Null },
            },
            "metadata": {
                "run_metadata": {"kitaru_execution_spec": {"resolved_execution": {"retries": 0}, "flow_defaults": {}, "connection": {}}},
                "config": {"name": "seed_failed"},
                "start_time": "2026-11-26T13:45:22.9",
                "end_time": null,
                "exception_info": exception,
                "client_environment": {}, "orchestrator_environment": {},
                "enable_heartbeat": false, "is_templatable": false,
            },
            "resources": resources,
        }))
        .unwrap()
    }

    fn state(run: PipelineRunResponse) -> RunState {
        RunState {
            run: Box::new(run),
            pending: Vec::new(),
        }
    }

    #[test]
    fn a_failed_run_summarises_with_its_exception() {
        let exception = json!({
            "traceback": "File \"flows/seed_flows.py\", line 99, in boom\n  raise RuntimeError(FAILURE_MESSAGE)\n",
            "source": "builtins.RuntimeError", "message": "deliberate failure",
        });
        let summary = state(run("failed", json!({}), exception)).summary((1, 0));
        assert_eq!(summary.exec_id, RUN);
        assert_eq!(summary.flow_name.as_deref(), Some("seed_failed"));
        assert_eq!(summary.stack_name.as_deref(), Some("default"));
        assert_eq!(summary.status, ExecutionStatus::Failed);
        assert_eq!(
            summary.started_at.as_deref(),
            Some("2026-11-26T13:45:22.900000")
        );
        assert_eq!(summary.ended_at, None);
        let failure = summary.failure.unwrap();
        assert_eq!(failure.message, "deliberate failure");
        assert_eq!(failure.exception_type.as_deref(), Some("RuntimeError"));
        assert_eq!(summary.checkpoint_count, 1);
    }

    #[test]
    fn only_failed_runs_carry_a_failure() {
        let summary = state(run("completed", json!({}), Value::Null)).summary((0, 0));
        assert_eq!(summary.failure, None);
        assert_eq!(summary.pending_wait, None);
    }

    #[test]
    fn a_paused_run_is_waiting_even_without_a_pending_condition() {
        let summary = state(run("paused", json!({}), Value::Null)).summary((0, 0));
        assert_eq!(summary.status, ExecutionStatus::Waiting);
        assert_eq!(summary.status_reason.as_deref(), Some("Waiting for input."));
    }

    #[test]
    fn a_running_run_with_a_pending_wait_is_waiting() {
        let condition: RunWaitConditionResponse = serde_json::from_value(json!({
            "id": "0ddc6a30-01c9-4ba8-9803-126a687572f9", "name": "approve", "permission_denied": false,
        }))
        .unwrap();
        let mut waiting = state(run("running", json!({}), Value::Null));
        waiting.pending.push(condition);
        let summary = waiting.summary((0, 0));
        assert_eq!(summary.status, ExecutionStatus::Waiting);
        assert_eq!(summary.pending_wait.unwrap().name, "approve");
    }

    #[test]
    fn a_cancelling_run_is_cancelled_and_shows_no_wait() {
        let condition: RunWaitConditionResponse = serde_json::from_value(json!({
            "id": "0ddc6a30-01c9-4ba8-9803-126a687572f9", "name": "approve", "permission_denied": false,
        }))
        .unwrap();
        let mut stopping = state(run("cancelling", json!({}), Value::Null));
        stopping.pending.push(condition);
        let summary = stopping.summary((0, 0));
        assert_eq!(summary.status, ExecutionStatus::Cancelled);
        assert_eq!(summary.pending_wait, None);
    }

    #[test]
    fn the_detail_keys_follow_the_summary_keys() {
        let state = state(run("completed", json!({}), Value::Null));
        let mut execution = Execution {
            summary: state.summary((0, 0)),
            detail: None,
        };
        let listed = serde_json::to_value(&execution).unwrap();
        assert_eq!(listed.as_object().unwrap().len(), 13, "{listed}");
        execution.detail = Some(ExecutionDetail {
            frozen_execution_spec: None,
            original_exec_id: None,
            checkpoints: Vec::new(),
            artifacts: Vec::new(),
        });
        let text = serde_json::to_string(&execution).unwrap();
        assert_key_order(
            &text,
            &[
                "exec_id",
                "flow_id",
                "flow_name",
                "status",
                "started_at",
                "ended_at",
                "stack_name",
                "status_reason",
                "pending_wait",
                "failure",
                "metadata",
                "checkpoint_count",
                "artifact_count",
                "frozen_execution_spec",
                "original_exec_id",
                "checkpoints",
                "artifacts",
            ],
        );
        let back: Execution = serde_json::from_str(&text).unwrap();
        assert_eq!(back, execution);
        let listed: Execution = serde_json::from_value(listed).unwrap();
        assert_eq!(listed.detail, None);
    }

    #[test]
    fn flow_names_are_trimmed_and_lose_kitarus_prefix() {
        let mut plain = run("completed", json!({}), Value::Null);
        assert_eq!(flow_name(&plain).as_deref(), Some("seed_failed"));
        plain
            .resources
            .as_mut()
            .unwrap()
            .pipeline
            .as_mut()
            .unwrap()
            .name = "  ".into();
        assert_eq!(flow_name(&plain), None);
    }
}
