//! Paged list answers: every `Page*` type of the API, and a helper that
//! collects all pages of a query.
//!
//! ```no_run
//! # async fn example(client: &kitaru_client::Client) -> Result<(), kitaru_client::Error<kitaru_client::types::ErrorBody>> {
//! use kitaru_client::paging::all_pages;
//!
//! let stacks = all_pages(|page| client.list_stacks().page(page).size(100).send()).await?;
//! println!("{} stacks", stacks.len());
//! # Ok(())
//! # }
//! ```

use std::future::Future;

use crate::types::{self, ErrorBody};
use crate::{Error, ResponseValue};

/// One page of a list answer.
pub trait Page {
    /// What the list holds.
    type Item;
    /// The page's items and the number of pages there are.
    fn into_parts(self) -> (Vec<Self::Item>, u64);
}

/// Every item of a paged query, page after page; `fetch` sends the request
/// for a page number (the first page is 1).
pub async fn all_pages<P, F, Fut>(mut fetch: F) -> Result<Vec<P::Item>, Error<ErrorBody>>
where
    P: Page,
    F: FnMut(i64) -> Fut,
    Fut: Future<Output = Result<ResponseValue<P>, Error<ErrorBody>>>,
{
    let mut items = Vec::new();
    let mut page = 1;
    loop {
        let (batch, total_pages) = fetch(page).await?.into_inner().into_parts();
        items.extend(batch);
        if u64::try_from(page).unwrap_or(u64::MAX) >= total_pages {
            return Ok(items);
        }
        page += 1;
    }
}

macro_rules! pages {
    ($($page:ident => $item:ident),+ $(,)?) => {
        $(
            impl Page for types::$page {
                type Item = types::$item;
                fn into_parts(self) -> (Vec<Self::Item>, u64) {
                    (self.items, self.total_pages)
                }
            }
        )+
        /// The names of the page types that implement [`Page`].
        #[cfg(test)]
        const PAGE_TYPES: &[&str] = &[$(stringify!($page)),+];
    };
}

pages!(
    PageApiKeyResponse => ApiKeyResponse,
    PageArtifactResponse => ArtifactResponse,
    PageArtifactVersionResponse => ArtifactVersionResponse,
    PageCodeRepositoryResponse => CodeRepositoryResponse,
    PageComponentResponse => ComponentResponse,
    PageDeploymentResponse => DeploymentResponse,
    PageFlavorResponse => FlavorResponse,
    PageModelResponse => ModelResponse,
    PageModelVersionArtifactResponse => ModelVersionArtifactResponse,
    PageModelVersionPipelineRunResponse => ModelVersionPipelineRunResponse,
    PageModelVersionResponse => ModelVersionResponse,
    PageOAuthDeviceResponse => OAuthDeviceResponse,
    PagePipelineBuildResponse => PipelineBuildResponse,
    PagePipelineResponse => PipelineResponse,
    PagePipelineRunResponse => PipelineRunResponse,
    PagePipelineSnapshotResponse => PipelineSnapshotResponse,
    PageProjectResponse => ProjectResponse,
    PageResourcePoolResponse => ResourcePoolResponse,
    PageResourcePoolSubjectPolicyResponse => ResourcePoolSubjectPolicyResponse,
    PageResourceRequestResponse => ResourceRequestResponse,
    PageRunTemplateResponse => RunTemplateResponse,
    PageRunWaitConditionResponse => RunWaitConditionResponse,
    PageScheduleResponse => ScheduleResponse,
    PageSecretResponse => SecretResponse,
    PageServiceAccountResponse => ServiceAccountResponse,
    PageServiceConnectorResponse => ServiceConnectorResponse,
    PageServiceResponse => ServiceResponse,
    PageStackResponse => StackResponse,
    PageStepRunResponse => StepRunResponse,
    PageTagResponse => TagResponse,
    PageUnionScheduleTriggerResponsePlatformEventTriggerResponse =>
        PageUnionScheduleTriggerResponsePlatformEventTriggerResponseItemsItem,
    PageUserResponse => UserResponse,
);

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    #[test]
    fn every_page_type_of_the_api_is_a_page() {
        let generated = include_str!(concat!(env!("OUT_DIR"), "/kitaru_client.rs"));
        let in_api: BTreeSet<&str> = generated
            .lines()
            .filter_map(|line| line.strip_prefix("    pub struct Page"))
            .filter_map(|rest| rest.split_whitespace().next())
            .map(|name| &name[..name.len()])
            .collect();
        let implemented: BTreeSet<&str> = super::PAGE_TYPES
            .iter()
            .map(|name| name.strip_prefix("Page").unwrap_or(name))
            .collect();
        assert_eq!(in_api, implemented, "add the new Page types to paging.rs");
    }
}
