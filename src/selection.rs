//! Which tools the server offers: toolsets and read-only mode.
//!
//! Applied once, where the tools are registered (`KitaruServer`), never
//! inside a tool: a tool left out is neither listed nor callable, and
//! calling it by name says why and how to get it.

use std::collections::BTreeSet;

use crate::catalog::api::{self, ALL_TOOLSET, ApiDecision, ApiOperation, DISCOVERY_TOOLSET};
use crate::catalog::{self, Entry, TOOLSETS, ToolInfo};

/// The toolsets and mode the server runs with; the default offers every
/// tool.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ToolSelection {
    /// Only these toolsets; `None` for all of them.
    included: Option<BTreeSet<&'static str>>,
    /// Never these toolsets (exclusions win over inclusions).
    excluded: BTreeSet<&'static str>,
    /// Only tools annotated read-only.
    read_only: bool,
    /// The API toolsets (`api:runs`, …) selected; they add to the curated
    /// tools rather than narrowing them.
    api: ApiSelection,
}

/// Which opt-in API toolsets are selected.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct ApiSelection {
    /// `api:all`.
    all: bool,
    included: BTreeSet<&'static str>,
    excluded: BTreeSet<&'static str>,
    /// `api:discovery`.
    discovery: bool,
}

impl ToolSelection {
    /// Reads a toolset list as `--toolsets` / `KITARU_MCP_TOOLSETS` take it:
    /// comma-separated toolset names, `all` for every toolset, and `-name`
    /// to leave one out (`all,-stacks`, or just `-stacks`).
    pub fn parse(list: &str) -> Result<Self, String> {
        let mut selection = Self::default();
        let mut included = BTreeSet::new();
        let mut all = false;
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            if entry.trim_start_matches('-').trim().starts_with("api:") {
                selection.api.add(entry)?;
                continue;
            }
            match entry.strip_prefix('-') {
                Some(name) => {
                    selection.excluded.insert(toolset(name.trim())?);
                }
                None if entry == "all" => all = true,
                None => {
                    included.insert(toolset(entry)?);
                }
            }
        }
        // Only exclusions, like `-stacks`, start from every toolset.
        if !all && !included.is_empty() {
            selection.included = Some(included);
        }
        Ok(selection)
    }

    /// Offers only the tools annotated read-only.
    pub fn read_only(mut self, read_only: bool) -> Self {
        self.read_only = read_only;
        self
    }

    /// Whether only read-only tools are offered.
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// Whether the exposed operation's tool is offered.
    pub fn offers_api(&self, api: &ApiOperation) -> bool {
        api.decision == ApiDecision::Expose
            && api.operation.callable.is_none()
            && self.api.selects(api.toolset)
            && !(self.read_only && !api.read_only())
    }

    /// Whether the discovery tools (api_search, api_describe, api_call) are
    /// offered.
    pub fn offers_discovery(&self) -> bool {
        self.api.discovery
    }

    /// The selected API toolsets with at least one offered tool, and the
    /// discovery toolset when selected.
    pub fn offered_api_toolsets(&self) -> Vec<&'static str> {
        let mut offered: Vec<&'static str> = api::toolsets()
            .into_iter()
            .filter(|toolset| {
                api::API_OPERATIONS
                    .iter()
                    .any(|api| api.toolset == *toolset && self.offers_api(api))
            })
            .collect();
        if self.api.discovery {
            offered.push(DISCOVERY_TOOLSET);
        }
        offered
    }

    /// Whether the curated tool named `name` is offered.
    pub fn offers_named(&self, name: &str) -> bool {
        ToolInfo::named(name).is_some_and(|tool| self.offers(tool))
    }

    /// Whether `tool` is offered.
    pub fn offers(&self, tool: &ToolInfo) -> bool {
        !(self.hides_as_mutating(tool) || self.leaves_out_toolset_of(tool))
    }

    /// Whether the catalog's `entry` is offered.
    pub fn offers_entry(&self, entry: &Entry) -> bool {
        match entry {
            Entry::Curated(tool) => self.offers(tool),
            Entry::Api(api) => self.offers_api(api),
            Entry::Discovery(_) => self.offers_discovery(),
        }
    }

    /// Why the tool named `name` is not offered, with what to do about it;
    /// `None` when it is offered or no such tool exists. The one place a
    /// refusal is worded.
    pub fn refusal(&self, name: &str) -> Option<String> {
        let entry = catalog::entry(name)?;
        if self.offers_entry(&entry) {
            return None;
        }
        if let Entry::Api(api) = entry
            && let Some(reason) = api.unavailable()
        {
            return Some(reason);
        }
        if self.read_only && !entry.read_only() {
            return Some(format!(
                "tool `{name}` is not available: kitaru-mcp runs read-only (--read-only or \
                 KITARU_MCP_READ_ONLY) and this tool changes things. Restart kitaru-mcp \
                 without read-only mode to use it."
            ));
        }
        let toolset = entry.toolset();
        Some(match entry {
            Entry::Curated(_) => format!(
                "tool `{name}` is not available: its toolset `{toolset}` is not selected \
                 (--toolsets or KITARU_MCP_TOOLSETS; offered now: {}). Add `{toolset}` to the \
                 toolsets to use it.",
                self.offered_toolsets().join(", "),
            ),
            Entry::Api(_) => format!(
                "tool `{name}` is not available: its toolset `{toolset}` is not selected \
                 (--toolsets or KITARU_MCP_TOOLSETS). Add `{toolset}` (or `{ALL_TOOLSET}`) to \
                 the toolsets to use it."
            ),
            Entry::Discovery(_) => format!(
                "tool `{name}` is not available: its toolset `{toolset}` is not selected \
                 (--toolsets or KITARU_MCP_TOOLSETS). Add `{toolset}` to the toolsets to use it."
            ),
        })
    }

    fn hides_as_mutating(&self, tool: &ToolInfo) -> bool {
        self.read_only && !tool.read_only
    }

    fn leaves_out_toolset_of(&self, tool: &ToolInfo) -> bool {
        self.excluded.contains(tool.toolset)
            || self
                .included
                .as_ref()
                .is_some_and(|included| !included.contains(tool.toolset))
    }

    /// The toolsets with at least one offered tool.
    pub fn offered_toolsets(&self) -> Vec<&'static str> {
        TOOLSETS
            .iter()
            .filter(|toolset| toolset.tools().any(|tool| self.offers(tool)))
            .map(|toolset| toolset.name)
            .collect()
    }
}

