//! The audit log: one JSON line per tool call — when, which tool, the
//! names of the arguments given (never their values), the outcome and the
//! error's kind, how long it took, the request id — to stderr or a file,
//! when `--audit-log` (`KITARU_MCP_AUDIT_LOG`) asks for it.

use std::io::Write;
use std::sync::{Mutex, OnceLock};

use super::ToolContext;

type Sink = Mutex<Box<dyn Write + Send>>;

/// Where audit lines go, opened on first use; `None` when off.
fn sink() -> Option<&'static Sink> {
    static SINK: OnceLock<Option<Sink>> = OnceLock::new();
    SINK.get_or_init(|| {
        let target = crate::limits::limits().audit_log.as_deref()?.trim();
        if target == "stderr" {
            return Some(Mutex::new(Box::new(std::io::stderr())));
        }
        match std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(target)
        {
            Ok(file) => Some(Mutex::new(Box::new(file))),
            Err(error) => {
                tracing::warn!("--audit-log: cannot open {target}: {error}; no audit log");
                None
            }
        }
    })
    .as_ref()
}

/// Writes the call's audit line, if the audit log is on.
pub(crate) fn record(context: &ToolContext, error_kind: Option<&str>) {
    let Some(sink) = sink() else {
        return;
    };
    let line = serde_json::json!({
        "time": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "tool": context.tool(),
        "arguments": context.argument_names(),
        "outcome": if error_kind.is_some() { "error" } else { "ok" },
        "error_kind": error_kind,
        "duration_ms": u64::try_from(context.elapsed().as_millis()).unwrap_or(u64::MAX),
        "request_id": context.request_id(),
    });
    let mut sink = sink.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    // An audit line that cannot be written must not fail the call.
    let _ = writeln!(sink, "{line}").and_then(|()| sink.flush());
}
