//! MCP logging: the server's own log lines sent to the client as
//! `notifications/message`, from the level it asked for
//! (`logging/setLevel`) up, redacted as on stderr (see [`crate::logging`]).
#![allow(deprecated)] // rmcp marks MCP logging deprecated (SEP-2577); clients still use it.

use std::sync::{Arc, Mutex};

use rmcp::model::{LoggingLevel, LoggingMessageNotificationParam};
use rmcp::{Peer, RoleServer};

/// The level a client asked for, and the task sending it lines.
#[derive(Clone, Default)]
pub struct ClientLog {
    asked: Arc<Mutex<Option<LoggingLevel>>>,
}

/// The MCP level of a tracing level.
fn level_of(level: tracing::Level) -> LoggingLevel {
    match level {
        tracing::Level::ERROR => LoggingLevel::Error,
        tracing::Level::WARN => LoggingLevel::Warning,
        tracing::Level::INFO => LoggingLevel::Info,
        _ => LoggingLevel::Debug,
    }
}

/// The levels in order of severity.
fn rank(level: LoggingLevel) -> u8 {
    match level {
        LoggingLevel::Debug => 0,
        LoggingLevel::Info => 1,
        LoggingLevel::Notice => 2,
        LoggingLevel::Warning => 3,
        LoggingLevel::Error => 4,
        LoggingLevel::Critical => 5,
        LoggingLevel::Alert => 6,
        LoggingLevel::Emergency => 7,
    }
}

impl ClientLog {
    /// From now on, sends `peer` the lines at `level` and above.
    pub fn listen(&self, level: LoggingLevel, peer: Peer<RoleServer>) {
        let started = {
            let mut asked = self.asked.lock().unwrap_or_else(|p| p.into_inner());
            asked.replace(level).is_some()
        };
        if started {
            return;
        }
        let asked = Arc::clone(&self.asked);
        let mut lines = crate::logging::client_lines();
        tokio::spawn(async move {
            loop {
                let line = match lines.recv().await {
                    Ok(line) => line,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                };
                let Some(wanted) = *asked.lock().unwrap_or_else(|p| p.into_inner()) else {
                    return;
                };
                let level = level_of(line.level);
                if rank(level) < rank(wanted) {
                    continue;
                }
                let mut message =
                    LoggingMessageNotificationParam::new(level, serde_json::json!(line.text));
                message.logger = Some(line.target);
                if peer.notify_logging_message(message).await.is_err() {
                    // The client is gone.
                    return;
                }
            }
        });
    }
}
