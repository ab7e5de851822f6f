//! Checkpoints: the durable calls of an execution. In ZenML terms, the step
//! runs of a pipeline run; each attempt at a call is a step run.

use std::collections::{HashMap, HashSet};

use kitaru_client::types::{
    ArtifactVersionResponse, ExecutionStatus as ZenmlStatus, PipelineRunResponse,
    StepRunInputResponse, StepRunResponse, StepType,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::failure::{Failure, Subject};
use super::usage::{self, Reuse, UsageRecord};
use super::{ExecutionStatus, InProject, PAGE_SIZE, one_of};
use crate::artifacts::ArtifactRef;
use crate::error::ApiContext;
use crate::{Error, Kitaru, ServerLine};
use kitaru_client::ApiError;
use kitaru_client::paging::Paged as _;

/// The prefix Kitaru may give the step names of checkpoints.
const STEP_NAME_PREFIX: &str = "__kitaru_checkpoint_source_";

/// Run ids per steps query: keeps the query string short.
const RUNS_PER_QUERY: usize = 50;

/// One durable call of an execution, as its latest attempt left it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct Checkpoint {
    /// The latest attempt's id.
    pub call_id: String,
    /// The checkpoint's name; the second call of `think` in one execution is
    /// `think_2`.
    pub name: String,
    /// The `type=` given to `@checkpoint` when the server knows it:
    /// `llm_call`, `tool_call` or `memory_call`.
    pub checkpoint_type: Option<String>,
    /// Who made the checkpoint: present on the kitaru 0.21 line.
    #[serde(flatten)]
    pub provenance: Option<CheckpointProvenance>,
    /// Where the latest attempt stands.
    pub status: ExecutionStatus,
    /// When the latest attempt started.
    pub started_at: Option<String>,
    /// When the latest attempt ended.
    pub ended_at: Option<String>,
    /// The latest attempt's run metadata.
    pub metadata: Map<String, Value>,
    /// For a call a replay reused: the call it reused, in the source execution.
    pub original_call_id: Option<String>,
    /// The calls whose outputs this one consumed.
    pub parent_call_ids: Vec<String>,
    /// Why the latest attempt failed.
    pub failure: Option<Failure>,
    /// Every attempt, oldest first.
    pub attempts: Vec<Attempt>,
    /// What the latest attempt produced (its outputs and `kitaru.save`
    /// values) and, on the kitaru 0.21 line, what it was given: the prompt
    /// of an `llm_call` (input `input`) and the arguments of a `tool_call`
    /// (input `tool_args`), marked `direction: "input"`.
    pub artifacts: Vec<ArtifactRef>,
    /// The LLM calls its attempts made (or reused), as the Kitaru SDK
    /// recorded them: present on the kitaru 0.21 line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub llm_usage_records: Option<Vec<UsageRecord>>,
}

/// Who made a checkpoint and what a replay may exchange on it, as the
/// kitaru 0.21 SDK records it in the step's metadata or configuration
/// (`kitaru_checkpoint_origin`, `kitaru_adapter`, …).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct CheckpointProvenance {
    /// `user` for a `@checkpoint` of the flow's code, `adapter` for one an
    /// agent-framework adapter made.
    pub checkpoint_origin: CheckpointOrigin,
    /// The adapter that made it (e.g. `pydantic_ai`).
    pub adapter: Option<String>,
    /// What kind of call the adapter checkpointed (e.g. `model_request`).
    pub adapter_checkpoint_kind: Option<String>,
    /// The input slots a replay may override.
    pub replay_input_slots: Vec<String>,
    /// The output slots a replay may override.
    pub replay_output_slots: Vec<String>,
}

/// Who made a checkpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum CheckpointOrigin {
    /// The flow's own code.
    User,
    /// An agent-framework adapter.
    Adapter,
}

/// One attempt at a checkpoint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct Attempt {
    /// The attempt's id.
    pub attempt_id: String,
    /// Where it stands.
    pub status: ExecutionStatus,
    /// When it started.
    pub started_at: Option<String>,
    /// When it ended.
    pub ended_at: Option<String>,
    /// Its run metadata.
    pub metadata: Map<String, Value>,
    /// Why it failed (or what it recorded while not failing).
    pub failure: Option<Failure>,
    /// The LLM calls it made (or, cached or skipped by a replay, reused), as
    /// the Kitaru SDK recorded them: present on the kitaru 0.21 line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub llm_usage_records: Option<Vec<UsageRecord>>,
}

