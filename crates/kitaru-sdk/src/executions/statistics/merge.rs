//! From the server's rows to Kitaru's groups, as kitaru 0.21 makes them:
//! rows with the same keys merged (counts added, averages weighted by run
//! count, a metadata average met twice unknowable), groups ordered (by time
//! bucket, else most executions first, ties by their keys as Python shows
//! them) and cut to the limit (keeping the latest buckets).

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::{Map, Value};

use super::query::{Aggregation, Plan, Source};
use super::{Row, Statistics, StatisticsGroup};
use crate::python_repr::json_repr as repr;

/// One group being merged.
struct Accumulator {
    keys: Vec<(String, Value)>,
    execution_count: u64,
    metrics: BTreeMap<String, Option<f64>>,
    /// The run count behind each metric's value so far (for averages).
    weights: HashMap<String, u64>,
    /// Metadata averages met in two rows: no run count can weigh them.
    ambiguous: HashSet<String>,
}

impl Accumulator {
    fn add(&mut self, row: Row, plan: &Plan) {
        let previous = self.execution_count;
        self.execution_count += row.run_count;
        for (name, value) in row.metrics {
            let Some(value) = value else {
                self.metrics.entry(name).or_insert(None);
                continue;
            };
            let metric = plan.metrics.iter().find(|m| m.name == name);
            let aggregation = metric.map_or(Aggregation::Sum, |m| m.aggregation);
            let from_metadata = metric.is_some_and(|m| matches!(m.source, Source::Metadata(_)));
            if self.ambiguous.contains(&name) {
                self.metrics.insert(name, None);
                continue;
            }
            let current = self.metrics.get(&name).copied().flatten();
            if aggregation == Aggregation::Avg && from_metadata && current.is_some() {
                self.metrics.insert(name.clone(), None);
                self.ambiguous.insert(name);
                continue;
            }
            let weight = self.weights.get(&name).copied().unwrap_or(0);
            let merged = match (current, aggregation) {
                (None, _) => value,
                (Some(current), Aggregation::Sum) => current + value,
                (Some(current), Aggregation::Min) => current.min(value),
                (Some(current), Aggregation::Max) => current.max(value),
                (Some(current), Aggregation::Avg) => {
                    let total = weight + row.run_count;
                    if total == 0 {
                        value
                    } else {
                        (current * weight as f64 + value * row.run_count as f64) / total as f64
                    }
                }
            };
            self.metrics.insert(name.clone(), Some(merged));
            let weight = match aggregation {
                Aggregation::Avg => weight + row.run_count,
                _ => previous + row.run_count,
            };
            self.weights.insert(name, weight);
        }
    }

    fn group(self) -> StatisticsGroup {
        StatisticsGroup {
            keys: self.keys.into_iter().collect::<Map<String, Value>>(),
            execution_count: self.execution_count,
            metrics: self.metrics,
        }
    }
}

