//! Cohorts: the executions of one flow that passed one checkpoint, picked
//! and ranked for a batch replay (`kitaru_executions_cohort`).
//!
//! The flow's runs are read newest first, at most `max_scan` of them. The
//! cheap checks (status, originals only, deployment version, time window)
//! use what the runs query already carries; only the runs that pass them
//! have their steps read, in one query per page, to see whether `at` names
//! exactly one of their checkpoints.

use std::cmp::Ordering;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use futures_util::TryStreamExt as _;
use kitaru_client::ApiError;
use kitaru_client::paging::Paged as _;
use kitaru_client::types::PipelineRunResponse;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::execution::RunState;
use super::{ExecutionFilter, ExecutionStatus, checkpoints, usage};
use crate::deployments::{self, Selector};
use crate::python_repr::{json_str, str_repr};
use crate::{Error, Kitaru};

/// The fields a cohort can be ranked by.
const RANK_FIELDS: [&str; 4] = ["display_cost_usd", "duration", "started_at", "total_tokens"];

/// Runs per page of the runs query, at most (a hydrated run is ~20 kB).
const MAX_PAGE_SIZE: usize = 500;

/// Which executions a cohort takes and how it ranks them. [`CohortQuery::new`]
/// gives the reference's defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CohortQuery {
    /// The flow (exact name).
    pub flow: String,
    /// The checkpoint every execution must have passed: its name or call id,
    /// naming exactly one checkpoint of the execution.
    pub at: String,
    /// Only executions of the deployment version holding this tag.
    pub deployment: Option<String>,
    /// Only executions of this deployment version (not with `deployment`).
    pub deployment_version: Option<i64>,
    /// The ranking: `started_at`, `duration`, `display_cost_usd` or
    /// `total_tokens`, descending with a leading `-` (default `-started_at`).
    pub order_by: String,
    /// At most this many executions (at least 1; default 50).
    pub limit: i64,
    /// Leave replays out (default).
    pub originals_only: bool,
    /// Only executions in one of these statuses (default: completed).
    pub statuses: Vec<ExecutionStatus>,
    /// Only executions started at or after this time: ISO 8601, a date
    /// alone meaning its midnight; without an offset, UTC.
    pub since: Option<String>,
    /// Only executions started at or before this time (as `since`).
    pub until: Option<String>,
    /// Look at no more than this many of the flow's newest executions (at
    /// least 1; default 500).
    pub max_scan: i64,
}

impl CohortQuery {
    /// The completed original executions of `flow` that passed `at`, newest
    /// first, at most 50 out of the newest 500.
    pub fn new(flow: impl Into<String>, at: impl Into<String>) -> Self {
        Self {
            flow: flow.into(),
            at: at.into(),
            deployment: None,
            deployment_version: None,
            order_by: "-started_at".to_owned(),
            limit: 50,
            originals_only: true,
            statuses: vec![ExecutionStatus::Completed],
            since: None,
            until: None,
            max_scan: 500,
        }
    }
}

/// A resolved cohort: the chosen executions, best ranked first, and how
/// they were chosen.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct Cohort {
    /// The flow.
    pub flow: String,
    /// The checkpoint they passed, as asked.
    pub at: String,
    /// The deployment tag asked for.
    pub deployment: Option<String>,
    /// The deployment version asked for, or the one the tag names.
    pub deployment_version: Option<i64>,
    /// The ranking, as asked.
    pub order_by: String,
    /// The chosen executions, in rank order.
    pub exec_ids: Vec<String>,
    /// How many of the flow's executions were looked at.
    pub scanned: u64,
    /// How many were chosen.
    pub matched: u64,
    /// Whether `max_scan` stopped the scan before `limit` were found.
    pub partial: bool,
    /// How many executions each check left out.
    pub filtered: CohortFiltered,
    /// The chosen executions with the value they were ranked by.
    pub ranked: Vec<RankedExecution>,
}

/// How many executions each check of a cohort left out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct CohortFiltered {
    /// Not in a wanted status.
    pub status: u64,
    /// Replays, when only originals are wanted.
    pub originals: u64,
    /// Of another deployment version (or of none).
    pub deployment: u64,
    /// Without a checkpoint `at` names (or without checkpoints).
    pub checkpoint: u64,
    /// Started outside the `since`/`until` window.
    pub window: u64,
    /// With several checkpoints `at` names.
    pub ambiguous_checkpoint: u64,
}

