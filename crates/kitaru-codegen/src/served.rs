//! A served document as the changelog ([`crate::changelog`]) and the
//! suggested decisions ([`crate::suggest`]) read it: its operations under
//! the names `openapi/api_tools.toml` uses, and schemas described by short
//! type texts.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::normalise::{self, NormaliseError};

/// One operation of a served document.
#[derive(Clone, Debug)]
pub struct Operation {
    /// Its name in `openapi/api_tools.toml` and the client: the
    /// operationId as the normaliser names it (`list_runs`).
    pub name: String,
    /// The operationId as served (`list_runs_api_v1_runs_get`).
    pub operation_id: String,
    /// `GET`, `POST`, …
    pub method: String,
    /// The path template.
    pub path: String,
    /// The first tag (`runs`), or empty.
    pub tag: String,
    /// Every tag.
    pub tags: Vec<String>,
    /// `summary`, or empty.
    pub summary: String,
    /// `description`, or empty.
    pub description: String,
    /// Whether the document marks it deprecated.
    pub deprecated: bool,
}

impl Operation {
    /// The operation object in `doc`.
    pub fn object<'a>(&self, doc: &'a Value) -> &'a Value {
        doc.get("paths")
            .and_then(|paths| paths.get(&self.path))
            .and_then(|item| item.get(self.method.to_ascii_lowercase()))
            .unwrap_or(&Value::Null)
    }

    /// `GET /api/v1/runs`.
    pub fn route(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

/// Every operation of `doc` (as served), sorted by path and method.
pub fn operations(doc: &Value) -> Result<Vec<Operation>, NormaliseError> {
    // The names: the normaliser's `operation_ids` rule, on a copy.
    let mut named = serde_json::json!({
        "openapi": doc.get("openapi").cloned().unwrap_or(Value::Null),
        "paths": doc.get("paths").cloned().unwrap_or(Value::Null),
    });
    if let Some(rule) = normalise::RULES
        .iter()
        .find(|rule| rule.name == "operation_ids")
    {
        rule.apply(&mut named)?;
    }
    let mut found = Vec::new();
    let Some(paths) = doc.get("paths").and_then(Value::as_object) else {
        return Ok(found);
    };
    for (path, item) in paths {
        for method in normalise::METHODS {
            let Some(operation) = item.get(method) else {
                continue;
            };
            let text = |key: &str| {
                operation
                    .get(key)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned()
            };
            let name = named
                .get("paths")
                .and_then(|paths| paths.get(path))
                .and_then(|item| item.get(method))
                .and_then(|operation| operation.get("operationId"))
                .and_then(Value::as_str)
                .unwrap_or_default();
            let tags: Vec<String> = operation
                .get("tags")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect();
            found.push(Operation {
                name: crate::api_tools::plain(name),
                operation_id: text("operationId"),
                method: method.to_ascii_uppercase(),
                path: path.clone(),
                tag: tags.first().cloned().unwrap_or_default(),
                tags,
                summary: text("summary"),
                description: text("description"),
                deprecated: operation
                    .get("deprecated")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
            });
        }
    }
    found.sort_by(|a, b| (&a.path, &a.method).cmp(&(&b.path, &b.method)));
    Ok(found)
}

/// The component schemas of `doc`, by name.
pub fn schemas(doc: &Value) -> BTreeMap<&str, &Value> {
    doc.pointer("/components/schemas")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(name, schema)| (name.as_str(), schema))
        .collect()
}

/// The last segment of a local `$ref` (`#/components/schemas/Run` → `Run`).
pub fn ref_name(reference: &str) -> &str {
    reference.rsplit('/').next().unwrap_or(reference)
}

/// What `$ref` in `doc` points to; `None` for a reference that leads
/// nowhere (or outside the document).
pub fn follow<'a>(doc: &'a Value, reference: &str) -> Option<&'a Value> {
    doc.pointer(reference.strip_prefix('#')?)
}

/// `schema` with `$ref`s followed (at most 32 in a row).
pub fn resolve<'a>(doc: &'a Value, mut schema: &'a Value) -> &'a Value {
    for _ in 0..32 {
        match schema.get("$ref").and_then(Value::as_str) {
            Some(reference) => match follow(doc, reference) {
                Some(target) => schema = target,
                None => return schema,
            },
            None => return schema,
        }
    }
    schema
}

