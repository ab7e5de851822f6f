//! LLM usage, as the kitaru 0.21 SDK records it: one `llm_usage_v1` record
//! per model call in the run metadata of the checkpoint (or execution) that
//! made it, and, once an execution has finished, the SDK's aggregate of
//! them in the execution's `llm_usage_summary_v1`.
//!
//! Nothing is added up here: the summary is the one the SDK stored. The
//! records are read as kitaru 0.21 reads them: only schema version 1, with
//! the calls a cached or replay-skipped checkpoint reused marked as not
//! incurred again.

use std::collections::HashSet;

use kitaru_client::types::{ExecutionStatus as ZenmlStatus, StepRunResponse};
use serde_json::{Map, Value};

use crate::python_repr::json_str;

/// The run-metadata key holding a checkpoint's or execution's records,
/// keyed by record (`<event_id>::<record_id>` or `<record_id>`).
const RECORDS_KEY: &str = "llm_usage_v1";
/// The run-metadata key holding an execution's summary (JSON text).
const SUMMARY_KEY: &str = "llm_usage_summary_v1";
/// The run-metadata key under which a replay lists the checkpoints it
/// skipped (reused from the original execution).
const SKIPPED_STEPS_KEY: &str = "kitaru_replay_skipped_steps_v1";
/// The only record and summary format there is.
const SCHEMA_VERSION: f64 = 1.0;

/// One usage record: the model call's tokens, cost, model and adapter, as
/// the SDK stored it.
pub type UsageRecord = Map<String, Value>;

/// Why a checkpoint attempt's calls were not made again: how
/// `cache_status` reads on its records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reuse {
    /// A replay skipped the checkpoint, reusing the original's outputs.
    Replay,
    /// The checkpoint was served from the cache (or skipped).
    Cache,
}

impl Reuse {
    /// How an attempt's calls were reused, if they were: a replay skipping
    /// it comes first, then its own cached or skipped status.
    pub(crate) fn of(step: &StepRunResponse, skipped: &HashSet<String>) -> Option<Self> {
        let invocation = step
            .metadata
            .as_ref()
            .map(|m| m.spec.invocation_id.as_str())
            .filter(|id| !id.is_empty())
            .unwrap_or(step.name.as_str());
        if skipped.contains(invocation) {
            return Some(Self::Replay);
        }
        let status = step.body.as_ref().map(|body| &body.status);
        matches!(status, Some(ZenmlStatus::Cached | ZenmlStatus::Skipped)).then_some(Self::Cache)
    }

    fn cache_status(self) -> &'static str {
        match self {
            Self::Replay => "replay_reused",
            Self::Cache => "checkpoint_cache_hit",
        }
    }
}

/// The execution's usage summary as the SDK stored it when the execution
/// finished; `None` when there is none (yet) or it is not of schema 1.
pub(crate) fn summary(run_metadata: &Map<String, Value>) -> Option<Map<String, Value>> {
    let summary = match run_metadata.get(SUMMARY_KEY)? {
        Value::String(text) => serde_json::from_str(text).ok()?,
        other => other.clone(),
    };
    match summary {
        Value::Object(summary) if is_schema_1(summary.get("schema_version")) => Some(summary),
        _ => None,
    }
}

/// The checkpoints a replay skipped, by invocation id.
pub(crate) fn skipped_steps(run_metadata: &Map<String, Value>) -> HashSet<String> {
    let listed = match run_metadata.get(SKIPPED_STEPS_KEY) {
        Some(Value::String(text)) => serde_json::from_str(text).unwrap_or(Value::Null),
        Some(other) => other.clone(),
        None => Value::Null,
    };
    match listed {
        Value::Array(items) => items
            .into_iter()
            .filter_map(|item| match item {
                Value::String(step) if !step.is_empty() => Some(step),
                _ => None,
            })
            .collect(),
        _ => HashSet::new(),
    }
}

/// The usage records in one run-metadata map (a checkpoint attempt's or an
/// execution's), in stored order; `reuse` marks them as reused.
pub(crate) fn records(metadata: &Map<String, Value>, reuse: Option<Reuse>) -> Vec<UsageRecord> {
    let stored = match metadata.get(RECORDS_KEY) {
        None | Some(Value::Null) => return Vec::new(),
        Some(Value::String(text)) => match serde_json::from_str(text) {
            Ok(value) => value,
            Err(_) => return Vec::new(),
        },
        Some(other) => other.clone(),
    };
    let candidates: Vec<Value> = match stored {
        Value::Object(record) if coerce(&record).is_some() => vec![Value::Object(record)],
        Value::Object(keyed) => keyed.into_iter().map(|(_, record)| record).collect(),
        Value::Array(records) => records,
        _ => return Vec::new(),
    };
    candidates
        .iter()
        .filter_map(|candidate| candidate.as_object().and_then(coerce))
        .map(|mut record| {
            if let Some(reuse) = reuse {
                record.insert("billing_effect".into(), "reused_not_incurred".into());
                record.insert("cache_status".into(), reuse.cache_status().into());
            }
            record.retain(|key, _| !key.starts_with('_'));
            record
        })
        .collect()
}