/// One chosen execution and the value it was ranked by.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct RankedExecution {
    /// The execution's id.
    pub exec_id: String,
    /// Its value of the ranking field (seconds since the epoch for
    /// `started_at`, seconds for `duration`); null when it has none.
    pub sort_value: Option<f64>,
}

/// Resolves a cohort (`kitaru_executions_cohort`).
///
/// Fails when no execution matches (`not_found`), naming what each check
/// left out; bad arguments are `invalid_argument` errors naming the
/// argument.
///
/// ```no_run
/// # async fn example(kitaru: &kitaru_sdk::Kitaru) -> Result<(), kitaru_sdk::Error> {
/// use kitaru_sdk::executions::{self, CohortQuery};
///
/// let query = CohortQuery {
///     order_by: "total_tokens".into(),
///     limit: 5,
///     ..CohortQuery::new("research_agent", "summarize")
/// };
/// let cohort = executions::cohort(kitaru, &query).await?;
/// println!("{:?} of {} looked at", cohort.exec_ids, cohort.scanned);
/// # Ok(())
/// # }
/// ```
pub async fn cohort(kitaru: &Kitaru, query: &CohortQuery) -> Result<Cohort, Error> {
    let checked = Checked::of(query)?;
    let target_version = match (&query.deployment, query.deployment_version) {
        (_, Some(version)) => Some(version),
        (Some(tag), None) => {
            // The tag is this function's `deployment` argument.
            let selector = Selector::of(None, Some(tag)).map_err(|error| match error {
                Error::InvalidArgument { reason, .. } => Error::argument("deployment", reason),
                other => other,
            })?;
            Some(i64::from(
                deployments::get(kitaru, &query.flow, &selector)
                    .await?
                    .version,
            ))
        }
        (None, None) => None,
    };
    let line = kitaru.server().await?.line;
    let filter = ExecutionFilter::default().flow(query.flow.as_str());
    let max_scan = u64::try_from(query.max_scan).unwrap_or(u64::MAX);
    // The reference's pages (five times the limit, at least 50), never
    // more than the scan may read.
    let page_size = usize::try_from(query.limit)
        .unwrap_or(usize::MAX)
        .saturating_mul(5)
        .clamp(50, MAX_PAGE_SIZE)
        .min(usize::try_from(max_scan).unwrap_or(usize::MAX));
    // Only a wanted `running` or `waiting` needs the pending waits: a run
    // that may wait is neither of the other statuses, waits or not.
    let needs_waits = checked.statuses.iter().any(|status| status.may_wait());

    let mut filtered = CohortFiltered::default();
    let mut candidates: Vec<Candidate> = Vec::new();
    let mut scanned: u64 = 0;
    let mut pages = std::pin::pin!(filter.query(kitaru, line, page_size).pages_from(1));
    while scanned < max_scan {
        let page = match pages.try_next().await {
            Ok(Some(page)) => page,
            Ok(None) => break,
            Err(error) => {
                return Err(Error::api(
                    "Failed to list executions",
                    ApiError::read(error).await,
                ));
            }
        };
        let mut runs = Vec::new();
        for run in page.items.into_iter().filter(|run| filter.admits(run)) {
            if scanned >= max_scan {
                break;
            }
            scanned += 1;
            runs.push(Box::new(run));
        }
        let states = if needs_waits {
            RunState::load_all(kitaru, line, runs).await?
        } else {
            runs.into_iter()
                .map(|run| RunState::unresolved(run, line))
                .collect()
        };
        let mut passed = Vec::new();
        for state in states {
            match checked.cheap_check(&state, target_version) {
                Ok(candidate) => passed.push(candidate),
                Err(count) => *count.of(&mut filtered) += 1,
            }
        }
        if passed.is_empty() {
            continue;
        }
        let ids: Vec<String> = passed.iter().map(|c| c.exec_id.clone()).collect();
        let mut steps = checkpoints::steps_of(kitaru, &ids).await?;
        for candidate in passed {
            let steps = steps.remove(&candidate.exec_id).unwrap_or_default();
            match checkpoints::calls_named(&steps, line, &query.at) {
                1 => candidates.push(candidate),
                0 => filtered.checkpoint += 1,
                _ => filtered.ambiguous_checkpoint += 1,
            }
        }
    }

    candidates.sort_by(|a, b| a.rank(b, &checked.order));
    let limit = usize::try_from(query.limit).unwrap_or(usize::MAX);
    candidates.truncate(limit);
    let ranked: Vec<RankedExecution> = candidates
        .into_iter()
        .map(|candidate| RankedExecution {
            sort_value: candidate.value(checked.order.field),
            exec_id: candidate.exec_id,
        })
        .collect();
    if ranked.is_empty() {
        return Err(Error::NotFound(format!(
            "Cohort selection matched 0 executions. flow={}, at={}, deployment={}, \
             deployment_version={}, scanned={scanned}, filtered={}.",
            str_repr(&query.flow),
            str_repr(&query.at),
            query.deployment.as_deref().map_or("None".into(), str_repr),
            query
                .deployment_version
                .map_or("None".into(), |v| v.to_string()),
            filtered.python_repr(),
        )));
    }
    let matched = ranked.len() as u64;
    Ok(Cohort {
        flow: query.flow.clone(),
        at: query.at.clone(),
        deployment: query.deployment.clone(),
        deployment_version: query.deployment_version.or(target_version),
        order_by: query.order_by.clone(),
        exec_ids: ranked.iter().map(|r| r.exec_id.clone()).collect(),
        scanned,
        matched,
        partial: scanned >= max_scan && ranked.len() < limit,
        filtered,
        ranked,
    })
}

