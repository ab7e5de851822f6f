//! Why an execution or checkpoint failed, from what the server recorded.

use kitaru_client::types::ExceptionInfo;
use serde::{Deserialize, Serialize};

use crate::ServerLine;

/// A failure, as far as the server recorded it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct Failure {
    /// What went wrong. On the kitaru 0.10 line the exception's message
    /// (e.g. `deliberate failure`), else the server's status reason; on the
    /// 0.21 line the server's status reason, else the exception as Python
    /// prints it (`RuntimeError: deliberate failure`). Then the last line of
    /// the traceback, else a generic `Execution <id> failed.` /
    /// `Checkpoint '<name>' failed.`.
    pub message: String,
    /// The exception's type as Python prints it: `RuntimeError` for built-in
    /// exceptions, `module.Class` otherwise; null when unknown.
    pub exception_type: Option<String>,
    /// The traceback the server stored, verbatim.
    pub traceback: Option<String>,
    /// Where the failure most likely comes from.
    pub origin: FailureOrigin,
}

/// Where a failure most likely comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum FailureOrigin {
    /// The flow's or checkpoint's own code raised.
    UserCode,
    /// Kitaru's runtime: (de)serialising or materialising values.
    Runtime,
    /// Talking to the Kitaru server or another backend.
    Backend,
    /// A replay whose calls no longer match the recorded execution.
    Divergence,
    /// Nothing recorded says.
    Unknown,
}

/// Phrases (lower case) that point at an origin, checked in this order.
const ORIGIN_HINTS: [(FailureOrigin, &[&str]); 3] = [
    (
        FailureOrigin::Divergence,
        &["diverg", "durable call sequence", "replay mismatch"],
    ),
    (
        FailureOrigin::Runtime,
        &[
            "serialize",
            "serialization",
            "deserialize",
            "materializ",
            "hydrate",
            "reconstruct",
            "materializer",
        ],
    ),
    (
        FailureOrigin::Backend,
        &[
            "backend communication",
            "connection refused",
            "transport error",
            "failed to fetch",
            "api unavailable",
        ],
    ),
];

/// What failed: decides the fallback message and the default origin.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Subject<'a> {
    /// An execution, by id.
    Execution(&'a str),
    /// A checkpoint attempt, by checkpoint name.
    Checkpoint(&'a str),
}

impl Failure {
    /// The failure recorded for an execution or checkpoint attempt, or `None`
    /// when nothing was recorded and it did not fail.
    ///
    /// `failed` says whether its status is failed: only then does a generic
    /// message stand in for a missing one. The message is worded as the
    /// reference of the server's `line` words it (see [`Failure::message`]).
    pub(crate) fn from_record(
        subject: Subject<'_>,
        failed: bool,
        status_reason: Option<&str>,
        exception: Option<&ExceptionInfo>,
        line: ServerLine,
    ) -> Option<Self> {
        let status_reason = non_blank(status_reason);
        let traceback = exception.map(|info| info.traceback.as_str());
        let last_traceback_line = traceback.and_then(|text| {
            text.lines()
                .rev()
                .map(str::trim)
                .find(|line| !line.is_empty())
        });
        let type_name = exception
            .and_then(|info| info.source.as_deref())
            .and_then(python_type_name);
        let exception_message = non_blank(exception.and_then(|info| info.message.as_deref()));
        let recorded = match line {
            ServerLine::Kitaru010 => exception_message
                .map(str::to_owned)
                .or(status_reason.map(str::to_owned)),
            // ZenML 0.98 tracebacks end with the exception as Python prints
            // it, which kitaru 0.21 shows: the same, whole.
            ServerLine::Kitaru021 => status_reason.map(str::to_owned).or_else(|| {
                type_name
                    .as_ref()
                    .zip(exception_message)
                    .map(|(type_name, text)| format!("{type_name}: {text}"))
            }),
        };
        let message = recorded
            .or(last_traceback_line.map(str::to_owned))
            .or_else(|| failed.then(|| subject.fallback_message()))?;
        let exception_type = type_name.or_else(|| type_prefix(&message));
        let origin = origin(status_reason, traceback).unwrap_or(match subject {
            Subject::Checkpoint(_) => FailureOrigin::UserCode,
            Subject::Execution(_) if exception.is_some() => FailureOrigin::UserCode,
            Subject::Execution(_) => FailureOrigin::Unknown,
        });
        Some(Self {
            message,
            exception_type,
            traceback: traceback.map(str::to_owned),
            origin,
        })
    }
}

impl Subject<'_> {
    fn fallback_message(self) -> String {
        match self {
            Subject::Execution(id) => format!("Execution {id} failed."),
            Subject::Checkpoint(name) => format!("Checkpoint '{name}' failed."),
        }
    }
}

