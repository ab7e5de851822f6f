//! `openapi/tools.toml` → the tool layer: the checks on declarations and
//! what the facts of one declaration become.

use kitaru_codegen::tools;

/// A declaration file with one toolset and the given tools.
fn file(tools: &str) -> String {
    format!("[toolset.things]\ndescription = \"Things.\"\n\n{tools}")
}

const GET: &str = r#"
[[tool]]
name = "kitaru_things_get"
title = "Get a thing"
description = "One thing."
toolset = "things"
adapter = "things::get"
output = "kitaru_sdk::things::Thing"
read_only = true
view = true
covers = ["get_thing"]

[[tool.param]]
name = "id"
type = "string"
required = true
description = "Thing id."
"#;

const START: &str = r#"
[[tool]]
name = "kitaru_things_start"
title = "Start a thing"
description = "Starts one."
toolset = "things"
adapter = "things::start"
output = "kitaru_sdk::things::Thing"
task = true
"#;

#[test]
fn the_repository_declarations_generate() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let text = std::fs::read_to_string(root.join("openapi/tools.toml")).unwrap();
    let generated = tools::generate(&text, "openapi/tools.toml").unwrap();
    assert_eq!(generated.coverage["stop_run"], "kitaru_executions_cancel");
    assert!(
        generated
            .catalog
            .contains("pub const EXECUTIONS_GET: &str = \"kitaru_executions_get\";")
    );
}

#[test]
fn one_declaration_gives_name_constant_facts_coverage_and_reference() {
    let generated = tools::generate(&file(&format!("{GET}{START}")), "tools.toml").unwrap();
    // A constant per name, for code that names a tool.
    assert!(
        generated
            .catalog
            .contains("pub const THINGS_GET: &str = \"kitaru_things_get\";")
    );
    assert!(
        generated
            .catalog
            .contains("pub const THINGS_START: &str = \"kitaru_things_start\";")
    );
    // The facts the server decides from.
    let compact: String = generated.catalog.split_whitespace().collect();
    assert!(compact.contains("name:\"kitaru_things_get\",title:\"Getathing\",toolset:\"things\",read_only:true,task:false,view:true,covers:&[\"get_thing\"]"), "{compact}");
    assert!(
        compact.contains("task:true,view:false,covers:&[]"),
        "{compact}"
    );
    assert_eq!(generated.coverage.len(), 1);
    assert_eq!(generated.coverage["get_thing"], "kitaru_things_get");
    // The reference names each tool with its facts and arguments.
    let reference = &generated.reference;
    assert!(reference.contains("### `kitaru_things_get`"), "{reference}");
    assert!(reference.contains("- read-only, view"), "{reference}");
    assert!(reference.contains("- Covers: `get_thing`"), "{reference}");
    assert!(
        reference.contains("| `id` | string | required | Thing id. |"),
        "{reference}"
    );
    assert!(reference.contains("- task"), "{reference}");
}

#[test]
fn an_operation_is_covered_by_one_tool_only() {
    let twice = START.replace("task = true", "covers = [\"get_thing\"]");
    let refused = tools::generate(&file(&format!("{GET}{twice}")), "tools.toml")
        .err()
        .expect("covered twice");
    assert!(
        refused.contains("get_thing") && refused.contains("kitaru_things_get"),
        "{refused}"
    );
}

#[test]
fn a_task_tool_connects() {
    let offline = START.replace("task = true", "task = true\nconnect = false");
    let refused = tools::generate(&file(&offline), "tools.toml")
        .err()
        .expect("a task without a connection");
    assert!(refused.contains("kitaru_things_start"), "{refused}");
}

#[test]
fn an_unknown_fact_is_refused() {
    let typo = START.replace("task = true", "tasks = true");
    let refused = tools::generate(&file(&typo), "tools.toml")
        .err()
        .expect("unknown key");
    assert!(refused.contains("tasks"), "{refused}");
}
