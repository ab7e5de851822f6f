//! Deploying a flow: a new version, in three steps the caller may also take
//! one by one —
//!
//! 1. [`check_stack`]: the stack must be one the server can run (over
//!    REST: no custom flavor, no local component);
//! 2. [`compile`]: the user's Kitaru Python compiles the flow into a source
//!    snapshot (`kitaru-source::<flow>::<hex>`) through the bridge;
//! 3. [`publish`]: the source snapshot is named `kitaru::<flow>::v<N>`
//!    (the next free number; a name taken meanwhile is retried) and tagged,
//!    and its exclusive tags leave the flow's other versions.

use std::collections::BTreeMap;

use kitaru_client::ApiError;
use kitaru_client::types::{PipelineSnapshotUpdateName, StackResponse};
use serde_json::{Map, Value, json};

use super::{Deployment, Selector, get, list, tags, update_tags};
use crate::bridge::{Job, connection_env};
use crate::error::ApiContext;
use crate::executions::LaunchOptions;
use crate::{Error, Kitaru};

/// Input keys that are deploy options, not flow inputs.
const RESERVED_INPUTS: [&str; 6] = [
    "cache",
    "image",
    "publish_default_on_first_deploy",
    "retries",
    "stack",
    "tags",
];
/// Flavors whose components run on this machine.
const LOCAL_FLAVORS: [&str; 2] = ["local", "local_docker"];
/// How often naming is tried when another deploy takes the number.
const NAMING_ATTEMPTS: usize = 3;
/// How long compiling may take (imports, building the snapshot).
const COMPILE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(300);

/// What to deploy, as `kitaru_deployments_deploy` takes it.
#[derive(Clone, Debug, Default)]
pub struct DeployRequest {
    /// `<module_or_file>:<flow_name>`.
    pub target: String,
    /// Representative flow inputs (the deployment's defaults).
    pub inputs: Map<String, Value>,
    /// The tag the new version gets (`default` unless given).
    pub tag: String,
    /// Whether the tag is exclusive (`default` always is).
    pub exclusive: bool,
    /// The stack (the active one when `None`).
    pub stack: Option<String>,
    /// A base image, or image settings.
    pub image: Option<Value>,
    /// Cache setting.
    pub cache: Option<bool>,
    /// Retries setting.
    pub retries: Option<i64>,
}

/// Deploys a new version of a flow (`kitaru_deployments_deploy`): checks,
/// [`check_stack`], [`compile`], [`publish`].
pub async fn deploy(
    kitaru: &Kitaru,
    request: &DeployRequest,
    options: &LaunchOptions,
) -> Result<Deployment, Error> {
    let (tag, exclusive) = check_request(request)?;
    crate::executions::check_target(&request.target, &options.working_dir)?;
    let flow = flow_of_target(&request.target);
    check_stack(kitaru, &flow, request.stack.as_deref()).await?;
    let (flow, source) = compile(kitaru, request, options).await?;
    publish(kitaru, &flow, &source, &tag, exclusive).await
}

/// The tag and its exclusivity, after the checks the reference makes
/// before importing anything.
fn check_request(request: &DeployRequest) -> Result<(String, bool), Error> {
    let tag = tags::tag(&request.tag)?.to_owned();
    let exclusive = tags::effective_exclusive(&tag, request.exclusive);
    let reserved: Vec<&str> = RESERVED_INPUTS
        .iter()
        .copied()
        .filter(|key| request.inputs.contains_key(*key))
        .collect();
    if !reserved.is_empty() {
        return Err(Error::argument(
            "inputs",
            format!(
                "`inputs` contains reserved deployment option key(s): {}",
                reserved.join(", ")
            ),
        ));
    }
    if !matches!(
        request.image,
        None | Some(Value::String(_) | Value::Object(_))
    ) {
        return Err(Error::argument(
            "image",
            "`image` must be either a base image string or an image settings object.",
        ));
    }
    Ok((tag, exclusive))
}

