//! Logs to stderr, at every level without the values of requests and
//! results.
//!
//! Our own crates log what happened (methods, tools, argument names, error
//! kinds), never argument values. Libraries below us log whole requests
//! and results at `debug` and `trace` (rmcp: "received request" with every
//! argument, "response message", raw lines it could not parse; the HTTP
//! stack: frames and headers), and a `--log` filter cannot redact a field.
//! So events of other crates are written with their fields' values hidden:
//! below `info` everything but a few identifiers, message included; at
//! `info` and above the message stays (it is the library's own text) and
//! the fields are hidden.

use std::fmt;

use tracing::Metadata;
use tracing::field::{Field, Visit};
use tracing_subscriber::Layer as _;
use tracing_subscriber::filter::{EnvFilter, FilterExt as _, filter_fn};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FormatFields, MakeWriter};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

/// The crates whose events are written as they are.
const OWN: [&str; 3] = ["kitaru_mcp", "kitaru_sdk", "kitaru_client"];

/// Fields of other crates' events whose values are safe to show: ids.
const SHOWN: [&str; 3] = ["id", "request_id", "session_id"];

fn own(metadata: &Metadata<'_>) -> bool {
    let target = metadata.target();
    OWN.iter().any(|crate_name| {
        target
            .strip_prefix(crate_name)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
    })
}

fn detailed(metadata: &Metadata<'_>) -> bool {
    *metadata.level() > tracing::Level::INFO
}

/// Installs the stderr log with `filter` (an `EnvFilter` directive list,
/// as `--log` and `KITARU_MCP_LOG` take it).
pub fn init<W>(filter: &str, writer: W) -> Result<(), String>
where
    W: for<'w> MakeWriter<'w> + Clone + Send + Sync + 'static,
{
    let parse =
        || EnvFilter::try_new(filter).map_err(|error| format!("invalid --log filter: {error}"));
    let ours = tracing_subscriber::fmt::layer()
        .with_writer(writer.clone())
        .with_ansi(false)
        .with_filter(parse()?.and(filter_fn(own)));
    let theirs_detailed = tracing_subscriber::fmt::layer()
        .with_writer(writer.clone())
        .with_ansi(false)
        .fmt_fields(Hidden { message: false })
        .with_filter(parse()?.and(filter_fn(|m| !own(m) && detailed(m))));
    let theirs = tracing_subscriber::fmt::layer()
        .with_writer(writer)
        .with_ansi(false)
        .fmt_fields(Hidden { message: true })
        .with_filter(parse()?.and(filter_fn(|m| !own(m) && !detailed(m))));
    tracing_subscriber::registry()
        .with(ours)
        .with(theirs_detailed)
        .with(theirs)
        .with(ToClients)
        .try_init()
        .map_err(|error| error.to_string())
}

/// One of our log lines, for the clients that asked for log messages
/// (`logging/setLevel`).
#[derive(Clone, Debug)]
pub struct ClientLine {
    /// The line's level.
    pub level: tracing::Level,
    /// Where it comes from (the module).
    pub target: String,
    /// The message and its fields.
    pub text: String,
}

/// Our own log lines, at every level, while a client listens.
pub fn client_lines() -> tokio::sync::broadcast::Receiver<ClientLine> {
    lines().subscribe()
}

fn lines() -> &'static tokio::sync::broadcast::Sender<ClientLine> {
    static LINES: std::sync::OnceLock<tokio::sync::broadcast::Sender<ClientLine>> =
        std::sync::OnceLock::new();
    LINES.get_or_init(|| tokio::sync::broadcast::channel(256).0)
}

/// Hands our own events to [`client_lines`] (only ours: their text holds no
/// request values, as on stderr), when anyone listens.
struct ToClients;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for ToClients {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        let metadata = event.metadata();
        let sender = lines();
        if sender.receiver_count() == 0 || !own(metadata) {
            return;
        }
        let mut text = String::new();
        event.record(&mut TextVisitor(&mut text));
        let _ = sender.send(ClientLine {
            level: *metadata.level(),
            target: metadata.target().to_owned(),
            text,
        });
    }
}

/// The message, then `name=value` for each other field.
struct TextVisitor<'a>(&'a mut String);

impl Visit for TextVisitor<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        use std::fmt::Write as _;
        if !self.0.is_empty() {
            self.0.push(' ');
        }
        let _ = if field.name() == "message" {
            write!(self.0, "{value:?}")
        } else {
            write!(self.0, "{}={value:?}", field.name())
        };
    }
}

/// Writes an event's fields with their values hidden, but for ids (and
/// the message, when `message`).
struct Hidden {
    message: bool,
}

impl<'w> FormatFields<'w> for Hidden {
    fn format_fields<R: tracing_subscriber::field::RecordFields>(
        &self,
        writer: Writer<'w>,
        fields: R,
    ) -> fmt::Result {
        let mut visitor = HidingVisitor {
            writer,
            message: self.message,
            first: true,
            result: Ok(()),
        };
        fields.record(&mut visitor);
        visitor.result
    }
}

struct HidingVisitor<'w> {
    writer: Writer<'w>,
    message: bool,
    first: bool,
    result: fmt::Result,
}

impl HidingVisitor<'_> {
    fn separator(&mut self) -> &'static str {
        if std::mem::take(&mut self.first) {
            ""
        } else {
            " "
        }
    }
}

impl Visit for HidingVisitor<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if self.result.is_err() {
            return;
        }
        let separator = self.separator();
        let name = field.name();
        self.result = if name == "message" && self.message {
            write!(self.writer, "{separator}{value:?}")
        } else if SHOWN.contains(&name) {
            // Ids: short, and never a value a caller sent.
            let text = format!("{value:?}");
            if text.len() <= crate::budget::QUOTED_CHARS {
                write!(self.writer, "{separator}{name}={text}")
            } else {
                write!(self.writer, "{separator}{name}=<hidden>")
            }
        } else {
            write!(self.writer, "{separator}{name}=<hidden>")
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Default)]
    struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'w> MakeWriter<'w> for Captured {
        type Writer = Captured;
        fn make_writer(&'w self) -> Self::Writer {
            self.clone()
        }
    }

    #[test]
    fn other_crates_values_are_hidden_at_every_level() {
        let captured = Captured::default();
        init("trace", captured.clone()).unwrap();
        let request = "CallToolRequest { values: {\"K\": \"s3cr3t-marker\"} }";
        tracing::trace!(target: "rmcp::service", ?request, "received request");
        tracing::debug!(target: "rmcp::service", id = 7, "Failed to parse {}", "s3cr3t-marker line");
        tracing::info!(target: "rmcp::service", notification = "s3cr3t-marker", "received notification");
        tracing::debug!(target: "h2::codec", frame = "authorization: Bearer s3cr3t-marker");
        tracing::info!(target: "kitaru_mcp::server", tool = "kitaru_secrets_create", "called");
        let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert!(!text.contains("s3cr3t-marker"), "{text}");
        assert!(text.contains("request=<hidden>"), "{text}");
        assert!(text.contains("id=7"), "{text}");
        assert!(
            text.contains("received notification notification=<hidden>"),
            "{text}"
        );
        assert!(text.contains("tool=\"kitaru_secrets_create\""), "{text}");
        assert!(text.contains("kitaru_mcp::server"), "{text}");
    }
}
