//! The replay request of kitaru 0.21 (`at`, override entries, `skip`) and
//! the plan it makes for one source execution, with kitaru 0.21's rules.
//!
//! `at` names the cut point: it, everything downstream of it, and every
//! later-started checkpoint that depends on something re-run, run again.
//! An override entry is an object of `input`, `output`, `model` and `code`
//! (not `input` with `output`):
//! - `checkpoint_overrides` are keyed by checkpoint name and reach every
//!   recorded call of it (an unsuffixed `…_model_request` or `…_tool` name
//!   reaches the whole family of numbered calls);
//! - `invocation_overrides` are keyed by one call (call id, invocation id
//!   or a unique name) and win over the checkpoint-wide entries.
//!
//! `input` re-runs the checkpoint with new inputs; `output` replaces its
//! output in its consumers' inputs (it is not re-run, they are); `model`
//! (LLM checkpoints) and `code` (tool checkpoints) re-run it with a swap
//! that the checkpoint applies itself at run time, from the replay
//! context. `skip` plays named checkpoints back instead of re-running them.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::plan::{PlanCheckpoint, ReplayPlan, fed_by_single_output, with_descendants};
use crate::Error;
use crate::python_repr::json_repr;

/// The fields an override entry may have.
const FIELDS: [&str; 4] = ["code", "input", "model", "output"];
/// The metadata key naming a checkpoint's replayable input slots.
const INPUT_SLOTS_KEY: &str = "kitaru_replay_input_slots";
/// Kitaru's namespace inside checkpoint metadata.
const KITARU_NAMESPACE: &str = "kitaru";
const ADAPTER_KEY: &str = "kitaru_adapter";
const ADAPTER_KIND_KEY: &str = "kitaru_adapter_checkpoint_kind";
const ORIGIN_KEY: &str = "kitaru_checkpoint_origin";

/// What to change in a replay, as the caller gave it (kitaru 0.21's
/// `flow_overrides`, `checkpoint_overrides`, `invocation_overrides`,
/// `skip`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct ReplayChanges {
    /// New values of the flow's inputs.
    #[serde(default)]
    pub flow_overrides: Map<String, Value>,
    /// Checkpoint name → override entry, for every call of it.
    #[serde(default)]
    pub checkpoint_overrides: Map<String, Value>,
    /// Call id, invocation id or unique name → override entry, for that call.
    #[serde(default)]
    pub invocation_overrides: Map<String, Value>,
    /// Checkpoints whose recorded results are played back, not re-run.
    #[serde(default)]
    pub skip: Vec<String>,
}

/// The request as kitaru 0.21 reports it in a submission (`plan`): the
/// changes, and which calls each override reached once planned
/// (`checkpoint:<selector>` / `invocation:<selector>` → invocation ids).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct PlanDocument {
    /// The flow input changes.
    pub flow_overrides: Map<String, Value>,
    /// The checkpoint-wide override entries.
    pub checkpoint_overrides: Map<String, Value>,
    /// The per-call override entries.
    pub invocation_overrides: Map<String, Value>,
    /// The checkpoints played back.
    pub skip: Vec<String>,
    /// The calls each override reached (absent before planning).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub matched_targets: BTreeMap<String, Vec<String>>,
}

impl ReplayChanges {
    /// The request's document before any execution is planned, with its
    /// entries checked (the checks that need no execution).
    pub fn document(&self) -> Result<PlanDocument, Error> {
        checked_entries("checkpoint_overrides", &self.checkpoint_overrides)?;
        checked_entries("invocation_overrides", &self.invocation_overrides)?;
        Ok(PlanDocument {
            flow_overrides: self.flow_overrides.clone(),
            checkpoint_overrides: self.checkpoint_overrides.clone(),
            invocation_overrides: self.invocation_overrides.clone(),
            skip: self.skip.clone(),
            matched_targets: BTreeMap::new(),
        })
    }
}

/// Whether `at` names exactly one checkpoint of these (`present`), several
/// (`ambiguous`), none (`missing`), or there are none (`no_checkpoints`).
pub fn at_status(checkpoints: &[PlanCheckpoint], at: &str) -> &'static str {
    if checkpoints.is_empty() {
        return "no_checkpoints";
    }
    match checkpoints.iter().filter(|c| targets(c, at)).count() {
        1 => "present",
        0 => "missing",
        _ => "ambiguous",
    }
}

/// Why `at` does not name one checkpoint of execution `run_id`, in kitaru's
/// words.
pub fn at_problem(run_id: &str, checkpoints: &[PlanCheckpoint], at: &str) -> String {
    match at_status(checkpoints, at) {
        "no_checkpoints" => format!("Execution '{run_id}' has no checkpoint history to replay."),
        "missing" => unknown_selector(at, checkpoints),
        _ => format!(
            "Replay selector '{at}' is ambiguous. Use a checkpoint call ID instead. Matching \
             call IDs: {}.",
            matching_call_ids(at, checkpoints)
        ),
    }
}

