//! Statistics on a server without the statistics operation (ZenML 0.94.4):
//! the answers the operation would give, computed from the matching runs.
//!
//! The runs come a page at a time (with their steps when a metric counts
//! steps or artifacts) and are folded into one accumulator per group, so
//! memory follows the number of groups. The server's rules, re-expressed:
//! a run is in the group of each of its tags (null without one); a time
//! bucket is the start time's hour, day, Monday or month, as text; a metadata
//! group is the value's stored text, decoded to a scalar or null; a metadata
//! metric takes numbers only; duration is end minus start in seconds, as
//! SQLite's `julianday` counts them (milliseconds); step counts count
//! distinct step names, artifact counts distinct artifacts; aggregates skip
//! nulls. Each Kitaru status (when grouping by status) is one query's
//! answer, cut to the limit in the server's order: latest buckets first with
//! a time grouping, else most runs first, then keys ascending (null first).

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};

use chrono::Datelike as _;
use futures_util::TryStreamExt as _;
use kitaru_client::ApiError;
use kitaru_client::paging::Paged as _;
use kitaru_client::timestamp::Timestamp;
use kitaru_client::types::{PipelineRunResponse, StepRunResponse};
use serde_json::{Value, json};

use super::query::{Aggregation, Dimension, Granularity, Plan, Source};
use super::{Answer, Row, Statistics, merge::merge, status_filter, with_status};
use crate::executions::ExecutionStatus;
use crate::executions::checkpoints::steps_of;
use crate::executions::lookup::newest_runs;
use crate::{Error, Kitaru, ServerLine};

/// Runs per page read.
const RUN_PAGE_SIZE: i64 = 100;

/// A group's key for one grouping: the text the server groups by (a
/// metadata value's JSON text), null as `None`.
type Key = Option<String>;

/// What one run brings to the statistics.
struct RunFacts {
    status: ExecutionStatus,
    /// The keys of each group the run is in (several with a tag grouping).
    memberships: Vec<Vec<Key>>,
    /// Each metric's value for the run.
    values: Vec<Option<f64>>,
}

/// One group's running aggregates.
#[derive(Default)]
struct Aggregates {
    run_count: u64,
    /// Per metric: the sum, count, least and greatest of its non-null values.
    metrics: Vec<(f64, u64, Option<f64>, Option<f64>)>,
}

impl Aggregates {
    fn add(&mut self, values: &[Option<f64>]) {
        self.run_count += 1;
        if self.metrics.len() < values.len() {
            self.metrics.resize(values.len(), (0.0, 0, None, None));
        }
        for (aggregate, value) in self.metrics.iter_mut().zip(values) {
            if let Some(value) = *value {
                aggregate.0 += value;
                aggregate.1 += 1;
                aggregate.2 = Some(aggregate.2.map_or(value, |least: f64| least.min(value)));
                aggregate.3 = Some(aggregate.3.map_or(value, |most: f64| most.max(value)));
            }
        }
    }

    fn value(&self, index: usize, aggregation: Aggregation) -> Option<f64> {
        let (sum, count, least, most) = *self.metrics.get(index)?;
        match aggregation {
            _ if count == 0 => None,
            Aggregation::Sum => Some(sum),
            Aggregation::Avg => Some(sum / count as f64),
            Aggregation::Min => least,
            Aggregation::Max => most,
        }
    }
}

/// The statistics of the runs `plan` selects, computed here.
pub(super) async fn statistics(
    kitaru: &Kitaru,
    plan: &Plan,
    line: ServerLine,
) -> Result<Statistics, Error> {
    // Oldest first: a run started meanwhile lands on a later page and
    // shifts none of the pages still to read.
    let mut request = newest_runs(kitaru)
        .sort_by("asc:created")
        .size(RUN_PAGE_SIZE);
    if let Some(flow) = &plan.flow {
        request = request.pipeline(flow.as_str());
    }
    if let Some(stack) = &plan.stack {
        request = request.stack(stack.as_str());
    }
    if let Some(tags) = &plan.tags {
        request = request.tags(tags.clone());
    }
    if let Some(status) = plan.status {
        request = request.status(status_filter(status, line));
    }
    let needs_steps = plan.metrics.iter().any(|m| {
        matches!(
            m.source,
            Source::StepCount | Source::CachedStepCount | Source::OutputArtifactCount
        )
    });
    let split = plan.status_grouping().is_some();
    let mut groups: HashMap<(Option<ExecutionStatus>, Vec<Key>), Aggregates> = HashMap::new();
    let mut scanned = 0u64;
    let mut pages = std::pin::pin!(request.pages_from(1));
    loop {
        let page = match pages.try_next().await {
            Ok(Some(page)) => page.items,
            Ok(None) => break,
            Err(error) => {
                let error = ApiError::read(error).await;
                return Err(Error::api("Failed to list executions", error));
            }
        };
        let steps = if needs_steps {
            let ids: Vec<String> = page.iter().map(|run| run.id.to_string()).collect();
            steps_of(kitaru, &ids).await?
        } else {
            HashMap::new()
        };
        for run in &page {
            scanned += 1;
            let no_steps = Vec::new();
            let run_steps = steps.get(&run.id.to_string()).unwrap_or(&no_steps);
            let facts = facts(run, run_steps, plan, line);
            let bucket = split.then_some(facts.status);
            for keys in facts.memberships {
                groups.entry((bucket, keys)).or_default().add(&facts.values);
            }
        }
    }
    let mut rows = Vec::new();
    let mut truncated = false;
    match plan.status_grouping() {
        None => {
            let answer = answer(plan, groups.into_iter().map(|((_, keys), g)| (keys, g)));
            truncated = answer.truncated;
            rows = answer.rows;
        }
        Some(name) => {
            let mut by_status: HashMap<ExecutionStatus, Vec<(Vec<Key>, Aggregates)>> =
                HashMap::new();
            for ((status, keys), group) in groups {
                if let Some(status) = status {
                    by_status.entry(status).or_default().push((keys, group));
                }
            }
            for status in plan.status_buckets() {
                let answer = answer(plan, by_status.remove(&status).unwrap_or_default());
                truncated |= answer.truncated;
                rows.extend(with_status(answer.rows, plan, name, status));
            }
        }
    }
    let mut statistics = merge(rows, plan, truncated);
    statistics.computed_by = Some("client".to_owned());
    statistics.runs_scanned = Some(scanned);
    Ok(statistics)
}

