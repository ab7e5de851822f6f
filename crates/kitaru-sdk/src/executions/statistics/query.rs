//! What a statistics query asks for, and its checks: groupings and metrics
//! in their short forms (`time:day`, `cost:metadata:usd:sum`, `llm_*`),
//! filters, and the group limit.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use crate::Error;
use crate::executions::ExecutionStatus;
use crate::python_repr::{json_repr as repr, str_repr};

/// A statistics query as a caller gives it (the tool's arguments); the
/// default groups nothing and counts every execution of the project.
///
/// ```
/// use kitaru_sdk::executions::StatisticsQuery;
/// let query = StatisticsQuery {
///     group_by: vec!["flow".into(), "time:day".into()],
///     metrics: vec!["duration:duration:avg".into(), "llm_total_tokens".into()],
///     status: Some("completed".into()),
///     ..StatisticsQuery::default()
/// };
/// assert_eq!(query.max_groups, 1000);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct StatisticsQuery {
    /// Groupings: `status`, `flow`, `stack`, `tag`,
    /// `time:<hour|day|week|month>` (at most one), `metadata:<key>`.
    pub group_by: Vec<String>,
    /// Metrics: `<name>:<source>:<avg|sum|min|max>` (sources `duration`,
    /// `step_count`, `cached_step_count`, `output_artifact_count`),
    /// `<name>:metadata:<key>:<aggregation>`, an LLM shortcut
    /// (`llm_display_cost`, `llm_estimated_cost`, `llm_total_tokens`,
    /// `llm_incurred_tokens`), or an object with `name`, `source`,
    /// `aggregation` and (for metadata) `metadata_key`.
    pub metrics: Vec<Value>,
    /// Only executions of this flow (name or id).
    pub flow: Option<String>,
    /// Only executions in this status.
    pub status: Option<String>,
    /// Only executions on this stack (name or id).
    pub stack: Option<String>,
    /// Only executions with these tags.
    pub tags: Option<Vec<String>>,
    /// At most this many groups (1 to 10,000).
    pub max_groups: i64,
}

impl Default for StatisticsQuery {
    fn default() -> Self {
        Self {
            group_by: Vec::new(),
            metrics: Vec::new(),
            flow: None,
            status: None,
            stack: None,
            tags: None,
            max_groups: 1000,
        }
    }
}

/// A time bucket's size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Granularity {
    /// Hours (`2026-12-07 15:00:00`).
    Hour,
    /// Days (`2026-12-07`).
    Day,
    /// Weeks from Monday (the Monday's date).
    Week,
    /// Months (`2026-12-01`).
    Month,
}

impl Granularity {
    const ALL: [Self; 4] = [Self::Hour, Self::Day, Self::Week, Self::Month];

    /// Its name, as arguments and keys spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hour => "hour",
            Self::Day => "day",
            Self::Week => "week",
            Self::Month => "month",
        }
    }
}

/// What executions are grouped by.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dimension {
    /// Kitaru's status.
    Status,
    /// The flow (its id).
    Flow,
    /// The stack (its id).
    Stack,
    /// Each of the execution's tags (an execution with two tags is in two groups).
    Tag,
    /// The bucket of the start time.
    Time(Granularity),
    /// The value of one execution metadata key (scalars; others read null).
    Metadata(String),
}

/// One grouping and the key its value goes under.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grouping {
    /// What is grouped by.
    pub dimension: Dimension,
    /// The output key: `status`, `flow_id`, `stack_id`, `tag`, the
    /// granularity, or the metadata key.
    pub name: String,
}

/// Where a metric's per-execution value comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// Seconds from start to end (none while running).
    Duration,
    /// Distinct checkpoints (steps) run.
    StepCount,
    /// Distinct checkpoints whose output was cached.
    CachedStepCount,
    /// Distinct artifacts the steps produced.
    OutputArtifactCount,
    /// A numeric execution metadata value under this key.
    Metadata(String),
}

impl Source {
    const NAMES: [&'static str; 5] = [
        "duration",
        "step_count",
        "cached_step_count",
        "output_artifact_count",
        "metadata",
    ];

    fn name(&self) -> &'static str {
        match self {
            Self::Duration => "duration",
            Self::StepCount => "step_count",
            Self::CachedStepCount => "cached_step_count",
            Self::OutputArtifactCount => "output_artifact_count",
            Self::Metadata(_) => "metadata",
        }
    }
}

