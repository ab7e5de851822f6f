//! Schemas with only the formats JSON Schema 2020-12 defines.
//!
//! schemars names Rust's integer types as formats (`uint`, `uint32`,
//! `int64`, …) and the server's spec has a few of its own; validators warn
//! about a format they do not know (the TypeScript MCP SDK's, once per
//! schema compiled) or refuse it. Integer formats become the bounds they
//! mean; other unknown formats are dropped.

use serde_json::{Map, Value};

/// The formats JSON Schema 2020-12 defines (its format vocabulary).
const STANDARD: [&str; 19] = [
    "date-time",
    "date",
    "time",
    "duration",
    "email",
    "idn-email",
    "hostname",
    "idn-hostname",
    "ipv4",
    "ipv6",
    "uri",
    "uri-reference",
    "iri",
    "iri-reference",
    "uuid",
    "uri-template",
    "json-pointer",
    "relative-json-pointer",
    "regex",
];

/// The bounds an integer format means (64-bit and pointer-sized maxima
/// are left out: no value sent here comes near them).
fn bounds(format: &str) -> Option<(Option<i64>, Option<i64>)> {
    Some(match format {
        "uint8" => (Some(0), Some(i64::from(u8::MAX))),
        "uint16" => (Some(0), Some(i64::from(u16::MAX))),
        "uint32" => (Some(0), Some(i64::from(u32::MAX))),
        "uint" | "uint64" | "uint128" => (Some(0), None),
        "int8" => (Some(i64::from(i8::MIN)), Some(i64::from(i8::MAX))),
        "int16" => (Some(i64::from(i16::MIN)), Some(i64::from(i16::MAX))),
        "int32" => (Some(i64::from(i32::MIN)), Some(i64::from(i32::MAX))),
        "int" | "int64" | "int128" => (None, None),
        _ => return None,
    })
}

/// Rewrites every `format` in `schema` (at any depth) to a standard one,
/// or to bounds, or drops it.
pub fn standardise(schema: &mut Value) {
    match schema {
        Value::Object(object) => {
            standardise_one(object);
            for value in object.values_mut() {
                standardise(value);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(standardise),
        _ => {}
    }
}

fn standardise_one(object: &mut Map<String, Value>) {
    let Some(Value::String(format)) = object.get("format") else {
        return;
    };
    if STANDARD.contains(&format.as_str()) {
        return;
    }
    let format = format.clone();
    object.remove("format");
    if let Some((minimum, maximum)) = bounds(&format) {
        if let Some(minimum) = minimum {
            object.entry("minimum").or_insert(minimum.into());
        }
        if let Some(maximum) = maximum {
            object.entry("maximum").or_insert(maximum.into());
        }
    }
}

/// An object schema with [`standardise`] applied.
pub fn standardised(mut schema: Map<String, Value>) -> Map<String, Value> {
    for value in schema.values_mut() {
        standardise(value);
    }
    standardise_one(&mut schema);
    schema
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn integer_formats_become_bounds_and_unknown_ones_go() {
        let mut schema = json!({"properties": {
            "count": {"type": "integer", "format": "uint", "minimum": 0},
            "version": {"type": ["integer", "null"], "format": "uint32"},
            "delta": {"type": "integer", "format": "int32", "minimum": -5},
            "when": {"type": "string", "format": "date-time"},
            "blob": {"type": "string", "format": "binary"},
            "nested": {"items": {"anyOf": [{"type": "integer", "format": "int64"}]}}
        }});
        standardise(&mut schema);
        assert_eq!(
            schema,
            json!({"properties": {
                "count": {"type": "integer", "minimum": 0},
                "version": {"type": ["integer", "null"], "minimum": 0, "maximum": 4294967295u32},
                "delta": {"type": "integer", "minimum": -5, "maximum": 2147483647},
                "when": {"type": "string", "format": "date-time"},
                "blob": {"type": "string"},
                "nested": {"items": {"anyOf": [{"type": "integer"}]}}
            }})
        );
    }
}