/// One run's status, groups and metric values.
fn facts(
    run: &PipelineRunResponse,
    steps: &[StepRunResponse],
    plan: &Plan,
    line: ServerLine,
) -> RunFacts {
    let metadata = run.metadata.as_ref();
    let run_metadata = metadata.map(|m| &m.run_metadata);
    let start = metadata.and_then(|m| m.start_time.as_ref());
    let end = metadata.and_then(|m| m.end_time.as_ref());
    let resources = run.resources.as_ref();
    let stored = |key: &str| -> Key {
        run_metadata
            .and_then(|values| values.get(key))
            .map(Value::to_string)
    };
    let mut memberships: Vec<Vec<Key>> = vec![Vec::new()];
    for grouping in plan.backend_groupings() {
        let keys: Vec<Key> = match &grouping.dimension {
            Dimension::Status => unreachable!("the status grouping is Kitaru's"),
            Dimension::Flow => vec![
                run.body
                    .as_ref()
                    .and_then(|body| body.pipeline_id)
                    .map(|id| id.to_string()),
            ],
            Dimension::Stack => vec![
                resources
                    .and_then(|r| r.stack.as_ref())
                    .map(|s| s.id.to_string()),
            ],
            Dimension::Tag => {
                let tags: Vec<Key> = resources
                    .map(|r| r.tags.iter().map(|tag| Some(tag.name.clone())).collect())
                    .unwrap_or_default();
                if tags.is_empty() { vec![None] } else { tags }
            }
            Dimension::Time(granularity) => vec![start.map(|start| bucket(start, *granularity))],
            Dimension::Metadata(key) => vec![stored(key)],
        };
        memberships = memberships
            .into_iter()
            .flat_map(|prefix| {
                keys.iter().map(move |key| {
                    let mut keys = prefix.clone();
                    keys.push(key.clone());
                    keys
                })
            })
            .collect();
    }
    let step_names = |cached_only: bool| {
        steps
            .iter()
            .filter(|step| {
                !cached_only
                    || step
                        .body
                        .as_ref()
                        .is_some_and(|body| body.status.as_str() == "cached")
            })
            .map(|step| step.name.as_str())
            .collect::<HashSet<_>>()
            .len() as f64
    };
    let values = plan
        .metrics
        .iter()
        .map(|metric| match &metric.source {
            Source::Duration => match (start, end) {
                (Some(start), Some(end)) => Some((julian_day(end) - julian_day(start)) * 86_400.0),
                _ => None,
            },
            Source::StepCount => Some(step_names(false)),
            Source::CachedStepCount => Some(step_names(true)),
            Source::OutputArtifactCount => Some(
                steps
                    .iter()
                    .filter_map(|step| step.resources.as_ref())
                    .flat_map(|resources| resources.outputs.values().flatten())
                    .map(|artifact| artifact.id)
                    .collect::<HashSet<_>>()
                    .len() as f64,
            ),
            Source::Metadata(key) => match run_metadata.and_then(|values| values.get(key)) {
                Some(Value::Number(number)) => number.as_f64(),
                _ => None,
            },
        })
        .collect();
    let status = run.body.as_ref().map_or(ExecutionStatus::Running, |body| {
        ExecutionStatus::from_zenml(&body.status, line)
    });
    RunFacts {
        status,
        memberships,
        values,
    }
}

/// SQLite's `julianday()` of a time: whole milliseconds (rounded), as days.
fn julian_day(time: &Timestamp) -> f64 {
    /// The Julian day of the Unix epoch, in milliseconds.
    const UNIX_EPOCH_MS: i64 = 210_866_760_000_000;
    let time = time.as_utc();
    let seconds = time.timestamp() as f64;
    let fraction = f64::from(time.timestamp_subsec_micros()) / 1e6;
    let within_minute = (seconds.rem_euclid(60.0) + fraction) * 1000.0;
    let minute_ms = (time.timestamp() - time.timestamp().rem_euclid(60)) * 1000;
    let ms = UNIX_EPOCH_MS + minute_ms + (within_minute + 0.5) as i64;
    ms as f64 / 86_400_000.0
}

