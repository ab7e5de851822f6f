//! Integration tests against a real Kitaru server (see `support`).
//!
//! One test binary, so one seeded server serves every test in it.

mod support;

mod artifacts_overlay;
mod client_auth;
mod client_types;
mod connection_config;
mod executions_overlay;
mod mcp_stdio;
mod parity;
mod status_overlay;
mod stdio_peer;