/// A checkpoint's name from its step's name.
pub(crate) fn checkpoint_name(step_name: &str) -> &str {
    step_name
        .strip_prefix(STEP_NAME_PREFIX)
        .unwrap_or(step_name)
}

/// The hydrated steps of each of these runs, every attempt, oldest first: one
/// request per 50 runs and 200 steps.
pub(crate) async fn steps_of(
    kitaru: &Kitaru,
    run_ids: &[String],
) -> Result<HashMap<String, Vec<StepRunResponse>>, Error> {
    let mut by_run: HashMap<String, Vec<StepRunResponse>> = HashMap::new();
    for chunk in run_ids.chunks(RUNS_PER_QUERY) {
        let steps = hydrated_steps(kitaru, &one_of(chunk), false).await?;
        for step in steps {
            if let Some(run) = step
                .metadata
                .as_ref()
                .map(|m| m.pipeline_run_id.to_string())
            {
                by_run.entry(run).or_default().push(step);
            }
        }
    }
    Ok(by_run)
}

/// What the server says of a step a running flow is just starting, whose
/// configuration it cannot read yet (for a few milliseconds).
const STEP_BEING_STARTED: &str = "Unable to load the configuration for step";
/// How often, and how far apart, a query meeting such a step is repeated.
const STARTING_STEP_RETRIES: u32 = 10;
const STARTING_STEP_PAUSE: std::time::Duration = std::time::Duration::from_millis(200);

/// The hydrated steps of the runs `runs` names (an id or a `oneof:`
/// filter), oldest first; with `exclude_retried`, only each step's latest
/// attempt. A query that meets a step being started is repeated a moment
/// later, a few times.
pub(crate) async fn hydrated_steps(
    kitaru: &Kitaru,
    runs: &str,
    exclude_retried: bool,
) -> Result<Vec<StepRunResponse>, Error> {
    let mut attempt = 0;
    loop {
        let answer = kitaru
            .client
            .list_run_steps()
            .hydrate(true)
            .sort_by("asc:created")
            .pipeline_run_id(runs)
            .exclude_retried(exclude_retried)
            .size(PAGE_SIZE)
            .in_project(kitaru)
            .all()
            .await;
        let error = match answer {
            Ok(steps) => return Ok(steps),
            Err(error) => ApiError::read(error).await,
        };
        attempt += 1;
        if error.status != Some(400)
            || !error.message.contains(STEP_BEING_STARTED)
            || attempt > STARTING_STEP_RETRIES
        {
            return Err(Error::api("Failed to list the checkpoints", error));
        }
        tokio::time::sleep(STARTING_STEP_PAUSE).await;
    }
}

/// The checkpoints of one run, with their artifacts' metadata, read as the
/// reference of the server's `line` reads them: two requests (steps, then
/// the run's artifact versions).
pub(crate) async fn load(
    kitaru: &Kitaru,
    run: &PipelineRunResponse,
    line: ServerLine,
) -> Result<Vec<Checkpoint>, Error> {
    let run_id = run.id.to_string();
    let steps = steps_of(kitaru, std::slice::from_ref(&run_id))
        .await?
        .remove(&run_id)
        .unwrap_or_default();
    let versions = hydrated_artifacts(kitaru, &run_id, &steps, line).await?;
    let skipped = run
        .metadata
        .as_ref()
        .map(|m| usage::skipped_steps(&m.run_metadata))
        .unwrap_or_default();
    Ok(checkpoints(
        &steps,
        &Reading {
            line,
            versions: &versions,
            skipped: &skipped,
        },
    ))
}

/// Every artifact of the checkpoints, in checkpoint order, once: what they
/// produced and the inputs they show. An artifact one checkpoint produced
/// and a later one was given shows as produced; one shown as an input
/// first and produced later takes the produced form in its place.
pub(crate) fn artifacts(checkpoints: &[Checkpoint]) -> Vec<ArtifactRef> {
    let mut found: Vec<ArtifactRef> = Vec::new();
    let mut places: HashMap<String, usize> = HashMap::new();
    for artifact in checkpoints
        .iter()
        .flat_map(|checkpoint| &checkpoint.artifacts)
    {
        match places.get(&artifact.artifact_id) {
            None => {
                places.insert(artifact.artifact_id.clone(), found.len());
                found.push(artifact.clone());
            }
            Some(&place) if found[place].is_input() && !artifact.is_input() => {
                found[place] = artifact.clone();
            }
            Some(_) => {}
        }
    }
    found
}

