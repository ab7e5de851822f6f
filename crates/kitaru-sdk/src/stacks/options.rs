//! What a new stack may be given, and the checks that run before anything is
//! sent to the server (the `kitaru stack create` rules and texts).

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{Map, Value};

use super::remote::{RemoteKind, RemoteSpec};
use crate::Error;
use kitaru_client::connection::Secret;

/// The kinds of stack Kitaru creates, in the order messages list them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum StackType {
    /// Runs on this machine, artifacts in a local folder.
    Local,
    /// Kubernetes orchestrator on AWS or GCP.
    Kubernetes,
    /// Vertex AI pipelines on GCP.
    Vertex,
    /// SageMaker pipelines on AWS.
    Sagemaker,
    /// AzureML jobs on Azure.
    Azureml,
}

const ALL_TYPES: [StackType; 5] = [
    StackType::Local,
    StackType::Kubernetes,
    StackType::Vertex,
    StackType::Sagemaker,
    StackType::Azureml,
];
const REMOTE_TYPES: [StackType; 4] = [
    StackType::Kubernetes,
    StackType::Vertex,
    StackType::Sagemaker,
    StackType::Azureml,
];

impl StackType {
    /// The name as written in `stack_type`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::Kubernetes => "kubernetes",
            Self::Vertex => "vertex",
            Self::Sagemaker => "sagemaker",
            Self::Azureml => "azureml",
        }
    }

    /// Reads `stack_type` (trimmed, any case).
    pub fn parse(raw: &str) -> Result<Self, Error> {
        let wanted = raw.trim().to_lowercase();
        ALL_TYPES
            .into_iter()
            .find(|kind| kind.as_str() == wanted)
            .ok_or_else(|| {
                let names: Vec<String> = ALL_TYPES
                    .iter()
                    .map(|kind| format!("'{}'", kind.as_str()))
                    .collect();
                Error::argument(
                    "stack_type",
                    format!("Unsupported stack type: {raw}. Use {}.", either(&names)),
                )
            })
    }

    fn remote(self) -> Option<RemoteKind> {
        match self {
            Self::Local => None,
            Self::Kubernetes => Some(RemoteKind::Kubernetes),
            Self::Vertex => Some(RemoteKind::Vertex),
            Self::Sagemaker => Some(RemoteKind::Sagemaker),
            Self::Azureml => Some(RemoteKind::Azureml),
        }
    }

    /// `` `stack_type="kubernetes"` ``, as messages name a type.
    fn label(self) -> String {
        format!("`stack_type=\"{}\"`", self.as_str())
    }
}

/// The component kinds `extra` can configure, in message order.
pub(crate) const TARGETS: [&str; 3] = ["artifact_store", "container_registry", "orchestrator"];

/// A stack to create. [`StackCreate::local`] gives the defaults of
/// `kitaru stack create <name>`: a local stack, activated.
#[derive(Clone)]
pub struct StackCreate {
    /// The new stack's name (its components get the same name).
    pub name: String,
    /// Make it the active stack in the CLI config afterwards.
    pub activate: bool,
    /// `local`, `kubernetes`, `vertex`, `sagemaker` or `azureml`.
    pub stack_type: String,
    /// Remote: the artifact store URI (`s3://`, `gs://`, `az://`, `abfs://`, `abfss://`).
    pub artifact_store: Option<String>,
    /// Remote: the container registry URI.
    pub container_registry: Option<String>,
    /// Kubernetes: the cluster name.
    pub cluster: Option<String>,
    /// Remote: the cloud region.
    pub region: Option<String>,
    /// AzureML: the subscription id.
    pub subscription_id: Option<String>,
    /// AzureML: the resource group.
    pub resource_group: Option<String>,
    /// AzureML: the workspace.
    pub workspace: Option<String>,
    /// SageMaker: the execution role ARN.
    pub execution_role: Option<String>,
    /// Kubernetes: the namespace (default `default`).
    pub namespace: Option<String>,
    /// Remote: how the service connector authenticates, e.g.
    /// `aws-profile:<name>`; never shown in results, errors or logs.
    pub credentials: Option<Secret>,
    /// Component settings by target (`orchestrator`, `artifact_store`,
    /// `container_registry`), merged over Kitaru's defaults.
    pub extra: Option<Map<String, Value>>,
    /// Remote: submit runs without waiting for them (`synchronous: false`).
    pub async_mode: bool,
    /// Remote: verify the credentials before creating anything.
    pub verify: bool,
}

