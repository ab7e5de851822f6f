//! Rules that rewrite one schema at a time: 3.1 keywords into their 3.0 form,
//! and constraints that would only make the generated types worse.

use serde_json::{Map, Value, json};

use super::NormaliseError;
use super::walk::{Site, for_each_schema, type_of};

/// 3.1 `type: [T, "null"]` → `type: T` + `nullable: true`; several non-null
/// types become an `anyOf` of one schema per type, for the union rules.
pub(super) fn type_arrays(doc: &mut Value) -> Result<(), NormaliseError> {
    for_each_schema(doc, &mut |schema, _| {
        let Some(Value::Array(types)) = schema.get("type") else {
            return;
        };
        let nullable = types.iter().any(|t| t == "null");
        let others: Vec<Value> = types.iter().filter(|t| *t != "null").cloned().collect();
        schema.remove("type");
        match others.as_slice() {
            [] => {}
            [single] => {
                schema.insert("type".into(), single.clone());
            }
            several => {
                let members = several.iter().map(|t| json!({ "type": t })).collect();
                schema.insert("anyOf".into(), Value::Array(members));
            }
        }
        if nullable {
            schema.insert("nullable".into(), Value::Bool(true));
        }
    });
    Ok(())
}

/// 3.1 `examples: [a, ...]` inside a schema → 3.0 `example: a`.
pub(super) fn examples_keyword(doc: &mut Value) -> Result<(), NormaliseError> {
    for_each_schema(doc, &mut |schema, _| {
        if let Some(Value::Array(examples)) = schema.remove("examples")
            && let Some(first) = examples.into_iter().next()
        {
            schema.entry("example").or_insert(first);
        }
    });
    Ok(())
}

/// 3.1 numeric `exclusiveMinimum: n` → 3.0 `minimum: n` +
/// `exclusiveMinimum: true` (and the same for the maximum). A stricter
/// inclusive bound already present wins.
pub(super) fn exclusive_bounds(doc: &mut Value) -> Result<(), NormaliseError> {
    for_each_schema(doc, &mut |schema, _| {
        convert_exclusive(
            schema,
            "exclusiveMinimum",
            "minimum",
            |inclusive, exclusive| inclusive > exclusive,
        );
        convert_exclusive(
            schema,
            "exclusiveMaximum",
            "maximum",
            |inclusive, exclusive| inclusive < exclusive,
        );
    });
    Ok(())
}

fn convert_exclusive(
    schema: &mut Map<String, Value>,
    exclusive_key: &str,
    inclusive_key: &str,
    inclusive_is_stricter: fn(f64, f64) -> bool,
) {
    let Some(bound) = schema.get(exclusive_key).filter(|v| v.is_number()).cloned() else {
        return;
    };
    schema.remove(exclusive_key);
    let existing = schema.get(inclusive_key).and_then(Value::as_f64);
    let bound_f = bound.as_f64().unwrap_or_default();
    if existing.is_some_and(|inclusive| inclusive_is_stricter(inclusive, bound_f)) {
        return;
    }
    schema.insert(inclusive_key.into(), bound);
    schema.insert(exclusive_key.into(), Value::Bool(true));
}

/// Bounds of an integer schema written as floats (`minimum: 1.0`, as
/// Pydantic emits them) → integers; openapiv3 only reads integers there.
pub(super) fn integer_bounds(doc: &mut Value) -> Result<(), NormaliseError> {
    for_each_schema(doc, &mut |schema, _| {
        if type_of(schema) != Some("integer") {
            return;
        }
        for key in ["minimum", "maximum", "multipleOf"] {
            if let Some(value) = schema.get_mut(key)
                && let Some(float) = value.as_f64()
                && !value.is_i64()
                && !value.is_u64()
                && float.fract() == 0.0
            {
                // The fraction is zero, so the cast is exact for any bound a
                // schema would use.
                *value = json!(float as i64);
            }
        }
    });
    Ok(())
}

/// An integer `enum` (Python's `IntEnum`, with aliases that repeat a value)
/// → a plain integer; typify cannot name variants of an integer enum.
pub(super) fn integer_enums(doc: &mut Value) -> Result<(), NormaliseError> {
    for_each_schema(doc, &mut |schema, _| {
        if type_of(schema) == Some("integer") {
            schema.remove("enum");
        }
    });
    Ok(())
}

