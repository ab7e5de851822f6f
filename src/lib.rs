//! kitaru-mcp: the Kitaru durable-execution platform for AI assistants.
//!
//! The crate has three uses:
//! - the `kitaru-mcp` binary, a stdio Model Context Protocol server
//!   ([`server`], with one tool per Kitaru operation, see [`tools`]);
//! - [`connection`], which finds the Kitaru server the way the `kitaru` CLI
//!   does (explicit settings, `KITARU_*` variables, the CLI's config files)
//!   and builds an authenticated [`api::Client`];
//! - [`api`], the typed client generated from the server's OpenAPI document,
//!   usable on its own as a Rust SDK.
//!
//! The Kitaru concepts each have a module of plain async functions over the
//! SDK — [`executions`], [`artifacts`], [`stacks`], [`status`] — which the MCP
//! tools only adapt.
#![forbid(unsafe_code)]

pub use kitaru_client as api;

pub mod artifacts;
pub mod connection;
pub mod error;
pub mod executions;
pub mod kitaru;
pub mod server;
pub mod stacks;
pub mod status;
pub mod tools;

pub use error::ToolError;
pub use kitaru::{Connector, Kitaru};
