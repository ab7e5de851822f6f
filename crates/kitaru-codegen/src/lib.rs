//! Generates the Kitaru server's Rust client from its OpenAPI document.
//!
//! [`generate`] takes the document exactly as the server serves it (OpenAPI
//! 3.1), [normalises](normalise) it into the 3.0 that progenitor reads, runs
//! progenitor (builder interface, merged tags, a session as the client's
//! inner value, hooks the client crate must implement), opens the API's
//! string enums (an `Unrecognized(String)` variant for values a newer server
//! adds), boxes the resources that other types embed (so that decoding a
//! hydrated answer fits a default thread stack) and formats the result with
//! prettyplease. It also writes a report of every operation of the document
//! and what became of it. The output depends only on the input.
//!
//! `kitaru-client`'s build script is the one caller of [`generate`]; the
//! code lives here so that the normaliser can be tested on its own.
//!
//! The MCP tool layer is generated here too, for the root crate's build
//! script: [`tools`] turns the curated tools' declarations
//! (`openapi/tools.toml`) into argument types, name constants, rmcp
//! registrations and the tool reference; [`api_tools`] checks that every
//! operation of the spec is decided (exposed as an opt-in tool, hidden, or
//! covered by a curated tool) and tabulates the decisions. Both need the
//! `mcp-tools` feature.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "mcp-tools")]
pub mod api_tools;
mod boxed_resources;
mod catalogue;
#[cfg(feature = "mcp-tools")]
pub mod changelog;
mod client;
pub mod normalise;
mod open_enums;
#[cfg(feature = "mcp-tools")]
pub mod refresh;
mod report;
#[cfg(feature = "mcp-tools")]
pub mod served;
#[cfg(feature = "mcp-tools")]
pub mod suggest;
#[cfg(feature = "mcp-tools")]
pub mod tools;
#[cfg(feature = "mcp-tools")]
pub mod vendored;
pub mod versions;

use std::collections::BTreeMap;

use serde_json::Value;
use sha2::{Digest, Sha256};

use report::{Outcome, SpecOperation};

/// What to generate and how the generated code reaches the client crate's
/// own types.
#[derive(Clone, Debug)]
pub struct Options {
    /// The spec's path as the header of the generated files names it,
    /// relative to the workspace root.
    pub spec_file: String,
    /// Path of the client's inner value (the auth session), e.g.
    /// `crate::session::Session`.
    pub inner_type: String,
    /// Path of the type every `format: date-time` string becomes, e.g.
    /// `crate::timestamp::Timestamp`.
    pub timestamp_type: String,
    /// Whether to generate the operations the document marks deprecated.
    pub include_deprecated: bool,
}

/// The generated files.
#[derive(Clone, Debug)]
pub struct Generated {
    /// The client: Rust source for `include!`, starting with a header comment.
    pub client: String,
    /// The operations report, Markdown.
    pub operations_report: String,
    /// How many operations the client has a method for.
    pub generated_operations: usize,
    /// The operation catalogue: Rust source for `include!` into
    /// `kitaru-client`'s `operations` module (`OPERATIONS` and `dispatch`),
    /// starting with a header comment.
    pub operations: String,
    /// How many operations of the catalogue can be called by name.
    pub callable_operations: usize,
    /// The total size of all operations' input schemas (JSON text, bytes).
    pub input_schema_bytes: usize,
    /// The operation with the largest input schema, and that schema's size.
    pub largest_input_schema: (String, usize),
}

/// Why the client could not be generated.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CodegenError {
    /// The spec file is not JSON.
    #[error("the spec is not valid JSON: {0}")]
    NotJson(#[source] serde_json::Error),
    /// The normaliser refused the document.
    #[error("normalising the spec failed: {0}")]
    Normalise(#[from] normalise::NormaliseError),
    /// The normalised document is still not OpenAPI 3.0 as openapiv3 reads it.
    #[error(
        "the normalised spec is not OpenAPI 3.0 as openapiv3 reads it: {0}; a normaliser rule is missing"
    )]
    NotOpenApi30(#[source] serde_json::Error),
    /// progenitor rejected the normalised document.
    #[error("progenitor rejected the normalised spec: {0}")]
    Progenitor(String),
    /// progenitor's output is not valid Rust.
    #[error("the generated code does not parse as Rust: {0}")]
    Unparsable(String),
    /// The operation catalogue cannot be built (e.g. two operations share a name).
    #[error("the operation catalogue cannot be built: {0}")]
    Catalogue(String),
    /// The document refers to a schema outside itself, which is never
    /// followed.
    #[error("the spec refers outside itself ($ref {0:?}); external references are not followed")]
    ExternalReference(String),
    /// The vendored documents cannot be read or merged.
    #[error("{0}")]
    Specs(String),
    /// An option names a type path that does not parse.
    #[error("{0:?} is not a Rust type path")]
    BadTypePath(String),
}

/// Generates the client and the operations report from the spec's bytes.
pub fn generate(spec: &[u8], options: &Options) -> Result<Generated, CodegenError> {
    let original: Value = serde_json::from_slice(spec).map_err(CodegenError::NotJson)?;
    let source = format!("{} (sha256 {})", options.spec_file, sha256_hex(spec));
    generate_document(original, &source, options)
}

