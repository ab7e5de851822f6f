//! Runtime logs: what an execution's checkpoints (or its runner) printed.

use std::cmp::Ordering;

use kitaru_client::Timestamp;
use kitaru_client::types::{LogEntry, StepRunResponse};

use super::checkpoints::checkpoint_name;
use super::{ClientError, InProject, PAGE_SIZE, lookup};
use crate::error::ApiContext;
use crate::{Error, Kitaru};
use kitaru_client::ApiError;
use kitaru_client::paging::Paged as _;

/// What `logs` answers when nothing was logged.
const NO_ENTRIES: &str = "No log entries found.";

/// The source of the logs the runner (not a checkpoint) wrote.
const RUNNER: &str = "runner";

/// Which log entries of an execution to read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogQuery {
    /// Only the logs of the checkpoint with this name.
    pub checkpoint: Option<String>,
    /// `step` (each checkpoint's own log) or `runner` (the runner of a
    /// server-launched execution).
    pub source: String,
    /// At most this many entries, the earliest ones (at least 1).
    pub limit: usize,
}

impl Default for LogQuery {
    /// Every checkpoint's log, the first 200 entries.
    fn default() -> Self {
        Self {
            checkpoint: None,
            source: "step".to_owned(),
            limit: 200,
        }
    }
}

/// Fetches an execution's log entries as text, oldest first, one line each
/// (`get_execution_logs`): `<timestamp> <LEVEL> [<checkpoint>] <message>`.
///
/// `source` `step` (the default) reads every checkpoint's own log (one
/// request per checkpoint that has one, oldest checkpoint first, stopping
/// once `limit` entries are in), optionally one checkpoint's; `runner`
/// reads the log of the runner that executed the flow, which only
/// server-launched executions have. The earliest `limit` entries are shown.
pub async fn logs(kitaru: &Kitaru, exec_id: &str, query: &LogQuery) -> Result<String, Error> {
    let limit = query.limit;
    if limit < 1 {
        return Err(Error::argument("limit", "`limit` must be >= 1."));
    }
    let source = query.source.trim().to_lowercase();
    if source.is_empty() {
        return Err(Error::argument(
            "source",
            "`source` must be a non-empty string.",
        ));
    }
    let checkpoint = query
        .checkpoint
        .as_deref()
        .map(|checkpoint| {
            let checkpoint = checkpoint.trim();
            if checkpoint.is_empty() {
                Err(Error::argument(
                    "checkpoint",
                    "`checkpoint` must be non-empty when provided.",
                ))
            } else {
                Ok(checkpoint)
            }
        })
        .transpose()?;
    if source == RUNNER && checkpoint.is_some() {
        return Err(Error::argument(
            "checkpoint",
            "`checkpoint` cannot be combined with `source='runner'`.",
        ));
    }
    let run = lookup::find_run(kitaru, exec_id).await?;
    let run_id = run.id.to_string();
    let mut lines = if source == RUNNER {
        let answer = kitaru
            .client
            .run_logs()
            .run_id(run.id)
            .source(RUNNER)
            .send()
            .await;
        entries(answer, RUNNER)?
            .into_iter()
            .map(|entry| Line::new(entry, None))
            .collect()
    } else {
        step_lines(kitaru, &run_id, &source, checkpoint, limit).await?
    };
    lines.sort_by(|a, b| by_time(a.time.as_ref(), b.time.as_ref()));
    lines.truncate(limit);
    if lines.is_empty() {
        return Ok(NO_ENTRIES.to_owned());
    }
    Ok(lines
        .iter()
        .map(Line::render)
        .collect::<Vec<_>>()
        .join("\n"))
}

