//! The replay plan: which checkpoints of a source execution a replay skips,
//! which it runs again, and which values it feeds in — computed from the
//! source's checkpoints alone, with the Python SDK's rules.
//!
//! `from_` names the boundary checkpoint: it and everything downstream of it
//! run again. An override `checkpoint.X = value` does not re-run `X`; its
//! value replaces `X`'s single output in the inputs of `X`'s direct
//! consumers, which run again with everything downstream of them. Every
//! other checkpoint is skipped: the new execution reuses its recorded output.

use std::collections::{BTreeMap, BTreeSet};

use kitaru_client::timestamp::Timestamp;
use kitaru_client::types::{ArtifactSaveType, StepRunResponse, StepSpecOutputInputsValue};
use serde_json::{Map, Value};

use crate::Error;
use crate::executions::checkpoint_name;

/// The key prefix of a checkpoint override.
const CHECKPOINT_PREFIX: &str = "checkpoint.";
/// The key prefix of a wait override, which replay refuses.
const WAIT_PREFIX: &str = "wait.";

/// One checkpoint of the source execution, as far as planning needs it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PlanCheckpoint {
    /// Its name (the step name without Kitaru's prefix).
    pub name: String,
    /// Its invocation id within the flow (unique per execution).
    pub invocation_id: String,
    /// Its call id (the step run id).
    pub call_id: String,
    /// The names of its regular outputs.
    pub outputs: Vec<String>,
    /// Its inputs: input name → the `(invocation id, output name)` pairs
    /// that feed it.
    pub inputs: Vec<(String, Vec<(String, String)>)>,
    /// The invocation ids it runs after.
    pub upstream: Vec<String>,
    /// When it started, if it did.
    pub started_at: Option<Timestamp>,
    /// Its kind (`llm_call`, `tool_call`, `memory_call`), if the server
    /// records one.
    pub kind: Option<String>,
    /// Its Kitaru metadata: the step's run metadata, then its configuration's
    /// `extra` (which wins), as kitaru reads them.
    pub metadata: Map<String, Value>,
}

impl PlanCheckpoint {
    /// The checkpoint a (hydrated) step run is.
    pub fn of_step(step: &StepRunResponse) -> Self {
        let spec = step.metadata.as_ref().map(|metadata| &metadata.spec);
        let invocation_id = spec
            .map(|spec| spec.invocation_id.clone())
            .filter(|id| !id.is_empty())
            .unwrap_or_else(|| step.name.clone());
        let outputs = step.resources.as_ref().map_or_else(Vec::new, |resources| {
            resources
                .outputs
                .iter()
                .filter(|(_, versions)| {
                    versions.iter().any(|version| {
                        version
                            .body
                            .as_ref()
                            .is_some_and(|body| body.save_type == ArtifactSaveType::StepOutput)
                    })
                })
                .map(|(name, _)| name.clone())
                .collect()
        });
        let inputs = spec.map_or_else(Vec::new, |spec| {
            spec.inputs
                .iter()
                .map(|(name, value)| {
                    let sources = match value {
                        StepSpecOutputInputsValue::InputSpec(one) => vec![one.clone()],
                        StepSpecOutputInputsValue::Array(many) => many.clone(),
                    };
                    let sources = sources
                        .into_iter()
                        .map(|source| (source.step_name, source.output_name))
                        .collect();
                    (name.clone(), sources)
                })
                .collect()
        });
        Self {
            name: checkpoint_name(&step.name).to_owned(),
            invocation_id,
            call_id: step.id.to_string(),
            outputs,
            inputs,
            upstream: spec
                .map(|spec| spec.upstream_steps.clone())
                .unwrap_or_default(),
            started_at: step.body.as_ref().and_then(|body| body.start_time),
            kind: step
                .body
                .as_ref()
                .and_then(|body| body.type_.as_ref())
                .map(ToString::to_string),
            metadata: step
                .metadata
                .as_ref()
                .map(|metadata| {
                    let mut merged = metadata.run_metadata.clone();
                    merged.extend(metadata.config.extra.clone());
                    merged
                })
                .unwrap_or_default(),
        }
    }
}

