//! Executions: Kitaru's view of ZenML pipeline runs.
//!
//! An execution is a pipeline run, a checkpoint one of its steps, a pending
//! wait a run wait condition. The functions here are the execution tools:
//! [`list`], [`latest`], [`get`], [`logs`], [`cancel`] and [`input`]; the
//! payloads they return keep the reference server's field names and order.
//!
//! Listing and detail use few requests: the runs query filters on the
//! server, and the wait conditions and steps of a whole page of runs come in
//! one query each (`oneof:` filters), as do the artifacts of an execution.

mod cancel;
mod checkpoints;
mod execution;
mod failure;
mod list;
mod logs;
mod lookup;
mod spec;
mod status;
mod waits;

pub use cancel::cancel;
pub(crate) use checkpoints::checkpoint_name;
pub use checkpoints::{Attempt, Checkpoint};
pub use execution::{Execution, ExecutionDetail, ExecutionSummary, get};
pub use failure::{Failure, FailureOrigin};
pub use list::{latest, list};
pub use logs::logs;
pub use spec::{
    ConnectionSettings, FlowDefaults, FrozenExecutionSpec, ImageSettings, ModelAlias,
    ModelRegistry, ResolvedExecution,
};
pub use status::ExecutionStatus;
pub use waits::{PendingWait, input};

pub(crate) use checkpoints::run_artifacts;

use std::future::Future;

use kitaru_client::ResponseValue;
use kitaru_client::types::{self, ErrorBody};

use crate::connection::error_detail;
use crate::{Kitaru, ToolError};

/// Page size of the steps, wait-condition and artifact queries.
const PAGE_SIZE: i64 = 200;

/// The client's error type.
type ClientError = kitaru_client::Error<ErrorBody>;

/// Every item of a paged query; `fetch` sends the request for a page
/// number.
async fn all_pages<P, F, Fut>(mut fetch: F) -> Result<Vec<P::Item>, ClientError>
where
    P: Page,
    F: FnMut(i64) -> Fut,
    Fut: Future<Output = Result<ResponseValue<P>, ClientError>>,
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

/// One page of a list answer.
trait Page {
    /// What the list holds.
    type Item;
    /// The page's items and the number of pages.
    fn into_parts(self) -> (Vec<Self::Item>, u64);
}

macro_rules! page {
    ($($page:ident => $item:ident),+ $(,)?) => {$(
        impl Page for types::$page {
            type Item = types::$item;
            fn into_parts(self) -> (Vec<Self::Item>, u64) {
                (self.items, self.total_pages)
            }
        }
    )+};
}

page!(
    PageStepRunResponse => StepRunResponse,
    PageRunWaitConditionResponse => RunWaitConditionResponse,
    PageArtifactVersionResponse => ArtifactVersionResponse,
);

/// Scopes a list query to the configured project; without one the
/// server's default project applies.
trait InProject: Sized {
    /// The query, scoped.
    fn in_project(self, kitaru: &Kitaru) -> Self;
}

macro_rules! in_project {
    ($($builder:ident),+ $(,)?) => {$(
        impl InProject for kitaru_client::builder::$builder<'_> {
            fn in_project(self, kitaru: &Kitaru) -> Self {
                match kitaru.project() {
                    Some(project) => self.project(project),
                    None => self,
                }
            }
        }
    )+};
}

in_project!(ListRuns, ListRunSteps, ListWaitConditions);

/// A `oneof:` filter value: `oneof:["a","b"]`.
fn one_of<S: AsRef<str>>(values: &[S]) -> String {
    let values: Vec<&str> = values.iter().map(AsRef::as_ref).collect();
    format!("oneof:{}", serde_json::Value::from(values))
}

/// A `limit` argument: at least 1 when given.
pub(crate) fn optional_limit(limit: Option<i64>) -> Result<Option<usize>, ToolError> {
    limit
        .map(|limit| {
            usize::try_from(limit)
                .ok()
                .filter(|limit| *limit >= 1)
                .ok_or_else(|| ToolError::argument("limit", "`limit` must be >= 1 when provided."))
        })
        .transpose()
}

/// The exception a ZenML server answered with
/// (`{"detail": ["KeyError", "message"]}`), or why there was no answer.
#[derive(Debug)]
pub(crate) struct ServerException {
    /// The HTTP status, when the server answered.
    pub status: Option<u16>,
    /// The Python exception's class name, when the server named it.
    pub kind: Option<String>,
    /// The exception's message (or the transport error).
    pub message: String,
}

impl From<ClientError> for ServerException {
    fn from(error: ClientError) -> Self {
        match error {
            kitaru_client::Error::ErrorResponse(answer) => {
                let status = Some(answer.status().as_u16());
                let body = answer.into_inner().0;
                let detail = body.get("detail").unwrap_or(&body);
                match detail.as_array().map(Vec::as_slice) {
                    Some(
                        [
                            serde_json::Value::String(kind),
                            serde_json::Value::String(message),
                        ],
                    ) => Self {
                        status,
                        kind: Some(kind.clone()),
                        message: message.clone(),
                    },
                    _ => Self {
                        status,
                        kind: None,
                        message: error_detail(&body),
                    },
                }
            }
            other => Self {
                status: other.status().map(|s| s.as_u16()),
                kind: None,
                message: other.to_string(),
            },
        }
    }
}

impl ServerException {
    /// Whether the server rejected a value (Python's `ValueError`,
    /// `TypeError`, pydantic's `ValidationError`, or FastAPI's 422).
    fn is_validation(&self) -> bool {
        self.status == Some(422)
            || matches!(
                self.kind.as_deref(),
                Some("ValueError" | "TypeError" | "ValidationError")
            )
    }

    /// An API error saying what was being done.
    fn into_tool_error(self, context: impl Into<String>) -> ToolError {
        ToolError::Api {
            context: context.into(),
            status: self.status,
            detail: self.message,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Asserts that these keys occur in `json` (first occurrences) in this order.
    pub(crate) fn assert_key_order(json: &str, keys: &[&str]) {
        let positions: Vec<usize> = keys
            .iter()
            .map(|key| {
                json.find(&format!("\"{key}\":"))
                    .unwrap_or_else(|| panic!("no key {key} in {json}"))
            })
            .collect();
        assert!(
            positions.windows(2).all(|pair| pair[0] < pair[1]),
            "keys out of order {keys:?} in {json}"
        );
    }

    #[test]
    fn a_one_of_filter_is_a_json_list() {
        assert_eq!(
            one_of(&["paused", "running"]),
            r#"oneof:["paused","running"]"#
        );
        assert_eq!(one_of(&["a\"b"]), r#"oneof:["a\"b"]"#);
    }

    #[test]
    fn a_limit_below_one_is_refused() {
        assert_eq!(optional_limit(None).unwrap(), None);
        assert_eq!(optional_limit(Some(3)).unwrap(), Some(3));
        for bad in [0, -1] {
            let error = optional_limit(Some(bad)).unwrap_err();
            assert!(
                error
                    .to_string()
                    .contains("`limit` must be >= 1 when provided.")
            );
        }
    }
}
