//! Comparing an execution with its replays, checkpoint by checkpoint, as
//! kitaru 0.21's `diff` and `diff_matrix` compare them: whether each
//! checkpoint ended the same way, how much longer it took, how many more
//! tokens and dollars its LLM calls used, and whether its artifacts hold
//! the same values (content hashes, see [`crate::artifacts::content_hash`]);
//! with a link to the UI's comparison page.
//!
//! A replay is found by its `original_run`: the runs of the original's flow
//! are scanned newest first, at most [`REPLAY_SCAN_LIMIT`] of them (or as
//! many as a [`ReplayScan`] says); when older ones remain, the row says so
//! in its `warnings`.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::str::FromStr as _;

use futures_util::TryStreamExt as _;
use kitaru_client::paging::Paged as _;
use kitaru_client::timestamp::Timestamp;
use kitaru_client::types::PipelineRunResponse;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::checkpoints::Checkpoint;
use super::execution::{Execution, PIPELINE_NAME_PREFIX, flow_name};
use super::usage::{self, UsageTotals};
use super::{InProject, lookup, one_of};
use crate::python_repr::json_str;
use crate::ui::UiRoutes;
use crate::{Error, Kitaru};

/// How many runs of a flow replay discovery reads, newest first.
pub const REPLAY_SCAN_LIMIT: usize = 10_000;

/// Runs per page of the replay scan.
const SCAN_PAGE_SIZE: i64 = 100;

/// The flow version a comparison page shows when the original execution
/// names no deployment version.
const DEFAULT_FLOW_VERSION: &str = "local";

/// An original execution compared with its replays (`kitaru_executions_diff`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct ExecutionDiff {
    /// The original execution's id.
    pub original_exec_id: String,
    /// One comparison per replay, in the order given or found (newest first).
    pub compared: Vec<ReplayComparison>,
    /// The UI page comparing the original with all its replays; empty when
    /// there is no replay or no UI to link to.
    pub urls: Vec<String>,
    /// What may be missing: replays older than the bounded scan.
    pub warnings: Vec<String>,
}

/// The original compared with one replay.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct ReplayComparison {
    /// The replay, as given (or its id, when found).
    pub replay_exec_id: String,
    /// The checkpoints, paired: the original's in order (each with the
    /// replay's call that reused it, else the replay's first unpaired call
    /// of the same name), then the replay's calls left unpaired.
    pub checkpoints: Vec<CheckpointDiff>,
}

/// One checkpoint of the original beside its counterpart in the replay.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct CheckpointDiff {
    /// The checkpoint's name.
    pub name: String,
    /// The original's call; null when only the replay has it.
    pub original_call_id: Option<String>,
    /// The replay's call; null when only the original has it.
    pub replay_call_id: Option<String>,
    /// Whether both have it and it ended in the same status.
    pub status_match: bool,
    /// The replay's duration minus the original's, in milliseconds; null
    /// unless both started and ended.
    pub duration_delta_ms: Option<f64>,
    /// The replay's LLM tokens minus the original's; null when neither
    /// made (or reused) an LLM call.
    pub token_delta: Option<TokenDelta>,
    /// The replay's LLM cost minus the original's, in USD (reused calls
    /// cost nothing); null when an incurred call of either has no cost.
    pub cost_delta_usd: Option<f64>,
    /// For each artifact (by name, else kind): the content hash of its value
    /// in the original and in the replay; null where it is missing or
    /// cannot be read here.
    pub artifact_hashes: BTreeMap<String, HashPair>,
}

/// The difference in LLM tokens, replay minus original.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct TokenDelta {
    /// Input tokens.
    pub prompt_tokens: i64,
    /// Output tokens.
    pub completion_tokens: i64,
    /// All tokens.
    pub total_tokens: i64,
}

/// An artifact's content hash on both sides.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct HashPair {
    /// In the original execution.
    pub original: Option<String>,
    /// In the replay.
    pub replay: Option<String>,
}

