//! Modal stacks (kitaru 0.21): the checks made before anything is sent.
//! The artifact store and the container registry must be of one cloud,
//! the registry that cloud's own (ECR, GAR/GCR, ACR); a cloud connector is
//! made only when `region`, `subscription_id` or `credentials` ask for
//! one, and then they must fit the registry.
//!
//! Without them, service connectors the server already has are reused
//! where they match ([`existing_connectors`]): one of the cloud's type for
//! the bucket, one for the registry (the same connector may serve both).

use kitaru_client::paging::Paged as _;
use kitaru_client::types::{ServiceConnectorResponse, ServiceConnectorResponseBodyConnectorType};

use super::remote::{Provider, RemoteSpec, strip_scheme};
use crate::error::ApiContext as _;
use crate::{Error, Kitaru};

/// Where Modal placement is set, as the refusals remind.
const PLACEMENT: &str = "Modal placement still uses `--extra orchestrator.region=...`.";

/// Checks a Modal spec whose artifact store is of `provider`; `Ok(true)`
/// when the stack gets a cloud connector.
pub(crate) fn check(spec: &RemoteSpec<'_>, provider: Provider) -> Result<bool, Error> {
    let registry = spec.container_registry;
    let registry_provider = registry_provider(registry)?;
    if registry_provider != provider {
        return Err(Error::argument(
            "container_registry",
            format!(
                "Modal stacks must use an artifact store and container registry from the same \
                 cloud provider. Artifact store '{}' is {}, but registry '{registry}' is {}.",
                spec.artifact_store,
                provider.as_str(),
                registry_provider.as_str()
            ),
        ));
    }
    let wants_connector =
        spec.region.is_some() || spec.subscription_id.is_some() || spec.credentials.is_some();
    if !wants_connector {
        if !spec.verify {
            return Err(Error::argument(
                "verify",
                "`verify` only applies when Kitaru is creating a cloud connector for a Modal \
                 stack. Add the needed cloud connector input, such as `region`, \
                 `subscription_id`, or `credentials`, or remove `verify`.",
            ));
        }
        return Ok(false);
    }
    match provider {
        Provider::Aws => {
            if spec.subscription_id.is_some() {
                return Err(Error::argument(
                    "subscription_id",
                    "AWS-backed Modal stacks do not use `subscription_id`. Use `region` for the \
                     AWS/ECR region, or use an Azure artifact store and ACR registry for Azure \
                     credentials.",
                ));
            }
            let Some(region) = spec.region else {
                return Err(Error::argument(
                    "region",
                    format!(
                        "AWS-backed Modal cloud credentials require `region`. This is the \
                         AWS/ECR region for the S3/ECR connector. {PLACEMENT}"
                    ),
                ));
            };
            if let Some(ecr_region) = ecr_region(registry).filter(|r| *r != region) {
                return Err(Error::argument(
                    "region",
                    format!(
                        "AWS-backed Modal cloud credentials require `region` to match the ECR \
                         registry host. `region` was '{region}', but the registry host uses \
                         '{ecr_region}'. {PLACEMENT}"
                    ),
                ));
            }
        }
        Provider::Gcp => {
            if spec.subscription_id.is_some() {
                return Err(Error::argument(
                    "subscription_id",
                    "GCP-backed Modal stacks do not use `subscription_id`. Use a gs:// artifact \
                     store and a GAR/GCR registry; Kitaru infers the GCP project from the \
                     registry URI.",
                ));
            }
            if let (Some(region), Some(location)) = (spec.region, gcp_location(registry))
                && region != location
            {
                return Err(Error::argument(
                    "region",
                    format!(
                        "GCP-backed Modal cloud credentials require `region` to match the \
                         GAR/GCR registry host when both are provided. `region` was \
                         '{region}', but the registry host uses '{location}'. {PLACEMENT}"
                    ),
                ));
            }
        }
        Provider::Azure => {
            if spec.subscription_id.is_none() {
                return Err(Error::argument(
                    "subscription_id",
                    format!(
                        "Azure-backed Modal cloud credentials require `subscription_id` so \
                         Kitaru can create the Azure service connector for Blob/ADLS and ACR. \
                         {PLACEMENT}"
                    ),
                ));
            }
        }
    }
    Ok(true)
}

