//! What a new stack may be given, and the checks that run before anything is
//! sent to the server (the `kitaru stack create` rules and texts).

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{Map, Value};

use super::remote::{RemoteKind, RemoteSpec};
use crate::Error;
use crate::server::{ServerFacts, ServerLine};
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
    /// Modal orchestrator, artifacts and images on AWS, GCP or Azure
    /// (kitaru 0.21).
    Modal,
}

const ALL_TYPES: [StackType; 6] = [
    StackType::Local,
    StackType::Kubernetes,
    StackType::Vertex,
    StackType::Sagemaker,
    StackType::Azureml,
    StackType::Modal,
];
/// The types with a service connector of their own.
const CLOUD_TYPES: [StackType; 4] = [
    StackType::Kubernetes,
    StackType::Vertex,
    StackType::Sagemaker,
    StackType::Azureml,
];
const REMOTE_TYPES: [StackType; 5] = [
    StackType::Kubernetes,
    StackType::Vertex,
    StackType::Sagemaker,
    StackType::Azureml,
    StackType::Modal,
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
            Self::Modal => "modal",
        }
    }

    /// The name messages give the type (`Kubernetes`, `SageMaker`, …).
    pub(crate) fn display(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::Kubernetes => "Kubernetes",
            Self::Vertex => "Vertex",
            Self::Sagemaker => "SageMaker",
            Self::Azureml => "AzureML",
            Self::Modal => "Modal",
        }
    }

    /// Reads `stack_type` (trimmed, any case) as the Kitaru of `server`'s
    /// line knows it: `modal` needs the 0.21 line.
    pub fn parse(raw: &str, server: &ServerFacts) -> Result<Self, Error> {
        let wanted = raw.trim().to_lowercase();
        let offered = types(server.line);
        if let Some(kind) = offered.iter().find(|kind| kind.as_str() == wanted) {
            return Ok(*kind);
        }
        let names: Vec<String> = offered
            .iter()
            .map(|kind| format!("'{}'", kind.as_str()))
            .collect();
        let mut reason = format!("Unsupported stack type: {raw}. Use {}.", either(&names));
        if let Some(newer) = ALL_TYPES.iter().find(|kind| kind.as_str() == wanted) {
            reason.push(' ');
            reason.push_str(&needs_sandboxes(&newer.label(), server));
        }
        Err(Error::argument("stack_type", reason))
    }

    fn remote(self) -> Option<RemoteKind> {
        match self {
            Self::Local => None,
            Self::Modal => Some(RemoteKind::Modal),
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

/// The stack types the Kitaru of `line` creates.
fn types(line: ServerLine) -> &'static [StackType] {
    if line >= ServerLine::Kitaru021 {
        &ALL_TYPES
    } else {
        &ALL_TYPES[..5]
    }
}

/// The remote types of `line` (those `async_mode` needs).
fn remote_types(line: ServerLine) -> &'static [StackType] {
    if line >= ServerLine::Kitaru021 {
        &REMOTE_TYPES
    } else {
        &CLOUD_TYPES
    }
}

/// The `extra` targets of `line`.
fn targets_of(line: ServerLine) -> &'static [&'static str] {
    if line >= ServerLine::Kitaru021 {
        &TARGETS
    } else {
        &TARGETS[..3]
    }
}

/// Why `what` (an option of kitaru 0.21) is refused by an older server.
pub(crate) fn needs_sandboxes(what: &str, server: &ServerFacts) -> String {
    format!(
        "{what} needs a server with sandbox stack components: ZenML {} (kitaru {}) or later. \
         The connected server runs ZenML {} (the kitaru {} line).",
        ServerLine::Kitaru021.zenml(),
        ServerLine::Kitaru021.kitaru(),
        server.version,
        server.line.kitaru()
    )
}

