//! What the tests, the benchmark and the demo share: a real, seeded Kitaru
//! server from the test harness ([`server`], [`start`], [`stop`]), the
//! stdio MCP peer ([`StdioPeer`]), our binary ([`McpBinary`]), the
//! harness's Python flows, fresh names and the locks tests that share one
//! server take.
//!
//! Test infrastructure only: it panics with a message where a test would.

#![forbid(unsafe_code)]

mod binary;
mod chromium;
mod executions;
mod fake_llm;
mod flows;
mod locks;
mod memory;
mod names;
mod peer;
mod server;

pub use binary::McpBinary;
pub use chromium::{CHROMIUM_VAR, chromium};
pub use executions::ExecutionTemplate;
pub use fake_llm::{FakeLlm, Received};
pub use flows::{
    FLOWS, Runs, cohort_executions, install_flow_module, launch_options, python, python_deploy,
    python_module, start_waiting_executions,
};
pub use locks::{changing_executions, deployments_lock, executions_lock};
pub use memory::{register_memory_version, stored_uri};
pub use names::{free_port, fresh};
pub use peer::{StdioPeer, ToolAnswer, Watchdog};
pub use server::{HarnessError, Line, TestServer, repo_root, server, start, stop};

use serde_json::Value;

/// `base` (a JSON object) with the fields of `extra` added or replaced:
/// tool arguments that share a scope, say.
pub fn merged(base: &Value, extra: Value) -> Value {
    let mut merged = base.clone();
    if let (Some(merged), Value::Object(extra)) = (merged.as_object_mut(), extra) {
        merged.extend(extra);
    }
    merged
}
