//! One client for several server versions: the vendored documents, one per
//! server version (`openapi/kitaru-server-<version>.openapi.json`), merged
//! into the one document the client is generated from.
//!
//! The merge is a union that keeps the newest version's word wherever two
//! versions say something about the same thing:
//!
//! - **operations**: the newest document's, plus every operation only an
//!   older one has (a server of that line still serves it). An operation
//!   both have keeps the newest form; a query parameter only the older form
//!   has is added as optional. Each operation records the server versions
//!   that have it (`x-kitaru-servers`), which the operation catalogue turns
//!   into run-time availability;
//! - **schemas**: the newest document's, plus every schema only an older one
//!   has that an operation of the merge still uses (an older version's
//!   name for a schema the newest renamed goes). A schema both have keeps the newest form, gains the properties
//!   only an older form has, and requires only what every version that has
//!   the schema requires — so a type decodes the answer of either server (a
//!   field the newer server added, and requires, is missing from the older
//!   server's answer).
//!
//! `info.version` is the newest version; `info.x-kitaru-servers` lists all.

use std::cmp::Ordering;
use std::collections::BTreeSet;

use serde_json::{Map, Value};

use crate::CodegenError;
use crate::normalise::METHODS;

/// Where each operation lists the server versions that have it.
pub const OPERATION_SERVERS: &str = "x-kitaru-servers";

/// The server versions a merged document says have `operation` (empty for
/// an operation of an unmerged document).
pub(crate) fn servers_of(operation: &Map<String, Value>) -> Vec<String> {
    operation
        .get(OPERATION_SERVERS)
        .and_then(Value::as_array)
        .map(|servers| {
            servers
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// One vendored document.
#[derive(Clone, Debug)]
pub struct SpecFile {
    /// Its path as generated headers name it (relative to the workspace).
    pub path: String,
    /// Its bytes, exactly as vendored.
    pub bytes: Vec<u8>,
}

/// A server version as `info.version` writes it (`0.98.0`), ordered by its
/// numeric parts (`0.98.0` > `0.94.10` > `0.94.4`), then by the text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerVersion(pub String);

impl ServerVersion {
    fn parts(&self) -> Vec<u64> {
        self.0
            .split(['.', '-', '+'])
            .map_while(|part| part.parse().ok())
            .collect()
    }
}

impl Ord for ServerVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        self.parts()
            .cmp(&other.parts())
            .then_with(|| self.0.cmp(&other.0))
    }
}

impl PartialOrd for ServerVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The server version a document is of (`info.version`).
pub fn spec_version(doc: &Value) -> Option<ServerVersion> {
    doc.pointer("/info/version")
        .and_then(Value::as_str)
        .map(|v| ServerVersion(v.to_owned()))
}

/// Reads `dir/kitaru-server-*.openapi.json`, oldest version first; `prefix`
/// is put before each file name for the generated headers (`openapi/`).
/// A file whose name does not match its `info.version` is refused.
pub fn read_dir(dir: &std::path::Path, prefix: &str) -> Result<Vec<SpecFile>, CodegenError> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| CodegenError::Specs(format!("cannot read {}: {e}", dir.display())))?;
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry
            .map_err(|e| CodegenError::Specs(format!("cannot read {}: {e}", dir.display())))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(version) = name
            .strip_prefix("kitaru-server-")
            .and_then(|rest| rest.strip_suffix(".openapi.json"))
        else {
            continue;
        };
        let bytes = std::fs::read(entry.path()).map_err(|e| {
            CodegenError::Specs(format!("cannot read {}: {e}", entry.path().display()))
        })?;
        found.push((
            ServerVersion(version.to_owned()),
            SpecFile {
                path: format!("{prefix}{name}"),
                bytes,
            },
        ));
    }
    if found.is_empty() {
        return Err(CodegenError::Specs(format!(
            "{} holds no kitaru-server-<version>.openapi.json",
            dir.display()
        )));
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(found.into_iter().map(|(_, file)| file).collect())
}

