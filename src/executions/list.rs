//! Finding executions by status, flow and stack, newest first.

use kitaru_client::ResponseValue;
use kitaru_client::types::{PagePipelineRunResponse, PipelineRunResponse};

use super::execution::{Execution, PIPELINE_NAME_PREFIX, RunState, flow_name, stack_name};
use super::lookup::newest_runs;
use super::{ClientError, ExecutionStatus, one_of, optional_limit};
use crate::error::ApiContext;
use crate::tools::args::{ExecutionsLatestArgs, ExecutionsListArgs};
use crate::{Kitaru, ToolError};

/// Runs per page of the runs query.
const RUN_PAGE_SIZE: usize = 50;

/// Lists executions, newest first (`kitaru_executions_list`).
///
/// Requests per page of up to 50 runs: the runs, the pending waits of the
/// running and paused ones, and the steps of all (for the counts).
/// Items carry the summary keys only.
pub async fn list(kitaru: &Kitaru, args: ExecutionsListArgs) -> Result<Vec<Execution>, ToolError> {
    let limit = optional_limit(args.limit)?;
    let filter = Filter::new(args.status, args.flow, args.stack)?;
    let states = filter.find(kitaru, limit).await?;
    Execution::summaries(kitaru, states).await
}

/// The newest execution that matches, in detail (`kitaru_executions_latest`).
pub async fn latest(kitaru: &Kitaru, args: ExecutionsLatestArgs) -> Result<Execution, ToolError> {
    let filter = Filter::new(args.status, args.flow, args.stack)?;
    let newest = filter.find(kitaru, Some(1)).await?.pop();
    let newest = newest.ok_or_else(|| ToolError::NotFound(filter.nothing_found()))?;
    Execution::from_state(kitaru, newest).await
}

/// What executions to look for.
struct Filter {
    /// The status argument as given, for messages.
    status_text: Option<String>,
    status: Option<ExecutionStatus>,
    flow: Option<String>,
    stack: Option<String>,
}

impl Filter {
    fn new(
        status: Option<String>,
        flow: Option<String>,
        stack: Option<String>,
    ) -> Result<Self, ToolError> {
        Ok(Self {
            status: status
                .as_deref()
                .map(ExecutionStatus::parse_filter)
                .transpose()?,
            status_text: status,
            flow,
            stack,
        })
    }

    /// Up to `limit` matching runs (all without a limit), newest first,
    /// with their waits. The server filters by flow, stack and the ZenML
    /// statuses that can map to the wanted one; the exact checks (normalised
    /// flow name, stack name, waiting or running) are repeated here.
    async fn find(
        &self,
        kitaru: &Kitaru,
        limit: Option<usize>,
    ) -> Result<Vec<RunState>, ToolError> {
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

    /// `No executions found for flow='x' and stack='y'.`
    fn nothing_found(&self) -> String {
        let parts: Vec<String> = [
            ("flow", &self.flow),
            ("status", &self.status_text),
            ("stack", &self.stack),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.as_ref().map(|value| format!("{name}='{value}'")))
        .collect();
        if parts.is_empty() {
            "No executions found for the current project.".to_owned()
        } else {
            format!("No executions found for {}.", parts.join(" and "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(status: Option<&str>, flow: Option<&str>, stack: Option<&str>) -> Filter {
        Filter::new(
            status.map(str::to_owned),
            flow.map(str::to_owned),
            stack.map(str::to_owned),
        )
        .unwrap()
    }

    #[test]
    fn nothing_found_names_the_filters_as_given() {
        assert_eq!(
            filter(None, Some("x"), Some("nope")).nothing_found(),
            "No executions found for flow='x' and stack='nope'."
        );
        assert_eq!(
            filter(Some(" Failed"), Some("x"), None).nothing_found(),
            "No executions found for flow='x' and status=' Failed'."
        );
        assert_eq!(
            filter(None, None, None).nothing_found(),
            "No executions found for the current project."
        );
    }

    #[test]
    fn an_unknown_status_is_refused_before_any_request() {
        let error = Filter::new(Some("done".into()), None, None).err().unwrap();
        assert!(
            error
                .to_string()
                .contains("Unsupported status filter 'done'.")
        );
    }
}
