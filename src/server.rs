//! The MCP server: what an assistant sees when it connects over stdio.

use std::sync::Arc;

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::model::{Implementation, ServerCapabilities, ServerConfig};
use rmcp::{ServerHandler, tool_handler};

use kitaru_client::ConnectionOptions;
use kitaru_sdk::{Connector, Kitaru};

use crate::tools::TOOLSETS;

/// The name the server gives itself in `initialize`, as the reference does.
pub const SERVER_NAME: &str = "kitaru";

/// What the server tells the assistant about itself: its toolsets and their
/// tools, as `tools.toml` declares them, and how it connects.
pub fn instructions() -> String {
    let mut text = String::from("Tools for the Kitaru durable-execution platform.\n");
    for toolset in TOOLSETS {
        let tools: Vec<&str> = toolset.tools().map(|tool| tool.name).collect();
        text.push_str(&format!(
            "- {} ({})\n",
            toolset.description,
            tools.join(", ")
        ));
    }
    text.push_str(
        "The server uses the same connection as the `kitaru` CLI (`kitaru login`, or \
         KITARU_SERVER_URL / KITARU_AUTH_TOKEN / KITARU_PROJECT).",
    );
    text
}

/// The Kitaru MCP server: the tools of `openapi/tools.toml` over one lazily
/// made connection.
#[derive(Clone)]
pub struct KitaruServer {
    connector: Arc<Connector>,
    tool_router: ToolRouter<Self>,
}

impl KitaruServer {
    /// A server that connects, on the first tool call that needs it, with
    /// `options` resolved against the environment and the CLI's config.
    pub fn new(options: ConnectionOptions) -> Self {
        Self {
            connector: Arc::new(Connector::new(options)),
            tool_router: Self::generated_tool_router(),
        }
    }

    pub(crate) async fn kitaru(&self) -> Result<&Kitaru, kitaru_sdk::Error> {
        self.connector.get().await
    }

    pub(crate) fn connector(&self) -> &Connector {
        &self.connector
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for KitaruServer {
    fn get_info(&self) -> ServerConfig {
        let mut config = ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_instructions(instructions());
        config.server_info = Implementation::new(SERVER_NAME, env!("CARGO_PKG_VERSION"))
            .with_title("Kitaru MCP server");
        config
    }
}
