//! Durable memory: small JSON values under keys, in a scope, versioned.
//!
//! A scope is a namespace (any name), a flow (its id) or an execution (its
//! id). Every write of a key is a new version; deleting a key writes a
//! tombstone version, so [`history`] keeps what was there. [`purge`] and
//! [`purge_scope`] delete old versions for good and record it in the
//! scope's audit log ([`compaction_log`]).
//!
//! Storage is the Python SDK's, so that both read what the other wrote: one
//! ZenML artifact per key named `kitaru_mem:<scope_type>:<scope>:<key>`,
//! each version tagged `kitaru:memory`, `kitaru:memory:scope:<scope>`,
//! `kitaru:memory:key:<key>`, `kitaru:memory:scope_type:<scope_type>`, with
//! `kitaru_memory_*` run metadata, and its value in `data.json` as ZenML's
//! built-in materializers write it. Values are written to the active
//! stack's artifact store (a local one: the server has no upload endpoint)
//! and read from it, or through the server when the files are elsewhere.
//!
//! ```no_run
//! # async fn example() -> Result<(), kitaru_sdk::Error> {
//! use kitaru_sdk::Kitaru;
//! use kitaru_sdk::memory::{self, MemoryScope};
//!
//! let kitaru = Kitaru::connect().await?;
//! let scope = MemoryScope::namespace("support-bot")?;
//! memory::set(&kitaru, &scope, "tone", &serde_json::json!("friendly")).await?;
//! if let Some(found) = memory::get(&kitaru, &scope, "tone", None, false).await? {
//!     println!("tone = {:?} (version {})", found.value, found.entry.version);
//! }
//! # Ok(())
//! # }
//! ```

mod audit;
mod compact;
mod encode;
mod entry;
mod purge;
mod read;
mod scope;
mod store;
mod versions;
mod write;

pub use audit::{CompactionRecord, Operation, SourceMode, compaction_log};
pub use compact::{CompactRequest, CompactResult, compact};
pub use entry::MemoryEntry;
pub use purge::{PurgeResult, purge, purge_scope};
pub use read::{MemoryValue, get, history, list, scopes};
pub use scope::{MemoryScope, ScopeType, key};
pub use write::{delete, set};
