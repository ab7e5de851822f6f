//! Memory scopes and identifiers: what is valid, and how a (scope, key)
//! pair is named on the server.
//!
//! The rules are the Python SDK's, so that both sides accept and store the
//! same names: a key, scope or prefix is trimmed, must not be empty, and may
//! only hold ASCII letters, digits, `.`, `_`, `-` and `/`; keys under
//! `_compaction/` are reserved for the audit log.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::python_repr::str_repr;

/// What a memory scope is attached to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum ScopeType {
    /// A free name chosen by the user, shared by everything that uses it.
    Namespace,
    /// A flow: the scope is the flow's id (its ZenML pipeline id). Flows
    /// use it by default.
    Flow,
    /// One execution: the scope is the execution's id.
    Execution,
}

impl ScopeType {
    /// The scope type as stored: `namespace`, `flow` or `execution`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Namespace => "namespace",
            Self::Flow => "flow",
            Self::Execution => "execution",
        }
    }

    /// Reads a scope type as the Python SDK does: trimmed, any case.
    pub fn parse(text: &str) -> Result<Self, Error> {
        match text.trim().to_lowercase().as_str() {
            "namespace" => Ok(Self::Namespace),
            "flow" => Ok(Self::Flow),
            "execution" => Ok(Self::Execution),
            _ => Err(Error::argument(
                "scope_type",
                "Memory scope_type must be one of 'namespace', 'flow', or 'execution'.",
            )),
        }
    }
}

impl fmt::Display for ScopeType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ScopeType {
    type Err = Error;
    fn from_str(text: &str) -> Result<Self, Error> {
        Self::parse(text)
    }
}

/// Where memory lives: a scope type and the scope's name (a namespace name,
/// a flow id or an execution id).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MemoryScope {
    scope_type: ScopeType,
    scope: String,
}

impl MemoryScope {
    /// A scope, its name checked and trimmed as the Python SDK does.
    pub fn new(scope_type: ScopeType, scope: &str) -> Result<Self, Error> {
        Ok(Self {
            scope_type,
            scope: identifier(scope, Identifier::Scope)?,
        })
    }

    /// A scope from its two textual parts, as the tools receive them.
    pub fn parse(scope_type: &str, scope: &str) -> Result<Self, Error> {
        let scope = identifier(scope, Identifier::Scope)?;
        Ok(Self {
            scope_type: ScopeType::parse(scope_type)?,
            scope,
        })
    }

    /// The namespace `name`.
    pub fn namespace(name: &str) -> Result<Self, Error> {
        Self::new(ScopeType::Namespace, name)
    }

    /// The scope type.
    pub fn scope_type(&self) -> ScopeType {
        self.scope_type
    }

    /// The scope's name, trimmed.
    pub fn name(&self) -> &str {
        &self.scope
    }

    /// The artifact that holds `key` in this scope:
    /// `kitaru_mem:<scope_type>:<scope>:<key>`.
    pub(crate) fn artifact_name(&self, key: &str) -> String {
        format!("{ARTIFACT_PREFIX}{}:{}:{key}", self.scope_type, self.scope)
    }

    /// The key of this scope's compaction and purge audit log.
    pub(crate) fn audit_key(&self) -> String {
        format!("{AUDIT_PREFIX}{}/{}", self.scope_type, self.scope)
    }

    /// The tags every version written in this scope carries, for `key`.
    pub(crate) fn tags(&self, key: &str) -> Vec<String> {
        vec![
            TAG_MARKER.to_owned(),
            self.scope_tag(),
            format!("{TAG_MARKER}:key:{key}"),
            self.scope_type_tag(),
        ]
    }

    pub(crate) fn scope_tag(&self) -> String {
        format!("{TAG_MARKER}:scope:{}", self.scope)
    }

    pub(crate) fn scope_type_tag(&self) -> String {
        format!("{TAG_MARKER}:scope_type:{}", self.scope_type)
    }
}

impl fmt::Display for MemoryScope {
    /// `'<scope>' (<scope_type>)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", str_repr(&self.scope), self.scope_type)
    }
}

/// The prefix of every memory artifact's name.
pub(crate) const ARTIFACT_PREFIX: &str = "kitaru_mem:";
/// The tag every memory version carries; more specific tags extend it.
pub(crate) const TAG_MARKER: &str = "kitaru:memory";
/// Keys under this prefix hold a scope's audit log.
pub(crate) const AUDIT_PREFIX: &str = "_compaction/";

/// The three kinds of memory identifiers.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Identifier {
    Key,
    Scope,
    Prefix,
    /// A key read back from the server: audit-log keys allowed.
    StoredKey,
}

impl Identifier {
    fn noun(self) -> &'static str {
        match self {
            Self::Key | Self::StoredKey => "key",
            Self::Scope => "scope",
            Self::Prefix => "prefix",
        }
    }
}

/// A memory key given by a caller, checked and trimmed.
pub fn key(value: &str) -> Result<String, Error> {
    identifier(value, Identifier::Key)
}

/// A key prefix given by a caller, checked and trimmed.
pub(crate) fn prefix(value: &str) -> Result<String, Error> {
    identifier(value, Identifier::Prefix)
}

