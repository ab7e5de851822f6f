//! Deployments: versioned, tagged snapshots of a flow that the server runs
//! on request.
//!
//! A deployment version is a pipeline snapshot named `kitaru::<flow>::v<N>`
//! ([`tags`] holds the naming and tag conventions, the Python SDK's). Listing,
//! reading, tagging, untagging, deleting and invoking are plain REST here:
//! what this module writes, the Python SDK and `kitaru flow deployments`
//! read, and the other way round.
//!
//! Exclusive tags (`default` always is) sit on at most one version of a
//! flow: tagging a version moves them. A version holding an exclusive tag
//! cannot be deleted.

mod deploy;
pub mod tags;

use std::collections::BTreeMap;

use kitaru_client::ApiError;
use kitaru_client::paging::Paged as _;
use kitaru_client::types::{PipelineRunConfiguration, PipelineSnapshotResponse};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::ApiContext;
use crate::executions::{self, Execution};
use crate::{Error, Kitaru};

pub use deploy::{DeployRequest, check_stack, compile, deploy, publish};
pub use tags::DEFAULT_TAG;

/// Snapshots per page when listing.
const PAGE_SIZE: i64 = 100;
/// Where deploy records what the snapshot cannot say by itself.
const DEPLOYMENT_EXTRA: &str = "kitaru_deployment";

/// One deployment version.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct Deployment {
    /// The snapshot's id.
    pub deployment_id: String,
    /// The flow.
    pub flow: String,
    /// The version (1, 2, …).
    pub version: u32,
    /// Its public tags: tag → whether it is exclusive.
    pub tags: BTreeMap<String, bool>,
    /// The code's commit, when deploy recorded it.
    pub commit_sha: Option<String>,
    /// Whether the code had uncommitted changes, when recorded.
    pub commit_dirty: Option<bool>,
    /// The image's digest, when recorded.
    pub image_digest: Option<String>,
    /// When it was deployed.
    pub created_at: Option<String>,
    /// The JSON schema of the flow's inputs (defaults: the deployed
    /// values), as deploy recorded it.
    pub schema: Option<Value>,
    /// The stack it runs on.
    pub stack: Option<String>,
}

impl Deployment {
    /// The deployment a snapshot is, if its name makes it one.
    fn of_snapshot(snapshot: &PipelineSnapshotResponse) -> Option<Self> {
        let (flow, version) = tags::parse_snapshot_name(snapshot.name.as_deref()?)?;
        let resources = snapshot.resources.as_ref();
        let native: Vec<&str> = resources
            .map(|resources| resources.tags.iter().map(|tag| tag.name.as_str()).collect())
            .unwrap_or_default();
        let metadata = snapshot.metadata.as_ref();
        let extra = metadata
            .and_then(|metadata| metadata.pipeline_configuration.extra.get(DEPLOYMENT_EXTRA))
            .and_then(Value::as_object);
        let recorded = |key: &str| {
            extra
                .and_then(|extra| extra.get(key))
                .filter(|v| !v.is_null())
        };
        let text = |key: &str| recorded(key).and_then(Value::as_str).map(str::to_owned);
        let stack = resources.and_then(|resources| resources.stack.as_ref());
        Some(Self {
            deployment_id: snapshot.id.to_string(),
            flow: flow.to_owned(),
            version,
            tags: tags::public(native),
            commit_sha: text("commit_sha"),
            commit_dirty: recorded("commit_dirty").and_then(Value::as_bool),
            image_digest: text("image_digest"),
            created_at: snapshot.body.as_ref().map(|body| body.created.to_string()),
            schema: recorded("schema").cloned().or_else(|| {
                metadata
                    .and_then(|metadata| metadata.config_schema.clone())
                    .map(Value::Object)
            }),
            stack: text("stack")
                .or_else(|| stack.map(|stack| stack.name.clone()))
                .or_else(|| stack.map(|stack| stack.id.to_string())),
        })
    }

    fn exclusive_tags(&self) -> Vec<&str> {
        self.tags
            .iter()
            .filter(|(_, exclusive)| **exclusive)
            .map(|(tag, _)| tag.as_str())
            .collect()
    }
}

