//! The MCP server against a real Kitaru server (`kitaru-testkit` finds or
//! starts it): the binary over stdio and HTTP, security, the execution view,
//! parity with the reference. The client's and the SDK's own are in
//! `crates/kitaru-sdk/tests/real_server`.
//!
//! One test binary, so one seeded server serves every test in it; under
//! `cargo test --workspace` the SDK's tests share it too.

// The every-tool call list of `mcp_stdio` is one `json!` literal.
#![recursion_limit = "256"]

mod support;

mod browser;
mod client_setup;
mod http_hostile;
mod mcp_api_tools;
mod mcp_app;
mod mcp_faults;
mod mcp_fuzz;
mod mcp_http;
mod mcp_progress;
mod mcp_projects;
mod mcp_prompts;
mod mcp_python;
mod mcp_resources;
mod mcp_stacks;
mod mcp_stdio;
mod mcp_tasks;
mod parity;
mod security;
mod ts_client;
mod wheel;
