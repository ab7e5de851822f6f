//! Checkpoints: the durable calls of an execution. In ZenML terms, the step
//! runs of a pipeline run; each attempt at a call is a step run.

use std::collections::{HashMap, HashSet};

use kitaru_client::types::{ArtifactVersionResponse, StepRunResponse};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::failure::{Failure, Subject};
use super::{ExecutionStatus, InProject, PAGE_SIZE, one_of};
use crate::artifacts::ArtifactRef;
use crate::error::ApiContext;
use crate::{Error, Kitaru};
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
    /// What the latest attempt produced: its outputs and `kitaru.save` values.
    pub artifacts: Vec<ArtifactRef>,
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

/// The checkpoints of one run, with their artifacts' metadata: two
/// requests (steps, then the run's artifact versions).
pub(crate) async fn load(kitaru: &Kitaru, run_id: &str) -> Result<Vec<Checkpoint>, Error> {
    let steps = steps_of(kitaru, &[run_id.to_owned()])
        .await?
        .remove(run_id)
        .unwrap_or_default();
    let versions = hydrated_outputs(kitaru, run_id, &steps).await?;
    Ok(checkpoints(&steps, &versions))
}

/// Every artifact the checkpoints produced, in checkpoint order, once.
pub(crate) fn artifacts(checkpoints: &[Checkpoint]) -> Vec<ArtifactRef> {
    let mut seen = HashSet::new();
    checkpoints
        .iter()
        .flat_map(|checkpoint| &checkpoint.artifacts)
        .filter(|artifact| seen.insert(artifact.artifact_id.clone()))
        .cloned()
        .collect()
}

/// Every artifact the checkpoints of the execution `exec_id` names produced.
pub(crate) async fn run_artifacts(
    kitaru: &Kitaru,
    exec_id: &str,
) -> Result<Vec<ArtifactRef>, Error> {
    let run = super::lookup::find_run(kitaru, exec_id).await?;
    Ok(artifacts(&load(kitaru, &run.id.to_string()).await?))
}

