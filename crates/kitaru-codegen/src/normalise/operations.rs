//! Rules over the document and its operations rather than single schemas.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use super::NormaliseError;
use super::walk::{METHODS, for_each_operation, union_members, with_docs_of};

/// `openapi: 3.1.x` → `3.0.3`, the only family progenitor reads. Anything but
/// 3.0 or 3.1 is refused.
pub(super) fn openapi_version(doc: &mut Value) -> Result<(), NormaliseError> {
    let found = doc
        .get("openapi")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    if found.starts_with("3.1.") {
        doc["openapi"] = json!("3.0.3");
        Ok(())
    } else if found.starts_with("3.0.") {
        Ok(())
    } else {
        Err(NormaliseError::UnsupportedVersion { found })
    }
}

/// Short, unique operation ids, because they name the client's methods and
/// response types.
///
/// FastAPI's ids are the handler name followed by the path and method
/// (`list_runs_api_v1_runs_get`); that suffix is cut (`list_runs`). An
/// operation without an id gets `{method}_{path}`. Where names clash (the
/// deprecated `/workspaces/{project}/...` routes repeat the handlers of the
/// current ones), the operation that is not deprecated and has the shortest
/// path keeps the name; each other one appends the first fixed path segment
/// where its path leaves the keeper's (`list_runs_workspaces`), then a
/// counter if that is taken too.
pub(super) fn operation_ids(doc: &mut Value) -> Result<(), NormaliseError> {
    struct Candidate {
        path: String,
        method: String,
        deprecated: bool,
        base: String,
    }
    let mut candidates = Vec::new();
    for_each_operation(doc, &mut |path, method, operation| {
        let base = match operation.get("operationId").and_then(Value::as_str) {
            Some(id) => strip_fastapi_suffix(id, path, method)
                .unwrap_or(id)
                .to_owned(),
            None => format!("{method}_{}", identifier_words(path)),
        };
        candidates.push(Candidate {
            path: path.to_owned(),
            method: method.to_owned(),
            deprecated: operation
                .get("deprecated")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            base,
        });
    });

    let mut groups: BTreeMap<&str, Vec<&Candidate>> = BTreeMap::new();
    for candidate in &candidates {
        groups
            .entry(candidate.base.as_str())
            .or_default()
            .push(candidate);
    }
    let mut taken: BTreeSet<String> = groups.keys().map(|k| (*k).to_owned()).collect();
    let mut assigned: BTreeMap<(String, String), String> = BTreeMap::new();
    for (base, mut group) in groups {
        group.sort_by_key(|c| {
            (
                c.deprecated,
                c.path.matches('/').count(),
                c.path.clone(),
                method_rank(&c.method),
            )
        });
        let keeper = group[0];
        assigned.insert(
            (keeper.path.clone(), keeper.method.clone()),
            base.to_owned(),
        );
        for other in &group[1..] {
            let qualifier = divergent_segment(&keeper.path, &other.path)
                .unwrap_or_else(|| other.method.clone());
            let mut name = format!("{base}_{qualifier}");
            let mut counter = 2;
            while taken.contains(&name) {
                name = format!("{base}_{qualifier}_{counter}");
                counter += 1;
            }
            taken.insert(name.clone());
            assigned.insert((other.path.clone(), other.method.clone()), name);
        }
    }

    for_each_operation(doc, &mut |path, method, operation| {
        if let Some(name) = assigned.get(&(path.to_owned(), method.to_owned())) {
            operation.insert("operationId".into(), json!(name));
        }
    });
    Ok(())
}

fn method_rank(method: &str) -> usize {
    METHODS
        .iter()
        .position(|m| *m == method)
        .unwrap_or(METHODS.len())
}

/// FastAPI's `generate_unique_id`: `re.sub(r"\W", "_", name + path) + "_" +
/// method`. Returns the handler name when `id` has that form.
fn strip_fastapi_suffix<'a>(id: &'a str, path: &str, method: &str) -> Option<&'a str> {
    let path_part: String = path
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let suffix = format!("{path_part}_{method}");
    id.strip_suffix(&suffix).filter(|name| !name.is_empty())
}

