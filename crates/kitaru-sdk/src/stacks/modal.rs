//! Modal stacks (kitaru 0.21): the checks made before anything is sent.
//! The artifact store and the container registry must be of one cloud,
//! the registry that cloud's own (ECR, GAR/GCR, ACR); a cloud connector is
//! made only when `region`, `subscription_id` or `credentials` ask for
//! one, and then they must fit the registry.

use super::remote::{Provider, RemoteSpec, strip_scheme};
use crate::Error;

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

#[cfg(test)]
mod tests {
    use super::*;

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
