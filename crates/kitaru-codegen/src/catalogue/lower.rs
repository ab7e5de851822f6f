//! Lowering an OpenAPI schema into a self-contained JSON Schema that an MCP
//! client accepts as (part of) a tool's input schema.
//!
//! Internal `$ref`s are resolved inline; external ones are never followed;
//! recursion and deep nesting are cut; `nullable` (3.0) and `anyOf: [X,
//! null]` (3.1) become `"type": [T, "null"]`; only the keywords that describe
//! values are kept (no titles, discriminators, examples, `readOnly` or
//! extensions).

use serde_json::{Map, Value, json};

/// How many `$ref`s deep a schema is resolved before the rest is cut.
pub(crate) const MAX_DEPTH: usize = 6;

/// Keywords copied as they are.
const PLAIN: [&str; 11] = [
    "type",
    "format",
    "enum",
    "required",
    "description",
    "default",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "pattern",
];

/// Keywords holding a list of schemas.
const UNIONS: [&str; 3] = ["anyOf", "oneOf", "allOf"];

/// Lowers `schema`, resolving internal references against `doc`.
pub(crate) fn lower(doc: &Value, schema: &Value) -> Value {
    Lowering {
        doc,
        stack: Vec::new(),
    }
    .schema(schema)
}

struct Lowering<'a> {
    doc: &'a Value,
    /// The references being resolved, outermost first.
    stack: Vec<String>,
}

impl Lowering<'_> {
    fn schema(&mut self, schema: &Value) -> Value {
        let Some(object) = schema.as_object() else {
            // `true` / `false` schemas (3.1) and anything malformed.
            return match schema {
                Value::Bool(_) => schema.clone(),
                _ => json!({}),
            };
        };
        if let Some(reference) = object.get("$ref") {
            let mut lowered = self.reference(reference);
            // 3.1 allows siblings beside `$ref`; keep their documentation.
            if let (Some(Value::String(text)), Value::Object(map)) =
                (object.get("description"), &mut lowered)
            {
                map.insert("description".into(), Value::String(text.clone()));
            }
            return lowered;
        }

        // 3.1 nullable: `anyOf`/`oneOf` of one schema and `{"type": "null"}`.
        for union in ["anyOf", "oneOf"] {
            if let Some(Value::Array(members)) = object.get(union) {
                let (nulls, rest): (Vec<&Value>, Vec<&Value>) =
                    members.iter().partition(|m| is_null(m));
                if !nulls.is_empty() && rest.len() == 1 {
                    let mut outer = object.clone();
                    outer.remove(union);
                    let inner = self.schema(rest[0]);
                    return nullable(self.merge_outer(&outer, inner));
                }
            }
        }

        let mut out = Map::new();
        for keyword in PLAIN {
            if let Some(value) = object.get(keyword) {
                out.insert(keyword.into(), value.clone());
            }
        }
        if let Some(Value::Object(properties)) = object.get("properties") {
            let lowered: Map<String, Value> = properties
                .iter()
                .map(|(name, property)| (name.clone(), self.schema(property)))
                .collect();
            out.insert("properties".into(), Value::Object(lowered));
        }
        if let Some(items) = object.get("items") {
            out.insert("items".into(), self.schema(items));
        }
        match object.get("additionalProperties") {
            Some(Value::Bool(allowed)) => {
                out.insert("additionalProperties".into(), Value::Bool(*allowed));
            }
            Some(extra @ Value::Object(_)) => {
                out.insert("additionalProperties".into(), self.schema(extra));
            }
            _ => {}
        }
        for union in UNIONS {
            if let Some(Value::Array(members)) = object.get(union) {
                let lowered: Vec<Value> = members.iter().map(|m| self.schema(m)).collect();
                out.insert(union.into(), Value::Array(lowered));
            }
        }

        // `allOf: [one]` with nothing else that constrains (how 3.0 puts
        // documentation beside a `$ref`) → that one schema, documented.
        let single = match out.get("allOf") {
            Some(Value::Array(members)) if members.len() == 1 => Some(members[0].clone()),
            _ => None,
        };
        if let Some(member) = single {
            let constrains = out
                .keys()
                .any(|k| !matches!(k.as_str(), "allOf" | "description" | "default"));
            if !constrains {
                out.remove("allOf");
                let mut merged = match member {
                    Value::Object(map) => map,
                    other => return other,
                };
                for (key, value) in out {
                    merged.insert(key, value);
                }
                out = merged;
            }
        }

        let lowered = Value::Object(out);
        if object.get("nullable") == Some(&Value::Bool(true)) {
            nullable(lowered)
        } else {
            lowered
        }
    }

    /// The documentation of `outer` (a union minus its null member) laid
    /// over the lowered remaining member.
    fn merge_outer(&mut self, outer: &Map<String, Value>, inner: Value) -> Value {
        let Value::Object(mut inner) = inner else {
            return inner;
        };
        for keyword in ["description", "default"] {
            if let Some(value) = outer.get(keyword) {
                inner.insert(keyword.into(), value.clone());
            }
        }
        Value::Object(inner)
    }

    fn reference(&mut self, reference: &Value) -> Value {
        let Some(reference) = reference.as_str() else {
            return json!({ "description": "a malformed reference, not followed" });
        };
        let Some(pointer) = reference.strip_prefix('#').filter(|p| p.starts_with('/')) else {
            return json!({ "description": format!("external reference {reference:?}, not followed") });
        };
        if self.stack.iter().any(|seen| seen == reference) {
            return json!({ "description": format!("recursive: {} (cut here)", short_name(reference)) });
        }
        if self.stack.len() >= MAX_DEPTH {
            return json!({ "description": format!("{} (nested too deep; cut here)", short_name(reference)) });
        }
        let Some(target) = self.doc.pointer(pointer) else {
            return json!({ "description": format!("unresolved reference {reference:?}") });
        };
        self.stack.push(reference.to_owned());
        let lowered = self.schema(target);
        self.stack.pop();
        lowered
    }
}

