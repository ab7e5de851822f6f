//! What a tool's handler works with: the connections (whose Kitaru a call
//! uses) and the selection (what this server offers, for the tools that
//! reach others: `api_call`). The curated tools' generated registrations and
//! the API tools' routes are all routes of a [`Toolbox`]; the server holds
//! one and hands each call to its router.

use std::sync::Arc;

use kitaru_sdk::{Connector, Kitaru};
use rmcp::RoleServer;
use rmcp::service::RequestContext;

use crate::connections::Connections;
use crate::selection::ToolSelection;

/// The state every tool handler gets.
#[derive(Clone, Debug)]
pub struct Toolbox {
    connections: Connections,
    selection: Arc<ToolSelection>,
}

impl Toolbox {
    /// Handlers over `connections`, for a server offering `selection`.
    pub fn new(connections: Connections, selection: Arc<ToolSelection>) -> Self {
        Self {
            connections,
            selection,
        }
    }

    /// Whose connection requests use.
    pub fn connections(&self) -> &Connections {
        &self.connections
    }

    /// The toolsets and mode the server runs with.
    pub fn selection(&self) -> &ToolSelection {
        &self.selection
    }

    /// The connection `request` uses, not connected yet perhaps.
    pub fn connector_of(
        &self,
        request: &RequestContext<RoleServer>,
    ) -> Result<Arc<Connector>, kitaru_sdk::Error> {
        self.connections.connector_of(request)
    }

    /// The version of the server `request`'s connection reaches, when a
    /// connection is made and it said (never connects).
    pub fn known_server(
        &self,
        request: &RequestContext<RoleServer>,
    ) -> Option<kitaru_sdk::ServerFacts> {
        let connector = self.connector_of(request).ok()?;
        let kitaru = connector.connected()?;
        kitaru.known_server().cloned()
    }

    /// The connected server for `request`, connecting now if needed.
    pub async fn kitaru_of(
        &self,
        request: &RequestContext<RoleServer>,
    ) -> Result<Arc<Kitaru>, kitaru_sdk::Error> {
        self.connections.kitaru_of(request).await
    }
}