/// The entries of the checkpoints' logs of `source`, checkpoint by
/// checkpoint, until `limit` entries are in.
async fn step_lines(
    kitaru: &Kitaru,
    run_id: &str,
    source: &str,
    checkpoint: Option<&str>,
    limit: usize,
) -> Result<Vec<Line>, Error> {
    let mut steps = kitaru
        .client
        .list_run_steps()
        .sort_by("created")
        .pipeline_run_id(run_id)
        .exclude_retried(true)
        .size(PAGE_SIZE)
        .in_project(kitaru)
        .all()
        .await
        .context(format!(
            "Failed to list the checkpoints of execution '{run_id}'"
        ))?;
    steps.sort_by(|a, b| {
        by_time(start_time(a).as_ref(), start_time(b).as_ref())
            .then_with(|| checkpoint_name(&a.name).cmp(checkpoint_name(&b.name)))
            .then_with(|| a.id.cmp(&b.id))
    });
    let mut lines = Vec::new();
    for step in steps {
        if lines.len() >= limit {
            break;
        }
        let name = checkpoint_name(&step.name);
        if checkpoint.is_some_and(|wanted| wanted != name) || !has_log(&step, source) {
            continue;
        }
        let answer = kitaru
            .client
            .get_step_logs()
            .step_id(step.id)
            .source(source)
            .send()
            .await;
        lines.extend(
            entries(answer, source)?
                .into_iter()
                .map(|entry| Line::new(entry, Some(name.to_owned()))),
        );
    }
    Ok(lines)
}

fn start_time(step: &StepRunResponse) -> Option<Timestamp> {
    step.body.as_ref().and_then(|body| body.start_time)
}

/// Whether the step may have a log of this source: the step lists its logs,
/// so steps without one need no request (the server would answer "No logs
/// found").
fn has_log(step: &StepRunResponse, source: &str) -> bool {
    match step
        .resources
        .as_ref()
        .and_then(|r| r.log_collection.as_ref())
    {
        Some(logs) => logs
            .iter()
            .any(|log| log.body.as_ref().is_some_and(|body| body.source == source)),
        None => true,
    }
}

/// The entries of a log answer; an absent log has none.
fn entries(
    answer: Result<kitaru_client::ResponseValue<Vec<LogEntry>>, ClientError>,
    source: &str,
) -> Result<Vec<LogEntry>, Error> {
    match answer {
        Ok(entries) => Ok(entries.into_inner()),
        Err(error) => entries_after(ApiError::from(error), source),
    }
}

/// What a failed log request means: no entries when the log does not
/// exist, an error otherwise.
fn entries_after(exception: ApiError, source: &str) -> Result<Vec<LogEntry>, Error> {
    let text = format!(
        "{} {}",
        exception.exception_type.as_deref().unwrap_or_default(),
        exception.message
    )
    .to_lowercase();
    if text.contains("no logs found") {
        Ok(Vec::new())
    } else if text.contains("notimplementederror")
        || (text.contains("otel") && text.contains("not implemented"))
    {
        Err(Error::State(
            "Logs for this execution are stored in an OTEL backend and cannot be fetched via the \
             Kitaru log retrieval API."
                .to_owned(),
        ))
    } else if text.contains("zenml.log_stores") {
        Err(Error::State(
            "Unable to retrieve runtime logs because the server log endpoint is incompatible \
             with this Kitaru client. This usually means the client and server are running \
             different Kitaru versions. Upgrade the server runtime or align the client and \
             server versions, then retry `kitaru executions logs`."
                .to_owned(),
        ))
    } else {
        Err(Error::api(
            format!("Failed to retrieve runtime logs for source '{source}'"),
            exception,
        ))
    }
}

/// Oldest first; entries without a time last.
fn by_time(a: Option<&Timestamp>, b: Option<&Timestamp>) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => a.cmp(b),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// One log entry, ready to print.
#[derive(Debug)]
struct Line {
    time: Option<Timestamp>,
    level: Option<i64>,
    checkpoint: Option<String>,
    message: String,
}

impl Line {
    fn new(entry: LogEntry, checkpoint: Option<String>) -> Self {
        Self {
            time: entry.timestamp,
            level: entry.level.map(i64::from),
            checkpoint,
            message: entry.message,
        }
    }

