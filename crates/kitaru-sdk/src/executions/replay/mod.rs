//! Replaying an execution from a checkpoint, and retrying a failed one.
//!
//! Both make a new execution from a source one: the [`plan`] (computed here,
//! from the source's checkpoints) says which checkpoints reuse their
//! recorded outputs and which run again. The server carries it out in one
//! request where it can run flows itself (`POST /runs/{id}/replay`); on a
//! stack with local components it refuses, and the user's Kitaru Python
//! runs the replay through the [bridge](crate::bridge) with the same plan.
//!
//! Both return once the new execution exists and has finished, paused on a
//! wait, or run for the caller's bound. A replayed flow that fails shows in
//! the new execution's status and failure; an error here means that no new
//! execution could be made.

pub mod plan;
pub mod request;
pub mod submission;

use std::path::PathBuf;
use std::time::Duration;

use indexmap::IndexMap;
use kitaru_client::ApiError;
use kitaru_client::types::{
    ExecutionStatus as ZenmlStatus, PipelineRunResponse, ReplayRunConfiguration,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

pub use plan::{PlanCheckpoint, ReplayPlan};
pub use request::{PlanDocument, ReplayChanges};
pub use submission::{
    ReplayProblem, ReplayResult, ReplaySubmission, ReplaySummary, SubmitOptions, replay_executions,
};

use super::execution::Execution;
use super::settle::{Observer, settle};
use super::{flow_name, lookup};
use crate::bridge::{Job, JobOptions, Python};
use crate::error::ApiContext;
use crate::{Error, Kitaru, Program};

/// How long the Python side may take to create the new execution (it
/// imports Kitaru and the user's code, and compiles the flow first).
pub(crate) const START_TIMEOUT: Duration = Duration::from_secs(180);
/// The server's refusal to run a flow on a stack with local components.
const LOCAL_STACK_REFUSAL: &str = "local stack components";

/// How a new execution is made and followed.
#[derive(Clone, Debug)]
pub struct LaunchOptions {
    /// The Kitaru Python for work the server cannot do; found with
    /// [`Python::find`] from `working_dir` when `None`.
    pub python: Option<Python>,
    /// Where the user's flow code is: module and file targets resolve
    /// against it. Default: the process's working directory.
    pub working_dir: PathBuf,
    /// How long to follow the new execution before returning it as it
    /// stands (still running). Default: 60 s.
    pub settle: Duration,
    /// Variables set for the Python process on top of this process's
    /// environment (and the connection's).
    pub env: Vec<(String, String)>,
    /// Hears where the new execution stands while it is followed.
    pub observer: Option<Observer>,
    /// Where the Python jobs' logs and events go (readable by this user
    /// only). Default: [`Program::jobs_dir`] of the default [`Program`].
    pub jobs_dir: PathBuf,
}

impl Default for LaunchOptions {
    fn default() -> Self {
        Self {
            python: None,
            working_dir: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
            settle: Duration::from_secs(60),
            env: Vec::new(),
            observer: None,
            jobs_dir: Program::default().jobs_dir(),
        }
    }
}

impl LaunchOptions {
    /// The options for the bridge, finding the Python if needed.
    pub(crate) async fn job_options(&self) -> Result<JobOptions, Error> {
        let python = match &self.python {
            Some(python) => python.clone(),
            None => Python::find(&self.working_dir).await?,
        };
        Ok(JobOptions {
            python,
            working_dir: self.working_dir.clone(),
            env: self.env.clone(),
            jobs_dir: self.jobs_dir.clone(),
        })
    }
}

/// A new execution made from a source one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct Relaunch {
    /// Always true: the operation is available on this server.
    pub available: bool,
    /// `replay` or `retry`.
    pub operation: String,
    /// The new execution (its `original_exec_id` is the source).
    pub execution: Execution,
}

/// Replays execution `exec_id` from checkpoint `from_`
/// (`kitaru_executions_replay`): the checkpoints before it reuse their
/// outputs, it and everything downstream run again. `overrides` maps
/// `checkpoint.<selector>` to a value that replaces that checkpoint's output
/// for its consumers; `flow_inputs` change the flow's inputs.
pub async fn replay(
    kitaru: &Kitaru,
    exec_id: &str,
    from_: &str,
    overrides: &Map<String, Value>,
    flow_inputs: &Map<String, Value>,
    options: &LaunchOptions,
) -> Result<Relaunch, Error> {
    let source = lookup::find_run(kitaru, exec_id).await?;
    refuse_running(&source, exec_id)?;
    let checkpoints = latest_checkpoints(kitaru, &source).await?;
    let plan = plan::plan(
        &source.id.to_string(),
        &checkpoints,
        from_,
        overrides,
        flow_inputs,
    )?;
    let execution = carry_out(kitaru, exec_id, &source, &plan, options).await?;
    Ok(Relaunch {
        available: true,
        operation: "replay".to_owned(),
        execution,
    })
}