/// A short, canonical description of a schema's type, used to tell whether
/// a parameter or a field was retyped:
///
/// - a reference is the name of the schema it names (`PipelineRunResponse`);
/// - `string(uuid)` for a format, `string(application/octet-stream)` for a
///   `contentMediaType`; `array<T>`; `[A, B]` for `prefixItems`; `map<T>`
///   for `additionalProperties`; `object{a, b}` for an inline object (its
///   field names); `object` and `any` for free-form values;
/// - an enum or `const` lists its values (`"a" | "b"`);
/// - a union (`anyOf`, `oneOf`, a list of types) lists its members sorted,
///   each once, `null` last: the order a server happens to write them in is
///   no change.
///
/// Titles, descriptions, defaults, examples and constraints (lengths,
/// bounds, patterns) are not part of it.
pub fn type_text(schema: &Value) -> String {
    let mut members = BTreeSet::new();
    let mut nullable = false;
    collect(schema, &mut members, &mut nullable, 0);
    let mut parts: Vec<String> = members.into_iter().collect();
    if nullable {
        parts.push("null".to_owned());
    }
    if parts.is_empty() {
        "any".to_owned()
    } else {
        parts.join(" | ")
    }
}

fn literal(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

fn collect(schema: &Value, members: &mut BTreeSet<String>, nullable: &mut bool, depth: usize) {
    if depth > 16 {
        members.insert("…".to_owned());
        return;
    }
    let object = match schema {
        Value::Object(object) => object,
        Value::Bool(false) => {
            members.insert("never".to_owned());
            return;
        }
        _ => {
            members.insert("any".to_owned());
            return;
        }
    };
    if let Some(reference) = object.get("$ref").and_then(Value::as_str) {
        members.insert(ref_name(reference).to_owned());
        return;
    }
    let mut union = false;
    for key in ["anyOf", "oneOf"] {
        if let Some(items) = object.get(key).and_then(Value::as_array) {
            union = true;
            for item in items {
                collect(item, members, nullable, depth + 1);
            }
        }
    }
    if let Some(items) = object.get("allOf").and_then(Value::as_array) {
        union = true;
        if let [only] = items.as_slice() {
            collect(only, members, nullable, depth + 1);
        } else {
            let mut parts: Vec<String> = items.iter().map(type_text).collect();
            parts.sort();
            members.insert(format!("({})", parts.join(" & ")));
        }
    }
    if union {
        return;
    }
    if let Some(value) = object.get("const") {
        members.insert(literal(value));
        return;
    }
    if let Some(values) = object.get("enum").and_then(Value::as_array) {
        for value in values {
            if value.is_null() {
                *nullable = true;
            } else {
                members.insert(literal(value));
            }
        }
        return;
    }
    let types: Vec<&str> = match object.get("type") {
        Some(Value::String(one)) => vec![one.as_str()],
        Some(Value::Array(many)) => many.iter().filter_map(Value::as_str).collect(),
        _ if object.contains_key("properties") => vec!["object"],
        _ if object.contains_key("items") => vec!["array"],
        _ => vec![],
    };
    if types.is_empty() {
        members.insert("any".to_owned());
    }
    for kind in types {
        let text = match kind {
            "null" => {
                *nullable = true;
                continue;
            }
            "string" => match (
                object.get("format").and_then(Value::as_str),
                object.get("contentMediaType").and_then(Value::as_str),
            ) {
                (Some(format), _) => format!("string({format})"),
                (None, Some(media)) => format!("string({media})"),
                (None, None) => "string".to_owned(),
            },
            "array" => match (object.get("prefixItems"), object.get("items")) {
                (Some(Value::Array(prefix)), _) => format!(
                    "[{}]",
                    prefix.iter().map(type_text).collect::<Vec<_>>().join(", ")
                ),
                (_, Some(items)) => format!("array<{}>", type_text(items)),
                _ => "array<any>".to_owned(),
            },
            "object" => match (
                object.get("properties").and_then(Value::as_object),
                object.get("additionalProperties"),
            ) {
                (Some(properties), _) if !properties.is_empty() => {
                    let names: BTreeSet<&str> = properties.keys().map(String::as_str).collect();
                    format!(
                        "object{{{}}}",
                        names.into_iter().collect::<Vec<_>>().join(", ")
                    )
                }
                (_, Some(values @ Value::Object(_)))
                    if values.as_object().is_some_and(|v| !v.is_empty()) =>
                {
                    format!("map<{}>", type_text(values))
                }
                _ => "object".to_owned(),
            },
            other => other.to_owned(),
        };
        members.insert(text);
    }
}

/// A field of an object schema.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    /// Its [`type_text`].
    pub ty: String,
    /// Whether the object requires it.
    pub required: bool,
}

/// The fields of an object schema (`$ref`s followed; a nullable object is
/// the object; `allOf` members merged), or `None` if it is not one.
pub fn fields(doc: &Value, schema: &Value) -> Option<BTreeMap<String, Field>> {
    let schema = object_schema(doc, schema, 0)?;
    let mut found = BTreeMap::new();
    add_fields(doc, schema, &mut found, 0);
    Some(found)
}