/// The last segment of a reference: `#/components/schemas/Foo` → `Foo`.
fn short_name(reference: &str) -> &str {
    reference.rsplit('/').next().unwrap_or(reference)
}

fn is_null(schema: &Value) -> bool {
    schema.get("type").and_then(Value::as_str) == Some("null")
        || schema.get("enum") == Some(&json!([null]))
}

/// Adds `null` to a schema's simple `type`.
fn nullable(schema: Value) -> Value {
    let Value::Object(mut map) = schema else {
        return schema;
    };
    if let Some(Value::String(kind)) = map.get("type")
        && kind != "null"
    {
        let kind = kind.clone();
        map.insert("type".into(), json!([kind, "null"]));
    }
    Value::Object(map)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::lower;

    fn doc() -> serde_json::Value {
        json!({
            "components": { "schemas": {
                "Leaf": { "title": "Leaf", "type": "object", "properties": { "n": { "type": "integer", "readOnly": true, "x-extra": 1 } }, "required": ["n"], "discriminator": { "propertyName": "n" } },
                "Node": { "type": "object", "properties": { "child": { "$ref": "#/components/schemas/Node" }, "leaf": { "$ref": "#/components/schemas/Leaf" } } },
                "Chain0": { "$ref": "#/components/schemas/Chain1" },
                "Chain1": { "$ref": "#/components/schemas/Chain2" },
                "Chain2": { "$ref": "#/components/schemas/Chain3" },
                "Chain3": { "$ref": "#/components/schemas/Chain4" },
                "Chain4": { "$ref": "#/components/schemas/Chain5" },
                "Chain5": { "$ref": "#/components/schemas/Chain6" },
                "Chain6": { "$ref": "#/components/schemas/Chain7" },
                "Chain7": { "type": "string" }
            } }
        })
    }

    #[test]
    fn an_internal_ref_is_resolved_inline_without_titles_or_extensions() {
        let lowered = lower(&doc(), &json!({ "$ref": "#/components/schemas/Leaf" }));
        assert_eq!(
            lowered,
            json!({ "type": "object", "properties": { "n": { "type": "integer" } }, "required": ["n"] })
        );
    }

    #[test]
    fn a_cycle_is_cut() {
        let lowered = lower(&doc(), &json!({ "$ref": "#/components/schemas/Node" }));
        let child = &lowered["properties"]["child"];
        assert!(child.get("type").is_none(), "{child}");
        assert!(
            child["description"].as_str().unwrap().contains("recursive"),
            "{child}"
        );
        assert_eq!(lowered["properties"]["leaf"]["type"], "object");
    }

    #[test]
    fn deep_nesting_is_cut() {
        let lowered = lower(&doc(), &json!({ "$ref": "#/components/schemas/Chain0" }));
        assert!(lowered.get("type").is_none(), "{lowered}");
        assert!(
            lowered["description"]
                .as_str()
                .unwrap()
                .contains("too deep")
        );
    }

    #[test]
    fn an_external_ref_is_not_followed() {
        let lowered = lower(
            &doc(),
            &json!({ "$ref": "https://example.com/x.json#/Foo" }),
        );
        assert_eq!(lowered.as_object().unwrap().len(), 1, "{lowered}");
        assert!(
            lowered["description"]
                .as_str()
                .unwrap()
                .ends_with("not followed")
        );
        let relative = lower(
            &doc(),
            &json!({ "$ref": "other.json#/components/schemas/Leaf" }),
        );
        assert!(
            relative["description"]
                .as_str()
                .unwrap()
                .ends_with("not followed")
        );
    }

    #[test]
    fn nullable_becomes_a_type_with_null() {
        let v30 = lower(
            &doc(),
            &json!({ "type": "string", "nullable": true, "maxLength": 3 }),
        );
        assert_eq!(v30, json!({ "type": ["string", "null"], "maxLength": 3 }));
        let v31 = lower(
            &doc(),
            &json!({ "anyOf": [{ "type": "integer" }, { "type": "null" }], "description": "d", "title": "T" }),
        );
        assert_eq!(
            v31,
            json!({ "type": ["integer", "null"], "description": "d" })
        );
        let reference = lower(
            &doc(),
            &json!({ "anyOf": [{ "$ref": "#/components/schemas/Leaf" }, { "type": "null" }] }),
        );
        assert_eq!(reference["type"], json!(["object", "null"]));
        let wrapped = lower(
            &doc(),
            &json!({ "allOf": [{ "$ref": "#/components/schemas/Chain7" }], "nullable": true, "description": "d" }),
        );
        assert_eq!(
            wrapped,
            json!({ "type": ["string", "null"], "description": "d" })
        );
    }

    #[test]
    fn unions_are_lowered_member_by_member() {
        let lowered = lower(
            &doc(),
            &json!({ "oneOf": [{ "$ref": "#/components/schemas/Chain7" }, { "type": "integer", "examples": [1] }], "discriminator": {} }),
        );
        assert_eq!(
            lowered,
            json!({ "oneOf": [{ "type": "string" }, { "type": "integer" }] })
        );
    }
}