/// The plan for replaying execution `run_id` (these are its checkpoints,
/// `recorded_inputs` its flow's recorded inputs) from `at` with `changes`,
/// with its document.
pub fn plan(
    run_id: &str,
    checkpoints: &[PlanCheckpoint],
    recorded_inputs: &Map<String, Value>,
    at: &str,
    changes: &ReplayChanges,
) -> Result<(ReplayPlan, PlanDocument), Error> {
    if checkpoints.is_empty() {
        return Err(Error::State(format!(
            "Execution '{run_id}' has no checkpoint history to replay."
        )));
    }
    if at.trim().is_empty() {
        return Err(Error::argument(
            "at",
            "`at` must be a non-empty checkpoint selector.",
        ));
    }
    let boundary = resolve_one(at, checkpoints)?;
    let (effective, matched) = effective_overrides(changes, checkpoints)?;

    let mut explicit_skip: BTreeSet<&str> = BTreeSet::new();
    for selector in &changes.skip {
        if selector.trim().is_empty() {
            return Err(Error::argument(
                "skip",
                "Every entry in `skip` must be a non-empty checkpoint selector.",
            ));
        }
        explicit_skip.insert(&resolve_one(selector.trim(), checkpoints)?.invocation_id);
    }
    let overlap: Vec<&str> = effective
        .iter()
        .map(|(id, _)| *id)
        .filter(|id| explicit_skip.contains(id))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if !overlap.is_empty() {
        return Err(Error::argument(
            "skip",
            format!(
                "Cannot skip and override the same replay target: {}.",
                overlap.join(", ")
            ),
        ));
    }

    let by_id: BTreeMap<&str, &PlanCheckpoint> = checkpoints
        .iter()
        .map(|c| (c.invocation_id.as_str(), c))
        .collect();
    let mut live = live_checkpoints(boundary, checkpoints);
    let mut step_inputs: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    let mut runtime_inputs = Map::new();
    let mut output_mocks = Map::new();
    let mut code = Map::new();
    let mut models = Map::new();
    for &(id, ref entry) in &effective {
        let checkpoint = by_id[id];
        if let Some(value) = entry.get("input") {
            let normalized = input_value(checkpoint, value)?;
            rerun(&mut live, id, checkpoints);
            step_inputs
                .entry(id.to_owned())
                .or_default()
                .extend(normalized.clone());
            if is_adapter(checkpoint) {
                for key in keys(checkpoint) {
                    runtime_inputs.insert(key.to_owned(), Value::Object(normalized.clone()));
                }
            }
        }
        if let Some(value) = entry.get("code") {
            rerun(&mut live, id, checkpoints);
            for key in keys(checkpoint) {
                code.insert(key.to_owned(), Value::String(python_str(value)));
            }
        }
        if let Some(value) = entry.get("model") {
            rerun(&mut live, id, checkpoints);
            for key in keys(checkpoint) {
                models.insert(key.to_owned(), Value::String(python_str(value)));
            }
        }
    }
    for &(id, ref entry) in &effective {
        let Some(value) = entry.get("output") else {
            continue;
        };
        let source = by_id[id];
        live.remove(source.invocation_id.as_str());
        for (consumer, input) in consumers(source, checkpoints)? {
            rerun(&mut live, consumer, checkpoints);
            step_inputs
                .entry(consumer.to_owned())
                .or_default()
                .insert(input.to_owned(), value.clone());
        }
        for key in keys(source) {
            output_mocks.insert(key.to_owned(), value.clone());
        }
    }
    for id in &explicit_skip {
        live.remove(id);
    }
    let steps_to_skip: BTreeSet<String> = checkpoints
        .iter()
        .map(|c| c.invocation_id.as_str())
        .filter(|id| !live.contains(id) && !step_inputs.contains_key(*id))
        .map(str::to_owned)
        .collect();
    let mut input_overrides = recorded_inputs.clone();
    input_overrides.extend(changes.flow_overrides.clone());
    let runtime_context = json!({
        "at": at,
        "output_mocks": output_mocks,
        "code_overrides": code,
        "model_overrides": models,
        "input_overrides": runtime_inputs,
    });
    let plan = ReplayPlan {
        from: boundary.invocation_id.clone(),
        steps_to_skip: steps_to_skip.into_iter().collect(),
        step_input_overrides: step_inputs,
        input_overrides,
        runtime_context: Some(runtime_context),
    };
    let document = PlanDocument {
        matched_targets: matched,
        ..changes.document()?
    };
    Ok((plan, document))
}

/// Adds `id` and everything downstream of it to `live`.
fn rerun<'a>(live: &mut BTreeSet<&'a str>, id: &'a str, checkpoints: &'a [PlanCheckpoint]) {
    live.extend(with_descendants(&BTreeSet::from([id]), checkpoints));
}

