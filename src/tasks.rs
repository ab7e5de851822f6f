//! Executions as MCP tasks (the `io.modelcontextprotocol/tasks` extension).
//!
//! When a client declares the extension, a call of a tool that starts an
//! execution (run, replay, retry, invoke) returns a task as soon as the
//! execution exists. The task *is* the execution: `tasks/get` reads it from
//! the Kitaru server (running → `working`, waiting for input →
//! `input_required` with the wait as an elicitation, finished → `completed`
//! with the tool's payload, cancelled → `cancelled`), `tasks/update` answers
//! the wait, `tasks/cancel` cancels the execution. Nothing is kept here: the
//! task id carries which tool started which execution, so tasks outlive
//! this process and any instance of the server can answer for them.

use serde_json::{Map, Value, json};

use rmcp::ErrorData;
use rmcp::RoleServer;
use rmcp::model::{
    CallToolResult, CreateTaskResult, DetailedTask, GetTaskResult, InputRequest, InputRequests,
    InputResponses, MetaObject, Task, TaskPayload, TaskStatus,
};
use rmcp::service::RequestContext;

use kitaru_sdk::Kitaru;
use kitaru_sdk::executions::{self, Execution, ExecutionStatus};

use crate::elicitation;

/// The tools whose calls become tasks.
pub const TASK_TOOLS: [&str; 4] = [
    "kitaru_executions_run",
    "kitaru_executions_replay",
    "kitaru_executions_retry",
    "kitaru_deployments_invoke",
];
/// How often clients are asked to poll, in milliseconds.
const POLL_INTERVAL_MS: u64 = 2_000;
/// What task ids start with.
const PREFIX: &str = "kitaru-exec-";
/// What the key of a wait's input request starts with.
const WAIT_KEY: &str = "wait:";
/// The `_meta` key naming a task's execution.
pub const EXEC_ID_META: &str = "kitaru/exec_id";

/// Whether a call of `tool` in `context` becomes a task: the client
/// declared the tasks extension and the tool starts an execution.
pub fn wanted(tool: &str, context: &RequestContext<RoleServer>) -> bool {
    TASK_TOOLS.contains(&tool)
        && context
            .client_capabilities()
            .is_some_and(|capabilities| capabilities.supports_tasks())
}

/// Which tool started which execution, and the rest of that tool's payload.
#[derive(Debug, PartialEq)]
struct Handle {
    tool: String,
    exec_id: String,
    /// The tool's payload without `execution` (its target, operation, …).
    frame: Map<String, Value>,
}

impl Handle {
    /// The handle of a tool's successful payload.
    fn of(tool: &str, payload: &Value) -> Option<Self> {
        let mut frame = payload.as_object()?.clone();
        let execution = frame.remove("execution");
        let exec_id = execution
            .as_ref()
            .and_then(|execution| execution.get("exec_id"))
            .or_else(|| frame.get("exec_id"))
            .and_then(Value::as_str)?
            .to_owned();
        Some(Self {
            tool: tool.to_owned(),
            exec_id,
            frame,
        })
    }

    /// The task id: the handle as hex-encoded JSON behind a prefix.
    fn id(&self) -> String {
        let json = json!({"tool": self.tool, "exec_id": self.exec_id, "frame": self.frame});
        let bytes = json.to_string().into_bytes();
        let mut id = String::with_capacity(PREFIX.len() + bytes.len() * 2);
        id.push_str(PREFIX);
        for byte in bytes {
            id.push_str(&format!("{byte:02x}"));
        }
        id
    }

    /// The handle a task id holds.
    fn parse(id: &str) -> Result<Self, ErrorData> {
        let unknown =
            || ErrorData::invalid_params(format!("unknown task id `{}`", short(id)), None);
        let hex = id.strip_prefix(PREFIX).ok_or_else(unknown)?;
        if hex.len() % 2 != 0 || hex.len() > 64 * 1024 {
            return Err(unknown());
        }
        let bytes: Option<Vec<u8>> = (0..hex.len())
            .step_by(2)
            .map(|at| u8::from_str_radix(hex.get(at..at + 2)?, 16).ok())
            .collect();
        let json: Value =
            serde_json::from_slice(&bytes.ok_or_else(unknown)?).map_err(|_| unknown())?;
        let tool = json["tool"]
            .as_str()
            .filter(|tool| TASK_TOOLS.contains(tool));
        let exec_id = json["exec_id"].as_str();
        match (tool, exec_id, json["frame"].as_object()) {
            (Some(tool), Some(exec_id), Some(frame)) => Ok(Self {
                tool: tool.to_owned(),
                exec_id: exec_id.to_owned(),
                frame: frame.clone(),
            }),
            _ => Err(unknown()),
        }
    }