/// The execution's records: its own (logged outside any checkpoint) that no
/// checkpoint also holds, then every checkpoint's, in checkpoint order.
pub(crate) fn execution_records(
    run_metadata: &Map<String, Value>,
    checkpoint_records: Vec<UsageRecord>,
) -> Vec<UsageRecord> {
    let held: HashSet<(Option<String>, Option<String>)> =
        checkpoint_records.iter().filter_map(identity).collect();
    records(run_metadata, None)
        .into_iter()
        .filter(|record| identity(record).is_none_or(|id| !held.contains(&id)))
        .chain(checkpoint_records)
        .collect()
}

/// What makes a record the same record: its `record_id` and `event_id`, as
/// text; `None` when it has neither.
fn identity(record: &UsageRecord) -> Option<(Option<String>, Option<String>)> {
    let text = |key: &str| {
        record
            .get(key)
            .filter(|value| !value.is_null())
            .map(|value| match value {
                Value::String(text) => text.clone(),
                other => json_str(other),
            })
    };
    let (record_id, event_id) = (text("record_id"), text("event_id"));
    (record_id.is_some() || event_id.is_some()).then_some((record_id, event_id))
}

/// A stored record as kitaru 0.21 accepts it: schema 1 with `usage` and
/// `cost` objects; an unknown `billing_effect` reads `incurred`, an unknown
/// `cache_status` `executed`, and `warnings` are texts.
fn coerce(record: &Map<String, Value>) -> Option<UsageRecord> {
    if !is_schema_1(record.get("schema_version"))
        || !record.get("usage").is_some_and(Value::is_object)
        || !record.get("cost").is_some_and(Value::is_object)
    {
        return None;
    }
    let mut record = record.clone();
    for (key, known, otherwise) in [
        (
            "billing_effect",
            &["incurred", "reused_not_incurred", "unknown"][..],
            "incurred",
        ),
        (
            "cache_status",
            &[
                "executed",
                "checkpoint_cache_hit",
                "replay_reused",
                "unknown",
            ][..],
            "executed",
        ),
    ] {
        let valid = record
            .get(key)
            .and_then(Value::as_str)
            .is_some_and(|value| known.contains(&value));
        if !valid {
            record.insert(key.into(), otherwise.into());
        }
    }
    let warnings = match record.get("warnings") {
        Some(Value::Array(warnings)) => warnings
            .iter()
            .map(|warning| match warning {
                Value::String(text) => Value::String(text.clone()),
                other => Value::String(json_str(other)),
            })
            .collect(),
        _ => Vec::new(),
    };
    record.insert("warnings".into(), Value::Array(warnings));
    Some(record)
}

/// What a set of usage records adds up to, as kitaru 0.21 sums a
/// checkpoint's records: the tokens of every record, the cost of those
/// incurred (actual, else estimated), and whether one incurred record has
/// no cost at all.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct UsageTotals {
    /// How many distinct records were summed.
    pub(crate) records: usize,
    pub(crate) input_tokens: i64,
    pub(crate) output_tokens: i64,
    /// A record's `total_tokens`, else its input plus output tokens.
    pub(crate) total_tokens: i64,
    /// Rounded to 10 decimals, as the SDK rounds costs.
    pub(crate) display_cost_usd: f64,
    /// Whether an incurred record has neither an actual nor an estimated cost.
    pub(crate) unpriced: bool,
}