/// The flow name Kitaru gives the target's flow: its attribute, non-word
/// characters replaced by `_`, `flow_` before a leading digit.
fn flow_of_target(target: &str) -> String {
    let attribute = target.split_once(':').map_or(target, |(_, flow)| flow);
    let mut name: String = attribute
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert_str(0, "flow_");
    }
    name
}

/// Refuses a stack the server cannot run flows on: a component of a
/// custom flavor, or one that runs on this machine (the local orchestrator
/// or artifact store, a store path without a URL scheme). ZenML decides
/// locality with Python config classes the REST API does not expose; this
/// reads it from the flavor names and paths it does.
pub async fn check_stack(kitaru: &Kitaru, flow: &str, stack: Option<&str>) -> Result<(), Error> {
    let stacks = crate::stacks::all(kitaru).await?;
    let configured = stack.or(kitaru.connection.stack.as_deref());
    let chosen = match stack {
        Some(name) => stacks
            .iter()
            .find(|s| s.name == name || s.id.to_string() == name),
        None => crate::stacks::active(&stacks, configured),
    };
    let Some(chosen) = chosen else {
        return Err(Error::NotFound(format!(
            "Stack '{}' cannot be activated. Please make sure it is registered and you have the \
             necessary permissions to access it.",
            configured.unwrap_or("default")
        )));
    };
    if let Some(detail) = not_runnable(kitaru, chosen).await? {
        return Err(Error::argument(
            "stack",
            format!(
                "Flow {} cannot be deployed with stack {} because that stack is not one the \
                 Kitaru server can execute remotely. Choose a stack the Kitaru server can \
                 execute remotely (for example Kubernetes, Vertex, SageMaker, or AzureML) and \
                 try again.{detail}",
                crate::python_repr::str_repr(flow),
                crate::python_repr::str_repr(&chosen.name)
            ),
        ));
    }
    Ok(())
}

/// Why the server cannot run `stack` (a detail sentence, possibly empty),
/// or `None` when it can.
async fn not_runnable(kitaru: &Kitaru, stack: &StackResponse) -> Result<Option<String>, Error> {
    let Some(metadata) = stack.metadata.as_ref() else {
        return Ok(None);
    };
    for components in metadata.components.values() {
        for component in components {
            let Some(body) = component.body.as_ref() else {
                continue;
            };
            let flavors = kitaru
                .client
                .list_flavors()
                .name(body.flavor_name.as_str())
                .type_(body.type_.to_string())
                .send()
                .await
                .context("Failed to check the stack's flavors")?
                .into_inner();
            if flavors
                .items
                .iter()
                .any(|flavor| flavor.body.as_ref().is_some_and(|b| b.is_custom))
            {
                return Ok(Some(
                    " Details: Unable to run pipeline from the server on a stack that includes \
                     stack components with a custom flavor."
                        .to_owned(),
                ));
            }
            let local_path = component
                .metadata
                .as_ref()
                .and_then(|m| m.configuration.get("path"))
                .and_then(Value::as_str)
                .is_some_and(|path| !path.contains("://"));
            if LOCAL_FLAVORS.contains(&body.flavor_name.as_str()) || local_path {
                // The reference leaves the server's sentence about local
                // components out of its message.
                return Ok(Some(String::new()));
            }
        }
    }
    Ok(None)
}

