//! MCP resources: executions, their logs, artifacts and memory entries,
//! addressed by `kitaru://` URIs; executions can be subscribed to, and the
//! subscriber hears when their status changes.
//!
//! | URI | what |
//! | --- | --- |
//! | `kitaru://executions/{exec_id}` | an execution in detail (JSON) |
//! | `kitaru://executions/{exec_id}/logs` | its runtime log lines (text) |
//! | `kitaru://artifacts/{artifact_id}` | an artifact with its value (JSON) |
//! | `kitaru://memory/{scope_type}/{scope}/{key}` | a memory value (JSON); `scope` and `key` percent-encoded (`/` is `%2F`) |
//! | `kitaru://deployments/{flow}` | a flow's deployed versions (JSON) |
//! | `kitaru://deployments/{flow}/{version}` | one deployed version (JSON) |
//!
//! `resources/list` pages through the executions, newest first. A
//! resource of a toolset the server does not offer is refused like its
//! tools.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kitaru_sdk::deployments::{self, Selector};
use kitaru_sdk::executions::{self, ExecutionFilter, ListPosition, LogQuery};
use kitaru_sdk::memory::{self, MemoryScope};
use kitaru_sdk::{Kitaru, artifacts};
use rmcp::model::{
    ListResourcesResult, ReadResourceResult, Resource, ResourceContents, ResourceTemplate,
    ResourceUpdatedNotificationParam,
};
use rmcp::{ErrorData, Peer, RoleServer};

use crate::catalog::TOOLSETS;
use crate::selection::ToolSelection;

const JSON: &str = "application/json";

/// The resource templates: URI template, name, title, description, MIME
/// type, toolset.
pub const TEMPLATES: &[(&str, &str, &str, &str, &str, &str)] = &[
    (
        "kitaru://executions/{exec_id}",
        "execution",
        "Execution",
        "An execution in detail: status, pending wait, failure, checkpoints, artifacts. Subscribe to hear of status changes.",
        JSON,
        "executions",
    ),
    (
        "kitaru://executions/{exec_id}/logs",
        "execution_logs",
        "Execution logs",
        "The runtime log lines of an execution, oldest first.",
        "text/plain",
        "executions",
    ),
    (
        "kitaru://artifacts/{artifact_id}",
        "artifact",
        "Artifact",
        "An artifact with its value, or why the value cannot be read here.",
        JSON,
        "artifacts",
    ),
    (
        "kitaru://memory/{scope_type}/{scope}/{key}",
        "memory_entry",
        "Memory entry",
        "A memory key's current value; scope and key percent-encoded ('/' as %2F).",
        JSON,
        "memory",
    ),
    (
        "kitaru://deployments/{flow}",
        "flow_deployments",
        "Flow deployments",
        "A flow's deployed versions with their tags (tag: exclusive).",
        JSON,
        "deployments",
    ),
    (
        "kitaru://deployments/{flow}/{version}",
        "deployment",
        "Deployment",
        "One deployed version of a flow, with its tags and input schema.",
        JSON,
        "deployments",
    ),
];

/// How many executions a page of `resources/list` holds.
const PAGE: usize = 50;

/// What a `kitaru://` URI names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResourceUri {
    /// `kitaru://executions/{exec_id}`
    Execution(String),
    /// `kitaru://executions/{exec_id}/logs`
    ExecutionLogs(String),
    /// `kitaru://artifacts/{artifact_id}`
    Artifact(String),
    /// `kitaru://deployments/{flow}`
    Deployments(String),
    /// `kitaru://deployments/{flow}/{version}`
    Deployment {
        /// The flow's name.
        flow: String,
        /// The version number.
        version: i64,
    },
    /// `kitaru://memory/{scope_type}/{scope}/{key}`
    Memory {
        /// `namespace`, `flow` or `execution`.
        scope_type: String,
        /// The scope's name, decoded.
        scope: String,
        /// The key, decoded.
        key: String,
    },
}