/// How a metric's values are combined over a group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Aggregation {
    /// The mean.
    Avg,
    /// The total.
    Sum,
    /// The least.
    Min,
    /// The greatest.
    Max,
}

impl Aggregation {
    const ALL: [Self; 4] = [Self::Avg, Self::Sum, Self::Min, Self::Max];

    /// Its name, as arguments spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Avg => "avg",
            Self::Sum => "sum",
            Self::Min => "min",
            Self::Max => "max",
        }
    }
}

/// One metric, with the key its value goes under.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Metric {
    /// The key its value goes under.
    pub name: String,
    /// Where each execution's value comes from.
    pub source: Source,
    /// How the values are combined.
    pub aggregation: Aggregation,
}

/// The LLM metric shortcuts: the sum of the flat usage metadata Kitaru
/// records on each execution.
const LLM_SHORTCUTS: [(&str, &str); 4] = [
    ("llm_display_cost", "kitaru_llm_display_cost_usd_v1"),
    ("llm_estimated_cost", "kitaru_llm_estimated_cost_usd_v1"),
    ("llm_total_tokens", "kitaru_llm_total_tokens_v1"),
    ("llm_incurred_tokens", "kitaru_llm_incurred_total_tokens_v1"),
];

/// The most groups a query may ask for.
const MAX_GROUPS: i64 = 10_000;

fn group_by_error(reason: impl Into<String>) -> Error {
    Error::argument("group_by", reason)
}

fn metrics_error(reason: impl Into<String>) -> Error {
    Error::argument("metrics", reason)
}

impl Grouping {
    /// Reads one grouping token (`status`, `time:day`, `metadata:team`).
    pub fn parse(raw: &str) -> Result<Self, Error> {
        let token = raw.trim();
        if token.is_empty() {
            return Err(group_by_error(
                "Execution statistics grouping tokens cannot be empty.",
            ));
        }
        let (dimension, name) = match token {
            "status" => (Dimension::Status, "status".to_owned()),
            "flow" => (Dimension::Flow, "flow_id".to_owned()),
            "stack" => (Dimension::Stack, "stack_id".to_owned()),
            "tag" => (Dimension::Tag, "tag".to_owned()),
            _ => {
                if let Some(granularity) = token.strip_prefix("time:") {
                    let wanted = granularity.trim().to_lowercase();
                    let Some(granularity) =
                        Granularity::ALL.into_iter().find(|g| g.as_str() == wanted)
                    else {
                        return Err(group_by_error(format!(
                            "Unsupported execution statistics time granularity {}. Expected one \
                             of: hour, day, week, month.",
                            str_repr(granularity.trim())
                        )));
                    };
                    (
                        Dimension::Time(granularity),
                        granularity.as_str().to_owned(),
                    )
                } else if let Some(key) = token.strip_prefix("metadata:") {
                    let key = key.trim();
                    if key.is_empty() {
                        return Err(group_by_error("Metadata grouping key cannot be empty."));
                    }
                    (Dimension::Metadata(key.to_owned()), key.to_owned())
                } else {
                    return Err(group_by_error(format!(
                        "Unsupported execution statistics grouping {}. Expected one of: status, \
                         flow, stack, tag, time:<hour|day|week|month>, metadata:<key>.",
                        str_repr(raw)
                    )));
                }
            }
        };
        Ok(Self { dimension, name })
    }

    /// The grouping as the server's statistics request spells it.
    pub(crate) fn zenml(&self) -> Value {
        let name = &self.name;
        match &self.dimension {
            Dimension::Status => json!({"type": "status", "name": name}),
            Dimension::Flow => json!({"type": "pipeline", "name": name}),
            Dimension::Stack => json!({"type": "stack", "name": name}),
            Dimension::Tag => json!({"type": "tag", "name": name}),
            Dimension::Time(granularity) => {
                json!({"type": "time", "name": name, "granularity": granularity.as_str()})
            }
            Dimension::Metadata(key) => {
                json!({"type": "metadata", "name": name, "metadata_key": key})
            }
        }
    }
}

