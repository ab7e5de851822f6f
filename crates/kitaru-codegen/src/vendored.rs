//! The vendored specs in `openapi/`: their file names, their versions and
//! the form they are stored in.
//!
//! One file per server API version, `kitaru-server-<info.version>.openapi.json`,
//! holding the document as the server serves it at `/openapi.json` in the
//! *stored form* ([`stored_form`]):
//!
//! - parsed and written again as pretty JSON: two-space indent (serde_json's
//!   `PrettyFormatter`), object members in the order the server sent them,
//!   strings and numbers as serde_json writes them, a trailing newline — so
//!   a change of the server's API is a readable line diff;
//! - without what names the deployment rather than the API ([`VOLATILE`]).
//!
//! The stored form of a stored file is the file itself, byte for byte.

use std::cmp::Ordering;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The file name of the vendored spec of a server API version.
pub fn file_name(version: &str) -> String {
    format!("kitaru-server-{version}.openapi.json")
}

/// The version a vendored spec's file name names, if it is one.
pub fn version_of_file_name(name: &str) -> Option<&str> {
    name.strip_prefix("kitaru-server-")?
        .strip_suffix(".openapi.json")
        .filter(|version| valid_version(version).is_ok())
}

/// Top-level members of the served document that are left out of the stored
/// form: they describe the deployment, not the API. Two 0.98.0 servers on
/// different ports (and two captures from one) serve the same bytes, so
/// nothing else needs to go; FastAPI adds `servers` when the server runs
/// behind a proxy under a path prefix (its `root_path`), naming that prefix.
pub const VOLATILE: &[&str] = &["servers"];

/// A vendored spec in its stored form.
#[derive(Clone, Debug)]
pub struct StoredSpec {
    /// `info.version`.
    pub version: String,
    /// The stored form: what the file holds.
    pub text: String,
    /// The document (keys sorted, as serde_json reads it).
    pub document: Value,
}

/// Why a document cannot be stored.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SpecError {
    /// Not JSON.
    #[error("it is not JSON ({0}): is it the server's /openapi.json?")]
    NotJson(String),
    /// JSON, but not an object with `openapi` 3.x, `info.version` and `paths`.
    #[error("it is not an OpenAPI 3 document: {0}.")]
    NotOpenApi(String),
    /// `info.version` cannot name a file.
    #[error("its info.version {0:?} cannot name a file: {1}.")]
    BadVersion(String, &'static str),
}

/// Whether `version` can be a version in a file name.
pub fn valid_version(version: &str) -> Result<(), &'static str> {
    if version.is_empty() || version.len() > 64 {
        return Err("it must have 1 to 64 characters");
    }
    if !version.starts_with(|c: char| c.is_ascii_digit()) {
        return Err("it must start with a digit");
    }
    if !version
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+' | '_'))
    {
        return Err("only ASCII letters, digits and . - + _ are allowed");
    }
    Ok(())
}

/// The stored form of a served (or stored) document.
pub fn stored_form(bytes: &[u8]) -> Result<StoredSpec, SpecError> {
    let ordered: Ordered =
        serde_json::from_slice(bytes).map_err(|e| SpecError::NotJson(e.to_string()))?;
    let Ordered::Object(mut members) = ordered else {
        return Err(SpecError::NotOpenApi(
            "the top level is not a JSON object".into(),
        ));
    };
    members.retain(|(key, _)| !VOLATILE.contains(&key.as_str()));
    let ordered = Ordered::Object(members);

    let mut out = Vec::with_capacity(bytes.len() * 2);
    let mut serializer = serde_json::Serializer::with_formatter(
        &mut out,
        serde_json::ser::PrettyFormatter::with_indent(b"  "),
    );
    ordered
        .serialize(&mut serializer)
        .map_err(|e| SpecError::NotJson(e.to_string()))?;
    out.push(b'\n');
    let text = String::from_utf8(out).expect("serde_json writes UTF-8");
    let document: Value =
        serde_json::from_str(&text).map_err(|e| SpecError::NotJson(e.to_string()))?;

    match document.get("openapi").and_then(Value::as_str) {
        Some(version) if version.starts_with("3.") => {}
        Some(other) => {
            return Err(SpecError::NotOpenApi(format!(
                "`openapi` is {other:?}, not 3.x"
            )));
        }
        None => return Err(SpecError::NotOpenApi("it has no `openapi` field".into())),
    }
    if !document.get("paths").is_some_and(Value::is_object) {
        return Err(SpecError::NotOpenApi("it has no `paths` object".into()));
    }
    let version = document
        .pointer("/info/version")
        .and_then(Value::as_str)
        .ok_or_else(|| SpecError::NotOpenApi("it has no `info.version` string".into()))?
        .to_owned();
    valid_version(&version).map_err(|why| SpecError::BadVersion(version.clone(), why))?;
    Ok(StoredSpec {
        version,
        text,
        document,
    })
}

