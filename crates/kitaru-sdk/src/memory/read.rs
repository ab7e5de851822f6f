//! Reading memory: a key's value, the keys of a scope, a key's history.

use kitaru_client::paging::Paged as _;
use std::collections::HashSet;

use serde::Serialize;
use serde_json::Value;

use super::entry::MemoryEntry;
use super::scope::{self, AUDIT_PREFIX, MemoryScope, ScopeType};
use super::versions;
use crate::artifacts::{ValueFormat, ValueUnavailable};
use crate::python_repr::str_repr;
use crate::{Error, Kitaru};

/// A memory version with its value, or with why the value could not be
/// read here.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct MemoryValue {
    /// The version.
    #[serde(flatten)]
    pub entry: MemoryEntry,
    /// Whether the value was read.
    pub value_available: bool,
    /// The value as JSON, or its Python `repr()` text (see `value_format`);
    /// absent when it could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    /// How to read `value`: `json` or `repr`; absent when it could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_format: Option<ValueFormat>,
    /// Why the value could not be read; absent when it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_unavailable: Option<ValueUnavailable>,
}

/// The error type of a memory value that cannot be read.
const MEMORY_UNAVAILABLE: &str = "KitaruMemoryArtifactUnavailableError";

/// Checks a version number argument.
pub(crate) fn version_argument(version: Option<i64>) -> Result<Option<i64>, Error> {
    match version {
        Some(number) if number < 1 => Err(Error::argument(
            "version",
            "Memory version must be an integer >= 1.",
        )),
        other => Ok(other),
    }
}

/// The value of `key` in `scope`: its latest version, or the given one.
///
/// `None` when the key (or that version) does not exist or is deleted. A
/// value that cannot be read here comes back with `value_available: false`
/// and the reason, or, with `strict`, as an error carrying that reason.
pub async fn get(
    kitaru: &Kitaru,
    scope: &MemoryScope,
    key: &str,
    version: Option<i64>,
    strict: bool,
) -> Result<Option<MemoryValue>, Error> {
    let raw_key = key;
    let key = scope::key(key)?;
    let version = version_argument(version)?;
    let context = format!(
        "Failed to get memory key {} in scope {}",
        str_repr(&key),
        str_repr(scope.name())
    );
    let Some(stored) = versions::latest(kitaru, scope, &key, version, &context).await? else {
        return Ok(None);
    };
    if stored.entry.is_deleted {
        return Ok(None);
    }
    let loaded = stored.load(kitaru).await;
    let entry = stored.entry;
    Ok(Some(match loaded {
        Ok(loaded) => MemoryValue {
            entry,
            value_available: true,
            value: Some(loaded.value),
            value_format: Some(loaded.value_format),
            value_unavailable: None,
        },
        Err(unavailable) => {
            let unavailable = unavailable.in_context(
                MEMORY_UNAVAILABLE,
                &format!(
                    "Memory key {} in scope {} ({}) points to artifact {}",
                    str_repr(raw_key),
                    str_repr(&entry.scope),
                    entry.scope_type,
                    str_repr(&entry.artifact_id),
                ),
            );
            if strict {
                return Err(Error::State(unavailable.message));
            }
            MemoryValue {
                entry,
                value_available: false,
                value: None,
                value_format: None,
                value_unavailable: Some(unavailable),
            }
        }
    }))
}

/// The keys of `scope` that hold a value (latest version not deleted),
/// sorted by key, optionally only those starting with `prefix`.
///
/// The scope's audit log (`_compaction/...`) is not a key and is not
/// listed; [`compaction_log`](super::compaction_log) reads it.
pub async fn list(
    kitaru: &Kitaru,
    scope: &MemoryScope,
    prefix: Option<&str>,
) -> Result<Vec<MemoryEntry>, Error> {
    let prefix = prefix.map(scope::prefix).transpose()?;
    let context = format!("Failed to list memory in scope {}", str_repr(scope.name()));
    let all = versions::in_scope(kitaru, scope, &context).await?;
    let mut seen = HashSet::new();
    let mut entries: Vec<MemoryEntry> = all
        .into_iter()
        .filter(|stored| seen.insert(stored.entry.key.clone()))
        .map(|stored| stored.entry)
        .filter(|entry| !entry.is_deleted && !entry.key.starts_with(AUDIT_PREFIX))
        .filter(|entry| {
            prefix
                .as_ref()
                .is_none_or(|p| entry.key.starts_with(p.as_str()))
        })
        .collect();
    entries.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(entries)
}

/// Every version of `key`, newest first, deletions included; empty for a
/// key that never existed.
pub async fn history(
    kitaru: &Kitaru,
    scope: &MemoryScope,
    key: &str,
) -> Result<Vec<MemoryEntry>, Error> {
    let key = scope::key(key)?;
    let context = format!(
        "Failed to read history of memory key {} in scope {}",
        str_repr(&key),
        str_repr(scope.name())
    );
    let all = versions::history(kitaru, scope, &key, &context).await?;
    Ok(all.into_iter().map(|stored| stored.entry).collect())
}

/// The names of the scopes of `scope_type` that hold (or held) memory,
/// sorted; from the names of the memory artifacts on the server.
pub async fn scopes(kitaru: &Kitaru, scope_type: ScopeType) -> Result<Vec<String>, Error> {
    let prefix = format!("{}{}:", scope::ARTIFACT_PREFIX, scope_type);
    let query = kitaru
        .client
        .list_artifacts()
        .name(format!("startswith:{prefix}"))
        .size(1000);
    let artifacts = match kitaru.project() {
        Some(project) => query.project(project),
        None => query,
    }
    .all()
    .await
    .map_err(|e| {
        Error::api(
            format!("Failed to list memory scopes of type {scope_type}"),
            e,
        )
    })?;
    let names: std::collections::BTreeSet<String> = artifacts
        .iter()
        .filter_map(|artifact| scope::parse_artifact_name(&artifact.name))
        .map(|(scope, _)| scope.name().to_owned())
        .collect();
    Ok(names.into_iter().collect())
}
