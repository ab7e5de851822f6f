//! The MCP server: what an assistant sees when it connects over stdio.

use rmcp::ServerHandler;
use rmcp::model::{Implementation, ServerCapabilities, ServerConfig};

/// The name the server gives itself in `initialize`, as the reference does.
pub const SERVER_NAME: &str = "kitaru";

const INSTRUCTIONS: &str = "Tools for the Kitaru durable-execution platform: \
executions, checkpoints, waits for human input, artifacts, durable memory, \
deployments, secrets and stacks. The server uses the same connection as the \
`kitaru` CLI (`kitaru login`, or KITARU_SERVER_URL / KITARU_AUTH_TOKEN / \
KITARU_PROJECT).";

/// The Kitaru MCP server.
#[derive(Clone, Debug, Default)]
pub struct KitaruServer {}

impl KitaruServer {
    /// A server ready to be served over any rmcp transport.
    pub fn new() -> Self {
        Self {}
    }
}

impl ServerHandler for KitaruServer {
    fn get_info(&self) -> ServerConfig {
        let mut config = ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_instructions(INSTRUCTIONS);
        config.server_info = Implementation::new(SERVER_NAME, env!("CARGO_PKG_VERSION"))
            .with_title("Kitaru MCP server");
        config
    }
}