/// The hydrated versions (which carry the run metadata) of the steps'
/// outputs, by id: one query for the run's artifact versions, which also
/// holds its inputs, then one request per output it missed.
async fn hydrated_outputs(
    kitaru: &Kitaru,
    run_id: &str,
    steps: &[StepRunResponse],
) -> Result<HashMap<String, ArtifactVersionResponse>, Error> {
    let wanted: HashSet<String> = steps.iter().flat_map(output_ids).collect();
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

/// The attempts of each checkpoint, in order of each checkpoint's first
/// attempt. `steps` are oldest first.
///
/// Attempts share a lineage: a step reused by a replay points at its
/// original. (ZenML 0.94 records in-run retries as unrelated steps, so each
/// of those is a checkpoint of its own, as in the reference.)
fn lineages(steps: &[StepRunResponse]) -> Vec<Vec<&StepRunResponse>> {
    let mut order: Vec<String> = Vec::new();
    let mut attempts: HashMap<String, Vec<&StepRunResponse>> = HashMap::new();
    for step in steps {
        let key = step
            .metadata
            .as_ref()
            .and_then(|m| m.original_step_run_id)
            .unwrap_or(step.id)
            .to_string();
        let entry = attempts.entry(key.clone()).or_default();
        if entry.is_empty() {
            order.push(key);
        }
        entry.push(step);
    }
    order
        .into_iter()
        .filter_map(|key| attempts.remove(&key))
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

/// How many checkpoints and distinct artifacts these steps make.
pub(crate) fn counts(steps: &[StepRunResponse]) -> (usize, usize) {
    let lineages = lineages(steps);
    let artifacts: HashSet<String> = lineages
        .iter()
        .filter_map(|attempts| attempts.last())
        .flat_map(|latest| output_ids(latest))
        .collect();
    (lineages.len(), artifacts.len())
}

/// The checkpoints these steps make. `versions` holds the hydrated artifact
/// versions by id (for their run metadata); an output missing there is
/// shown from the step's own, unhydrated copy.
pub(crate) fn checkpoints(
    steps: &[StepRunResponse],
    versions: &HashMap<String, ArtifactVersionResponse>,
) -> Vec<Checkpoint> {
    lineages(steps)
        .into_iter()
        .filter_map(|attempts| {
            let latest = *attempts.last()?;
            Some(checkpoint(latest, &attempts, versions))
        })
        .collect()
}

fn checkpoint(
    latest: &StepRunResponse,
    attempts: &[&StepRunResponse],
    versions: &HashMap<String, ArtifactVersionResponse>,
) -> Checkpoint {
    let name = checkpoint_name(&latest.name).to_owned();
    let body = latest.body.as_ref();
    let metadata = latest.metadata.as_ref();
    let attempts: Vec<Attempt> = attempts.iter().map(|step| attempt(step)).collect();
    let mut seen = HashSet::new();
    let artifacts = outputs_in_creation_order(latest)
        .into_iter()
        .filter(|version| seen.insert(version.id))
        .map(|version| {
            let hydrated = versions.get(&version.id.to_string()).unwrap_or(version);
            ArtifactRef::from_version(hydrated, Some(name.clone()))
        })
        .collect();
    Checkpoint {
        call_id: latest.id.to_string(),
        checkpoint_type: body
            .and_then(|b| b.type_.as_ref())
            .map(|t| t.as_str().to_owned()),
        status: status(latest),
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
        name,
    }
}

/// A step's outputs in the order the server lists them (the client's maps
/// keep it), which is the order the reference reports them in.
fn outputs_in_creation_order(step: &StepRunResponse) -> Vec<&ArtifactVersionResponse> {
    step.resources
        .iter()
        .flat_map(|r| r.outputs.values())
        .flatten()
        .collect()
}

fn attempt(step: &StepRunResponse) -> Attempt {
    let body = step.body.as_ref();
    let status = status(step);
    Attempt {
        attempt_id: step.id.to_string(),
        status,
        started_at: body.and_then(|b| b.start_time).map(|t| t.to_string()),
        ended_at: body.and_then(|b| b.end_time).map(|t| t.to_string()),
        metadata: step
            .metadata
            .as_ref()
            .map(|m| m.run_metadata.clone())
            .unwrap_or_default(),
        failure: Failure::from_record(
            Subject::Checkpoint(checkpoint_name(&step.name)),
            status == ExecutionStatus::Failed,
            None,
            step.metadata
                .as_ref()
                .and_then(|m| m.exception_info.as_ref()),
        ),
    }
}

fn status(step: &StepRunResponse) -> ExecutionStatus {
    step.body
        .as_ref()
        .map(|b| ExecutionStatus::from_zenml(&b.status))
        .unwrap_or(ExecutionStatus::Running)
}

#[cfg(test)]
pub(crate) mod tests {
    use serde_json::json;

    use super::*;
    use crate::executions::tests::assert_key_order;

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
        let groups: Vec<Vec<String>> = lineages(&steps)
            .iter()
            .map(|g| g.iter().map(|s| s.id.to_string()).collect())
            .collect();
        assert_eq!(
            groups,
            vec![vec![S1.to_owned(), S3.to_owned()], vec![S2.to_owned()]]
        );
    }

    #[test]
    fn a_checkpoint_shows_its_latest_attempt_and_its_outputs_once_in_the_servers_order() {
        let saved = created_version(V1, "seed_response", "manual", "2026-11-26T13:45:18.95");
        let outputs = json!({
            "output_0": [version(V2, "seed_completed::pair::output_0", "step_output")],
            "seed_response": [saved.clone(), saved],
        });
        let steps = [step(S2, "pair", "completed", None, outputs)];
        let checkpoints = checkpoints(&steps, &HashMap::new());
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
        assert_eq!(counts(&steps), (1, 2));
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
        let artifact = &checkpoints(&steps, &versions)[0].artifacts[0];
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
        let boom = &checkpoints(&steps, &HashMap::new())[0];
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
        let greet = &checkpoints(&steps, &HashMap::new())[0];
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
}
