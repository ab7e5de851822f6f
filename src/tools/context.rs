//! What a tool call knows about the request it serves.

use std::future::Future;

use rmcp::model::ProgressToken;
use rmcp::service::RequestContext;
use rmcp::{Peer, RoleServer};
use tokio_util::sync::CancellationToken;

use super::ToolError;

/// The request a tool call serves: the client's cancellation, its progress
/// token, and the peer (for log messages, progress notifications and
/// elicitation).
#[derive(Debug)]
pub struct ToolContext {
    _in_flight: InFlight,
    tool: &'static str,
    request: RequestContext<RoleServer>,
    started: std::time::Instant,
    argument_names: Vec<String>,
}

impl ToolContext {
    /// The context of a call of `tool`.
    pub fn new(tool: &'static str, request: RequestContext<RoleServer>) -> Self {
        Self {
            _in_flight: InFlight::start(),
            tool,
            request,
            started: std::time::Instant::now(),
            argument_names: Vec::new(),
        }
    }

    /// Records the names (never the values) of the arguments given, for
    /// the audit log.
    pub fn with_arguments(mut self, arguments: &rmcp::model::JsonObject) -> Self {
        self.argument_names = arguments.keys().cloned().collect();
        self
    }

    /// The names of the arguments given.
    pub fn argument_names(&self) -> &[String] {
        &self.argument_names
    }

    /// How long the call has run.
    pub fn elapsed(&self) -> std::time::Duration {
        self.started.elapsed()
    }

    /// The JSON-RPC id of the request.
    pub fn request_id(&self) -> String {
        match serde_json::to_value(&self.request.id) {
            Ok(serde_json::Value::String(id)) => id,
            Ok(other) => other.to_string(),
            Err(_) => String::new(),
        }
    }

    /// The tool's name.
    pub fn tool(&self) -> &'static str {
        self.tool
    }

    /// Cancelled when the client cancels the request.
    pub fn cancellation(&self) -> &CancellationToken {
        &self.request.ct
    }

    /// The token progress notifications of this call go out with, if the
    /// client asked for them.
    pub fn progress_token(&self) -> Option<ProgressToken> {
        self.request.meta.get_progress_token()
    }

    /// Whether this call answers with a task (the server decided it, see
    /// [`AsTask`]): the tool then returns as soon as its execution exists.
    pub fn as_task(&self) -> bool {
        self.request
            .extensions
            .get::<AsTask>()
            .is_some_and(|as_task| as_task.0)
    }

    /// The request itself.
    pub fn request(&self) -> &RequestContext<RoleServer> {
        &self.request
    }

    /// Whether this call may answer an execution's wait it meets (asking
    /// the user by elicitation): only where `kitaru_executions_input` is
    /// offered (not in read-only mode, not without its toolset).
    pub fn may_answer_waits(&self) -> bool {
        self.request
            .extensions
            .get::<WaitAnswers>()
            .is_some_and(|allowed| allowed.0)
    }

    /// Whether the client takes form elicitation requests.
    pub fn can_elicit(&self) -> bool {
        self.request
            .client_capabilities()
            .is_some_and(|capabilities| capabilities.elicitation.is_some())
    }

    /// The client, to notify or ask it.
    pub fn peer(&self) -> &Peer<RoleServer> {
        &self.request.peer
    }

    /// Runs the tool's work until it ends, the client cancels the call, or
    /// the per-call timeout (`--call-timeout`) passes; a cancelled
    /// or timed-out call stops its requests where they are.
    pub async fn run<T>(
        &self,
        work: impl Future<Output = Result<T, ToolError>>,
    ) -> Result<T, ToolError> {
        let limit = crate::limits::limits().call_timeout;
        tokio::select! {
            outcome = work => outcome,
            () = self.request.ct.cancelled() => Err(ToolError::cancelled()),
            () = tokio::time::sleep(limit) => Err(ToolError::timed_out(limit)),
        }
    }
}

/// Set by the server on each tool call: whether the call answers with an
/// MCP task (the client supports tasks and the tool is declared `task`);
/// absent means no.
#[derive(Clone, Copy, Debug)]
pub struct AsTask(pub bool);

/// Set by the server on each tool call: whether the call may answer waits
/// (see [`ToolContext::may_answer_waits`]); absent means no.
#[derive(Clone, Copy, Debug)]
pub struct WaitAnswers(pub bool);

/// Tool calls under way (from the call's start until its answer is made).
static IN_FLIGHT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// How many tool calls are under way, for a shutdown that lets them finish.
pub fn calls_in_flight() -> usize {
    IN_FLIGHT.load(std::sync::atomic::Ordering::SeqCst)
}

/// Counts one call as under way while it lives.
#[derive(Debug)]
struct InFlight;

impl InFlight {
    fn start() -> Self {
        IN_FLIGHT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Self
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        IN_FLIGHT.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}
