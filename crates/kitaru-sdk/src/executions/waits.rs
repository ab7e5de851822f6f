//! Waits: an execution blocked on `kitaru.wait(...)` until someone gives it
//! input. In ZenML terms, a pending run wait condition.

use std::collections::HashMap;

use kitaru_client::types::{
    self, RunWaitConditionResolution, RunWaitConditionResolveRequest, RunWaitConditionResponse,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{Execution, InProject, PAGE_SIZE, lookup, one_of};
use crate::error::ApiContext;
use crate::{Error, Kitaru};
use kitaru_client::ApiError;
use kitaru_client::paging::Paged as _;

/// A wait the execution is blocked on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct PendingWait {
    /// The wait's id; `kitaru_executions_input` accepts it or the name.
    pub wait_id: String,
    /// The `name=` given to `kitaru.wait`.
    pub name: String,
    /// The question asked, if any.
    pub question: Option<String>,
    /// JSON Schema the input must satisfy (from the wait's `schema=` type),
    /// e.g. `{"type": "boolean"}`.
    pub schema: Option<Map<String, Value>>,
    /// The `metadata=` given to `kitaru.wait`.
    pub metadata: Map<String, Value>,
    /// When the execution started waiting.
    pub entered_waiting_at: Option<String>,
}

impl PendingWait {
    /// The pending wait of a hydrated wait condition.
    pub(crate) fn from_condition(condition: &RunWaitConditionResponse) -> Self {
        let metadata = condition.metadata.as_ref();
        Self {
            wait_id: condition.id.to_string(),
            name: condition.name.clone(),
            question: metadata.and_then(|m| m.question.clone()),
            schema: metadata.and_then(|m| m.data_schema.clone()),
            metadata: metadata.map(|m| m.run_metadata.clone()).unwrap_or_default(),
            entered_waiting_at: condition.body.as_ref().map(|b| b.created.to_string()),
        }
    }
}

/// The pending (hydrated) wait conditions of each of these runs, oldest
/// first, in one request per 200 conditions.
pub(crate) async fn pending_waits_of(
    kitaru: &Kitaru,
    run_ids: &[String],
) -> Result<HashMap<String, Vec<RunWaitConditionResponse>>, Error> {
    let mut by_run: HashMap<String, Vec<RunWaitConditionResponse>> = HashMap::new();
    if run_ids.is_empty() {
        return Ok(by_run);
    }
    let runs = one_of(run_ids);
    let conditions = kitaru
        .client
        .list_wait_conditions()
        .hydrate(true)
        .sort_by("asc:created")
        .status("pending")
        .pipeline_run(runs.as_str())
        .size(PAGE_SIZE)
        .in_project(kitaru)
        .all()
        .await
        .context("Failed to list pending waits")?;
    for condition in conditions {
        if let Some(run) = condition.resources.as_ref().map(|r| r.run.id.to_string()) {
            by_run.entry(run).or_default().push(condition);
        }
    }
    Ok(by_run)
}

/// Execution `exec_id`'s run and its pending waits, oldest first.
pub(crate) async fn run_with_pending_waits(
    kitaru: &Kitaru,
    exec_id: &str,
) -> Result<
    (
        Box<types::PipelineRunResponse>,
        Vec<RunWaitConditionResponse>,
    ),
    Error,
> {
    let run = lookup::find_run(kitaru, exec_id).await?;
    let run_id = run.id.to_string();
    let pending = pending_waits_of(kitaru, std::slice::from_ref(&run_id))
        .await?
        .remove(&run_id)
        .unwrap_or_default();
    Ok((run, pending))
}

/// The wait an execution is blocked on: the run's active condition when it
/// is pending, else its oldest pending one.
pub(crate) fn current_wait<'a>(
    run: &types::PipelineRunResponse,
    pending: &'a [RunWaitConditionResponse],
) -> Option<&'a RunWaitConditionResponse> {
    let active = run
        .resources
        .as_ref()
        .and_then(|r| r.active_wait_condition.as_ref())
        .map(|condition| condition.id);
    active
        .and_then(|id| pending.iter().find(|condition| condition.id == id))
        .or_else(|| pending.first())
}

/// Gives a waiting execution its input (`kitaru_executions_input`).
///
/// The wait is named by name or id; the value is checked against the type
/// in the wait's schema before the server (which checks the whole schema)
/// sees it. On a paused execution (whose wait timed out) the run stays
/// paused afterwards, waiting for a manual resume: its `status_reason` then
/// says `Waiting for manual resume.`.
pub async fn input(
    kitaru: &Kitaru,
    exec_id: &str,
    wait: &str,
    value: Value,
) -> Result<Execution, Error> {
    resolve(kitaru, exec_id, wait, Some(value)).await
}

/// Aborts a pending wait of an execution (`kitaru_executions_abort_wait`),
/// named by name or id. The server then marks the run stopped (`status_reason`
/// `Wait condition was aborted.`) and a runner still polling the wait ends
/// without failing it; no other wait is touched.
pub async fn abort_wait(kitaru: &Kitaru, exec_id: &str, wait: &str) -> Result<Execution, Error> {
    resolve(kitaru, exec_id, wait, None).await
}