impl ResourceUri {
    /// Reads a `kitaru://` URI; the error says which forms exist.
    pub fn parse(uri: &str) -> Result<Self, String> {
        let unknown = || {
            let forms: Vec<&str> = TEMPLATES.iter().map(|template| template.0).collect();
            format!(
                "unknown resource `{uri}`; the resources are: {}",
                forms.join(", ")
            )
        };
        let rest = uri.strip_prefix("kitaru://").ok_or_else(unknown)?;
        let parts: Vec<&str> = rest.split('/').collect();
        let decoded = |part: &str| decode(part).ok_or_else(unknown);
        Ok(match parts.as_slice() {
            ["executions", id] if !id.is_empty() => Self::Execution(decoded(id)?),
            ["executions", id, "logs"] if !id.is_empty() => Self::ExecutionLogs(decoded(id)?),
            ["artifacts", id] if !id.is_empty() => Self::Artifact(decoded(id)?),
            ["deployments", flow] if !flow.is_empty() => Self::Deployments(decoded(flow)?),
            ["deployments", flow, version] if !flow.is_empty() => Self::Deployment {
                flow: decoded(flow)?,
                version: version.parse().map_err(|_| unknown())?,
            },
            ["memory", scope_type, scope, key] => Self::Memory {
                scope_type: decoded(scope_type)?,
                scope: decoded(scope)?,
                key: decoded(key)?,
            },
            _ => return Err(unknown()),
        })
    }

    /// The toolset whose tools read the same data.
    fn toolset(&self) -> &'static str {
        match self {
            Self::Execution(_) | Self::ExecutionLogs(_) => "executions",
            Self::Artifact(_) => "artifacts",
            Self::Memory { .. } => "memory",
            Self::Deployments(_) | Self::Deployment { .. } => "deployments",
        }
    }
}