impl Metric {
    /// Reads one metric: a short form or an object.
    pub fn parse(raw: &Value) -> Result<Self, Error> {
        match raw {
            Value::String(text) => Self::parse_token(text),
            Value::Object(fields) => Self::from_fields(fields),
            _ => Err(metrics_error(
                "Execution statistics metrics must be strings or objects.",
            )),
        }
    }

    fn parse_token(raw: &str) -> Result<Self, Error> {
        let token = raw.trim();
        if token.is_empty() {
            return Err(metrics_error(
                "Execution statistics metric tokens cannot be empty.",
            ));
        }
        if let Some((name, key)) = LLM_SHORTCUTS.iter().find(|(name, _)| *name == token) {
            return Ok(Self {
                name: (*name).to_owned(),
                source: Source::Metadata((*key).to_owned()),
                aggregation: Aggregation::Sum,
            });
        }
        let parts: Vec<&str> = token.split(':').map(str::trim).collect();
        match parts.as_slice() {
            [name, source, aggregation] => {
                Self::checked(&json!(name), &json!(source), &json!(aggregation), None)
            }
            [name, "metadata", key, aggregation] => Self::checked(
                &json!(name),
                &json!("metadata"),
                &json!(aggregation),
                Some(&json!(key)),
            ),
            _ => Err(metrics_error(format!(
                "Unsupported execution statistics metric {}. Expected \
                 <name>:<source>:<avg|sum|min|max> for built-in sources, \
                 <name>:metadata:<metadata_key>:<avg|sum|min|max> for metadata, or one of these \
                 LLM shortcuts: {}.",
                str_repr(raw),
                LLM_SHORTCUTS.map(|(name, _)| name).join(", ")
            ))),
        }
    }

    fn from_fields(fields: &Map<String, Value>) -> Result<Self, Error> {
        const FIELDS: [&str; 4] = ["name", "source", "aggregation", "metadata_key"];
        if let Some(unknown) = fields.keys().find(|key| !FIELDS.contains(&key.as_str())) {
            return Err(metrics_error(format!(
                "Unknown execution statistics metric field {}: a metric object has name, source, \
                 aggregation and, for metadata, metadata_key.",
                str_repr(unknown)
            )));
        }
        let field = |key: &str| {
            fields.get(key).ok_or_else(|| {
                metrics_error(format!(
                    "Execution statistics metric objects need `{key}` (with name, source and \
                     aggregation)."
                ))
            })
        };
        let key = fields.get("metadata_key").filter(|key| !key.is_null());
        Self::checked(field("name")?, field("source")?, field("aggregation")?, key)
    }

    /// A metric from its parts, each checked as kitaru 0.21 checks them.
    fn checked(
        name: &Value,
        source: &Value,
        aggregation: &Value,
        metadata_key: Option<&Value>,
    ) -> Result<Self, Error> {
        let name = match name {
            Value::String(name) if !name.trim().is_empty() => name.trim().to_owned(),
            _ => {
                return Err(metrics_error(
                    "Execution statistics metric name cannot be empty.",
                ));
            }
        };
        let lowered = |value: &Value| match value {
            Value::String(text) => text.trim().to_lowercase(),
            other => repr(other).to_lowercase(),
        };
        let source_name = lowered(source);
        if !Source::NAMES.contains(&source_name.as_str()) {
            return Err(metrics_error(format!(
                "Unsupported execution statistics metric source {}. Expected one of: {}.",
                repr(source),
                Source::NAMES.join(", ")
            )));
        }
        let wanted = lowered(aggregation);
        let Some(aggregation_value) = Aggregation::ALL.into_iter().find(|a| a.as_str() == wanted)
        else {
            return Err(metrics_error(format!(
                "Unsupported execution statistics metric aggregation {}. Expected one of: avg, \
                 sum, min, max.",
                repr(aggregation)
            )));
        };
        let metadata_key = match metadata_key {
            None => None,
            Some(Value::String(key)) if !key.trim().is_empty() => Some(key.trim().to_owned()),
            Some(Value::String(_)) => {
                return Err(metrics_error("Metadata metric key cannot be empty."));
            }
            Some(_) => return Err(metrics_error("Metadata metric keys are strings.")),
        };
        let source = match (source_name.as_str(), metadata_key) {
            ("metadata", Some(key)) => Source::Metadata(key),
            ("metadata", None) => {
                return Err(metrics_error(
                    "Metadata statistics metrics require metadata_key.",
                ));
            }
            (other, Some(_)) => {
                return Err(metrics_error(format!(
                    "'{other}' statistics metrics cannot use metadata_key."
                )));
            }
            ("duration", None) => Source::Duration,
            ("step_count", None) => Source::StepCount,
            ("cached_step_count", None) => Source::CachedStepCount,
            (_, None) => Source::OutputArtifactCount,
        };
        Ok(Self {
            name,
            source,
            aggregation: aggregation_value,
        })
    }