/// Whether carrying `plan` out needs checkpoints that read the replay
/// context at run time (a `code` or `model` swap, or new inputs of an
/// adapter's checkpoint): only a Kitaru flow of kitaru ≥ 0.21 can.
pub fn needs_runtime_transport(plan: &ReplayPlan) -> bool {
    plan.runtime_context.as_ref().is_some_and(|context| {
        ["code_overrides", "model_overrides", "input_overrides"]
            .iter()
            .any(|key| context[key].as_object().is_some_and(|map| !map.is_empty()))
    })
}

/// Override entries by selector.
type Entries<'a> = Vec<(&'a str, &'a Map<String, Value>)>;

/// The entries, checked: each an object of the allowed fields, not with
/// both `input` and `output`.
fn checked_entries<'a>(scope: &str, entries: &'a Map<String, Value>) -> Result<Entries<'a>, Error> {
    entries
        .iter()
        .map(|(selector, value)| {
            let Some(entry) = value.as_object() else {
                return Err(Error::argument(
                    scope,
                    format!(
                        "{scope} override for '{selector}' must be an object with one or more \
                         of: input, output, model, code."
                    ),
                ));
            };
            let unknown: BTreeSet<&str> = entry
                .keys()
                .map(String::as_str)
                .filter(|field| !FIELDS.contains(field))
                .collect();
            if !unknown.is_empty() {
                return Err(Error::argument(
                    scope,
                    format!(
                        "Unknown replay override field(s) for '{selector}': {}. Allowed fields: \
                         {}.",
                        unknown.into_iter().collect::<Vec<_>>().join(", "),
                        FIELDS.join(", ")
                    ),
                ));
            }
            if entry.contains_key("input") && entry.contains_key("output") {
                return Err(Error::argument(
                    scope,
                    format!(
                        "Replay override for '{selector}' cannot include both input and output."
                    ),
                ));
            }
            Ok((selector.as_str(), entry))
        })
        .collect()
}

type Effective<'a> = Vec<(&'a str, Map<String, Value>)>;

/// Every targeted call's merged entry (in the order first reached), and
/// which calls each selector reached.
fn effective_overrides<'a>(
    changes: &ReplayChanges,
    checkpoints: &'a [PlanCheckpoint],
) -> Result<(Effective<'a>, BTreeMap<String, Vec<String>>), Error> {
    let by_checkpoint = checked_entries("checkpoint_overrides", &changes.checkpoint_overrides)?;
    let by_invocation = checked_entries("invocation_overrides", &changes.invocation_overrides)?;
    let mut effective: Effective<'a> = Vec::new();
    let mut matched = BTreeMap::new();
    let mut put = |checkpoint: &'a PlanCheckpoint, entry: &Map<String, Value>| {
        let id = checkpoint.invocation_id.as_str();
        let index = match effective.iter().position(|(known, _)| *known == id) {
            Some(index) => index,
            None => {
                effective.push((id, Map::new()));
                effective.len() - 1
            }
        };
        let target = &mut effective[index].1;
        if (entry.contains_key("input") && target.contains_key("output"))
            || (entry.contains_key("output") && target.contains_key("input"))
        {
            return Err(Error::argument(
                "checkpoint_overrides",
                format!("Replay target '{id}' cannot combine input and output."),
            ));
        }
        target.extend(entry.clone());
        Ok(())
    };
    for (selector, entry) in by_checkpoint {
        let reached = resolve_family(selector, checkpoints)?;
        matched.insert(
            format!("checkpoint:{selector}"),
            reached.iter().map(|c| c.invocation_id.clone()).collect(),
        );
        for checkpoint in reached {
            put(checkpoint, entry)?;
        }
    }
    for (selector, entry) in by_invocation {
        let checkpoint = resolve_one(selector, checkpoints)?;
        matched.insert(
            format!("invocation:{selector}"),
            vec![checkpoint.invocation_id.clone()],
        );
        put(checkpoint, entry)?;
    }
    for (id, entry) in &effective {
        let checkpoint = checkpoints
            .iter()
            .find(|c| c.invocation_id == *id)
            .expect("a target is a checkpoint");
        if entry.contains_key("model") && !is_kind(checkpoint, "llm_call") {
            return Err(Error::argument(
                "checkpoint_overrides",
                format!(
                    "Model override target '{id}' is not an LLM checkpoint and cannot honor a \
                     model swap."
                ),
            ));
        }
        if entry.contains_key("code") && !is_kind(checkpoint, "tool_call") {
            return Err(Error::argument(
                "checkpoint_overrides",
                format!(
                    "Code override target '{id}' is not a tool checkpoint and cannot honor a code \
                     swap."
                ),
            ));
        }
    }
    Ok((effective, matched))
}