    /// `2026-11-24T18:34:04.518073Z INFO [think] thinking about agents`;
    /// parts that are missing are left out.
    fn render(&self) -> String {
        let parts = [
            self.time.map(|time| format!("{time}Z")),
            self.level.map(level_name),
            self.checkpoint
                .as_ref()
                .filter(|name| !name.is_empty())
                .map(|name| format!("[{name}]")),
            Some(self.message.clone()).filter(|message| !message.is_empty()),
        ];
        parts.into_iter().flatten().collect::<Vec<_>>().join(" ")
    }
}

/// Python's name for a logging level; other numbers as they are.
fn level_name(level: i64) -> String {
    match level {
        10 => "DEBUG".to_owned(),
        20 => "INFO".to_owned(),
        30 => "WARNING".to_owned(),
        40 => "ERROR".to_owned(),
        50 => "CRITICAL".to_owned(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn entry(message: &str, level: Option<i64>, timestamp: Option<&str>) -> LogEntry {
        serde_json::from_value(json!({
            "message": message, "name": "unknown", "level": level, "timestamp": timestamp,
            "module": null, "filename": null, "lineno": null, "chunk_index": 0, "total_chunks": 1,
        }))
        .unwrap()
    }

    #[test]
    fn a_line_shows_time_level_name_checkpoint_and_message() {
        let line = Line::new(
            entry(
                "thinking about agents",
                Some(20),
                Some("2026-11-24T18:34:04.518073Z"),
            ),
            Some("think".into()),
        );
        assert_eq!(
            line.render(),
            "2026-11-24T18:34:04.518073Z INFO [think] thinking about agents"
        );
    }

    #[test]
    fn levels_are_named_like_python_logging() {
        let names: Vec<String> = [10, 20, 30, 40, 50, 25]
            .into_iter()
            .map(level_name)
            .collect();
        assert_eq!(
            names,
            ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL", "25"]
        );
    }

    #[test]
    fn missing_parts_are_left_out() {
        let bare = Line::new(entry("runner says hi", None, None), None);
        assert_eq!(bare.render(), "runner says hi");
        let multi_line = Line::new(
            entry(
                "An exception has occurred.\nRuntimeError: deliberate failure",
                Some(40),
                None,
            ),
            Some("boom".into()),
        );
        assert_eq!(
            multi_line.render(),
            "ERROR [boom] An exception has occurred.\nRuntimeError: deliberate failure"
        );
    }

    #[test]
    fn entries_sort_by_time_with_untimed_ones_last_and_ties_kept() {
        let mut lines = [
            Line::new(entry("untimed", None, None), None),
            Line::new(entry("late", None, Some("2026-11-24T18:34:08Z")), None),
            Line::new(entry("early-a", None, Some("2026-11-24T18:34:04")), None),
            Line::new(entry("early-b", None, Some("2026-11-24T18:34:04Z")), None),
        ];
        lines.sort_by(|a, b| by_time(a.time.as_ref(), b.time.as_ref()));
        let order: Vec<&str> = lines.iter().map(|l| l.message.as_str()).collect();
        assert_eq!(order, ["early-a", "early-b", "late", "untimed"]);
    }

    #[test]
    fn a_missing_log_is_no_entries_and_other_errors_name_the_source() {
        let missing = ApiError {
            status: Some(404),
            exception_type: Some("KeyError".into()),
            message: "\"No logs found for source 'step' in step x\"".into(),
            timed_out: false,
        };
        assert!(classify(missing).unwrap().is_empty());
        let no_snapshot = ApiError {
            status: Some(400),
            exception_type: Some("ValueError".into()),
            message: "The run does not have a snapshot, thus the runner logs are not available."
                .into(),
            timed_out: false,
        };
        assert_eq!(
            classify(no_snapshot).unwrap_err().to_string(),
            "Failed to retrieve runtime logs for source 'runner': The run does not have a snapshot, thus the runner logs are not available."
        );
        let otel = ApiError {
            status: Some(501),
            exception_type: Some("NotImplementedError".into()),
            message: "not here".into(),
            timed_out: false,
        };
        assert!(
            classify(otel)
                .unwrap_err()
                .to_string()
                .contains("OTEL backend")
        );
    }

    fn classify(exception: ApiError) -> Result<Vec<LogEntry>, Error> {
        entries_after(exception, "runner")
    }
}