/// Which check left an execution out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Check {
    Status,
    Originals,
    Deployment,
    Window,
}

impl Check {
    fn of(self, filtered: &mut CohortFiltered) -> &mut u64 {
        match self {
            Self::Status => &mut filtered.status,
            Self::Originals => &mut filtered.originals,
            Self::Deployment => &mut filtered.deployment,
            Self::Window => &mut filtered.window,
        }
    }
}

impl CohortFiltered {
    /// The counts as Python shows the reference's dict.
    fn python_repr(&self) -> String {
        format!(
            "{{'status': {}, 'originals': {}, 'deployment': {}, 'checkpoint': {}, 'window': {}, \
             'ambiguous_checkpoint': {}}}",
            self.status,
            self.originals,
            self.deployment,
            self.checkpoint,
            self.window,
            self.ambiguous_checkpoint
        )
    }
}

/// The ranking field and direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Order {
    field: &'static str,
    descending: bool,
}

impl Order {
    fn parse(order_by: &str) -> Result<Self, Error> {
        let trimmed = order_by.trim();
        if trimmed.is_empty() {
            return Err(Error::argument(
                "order_by",
                "`order_by` must be a non-empty field name.",
            ));
        }
        let (field, descending) = match trimmed.strip_prefix('-') {
            Some(rest) if rest.trim().is_empty() => {
                return Err(Error::argument(
                    "order_by",
                    format!(
                        "Invalid `order_by` value {}. Use a field name such as \
                         '-display_cost_usd'.",
                        str_repr(order_by)
                    ),
                ));
            }
            Some(rest) => (rest.trim(), true),
            None => (trimmed, false),
        };
        let field = RANK_FIELDS
            .into_iter()
            .find(|known| *known == field)
            .ok_or_else(|| {
                Error::argument(
                    "order_by",
                    format!(
                        "Unsupported order_by field {}. Supported fields: {}.",
                        str_repr(field),
                        RANK_FIELDS.join(", ")
                    ),
                )
            })?;
        Ok(Self { field, descending })
    }
}

/// The query's arguments, checked and read.
struct Checked {
    order: Order,
    statuses: Vec<ExecutionStatus>,
    originals_only: bool,
    since: Option<NaiveDateTime>,
    until: Option<NaiveDateTime>,
}

impl Checked {
    /// Checks the arguments in the reference's order.
    fn of(query: &CohortQuery) -> Result<Self, Error> {
        if query.flow.trim().is_empty() {
            return Err(Error::argument("flow", "`flow` is required."));
        }
        if query.at.trim().is_empty() {
            return Err(Error::argument("at", "`at` is required."));
        }
        if query.deployment.is_some() && query.deployment_version.is_some() {
            return Err(Error::argument(
                "deployment",
                "Pass either `deployment` or `deployment_version`, not both.",
            ));
        }
        if query.limit < 1 {
            return Err(Error::argument("limit", "`limit` must be >= 1."));
        }
        if query.max_scan < 1 {
            return Err(Error::argument("max_scan", "`max_scan` must be >= 1."));
        }
        let order = Order::parse(&query.order_by)?;
        if query.statuses.is_empty() {
            return Err(Error::argument(
                "status",
                "At least one status filter is required.",
            ));
        }
        Ok(Self {
            order,
            statuses: query.statuses.clone(),
            originals_only: query.originals_only,
            since: instant("since", query.since.as_deref())?,
            until: instant("until", query.until.as_deref())?,
        })
    }

