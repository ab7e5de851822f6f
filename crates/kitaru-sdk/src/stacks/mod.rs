//! Stacks: where executions run.
//!
//! A stack is a ZenML stack (orchestrator, artifact store, …). One of them is
//! active: the one the connection names (`ZENML_ACTIVE_STACK_ID`, the
//! repository's or the global config), else the server's `default` stack,
//! which is also what the CLI falls back to when the named one is gone.
//!
//! [`create`] and [`delete`] manage stacks the way `kitaru stack create` and
//! `kitaru stack delete` do: fresh components labelled as Kitaru's, the
//! active stack recorded in the CLI's config files.

pub(crate) mod activate;
mod create;
mod delete;
mod flavor;
mod modal;
mod options;
mod remote;

use kitaru_client::paging::Paged as _;
use serde::Serialize;

use crate::error::ApiContext;
use crate::{Error, Kitaru};
use kitaru_client::types::StackResponse;

pub use create::create;
pub use delete::delete;
pub use options::{StackCreate, StackType};

/// The label Kitaru puts on the stacks it creates.
const MANAGED_LABEL: &str = "kitaru.managed";
/// The stack every server has, used when no other is active.
const DEFAULT_STACK: &str = "default";
/// Stacks per request when listing them all.
const PAGE_SIZE: i64 = 100;

/// A stack as listings show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct StackSummary {
    /// The stack's id.
    pub id: String,
    /// The stack's name.
    pub name: String,
    /// Whether executions run on it unless told otherwise.
    pub is_active: bool,
    /// Whether Kitaru created it (`kitaru stack create`), so that Kitaru may
    /// delete its components with it.
    pub is_managed: bool,
}

/// A stack made by `create`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct StackCreated {
    /// The new stack's id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Whether it is now the active stack.
    pub is_active: bool,
    /// The stack that was active before, when it was activated.
    pub previous_active_stack: Option<String>,
    /// The components made for it, as `<name> (<kind>)` (a local stack on
    /// the 0.21 line: orchestrator, artifact store and sandbox).
    pub components_created: Vec<String>,
    /// `local`, `kubernetes`, `vertex`, `sagemaker`, `azureml` or `modal`.
    pub stack_type: String,
    /// Remote stacks: the service connectors made for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_connectors_created: Option<Vec<String>>,
    /// Remote stacks: the cloud resources it uses (provider, region, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resources: Option<serde_json::Value>,
}

/// What `delete` removed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct StackDeleted {
    /// The deleted stack's name.
    pub deleted_stack: String,
    /// Components of a Kitaru-managed stack deleted with it (`recursive`),
    /// as `<name> (<kind>)`.
    pub components_deleted: Vec<String>,
    /// The stack made active because the deleted one was (`force`).
    pub new_active_stack: Option<String>,
    /// Whether unshared components were deleted too.
    pub recursive: bool,
}

/// `<name> (<kind>)`, as results list components.
fn component_label(name: &str, kind: &str) -> String {
    format!("{name} ({kind})")
}

/// Lists every stack of the server, oldest first, marking the active one.
pub async fn list(kitaru: &Kitaru) -> Result<Vec<StackSummary>, Error> {
    let stacks = all(kitaru).await?;
    let active_id = active(&stacks, kitaru.connection.stack.as_deref()).map(|stack| stack.id);
    Ok(stacks
        .iter()
        .map(|stack| StackSummary {
            id: stack.id.to_string(),
            name: stack.name.clone(),
            is_active: Some(stack.id) == active_id,
            is_managed: is_managed(stack),
        })
        .collect())
}

/// Every stack of the server, oldest first, with its components and labels
/// (one request per hundred stacks).
pub(crate) async fn all(kitaru: &Kitaru) -> Result<Vec<StackResponse>, Error> {
    kitaru
        .client
        .list_stacks()
        .hydrate(true)
        .sort_by("created")
        .size(PAGE_SIZE)
        .all()
        .await
        .context("Failed to list stacks")
}

