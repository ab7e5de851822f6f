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
    tool: &'static str,
    request: RequestContext<RoleServer>,
}

impl ToolContext {
    /// The context of a call of `tool`.
    pub fn new(tool: &'static str, request: RequestContext<RoleServer>) -> Self {
        Self { tool, request }
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

    /// The client, to notify or ask it.
    pub fn peer(&self) -> &Peer<RoleServer> {
        &self.request.peer
    }

    /// Runs the tool's work until it ends or the client cancels the call;
    /// a cancelled call stops its requests where they are.
    pub async fn run<T>(
        &self,
        work: impl Future<Output = Result<T, ToolError>>,
    ) -> Result<T, ToolError> {
        tokio::select! {
            outcome = work => outcome,
            () = self.request.ct.cancelled() => Err(ToolError::cancelled()),
        }
    }
}