impl StackCreate {
    /// A local stack named `name`, activated once created.
    pub fn local(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            activate: true,
            stack_type: StackType::Local.as_str().to_owned(),
            artifact_store: None,
            container_registry: None,
            cluster: None,
            region: None,
            subscription_id: None,
            resource_group: None,
            workspace: None,
            execution_role: None,
            namespace: None,
            credentials: None,
            extra: None,
            async_mode: false,
            verify: true,
        }
    }

    /// The remote-only fields in message order, with whether each was given
    /// (`verify` counts when turned off).
    pub fn given_fields(&self) -> Vec<(&'static str, bool)> {
        vec![
            ("artifact_store", self.artifact_store.is_some()),
            ("container_registry", self.container_registry.is_some()),
            ("cluster", self.cluster.is_some()),
            ("region", self.region.is_some()),
            ("subscription_id", self.subscription_id.is_some()),
            ("resource_group", self.resource_group.is_some()),
            ("workspace", self.workspace.is_some()),
            ("execution_role", self.execution_role.is_some()),
            ("namespace", self.namespace.is_some()),
            ("credentials", self.credentials.is_some()),
            ("verify", !self.verify),
        ]
    }
}

impl fmt::Debug for StackCreate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StackCreate")
            .field("name", &self.name)
            .field("stack_type", &self.stack_type)
            .field("activate", &self.activate)
            .field(
                "credentials",
                &self.credentials.as_ref().map(|_| "<hidden>"),
            )
            .finish_non_exhaustive()
    }
}

/// A create request that passed every check made before contacting the
/// server.
#[derive(Debug)]
pub(crate) struct Checked {
    pub(crate) stack_type: StackType,
    /// Settings per target (`async_mode` is applied by the remote plan).
    pub(crate) extra: BTreeMap<String, Map<String, Value>>,
}

impl Checked {
    /// The settings for one target (empty when not given).
    pub(crate) fn settings(&self, target: &str) -> Map<String, Value> {
        self.extra.get(target).cloned().unwrap_or_default()
    }
}

/// The checks `kitaru stack create` makes, in its order: `extra`'s shape,
/// the stack type, `async_mode`, `extra`'s targets for the type, the fields
/// each type accepts and requires.
pub(crate) fn check(request: &StackCreate) -> Result<Checked, Error> {
    let extra = match &request.extra {
        Some(extra) => targets(extra)?,
        None => BTreeMap::new(),
    };
    let stack_type = StackType::parse(&request.stack_type)?;
    if request.async_mode && stack_type == StackType::Local {
        return Err(Error::argument(
            "async_mode",
            format!("`async_mode` requires {}.", type_labels(&REMOTE_TYPES)),
        ));
    }
    if stack_type == StackType::Local
        && extra
            .get("container_registry")
            .is_some_and(|settings| !settings.is_empty())
    {
        return Err(Error::argument(
            "extra",
            "`extra` container_registry.* is not valid for `stack_type=\"local\"` because \
             local stacks do not create a container registry component.",
        ));
    }
    fields_fit(stack_type, &request.given_fields())?;
    if let Some(kind) = stack_type.remote() {
        let missing: Vec<&str> = required(kind)
            .iter()
            .copied()
            .filter(|field| field_value(request, field).is_none())
            .collect();
        if !missing.is_empty() {
            return Err(Error::argument(
                missing[0],
                format!(
                    "{} requires: {}.",
                    stack_type.label(),
                    field_labels(&missing)
                ),
            ));
        }
    }
    Ok(Checked { stack_type, extra })
}

/// The remote spec of a checked request, or `None` for a local one.
pub(crate) fn remote_spec<'a>(
    request: &'a StackCreate,
    checked: &'a Checked,
    name: &'a str,
) -> Option<RemoteSpec<'a>> {
    let kind = checked.stack_type.remote()?;
    let text = |field| field_value(request, field);
    Some(RemoteSpec {
        kind,
        name,
        artifact_store: text("artifact_store").unwrap_or_default(),
        container_registry: text("container_registry").unwrap_or_default(),
        cluster: text("cluster"),
        region: text("region"),
        subscription_id: text("subscription_id"),
        resource_group: text("resource_group"),
        workspace: text("workspace"),
        execution_role: text("execution_role"),
        namespace: text("namespace").unwrap_or("default"),
        credentials: request
            .credentials
            .as_ref()
            .map(|secret| secret.expose().trim())
            .filter(|text| !text.is_empty()),
        extra: &checked.extra,
        async_mode: request.async_mode,
    })
}

