//! A scope's audit log: one record per compaction or purge, stored as
//! versions of the scope's reserved `_compaction/<scope_type>/<scope>` key,
//! in the Python SDK's record format so both sides read each other's log.

use serde::{Deserialize, Serialize};

use super::entry::MemoryEntry;
use super::scope::{MemoryScope, ScopeType};
use super::{versions, write};
use crate::python_repr::str_repr;
use crate::{Error, Kitaru};

/// What was done.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Operation {
    /// Values were summarised into a new version.
    Compact,
    /// Old versions were deleted.
    Purge,
}

/// Which versions a compaction read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum SourceMode {
    /// The current value of each key.
    Current,
    /// Every version of one key.
    History,
}

impl SourceMode {
    /// Reads a source mode as the Python SDK does: trimmed, any case.
    pub fn parse(text: &str) -> Result<Self, Error> {
        match text.trim().to_lowercase().as_str() {
            "current" => Ok(Self::Current),
            "history" => Ok(Self::History),
            _ => Err(Error::argument(
                "source_mode",
                "Memory compaction source_mode must be 'current' or 'history'.",
            )),
        }
    }
}

/// One audit record of a scope.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct CompactionRecord {
    /// `compact` or `purge`.
    pub operation: Operation,
    /// The scope's name.
    pub scope: String,
    /// The scope type.
    pub scope_type: ScopeType,
    /// When it was done (no offset; the SDK writes UTC).
    pub timestamp: String,
    /// The keys read (compact, one per source) or purged.
    pub source_keys: Vec<String>,
    /// The versions read, or deleted, matching `source_keys` for compact.
    pub source_versions: Vec<i64>,
    /// The key a compaction wrote.
    pub target_key: Option<String>,
    /// The version a compaction wrote.
    pub target_version: Option<i64>,
    /// The instruction given to the model, if the caller gave one.
    pub instruction: Option<String>,
    /// The model that summarised, `provider/model`.
    pub model: Option<String>,
    /// Which versions a compaction read.
    #[serde(default)]
    pub source_mode: Option<SourceMode>,
    /// How many keys lost versions (purge).
    pub keys_affected: u64,
    /// How many versions were deleted (purge).
    pub versions_deleted: u64,
    /// The `keep` a purge was given.
    pub keep: Option<i64>,
}

impl CompactionRecord {
    /// A record of `operation` in `scope`, stamped now, with nothing else set.
    pub(crate) fn new(operation: Operation, scope: &MemoryScope) -> Self {
        let now = chrono::Utc::now().naive_utc();
        Self {
            operation,
            scope: scope.name().to_owned(),
            scope_type: scope.scope_type(),
            timestamp: kitaru_client::Timestamp::from(now).to_string(),
            source_keys: Vec::new(),
            source_versions: Vec::new(),
            target_key: None,
            target_version: None,
            instruction: None,
            model: None,
            source_mode: None,
            keys_affected: 0,
            versions_deleted: 0,
            keep: None,
        }
    }

    /// Appends the record to its scope's log.
    pub(crate) async fn append(
        &self,
        kitaru: &Kitaru,
        scope: &MemoryScope,
    ) -> Result<MemoryEntry, Error> {
        let value = serde_json::to_value(self)
            .map_err(|e| Error::Unexpected(format!("cannot encode the audit record: {e}")))?;
        let context = format!(
            "Failed to write compaction record for scope {}",
            str_repr(scope.name())
        );
        Ok(
            write::write(kitaru, scope, &scope.audit_key(), &value, false, &context)
                .await?
                .entry,
        )
    }
}

/// The audit log of `scope`, newest first; records that cannot be read are
/// skipped (with a warning in the log).
pub async fn compaction_log(
    kitaru: &Kitaru,
    scope: &MemoryScope,
) -> Result<Vec<CompactionRecord>, Error> {
    let context = format!(
        "Failed to read compaction log for scope {}",
        str_repr(scope.name())
    );
    let log = versions::history(kitaru, scope, &scope.audit_key(), &context).await?;
    let mut records = Vec::new();
    for stored in log.iter().filter(|stored| !stored.entry.is_deleted) {
        let loaded = stored.load(kitaru).await;
        let record = loaded
            .map_err(|unavailable| unavailable.message)
            .and_then(|loaded| {
                serde_json::from_value::<CompactionRecord>(loaded.value).map_err(|e| e.to_string())
            });
        match record {
            Ok(record) => records.push(record),
            Err(why) => tracing::warn!(
                "skipping unreadable compaction record {} (version {}): {why}",
                stored.entry.artifact_id,
                stored.entry.version
            ),
        }
    }
    Ok(records)
}
