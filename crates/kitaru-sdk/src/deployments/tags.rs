//! Deployment names, versions and tags, and how they are stored on a
//! pipeline snapshot: the name `kitaru::<flow>::v<N>`, the marker tag
//! `kitaru:deployment`, and a native tag per public tag,
//! `kitaru:deployment:tag:<percent-encoded tag>:exclusive|shared` — as the
//! Python SDK stores them.

use std::collections::BTreeMap;

use crate::Error;

/// The marker tag of a deployment snapshot.
pub(crate) const MARKER: &str = "kitaru:deployment";
/// The namespace public tags may not enter.
const NAMESPACE: &str = "kitaru:deployment:";
/// The prefix of a public tag's native tag.
const PUBLIC_PREFIX: &str = "kitaru:deployment:tag:";
const EXCLUSIVE: &str = ":exclusive";
const SHARED: &str = ":shared";
/// The reserved tag: always exclusive, never removed.
pub const DEFAULT_TAG: &str = "default";

/// A flow name as a selector: trimmed, not empty, without `::`.
pub(crate) fn flow(flow: &str) -> Result<&str, Error> {
    let flow = flow.trim();
    if flow.is_empty() {
        return Err(Error::argument(
            "flow",
            "`flow` must be a non-empty string.",
        ));
    }
    if flow.contains("::") {
        return Err(Error::argument(
            "flow",
            "Deployment flow names cannot contain `::`.",
        ));
    }
    Ok(flow)
}

/// A public tag: trimmed, not empty, not in Kitaru's namespace.
pub(crate) fn tag(tag: &str) -> Result<&str, Error> {
    let tag = tag.trim();
    if tag.is_empty() {
        return Err(Error::argument(
            "tag",
            "Deployment tags must be non-empty strings.",
        ));
    }
    if tag.starts_with(NAMESPACE) {
        return Err(Error::argument(
            "tag",
            "Deployment tags cannot use the `kitaru:` namespace.",
        ));
    }
    Ok(tag)
}

/// A version: at least 1.
pub(crate) fn version(version: i64) -> Result<u32, Error> {
    u32::try_from(version)
        .ok()
        .filter(|version| *version >= 1)
        .ok_or_else(|| Error::argument("version", "Deployment version must be >= 1."))
}

/// Whether `tag` is exclusive when asked to be `exclusive` (`default`
/// always is).
pub(crate) fn effective_exclusive(tag: &str, exclusive: bool) -> bool {
    tag == DEFAULT_TAG || exclusive
}

/// The flow and version a snapshot name stands for, if it is a deployment's.
pub(crate) fn parse_snapshot_name(name: &str) -> Option<(&str, u32)> {
    let rest = name.strip_prefix("kitaru::")?;
    let (flow, version) = rest.rsplit_once("::v")?;
    if flow.is_empty() || flow.contains("::") {
        return None;
    }
    let first = version.chars().next()?;
    if !('1'..='9').contains(&first) || !version.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    Some((flow, version.parse().ok()?))
}

/// The native tag storing public `tag` in this mode.
pub(crate) fn native(tag: &str, exclusive: bool) -> String {
    let suffix = if exclusive { EXCLUSIVE } else { SHARED };
    format!("{PUBLIC_PREFIX}{}{suffix}", encode(tag))
}

/// The public tags (tag → exclusive) the native tag names hold; other
/// names are ignored.
pub(crate) fn public<'a>(native_tags: impl IntoIterator<Item = &'a str>) -> BTreeMap<String, bool> {
    let mut tags = BTreeMap::new();
    for name in native_tags {
        let Some(rest) = name.trim().strip_prefix(PUBLIC_PREFIX) else {
            continue;
        };
        let (encoded, exclusive) = if let Some(encoded) = rest.strip_suffix(EXCLUSIVE) {
            (encoded, true)
        } else if let Some(encoded) = rest.strip_suffix(SHARED) {
            (encoded, false)
        } else {
            continue;
        };
        let tag = decode(encoded);
        if !tag.is_empty() {
            tags.insert(tag, exclusive);
        }
    }
    tags
}

