//! The server's modules import one way: each may use only the modules of
//! the layers below its own (ARCHITECTURE.md, "Layers"). A `use` against
//! the flow — and with it any import circle — fails here, naming the file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The layers of `src/`, bottom first; modules of one layer do not import
/// each other.
const LAYERS: &[&[&str]] = &[
    // What every layer may read: the process's limits and the cuts to them.
    &["limits"],
    &["budget"],
    &["logging"],
    &["client_log"],
    // Whose Kitaru a request uses.
    &["connections"],
    // What can be offered, as data; then the policy over it.
    &["catalog"],
    &["selection"],
    // The handlers: tools (curated, over the toolbox) and API tools.
    &["elicitation"],
    &["tools"],
    &["api_tools"],
    &["apps", "prompts", "resources", "tasks"],
    // The MCP server, then how it is reached, then how it is started.
    &["server"],
    &["http", "transport", "client_setup"],
    &["settings"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

/// Every Rust file of `src/` (and the generated code it includes, by the
/// module that includes it), with its top-level module.
fn sources() -> Vec<(PathBuf, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut found = Vec::new();
    let mut folders = vec![root.join("src")];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                let relative = path.strip_prefix(root.join("src")).unwrap();
                let first = relative.components().next().unwrap();
                let module = first
                    .as_os_str()
                    .to_string_lossy()
                    .trim_end_matches(".rs")
                    .to_owned();
                found.push((path, module));
            }
        }
    }
    for (file, module) in [
        ("tool_args.rs", "tools"),
        ("tool_router.rs", "tools"),
        ("tool_catalog.rs", "catalog"),
    ] {
        found.push((root.join("generated").join(file), module.to_owned()));
    }
    found
}

/// The top-level modules a file names as `crate::<module>` in code (not in
/// comments).
fn imports(text: &str) -> Vec<String> {
    let mut modules = Vec::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or_default();
        for (at, _) in code.match_indices("crate::") {
            let rest = &code[at + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                modules.push(name);
            }
        }
    }
    modules
}

#[test]
fn imports_flow_one_way() {
    let mut against = Vec::new();
    let mut seen = BTreeMap::new();
    for (path, module) in sources() {
        if ["lib", "main"].contains(&module.as_str()) {
            continue;
        }
        let own = layer_of(&module)
            .unwrap_or_else(|| panic!("src/{module} is in no layer of tests/layers.rs"));
        let text = std::fs::read_to_string(&path).unwrap();
        for imported in imports(&text) {
            if imported == module {
                continue;
            }
            let Some(layer) = layer_of(&imported) else {
                panic!(
                    "{} uses crate::{imported}, which is in no layer",
                    path.display()
                );
            };
            *seen.entry(module.clone()).or_insert(0) += 1;
            if layer >= own {
                against.push(format!(
                    "{} ({module}) uses crate::{imported}",
                    path.display()
                ));
            }
        }
    }
    assert!(
        against.is_empty(),
        "imports against the layers (each module may use only lower layers):\n{}",
        against.join("\n")
    );
    // The check saw the imports it is about.
    assert!(seen["server"] > 5 && seen["tools"] > 0, "{seen:?}");
}

#[test]
fn the_check_catches_an_import_against_the_flow() {
    let imported = imports("use crate::server::KitaruServer; // crate::http in a comment");
    assert_eq!(imported, ["server"]);
    assert!(layer_of("server") > layer_of("tools"));
}