/// The host of a registry URI (a leading lower-case `scheme://` and
/// trailing slashes dropped).
fn host(container_registry: &str) -> Result<&str, Error> {
    let registry = strip_scheme(container_registry.trim()).trim_end_matches('/');
    if registry.is_empty() {
        return Err(Error::argument(
            "container_registry",
            "Container registry URI cannot be empty.",
        ));
    }
    Ok(registry.split('/').next().unwrap_or(registry))
}

/// The region of an ECR host (`<account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn]`).
fn ecr_region(container_registry: &str) -> Option<&str> {
    let host = host(container_registry).ok()?;
    let host = host.strip_suffix(".cn").unwrap_or(host);
    let rest = host.strip_suffix(".amazonaws.com")?;
    let (account, rest) = rest.split_once('.')?;
    if account.is_empty() || !account.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let region = rest
        .strip_prefix("dkr.ecr-fips.")
        .or_else(|| rest.strip_prefix("dkr.ecr."))?;
    let fits = !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    fits.then_some(region)
}

/// The location of a GAR (`<location>-docker.pkg.dev`) or regional GCR host.
fn gcp_location(container_registry: &str) -> Option<&str> {
    let host = host(container_registry).ok()?;
    if let Some(location) = host.strip_suffix("-docker.pkg.dev") {
        return Some(location);
    }
    match host {
        "us.gcr.io" => Some("us"),
        "eu.gcr.io" => Some("eu"),
        "asia.gcr.io" => Some("asia"),
        _ => None,
    }
}

/// The cloud of a provider-native registry.
fn registry_provider(container_registry: &str) -> Result<Provider, Error> {
    let host = host(container_registry)?;
    if ecr_region(container_registry).is_some() {
        return Ok(Provider::Aws);
    }
    if ["gcr.io", "us.gcr.io", "eu.gcr.io", "asia.gcr.io"].contains(&host)
        || host.ends_with("-docker.pkg.dev")
    {
        return Ok(Provider::Gcp);
    }
    if host.ends_with(".azurecr.io") {
        return Ok(Provider::Azure);
    }
    Err(Error::argument(
        "container_registry",
        format!(
            "Credentialed Modal stacks require a provider-native private registry: AWS ECR, \
             Google Artifact Registry/GCR, or Azure Container Registry. Received \
             '{container_registry}'."
        ),
    ))
}

/// A service connector a Modal stack's component reuses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Reuse {
    /// The connector's id.
    pub connector_id: String,
    /// The resource the component reaches through it (the bucket's or the
    /// registry's resource id, as a new connector would be scoped).
    pub resource_id: String,
}

/// The connectors a Modal stack reuses: for its artifact store and its
/// container registry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Reused {
    pub artifact_store: Reuse,
    pub container_registry: Reuse,
}

/// What one component's connector is looked for by.
struct Lookup {
    component: &'static str,
    connector_type: &'static str,
    resource_type: &'static str,
    /// The resource id a new connector would be scoped to.
    target: String,
    /// The resource ids (normalised) a scoped connector may name.
    acceptable: Vec<String>,
}

impl Lookup {
    fn describe(&self) -> String {
        format!(
            "{} connector type '{}', resource type '{}', resource ID '{}'",
            self.component, self.connector_type, self.resource_type, self.target
        )
    }
}

/// A resource id compared leniently: trimmed, without a lower-case
/// `scheme://` or trailing slashes; `None` when nothing is left.
fn normalized(resource_id: Option<&str>) -> Option<String> {
    let trimmed = resource_id?.trim();
    let id = strip_scheme(trimmed).trim_end_matches('/');
    (!id.is_empty()).then(|| id.to_owned())
}

