//! Compaction: a model summarises memory values into a new version, and
//! the scope's audit log records what was read and written.

use kitaru_client::connection::Environment;
use serde::Serialize;

use super::audit::{CompactionRecord, Operation, SourceMode};
use super::entry::{MemoryEntry, Stored};
use super::scope::{self, MemoryScope, ScopeType};
use super::{versions, write};
use crate::python_repr::{Py, str_repr};
use crate::{Error, Kitaru, llm};

/// What to summarise, and how.
#[derive(Clone, Debug, Default)]
pub struct CompactRequest {
    /// One key (single-key mode).
    pub key: Option<String>,
    /// Several keys, each read at its current value (multi-key mode).
    pub keys: Option<Vec<String>>,
    /// In single-key mode: the current value, or every version.
    pub source_mode: Option<SourceMode>,
    /// Where the summary goes; required with `keys`, else `key`.
    pub target_key: Option<String>,
    /// What the model is asked to do; a built-in summarising instruction
    /// otherwise.
    pub instruction: Option<String>,
    /// The model: an alias of the model registry or `provider/model`;
    /// the configured default otherwise.
    pub model: Option<String>,
    /// The answer's length limit, passed to the provider.
    pub max_tokens: Option<i64>,
}

/// What a compaction wrote.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct CompactResult {
    /// The new version of the target key, holding the summary.
    pub entry: MemoryEntry,
    /// How many values were summarised.
    pub sources_read: u64,
    /// The scope's name.
    pub scope: String,
    /// The scope type.
    pub scope_type: ScopeType,
    /// The record added to the scope's audit log.
    pub compaction_record: CompactionRecord,
}

const DEFAULT_INSTRUCTION: &str = "Summarize the following memory entries into a concise, \
     factual summary preserving all important information. Output only the summary text.";

