//! The tool surface is reviewed like public API.
//!
//! - `generated/tool_args.rs` and `generated/tool_router.rs` must be what the
//!   build generates from `openapi/tools.toml`;
//! - `tests/snapshots/tools_list.json` must be what `tools/list` answers.
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
    let stale = ["tool_args.rs", "tool_router.rs"]
        .into_iter()
        .filter_map(|name| {
            let fresh = std::fs::read_to_string(Path::new(env!("OUT_DIR")).join(name))
                .unwrap_or_else(|e| panic!("the build did not write {name}: {e}"));
            check(&format!("generated/{name}"), &fresh)
        })
        .collect();
    assert_fresh(stale);
}

#[tokio::test]
async fn tools_list_matches_the_snapshot() {
    // tools/list needs no Kitaru server: nothing connects until a tool runs.
    let config = tempfile::tempdir().unwrap();
    let command = tokio::process::Command::new(env!("CARGO_BIN_EXE_kitaru-mcp")).configure(|cmd| {
        cmd.env_clear()
            .env("KITARU_CONFIG_PATH", config.path())
            .current_dir(config.path());
    });
    let client = ().serve(TokioChildProcess::new(command).unwrap()).await.unwrap();
    let tools = client.list_all_tools().await.unwrap();
    client.cancel().await.unwrap();
    let mut listed = serde_json::to_string_pretty(&tools).unwrap();
    listed.push('\n');
    assert_fresh(
        check("tests/snapshots/tools_list.json", &listed)
            .into_iter()
            .collect(),
    );
}

/// The README's tool table names every tool with its toolset and whether it
/// is read-only, as `tools.toml` declares them.
#[test]
fn the_readme_table_lists_every_tool_as_declared() {
    let readme = std::fs::read_to_string(repo("README.md")).unwrap();
    for tool in kitaru_mcp::tools::TOOLS {
        let row = readme
            .lines()
            .find(|line| line.starts_with(&format!("| `{}` |", tool.name)))
            .unwrap_or_else(|| panic!("README lists no row for {}", tool.name));
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        assert_eq!(
            cells[2], tool.toolset,
            "toolset of {} in the README",
            tool.name
        );
        assert_eq!(
            cells[3].contains("read-only"),
            tool.read_only,
            "read-only of {} in the README",
            tool.name
        );
    }
}
