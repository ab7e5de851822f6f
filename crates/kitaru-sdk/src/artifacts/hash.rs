//! An artifact value's content hash, as kitaru 0.21 compares the values of
//! two executions: SHA-256 of the value written by Python's
//! `json.dumps(value, sort_keys=True, default=str)`, as UTF-8, in hex.

use std::fmt::Write as _;

use sha2::{Digest as _, Sha256};

use super::get::{body, find, import_path};
use crate::Kitaru;

/// The content hash of artifact version `artifact_id`'s value: SHA-256 (hex)
/// of the bytes Python's `json.dumps(value, sort_keys=True, default=str)`
/// writes for the loaded value, the hash kitaru 0.21's execution diff shows.
///
/// `artifact_id` is looked up as the Python client looks it up: a version
/// id, an artifact name (its latest version) or a unique id prefix.
///
/// `None` when the value cannot be hashed here: the version cannot be read,
/// its value only Python can load (pickled objects, numpy, custom
/// materializers), or Python's `json.dumps` would refuse it (mapping keys it
/// cannot sort or write).
pub async fn content_hash(kitaru: &Kitaru, artifact_id: &str) -> Option<String> {
    let version = find(kitaru, artifact_id).await.ok()?;
    let body = body(&version).ok()?;
    let value = super::value::load_py(
        kitaru,
        &version.id.to_string(),
        &body.uri,
        &import_path(&body.materializer),
        &import_path(&body.data_type),
    )
    .await
    .ok()?;
    Some(sha256_hex(&value.json_dumps_sorted()?))
}

/// SHA-256 of `text`'s UTF-8 bytes, in lower-case hex.
fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .fold(String::with_capacity(64), |mut hex, byte| {
            write!(hex, "{byte:02x}").unwrap_or(());
            hex
        })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::python_repr::{ModelKind, Py};

    /// `value` as `json.loads` gives it to Python.
    fn loaded(value: serde_json::Value) -> Py {
        serde_json::from_value(value).unwrap()
    }

    /// Hashes Python 3.11 computed with
    /// `hashlib.sha256(json.dumps(v, sort_keys=True, default=str).encode()).hexdigest()`.
    #[test]
    fn json_values_hash_as_python_hashes_them() {
        let cases = [
            (json!("hello from kitaru"), "\"hello from kitaru\""),
            (
                json!({"topic": "durable agents", "sources": 3, "tags": ["a", "b"]}),
                r#"{"sources": 3, "tags": ["a", "b"], "topic": "durable agents"}"#,
            ),
            (json!(17), "17"),
            (json!(null), "null"),
            (json!(true), "true"),
            (json!(2.0), "2.0"),
            (json!(1e-05), "1e-05"),
            (json!(1e16), "1e+16"),
            (json!([]), "[]"),
            (json!({}), "{}"),
            (
                json!({"é": "\u{1F600}", "b": {"z": 1, "a": [1.5, "\n"]}}),
                r#"{"b": {"a": [1.5, "\n"], "z": 1}, "\u00e9": "\ud83d\ude00"}"#,
            ),
        ];
        for (value, dumped) in cases {
            assert_eq!(loaded(value).json_dumps_sorted().as_deref(), Some(dumped));
        }
        assert_eq!(
            sha256_hex("\"hello from kitaru\""),
            "fc65fd5b7a7fc656c5843ede6736a86d83aa2995a38d349be72c5e7abb7247d6"
        );
    }

    #[test]
    fn values_beyond_json_are_written_as_their_str() {
        let uuid = "610a6dd0-6224-46f0-8b07-854a3b5cff8a";
        let model = |kind| {
            // As read from the stored dump: fields in their order.
            let dump = serde_json::from_str(r#"{"title": "t", "score": 1.0}"#).unwrap();
            Py::model("flows.Report", dump, kind)
        };
        let cases = [
            (Py::Bytes(b"ab'".to_vec()), r#""b\"ab'\"""#.to_owned()),
            (Py::Uuid(uuid.into()), format!("\"{uuid}\"")),
            (
                Py::Tuple(vec![Py::Int(1.into()), Py::Str("x".into())]),
                r#"[1, "x"]"#.to_owned(),
            ),
            (
                model(ModelKind::Pydantic),
                r#""title='t' score=1.0""#.to_owned(),
            ),
            (
                model(ModelKind::Dataclass),
                r#""Report(title='t', score=1.0)""#.to_owned(),
            ),
            (Py::Float(f64::NAN), "NaN".to_owned()),
            (Py::Float(f64::NEG_INFINITY), "-Infinity".to_owned()),
        ];
        for (value, dumped) in cases {
            assert_eq!(value.json_dumps_sorted(), Some(dumped));
        }
    }

    #[test]
    fn keys_sort_as_python_sorts_them_or_the_dump_fails() {
        let dict = |keys: Vec<Py>| Py::Dict(keys.into_iter().map(|k| (k, Py::None)).collect());
        assert_eq!(
            dict(vec![Py::Int(10.into()), Py::Int(2.into()), Py::Float(2.5)])
                .json_dumps_sorted()
                .as_deref(),
            Some(r#"{"2": null, "2.5": null, "10": null}"#)
        );
        assert_eq!(
            dict(vec![Py::Bool(true), Py::None]).json_dumps_sorted(),
            None
        );
        assert_eq!(
            dict(vec![Py::Str("a".into()), Py::Int(1.into())]).json_dumps_sorted(),
            None
        );
        assert_eq!(
            dict(vec![Py::None]).json_dumps_sorted().as_deref(),
            Some(r#"{"null": null}"#)
        );
        assert_eq!(dict(vec![Py::Tuple(vec![])]).json_dumps_sorted(), None);
    }
}