    /// The execution as a candidate, or the check that leaves it out.
    fn cheap_check(
        &self,
        state: &RunState,
        target_version: Option<i64>,
    ) -> Result<Candidate, Check> {
        if !self.statuses.contains(&state.status()) {
            return Err(Check::Status);
        }
        let run = state.run();
        let is_replay = run
            .resources
            .as_ref()
            .is_some_and(|r| r.original_run.is_some());
        if self.originals_only && is_replay {
            return Err(Check::Originals);
        }
        let candidate = Candidate::of(run);
        if let Some(target) = target_version {
            let version = deployment_version(&candidate.metadata);
            if version.is_none_or(|version| version.trim() != target.to_string()) {
                return Err(Check::Deployment);
            }
        }
        if self.since.is_some() || self.until.is_some() {
            let Some(started) = candidate.started else {
                return Err(Check::Window);
            };
            if self.since.is_some_and(|since| started < since)
                || self.until.is_some_and(|until| started > until)
            {
                return Err(Check::Window);
            }
        }
        Ok(candidate)
    }
}

/// The deployment version a run's metadata records, as Python's `str()`
/// shows it: `deployment_version`, `kitaru_deployment_version`, or
/// `kitaru_deployment.version`, the first one not blank.
fn deployment_version(metadata: &Map<String, Value>) -> Option<String> {
    let nested = metadata
        .get("kitaru_deployment")
        .and_then(Value::as_object)
        .and_then(|nested| nested.get("version"));
    ["deployment_version", "kitaru_deployment_version"]
        .iter()
        .map(|key| metadata.get(*key))
        .chain([nested])
        .flatten()
        .filter(|value| !value.is_null())
        .map(json_str)
        .find(|text| !text.trim().is_empty())
}

/// A `since`/`until` argument as a UTC time without offset, read as
/// Python's `datetime.fromisoformat` reads it (a date alone is its
/// midnight); blank means no bound. A time with an offset is converted to
/// UTC (the reference cannot compare it with the server's times).
fn instant(argument: &str, text: Option<&str>) -> Result<Option<NaiveDateTime>, Error> {
    let Some(text) = text.map(str::trim).filter(|text| !text.is_empty()) else {
        return Ok(None);
    };
    parse_iso(text).map(Some).ok_or_else(|| {
        Error::argument(
            argument,
            format!("Invalid isoformat string: {}", str_repr(text)),
        )
    })
}

/// `YYYY-MM-DD`, optionally followed by one separator character and
/// `HH[:MM[:SS[.f…]]]`, optionally followed by `Z` or `±HH:MM[:SS]`.
fn parse_iso(text: &str) -> Option<NaiveDateTime> {
    let date = NaiveDate::parse_from_str(text.get(..10)?, "%Y-%m-%d").ok()?;
    let mut rest = text.get(10..)?.chars();
    let Some(_separator) = rest.next() else {
        return Some(date.and_time(NaiveTime::MIN));
    };
    let rest = rest.as_str();
    let (time, offset_seconds) = split_offset(rest)?;
    let time = parse_time(time)?;
    let local = date.and_time(time);
    Some(local - chrono::Duration::seconds(offset_seconds))
}

/// The time part and the offset in seconds east of UTC (0 without one).
fn split_offset(rest: &str) -> Option<(&str, i64)> {
    if let Some(time) = rest.strip_suffix('Z') {
        return Some((time, 0));
    }
    let Some(at) = rest.find(['+', '-']) else {
        return Some((rest, 0));
    };
    let (time, offset) = rest.split_at(at);
    let sign = if offset.starts_with('-') { -1 } else { 1 };
    let fields: Vec<&str> = offset[1..].split(':').collect();
    if fields.is_empty() || fields.len() > 3 {
        return None;
    }
    let mut seconds = 0;
    for (field, scale) in fields.iter().zip([3600, 60, 1]) {
        if field.len() != 2 || !field.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        seconds += field.parse::<i64>().ok()? * scale;
    }
    Some((time, sign * seconds))
}