/// Compares two versions part by part: `0.98.0` < `0.100.0`, `0.98.0rc1` <
/// `0.98.0` < `0.98.0.post1`. Parts are split at `.`, `-`, `+` and `_`; a
/// part is a number, optionally followed by letters and digits (a
/// pre-release: `0rc1`), compared number first; a part that is only letters
/// (`dev`, `rc1`) comes before any number. A version that ends where the
/// other goes on comes first unless the other goes on with a pre-release.
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    let split = |v: &str| -> Vec<(Option<u64>, String)> {
        v.split(['.', '-', '+', '_'])
            .map(|part| {
                let digits = part.chars().take_while(char::is_ascii_digit).count();
                let number = part[..digits].parse::<u64>().ok();
                (number, part[digits..].to_owned())
            })
            .collect()
    };
    let (a, b) = (split(a), split(b));
    for i in 0..a.len().max(b.len()) {
        let ordering = match (a.get(i), b.get(i)) {
            (Some(x), Some(y)) => compare_parts(x, y),
            // `1.0` before `1.0.1`, but `1.0rc1` and `1.0.dev1` before `1.0`.
            (None, Some(y)) => trailing(y).reverse(),
            (Some(x), None) => trailing(x),
            (None, None) => Ordering::Equal,
        };
        if ordering != Ordering::Equal {
            return ordering;
        }
    }
    Ordering::Equal
}

/// A part where the other version has ended: a pre-release part (letters
/// only) makes its version the lower one.
fn trailing(part: &(Option<u64>, String)) -> Ordering {
    match part {
        (None, rest) if !rest.is_empty() && !rest.starts_with("post") => Ordering::Less,
        _ => Ordering::Greater,
    }
}

fn compare_parts(a: &(Option<u64>, String), b: &(Option<u64>, String)) -> Ordering {
    match (a.0, b.0) {
        (Some(x), Some(y)) if x != y => x.cmp(&y),
        (Some(_), None) => Ordering::Greater,
        (None, Some(_)) => Ordering::Less,
        // Same number (or none): no suffix (the release) after a
        // pre-release suffix (`0rc1` < `0`), suffixes by text.
        _ => match (a.1.is_empty(), b.1.is_empty()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) => a.1.cmp(&b.1),
        },
    }
}

/// A vendored spec file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VendoredFile {
    /// The version its name names.
    pub version: String,
    /// Its path.
    pub path: PathBuf,
}

/// The vendored specs in `dir`, lowest version first.
pub fn list(dir: &Path) -> std::io::Result<Vec<VendoredFile>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(version) = name.to_str().and_then(version_of_file_name) else {
            continue;
        };
        found.push(VendoredFile {
            version: version.to_owned(),
            path: entry.path(),
        });
    }
    found.sort_by(|a, b| compare_versions(&a.version, &b.version).then(a.version.cmp(&b.version)));
    Ok(found)
}

/// The vendored spec a new one of `version` is compared with: the greatest
/// version lower than it.
pub fn previous<'a>(vendored: &'a [VendoredFile], version: &str) -> Option<&'a VendoredFile> {
    vendored
        .iter()
        .filter(|file| compare_versions(&file.version, version) == Ordering::Less)
        .max_by(|a, b| compare_versions(&a.version, &b.version))
}

/// A JSON value whose objects keep their members in document order (the
/// workspace's serde_json sorts them, and turning on its `preserve_order`
/// would change every crate's JSON).
enum Ordered {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    Array(Vec<Ordered>),
    Object(Vec<(String, Ordered)>),
}