/// Several original executions, each compared with its replays
/// (`kitaru_executions_diff_matrix`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct DiffMatrix {
    /// One row per execution asked for, in that order (repeated when asked
    /// for twice).
    pub rows: Vec<ExecutionDiff>,
}

/// Compares execution `original` with the executions `replays` names (any
/// execution: a run id, exact run name or unique id prefix), or, when none
/// are named, with every replay of it found by a bounded scan of its flow's
/// runs.
///
/// ```no_run
/// # async fn example(kitaru: &kitaru_sdk::Kitaru) -> Result<(), kitaru_sdk::Error> {
/// use kitaru_sdk::executions;
///
/// let diff = executions::diff(kitaru, "my-run-id", &[]).await?; // its replays
/// for replay in &diff.compared {
///     for checkpoint in &replay.checkpoints {
///         let changed = checkpoint
///             .artifact_hashes
///             .values()
///             .any(|hashes| hashes.original != hashes.replay);
///         println!(
///             "{} {}: same status {}, {:?} ms slower, tokens {:?}, ${:?}, values changed {changed}",
///             replay.replay_exec_id,
///             checkpoint.name,
///             checkpoint.status_match,
///             checkpoint.duration_delta_ms,
///             checkpoint.token_delta,
///             checkpoint.cost_delta_usd,
///         );
///     }
/// }
/// let matrix = executions::diff_matrix(kitaru, &["run-a".into(), "run-b".into()]).await?;
/// assert_eq!(matrix.rows.len(), 2);
/// # Ok(())
/// # }
/// ```
pub async fn diff(
    kitaru: &Kitaru,
    original: &str,
    replays: &[String],
) -> Result<ExecutionDiff, Error> {
    ReplayScan::default().diff(kitaru, original, replays).await
}

/// Compares each execution `exec_ids` names with its replays (found as
/// [`diff`] finds them, one scan per flow): one row per execution, in the
/// order asked.
pub async fn diff_matrix(kitaru: &Kitaru, exec_ids: &[String]) -> Result<DiffMatrix, Error> {
    ReplayScan::default().diff_matrix(kitaru, exec_ids).await
}

/// How [`diff`] and [`diff_matrix`] find replays when none are named: among
/// the newest `limit` runs of the original's flow (by default
/// [`REPLAY_SCAN_LIMIT`], as kitaru 0.21); a row whose scan stopped before
/// the flow's oldest run says so in its `warnings`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReplayScan {
    /// How many runs of a flow to read, newest first.
    pub limit: usize,
}

impl Default for ReplayScan {
    fn default() -> Self {
        Self {
            limit: REPLAY_SCAN_LIMIT,
        }
    }
}

impl ReplayScan {
    /// [`diff`], scanning this far.
    pub async fn diff(
        self,
        kitaru: &Kitaru,
        original: &str,
        replays: &[String],
    ) -> Result<ExecutionDiff, Error> {
        let mut differ = Differ::new(kitaru).await;
        let original = Loaded::find(kitaru, original).await?;
        let (replays, warnings) = if replays.is_empty() {
            let id = original.id().to_owned();
            let (mut found, warnings) = self
                .discover(kitaru, original.flow_name(), std::slice::from_ref(&id))
                .await?;
            (found.remove(&id).unwrap_or_default(), warnings)
        } else {
            (replays.to_vec(), Vec::new())
        };
        differ.compare(&original, &replays, warnings).await
    }

