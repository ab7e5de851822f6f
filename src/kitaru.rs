//! The connection every tool works through.

use kitaru_client::Client;
use tokio::sync::OnceCell;

use crate::ToolError;
use crate::connection::{ConnectionOptions, ResolvedConnection};

/// A connected Kitaru server: the typed client and where it points.
#[derive(Clone, Debug)]
pub struct Kitaru {
    /// The typed client.
    pub client: Client,
    /// Where the connection points and where each setting came from.
    pub connection: ResolvedConnection,
}

impl Kitaru {
    /// The project (name or id) that list queries are scoped to, if one is
    /// configured; otherwise the server's default project applies.
    pub fn project(&self) -> Option<&str> {
        self.connection.project.as_deref()
    }
}

/// Connects on first use and keeps the connection.
///
/// The MCP server holds one, so `initialize` and `tools/list` never wait for
/// the Kitaru server; the first tool call that needs it connects. A failed
/// attempt is not kept: the next call tries again (say, after the user ran
/// `kitaru login`).
#[derive(Debug, Default)]
pub struct Connector {
    options: ConnectionOptions,
    connected: OnceCell<Kitaru>,
}

impl Connector {
    /// A connector that resolves `options` against the process environment
    /// and the CLI's config files.
    pub fn new(options: ConnectionOptions) -> Self {
        Self {
            options,
            connected: OnceCell::new(),
        }
    }

    /// The options connections are resolved from.
    pub fn options(&self) -> &ConnectionOptions {
        &self.options
    }

    /// The connected server, connecting now if needed.
    pub async fn get(&self) -> Result<&Kitaru, ToolError> {
        self.connected
            .get_or_try_init(|| async {
                let (connection, client) = self.options.connect().await?;
                for warning in &connection.warnings {
                    tracing::warn!("{warning}");
                }
                tracing::info!("connected to {connection}");
                Ok::<_, ToolError>(Kitaru { client, connection })
            })
            .await
    }
}
