//! What the server can offer, as data: the curated tools as their
//! declarations say (`openapi/tools.toml`: names, toolsets, annotations and
//! the facts the server decides from — task, view, covered operations),
//! the API operations and their decisions ([`api`]), and one list of
//! [entries](Entry) over both and the discovery tools, which the
//! [selection](crate::selection) applies its policy to.
//!
//! Data only: no handler, no connection.

pub mod api;

use api::{
    API_OPERATIONS, ApiDecision, ApiOperation, DISCOVERY_TOOLS, DISCOVERY_TOOLSET, exposed_tool,
};

include!(concat!(env!("OUT_DIR"), "/tool_catalog.rs"));

/// A tool as `tools.toml` declares it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ToolInfo {
    /// The tool's name.
    pub name: &'static str,
    /// Its human-readable title.
    pub title: &'static str,
    /// The toolset it belongs to.
    pub toolset: &'static str,
    /// Whether it only reads.
    pub read_only: bool,
    /// Whether a call can run as an MCP task (it starts an execution).
    pub task: bool,
    /// Whether its result is an execution the execution view shows.
    pub view: bool,
    /// The API operations it covers (they get no `api_*` tool).
    pub covers: &'static [&'static str],
}

impl ToolInfo {
    /// The declared tool called `name`.
    pub fn named(name: &str) -> Option<&'static ToolInfo> {
        TOOLS.iter().find(|tool| tool.name == name)
    }
}

/// A group of tools, as `tools.toml` declares it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ToolsetInfo {
    /// The toolset's name.
    pub name: &'static str,
    /// What its tools are for.
    pub description: &'static str,
}

impl ToolsetInfo {
    /// The tools of this toolset, in declaration order.
    pub fn tools(&self) -> impl Iterator<Item = &'static ToolInfo> {
        let name = self.name;
        TOOLS.iter().filter(move |tool| tool.toolset == name)
    }
}

/// A tool the server can offer, of whichever kind.
#[derive(Clone, Copy, Debug)]
pub enum Entry {
    /// A curated Kitaru tool.
    Curated(&'static ToolInfo),
    /// An exposed API operation's tool.
    Api(&'static ApiOperation),
    /// One of the discovery tools (`api_search`, `api_describe`, `api_call`).
    Discovery(&'static str),
}

impl Entry {
    /// The tool's name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Curated(tool) => tool.name,
            Self::Api(api) => api.tool.as_str(),
            Self::Discovery(name) => name,
        }
    }

    /// Its toolset.
    pub fn toolset(&self) -> &'static str {
        match self {
            Self::Curated(tool) => tool.toolset,
            Self::Api(api) => api.toolset,
            Self::Discovery(_) => DISCOVERY_TOOLSET,
        }
    }

    /// Whether it changes nothing. The discovery tools count as reading:
    /// `api_call` applies read-only mode to the operation it calls.
    pub fn read_only(&self) -> bool {
        match self {
            Self::Curated(tool) => tool.read_only,
            Self::Api(api) => api.read_only(),
            Self::Discovery(_) => true,
        }
    }
}

/// The tool named `name`: curated, an exposed operation's, or a discovery
/// tool.
pub fn entry(name: &str) -> Option<Entry> {
    if let Some(tool) = ToolInfo::named(name) {
        return Some(Entry::Curated(tool));
    }
    if let Some(discovery) = DISCOVERY_TOOLS.iter().find(|tool| **tool == name) {
        return Some(Entry::Discovery(discovery));
    }
    exposed_tool(name).map(Entry::Api)
}

/// Every tool the server can offer: the curated ones in declaration order,
/// the exposed operations' by name, then the discovery tools.
pub fn entries() -> impl Iterator<Item = Entry> {
    TOOLS
        .iter()
        .map(Entry::Curated)
        .chain(
            API_OPERATIONS
                .iter()
                .filter(|api| api.decision == ApiDecision::Expose)
                .map(Entry::Api),
        )
        .chain(DISCOVERY_TOOLS.iter().map(|name| Entry::Discovery(name)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tool_belongs_to_a_declared_toolset() {
        for tool in TOOLS {
            assert!(
                TOOLSETS.iter().any(|toolset| toolset.name == tool.toolset),
                "{}",
                tool.name
            );
        }
        let listed: usize = TOOLSETS.iter().map(|toolset| toolset.tools().count()).sum();
        assert_eq!(listed, TOOLS.len());
    }

    #[test]
    fn every_entry_has_one_name_and_is_found_by_it() {
        let mut names = std::collections::BTreeSet::new();
        let mut kinds = [0; 3];
        for each in entries() {
            assert!(names.insert(each.name()), "{} twice", each.name());
            let found = entry(each.name()).unwrap();
            assert_eq!(found.name(), each.name());
            kinds[match each {
                Entry::Curated(_) => 0,
                Entry::Api(_) => 1,
                Entry::Discovery(_) => 2,
            }] += 1;
        }
        assert_eq!(kinds[0], TOOLS.len());
        assert!(kinds[1] > 100, "{kinds:?}");
        assert_eq!(kinds[2], 3);
        assert!(entry("no_such_tool").is_none());
        // A curated tool's facts come from its declaration.
        let run = entry(names::EXECUTIONS_RUN).unwrap();
        assert!(matches!(run, Entry::Curated(tool) if tool.task && tool.view && !tool.read_only));
    }
}