impl ApiSelection {
    /// Adds `api:<tag>`, `api:all`, `api:discovery` or their `-` exclusion.
    fn add(&mut self, entry: &str) -> Result<(), String> {
        let (excluding, name) = match entry.strip_prefix('-') {
            Some(name) => (true, name.trim()),
            None => (false, entry),
        };
        match (excluding, name) {
            (false, ALL_TOOLSET) => self.all = true,
            (true, ALL_TOOLSET) => self.all = false,
            (excluding, DISCOVERY_TOOLSET) => self.discovery = !excluding,
            (excluding, name) => {
                let toolset = api::toolsets()
                    .into_iter()
                    .find(|toolset| *toolset == name)
                    .ok_or_else(|| {
                        format!(
                            "unknown toolset `{name}`; the API toolsets are: {ALL_TOOLSET}, \
                             {DISCOVERY_TOOLSET}, {}",
                            api::toolsets().join(", ")
                        )
                    })?;
                if excluding {
                    self.excluded.insert(toolset);
                } else {
                    self.included.insert(toolset);
                }
            }
        }
        Ok(())
    }

    fn selects(&self, toolset: &str) -> bool {
        (self.all || self.included.contains(toolset)) && !self.excluded.contains(toolset)
    }
}

/// A declared toolset's name, or what the declared ones are.
fn toolset(name: &str) -> Result<&'static str, String> {
    TOOLSETS
        .iter()
        .find(|toolset| toolset.name == name)
        .map(|toolset| toolset.name)
        .ok_or_else(|| {
            let known: Vec<&str> = TOOLSETS.iter().map(|toolset| toolset.name).collect();
            format!(
                "unknown toolset `{name}`; the toolsets are: all, {}; opt-in: {ALL_TOOLSET}, \
                 {DISCOVERY_TOOLSET}, api:<tag> (e.g. api:runs)",
                known.join(", ")
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::TOOLS;

    fn offered(selection: &ToolSelection) -> Vec<&'static str> {
        TOOLS
            .iter()
            .filter(|tool| selection.offers(tool))
            .map(|tool| tool.name)
            .collect()
    }

    fn in_toolsets(names: &[&str]) -> Vec<&'static str> {
        TOOLS
            .iter()
            .filter(|tool| names.contains(&tool.toolset))
            .map(|tool| tool.name)
            .collect()
    }

    #[test]
    fn by_default_every_tool_is_offered() {
        let all: Vec<&str> = TOOLS.iter().map(|tool| tool.name).collect();
        assert_eq!(offered(&ToolSelection::default()), all);
        assert_eq!(offered(&ToolSelection::parse("all").unwrap()), all);
        assert_eq!(offered(&ToolSelection::parse("").unwrap()), all);
    }

    #[test]
    fn named_toolsets_are_the_only_ones_offered() {
        let selection = ToolSelection::parse("executions, stacks").unwrap();
        assert_eq!(offered(&selection), in_toolsets(&["executions", "stacks"]));
        assert_eq!(selection.offered_toolsets(), ["executions", "stacks"]);
    }

    #[test]
    fn exclusions_win_over_inclusions() {
        let selection = ToolSelection::parse("executions,stacks,-stacks").unwrap();
        assert_eq!(offered(&selection), in_toolsets(&["executions"]));
        let all_but = ToolSelection::parse("-stacks").unwrap();
        assert!(!offered(&all_but).contains(&"kitaru_stacks_list"));
        assert!(offered(&all_but).contains(&"kitaru_executions_get"));
    }

    #[test]
    fn read_only_mode_offers_only_read_only_tools() {
        let selection = ToolSelection::default().read_only(true);
        let expected: Vec<&str> = TOOLS
            .iter()
            .filter(|tool| tool.read_only)
            .map(|tool| tool.name)
            .collect();
        assert_eq!(offered(&selection), expected);
        assert!(!expected.contains(&"kitaru_executions_cancel"));
        let refusal = selection.refusal("kitaru_executions_cancel").unwrap();
        assert!(refusal.contains("read-only"), "{refusal}");
        assert_eq!(selection.refusal("kitaru_executions_get"), None);
    }

    #[test]
    fn a_left_out_tool_says_which_toolset_to_add() {
        let selection = ToolSelection::parse("executions").unwrap();
        let refusal = selection.refusal("kitaru_stacks_list").unwrap();
        assert!(
            refusal.contains("toolset `stacks` is not selected"),
            "{refusal}"
        );
        assert!(refusal.contains("offered now: executions"), "{refusal}");
        assert_eq!(selection.refusal("no_such_tool"), None);
    }

    #[test]
    fn an_unknown_toolset_names_the_known_ones() {
        let error = ToolSelection::parse("executions,memories").unwrap_err();
        assert!(error.starts_with("unknown toolset `memories`"), "{error}");
        assert!(error.contains("executions"), "{error}");
        assert!(ToolSelection::parse("-nope").is_err());
    }
}