/// Summarises memory values of `scope` with a model and stores the summary
/// as a new version of the target key.
///
/// Single-key mode (`key`) reads its current value, or with
/// [`SourceMode::History`] all its versions; multi-key mode (`keys`) reads
/// each key's current value, skipping missing and deleted ones, and needs a
/// `target_key`. `env` supplies the model settings and credentials (the
/// process environment, usually).
pub async fn compact(
    kitaru: &Kitaru,
    scope: &MemoryScope,
    request: &CompactRequest,
    env: &dyn Environment,
) -> Result<CompactResult, Error> {
    let key = request.key.as_deref().map(scope::key).transpose()?;
    let keys = request
        .keys
        .as_ref()
        .map(|keys| {
            keys.iter()
                .map(|key| scope::key(key))
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?;
    let target = request.target_key.as_deref().map(scope::key).transpose()?;
    let mode = request.source_mode.unwrap_or(SourceMode::Current);
    let usage = |reason: &str| Err(Error::argument("key", reason));
    let target = match (&key, &keys) {
        (Some(_), Some(_)) => {
            return usage("compact() requires exactly one of `key` or `keys`, not both.");
        }
        (None, None) => {
            return usage(
                "compact() requires either `key` (single-key mode) or `keys` (multi-key mode).",
            );
        }
        (None, Some(_)) if target.is_none() => {
            return usage("compact() in multi-key mode requires `target_key`.");
        }
        (None, Some(_)) if mode == SourceMode::History => {
            return usage("compact() only supports `source_mode='history'` in single-key mode.");
        }
        (Some(key), None) => target.unwrap_or_else(|| key.clone()),
        (None, Some(_)) => target.unwrap_or_default(),
    };

    let sources = match (&key, &keys) {
        (Some(key), _) if mode == SourceMode::Current => current(kitaru, scope, key).await?,
        (Some(key), _) => history(kitaru, scope, key).await?,
        (None, Some(keys)) => several(kitaru, scope, keys).await?,
        (None, None) => Vec::new(),
    };
    if sources.is_empty() {
        return Err(Error::State(
            "compact() found no source entries to summarize.".to_owned(),
        ));
    }

    let blocks: Vec<String> = sources
        .iter()
        .map(|(key, version, text)| format!("--- {key} (version {version}) ---\n{text}"))
        .collect();
    let instruction = request
        .instruction
        .as_deref()
        .filter(|text| !text.is_empty())
        .unwrap_or(DEFAULT_INSTRUCTION);
    let prompt = format!(
        "{instruction}\n\nMemory entries ({} total):\n\n{}",
        sources.len(),
        blocks.join("\n\n")
    );
    let prompt = prompt.trim();

    let selection = llm::resolve(request.model.as_deref(), &kitaru.connection.config_dir, env)?;
    let summary = llm::complete(kitaru, &selection, prompt, request.max_tokens, env).await?;

    let context = format!(
        "Failed to set memory key {} in scope {}",
        str_repr(&target),
        str_repr(scope.name())
    );
    let written = write::write(kitaru, scope, &target, &summary.into(), false, &context).await?;
    let mut record = CompactionRecord::new(Operation::Compact, scope);
    record.source_keys = sources.iter().map(|(key, _, _)| key.clone()).collect();
    record.source_versions = sources.iter().map(|(_, version, _)| *version).collect();
    record.target_key = Some(target);
    record.target_version = Some(written.entry.version);
    record.instruction = request.instruction.clone();
    record.model = Some(selection.resolved.clone());
    record.source_mode = Some(mode);
    record.append(kitaru, scope).await?;
    Ok(CompactResult {
        entry: written.entry,
        sources_read: sources.len() as u64,
        scope: scope.name().to_owned(),
        scope_type: scope.scope_type(),
        compaction_record: record,
    })
}

/// A source: its key, its version, and its value as Python's `str()` shows
/// it (which is what the model reads).
type Source = (String, i64, String);

/// The value of a stored version as `str()` text, or why it cannot be read.
async fn text_of(kitaru: &Kitaru, stored: &Stored) -> Result<String, String> {
    let loaded = stored
        .load(kitaru)
        .await
        .map_err(|unavailable| unavailable.message)?;
    Ok(match loaded.value_format {
        crate::artifacts::ValueFormat::Json => serde_json::from_value::<Py>(loaded.value)
            .map_err(|e| e.to_string())?
            .str(),
        // Already Python's text of the value.
        crate::artifacts::ValueFormat::Repr => loaded.value.as_str().unwrap_or_default().to_owned(),
    })
}

async fn current(kitaru: &Kitaru, scope: &MemoryScope, key: &str) -> Result<Vec<Source>, Error> {
    let context = format!(
        "Failed to load memory key {} in scope {}",
        str_repr(key),
        str_repr(scope.name())
    );
    let Some(stored) = versions::latest(kitaru, scope, key, None, &context).await? else {
        return Err(Error::NotFound(format!(
            "compact() found no current value for key {} in scope {}.",
            str_repr(key),
            str_repr(scope.name())
        )));
    };
    if stored.entry.is_deleted {
        return Err(Error::State(format!(
            "compact() cannot summarize key {} in scope {} because its current value is deleted.",
            str_repr(key),
            str_repr(scope.name())
        )));
    }
    let text = text_of(kitaru, &stored)
        .await
        .map_err(|why| Error::State(format!("{context}: {why}")))?;
    Ok(vec![(key.to_owned(), stored.entry.version, text)])
}

async fn history(kitaru: &Kitaru, scope: &MemoryScope, key: &str) -> Result<Vec<Source>, Error> {
    let context = format!(
        "Failed to load memory key {} in scope {}",
        str_repr(key),
        str_repr(scope.name())
    );
    let mut sources = Vec::new();
    for stored in versions::history(kitaru, scope, key, &context).await? {
        if stored.entry.is_deleted {
            continue;
        }
        match text_of(kitaru, &stored).await {
            Ok(text) => sources.push((key.to_owned(), stored.entry.version, text)),
            Err(why) => tracing::warn!(
                "compaction skips {key} version {} (unreadable: {why})",
                stored.entry.version
            ),
        }
    }
    Ok(sources)
}

async fn several(
    kitaru: &Kitaru,
    scope: &MemoryScope,
    keys: &[String],
) -> Result<Vec<Source>, Error> {
    let mut sources = Vec::new();
    for key in keys {
        let context = format!(
            "Failed to load memory key {} in scope {}",
            str_repr(key),
            str_repr(scope.name())
        );
        let Some(stored) = versions::latest(kitaru, scope, key, None, &context).await? else {
            continue;
        };
        if stored.entry.is_deleted {
            continue;
        }
        match text_of(kitaru, &stored).await {
            Ok(text) => sources.push((key.clone(), stored.entry.version, text)),
            Err(why) => tracing::warn!("compaction skips {key} (unreadable: {why})"),
        }
    }
    Ok(sources)
}