    /// [`diff_matrix`], scanning this far.
    pub async fn diff_matrix(
        self,
        kitaru: &Kitaru,
        exec_ids: &[String],
    ) -> Result<DiffMatrix, Error> {
        let mut differ = Differ::new(kitaru).await;
        let mut by_selector: HashMap<&str, String> = HashMap::new();
        let mut originals: Vec<Loaded> = Vec::new();
        let mut order: Vec<String> = Vec::new();
        for selector in exec_ids {
            if let Some(id) = by_selector.get(selector.as_str()) {
                order.push(id.clone());
                continue;
            }
            let loaded = Loaded::find(kitaru, selector).await?;
            let id = loaded.id().to_owned();
            by_selector.insert(selector, id.clone());
            order.push(id.clone());
            if originals.iter().all(|known| known.id() != id) {
                originals.push(loaded);
            }
        }
        // One scan per flow, flows in the order their first execution was asked.
        let mut flows: Vec<Option<String>> = Vec::new();
        for original in &originals {
            let flow = original.flow_name().map(str::to_owned);
            if !flows.contains(&flow) {
                flows.push(flow);
            }
        }
        let mut replays: HashMap<String, Vec<String>> = HashMap::new();
        let mut warnings: HashMap<Option<String>, Vec<String>> = HashMap::new();
        for flow in flows {
            let ids: Vec<String> = originals
                .iter()
                .filter(|original| original.flow_name() == flow.as_deref())
                .map(|original| original.id().to_owned())
                .collect();
            let (found, flow_warnings) = self.discover(kitaru, flow.as_deref(), &ids).await?;
            replays.extend(found);
            warnings.insert(flow, flow_warnings);
        }
        let mut rows: HashMap<String, ExecutionDiff> = HashMap::new();
        for original in &originals {
            let found = replays.remove(original.id()).unwrap_or_default();
            let flow = original.flow_name().map(str::to_owned);
            let flow_warnings = warnings.get(&flow).cloned().unwrap_or_default();
            let row = differ.compare(original, &found, flow_warnings).await?;
            rows.insert(original.id().to_owned(), row);
        }
        Ok(DiffMatrix {
            rows: order
                .iter()
                .filter_map(|id| rows.get(id).cloned())
                .collect(),
        })
    }

    /// The replays of `originals` (ids of executions of flow `flow`, `None`
    /// for executions without a flow name) among the flow's newest `limit`
    /// runs, newest first, by original; and the warning that older runs
    /// were not read, when some remain.
    async fn discover(
        self,
        kitaru: &Kitaru,
        flow: Option<&str>,
        originals: &[String],
    ) -> Result<(HashMap<String, Vec<String>>, Vec<String>), Error> {
        let mut found: HashMap<String, Vec<String>> = originals
            .iter()
            .map(|id| (id.clone(), Vec::new()))
            .collect();
        let mut request = kitaru
            .client
            .list_runs()
            .hydrate(false)
            .sort_by("desc:created")
            .size(SCAN_PAGE_SIZE)
            .in_project(kitaru);
        if let Some(flow) = flow {
            let registered = format!("{PIPELINE_NAME_PREFIX}{flow}");
            request = request.pipeline_name(one_of(&[flow, registered.as_str()]));
        }
        let mut runs = std::pin::pin!(request.stream());
        let mut scanned = 0;
        while let Some(run) = runs
            .try_next()
            .await
            .map_err(|e| Error::api("Failed to list the executions to find replays in", e))?
        {
            scanned += 1;
            if scanned > self.limit {
                return Ok((found, vec![self.warning(flow)]));
            }
            if flow_name(&run).as_deref() != flow {
                continue;
            }
            let source = run
                .resources
                .as_ref()
                .and_then(|resources| resources.original_run.as_ref())
                .map(|original| original.id.to_string());
            if let Some(replays) = source.and_then(|source| found.get_mut(&source)) {
                replays.push(run.id.to_string());
            }
        }
        Ok((found, Vec::new()))
    }

    /// The warning of a row whose scan stopped before the flow's oldest run.
    fn warning(self, flow: Option<&str>) -> String {
        let scope = flow.map_or_else(
            || "executions without an available flow name".to_owned(),
            |flow| format!("flow {flow}"),
        );
        format!(
            "Replay discovery for {scope} scanned {} executions before confirming that older \
             executions remain. This row may omit older replays; pass replay execution IDs \
             explicitly to compare them.",
            self.limit
        )
    }
}