/// `HH[:MM[:SS[.f…]]]`.
fn parse_time(time: &str) -> Option<NaiveTime> {
    let (clock, fraction) = match time.split_once(['.', ',']) {
        Some((clock, fraction)) => (clock, Some(fraction)),
        None => (time, None),
    };
    let fields: Vec<u32> = clock
        .split(':')
        .map(|field| {
            (field.len() == 2 && field.bytes().all(|b| b.is_ascii_digit()))
                .then(|| field.parse().ok())
                .flatten()
        })
        .collect::<Option<_>>()?;
    if fields.is_empty() || fields.len() > 3 || (fraction.is_some() && fields.len() != 3) {
        return None;
    }
    let micros = match fraction {
        None => 0,
        Some(digits) if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
            format!("{digits:0<6}")[..6].parse().ok()?
        }
        Some(_) => return None,
    };
    let field = |index: usize| fields.get(index).copied().unwrap_or(0);
    NaiveTime::from_hms_micro_opt(field(0), field(1), field(2), micros)
}

/// An execution that passed the cheap checks: what ranking it needs.
struct Candidate {
    exec_id: String,
    started: Option<NaiveDateTime>,
    ended: Option<NaiveDateTime>,
    metadata: Map<String, Value>,
}

impl Candidate {
    fn of(run: &PipelineRunResponse) -> Self {
        let metadata = run.metadata.as_ref();
        Self {
            exec_id: run.id.to_string(),
            started: metadata.and_then(|m| m.start_time).map(|t| t.naive_utc()),
            ended: metadata.and_then(|m| m.end_time).map(|t| t.naive_utc()),
            metadata: metadata.map(|m| m.run_metadata.clone()).unwrap_or_default(),
        }
    }

    /// Its value of `field`.
    fn value(&self, field: &str) -> Option<f64> {
        match field {
            "started_at" => self.started.map(seconds_since_epoch),
            "duration" => {
                let micros = (self.ended? - self.started?).num_microseconds()?;
                // As Python's `timedelta.total_seconds()`: one rounding.
                Some(micros as f64 / 1e6)
            }
            "display_cost_usd" | "total_tokens" => {
                number(usage::summary(&self.metadata)?.get(field)?)
            }
            _ => None,
        }
    }

    /// Rank order: by the field's value (absent last), then the newest
    /// start, then the id.
    fn rank(&self, other: &Self, order: &Order) -> Ordering {
        let primary = |candidate: &Self| {
            candidate
                .value(order.field)
                .map(|value| if order.descending { -value } else { value })
        };
        let newest = |candidate: &Self| candidate.value("started_at").map(|value| -value);
        present_first(primary(self), primary(other))
            .then_with(|| present_first(newest(self), newest(other)))
            .then_with(|| self.exec_id.cmp(&other.exec_id))
    }
}

/// Values in ascending order, absent ones after them.
fn present_first(a: Option<f64>, b: Option<f64>) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => a.total_cmp(&b),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// A server time (UTC) in seconds since the epoch, computed as Python's
/// `datetime.timestamp()` computes it: whole seconds plus the fraction.
fn seconds_since_epoch(time: NaiveDateTime) -> f64 {
    let utc = time.and_utc();
    utc.timestamp() as f64 + f64::from(utc.timestamp_subsec_micros()) / 1e6
}

