//! Remote stacks (kubernetes, vertex, sagemaker, azureml): the pure part of
//! creating one. From already-validated options this infers the cloud
//! provider, turns the `credentials` spec into one inline service connector
//! and builds the ZenML `StackRequest` body that creates the stack, its three
//! components (orchestrator, artifact store, container registry) and the
//! connector in a single `POST /api/v1/stacks`.
//!
//! The only I/O is reading a GCP service-account key file when the
//! credentials name one. The `credentials` text carries secrets: no error
//! built here quotes it (a key file's path may be quoted, its contents never).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{Map, Value, json};

use crate::Error;

/// The label Kitaru puts on the stacks it creates.
const MANAGED_LABEL: &str = "kitaru.managed";
/// The value of `MANAGED_LABEL`.
const MANAGED_VALUE: &str = "true";
/// The label of a Modal stack whose components reuse service connectors
/// the server already had: deleting the stack leaves them.
pub(crate) const REUSED_LABEL: &str = "kitaru.reused_service_connectors";

/// The remote stack kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RemoteKind {
    /// A Kubernetes orchestrator on an AWS (EKS) or GCP (GKE) cluster.
    Kubernetes,
    /// GCP Vertex AI pipelines.
    Vertex,
    /// AWS SageMaker pipelines.
    Sagemaker,
    /// Azure Machine Learning.
    Azureml,
    /// Modal runs steps; the cloud holds artifacts and images (kitaru 0.21).
    Modal,
}

impl RemoteKind {
    /// The `stack_type` value, which is also the orchestrator flavor.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Kubernetes => "kubernetes",
            Self::Vertex => "vertex",
            Self::Sagemaker => "sagemaker",
            Self::Azureml => "azureml",
            Self::Modal => "modal",
        }
    }
}

/// Cloud provider inferred from the artifact store URI.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Provider {
    /// Amazon Web Services (`s3://`).
    Aws,
    /// Google Cloud (`gs://`).
    Gcp,
    /// Microsoft Azure (`az://`, `abfs://`, `abfss://`).
    Azure,
}

impl Provider {
    /// The provider's name as the tool output reports it; it is also the
    /// service connector type and the container registry flavor.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Aws => "aws",
            Self::Gcp => "gcp",
            Self::Azure => "azure",
        }
    }

    /// The artifact store flavor for this provider.
    fn artifact_store_flavor(self) -> &'static str {
        match self {
            Self::Aws => "s3",
            Self::Gcp => "gcp",
            Self::Azure => "azure",
        }
    }
}

/// Already-validated create options (the caller has checked field/type compatibility,
/// required fields present and trimmed non-blank, extra targets/keys, name non-empty).
pub(crate) struct RemoteSpec<'a> {
    /// The stack type.
    pub kind: RemoteKind,
    /// The stack's name.
    pub name: &'a str,
    /// The artifact store URI (`s3://…`, `gs://…`, `az://…`, `abfs://…`, `abfss://…`).
    pub artifact_store: &'a str,
    /// The container registry URI.
    pub container_registry: &'a str,
    /// The Kubernetes cluster (kubernetes).
    pub cluster: Option<&'a str>,
    /// The cloud region (required except for azureml).
    pub region: Option<&'a str>,
    /// The Azure subscription (azureml).
    pub subscription_id: Option<&'a str>,
    /// The Azure resource group (azureml).
    pub resource_group: Option<&'a str>,
    /// The AzureML workspace (azureml).
    pub workspace: Option<&'a str>,
    /// The SageMaker execution role ARN (sagemaker).
    pub execution_role: Option<&'a str>,
    /// The Kubernetes namespace, already defaulted to "default".
    pub namespace: &'a str,
    /// SECRET-BEARING: never put its text in an error message.
    pub credentials: Option<&'a str>,
    /// extra overrides per target: keys "orchestrator", "artifact_store", "container_registry"
    pub extra: &'a BTreeMap<String, Map<String, Value>>,
    /// Whether the orchestrator should not wait for runs to finish.
    pub async_mode: bool,
    /// The sandbox component's flavor, when one is asked for.
    pub sandbox: Option<&'a str>,
    /// Modal: whether `verify` was left on (it needs a connector to verify).
    pub verify: bool,
}

/// What creating a remote stack sends and reports.
pub(crate) struct RemotePlan {
    /// The provider inferred from the artifact store URI.
    pub provider: Provider,
    /// The JSON body of `POST /api/v1/stacks` (a ZenML `StackRequest`):
    /// name, description "", components {type: [ComponentInfo]},
    /// service_connectors [ServiceConnectorInfo], labels
    /// {"kitaru.managed": "true"}, and the null `stack_spec_path`,
    /// `environment` and `secrets`, as the reference's
    /// `model_dump(mode="json")` sends it, without `user`/`project`.
    /// It embeds the connector, so it carries the credentials' secrets.
    pub body: Value,
    /// The inline connector (a ZenML `ServiceConnectorInfo`: type,
    /// auth_method, configuration), to verify through
    /// `POST /api/v1/service_connectors/verify` (the reference verifies it
    /// for the resource type `<type>-generic`). Secret-bearing too. `None`
    /// for a Modal stack given no cloud credentials: its components then
    /// have no connector.
    pub connector: Option<Value>,
    /// The `resources` object of the tool output, as the reference reports
    /// it for this kind.
    pub resources: Value,
}

/// Infers the provider, checks provider/kind compatibility, parses the credentials spec,
/// reads a GCP service-account key file when the spec names one, and builds the plan.
#[cfg(test)]
pub(crate) fn plan(spec: &RemoteSpec<'_>) -> Result<RemotePlan, Error> {
    plan_reusing(spec, None)
}

/// What a Modal stack given no cloud connector inputs looks for among the
/// server's service connectors ([`super::modal::existing_connectors`]):
/// its provider and the resource ids of its artifact store and container
/// registry. `None` for other stacks, and for a Modal stack that gets a
/// new connector. The spec's checks come first.
pub(crate) fn reuse_targets(
    spec: &RemoteSpec<'_>,
) -> Result<Option<(Provider, String, String)>, Error> {
    if spec.kind != RemoteKind::Modal {
        return Ok(None);
    }
    let provider = provider_for(spec.kind, spec.artifact_store)?;
    if super::modal::check(spec, provider)? {
        return Ok(None);
    }
    let store = store_resource_id(
        &store_path(spec.artifact_store),
        spec.artifact_store,
        provider,
    )?;
    let registry = registry_resource_id(spec.container_registry, provider)?.to_owned();
    Ok(Some((provider, store, registry)))
}

/// [`plan`], with a Modal stack's components on the connectors it
/// `reused`, if any.
pub(crate) fn plan_reusing(
    spec: &RemoteSpec<'_>,
    reused: Option<&super::modal::Reused>,
) -> Result<RemotePlan, Error> {
    let provider = provider_for(spec.kind, spec.artifact_store)?;
    let linked = if spec.kind == RemoteKind::Modal {
        super::modal::check(spec, provider)?
    } else {
        true
    };
    let connector = linked.then(|| connector(spec, provider)).transpose()?;
    let mut components = json!({
        "orchestrator": [orchestrator(spec)?],
        "artifact_store": [artifact_store(spec, provider, linked)?],
        "container_registry": [container_registry(spec, provider, linked)?],
    });
    if spec.kind == RemoteKind::Modal {
        // Modal builds images on this machine and pushes them.
        components["image_builder"] = json!([{
            "flavor": "local",
            "service_connector_index": null,
            "service_connector_resource_id": null,
            "configuration": { "use_subprocess_call": true },
        }]);
    }
    if let Some(flavor) = spec.sandbox {
        components["sandbox"] = json!([component(spec, "sandbox", flavor, None, json!({}))]);
    }
    let mut labels = json!({ MANAGED_LABEL: MANAGED_VALUE });
    let mut service_connectors: Vec<Value> = connector.iter().cloned().collect();
    if let Some(reused) = reused.filter(|_| !linked) {
        // Each reused connector once, in the order the components name them.
        for (target, reuse) in [
            ("artifact_store", &reused.artifact_store),
            ("container_registry", &reused.container_registry),
        ] {
            let id = Value::from(reuse.connector_id.as_str());
            let index = match service_connectors.iter().position(|known| *known == id) {
                Some(index) => index,
                None => {
                    service_connectors.push(id);
                    service_connectors.len() - 1
                }
            };
            components[target][0]["service_connector_index"] = index.into();
            components[target][0]["service_connector_resource_id"] =
                reuse.resource_id.as_str().into();
        }
        labels[REUSED_LABEL] = MANAGED_VALUE.into();
    }
    let body = json!({
        "name": spec.name,
        "description": "",
        "stack_spec_path": null,
        "components": components,
        "environment": null,
        "secrets": null,
        "labels": labels,
        "service_connectors": service_connectors,
    });
    Ok(RemotePlan {
        provider,
        body,
        connector,
        resources: resources(spec, provider)?,
    })
}

