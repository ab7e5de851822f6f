//! Rules for `anyOf`: Pydantic writes every `Optional[X]` and every `Union`
//! as `anyOf`, which typify turns into structs of flattened optional fields.
//! Each rule takes one kind of union out, in order; whatever is left becomes
//! a `oneOf` (an untagged enum).

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use super::NormaliseError;
use super::walk::{for_each_schema, type_of, union_members, with_docs_of};

const UNIONS: [&str; 2] = ["anyOf", "oneOf"];

/// A union with a `{"type": "null"}` member → the rest of the union with
/// `nullable: true`. A lone `$ref` is wrapped as `allOf: [$ref]` (3.0 ignores
/// `nullable` beside a `$ref`); a lone inline schema is merged into the
/// union's place; a union with an any-JSON member is any JSON (which already
/// includes null).
pub(super) fn nullable_unions(doc: &mut Value) -> Result<(), NormaliseError> {
    for_each_schema(doc, &mut |schema, _| {
        for union in UNIONS {
            let Some((rest, true)) = union_members(schema, union) else {
                continue;
            };
            schema.remove(union);
            match rest.as_slice() {
                [] => {}
                members if members.iter().any(is_any_json) => {}
                [single] if single.get("$ref").is_some() => {
                    schema.insert("allOf".into(), json!([single]));
                    schema.insert("nullable".into(), Value::Bool(true));
                }
                [Value::Object(single)] => {
                    for (key, value) in single {
                        schema.entry(key.clone()).or_insert_with(|| value.clone());
                    }
                    schema.insert("nullable".into(), Value::Bool(true));
                }
                several => {
                    schema.insert(union.into(), Value::Array(several.to_vec()));
                    schema.insert("nullable".into(), Value::Bool(true));
                }
            }
        }
    });
    Ok(())
}

/// A union with a plain string member (`str`) absorbs its other string
/// members: strings in a format (`uuid | str`, `datetime | str`) and string
/// enums (`ModelStages | int | str`), since the plain string accepts all of
/// them and the client cannot tell which one it gets (an open enum would
/// also catch every string before the plain member could). A union left
/// with one member becomes a plain string.
pub(super) fn string_unions(doc: &mut Value) -> Result<(), NormaliseError> {
    let components = component_schemas(doc);
    for_each_schema(doc, &mut |schema, _| {
        for union in UNIONS {
            let Some(Value::Array(members)) = schema.get(union) else {
                continue;
            };
            if !members.iter().any(is_plain_string) {
                continue;
            }
            let mut kept = Vec::new();
            let mut has_string = false;
            for member in members {
                if !is_string_like(member, &components) {
                    kept.push(member.clone());
                } else if !has_string {
                    kept.push(json!({ "type": "string" }));
                    has_string = true;
                }
            }
            if kept.len() == 1 {
                schema.remove(union);
                schema.insert("type".into(), json!("string"));
                schema.remove("format");
            } else {
                schema.insert(union.into(), Value::Array(kept));
            }
        }
    });
    Ok(())
}

/// `{"type": "string"}` with nothing that narrows it.
fn is_plain_string(schema: &Value) -> bool {
    schema.as_object().is_some_and(|s| {
        type_of(s) == Some("string")
            && !s.contains_key("$ref")
            && !s.contains_key("enum")
            && !s.contains_key("format")
    })
}

/// An inline string schema, or a reference to a named one (a string enum).
fn is_string_like(schema: &Value, components: &Map<String, Value>) -> bool {
    let resolved = match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => components.get(reference.trim_start_matches("#/components/schemas/")),
        None => Some(schema),
    };
    resolved.and_then(Value::as_object).and_then(type_of) == Some("string")
}

fn component_schemas(doc: &Value) -> Map<String, Value> {
    doc.pointer("/components/schemas")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

/// The free metadata value (`str | int | float | bool | dict | list | set`)
/// → `{}`, any JSON: as an untagged enum it would be a seven-variant type
/// that says nothing more than `serde_json::Value`.
pub(super) fn any_json_unions(doc: &mut Value) -> Result<(), NormaliseError> {
    const KINDS: [&[&str]; 5] = [
        &["string"],
        &["integer", "number"],
        &["boolean"],
        &["object"],
        &["array"],
    ];
    for_each_schema(doc, &mut |schema, _| {
        for union in UNIONS {
            let Some(Value::Array(members)) = schema.get(union) else {
                continue;
            };
            let inline_types: Option<BTreeSet<&str>> = members
                .iter()
                .map(|m| {
                    m.as_object()
                        .filter(|m| !m.contains_key("$ref"))
                        .and_then(type_of)
                })
                .collect();
            let covers_json = inline_types.is_some_and(|types| {
                KINDS
                    .iter()
                    .all(|kind| kind.iter().any(|t| types.contains(t)))
            });
            if covers_json {
                *schema = with_docs_of(schema, Map::new());
            }
        }
    });
    Ok(())
}

/// Every `anyOf` still left → `oneOf`, an untagged enum. serde tries the
/// variants in order and takes the first that fits, so the member that asks
/// for the most (counted as required properties, through references, a few
/// levels deep) goes first: a platform-event trigger must not be read as a
/// schedule trigger whose required fields are a subset of its own.
pub(super) fn untagged_unions(doc: &mut Value) -> Result<(), NormaliseError> {
    let components = component_schemas(doc);
    for_each_schema(doc, &mut |schema, _| {
        let Some(Value::Array(mut members)) = schema.remove("anyOf") else {
            return;
        };
        // A stable sort keeps the document's order among equals.
        members.sort_by_key(|member| {
            std::cmp::Reverse(demand(member, &components, 0, &mut BTreeSet::new()))
        });
        schema.insert("oneOf".into(), Value::Array(members));
    });
    Ok(())
}

const DEMAND_DEPTH: usize = 3;

/// How much a value must carry to match `schema`: its required properties,
/// plus what its properties' own schemas require, `DEMAND_DEPTH` levels deep.
fn demand(
    schema: &Value,
    components: &Map<String, Value>,
    depth: usize,
    seen: &mut BTreeSet<String>,
) -> usize {
    if depth > DEMAND_DEPTH {
        return 0;
    }
    let Some(schema) = schema.as_object() else {
        return 0;
    };
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let name = reference.trim_start_matches("#/components/schemas/");
        if !seen.insert(name.to_owned()) {
            return 0;
        }
        let found = components
            .get(name)
            .map_or(0, |target| demand(target, components, depth, seen));
        seen.remove(name);
        return found;
    }
    let mut total = schema
        .get("required")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
        total += properties
            .values()
            .map(|property| demand(property, components, depth + 1, seen))
            .sum::<usize>();
    }
    for combined in ["allOf", "oneOf", "anyOf"] {
        if let Some(members) = schema.get(combined).and_then(Value::as_array) {
            let counts = members.iter().map(|m| demand(m, components, depth, seen));
            total += if combined == "allOf" {
                counts.sum()
            } else {
                counts.min().unwrap_or(0)
            };
        }
    }
    total
}

/// Whether a schema accepts any JSON value: `{}` or `true`.
fn is_any_json(schema: &Value) -> bool {
    match schema {
        Value::Bool(accepts) => *accepts,
        Value::Object(object) => object
            .keys()
            .all(|k| matches!(k.as_str(), "title" | "description")),
        _ => false,
    }
}