/// Every artifact of the checkpoints of the execution `exec_id` names.
pub(crate) async fn run_artifacts(
    kitaru: &Kitaru,
    exec_id: &str,
) -> Result<Vec<ArtifactRef>, Error> {
    let run = super::lookup::find_run(kitaru, exec_id).await?;
    let line = kitaru.server().await?.line;
    Ok(artifacts(&load(kitaru, &run, line).await?))
}

/// The hydrated versions (which carry the run metadata) of the artifacts
/// the steps show, by id: one query for the run's artifact versions, then
/// one request per artifact it missed.
async fn hydrated_artifacts(
    kitaru: &Kitaru,
    run_id: &str,
    steps: &[StepRunResponse],
    line: ServerLine,
) -> Result<HashMap<String, ArtifactVersionResponse>, Error> {
    let wanted: HashSet<String> = steps
        .iter()
        .flat_map(|step| {
            let inputs = shown_inputs(step, line).map(|(_, _, input)| input.id.to_string());
            inputs.chain(output_ids(step))
        })
        .collect();
    let mut found = HashMap::new();
    if wanted.is_empty() {
        return Ok(found);
    }
    let context = || format!("Failed to load the artifacts of execution '{run_id}'");
    let linked = kitaru
        .client
        .list_artifact_versions()
        .hydrate(true)
        .pipeline_run(run_id)
        .size(PAGE_SIZE)
        .all()
        .await
        .context(context())?;
    for version in linked {
        let id = version.id.to_string();
        if wanted.contains(&id) {
            found.insert(id, version);
        }
    }
    for id in wanted {
        if let std::collections::hash_map::Entry::Vacant(missing) = found.entry(id) {
            let version = kitaru
                .client
                .get_artifact_version()
                .artifact_version_id(missing.key().as_str())
                .hydrate(true)
                .send()
                .await
                .context(context())?
                .into_inner();
            missing.insert(version);
        }
    }
    Ok(found)
}

/// The attempts at one checkpoint and the one it shows.
struct Lineage<'a> {
    /// The attempt the checkpoint shows.
    shown: &'a StepRunResponse,
    /// Every attempt, oldest first.
    attempts: Vec<&'a StepRunResponse>,
}

/// The checkpoints these steps (oldest first) make, in order of each
/// checkpoint's first attempt, as the reference of `line` groups them.
///
/// Kitaru 0.10 groups a step a replay reused with its original, and
/// nothing else: each in-run retry is a checkpoint of its own (ZenML 0.94
/// records retries as unrelated steps). Kitaru 0.21 groups the attempts by
/// step name (unique within a run), ordered by their retry version, and
/// shows the newest one that was not retried.
fn lineages(steps: &[StepRunResponse], line: ServerLine) -> Vec<Lineage<'_>> {
    let mut order: Vec<String> = Vec::new();
    let mut attempts: HashMap<String, Vec<&StepRunResponse>> = HashMap::new();
    for step in steps {
        let key = match line {
            ServerLine::Kitaru010 => step
                .metadata
                .as_ref()
                .and_then(|m| m.original_step_run_id)
                .unwrap_or(step.id)
                .to_string(),
            ServerLine::Kitaru021 => step.name.clone(),
        };
        let entry = attempts.entry(key.clone()).or_default();
        if entry.is_empty() {
            order.push(key);
        }
        entry.push(step);
    }
    order
        .into_iter()
        .filter_map(|key| {
            let mut attempts = attempts.remove(&key)?;
            let shown = match line {
                ServerLine::Kitaru010 => *attempts.last()?,
                ServerLine::Kitaru021 => {
                    attempts.sort_by_key(|step| step.body.as_ref().map(|body| body.version));
                    let retried = |step: &&&StepRunResponse| {
                        step.body
                            .as_ref()
                            .is_some_and(|body| body.status == ZenmlStatus::Retried)
                    };
                    *attempts
                        .iter()
                        .rev()
                        .find(|step| !retried(step))
                        .or(attempts.last())?
                }
            };
            Some(Lineage { shown, attempts })
        })
        .collect()
}

/// The ids of the artifact versions a step produced.
fn output_ids(step: &StepRunResponse) -> impl Iterator<Item = String> + '_ {
    step.resources
        .iter()
        .flat_map(|r| r.outputs.values())
        .flatten()
        .map(|version| version.id.to_string())
}

