//! kitaru-mcp: the Kitaru durable-execution platform for AI assistants.
//!
//! The `kitaru-mcp` binary is a stdio Model Context Protocol server
//! ([`server`]) with one tool per Kitaru operation ([`tools`]). The tools are
//! thin adapters over the Kitaru SDK ([`kitaru_sdk`], re-exported as
//! [`sdk`]), which works over the typed REST client ([`kitaru_client`],
//! re-exported as [`api`]); a Rust program that wants Kitaru without MCP
//! depends on those crates directly. Every operation of the server's API is
//! also an opt-in tool ([`api_tools`]: toolsets `api:*` and `api:discovery`).
#![forbid(unsafe_code)]

pub use kitaru_client as api;
pub use kitaru_sdk as sdk;

pub mod api_tools;
pub mod apps;
pub mod budget;
pub mod catalog;
pub mod client_log;
pub mod client_setup;
pub mod connections;
pub mod elicitation;
pub mod http;
pub mod limits;
pub mod logging;
pub mod prompts;
pub mod resources;
pub mod selection;
pub mod server;
pub mod settings;
pub mod tasks;
pub mod tools;
pub mod transport;

pub use limits::program;