/// Sums `records`, each with the id of the attempt it was read from: the
/// same record (`record_id` and `event_id`) of the same attempt counts once,
/// a retry's is counted again (it could have made the call again).
pub(crate) fn totals<'a>(
    records: impl IntoIterator<Item = (Option<&'a str>, &'a UsageRecord)>,
) -> UsageTotals {
    let mut totals = UsageTotals::default();
    let mut seen: HashSet<(Option<&str>, String, String)> = HashSet::new();
    let mut display_cost = 0.0;
    for (attempt, record) in records {
        let id = |key: &str| record.get(key).unwrap_or(&Value::Null).to_string();
        if !seen.insert((attempt, id("record_id"), id("event_id"))) {
            continue;
        }
        let reused =
            record.get("billing_effect").and_then(Value::as_str) == Some("reused_not_incurred");
        let usage = record.get("usage").and_then(Value::as_object);
        let tokens = |key: &str| usage.and_then(|usage| usage.get(key)).and_then(python_int);
        let (input, output) = (
            tokens("input_tokens").unwrap_or(0),
            tokens("output_tokens").unwrap_or(0),
        );
        totals.records += 1;
        totals.input_tokens += input;
        totals.output_tokens += output;
        totals.total_tokens += tokens("total_tokens").unwrap_or(input + output);
        let cost = record.get("cost").and_then(Value::as_object);
        let cost = |key: &str| cost.and_then(|cost| cost.get(key)).and_then(cost_usd);
        let (actual, estimated) = (cost("actual_cost_usd"), cost("estimated_cost_usd"));
        if !reused {
            match actual.or(estimated) {
                Some(cost) => display_cost += cost,
                None => totals.unpriced = true,
            }
        }
    }
    totals.display_cost_usd = round_cost_usd(display_cost);
    totals
}

/// A cost rounded as the SDK rounds costs (Python's `round(cost, 10)`),
/// suppressing floating-point noise.
pub(crate) fn round_cost_usd(cost: f64) -> f64 {
    if !cost.is_finite() {
        return cost;
    }
    format!("{cost:.10}").parse().unwrap_or(cost)
}

/// Python's `int(value)` of a token count: whole numbers, floats truncated,
/// numeric text; not booleans.
fn python_int(value: &Value) -> Option<i64> {
    match value {
        Value::Number(number) => number.as_i64().or_else(|| {
            number
                .as_f64()
                .filter(|f| f.is_finite())
                .map(|f| f.trunc() as i64)
        }),
        Value::String(text) => text.trim().replace('_', "").parse().ok(),
        _ => None,
    }
}

/// A valid cost in USD as the SDK reads one: a finite, non-negative number
/// (or numeric text); not a boolean.
fn cost_usd(value: &Value) -> Option<f64> {
    let cost = match value {
        Value::Number(number) => number.as_f64()?,
        Value::String(text) => text.trim().parse().ok()?,
        _ => return None,
    };
    (cost.is_finite() && cost >= 0.0).then_some(cost)
}