/// The active stack among `stacks`: the one `configured` names (by id or
/// name), else the `default` stack.
pub(crate) fn active<'a>(
    stacks: &'a [StackResponse],
    configured: Option<&str>,
) -> Option<&'a StackResponse> {
    configured
        .and_then(|wanted| {
            stacks.iter().find(|stack| {
                stack.id.to_string().eq_ignore_ascii_case(wanted) || stack.name == wanted
            })
        })
        .or_else(|| stacks.iter().find(|stack| stack.name == DEFAULT_STACK))
}

/// The service connector `component` uses (its id and name). A stack read
/// in full holds its components in brief, without their connectors: such a
/// component is read in full first.
async fn component_connector(
    kitaru: &Kitaru,
    component: &kitaru_client::types::ComponentResponse,
) -> Result<Option<(uuid::Uuid, String)>, Error> {
    let connector = |component: &kitaru_client::types::ComponentResponse| {
        let connector = component.metadata.as_ref()?.connector.as_ref()?;
        Some((connector.id, connector.name.clone()))
    };
    if component.metadata.is_some() {
        return Ok(connector(component));
    }
    let full = kitaru
        .client
        .get_stack_component()
        .component_id(component.id)
        .hydrate(true)
        .send()
        .await
        .context(format!("Failed to load the component '{}'", component.name))?
        .into_inner();
    Ok(connector(&full))
}

/// Whether the stack carries Kitaru's `kitaru.managed: true` label.
fn is_managed(stack: &StackResponse) -> bool {
    labelled(stack, MANAGED_LABEL)
}

/// Whether the stack's components reuse service connectors the server
/// already had (a Modal stack's `kitaru.reused_service_connectors: true`).
fn reuses_connectors(stack: &StackResponse) -> bool {
    labelled(stack, remote::REUSED_LABEL)
}

/// Whether the stack carries label `key` set to true.
fn labelled(stack: &StackResponse, key: &str) -> bool {
    let label = stack
        .metadata
        .as_ref()
        .and_then(|metadata| metadata.labels.as_ref())
        .and_then(|labels| labels.get(key));
    let text = match label {
        Some(serde_json::Value::String(text)) => text.clone(),
        Some(serde_json::Value::Bool(flag)) => flag.to_string(),
        _ => return false,
    };
    text.trim().eq_ignore_ascii_case("true")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const DEFAULT_ID: &str = "9df65633-97e3-4a98-95e8-0258c6c621ea";
    const GPU_ID: &str = "0df51b18-1d08-4f33-8c37-f8ff2f1d9af6";

    fn stack(id: &str, name: &str, labels: serde_json::Value) -> StackResponse {
        serde_json::from_value(json!({
            "id": id, "name": name, "permission_denied": false,
            "metadata": { "components": {}, "secrets": [], "labels": labels },
        }))
        .unwrap()
    }

    fn stacks() -> Vec<StackResponse> {
        vec![
            stack(DEFAULT_ID, "default", json!({})),
            stack(GPU_ID, "gpu", json!({ "kitaru.managed": " TRUE " })),
        ]
    }

    #[test]
    fn the_configured_stack_is_active_by_id_or_name() {
        let stacks = stacks();
        assert_eq!(active(&stacks, Some(GPU_ID)).unwrap().name, "gpu");
        assert_eq!(
            active(&stacks, Some(&GPU_ID.to_uppercase())).unwrap().name,
            "gpu"
        );
        assert_eq!(active(&stacks, Some("gpu")).unwrap().name, "gpu");
    }

    #[test]
    fn without_a_usable_configured_stack_the_default_one_is_active() {
        let stacks = stacks();
        assert_eq!(active(&stacks, None).unwrap().name, "default");
        assert_eq!(
            active(&stacks, Some("11111111-1111-4111-8111-111111111111"))
                .unwrap()
                .name,
            "default"
        );
        assert!(active(&stacks[1..], None).is_none());
    }

    #[test]
    fn the_managed_label_is_read_loosely() {
        assert!(!is_managed(&stacks()[0]));
        assert!(is_managed(&stacks()[1]));
        assert!(is_managed(&stack(
            GPU_ID,
            "gpu",
            json!({ "kitaru.managed": true })
        )));
        assert!(!is_managed(&stack(
            GPU_ID,
            "gpu",
            json!({ "kitaru.managed": "yes" })
        )));
    }
}
