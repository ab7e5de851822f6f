//! `kitaru stack create`: a stack of fresh components named after it,
//! labelled as Kitaru's, optionally made the active one.

use indexmap::IndexMap;
use serde_json::{Map, Value};

use super::activate;
use super::flavor::FlavorSchema;
use super::modal;
use super::options::{self, StackCreate, StackType};
use super::remote::{self, Provider, RemotePlan};
use super::{MANAGED_LABEL, StackCreated, active, all, component_connector, component_label};
use crate::error::ApiContext;
use crate::server::ServerLine;
use crate::{Connector, Error, ErrorKind, Kitaru};
use kitaru_client::types;

/// Creates the stack `request` describes and, if asked, makes it the
/// active one (where the CLI keeps it: the repository's config, else the
/// global one).
///
/// A local stack gets a new local orchestrator and a new local artifact
/// store, both named after it; existing components are never reused, and
/// what was created is removed again if a later step fails. A remote stack
/// is created in one request with its components and service connector;
/// the server's integration for the cloud must be installed.
pub async fn create(connector: &Connector, request: &StackCreate) -> Result<StackCreated, Error> {
    let kitaru = connector.get().await?;
    let server = kitaru.server().await?;
    let checked = options::check(request, server)?;
    let name = request.name.trim();
    if name.is_empty() {
        return Err(Error::argument("name", "Stack name or ID cannot be empty."));
    }
    // Where the server has sandbox components, local stacks get one.
    let sandboxes = server.line >= ServerLine::Kitaru021;
    let stacks = all(&kitaru).await?;
    if stacks.iter().any(|stack| stack.name == name) {
        return Err(Error::State(name_taken(name)));
    }
    let previous_active_stack = request
        .activate
        .then(|| {
            active(&stacks, kitaru.connection.stack.as_deref()).map(|stack| stack.name.clone())
        })
        .flatten();
    let mut created = match options::remote_spec(request, &checked, name) {
        None => create_local(&kitaru, name, &checked, sandboxes).await?,
        Some(spec) => {
            let reused = match remote::reuse_targets(&spec)? {
                Some((provider, store, registry)) => {
                    modal::existing_connectors(
                        &kitaru,
                        provider,
                        &store,
                        spec.container_registry,
                        &registry,
                    )
                    .await?
                }
                None => None,
            };
            let plan = remote::plan_reusing(&spec, reused.as_ref())?;
            create_remote(&kitaru, name, checked.stack_type, request.verify, plan).await?
        }
    };
    created.previous_active_stack = previous_active_stack;
    if request.activate {
        let file = activate::config_file(&kitaru.connection);
        activate::record(&file, &created.id).map_err(|error| {
            Error::State(format!(
                "Created stack '{name}' but failed to activate it. The stack was created \
                 successfully and remains available; run 'kitaru stack use {name}' to activate \
                 it manually. Original error: {error}"
            ))
        })?;
        created.is_active = activate::file_decides(&kitaru.connection);
        connector.reset().await;
    }
    Ok(created)
}

/// The refusal of a name another stack has.
fn name_taken(name: &str) -> String {
    format!(
        "A stack named \"{name}\" already exists. To activate it, run 'kitaru stack use {name}'."
    )
}