    /// The tool's payload with the execution as it stands now.
    fn payload(&self, execution: &Execution) -> Result<Value, ErrorData> {
        let mut payload = self.frame.clone();
        payload.insert("execution".into(), to_json(execution)?);
        Ok(Value::Object(payload))
    }
}

/// The task for a tool's result, if the result is an execution started
/// (an error result stays the call's answer).
pub fn created(tool: &str, result: &CallToolResult) -> Option<CreateTaskResult> {
    if result.is_error == Some(true) {
        return None;
    }
    let payload = result.structured_content.as_ref()?;
    let handle = Handle::of(tool, payload)?;
    let status = payload
        .get("execution")
        .and_then(|execution| execution.get("status"))
        .and_then(Value::as_str)
        .map_or(TaskStatus::Working, |status| match status {
            "waiting" => TaskStatus::InputRequired,
            "completed" | "failed" => TaskStatus::Completed,
            "cancelled" => TaskStatus::Cancelled,
            _ => TaskStatus::Working,
        });
    let now = now();
    let started = payload
        .pointer("/execution/started_at")
        .and_then(Value::as_str)
        .map_or_else(|| now.clone(), str::to_owned);
    let task = Task::new(handle.id(), status, started, now).with_poll_interval_ms(POLL_INTERVAL_MS);
    Some(CreateTaskResult::new(task).with_meta(exec_id_meta(&handle.exec_id)))
}

/// `tasks/get`: the execution behind the task, as the task's state.
pub async fn get(kitaru: &Kitaru, task_id: &str) -> Result<GetTaskResult, ErrorData> {
    let handle = Handle::parse(task_id)?;
    let execution = executions::get(kitaru, &handle.exec_id)
        .await
        .map_err(|error| {
            ErrorData::invalid_params(format!("task `{}`: {error}", short(task_id)), None)
        })?;
    let summary = &execution.summary;
    let started = summary.started_at.clone().unwrap_or_else(now);
    let updated = summary.ended_at.clone().unwrap_or_else(now);
    let mut task = Task::new(task_id, TaskStatus::Working, started, updated)
        .with_poll_interval_ms(POLL_INTERVAL_MS);
    let payload = match summary.status {
        ExecutionStatus::Running => {
            task = task.with_status_message(format!(
                "Execution {} is running ({} checkpoints so far).",
                summary.exec_id, summary.checkpoint_count
            ));
            TaskPayload::Working
        }
        ExecutionStatus::Waiting => match &summary.pending_wait {
            Some(wait) => {
                let (message, schema, _) = elicitation::form(wait);
                task = task.with_status_message(message.clone());
                TaskPayload::InputRequired {
                    input_requests: input_requests(wait, &message, schema)?,
                }
            }
            // Paused without a pending wait (a manual resume is due).
            None => {
                task = task.with_status_message(
                    summary
                        .status_reason
                        .clone()
                        .unwrap_or_else(|| "The execution is paused.".to_owned()),
                );
                TaskPayload::Working
            }
        },
        ExecutionStatus::Completed | ExecutionStatus::Failed => {
            let payload = handle.payload(&execution)?;
            let Value::Object(result) = to_json(&CallToolResult::structured(payload))? else {
                return Err(ErrorData::internal_error(
                    "a tool result is not an object",
                    None,
                ));
            };
            TaskPayload::Completed { result }
        }
        ExecutionStatus::Cancelled => TaskPayload::Cancelled,
    };
    let mut result = GetTaskResult::new(DetailedTask::new(task, payload));
    result.meta = Some(exec_id_meta(&handle.exec_id));
    Ok(result)
}

/// `_meta` naming the execution, so that clients can use the other tools on it.
fn exec_id_meta(exec_id: &str) -> MetaObject {
    let mut meta = MetaObject::new();
    meta.0.insert(EXEC_ID_META.to_owned(), exec_id.into());
    meta
}

