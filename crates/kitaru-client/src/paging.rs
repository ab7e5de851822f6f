//! Paged list answers, and the list requests as streams over the
//! server's own paging.
//!
//! The server answers a list request one page at a time (`page` from 1,
//! `size` items, and the number of pages in `total_pages`). Every list
//! request builder is [`Paged`]: `.stream()` is a
//! [`futures_util::Stream`] of the items that asks for each page
//! when it is reached, `.all()` collects them, and `.pages()` gives the
//! pages themselves, numbered.
//!
//! ```no_run
//! # async fn example(client: &kitaru_client::Client) -> Result<(), kitaru_client::Error<kitaru_client::types::ErrorBody>> {
//! use futures_util::TryStreamExt as _;
//! use kitaru_client::paging::Paged as _;
//!
//! let stacks = client.list_stacks().size(100).all().await?;
//! println!("{} stacks", stacks.len());
//!
//! let mut runs = std::pin::pin!(client.list_runs().sort_by("desc:created").stream());
//! while let Some(run) = runs.try_next().await? {
//!     println!("{}", run.name);
//! }
//! # Ok(())
//! # }
//! ```

use std::future::Future;

use futures_util::{Stream, StreamExt as _, TryStreamExt as _, stream};

use crate::builder;
use crate::types::{self, ErrorBody};
use crate::{Error, ResponseValue};

/// One page of a list answer.
pub trait Page {
    /// What the list holds.
    type Item: Send;
    /// The page's items and the number of pages there are.
    fn into_parts(self) -> (Vec<Self::Item>, u64);
}

/// One page the server sent.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Fetched<T> {
    /// The page's number, from 1.
    pub number: u64,
    /// Its items.
    pub items: Vec<T>,
    /// How many pages there were when it was sent.
    pub total_pages: u64,
}

/// A list request the server answers page by page: the generated request
/// builder of every list operation. Set the filters, the sort order and the
/// page `size` on the builder, then stream or collect.
pub trait Paged: Clone + Send + Sized {
    /// The page type the operation answers with.
    type Page: Page + Send;

    /// Sends the request for page `number` (from 1).
    fn send_page(
        self,
        number: u64,
    ) -> impl Future<Output = Result<ResponseValue<Self::Page>, Error<ErrorBody>>> + Send;

    /// The pages from page `first` on, each asked for when the stream
    /// reaches it; the stream ends after the last page (the first page is
    /// always sent, even when it is empty).
    fn pages_from(
        self,
        first: u64,
    ) -> impl Stream<Item = Result<Fetched<<Self::Page as Page>::Item>, Error<ErrorBody>>> + Send
    {
        stream::try_unfold(Some(first), move |next| {
            let request = self.clone();
            async move {
                let Some(number) = next else {
                    return Ok(None);
                };
                let (items, total_pages) =
                    request.send_page(number).await?.into_inner().into_parts();
                let page = Fetched {
                    number,
                    items,
                    total_pages,
                };
                Ok(Some((page, (number < total_pages).then_some(number + 1))))
            }
        })
    }

    /// Every page, from the first.
    fn pages(
        self,
    ) -> impl Stream<Item = Result<Fetched<<Self::Page as Page>::Item>, Error<ErrorBody>>> + Send
    {
        self.pages_from(1)
    }

    /// Every item, page after page, each page asked for when the stream
    /// reaches it.
    fn stream(
        self,
    ) -> impl Stream<Item = Result<<Self::Page as Page>::Item, Error<ErrorBody>>> + Send {
        self.pages()
            .map_ok(|page| stream::iter(page.items).map(Ok))
            .try_flatten()
    }

    /// Every item of every page.
    fn all(
        self,
    ) -> impl Future<Output = Result<Vec<<Self::Page as Page>::Item>, Error<ErrorBody>>> + Send
    {
        self.stream().try_collect()
    }
}

/// The list request builders and the page types they answer with.
macro_rules! paged {
    ($($builder:ident => $page:ident),+ $(,)?) => {
        $(
            impl Paged for builder::$builder<'_> {
                type Page = types::$page;

                fn send_page(
                    self,
                    number: u64,
                ) -> impl Future<Output = Result<ResponseValue<Self::Page>, Error<ErrorBody>>> + Send
                {
                    self.page(number).send()
                }
            }
        )+
        /// The names of the builders that implement [`Paged`].
        #[cfg(test)]
        const PAGED_BUILDERS: &[&str] = &[$(stringify!($builder)),+];
    };
}