    /// The metric as the server's statistics request spells it.
    pub(crate) fn zenml(&self) -> Value {
        let mut metric = json!({
            "name": self.name,
            "aggregation": self.aggregation.as_str(),
            "source": self.source.name(),
        });
        if let Source::Metadata(key) = &self.source {
            metric["metadata_key"] = json!(key);
        }
        metric
    }
}

/// Refuses names given twice, naming each once, sorted.
fn unique<'a>(
    names: impl Iterator<Item = &'a str>,
    what: &str,
    error: impl Fn(String) -> Error,
) -> Result<(), Error> {
    let mut seen = BTreeSet::new();
    let mut twice = BTreeSet::new();
    for name in names {
        if !seen.insert(name) {
            twice.insert(name);
        }
    }
    if twice.is_empty() {
        return Ok(());
    }
    let listed: Vec<String> = twice.into_iter().map(str_repr).collect();
    Err(error(format!(
        "Duplicate {what} are not allowed: {}.",
        listed.join(", ")
    )))
}

/// A checked query.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Plan {
    pub groupings: Vec<Grouping>,
    pub metrics: Vec<Metric>,
    pub flow: Option<String>,
    pub status: Option<ExecutionStatus>,
    pub stack: Option<String>,
    pub tags: Option<Vec<String>>,
    pub max_groups: u64,
}

