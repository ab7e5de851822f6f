//! Visiting every schema and every operation of an OpenAPI document.
//!
//! The rules rewrite the document as `serde_json::Value`; these helpers find
//! the places where a schema may sit, so that each rule only says what it does
//! to one schema or one operation.

use serde_json::{Map, Value};

/// The HTTP methods an OpenAPI path item may carry an operation for.
pub(crate) const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// How a schema was reached; rules that look at names (titles) need it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Site<'a> {
    /// A named schema under `components/schemas`.
    Component(&'a str),
    /// The schema of an object property with this name.
    Property(&'a str),
    /// The schema of a parameter with this name.
    Parameter(&'a str),
    /// The schema of a request or response body.
    Body,
    /// Anywhere else inside a schema (items, union members, ...).
    Nested,
}

/// Calls `f` on every schema object of the document, children before their
/// parent, in the document's (sorted) key order.
pub(crate) fn for_each_schema(doc: &mut Value, f: &mut dyn FnMut(&mut Map<String, Value>, Site)) {
    if let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        for (name, schema) in schemas.iter_mut() {
            visit_schema(schema, Site::Component(name), f);
        }
    }
    for section in ["parameters", "requestBodies", "responses"] {
        if let Some(items) = doc
            .pointer_mut(&format!("/components/{section}"))
            .and_then(Value::as_object_mut)
        {
            for item in items.values_mut() {
                visit_operation_part(item, f);
            }
        }
    }
    for_each_path_item(doc, &mut |_, item| {
        if let Some(parameters) = item.get_mut("parameters") {
            visit_operation_part(parameters, f);
        }
        for method in METHODS {
            if let Some(operation) = item.get_mut(method).and_then(Value::as_object_mut) {
                for part in ["parameters", "requestBody", "responses"] {
                    if let Some(value) = operation.get_mut(part) {
                        visit_operation_part(value, f);
                    }
                }
            }
        }
    });
}

/// A visitor of operations: path, method, the operation object.
pub(crate) type OperationVisitor<'f> = dyn FnMut(&str, &str, &mut Map<String, Value>) + 'f;

/// Calls `f` on every operation with its path and method, in sorted path
/// order, methods in [`METHODS`] order.
pub(crate) fn for_each_operation(doc: &mut Value, f: &mut OperationVisitor<'_>) {
    for_each_path_item(doc, &mut |path, item| {
        for method in METHODS {
            if let Some(operation) = item.get_mut(method).and_then(Value::as_object_mut) {
                f(path, method, operation);
            }
        }
    });
}

fn for_each_path_item(doc: &mut Value, f: &mut dyn FnMut(&str, &mut Map<String, Value>)) {
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    let mut keys: Vec<String> = paths.keys().cloned().collect();
    keys.sort();
    for path in keys {
        if let Some(item) = paths.get_mut(&path).and_then(Value::as_object_mut) {
            f(&path, item);
        }
    }
}

/// Parameters (a list), a request body or a responses map: finds the schemas
/// inside `schema` and `content/*/schema`.
fn visit_operation_part(value: &mut Value, f: &mut dyn FnMut(&mut Map<String, Value>, Site)) {
    match value {
        Value::Array(parameters) => {
            for parameter in parameters {
                visit_operation_part(parameter, f);
            }
        }
        Value::Object(object) => {
            if object.contains_key("in") {
                let name = object
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned();
                if let Some(schema) = object.get_mut("schema") {
                    visit_schema(schema, Site::Parameter(&name), f);
                }
            } else if let Some(content) = object.get_mut("content").and_then(Value::as_object_mut) {
                for media in content.values_mut() {
                    if let Some(schema) = media.get_mut("schema") {
                        visit_schema(schema, Site::Body, f);
                    }
                }
            } else {
                // A responses map: status code → response.
                for response in object.values_mut() {
                    if response.get("content").is_some() {
                        visit_operation_part(response, f);
                    }
                }
            }
        }
        _ => {}
    }
}

/// Visits one schema and everything nested in it, children first.
pub(crate) fn visit_schema(
    schema: &mut Value,
    site: Site,
    f: &mut dyn FnMut(&mut Map<String, Value>, Site),
) {
    let Value::Object(object) = schema else {
        return;
    };
    for (key, child) in object.iter_mut() {
        match key.as_str() {
            "properties" | "patternProperties" => {
                if let Value::Object(properties) = child {
                    for (name, property) in properties.iter_mut() {
                        visit_schema(property, Site::Property(name), f);
                    }
                }
            }
            "additionalProperties" | "items" | "not" | "propertyNames" | "contains" => {
                match child {
                    Value::Array(members) => {
                        for member in members {
                            visit_schema(member, Site::Nested, f);
                        }
                    }
                    other => visit_schema(other, Site::Nested, f),
                }
            }
            "allOf" | "anyOf" | "oneOf" | "prefixItems" => {
                if let Value::Array(members) = child {
                    for member in members {
                        visit_schema(member, Site::Nested, f);
                    }
                }
            }
            _ => {}
        }
    }
    f(object, site);
}

/// Whether a schema is exactly `{"type": "null"}`.
pub(crate) fn is_null_schema(schema: &Value) -> bool {
    schema.get("type").and_then(Value::as_str) == Some("null")
}

/// The members of a union keyword (`anyOf`, `oneOf`) of `schema` other than
/// `{"type": "null"}`, and whether a null member was there; `None` when the
/// schema has no such keyword.
pub(crate) fn union_members(
    schema: &Map<String, Value>,
    union: &str,
) -> Option<(Vec<Value>, bool)> {
    let Some(Value::Array(members)) = schema.get(union) else {
        return None;
    };
    let rest: Vec<Value> = members
        .iter()
        .filter(|m| !is_null_schema(m))
        .cloned()
        .collect();
    let had_null = rest.len() < members.len();
    Some((rest, had_null))
}

/// The `type` keyword of a schema when it is a single string.
pub(crate) fn type_of(schema: &Map<String, Value>) -> Option<&str> {
    schema.get("type").and_then(Value::as_str)
}

/// Keywords that only document a schema; they survive when a schema's shape
/// is replaced.
pub(crate) const DOC_KEYWORDS: [&str; 5] =
    ["title", "description", "default", "example", "deprecated"];

/// A new schema made of `shape` plus the documentation keywords of `from`.
pub(crate) fn with_docs_of(
    from: &Map<String, Value>,
    mut shape: Map<String, Value>,
) -> Map<String, Value> {
    for keyword in DOC_KEYWORDS {
        if let Some(value) = from.get(keyword) {
            shape.entry(keyword).or_insert_with(|| value.clone());
        }
    }
    shape
}