/// The provider of an artifact store URI, checked against what `kind`
/// supports.
fn provider_for(kind: RemoteKind, artifact_store: &str) -> Result<Provider, Error> {
    let refuse = |reason: String| Error::argument("artifact_store", reason);
    let provider = if artifact_store.starts_with("s3://") {
        Provider::Aws
    } else if artifact_store.starts_with("gs://") {
        Provider::Gcp
    } else if ["az://", "abfs://", "abfss://"]
        .iter()
        .any(|scheme| artifact_store.starts_with(scheme))
    {
        Provider::Azure
    } else {
        return Err(refuse(format!(
            "Cannot infer cloud provider from '{artifact_store}'. \
             Use an s3://, gs://, az://, abfs://, or abfss:// URI."
        )));
    };
    // The provider each kind needs, and how its error names the kind and
    // the URI; kubernetes runs on AWS or GCP.
    let (needed, display, uri) = match kind {
        RemoteKind::Kubernetes if provider == Provider::Azure => {
            return Err(refuse(format!(
                "Cannot infer cloud provider from '{artifact_store}'. Use an s3:// or gs:// URI."
            )));
        }
        RemoteKind::Kubernetes | RemoteKind::Modal => return Ok(provider),
        RemoteKind::Vertex => (Provider::Gcp, "Vertex", "a gs://"),
        RemoteKind::Sagemaker => (Provider::Aws, "SageMaker", "an s3://"),
        RemoteKind::Azureml => (Provider::Azure, "AzureML", "an az://, abfs://, or abfss://"),
    };
    if provider != needed {
        return Err(refuse(format!(
            "{display} stacks require {uri} artifact store URI. Received: '{artifact_store}'."
        )));
    }
    Ok(provider)
}

/// A field the caller should have required for this kind.
fn required<'a>(kind: RemoteKind, name: &str, value: Option<&'a str>) -> Result<&'a str, Error> {
    value.ok_or_else(|| {
        Error::argument(
            name,
            format!("`stack_type=\"{}\"` requires: `{name}`.", kind.as_str()),
        )
    })
}

/// The inline service connector (a ZenML `ServiceConnectorInfo`).
fn connector(spec: &RemoteSpec<'_>, provider: Provider) -> Result<Value, Error> {
    let credentials = spec.credentials.map(str::trim).filter(|c| !c.is_empty());
    let (auth_method, configuration) = match provider {
        Provider::Aws => aws_connector(required(spec.kind, "region", spec.region)?, credentials)?,
        Provider::Gcp => gcp_connector(spec.container_registry, credentials)?,
        Provider::Azure => azure_connector(
            required(spec.kind, "subscription_id", spec.subscription_id)?,
            credentials,
        )?,
    };
    Ok(json!({
        "type": provider.as_str(),
        "auth_method": auth_method,
        "configuration": configuration,
    }))
}

/// An invalid-`credentials` error. Callers never put the credentials text
/// in `reason`.
fn bad_credentials(reason: &str) -> Error {
    Error::argument("credentials", reason)
}

/// Splits `text` at its first `:` into the method (trimmed, lower-cased) and
/// the value (trimmed); `None` when there is no `:`.
fn method_and_value(text: &str) -> Option<(String, &str)> {
    let (method, value) = text.split_once(':')?;
    Some((method.trim().to_lowercase(), value.trim()))
}

/// Splits `value` into `N` non-blank trimmed parts at its first `N - 1`
/// colons (the last part keeps any further colons).
fn parts<const N: usize>(value: &str) -> Option<[&str; N]> {
    let mut parts = [""; N];
    let mut rest = value;
    for part in parts.iter_mut().take(N - 1) {
        let (head, tail) = rest.split_once(':')?;
        *part = head.trim();
        rest = tail;
    }
    parts[N - 1] = rest.trim();
    parts.iter().all(|part| !part.is_empty()).then_some(parts)
}

/// AWS: no credentials (implicit), `aws-profile:PROFILE`,
/// `aws-access-keys:KEY:SECRET` (or `aws-access-key:`) and
/// `aws-session-token:KEY:SECRET:TOKEN`.
fn aws_connector(
    region: &str,
    credentials: Option<&str>,
) -> Result<(&'static str, Map<String, Value>), Error> {
    let mut configuration = Map::new();
    configuration.insert("region".into(), region.into());
    let Some(credentials) = credentials else {
        return Ok(("implicit", configuration));
    };
    let (method, value) = method_and_value(credentials).ok_or_else(|| {
        bad_credentials(
            "Invalid AWS credentials format. Use one of: aws-profile:PROFILE, \
             aws-access-keys:KEY:SECRET, aws-session-token:KEY:SECRET:TOKEN.",
        )
    })?;
    let mut set = |key: &str, value: &str| configuration.insert(key.into(), value.into());
    let auth_method = match method.as_str() {
        "aws-profile" => {
            if value.is_empty() {
                return Err(bad_credentials("AWS profile name cannot be empty."));
            }
            set("profile_name", value);
            "implicit"
        }
        "aws-access-key" | "aws-access-keys" => {
            let [key_id, secret] = parts(value).ok_or_else(|| {
                bad_credentials(
                    "aws-access-keys credentials must be in the format \
                     aws-access-keys:ACCESS_KEY_ID:SECRET_ACCESS_KEY.",
                )
            })?;
            set("aws_access_key_id", key_id);
            set("aws_secret_access_key", secret);
            "secret-key"
        }
        "aws-session-token" => {
            let [key_id, secret, token] = parts(value).ok_or_else(|| {
                bad_credentials(
                    "aws-session-token credentials must be in the format \
                     aws-session-token:ACCESS_KEY_ID:SECRET_ACCESS_KEY:SESSION_TOKEN.",
                )
            })?;
            set("aws_access_key_id", key_id);
            set("aws_secret_access_key", secret);
            set("aws_session_token", token);
            "sts-token"
        }
        _ => {
            return Err(bad_credentials(
                "Unsupported AWS credentials method. Use one of: \
                 aws-profile, aws-access-keys, aws-session-token.",
            ));
        }
    };
    Ok((auth_method, configuration))
}

/// GCP: no credentials (implicit) or `gcp-service-account:/path/to/key.json`,
/// whose file is read here. The project id comes from the registry URI.
fn gcp_connector(
    container_registry: &str,
    credentials: Option<&str>,
) -> Result<(&'static str, Map<String, Value>), Error> {
    let mut configuration = Map::new();
    configuration.insert(
        "project_id".into(),
        gcp_project_id(container_registry)?.into(),
    );
    let Some(credentials) = credentials else {
        return Ok(("implicit", configuration));
    };
    let (method, path) = method_and_value(credentials).ok_or_else(|| {
        bad_credentials(
            "Invalid GCP credentials format. Use gcp-service-account:/path/to/key.json.",
        )
    })?;
    if method != "gcp-service-account" {
        return Err(bad_credentials(
            "Unsupported GCP credentials method. Use: gcp-service-account.",
        ));
    }
    let key = read_key_file(path, std::env::var("HOME").ok().as_deref())?;
    configuration.insert("service_account_json".into(), key.into());
    Ok(("service-account", configuration))
}

/// Reads a service-account key file (`~` expanded against `home`). Errors
/// quote the path, never the file's contents.
fn read_key_file(path: &str, home: Option<&str>) -> Result<String, Error> {
    if path.is_empty() {
        return Err(bad_credentials(
            "GCP service account file path cannot be empty.",
        ));
    }
    // A key pasted inline is not a path; quoting it would leak it.
    if path.starts_with('{') {
        return Err(bad_credentials(
            "GCP service account credentials must name a key file, not contain the key. \
             Use gcp-service-account:/path/to/key.json.",
        ));
    }
    let path = expand_home(path, home);
    std::fs::read_to_string(&path).map_err(|error| {
        bad_credentials(&format!(
            "Unable to read GCP service account file '{}': {error}",
            path.display()
        ))
    })
}