/// The object schema a schema stands for, if there is exactly one.
fn object_schema<'a>(doc: &'a Value, schema: &'a Value, depth: usize) -> Option<&'a Value> {
    if depth > 16 {
        return None;
    }
    let schema = resolve(doc, schema);
    if schema.get("properties").is_some_and(Value::is_object) {
        return Some(schema);
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(members) = schema.get(key).and_then(Value::as_array) {
            let objects: Vec<&Value> = members
                .iter()
                .filter(|member| member.get("type").and_then(Value::as_str) != Some("null"))
                .collect();
            return match objects.as_slice() {
                [only] => object_schema(doc, only, depth + 1),
                _ => None,
            };
        }
    }
    match schema
        .get("allOf")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
    {
        Some([only]) => object_schema(doc, only, depth + 1),
        Some(members) if !members.is_empty() => Some(schema),
        _ => None,
    }
}

fn add_fields(doc: &Value, schema: &Value, found: &mut BTreeMap<String, Field>, depth: usize) {
    if depth > 16 {
        return;
    }
    let schema = resolve(doc, schema);
    for member in schema
        .get("allOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        add_fields(doc, member, found, depth + 1);
    }
    let required: BTreeSet<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    for (name, property) in schema
        .get("properties")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        found.insert(
            name.clone(),
            Field {
                ty: type_text(property),
                required: required.contains(name.as_str()),
            },
        );
    }
}

/// The media types and schemas of an operation's request body (references
/// to `components/requestBodies` followed), and whether it is required.
pub fn request_body<'a>(
    doc: &'a Value,
    operation: &'a Value,
) -> Option<(bool, BTreeMap<&'a str, &'a Value>)> {
    let body = resolve(doc, operation.get("requestBody")?);
    Some((
        body.get("required")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        content(body),
    ))
}

/// The responses of an operation by status code, each with its media types
/// and schemas (references to `components/responses` followed).
pub fn responses<'a>(
    doc: &'a Value,
    operation: &'a Value,
) -> BTreeMap<&'a str, BTreeMap<&'a str, &'a Value>> {
    operation
        .get("responses")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(code, response)| (code.as_str(), content(resolve(doc, response))))
        .collect()
}

fn content(holder: &Value) -> BTreeMap<&str, &Value> {
    holder
        .get("content")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(media, entry)| (media.as_str(), entry.get("schema").unwrap_or(&Value::Null)))
        .collect()
}

/// A parameter of an operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parameter {
    /// Its [`type_text`].
    pub ty: String,
    /// Whether it is required.
    pub required: bool,
}

/// The parameters of an operation (with those of its path item), by
/// `(in, name)`; references to `components/parameters` followed.
pub fn parameters(
    doc: &Value,
    path_item: &Value,
    operation: &Value,
) -> BTreeMap<(String, String), Parameter> {
    let mut found = BTreeMap::new();
    for holder in [path_item, operation] {
        for parameter in holder
            .get("parameters")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let parameter = resolve(doc, parameter);
            let (Some(name), Some(place)) = (
                parameter.get("name").and_then(Value::as_str),
                parameter.get("in").and_then(Value::as_str),
            ) else {
                continue;
            };
            let schema = parameter
                .get("schema")
                .or_else(|| {
                    parameter
                        .get("content")
                        .and_then(Value::as_object)
                        .and_then(|content| content.values().next())
                        .and_then(|entry| entry.get("schema"))
                })
                .unwrap_or(&Value::Null);
            found.insert(
                (place.to_owned(), name.to_owned()),
                Parameter {
                    ty: type_text(schema),
                    required: parameter
                        .get("required")
                        .and_then(Value::as_bool)
                        .unwrap_or(false),
                },
            );
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn type_texts_are_canonical() {
        assert_eq!(
            type_text(
                &json!({"anyOf": [{"type": "string"}, {"type": "string", "format": "uuid"}, {"type": "null"}]})
            ),
            type_text(
                &json!({"anyOf": [{"type": "null"}, {"type": "string", "format": "uuid"}, {"type": "string"}]})
            )
        );
        assert_eq!(
            type_text(
                &json!({"anyOf": [{"type": "string", "format": "uuid"}, {"type": "string"}, {"type": "array", "items": {"anyOf": [{"type": "string", "format": "uuid"}, {"type": "string"}]}}, {"type": "null"}]})
            ),
            "array<string | string(uuid)> | string | string(uuid) | null"
        );
        assert_eq!(
            type_text(&json!({"$ref": "#/components/schemas/Run"})),
            "Run"
        );
        assert_eq!(type_text(&json!({})), "any");
        assert_eq!(
            type_text(&json!({"type": "object", "additionalProperties": {"type": "integer"}})),
            "map<integer>"
        );
        assert_eq!(
            type_text(&json!({"type": "object", "additionalProperties": true})),
            "object"
        );
        assert_eq!(
            type_text(&json!({"type": ["string", "null"], "enum": ["b", "a", null]})),
            "\"a\" | \"b\" | null"
        );
        assert_eq!(
            type_text(
                &json!({"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}]})
            ),
            "[string, integer]"
        );
    }
}