/// The inputs a checkpoint shows as artifacts, with their slot and kind:
/// on the kitaru 0.21 line, the prompt (`input`) of an `llm_call` and the
/// arguments (`tool_args`) of a `tool_call`; none on the 0.10 line.
fn shown_inputs(
    step: &StepRunResponse,
    line: ServerLine,
) -> impl Iterator<Item = (&str, &'static str, &StepRunInputResponse)> + '_ {
    let checkpoint_type = step.body.as_ref().and_then(|b| b.type_.as_ref());
    step.resources
        .iter()
        .filter(move |_| line == ServerLine::Kitaru021)
        .flat_map(|r| &r.inputs)
        .filter_map(move |(slot, inputs)| {
            let kind = match (checkpoint_type, slot.as_str()) {
                (Some(StepType::LlmCall), "input") => "prompt",
                (Some(StepType::ToolCall), "tool_args") => "input",
                _ => return None,
            };
            Some(inputs.iter().map(move |input| (slot.as_str(), kind, input)))
        })
        .flatten()
}

/// How many of the checkpoints these steps make `at` names, by name or
/// call id, as the reference of `line` shows them.
pub(crate) fn calls_named(steps: &[StepRunResponse], line: ServerLine, at: &str) -> usize {
    lineages(steps, line)
        .iter()
        .filter(|lineage| {
            checkpoint_name(&lineage.shown.name) == at || lineage.shown.id.to_string() == at
        })
        .count()
}

/// How many checkpoints and distinct artifacts these steps make, as the
/// reference of `line` counts them.
pub(crate) fn counts(steps: &[StepRunResponse], line: ServerLine) -> (usize, usize) {
    let lineages = lineages(steps, line);
    let artifacts: HashSet<String> = lineages
        .iter()
        .flat_map(|lineage| {
            let inputs =
                shown_inputs(lineage.shown, line).map(|(_, _, input)| input.id.to_string());
            inputs.chain(output_ids(lineage.shown))
        })
        .collect();
    (lineages.len(), artifacts.len())
}

/// What the checkpoints of one run are read with.
pub(crate) struct Reading<'a> {
    /// Whose reference to follow.
    pub(crate) line: ServerLine,
    /// The hydrated artifact versions by id (for their run metadata); an
    /// artifact missing here is shown from the step's own, unhydrated copy.
    pub(crate) versions: &'a HashMap<String, ArtifactVersionResponse>,
    /// The checkpoints a replay skipped (their LLM calls were reused).
    pub(crate) skipped: &'a HashSet<String>,
}

/// The checkpoints these steps (oldest first) make.
pub(crate) fn checkpoints(steps: &[StepRunResponse], reading: &Reading<'_>) -> Vec<Checkpoint> {
    lineages(steps, reading.line)
        .into_iter()
        .map(|lineage| checkpoint(&lineage, reading))
        .collect()
}

fn checkpoint(lineage: &Lineage<'_>, reading: &Reading<'_>) -> Checkpoint {
    let shown = lineage.shown;
    let line = reading.line;
    let name = checkpoint_name(&shown.name).to_owned();
    let body = shown.body.as_ref();
    let metadata = shown.metadata.as_ref();
    let checkpoint_type = body.and_then(|b| b.type_.as_ref());
    let attempts: Vec<Attempt> = lineage
        .attempts
        .iter()
        .map(|step| attempt(step, reading))
        .collect();
    let output_kind = |slot: &str| match (line, checkpoint_type, slot) {
        (ServerLine::Kitaru021, Some(StepType::LlmCall), "output") => Some("response"),
        (ServerLine::Kitaru021, Some(StepType::ToolCall), "output") => Some("output"),
        _ => None,
    };
    let hydrated = |id: &uuid::Uuid| reading.versions.get(&id.to_string());
    let mut artifacts = Vec::new();
    let mut seen = HashSet::new();
    for (slot, kind, input) in shown_inputs(shown, line) {
        if seen.insert(input.id) {
            let known = hydrated(&input.id);
            let artifact = ArtifactRef::from_parts(
                input.id,
                known.map_or(input.body.as_ref(), |v| v.body.as_ref()),
                known.map_or(input.metadata.as_ref(), |v| v.metadata.as_ref()),
                None,
            );
            artifacts.push(
                artifact
                    .or_kind(kind)
                    .into_input(slot, input.input_type.as_str()),
            );
        }
    }
    for (slot, versions) in shown.resources.iter().flat_map(|r| &r.outputs) {
        for version in versions.iter().filter(|version| seen.insert(version.id)) {
            let version = hydrated(&version.id).unwrap_or(version);
            let artifact = ArtifactRef::from_version(version, Some(name.clone()));
            artifacts.push(match output_kind(slot) {
                Some(kind) => artifact.or_kind(kind),
                None => artifact,
            });
        }
    }
    let llm_usage_records = (line == ServerLine::Kitaru021).then(|| {
        attempts
            .iter()
            .flat_map(|attempt| attempt.llm_usage_records.iter().flatten().cloned())
            .collect()
    });
    Checkpoint {
        call_id: shown.id.to_string(),
        checkpoint_type: checkpoint_type.map(|t| t.as_str().to_owned()),
        provenance: (line == ServerLine::Kitaru021).then(|| provenance(shown)),
        status: status(shown, line),
        started_at: body.and_then(|b| b.start_time).map(|t| t.to_string()),
        ended_at: body.and_then(|b| b.end_time).map(|t| t.to_string()),
        metadata: metadata.map(|m| m.run_metadata.clone()).unwrap_or_default(),
        original_call_id: metadata
            .and_then(|m| m.original_step_run_id)
            .map(|id| id.to_string()),
        parent_call_ids: metadata
            .map(|m| m.parent_step_ids.iter().map(|id| id.to_string()).collect())
            .unwrap_or_default(),
        failure: attempts.last().and_then(|a| a.failure.clone()),
        attempts,
        artifacts,
        llm_usage_records,
        name,
    }
}