/// `path` with a leading `~` (alone or before `/`) replaced by `home`.
fn expand_home(path: &str, home: Option<&str>) -> PathBuf {
    match (path.strip_prefix('~'), home) {
        (Some(rest), Some(home)) if rest.is_empty() || rest.starts_with('/') => {
            PathBuf::from(format!("{}{rest}", home.trim_end_matches('/')))
        }
        _ => PathBuf::from(path),
    }
}

/// Azure: no credentials or `implicit`,
/// `azure-service-principal:TENANT_ID:CLIENT_ID:CLIENT_SECRET` and
/// `azure-access-token:TOKEN`.
fn azure_connector(
    subscription_id: &str,
    credentials: Option<&str>,
) -> Result<(&'static str, Map<String, Value>), Error> {
    let mut configuration = Map::new();
    configuration.insert("subscription_id".into(), subscription_id.into());
    let credentials = credentials.filter(|c| !c.eq_ignore_ascii_case("implicit"));
    let Some(credentials) = credentials else {
        return Ok(("implicit", configuration));
    };
    let (method, value) = method_and_value(credentials).ok_or_else(|| {
        bad_credentials(
            "Invalid Azure credentials format. Use one of: implicit, \
             azure-service-principal:TENANT_ID:CLIENT_ID:CLIENT_SECRET, \
             azure-access-token:TOKEN.",
        )
    })?;
    let mut set = |key: &str, value: &str| configuration.insert(key.into(), value.into());
    let auth_method = match method.as_str() {
        "azure-service-principal" => {
            let [tenant_id, client_id, client_secret] = parts(value).ok_or_else(|| {
                bad_credentials(
                    "azure-service-principal credentials must be in the format \
                     azure-service-principal:TENANT_ID:CLIENT_ID:CLIENT_SECRET.",
                )
            })?;
            set("tenant_id", tenant_id);
            set("client_id", client_id);
            set("client_secret", client_secret);
            "service-principal"
        }
        "azure-access-token" => {
            if value.is_empty() {
                return Err(bad_credentials("Azure access token cannot be empty."));
            }
            set("token", value);
            "access-token"
        }
        _ => {
            return Err(bad_credentials(
                "Unsupported Azure credentials method. Use one of: \
                 implicit, azure-service-principal, azure-access-token.",
            ));
        }
    };
    Ok((auth_method, configuration))
}

/// `uri` without a leading lower-case `scheme://`.
pub(crate) fn strip_scheme(uri: &str) -> &str {
    match uri.split_once("://") {
        Some((scheme, rest))
            if !scheme.is_empty() && scheme.bytes().all(|b| b.is_ascii_lowercase()) =>
        {
            rest
        }
        _ => uri,
    }
}

/// The error for a registry URI that is empty once trimmed of its scheme
/// and slashes.
fn empty_registry() -> Error {
    Error::argument(
        "container_registry",
        "Container registry URI cannot be empty.",
    )
}

/// The GCP project of an Artifact Registry (`<region>-docker.pkg.dev/<project>/…`)
/// or Container Registry (`gcr.io/<project>`) URI.
fn gcp_project_id(container_registry: &str) -> Result<&str, Error> {
    let registry = container_registry.trim();
    if registry.is_empty() {
        return Err(empty_registry());
    }
    let registry = strip_scheme(registry).trim_end_matches('/');
    let (host, path) = registry.split_once('/').unwrap_or((registry, ""));
    let known_host = host == "docker.pkg.dev"
        || host.ends_with("-docker.pkg.dev")
        || ["gcr.io", "us.gcr.io", "eu.gcr.io", "asia.gcr.io"].contains(&host);
    match path.split('/').find(|part| !part.is_empty()) {
        Some(project) if known_host => Ok(project),
        _ => Err(Error::argument(
            "container_registry",
            format!(
                "Cannot infer GCP project ID from container registry URI \
                 '{container_registry}'. Use an Artifact Registry or GCR URI that \
                 includes the project segment."
            ),
        )),
    }
}

/// The connector resource id of a container registry: its host for AWS
/// and Azure, the whole URI (without scheme and trailing slashes) for GCP.
fn registry_resource_id(container_registry: &str, provider: Provider) -> Result<&str, Error> {
    let registry = strip_scheme(container_registry.trim()).trim_end_matches('/');
    if registry.is_empty() {
        return Err(empty_registry());
    }
    Ok(match provider {
        Provider::Aws | Provider::Azure => registry.split('/').next().unwrap_or(registry),
        Provider::Gcp => registry,
    })
}

/// The connector resource id of an artifact store: `scheme://bucket` (the
/// URI's scheme and authority). `uri` starts with the provider's scheme.
fn store_resource_id(uri: &str, original: &str, provider: Provider) -> Result<String, Error> {
    let authority = uri.split_once("://").and_then(|(scheme, rest)| {
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let authority = &rest[..end];
        (!authority.is_empty()).then(|| format!("{scheme}://{authority}"))
    });
    authority.ok_or_else(|| {
        Error::argument(
            "artifact_store",
            format!(
                "Unsupported artifact store URI '{original}' for provider '{}'.",
                provider.as_str()
            ),
        )
    })
}

/// The artifact store path ZenML accepts: `abfss://` becomes `abfs://`.
fn store_path(artifact_store: &str) -> String {
    match artifact_store.strip_prefix("abfss://") {
        Some(rest) => format!("abfs://{rest}"),
        None => artifact_store.to_owned(),
    }
}

/// Merges `overrides` into `base`, recursively where both hold an object at
/// the same key; any other override value replaces the base's.
fn merge(base: &mut Map<String, Value>, overrides: &Map<String, Value>) {
    for (key, value) in overrides {
        match (base.get_mut(key), value) {
            (Some(Value::Object(existing)), Value::Object(nested)) => merge(existing, nested),
            _ => {
                base.insert(key.clone(), value.clone());
            }
        }
    }
}

/// A ZenML `ComponentInfo`: `defaults` with the `extra` overrides of
/// `target` (`orchestrator`, `artifact_store`, `container_registry` or
/// `sandbox`) merged over them; linked to connector 0 (on `resource_id`)
/// except a sandbox's and a Modal orchestrator's, and a Modal stack's
/// without a connector (`resource_id` is `None` then too).
fn component(
    spec: &RemoteSpec<'_>,
    target: &str,
    flavor: &str,
    resource_id: Option<&str>,
    defaults: Value,
) -> Value {
    let mut configuration = match defaults {
        Value::Object(defaults) => defaults,
        _ => Map::new(),
    };
    if let Some(overrides) = spec.extra.get(target) {
        merge(&mut configuration, overrides);
    }
    // `async_mode` turns the orchestrator's `synchronous` off, unless
    // `extra` sets it (no default does).
    if target == "orchestrator" && spec.async_mode {
        configuration
            .entry("synchronous")
            .or_insert(Value::Bool(false));
    }
    let unlinked = target == "sandbox"
        || (spec.kind == RemoteKind::Modal && (target == "orchestrator" || resource_id.is_none()));
    json!({
        "flavor": flavor,
        "service_connector_index": if unlinked { Value::Null } else { json!(0) },
        "service_connector_resource_id": resource_id,
        "configuration": configuration,
    })
}

/// The orchestrator component; only kubernetes names a connector resource
/// (the cluster).
fn orchestrator(spec: &RemoteSpec<'_>) -> Result<Value, Error> {
    let kind = spec.kind;
    let (resource_id, defaults) = match kind {
        RemoteKind::Kubernetes => (
            Some(required(kind, "cluster", spec.cluster)?),
            json!({ "kubernetes_namespace": spec.namespace }),
        ),
        RemoteKind::Vertex => (
            None,
            json!({ "location": required(kind, "region", spec.region)? }),
        ),
        RemoteKind::Sagemaker => (
            None,
            json!({ "execution_role": required(kind, "execution_role", spec.execution_role)? }),
        ),
        RemoteKind::Modal => (None, json!({})),
        RemoteKind::Azureml => {
            let mut defaults = json!({
                "subscription_id": required(kind, "subscription_id", spec.subscription_id)?,
                "resource_group": required(kind, "resource_group", spec.resource_group)?,
                "workspace": required(kind, "workspace", spec.workspace)?,
            });
            if let Some(region) = spec.region {
                defaults["location"] = region.into();
            }
            (None, defaults)
        }
    };
    Ok(component(
        spec,
        "orchestrator",
        kind.as_str(),
        resource_id,
        defaults,
    ))
}

