//! Execution statistics (`kitaru_executions_statistics`): executions
//! grouped by status, flow, stack, tag, a time bucket or a metadata value,
//! counted per group, with numeric metrics aggregated per group.
//!
//! A server with the run statistics operation (`POST /runs/statistics`,
//! ZenML 0.98 here; kitaru 0.21 asks for ZenML 0.94.6 or newer) computes the
//! groups. Kitaru's statuses each stand for several server statuses, so a
//! grouping by status asks once per Kitaru status, filtered to its server
//! statuses, and tags the groups with it. A server without the operation
//! (ZenML 0.94.4) gets the same answer computed here ([`scan`]) from its
//! runs, a page at a time, with the server's rules; the answer says so
//! (`computed_by: "client"`).
//!
//! Either way the groups are merged and ordered as kitaru 0.21 does
//! ([`merge`]).

mod merge;
mod query;
mod scan;

use std::collections::BTreeMap;

use kitaru_client::types::RunStatisticsRequest;
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::{ExecutionStatus, one_of};
use crate::error::ApiContext as _;
use crate::{Error, Kitaru, ServerLine};

pub use query::{Aggregation, Dimension, Granularity, Grouping, Metric, Source, StatisticsQuery};

/// Grouped execution statistics.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct Statistics {
    /// The groups: ordered by time bucket when grouped by time, else by
    /// execution count (most first), then by their keys.
    pub groups: Vec<StatisticsGroup>,
    /// Whether more groups existed than `max_groups` allowed.
    pub truncated: bool,
    /// How many groups there are.
    pub group_count: usize,
    /// `client` when the server has no statistics operation (ZenML before
    /// 0.94.6) and the groups were computed here from its runs; absent when
    /// the server computed them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub computed_by: Option<String>,
    /// How many runs were read to compute the groups here (with
    /// `computed_by`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runs_scanned: Option<u64>,
}

/// One group of executions.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct StatisticsGroup {
    /// The group's value for each grouping, by the grouping's output name
    /// (`status`, `flow_id`, `stack_id`, `tag`, the time granularity, the
    /// metadata key); null where a run has none. Empty without groupings.
    pub keys: Map<String, Value>,
    /// How many executions the group has.
    pub execution_count: u64,
    /// Each metric's aggregate over the group, by its name; null when no
    /// execution of the group has a value.
    pub metrics: BTreeMap<String, Option<f64>>,
}

/// [`statistics`] computed here from the runs even when the server could
/// compute them: the answer an older server gets, for comparing both ways
/// on one server, or where the server's statistics are not to be trusted.
pub async fn statistics_computed_here(
    kitaru: &Kitaru,
    query: &StatisticsQuery,
) -> Result<Statistics, Error> {
    let plan = query.plan()?;
    let line = kitaru.server().await?.line;
    scan::statistics(kitaru, &plan, line).await
}

/// Group keys and aggregates as one statistics query of the server answers
/// them (a row of `RunStatisticsResponse`), before Kitaru's merge.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Row {
    /// The group's key per grouping, in the request's order.
    pub keys: Vec<(String, Value)>,
    /// Distinct runs in the group.
    pub run_count: u64,
    /// Each metric's aggregate, in the request's order.
    pub metrics: Vec<(String, Option<f64>)>,
}

/// One statistics query's rows, and whether the server cut them.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Answer {
    pub rows: Vec<Row>,
    pub truncated: bool,
}

/// The name of the operation computing statistics on the server.
const OPERATION: &str = "get_run_statistics";

