//! The tool surface is reviewed like public API.
//!
//! - `generated/tool_args.rs`, `generated/tool_router.rs` and the tool
//!   reference `docs/tools.md` must be what the build generates from
//!   `openapi/tools.toml`;
//! - `tests/snapshots/tools_list.json` must be what `tools/list` answers;
//! - `generated/api_operations.md` must be the build's table of decisions
//!   for the API operations (`openapi/api_tools.toml`);
//! - `generated/tools_budget.md` must report the current `tools/list` sizes,
//!   each within its budget in `openapi/tool_budgets.toml`.
//!
//! After an intended change, review the diff and refresh them with
//!
//! ```text
//! KITARU_UPDATE_GENERATED=1 cargo test --test tool_surface
//! ```

use std::path::{Path, PathBuf};

use rmcp::ServiceExt;
use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn updating() -> bool {
    std::env::var_os("KITARU_UPDATE_GENERATED").is_some_and(|v| v == "1")
}

/// Compares `fresh` with the checked-in file, or rewrites it when updating.
fn check(copy: &str, fresh: &str) -> Option<String> {
    let path = repo(copy);
    if std::fs::read_to_string(&path).ok().as_deref() == Some(fresh) {
        return None;
    }
    if updating() {
        std::fs::write(&path, fresh).unwrap_or_else(|e| panic!("cannot write {copy}: {e}"));
        return None;
    }
    Some(copy.to_owned())
}

fn assert_fresh(stale: Vec<String>) {
    assert!(
        stale.is_empty(),
        "{} out of date; review the change and refresh with\n  \
         KITARU_UPDATE_GENERATED=1 cargo test --test tool_surface",
        stale.join(" and ")
    );
}

#[test]
fn generated_tool_code_matches_the_build() {
    let stale = [
        ("tool_args.rs", "generated/tool_args.rs"),
        ("tool_catalog.rs", "generated/tool_catalog.rs"),
        ("tool_router.rs", "generated/tool_router.rs"),
        ("api_operations.md", "generated/api_operations.md"),
        ("tools.md", "docs/tools.md"),
    ]
    .into_iter()
    .filter_map(|(name, copy)| {
        let fresh = std::fs::read_to_string(Path::new(env!("OUT_DIR")).join(name))
            .unwrap_or_else(|e| panic!("the build did not write {name}: {e}"));
        check(copy, &fresh)
    })
    .collect();
    assert_fresh(stale);
}

/// What `tools/list` answers with these arguments (no Kitaru server is
/// needed: nothing connects until a tool runs).
async fn tools_listed(args: &[&str]) -> Vec<rmcp::model::Tool> {
    let config = tempfile::tempdir().unwrap();
    let command = tokio::process::Command::new(env!("CARGO_BIN_EXE_kitaru-mcp")).configure(|cmd| {
        cmd.env_clear()
            .env("KITARU_CONFIG_PATH", config.path())
            .current_dir(config.path())
            .args(args);
    });
    let client = ().serve(TokioChildProcess::new(command).unwrap()).await.unwrap();
    let tools = client.list_all_tools().await.unwrap();
    client.cancel().await.unwrap();
    tools
}

/// The budgets of `openapi/tool_budgets.toml`: `name = bytes`.
fn budgets() -> std::collections::BTreeMap<String, usize> {
    let text = std::fs::read_to_string(repo("openapi/tool_budgets.toml")).unwrap();
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let (name, bytes) = line.split_once('=').expect("name = bytes");
            (
                name.trim().to_owned(),
                bytes
                    .trim()
                    .replace('_', "")
                    .parse()
                    .expect("a number of bytes"),
            )
        })
        .collect()
}

/// The size of `tools/list` for the default toolsets, for the discovery
/// toolset and for `api:all`, reported in `generated/tools_budget.md` and
/// each within its budget. Tokens are estimated at 4 bytes each.
#[tokio::test]
async fn tools_list_sizes_stay_within_their_budgets() {
    let default = tools_listed(&[]).await;
    let with_discovery = tools_listed(&["--toolsets", "api:discovery"]).await;
    let with_api_all = tools_listed(&["--toolsets", "api:all"]).await;
    let added = |with: &[rmcp::model::Tool]| -> Vec<rmcp::model::Tool> {
        with.iter()
            .filter(|tool| !default.iter().any(|d| d.name == tool.name))
            .cloned()
            .collect()
    };
    // What a model reads of a tool: name, title, description, input schema
    // and annotations; the output schemas are for the client.
    let model_visible = |tools: &[rmcp::model::Tool]| -> usize {
        tools
            .iter()
            .map(|tool| {
                let mut tool = tool.clone();
                tool.output_schema = None;
                serde_json::to_string(&tool).unwrap().len()
            })
            .sum()
    };
    let rows = [
        ("default", default.clone()),
        ("discovery", added(&with_discovery)),
        ("api_all", added(&with_api_all)),
    ];
    let budgets = budgets();
    let mut report = String::from(
        "# tools/list sizes\n\nGenerated by `tests/tool_surface.rs`, do not edit; budgets in \
         `openapi/tool_budgets.toml`. Bytes of the tools' JSON as listed; \"model-visible\" \
         leaves out the output schemas; tokens estimated at 4 bytes each.\n\n\
         | toolsets | tools | bytes | model-visible bytes | ~tokens (model-visible) | budget (model-visible) |\n\
         | --- | --- | --- | --- | --- | --- |\n",
    );
    let mut over = Vec::new();
    for (name, tools) in &rows {
        let bytes: usize = tools
            .iter()
            .map(|t| serde_json::to_string(t).unwrap().len())
            .sum();
        let visible = model_visible(tools);
        let budget = budgets[*name];
        let label = match *name {
            "default" => "default (every curated toolset)",
            "discovery" => "`api:discovery` (added)",
            _ => "`api:all` (added)",
        };
        report.push_str(&format!(
            "| {label} | {} | {bytes} | {visible} | {} | {budget} |\n",
            tools.len(),
            visible / 4
        ));
        if visible > budget {
            over.push(format!("{name}: {visible} bytes > {budget}"));
        }
    }
    assert!(
        with_api_all.len() >= 200,
        "{} tools with api:all",
        with_api_all.len()
    );
    assert!(over.is_empty(), "over budget: {over:?}");
    assert_fresh(
        check("generated/tools_budget.md", &report)
            .into_iter()
            .collect(),
    );
}

#[tokio::test]
async fn tools_list_matches_the_snapshot() {
    let tools = tools_listed(&[]).await;
    let mut listed = serde_json::to_string_pretty(&tools).unwrap();
    listed.push('\n');
    assert_fresh(
        check("tests/snapshots/tools_list.json", &listed)
            .into_iter()
            .collect(),
    );
}