/// The UI's comparison page of executions `exec_ids` (two or more), as
/// kitaru links it: `first` is the run of the first one, whose flow,
/// version and project the page is under. `None` without a UI or a flow.
pub(crate) fn compare_url_from(
    routes: Option<&UiRoutes>,
    first: &PipelineRunResponse,
    exec_ids: &[&str],
) -> Option<String> {
    let flow_id = first.resources.as_ref()?.pipeline.as_ref()?.id.to_string();
    let metadata = first
        .metadata
        .as_ref()
        .map(|metadata| &metadata.run_metadata);
    routes?.compare_url(
        &flow_id,
        exec_ids,
        first
            .body
            .as_ref()
            .map(|body| body.project_id.to_string())
            .as_deref(),
        &flow_version(metadata.unwrap_or(&Map::new())),
    )
}

/// The flow version a comparison page shows for an execution with this run
/// metadata: the deployment version it names, else `local`.
fn flow_version(metadata: &Map<String, Value>) -> String {
    let text = |value: Option<&Value>| {
        value
            .filter(|value| !value.is_null())
            .map(|value| json_str(value).trim().to_owned())
            .filter(|text| !text.is_empty())
    };
    ["deployment_version", "kitaru_deployment_version"]
        .iter()
        .find_map(|key| text(metadata.get(*key)))
        .or_else(|| {
            let nested = metadata.get("kitaru_deployment").and_then(Value::as_object);
            text(nested.and_then(|nested| nested.get("version")))
        })
        .unwrap_or_else(|| DEFAULT_FLOW_VERSION.to_owned())
}

/// An execution in detail, with the project it is in.
struct Loaded {
    execution: Execution,
    project_id: Option<String>,
}

impl Loaded {
    /// The execution `selector` names (id, run name or id prefix).
    async fn find(kitaru: &Kitaru, selector: &str) -> Result<Self, Error> {
        let run = lookup::find_run(kitaru, selector).await?;
        let project_id = run.body.as_ref().map(|body| body.project_id.to_string());
        Ok(Self {
            execution: Execution::load(kitaru, run).await?,
            project_id,
        })
    }

    fn id(&self) -> &str {
        &self.execution.summary.exec_id
    }

    fn flow_name(&self) -> Option<&str> {
        self.execution.summary.flow_name.as_deref()
    }

    fn checkpoints(&self) -> &[Checkpoint] {
        self.execution
            .detail
            .as_ref()
            .map_or(&[], |detail| detail.checkpoints.as_slice())
    }

    /// The flow version the comparison page shows.
    fn flow_version(&self) -> String {
        flow_version(&self.execution.summary.metadata)
    }
}

/// What one diff call shares: the UI's routes and the content hashes
/// already computed.
struct Differ<'a> {
    kitaru: &'a Kitaru,
    routes: Option<UiRoutes>,
    hashes: HashMap<String, Option<String>>,
}

impl<'a> Differ<'a> {
    async fn new(kitaru: &'a Kitaru) -> Self {
        Self {
            kitaru,
            routes: UiRoutes::of(kitaru).await,
            hashes: HashMap::new(),
        }
    }

    /// The original compared with each of `replays`, loaded one by one.
    async fn compare(
        &mut self,
        original: &Loaded,
        replays: &[String],
        warnings: Vec<String>,
    ) -> Result<ExecutionDiff, Error> {
        let mut compared = Vec::with_capacity(replays.len());
        for replay_id in replays {
            let replay = Loaded::find(self.kitaru, replay_id).await?;
            let mut checkpoints = Vec::new();
            for (left, right) in align(original.checkpoints(), replay.checkpoints()) {
                checkpoints.push(self.compare_checkpoints(left, right).await);
            }
            compared.push(ReplayComparison {
                replay_exec_id: replay_id.clone(),
                checkpoints,
            });
        }
        let url = match (&self.routes, &original.execution.summary.flow_id) {
            (Some(routes), Some(flow_id)) if !replays.is_empty() => {
                let ids: Vec<&str> = std::iter::once(original.id())
                    .chain(replays.iter().map(String::as_str))
                    .collect();
                routes.compare_url(
                    flow_id,
                    &ids,
                    original.project_id.as_deref(),
                    &original.flow_version(),
                )
            }
            _ => None,
        };
        Ok(ExecutionDiff {
            original_exec_id: original.id().to_owned(),
            compared,
            urls: url.into_iter().collect(),
            warnings,
        })
    }