paged!(
    GetRunSteps => PageStepRunResponse,
    ListApiKeys => PageApiKeyResponse,
    ListArtifactVersions => PageArtifactVersionResponse,
    ListArtifacts => PageArtifactResponse,
    ListAuthorizedDevices => PageOAuthDeviceResponse,
    ListBuilds => PagePipelineBuildResponse,
    ListBuildsWorkspaces => PagePipelineBuildResponse,
    ListCodeRepositories => PageCodeRepositoryResponse,
    ListCodeRepositoriesWorkspaces => PageCodeRepositoryResponse,
    ListDeployments => PageDeploymentResponse,
    ListFlavors => PageFlavorResponse,
    ListHookInvocations => PageHookInvocationResponse,
    ListModelVersionArtifactLinks => PageModelVersionArtifactResponse,
    ListModelVersionPipelineRunLinks => PageModelVersionPipelineRunResponse,
    ListModelVersions => PageModelVersionResponse,
    ListModelVersionsModels => PageModelVersionResponse,
    ListModels => PageModelResponse,
    ListPipelineSnapshots => PagePipelineSnapshotResponse,
    ListPipelines => PagePipelineResponse,
    ListPipelinesWorkspaces => PagePipelineResponse,
    ListProjects => PageProjectResponse,
    ListProjectsWorkspaces => PageProjectResponse,
    ListResourcePoolSubjectPolicies => PageResourcePoolSubjectPolicyResponse,
    ListResourcePools => PageResourcePoolResponse,
    ListResourceRequests => PageResourceRequestResponse,
    ListRunSteps => PageStepRunResponse,
    ListRunTemplates => PageRunTemplateResponse,
    ListRunTemplatesWorkspaces => PageRunTemplateResponse,
    ListRuns => PagePipelineRunResponse,
    ListRunsWorkspaces => PagePipelineRunResponse,
    ListSchedules => PageScheduleResponse,
    ListSchedulesWorkspaces => PageScheduleResponse,
    ListSecrets => PageSecretResponse,
    ListServiceAccounts => PageServiceAccountResponse,
    ListServiceConnectors => PageServiceConnectorResponse,
    ListServiceConnectorsWorkspaces => PageServiceConnectorResponse,
    ListServices => PageServiceResponse,
    ListStackComponents => PageComponentResponse,
    ListStackComponentsWorkspaces => PageComponentResponse,
    ListStacks => PageStackResponse,
    ListStacksWorkspaces => PageStackResponse,
    ListTags => PageTagResponse,
    ListTriggers => PageUnionScheduleTriggerResponsePlatformEventTriggerResponseWebhookTriggerResponse,
    ListUsers => PageUserResponse,
    ListWaitConditions => PageRunWaitConditionResponse,
    ListWebhooks => PageWebhookResponse,
);

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
    PageHookInvocationResponse => HookInvocationResponse,
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
    PageUnionScheduleTriggerResponsePlatformEventTriggerResponseWebhookTriggerResponse =>
        PageUnionScheduleTriggerResponsePlatformEventTriggerResponseWebhookTriggerResponseItemsItem,
    PageUserResponse => UserResponse,
    PageWebhookResponse => WebhookResponse,
);

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    /// Each builder's code in the generated client: from its `impl` line
    /// to the next builder's.
    fn builders(generated: &str) -> impl Iterator<Item = (&str, &str)> {
        generated
            .split("\n    impl<'a> ")
            .skip(1)
            .filter_map(|section| {
                let (name, body) = section.split_once("<'a> {")?;
                Some((name, body))
            })
    }

    #[test]
    fn every_list_request_of_the_api_is_paged() {
        let generated = include_str!(concat!(env!("OUT_DIR"), "/kitaru_client.rs"));
        let lists: BTreeSet<&str> = builders(generated)
            .filter(|(_, body)| {
                let answers_a_page =
                    body.split_once("pub async fn send(")
                        .is_some_and(|(_, send)| {
                            send.split_once('{')
                                .is_some_and(|(signature, _)| signature.contains("types::Page"))
                        });
                answers_a_page && body.contains("pub fn page<")
            })
            .map(|(name, _)| name)
            .collect();
        assert!(lists.contains("ListStacks") && lists.contains("ListTriggers"));
        let paged: BTreeSet<&str> = super::PAGED_BUILDERS.iter().copied().collect();
        assert_eq!(lists, paged, "add the new list requests to paging.rs");
    }

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