/// Every deployment version, or those of `flow`, sorted by flow and
/// version (`kitaru_deployments_list`).
pub async fn list(kitaru: &Kitaru, flow: Option<&str>) -> Result<Vec<Deployment>, Error> {
    let flow = flow.map(tags::flow).transpose()?;
    let request = kitaru
        .client
        .list_pipeline_snapshots()
        .hydrate(true)
        .named_only(true)
        .sort_by("asc:created")
        .size(PAGE_SIZE);
    let snapshots = match kitaru.project() {
        Some(project) => request.project(project),
        None => request,
    }
    .all()
    .await
    .context("Failed to list deployment snapshots")?;
    let mut deployments: Vec<Deployment> = snapshots
        .iter()
        .filter_map(Deployment::of_snapshot)
        .filter(|deployment| flow.is_none_or(|flow| deployment.flow == flow))
        .collect();
    deployments.sort_by(|a, b| (&a.flow, a.version).cmp(&(&b.flow, b.version)));
    Ok(deployments)
}

/// Which version of a flow: by number, by tag, or (neither given) the one
/// tagged `default`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selector {
    /// This version.
    Version(u32),
    /// The version holding this tag.
    Tag(String),
    /// The version holding `default`, the tag not having been asked for.
    ImplicitDefault,
}

impl Selector {
    /// The selector of the `version` and `tag` arguments: not both; a
    /// version of at least 1; a valid tag.
    pub fn of(version: Option<i64>, tag: Option<&str>) -> Result<Self, Error> {
        match (version, tag) {
            (Some(_), Some(_)) => Err(Error::argument(
                "version",
                "`version` and `tag` are mutually exclusive.",
            )),
            (Some(version), None) => Ok(Self::Version(tags::version(version)?)),
            (None, Some(tag)) => Ok(Self::Tag(tags::tag(tag)?.to_owned())),
            (None, None) => Ok(Self::ImplicitDefault),
        }
    }
}

/// The deployment of `flow` that `selector` names (`kitaru_deployments_get`).
pub async fn get(kitaru: &Kitaru, flow: &str, selector: &Selector) -> Result<Deployment, Error> {
    let deployments = list(kitaru, Some(flow)).await?;
    pick(deployments, flow, selector, false)
}

fn pick(
    deployments: Vec<Deployment>,
    flow: &str,
    selector: &Selector,
    invoking: bool,
) -> Result<Deployment, Error> {
    let flow_repr = crate::python_repr::str_repr(flow);
    let tag = match selector {
        Selector::Version(version) => {
            return deployments
                .into_iter()
                .find(|deployment| deployment.version == *version)
                .ok_or_else(|| {
                    Error::NotFound(format!(
                        "No deployment found for flow {flow_repr} version {version}."
                    ))
                });
        }
        Selector::Tag(tag) => tag.as_str(),
        Selector::ImplicitDefault => DEFAULT_TAG,
    };
    let total = deployments.len();
    let mut matches: Vec<Deployment> = deployments
        .into_iter()
        .filter(|deployment| deployment.tags.contains_key(tag))
        .collect();
    match matches.len() {
        1 => Ok(matches.remove(0)),
        0 if invoking && *selector == Selector::ImplicitDefault && total == 0 => {
            Err(Error::NotFound(format!(
                "No deployments found for flow {flow_repr}. Deploy this flow first, then invoke \
                 it by version or tag."
            )))
        }
        0 if invoking && *selector == Selector::ImplicitDefault => Err(Error::State(format!(
            "Flow {flow_repr} has deployments, but none is currently routed as the default \
             deployment. Invoke it with an explicit version or tag, or move the reserved \
             'default' tag to the version you want."
        ))),
        0 => Err(Error::NotFound(format!(
            "No deployment found for flow {flow_repr} with tag {}.",
            crate::python_repr::str_repr(tag)
        ))),
        _ => {
            let versions: Vec<String> = matches.iter().map(|d| d.version.to_string()).collect();
            Err(Error::State(format!(
                "Deployment tag {} is ambiguous for flow {flow_repr}; matched versions: {}.",
                crate::python_repr::str_repr(tag),
                versions.join(", ")
            )))
        }
    }
}

