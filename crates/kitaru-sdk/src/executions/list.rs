//! Finding executions by status, flow and stack, newest first.

use futures_util::TryStreamExt as _;
use kitaru_client::ApiError;
use kitaru_client::builder::ListRuns;
use kitaru_client::paging::Paged as _;
use kitaru_client::types::PipelineRunResponse;

use super::execution::{Execution, PIPELINE_NAME_PREFIX, RunState, flow_name, stack_name};
use super::lookup::newest_runs;
use super::{ExecutionStatus, one_of};
use crate::{Error, Kitaru, ServerLine};

/// Runs per page of the runs query.
const RUN_PAGE_SIZE: usize = 50;

/// Where a listing of executions goes on: a page of the server's runs,
/// newest first in pages of 50, and how many runs of that page were already
/// looked at. [`list_from`] answers with the position after what it listed,
/// so that listing on from there asks for no page before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ListPosition {
    /// The page of runs (from 1).
    pub page: u64,
    /// How many runs of that page come before the position.
    pub index: usize,
}

impl Default for ListPosition {
    /// The start of the listing.
    fn default() -> Self {
        Self { page: 1, index: 0 }
    }
}

/// Which executions to look for; the default matches every execution of
/// the project.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExecutionFilter {
    /// Only executions in this status.
    pub status: Option<ExecutionStatus>,
    /// Only executions of the flow with exactly this name.
    pub flow: Option<String>,
    /// Only executions that ran on the stack with exactly this name.
    pub stack: Option<String>,
}

impl ExecutionFilter {
    /// Only executions in `status`.
    pub fn status(mut self, status: ExecutionStatus) -> Self {
        self.status = Some(status);
        self
    }

    /// Only executions of the flow named `flow`.
    pub fn flow(mut self, flow: impl Into<String>) -> Self {
        self.flow = Some(flow.into());
        self
    }

    /// Only executions that ran on the stack named `stack`.
    pub fn stack(mut self, stack: impl Into<String>) -> Self {
        self.stack = Some(stack.into());
        self
    }
}

/// Lists executions, newest first (`kitaru_executions_list`); at most
/// `limit` of them when given (at least 1).
///
/// Requests per page of up to 50 runs: the runs, the pending waits of the
/// running and paused ones, and the steps of all (for the counts).
/// Items carry the summary keys only.
pub async fn list(
    kitaru: &Kitaru,
    filter: &ExecutionFilter,
    limit: Option<usize>,
) -> Result<Vec<Execution>, Error> {
    if limit == Some(0) {
        return Err(Error::argument(
            "limit",
            "`limit` must be >= 1 when provided.",
        ));
    }
    let page_size = limit.map_or(RUN_PAGE_SIZE, |limit| limit.min(RUN_PAGE_SIZE));
    let (states, _) = filter
        .find(kitaru, ListPosition::default(), page_size, limit)
        .await?;
    Execution::summaries(kitaru, states).await
}

/// Whether the server refused a page number past its last page.
fn is_past_the_last_page(error: &ApiError) -> bool {
    error.status == Some(400) && error.message.contains("Invalid page")
}

/// Up to `count` executions from `from` on, newest first, like
/// [`list`], and the position after the last one listed (`None` when no
/// run comes after it).
///
/// Reads the server's pages of runs from `from.page` on, never an earlier
/// one, so a program can list a long history a part at a time.
pub async fn list_from(
    kitaru: &Kitaru,
    filter: &ExecutionFilter,
    from: ListPosition,
    count: usize,
) -> Result<(Vec<Execution>, Option<ListPosition>), Error> {
    if count == 0 {
        return Err(Error::argument("count", "`count` must be >= 1."));
    }
    let (states, next) = filter
        .find(kitaru, from, RUN_PAGE_SIZE, Some(count))
        .await?;
    Ok((Execution::summaries(kitaru, states).await?, next))
}

