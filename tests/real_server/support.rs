//! What the MCP crate's tests add to `kitaru-testkit`: our binary as cargo
//! built it for them, started against the test server.

use std::process::Command;

use kitaru_testkit::{McpBinary, StdioPeer, server};

/// The variable setting the binary's default list size.
pub const LIST_SIZE_VAR: &str = "KITARU_MCP_LIST_SIZE";

/// Our binary, as cargo built it for these tests.
pub const KITARU_MCP: &str = env!("CARGO_BIN_EXE_kitaru-mcp");

/// Our binary set up to reach the test server as a user's shell would.
pub fn kitaru_mcp() -> Command {
    McpBinary::at(KITARU_MCP).command(server())
}

/// Our binary with `args`, started over stdio, handshake done.
pub fn ours(args: &[&str]) -> StdioPeer {
    let mut command = kitaru_mcp();
    command.args(args);
    StdioPeer::start(command)
}