/// A text field, trimmed; blank counts as not given.
fn field_value<'a>(request: &'a StackCreate, field: &str) -> Option<&'a str> {
    let value = match field {
        "artifact_store" => &request.artifact_store,
        "container_registry" => &request.container_registry,
        "cluster" => &request.cluster,
        "region" => &request.region,
        "subscription_id" => &request.subscription_id,
        "resource_group" => &request.resource_group,
        "workspace" => &request.workspace,
        "execution_role" => &request.execution_role,
        "namespace" => &request.namespace,
        _ => return None,
    };
    value
        .as_deref()
        .map(str::trim)
        .filter(|text| !text.is_empty())
}

/// The fields each remote type needs.
fn required(kind: RemoteKind) -> &'static [&'static str] {
    match kind {
        RemoteKind::Kubernetes => &["artifact_store", "container_registry", "cluster", "region"],
        RemoteKind::Vertex => &["artifact_store", "container_registry", "region"],
        RemoteKind::Sagemaker => &[
            "artifact_store",
            "container_registry",
            "region",
            "execution_role",
        ],
        RemoteKind::Azureml => &[
            "artifact_store",
            "container_registry",
            "subscription_id",
            "resource_group",
            "workspace",
        ],
    }
}

/// The stack types a field may be given for.
fn allowed_types(field: &str) -> &'static [StackType] {
    match field {
        "cluster" | "namespace" => &[StackType::Kubernetes],
        "subscription_id" | "resource_group" | "workspace" => &[StackType::Azureml],
        "execution_role" => &[StackType::Sagemaker],
        _ => &REMOTE_TYPES,
    }
}