/// Percent-encoding of the UTF-8 bytes, all but `A-Z a-z 0-9 _ . - ~`
/// escaped, upper-case hex (Python's `quote(tag, safe="")`).
fn encode(tag: &str) -> String {
    let mut encoded = String::with_capacity(tag.len());
    for byte in tag.bytes() {
        if byte.is_ascii_alphanumeric() || b"_.-~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// Percent-decoding; a `%` not followed by two hex digits stays as it is,
/// invalid UTF-8 is replaced (Python's `unquote`).
fn decode(encoded: &str) -> String {
    let bytes = encoded.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(high), Some(low)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            decoded.push(u8::try_from(high * 16 + low).unwrap_or(b'?'));
            i += 3;
        } else {
            decoded.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn tags_are_encoded_as_python_quotes_them() {
        assert_eq!(encode("release 1.0/é"), "release%201.0%2F%C3%A9");
        assert_eq!(encode("kitaru:other"), "kitaru%3Aother");
        assert_eq!(encode("a_b.c-d~e"), "a_b.c-d~e");
        assert_eq!(
            native("canary", true),
            "kitaru:deployment:tag:canary:exclusive"
        );
        assert_eq!(native("beta", false), "kitaru:deployment:tag:beta:shared");
    }

    #[test]
    fn public_tags_are_read_back_and_other_names_ignored() {
        let tags = public([
            "kitaru:deployment",
            "kitaru:deployment:tag:default:exclusive",
            "kitaru:deployment:tag:release%201.0%2F%C3%A9:shared",
            "kitaru:deployment:tag:odd:neither",
            "kitaru:deployment:tag::shared",
            "unrelated",
        ]);
        assert_eq!(
            tags,
            BTreeMap::from([
                ("default".to_owned(), true),
                ("release 1.0/é".to_owned(), false)
            ])
        );
    }

    #[test]
    fn snapshot_names_are_recognised_by_name_only() {
        assert_eq!(
            parse_snapshot_name("kitaru::agent::v12"),
            Some(("agent", 12))
        );
        for other in [
            "kitaru::agent::v0",
            "kitaru::agent::v01",
            "kitaru::a::b::v1",
            "kitaru::::v1",
            "kitaru-source::agent::abc",
            "kitaru::agent::vx",
        ] {
            assert_eq!(parse_snapshot_name(other), None, "{other}");
        }
    }

    #[test]
    fn selectors_are_checked_with_the_references_texts() {
        assert_eq!(flow(" agent ").unwrap(), "agent");
        assert!(
            flow(" ")
                .unwrap_err()
                .to_string()
                .contains("`flow` must be a non-empty string.")
        );
        assert!(
            flow("a::b")
                .unwrap_err()
                .to_string()
                .contains("cannot contain `::`")
        );
        assert_eq!(tag(" beta ").unwrap(), "beta");
        assert!(
            tag("")
                .unwrap_err()
                .to_string()
                .contains("non-empty strings")
        );
        assert!(
            tag("kitaru:deployment:x")
                .unwrap_err()
                .to_string()
                .contains("`kitaru:` namespace")
        );
        assert_eq!(tag("kitaru:other").unwrap(), "kitaru:other");
        assert_eq!(version(2).unwrap(), 2);
        assert!(
            version(0)
                .unwrap_err()
                .to_string()
                .contains("Deployment version must be >= 1.")
        );
        assert!(effective_exclusive("default", false));
        assert!(!effective_exclusive("beta", false));
    }

    proptest! {
        #[test]
        fn any_tag_round_trips(tag in "\\PC{1,40}", exclusive in any::<bool>()) {
            let stored = native(&tag, exclusive);
            prop_assert!(stored.is_ascii());
            let read = public([stored.as_str()]);
            prop_assert_eq!(read, BTreeMap::from([(tag, exclusive)]));
        }
    }
}