/// The service connectors of the server to reuse for a Modal stack given
/// no cloud connector inputs: for each of the artifact store and the
/// container registry, the connectors of the cloud's type that serve the
/// resource type, preferring those scoped to the very resource over those
/// scoped to none. `None` when neither finds any (the stack then has no
/// connector). Two candidates for one component, or one component found
/// and the other not, is refused, saying what was found and looked for.
pub(crate) async fn existing_connectors(
    kitaru: &Kitaru,
    provider: Provider,
    store_resource_id: &str,
    container_registry: &str,
    registry_resource_id: &str,
) -> Result<Option<Reused>, Error> {
    let connector_type = provider.as_str();
    let store_type = match provider {
        Provider::Aws => "s3-bucket",
        Provider::Gcp => "gcs-bucket",
        Provider::Azure => "blob-container",
    };
    let mut store_ids = vec![store_resource_id.trim_end_matches('/').to_owned()];
    if let Some((_, rest)) = store_resource_id.split_once("://") {
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        if !authority.is_empty() {
            store_ids.push(authority.to_owned());
        }
    }
    let registry = strip_scheme(container_registry.trim()).trim_end_matches('/');
    let registry_ids = [
        registry_resource_id.trim_end_matches('/'),
        registry,
        registry.split('/').next().unwrap_or_default(),
    ];
    let acceptable = |ids: &mut dyn Iterator<Item = &str>| {
        let mut acceptable: Vec<String> = ids.filter_map(|id| normalized(Some(id))).collect();
        acceptable.sort();
        acceptable.dedup();
        acceptable
    };
    let lookups = [
        Lookup {
            component: "artifact store",
            connector_type,
            resource_type: store_type,
            target: store_resource_id.to_owned(),
            acceptable: acceptable(&mut store_ids.iter().map(String::as_str)),
        },
        Lookup {
            component: "container registry",
            connector_type,
            resource_type: "docker-registry",
            target: registry_resource_id.to_owned(),
            acceptable: acceptable(&mut registry_ids.into_iter()),
        },
    ];
    let mut found = Vec::new();
    for lookup in &lookups {
        found.push(candidates(kitaru, lookup).await?);
    }
    if found.iter().all(Vec::is_empty) {
        return Ok(None);
    }
    let ambiguous: Vec<String> = lookups
        .iter()
        .zip(&found)
        .filter(|(_, matches)| matches.len() > 1)
        .map(|(lookup, matches)| {
            let labels: Vec<String> = matches.iter().map(label).collect();
            format!(
                "{} matched {} connectors: {}",
                lookup.describe(),
                matches.len(),
                labels.join(", ")
            )
        })
        .collect();
    if !ambiguous.is_empty() {
        return Err(Error::argument(
            "credentials",
            format!(
                "Kitaru found ambiguous existing service connectors for this Modal stack. {}. \
                 Narrow the connectors to one matching resource or pass explicit cloud \
                 credentials so Kitaru creates a new connector.",
                ambiguous.join("; ")
            ),
        ));
    }
    if found.iter().any(Vec::is_empty) {
        let present: Vec<String> = lookups
            .iter()
            .zip(&found)
            .filter_map(|(lookup, matches)| {
                let connector = matches.first()?;
                Some(format!(
                    "found {} for {}",
                    label(connector),
                    lookup.component
                ))
            })
            .collect();
        let missing: Vec<String> = lookups
            .iter()
            .zip(&found)
            .filter(|(_, matches)| matches.is_empty())
            .map(|(lookup, _)| lookup.describe())
            .collect();
        return Err(Error::argument(
            "credentials",
            format!(
                "Kitaru found only part of the existing service connector pair needed for this \
                 Modal stack: {}. Missing: {}. Create the missing server-side ZenML service \
                 connector, remove the partial match if this should be connectorless, or pass \
                 explicit cloud credentials so Kitaru creates a new connector.",
                present.join("; "),
                missing.join("; ")
            ),
        ));
    }
    let reuse = |index: usize| Reuse {
        connector_id: found[index][0].id.to_string(),
        resource_id: lookups[index].target.clone(),
    };
    Ok(Some(Reused {
        artifact_store: reuse(0),
        container_registry: reuse(1),
    }))
}

