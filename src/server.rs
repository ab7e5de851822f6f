//! The MCP server: what an assistant sees when it connects over stdio.

use std::sync::Arc;

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::tool::ToolCallContext;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, Implementation, ServerCapabilities, ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler, tool_handler};

use kitaru_client::ConnectionOptions;
use kitaru_sdk::{Connector, Kitaru};

use crate::selection::ToolSelection;
use crate::tools::{TOOLS, TOOLSETS};

/// The name the server gives itself in `initialize`, as the reference does.
pub const SERVER_NAME: &str = "kitaru";

/// What the server tells the assistant about itself: the toolsets it offers
/// and their tools, as `tools.toml` declares them, and how it connects.
pub fn instructions(selection: &ToolSelection) -> String {
    let mut text = String::from("Tools for the Kitaru durable-execution platform.\n");
    for toolset in TOOLSETS {
        let tools: Vec<&str> = toolset
            .tools()
            .filter(|tool| selection.offers(tool))
            .map(|tool| tool.name)
            .collect();
        if tools.is_empty() {
            continue;
        }
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
    selection: Arc<ToolSelection>,
    tool_router: ToolRouter<Self>,
}

impl KitaruServer {
    /// A server with every tool that connects, on the first tool call that
    /// needs it, with `options` resolved against the environment and the
    /// CLI's config.
    pub fn new(options: ConnectionOptions) -> Self {
        Self::with_selection(options, ToolSelection::default())
    }

    /// A server that offers only the tools `selection` lets through.
    pub fn with_selection(options: ConnectionOptions, selection: ToolSelection) -> Self {
        let mut tool_router = Self::generated_tool_router();
        for tool in TOOLS.iter().filter(|tool| !selection.offers(tool)) {
            tool_router.disable_route(tool.name);
        }
        Self {
            connector: Arc::new(Connector::new(options)),
            selection: Arc::new(selection),
            tool_router,
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
    /// Routes the call; a tool the selection leaves out is refused with the
    /// reason and how to get it (rmcp's own answer is "tool not found").
    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        if let Some(refusal) = self.selection.refusal(&request.name) {
            return Err(ErrorData::invalid_params(refusal, None));
        }
        self.tool_router
            .call(ToolCallContext::new(self, request, context))
            .await
    }

    fn get_info(&self) -> ServerConfig {
        let mut config = ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_instructions(instructions(&self.selection));
        config.server_info = Implementation::new(SERVER_NAME, env!("CARGO_PKG_VERSION"))
            .with_title("Kitaru MCP server");
        config
    }
}