/// What [`delete`] reports.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct Deleted {
    /// The flow, as given.
    pub flow: String,
    /// The version deleted.
    pub version: u32,
    /// Always true.
    pub deleted: bool,
}

/// Deletes version `version` of `flow`, unless it holds an exclusive tag
/// (`kitaru_deployments_delete`).
pub async fn delete(kitaru: &Kitaru, flow: &str, version: i64) -> Result<Deleted, Error> {
    let version = tags::version(version)?;
    let deployment = get(kitaru, flow, &Selector::Version(version)).await?;
    let exclusive = deployment.exclusive_tags();
    if !exclusive.is_empty() {
        return Err(Error::State(format!(
            "Cannot delete deployment {} v{version} while it holds exclusive tag(s): {}.",
            crate::python_repr::str_repr(flow),
            exclusive.join(", ")
        )));
    }
    kitaru
        .client
        .delete_pipeline_snapshot()
        .snapshot_id(snapshot_id(&deployment)?)
        .send()
        .await
        .context(format!(
            "Failed to delete deployment '{}'",
            deployment.deployment_id
        ))?;
    Ok(Deleted {
        flow: flow.to_owned(),
        version,
        deleted: true,
    })
}

/// Puts `tag` on version `version` of `flow` (`kitaru_deployments_tag`);
/// an exclusive tag (`default` always) leaves every other version of the
/// flow. Returns the version as it is then.
pub async fn tag(
    kitaru: &Kitaru,
    flow: &str,
    version: i64,
    tag: &str,
    exclusive: bool,
) -> Result<Deployment, Error> {
    let version = tags::version(version)?;
    let tag = tags::tag(tag)?;
    let exclusive = tags::effective_exclusive(tag, exclusive);
    let deployments = list(kitaru, Some(flow)).await?;
    let target = pick(
        deployments.clone(),
        flow,
        &Selector::Version(version),
        false,
    )?;
    update_tags(
        kitaru,
        &target,
        vec![tags::MARKER.to_owned(), tags::native(tag, exclusive)],
        vec![tags::native(tag, !exclusive)],
    )
    .await?;
    if exclusive {
        for other in deployments.iter().filter(|d| d.version != version) {
            if let Some(mode) = other.tags.get(tag) {
                // Best effort, as the Python SDK: the tag is on the target.
                if let Err(error) =
                    update_tags(kitaru, other, Vec::new(), vec![tags::native(tag, *mode)]).await
                {
                    tracing::warn!(
                        "Tagged {flow} v{version} '{tag}', but could not remove it from v{}: \
                         {error}",
                        other.version
                    );
                }
            }
        }
    }
    get(kitaru, flow, &Selector::Version(version)).await
}

/// Removes `tag` from version `version` of `flow`
/// (`kitaru_deployments_untag`); `default` cannot be removed. A version
/// without the tag is returned unchanged.
pub async fn untag(
    kitaru: &Kitaru,
    flow: &str,
    version: i64,
    tag: &str,
) -> Result<Deployment, Error> {
    let tag = tags::tag(tag)?;
    if tag == DEFAULT_TAG {
        return Err(Error::argument(
            "tag",
            "The reserved `default` deployment tag cannot be removed.",
        ));
    }
    let version = tags::version(version)?;
    let deployment = get(kitaru, flow, &Selector::Version(version)).await?;
    let Some(mode) = deployment.tags.get(tag).copied() else {
        return Ok(deployment);
    };
    update_tags(
        kitaru,
        &deployment,
        Vec::new(),
        vec![tags::native(tag, mode)],
    )
    .await?;
    get(kitaru, flow, &Selector::Version(version)).await
}

async fn update_tags(
    kitaru: &Kitaru,
    deployment: &Deployment,
    add: Vec<String>,
    remove: Vec<String>,
) -> Result<(), Error> {
    kitaru
        .client
        .update_pipeline_snapshot()
        .snapshot_id(snapshot_id(deployment)?)
        .body_map(|update| {
            update
                .add_tags((!add.is_empty()).then_some(add))
                .remove_tags((!remove.is_empty()).then_some(remove))
        })
        .send()
        .await
        .context(format!(
            "Failed to update deployment '{}'",
            deployment.deployment_id
        ))?;
    Ok(())
}