/// What a replay skips, re-runs and feeds in.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReplayPlan {
    /// The invocation id of the boundary checkpoint.
    pub from: String,
    /// The invocation ids of the checkpoints whose recorded outputs are
    /// reused, sorted.
    pub steps_to_skip: Vec<String>,
    /// Values fed into checkpoints: invocation id → input name → value.
    pub step_input_overrides: BTreeMap<String, Map<String, Value>>,
    /// The flow's inputs that change (the others keep the source's values).
    pub input_overrides: Map<String, Value>,
    /// What the replayed checkpoints read while they run (kitaru 0.21's
    /// replay context: output mocks, code, model and adapter input
    /// overrides); `None` for a plan of the 0.10 form.
    pub runtime_context: Option<Value>,
}

impl ReplayPlan {
    /// The invocation ids of the checkpoints that run again, sorted.
    pub fn re_executed<'a>(&self, checkpoints: &'a [PlanCheckpoint]) -> Vec<&'a str> {
        let skipped: BTreeSet<&str> = self.steps_to_skip.iter().map(String::as_str).collect();
        let mut ids: Vec<&str> = checkpoints
            .iter()
            .map(|checkpoint| checkpoint.invocation_id.as_str())
            .filter(|id| !skipped.contains(id))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }
}

/// The plan for replaying execution `run_id` (whose checkpoints these are)
/// from `from_`, with `overrides` (`checkpoint.<selector>` keys) and new
/// `flow_inputs`.
///
/// Checked in this order: a source without checkpoints; a blank `from_`;
/// every override key; the `from_` selector; each override's selector,
/// output and consumers. A selector matches a checkpoint's name,
/// invocation id or call id exactly.
pub fn plan(
    run_id: &str,
    checkpoints: &[PlanCheckpoint],
    from_: &str,
    overrides: &Map<String, Value>,
    flow_inputs: &Map<String, Value>,
) -> Result<ReplayPlan, Error> {
    if checkpoints.is_empty() {
        return Err(Error::State(format!(
            "Execution '{run_id}' has no checkpoint history to replay."
        )));
    }
    if from_.trim().is_empty() {
        return Err(Error::argument(
            "from_",
            "`from_` must be a non-empty selector.",
        ));
    }
    let overridden = checkpoint_overrides(overrides)?;
    let boundary = resolve("from_", from_, checkpoints)?;

    let mut step_input_overrides: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    let mut roots: BTreeSet<&str> = BTreeSet::from([boundary.invocation_id.as_str()]);
    for (selector, value) in overridden {
        let source = resolve("overrides", selector, checkpoints)?;
        for (consumer, input) in consumers(source, checkpoints)? {
            step_input_overrides
                .entry(consumer.to_owned())
                .or_default()
                .insert(input.to_owned(), value.clone());
            roots.insert(consumer);
        }
    }

    let re_executed = with_descendants(&roots, checkpoints);
    let steps_to_skip: BTreeSet<String> = checkpoints
        .iter()
        .map(|checkpoint| checkpoint.invocation_id.as_str())
        .filter(|id| !re_executed.contains(id) && !step_input_overrides.contains_key(*id))
        .map(str::to_owned)
        .collect();
    Ok(ReplayPlan {
        from: boundary.invocation_id.clone(),
        steps_to_skip: steps_to_skip.into_iter().collect(),
        step_input_overrides,
        input_overrides: flow_inputs.clone(),
        runtime_context: None,
    })
}

/// The selector and value of each `checkpoint.*` override, in the order
/// given; any other key is refused.
fn checkpoint_overrides(overrides: &Map<String, Value>) -> Result<Vec<(&str, &Value)>, Error> {
    overrides
        .iter()
        .map(|(key, value)| {
            if let Some(selector) = key.strip_prefix(CHECKPOINT_PREFIX) {
                let selector = selector.trim();
                if selector.is_empty() {
                    return Err(Error::argument(
                        "overrides",
                        "Checkpoint override keys must include a selector after `checkpoint.`.",
                    ));
                }
                Ok((selector, value))
            } else if key.starts_with(WAIT_PREFIX) {
                Err(Error::argument(
                    "overrides",
                    "Wait overrides (`wait.*`) are not supported in replay. If the replayed \
                     execution reaches a wait, resolve it via `client.executions.input(...)` or \
                     `kitaru executions input`.",
                ))
            } else {
                Err(Error::argument(
                    "overrides",
                    format!(
                        "Override keys must start with `checkpoint.`. Received: {}.",
                        crate::python_repr::str_repr(key)
                    ),
                ))
            }
        })
        .collect()
}