/// The local components (orchestrator, artifact store and, where the
/// server has them, a sandbox), then the stack; on a failure, the
/// components already made are deleted again.
async fn create_local(
    kitaru: &Kitaru,
    name: &str,
    checked: &options::Checked,
    sandbox: bool,
) -> Result<StackCreated, Error> {
    const FLAVOR: &str = "local";
    let mut targets = vec![("orchestrator", FLAVOR), ("artifact_store", FLAVOR)];
    if sandbox {
        let flavor = checked.sandbox.as_deref().unwrap_or(options::LOCAL_SANDBOX);
        targets.push(("sandbox", flavor));
    }
    for &(target, flavor) in &targets {
        if let Some(schema) = FlavorSchema::fetch(kitaru, target, flavor).await? {
            schema.check(target, flavor, &checked.settings(target))?;
        }
    }
    let mut made: Vec<uuid::Uuid> = Vec::new();
    for &(target, flavor) in &targets {
        match kitaru
            .client
            .create_stack_component()
            .body_map(|component| {
                component
                    .name(name)
                    .type_(target)
                    .flavor(flavor)
                    .configuration(checked.settings(target))
            })
            .send()
            .await
        {
            Ok(component) => made.push(component.into_inner().id),
            Err(error) => {
                let error = Error::api(format!("Failed to create the {target} '{name}'"), error);
                let message = if error.kind() == ErrorKind::Conflict {
                    format!(
                        "Cannot create stack '{name}' because a {target} named '{name}' already \
                         exists. Kitaru always creates fresh stack components and never reuses \
                         existing ones."
                    )
                } else {
                    error.to_string()
                };
                return Err(undo(kitaru, &made, message, error.kind()).await);
            }
        }
    }
    let components: IndexMap<String, Vec<types::StackRequestComponentsValueItem>> = targets
        .iter()
        .zip(&made)
        .map(|((target, _), id)| ((*target).to_owned(), vec![(*id).into()]))
        .collect();
    let labels = Map::from_iter([(MANAGED_LABEL.to_owned(), Value::from("true"))]);
    let stack = match kitaru
        .client
        .create_stack()
        .body_map(|stack| {
            stack
                .name(name)
                .description("")
                .components(components)
                .labels(Some(labels))
                .service_connectors(Vec::new())
        })
        .send()
        .await
    {
        Ok(stack) => stack.into_inner(),
        Err(error) => {
            let error = Error::api(format!("Failed to create stack '{name}'"), error);
            let message = if error.kind() == ErrorKind::Conflict {
                name_taken(name)
            } else {
                error.to_string()
            };
            return Err(undo(kitaru, &made, message, error.kind()).await);
        }
    };
    Ok(StackCreated {
        id: stack.id.to_string(),
        name: stack.name,
        is_active: false,
        previous_active_stack: None,
        components_created: targets
            .iter()
            .map(|(target, _)| component_label(name, target))
            .collect(),
        stack_type: StackType::Local.as_str().to_owned(),
        service_connectors_created: None,
        resources: None,
    })
}

/// Deletes the components made so far, newest first, and returns the
/// failure, saying so if the clean-up failed too.
async fn undo(kitaru: &Kitaru, made: &[uuid::Uuid], message: String, kind: ErrorKind) -> Error {
    let mut failures = Vec::new();
    for id in made.iter().rev() {
        if let Err(error) = kitaru
            .client
            .deregister_stack_component()
            .component_id(*id)
            .send()
            .await
        {
            failures.push(format!("{id}: {}", Error::api("delete", error)));
        }
    }
    let message = if failures.is_empty() {
        message
    } else {
        format!("{message} Cleanup also failed for: {}", failures.join("; "))
    };
    match kind {
        ErrorKind::Conflict | ErrorKind::State => Error::State(message),
        _ => Error::Unexpected(message),
    }
}