/// Generates the client from several documents, one per server version,
/// [merged](versions::merge) into one; `options.spec_file` is not used (the
/// headers name every file).
pub fn generate_versions(
    specs: &[versions::SpecFile],
    options: &Options,
) -> Result<Generated, CodegenError> {
    let merged = versions::merge(specs)?;
    let source = specs
        .iter()
        .map(|spec| format!("{} (sha256 {})", spec.path, sha256_hex(&spec.bytes)))
        .collect::<Vec<_>>()
        .join(", ");
    generate_document(merged, &source, options)
}

/// `source` names the document(s) in the generated headers.
fn generate_document(
    original: Value,
    source: &str,
    options: &Options,
) -> Result<Generated, CodegenError> {
    if let Some(reference) = external_reference(&original) {
        return Err(CodegenError::ExternalReference(reference));
    }
    let spec_operations = spec_operations(&original);

    let mut doc = normalise::normalise(original)?;
    let catalogue_operations = catalogue::collect(&doc);
    let mut outcomes: BTreeMap<(String, String), Outcome> = BTreeMap::new();
    if !options.include_deprecated {
        for key in remove_deprecated(&mut doc) {
            outcomes.insert(
                key,
                Outcome::Excluded {
                    reason: "deprecated; left out to keep the client smaller (kitaru-codegen `include_deprecated`)".into(),
                },
            );
        }
    }

    let code = client::generate_client(&doc, options)?;
    let file: syn::File =
        syn::parse_str(&code).map_err(|e| CodegenError::Unparsable(e.to_string()))?;
    let methods = client::generated_methods(&file);
    let generated_operations = methods.len();
    let catalogue = catalogue::render(
        &format!(
            "// Generated by kitaru-codegen, do not edit: the operation catalogue.\n\
             // Spec: {source}\n\
             // Included by kitaru-client's src/operations.rs; refresh the reviewed copy in generated/ with\n\
             //   KITARU_UPDATE_GENERATED=1 cargo test -p kitaru-client --test generated_is_fresh\n\n",
        ),
        &catalogue_operations,
        &file,
        &methods,
    )?;
    drop(file);
    for (method, path, rust_name) in methods {
        outcomes.insert((method, path), Outcome::Generated { rust_name });
    }
    for op in &spec_operations {
        outcomes
            .entry((op.method.clone(), op.path.clone()))
            .or_insert(Outcome::Missing);
    }

    let client = format!(
        "// Generated by kitaru-codegen, do not edit.\n\
         // Spec: {source}\n\
         // Regenerated by kitaru-client's build script; refresh the reviewed copy in generated/ with\n\
         //   KITARU_UPDATE_GENERATED=1 cargo test -p kitaru-client --test generated_is_fresh\n\n{code}",
    );
    let header = format!("Generated by kitaru-codegen from {source}, do not edit.");
    let operations_report = report::render(&header, &spec_operations, &outcomes);
    Ok(Generated {
        client,
        operations_report,
        generated_operations,
        operations: catalogue.source,
        callable_operations: catalogue.callable,
        input_schema_bytes: catalogue.schema_bytes,
        largest_input_schema: catalogue.largest_schema,
    })
}

/// Every operation of the original document.
fn spec_operations(doc: &Value) -> Vec<SpecOperation> {
    let mut found = Vec::new();
    let Some(paths) = doc.get("paths").and_then(Value::as_object) else {
        return found;
    };
    for (path, item) in paths {
        for method in normalise::METHODS {
            if let Some(operation) = item.get(method) {
                found.push(SpecOperation {
                    operation_id: operation
                        .get("operationId")
                        .and_then(Value::as_str)
                        .unwrap_or("(none)")
                        .to_owned(),
                    method: method.to_owned(),
                    path: path.clone(),
                    deprecated: operation
                        .get("deprecated")
                        .and_then(Value::as_bool)
                        .unwrap_or(false),
                    servers: operation
                        .as_object()
                        .map(versions::servers_of)
                        .unwrap_or_default(),
                });
            }
        }
    }
    found
}

/// Removes the deprecated operations (and path items left empty); returns
/// them as `(method, path)`.
fn remove_deprecated(doc: &mut Value) -> Vec<(String, String)> {
    let mut removed = Vec::new();
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return removed;
    };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for method in normalise::METHODS {
            let deprecated = item
                .get(method)
                .and_then(|op| op.get("deprecated"))
                .and_then(Value::as_bool)
                .unwrap_or(false);
            if deprecated {
                item.remove(method);
                removed.push((method.to_owned(), path.clone()));
            }
        }
    }
    paths.retain(|_, item| {
        item.as_object()
            .is_some_and(|item| normalise::METHODS.iter().any(|m| item.contains_key(*m)))
    });
    removed
}

/// The first `$ref` of the document that does not point into it.
fn external_reference(value: &Value) -> Option<String> {
    match value {
        Value::Object(object) => object.iter().find_map(|(key, child)| match child {
            Value::String(target) if key == "$ref" && !target.starts_with("#/") => {
                Some(target.clone())
            }
            _ => external_reference(child),
        }),
        Value::Array(items) => items.iter().find_map(external_reference),
        _ => None,
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