/// Merges the documents (any order) into one, as the module says. Every
/// document must name its version, and no two the same one.
pub fn merge(files: &[SpecFile]) -> Result<Value, CodegenError> {
    let mut docs = Vec::new();
    for file in files {
        let doc: Value = serde_json::from_slice(&file.bytes).map_err(CodegenError::NotJson)?;
        let version = spec_version(&doc)
            .ok_or_else(|| CodegenError::Specs(format!("{} has no info.version", file.path)))?;
        if let Some(stem) = file
            .path
            .rsplit('/')
            .next()
            .and_then(|name| name.strip_prefix("kitaru-server-"))
            .and_then(|rest| rest.strip_suffix(".openapi.json"))
            && stem != version.0
        {
            return Err(CodegenError::Specs(format!(
                "{} holds the document of server version {}: name it kitaru-server-{}.openapi.json",
                file.path, version.0, version.0
            )));
        }
        docs.push((version, doc));
    }
    docs.sort_by(|a, b| b.0.cmp(&a.0));
    if let Some(pair) = docs.windows(2).find(|pair| pair[0].0 == pair[1].0) {
        return Err(CodegenError::Specs(format!(
            "two documents of server version {}",
            pair[0].0.0
        )));
    }
    let Some(((newest_version, newest), older)) = docs.split_first() else {
        return Err(CodegenError::Specs("no document to generate from".into()));
    };
    let mut merged = newest.clone();
    mark_servers(&mut merged, newest_version);
    let newest_schemas: BTreeSet<String> = schema_names(newest);
    for (version, doc) in older {
        merge_operations(&mut merged, doc, version);
        merge_schemas(&mut merged, doc);
    }
    drop_unused_older_schemas(&mut merged, &newest_schemas);
    let all: Vec<Value> = docs
        .iter()
        .rev()
        .map(|(version, _)| Value::String(version.0.clone()))
        .collect();
    if let Some(info) = merged.get_mut("info").and_then(Value::as_object_mut) {
        info.insert(OPERATION_SERVERS.into(), Value::Array(all));
    }
    Ok(merged)
}

fn operations_mut(doc: &mut Value) -> impl Iterator<Item = &mut Map<String, Value>> {
    doc.get_mut("paths")
        .and_then(Value::as_object_mut)
        .into_iter()
        .flat_map(|paths| paths.values_mut())
        .filter_map(Value::as_object_mut)
        .flat_map(|item| {
            item.iter_mut()
                .filter(|(method, _)| METHODS.contains(&method.as_str()))
                .filter_map(|(_, operation)| operation.as_object_mut())
        })
}

/// Every operation of the newest document: served by the newest version.
fn mark_servers(doc: &mut Value, version: &ServerVersion) {
    for operation in operations_mut(doc) {
        operation.insert(
            OPERATION_SERVERS.into(),
            Value::Array(vec![Value::String(version.0.clone())]),
        );
    }
}