/// The artifact store component, on the bucket/container of its URI when
/// `linked` to the connector.
fn artifact_store(spec: &RemoteSpec<'_>, provider: Provider, linked: bool) -> Result<Value, Error> {
    let path = store_path(spec.artifact_store);
    let resource_id = store_resource_id(&path, spec.artifact_store, provider)?;
    Ok(component(
        spec,
        "artifact_store",
        provider.artifact_store_flavor(),
        linked.then_some(resource_id.as_str()),
        json!({ "path": path }),
    ))
}

/// The container registry component, on its registry when `linked` to the
/// connector. Modal splits an ECR URI into the registry and its default
/// repository.
fn container_registry(
    spec: &RemoteSpec<'_>,
    provider: Provider,
    linked: bool,
) -> Result<Value, Error> {
    let resource_id = registry_resource_id(spec.container_registry, provider)?;
    let defaults = if spec.kind == RemoteKind::Modal && provider == Provider::Aws {
        let registry = strip_scheme(spec.container_registry.trim()).trim_end_matches('/');
        match registry.split_once('/') {
            Some((uri, repository)) if !repository.is_empty() => {
                json!({ "uri": uri, "default_repository": repository })
            }
            _ => json!({ "uri": registry.split('/').next().unwrap_or(registry) }),
        }
    } else {
        json!({ "uri": spec.container_registry })
    };
    Ok(component(
        spec,
        "container_registry",
        provider.as_str(),
        linked.then_some(resource_id),
        defaults,
    ))
}

