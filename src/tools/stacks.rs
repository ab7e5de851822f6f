//! The stack tools.

use kitaru_sdk::api::connection::Secret;
use kitaru_sdk::stacks::{self, StackCreate, StackCreated, StackDeleted, StackSummary, StackType};
use kitaru_sdk::{Connector, Kitaru};
use serde::Serialize;

use super::args::{ManageStackArgs, StacksListArgs};
use super::{ToolContext, ToolError};

/// `kitaru_stacks_list`.
pub async fn list(
    kitaru: &Kitaru,
    _: StacksListArgs,
    _: &ToolContext,
) -> Result<Vec<StackSummary>, ToolError> {
    Ok(stacks::list(kitaru).await?)
}

/// What `manage_stack` did: the created stack, or what was deleted.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum StackChange {
    /// `action: "create"`.
    Created(StackCreated),
    /// `action: "delete"`.
    Deleted(StackDeleted),
}

/// An object that is one of the two results (MCP clients need an object
/// schema at the top: a bare `anyOf` would be dropped from `tools/list`).
impl schemars::JsonSchema for StackChange {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "StackChange".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let created = generator.subschema_for::<StackCreated>();
        let deleted = generator.subschema_for::<StackDeleted>();
        schemars::json_schema!({
            "description": "The created stack (action create) or what was deleted (action delete).",
            "type": "object",
            "anyOf": [created, deleted],
        })
    }
}

/// `manage_stack`: the options of one action are refused with the other.
pub async fn manage(
    connector: &Connector,
    args: ManageStackArgs,
    _: &ToolContext,
) -> Result<StackChange, ToolError> {
    let (action, recursive, force) = (args.action.clone(), args.recursive, args.force);
    let request = StackCreate {
        name: args.name,
        activate: args.activate,
        stack_type: args.stack_type,
        artifact_store: args.artifact_store,
        container_registry: args.container_registry,
        cluster: args.cluster,
        region: args.region,
        subscription_id: args.subscription_id,
        resource_group: args.resource_group,
        workspace: args.workspace,
        execution_role: args.execution_role,
        namespace: args.namespace,
        credentials: args.credentials.map(Secret::new),
        sandbox: args.sandbox,
        extra: args.extra,
        async_mode: args.async_mode,
        verify: args.verify,
    };
    match action.as_str() {
        "create" => {
            if recursive || force {
                return Err(ToolError::argument(
                    if recursive { "recursive" } else { "force" },
                    "`recursive` and `force` are only valid when action=\"delete\".",
                ));
            }
            Ok(StackChange::Created(
                stacks::create(connector, &request).await?,
            ))
        }
        "delete" => {
            if !request.activate {
                return Err(ToolError::argument(
                    "activate",
                    "`activate` is only valid when action=\"create\".",
                ));
            }
            let server = connector.get().await?.server().await?.clone();
            let stack_type = StackType::parse(&request.stack_type, &server)?;
            // The create options given, in the CLI's order: the type, the
            // remote fields (`verify` when off), `extra`, `async_mode`.
            let create_only: Vec<&str> =
                std::iter::once(("stack_type", stack_type != StackType::Local))
                    .chain(request.given_fields())
                    .chain([
                        ("extra", request.extra.is_some()),
                        ("async_mode", request.async_mode),
                    ])
                    .filter_map(|(field, given)| given.then_some(field))
                    .collect();
            if let Some(first) = create_only.first() {
                let fields: Vec<String> = create_only
                    .iter()
                    .map(|field| format!("`{field}`"))
                    .collect();
                return Err(ToolError::argument(
                    first,
                    format!(
                        "Stack create options are only valid when action=\"create\": {}",
                        fields.join(", ")
                    ),
                ));
            }
            Ok(StackChange::Deleted(
                stacks::delete(connector, &request.name, recursive, force).await?,
            ))
        }
        _ => Err(ToolError::argument(
            "action",
            "`action` must be \"create\" or \"delete\".",
        )),
    }
}