/// Retries failed execution `exec_id` (`kitaru_executions_retry`): a new
/// execution replays it from its first failed checkpoint, reusing the
/// outputs of the checkpoints that succeeded before it.
///
/// A finished run cannot be resumed in place through the server's API (and
/// the local orchestrator cannot resume one at all: the reference answers
/// success there without running anything), so a retry is always this
/// replay, and says so: `operation` is `retry` and the new execution's
/// `original_exec_id` names the source.
pub async fn retry(
    kitaru: &Kitaru,
    exec_id: &str,
    options: &LaunchOptions,
) -> Result<Relaunch, Error> {
    let source = lookup::find_run(kitaru, exec_id).await?;
    let status = zenml_status(&source);
    if status != Some(ZenmlStatus::Failed) {
        return Err(Error::State(format!(
            "Only failed executions can be retried. Execution '{exec_id}' is currently '{}'.",
            status.map(|s| s.to_string()).unwrap_or_default()
        )));
    }
    let steps = latest_steps(kitaru, &source).await?;
    let failed = steps.iter().find(|step| {
        step.body
            .as_ref()
            .is_some_and(|body| body.status == ZenmlStatus::Failed)
    });
    let Some(failed) = failed else {
        return Err(Error::State(format!(
            "Execution '{exec_id}' failed outside its checkpoints, so there is no failed \
             checkpoint to retry from. Replay it from a checkpoint of your choice instead."
        )));
    };
    let checkpoints: Vec<PlanCheckpoint> = steps.iter().map(PlanCheckpoint::of_step).collect();
    let plan = plan::plan(
        &source.id.to_string(),
        &checkpoints,
        &failed.id.to_string(),
        &Map::new(),
        &Map::new(),
    )?;
    let execution = carry_out(kitaru, exec_id, &source, &plan, options).await?;
    Ok(Relaunch {
        available: true,
        operation: "retry".to_owned(),
        execution,
    })
}

/// Refuses a source execution that still runs (it has no final checkpoint
/// history to plan from).
pub(super) fn refuse_running(source: &PipelineRunResponse, exec_id: &str) -> Result<(), Error> {
    let status = zenml_status(source);
    if matches!(
        status,
        Some(
            ZenmlStatus::Initializing
                | ZenmlStatus::Provisioning
                | ZenmlStatus::Running
                | ZenmlStatus::Retrying
                | ZenmlStatus::Stopping
                | ZenmlStatus::Queued
                | ZenmlStatus::Resuming
                | ZenmlStatus::Cancelling
        )
    ) {
        return Err(Error::State(format!(
            "Replay requires a non-running source execution. Execution '{exec_id}' is \
             currently '{}'. Wait until it finishes or pauses on a wait, or cancel it.",
            status.map(|s| s.to_string()).unwrap_or_default()
        )));
    }
    Ok(())
}

fn zenml_status(run: &PipelineRunResponse) -> Option<ZenmlStatus> {
    run.body.as_ref().map(|body| body.status.clone())
}

/// The source's checkpoints as the plan sees them: the latest attempt of
/// each step, hydrated.
pub(super) async fn latest_checkpoints(
    kitaru: &Kitaru,
    run: &PipelineRunResponse,
) -> Result<Vec<PlanCheckpoint>, Error> {
    Ok(latest_steps(kitaru, run)
        .await?
        .iter()
        .map(PlanCheckpoint::of_step)
        .collect())
}

async fn latest_steps(
    kitaru: &Kitaru,
    run: &PipelineRunResponse,
) -> Result<Vec<kitaru_client::types::StepRunResponse>, Error> {
    super::checkpoints::hydrated_steps(kitaru, &run.id.to_string(), true).await
}

/// Makes the new execution and follows it (for `options.settle`).
async fn carry_out(
    kitaru: &Kitaru,
    exec_id: &str,
    source: &PipelineRunResponse,
    plan: &ReplayPlan,
    options: &LaunchOptions,
) -> Result<Execution, Error> {
    let mut launched = launch(kitaru, exec_id, source, plan, options).await?;
    settle(
        kitaru,
        &launched.run_id,
        options.settle,
        launched.job.as_mut(),
        options.observer.as_ref(),
    )
    .await
}

/// A new execution, just made.
pub(super) struct Launched {
    /// Its id.
    pub run_id: String,
    /// The Python process running it, when the server could not.
    pub job: Option<Job>,
}