/// Resolves the pending wait `wait` of `exec_id`: continues it with
/// `value`, or aborts it (`None`).
async fn resolve(
    kitaru: &Kitaru,
    exec_id: &str,
    wait: &str,
    value: Option<Value>,
) -> Result<Execution, Error> {
    let (run, pending) = run_with_pending_waits(kitaru, exec_id).await?;
    let run_id = run.id.to_string();
    if pending.is_empty() {
        return Err(Error::State(no_pending_wait(exec_id, &run)));
    }
    let condition = select_wait(&pending, wait, &run_id)?;
    let wait = PendingWait::from_condition(condition);
    if let Some(value) = &value
        && let Some(expected) = wait.schema.as_ref().and_then(schema_types)
        && !expected.iter().any(|name| value_has_type(value, name))
    {
        return Err(Error::argument(
            "value",
            format!(
                "Wait input does not match the pending wait schema type ({}).",
                python_list(&expected)
            ),
        ));
    }
    resolve_condition(kitaru, condition.id, value)
        .await
        .map_err(|exception| {
            if exception.is_validation() {
                Error::argument(
                    "value",
                    format!(
                        "Wait input failed validation for '{}' on execution '{}': {}",
                        wait.name, exec_id, exception.message
                    ),
                )
            } else {
                Error::api(
                    format!(
                        "Failed to resolve wait condition '{}' for execution '{}'",
                        wait.name, exec_id
                    ),
                    exception,
                )
            }
        })?;
    Execution::load(kitaru, lookup::reload(kitaru, &run_id).await?).await
}

/// Resolves wait condition `condition`: continues it with `value`, or
/// aborts it (`None`: the server then stops the run).
pub(crate) async fn resolve_condition(
    kitaru: &Kitaru,
    condition: uuid::Uuid,
    value: Option<Value>,
) -> Result<(), ApiError> {
    let request = RunWaitConditionResolveRequest {
        resolution: if value.is_some() {
            RunWaitConditionResolution::Continue
        } else {
            RunWaitConditionResolution::Abort
        },
        result: value,
        user: None,
    };
    kitaru
        .client
        .resolve_run_wait_condition()
        .run_wait_condition_id(condition)
        .body(request)
        .send()
        .await
        .map(drop)
        .map_err(ApiError::from)
}

/// Why there is nothing to give input to, and what to do instead.
fn no_pending_wait(exec_id: &str, run: &types::PipelineRunResponse) -> String {
    let mut message = format!("Execution '{exec_id}' has no pending waits to resolve.");
    let body = run.body.as_ref();
    if body.is_some_and(|b| b.status == types::ExecutionStatus::Paused) {
        message.push_str(
            " It is paused waiting for a manual resume (its input was already given); \
             resume it with the Kitaru CLI or SDK (`kitaru executions resume`).",
        );
    }
    message
}

/// The pending wait `selector` names: by exact name first, then by id.
fn select_wait<'a>(
    pending: &'a [RunWaitConditionResponse],
    selector: &str,
    run_id: &str,
) -> Result<&'a RunWaitConditionResponse, Error> {
    let selector = selector.trim();
    if selector.is_empty() {
        return Err(Error::argument(
            "wait",
            "`wait` must be a non-empty string.",
        ));
    }
    let by_name: Vec<_> = pending.iter().filter(|c| c.name == selector).collect();
    match by_name.as_slice() {
        [one] => return Ok(one),
        [] => {}
        _ => {
            return Err(Error::argument(
                "wait",
                format!("Multiple pending waits match '{selector}' for execution '{run_id}'."),
            ));
        }
    }
    pending
        .iter()
        .find(|c| c.id.to_string() == selector.to_lowercase())
        .ok_or_else(|| {
            let mut names: Vec<&str> = pending.iter().map(|c| c.name.as_str()).collect();
            names.sort_unstable();
            Error::NotFound(format!(
                "Execution '{run_id}' has no pending wait '{selector}'. Available waits: {}.",
                names.join(", ")
            ))
        })
}

/// The JSON types a wait schema's `type` allows, if it says.
fn schema_types(schema: &Map<String, Value>) -> Option<Vec<String>> {
    match schema.get("type")? {
        Value::String(name) => Some(vec![name.clone()]),
        Value::Array(names) => Some(
            names
                .iter()
                .filter_map(|name| name.as_str().map(str::to_owned))
                .collect(),
        )
        .filter(|names: &Vec<String>| !names.is_empty()),
        _ => None,
    }
}

