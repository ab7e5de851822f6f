//! kitaru-mcp: the Kitaru durable-execution platform for AI assistants.
//!
//! The crate has three uses:
//! - the `kitaru-mcp` binary, a stdio Model Context Protocol server;
//! - [`connection`], which finds the Kitaru server the way the `kitaru` CLI
//!   does (explicit settings, `KITARU_*` variables, the CLI's config files)
//!   and builds an authenticated [`api::Client`];
//! - [`api`], the typed client generated from the server's OpenAPI document,
//!   usable on its own as a Rust SDK.
#![forbid(unsafe_code)]

pub use kitaru_client as api;

pub mod connection;
pub mod server;
