//! Integration tests against a real Kitaru server (see `support`).
//!
//! One test binary, so one seeded server serves every test in it.

mod support;

mod browser;
mod client_auth;
mod client_types;
mod connection_config;
mod fake_llm;
mod http_hostile;
mod mcp_api_tools;
mod mcp_app;
mod mcp_faults;
mod mcp_fuzz;
mod mcp_http;
mod mcp_progress;
mod mcp_prompts;
mod mcp_python;
mod mcp_resources;
mod mcp_stacks;
mod mcp_stdio;
mod mcp_tasks;
mod parity;
mod sdk_artifacts;
mod sdk_compact;
mod sdk_deployments;
mod sdk_executions;
mod sdk_launch;
mod sdk_memory;
mod sdk_secrets;
mod sdk_status;
mod security;
mod small_stack;
mod standalone_sdk;
mod stdio_peer;
mod ts_client;
mod wheel;