/// Whether a `schema_version` equals 1 as Python compares it (`1`, `1.0`
/// and `true` do).
fn is_schema_1(version: Option<&Value>) -> bool {
    match version {
        Some(Value::Number(number)) => number.as_f64() == Some(SCHEMA_VERSION),
        Some(Value::Bool(flag)) => *flag,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// A record as kitaru 0.21's `kitaru.llm()` stored it on a real server
    /// (ZenML 0.98), trimmed of nothing.
    fn stored_record(record_id: &str, input: i64, output: i64, cost: Value) -> Value {
        json!({
            "schema_version": 1, "record_id": record_id, "adapter": "kitaru.llm",
            "surface": "direct_llm", "call_name": record_id.split(':').next().unwrap(),
            "event_id": null, "checkpoint_id": null, "checkpoint_name": null,
            "model": "openai/gpt-test", "requested_model": "gpt-test",
            "resolved_model": "openai/gpt-test", "provider": "openai",
            "usage": {"input_tokens": input, "output_tokens": output, "total_tokens": null,
                      "cached_input_tokens": null, "reasoning_tokens": null, "raw": null},
            "cost": {"actual_cost_usd": null, "estimated_cost_usd": cost, "currency": "USD",
                     "source": "calculator", "source_label": null, "pricing_version": null},
            "latency_ms": 12.5, "status": "completed", "billing_effect": "incurred",
            "cache_status": "executed", "warnings": [],
        })
    }

    fn metadata(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn records_are_read_from_the_keyed_map_the_sdk_logs() {
        let stored = metadata(json!({
            "llm_usage_v1": {"ask:fixed": stored_record("ask:fixed", 11, 7, json!(0.0003))},
            "other": 1,
        }));
        let records = records(&stored, None);
        assert_eq!(
            records,
            vec![metadata(stored_record("ask:fixed", 11, 7, json!(0.0003)))]
        );
    }

    #[test]
    fn reused_records_are_not_incurred_again() {
        let stored = metadata(json!({
            "llm_usage_v1": {"ask:fixed": stored_record("ask:fixed", 11, 7, json!(0.0003))},
        }));
        for (reuse, cache_status) in [
            (Reuse::Cache, "checkpoint_cache_hit"),
            (Reuse::Replay, "replay_reused"),
        ] {
            let record = &records(&stored, Some(reuse))[0];
            assert_eq!(record["billing_effect"], "reused_not_incurred");
            assert_eq!(record["cache_status"], cache_status);
            assert_eq!(record["usage"]["input_tokens"], 11);
        }
    }

    #[test]
    fn one_record_a_list_or_json_text_are_read_too() {
        let record = stored_record("r:1", 1, 2, Value::Null);
        for stored in [
            record.clone(),
            json!([record.clone(), {"schema_version": 2, "usage": {}, "cost": {}}]),
            Value::String(json!({"k": record.clone()}).to_string()),
        ] {
            let found = records(&metadata(json!({ "llm_usage_v1": stored })), None);
            assert_eq!(found, vec![metadata(record.clone())]);
        }
        for junk in [
            json!("not json"),
            json!(3),
            json!({"a": {"schema_version": 1}}),
        ] {
            assert!(records(&metadata(json!({ "llm_usage_v1": junk })), None).is_empty());
        }
    }

    #[test]
    fn unknown_effects_and_statuses_are_read_as_kitaru_reads_them() {
        let mut record = stored_record("r:1", 1, 2, Value::Null);
        record["billing_effect"] = json!("free");
        record["cache_status"] = json!(null);
        record["warnings"] = json!(["slow", 3, null]);
        record["_source_attempt_id"] = json!("x");
        let found = &records(&metadata(json!({ "llm_usage_v1": record })), None)[0];
        assert_eq!(found["billing_effect"], "incurred");
        assert_eq!(found["cache_status"], "executed");
        assert_eq!(found["warnings"], json!(["slow", "3", "None"]));
        assert!(!found.contains_key("_source_attempt_id"));
    }

    #[test]
    fn the_summary_is_the_stored_json_text_parsed() {
        // As a real kitaru 0.21 execution stored it.
        let text = r#"{"actual_cost_usd":0.0,"adapters":["kitaru.llm"],"cost_policy":"display_cost_usd uses actual_cost_usd when present for a record, otherwise estimated_cost_usd. It is an observability estimate, not an invoice.","display_cost_usd":0.0001,"estimated_cost_usd":0.0001,"incurred_input_tokens":3,"incurred_output_tokens":2,"incurred_total_tokens":5,"incurred_usage_record_count":1,"input_tokens":34,"models":["openai/gpt-test"],"output_tokens":14,"records_without_cost_count":2,"reused_input_tokens":31,"reused_output_tokens":12,"reused_total_tokens":43,"reused_usage_record_count":3,"schema_version":1,"total_tokens":48,"usage_record_count":4,"warnings":[]}"#;
        let parsed = summary(&metadata(json!({ "llm_usage_summary_v1": text }))).unwrap();
        assert_eq!(
            Value::Object(parsed),
            serde_json::from_str::<Value>(text).unwrap()
        );
        assert_eq!(summary(&Map::new()), None);
        for junk in [json!("{"), json!({"schema_version": 2}), json!([1])] {
            assert_eq!(
                summary(&metadata(json!({ "llm_usage_summary_v1": junk }))),
                None
            );
        }
    }

    #[test]
    fn the_executions_own_records_come_first_unless_a_checkpoint_holds_them() {
        let run = metadata(json!({"llm_usage_v1": {
            "run_level:fixed": stored_record("run_level:fixed", 3, 2, json!(0.0001)),
            "ask:fixed": stored_record("ask:fixed", 11, 7, json!(0.0003)),
        }}));
        let checkpoint = vec![metadata(stored_record("ask:fixed", 11, 7, json!(0.0003)))];
        let ids: Vec<Value> = execution_records(&run, checkpoint)
            .into_iter()
            .map(|record| record["record_id"].clone())
            .collect();
        assert_eq!(ids, [json!("run_level:fixed"), json!("ask:fixed")]);
    }

    #[test]
    fn replay_skipped_steps_are_a_list_or_its_json_text() {
        for stored in [json!(["ask2", "", 3]), json!("[\"ask2\"]")] {
            let skipped = skipped_steps(&metadata(json!({
                "kitaru_replay_skipped_steps_v1": stored
            })));
            assert_eq!(skipped, HashSet::from(["ask2".to_owned()]));
        }
        assert!(skipped_steps(&Map::new()).is_empty());
    }
}
