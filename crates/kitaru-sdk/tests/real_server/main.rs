//! The client and the SDK against a real Kitaru server (`kitaru-testkit`
//! finds or starts it), without the MCP crate.
//!
//! One test binary, so one seeded server serves every test in it; under
//! `cargo test --workspace` it is the server the MCP crate's tests use too.

mod client_auth;
mod client_types;
mod connection_config;
mod sdk_artifacts;
mod sdk_compact;
mod sdk_deployments;
mod sdk_events;
mod sdk_executions;
mod sdk_launch;
mod sdk_memory;
mod sdk_secrets;
mod sdk_stacks;
mod sdk_statistics;
mod sdk_status;
mod small_stack;
mod standalone_sdk;