    async fn compare_checkpoints(
        &mut self,
        original: Option<&Checkpoint>,
        replay: Option<&Checkpoint>,
    ) -> CheckpointDiff {
        let name = original.or(replay).map_or_else(
            || "unknown".to_owned(),
            |checkpoint| checkpoint.name.clone(),
        );
        let duration_delta_ms = match (original.and_then(duration_ms), replay.and_then(duration_ms))
        {
            (Some(before), Some(after)) => Some(after - before),
            _ => None,
        };
        let (before, after) = (usage_totals(original), usage_totals(replay));
        let token_delta = (before.records > 0 || after.records > 0).then(|| TokenDelta {
            prompt_tokens: after.input_tokens - before.input_tokens,
            completion_tokens: after.output_tokens - before.output_tokens,
            total_tokens: after.total_tokens - before.total_tokens,
        });
        let cost_delta_usd = (!before.unpriced && !after.unpriced).then(|| {
            let delta = usage::round_cost_usd(after.display_cost_usd - before.display_cost_usd);
            // No negative zero.
            if delta == 0.0 { 0.0 } else { delta }
        });
        let original_hashes = self.artifact_hashes(original).await;
        let replay_hashes = self.artifact_hashes(replay).await;
        let roles: BTreeSet<&String> = original_hashes.keys().chain(replay_hashes.keys()).collect();
        let artifact_hashes = roles
            .into_iter()
            .map(|role| {
                let pair = HashPair {
                    original: original_hashes.get(role).cloned().flatten(),
                    replay: replay_hashes.get(role).cloned().flatten(),
                };
                (role.clone(), pair)
            })
            .collect();
        CheckpointDiff {
            name,
            original_call_id: original.map(|checkpoint| checkpoint.call_id.clone()),
            replay_call_id: replay.map(|checkpoint| checkpoint.call_id.clone()),
            status_match: matches!((original, replay), (Some(a), Some(b)) if a.status == b.status),
            duration_delta_ms,
            token_delta,
            cost_delta_usd,
            artifact_hashes,
        }
    }

    /// The content hash of each artifact the checkpoint shows, by its name
    /// (else kind); a later artifact of the same name wins.
    async fn artifact_hashes(
        &mut self,
        checkpoint: Option<&Checkpoint>,
    ) -> HashMap<String, Option<String>> {
        let mut hashes = HashMap::new();
        for artifact in checkpoint.map_or(&[][..], |checkpoint| &checkpoint.artifacts) {
            let role = [Some(artifact.name.as_str()), artifact.kind.as_deref()]
                .into_iter()
                .flatten()
                .find(|role| !role.is_empty())
                .unwrap_or("artifact");
            let hash = match self.hashes.get(&artifact.artifact_id) {
                Some(hash) => hash.clone(),
                None => {
                    let hash =
                        crate::artifacts::content_hash(self.kitaru, &artifact.artifact_id).await;
                    self.hashes
                        .insert(artifact.artifact_id.clone(), hash.clone());
                    hash
                }
            };
            hashes.insert(role.to_owned(), hash);
        }
        hashes
    }
}