fn targets(checkpoint: &PlanCheckpoint, selector: &str) -> bool {
    checkpoint.invocation_id == selector
        || checkpoint.call_id == selector
        || checkpoint.name == selector
}

fn available(checkpoints: &[PlanCheckpoint]) -> String {
    let names: BTreeSet<&str> = checkpoints.iter().map(|c| c.name.as_str()).collect();
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.into_iter().collect::<Vec<_>>().join(", ")
    }
}

fn unknown_selector(selector: &str, checkpoints: &[PlanCheckpoint]) -> String {
    format!(
        "Unknown checkpoint selector '{selector}'. Available checkpoints: {}.",
        available(checkpoints)
    )
}

fn matching_call_ids(selector: &str, checkpoints: &[PlanCheckpoint]) -> String {
    let ids: BTreeSet<&str> = checkpoints
        .iter()
        .filter(|c| targets(c, selector))
        .map(|c| c.call_id.as_str())
        .collect();
    ids.into_iter().collect::<Vec<_>>().join(", ")
}

/// The one checkpoint `selector` names (call id, invocation id or name).
fn resolve_one<'a>(
    selector: &str,
    checkpoints: &'a [PlanCheckpoint],
) -> Result<&'a PlanCheckpoint, Error> {
    let mut matches = checkpoints.iter().filter(|c| targets(c, selector));
    match (matches.next(), matches.next()) {
        (Some(one), None) => Ok(one),
        (Some(_), Some(_)) => Err(Error::State(format!(
            "Replay selector is ambiguous for checkpoint '{selector}'. Use a checkpoint call ID \
             instead. Matching call IDs: {}.",
            matching_call_ids(selector, checkpoints)
        ))),
        (None, _) => Err(Error::State(unknown_selector(selector, checkpoints))),
    }
}

/// The base of a numbered model-request call's name (`agent_model_request`
/// for `agent_model_request_3`), if it is one.
fn model_request_base(name: &str) -> Option<&str> {
    let base = match name.rsplit_once('_') {
        Some((base, number))
            if !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()) =>
        {
            base
        }
        _ => name,
    };
    (base.len() > "_model_request".len() && base.ends_with("_model_request")).then_some(base)
}

/// Whether `name` ends with `_tool_<digits>`.
fn is_numbered_tool(name: &str) -> bool {
    name.rsplit_once('_').is_some_and(|(base, number)| {
        !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()) && base.ends_with("_tool")
    })
}

/// A tool call's name without its `_tool` / `_tool_<n>` suffix.
fn tool_family(name: &str) -> &str {
    if is_numbered_tool(name) {
        let (base, _) = name.rsplit_once('_').expect("numbered");
        base.strip_suffix("_tool").unwrap_or(base)
    } else {
        name.strip_suffix("_tool").unwrap_or(name)
    }
}

/// The `…_tool` name of the family a tool call's name belongs to.
fn tool_family_selector(name: &str) -> Option<&str> {
    if is_numbered_tool(name) {
        name.rsplit_once('_').map(|(base, _)| base)
    } else if name.ends_with("_tool") {
        Some(name)
    } else {
        None
    }
}

/// The checkpoints a checkpoint-wide selector reaches.
fn resolve_family<'a>(
    selector: &str,
    checkpoints: &'a [PlanCheckpoint],
) -> Result<Vec<&'a PlanCheckpoint>, Error> {
    if model_request_base(selector) == Some(selector) {
        let family: Vec<_> = checkpoints
            .iter()
            .filter(|c| is_kind(c, "llm_call") && model_request_base(&c.name) == Some(selector))
            .collect();
        if !family.is_empty() {
            return Ok(family);
        }
    }
    let exact: Vec<_> = checkpoints.iter().filter(|c| c.name == selector).collect();
    if !exact.is_empty() && !selector.ends_with("_tool") {
        return Ok(exact);
    }
    if !is_numbered_tool(selector) {
        let wanted = tool_family(selector);
        let family: Vec<_> = checkpoints
            .iter()
            .filter(|c| tool_family(&c.name) == wanted)
            .collect();
        if !family.is_empty() {
            return Ok(family);
        }
    }
    let mut message = format!(
        "Unknown checkpoint override target '{selector}'. Available checkpoints: {}.",
        available(checkpoints)
    );
    if let Some(family) = repeated_family(selector, checkpoints) {
        message.push_str(&format!(
            " To change every recorded call in this family, use '{family}' in \
             checkpoint_overrides. To change one specific call, pass its call ID or invocation \
             ID in invocation_overrides."
        ));
    }
    Err(Error::State(message))
}

/// The family selector a numbered call's name probably meant.
fn repeated_family<'a>(selector: &'a str, checkpoints: &[PlanCheckpoint]) -> Option<&'a str> {
    if let Some(base) = model_request_base(selector)
        && base != selector
        && checkpoints
            .iter()
            .any(|c| is_kind(c, "llm_call") && model_request_base(&c.name) == Some(base))
    {
        return Some(base);
    }
    let family = tool_family_selector(selector)?;
    checkpoints
        .iter()
        .any(|c| tool_family_selector(&c.name) == Some(family))
        .then_some(family)
}