/// Whether `value` is of the JSON Schema type `name`; unknown type names
/// accept anything (the server checks the full schema anyway).
fn value_has_type(value: &Value, name: &str) -> bool {
    match name {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "string" => value.is_string(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        _ => true,
    }
}

/// `['boolean', 'null']`, as the reference prints the expected types.
fn python_list(names: &[String]) -> String {
    let quoted: Vec<String> = names.iter().map(|name| format!("'{name}'")).collect();
    format!("[{}]", quoted.join(", "))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn condition(id: &str, name: &str, created: &str) -> RunWaitConditionResponse {
        serde_json::from_value(json!({
            "id": id,
            "name": name,
            "permission_denied": false,
            "body": {
                "created": created, "updated": created,
                "project_id": "d1fa1388-9387-4b5c-8af7-1d3c87ef5922",
                "type": "external_input", "status": "pending",
            },
            "metadata": {
                "question": "Approve?",
                "data_schema": {"type": "boolean"},
                "run_metadata": {"reviewer": "ops"},
            },
        }))
        .unwrap()
    }

    const A: &str = "0ddc6a30-01c9-4ba8-9803-126a687572f9";
    const B: &str = "957db532-16be-4ac1-a4e0-faa7261d4742";

    #[test]
    fn a_pending_wait_carries_the_conditions_question_schema_and_metadata() {
        let wait =
            PendingWait::from_condition(&condition(A, "approve", "2026-11-26T13:45:27.268623"));
        assert_eq!(
            serde_json::to_value(&wait).unwrap(),
            json!({
                "wait_id": A, "name": "approve", "question": "Approve?",
                "schema": {"type": "boolean"}, "metadata": {"reviewer": "ops"},
                "entered_waiting_at": "2026-11-26T13:45:27.268623",
            })
        );
    }

    #[test]
    fn a_wait_is_selected_by_name_then_by_id() {
        let pending = [
            condition(A, "approve", "2026-11-26T13:45:27"),
            condition(B, "review", "2026-11-26T13:45:28"),
        ];
        assert_eq!(
            select_wait(&pending, " review ", "r")
                .unwrap()
                .id
                .to_string(),
            B
        );
        assert_eq!(
            select_wait(&pending, &A.to_uppercase(), "r").unwrap().name,
            "approve"
        );
    }

    #[test]
    fn an_unknown_wait_lists_the_available_ones() {
        let pending = [
            condition(B, "review", "2026-11-26T13:45:28"),
            condition(A, "approve", "2026-11-26T13:45:27"),
        ];
        let error = select_wait(&pending, "ship", "r1").unwrap_err();
        assert_eq!(
            error.to_string(),
            "Execution 'r1' has no pending wait 'ship'. Available waits: approve, review."
        );
    }

    #[test]
    fn two_waits_with_the_same_name_are_ambiguous() {
        let pending = [
            condition(A, "approve", "2026-11-26T13:45:27"),
            condition(B, "approve", "2026-11-26T13:45:28"),
        ];
        let error = select_wait(&pending, "approve", "r1").unwrap_err();
        assert!(
            error
                .to_string()
                .ends_with("Multiple pending waits match 'approve' for execution 'r1'."),
            "{error}"
        );
    }

    #[test]
    fn a_blank_selector_is_refused() {
        let pending = [condition(A, "approve", "2026-11-26T13:45:27")];
        let error = select_wait(&pending, "  ", "r1").unwrap_err();
        assert!(
            error
                .to_string()
                .contains("`wait` must be a non-empty string.")
        );
    }

    #[test]
    fn the_value_must_have_one_of_the_schema_types() {
        let cases = [
            (json!(true), "boolean", true),
            (json!("yes"), "boolean", false),
            (json!(3), "integer", true),
            (json!(3.5), "integer", false),
            (json!(true), "integer", false),
            (json!(3.5), "number", true),
            (json!(false), "number", false),
            (json!(null), "null", true),
            (json!([1]), "array", true),
            (json!({"a": 1}), "object", true),
            (json!("s"), "string", true),
            (json!(1), "custom", true),
        ];
        for (value, name, expected) in cases {
            assert_eq!(value_has_type(&value, name), expected, "{value} as {name}");
        }
    }

    #[test]
    fn schema_types_come_from_a_string_or_a_list() {
        let single = json!({"type": "boolean"});
        assert_eq!(
            schema_types(single.as_object().unwrap()),
            Some(vec!["boolean".to_owned()])
        );
        let several = json!({"type": ["string", "null"]});
        assert_eq!(
            python_list(&schema_types(several.as_object().unwrap()).unwrap()),
            "['string', 'null']"
        );
        let untyped = json!({"enum": [1, 2]});
        assert_eq!(schema_types(untyped.as_object().unwrap()), None);
    }

    #[test]
    fn the_active_condition_wins_over_older_pending_ones() {
        let pending = [
            condition(A, "first", "2026-11-26T13:45:27"),
            condition(B, "active", "2026-11-26T13:45:28"),
        ];
        let mut run: types::PipelineRunResponse = serde_json::from_value(json!({
            "id": "a22e89fd-1705-40e8-a7c6-f36d557a35d0", "name": "r", "permission_denied": false,
        }))
        .unwrap();
        assert_eq!(current_wait(&run, &pending).unwrap().name, "first");
        let active = serde_json::to_value(&pending[1]).unwrap();
        run.resources = Some(
            serde_json::from_value(json!({
                "tags": [], "visualizations": [], "active_wait_condition": active,
            }))
            .unwrap(),
        );
        assert_eq!(current_wait(&run, &pending).unwrap().name, "active");
        assert!(current_wait(&run, &[]).is_none());
    }
}