fn snapshot_id(deployment: &Deployment) -> Result<uuid::Uuid, Error> {
    deployment
        .deployment_id
        .parse()
        .map_err(|_| Error::Unexpected(format!("bad snapshot id {}", deployment.deployment_id)))
}

/// How an invocation picked its version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct SelectorUsed {
    /// The version asked for, if any.
    pub version: Option<u32>,
    /// The tag asked for (`default` when neither was given).
    pub tag: Option<String>,
}

/// An execution a deployment started.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct Invocation {
    /// The new execution's id.
    pub exec_id: String,
    /// The flow, as given.
    pub flow: String,
    /// How the version was picked.
    pub selector: SelectorUsed,
    /// The new execution; null when it could not be read yet.
    pub execution: Option<Execution>,
    /// Null, or why the execution could not be read.
    pub warning: Option<String>,
}

/// Starts an execution of the deployment `selector` names, on the server
/// (`kitaru_deployments_invoke`). `inputs` change the flow's inputs.
pub async fn invoke(
    kitaru: &Kitaru,
    flow: &str,
    selector: &Selector,
    inputs: &Map<String, Value>,
) -> Result<Invocation, Error> {
    let deployments = list(kitaru, Some(flow)).await?;
    let deployment = pick(deployments, flow, selector, true)?;
    let run_configuration = if inputs.is_empty() {
        None
    } else {
        let configuration = PipelineRunConfiguration::builder().parameters(Some(inputs.clone()));
        Some(
            PipelineRunConfiguration::try_from(configuration)
                .map_err(|e| Error::Unexpected(format!("Cannot build the run request: {e}")))?,
        )
    };
    let answer = kitaru
        .client
        .create_snapshot_run()
        .snapshot_id(snapshot_id(&deployment)?)
        .body_map(|request| request.run_configuration(run_configuration))
        .send()
        .await;
    let run = match answer {
        Ok(run) => run.into_inner(),
        Err(error) => return Err(invoke_failed(&deployment, ApiError::read(error).await)),
    };
    let exec_id = run.id.to_string();
    let (execution, warning) = match executions::get(kitaru, &exec_id).await {
        Ok(execution) => (Some(execution), None),
        Err(error) => (
            None,
            Some(format!(
                "Execution started successfully, but details are not available yet: {error}"
            )),
        ),
    };
    Ok(Invocation {
        exec_id,
        flow: flow.to_owned(),
        selector: SelectorUsed {
            version: match selector {
                Selector::Version(version) => Some(*version),
                _ => None,
            },
            tag: match selector {
                Selector::Version(_) => None,
                Selector::Tag(tag) => Some(tag.clone()),
                Selector::ImplicitDefault => Some(DEFAULT_TAG.to_owned()),
            },
        },
        execution,
        warning,
    })
}

/// The server's refusal of an invocation, in the reference's words.
fn invoke_failed(deployment: &Deployment, error: ApiError) -> Error {
    let subject = format!(
        "Deployment {} v{}",
        crate::python_repr::str_repr(&deployment.flow),
        deployment.version
    );
    let lowered = error.message.to_lowercase();
    if error.status == Some(400) && lowered.contains("unable to run pipeline from the server") {
        let stack = deployment.stack.as_deref().unwrap_or("<unknown>");
        return Error::State(format!(
            "{subject} was created from stack {}, which the Kitaru server cannot execute \
             remotely. Rebuild the deployment using a stack the Kitaru server can execute \
             remotely before invoking it.",
            crate::python_repr::str_repr(stack)
        ));
    }
    if error.status == Some(405) {
        return Error::State("Running a snapshot is not supported for this server.".to_owned());
    }
    Error::api(
        format!(
            "Failed to invoke deployment {} v{}",
            crate::python_repr::str_repr(&deployment.flow),
            deployment.version
        ),
        error,
    )
}