/// Refuses fields given for a type that does not take them, reporting the
/// group allowed on the fewest types first.
fn fields_fit(stack_type: StackType, given: &[(&'static str, bool)]) -> Result<(), Error> {
    let mut misfits: Vec<(&'static [StackType], Vec<&str>)> = Vec::new();
    for &(field, is_given) in given {
        let allowed = allowed_types(field);
        if !is_given || allowed.contains(&stack_type) {
            continue;
        }
        match misfits.iter_mut().find(|(group, _)| *group == allowed) {
            Some((_, fields)) => fields.push(field),
            None => misfits.push((allowed, vec![field])),
        }
    }
    // Fewest types first, then by the types' names (as the CLI orders them).
    let names = |types: &[StackType]| types.iter().map(|kind| kind.as_str()).collect::<Vec<_>>();
    misfits.sort_by(|(a, _), (b, _)| a.len().cmp(&b.len()).then_with(|| names(a).cmp(&names(b))));
    let Some((allowed, fields)) = misfits.first() else {
        return Ok(());
    };
    let group = match allowed {
        [single] => format!(
            "{}-only options",
            match single {
                StackType::Kubernetes => "Kubernetes",
                StackType::Vertex => "Vertex",
                StackType::Sagemaker => "SageMaker",
                StackType::Azureml => "AzureML",
                StackType::Local => "Local",
            }
        ),
        _ if *allowed == REMOTE_TYPES => "Remote stack options".to_owned(),
        _ => "Stack-specific options".to_owned(),
    };
    Err(Error::argument(
        fields[0],
        format!(
            "{group} require {}: {}",
            type_labels(allowed),
            field_labels(fields)
        ),
    ))
}

/// Checks `extra`: known targets, each an object.
fn targets(extra: &Map<String, Value>) -> Result<BTreeMap<String, Map<String, Value>>, Error> {
    let mut checked = BTreeMap::new();
    for (target, settings) in extra {
        if !TARGETS.contains(&target.as_str()) {
            return Err(Error::argument(
                "extra",
                format!(
                    "Unsupported `extra` target '{target}'. Use one of: {}.",
                    TARGETS.join(", ")
                ),
            ));
        }
        let Value::Object(settings) = settings else {
            return Err(Error::argument(
                "extra",
                format!("`extra` {target}.* must be an object."),
            ));
        };
        checked.insert(target.clone(), settings.clone());
    }
    Ok(checked)
}

/// `` `a`, `b` `` for field names.
pub(crate) fn field_labels(fields: &[&str]) -> String {
    fields
        .iter()
        .map(|field| format!("`{field}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn type_labels(types: &[StackType]) -> String {
    either(&types.iter().map(|kind| kind.label()).collect::<Vec<_>>())
}

/// `a`, `a or b`, `a, b, or c`.
fn either(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [first, second] => format!("{first} or {second}"),
        [leading @ .., last] => format!("{}, or {last}", leading.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn message(result: Result<Checked, Error>) -> (String, String) {
        match result {
            Err(Error::InvalidArgument { argument, reason }) => (argument, reason),
            other => panic!("expected an argument error, got {other:?}"),
        }
    }

    fn remote(stack_type: &str) -> StackCreate {
        StackCreate {
            stack_type: stack_type.to_owned(),
            ..StackCreate::local("s")
        }
    }

    #[test]
    fn stack_types_are_read_loosely_and_unknown_ones_listed() {
        assert_eq!(
            StackType::parse(" KuberNetes ").unwrap(),
            StackType::Kubernetes
        );
        let (argument, reason) = message(check(&remote("ecs")));
        assert_eq!(argument, "stack_type");
        assert_eq!(
            reason,
            "Unsupported stack type: ecs. Use 'local', 'kubernetes', 'vertex', 'sagemaker', or 'azureml'."
        );
    }

    #[test]
    fn extra_shape_is_checked_before_the_stack_type() {
        let request = StackCreate {
            extra: Some(json!({"orchestratr": {}}).as_object().unwrap().clone()),
            ..remote("ecs")
        };
        assert_eq!(
            message(check(&request)).1,
            "Unsupported `extra` target 'orchestratr'. Use one of: artifact_store, container_registry, orchestrator."
        );
        let request = StackCreate {
            extra: Some(json!({"orchestrator": 3}).as_object().unwrap().clone()),
            ..StackCreate::local("s")
        };
        assert_eq!(
            message(check(&request)).1,
            "`extra` orchestrator.* must be an object."
        );
    }

    #[test]
    fn async_mode_and_a_registry_need_a_remote_type() {
        let request = StackCreate {
            async_mode: true,
            ..StackCreate::local("s")
        };
        assert_eq!(
            message(check(&request)).1,
            "`async_mode` requires `stack_type=\"kubernetes\"`, `stack_type=\"vertex\"`, \
             `stack_type=\"sagemaker\"`, or `stack_type=\"azureml\"`."
        );
        let request = StackCreate {
            extra: Some(
                json!({"container_registry": {"uri": "x"}})
                    .as_object()
                    .unwrap()
                    .clone(),
            ),
            ..StackCreate::local("s")
        };
        assert!(
            message(check(&request))
                .1
                .contains("local stacks do not create a container registry")
        );
        let empty = StackCreate {
            extra: Some(
                json!({"container_registry": {}})
                    .as_object()
                    .unwrap()
                    .clone(),
            ),
            ..StackCreate::local("s")
        };
        assert!(check(&empty).is_ok());
    }

    #[test]
    fn misplaced_fields_name_the_narrowest_group() {
        let request = StackCreate {
            region: Some("eu".into()),
            cluster: Some("c".into()),
            namespace: Some("n".into()),
            verify: false,
            ..StackCreate::local("s")
        };
        let (argument, reason) = message(check(&request));
        assert_eq!(argument, "cluster");
        assert_eq!(
            reason,
            "Kubernetes-only options require `stack_type=\"kubernetes\"`: `cluster`, `namespace`"
        );
        let request = StackCreate {
            region: Some("eu".into()),
            verify: false,
            ..StackCreate::local("s")
        };
        assert_eq!(
            message(check(&request)).1,
            "Remote stack options require `stack_type=\"kubernetes\"`, `stack_type=\"vertex\"`, \
             `stack_type=\"sagemaker\"`, or `stack_type=\"azureml\"`: `region`, `verify`"
        );
        let request = StackCreate {
            cluster: Some("c".into()),
            workspace: Some("w".into()),
            execution_role: Some("r".into()),
            ..remote("vertex")
        };
        assert_eq!(
            message(check(&request)).1,
            "AzureML-only options require `stack_type=\"azureml\"`: `workspace`"
        );
    }

    #[test]
    fn remote_types_list_what_they_miss_blank_counting_as_missing() {
        let request = StackCreate {
            artifact_store: Some("s3://b".into()),
            container_registry: Some("  ".into()),
            ..remote("kubernetes")
        };
        let (argument, reason) = message(check(&request));
        assert_eq!(argument, "container_registry");
        assert_eq!(
            reason,
            "`stack_type=\"kubernetes\"` requires: `container_registry`, `cluster`, `region`."
        );
    }

    #[test]
    fn debug_output_hides_credentials() {
        let request = StackCreate {
            credentials: Some(Secret::new("aws-access-keys:AKIA:very-secret")),
            ..remote("kubernetes")
        };
        assert!(!format!("{request:?}").contains("very-secret"));
    }
}
