//! The project tools over stdio against the real server: a second project
//! is listed and shown, `use` makes it the active one where the CLI keeps
//! it (the repository config here), the next queries are scoped to it, and
//! using the first one again goes back.

use std::path::Path;

use serde_json::{Value, json};

use crate::mcp_stacks::{ours_in, own_project, unique_name};
use kitaru_testkit::server;

/// The active project id the repository config of `project` records.
fn recorded_project(project: &Path) -> String {
    let text = std::fs::read_to_string(project.join(".kitaru/config.yaml")).unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix("active_project_id:"))
        .map(|value| value.trim().trim_matches(['\'', '"']).to_owned())
        .unwrap_or_default()
}

/// A project made on the server for one test, deleted after it.
struct Made(String);

impl Made {
    fn new(name: &str) -> Self {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let made = runtime.block_on(async {
            server()
                .client()
                .create_project()
                .body_map(|project| {
                    project
                        .name(name.to_owned())
                        .display_name(format!("  {name} shown  "))
                        .description("made by mcp_projects".to_owned())
                })
                .send()
                .await
                .expect("create a project")
                .into_inner()
        });
        Self(made.id.to_string())
    }
}

impl Drop for Made {
    fn drop(&mut self) {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let _ = runtime.block_on(
            server()
                .client()
                .delete_project()
                .project_name_or_id(self.0.clone())
                .send(),
        );
    }
}

fn result(answer: &kitaru_testkit::ToolAnswer) -> Value {
    assert!(!answer.is_error, "{:?}", answer.texts);
    answer.structured.clone().unwrap()
}

#[test]
fn a_second_project_is_listed_used_and_scopes_the_next_queries() {
    // Compares listings of executions: none may start meanwhile.
    let _stable = kitaru_testkit::executions_lock()
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let folder = own_project();
    let name = unique_name("mcp-project");
    let made = Made::new(&name);
    let seeded = server().str("/seed/project/id").to_owned();
    let mut peer = ours_in(folder.path());

    let listed = result(&peer.call("kitaru_projects_list", json!({})));
    let projects = listed["result"].as_array().unwrap();
    let entry = json!({"id": made.0, "name": name, "display_name": format!("{name} shown"),
                       "description": "made by mcp_projects", "is_active": false});
    assert!(projects.contains(&entry), "{listed}");
    let active: Vec<&Value> = projects.iter().filter(|p| p["is_active"] == true).collect();
    assert_eq!(active.len(), 1, "{listed}");
    assert_eq!(active[0]["id"], seeded.as_str());

    for selector in [name.clone(), made.0.clone(), made.0[..13].to_owned()] {
        let shown = result(&peer.call("kitaru_projects_show", json!({"name_or_id": selector})));
        assert_eq!(shown, entry, "{selector}");
    }
    let missing = peer.call(
        "kitaru_projects_show",
        json!({"name_or_id": "nope-project"}),
    );
    assert_eq!(
        missing.error_kind.as_deref(),
        Some("not_found"),
        "{:?}",
        missing.texts
    );
    assert!(
        missing.texts[0].contains("Failed to load project 'nope-project'"),
        "{:?}",
        missing.texts
    );

    let runs_before = result(&peer.call("kitaru_executions_list", json!({"limit": 5})));
    assert!(
        !runs_before["result"].as_array().unwrap().is_empty(),
        "the seeded project has runs"
    );

    let used = result(&peer.call("kitaru_projects_use", json!({"name_or_id": name})));
    assert_eq!(used["id"], made.0.as_str());
    assert_eq!(used["is_active"], true);
    assert_eq!(
        recorded_project(folder.path()),
        made.0,
        "recorded in the repository config"
    );
    let current = result(&peer.call("kitaru_projects_current", json!({})));
    assert_eq!(
        current,
        json!({"id": made.0, "name": name, "display_name": format!("{name} shown"),
                               "description": "made by mcp_projects", "is_active": true})
    );
    // The next queries are scoped to it: it has no executions.
    let runs = result(&peer.call("kitaru_executions_list", json!({"limit": 5})));
    assert_eq!(runs["result"], json!([]), "{runs}");
    let status = result(&peer.call("kitaru_status", json!({})));
    assert_eq!(status["active_project"], name.as_str(), "{status}");

    let back = result(&peer.call("kitaru_projects_use", json!({"name_or_id": seeded})));
    assert_eq!(back["is_active"], true);
    assert_eq!(recorded_project(folder.path()), seeded);
    // The same executions (one still running may have moved on).
    let ids = |runs: &Value| -> Vec<Value> {
        runs["result"]
            .as_array()
            .unwrap()
            .iter()
            .map(|run| run["exec_id"].clone())
            .collect()
    };
    let runs = result(&peer.call("kitaru_executions_list", json!({"limit": 5})));
    assert_eq!(ids(&runs), ids(&runs_before));
}

#[test]
fn read_only_mode_offers_no_project_switch() {
    let folder = own_project();
    let mut command = crate::mcp_stacks::in_project(crate::support::KITARU_MCP, folder.path());
    command.arg("--read-only");
    let mut peer = kitaru_testkit::StdioPeer::start(command);
    let tools = peer.tools();
    let names: Vec<&str> = tools.iter().filter_map(|t| t["name"].as_str()).collect();
    assert!(names.contains(&"kitaru_projects_list"), "{names:?}");
    assert!(!names.contains(&"kitaru_projects_use"), "{names:?}");
    let refused = peer
        .try_request(
            "tools/call",
            json!({"name": "kitaru_projects_use", "arguments": {"name_or_id": "default"}}),
        )
        .unwrap_err();
    assert!(
        refused["message"].as_str().unwrap().contains("read-only"),
        "{refused}"
    );
    assert_eq!(
        recorded_project(folder.path()),
        recorded_project(Path::new(server().str("/project_dir")))
    );
}