/// The one checkpoint `selector` names.
fn resolve<'a>(
    argument: &str,
    selector: &str,
    checkpoints: &'a [PlanCheckpoint],
) -> Result<&'a PlanCheckpoint, Error> {
    let mut matches = checkpoints.iter().filter(|checkpoint| {
        checkpoint.name == selector
            || checkpoint.invocation_id == selector
            || checkpoint.call_id == selector
    });
    match (matches.next(), matches.next()) {
        (Some(one), None) => Ok(one),
        (Some(_), Some(_)) => Err(Error::argument(
            argument,
            format!(
                "Replay selector is ambiguous for checkpoint '{selector}'. Use a checkpoint \
                 call ID instead."
            ),
        )),
        (None, _) => {
            let names: BTreeSet<&str> = checkpoints.iter().map(|c| c.name.as_str()).collect();
            let available = if names.is_empty() {
                "none".to_owned()
            } else {
                names.into_iter().collect::<Vec<_>>().join(", ")
            };
            Err(Error::argument(
                argument,
                format!(
                    "Unknown checkpoint selector '{selector}'. Available checkpoints: {available}."
                ),
            ))
        }
    }
}

/// The `(invocation id, input name)` of every input fed by `source`'s
/// single regular output.
fn consumers<'a>(
    source: &PlanCheckpoint,
    checkpoints: &'a [PlanCheckpoint],
) -> Result<Vec<(&'a str, &'a str)>, Error> {
    let found = match fed_by_single_output(source, checkpoints) {
        Ok(found) => found,
        Err([]) => {
            return Err(Error::argument(
                "overrides",
                format!(
                    "Checkpoint '{}' does not expose replayable outputs.",
                    source.name
                ),
            ));
        }
        Err(many) => {
            return Err(Error::argument(
                "overrides",
                format!(
                    "Checkpoint overrides currently require single-output checkpoints. \
                     Checkpoint '{}' has outputs: {}.",
                    source.name,
                    many.join(", ")
                ),
            ));
        }
    };
    if found.is_empty() {
        return Err(Error::argument(
            "overrides",
            format!(
                "Checkpoint override has no downstream consumer in this execution: {}.",
                source.name
            ),
        ));
    }
    Ok(found)
}

/// The `(consumer invocation id, input name)` of every input fed by
/// `source`'s single regular output (none, maybe); its outputs when it has
/// none or several.
pub(super) fn fed_by_single_output<'a, 's>(
    source: &'s PlanCheckpoint,
    checkpoints: &'a [PlanCheckpoint],
) -> Result<Vec<(&'a str, &'a str)>, &'s [String]> {
    let [output] = source.outputs.as_slice() else {
        return Err(&source.outputs);
    };
    let mut found = Vec::new();
    for checkpoint in checkpoints {
        for (input, sources) in &checkpoint.inputs {
            for (step, name) in sources {
                if *step == source.invocation_id && name == output {
                    found.push((checkpoint.invocation_id.as_str(), input.as_str()));
                }
            }
        }
    }
    Ok(found)
}

