//! A Kitaru wait as an MCP elicitation: the wait's question, and its JSON
//! schema lowered to what an elicitation form may ask for (an object of
//! plain-typed fields), and the user's answer turned back into the value the
//! wait expects.

use serde_json::{Map, Value, json};

use kitaru_sdk::executions::PendingWait;

/// The field a wrapped value is asked for in.
const VALUE_FIELD: &str = "value";

/// How an answer maps back onto the wait's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// The wait expects an object of plain fields: the form is that object.
    Object,
    /// The wait expects a plain value: the form's `value` field holds it.
    Wrapped,
    /// The wait expects a structure a form cannot ask for: the `value`
    /// field holds it as JSON text.
    JsonText,
}

/// The form for `wait`: the message, the requested schema, and how to read
/// the answer.
pub fn form(wait: &PendingWait) -> (String, Value, Shape) {
    let message = wait
        .question
        .clone()
        .unwrap_or_else(|| format!("The execution waits for input `{}`.", wait.name));
    let schema = wait
        .schema
        .clone()
        .map(Value::Object)
        .unwrap_or(Value::Null);
    let (requested, shape) = lower(&schema, &wait.name);
    (message, requested, shape)
}

/// `schema` as an elicitation `requestedSchema`.
fn lower(schema: &Value, name: &str) -> (Value, Shape) {
    if schema.get("type").and_then(Value::as_str) == Some("object")
        && let Some(properties) = schema.get("properties").and_then(Value::as_object)
        && !properties.is_empty()
    {
        let fields: Option<Map<String, Value>> = properties
            .iter()
            .map(|(key, property)| Some((key.clone(), plain(property)?)))
            .collect();
        if let Some(fields) = fields {
            let mut lowered = json!({"type": "object", "properties": fields});
            if let Some(required) = schema.get("required") {
                lowered["required"] = required.clone();
            }
            return (lowered, Shape::Object);
        }
    }
    if let Some(field) = plain(schema) {
        return (wrapped(field), Shape::Wrapped);
    }
    let described = if schema.is_null() {
        "Any JSON value.".to_owned()
    } else {
        format!("JSON matching this schema: {schema}")
    };
    let field = json!({"type": "string", "title": name, "description": described});
    (wrapped(field), Shape::JsonText)
}

fn wrapped(field: Value) -> Value {
    json!({"type": "object", "properties": {VALUE_FIELD: field}, "required": [VALUE_FIELD]})
}

/// A property schema a form can show (string, number, integer, boolean, or
/// a string enum), keeping its title, description, default and bounds; `None`
/// for anything else.
fn plain(schema: &Value) -> Option<Value> {
    let object = schema.as_object()?;
    let kind = object.get("type").and_then(Value::as_str)?;
    let kept: &[&str] = match kind {
        "string" => &[
            "title",
            "description",
            "default",
            "enum",
            "minLength",
            "maxLength",
            "format",
        ],
        "number" | "integer" => &["title", "description", "default", "minimum", "maximum"],
        "boolean" => &["title", "description", "default"],
        _ => return None,
    };
    if kind == "string"
        && object.get("enum").is_some_and(|values| {
            !values
                .as_array()
                .is_some_and(|v| v.iter().all(Value::is_string))
        })
    {
        return None;
    }
    let mut field = Map::new();
    field.insert("type".into(), kind.into());
    for key in kept {
        if let Some(value) = object.get(*key) {
            field.insert((*key).into(), value.clone());
        }
    }
    Some(Value::Object(field))
}

/// The wait's value from the form's `content`, or why it cannot be one.
pub fn answer(shape: Shape, content: Option<&Value>) -> Result<Value, String> {
    let content = content.cloned().unwrap_or(Value::Object(Map::new()));
    match shape {
        Shape::Object => Ok(content),
        Shape::Wrapped => content
            .get(VALUE_FIELD)
            .cloned()
            .ok_or_else(|| format!("the answer has no `{VALUE_FIELD}`")),
        Shape::JsonText => {
            let text = content
                .get(VALUE_FIELD)
                .and_then(Value::as_str)
                .ok_or_else(|| format!("the answer has no `{VALUE_FIELD}` text"))?;
            Ok(serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned())))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wait(schema: Option<Value>) -> PendingWait {
        serde_json::from_value(json!({
            "wait_id": "w1", "name": "approve", "question": "Publish it?",
            "schema": schema, "metadata": {}, "entered_waiting_at": null,
        }))
        .unwrap()
    }

    #[test]
    fn a_boolean_wait_is_one_wrapped_field() {
        let (message, schema, shape) = form(&wait(Some(json!({"type": "boolean"}))));
        assert_eq!(message, "Publish it?");
        assert_eq!(shape, Shape::Wrapped);
        assert_eq!(
            schema,
            json!({"type": "object", "properties": {"value": {"type": "boolean"}}, "required": ["value"]})
        );
        assert_eq!(
            answer(shape, Some(&json!({"value": true}))),
            Ok(json!(true))
        );
        assert!(answer(shape, Some(&json!({}))).is_err());
    }

    #[test]
    fn an_object_of_plain_fields_is_the_form_itself() {
        let schema = json!({"type": "object", "title": "Review",
            "properties": {"ok": {"type": "boolean", "title": "Ok"}, "note": {"type": "string", "maxLength": 80}},
            "required": ["ok"]});
        let (_, requested, shape) = form(&wait(Some(schema)));
        assert_eq!(shape, Shape::Object);
        assert_eq!(
            requested["properties"]["note"],
            json!({"type": "string", "maxLength": 80})
        );
        assert_eq!(requested["required"], json!(["ok"]));
        let content = json!({"ok": false, "note": "later"});
        assert_eq!(answer(shape, Some(&content)), Ok(content.clone()));
    }

    #[test]
    fn structures_a_form_cannot_show_are_asked_as_json_text() {
        let nested = json!({"type": "object", "properties": {"items": {"type": "array"}}});
        let (_, requested, shape) = form(&wait(Some(nested)));
        assert_eq!(shape, Shape::JsonText);
        assert_eq!(requested["properties"]["value"]["type"], "string");
        assert_eq!(
            answer(shape, Some(&json!({"value": "{\"items\": [1]}"}))),
            Ok(json!({"items": [1]}))
        );
        let (_, _, shape) = form(&wait(None));
        assert_eq!(shape, Shape::JsonText);
        assert_eq!(
            answer(shape, Some(&json!({"value": "plain words"}))),
            Ok(json!("plain words"))
        );
    }
}