/// Checks and trims an identifier; the error names the argument.
pub(crate) fn identifier(value: &str, kind: Identifier) -> Result<String, Error> {
    let noun = kind.noun();
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(Error::argument(
            noun,
            format!("Memory {noun} must be non-empty and may not be whitespace-only."),
        ));
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/');
    if !trimmed.chars().all(allowed) {
        return Err(Error::argument(
            noun,
            format!(
                "Memory {noun} {} may only contain letters, numbers, '.', '_', '-', and '/'. \
                 Colons are not allowed.",
                str_repr(trimmed)
            ),
        ));
    }
    // Keys and scopes name folders in the artifact store (the Python SDK
    // joins them into the path as they are): a segment that is empty or
    // `.`/`..` would put a value elsewhere.
    if matches!(kind, Identifier::Key | Identifier::Scope)
        && trimmed
            .split('/')
            .any(|segment| matches!(segment, "" | "." | ".."))
    {
        return Err(Error::argument(
            noun,
            format!(
                "Memory {noun} {} may not start or end with '/', hold '//', or have a '.' or \
                 '..' segment: memory {noun}s name folders in the artifact store, and must \
                 stay inside it.",
                str_repr(trimmed)
            ),
        ));
    }
    if kind == Identifier::Key && trimmed.starts_with(AUDIT_PREFIX) {
        return Err(Error::argument(
            noun,
            format!("Memory key prefix '{AUDIT_PREFIX}' is reserved for compaction audit logs."),
        ));
    }
    Ok(trimmed.to_owned())
}

/// Reads `kitaru_mem:<scope_type>:<scope>:<key>` back into its scope and key;
/// `None` for a name that is not a valid memory artifact name.
pub(crate) fn parse_artifact_name(name: &str) -> Option<(MemoryScope, String)> {
    let rest = name.strip_prefix(ARTIFACT_PREFIX)?;
    let mut parts = rest.splitn(3, ':');
    let (scope_type, scope, key) = (parts.next()?, parts.next()?, parts.next()?);
    let scope = MemoryScope::parse(scope_type, scope).ok()?;
    let key = identifier(key, Identifier::StoredKey).ok()?;
    Some((scope, key))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(error: Error) -> String {
        match error {
            Error::InvalidArgument { reason, .. } => reason,
            other => panic!("not an argument error: {other}"),
        }
    }

    #[test]
    fn identifiers_are_trimmed_and_checked_with_the_python_sdks_words() {
        assert_eq!(key("  notes/today ").unwrap(), "notes/today");
        assert_eq!(
            reason(key("  ").unwrap_err()),
            "Memory key must be non-empty and may not be whitespace-only."
        );
        assert_eq!(
            reason(key("a:b").unwrap_err()),
            "Memory key 'a:b' may only contain letters, numbers, '.', '_', '-', and '/'. \
             Colons are not allowed."
        );
        assert_eq!(
            reason(identifier("it's", Identifier::Scope).unwrap_err()),
            "Memory scope \"it's\" may only contain letters, numbers, '.', '_', '-', and '/'. \
             Colons are not allowed."
        );
        assert_eq!(
            reason(key("_compaction/x").unwrap_err()),
            "Memory key prefix '_compaction/' is reserved for compaction audit logs."
        );
        assert_eq!(prefix("_compaction/").unwrap(), "_compaction/");
        assert_eq!(
            reason(key("k/../../tmp/x").unwrap_err()),
            "Memory key 'k/../../tmp/x' may not start or end with '/', hold '//', or have a '.' \
             or '..' segment: memory keys name folders in the artifact store, and must stay \
             inside it."
        );
        for bad in ["/abs", "a//b", "a/", "..", "./a", "a/./b"] {
            assert!(key(bad).is_err(), "{bad}");
            assert!(identifier(bad, Identifier::Scope).is_err(), "{bad}");
        }
        for good in ["a.b/c..d", ".hidden/x", "a/b-c_d"] {
            assert_eq!(key(good).unwrap(), good);
        }
        assert_eq!(prefix("notes/").unwrap(), "notes/");
        assert!(key("é").is_err());
    }

    #[test]
    fn scope_types_read_in_any_case_with_spaces() {
        assert_eq!(
            ScopeType::parse(" NameSpace ").unwrap(),
            ScopeType::Namespace
        );
        assert_eq!(
            reason(ScopeType::parse("global").unwrap_err()),
            "Memory scope_type must be one of 'namespace', 'flow', or 'execution'."
        );
    }

    #[test]
    fn artifact_names_round_trip_and_keys_may_hold_colon_free_slashes() {
        let scope = MemoryScope::namespace("ref-ns1").unwrap();
        let name = scope.artifact_name("a/b");
        assert_eq!(name, "kitaru_mem:namespace:ref-ns1:a/b");
        assert_eq!(
            parse_artifact_name(&name),
            Some((scope.clone(), "a/b".to_owned()))
        );
        let audit = scope.artifact_name(&scope.audit_key());
        assert_eq!(
            audit,
            "kitaru_mem:namespace:ref-ns1:_compaction/namespace/ref-ns1"
        );
        assert!(parse_artifact_name(&audit).is_some());
        assert_eq!(parse_artifact_name("kitaru_mem:global:x:k"), None);
        assert_eq!(parse_artifact_name("other:namespace:x:k"), None);
        assert_eq!(parse_artifact_name("kitaru_mem:namespace:x:k:y"), None);
    }
}