/// The label of the time bucket of `time`, as the server writes it.
fn bucket(time: &Timestamp, granularity: Granularity) -> String {
    let time = time.naive_utc();
    match granularity {
        Granularity::Hour => time.format("%Y-%m-%d %H:00:00").to_string(),
        Granularity::Day => time.format("%Y-%m-%d").to_string(),
        Granularity::Week => {
            let date = time.date();
            let monday = date - chrono::Days::new(u64::from(date.weekday().num_days_from_monday()));
            monday.format("%Y-%m-%d").to_string()
        }
        Granularity::Month => time.format("%Y-%m-01").to_string(),
    }
}

/// Keys in the server's order: null first, then by text.
fn compare_keys(a: &[Key], b: &[Key]) -> Ordering {
    a.cmp(b)
}

/// One query's answer from its groups: ordered and cut as the server does,
/// keys decoded as it decodes them.
fn answer(plan: &Plan, groups: impl IntoIterator<Item = (Vec<Key>, Aggregates)>) -> Answer {
    let mut groups: Vec<(Vec<Key>, Aggregates)> = groups.into_iter().collect();
    let names: Vec<&str> = plan.backend_groupings().map(|g| g.name.as_str()).collect();
    if names.is_empty() && groups.is_empty() {
        // Without groupings the server answers one row, even for no run.
        groups.push((Vec::new(), Aggregates::default()));
    }
    let time = plan
        .backend_groupings()
        .position(|g| matches!(g.dimension, Dimension::Time(_)));
    match time {
        Some(index) => groups.sort_by(|(a, _), (b, _)| {
            b[index].cmp(&a[index]).then_with(|| {
                let others = |keys: &[Key]| -> Vec<Key> {
                    keys.iter()
                        .enumerate()
                        .filter(|(i, _)| *i != index)
                        .map(|(_, k)| k.clone())
                        .collect()
                };
                compare_keys(&others(b), &others(a))
            })
        }),
        None => groups.sort_by(|(a_keys, a), (b_keys, b)| {
            b.run_count
                .cmp(&a.run_count)
                .then_with(|| compare_keys(a_keys, b_keys))
        }),
    }
    let limit = usize::try_from(plan.max_groups).unwrap_or(usize::MAX);
    let truncated = groups.len() > limit;
    groups.truncate(limit);
    if time.is_some() {
        groups.reverse();
    }
    let rows = groups
        .into_iter()
        .map(|(keys, aggregates)| Row {
            keys: plan
                .backend_groupings()
                .zip(keys)
                .map(|(grouping, key)| {
                    let value = match (&grouping.dimension, key) {
                        (_, None) => Value::Null,
                        (Dimension::Metadata(_), Some(text)) => {
                            match serde_json::from_str::<Value>(&text) {
                                Ok(Value::Array(_) | Value::Object(_)) | Err(_) => Value::Null,
                                Ok(scalar) => scalar,
                            }
                        }
                        (_, Some(text)) => json!(text),
                    };
                    (grouping.name.clone(), value)
                })
                .collect(),
            run_count: aggregates.run_count,
            metrics: plan
                .metrics
                .iter()
                .enumerate()
                .map(|(index, metric)| {
                    (
                        metric.name.clone(),
                        aggregates.value(index, metric.aggregation),
                    )
                })
                .collect(),
        })
        .collect();
    Answer { rows, truncated }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn buckets_are_labelled_as_the_server_labels_them() {
        let time = at("2026-12-09T15:43:25.640266");
        assert_eq!(bucket(&time, Granularity::Hour), "2026-12-09 15:00:00");
        assert_eq!(bucket(&time, Granularity::Day), "2026-12-09");
        assert_eq!(
            bucket(&time, Granularity::Week),
            "2026-12-07",
            "the Monday before"
        );
        assert_eq!(
            bucket(&at("2026-12-07T00:00:00"), Granularity::Week),
            "2026-12-07"
        );
        assert_eq!(
            bucket(&at("2026-12-06T23:59:59"), Granularity::Week),
            "2026-11-30"
        );
        assert_eq!(bucket(&time, Granularity::Month), "2026-12-01");
    }

    #[test]
    fn durations_count_milliseconds_as_julianday_does() {
        // SQLite: select (julianday('2026-12-07 15:43:27.900000') -
        //   julianday('2026-12-07 15:43:25.640266')) * 86400.0
        let start = at("2026-12-07T15:43:25.640266");
        let end = at("2026-12-07T15:43:27.9");
        let seconds = (julian_day(&end) - julian_day(&start)) * 86_400.0;
        assert!((seconds - 2.26).abs() < 1e-4, "{seconds}");
        assert_eq!(julian_day(&at("1970-01-01T00:00:00")), 2_440_587.5);
    }
}