/// The newest execution that matches, in detail
/// (`kitaru_executions_latest`); `None` when none does.
pub async fn latest(kitaru: &Kitaru, filter: &ExecutionFilter) -> Result<Option<Execution>, Error> {
    let (mut found, _) = filter
        .find(kitaru, ListPosition::default(), 1, Some(1))
        .await?;
    match found.pop() {
        Some(newest) => Ok(Some(Execution::from_state(kitaru, newest).await?)),
        None => Ok(None),
    }
}

impl ExecutionFilter {
    /// Up to `limit` matching runs (all without a limit) from `from` on,
    /// newest first, with their waits, and the position after the last run
    /// looked at. The server filters by flow, stack and the ZenML statuses
    /// that can map to the wanted one, `page_size` runs a page; the exact
    /// checks (normalised flow name, stack name, waiting or running) are
    /// repeated here.
    async fn find(
        &self,
        kitaru: &Kitaru,
        from: ListPosition,
        page_size: usize,
        limit: Option<usize>,
    ) -> Result<(Vec<RunState>, Option<ListPosition>), Error> {
        let line = kitaru.server().await?.line;
        let mut found = Vec::new();
        let mut skip = from.index;
        let mut pages = std::pin::pin!(
            self.query(kitaru, line, page_size)
                .pages_from(from.page.max(1))
        );
        let mut first = true;
        loop {
            let page = match pages.try_next().await {
                Ok(Some(page)) => page,
                Ok(None) => break,
                Err(error) => {
                    let error = ApiError::read(error).await;
                    // A position handed out before runs were deleted may lie
                    // past the last page now: the listing has ended.
                    if first && from.page > 1 && is_past_the_last_page(&error) {
                        break;
                    }
                    return Err(Error::api("Failed to list executions", error));
                }
            };
            first = false;
            let on_page = page.items.len();
            let (indices, candidates): (Vec<usize>, Vec<Box<PipelineRunResponse>>) = page
                .items
                .into_iter()
                .enumerate()
                .skip(std::mem::take(&mut skip))
                .filter(|(_, run)| self.admits(run))
                .map(|(index, run)| (index, Box::new(run)))
                .unzip();
            let states = RunState::load_all(kitaru, line, candidates).await?;
            for (index, state) in indices.into_iter().zip(states) {
                if self.status.is_none_or(|wanted| state.status() == wanted) {
                    found.push(state);
                }
                if limit.is_some_and(|limit| found.len() >= limit) {
                    let next = if index + 1 < on_page {
                        Some(ListPosition {
                            page: page.number,
                            index: index + 1,
                        })
                    } else {
                        (page.number < page.total_pages).then(|| ListPosition {
                            page: page.number + 1,
                            index: 0,
                        })
                    };
                    return Ok((found, next));
                }
            }
        }
        Ok((found, None))
    }

    /// The runs that may match on a server of `line`, newest first, `size`
    /// a page.
    pub(super) fn query<'a>(
        &self,
        kitaru: &'a Kitaru,
        line: ServerLine,
        size: usize,
    ) -> ListRuns<'a> {
        let mut request = newest_runs(kitaru).size(i64::try_from(size).unwrap_or(i64::MAX));
        if let Some(status) = self.status {
            request = request.status(one_of(&status.zenml_candidates(line)));
        }
        if let Some(flow) = &self.flow {
            let registered = format!("{PIPELINE_NAME_PREFIX}{flow}");
            request = request.pipeline_name(one_of(&[flow.as_str(), registered.as_str()]));
        }
        if let Some(stack) = &self.stack {
            request = request.stack(stack.as_str());
        }
        request
    }

    /// The exact flow and stack checks, on one run.
    pub(super) fn admits(&self, run: &PipelineRunResponse) -> bool {
        self.flow
            .as_ref()
            .is_none_or(|flow| flow_name(run).as_ref() == Some(flow))
            && self
                .stack
                .as_deref()
                .is_none_or(|stack| stack_name(run) == Some(stack))
    }
}