/// `/api/v1/runs/{run_id}` → `api_v1_runs_run_id`.
fn identifier_words(path: &str) -> String {
    path.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|word| !word.is_empty())
        .collect::<Vec<_>>()
        .join("_")
        .to_ascii_lowercase()
}

/// The first fixed (non-parameter) segment of `path` after the segments it
/// shares with `keeper`, as an identifier.
fn divergent_segment(keeper: &str, path: &str) -> Option<String> {
    let kept: Vec<&str> = keeper.split('/').collect();
    path.split('/')
        .enumerate()
        .skip_while(|(i, segment)| kept.get(*i) == Some(segment))
        .map(|(_, segment)| segment)
        .find(|segment| !segment.is_empty() && !segment.starts_with('{'))
        .map(identifier_words)
}

/// FastAPI's generated request-body schemas (`Body_token_api_v1_login_post`,
/// for form bodies) → `{OperationId}Body` (`TokenBody`), the name progenitor
/// gives inline bodies. Runs after [`operation_ids`], whose short ids it
/// uses; a name already taken keeps the schema as it is.
pub(super) fn body_names(doc: &mut Value) -> Result<(), NormaliseError> {
    const PREFIX: &str = "#/components/schemas/";
    let mut renames: BTreeMap<String, String> = BTreeMap::new();
    for_each_operation(doc, &mut |_, _, operation| {
        let Some(id) = operation.get("operationId").and_then(Value::as_str) else {
            return;
        };
        let Some(Value::Object(content)) = operation
            .get("requestBody")
            .and_then(|body| body.get("content"))
        else {
            return;
        };
        for media in content.values() {
            if let Some(name) = media
                .pointer("/schema/$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix(PREFIX))
                .filter(|name| name.starts_with("Body_"))
            {
                renames.insert(
                    name.to_owned(),
                    format!("{}Body", heck::AsUpperCamelCase(id)),
                );
            }
        }
    });
    let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    else {
        return Ok(());
    };
    renames.retain(|old, new| schemas.contains_key(old) && !schemas.contains_key(new));
    for (old, new) in &renames {
        if let Some(schema) = schemas.remove(old) {
            schemas.insert(new.clone(), schema);
        }
    }
    let pointers: BTreeMap<String, String> = renames
        .iter()
        .map(|(old, new)| (format!("{PREFIX}{old}"), format!("{PREFIX}{new}")))
        .collect();
    rewrite_refs(doc, &pointers);
    Ok(())
}

/// Replaces every `$ref` found in `renames` by its new target.
fn rewrite_refs(value: &mut Value, renames: &BTreeMap<String, String>) {
    match value {
        Value::Object(object) => {
            for (key, child) in object.iter_mut() {
                match child {
                    Value::String(target) if key == "$ref" => {
                        if let Some(new) = renames.get(target.as_str()) {
                            *target = new.clone();
                        }
                    }
                    _ => rewrite_refs(child, renames),
                }
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|item| rewrite_refs(item, renames)),
        _ => {}
    }
}

/// Query and path parameters: a union (`uuid | str`, `datetime | str`, `enum
/// | str`, also with `null`) → its one non-null member, or a string when
/// several are left, since a query string carries text anyway and the server
/// parses filter operators (`gte:...`) out of it. Numeric bounds on query
/// parameters are dropped (a page size is an `i64`, not a validating
/// newtype). A path parameter is required and never null.
pub(super) fn parameters(doc: &mut Value) -> Result<(), NormaliseError> {
    for_each_operation(doc, &mut |_, _, operation| {
        let Some(Value::Array(parameters)) = operation.get_mut("parameters") else {
            return;
        };
        for parameter in parameters.iter_mut().filter_map(Value::as_object_mut) {
            let location = parameter
                .get("in")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            if location == "path" {
                parameter.insert("required".into(), Value::Bool(true));
            }
            let Some(Value::Object(schema)) = parameter.get_mut("schema") else {
                continue;
            };
            simplify_parameter_schema(schema);
            if location == "query" {
                for keyword in ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"] {
                    schema.remove(keyword);
                }
            }
            if location == "path" {
                schema.remove("nullable");
            }
        }
    });
    Ok(())
}

fn simplify_parameter_schema(schema: &mut Map<String, Value>) {
    for union in ["anyOf", "oneOf"] {
        let Some((rest, _)) = union_members(schema, union) else {
            continue;
        };
        let shape = match rest.as_slice() {
            [Value::Object(single)] => single.clone(),
            _ => json!({ "type": "string" })
                .as_object()
                .cloned()
                .unwrap_or_default(),
        };
        *schema = with_docs_of(schema, shape);
    }
}

/// The name of the one error schema every error response points to.
pub const ERROR_BODY: &str = "ErrorBody";

/// All error responses (4xx, 5xx, `default`) → one schema, `ErrorBody`, any
/// JSON: progenitor needs a single error type per operation, and the server
/// answers errors in more than one shape (`{"detail": ...}` from its
/// handlers, a bare `["ValueError", "..."]` pair for a rejected request),
/// neither of which matches the `HTTPValidationError` its document promises
/// for 422.
pub(super) fn error_responses(doc: &mut Value) -> Result<(), NormaliseError> {
    let schemas = doc
        .as_object_mut()
        .ok_or(NormaliseError::NotAnObject)?
        .entry("components")
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .ok_or(NormaliseError::NotAnObject)?
        .entry("schemas")
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .ok_or(NormaliseError::NotAnObject)?;
    let error_body = json!({
        "description": "The body of an error answer, as the server sent it. ZenML's handlers answer `{\"detail\": ...}`; a request the server rejects before its handler runs gets a bare `[\"ErrorType\", \"message\"]` pair."
    });
    match schemas.get(ERROR_BODY) {
        Some(existing) if *existing != error_body => {
            return Err(NormaliseError::NameTaken { name: ERROR_BODY });
        }
        _ => {
            schemas.insert(ERROR_BODY.into(), error_body);
        }
    }
    for_each_operation(doc, &mut |_, _, operation| {
        let Some(Value::Object(responses)) = operation.get_mut("responses") else {
            return;
        };
        for (status, response) in responses.iter_mut() {
            if status.starts_with('2') || status.starts_with('1') || status.starts_with('3') {
                continue;
            }
            let description = response
                .get("description")
                .cloned()
                .unwrap_or_else(|| json!("Error"));
            *response = json!({
                "description": description,
                "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{ERROR_BODY}") } } }
            });
        }
    });
    Ok(())
}