fn non_blank(text: Option<&str>) -> Option<&str> {
    text.filter(|text| !text.trim().is_empty())
}

/// The name Python's traceback gives an exception class from its import
/// path: built-ins and `__main__` classes by their bare name.
fn python_type_name(source: &str) -> Option<String> {
    let source = source.trim();
    let name = source
        .strip_prefix("builtins.")
        .or_else(|| source.strip_prefix("__main__."))
        .unwrap_or(source);
    (!name.is_empty()).then(|| name.to_owned())
}

/// `ValueError` from a line like `ValueError: bad input`.
fn type_prefix(line: &str) -> Option<String> {
    let (head, _) = line.split_once(':')?;
    let head = head.trim_end();
    let mut chars = head.chars();
    let first = chars.next()?;
    let valid = (first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
    valid.then(|| head.to_owned())
}

fn origin(status_reason: Option<&str>, traceback: Option<&str>) -> Option<FailureOrigin> {
    let text = format!(
        "{}\n{}",
        status_reason.unwrap_or_default(),
        traceback.unwrap_or_default()
    )
    .to_lowercase();
    ORIGIN_HINTS
        .iter()
        .find(|(_, hints)| hints.iter().any(|hint| text.contains(hint)))
        .map(|(origin, _)| *origin)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exception(traceback: &str, source: Option<&str>, message: Option<&str>) -> ExceptionInfo {
        ExceptionInfo {
            traceback: traceback.to_owned(),
            source: source.map(str::to_owned),
            message: message.map(str::to_owned),
            user_code_line: None,
        }
    }

    /// The failure as the kitaru 0.10 line words it.
    fn on_010(
        subject: Subject<'_>,
        failed: bool,
        status_reason: Option<&str>,
        exception: Option<&ExceptionInfo>,
    ) -> Option<Failure> {
        Failure::from_record(
            subject,
            failed,
            status_reason,
            exception,
            ServerLine::Kitaru010,
        )
    }

    /// The failure of a failed execution or checkpoint as the kitaru 0.21
    /// line words it.
    fn on_021(
        subject: Subject<'_>,
        status_reason: Option<&str>,
        exception: &ExceptionInfo,
    ) -> Failure {
        Failure::from_record(
            subject,
            true,
            status_reason,
            Some(exception),
            ServerLine::Kitaru021,
        )
        .unwrap()
    }

    const TRACEBACK: &str =
        "File \"flows/seed_flows.py\", line 99, in boom\n  raise RuntimeError(FAILURE_MESSAGE)\n";

    #[test]
    fn a_failed_run_reports_the_real_exception() {
        let info = exception(
            TRACEBACK,
            Some("builtins.RuntimeError"),
            Some("deliberate failure"),
        );
        let failure = on_010(Subject::Execution("r1"), true, None, Some(&info)).unwrap();
        assert_eq!(failure.message, "deliberate failure");
        assert_eq!(failure.exception_type.as_deref(), Some("RuntimeError"));
        assert_eq!(failure.traceback.as_deref(), Some(TRACEBACK));
        assert_eq!(failure.origin, FailureOrigin::UserCode);
    }

    #[test]
    fn a_non_builtin_exception_keeps_its_module() {
        let info = exception(
            TRACEBACK,
            Some("requests.exceptions.HTTPError"),
            Some("404"),
        );
        let failure = on_010(Subject::Checkpoint("fetch"), true, None, Some(&info)).unwrap();
        assert_eq!(
            failure.exception_type.as_deref(),
            Some("requests.exceptions.HTTPError")
        );
    }

    #[test]
    fn without_an_exception_message_the_status_reason_then_the_traceback_speak() {
        let info = exception(TRACEBACK, None, None);
        let from_reason = on_010(
            Subject::Execution("r1"),
            true,
            Some("Run timed out."),
            Some(&info),
        )
        .unwrap();
        assert_eq!(from_reason.message, "Run timed out.");
        let from_traceback = on_010(Subject::Execution("r1"), true, None, Some(&info)).unwrap();
        assert_eq!(
            from_traceback.message,
            "raise RuntimeError(FAILURE_MESSAGE)"
        );
        assert_eq!(from_traceback.exception_type, None);
    }

    #[test]
    fn the_type_is_read_from_a_python_style_last_line_when_the_source_is_missing() {
        let info = exception("Traceback ...\nKeyError: 'x'\n\n", None, Some("  "));
        let failure = on_010(Subject::Checkpoint("c"), true, None, Some(&info)).unwrap();
        assert_eq!(failure.message, "KeyError: 'x'");
        assert_eq!(failure.exception_type.as_deref(), Some("KeyError"));
    }

    #[test]
    fn a_failure_with_nothing_recorded_gets_a_generic_message() {
        let run = on_010(Subject::Execution("r1"), true, None, None).unwrap();
        assert_eq!(run.message, "Execution r1 failed.");
        assert_eq!(run.origin, FailureOrigin::Unknown);
        assert_eq!(run.traceback, None);
        let step = on_010(Subject::Checkpoint("boom"), true, None, None).unwrap();
        assert_eq!(step.message, "Checkpoint 'boom' failed.");
        assert_eq!(step.origin, FailureOrigin::UserCode);
    }

    #[test]
    fn nothing_recorded_and_not_failed_is_no_failure() {
        assert_eq!(on_010(Subject::Checkpoint("ok"), false, None, None), None);
    }

    #[test]
    fn the_origin_follows_the_first_matching_hint() {
        let cases = [
            (
                "DivergenceError: durable call sequence changed",
                FailureOrigin::Divergence,
            ),
            ("could not deserialize the artifact", FailureOrigin::Runtime),
            ("Connection refused by 127.0.0.1", FailureOrigin::Backend),
            (
                "diverged while trying to materialize",
                FailureOrigin::Divergence,
            ),
        ];
        for (traceback, expected) in cases {
            let info = exception(traceback, None, None);
            let failure = on_010(Subject::Execution("r"), true, None, Some(&info)).unwrap();
            assert_eq!(failure.origin, expected, "{traceback}");
        }
        let from_reason =
            on_010(Subject::Execution("r"), true, Some("Transport error"), None).unwrap();
        assert_eq!(from_reason.origin, FailureOrigin::Backend);
    }

    #[test]
    fn fields_serialize_in_the_reference_order() {
        let failure = on_010(Subject::Execution("r1"), true, None, None).unwrap();
        let text = serde_json::to_string(&failure).unwrap();
        assert_eq!(
            text,
            r#"{"message":"Execution r1 failed.","exception_type":null,"traceback":null,"origin":"unknown"}"#
        );
    }

    /// The tail of a real ZenML 0.98 traceback (kitaru 0.21): it ends with
    /// the exception as Python prints it.
    const TRACEBACK_098: &str = "Traceback (most recent call last):\n  File \"/tmp/kpay1/proj/flows/pay.py\", line 79, in boom\n    raise RuntimeError(\"deliberate failure\")\nRuntimeError: deliberate failure\n";

    #[test]
    fn on_the_0_21_line_the_message_is_the_exception_as_python_prints_it() {
        let info = exception(
            TRACEBACK_098,
            Some("builtins.RuntimeError"),
            Some("deliberate failure"),
        );
        for subject in [Subject::Execution("r1"), Subject::Checkpoint("boom")] {
            let failure = on_021(subject, None, &info);
            assert_eq!(failure.message, "RuntimeError: deliberate failure");
            assert_eq!(failure.exception_type.as_deref(), Some("RuntimeError"));
            assert_eq!(failure.traceback.as_deref(), Some(TRACEBACK_098));
            assert_eq!(failure.origin, FailureOrigin::UserCode);
        }
    }

    #[test]
    fn on_the_0_21_line_a_status_reason_comes_first() {
        let info = exception(
            TRACEBACK_098,
            Some("builtins.RuntimeError"),
            Some("deliberate failure"),
        );
        let failure = on_021(Subject::Execution("r1"), Some("Run timed out."), &info);
        assert_eq!(failure.message, "Run timed out.");
        assert_eq!(failure.exception_type.as_deref(), Some("RuntimeError"));
    }

    #[test]
    fn on_the_0_21_line_a_multi_line_message_is_kept_whole_and_a_module_named() {
        let info = exception(
            "Traceback ...\nflows.pay.Refused: first line\nsecond line\n",
            Some("flows.pay.Refused"),
            Some("first line\nsecond line"),
        );
        let failure = on_021(Subject::Checkpoint("c"), None, &info);
        assert_eq!(
            failure.message,
            "flows.pay.Refused: first line\nsecond line"
        );
        assert_eq!(failure.exception_type.as_deref(), Some("flows.pay.Refused"));
    }

    #[test]
    fn on_the_0_21_line_an_exception_without_a_message_shows_the_traceback_tail() {
        let info = exception(
            "Traceback ...\nKeyboardInterrupt\n",
            Some("builtins.KeyboardInterrupt"),
            None,
        );
        let failure = on_021(Subject::Execution("r1"), None, &info);
        assert_eq!(failure.message, "KeyboardInterrupt");
        assert_eq!(failure.exception_type.as_deref(), Some("KeyboardInterrupt"));
    }
}