/// Pairs the original's checkpoints with the replay's: each original
/// checkpoint with the replay's call that names it as its original call,
/// else with the replay's first not yet paired call of the same name; then
/// the replay's calls left unpaired.
fn align<'a>(
    original: &'a [Checkpoint],
    replay: &'a [Checkpoint],
) -> Vec<(Option<&'a Checkpoint>, Option<&'a Checkpoint>)> {
    let mut by_original: HashMap<&str, &Checkpoint> = HashMap::new();
    let mut by_name: HashMap<&str, Vec<&Checkpoint>> = HashMap::new();
    for checkpoint in replay {
        if let Some(source) = checkpoint
            .original_call_id
            .as_deref()
            .filter(|id| !id.is_empty())
        {
            by_original.insert(source, checkpoint);
        }
        by_name
            .entry(&checkpoint.name)
            .or_default()
            .push(checkpoint);
    }
    let mut used: HashSet<&str> = HashSet::new();
    let mut pairs = Vec::with_capacity(original.len());
    for checkpoint in original {
        let matched = by_original
            .get(checkpoint.call_id.as_str())
            .copied()
            .or_else(|| {
                by_name
                    .get(checkpoint.name.as_str())
                    .and_then(|candidates| {
                        candidates
                            .iter()
                            .find(|candidate| !used.contains(candidate.call_id.as_str()))
                    })
                    .copied()
            });
        if let Some(matched) = matched {
            used.insert(&matched.call_id);
        }
        pairs.push((Some(checkpoint), matched));
    }
    pairs.extend(
        replay
            .iter()
            .filter(|checkpoint| !used.contains(checkpoint.call_id.as_str()))
            .map(|checkpoint| (None, Some(checkpoint))),
    );
    pairs
}

/// How long the checkpoint's latest attempt took, in milliseconds.
fn duration_ms(checkpoint: &Checkpoint) -> Option<f64> {
    let time = |text: &Option<String>| Timestamp::from_str(text.as_deref()?).ok();
    let (start, end) = (time(&checkpoint.started_at)?, time(&checkpoint.ended_at)?);
    let micros = (end.into_utc() - start.into_utc()).num_microseconds()?;
    // As Python's `timedelta.total_seconds() * 1000`.
    Some(micros as f64 / 1e6 * 1000.0)
}

