//! The server queries behind memory: a key's latest or given version, all
//! versions of a key, all versions in a scope.

use std::collections::HashSet;

use kitaru_client::builder::ListArtifactVersions;
use kitaru_client::paging::Paged as _;

use super::entry::{Stored, sort_newest_first};
use super::scope::{MemoryScope, TAG_MARKER};
use crate::error::ApiContext as _;
use crate::{Error, Kitaru};

/// Page size of the paginated queries.
const PAGE_SIZE: i64 = 100;

fn query<'a>(kitaru: &'a Kitaru, hydrate: bool) -> ListArtifactVersions<'a> {
    let query = kitaru
        .client
        .list_artifact_versions()
        .hydrate(hydrate)
        .sort_by("desc:version_number")
        .only_unused(false);
    match kitaru.project() {
        Some(project) => query.project(project),
        None => query,
    }
}

/// The newest version of `key` (or the given version number); `None` when
/// there is none. A version that is not valid memory is an error here.
pub(crate) async fn latest(
    kitaru: &Kitaru,
    scope: &MemoryScope,
    key: &str,
    version: Option<i64>,
    context: &str,
) -> Result<Option<Stored>, Error> {
    let mut request = query(kitaru, true)
        .artifact(scope.artifact_name(key))
        .page(1)
        .size(1);
    if let Some(version) = version {
        request = request.version(version.to_string());
    }
    let answer = request.send().await.context(context)?.into_inner();
    let Some(found) = answer.items.first() else {
        return Ok(None);
    };
    match Stored::from_version(found) {
        Some(stored) if stored.is_in(scope) => Ok(Some(stored)),
        _ => Err(Error::Unexpected(format!(
            "{context}: artifact version {} is named like memory but is not a valid memory \
             version (it lacks a matching 'kitaru_memory_scope_type' record).",
            found.id
        ))),
    }
}

/// Every version of `key`, newest first, tombstones included.
pub(crate) async fn history(
    kitaru: &Kitaru,
    scope: &MemoryScope,
    key: &str,
    context: &str,
) -> Result<Vec<Stored>, Error> {
    let name = scope.artifact_name(key);
    let versions = every(kitaru, true, context, |query| query.artifact(name.clone())).await?;
    Ok(memory_in(scope, &versions))
}

/// Every version of every key in `scope`, newest first.
pub(crate) async fn in_scope(
    kitaru: &Kitaru,
    scope: &MemoryScope,
    context: &str,
) -> Result<Vec<Stored>, Error> {
    let tags = vec![
        TAG_MARKER.to_owned(),
        scope.scope_tag(),
        scope.scope_type_tag(),
    ];
    let versions = every(kitaru, true, context, |query| query.tags(tags.clone())).await?;
    Ok(memory_in(scope, &versions))
}

/// The ids of the versions of `key` that no step used as input or output,
/// which are the only ones that may be deleted.
pub(crate) async fn unused_ids(
    kitaru: &Kitaru,
    scope: &MemoryScope,
    key: &str,
    context: &str,
) -> Result<HashSet<String>, Error> {
    let name = scope.artifact_name(key);
    let versions = every(kitaru, false, context, |query| {
        query.only_unused(true).artifact(name.clone())
    })
    .await?;
    Ok(versions
        .iter()
        .map(|version| version.id.to_string())
        .collect())
}

/// Every artifact version `narrow` selects, all pages.
async fn every(
    kitaru: &Kitaru,
    hydrate: bool,
    context: &str,
    narrow: impl Fn(ListArtifactVersions<'_>) -> ListArtifactVersions<'_>,
) -> Result<Vec<kitaru_client::types::ArtifactVersionResponse>, Error> {
    narrow(query(kitaru, hydrate))
        .size(PAGE_SIZE)
        .all()
        .await
        .context(context)
}

fn memory_in(
    scope: &MemoryScope,
    versions: &[kitaru_client::types::ArtifactVersionResponse],
) -> Vec<Stored> {
    let mut stored: Vec<Stored> = versions
        .iter()
        .filter_map(Stored::from_version)
        .filter(|stored| stored.is_in(scope))
        .collect();
    sort_newest_first(&mut stored);
    stored
}
