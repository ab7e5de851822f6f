//! Purging memory: deleting old versions for good (unlike `delete`, which
//! adds a tombstone), their stored files included, with an audit record of
//! what went.

use std::collections::HashSet;

use serde::Serialize;

use super::audit::{CompactionRecord, Operation};
use super::entry::Stored;
use super::scope::{self, AUDIT_PREFIX, MemoryScope, ScopeType};
use super::store::ArtifactStore;
use super::versions;
use crate::error::ApiContext as _;
use crate::python_repr::str_repr;
use crate::{Error, Kitaru};

/// What a purge deleted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct PurgeResult {
    /// How many versions were deleted.
    pub versions_deleted: u64,
    /// How many keys lost versions.
    pub keys_affected: u64,
    /// The scope's name.
    pub scope: String,
    /// The scope type.
    pub scope_type: ScopeType,
}

/// Checks a `keep` argument.
fn keep_argument(keep: Option<i64>) -> Result<usize, Error> {
    match keep {
        None => Ok(0),
        Some(n) if n >= 0 => Ok(usize::try_from(n).unwrap_or(usize::MAX)),
        Some(_) => Err(Error::argument(
            "keep",
            "`keep` must be a non-negative integer or None.",
        )),
    }
}

/// The versions of one key to delete, newest first.
struct Plan {
    key: String,
    doomed: Vec<Stored>,
}

/// Deletes all versions of `key` but the newest `keep` (none kept when
/// `keep` is `None`: the key is gone entirely), tombstones included.
///
/// Versions a flow's step read or wrote cannot be deleted; then nothing is
/// deleted and the error lists them.
pub async fn purge(
    kitaru: &Kitaru,
    scope: &MemoryScope,
    key: &str,
    keep: Option<i64>,
) -> Result<PurgeResult, Error> {
    let key = scope::key(key)?;
    let kept = keep_argument(keep)?;
    let context = format!(
        "Failed to fetch versions for purge of key {} in scope {}",
        str_repr(&key),
        str_repr(scope.name())
    );
    let all = versions::history(kitaru, scope, &key, &context).await?;
    let plan = Plan {
        key,
        doomed: all.into_iter().skip(kept).collect(),
    };
    run(kitaru, scope, vec![plan], keep).await
}

/// Purges every key of `scope` as [`purge`] does one, keeping the newest
/// `keep` versions of each. A key whose latest version is a deletion is
/// left alone, unless `include_deleted`: then all its versions go.
///
/// Every key is checked before anything is deleted: if one has versions a
/// step used, nothing is deleted.
pub async fn purge_scope(
    kitaru: &Kitaru,
    scope: &MemoryScope,
    keep: Option<i64>,
    include_deleted: bool,
) -> Result<PurgeResult, Error> {
    let kept = keep_argument(keep)?;
    let context = format!(
        "Failed to list artifacts for purge of scope {}",
        str_repr(scope.name())
    );
    let all = versions::in_scope(kitaru, scope, &context).await?;
    let mut plans: Vec<Plan> = Vec::new();
    for stored in all {
        if stored.entry.key.starts_with(AUDIT_PREFIX) {
            continue;
        }
        match plans.iter_mut().find(|plan| plan.key == stored.entry.key) {
            Some(plan) => plan.doomed.push(stored),
            None => plans.push(Plan {
                key: stored.entry.key.clone(),
                doomed: vec![stored],
            }),
        }
    }
    let plans = plans
        .into_iter()
        .filter_map(|mut plan| {
            let latest_deleted = plan.doomed.first().is_some_and(|v| v.entry.is_deleted);
            match (latest_deleted, include_deleted) {
                (true, false) => None,
                (true, true) => Some(plan),
                (false, _) => {
                    plan.doomed = plan.doomed.split_off(kept.min(plan.doomed.len()));
                    Some(plan)
                }
            }
        })
        .collect();
    run(kitaru, scope, plans, keep).await
}

/// Checks every plan, then deletes, then records what was deleted.
async fn run(
    kitaru: &Kitaru,
    scope: &MemoryScope,
    plans: Vec<Plan>,
    keep: Option<i64>,
) -> Result<PurgeResult, Error> {
    let plans: Vec<Plan> = plans
        .into_iter()
        .filter(|plan| !plan.doomed.is_empty())
        .collect();
    for plan in &plans {
        let context = format!(
            "Failed to preflight purge eligibility for key {} in scope {}",
            str_repr(&plan.key),
            str_repr(scope.name())
        );
        let unused: HashSet<String> =
            versions::unused_ids(kitaru, scope, &plan.key, &context).await?;
        let blocked: Vec<i64> = plan
            .doomed
            .iter()
            .filter(|stored| !unused.contains(&stored.entry.artifact_id))
            .map(|stored| stored.entry.version)
            .collect();
        if !blocked.is_empty() {
            let numbers: Vec<String> = blocked.iter().map(i64::to_string).collect();
            return Err(Error::State(format!(
                "Cannot purge versions [{}] for key {} in scope {} because they are not unused. \
                 Versions a flow's step read or wrote stay until that execution is deleted; \
                 nothing was purged.",
                numbers.join(", "),
                str_repr(&plan.key),
                str_repr(scope.name())
            )));
        }
    }
    // Where purged versions' folders may be removed from; without it (no
    // active stack, say) the folders stay and the purge goes on. Not asked
    // for when nothing is purged.
    let store = match plans.is_empty() {
        true => None,
        false => match ArtifactStore::active(kitaru).await {
            Ok(store) => Some(store),
            Err(error) => {
                tracing::warn!("purge leaves the versions' folders in place: {error}");
                None
            }
        },
    };
    let mut record = CompactionRecord::new(Operation::Purge, scope);
    record.keep = keep;
    for plan in &plans {
        for stored in &plan.doomed {
            kitaru
                .client
                .delete_artifact_version()
                .artifact_version_id(parse_id(&stored.entry.artifact_id)?)
                .send()
                .await
                .context(format!(
                    "Failed to delete artifact version {} during purge of key {} in scope {}",
                    stored.entry.artifact_id,
                    str_repr(&plan.key),
                    str_repr(scope.name())
                ))?;
            if let Some(store) = &store {
                remove_files(store, &scope.artifact_name(&plan.key), &stored.uri);
            }
            record.versions_deleted += 1;
            record.source_versions.push(stored.entry.version);
        }
        record.keys_affected += 1;
        record.source_keys.push(plan.key.clone());
    }
    if record.versions_deleted > 0 {
        record.append(kitaru, scope).await?;
    }
    Ok(PurgeResult {
        versions_deleted: record.versions_deleted,
        keys_affected: record.keys_affected,
        scope: scope.name().to_owned(),
        scope_type: scope.scope_type(),
    })
}

/// Removes a purged version's folder when it is that version's folder in
/// the active artifact store on this machine: once the version is deleted,
/// nothing refers to it any more. (The Python SDK leaves it behind.) A
/// folder anywhere else is left alone: the `uri` is the server's word, and
/// anyone who can register an artifact version can set it.
fn remove_files(store: &ArtifactStore, artifact_name: &str, uri: &str) {
    if let Err(reason) = store.remove_version(artifact_name, uri) {
        tracing::warn!("purged memory version {artifact_name}: {reason}");
    }
}

fn parse_id(id: &str) -> Result<uuid::Uuid, Error> {
    uuid::Uuid::parse_str(id).map_err(|e| {
        Error::Unexpected(format!(
            "the server sent an invalid artifact id '{id}': {e}"
        ))
    })
}