/// The connectors one lookup finds: those scoped to an acceptable resource
/// if any, else those scoped to none.
async fn candidates(
    kitaru: &Kitaru,
    lookup: &Lookup,
) -> Result<Vec<ServiceConnectorResponse>, Error> {
    let connectors = kitaru
        .client
        .list_service_connectors()
        // The operation's optional body: labels to match (none here).
        .body(None)
        .connector_type(lookup.connector_type)
        .resource_type(lookup.resource_type)
        .hydrate(true)
        .size(100)
        .all()
        .await
        .context("Failed to list the service connectors")?;
    let (mut scoped, mut unscoped) = (Vec::new(), Vec::new());
    for connector in connectors {
        let Some(body) = &connector.body else {
            continue;
        };
        let kind = match &body.connector_type {
            ServiceConnectorResponseBodyConnectorType::String(kind) => kind.as_str(),
            ServiceConnectorResponseBodyConnectorType::ServiceConnectorTypeModel(model) => {
                model.connector_type.as_str()
            }
        };
        if kind != lookup.connector_type
            || !body
                .resource_types
                .iter()
                .any(|t| t == lookup.resource_type)
        {
            continue;
        }
        match normalized(body.resource_id.as_deref()) {
            None => unscoped.push(connector),
            Some(id) if lookup.acceptable.contains(&id) => scoped.push(connector),
            Some(_) => {}
        }
    }
    Ok(if scoped.is_empty() { unscoped } else { scoped })
}

/// A connector as refusals name it: `name (id) for resource`.
fn label(connector: &ServiceConnectorResponse) -> String {
    let id = connector.id.to_string();
    let name = connector.name.trim();
    let mut label = if name.is_empty() {
        id.clone()
    } else {
        name.to_owned()
    };
    if id != label {
        label = format!("{label} ({id})");
    }
    if let Some(resource) = connector
        .body
        .as_ref()
        .and_then(|body| body.resource_id.as_deref())
        .map(str::trim)
        .filter(|r| !r.is_empty())
    {
        label = format!("{label} for {resource}");
    }
    label
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connector_resource_ids_compare_without_scheme_or_trailing_slashes() {
        assert_eq!(normalized(Some(" gs://bucket/ ")), Some("bucket".into()));
        // A scheme is letters only (as kitaru's pattern has it): `s3://`
        // stays.
        assert_eq!(normalized(Some("s3://bucket/")), Some("s3://bucket".into()));
        assert_eq!(normalized(Some("bucket")), Some("bucket".into()));
        assert_eq!(
            normalized(Some("https://1.dkr.ecr.eu-west-1.amazonaws.com//")),
            Some("1.dkr.ecr.eu-west-1.amazonaws.com".into())
        );
        // Only a lower-case scheme is one.
        assert_eq!(normalized(Some("S3://bucket")), Some("S3://bucket".into()));
        assert_eq!(normalized(Some(" / ")), None);
        assert_eq!(normalized(None), None);
    }

    #[test]
    fn registries_name_their_cloud_and_place() {
        let ecr = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/kitaru";
        assert_eq!(registry_provider(ecr).unwrap(), Provider::Aws);
        assert_eq!(ecr_region(ecr), Some("eu-west-1"));
        assert_eq!(
            ecr_region("https://1.dkr.ecr-fips.us-east-1.amazonaws.com.cn/"),
            Some("us-east-1")
        );
        assert_eq!(ecr_region("x.dkr.ecr.eu-west-1.amazonaws.com"), None);
        let gar = "europe-west4-docker.pkg.dev/proj/repo";
        assert_eq!(registry_provider(gar).unwrap(), Provider::Gcp);
        assert_eq!(gcp_location(gar), Some("europe-west4"));
        assert_eq!(gcp_location("gcr.io/p"), None);
        assert_eq!(gcp_location("eu.gcr.io/p"), Some("eu"));
        assert_eq!(registry_provider("me.azurecr.io").unwrap(), Provider::Azure);
        assert!(matches!(
            registry_provider("docker.io/library/x"),
            Err(Error::InvalidArgument { reason, .. })
                if reason.ends_with("Received 'docker.io/library/x'.")
        ));
        assert!(matches!(
            registry_provider("https://"),
            Err(Error::InvalidArgument { reason, .. })
                if reason == "Container registry URI cannot be empty."
        ));
    }
}