/// `tasks/update`: answers the execution's wait with the accepted
/// elicitation; a declined or cancelled one leaves it waiting.
pub async fn update(
    kitaru: &Kitaru,
    task_id: &str,
    responses: &InputResponses,
) -> Result<(), ErrorData> {
    let handle = Handle::parse(task_id)?;
    let execution = executions::get(kitaru, &handle.exec_id)
        .await
        .map_err(|error| ErrorData::invalid_params(error.to_string(), None))?;
    let Some(wait) = execution.summary.pending_wait.as_ref() else {
        return Err(ErrorData::invalid_params(
            format!("execution {} is not waiting for input", handle.exec_id),
            None,
        ));
    };
    let key = format!("{WAIT_KEY}{}", wait.wait_id);
    for (answered, response) in responses {
        if *answered != key {
            return Err(ErrorData::invalid_params(
                format!(
                    "no outstanding input request `{}`; the outstanding one is `{key}`",
                    short(answered)
                ),
                None,
            ));
        }
        if response.get("action").and_then(Value::as_str) != Some("accept") {
            continue;
        }
        let (_, _, shape) = elicitation::form(wait);
        let value = elicitation::answer(shape, response.get("content"))
            .map_err(|reason| ErrorData::invalid_params(reason, None))?;
        executions::input(kitaru, &handle.exec_id, &wait.wait_id, value)
            .await
            .map_err(|error| ErrorData::invalid_params(error.to_string(), None))?;
    }
    Ok(())
}

/// `tasks/cancel`: cancels the execution. Done once the execution reads as
/// cancelled, even where its orchestrator cannot stop the process (the
/// local one: the run is marked stopping, and its process ends at its next
/// checkpoint or wait).
pub async fn cancel(kitaru: &Kitaru, task_id: &str) -> Result<(), ErrorData> {
    let handle = Handle::parse(task_id)?;
    let Err(error) = executions::cancel(kitaru, &handle.exec_id).await else {
        return Ok(());
    };
    match executions::get(kitaru, &handle.exec_id).await {
        Ok(execution) if execution.summary.status == ExecutionStatus::Cancelled => {
            tracing::info!("task {}: {error}", handle.exec_id);
            Ok(())
        }
        _ => Err(ErrorData::invalid_params(error.to_string(), None)),
    }
}

/// The wait as the one input request of the task.
fn input_requests(
    wait: &kitaru_sdk::executions::PendingWait,
    message: &str,
    schema: Value,
) -> Result<InputRequests, ErrorData> {
    let request: InputRequest = serde_json::from_value(json!({
        "method": "elicitation/create",
        "params": {"mode": "form", "message": message, "requestedSchema": schema},
    }))
    .map_err(|error| {
        ErrorData::internal_error(format!("cannot build the elicitation: {error}"), None)
    })?;
    Ok(InputRequests::from([(
        format!("{WAIT_KEY}{}", wait.wait_id),
        request,
    )]))
}

fn to_json(value: &impl serde::Serialize) -> Result<Value, ErrorData> {
    serde_json::to_value(value)
        .map_err(|error| ErrorData::internal_error(format!("cannot serialise: {error}"), None))
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// At most 80 characters of a client-given id, for messages.
fn short(text: &str) -> String {
    text.chars().take(80).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_task_id_carries_the_tool_the_execution_and_the_frame() {
        let payload = json!({"exec_id": "e1", "target": "f.py:flow", "warning": null,
                             "execution": {"exec_id": "e1", "status": "running"}});
        let handle = Handle::of("kitaru_executions_run", &payload).unwrap();
        assert_eq!(
            handle.frame,
            *json!({"exec_id": "e1", "target": "f.py:flow", "warning": null})
                .as_object()
                .unwrap()
        );
        assert_eq!(Handle::parse(&handle.id()).unwrap(), handle);
        let relaunch =
            json!({"available": true, "operation": "retry", "execution": {"exec_id": "e2"}});
        assert_eq!(
            Handle::of("kitaru_executions_retry", &relaunch)
                .unwrap()
                .exec_id,
            "e2"
        );
    }

    #[test]
    fn foreign_or_broken_task_ids_are_refused() {
        for id in [
            "nope",
            "kitaru-exec-zz",
            "kitaru-exec-7b7d",
            "kitaru-exec-abc",
        ] {
            assert!(Handle::parse(id).is_err(), "{id}");
        }
        let other_tool = Handle {
            tool: "kitaru_memory_set".into(),
            exec_id: "e".into(),
            frame: Map::new(),
        };
        assert!(Handle::parse(&other_tool.id()).is_err());
    }
}