/// Operations whose success answer the document declares as JSON although
/// the server sends something else, as read in the server's source and seen
/// on the wire.
pub const BINARY_ANSWERS: [(&str, &str, &str); 4] = [
    (
        "get",
        "/api/v1/artifact_versions/{artifact_version_id}/data",
        "a gzip-compressed tar archive of the artifact's files",
    ),
    (
        "get",
        "/api/v1/pipeline_snapshots/{snapshot_id}/code",
        "a gzip-compressed tar archive of the snapshot's code",
    ),
    ("get", "/health", "the text `ok`"),
    ("get", "/ready", "the text `ok`"),
];

/// The success answers listed in [`BINARY_ANSWERS`] → `application/octet-stream`
/// (a byte stream in the client). An entry that matches no operation is an
/// error, so that a refreshed document cannot silently turn a download back
/// into JSON.
pub(super) fn binary_responses(doc: &mut Value) -> Result<(), NormaliseError> {
    for (method, path, what) in BINARY_ANSWERS {
        let pointer = format!(
            "/paths/{}/{method}/responses",
            path.replace('~', "~0").replace('/', "~1")
        );
        let Some(Value::Object(responses)) = doc.pointer_mut(&pointer) else {
            return Err(NormaliseError::UnknownOperation { method, path });
        };
        for (status, response) in responses.iter_mut() {
            if status.starts_with('2') {
                *response = json!({
                    "description": format!("Successful response: {what}."),
                    "content": { "application/octet-stream": { "schema": { "type": "string", "format": "binary" } } }
                });
            }
        }
    }
    Ok(())
}