/// Groups the executions `query` selects, counts them and aggregates its
/// metrics per group (`kitaru_executions_statistics`).
///
/// On a server with the statistics operation: one request, or one per
/// Kitaru status (five, or one with a status filter) when grouping by
/// status. On an older server: the matching runs, 100 a page (with their
/// steps when a metric counts steps or artifacts), read once whatever the
/// groupings; memory grows with the number of groups, not of runs.
pub async fn statistics(kitaru: &Kitaru, query: &StatisticsQuery) -> Result<Statistics, Error> {
    let plan = query.plan()?;
    let server = kitaru.server().await?;
    let line = server.line;
    if server.require(OPERATION).is_err() {
        return scan::statistics(kitaru, &plan, line).await;
    }
    let mut rows = Vec::new();
    let mut truncated = false;
    match plan.status_grouping() {
        None => {
            let answer = ask(kitaru, &plan, plan.status, line).await?;
            truncated = answer.truncated;
            rows = answer.rows;
        }
        Some(name) => {
            for status in plan.status_buckets() {
                let answer = ask(kitaru, &plan, Some(status), line).await?;
                truncated |= answer.truncated;
                rows.extend(with_status(answer.rows, &plan, name, status));
            }
        }
    }
    Ok(merge::merge(rows, &plan, truncated))
}

/// The rows of one Kitaru status's query with that status as the status
/// grouping's key; without other groupings, the empty global row of a
/// status no run has is left out.
fn with_status<'a>(
    rows: Vec<Row>,
    plan: &'a query::Plan,
    name: &'a str,
    status: ExecutionStatus,
) -> impl Iterator<Item = Row> + 'a {
    rows.into_iter().filter_map(move |mut row| {
        if plan.backend_groupings().next().is_none() && row.keys.is_empty() && row.run_count == 0 {
            return None;
        }
        row.keys.push((name.to_owned(), json!(status.as_str())));
        Some(row)
    })
}

/// The server statuses that read as `status` on a server of `line`, as a
/// runs filter value.
fn status_filter(status: ExecutionStatus, line: ServerLine) -> String {
    let statuses = status.zenml_statuses(line);
    match statuses.as_slice() {
        [one] => (*one).to_owned(),
        many => one_of(many),
    }
}

/// The runs filter of a statistics query, as the server reads it.
fn run_filter(
    kitaru: &Kitaru,
    plan: &query::Plan,
    status: Option<ExecutionStatus>,
    line: ServerLine,
) -> Value {
    let mut filter = Map::new();
    if let Some(project) = kitaru.project() {
        filter.insert("project".into(), json!(project));
    }
    if let Some(flow) = &plan.flow {
        filter.insert("pipeline".into(), json!(flow));
    }
    if let Some(stack) = &plan.stack {
        filter.insert("stack".into(), json!(stack));
    }
    if let Some(tags) = &plan.tags {
        filter.insert("tags".into(), json!(tags));
    }
    if let Some(status) = status {
        filter.insert("status".into(), json!(status_filter(status, line)));
    }
    Value::Object(filter)
}

/// One statistics request to the server: the plan's groupings but the
/// status one, filtered to `status` when given.
async fn ask(
    kitaru: &Kitaru,
    plan: &query::Plan,
    status: Option<ExecutionStatus>,
    line: ServerLine,
) -> Result<Answer, Error> {
    let body = json!({
        "filter": run_filter(kitaru, plan, status, line),
        "groupings": plan.backend_groupings().map(Grouping::zenml).collect::<Vec<_>>(),
        "metrics": plan.metrics.iter().map(Metric::zenml).collect::<Vec<_>>(),
        "max_groups": plan.max_groups,
    });
    let body: RunStatisticsRequest = serde_json::from_value(body).map_err(|error| {
        Error::Unexpected(format!("Invalid execution statistics request: {error}"))
    })?;
    let answer = kitaru
        .client
        .get_run_statistics()
        .body(body)
        .send()
        .await
        .context("Failed to fetch execution statistics")?
        .into_inner();
    let rows = answer
        .groups
        .into_iter()
        .map(|group| Row {
            keys: group
                .group_keys
                .into_iter()
                .map(|(name, value)| (name, serde_json::to_value(value).unwrap_or(Value::Null)))
                .collect(),
            run_count: u64::try_from(group.run_count).unwrap_or(0),
            metrics: group.metrics.into_iter().collect(),
        })
        .collect();
    Ok(Answer {
        rows,
        truncated: answer.truncated,
    })
}