/// 3.1 `const: v` → `enum: [v]`. A constant property that also has a default
/// is a tag the server fills in: it becomes required and loses the default,
/// so typify can use it as an enum tag instead of rejecting the schema.
pub(super) fn const_to_enum(doc: &mut Value) -> Result<(), NormaliseError> {
    for_each_schema(doc, &mut |schema, _| {
        let tags: Vec<String> = schema
            .get_mut("properties")
            .and_then(Value::as_object_mut)
            .map(|properties| {
                properties
                    .iter_mut()
                    .filter_map(|(name, property)| {
                        let property = property.as_object_mut()?;
                        (property.contains_key("const") && property.remove("default").is_some())
                            .then(|| name.clone())
                    })
                    .collect()
            })
            .unwrap_or_default();
        if !tags.is_empty() {
            let required = schema
                .entry("required")
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(required) = required {
                for tag in tags {
                    if !required.iter().any(|r| r == tag.as_str()) {
                        required.push(Value::String(tag));
                    }
                }
            }
        }
    });
    // A second pass: the first one visits properties before their object, so
    // converting there would hide the `const` from the object.
    for_each_schema(doc, &mut |schema, _| {
        if let Some(value) = schema.remove("const") {
            schema.insert("enum".into(), Value::Array(vec![value]));
        }
    });
    Ok(())
}

/// 3.1 tuples (`prefixItems`) → an array of any JSON value; openapiv3 has no
/// tuple form.
pub(super) fn prefix_items(doc: &mut Value) -> Result<(), NormaliseError> {
    for_each_schema(doc, &mut |schema, _| {
        if schema.remove("prefixItems").is_some() {
            schema.insert("type".into(), json!("array"));
            schema.insert("items".into(), json!({}));
        }
    });
    Ok(())
}

/// `propertyNames` (keys restricted to an enum) is dropped: the map keeps
/// string keys.
pub(super) fn property_names(doc: &mut Value) -> Result<(), NormaliseError> {
    for_each_schema(doc, &mut |schema, _| {
        schema.remove("propertyNames");
    });
    Ok(())
}

/// Keywords beside a `$ref` (3.1 allows them, 3.0 ignores them): the
/// documentation is kept by wrapping the reference in a one-member `allOf`;
/// the rest (such as a default) is dropped.
pub(super) fn ref_siblings(doc: &mut Value) -> Result<(), NormaliseError> {
    for_each_schema(doc, &mut |schema, _| {
        if !schema.contains_key("$ref") || schema.len() == 1 {
            return;
        }
        let reference = schema.remove("$ref").unwrap_or_default();
        let mut wrapped = Map::new();
        for keyword in ["title", "description"] {
            if let Some(value) = schema.remove(keyword) {
                wrapped.insert(keyword.into(), value);
            }
        }
        if wrapped.is_empty() {
            wrapped.insert("$ref".into(), reference);
        } else {
            wrapped.insert("allOf".into(), json!([{ "$ref": reference }]));
        }
        *schema = wrapped;
    });
    Ok(())
}

/// `title` → gone. Typify names types after titles, which gives
/// `ResponseListRunsApiV1RunsGet`; without them the names come from the
/// operation (`ListRunsResponse`). A title that says more than the name it
/// sits on becomes the description when there is none.
pub(super) fn titles(doc: &mut Value) -> Result<(), NormaliseError> {
    for_each_schema(doc, &mut |schema, site| {
        let Some(Value::String(title)) = schema.remove("title") else {
            return;
        };
        let restates_name = match site {
            Site::Component(name) | Site::Property(name) | Site::Parameter(name) => {
                same_words(&title, name)
            }
            Site::Body => true,
            Site::Nested => false,
        };
        if !restates_name && !schema.contains_key("description") {
            schema.insert("description".into(), Value::String(title));
        }
    });
    Ok(())
}

fn same_words(a: &str, b: &str) -> bool {
    let letters = |s: &str| -> String {
        s.chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .collect()
    };
    letters(a) == letters(b)
}

/// String `maxLength`/`minLength`/`pattern` are dropped: typify would wrap
/// each such string in a validating newtype, and a response must not fail on
/// a server-side limit the client has no business enforcing.
pub(super) fn string_constraints(doc: &mut Value) -> Result<(), NormaliseError> {
    for_each_schema(doc, &mut |schema, _| {
        if matches!(type_of(schema), Some("string") | None) {
            for keyword in ["maxLength", "minLength", "pattern"] {
                schema.remove(keyword);
            }
        }
    });
    Ok(())
}
