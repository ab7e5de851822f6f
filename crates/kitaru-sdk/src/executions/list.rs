//! Finding executions by status, flow and stack, newest first.

use kitaru_client::ResponseValue;
use kitaru_client::types::{PagePipelineRunResponse, PipelineRunResponse};

use super::execution::{Execution, PIPELINE_NAME_PREFIX, RunState, flow_name, stack_name};
use super::lookup::newest_runs;
use super::{ClientError, ExecutionStatus, one_of};
use crate::error::ApiContext;
use crate::{Error, Kitaru};

/// Runs per page of the runs query.
const RUN_PAGE_SIZE: usize = 50;

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
    let states = filter.find(kitaru, limit).await?;
    Execution::summaries(kitaru, states).await
}

/// The newest execution that matches, in detail
/// (`kitaru_executions_latest`); `None` when none does.
pub async fn latest(kitaru: &Kitaru, filter: &ExecutionFilter) -> Result<Option<Execution>, Error> {
    match filter.find(kitaru, Some(1)).await?.pop() {
        Some(newest) => Ok(Some(Execution::from_state(kitaru, newest).await?)),
        None => Ok(None),
    }
}

impl ExecutionFilter {
    /// Up to `limit` matching runs (all without a limit), newest first,
    /// with their waits. The server filters by flow, stack and the ZenML
    /// statuses that can map to the wanted one; the exact checks (normalised
    /// flow name, stack name, waiting or running) are repeated here.
    async fn find(&self, kitaru: &Kitaru, limit: Option<usize>) -> Result<Vec<RunState>, Error> {
        let page_size = limit.map_or(RUN_PAGE_SIZE, |limit| limit.min(RUN_PAGE_SIZE));
        let mut found = Vec::new();
        let mut page = 1;
        loop {
            let runs = self
                .query(kitaru, page, page_size)
                .await
                .context("Failed to list executions")?
                .into_inner();
            let candidates: Vec<Box<PipelineRunResponse>> = runs
                .items
                .into_iter()
                .filter(|run| self.admits(run))
                .map(Box::new)
                .collect();
            for state in RunState::load_all(kitaru, candidates).await? {
                if limit.is_some_and(|limit| found.len() >= limit) {
                    break;
                }
                if self.status.is_none_or(|wanted| state.status() == wanted) {
                    found.push(state);
                }
            }
            let complete = limit.is_some_and(|limit| found.len() >= limit);
            if complete || u64::try_from(page).unwrap_or(u64::MAX) >= runs.total_pages {
                return Ok(found);
            }
            page += 1;
        }
    }

    /// One page of the runs that may match, newest first.
    async fn query(
        &self,
        kitaru: &Kitaru,
        page: i64,
        size: usize,
    ) -> Result<ResponseValue<PagePipelineRunResponse>, ClientError> {
        let mut request = newest_runs(kitaru)
            .page(page)
            .size(i64::try_from(size).unwrap_or(i64::MAX));
        if let Some(status) = self.status {
            request = request.status(one_of(&status.zenml_candidates()));
        }
        if let Some(flow) = &self.flow {
            let registered = format!("{PIPELINE_NAME_PREFIX}{flow}");
            request = request.pipeline_name(one_of(&[flow.as_str(), registered.as_str()]));
        }
        if let Some(stack) = &self.stack {
            request = request.stack(stack.as_str());
        }
        request.send().await
    }

    /// The exact flow and stack checks, on one run.
    fn admits(&self, run: &PipelineRunResponse) -> bool {
        self.flow
            .as_ref()
            .is_none_or(|flow| flow_name(run).as_ref() == Some(flow))
            && self
                .stack
                .as_deref()
                .is_none_or(|stack| stack_name(run) == Some(stack))
    }
}