/// `%XX` decoding of one URI segment; `None` for a malformed escape or text
/// that is not UTF-8.
fn decode(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Whether `selection` offers any tool of `toolset`.
fn offered(selection: &ToolSelection, toolset: &str) -> bool {
    TOOLSETS
        .iter()
        .filter(|candidate| candidate.name == toolset)
        .any(|candidate| candidate.tools().any(|tool| selection.offers(tool)))
}

/// The templates of the toolsets offered.
pub fn templates(selection: &ToolSelection) -> Vec<ResourceTemplate> {
    TEMPLATES
        .iter()
        .filter(|template| offered(selection, template.5))
        .map(|(uri, name, title, description, mime, _)| {
            let mut template = ResourceTemplate::new(*uri, *name);
            template.title = Some((*title).to_owned());
            template.description = Some((*description).to_owned());
            template.mime_type = Some((*mime).to_owned());
            template
        })
        .collect()
}

fn failure(error: kitaru_sdk::Error) -> ErrorData {
    match error.kind() {
        kitaru_sdk::ErrorKind::NotFound => ErrorData::resource_not_found(error.to_string(), None),
        kitaru_sdk::ErrorKind::InvalidArgument => {
            ErrorData::invalid_params(error.to_string(), None)
        }
        _ => ErrorData::internal_error(error.to_string(), None),
    }
}

fn json_text<T: serde::Serialize>(value: &T) -> Result<String, ErrorData> {
    serde_json::to_string_pretty(value)
        .map_err(|e| ErrorData::internal_error(format!("cannot serialise the resource: {e}"), None))
}

/// Reads the resource `uri`.
pub async fn read(
    kitaru: &Kitaru,
    selection: &ToolSelection,
    uri: &str,
) -> Result<ReadResourceResult, ErrorData> {
    let parsed =
        ResourceUri::parse(uri).map_err(|reason| ErrorData::resource_not_found(reason, None))?;
    if !offered(selection, parsed.toolset()) {
        return Err(ErrorData::invalid_params(
            format!(
                "resource `{uri}` is not available: the `{}` toolset is not offered \
                 (--toolsets / KITARU_MCP_TOOLSETS)",
                parsed.toolset()
            ),
            None,
        ));
    }
    let (text, mime) = match &parsed {
        ResourceUri::Execution(exec_id) => {
            let execution = executions::get(kitaru, exec_id).await.map_err(failure)?;
            (json_text(&execution)?, JSON)
        }
        ResourceUri::ExecutionLogs(exec_id) => {
            let logs = executions::logs(kitaru, exec_id, &LogQuery::default())
                .await
                .map_err(failure)?;
            (logs, "text/plain")
        }
        ResourceUri::Artifact(id) => {
            let artifact = artifacts::get(kitaru, id).await.map_err(failure)?;
            (json_text(&artifact)?, JSON)
        }
        ResourceUri::Deployments(flow) => {
            let versions = deployments::list(kitaru, Some(flow))
                .await
                .map_err(failure)?;
            if versions.is_empty() {
                return Err(ErrorData::resource_not_found(
                    format!("flow '{flow}' has no deployed version"),
                    None,
                ));
            }
            (json_text(&versions)?, JSON)
        }
        ResourceUri::Deployment { flow, version } => {
            let selector = Selector::of(Some(*version), None).map_err(failure)?;
            let deployment = deployments::get(kitaru, flow, &selector)
                .await
                .map_err(failure)?;
            (json_text(&deployment)?, JSON)
        }
        ResourceUri::Memory {
            scope_type,
            scope,
            key,
        } => {
            let scope = MemoryScope::parse(scope_type, scope).map_err(failure)?;
            let value = memory::get(kitaru, &scope, key, None, false)
                .await
                .map_err(failure)?
                .ok_or_else(|| {
                    ErrorData::resource_not_found(
                        format!("memory key '{key}' in scope {scope} holds no value"),
                        None,
                    )
                })?;
            (json_text(&value)?, JSON)
        }
    };
    Ok(ReadResourceResult::new(vec![
        ResourceContents::text(text, uri).with_mime_type(mime),
    ]))
}

/// A page of the executions as resources, newest first; the cursor says
/// where the server's listing goes on (see [`cursor_of`]), so a page reads no
/// earlier page of runs.
pub async fn list(
    kitaru: &Kitaru,
    selection: &ToolSelection,
    cursor: Option<&str>,
) -> Result<ListResourcesResult, ErrorData> {
    if !offered(selection, "executions") {
        return Ok(ListResourcesResult::with_all_items(Vec::new()));
    }
    let from = match cursor {
        None => ListPosition::default(),
        Some(cursor) => parse_cursor(cursor)
            .ok_or_else(|| ErrorData::invalid_params(format!("invalid cursor `{cursor}`"), None))?,
    };
    let (found, next) = executions::list_from(kitaru, &ExecutionFilter::default(), from, PAGE)
        .await
        .map_err(failure)?;
    let resources = found
        .into_iter()
        .map(|execution| {
            let summary = execution.summary;
            let name = format!(
                "{} ({})",
                summary.flow_name.as_deref().unwrap_or("execution"),
                summary.status
            );
            let mut resource =
                Resource::new(format!("kitaru://executions/{}", summary.exec_id), name);
            resource.mime_type = Some(JSON.to_owned());
            resource.description = summary
                .started_at
                .map(|started| format!("started {started}"));
            resource
        })
        .collect();
    let mut page = ListResourcesResult::with_all_items(resources);
    page.next_cursor = next.map(cursor_of);
    Ok(page)
}

/// The `resources/list` cursor for `position`: the server's page of runs and
/// the position on it where the next page of resources starts, as
/// `<page>-<position>`. Clients take it as it is.
fn cursor_of(position: ListPosition) -> String {
    format!("{}-{}", position.page, position.index)
}

/// The position a [`cursor_of`] stands for.
fn parse_cursor(text: &str) -> Option<ListPosition> {
    let (page, index) = text.split_once('-')?;
    Some(ListPosition {
        page: page.parse().ok().filter(|page| *page >= 1)?,
        index: index.parse().ok()?,
    })
}

/// Who is subscribed to which execution, and the status last seen.
#[derive(Clone, Default)]
pub struct Subscriptions {
    inner: Arc<Mutex<HashMap<String, Watched>>>,
}

/// One subscribed execution.
struct Watched {
    /// The URI it was subscribed by (notifications name it).
    uri: String,
    peer: Peer<RoleServer>,
    /// The status last seen.
    status: String,
    /// What follows it.
    follower: tokio::task::AbortHandle,
}

/// The most executions one server watches at once (each is followed on
/// its own: a stream, or a request per poll): `--max-subscriptions`.
fn max_subscriptions() -> usize {
    crate::limits::limits().max_subscriptions
}

/// What a subscriber hears about: the status and the server's reason for
/// it (`Waiting for input.` becoming `Waiting for manual resume.` is news).
fn state_of(execution: &kitaru_sdk::executions::Execution) -> String {
    let summary = &execution.summary;
    format!(
        "{} ({})",
        summary.status,
        summary.status_reason.as_deref().unwrap_or("")
    )
}

/// How often subscribed executions are polled where the server does not
/// stream their events: `--poll-seconds`.
fn poll_interval() -> Duration {
    crate::limits::limits().poll_interval
}

impl Subscriptions {
    /// Subscribes `peer` to the execution `uri` names, and follows it.
    pub async fn subscribe(
        &self,
        connector: Arc<kitaru_sdk::Connector>,
        selection: &ToolSelection,
        uri: &str,
        peer: Peer<RoleServer>,
    ) -> Result<(), ErrorData> {
        let parsed = ResourceUri::parse(uri)
            .map_err(|reason| ErrorData::resource_not_found(reason, None))?;
        let ResourceUri::Execution(exec_id) = parsed else {
            return Err(ErrorData::invalid_params(
                format!(
                    "only executions can be subscribed to (kitaru://executions/{{exec_id}}), not `{uri}`"
                ),
                None,
            ));
        };
        if !offered(selection, "executions") {
            return Err(ErrorData::invalid_params(
                "executions are not offered by this server (--toolsets)".to_owned(),
                None,
            ));
        }
        let kitaru = connector.get().await.map_err(failure)?;
        let execution = executions::get(&kitaru, &exec_id).await.map_err(failure)?;
        let status = state_of(&execution);
        // Keyed by the execution's full id: another spelling of the same
        // execution (a prefix, percent-encoding) is the same subscription.
        let key = execution.summary.exec_id.clone();
        let mut watched = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let most = max_subscriptions();
        if !watched.contains_key(&key) && watched.len() >= most {
            return Err(ErrorData::invalid_params(
                format!(
                    "at most {most} executions are watched at once; unsubscribe from one \
                     (resources/unsubscribe) before subscribing to another"
                ),
                None,
            ));
        }
        let follower = match watched.remove(&key) {
            Some(earlier) => earlier.follower,
            None => tokio::spawn(self.clone().follow(connector, key.clone())).abort_handle(),
        };
        watched.insert(
            key,
            Watched {
                uri: uri.to_owned(),
                peer,
                status,
                follower,
            },
        );
        Ok(())
    }

    /// Ends the subscription to `uri` (by the URI subscribed with, or the
    /// execution's full id), and the following of its execution.
    pub fn unsubscribe(&self, uri: &str) {
        let exec_id = match ResourceUri::parse(uri) {
            Ok(ResourceUri::Execution(exec_id)) => Some(exec_id),
            _ => None,
        };
        let mut watched = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        watched.retain(|key, watched| {
            let kept = watched.uri != uri && Some(key) != exec_id.as_ref();
            if !kept {
                watched.follower.abort();
            }
            kept
        });
    }

    /// Follows execution `exec_id` while it is subscribed to — through its
    /// events where the server streams them, else by polling — and tells
    /// the subscriber when its status changed. An execution that ended is
    /// followed no further: it does not change again.
    async fn follow(self, connector: Arc<kitaru_sdk::Connector>, exec_id: String) {
        let mut pace = match connector.get().await {
            Ok(kitaru) => executions::Pace::follow(&kitaru, &exec_id, poll_interval()).await,
            Err(_) => executions::Pace::polling(poll_interval()),
        };
        let mut ended = false;
        while !ended {
            pace.wait(tokio::time::Instant::now() + poll_interval().max(executions::QUIET_LOOK))
                .await;
            let Ok(kitaru) = connector.get().await else {
                continue;
            };
            let status = match executions::get(&kitaru, &exec_id).await {
                Ok(execution) => {
                    ended = execution.summary.status.ended();
                    state_of(&execution)
                }
                Err(error) => {
                    tracing::debug!("following {exec_id}: {error}");
                    continue;
                }
            };
            let (uri, peer) = {
                let mut watched = self.inner.lock().unwrap_or_else(|p| p.into_inner());
                let Some(watched) = watched.get_mut(&exec_id) else {
                    return;
                };
                if watched.status == status {
                    continue;
                }
                watched.status.clone_from(&status);
                (watched.uri.clone(), watched.peer.clone())
            };
            tracing::debug!("{uri} is now {status}");
            if let Err(error) = peer
                .notify_resource_updated(ResourceUpdatedNotificationParam::new(uri.clone()))
                .await
            {
                tracing::debug!("could not notify {uri}: {error}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_name_what_they_address() {
        assert_eq!(
            ResourceUri::parse("kitaru://executions/abc").unwrap(),
            ResourceUri::Execution("abc".into())
        );
        assert_eq!(
            ResourceUri::parse("kitaru://executions/abc/logs").unwrap(),
            ResourceUri::ExecutionLogs("abc".into())
        );
        assert_eq!(
            ResourceUri::parse("kitaru://memory/namespace/team%2Fa/notes%2Ftoday").unwrap(),
            ResourceUri::Memory {
                scope_type: "namespace".into(),
                scope: "team/a".into(),
                key: "notes/today".into()
            }
        );
        let error = ResourceUri::parse("kitaru://stacks/x").unwrap_err();
        assert!(error.contains("kitaru://executions/{exec_id}"), "{error}");
        assert!(ResourceUri::parse("https://executions/x").is_err());
        assert!(ResourceUri::parse("kitaru://artifacts/%zz").is_err());
    }

    #[test]
    fn a_cursor_reads_back_as_its_position_and_junk_is_refused() {
        let position = ListPosition { page: 3, index: 7 };
        assert_eq!(parse_cursor(&cursor_of(position)), Some(position));
        for junk in ["x", "50", "0-0", "-1-0", "2-", "2-x", "1-2-3"] {
            assert_eq!(parse_cursor(junk), None, "{junk}");
        }
    }
}