/// Compiles the flow of `request.target` into a source snapshot with the
/// user's Kitaru Python (no server-runnable check here: see
/// [`check_stack`]); returns the flow's name and the snapshot's id.
pub async fn compile(
    kitaru: &Kitaru,
    request: &DeployRequest,
    options: &LaunchOptions,
) -> Result<(String, String), Error> {
    let (tag, exclusive) = check_request(request)?;
    let job_request = json!({
        "target": request.target,
        "inputs": request.inputs,
        "tags": {tag: exclusive},
        "stack": request.stack,
        "image": request.image,
        "cache": request.cache,
        "retries": request.retries,
    });
    let mut job = Job::start(
        &options.job_options().await?,
        connection_env(&kitaru.connection),
        "compile_deployment",
        &job_request,
    )?;
    let done = job.until("done", COMPILE_TIMEOUT).await?;
    let result = &done["result"];
    Ok((
        result["flow"].as_str().unwrap_or_default().to_owned(),
        result["source_snapshot"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    ))
}

/// Names source snapshot `source` as the next version of `flow` and tags
/// it with `tag` (plus `default` on a flow's first version); exclusive tags
/// leave the flow's other versions.
pub async fn publish(
    kitaru: &Kitaru,
    flow: &str,
    source: &str,
    tag: &str,
    exclusive: bool,
) -> Result<Deployment, Error> {
    let flow = tags::flow(flow)?;
    let tag = tags::tag(tag)?;
    let source_id: uuid::Uuid = source
        .parse()
        .map_err(|_| Error::argument("source", format!("'{source}' is not a snapshot id")))?;
    let mut last_conflict = String::new();
    for _ in 0..NAMING_ATTEMPTS {
        let existing = list(kitaru, Some(flow)).await?;
        let version = existing.iter().map(|d| d.version).max().unwrap_or(0) + 1;
        let mut wanted: BTreeMap<String, bool> =
            BTreeMap::from([(tag.to_owned(), tags::effective_exclusive(tag, exclusive))]);
        if version == 1 {
            wanted.insert(super::DEFAULT_TAG.to_owned(), true);
        }
        let mut add = vec![tags::MARKER.to_owned()];
        add.extend(
            wanted
                .iter()
                .map(|(tag, exclusive)| tags::native(tag, *exclusive)),
        );
        let name = format!("kitaru::{flow}::v{version}");
        let answer = kitaru
            .client
            .update_pipeline_snapshot()
            .snapshot_id(source_id)
            .body_map(|update| {
                update
                    .name(Some(PipelineSnapshotUpdateName::String(name.clone())))
                    .replace(Some(false))
                    .add_tags(Some(add))
            })
            .send()
            .await;
        if let Err(error) = answer {
            let error = ApiError::read(error).await;
            if error.status == Some(409) {
                last_conflict = error.message;
                continue;
            }
            return Err(Error::api(
                format!("Failed to create deployment snapshot '{name}'"),
                error,
            ));
        }
        for other in existing.iter() {
            let remove: Vec<String> = wanted
                .iter()
                .filter(|(_, exclusive)| **exclusive)
                .filter_map(|(tag, _)| other.tags.get(tag).map(|mode| tags::native(tag, *mode)))
                .collect();
            if !remove.is_empty()
                && let Err(error) = update_tags(kitaru, other, Vec::new(), remove).await
            {
                tracing::warn!(
                    "Deployed {flow} v{version}, but its exclusive tags stay on v{} too: {error}",
                    other.version
                );
            }
        }
        return get(kitaru, flow, &Selector::Version(version)).await;
    }
    Err(Error::Api {
        context: format!(
            "Failed to allocate a deployment version after duplicate-name conflicts for flow {}",
            crate::python_repr::str_repr(flow)
        ),
        kind: crate::ErrorKind::Conflict,
        status: Some(409),
        detail: last_conflict,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flow_names_follow_the_targets_attribute() {
        assert_eq!(
            flow_of_target("flows/research.py:research_agent"),
            "research_agent"
        );
        assert_eq!(flow_of_target("m:my-flow"), "my_flow");
        assert_eq!(flow_of_target("m:2nd"), "flow_2nd");
    }

    #[test]
    fn reserved_inputs_and_bad_images_are_refused() {
        let mut request = DeployRequest {
            target: "m:f".into(),
            tag: "default".into(),
            ..Default::default()
        };
        request.inputs.insert("tags".into(), json!(1));
        request.inputs.insert("stack".into(), json!("x"));
        let error = check_request(&request).unwrap_err().to_string();
        assert!(
            error.ends_with("`inputs` contains reserved deployment option key(s): stack, tags"),
            "{error}"
        );
        request.inputs.clear();
        request.image = Some(json!(3));
        assert!(
            check_request(&request)
                .unwrap_err()
                .to_string()
                .contains("`image` must be")
        );
        request.image = Some(json!("python:3.11"));
        assert_eq!(
            check_request(&request).unwrap(),
            ("default".to_owned(), true)
        );
    }
}
