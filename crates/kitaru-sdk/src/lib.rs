//! The Kitaru durable-execution platform as a Rust library.
//!
//! Kitaru's concepts are conventions over a ZenML server's objects: an
//! execution is a pipeline run, a checkpoint one of its steps, a wait a run
//! wait condition, an artifact an artifact version. This crate reads and
//! changes them the way Kitaru means them, over the typed REST client
//! [`kitaru_client`] (re-exported as [`api`]):
//!
//! - [`executions`]: list, find, inspect, cancel executions; answer waits;
//!   read logs; follow their live events; group them into statistics and
//!   cohorts; diff them against their replays; run flows, replay, retry and
//!   resume executions (flow code runs in the user's Kitaru Python, through
//!   [`bridge`]);
//! - [`artifacts`]: an execution's artifacts and their stored values, read
//!   without Python where the materializer allows;
//! - [`memory`]: durable, versioned JSON values under keys, shared with the
//!   Python SDK;
//! - [`stacks`]: the server's stacks and the active one, created and
//!   deleted as the CLI does;
//! - [`projects`] and [`secrets`]: the server's projects (and the active
//!   one) and secrets (never their values);
//! - [`server`]: which server line is connected, and what it can do;
//! - [`status`]: the connection and environment report of `kitaru status` /
//!   `kitaru info`;
//! - [`deployments`]: a flow's versioned, tagged deployments, invoked on the
//!   server;
//! - [`clean`]: what `kitaru clean` would delete;
//! - [`local_server`]: start and stop the local Kitaru server.
//!
//! Connect once with [`Kitaru::connect`] (as the `kitaru` CLI does) and pass
//! the [`Kitaru`] to the functions:
//!
//! ```no_run
//! # async fn example() -> Result<(), kitaru_sdk::Error> {
//! use kitaru_sdk::executions::{self, ExecutionFilter, ExecutionStatus};
//! use kitaru_sdk::memory::{self, MemoryScope};
//! use kitaru_sdk::{Kitaru, artifacts};
//!
//! let kitaru = Kitaru::connect().await?;
//! for execution in executions::list(&kitaru, &ExecutionFilter::default(), Some(5)).await? {
//!     println!("{} {}", execution.summary.exec_id, execution.summary.status);
//! }
//! let failed = ExecutionFilter::default().status(ExecutionStatus::Failed);
//! if let Some(execution) = executions::latest(&kitaru, &failed).await? {
//!     let summary = &execution.summary;
//!     println!("{} failed: {:?}", summary.exec_id, summary.failure);
//! }
//! for artifact in artifacts::list(&kitaru, "my-run", &Default::default(), None).await? {
//!     let value = artifacts::get(&kitaru, &artifact.artifact_id).await?;
//!     println!("{}: {:?}", artifact.name, value.value);
//! }
//! let scope = MemoryScope::namespace("support-bot")?;
//! memory::set(&kitaru, &scope, "tone", &serde_json::json!("friendly")).await?;
//! # Ok(())
//! # }
//! ```
//!
//! Every failure is an [`Error`] with a stable [`ErrorKind`] and a message
//! that names the next step. The crate knows nothing of MCP, or of any
//! program built on it: a program names itself with [`Program`]. With the
//! `schemars` feature the payload types also describe themselves as JSON
//! schemas.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

/// The crate's README (its page on crates.io), whose example compiles as a
/// doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

pub use kitaru_client as api;

pub mod artifacts;
pub mod bridge;
pub mod clean;
mod confined;
pub mod deployments;
mod error;
pub mod executions;
mod kitaru;
mod llm;
pub mod local_server;
pub mod memory;
mod pool;
mod program;
pub mod projects;
mod python_repr;
pub mod secrets;
pub mod server;
pub mod stacks;
pub mod status;
mod ui;

pub use error::{Error, ErrorKind, Result};
pub use kitaru::{Connector, Kitaru};
pub use pool::{ConnectorPool, Credential};
pub use program::Program;
pub use server::{ServerFacts, ServerLine};