/// `roots` and every checkpoint downstream of them (through `upstream`
/// links; links to checkpoints not in this execution are ignored).
pub(super) fn with_descendants<'a>(
    roots: &BTreeSet<&'a str>,
    checkpoints: &'a [PlanCheckpoint],
) -> BTreeSet<&'a str> {
    let known: BTreeSet<&str> = checkpoints
        .iter()
        .map(|c| c.invocation_id.as_str())
        .collect();
    let mut children: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for checkpoint in checkpoints {
        for parent in &checkpoint.upstream {
            if let Some(parent) = known.get(parent.as_str()) {
                children
                    .entry(parent)
                    .or_default()
                    .push(checkpoint.invocation_id.as_str());
            }
        }
    }
    let mut reached = roots.clone();
    let mut to_visit: Vec<&str> = roots.iter().copied().collect();
    while let Some(id) = to_visit.pop() {
        for child in children.get(id).into_iter().flatten() {
            if reached.insert(child) {
                to_visit.push(child);
            }
        }
    }
    reached
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    fn checkpoint(
        name: &str,
        outputs: &[&str],
        inputs: &[(&str, &str, &str)],
        upstream: &[&str],
    ) -> PlanCheckpoint {
        PlanCheckpoint {
            name: name.to_owned(),
            invocation_id: name.to_owned(),
            call_id: format!("call-{name}"),
            outputs: outputs.iter().map(|o| (*o).to_owned()).collect(),
            inputs: inputs
                .iter()
                .map(|(input, step, output)| {
                    (
                        (*input).to_owned(),
                        vec![((*step).to_owned(), (*output).to_owned())],
                    )
                })
                .collect(),
            upstream: upstream.iter().map(|u| (*u).to_owned()).collect(),
            ..PlanCheckpoint::default()
        }
    }

    /// The docs' research agent: gather_sources → summarize.
    fn research_agent() -> Vec<PlanCheckpoint> {
        vec![
            checkpoint("gather_sources", &["output"], &[], &[]),
            checkpoint(
                "summarize",
                &["output"],
                &[("notes", "gather_sources", "output")],
                &["gather_sources"],
            ),
        ]
    }

    fn object(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    fn message(result: Result<ReplayPlan, Error>) -> String {
        match result {
            Ok(plan) => panic!("expected an error, got {plan:?}"),
            Err(Error::InvalidArgument { reason, .. }) => reason,
            Err(error) => error.to_string(),
        }
    }

    #[test]
    fn the_worked_example_skips_the_source_and_feeds_its_consumer() {
        let plan = plan(
            "run",
            &research_agent(),
            "summarize",
            &object(json!({"checkpoint.gather_sources": "OVERRIDDEN NOTES"})),
            &object(json!({"topic": "replayed topic"})),
        )
        .unwrap();
        assert_eq!(plan.from, "summarize");
        assert_eq!(plan.steps_to_skip, ["gather_sources"]);
        assert_eq!(
            plan.step_input_overrides,
            BTreeMap::from([(
                "summarize".to_owned(),
                object(json!({"notes": "OVERRIDDEN NOTES"}))
            )])
        );
        assert_eq!(
            plan.input_overrides,
            object(json!({"topic": "replayed topic"}))
        );
    }

    #[test]
    fn from_the_first_checkpoint_nothing_is_skipped() {
        let plan = plan(
            "run",
            &research_agent(),
            "gather_sources",
            &Map::new(),
            &Map::new(),
        )
        .unwrap();
        assert!(plan.steps_to_skip.is_empty());
        assert!(plan.step_input_overrides.is_empty());
    }

    #[test]
    fn selectors_match_names_invocation_ids_and_call_ids() {
        let mut checkpoints = research_agent();
        checkpoints[1].invocation_id = "summarize_2".to_owned();
        for selector in ["summarize", "summarize_2", "call-summarize"] {
            let plan = plan("run", &checkpoints, selector, &Map::new(), &Map::new()).unwrap();
            assert_eq!(plan.from, "summarize_2", "{selector}");
            assert_eq!(plan.steps_to_skip, ["gather_sources"], "{selector}");
        }
    }

    #[test]
    fn an_execution_without_checkpoints_cannot_be_replayed() {
        let error = plan("r1", &[], "x", &Map::new(), &Map::new()).unwrap_err();
        assert!(matches!(error, Error::State(_)));
        assert_eq!(
            error.to_string(),
            "Execution 'r1' has no checkpoint history to replay."
        );
    }

    #[test]
    fn a_blank_from_is_refused_before_the_overrides_are_read() {
        let text = message(plan(
            "r",
            &research_agent(),
            "  ",
            &object(json!({"bad": 1})),
            &Map::new(),
        ));
        assert_eq!(text, "`from_` must be a non-empty selector.");
    }

    #[test]
    fn override_keys_are_checked_before_the_from_selector() {
        let cases = [
            (
                json!({"checkpoint.  ": 1}),
                "Checkpoint override keys must include a selector after `checkpoint.`.",
            ),
            (
                json!({"wait.approve": true}),
                "Wait overrides (`wait.*`) are not supported in replay.",
            ),
            (
                json!({"summarize": 1}),
                "Override keys must start with `checkpoint.`. Received: 'summarize'.",
            ),
            (
                json!({"it's": 1}),
                "Override keys must start with `checkpoint.`. Received: \"it's\".",
            ),
        ];
        for (overrides, expected) in cases {
            let text = message(plan(
                "r",
                &research_agent(),
                "nope",
                &object(overrides),
                &Map::new(),
            ));
            assert!(text.starts_with(expected), "{text}");
        }
    }

    #[test]
    fn unknown_and_ambiguous_selectors_say_what_to_use() {
        let text = message(plan(
            "r",
            &research_agent(),
            "nope",
            &Map::new(),
            &Map::new(),
        ));
        assert_eq!(
            text,
            "Unknown checkpoint selector 'nope'. Available checkpoints: gather_sources, summarize."
        );
        let text = message(plan(
            "r",
            &research_agent(),
            "summarize",
            &object(json!({"checkpoint.missing": 1})),
            &Map::new(),
        ));
        assert!(
            text.starts_with("Unknown checkpoint selector 'missing'."),
            "{text}"
        );

        // The same checkpoint called twice in a loop: two invocations, one name.
        let mut checkpoints = research_agent();
        let mut again = checkpoints[1].clone();
        again.invocation_id = "summarize_2".to_owned();
        again.call_id = "call-summarize-2".to_owned();
        checkpoints.push(again);
        let text = message(plan(
            "r",
            &checkpoints,
            "summarize",
            &Map::new(),
            &Map::new(),
        ));
        assert_eq!(
            text,
            "Replay selector is ambiguous for checkpoint 'summarize'. Use a checkpoint call ID instead."
        );
        let plan = plan(
            "r",
            &checkpoints,
            "call-summarize-2",
            &Map::new(),
            &Map::new(),
        )
        .unwrap();
        assert_eq!(plan.steps_to_skip, ["gather_sources", "summarize"]);
    }

    #[test]
    fn overrides_need_one_output_and_a_consumer() {
        let mut checkpoints = research_agent();
        checkpoints[0].outputs = vec![];
        let text = message(plan(
            "r",
            &checkpoints,
            "summarize",
            &object(json!({"checkpoint.gather_sources": 1})),
            &Map::new(),
        ));
        assert_eq!(
            text,
            "Checkpoint 'gather_sources' does not expose replayable outputs."
        );

        checkpoints[0].outputs = vec!["output_0".to_owned(), "output_1".to_owned()];
        let text = message(plan(
            "r",
            &checkpoints,
            "summarize",
            &object(json!({"checkpoint.gather_sources": 1})),
            &Map::new(),
        ));
        assert_eq!(
            text,
            "Checkpoint overrides currently require single-output checkpoints. Checkpoint \
             'gather_sources' has outputs: output_0, output_1."
        );

        let text = message(plan(
            "r",
            &research_agent(),
            "summarize",
            &object(json!({"checkpoint.summarize": 1})),
            &Map::new(),
        ));
        assert_eq!(
            text,
            "Checkpoint override has no downstream consumer in this execution: summarize."
        );
    }

    #[test]
    fn an_override_reruns_only_its_consumers_and_their_descendants() {
        // a → b → c, a → d; e unrelated. Replay from e, override a.
        let checkpoints = vec![
            checkpoint("a", &["out"], &[], &[]),
            checkpoint("b", &["out"], &[("x", "a", "out")], &["a"]),
            checkpoint("c", &["out"], &[("y", "b", "out")], &["b"]),
            checkpoint("d", &["out"], &[("z", "a", "out")], &["a"]),
            checkpoint("e", &["out"], &[], &[]),
        ];
        let plan = plan(
            "r",
            &checkpoints,
            "e",
            &object(json!({"checkpoint.a": 7})),
            &Map::new(),
        )
        .unwrap();
        assert_eq!(plan.steps_to_skip, ["a"]);
        assert_eq!(plan.re_executed(&checkpoints), ["b", "c", "d", "e"]);
        assert_eq!(plan.step_input_overrides["b"], object(json!({"x": 7})));
        assert_eq!(plan.step_input_overrides["d"], object(json!({"z": 7})));
    }

    #[test]
    fn upstream_links_to_unknown_checkpoints_are_ignored() {
        let checkpoints = vec![
            checkpoint("a", &["out"], &[], &["not-here"]),
            checkpoint("b", &["out"], &[], &["a"]),
        ];
        let plan = plan("r", &checkpoints, "a", &Map::new(), &Map::new()).unwrap();
        assert!(plan.steps_to_skip.is_empty());
    }

    /// A random DAG: checkpoint i may depend on any earlier one; each has
    /// one output `out` its dependants read.
    fn dag() -> impl Strategy<Value = Vec<PlanCheckpoint>> {
        (1usize..12).prop_flat_map(|n| {
            proptest::collection::vec(proptest::collection::vec(any::<bool>(), n), n).prop_map(
                move |edges| {
                    (0..n)
                        .map(|i| {
                            let parents: Vec<String> = (0..i)
                                .filter(|&j| edges[i][j])
                                .map(|j| format!("s{j}"))
                                .collect();
                            PlanCheckpoint {
                                name: format!("s{i}"),
                                invocation_id: format!("s{i}"),
                                call_id: format!("c{i}"),
                                outputs: vec!["out".to_owned()],
                                inputs: parents
                                    .iter()
                                    .map(|p| {
                                        (format!("in_{p}"), vec![(p.clone(), "out".to_owned())])
                                    })
                                    .collect(),
                                upstream: parents,
                                ..PlanCheckpoint::default()
                            }
                        })
                        .collect()
                },
            )
        })
    }

    proptest! {
        #[test]
        fn skipped_and_re_executed_partition_the_checkpoints_and_consumers_always_run(
            checkpoints in dag(),
            from in 0usize..12,
            overridden in proptest::collection::vec(0usize..12, 0..3),
        ) {
            let n = checkpoints.len();
            let from = format!("s{}", from % n);
            let overrides: Map<String, Value> = overridden
                .iter()
                .map(|i| (format!("checkpoint.s{}", i % n), json!(i)))
                .collect();
            let Ok(plan) = plan("r", &checkpoints, &from, &overrides, &Map::new()) else {
                // Only an override without consumers may fail here.
                let has_consumer = |name: &str| checkpoints.iter().any(|c| c.upstream.iter().any(|u| u == name));
                prop_assert!(overrides.keys().any(|k| !has_consumer(&k["checkpoint.".len()..])));
                return Ok(());
            };
            let skipped: BTreeSet<&str> = plan.steps_to_skip.iter().map(String::as_str).collect();
            let re_executed: BTreeSet<&str> = plan.re_executed(&checkpoints).into_iter().collect();
            let all: BTreeSet<&str> = checkpoints.iter().map(|c| c.invocation_id.as_str()).collect();
            prop_assert!(skipped.is_disjoint(&re_executed));
            prop_assert_eq!(skipped.union(&re_executed).copied().collect::<BTreeSet<_>>(), all);
            prop_assert!(re_executed.contains(from.as_str()));
            for consumer in plan.step_input_overrides.keys() {
                prop_assert!(!skipped.contains(consumer.as_str()));
            }
            // Whatever runs again, everything downstream of it runs again too.
            for checkpoint in &checkpoints {
                if checkpoint.upstream.iter().any(|u| re_executed.contains(u.as_str())) {
                    prop_assert!(re_executed.contains(checkpoint.invocation_id.as_str()));
                }
            }
        }
    }
}
