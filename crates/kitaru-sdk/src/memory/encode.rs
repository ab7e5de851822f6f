//! A JSON value stored the way ZenML's built-in materializers store it, so
//! that the Python SDK reads back exactly what it would have written itself.

use serde_json::{Map, Value};

use crate::python_repr::{float_repr, json_string as string};

/// The materializer ZenML picks for a JSON value's Python type, and what it
/// records about it.
pub(crate) struct Encoded {
    /// The materializer's class: `BuiltInMaterializer` or
    /// `BuiltInContainerMaterializer`.
    pub(crate) materializer: &'static str,
    /// The value's Python type name in `builtins`.
    pub(crate) data_type: &'static str,
    /// `data.json`'s bytes: Python's `json.dumps` with its defaults.
    pub(crate) data_json: String,
    /// MD5 of the materializer's class name and the sorted-keys dump, as
    /// ZenML computes it for caching.
    pub(crate) content_hash: String,
    /// The metadata ZenML extracts: `length` for containers,
    /// `string_representation` for numbers and booleans.
    pub(crate) metadata: Map<String, Value>,
    /// ZenML's item count: the length of a list, none otherwise.
    pub(crate) item_count: Option<i64>,
}

/// The module both materializers live in.
pub(crate) const MATERIALIZER_MODULE: &str = "zenml.materializers.built_in_materializer";

impl Encoded {
    pub(crate) fn of(value: &Value) -> Self {
        let (materializer, data_type) = match value {
            Value::Null => ("BuiltInMaterializer", "NoneType"),
            Value::Bool(_) => ("BuiltInMaterializer", "bool"),
            Value::Number(n) if n.is_f64() => ("BuiltInMaterializer", "float"),
            Value::Number(_) => ("BuiltInMaterializer", "int"),
            Value::String(_) => ("BuiltInMaterializer", "str"),
            Value::Array(_) => ("BuiltInContainerMaterializer", "list"),
            Value::Object(_) => ("BuiltInContainerMaterializer", "dict"),
        };
        let mut metadata = Map::new();
        match value {
            Value::Array(items) => {
                metadata.insert("length".into(), items.len().into());
            }
            Value::Object(map) => {
                metadata.insert("length".into(), map.len().into());
            }
            Value::Bool(flag) => {
                let text = if *flag { "True" } else { "False" };
                metadata.insert("string_representation".into(), text.into());
            }
            Value::Number(n) => {
                metadata.insert("string_representation".into(), number(n).into());
            }
            Value::Null | Value::String(_) => {}
        }
        let sorted = dumps(value);
        let content_hash = format!(
            "{:x}",
            md5::compute(format!("{materializer}{sorted}").as_bytes())
        );
        Self {
            materializer,
            data_type,
            // serde_json's maps keep keys sorted, so the stored text and the
            // hashed text are the same dump.
            data_json: sorted,
            content_hash,
            metadata,
            item_count: match value {
                Value::Array(items) => Some(items.len() as i64),
                _ => None,
            },
        }
    }
}

/// Python's `json.dumps(value)`: `", "` and `": "` separators, non-ASCII
/// escaped as `\uXXXX`, floats as Python prints them.
pub(crate) fn dumps(value: &Value) -> String {
    let mut out = String::new();
    write(&mut out, value);
    out
}

fn write(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => out.push_str(&number(n)),
        Value::String(text) => string(out, text),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                string(out, key);
                out.push_str(": ");
                write(out, item);
            }
            out.push('}');
        }
    }
}

fn number(n: &serde_json::Number) -> String {
    match (n.as_i64(), n.as_u64(), n.as_f64()) {
        (Some(i), _, _) => i.to_string(),
        (_, Some(u), _) => u.to_string(),
        (_, _, Some(f)) => float_repr(f),
        _ => n.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_are_written_as_pythons_json_dumps_writes_them() {
        assert_eq!(
            dumps(&json!("h\u{e9}llo \u{2713} \"q\"")),
            r#""h\u00e9llo \u2713 \"q\"""#
        );
        assert_eq!(dumps(&json!("\u{1F600}\n")), r#""\ud83d\ude00\n""#);
        assert_eq!(
            dumps(&json!({"y": [1, 2], "x": 2})),
            r#"{"x": 2, "y": [1, 2]}"#
        );
        assert_eq!(
            dumps(&json!([1, "two", {"three": 3}, null])),
            r#"[1, "two", {"three": 3}, null]"#
        );
        assert_eq!(dumps(&json!(2.0)), "2.0");
        assert_eq!(dumps(&json!(1e16)), "1e+16");
        assert_eq!(dumps(&json!(-0.5)), "-0.5");
    }

    /// Hashes and metadata captured from the Python SDK's writes.
    #[test]
    fn hashes_and_metadata_match_zenmls() {
        let dict = Encoded::of(&json!({"x": 2, "y": [1, 2]}));
        assert_eq!(dict.content_hash, "e84d298699bbf1e5d8b14b5de5bfd007");
        assert_eq!(
            dict.metadata,
            json!({"length": 2}).as_object().cloned().unwrap()
        );
        assert_eq!(
            (dict.materializer, dict.data_type, dict.item_count),
            ("BuiltInContainerMaterializer", "dict", None)
        );
        let float = Encoded::of(&json!(2.0));
        assert_eq!(float.metadata["string_representation"], "2.0");
        assert_eq!(
            Encoded::of(&json!(true)).metadata["string_representation"],
            "True"
        );
        assert_eq!(Encoded::of(&json!([1, 2, 3])).item_count, Some(3));
        assert_eq!(Encoded::of(&Value::Null).data_json, "null");
    }
}
