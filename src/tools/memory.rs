//! The memory tools.

use kitaru_sdk::Kitaru;
use kitaru_sdk::memory::{
    self, CompactRequest, CompactResult, CompactionRecord, MemoryEntry, MemoryScope, MemoryValue,
    PurgeResult, SourceMode,
};

use super::args::{
    MemoryCompactArgs, MemoryCompactionLogArgs, MemoryDeleteArgs, MemoryGetArgs, MemoryHistoryArgs,
    MemoryListArgs, MemoryPurgeArgs, MemoryPurgeScopeArgs, MemorySetArgs,
};
use super::{Bounded, ToolContext, ToolError};

fn scope(scope_type: &str, scope: &str) -> Result<MemoryScope, ToolError> {
    Ok(MemoryScope::parse(scope_type, scope)?)
}

/// `kitaru_memory_list`.
pub async fn list(
    kitaru: &Kitaru,
    args: MemoryListArgs,
    _: &ToolContext,
) -> Result<Vec<MemoryEntry>, ToolError> {
    let scope = scope(&args.scope_type, &args.scope)?;
    Ok(memory::list(kitaru, &scope, args.prefix.as_deref()).await?)
}

/// `kitaru_memory_get`.
pub async fn get(
    kitaru: &Kitaru,
    args: MemoryGetArgs,
    _: &ToolContext,
) -> Result<Option<Bounded<MemoryValue>>, ToolError> {
    let scope = scope(&args.scope_type, &args.scope)?;
    let found = memory::get(kitaru, &scope, &args.key, args.version, args.strict).await?;
    Ok(found.map(|mut found| {
        let value_truncated = found.value.as_mut().and_then(|value| {
            super::bounded::bound(
                value,
                "The value is larger than a tool result should be: read it whole with the Kitaru \
                 SDK (`kitaru memory get`, or kitaru_sdk::memory::get).",
            )
        });
        Bounded {
            inner: found,
            value_truncated,
        }
    }))
}

/// `kitaru_memory_set`.
pub async fn set(
    kitaru: &Kitaru,
    args: MemorySetArgs,
    _: &ToolContext,
) -> Result<MemoryEntry, ToolError> {
    let scope = scope(&args.scope_type, &args.scope)?;
    Ok(memory::set(kitaru, &scope, &args.key, &args.value).await?)
}

/// `kitaru_memory_delete`.
pub async fn delete(
    kitaru: &Kitaru,
    args: MemoryDeleteArgs,
    _: &ToolContext,
) -> Result<Option<MemoryEntry>, ToolError> {
    let scope = scope(&args.scope_type, &args.scope)?;
    Ok(memory::delete(kitaru, &scope, &args.key).await?)
}

/// `kitaru_memory_history`.
pub async fn history(
    kitaru: &Kitaru,
    args: MemoryHistoryArgs,
    _: &ToolContext,
) -> Result<Vec<MemoryEntry>, ToolError> {
    let scope = scope(&args.scope_type, &args.scope)?;
    Ok(memory::history(kitaru, &scope, &args.key).await?)
}

/// `kitaru_memory_purge`.
pub async fn purge(
    kitaru: &Kitaru,
    args: MemoryPurgeArgs,
    _: &ToolContext,
) -> Result<PurgeResult, ToolError> {
    let scope = scope(&args.scope_type, &args.scope)?;
    Ok(memory::purge(kitaru, &scope, &args.key, args.keep).await?)
}

/// `kitaru_memory_purge_scope`.
pub async fn purge_scope(
    kitaru: &Kitaru,
    args: MemoryPurgeScopeArgs,
    _: &ToolContext,
) -> Result<PurgeResult, ToolError> {
    let scope = scope(&args.scope_type, &args.scope)?;
    Ok(memory::purge_scope(kitaru, &scope, args.keep, args.include_deleted).await?)
}

/// `kitaru_memory_compaction_log`.
pub async fn compaction_log(
    kitaru: &Kitaru,
    args: MemoryCompactionLogArgs,
    _: &ToolContext,
) -> Result<Vec<CompactionRecord>, ToolError> {
    let scope = scope(&args.scope_type, &args.scope)?;
    Ok(memory::compaction_log(kitaru, &scope).await?)
}

/// `kitaru_memory_compact`: the model settings and credentials come from
/// this process's environment.
pub async fn compact(
    kitaru: &Kitaru,
    args: MemoryCompactArgs,
    _: &ToolContext,
) -> Result<CompactResult, ToolError> {
    let scope = scope(&args.scope_type, &args.scope)?;
    let request = CompactRequest {
        key: args.key,
        keys: args.keys,
        source_mode: Some(SourceMode::parse(&args.source_mode)?),
        target_key: args.target_key,
        instruction: args.instruction,
        model: args.model,
        max_tokens: args.max_tokens,
    };
    let env = kitaru_sdk::api::connection::ProcessEnv;
    Ok(memory::compact(kitaru, &scope, &request, &env).await?)
}