/// The component kinds `extra` can configure, in message order.
pub(crate) const TARGETS: [&str; 4] = [
    "artifact_store",
    "container_registry",
    "orchestrator",
    "sandbox",
];
/// The sandbox flavor a local stack gets unless `sandbox` names another.
pub(crate) const LOCAL_SANDBOX: &str = "local";

/// A stack to create. [`StackCreate::local`] gives the defaults of
/// `kitaru stack create <name>`: a local stack, activated.
#[derive(Clone)]
pub struct StackCreate {
    /// The new stack's name (its components get the same name).
    pub name: String,
    /// Make it the active stack in the CLI config afterwards.
    pub activate: bool,
    /// `local`, `kubernetes`, `vertex`, `sagemaker`, `azureml` or `modal`.
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
    /// The sandbox component's flavor (`local`, `docker`, `modal`, …):
    /// local stacks get `local` unless told otherwise, remote stacks one
    /// only when given. Needs a server with sandbox components (kitaru
    /// 0.21, ZenML 0.98).
    pub sandbox: Option<String>,
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
            sandbox: None,
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
            ("sandbox", self.sandbox.is_some()),
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
    /// The sandbox flavor asked for (trimmed), without the local default.
    pub(crate) sandbox: Option<String>,
}

impl Checked {
    /// The settings for one target (empty when not given).
    pub(crate) fn settings(&self, target: &str) -> Map<String, Value> {
        self.extra.get(target).cloned().unwrap_or_default()
    }
}

/// The checks `kitaru stack create` makes, in its order: `extra`'s shape,
/// the stack type, `async_mode`, `extra`'s targets for the type, `sandbox`,
/// the fields each type accepts and requires.
///
/// The rules are those of the Kitaru of `server`'s line: on the 0.10 line
/// `sandbox`, sandbox settings and `modal` are refused, naming the server
/// version they need.
pub(crate) fn check(request: &StackCreate, server: &ServerFacts) -> Result<Checked, Error> {
    let line = server.line;
    if request.sandbox.is_some() && line < ServerLine::Kitaru021 {
        return Err(Error::argument(
            "sandbox",
            needs_sandboxes("`sandbox`", server),
        ));
    }
    let extra = match &request.extra {
        Some(extra) => targets(extra, server)?,
        None => BTreeMap::new(),
    };
    let stack_type = StackType::parse(&request.stack_type, server)?;
    if request.async_mode && stack_type == StackType::Local {
        return Err(Error::argument(
            "async_mode",
            format!("`async_mode` requires {}.", type_labels(remote_types(line))),
        ));
    }
    let given = |target: &str| {
        extra
            .get(target)
            .is_some_and(|settings| !settings.is_empty())
    };
    if stack_type == StackType::Local && given("container_registry") {
        return Err(Error::argument(
            "extra",
            "`extra` container_registry.* is not valid for `stack_type=\"local\"` because \
             local stacks do not create a container registry component.",
        ));
    }
    let sandbox = request.sandbox.as_deref().map(str::trim);
    if sandbox == Some("") {
        return Err(Error::argument("sandbox", "`sandbox` cannot be empty."));
    }
    if sandbox.is_none() && stack_type != StackType::Local && given("sandbox") {
        return Err(Error::argument(
            "extra",
            "`extra` sandbox.* requires `sandbox` because sandbox overrides only apply when \
             the created stack has a sandbox.",
        ));
    }
    fields_fit(stack_type, line, &request.given_fields())?;
    let missing: Vec<&str> = required(stack_type)
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
    Ok(Checked {
        stack_type,
        extra,
        sandbox: sandbox.map(str::to_owned),
    })
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
        sandbox: checked.sandbox.as_deref(),
        verify: request.verify,
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

/// The fields each type needs.
fn required(stack_type: StackType) -> &'static [&'static str] {
    match stack_type {
        StackType::Local => &[],
        StackType::Modal => &["artifact_store", "container_registry"],
        StackType::Kubernetes => &["artifact_store", "container_registry", "cluster", "region"],
        StackType::Vertex => &["artifact_store", "container_registry", "region"],
        StackType::Sagemaker => &[
            "artifact_store",
            "container_registry",
            "region",
            "execution_role",
        ],
        StackType::Azureml => &[
            "artifact_store",
            "container_registry",
            "subscription_id",
            "resource_group",
            "workspace",
        ],
    }
}

