//! The server's API operations and what became of each (from
//! `openapi/api_tools.toml` and the curated tools' `covers`, checked by the
//! build): exposed as an opt-in tool `api_<name>` in the toolset
//! `api:<tag>`, hidden with a reason, covered by a curated tool, or
//! deprecated; and the names of the discovery toolset's three tools.

use std::sync::LazyLock;

use kitaru_client::operations::{self, Operation};

/// The discovery toolset: search, describe and call any operation.
pub const DISCOVERY_TOOLSET: &str = "api:discovery";
/// `api_search`.
pub const SEARCH: &str = "api_search";
/// `api_describe`.
pub const DESCRIBE: &str = "api_describe";
/// `api_call`.
pub const CALL: &str = "api_call";
/// The names of the discovery tools.
pub const DISCOVERY_TOOLS: [&str; 3] = [SEARCH, DESCRIBE, CALL];

/// What became of an operation (the generated `API_DECISIONS`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApiDecision {
    /// A tool `api_<name>`.
    Expose,
    /// No tool, for this reason.
    Hide(&'static str),
    /// No tool: this curated Kitaru tool does it.
    Curated(&'static str),
    /// No tool: the spec marks it deprecated.
    Deprecated,
}

include!(concat!(env!("OUT_DIR"), "/api_decisions.rs"));

/// Selecting every operation tool.
pub const ALL_TOOLSET: &str = "api:all";

/// An operation with its decision and toolset.
#[derive(Debug)]
pub struct ApiOperation {
    /// The catalogue's entry.
    pub operation: &'static Operation,
    /// The tool's name, `api_<operation>`.
    pub tool: String,
    /// `api:<tag>`.
    pub toolset: &'static str,
    /// Exposed, hidden or curated.
    pub decision: ApiDecision,
    /// The fields stripped from its answers besides
    /// [`STRIPPED_EVERYWHERE`]: names (`key`) or dotted paths
    /// (`service_connector.metadata.configuration`).
    pub strip: &'static [&'static str],
}

impl ApiOperation {
    /// Whether calling it changes nothing on the server.
    pub fn read_only(&self) -> bool {
        matches!(self.operation.method, "GET" | "HEAD")
    }

    /// Every strip entry that applies to its answers.
    pub fn stripped(&self) -> impl Iterator<Item = &'static str> {
        STRIPPED_EVERYWHERE.iter().chain(self.strip).copied()
    }

    /// Why it cannot be called as a tool (hidden, curated, not callable);
    /// `None` when it can.
    pub fn unavailable(&self) -> Option<String> {
        match self.decision {
            ApiDecision::Expose => self
                .operation
                .callable
                .map(|reason| format!("`{}` cannot be called here: {reason}", self.operation.name)),
            ApiDecision::Hide(reason) => Some(format!(
                "`{}` is not offered as a tool: {reason}",
                self.operation.name
            )),
            ApiDecision::Curated(tool) => Some(format!(
                "`{}` is not offered as a tool: use the Kitaru tool `{tool}`, which applies \
                 Kitaru's rules to it",
                self.operation.name
            )),
            ApiDecision::Deprecated => Some(format!(
                "`{}` is deprecated in the server's API and not offered",
                self.operation.name
            )),
        }
    }
}

/// Every operation of the catalogue that has a decision, sorted by name.
pub static API_OPERATIONS: LazyLock<Vec<ApiOperation>> = LazyLock::new(|| {
    API_DECISIONS
        .iter()
        .filter_map(|(name, toolset, decision, strip)| {
            Some(ApiOperation {
                operation: operations::find(name)?,
                tool: format!("api_{name}"),
                toolset,
                decision: *decision,
                strip,
            })
        })
        .collect()
});

/// The operation behind a tool name (`api_list_runs`) or an operation name
/// (`list_runs`).
pub fn find(name: &str) -> Option<&'static ApiOperation> {
    let name = name.strip_prefix("api_").unwrap_or(name);
    API_OPERATIONS.iter().find(|api| api.operation.name == name)
}

/// The exposed operation behind a tool name.
pub fn exposed_tool(name: &str) -> Option<&'static ApiOperation> {
    API_OPERATIONS
        .iter()
        .find(|api| api.tool == name && api.decision == ApiDecision::Expose)
}

/// The toolsets of the exposed operations, sorted.
pub fn toolsets() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = API_OPERATIONS
        .iter()
        .filter(|api| api.decision == ApiDecision::Expose)
        .map(|api| api.toolset)
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}