/// A usage figure as a number, as Python's `float()` reads it; `None`
/// when it is no number.
fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(number) => number.as_f64(),
        Value::Bool(flag) => Some(f64::from(u8::from(*flag))),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_by_takes_a_known_field_and_an_optional_minus() {
        assert_eq!(
            Order::parse(" -duration ").unwrap(),
            Order {
                field: "duration",
                descending: true
            }
        );
        assert_eq!(
            Order::parse("total_tokens").unwrap(),
            Order {
                field: "total_tokens",
                descending: false
            }
        );
        assert!(
            Order::parse("  ")
                .unwrap_err()
                .to_string()
                .contains("`order_by` must be a non-empty field name.")
        );
        assert!(Order::parse(" - ").unwrap_err().to_string().contains(
            "Invalid `order_by` value ' - '. Use a field name such as '-display_cost_usd'."
        ));
        assert!(Order::parse("-cost").unwrap_err().to_string().contains(
            "Unsupported order_by field 'cost'. Supported fields: display_cost_usd, duration, \
             started_at, total_tokens."
        ));
    }

    #[test]
    fn instants_read_as_python_reads_them() {
        let at = |text: &str| parse_iso(text).map(|t| t.to_string());
        assert_eq!(at("2026-12-07").as_deref(), Some("2026-12-07 00:00:00"));
        assert_eq!(
            at("2026-12-07T10:11").as_deref(),
            Some("2026-12-07 10:11:00")
        );
        assert_eq!(
            at("2026-12-07 10:11:12.5").as_deref(),
            Some("2026-12-07 10:11:12.500")
        );
        assert_eq!(
            at("2026-12-07T10:11:12+02:00").as_deref(),
            Some("2026-12-07 08:11:12")
        );
        assert_eq!(
            at("2026-12-07T10:11:12Z").as_deref(),
            Some("2026-12-07 10:11:12")
        );
        assert_eq!(at("2026-12-07T10").as_deref(), Some("2026-12-07 10:00:00"));
        for bad in [
            "yesterday",
            "2026-13-01",
            "2026-12-07T1",
            "2026-12-07T10:11:12.x",
        ] {
            assert_eq!(at(bad), None, "{bad}");
        }
        let error = instant("since", Some(" nope ")).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("Invalid isoformat string: 'nope'"),
            "{error}"
        );
        assert_eq!(instant("since", Some("  ")).unwrap(), None);
    }

    #[test]
    fn timestamps_match_pythons() {
        let time = parse_iso("2026-11-26T13:45:22.900000").unwrap();
        assert_eq!(seconds_since_epoch(time), 1_795_700_722.9);
    }

    #[test]
    fn the_deployment_version_is_read_from_three_keys() {
        let metadata = |value: Value| value.as_object().unwrap().clone();
        assert_eq!(
            deployment_version(&metadata(serde_json::json!({"deployment_version": 3}))),
            Some("3".into())
        );
        assert_eq!(
            deployment_version(&metadata(serde_json::json!({
                "deployment_version": " ", "kitaru_deployment_version": "4"
            }))),
            Some("4".into())
        );
        assert_eq!(
            deployment_version(&metadata(
                serde_json::json!({"kitaru_deployment": {"version": 2.0}})
            )),
            Some("2.0".into())
        );
        assert_eq!(deployment_version(&Map::new()), None);
    }

    fn candidate(id: &str, started: Option<&str>, cost: Option<Value>) -> Candidate {
        let mut metadata = Map::new();
        if let Some(cost) = cost {
            metadata.insert(
                "llm_usage_summary_v1".into(),
                serde_json::json!({"schema_version": 1, "display_cost_usd": cost}),
            );
        }
        Candidate {
            exec_id: id.into(),
            started: started.and_then(parse_iso),
            ended: None,
            metadata,
        }
    }

    #[test]
    fn ranking_puts_missing_values_last_then_the_newest_then_the_id() {
        let order = Order::parse("-display_cost_usd").unwrap();
        let mut candidates = [
            candidate("a", Some("2026-01-01T00:00:00"), None),
            candidate(
                "b",
                Some("2026-01-02T00:00:00"),
                Some(serde_json::json!(0.5)),
            ),
            candidate(
                "c",
                Some("2026-01-01T00:00:00"),
                Some(serde_json::json!("2")),
            ),
            candidate("d", Some("2026-01-03T00:00:00"), None),
            candidate("e", None, None),
            candidate("f", Some("2026-01-03T00:00:00"), None),
        ];
        candidates.sort_by(|a, b| a.rank(b, &order));
        let ids: Vec<&str> = candidates.iter().map(|c| c.exec_id.as_str()).collect();
        assert_eq!(ids, ["c", "b", "d", "f", "a", "e"]);
    }

    #[test]
    fn the_zero_match_error_shows_the_counts_as_python_does() {
        let filtered = CohortFiltered {
            checkpoint: 2,
            ..CohortFiltered::default()
        };
        assert_eq!(
            filtered.python_repr(),
            "{'status': 0, 'originals': 0, 'deployment': 0, 'checkpoint': 2, 'window': 0, \
             'ambiguous_checkpoint': 0}"
        );
    }
}