/// Who made the checkpoint, from the Kitaru keys in the step's run
/// metadata and configuration (`extra`, where the configuration wins),
/// each at the top level or under `kitaru`.
fn provenance(step: &StepRunResponse) -> CheckpointProvenance {
    let mut recorded: Map<String, Value> = Map::new();
    if let Some(metadata) = step.metadata.as_ref() {
        recorded.extend(metadata.run_metadata.clone());
        recorded.extend(metadata.config.extra.clone());
    }
    let value = |key: &str| {
        recorded.get(key).or_else(|| {
            recorded
                .get("kitaru")
                .and_then(Value::as_object)
                .and_then(|nested| nested.get(key))
        })
    };
    let text = |key: &str| {
        value(key)
            .and_then(Value::as_str)
            .filter(|text| !text.is_empty())
            .map(str::to_owned)
    };
    let slots = |key: &str| -> Vec<String> {
        value(key)
            .and_then(Value::as_array)
            .map(|slots| {
                slots
                    .iter()
                    .filter_map(Value::as_str)
                    .filter(|slot| !slot.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    CheckpointProvenance {
        checkpoint_origin: if text("kitaru_checkpoint_origin").as_deref() == Some("adapter") {
            CheckpointOrigin::Adapter
        } else {
            CheckpointOrigin::User
        },
        adapter: text("kitaru_adapter"),
        adapter_checkpoint_kind: text("kitaru_adapter_checkpoint_kind"),
        replay_input_slots: slots("kitaru_replay_input_slots"),
        replay_output_slots: slots("kitaru_replay_output_slots"),
    }
}

fn attempt(step: &StepRunResponse, reading: &Reading<'_>) -> Attempt {
    let body = step.body.as_ref();
    let status = status(step, reading.line);
    let run_metadata = step
        .metadata
        .as_ref()
        .map(|m| m.run_metadata.clone())
        .unwrap_or_default();
    Attempt {
        attempt_id: step.id.to_string(),
        status,
        started_at: body.and_then(|b| b.start_time).map(|t| t.to_string()),
        ended_at: body.and_then(|b| b.end_time).map(|t| t.to_string()),
        failure: Failure::from_record(
            Subject::Checkpoint(checkpoint_name(&step.name)),
            status == ExecutionStatus::Failed,
            None,
            step.metadata
                .as_ref()
                .and_then(|m| m.exception_info.as_ref()),
            reading.line,
        ),
        llm_usage_records: (reading.line == ServerLine::Kitaru021)
            .then(|| usage::records(&run_metadata, Reuse::of(step, reading.skipped))),
        metadata: run_metadata,
    }
}

fn status(step: &StepRunResponse, line: ServerLine) -> ExecutionStatus {
    step.body
        .as_ref()
        .map(|b| ExecutionStatus::from_zenml(&b.status, line))
        .unwrap_or(ExecutionStatus::Running)
}

#[cfg(test)]
pub(crate) mod tests {
    use serde_json::json;

    use super::*;
    use crate::executions::tests::assert_key_order;

    /// The checkpoints as the kitaru 0.10 line reads them.
    fn on_010(
        steps: &[StepRunResponse],
        versions: &HashMap<String, ArtifactVersionResponse>,
    ) -> Vec<Checkpoint> {
        checkpoints(
            steps,
            &Reading {
                line: ServerLine::Kitaru010,
                versions,
                skipped: &HashSet::new(),
            },
        )
    }

    /// A hydrated step run as the server sends it (trimmed to what matters).
    pub(crate) fn step(
        id: &str,
        name: &str,
        status: &str,
        original: Option<&str>,
        outputs: Value,
    ) -> StepRunResponse {
        serde_json::from_value(json!({
            "id": id,
            "name": name,
            "permission_denied": false,
            "body": {
                "created": "2026-11-26T13:45:19.041455", "updated": "2026-11-26T13:45:19.827713",
                "project_id": "d1fa1388-9387-4b5c-8af7-1d3c87ef5922",
                "status": status, "version": 1, "is_retriable": false,
                "start_time": "2026-11-26T13:45:18.902589", "end_time": "2026-11-26T13:45:19.778831",
                "type": if name == "pair" { json!("llm_call") } else { Value::Null },
            },
            "metadata": {
                "config": {"name": name},
                "spec": {
                    "source": {"module": "flows.seed_flows", "attribute": name, "type": "user"},
                    "upstream_steps": [], "invocation_id": name,
                },
                "snapshot_id": "5c27df0c-0aaa-48f1-a11e-1f0ff2b710fe",
                "pipeline_run_id": "e252000c-966d-46d7-a527-6fcf09464882",
                "original_step_run_id": original,
                "parent_step_ids": ["82b48792-17ad-4070-9fe8-05b95e660a05"],
                "run_metadata": {"k": 1},
            },
            "resources": { "outputs": outputs },
        }))
        .unwrap()
    }

    /// An (unhydrated) artifact version as a step's outputs list it.
    pub(crate) fn version(id: &str, name: &str, save_type: &str) -> Value {
        created_version(id, name, save_type, "2026-11-26T13:45:19.1")
    }

    fn created_version(id: &str, name: &str, save_type: &str, created: &str) -> Value {
        json!({
            "id": id,
            "permission_denied": false,
            "body": {
                "created": created, "updated": created,
                "project_id": "d1fa1388-9387-4b5c-8af7-1d3c87ef5922",
                "artifact": {"id": "fc372e1e-5bcb-4dca-bf04-d6d711824c34", "name": name, "permission_denied": false},
                "version": "1", "uri": "/tmp/x", "type": "BaseArtifact",
                "materializer": {"module": "m", "attribute": "a", "type": "internal"},
                "data_type": {"module": "builtins", "attribute": "str", "type": "builtin"},
                "save_type": save_type,
            },
        })
    }

    const S1: &str = "82b48792-17ad-4070-9fe8-05b95e660a05";
    const S2: &str = "b8a39525-376f-4dbe-ad33-aaab5481822e";
    const S3: &str = "84d98078-2289-48e4-a2c9-49431cb6f0a2";
    const V1: &str = "57af9456-f899-4986-bf6d-b8ed73283a8c";
    const V2: &str = "f7abb105-7771-49cd-babd-ac533b7d4de5";

    #[test]
    fn checkpoint_names_lose_kitarus_source_prefix() {
        assert_eq!(
            checkpoint_name("__kitaru_checkpoint_source_think_2"),
            "think_2"
        );
        assert_eq!(checkpoint_name(" think"), " think");
    }

    #[test]
    fn a_replayed_step_joins_its_originals_lineage_and_retries_stay_apart() {
        let steps = [
            step(S1, "flaky", "retried", None, json!({})),
            step(S2, "flaky", "completed", None, json!({})),
            step(S3, "greet", "cached", Some(S1), json!({})),
        ];
        let groups: Vec<Vec<String>> = lineages(&steps, ServerLine::Kitaru010)
            .iter()
            .map(|g| g.attempts.iter().map(|s| s.id.to_string()).collect())
            .collect();
        assert_eq!(
            groups,
            vec![vec![S1.to_owned(), S3.to_owned()], vec![S2.to_owned()]]
        );
    }

    #[test]
    fn a_cohort_anchor_names_checkpoints_as_the_line_shows_them() {
        let steps = [
            step(
                S1,
                "__kitaru_checkpoint_source_flaky",
                "retried",
                None,
                json!({}),
            ),
            step(
                S2,
                "__kitaru_checkpoint_source_flaky",
                "completed",
                None,
                json!({}),
            ),
            step(S3, "greet", "completed", None, json!({})),
        ];
        // Each in-run retry is a checkpoint of its own on the 0.10 line.
        assert_eq!(calls_named(&steps, ServerLine::Kitaru010, "flaky"), 2);
        assert_eq!(calls_named(&steps, ServerLine::Kitaru021, "flaky"), 1);
        // By call id: the attempt the checkpoint shows.
        assert_eq!(calls_named(&steps, ServerLine::Kitaru021, S2), 1);
        assert_eq!(calls_named(&steps, ServerLine::Kitaru021, S1), 0);
        assert_eq!(calls_named(&steps, ServerLine::Kitaru021, "nope"), 0);
        assert_eq!(calls_named(&[], ServerLine::Kitaru021, "greet"), 0);
    }

    #[test]
    fn a_checkpoint_shows_its_latest_attempt_and_its_outputs_once_in_the_servers_order() {
        let saved = created_version(V1, "seed_response", "manual", "2026-11-26T13:45:18.95");
        let outputs = json!({
            "output_0": [version(V2, "seed_completed::pair::output_0", "step_output")],
            "seed_response": [saved.clone(), saved],
        });
        let steps = [step(S2, "pair", "completed", None, outputs)];
        let checkpoints = on_010(&steps, &HashMap::new());
        assert_eq!(checkpoints.len(), 1);
        let pair = &checkpoints[0];
        assert_eq!(pair.name, "pair");
        assert_eq!(pair.checkpoint_type.as_deref(), Some("llm_call"));
        assert_eq!(pair.status, ExecutionStatus::Completed);
        assert_eq!(
            pair.started_at.as_deref(),
            Some("2026-11-26T13:45:18.902589")
        );
        assert_eq!(pair.parent_call_ids, vec![S1.to_owned()]);
        assert_eq!(pair.failure, None);
        assert_eq!(pair.attempts.len(), 1);
        let names: Vec<&str> = pair.artifacts.iter().map(|a| a.name.as_str()).collect();
        // `json!` orders keys alphabetically; the server's order is kept as given.
        assert_eq!(names, ["seed_completed::pair::output_0", "seed_response"]);
        assert!(
            pair.artifacts
                .iter()
                .all(|a| a.producing_call.as_deref() == Some("pair"))
        );
        assert_eq!(counts(&steps, ServerLine::Kitaru010), (1, 2));
    }

    #[test]
    fn hydrated_versions_supply_the_artifact_metadata() {
        let mut hydrated = version(V1, "seed_response", "manual");
        hydrated["metadata"] =
            json!({"run_metadata": {"kitaru_artifact_type": "response", "storage_size": 35}});
        let hydrated: ArtifactVersionResponse = serde_json::from_value(hydrated).unwrap();
        let versions = HashMap::from([(V1.to_owned(), hydrated)]);
        let steps = [step(
            S2,
            "pair",
            "completed",
            None,
            json!({"seed_response": [version(V1, "seed_response", "manual")]}),
        )];
        let artifact = &on_010(&steps, &versions)[0].artifacts[0];
        assert_eq!(artifact.kind.as_deref(), Some("response"));
        assert_eq!(artifact.metadata["storage_size"], 35);
    }

    #[test]
    fn a_failed_attempt_without_a_record_gets_a_generic_failure() {
        let steps = [step(
            S1,
            "__kitaru_checkpoint_source_boom",
            "failed",
            None,
            json!({}),
        )];
        let boom = &on_010(&steps, &HashMap::new())[0];
        assert_eq!(boom.name, "boom");
        assert_eq!(boom.status, ExecutionStatus::Failed);
        assert_eq!(
            boom.failure.as_ref().unwrap().message,
            "Checkpoint 'boom' failed."
        );
        assert_eq!(boom.attempts[0].failure, boom.failure);
    }

    #[test]
    fn checkpoint_fields_serialize_in_the_reference_order() {
        let steps = [step(S1, "greet", "completed", None, json!({}))];
        let greet = &on_010(&steps, &HashMap::new())[0];
        assert_key_order(
            &serde_json::to_string(greet).unwrap(),
            &[
                "call_id",
                "name",
                "checkpoint_type",
                "status",
                "started_at",
                "ended_at",
                "metadata",
                "original_call_id",
                "parent_call_ids",
                "failure",
                "attempts",
                "artifacts",
            ],
        );
        assert_key_order(
            &serde_json::to_string(&greet.attempts[0]).unwrap(),
            &[
                "attempt_id",
                "status",
                "started_at",
                "ended_at",
                "metadata",
                "failure",
            ],
        );
    }

    /// Attempt `version` at checkpoint `flaky`.
    fn attempt_at_flaky(id: &str, status: &str, version: i64) -> StepRunResponse {
        let mut attempt = step(id, "flaky", status, None, json!({}));
        attempt.body.as_mut().unwrap().version = version;
        attempt
    }

    #[test]
    fn on_the_0_21_line_retries_group_by_name_and_the_newest_unretried_attempt_shows() {
        let steps = [
            attempt_at_flaky(S2, "completed", 2),
            step(S3, "greet", "cached", None, json!({})),
            attempt_at_flaky(S1, "retried", 1),
        ];
        let lineages = lineages(&steps, ServerLine::Kitaru021);
        let groups: Vec<(String, Vec<String>)> = lineages
            .iter()
            .map(|lineage| {
                let ids = lineage.attempts.iter().map(|s| s.id.to_string()).collect();
                (lineage.shown.id.to_string(), ids)
            })
            .collect();
        assert_eq!(
            groups,
            vec![
                (S2.to_owned(), vec![S1.to_owned(), S2.to_owned()]),
                (S3.to_owned(), vec![S3.to_owned()]),
            ]
        );
        assert_eq!(counts(&steps, ServerLine::Kitaru021).0, 2);
        assert_eq!(counts(&steps, ServerLine::Kitaru010).0, 3);
    }

    #[test]
    fn on_the_0_21_line_every_attempt_retried_shows_the_newest() {
        let steps = [
            attempt_at_flaky(S1, "retried", 1),
            attempt_at_flaky(S2, "retried", 2),
        ];
        let lineages = lineages(&steps, ServerLine::Kitaru021);
        assert_eq!(lineages[0].shown.id.to_string(), S2);
    }

    #[test]
    fn on_the_0_21_line_adapter_provenance_is_read_from_the_configuration() {
        let mut adapted = step(S1, "agent_turn", "completed", None, json!({}));
        adapted.metadata.as_mut().unwrap().config.extra = json!({"kitaru": {
            "kitaru_checkpoint_origin": "adapter", "kitaru_adapter": "pydantic_ai",
            "kitaru_adapter_checkpoint_kind": "model_request",
            "kitaru_replay_input_slots": ["input", "", 3], "kitaru_replay_output_slots": ["output"],
            "boundary": "checkpoint", "type": "llm_call",
        }})
        .as_object()
        .unwrap()
        .clone();
        assert_eq!(
            provenance(&adapted),
            CheckpointProvenance {
                checkpoint_origin: CheckpointOrigin::Adapter,
                adapter: Some("pydantic_ai".into()),
                adapter_checkpoint_kind: Some("model_request".into()),
                replay_input_slots: vec!["input".into()],
                replay_output_slots: vec!["output".into()],
            }
        );
        let plain = step(S2, "greet", "completed", None, json!({}));
        assert_eq!(
            provenance(&plain),
            CheckpointProvenance {
                checkpoint_origin: CheckpointOrigin::User,
                adapter: None,
                adapter_checkpoint_kind: None,
                replay_input_slots: Vec::new(),
                replay_output_slots: Vec::new(),
            }
        );
    }

    #[test]
    fn on_the_0_21_line_the_provenance_keys_follow_the_type_and_usage_closes_the_checkpoint() {
        let steps = [step(S1, "greet", "completed", None, json!({}))];
        let reading = Reading {
            line: ServerLine::Kitaru021,
            versions: &HashMap::new(),
            skipped: &HashSet::new(),
        };
        let greet = &checkpoints(&steps, &reading)[0];
        let text = serde_json::to_string(greet).unwrap();
        assert_key_order(
            &text,
            &[
                "call_id",
                "name",
                "checkpoint_type",
                "checkpoint_origin",
                "adapter",
                "adapter_checkpoint_kind",
                "replay_input_slots",
                "replay_output_slots",
                "status",
                "attempts",
            ],
        );
        assert!(
            text.ends_with(r#""artifacts":[],"llm_usage_records":[]}"#),
            "{text}"
        );
        assert_eq!(serde_json::from_str::<Checkpoint>(&text).unwrap(), *greet);
        let on_010 = serde_json::to_string(&on_010(&steps, &HashMap::new())[0]).unwrap();
        for key in [
            "checkpoint_origin",
            "adapter",
            "llm_usage_records",
            "replay_input_slots",
        ] {
            assert!(!on_010.contains(key), "{key} in {on_010}");
        }
    }
}