fn merge_operations(merged: &mut Value, older: &Value, version: &ServerVersion) {
    let Some(older_paths) = older.get("paths").and_then(Value::as_object) else {
        return;
    };
    let Some(paths) = merged
        .as_object_mut()
        .map(|doc| {
            doc.entry("paths")
                .or_insert_with(|| Value::Object(Map::new()))
        })
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    for (path, older_item) in older_paths {
        let Some(older_item) = older_item.as_object() else {
            continue;
        };
        let item = paths
            .entry(path.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for (key, older_value) in older_item {
            if !METHODS.contains(&key.as_str()) {
                // Path-level parameters and the like: the newest form wins.
                item.entry(key.clone())
                    .or_insert_with(|| older_value.clone());
                continue;
            }
            match item.get_mut(key).and_then(Value::as_object_mut) {
                Some(operation) => {
                    add_parameters(operation, older_value);
                    let servers = operation
                        .entry(OPERATION_SERVERS)
                        .or_insert_with(|| Value::Array(Vec::new()));
                    if let Some(servers) = servers.as_array_mut() {
                        servers.insert(0, Value::String(version.0.clone()));
                    }
                }
                None => {
                    let mut operation = older_value.clone();
                    if let Some(object) = operation.as_object_mut() {
                        object.insert(
                            OPERATION_SERVERS.into(),
                            Value::Array(vec![Value::String(version.0.clone())]),
                        );
                    }
                    item.insert(key.clone(), operation);
                }
            }
        }
    }
}

/// Takes the older form of each parameter both forms have, and adds the
/// ones only the older form has as optional.
fn add_parameters(operation: &mut Map<String, Value>, older: &Value) {
    let Some(older_parameters) = older.get("parameters").and_then(Value::as_array) else {
        return;
    };
    let key = |parameter: &Value| {
        (
            parameter
                .get("name")
                .and_then(Value::as_str)
                .map(str::to_owned),
            parameter
                .get("in")
                .and_then(Value::as_str)
                .map(str::to_owned),
        )
    };
    let parameters = operation
        .entry("parameters")
        .or_insert_with(|| Value::Array(Vec::new()));
    let Some(parameters) = parameters.as_array_mut() else {
        return;
    };
    for older_parameter in older_parameters {
        let mut parameter = older_parameter.clone();
        match parameters
            .iter_mut()
            .find(|p| key(p) == key(older_parameter))
        {
            Some(newer) => {
                let required = newer.get("required").and_then(Value::as_bool) == Some(true)
                    && older_parameter.get("required").and_then(Value::as_bool) == Some(true);
                if let Some(object) = parameter.as_object_mut() {
                    object.insert("required".into(), Value::Bool(required));
                }
                *newer = parameter;
            }
            None => {
                if let Some(object) = parameter.as_object_mut() {
                    object.insert("required".into(), Value::Bool(false));
                }
                parameters.push(parameter);
            }
        }
    }
}

fn merge_schemas(merged: &mut Value, older: &Value) {
    let Some(older_schemas) = older
        .pointer("/components/schemas")
        .and_then(Value::as_object)
    else {
        return;
    };
    let Some(schemas) = merged
        .as_object_mut()
        .map(|doc| {
            doc.entry("components")
                .or_insert_with(|| Value::Object(Map::new()))
        })
        .and_then(Value::as_object_mut)
        .map(|components| {
            components
                .entry("schemas")
                .or_insert_with(|| Value::Object(Map::new()))
        })
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    for (name, older_schema) in older_schemas {
        match schemas.get_mut(name).and_then(Value::as_object_mut) {
            None => {
                schemas.insert(name.clone(), older_schema.clone());
            }
            Some(schema) => merge_object_schema(schema, older_schema),
        }
    }
}

fn schema_names(doc: &Value) -> BTreeSet<String> {
    doc.pointer("/components/schemas")
        .and_then(Value::as_object)
        .map(|schemas| schemas.keys().cloned().collect())
        .unwrap_or_default()
}

/// Removes the schemas only older documents brought that no operation
/// reaches (through `$ref`s, transitively).
fn drop_unused_older_schemas(merged: &mut Value, newest_schemas: &BTreeSet<String>) {
    const PREFIX: &str = "#/components/schemas/";
    fn refs(value: &Value, found: &mut Vec<String>) {
        match value {
            Value::Object(object) => {
                for (key, child) in object {
                    match child {
                        Value::String(target) if key == "$ref" => {
                            if let Some(name) = target.strip_prefix(PREFIX) {
                                found.push(name.to_owned());
                            }
                        }
                        _ => refs(child, found),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|item| refs(item, found)),
            _ => {}
        }
    }
    let mut pending = Vec::new();
    if let Some(paths) = merged.get("paths") {
        refs(paths, &mut pending);
    }
    let mut reached = BTreeSet::new();
    while let Some(name) = pending.pop() {
        if reached.insert(name.clone())
            && let Some(schema) = merged.pointer(&format!("/components/schemas/{name}"))
        {
            refs(schema, &mut pending);
        }
    }
    if let Some(schemas) = merged
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        schemas.retain(|name, _| newest_schemas.contains(name) || reached.contains(name));
    }
}

/// Properties: the union (the newest form of each); required: only what
/// both require.
fn merge_object_schema(schema: &mut Map<String, Value>, older: &Value) {
    let older_properties = older.get("properties").and_then(Value::as_object);
    if let (Some(older_properties), Some(properties)) = (
        older_properties,
        schema.get_mut("properties").and_then(Value::as_object_mut),
    ) {
        for (name, property) in older_properties {
            properties
                .entry(name.clone())
                .or_insert_with(|| property.clone());
        }
    }
    let older_required: BTreeSet<&str> = older
        .get("required")
        .and_then(Value::as_array)
        .map(|names| names.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if let Some(required) = schema.get_mut("required").and_then(Value::as_array_mut) {
        required.retain(|name| {
            name.as_str()
                .is_some_and(|name| older_required.contains(name))
        });
        if required.is_empty() {
            schema.remove("required");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn file(version: &str, doc: Value) -> SpecFile {
        SpecFile {
            path: format!("openapi/kitaru-server-{version}.openapi.json"),
            bytes: serde_json::to_vec(&doc).unwrap(),
        }
    }

    #[test]
    fn versions_order_by_their_numbers() {
        let v = |s: &str| ServerVersion(s.into());
        assert!(v("0.98.0") > v("0.94.10"));
        assert!(v("0.94.10") > v("0.94.4"));
        assert!(v("1.0.0") > v("0.98.0"));
    }

    #[test]
    fn the_union_keeps_old_operations_and_loosens_what_only_the_new_requires() {
        let old = json!({
            "info": {"version": "0.94.4"},
            "paths": {
                "/a": {"get": {"operationId": "a", "parameters": [
                    {"name": "tag", "in": "query", "required": true, "schema": {"type": "string"}},
                    {"name": "tags", "in": "query", "schema": {"type": "array", "items": {"type": "string"}}}
                ]}},
                "/gone": {"delete": {"operationId": "gone", "responses": {"200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/OldOnly"}}}}}}}
            },
            "components": {"schemas": {
                "Thing": {"type": "object", "properties": {"x": {"type": "string"}, "old": {"type": "string"}}, "required": ["x", "old"]},
                "OldOnly": {"type": "object", "properties": {"inner": {"$ref": "#/components/schemas/OldInner"}}},
                "OldInner": {"type": "object"},
                "OldUnused": {"type": "object"}
            }}
        });
        let new = json!({
            "info": {"version": "0.98.0"},
            "paths": {
                "/a": {"get": {"operationId": "a", "parameters": [
                    {"name": "tags", "in": "query", "schema": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}}
                ]}},
                "/new": {"post": {"operationId": "new"}}
            },
            "components": {"schemas": {
                "Thing": {"type": "object", "properties": {"x": {"type": "integer"}, "y": {"type": "string"}}, "required": ["x", "y"]}
            }}
        });
        let merged = merge(&[file("0.98.0", new), file("0.94.4", old)]).unwrap();
        assert_eq!(merged["info"]["version"], "0.98.0");
        assert_eq!(
            merged["info"][OPERATION_SERVERS],
            json!(["0.94.4", "0.98.0"])
        );
        assert_eq!(
            merged["paths"]["/a"]["get"][OPERATION_SERVERS],
            json!(["0.94.4", "0.98.0"])
        );
        assert_eq!(
            merged["paths"]["/gone"]["delete"][OPERATION_SERVERS],
            json!(["0.94.4"])
        );
        assert_eq!(
            merged["paths"]["/new"]["post"][OPERATION_SERVERS],
            json!(["0.98.0"])
        );
        let parameters = &merged["paths"]["/a"]["get"]["parameters"];
        assert_eq!(parameters[0]["name"], "tags");
        assert_eq!(
            parameters[0]["schema"]["type"], "array",
            "the older form of a shared parameter"
        );
        assert_eq!(parameters[1]["name"], "tag");
        assert_eq!(
            parameters[1]["required"], false,
            "an older-only parameter is optional"
        );
        let thing = &merged["components"]["schemas"]["Thing"];
        assert_eq!(
            thing["properties"]["x"]["type"], "integer",
            "the newest form wins"
        );
        assert!(thing["properties"]["old"].is_object());
        assert_eq!(thing["required"], json!(["x"]));
        assert!(merged["components"]["schemas"]["OldOnly"].is_object());
        assert!(merged["components"]["schemas"]["OldInner"].is_object());
        assert!(merged["components"]["schemas"].get("OldUnused").is_none());
    }

    #[test]
    fn a_file_named_for_another_version_or_two_of_one_version_are_refused() {
        let doc = json!({"info": {"version": "0.98.0"}, "paths": {}});
        let mut misnamed = file("0.98.0", doc.clone());
        misnamed.path = "openapi/kitaru-server-0.97.0.openapi.json".into();
        let error = merge(&[misnamed]).unwrap_err().to_string();
        assert!(
            error.contains("name it kitaru-server-0.98.0.openapi.json"),
            "{error}"
        );
        let mut twice = file("0.98.0", doc.clone());
        twice.path = "elsewhere/x.json".into();
        let error = merge(&[file("0.98.0", doc), twice])
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("two documents of server version 0.98.0"),
            "{error}"
        );
    }
}