fn is_kind(checkpoint: &PlanCheckpoint, kind: &str) -> bool {
    checkpoint
        .kind
        .as_deref()
        .is_some_and(|k| k.eq_ignore_ascii_case(kind))
}

/// A metadata value, directly or under Kitaru's namespace.
fn metadata_value<'a>(checkpoint: &'a PlanCheckpoint, key: &str) -> Option<&'a Value> {
    checkpoint.metadata.get(key).or_else(|| {
        checkpoint
            .metadata
            .get(KITARU_NAMESPACE)
            .and_then(|nested| nested.get(key))
    })
}

fn is_adapter(checkpoint: &PlanCheckpoint) -> bool {
    metadata_value(checkpoint, ORIGIN_KEY).and_then(Value::as_str) == Some("adapter")
}

/// The identities a runtime override is keyed by.
fn keys(checkpoint: &PlanCheckpoint) -> BTreeSet<&str> {
    BTreeSet::from([
        checkpoint.invocation_id.as_str(),
        checkpoint.call_id.as_str(),
        checkpoint.name.as_str(),
    ])
}

/// Python's `str()` of a JSON value.
fn python_str(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => json_repr(other),
    }
}

/// The checkpoint's replayable input slots, and whether its metadata names
/// them.
fn input_slots(checkpoint: &PlanCheckpoint) -> Result<(BTreeSet<String>, bool), Error> {
    if let Some(explicit) = metadata_value(checkpoint, INPUT_SLOTS_KEY) {
        let malformed = || {
            Error::argument(
                "checkpoint_overrides",
                format!(
                    "Malformed replay input slot metadata for checkpoint '{}': expected a \
                     sequence of string slot names.",
                    checkpoint.name
                ),
            )
        };
        let items = explicit.as_array().ok_or_else(malformed)?;
        let slots: BTreeSet<String> = items
            .iter()
            .filter_map(Value::as_str)
            .filter(|slot| !slot.is_empty())
            .map(str::to_owned)
            .collect();
        let named = items
            .iter()
            .filter(|item| item.as_str().is_some_and(|s| !s.is_empty()))
            .count();
        if named != items.len() {
            return Err(malformed());
        }
        if metadata_value(checkpoint, ADAPTER_KEY).and_then(Value::as_str) == Some("pydantic_ai") {
            match metadata_value(checkpoint, ADAPTER_KIND_KEY).and_then(Value::as_str) {
                Some("tool_call") => {
                    return Ok((
                        slots.into_iter().filter(|s| s == "tool_args").collect(),
                        true,
                    ));
                }
                Some("model_request" | "turn") => return Ok((BTreeSet::new(), true)),
                _ => {}
            }
        }
        return Ok((slots, true));
    }
    let recorded: BTreeSet<String> = checkpoint
        .inputs
        .iter()
        .map(|(name, _)| name.clone())
        .collect();
    if !recorded.is_empty() {
        return Ok((recorded, false));
    }
    let slots: &[&str] = if is_kind(checkpoint, "tool_call") {
        &[]
    } else if is_kind(checkpoint, "llm_call") {
        &["input", "message_history", "messages", "user_prompt"]
    } else {
        &["input"]
    };
    Ok((slots.iter().map(|s| (*s).to_owned()).collect(), false))
}

/// An `input` override's value as input name → value.
fn input_value(checkpoint: &PlanCheckpoint, value: &Value) -> Result<Map<String, Value>, Error> {
    let (slots, explicit) = input_slots(checkpoint)?;
    let invalid = |reason: String| Error::argument("checkpoint_overrides", reason);
    let listed = |names: &mut dyn Iterator<Item = &str>| {
        let sorted: BTreeSet<&str> = names.collect();
        sorted.into_iter().collect::<Vec<_>>().join(", ")
    };
    let one = |slot: &str| Map::from_iter([(slot.to_owned(), value.clone())]);
    let Some(given) = value.as_object() else {
        return match slots.len() {
            1 => Ok(one(slots.first().expect("one"))),
            _ => Err(invalid(format!(
                "Checkpoint input override for '{}' must be a mapping with one of: {}.",
                checkpoint.name,
                listed(&mut slots.iter().map(String::as_str))
            ))),
        };
    };
    let unknown_slot = |names: &mut dyn Iterator<Item = &str>| {
        let available = if slots.is_empty() {
            "none".to_owned()
        } else {
            listed(&mut slots.iter().map(String::as_str))
        };
        invalid(format!(
            "Unknown replay input slot for checkpoint '{}': {}. Available replay input slots: \
             {available}.",
            checkpoint.name,
            listed(names)
        ))
    };
    if given.keys().any(|key| slots.contains(key)) {
        if explicit && given.keys().any(|key| !slots.contains(key)) {
            return Err(unknown_slot(
                &mut given
                    .keys()
                    .map(String::as_str)
                    .filter(|k| !slots.contains(*k)),
            ));
        }
        return Ok(given.clone());
    }
    if slots.is_empty() {
        return Err(invalid(format!(
            "Checkpoint '{}' does not expose replayable inputs.",
            checkpoint.name
        )));
    }
    if is_kind(checkpoint, "tool_call") && slots.contains("tool_args") {
        return Ok(one("tool_args"));
    }
    if is_kind(checkpoint, "llm_call") && slots.contains("messages") {
        return Ok(one("messages"));
    }
    if slots.len() == 1 {
        return Ok(one(slots.first().expect("one")));
    }
    if explicit {
        return Err(unknown_slot(&mut given.keys().map(String::as_str)));
    }
    Ok(given.clone())
}