/// What the checkpoint's LLM calls add up to: its attempts' records, each
/// counted once per attempt; nothing for a missing checkpoint.
fn usage_totals(checkpoint: Option<&Checkpoint>) -> UsageTotals {
    let Some(checkpoint) = checkpoint else {
        return UsageTotals::default();
    };
    let by_attempt: Vec<(Option<&str>, &usage::UsageRecord)> = checkpoint
        .attempts
        .iter()
        .flat_map(|attempt| {
            attempt
                .llm_usage_records
                .iter()
                .flatten()
                .map(|record| (Some(attempt.attempt_id.as_str()), record))
        })
        .collect();
    if !by_attempt.is_empty() {
        return usage::totals(by_attempt);
    }
    // Without attempts to read them from: the checkpoint's own metadata.
    let own = usage::records(&checkpoint.metadata, None);
    usage::totals(own.iter().map(|record| (None, record)))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn checkpoint(call_id: &str, name: &str, original: Option<&str>) -> Checkpoint {
        serde_json::from_value(json!({
            "call_id": call_id, "name": name, "checkpoint_type": null, "status": "completed",
            "started_at": "2026-12-07T16:44:59.100000", "ended_at": "2026-12-07T16:45:00.350001",
            "metadata": {}, "original_call_id": original, "parent_call_ids": [],
            "failure": null, "attempts": [], "artifacts": [],
        }))
        .unwrap()
    }

    fn ids(pairs: &[(Option<&Checkpoint>, Option<&Checkpoint>)]) -> Vec<(String, String)> {
        let id = |checkpoint: &Option<&Checkpoint>| {
            checkpoint.map_or_else(|| "-".to_owned(), |c| c.call_id.clone())
        };
        pairs.iter().map(|(a, b)| (id(a), id(b))).collect()
    }

    #[test]
    fn checkpoints_pair_by_original_call_then_by_name() {
        let original = [
            checkpoint("o1", "greet", None),
            checkpoint("o2", "think", None),
            checkpoint("o3", "think_2", None),
            checkpoint("o4", "gone", None),
        ];
        let replay = [
            checkpoint("r1", "greet", Some("o1")),
            checkpoint("r2", "think_2", None),
            checkpoint("r3", "think", None),
            checkpoint("r4", "new", None),
        ];
        let pairs = align(&original, &replay);
        let expected = [
            ("o1", "r1"),
            ("o2", "r3"),
            ("o3", "r2"),
            ("o4", "-"),
            ("-", "r4"),
        ];
        assert_eq!(
            ids(&pairs),
            expected.map(|(a, b)| (a.to_owned(), b.to_owned()))
        );
    }

    #[test]
    fn durations_are_python_milliseconds() {
        let done = checkpoint("o1", "greet", None);
        assert_eq!(duration_ms(&done), Some(1250.001));
        let mut running = done.clone();
        running.ended_at = None;
        assert_eq!(duration_ms(&running), None);
    }

    #[test]
    fn usage_counts_each_attempts_record_once() {
        let record = |id: &str, cost: Value| {
            json!({
                "schema_version": 1, "record_id": id, "event_id": null,
                "usage": {"input_tokens": 4, "output_tokens": 4, "total_tokens": null},
                "cost": {"actual_cost_usd": null, "estimated_cost_usd": cost},
                "billing_effect": "incurred", "cache_status": "executed", "warnings": [],
            })
        };
        let mut flaky = checkpoint("o1", "flaky", None);
        flaky.attempts = serde_json::from_value(json!([
            {"attempt_id": "a1", "status": "failed", "started_at": null, "ended_at": null,
             "metadata": {}, "failure": null,
             "llm_usage_records": [record("r:1", json!(0.00002)), record("r:1", json!(0.00002))]},
            {"attempt_id": "a2", "status": "completed", "started_at": null, "ended_at": null,
             "metadata": {}, "failure": null,
             "llm_usage_records": [record("r:1", json!(0.00002))]},
        ]))
        .unwrap();
        let totals = usage_totals(Some(&flaky));
        assert_eq!(
            (totals.records, totals.input_tokens, totals.total_tokens),
            (2, 8, 16)
        );
        assert_eq!(totals.display_cost_usd, 0.00004);
        assert!(!totals.unpriced);
        flaky.attempts[1].llm_usage_records = Some(vec![
            serde_json::from_value(record("r:2", Value::Null)).unwrap(),
        ]);
        assert!(usage_totals(Some(&flaky)).unpriced);
        assert_eq!(usage_totals(None), UsageTotals::default());
    }

    #[test]
    fn the_flow_version_comes_from_the_deployment_metadata() {
        let version = |metadata: Value| {
            let execution: Execution = serde_json::from_value(json!({
                "exec_id": "e", "flow_id": null, "flow_name": null, "status": "completed",
                "started_at": null, "ended_at": null, "stack_name": null, "status_reason": null,
                "pending_wait": null, "failure": null, "metadata": metadata,
                "checkpoint_count": 0, "artifact_count": 0,
            }))
            .unwrap();
            Loaded {
                execution,
                project_id: None,
            }
            .flow_version()
        };
        assert_eq!(version(json!({})), "local");
        assert_eq!(version(json!({"deployment_version": " 3 "})), "3");
        assert_eq!(
            version(json!({"deployment_version": "", "kitaru_deployment_version": 4})),
            "4"
        );
        assert_eq!(
            version(json!({"kitaru_deployment": {"version": true}})),
            "True"
        );
    }

    #[test]
    fn a_truncated_scan_says_which_flow() {
        let scan = ReplayScan::default();
        assert!(
            scan.warning(Some("agent"))
                .starts_with("Replay discovery for flow agent scanned 10000 executions")
        );
        let scan = ReplayScan { limit: 3 };
        assert!(scan.warning(None).starts_with(
            "Replay discovery for executions without an available flow name scanned 3 executions"
        ));
    }

    #[test]
    fn payload_keys_keep_the_references_order() {
        let diff = CheckpointDiff {
            name: "greet".into(),
            original_call_id: None,
            replay_call_id: None,
            status_match: false,
            duration_delta_ms: None,
            token_delta: None,
            cost_delta_usd: Some(0.0),
            artifact_hashes: BTreeMap::new(),
        };
        let text = serde_json::to_string(&diff).unwrap();
        crate::executions::tests::assert_key_order(
            &text,
            &[
                "name",
                "original_call_id",
                "replay_call_id",
                "status_match",
                "duration_delta_ms",
                "token_delta",
                "cost_delta_usd",
                "artifact_hashes",
            ],
        );
    }
}
