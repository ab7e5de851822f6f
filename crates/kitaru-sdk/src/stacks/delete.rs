//! `kitaru stack delete`: the stack, and with `recursive` the components
//! (and service connectors) no other stack uses.

use kitaru_client::CliConfigFile;
use kitaru_client::types::StackResponse;

use super::activate;
use super::{
    DEFAULT_STACK, StackDeleted, active, all, component_connector, component_label, is_managed,
    reuses_connectors,
};
use crate::error::ApiContext;
use crate::server::ServerLine;
use crate::status::config_files::RawConfig;
use crate::{Connector, Error, Kitaru};

/// The component kinds Kitaru creates, whose deletion it reports, in the
/// order it reports them: kitaru 0.21 adds Modal's image builder and the
/// sandbox.
fn kitaru_kinds(line: ServerLine) -> &'static [&'static str] {
    if line >= ServerLine::Kitaru021 {
        &[
            "orchestrator",
            "artifact_store",
            "container_registry",
            "image_builder",
            "sandbox",
        ]
    } else {
        &["orchestrator", "artifact_store", "container_registry"]
    }
}

/// Deletes the stack named `name_or_id` (a name, an id or a unique id
/// prefix).
///
/// The active stack is refused unless `force`, which first makes the
/// `default` stack active. With `recursive`, the stack's components that no
/// other stack uses are deleted too (reported for Kitaru-managed stacks),
/// and so are the service connectors of a managed stack that no remaining
/// stack uses (best effort) — unless the stack reused connectors the server
/// already had (a Modal stack made without cloud inputs): those stay.
pub async fn delete(
    connector: &Connector,
    name_or_id: &str,
    recursive: bool,
    force: bool,
) -> Result<StackDeleted, Error> {
    let selector = name_or_id.trim();
    if selector.is_empty() {
        return Err(Error::argument("name", "Stack name or ID cannot be empty."));
    }
    let kitaru = connector.get().await?;
    let stacks = all(&kitaru).await?;
    let target = find(&stacks, selector)?;
    let active_stack = active(&stacks, kitaru.connection.stack.as_deref());
    let is_active = active_stack.is_some_and(|stack| stack.id == target.id);
    if is_active && !force {
        return Err(Error::State(
            "Cannot delete the active stack. Use '--force' to delete and fall back to the \
             default stack, or switch first with 'kitaru stack use <other>'."
                .to_owned(),
        ));
    }
    let free = if recursive {
        unshared(&kitaru, target).await?
    } else {
        Vec::new()
    };
    let managed = recursive && is_managed(target);
    // Connectors a Modal stack found on the server were not its own; the
    // others are read before their components go.
    let own_connectors = if managed && !reuses_connectors(target) {
        linked_connectors(&kitaru, target).await
    } else {
        Vec::new()
    };
    let components_deleted = if managed {
        kitaru_kinds(kitaru.server().await?.line)
            .iter()
            .flat_map(|kind| free.iter().filter(move |component| component.kind == *kind))
            .map(|component| component_label(&component.name, &component.kind))
            .collect()
    } else {
        Vec::new()
    };

    if let Some(file) = kitaru
        .connection
        .repository_root
        .as_ref()
        .map(|_| CliConfigFile::global(&kitaru.connection.config_dir))
    {
        // With a repository, the global config may still name the stack:
        // deleting it would leave the CLI pointing at nothing.
        let (global, _) = RawConfig::read(&file);
        if global
            .id("active_stack_id")
            .is_some_and(|id| id.eq_ignore_ascii_case(&target.id.to_string()))
        {
            return Err(Error::State(format!(
                "Failed to delete stack '{selector}': '{}' is the active stack of the global \
                 configuration ({}); activate another stack there first (outside this \
                 repository: 'kitaru stack use <other>').",
                target.name,
                file.path().display()
            )));
        }
    }

    let mut new_active_stack = None;
    if is_active {
        let default = stacks
            .iter()
            .find(|stack| stack.name == DEFAULT_STACK)
            .ok_or_else(|| no_default(selector, "the server has no 'default' stack"))?;
        let file = activate::config_file(&kitaru.connection);
        activate::record(&file, &default.id.to_string())
            .map_err(|error| no_default(selector, &error.to_string()))?;
        connector.reset().await;
        new_active_stack = Some(default.name.clone());
    }
    kitaru
        .client
        .delete_stack()
        .stack_id(target.id)
        .send()
        .await
        .context(format!("Failed to delete stack '{selector}'"))?;
    for component in &free {
        kitaru
            .client
            .deregister_stack_component()
            .component_id(component.id)
            .send()
            .await
            .context(format!(
                "Deleted stack '{selector}' but not its {} '{}'",
                component.kind, component.name
            ))?;
    }
    delete_unused_connectors(&kitaru, own_connectors).await;
    Ok(StackDeleted {
        deleted_stack: target.name.clone(),
        components_deleted,
        new_active_stack,
        recursive,
    })
}