/// The stack types of `line` a field may be given for.
fn allowed_types(field: &str, line: ServerLine) -> Vec<StackType> {
    let allowed: &[StackType] = match field {
        "cluster" | "namespace" => &[StackType::Kubernetes],
        "subscription_id" => &[StackType::Azureml, StackType::Modal],
        "resource_group" | "workspace" => &[StackType::Azureml],
        "execution_role" => &[StackType::Sagemaker],
        "sandbox" => &ALL_TYPES,
        _ => &REMOTE_TYPES,
    };
    allowed
        .iter()
        .copied()
        .filter(|kind| types(line).contains(kind))
        .collect()
}

/// Refuses fields given for a type that does not take them, reporting the
/// group allowed on the fewest types first.
fn fields_fit(
    stack_type: StackType,
    line: ServerLine,
    given: &[(&'static str, bool)],
) -> Result<(), Error> {
    let mut misfits: Vec<(Vec<StackType>, Vec<&str>)> = Vec::new();
    for &(field, is_given) in given {
        let allowed = allowed_types(field, line);
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
    let group = match allowed.as_slice() {
        all if all == REMOTE_TYPES || all == CLOUD_TYPES => "Remote stack options".to_owned(),
        [StackType::Local] => "Local-only options".to_owned(),
        [single] => format!("{}-only options", single.display()),
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
fn targets(
    extra: &Map<String, Value>,
    server: &ServerFacts,
) -> Result<BTreeMap<String, Map<String, Value>>, Error> {
    let offered = targets_of(server.line);
    let mut checked = BTreeMap::new();
    for (target, settings) in extra {
        if !offered.contains(&target.as_str()) {
            let mut reason = format!(
                "Unsupported `extra` target '{target}'. Use one of: {}.",
                offered.join(", ")
            );
            if TARGETS.contains(&target.as_str()) {
                reason.push(' ');
                reason.push_str(&needs_sandboxes("`extra` sandbox.*", server));
            }
            return Err(Error::argument("extra", reason));
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

    /// The checks of the 0.21 line.
    fn check(request: &StackCreate) -> Result<Checked, Error> {
        super::check(request, &ServerFacts::of("0.98.0"))
    }

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
            StackType::parse(" KuberNetes ", &ServerFacts::of("0.98.0")).unwrap(),
            StackType::Kubernetes
        );
        let (argument, reason) = message(check(&remote("ecs")));
        assert_eq!(argument, "stack_type");
        assert_eq!(
            reason,
            "Unsupported stack type: ecs. Use 'local', 'kubernetes', 'vertex', 'sagemaker', \
             'azureml', or 'modal'."
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
            "Unsupported `extra` target 'orchestratr'. Use one of: artifact_store, \
             container_registry, orchestrator, sandbox."
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
             `stack_type=\"sagemaker\"`, `stack_type=\"azureml\"`, or `stack_type=\"modal\"`."
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
             `stack_type=\"sagemaker\"`, `stack_type=\"azureml\"`, or `stack_type=\"modal\"`: \
             `region`, `verify`"
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
    fn sandbox_is_checked_and_any_type_takes_it() {
        let request = StackCreate {
            sandbox: Some("  ".into()),
            ..StackCreate::local("s")
        };
        assert_eq!(
            message(check(&request)),
            (
                "sandbox".to_owned(),
                "`sandbox` cannot be empty.".to_owned()
            )
        );
        let settings = Some(json!({"sandbox": {"x": 1}}).as_object().unwrap().clone());
        let local = StackCreate {
            extra: settings.clone(),
            ..StackCreate::local("s")
        };
        assert_eq!(check(&local).unwrap().sandbox, None);
        let modal = StackCreate {
            artifact_store: Some("s3://b".into()),
            container_registry: Some("1.dkr.ecr.eu-west-1.amazonaws.com".into()),
            extra: settings,
            ..remote("modal")
        };
        assert_eq!(
            message(check(&modal)).1,
            "`extra` sandbox.* requires `sandbox` because sandbox overrides only apply when the \
             created stack has a sandbox."
        );
        let modal = StackCreate {
            sandbox: Some(" modal ".into()),
            ..modal
        };
        let checked = check(&modal).unwrap();
        assert_eq!(checked.sandbox.as_deref(), Some("modal"));
    }

    #[test]
    fn modal_takes_the_uris_region_subscription_and_credentials() {
        let (argument, reason) = message(check(&remote("modal")));
        assert_eq!(argument, "artifact_store");
        assert_eq!(
            reason,
            "`stack_type=\"modal\"` requires: `artifact_store`, `container_registry`."
        );
        let request = StackCreate {
            subscription_id: Some("sub".into()),
            ..StackCreate::local("s")
        };
        assert_eq!(
            message(check(&request)).1,
            "Stack-specific options require `stack_type=\"azureml\"` or `stack_type=\"modal\"`: \
             `subscription_id`"
        );
        let request = StackCreate {
            cluster: Some("c".into()),
            ..remote("modal")
        };
        assert_eq!(
            message(check(&request)).1,
            "Kubernetes-only options require `stack_type=\"kubernetes\"`: `cluster`"
        );
    }

    /// The 0.10 line's Kitaru knows neither sandboxes nor Modal: its texts,
    /// and the version these need.
    #[test]
    fn the_010_line_refuses_sandboxes_and_modal_naming_the_version() {
        let old = ServerFacts::of("0.94.4");
        let needs = "needs a server with sandbox stack components: ZenML 0.98.0 (kitaru 0.21) \
                     or later. The connected server runs ZenML 0.94.4 (the kitaru 0.10 line).";
        let refused = |request: &StackCreate| message(super::check(request, &old));
        let (argument, reason) = refused(&remote("Modal"));
        assert_eq!(argument, "stack_type");
        assert_eq!(
            reason,
            format!(
                "Unsupported stack type: Modal. Use 'local', 'kubernetes', 'vertex', \
                 'sagemaker', or 'azureml'. `stack_type=\"modal\"` {needs}"
            )
        );
        let (argument, reason) = refused(&remote("ecs"));
        assert_eq!(argument, "stack_type");
        assert_eq!(
            reason,
            "Unsupported stack type: ecs. Use 'local', 'kubernetes', 'vertex', 'sagemaker', or \
             'azureml'."
        );
        let sandbox = StackCreate {
            sandbox: Some("local".into()),
            ..StackCreate::local("s")
        };
        assert_eq!(
            refused(&sandbox),
            ("sandbox".to_owned(), format!("`sandbox` {needs}"))
        );
        let settings = StackCreate {
            extra: Some(json!({"sandbox": {}}).as_object().unwrap().clone()),
            ..StackCreate::local("s")
        };
        assert_eq!(
            refused(&settings).1,
            format!(
                "Unsupported `extra` target 'sandbox'. Use one of: artifact_store, \
                 container_registry, orchestrator. `extra` sandbox.* {needs}"
            )
        );
        let request = StackCreate {
            async_mode: true,
            ..StackCreate::local("s")
        };
        assert_eq!(
            refused(&request).1,
            "`async_mode` requires `stack_type=\"kubernetes\"`, `stack_type=\"vertex\"`, \
             `stack_type=\"sagemaker\"`, or `stack_type=\"azureml\"`."
        );
        let request = StackCreate {
            subscription_id: Some("x".into()),
            region: Some("eu".into()),
            ..StackCreate::local("s")
        };
        assert_eq!(
            refused(&request).1,
            "AzureML-only options require `stack_type=\"azureml\"`: `subscription_id`"
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