/// A remote stack in one request, after the flavors' settings and the
/// service connector were checked.
async fn create_remote(
    kitaru: &Kitaru,
    name: &str,
    stack_type: StackType,
    verify: bool,
    plan: RemotePlan,
) -> Result<StackCreated, Error> {
    let label = stack_type.display();
    if let Some(Value::Object(components)) = plan.body.get("components") {
        for (target, list) in components {
            for component in list.as_array().into_iter().flatten() {
                let Some(flavor) = component.get("flavor").and_then(Value::as_str) else {
                    continue;
                };
                let settings = component
                    .get("configuration")
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default();
                if let Some(schema) = FlavorSchema::fetch(kitaru, target, flavor).await? {
                    schema.check(target, flavor, &settings)?;
                }
            }
        }
    }
    prepare_connector(kitaru, name, verify, &plan)
        .await
        .map_err(|error| {
            let message = format!("Failed to prepare {label} stack '{name}': {error}");
            match error {
                Error::State(_) => Error::State(message),
                _ => Error::Unexpected(message),
            }
        })?;
    // The plan is the body the reference sends (its `StackRequest` dumped
    // as JSON, nulls included), which `remote`'s tests compare field by
    // field with the reference's; it is typed here, not built twice.
    let request: types::StackRequest = from_json(plan.body.clone())?;
    let stack = kitaru
        .client
        .create_stack()
        .body(request)
        .send()
        .await
        .map_err(|error| {
            Error::Unexpected(format!(
                "Failed to create {label} stack '{name}'. ZenML rolled back any partially \
                 created components and service connectors. Original error: {}",
                detail(&Error::api("create", error))
            ))
        })?
        .into_inner();
    let stack = kitaru
        .client
        .get_stack()
        .stack_id(stack.id)
        .hydrate(true)
        .send()
        .await
        .context(format!("Failed to load the new stack '{name}'"))?
        .into_inner();
    let mut components_created = Vec::new();
    let mut connectors = Vec::new();
    let has_connectors = plan
        .body
        .get("service_connectors")
        .and_then(Value::as_array)
        .is_some_and(|connectors| !connectors.is_empty());
    if let Some(metadata) = &stack.metadata {
        for target in [
            "orchestrator",
            "artifact_store",
            "container_registry",
            "image_builder",
            "sandbox",
        ] {
            for component in metadata.components.get(target).into_iter().flatten() {
                components_created.push(component_label(&component.name, target));
                // Best effort: the stack is made whatever this read says.
                let connector = if has_connectors {
                    component_connector(kitaru, component).await.ok().flatten()
                } else {
                    None
                };
                if let Some((_, connector)) = connector
                    && !connectors.contains(&connector)
                {
                    connectors.push(connector);
                }
            }
        }
    }
    Ok(StackCreated {
        id: stack.id.to_string(),
        name: stack.name,
        is_active: false,
        previous_active_stack: None,
        components_created,
        stack_type: stack_type.as_str().to_owned(),
        service_connectors_created: Some(connectors),
        resources: Some(plan.resources),
    })
}

/// Checks that the server knows the connector's type and, with `verify`,
/// that its credentials work (`POST /service_connectors/verify`).
async fn prepare_connector(
    kitaru: &Kitaru,
    name: &str,
    verify: bool,
    plan: &RemotePlan,
) -> Result<(), Error> {
    let Some(connector) = &plan.connector else {
        return Ok(());
    };
    let connector_type = connector
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let known = kitaru
        .client
        .get_service_connector_type()
        .connector_type(connector_type)
        .send()
        .await
        .map_err(|error| Error::api("the service connector type could not be looked up", error));
    match known {
        Ok(_) => {}
        Err(Error::Api {
            status: Some(404),
            detail,
            ..
        }) => {
            return Err(Error::State(format!(
                "the server has no '{connector_type}' service connector type; install ZenML's \
                 {connector_type} integration where the server runs ({detail})"
            )));
        }
        Err(error) => return Err(error),
    }
    if !verify {
        return Ok(());
    }
    let resource_type = match plan.provider {
        Provider::Aws => "aws-generic",
        Provider::Gcp => "gcp-generic",
        Provider::Azure => "azure-generic",
    };
    let auth_method = connector
        .get("auth_method")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let configuration = connector
        .get("configuration")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let answer = kitaru
        .client
        .validate_and_verify_service_connector_config()
        .list_resources(false)
        .body_map(|connector| {
            connector
                .name(name)
                .connector_type(types::ServiceConnectorRequestConnectorType::String(
                    connector_type.to_owned(),
                ))
                .resource_types(vec![resource_type.to_owned()])
                .auth_method(auth_method)
                .configuration(configuration)
        })
        .send()
        .await
        .context("the credentials could not be verified")?
        .into_inner();
    match answer.error {
        Some(error) => Err(Error::State(error)),
        None => Ok(()),
    }
}

/// The reason in an error, without the context the SDK put in front.
fn detail(error: &Error) -> String {
    match error {
        Error::Api {
            context, detail, ..
        } if context == "create" => detail.clone(),
        other => other.to_string(),
    }
}

/// A typed request from JSON. The error names no value: a connector's
/// configuration holds credentials.
fn from_json<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, Error> {
    serde_json::from_value(value).map_err(|error| {
        Error::Unexpected(format!(
            "cannot build the server request ({:?} error); this is a bug in the Kitaru SDK \
             for Rust",
            error.classify()
        ))
    })
}
