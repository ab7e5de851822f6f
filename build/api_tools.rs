//! `openapi/api_tools.toml` → which API operations become opt-in MCP tools.
//!
//! Every operation of the spec that is not deprecated must have a decision:
//! exposed (a tool `api_<name>` in the toolset `api:<tag>`), hidden (with the
//! reason) or covered by a curated Kitaru tool (which one). A new operation
//! without one fails the build; a decided one the spec no longer has is a
//! build warning. The output is a table of data for `src/api/` and a
//! Markdown report; spec text reaches the Rust source only as escaped string
//! literals.

use std::collections::BTreeMap;

use quote::quote;
use serde::Deserialize;
use serde_json::Value;

/// MCP's limit for a tool name.
const MAX_TOOL_NAME: usize = 64;

/// What the build writes.
pub struct Generated {
    /// Rust source: `API_DECISIONS`, for `include!`.
    pub decisions: String,
    /// Markdown: every operation with its decision.
    pub report: String,
    /// Decided operations the spec does not have (build warnings).
    pub removed: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    operations: BTreeMap<String, Entry>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Entry {
    Word(String),
    Hide { hide: String },
    Curated { curated: String },
}

enum Decision {
    Expose,
    Hide(String),
    Curated(String),
    Deprecated,
}

/// One operation of the spec, as the normalised document names it.
struct Operation {
    name: String,
    method: String,
    path: String,
    toolset: String,
    deprecated: bool,
}

/// A name made only of ASCII letters, digits and `_` (spec text is
/// untrusted; the real names already are).
fn plain(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect()
}

fn operations(normalised: &Value) -> Vec<Operation> {
    let mut found = Vec::new();
    let Some(paths) = normalised.get("paths").and_then(Value::as_object) else {
        return found;
    };
    for (path, item) in paths {
        for method in ["get", "put", "post", "delete", "patch", "head", "options"] {
            let Some(operation) = item.get(method) else {
                continue;
            };
            let name = plain(
                operation
                    .get("operationId")
                    .and_then(Value::as_str)
                    .unwrap_or_default(),
            );
            let tag = operation
                .pointer("/tags/0")
                .and_then(Value::as_str)
                .map(plain)
                .filter(|tag| !tag.is_empty())
                .unwrap_or_else(|| "server".to_owned());
            found.push(Operation {
                name,
                method: method.to_ascii_uppercase(),
                path: path.clone(),
                toolset: format!("api:{tag}"),
                deprecated: operation
                    .get("deprecated")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
            });
        }
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    found
}

/// The decisions for `spec` (the document as served) from the text of
/// `api_tools.toml`.
pub fn generate(spec: &Value, decisions_toml: &str, file: &str) -> Result<Generated, String> {
    let normalised = kitaru_codegen::normalise::normalise(spec.clone())
        .map_err(|e| format!("normalising the spec: {e}"))?;
    let operations = operations(&normalised);
    let mut decided: BTreeMap<String, Entry> = toml::from_str::<File>(decisions_toml)
        .map_err(|e| format!("{file}: {e}"))?
        .operations;

    let mut rows = Vec::new();
    let mut undecided = Vec::new();
    for operation in &operations {
        let entry = decided.remove(&operation.name);
        let decision = match entry {
            _ if operation.deprecated => Decision::Deprecated,
            None => {
                undecided.push(format!(
                    "{} ({} {})",
                    operation.name, operation.method, operation.path
                ));
                continue;
            }
            Some(Entry::Word(word)) if word == "expose" => Decision::Expose,
            Some(Entry::Word(word)) => {
                return Err(format!(
                    "{file}: `{}` = \"{word}\": write \"expose\", {{ hide = \"reason\" }} or \
                     {{ curated = \"tool\" }}",
                    operation.name
                ));
            }
            Some(Entry::Hide { hide }) if hide.trim().is_empty() => {
                return Err(format!(
                    "{file}: `{}`: say why it is hidden",
                    operation.name
                ));
            }
            Some(Entry::Hide { hide }) => Decision::Hide(hide),
            Some(Entry::Curated { curated }) => Decision::Curated(curated),
        };
        let tool = format!("api_{}", operation.name);
        if matches!(decision, Decision::Expose) && tool.len() > MAX_TOOL_NAME {
            return Err(format!(
                "{file}: `{}` would be a tool name of {} characters (MCP allows {MAX_TOOL_NAME})",
                operation.name,
                tool.len()
            ));
        }
        rows.push((operation, decision));
    }
    if !undecided.is_empty() {
        return Err(format!(
            "{} operation(s) of the spec have no decision in {file}: {}. Add each as \
             `name = \"expose\"`, `name = {{ hide = \"reason\" }}` or \
             `name = {{ curated = \"kitaru_tool\" }}`.",
            undecided.len(),
            undecided.join(", ")
        ));
    }
    let removed = decided.into_keys().collect();

    let entries = rows.iter().map(|(operation, decision)| {
        let name = &operation.name;
        let toolset = &operation.toolset;
        let decision = match decision {
            Decision::Expose => quote!(ApiDecision::Expose),
            Decision::Hide(reason) => quote!(ApiDecision::Hide(#reason)),
            Decision::Curated(tool) => quote!(ApiDecision::Curated(#tool)),
            Decision::Deprecated => quote!(ApiDecision::Deprecated),
        };
        quote!((#name, #toolset, #decision))
    });
    let tokens = quote! {
        /// Every operation of the spec: its name, its toolset and what
        /// became of it (from `openapi/api_tools.toml`).
        pub static API_DECISIONS: &[(&str, &str, ApiDecision)] = &[#(#entries),*];
    };
    let file_ast: syn::File = syn::parse2(tokens).map_err(|e| e.to_string())?;
    let decisions = format!(
        "// Generated by build.rs from {file} and the spec, do not edit.\n\n{}",
        prettyplease::unparse(&file_ast)
    );
    Ok(Generated {
        decisions,
        report: report(&rows, file),
        removed,
    })
}

/// `|` and line breaks would break a Markdown table row.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

fn report(rows: &[(&Operation, Decision)], file: &str) -> String {
    let count = |wanted: fn(&Decision) -> bool| rows.iter().filter(|(_, d)| wanted(d)).count();
    let mut out = format!(
        "# API operations as MCP tools\n\nGenerated by build.rs from `{file}` and the spec, do not \
         edit. {} operations: {} exposed (opt-in toolsets `api:*`), {} covered by a curated \
         Kitaru tool, {} hidden, {} deprecated.\n\n| operation | method | path | toolset | \
         decision |\n| --- | --- | --- | --- | --- |\n",
        rows.len(),
        count(|d| matches!(d, Decision::Expose)),
        count(|d| matches!(d, Decision::Curated(_))),
        count(|d| matches!(d, Decision::Hide(_))),
        count(|d| matches!(d, Decision::Deprecated)),
    );
    for (operation, decision) in rows {
        let decision = match decision {
            Decision::Expose => format!("tool `api_{}`", operation.name),
            Decision::Hide(reason) => format!("hidden: {}", cell(reason)),
            Decision::Curated(tool) => format!("curated: `{}`", cell(tool)),
            Decision::Deprecated => "hidden: deprecated".to_owned(),
        };
        out.push_str(&format!(
            "| `{}` | {} | `{}` | `{}` | {decision} |\n",
            operation.name,
            operation.method,
            cell(&operation.path),
            operation.toolset
        ));
    }
    out
}