/// The `resources` summary of the tool output (the options as given).
fn resources(spec: &RemoteSpec<'_>, provider: Provider) -> Result<Value, Error> {
    let kind = spec.kind;
    let mut resources = json!({
        "provider": provider.as_str(),
        "artifact_store": spec.artifact_store,
        "container_registry": spec.container_registry,
    });
    let mut add = |key: &str, value: &str| resources[key] = value.into();
    match kind {
        RemoteKind::Kubernetes => {
            add("cluster", required(kind, "cluster", spec.cluster)?);
            add("region", required(kind, "region", spec.region)?);
            add("namespace", spec.namespace);
        }
        RemoteKind::Vertex => add("region", required(kind, "region", spec.region)?),
        RemoteKind::Sagemaker => {
            add("region", required(kind, "region", spec.region)?);
            let role = required(kind, "execution_role", spec.execution_role)?;
            add("execution_role", role);
        }
        RemoteKind::Azureml => {
            let subscription = required(kind, "subscription_id", spec.subscription_id)?;
            add("subscription_id", subscription);
            add(
                "resource_group",
                required(kind, "resource_group", spec.resource_group)?,
            );
            add("workspace", required(kind, "workspace", spec.workspace)?);
            if let Some(region) = spec.region {
                add("region", region);
            }
        }
        RemoteKind::Modal => {
            if let Some(region) = spec.region {
                add("region", region);
            }
            if let Some(subscription) = spec.subscription_id {
                add("subscription_id", subscription);
            }
        }
    }
    if let Some(flavor) = spec.sandbox {
        add("sandbox", flavor);
    }
    Ok(resources)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    static NO_EXTRA: BTreeMap<String, Map<String, Value>> = BTreeMap::new();

    /// A spec of `kind` with only the two URIs set.
    fn spec(
        kind: RemoteKind,
        name: &'static str,
        artifact_store: &'static str,
        container_registry: &'static str,
    ) -> RemoteSpec<'static> {
        RemoteSpec {
            kind,
            name,
            artifact_store,
            container_registry,
            cluster: None,
            region: None,
            subscription_id: None,
            resource_group: None,
            workspace: None,
            execution_role: None,
            namespace: "default",
            credentials: None,
            extra: &NO_EXTRA,
            async_mode: false,
            sandbox: None,
            verify: true,
        }
    }

    fn kubernetes(artifact_store: &'static str, registry: &'static str) -> RemoteSpec<'static> {
        RemoteSpec {
            cluster: Some("c"),
            region: Some("r"),
            ..spec(RemoteKind::Kubernetes, "s", artifact_store, registry)
        }
    }

    fn vertex(artifact_store: &'static str, registry: &'static str) -> RemoteSpec<'static> {
        RemoteSpec {
            region: Some("r"),
            ..spec(RemoteKind::Vertex, "s", artifact_store, registry)
        }
    }

    fn sagemaker(artifact_store: &'static str, registry: &'static str) -> RemoteSpec<'static> {
        RemoteSpec {
            region: Some("r"),
            execution_role: Some("e"),
            ..spec(RemoteKind::Sagemaker, "s", artifact_store, registry)
        }
    }

    fn azureml(artifact_store: &'static str, registry: &'static str) -> RemoteSpec<'static> {
        RemoteSpec {
            subscription_id: Some("s"),
            resource_group: Some("g"),
            workspace: Some("w"),
            ..spec(RemoteKind::Azureml, "s", artifact_store, registry)
        }
    }

    fn extra(value: Value) -> BTreeMap<String, Map<String, Value>> {
        serde_json::from_value(value).unwrap()
    }

    /// The plan as one JSON object, to compare with the reference's output.
    fn planned(spec: &RemoteSpec<'_>) -> Value {
        let plan = plan(spec).unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(
            plan.connector.as_ref(),
            Some(&plan.body["service_connectors"][0])
        );
        json!({ "body": plan.body, "connector": plan.connector, "resources": plan.resources })
    }

    fn expected(text: &str) -> Value {
        serde_json::from_str(text).unwrap()
    }

    /// The argument and reason `plan` refuses `spec` with.
    fn refusal(spec: &RemoteSpec<'_>) -> (String, String) {
        match plan(spec) {
            Err(Error::InvalidArgument { argument, reason }) => (argument, reason),
            Err(other) => panic!("unexpected error: {other}"),
            Ok(plan) => panic!("planned: {}", plan.body),
        }
    }

    // The expected payloads below are the reference's (kitaru 0.10.0)
    // `StackRequest.model_dump(mode="json")`, connector info and resource
    // summary for the same options.

    #[test]
    fn kubernetes_on_aws_with_implicit_credentials() {
        let spec = RemoteSpec {
            cluster: Some("c1"),
            region: Some("us-east-1"),
            ..spec(
                RemoteKind::Kubernetes,
                "k1",
                "s3://bucket/path",
                "123.dkr.ecr.us-east-1.amazonaws.com/repo",
            )
        };
        assert_eq!(plan(&spec).unwrap().provider, Provider::Aws);
        assert_eq!(
            planned(&spec),
            expected(
                r#"{"body": {"components": {"artifact_store": [{"configuration": {"path": "s3://bucket/path"}, "flavor": "s3", "service_connector_index": 0, "service_connector_resource_id": "s3://bucket"}], "container_registry": [{"configuration": {"uri": "123.dkr.ecr.us-east-1.amazonaws.com/repo"}, "flavor": "aws", "service_connector_index": 0, "service_connector_resource_id": "123.dkr.ecr.us-east-1.amazonaws.com"}], "orchestrator": [{"configuration": {"kubernetes_namespace": "default"}, "flavor": "kubernetes", "service_connector_index": 0, "service_connector_resource_id": "c1"}]}, "description": "", "environment": null, "labels": {"kitaru.managed": "true"}, "name": "k1", "secrets": null, "service_connectors": [{"auth_method": "implicit", "configuration": {"region": "us-east-1"}, "type": "aws"}], "stack_spec_path": null}, "connector": {"auth_method": "implicit", "configuration": {"region": "us-east-1"}, "type": "aws"}, "resources": {"artifact_store": "s3://bucket/path", "cluster": "c1", "container_registry": "123.dkr.ecr.us-east-1.amazonaws.com/repo", "namespace": "default", "provider": "aws", "region": "us-east-1"}}"#
            )
        );
    }

    const KEY_JSON: &str = "{\"type\": \"service_account\", \"project_id\": \"my-proj\", \"private_key\": \"-----BEGIN PRIVATE KEY-----\\nSECRETKEY\\n-----END PRIVATE KEY-----\\n\"}\n";

    fn key_file() -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(KEY_JSON.as_bytes()).unwrap();
        file
    }

    #[test]
    fn kubernetes_on_gcp_with_a_service_account_key_and_async_mode() {
        let key = key_file();
        let credentials = format!("gcp-service-account:{}", key.path().display());
        let spec = RemoteSpec {
            cluster: Some("gke-1"),
            region: Some("europe-west4"),
            namespace: "ml",
            credentials: Some(&credentials),
            async_mode: true,
            ..spec(
                RemoteKind::Kubernetes,
                "k-gcp",
                "gs://my-bucket/kitaru",
                "europe-west4-docker.pkg.dev/my-proj/repo",
            )
        };
        assert_eq!(plan(&spec).unwrap().provider, Provider::Gcp);
        assert_eq!(
            planned(&spec),
            expected(
                r#"{"body": {"components": {"artifact_store": [{"configuration": {"path": "gs://my-bucket/kitaru"}, "flavor": "gcp", "service_connector_index": 0, "service_connector_resource_id": "gs://my-bucket"}], "container_registry": [{"configuration": {"uri": "europe-west4-docker.pkg.dev/my-proj/repo"}, "flavor": "gcp", "service_connector_index": 0, "service_connector_resource_id": "europe-west4-docker.pkg.dev/my-proj/repo"}], "orchestrator": [{"configuration": {"kubernetes_namespace": "ml", "synchronous": false}, "flavor": "kubernetes", "service_connector_index": 0, "service_connector_resource_id": "gke-1"}]}, "description": "", "environment": null, "labels": {"kitaru.managed": "true"}, "name": "k-gcp", "secrets": null, "service_connectors": [{"auth_method": "service-account", "configuration": {"project_id": "my-proj", "service_account_json": "{\"type\": \"service_account\", \"project_id\": \"my-proj\", \"private_key\": \"-----BEGIN PRIVATE KEY-----\\nSECRETKEY\\n-----END PRIVATE KEY-----\\n\"}\n"}, "type": "gcp"}], "stack_spec_path": null}, "connector": {"auth_method": "service-account", "configuration": {"project_id": "my-proj", "service_account_json": "{\"type\": \"service_account\", \"project_id\": \"my-proj\", \"private_key\": \"-----BEGIN PRIVATE KEY-----\\nSECRETKEY\\n-----END PRIVATE KEY-----\\n\"}\n"}, "type": "gcp"}, "resources": {"artifact_store": "gs://my-bucket/kitaru", "cluster": "gke-1", "container_registry": "europe-west4-docker.pkg.dev/my-proj/repo", "namespace": "ml", "provider": "gcp", "region": "europe-west4"}}"#
            )
        );
    }

    #[test]
    fn vertex_with_extra_overrides_and_an_explicit_synchronous() {
        let extra = extra(json!({
            "orchestrator": {"synchronous": true, "labels": {"team": "a"}},
            "artifact_store": {"path": "gs://vbucket/override"},
        }));
        let spec = RemoteSpec {
            region: Some("us-central1"),
            extra: &extra,
            async_mode: true,
            ..spec(
                RemoteKind::Vertex,
                "vtx",
                "gs://vbucket",
                "https://gcr.io/other-proj/",
            )
        };
        assert_eq!(
            planned(&spec),
            expected(
                r#"{"body": {"components": {"artifact_store": [{"configuration": {"path": "gs://vbucket/override"}, "flavor": "gcp", "service_connector_index": 0, "service_connector_resource_id": "gs://vbucket"}], "container_registry": [{"configuration": {"uri": "https://gcr.io/other-proj/"}, "flavor": "gcp", "service_connector_index": 0, "service_connector_resource_id": "gcr.io/other-proj"}], "orchestrator": [{"configuration": {"labels": {"team": "a"}, "location": "us-central1", "synchronous": true}, "flavor": "vertex", "service_connector_index": 0, "service_connector_resource_id": null}]}, "description": "", "environment": null, "labels": {"kitaru.managed": "true"}, "name": "vtx", "secrets": null, "service_connectors": [{"auth_method": "implicit", "configuration": {"project_id": "other-proj"}, "type": "gcp"}], "stack_spec_path": null}, "connector": {"auth_method": "implicit", "configuration": {"project_id": "other-proj"}, "type": "gcp"}, "resources": {"artifact_store": "gs://vbucket", "container_registry": "https://gcr.io/other-proj/", "provider": "gcp", "region": "us-central1"}}"#
            )
        );
    }

    #[test]
    fn sagemaker_with_access_keys_and_async_mode() {
        let spec = RemoteSpec {
            region: Some("eu-west-1"),
            execution_role: Some("arn:aws:iam::123456789012:role/sm"),
            credentials: Some("aws-access-keys:AKIAEXAMPLE:s3cr3t/with:colon"),
            async_mode: true,
            ..spec(
                RemoteKind::Sagemaker,
                "sm",
                "s3://sm-bucket/a/b",
                "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
            )
        };
        assert_eq!(
            planned(&spec),
            expected(
                r#"{"body": {"components": {"artifact_store": [{"configuration": {"path": "s3://sm-bucket/a/b"}, "flavor": "s3", "service_connector_index": 0, "service_connector_resource_id": "s3://sm-bucket"}], "container_registry": [{"configuration": {"uri": "123456789012.dkr.ecr.eu-west-1.amazonaws.com"}, "flavor": "aws", "service_connector_index": 0, "service_connector_resource_id": "123456789012.dkr.ecr.eu-west-1.amazonaws.com"}], "orchestrator": [{"configuration": {"execution_role": "arn:aws:iam::123456789012:role/sm", "synchronous": false}, "flavor": "sagemaker", "service_connector_index": 0, "service_connector_resource_id": null}]}, "description": "", "environment": null, "labels": {"kitaru.managed": "true"}, "name": "sm", "secrets": null, "service_connectors": [{"auth_method": "secret-key", "configuration": {"aws_access_key_id": "AKIAEXAMPLE", "aws_secret_access_key": "s3cr3t/with:colon", "region": "eu-west-1"}, "type": "aws"}], "stack_spec_path": null}, "connector": {"auth_method": "secret-key", "configuration": {"aws_access_key_id": "AKIAEXAMPLE", "aws_secret_access_key": "s3cr3t/with:colon", "region": "eu-west-1"}, "type": "aws"}, "resources": {"artifact_store": "s3://sm-bucket/a/b", "container_registry": "123456789012.dkr.ecr.eu-west-1.amazonaws.com", "execution_role": "arn:aws:iam::123456789012:role/sm", "provider": "aws", "region": "eu-west-1"}}"#
            )
        );
    }

    fn aml(name: &'static str, store: &'static str, registry: &'static str) -> RemoteSpec<'static> {
        RemoteSpec {
            subscription_id: Some("sub-1"),
            resource_group: Some("rg-1"),
            workspace: Some("ws-1"),
            ..spec(RemoteKind::Azureml, name, store, registry)
        }
    }

    #[test]
    fn azureml_with_a_service_principal_an_abfss_store_and_a_region() {
        let spec = RemoteSpec {
            region: Some("westeurope"),
            credentials: Some("azure-service-principal:tenant-1:client-1:cl13nt:secret"),
            ..aml(
                "aml",
                "abfss://container@acct.dfs.core.windows.net/kitaru",
                "myreg.azurecr.io/images",
            )
        };
        assert_eq!(plan(&spec).unwrap().provider, Provider::Azure);
        assert_eq!(
            planned(&spec),
            expected(
                r#"{"body": {"components": {"artifact_store": [{"configuration": {"path": "abfs://container@acct.dfs.core.windows.net/kitaru"}, "flavor": "azure", "service_connector_index": 0, "service_connector_resource_id": "abfs://container@acct.dfs.core.windows.net"}], "container_registry": [{"configuration": {"uri": "myreg.azurecr.io/images"}, "flavor": "azure", "service_connector_index": 0, "service_connector_resource_id": "myreg.azurecr.io"}], "orchestrator": [{"configuration": {"location": "westeurope", "resource_group": "rg-1", "subscription_id": "sub-1", "workspace": "ws-1"}, "flavor": "azureml", "service_connector_index": 0, "service_connector_resource_id": null}]}, "description": "", "environment": null, "labels": {"kitaru.managed": "true"}, "name": "aml", "secrets": null, "service_connectors": [{"auth_method": "service-principal", "configuration": {"client_id": "client-1", "client_secret": "cl13nt:secret", "subscription_id": "sub-1", "tenant_id": "tenant-1"}, "type": "azure"}], "stack_spec_path": null}, "connector": {"auth_method": "service-principal", "configuration": {"client_id": "client-1", "client_secret": "cl13nt:secret", "subscription_id": "sub-1", "tenant_id": "tenant-1"}, "type": "azure"}, "resources": {"artifact_store": "abfss://container@acct.dfs.core.windows.net/kitaru", "container_registry": "myreg.azurecr.io/images", "provider": "azure", "region": "westeurope", "resource_group": "rg-1", "subscription_id": "sub-1", "workspace": "ws-1"}}"#
            )
        );
    }

    #[test]
    fn azureml_with_an_access_token_and_no_region() {
        let spec = RemoteSpec {
            credentials: Some("azure-access-token:tok3n"),
            ..aml("aml2", "az://container/path", "myreg.azurecr.io")
        };
        assert_eq!(
            planned(&spec),
            expected(
                r#"{"body": {"components": {"artifact_store": [{"configuration": {"path": "az://container/path"}, "flavor": "azure", "service_connector_index": 0, "service_connector_resource_id": "az://container"}], "container_registry": [{"configuration": {"uri": "myreg.azurecr.io"}, "flavor": "azure", "service_connector_index": 0, "service_connector_resource_id": "myreg.azurecr.io"}], "orchestrator": [{"configuration": {"resource_group": "rg-1", "subscription_id": "sub-1", "workspace": "ws-1"}, "flavor": "azureml", "service_connector_index": 0, "service_connector_resource_id": null}]}, "description": "", "environment": null, "labels": {"kitaru.managed": "true"}, "name": "aml2", "secrets": null, "service_connectors": [{"auth_method": "access-token", "configuration": {"subscription_id": "sub-1", "token": "tok3n"}, "type": "azure"}], "stack_spec_path": null}, "connector": {"auth_method": "access-token", "configuration": {"subscription_id": "sub-1", "token": "tok3n"}, "type": "azure"}, "resources": {"artifact_store": "az://container/path", "container_registry": "myreg.azurecr.io", "provider": "azure", "resource_group": "rg-1", "subscription_id": "sub-1", "workspace": "ws-1"}}"#
            )
        );
    }

    /// The connector `credentials` makes for `base`.
    fn connector_for(base: RemoteSpec<'static>, credentials: &str) -> Value {
        let spec = RemoteSpec {
            credentials: Some(credentials),
            ..base
        };
        plan(&spec)
            .unwrap_or_else(|error| panic!("{error}"))
            .connector
            .expect("a connector")
    }

    #[test]
    fn aws_credential_forms() {
        let aws = || kubernetes("s3://b", "1.dkr.ecr.us-east-1.amazonaws.com/r");
        assert_eq!(
            connector_for(aws(), "AWS-Profile: prof "),
            json!({"type": "aws", "auth_method": "implicit",
                   "configuration": {"region": "r", "profile_name": "prof"}})
        );
        let keys = json!({"type": "aws", "auth_method": "secret-key",
            "configuration": {"region": "r", "aws_access_key_id": "AK", "aws_secret_access_key": "SEC"}});
        assert_eq!(connector_for(aws(), "aws-access-keys:AK:SEC"), keys);
        assert_eq!(connector_for(aws(), " aws-access-key : AK : SEC "), keys);
        assert_eq!(
            connector_for(aws(), "aws-session-token:AK:SEC:TOK:EN"),
            json!({"type": "aws", "auth_method": "sts-token",
                   "configuration": {"region": "r", "aws_access_key_id": "AK",
                                     "aws_secret_access_key": "SEC", "aws_session_token": "TOK:EN"}})
        );
        // Blank credentials are no credentials.
        assert_eq!(
            connector_for(aws(), "  "),
            json!({"type": "aws", "auth_method": "implicit", "configuration": {"region": "r"}})
        );
    }

    #[test]
    fn gcp_credential_forms() {
        assert_eq!(
            connector_for(vertex("gs://b", "us-docker.pkg.dev/proj/repo"), " "),
            json!({"type": "gcp", "auth_method": "implicit", "configuration": {"project_id": "proj"}})
        );
        let key = key_file();
        let credentials = format!(" GCP-Service-Account: {} ", key.path().display());
        assert_eq!(
            connector_for(vertex("gs://b", "gcr.io/proj"), &credentials),
            json!({"type": "gcp", "auth_method": "service-account",
                   "configuration": {"project_id": "proj", "service_account_json": KEY_JSON}})
        );
    }

    #[test]
    fn gcp_project_ids() {
        for (registry, project) in [
            ("europe-west4-docker.pkg.dev/p1/repo", "p1"),
            ("docker.pkg.dev/p2/r", "p2"),
            ("https://gcr.io/p3/", "p3"),
            ("eu.gcr.io//p4/image", "p4"),
        ] {
            assert_eq!(gcp_project_id(registry).unwrap(), project, "{registry}");
        }
    }

    #[test]
    fn azure_credential_forms() {
        let azure = || azureml("az://c", "r.azurecr.io");
        let implicit = json!({"type": "azure", "auth_method": "implicit",
                              "configuration": {"subscription_id": "s"}});
        assert_eq!(connector_for(azure(), "IMPLICIT"), implicit);
        assert_eq!(connector_for(azure(), ""), implicit);
        assert_eq!(
            connector_for(azure(), "azure-service-principal:t:c:s:e"),
            json!({"type": "azure", "auth_method": "service-principal",
                   "configuration": {"subscription_id": "s", "tenant_id": "t",
                                     "client_id": "c", "client_secret": "s:e"}})
        );
        assert_eq!(
            connector_for(azure(), "Azure-Access-Token: tok "),
            json!({"type": "azure", "auth_method": "access-token",
                   "configuration": {"subscription_id": "s", "token": "tok"}})
        );
    }

    #[test]
    fn error_texts() {
        let with = |base: RemoteSpec<'static>, credentials: &'static str| RemoteSpec {
            credentials: Some(credentials),
            ..base
        };
        let aws = || kubernetes("s3://b", "x");
        let gcp = || vertex("gs://b", "gcr.io/p");
        let azure = || azureml("az://c", "x");
        let cases = [
            (
                kubernetes("az://c/p", "r.azurecr.io"),
                "artifact_store",
                "Cannot infer cloud provider from 'az://c/p'. Use an s3:// or gs:// URI.",
            ),
            (
                vertex("s3://b", "gcr.io/p"),
                "artifact_store",
                "Vertex stacks require a gs:// artifact store URI. Received: 's3://b'.",
            ),
            (
                sagemaker("gs://b", "x"),
                "artifact_store",
                "SageMaker stacks require an s3:// artifact store URI. Received: 'gs://b'.",
            ),
            (
                azureml("s3://b", "x"),
                "artifact_store",
                "AzureML stacks require an az://, abfs://, or abfss:// artifact store URI. \
                 Received: 's3://b'.",
            ),
            (
                kubernetes("file:///tmp", "x"),
                "artifact_store",
                "Cannot infer cloud provider from 'file:///tmp'. \
                 Use an s3://, gs://, az://, abfs://, or abfss:// URI.",
            ),
            (
                kubernetes("S3://b", "x"),
                "artifact_store",
                "Cannot infer cloud provider from 'S3://b'. \
                 Use an s3://, gs://, az://, abfs://, or abfss:// URI.",
            ),
            (
                kubernetes("s3://", "x"),
                "artifact_store",
                "Unsupported artifact store URI 's3://' for provider 'aws'.",
            ),
            (
                vertex("gs:///p", "gcr.io/p"),
                "artifact_store",
                "Unsupported artifact store URI 'gs:///p' for provider 'gcp'.",
            ),
            (
                azureml("abfss://", "x"),
                "artifact_store",
                "Unsupported artifact store URI 'abfss://' for provider 'azure'.",
            ),
            (
                kubernetes("s3://b", "https://"),
                "container_registry",
                "Container registry URI cannot be empty.",
            ),
            (
                vertex("gs://b", "docker.io/library/x"),
                "container_registry",
                "Cannot infer GCP project ID from container registry URI 'docker.io/library/x'. \
                 Use an Artifact Registry or GCR URI that includes the project segment.",
            ),
            (
                vertex("gs://b", "gcr.io"),
                "container_registry",
                "Cannot infer GCP project ID from container registry URI 'gcr.io'. \
                 Use an Artifact Registry or GCR URI that includes the project segment.",
            ),
            (
                vertex("gs://b", "HTTPS://gcr.io/p"),
                "container_registry",
                "Cannot infer GCP project ID from container registry URI 'HTTPS://gcr.io/p'. \
                 Use an Artifact Registry or GCR URI that includes the project segment.",
            ),
            (
                with(aws(), "aws-profile"),
                "credentials",
                "Invalid AWS credentials format. Use one of: aws-profile:PROFILE, \
                 aws-access-keys:KEY:SECRET, aws-session-token:KEY:SECRET:TOKEN.",
            ),
            (
                with(aws(), "implicit"),
                "credentials",
                "Invalid AWS credentials format. Use one of: aws-profile:PROFILE, \
                 aws-access-keys:KEY:SECRET, aws-session-token:KEY:SECRET:TOKEN.",
            ),
            (
                with(aws(), "aws-profile:  "),
                "credentials",
                "AWS profile name cannot be empty.",
            ),
            (
                with(aws(), "aws-access-keys:AKONLY"),
                "credentials",
                "aws-access-keys credentials must be in the format \
                 aws-access-keys:ACCESS_KEY_ID:SECRET_ACCESS_KEY.",
            ),
            (
                with(aws(), "aws-session-token:AK:SEC"),
                "credentials",
                "aws-session-token credentials must be in the format \
                 aws-session-token:ACCESS_KEY_ID:SECRET_ACCESS_KEY:SESSION_TOKEN.",
            ),
            (
                with(aws(), "gcp-service-account:/k.json"),
                "credentials",
                "Unsupported AWS credentials method. Use one of: \
                 aws-profile, aws-access-keys, aws-session-token.",
            ),
            (
                with(gcp(), "/path/key.json"),
                "credentials",
                "Invalid GCP credentials format. Use gcp-service-account:/path/to/key.json.",
            ),
            (
                with(gcp(), "aws-profile:x"),
                "credentials",
                "Unsupported GCP credentials method. Use: gcp-service-account.",
            ),
            (
                with(gcp(), "gcp-service-account:  "),
                "credentials",
                "GCP service account file path cannot be empty.",
            ),
            (
                with(gcp(), "gcp-service-account:{\"private_key\": \"k\"}"),
                "credentials",
                "GCP service account credentials must name a key file, not contain the key. \
                 Use gcp-service-account:/path/to/key.json.",
            ),
            (
                with(azure(), "tokenonly"),
                "credentials",
                "Invalid Azure credentials format. Use one of: implicit, \
                 azure-service-principal:TENANT_ID:CLIENT_ID:CLIENT_SECRET, \
                 azure-access-token:TOKEN.",
            ),
            (
                with(azure(), "azure-service-principal:t:c"),
                "credentials",
                "azure-service-principal credentials must be in the format \
                 azure-service-principal:TENANT_ID:CLIENT_ID:CLIENT_SECRET.",
            ),
            (
                with(azure(), "azure-access-token: "),
                "credentials",
                "Azure access token cannot be empty.",
            ),
            (
                with(azure(), "aws-profile:x"),
                "credentials",
                "Unsupported Azure credentials method. Use one of: \
                 implicit, azure-service-principal, azure-access-token.",
            ),
        ];
        for (spec, argument, reason) in cases {
            assert_eq!(
                refusal(&spec),
                (argument.to_owned(), reason.to_owned()),
                "{:?}",
                spec.credentials
            );
        }
    }

    #[test]
    fn fields_the_caller_should_have_required_are_still_checked() {
        let cases = [
            (
                RemoteSpec {
                    cluster: None,
                    ..kubernetes("gs://b", "gcr.io/p")
                },
                "cluster",
                "`stack_type=\"kubernetes\"` requires: `cluster`.",
            ),
            (
                RemoteSpec {
                    region: None,
                    ..sagemaker("s3://b", "x")
                },
                "region",
                "`stack_type=\"sagemaker\"` requires: `region`.",
            ),
            (
                RemoteSpec {
                    workspace: None,
                    ..azureml("az://c", "x")
                },
                "workspace",
                "`stack_type=\"azureml\"` requires: `workspace`.",
            ),
        ];
        for (spec, argument, reason) in cases {
            assert_eq!(refusal(&spec), (argument.to_owned(), reason.to_owned()));
        }
    }

    #[test]
    fn unreadable_key_files_are_named_but_not_read_out() {
        for path in ["/nonexistent/key.json", "/tmp"] {
            let credentials = format!("gcp-service-account:{path}");
            let spec = RemoteSpec {
                credentials: Some(&credentials),
                ..vertex("gs://b", "gcr.io/p")
            };
            let (argument, reason) = refusal(&spec);
            assert_eq!(argument, "credentials");
            let prefix = format!("Unable to read GCP service account file '{path}': ");
            assert!(reason.starts_with(&prefix), "{reason}");
        }
    }

    #[test]
    fn home_is_expanded_in_key_paths() {
        let home = Some("/home/me/");
        assert_eq!(
            expand_home("~/k.json", home),
            PathBuf::from("/home/me/k.json")
        );
        assert_eq!(expand_home("~", home), PathBuf::from("/home/me"));
        assert_eq!(expand_home("~other/k", home), PathBuf::from("~other/k"));
        assert_eq!(expand_home("~/k.json", None), PathBuf::from("~/k.json"));
        assert_eq!(expand_home("/a/~/k", home), PathBuf::from("/a/~/k"));
    }

    #[test]
    fn errors_never_quote_secrets() {
        // A marker that no error text contains by itself.
        const HIDDEN: &str = "hunter2";
        let aws = || kubernetes("s3://b", "x");
        let gcp = || vertex("gs://b", "gcr.io/p");
        let azure = || azureml("az://c", "x");
        let cases = [
            (aws(), "hunter2"),
            (aws(), "aws-access-keys:hunter2"),
            (aws(), "aws-access-keys:hunter2:"),
            (aws(), "aws-access-keys::hunter2"),
            (aws(), "aws-session-token:AK:hunter2"),
            (aws(), "aws-bogus:hunter2"),
            (aws(), "hunter2:hunter2"),
            (gcp(), "hunter2"),
            (gcp(), "gcp-bogus:hunter2"),
            (gcp(), "gcp-service-account:{\"private_key\": \"hunter2\"}"),
            (
                gcp(),
                "gcp-service-account:  {\"private_key\": \"hunter2\"}",
            ),
            (azure(), "hunter2"),
            (azure(), "azure-service-principal:t:hunter2"),
            (azure(), "azure-service-principal:t::hunter2"),
            (azure(), "azure-bogus:hunter2"),
        ];
        for (base, credentials) in cases {
            let spec = RemoteSpec {
                credentials: Some(credentials),
                ..base
            };
            let error = match plan(&spec) {
                Err(error) => error.to_string(),
                Ok(_) => panic!("planned with {credentials}"),
            };
            assert!(!error.contains(HIDDEN), "{error}");
        }
        // Nor do they show a key file's contents (here: not UTF-8).
        let mut key = tempfile::NamedTempFile::new().unwrap();
        key.write_all(b"\xff{\"private_key\": \"hunter2\"}")
            .unwrap();
        let credentials = format!("gcp-service-account:{}", key.path().display());
        let spec = RemoteSpec {
            credentials: Some(&credentials),
            ..gcp()
        };
        let (_, reason) = refusal(&spec);
        assert!(reason.starts_with("Unable to read GCP service account file '"));
        assert!(!reason.contains(HIDDEN), "{reason}");
    }

    fn orchestrator_configuration(spec: &RemoteSpec<'_>) -> Value {
        plan(spec).unwrap_or_else(|error| panic!("{error}")).body["components"]["orchestrator"][0]
            ["configuration"]
            .clone()
    }

    #[test]
    fn async_mode_injects_synchronous_false_unless_extra_sets_it() {
        let bases = || {
            [
                kubernetes("gs://b", "gcr.io/p"),
                vertex("gs://b", "gcr.io/p"),
                sagemaker("s3://b", "x"),
                azureml("az://c", "x"),
            ]
        };
        for base in bases() {
            let spec = RemoteSpec {
                async_mode: true,
                ..base
            };
            assert_eq!(
                orchestrator_configuration(&spec)["synchronous"],
                json!(false)
            );
        }
        for base in bases() {
            assert!(
                orchestrator_configuration(&base)
                    .get("synchronous")
                    .is_none()
            );
        }
        for explicit in [json!(true), json!(null)] {
            let extra = extra(json!({"orchestrator": {"synchronous": explicit}}));
            for base in bases() {
                let spec = RemoteSpec {
                    async_mode: true,
                    extra: &extra,
                    ..base
                };
                assert_eq!(orchestrator_configuration(&spec)["synchronous"], explicit);
            }
        }
        // Only the orchestrator gets it.
        let spec = RemoteSpec {
            async_mode: true,
            ..vertex("gs://b", "gcr.io/p")
        };
        let body = plan(&spec).unwrap().body;
        assert_eq!(
            body["components"]["artifact_store"][0]["configuration"],
            json!({"path": "gs://b"})
        );
        assert_eq!(
            body["components"]["container_registry"][0]["configuration"],
            json!({"uri": "gcr.io/p"})
        );
    }

    #[test]
    fn extra_is_merged_recursively_over_the_defaults() {
        let mut base = expected(r#"{"a": {"b": 1, "c": 2}, "d": 1, "e": {"f": 1}}"#)
            .as_object()
            .unwrap()
            .clone();
        let overrides = expected(r#"{"a": {"c": 3, "g": {"h": 4}}, "d": {"x": 1}, "e": 5}"#);
        merge(&mut base, overrides.as_object().unwrap());
        assert_eq!(
            Value::Object(base),
            expected(r#"{"a": {"b": 1, "c": 3, "g": {"h": 4}}, "d": {"x": 1}, "e": 5}"#)
        );

        let extra = extra(json!({
            "orchestrator": {"kubernetes_namespace": "ns", "pod_settings": {"node_selectors": {"a": "b"}}},
            "container_registry": {"default_repository": "repo"},
        }));
        let spec = RemoteSpec {
            extra: &extra,
            ..kubernetes("s3://b", "1.dkr.ecr.us-east-1.amazonaws.com")
        };
        let plan = plan(&spec).unwrap();
        let components = &plan.body["components"];
        assert_eq!(
            components["orchestrator"][0]["configuration"],
            json!({"kubernetes_namespace": "ns", "pod_settings": {"node_selectors": {"a": "b"}}})
        );
        assert_eq!(
            components["container_registry"][0]["configuration"],
            json!({"uri": "1.dkr.ecr.us-east-1.amazonaws.com", "default_repository": "repo"})
        );
        // The summary reports the options, not the overrides.
        assert_eq!(plan.resources["namespace"], "default");
    }

    /// The bodies the 0.21 reference builds for these Modal stacks
    /// (`_build_modal_stack_request`, dumped as JSON).
    #[test]
    fn modal_bodies_are_the_references() {
        let sandbox_settings = extra(json!({"sandbox": {"timeout": 5}}));
        let connectorless = RemoteSpec {
            sandbox: Some("modal"),
            extra: &sandbox_settings,
            ..spec(
                RemoteKind::Modal,
                "m",
                "s3://bucket/kitaru",
                "123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/img",
            )
        };
        let unlinked = |flavor: &str, configuration: Value| {
            json!([{"configuration": configuration, "flavor": flavor,
                    "service_connector_index": null, "service_connector_resource_id": null}])
        };
        let plan_of = |spec: &RemoteSpec<'_>| plan(spec).unwrap_or_else(|error| panic!("{error}"));
        let made = plan_of(&connectorless);
        assert_eq!(made.connector, None);
        assert_eq!(
            made.body,
            json!({
                "components": {
                    "artifact_store": unlinked("s3", json!({"path": "s3://bucket/kitaru"})),
                    "container_registry": unlinked("aws", json!({
                        "default_repository": "team/img",
                        "uri": "123456789012.dkr.ecr.eu-west-1.amazonaws.com"})),
                    "image_builder": unlinked("local", json!({"use_subprocess_call": true})),
                    "orchestrator": unlinked("modal", json!({})),
                    "sandbox": unlinked("modal", json!({"timeout": 5})),
                },
                "description": "", "environment": null, "labels": {"kitaru.managed": "true"},
                "name": "m", "secrets": null, "service_connectors": [], "stack_spec_path": null,
            })
        );
        assert_eq!(
            made.resources,
            json!({"provider": "aws", "artifact_store": "s3://bucket/kitaru",
                   "container_registry": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/img",
                   "sandbox": "modal"})
        );

        let gcp = RemoteSpec {
            region: Some("europe-west4"),
            ..spec(
                RemoteKind::Modal,
                "m",
                "gs://b/x",
                "europe-west4-docker.pkg.dev/proj/repo",
            )
        };
        let made = plan_of(&gcp);
        let connector = json!({"auth_method": "implicit", "configuration": {"project_id": "proj"}, "type": "gcp"});
        assert_eq!(made.connector, Some(connector.clone()));
        assert_eq!(
            made.body["components"],
            json!({
                "artifact_store": [{"configuration": {"path": "gs://b/x"}, "flavor": "gcp",
                    "service_connector_index": 0, "service_connector_resource_id": "gs://b"}],
                "container_registry": [{"configuration": {"uri": "europe-west4-docker.pkg.dev/proj/repo"},
                    "flavor": "gcp", "service_connector_index": 0,
                    "service_connector_resource_id": "europe-west4-docker.pkg.dev/proj/repo"}],
                "image_builder": unlinked("local", json!({"use_subprocess_call": true})),
                "orchestrator": unlinked("modal", json!({})),
            })
        );
        assert_eq!(made.body["service_connectors"], json!([connector]));
    }

    #[test]
    fn modal_refuses_mismatched_clouds_and_inputs() {
        let ecr = "123456789012.dkr.ecr.eu-west-1.amazonaws.com";
        let cases = [
            (
                spec(RemoteKind::Modal, "m", "gs://b", ecr),
                "container_registry",
                "Modal stacks must use an artifact store and container registry from the same \
                 cloud provider. Artifact store 'gs://b' is gcp, but registry \
                 '123456789012.dkr.ecr.eu-west-1.amazonaws.com' is aws.",
            ),
            (
                RemoteSpec {
                    verify: false,
                    ..spec(RemoteKind::Modal, "m", "s3://b", ecr)
                },
                "verify",
                "`verify` only applies when Kitaru is creating a cloud connector for a Modal \
                 stack. Add the needed cloud connector input, such as `region`, \
                 `subscription_id`, or `credentials`, or remove `verify`.",
            ),
            (
                RemoteSpec {
                    region: Some("us-east-1"),
                    ..spec(RemoteKind::Modal, "m", "s3://b", ecr)
                },
                "region",
                "AWS-backed Modal cloud credentials require `region` to match the ECR registry \
                 host. `region` was 'us-east-1', but the registry host uses 'eu-west-1'. Modal \
                 placement still uses `--extra orchestrator.region=...`.",
            ),
            (
                RemoteSpec {
                    credentials: Some("implicit"),
                    ..spec(RemoteKind::Modal, "m", "az://c", "me.azurecr.io")
                },
                "subscription_id",
                "Azure-backed Modal cloud credentials require `subscription_id` so Kitaru can \
                 create the Azure service connector for Blob/ADLS and ACR. Modal placement \
                 still uses `--extra orchestrator.region=...`.",
            ),
        ];
        for (spec, argument, reason) in cases {
            assert_eq!(refusal(&spec), (argument.to_owned(), reason.to_owned()));
        }
    }

    #[test]
    fn a_sandbox_joins_a_remote_stack_unlinked() {
        let spec = RemoteSpec {
            sandbox: Some("kubernetes"),
            ..kubernetes("s3://b", "1.dkr.ecr.us-east-1.amazonaws.com")
        };
        let made = plan(&spec).unwrap();
        assert_eq!(
            made.body["components"]["sandbox"],
            json!([{"flavor": "kubernetes", "service_connector_index": null,
                    "service_connector_resource_id": null, "configuration": {}}])
        );
        assert_eq!(made.resources["sandbox"], "kubernetes");
    }

    #[test]
    fn kind_names() {
        let kinds = [
            (RemoteKind::Kubernetes, "kubernetes"),
            (RemoteKind::Vertex, "vertex"),
            (RemoteKind::Sagemaker, "sagemaker"),
            (RemoteKind::Azureml, "azureml"),
        ];
        for (kind, name) in kinds {
            assert_eq!(kind.as_str(), name);
        }
    }
}