fn no_default(selector: &str, why: &str) -> Error {
    Error::State(format!(
        "Failed to activate the default stack before deleting the active stack '{selector}': {why}"
    ))
}

/// The stack `selector` names: by id, else by name, else by a unique id
/// prefix.
fn find<'a>(stacks: &'a [StackResponse], selector: &str) -> Result<&'a StackResponse, Error> {
    let by_id = stacks
        .iter()
        .find(|stack| stack.id.to_string().eq_ignore_ascii_case(selector));
    let by_name = || stacks.iter().find(|stack| stack.name == selector);
    if let Some(stack) = by_id.or_else(by_name) {
        return Ok(stack);
    }
    let prefixed: Vec<&StackResponse> = stacks
        .iter()
        .filter(|stack| stack.id.to_string().starts_with(&selector.to_lowercase()))
        .collect();
    match prefixed.as_slice() {
        [one] => Ok(one),
        [] => Err(Error::NotFound(format!("Stack '{selector}' not found."))),
        many => Err(Error::argument(
            "name",
            format!(
                "'{selector}' is the beginning of {} stack ids; give more of the id or the name.",
                many.len()
            ),
        )),
    }
}

/// A component of the stack that no other stack uses.
struct Component {
    id: uuid::Uuid,
    name: String,
    kind: String,
}

/// The stack's components no other stack uses (one request per component).
async fn unshared(kitaru: &Kitaru, stack: &StackResponse) -> Result<Vec<Component>, Error> {
    let mut free = Vec::new();
    let Some(metadata) = &stack.metadata else {
        return Ok(free);
    };
    for (kind, components) in &metadata.components {
        for component in components {
            let users = kitaru
                .client
                .list_stacks()
                .component_id(component.id.to_string())
                .page(1)
                .size(2)
                .send()
                .await
                .context(format!(
                    "Failed to check which stacks use the {kind} '{}'",
                    component.name
                ))?
                .into_inner();
            if users.items.len() == 1 && users.items[0].id == stack.id {
                free.push(Component {
                    id: component.id,
                    name: component.name.clone(),
                    kind: kind.clone(),
                });
            }
        }
    }
    Ok(free)
}

/// The service connectors `stack`'s components use (best effort: a
/// component that cannot be read names none).
async fn linked_connectors(kitaru: &Kitaru, stack: &StackResponse) -> Vec<uuid::Uuid> {
    let mut linked = Vec::new();
    let components = stack
        .metadata
        .iter()
        .flat_map(|metadata| metadata.components.values().flatten());
    for component in components {
        if let Ok(Some((id, _))) = component_connector(kitaru, component).await
            && !linked.contains(&id)
        {
            linked.push(id);
        }
    }
    linked
}

/// Deletes the service connectors `candidates` (those of a deleted stack)
/// that no component uses any longer; failures are ignored (the stack is
/// gone already, and a connector left behind harms nothing).
async fn delete_unused_connectors(kitaru: &Kitaru, candidates: Vec<uuid::Uuid>) {
    for id in candidates {
        let users = kitaru
            .client
            .list_stack_components()
            .connector_id(id.to_string())
            .size(1)
            .send()
            .await;
        if users.is_ok_and(|page| page.into_inner().items.is_empty()) {
            let _ = kitaru
                .client
                .delete_service_connector()
                .connector_id(id)
                .send()
                .await;
        }
    }
}