impl StatisticsQuery {
    /// Checks the query, in kitaru 0.21's order: the group limit,
    /// groupings, metrics, tags, status.
    pub(crate) fn plan(&self) -> Result<Plan, Error> {
        if !(1..=MAX_GROUPS).contains(&self.max_groups) {
            return Err(Error::argument(
                "max_groups",
                "`max_groups` must be between 1 and 10000.",
            ));
        }
        let groupings = self
            .group_by
            .iter()
            .map(|raw| Grouping::parse(raw))
            .collect::<Result<Vec<_>, _>>()?;
        unique(
            groupings.iter().map(|g| g.name.as_str()),
            "execution statistics grouping output names",
            group_by_error,
        )?;
        let times = groupings
            .iter()
            .filter(|g| matches!(g.dimension, Dimension::Time(_)))
            .count();
        if times > 1 {
            return Err(group_by_error(
                "At most one time statistics grouping is allowed.",
            ));
        }
        let metrics = self
            .metrics
            .iter()
            .map(Metric::parse)
            .collect::<Result<Vec<_>, _>>()?;
        unique(
            metrics.iter().map(|m| m.name.as_str()),
            "execution statistics metric names",
            metrics_error,
        )?;
        let tags = match &self.tags {
            None => None,
            Some(tags) => Some(
                tags.iter()
                    .map(|tag| {
                        let tag = tag.trim();
                        if tag.is_empty() {
                            Err(Error::argument(
                                "tags",
                                "`tags` cannot contain empty strings.",
                            ))
                        } else {
                            Ok(tag.to_owned())
                        }
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            ),
        };
        let status = self
            .status
            .as_deref()
            .map(ExecutionStatus::parse_filter)
            .transpose()?;
        Ok(Plan {
            groupings,
            metrics,
            flow: self.flow.clone(),
            status,
            stack: self.stack.clone(),
            tags,
            max_groups: self.max_groups as u64,
        })
    }
}

impl Plan {
    /// The status grouping's output name, if the query groups by status.
    pub fn status_grouping(&self) -> Option<&str> {
        self.groupings
            .iter()
            .find(|g| g.dimension == Dimension::Status)
            .map(|g| g.name.as_str())
    }

    /// The groupings the server computes: all but the status one (Kitaru's
    /// status is not one server status).
    pub fn backend_groupings(&self) -> impl Iterator<Item = &Grouping> {
        self.groupings
            .iter()
            .filter(|g| g.dimension != Dimension::Status)
    }

    /// The Kitaru statuses asked one by one when grouping by status: the
    /// filter's, else all five.
    pub fn status_buckets(&self) -> Vec<ExecutionStatus> {
        match self.status {
            Some(status) => vec![status],
            None => ExecutionStatus::ALL.to_vec(),
        }
    }

    /// The time grouping's output name, if any.
    pub fn time_grouping(&self) -> Option<&str> {
        self.groupings
            .iter()
            .find(|g| matches!(g.dimension, Dimension::Time(_)))
            .map(|g| g.name.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(group_by: &[&str], metrics: Vec<Value>) -> Result<Plan, String> {
        StatisticsQuery {
            group_by: group_by.iter().map(|s| (*s).to_owned()).collect(),
            metrics,
            ..StatisticsQuery::default()
        }
        .plan()
        .map_err(|e| e.to_string())
    }

    #[test]
    fn groupings_read_their_short_forms_with_default_names() {
        let plan = plan(
            &[
                " status ",
                "flow",
                "stack",
                "tag",
                "time: Week ",
                "metadata: team ",
            ],
            vec![],
        )
        .unwrap();
        let names: Vec<&str> = plan.groupings.iter().map(|g| g.name.as_str()).collect();
        assert_eq!(
            names,
            ["status", "flow_id", "stack_id", "tag", "week", "team"]
        );
        assert_eq!(
            plan.groupings[4].dimension,
            Dimension::Time(Granularity::Week)
        );
        assert_eq!(plan.status_grouping(), Some("status"));
        assert_eq!(plan.backend_groupings().count(), 5);
        assert_eq!(plan.time_grouping(), Some("week"));
        assert_eq!(
            plan.groupings[5].zenml(),
            json!({"type": "metadata", "name": "team", "metadata_key": "team"})
        );
        assert_eq!(
            plan.groupings[1].zenml(),
            json!({"type": "pipeline", "name": "flow_id"})
        );
    }

    #[test]
    fn bad_groupings_say_what_is_accepted() {
        for (group_by, expected) in [
            (
                vec![""],
                "Execution statistics grouping tokens cannot be empty.",
            ),
            (
                vec!["Status"],
                "Unsupported execution statistics grouping 'Status'. Expected one of: status, flow, stack, tag, time:<hour|day|week|month>, metadata:<key>.",
            ),
            (
                vec!["time:year"],
                "Unsupported execution statistics time granularity 'year'. Expected one of: hour, day, week, month.",
            ),
            (
                vec!["time:"],
                "Unsupported execution statistics time granularity ''.",
            ),
            (vec!["metadata: "], "Metadata grouping key cannot be empty."),
            (
                vec!["time:day", "time:hour"],
                "At most one time statistics grouping is allowed.",
            ),
            (
                vec!["tag", "flow", "tag", "flow", "status"],
                "Duplicate execution statistics grouping output names are not allowed: 'flow_id', 'tag'.",
            ),
            (
                vec!["metadata:day", "time:day"],
                "Duplicate execution statistics grouping output names are not allowed: 'day'.",
            ),
        ] {
            let error = plan(&group_by, vec![]).unwrap_err();
            assert!(error.contains(expected), "{group_by:?}: {error}");
            assert!(error.contains("`group_by`"), "{error}");
        }
    }

    #[test]
    fn metrics_read_short_forms_shortcuts_and_objects() {
        let plan = plan(
            &[],
            vec![
                json!("d : duration : AVG"),
                json!("cost:metadata:usd:sum"),
                json!("llm_total_tokens"),
                json!({"name": "steps", "source": "step_count", "aggregation": "max", "metadata_key": null}),
                json!({"name": " t ", "source": "METADATA", "aggregation": "min", "metadata_key": " k "}),
            ],
        )
        .unwrap();
        let zenml: Vec<Value> = plan.metrics.iter().map(Metric::zenml).collect();
        assert_eq!(
            zenml,
            [
                json!({"name": "d", "aggregation": "avg", "source": "duration"}),
                json!({"name": "cost", "aggregation": "sum", "source": "metadata", "metadata_key": "usd"}),
                json!({"name": "llm_total_tokens", "aggregation": "sum", "source": "metadata", "metadata_key": "kitaru_llm_total_tokens_v1"}),
                json!({"name": "steps", "aggregation": "max", "source": "step_count"}),
                json!({"name": "t", "aggregation": "min", "source": "metadata", "metadata_key": "k"}),
            ]
        );
    }

    #[test]
    fn bad_metrics_say_what_is_accepted() {
        for (metric, expected) in [
            (
                json!(" "),
                "Execution statistics metric tokens cannot be empty.",
            ),
            (
                json!("a:b"),
                "Unsupported execution statistics metric 'a:b'. Expected <name>:<source>:<avg|sum|min|max> for built-in sources, <name>:metadata:<metadata_key>:<avg|sum|min|max> for metadata, or one of these LLM shortcuts: llm_display_cost, llm_estimated_cost, llm_total_tokens, llm_incurred_tokens.",
            ),
            (
                json!("a:x:k:sum"),
                "Unsupported execution statistics metric 'a:x:k:sum'.",
            ),
            (
                json!("a:speed:avg"),
                "Unsupported execution statistics metric source 'speed'. Expected one of: duration, step_count, cached_step_count, output_artifact_count, metadata.",
            ),
            (
                json!("a:duration:median"),
                "Unsupported execution statistics metric aggregation 'median'. Expected one of: avg, sum, min, max.",
            ),
            (
                json!(":duration:avg"),
                "Execution statistics metric name cannot be empty.",
            ),
            (
                json!("a:metadata:avg"),
                "Metadata statistics metrics require metadata_key.",
            ),
            (
                json!("a:metadata: :avg"),
                "Metadata metric key cannot be empty.",
            ),
            (
                json!({"name": "a", "source": "duration", "aggregation": "sum", "metadata_key": "k"}),
                "'duration' statistics metrics cannot use metadata_key.",
            ),
            (
                json!({"name": "a", "source": 3, "aggregation": "sum"}),
                "Unsupported execution statistics metric source 3.",
            ),
            (
                json!({"name": "a", "source": "duration"}),
                "need `aggregation`",
            ),
            (
                json!({"name": "a", "source": "duration", "aggregation": "sum", "unit": "s"}),
                "Unknown execution statistics metric field 'unit'",
            ),
            (
                json!(7),
                "Execution statistics metrics must be strings or objects.",
            ),
        ] {
            let error = plan(&[], vec![metric.clone()]).unwrap_err();
            assert!(error.contains(expected), "{metric}: {error}");
            assert!(error.contains("`metrics`"), "{error}");
        }
        let error = plan(
            &[],
            vec![json!("a:duration:avg"), json!("a:step_count:sum")],
        )
        .unwrap_err();
        assert!(
            error.contains("Duplicate execution statistics metric names are not allowed: 'a'."),
            "{error}"
        );
    }

    #[test]
    fn filters_and_the_limit_are_checked() {
        let query = |change: fn(&mut StatisticsQuery)| {
            let mut query = StatisticsQuery::default();
            change(&mut query);
            query.plan().map_err(|e| e.to_string())
        };
        for max_groups in [0, 10_001, -1] {
            let error = query(match max_groups {
                0 => |q| q.max_groups = 0,
                10_001 => |q| q.max_groups = 10_001,
                _ => |q| q.max_groups = -1,
            })
            .unwrap_err();
            assert!(
                error.contains("`max_groups` must be between 1 and 10000."),
                "{error}"
            );
        }
        assert!(query(|q| q.max_groups = 10_000).is_ok());
        let error = query(|q| q.tags = Some(vec!["a".into(), " ".into()])).unwrap_err();
        assert!(
            error.contains("`tags` cannot contain empty strings."),
            "{error}"
        );
        let error = query(|q| q.status = Some("done".into())).unwrap_err();
        assert!(
            error.contains("Unsupported status filter 'done'."),
            "{error}"
        );
        let plan = query(|q| {
            q.status = Some(" Failed ".into());
            q.tags = Some(vec![" a ".into()]);
        })
        .unwrap();
        assert_eq!(plan.status, Some(ExecutionStatus::Failed));
        assert_eq!(plan.tags, Some(vec!["a".to_owned()]));
        assert_eq!(plan.status_buckets(), [ExecutionStatus::Failed]);
    }
}
