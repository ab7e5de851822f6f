//! A connected Kitaru server, and a connector that connects on first use.

use kitaru_client::Client;
use kitaru_client::connection::{ConnectionOptions, ResolvedConnection};
use std::sync::Arc;

use tokio::sync::Mutex;

use crate::Error;

/// A connected Kitaru server: the typed client and where it points.
///
/// Every SDK function takes one:
///
/// ```no_run
/// # async fn example() -> Result<(), kitaru_sdk::Error> {
/// use kitaru_sdk::{Kitaru, executions};
///
/// let kitaru = Kitaru::connect().await?; // as the `kitaru` CLI would
/// for execution in executions::list(&kitaru, &Default::default(), Some(5)).await? {
///     println!("{} {}", execution.summary.exec_id, execution.summary.status);
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct Kitaru {
    /// The typed client.
    pub client: Client,
    /// Where the connection points and where each setting came from.
    pub connection: ResolvedConnection,
}

impl Kitaru {
    /// Connects the way the `kitaru` CLI does: the `KITARU_*` / `ZENML_*`
    /// variables, then the CLI's config files (`kitaru login`).
    pub async fn connect() -> Result<Self, Error> {
        Self::connect_with(&ConnectionOptions::new()).await
    }

    /// Connects with explicit settings first, then as the CLI does for
    /// whatever `options` leaves unset.
    pub async fn connect_with(options: &ConnectionOptions) -> Result<Self, Error> {
        let (connection, client) = options.connect().await?;
        Ok(Self { client, connection })
    }

    /// The project (name or id) that list queries are scoped to, if one is
    /// configured; otherwise the server's default project applies.
    pub fn project(&self) -> Option<&str> {
        self.connection.project.as_deref()
    }
}

/// Connects on first use and keeps the connection.
///
/// A long-lived program (the MCP server) holds one, so starting up never
/// waits for the Kitaru server. A failed attempt is not kept: the next call
/// tries again (say, after the user ran `kitaru login`). [`Connector::reset`]
/// forgets the connection, so that the next call resolves it anew (after
/// the local server was started or stopped, say).
#[derive(Debug, Default)]
pub struct Connector {
    options: ConnectionOptions,
    connected: Mutex<Option<Arc<Kitaru>>>,
}

impl Connector {
    /// A connector that resolves `options` against the process environment
    /// and the CLI's config files.
    pub fn new(options: ConnectionOptions) -> Self {
        Self {
            options,
            connected: Mutex::new(None),
        }
    }

    /// The options connections are resolved from.
    pub fn options(&self) -> &ConnectionOptions {
        &self.options
    }

    /// The connected server, connecting now if needed. Callers asking at
    /// the same time share one attempt.
    pub async fn get(&self) -> Result<Arc<Kitaru>, Error> {
        let mut connected = self.connected.lock().await;
        if let Some(kitaru) = connected.as_ref() {
            return Ok(Arc::clone(kitaru));
        }
        let kitaru = Arc::new(Kitaru::connect_with(&self.options).await?);
        for warning in &kitaru.connection.warnings {
            tracing::warn!("{warning}");
        }
        tracing::info!("connected to {}", kitaru.connection);
        *connected = Some(Arc::clone(&kitaru));
        Ok(kitaru)
    }

    /// Forgets the connection: the next [`Connector::get`] resolves and
    /// connects again. Calls already holding the old one finish with it.
    pub async fn reset(&self) {
        self.connected.lock().await.take();
    }
}