/// Kitaru's groups from the server's rows (all queries' together), merged,
/// ordered and cut to the plan's limit; `truncated` when the server cut
/// any query's rows or the limit cuts the groups.
pub(crate) fn merge(rows: Vec<Row>, plan: &Plan, mut truncated: bool) -> Statistics {
    let mut order: Vec<Vec<(String, String)>> = Vec::new();
    let mut groups: HashMap<Vec<(String, String)>, Accumulator> = HashMap::new();
    for row in rows {
        let mut merge_key: Vec<(String, String)> = row
            .keys
            .iter()
            .map(|(name, value)| (name.clone(), value.to_string()))
            .collect();
        merge_key.sort();
        let accumulator = groups.entry(merge_key.clone()).or_insert_with(|| {
            order.push(merge_key);
            Accumulator {
                keys: row.keys.clone(),
                execution_count: 0,
                metrics: BTreeMap::new(),
                weights: HashMap::new(),
                ambiguous: HashSet::new(),
            }
        });
        accumulator.add(row, plan);
    }
    let mut groups: Vec<StatisticsGroup> = order
        .into_iter()
        .filter_map(|key| groups.remove(&key))
        .map(Accumulator::group)
        .collect();
    let time = plan.time_grouping();
    let sort_key = |group: &StatisticsGroup| {
        let others: Vec<(String, String)> = group
            .keys
            .iter()
            .filter(|(name, _)| Some(name.as_str()) != time)
            .map(|(name, value)| (name.clone(), repr(value)))
            .collect();
        let time_value = time.map(|name| repr(group.keys.get(name).unwrap_or(&Value::Null)));
        (time_value, others, group.execution_count)
    };
    groups.sort_by(|a, b| {
        let (a_time, a_keys, a_count) = sort_key(a);
        let (b_time, b_keys, b_count) = sort_key(b);
        if time.is_some() {
            (a_time, a_keys, std::cmp::Reverse(a_count)).cmp(&(
                b_time,
                b_keys,
                std::cmp::Reverse(b_count),
            ))
        } else {
            (std::cmp::Reverse(a_count), a_keys).cmp(&(std::cmp::Reverse(b_count), b_keys))
        }
    });
    let limit = usize::try_from(plan.max_groups).unwrap_or(usize::MAX);
    if groups.len() > limit {
        if time.is_some() {
            groups.drain(..groups.len() - limit);
        } else {
            groups.truncate(limit);
        }
        truncated = true;
    }
    Statistics {
        group_count: groups.len(),
        groups,
        truncated,
        computed_by: None,
        runs_scanned: None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::executions::StatisticsQuery;

    fn plan(group_by: &[&str], metrics: &[&str], max_groups: i64) -> Plan {
        StatisticsQuery {
            group_by: group_by.iter().map(|s| (*s).to_owned()).collect(),
            metrics: metrics.iter().map(|s| json!(s)).collect(),
            max_groups,
            ..StatisticsQuery::default()
        }
        .plan()
        .unwrap()
    }

    fn row(keys: &[(&str, Value)], run_count: u64, metrics: &[(&str, Option<f64>)]) -> Row {
        Row {
            keys: keys
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
            run_count,
            metrics: metrics.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect(),
        }
    }

    #[test]
    fn groups_go_by_count_then_keys_and_are_cut_to_the_limit() {
        let plan = plan(&["tag", "status"], &["d:duration:sum"], 2);
        let rows = vec![
            row(
                &[("tag", json!("b")), ("status", json!("completed"))],
                2,
                &[("d", Some(1.0))],
            ),
            row(
                &[("tag", json!("a")), ("status", json!("completed"))],
                2,
                &[("d", None)],
            ),
            row(
                &[("tag", Value::Null), ("status", json!("failed"))],
                5,
                &[("d", Some(4.5))],
            ),
        ];
        let statistics = merge(rows, &plan, false);
        assert!(statistics.truncated);
        assert_eq!(statistics.group_count, 2);
        let value = serde_json::to_value(&statistics).unwrap();
        assert_eq!(
            value,
            json!({
                "groups": [
                    {"keys": {"tag": null, "status": "failed"}, "execution_count": 5, "metrics": {"d": 4.5}},
                    {"keys": {"tag": "a", "status": "completed"}, "execution_count": 2, "metrics": {"d": null}},
                ],
                "truncated": true,
                "group_count": 2,
            })
        );
    }

    #[test]
    fn time_groups_go_by_bucket_and_keep_the_latest() {
        let plan = plan(&["time:day", "flow"], &[], 2);
        let rows = vec![
            row(
                &[("day", json!("2026-12-07")), ("flow_id", json!("f"))],
                1,
                &[],
            ),
            row(
                &[("day", json!("2026-12-05")), ("flow_id", json!("f"))],
                9,
                &[],
            ),
            row(
                &[("day", json!("2026-12-06")), ("flow_id", json!("f"))],
                3,
                &[],
            ),
        ];
        let statistics = merge(rows, &plan, false);
        let days: Vec<&Value> = statistics.groups.iter().map(|g| &g.keys["day"]).collect();
        assert_eq!(days, [&json!("2026-12-06"), &json!("2026-12-07")]);
        assert!(statistics.truncated);
    }

    #[test]
    fn rows_with_the_same_keys_merge_as_kitaru_merges_them() {
        let plan = plan(
            &["metadata:team"],
            &[
                "avg_d:duration:avg",
                "s:step_count:sum",
                "lo:duration:min",
                "m:metadata:x:avg",
            ],
            10,
        );
        let rows = vec![
            row(
                &[("team", Value::Null)],
                1,
                &[
                    ("avg_d", Some(2.0)),
                    ("s", Some(3.0)),
                    ("lo", Some(2.0)),
                    ("m", Some(1.0)),
                ],
            ),
            row(
                &[("team", Value::Null)],
                3,
                &[
                    ("avg_d", Some(6.0)),
                    ("s", Some(1.0)),
                    ("lo", Some(1.5)),
                    ("m", Some(5.0)),
                ],
            ),
            row(
                &[("team", Value::Null)],
                1,
                &[("avg_d", None), ("s", None), ("lo", None), ("m", Some(9.0))],
            ),
        ];
        let statistics = merge(rows, &plan, false);
        assert_eq!(statistics.groups.len(), 1);
        let group = &statistics.groups[0];
        assert_eq!(group.execution_count, 5);
        assert_eq!(group.metrics["avg_d"], Some(5.0));
        assert_eq!(group.metrics["s"], Some(4.0));
        assert_eq!(group.metrics["lo"], Some(1.5));
        assert_eq!(group.metrics["m"], None, "a metadata average met twice");
        assert!(!statistics.truncated);
    }

    #[test]
    fn a_truncated_server_answer_stays_truncated() {
        let plan = plan(&[], &[], 10);
        let statistics = merge(vec![row(&[], 0, &[])], &plan, true);
        assert!(statistics.truncated);
        assert_eq!(
            serde_json::to_value(&statistics.groups).unwrap(),
            json!([{"keys": {}, "execution_count": 0, "metrics": {}}])
        );
    }
}