impl Serialize for Ordered {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Ordered::Null => serializer.serialize_unit(),
            Ordered::Bool(b) => serializer.serialize_bool(*b),
            Ordered::Number(n) => n.serialize(serializer),
            Ordered::String(s) => serializer.serialize_str(s),
            Ordered::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Ordered::Object(members) => {
                let mut map = serializer.serialize_map(Some(members.len()))?;
                for (key, value) in members {
                    map.serialize_entry(key, value)?;
                }
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Ordered {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(OrderedVisitor)
    }
}

struct OrderedVisitor;

impl<'de> Visitor<'de> for OrderedVisitor {
    type Value = Ordered;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<Ordered, E> {
        Ok(Ordered::Null)
    }
    fn visit_bool<E>(self, b: bool) -> Result<Ordered, E> {
        Ok(Ordered::Bool(b))
    }
    fn visit_u64<E>(self, n: u64) -> Result<Ordered, E> {
        Ok(Ordered::Number(n.into()))
    }
    fn visit_i64<E>(self, n: i64) -> Result<Ordered, E> {
        Ok(Ordered::Number(n.into()))
    }
    fn visit_f64<E: de::Error>(self, n: f64) -> Result<Ordered, E> {
        serde_json::Number::from_f64(n)
            .map(Ordered::Number)
            .ok_or_else(|| E::custom("a number that is not finite"))
    }
    fn visit_str<E>(self, s: &str) -> Result<Ordered, E> {
        Ok(Ordered::String(s.to_owned()))
    }
    fn visit_string<E>(self, s: String) -> Result<Ordered, E> {
        Ok(Ordered::String(s))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Ordered, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Ordered::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Ordered, A::Error> {
        let mut members: Vec<(String, Ordered)> = Vec::new();
        while let Some((key, value)) = map.next_entry::<String, Ordered>()? {
            if members.iter().any(|(seen, _)| *seen == key) {
                return Err(de::Error::custom(format!(
                    "the key {key:?} appears twice in one object"
                )));
            }
            members.push((key, value));
        }
        Ok(Ordered::Object(members))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_part_by_part() {
        let ordered = [
            "0.9.0",
            "0.10.0",
            "0.94.4",
            "0.98.0rc1",
            "0.98.0",
            "0.98.0.post1",
            "0.98.1",
            "0.100.0",
            "1.0.0.dev1",
            "1.0.0",
        ];
        for pair in ordered.windows(2) {
            assert_eq!(
                compare_versions(pair[0], pair[1]),
                Ordering::Less,
                "{pair:?}"
            );
            assert_eq!(
                compare_versions(pair[1], pair[0]),
                Ordering::Greater,
                "{pair:?}"
            );
        }
        assert_eq!(compare_versions("0.98.0", "0.98.0"), Ordering::Equal);
    }

    #[test]
    fn the_stored_form_keeps_member_order_and_is_its_own_stored_form() {
        let served = br#"{"openapi":"3.1.0","info":{"version":"1.2.3","title":"T"},"servers":[{"url":"/x"}],"paths":{"/b":{},"/a":{"get":{"x":[1,2.5,"\u00e9\n"]}}}}"#;
        let stored = stored_form(served).unwrap();
        assert_eq!(stored.version, "1.2.3");
        let expected = "{\n  \"openapi\": \"3.1.0\",\n  \"info\": {\n    \"version\": \"1.2.3\",\n    \"title\": \"T\"\n  },\n  \"paths\": {\n    \"/b\": {},\n    \"/a\": {\n      \"get\": {\n        \"x\": [\n          1,\n          2.5,\n          \"é\\n\"\n        ]\n      }\n    }\n  }\n}\n";
        assert_eq!(stored.text, expected);
        assert_eq!(stored_form(stored.text.as_bytes()).unwrap().text, expected);
    }

    #[test]
    fn what_cannot_be_stored_says_why() {
        let err = |bytes: &[u8]| stored_form(bytes).unwrap_err().to_string();
        assert!(err(b"<html>").contains("not JSON"));
        assert!(err(b"[]").contains("not a JSON object"));
        assert!(err(br#"{"openapi":"2.0","paths":{}}"#).contains("not 3.x"));
        assert!(err(br#"{"openapi":"3.1.0","info":{},"paths":{}}"#).contains("info.version"));
        assert!(
            err(br#"{"openapi":"3.1.0","info":{"version":"../x"},"paths":{}}"#)
                .contains("cannot name a file")
        );
        assert!(err(br#"{"openapi":"3.1.0","a":1,"a":2}"#).contains("twice"));
    }

    #[test]
    fn vendored_file_names() {
        assert_eq!(file_name("0.98.0"), "kitaru-server-0.98.0.openapi.json");
        assert_eq!(
            version_of_file_name("kitaru-server-0.98.0.openapi.json"),
            Some("0.98.0")
        );
        assert_eq!(version_of_file_name("kitaru-server.openapi.json"), None);
        let files = |versions: &[&str]| -> Vec<VendoredFile> {
            versions
                .iter()
                .map(|v| VendoredFile {
                    version: (*v).into(),
                    path: file_name(v).into(),
                })
                .collect()
        };
        let vendored = files(&["0.94.4", "0.98.0", "0.99.1"]);
        assert_eq!(previous(&vendored, "0.98.0").unwrap().version, "0.94.4");
        assert_eq!(previous(&vendored, "0.99.0").unwrap().version, "0.98.0");
        assert_eq!(previous(&vendored, "1.0.0").unwrap().version, "0.99.1");
        assert!(previous(&vendored, "0.94.4").is_none());
    }
}