/// Makes the new execution: on the server when it can run the flow (and no
/// checkpoint must read the replay context), else through the user's
/// Kitaru Python.
pub(super) async fn launch(
    kitaru: &Kitaru,
    exec_id: &str,
    source: &PipelineRunResponse,
    plan: &ReplayPlan,
    options: &LaunchOptions,
) -> Result<Launched, Error> {
    if !request::needs_runtime_transport(plan) {
        let overrides: IndexMap<String, Map<String, Value>> = plan
            .step_input_overrides
            .iter()
            .map(|(step, inputs)| (step.clone(), inputs.clone()))
            .collect();
        // The body is optional for this operation, so the client has no
        // `body_map`: the configuration is built with its type's builder.
        let configuration = ReplayRunConfiguration::try_from(
            ReplayRunConfiguration::builder()
                .steps_to_skip(Some(plan.steps_to_skip.clone()))
                .skip_successful_steps(Some(false))
                .step_input_overrides(Some(overrides))
                .parameters(Some(parameters(source, plan))),
        )
        .map_err(|e| Error::Unexpected(format!("Cannot build the replay request: {e}")))?;
        let answer = kitaru
            .client
            .replay_run()
            .run_id(source.id)
            .body(configuration)
            .send()
            .await;
        match answer {
            Ok(new_run) => {
                return Ok(Launched {
                    run_id: new_run.into_inner().id.to_string(),
                    job: None,
                });
            }
            Err(error) => {
                let error = ApiError::from(error);
                if !runs_elsewhere(&error) {
                    return Err(Error::api(
                        format!("Failed to replay execution '{exec_id}'"),
                        error,
                    ));
                }
            }
        }
    }
    replay_in_python(kitaru, exec_id, source, plan, options).await
}

/// Whether the server refused to run the replay itself (a stack with local
/// components, or no way to run flows at all), so Python must.
fn runs_elsewhere(error: &ApiError) -> bool {
    matches!(error.status, Some(405 | 501))
        || (error.status == Some(400) && error.message.contains(LOCAL_STACK_REFUSAL))
}

/// The flow's parameters for the new execution: the source's, with
/// `flow_inputs` applied.
fn parameters(source: &PipelineRunResponse, plan: &ReplayPlan) -> Map<String, Value> {
    let mut parameters = recorded_inputs(source);
    parameters.extend(plan.input_overrides.clone());
    parameters
}

/// The flow inputs the source execution recorded.
pub(super) fn recorded_inputs(source: &PipelineRunResponse) -> Map<String, Value> {
    source
        .metadata
        .as_ref()
        .and_then(|metadata| metadata.config.parameters.clone())
        .unwrap_or_default()
}

async fn replay_in_python(
    kitaru: &Kitaru,
    exec_id: &str,
    source: &PipelineRunResponse,
    plan: &ReplayPlan,
    options: &LaunchOptions,
) -> Result<Launched, Error> {
    let snapshot_id = source
        .resources
        .as_ref()
        .and_then(|resources| resources.snapshot.as_ref())
        .map(|snapshot| snapshot.id)
        .ok_or_else(|| {
            Error::State(format!(
                "Execution '{exec_id}' has no snapshot to replay: its flow code is unknown."
            ))
        })?;
    let snapshot = kitaru
        .client
        .get_pipeline_snapshot()
        .snapshot_id(snapshot_id)
        .hydrate(true)
        .send()
        .await
        .context(format!("Failed to load the flow of execution '{exec_id}'"))?
        .into_inner();
    let code = snapshot
        .metadata
        .as_ref()
        .and_then(|metadata| metadata.pipeline_spec.as_ref())
        .and_then(|spec| spec.source.as_ref())
        .ok_or_else(|| {
            Error::State(format!(
                "Execution '{exec_id}' does not record where its flow's code is, so it cannot \
                 be replayed."
            ))
        })?;
    let request = json!({
        "source": source.id.to_string(),
        "module": code.module,
        "attribute": code.attribute.clone().unwrap_or_default(),
        "flow": flow_name(source).unwrap_or_default(),
        "plan": {
            "from": plan.from,
            "steps_to_skip": plan.steps_to_skip,
            "step_input_overrides": plan.step_input_overrides,
            "input_overrides": plan.input_overrides,
            "runtime_context": plan.runtime_context,
            "needs_runtime_context": request::needs_runtime_transport(plan),
        },
    });
    let job_options = options.job_options().await?;
    let mut job = Job::start(
        &job_options,
        crate::bridge::connection_env(&kitaru.connection),
        "replay",
        &request,
    )?;
    let started = job
        .until("started", START_TIMEOUT)
        .await
        .map_err(|error| replay_failed(exec_id, error))?;
    Ok(Launched {
        run_id: started["exec_id"].as_str().unwrap_or_default().to_owned(),
        job: Some(job),
    })
}

/// A replay that made no new execution, in the reference's words.
fn replay_failed(exec_id: &str, error: Error) -> Error {
    match error {
        Error::Python { kind, message } => Error::Python {
            kind,
            message: if message.contains("diverge") {
                format!("Replay diverged for execution '{exec_id}': {message}")
            } else {
                format!("Failed to replay execution '{exec_id}': {message}")
            },
        },
        other => other,
    }
}