/// The `(consumer invocation id, input name)` pairs fed by `source`'s single
/// output.
fn consumers<'a>(
    source: &PlanCheckpoint,
    checkpoints: &'a [PlanCheckpoint],
) -> Result<Vec<(&'a str, &'a str)>, Error> {
    let found = match fed_by_single_output(source, checkpoints) {
        Ok(found) => found,
        Err([]) => {
            return Err(Error::State(format!(
                "Checkpoint '{}' does not expose replayable outputs.",
                source.name
            )));
        }
        Err(many) => {
            return Err(Error::argument(
                "checkpoint_overrides",
                format!(
                    "Checkpoint output overrides currently require single-output checkpoints. \
                     Checkpoint '{}' has outputs: {}.",
                    source.name,
                    many.join(", ")
                ),
            ));
        }
    };
    if found.is_empty() {
        return Err(Error::State(format!(
            "Checkpoint output override target has no downstream consumer in this execution: \
             {}. Output overrides currently work by replacing inputs to later checkpoints, and \
             this checkpoint has no later input to replace. For a side-effectful terminal \
             checkpoint, guard the side effect with `kitaru.is_replay()` or move the side effect \
             into a checkpoint whose output is consumed later.",
            source.name
        )));
    }
    Ok(found)
}

/// The checkpoints that run again from `at`: it and its descendants, and
/// each checkpoint started after it (in the execution's order) that
/// depends on one of them or on nothing, with its descendants — unless
/// everything it depends on started before `at`.
fn live_checkpoints<'a>(
    at: &'a PlanCheckpoint,
    checkpoints: &'a [PlanCheckpoint],
) -> BTreeSet<&'a str> {
    let mut live = with_descendants(&BTreeSet::from([at.invocation_id.as_str()]), checkpoints);
    let Some(at_started) = at.started_at else {
        return live;
    };
    let before: BTreeSet<&str> = checkpoints
        .iter()
        .filter(|c| c.started_at.is_some_and(|started| started < at_started))
        .map(|c| c.invocation_id.as_str())
        .collect();
    for checkpoint in checkpoints {
        let id = checkpoint.invocation_id.as_str();
        if live.contains(id) {
            continue;
        }
        match checkpoint.started_at {
            Some(started) if started >= at_started => {}
            _ => continue,
        }
        let upstream = &checkpoint.upstream;
        if !upstream.is_empty() {
            if upstream.iter().all(|u| before.contains(u.as_str())) {
                continue;
            }
            if !upstream
                .iter()
                .any(|u| live.contains(u.as_str()) || *u == at.invocation_id)
            {
                continue;
            }
        }
        live.extend(with_descendants(&BTreeSet::from([id]), checkpoints));
    }
    live
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// A checkpoint named `name` (also its invocation id), with one output,
    /// fed by `inputs` (`(input, upstream)`), started at second `started`.
    fn checkpoint(
        name: &str,
        kind: Option<&str>,
        inputs: &[(&str, &str)],
        started: i64,
    ) -> PlanCheckpoint {
        PlanCheckpoint {
            name: name.to_owned(),
            invocation_id: name.to_owned(),
            call_id: format!("call-{name}"),
            outputs: vec!["output".to_owned()],
            inputs: inputs
                .iter()
                .map(|(input, upstream)| {
                    (
                        (*input).to_owned(),
                        vec![((*upstream).to_owned(), "output".to_owned())],
                    )
                })
                .collect(),
            upstream: inputs
                .iter()
                .map(|(_, upstream)| (*upstream).to_owned())
                .collect(),
            started_at: Some(
                chrono::DateTime::from_timestamp(1_800_000_000 + started, 0)
                    .unwrap()
                    .into(),
            ),
            kind: kind.map(str::to_owned),
            metadata: Map::new(),
        }
    }

    /// fetch → summarize → publish, and `audit` started last, fed by nothing.
    fn pipeline() -> Vec<PlanCheckpoint> {
        vec![
            checkpoint("fetch", None, &[], 0),
            checkpoint("summarize", None, &[("notes", "fetch")], 1),
            checkpoint("publish", None, &[("text", "summarize")], 2),
            checkpoint("audit", None, &[], 3),
        ]
    }

    fn changes(value: Value) -> ReplayChanges {
        serde_json::from_value(value).unwrap()
    }

    fn planned(at: &str, value: Value) -> Result<(ReplayPlan, PlanDocument), Error> {
        plan("run", &pipeline(), &Map::new(), at, &changes(value))
    }

    fn message(result: Result<(ReplayPlan, PlanDocument), Error>) -> String {
        match result {
            Ok((plan, _)) => panic!("expected an error, got {plan:?}"),
            Err(Error::InvalidArgument { reason, .. }) => reason,
            Err(error) => error.to_string(),
        }
    }

    #[test]
    fn at_reruns_it_what_follows_and_later_independent_checkpoints() {
        let (plan, document) = planned("summarize", json!({})).unwrap();
        // `audit` started after `summarize` and depends on nothing: it runs
        // again; `fetch` started before: it is played back.
        assert_eq!(plan.steps_to_skip, ["fetch"]);
        assert!(plan.step_input_overrides.is_empty());
        assert_eq!(plan.from, "summarize");
        assert_eq!(document.matched_targets, BTreeMap::new());
        assert!(!needs_runtime_transport(&plan));
    }

    #[test]
    fn an_output_override_plays_its_checkpoint_back_and_feeds_its_consumers() {
        let (plan, document) = planned(
            "summarize",
            json!({"checkpoint_overrides": {"summarize": {"output": "NEW"}}}),
        )
        .unwrap();
        assert_eq!(plan.steps_to_skip, ["fetch", "summarize"]);
        assert_eq!(
            plan.step_input_overrides,
            BTreeMap::from([(
                "publish".to_owned(),
                Map::from_iter([("text".to_owned(), json!("NEW"))])
            )])
        );
        assert_eq!(
            document.matched_targets,
            BTreeMap::from([(
                "checkpoint:summarize".to_owned(),
                vec!["summarize".to_owned()]
            )])
        );
        let context = plan.runtime_context.unwrap();
        assert_eq!(context["output_mocks"]["call-summarize"], "NEW");
        assert_eq!(context["at"], "summarize");
    }

    #[test]
    fn an_input_override_reruns_its_checkpoint_with_the_new_input() {
        let (plan, _) = planned(
            "publish",
            json!({"invocation_overrides": {"call-summarize": {"input": {"notes": "N"}}}}),
        )
        .unwrap();
        assert_eq!(plan.steps_to_skip, ["fetch"]);
        assert_eq!(plan.step_input_overrides["summarize"]["notes"], "N");
        // One recorded slot: a bare value goes to it.
        let (plan, _) = planned(
            "publish",
            json!({"checkpoint_overrides": {"summarize": {"input": "bare"}}}),
        )
        .unwrap();
        assert_eq!(plan.step_input_overrides["summarize"]["notes"], "bare");
    }

    #[test]
    fn skip_plays_back_a_checkpoint_that_would_run() {
        let (plan, document) = planned(
            "summarize",
            json!({"skip": ["audit"], "flow_overrides": {"topic": "x"}}),
        )
        .unwrap();
        assert_eq!(plan.steps_to_skip, ["audit", "fetch"]);
        assert_eq!(plan.input_overrides["topic"], "x");
        assert_eq!(document.skip, ["audit"]);
        assert_eq!(document.flow_overrides["topic"], "x");
    }

    #[test]
    fn the_request_is_refused_with_kitarus_reasons() {
        assert_eq!(
            message(planned(" ", json!({}))),
            "`at` must be a non-empty checkpoint selector."
        );
        assert_eq!(
            message(planned("nope", json!({}))),
            "Unknown checkpoint selector 'nope'. Available checkpoints: audit, fetch, publish, summarize."
        );
        assert_eq!(
            message(planned(
                "fetch",
                json!({"checkpoint_overrides": {"fetch": "x"}})
            )),
            "checkpoint_overrides override for 'fetch' must be an object with one or more of: \
             input, output, model, code."
        );
        assert_eq!(
            message(planned(
                "fetch",
                json!({"checkpoint_overrides": {"fetch": {"outptu": 1, "a": 2}}})
            )),
            "Unknown replay override field(s) for 'fetch': a, outptu. Allowed fields: code, input, \
             model, output."
        );
        assert_eq!(
            message(planned(
                "fetch",
                json!({"invocation_overrides": {"fetch": {"input": 1, "output": 2}}})
            )),
            "Replay override for 'fetch' cannot include both input and output."
        );
        assert_eq!(
            message(planned(
                "fetch",
                json!({
                    "checkpoint_overrides": {"summarize": {"input": 1}},
                    "invocation_overrides": {"summarize": {"output": 2}}
                })
            )),
            "Replay target 'summarize' cannot combine input and output."
        );
        assert_eq!(
            message(planned(
                "fetch",
                json!({"checkpoint_overrides": {"fetch": {"model": "m"}}})
            )),
            "Model override target 'fetch' is not an LLM checkpoint and cannot honor a model swap."
        );
        assert_eq!(
            message(planned(
                "fetch",
                json!({"checkpoint_overrides": {"fetch": {"code": "c"}}})
            )),
            "Code override target 'fetch' is not a tool checkpoint and cannot honor a code swap."
        );
        assert_eq!(
            message(planned(
                "fetch",
                json!({"skip": ["summarize"], "checkpoint_overrides": {"summarize": {"output": 1}}})
            )),
            "Cannot skip and override the same replay target: summarize."
        );
        assert_eq!(
            message(planned("fetch", json!({"skip": [""]}))),
            "Every entry in `skip` must be a non-empty checkpoint selector."
        );
        assert!(
            message(planned("fetch", json!({"checkpoint_overrides": {"publish": {"output": 1}}})))
                .starts_with("Checkpoint output override target has no downstream consumer in this execution: publish.")
        );
        // A bare value for a checkpoint with several recorded inputs.
        let checkpoints = vec![
            checkpoint("fetch", None, &[], 0),
            checkpoint("join", None, &[("a", "fetch"), ("b", "fetch")], 1),
        ];
        let refused = plan(
            "run",
            &checkpoints,
            &Map::new(),
            "fetch",
            &changes(json!({"checkpoint_overrides": {"join": {"input": [1]}}})),
        );
        assert_eq!(
            message(refused),
            "Checkpoint input override for 'join' must be a mapping with one of: a, b."
        );
    }

    #[test]
    fn checkpoint_wide_selectors_reach_a_family_of_numbered_calls() {
        let checkpoints = vec![
            checkpoint("agent_model_request", Some("llm_call"), &[], 0),
            checkpoint("agent_model_request_2", Some("llm_call"), &[], 1),
            checkpoint("search_tool", Some("tool_call"), &[], 2),
            checkpoint("search_tool_2", Some("tool_call"), &[], 3),
        ];
        let run = |value: Value| {
            plan(
                "run",
                &checkpoints,
                &Map::new(),
                "agent_model_request",
                &changes(value),
            )
        };
        let (plan_, document) = run(json!({
            "checkpoint_overrides": {
                "agent_model_request": {"model": "gpt-x"},
                "search_tool": {"code": "pkg.search_v2"}
            }
        }))
        .unwrap();
        assert_eq!(
            document.matched_targets["checkpoint:agent_model_request"],
            ["agent_model_request", "agent_model_request_2"]
        );
        assert_eq!(
            document.matched_targets["checkpoint:search_tool"],
            ["search_tool", "search_tool_2"]
        );
        assert!(needs_runtime_transport(&plan_));
        let context = plan_.runtime_context.unwrap();
        assert_eq!(
            context["model_overrides"]["call-agent_model_request_2"],
            "gpt-x"
        );
        assert_eq!(context["code_overrides"]["search_tool_2"], "pkg.search_v2");
        // A numbered call is not a family: the error names the family.
        let refused = message(run(
            json!({"checkpoint_overrides": {"search_tool_3": {"code": "c"}}}),
        ));
        assert!(
            refused.starts_with("Unknown checkpoint override target 'search_tool_3'.")
                && refused.contains("use 'search_tool' in checkpoint_overrides"),
            "{refused}"
        );
        // A call id reaches one call, and an ambiguous selector is refused.
        let (_, document) =
            run(json!({"invocation_overrides": {"call-search_tool_2": {"code": "c"}}})).unwrap();
        assert_eq!(
            document.matched_targets["invocation:call-search_tool_2"],
            ["search_tool_2"]
        );
    }

    #[test]
    fn the_status_of_at_decides_skipping_in_collect_mode() {
        assert_eq!(at_status(&pipeline(), "fetch"), "present");
        assert_eq!(at_status(&pipeline(), "nope"), "missing");
        assert_eq!(at_status(&[], "fetch"), "no_checkpoints");
        let twice = vec![checkpoint("a", None, &[], 0), {
            let mut other = checkpoint("a", None, &[], 1);
            other.invocation_id = "a_2".to_owned();
            other.call_id = "call-a2".to_owned();
            other
        }];
        assert_eq!(at_status(&twice, "a"), "ambiguous");
        assert_eq!(
            at_problem("r", &twice, "a"),
            "Replay selector 'a' is ambiguous. Use a checkpoint call ID instead. Matching call \
             IDs: call-a, call-a2."
        );
    }
}
