//! Executions as MCP tasks (the `io.modelcontextprotocol/tasks` extension).
//!
//! When a client declares the extension, a call of a tool that starts an
//! execution (run, replay, retry, invoke) returns a task as soon as the
//! execution exists. The task *is* the execution: `tasks/get` reads it from
//! the Kitaru server (running → `working`, waiting for input →
//! `input_required` with the wait as an elicitation, finished → `completed`
//! with the tool's payload, cancelled → `cancelled`), `tasks/update` answers
//! the wait, `tasks/cancel` cancels the execution. Nothing is needed from
//! this process: the task id carries which tool started which execution,
//! so tasks outlive it and any instance of the server can answer for them.
//!
//! Where the Kitaru server streams execution events, a task's execution is
//! followed through them while its client keeps asking ([`Followed`]), and
//! `tasks/get` answers from the last look instead of reading the execution
//! again each time; the status message then carries the running
//! checkpoint's own progress report.
//!
//! A task id grants nothing by itself: it is signed with this
//! installation's task key (HMAC-SHA-256; see [`TaskKey`]), so an id this
//! installation did not make is refused, and each task method obeys the
//! same policy as the tool it stands for — `tasks/get` that of
//! `kitaru_executions_get`, `tasks/update` that of `kitaru_executions_input`,
//! `tasks/cancel` that of `kitaru_executions_cancel` (read-only mode and
//! toolsets) — and acts with the caller's own credentials.

use serde_json::{Map, Value, json};

use rmcp::ErrorData;
use rmcp::RoleServer;
use rmcp::model::{
    CallToolResult, CreateTaskResult, DetailedTask, GetTaskResult, InputRequest, InputRequests,
    InputResponses, MetaObject, Task, TaskPayload, TaskStatus,
};
use rmcp::service::RequestContext;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use kitaru_sdk::Kitaru;
use kitaru_sdk::executions::{self, Execution, ExecutionStatus, Pace};

use crate::catalog::{ToolInfo, names};
use crate::elicitation;

/// Whether calls of `tool` become tasks (its declaration says `task`).
pub fn is_task_tool(tool: &str) -> bool {
    ToolInfo::named(tool).is_some_and(|tool| tool.task)
}
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
    is_task_tool(tool)
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
        // A replay submission of one execution is that replay's task.
        let single_replay = match frame.get("results").and_then(Value::as_array) {
            Some(rows) if rows.len() == 1 => rows[0].get("replay_exec_id"),
            _ => None,
        };
        let exec_id = execution
            .as_ref()
            .and_then(|execution| execution.get("exec_id"))
            .or_else(|| frame.get("exec_id"))
            .or(single_replay)
            .and_then(Value::as_str)?
            .to_owned();
        Some(Self {
            tool: tool.to_owned(),
            exec_id,
            frame,
        })
    }

    /// The task id: the handle as hex-encoded JSON behind a prefix, then
    /// `.` and its signature.
    fn id(&self, key: &TaskKey) -> String {
        let json = json!({"tool": self.tool, "exec_id": self.exec_id, "frame": self.frame});
        let body = hex(json.to_string().as_bytes());
        let signature = hex(&key.sign(body.as_bytes()));
        format!("{PREFIX}{body}.{signature}")
    }

    /// The handle a task id holds, if `key` signed it.
    fn parse(id: &str, key: &TaskKey) -> Result<Self, ErrorData> {
        let unknown = || {
            ErrorData::invalid_params(
                format!(
                    "unknown task id `{}`: not a task this kitaru-mcp installation started",
                    crate::budget::quoted(id)
                ),
                None,
            )
        };
        let signed = id.strip_prefix(PREFIX).ok_or_else(unknown)?;
        if signed.len() > 64 * 1024 {
            return Err(unknown());
        }
        let (body, signature) = signed.rsplit_once('.').ok_or_else(unknown)?;
        if !key.verify(body.as_bytes(), signature) {
            return Err(unknown());
        }
        let bytes = unhex(body).ok_or_else(unknown)?;
        let json: Value = serde_json::from_slice(&bytes).map_err(|_| unknown())?;
        let tool = json["tool"].as_str().filter(|tool| is_task_tool(tool));
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

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(text.get(at..at + 2)?, 16).ok())
        .collect()
}

/// The key task ids are signed with: 32 random bytes kept in the file
/// `KITARU_MCP_TASK_KEY_FILE`, else `$XDG_STATE_HOME/kitaru-mcp/task-key`
/// (`~/.local/state/…`), made on first use, readable by this user only.
/// Every kitaru-mcp of this user shares it, so tasks outlive the process
/// that started them; instances on several machines that should answer for
/// each other's tasks point the variable at one key file. Where no file
/// can be kept, the key lives as long as the process.
#[derive(Clone)]
pub struct TaskKey([u8; 32]);

impl std::fmt::Debug for TaskKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TaskKey(..)")
    }
}

impl TaskKey {
    /// This installation's key (see the type's documentation).
    pub fn installation() -> Self {
        let path = crate::limits::limits().task_key_file();
        match path.as_deref().map(Self::kept_in) {
            Some(Ok(key)) => key,
            failed => {
                if let (Some(path), Some(Err(error))) = (path.as_deref(), failed) {
                    tracing::warn!(
                        "task ids are valid for this process only: cannot keep the task key in \
                         {}: {error}",
                        path.display()
                    );
                }
                Self::random().unwrap_or_else(|error| {
                    tracing::warn!("no random task key ({error}); using a per-process one");
                    let seed = format!("{:?}{}", std::time::SystemTime::now(), std::process::id());
                    Self(sha256(seed.as_bytes()))
                })
            }
        }
    }

    /// The key in `path`, made there (atomically, `0600`) if missing.
    fn kept_in(path: &std::path::Path) -> std::io::Result<Self> {
        use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
        let read = |path: &std::path::Path| -> std::io::Result<Self> {
            let text = std::fs::read_to_string(path)?;
            let bytes = unhex(text.trim())
                .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
                .ok_or_else(|| {
                    std::io::Error::new(std::io::ErrorKind::InvalidData, "not a task key")
                })?;
            Ok(Self(bytes))
        };
        match read(path) {
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            other => return other,
        }
        if let Some(dir) = path.parent() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)?;
        }
        // Written whole under another name, then linked into place: a
        // concurrent first use reads one complete key or makes the same link.
        let key = Self::random()?;
        let staged = path.with_extension(format!("{}.tmp", std::process::id()));
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&staged)?;
        std::io::Write::write_all(&mut file, hex(&key.0).as_bytes())?;
        drop(file);
        let linked = std::fs::hard_link(&staged, path);
        let _ = std::fs::remove_file(&staged);
        match linked {
            Ok(()) => Ok(key),
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => read(path),
            Err(error) => Err(error),
        }
    }

    fn random() -> std::io::Result<Self> {
        let mut bytes = [0; 32];
        std::io::Read::read_exact(&mut std::fs::File::open("/dev/urandom")?, &mut bytes)?;
        Ok(Self(bytes))
    }

    /// HMAC-SHA-256 of `message` (RFC 2104).
    fn sign(&self, message: &[u8]) -> [u8; 32] {
        let mut inner = [0x36u8; 64];
        let mut outer = [0x5cu8; 64];
        for (at, byte) in self.0.iter().enumerate() {
            inner[at] ^= byte;
            outer[at] ^= byte;
        }
        let inner_hash = sha256(&[&inner[..], message].concat());
        sha256(&[&outer[..], &inner_hash[..]].concat())
    }

    /// Whether `signature` (hex) is this key's for `message`, compared in
    /// constant time.
    fn verify(&self, message: &[u8], signature: &str) -> bool {
        let Some(given) = unhex(signature) else {
            return false;
        };
        let expected = self.sign(message);
        given.len() == expected.len()
            && given
                .iter()
                .zip(expected.iter())
                .fold(0u8, |diff, (a, b)| diff | (a ^ b))
                == 0
    }
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes).into()
}

/// Why the task method `method` is refused under `selection`: each obeys
/// the policy of the tool it stands for.
pub fn refusal(selection: &crate::selection::ToolSelection, method: &str) -> Option<String> {
    let tool = match method {
        "tasks/get" => names::EXECUTIONS_GET,
        "tasks/update" => names::EXECUTIONS_INPUT,
        "tasks/cancel" => names::EXECUTIONS_CANCEL,
        _ => return None,
    };
    selection
        .refusal(tool)
        .map(|reason| format!("{method} is not available: it does what {tool} does, and {reason}"))
}

/// The task for a tool's result, if the result is an execution started
/// (an error result stays the call's answer).
pub fn created(tool: &str, result: &CallToolResult, key: &TaskKey) -> Option<CreateTaskResult> {
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
    let task =
        Task::new(handle.id(key), status, started, now).with_poll_interval_ms(POLL_INTERVAL_MS);
    Some(CreateTaskResult::new(task).with_meta(exec_id_meta(&handle.exec_id)))
}

/// `tasks/get`: the execution behind the task, as the task's state.
pub async fn get(
    kitaru: &Arc<Kitaru>,
    followed: &Followed,
    key: &TaskKey,
    task_id: &str,
) -> Result<GetTaskResult, ErrorData> {
    let handle = Handle::parse(task_id, key)?;
    let (execution, progress) =
        followed
            .execution(kitaru, &handle.exec_id)
            .await
            .map_err(|error| {
                ErrorData::invalid_params(
                    format!("task `{}`: {error}", crate::budget::quoted(task_id)),
                    None,
                )
            })?;
    let progress = progress
        .map(|progress| format!(" {progress}."))
        .unwrap_or_default();
    let summary = &execution.summary;
    let started = summary.started_at.clone().unwrap_or_else(now);
    let updated = summary.ended_at.clone().unwrap_or_else(now);
    let mut task = Task::new(task_id, TaskStatus::Working, started, updated)
        .with_poll_interval_ms(POLL_INTERVAL_MS);
    let payload = match summary.status {
        ExecutionStatus::Running => {
            task = task.with_status_message(format!(
                "Execution {} is running ({} checkpoints so far).{progress}",
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
    kitaru: &Arc<Kitaru>,
    followed: &Followed,
    key: &TaskKey,
    task_id: &str,
    responses: &InputResponses,
) -> Result<(), ErrorData> {
    let handle = Handle::parse(task_id, key)?;
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
                    crate::budget::quoted(answered)
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
        followed.changed(kitaru, &handle.exec_id);
    }
    Ok(())
}

/// `tasks/cancel`: cancels the execution. Done once the execution reads as
/// cancelled, even where its orchestrator cannot stop the process (the
/// local one: the run is marked stopping, and its process ends at its next
/// checkpoint or wait).
pub async fn cancel(
    kitaru: &Arc<Kitaru>,
    followed: &Followed,
    key: &TaskKey,
    task_id: &str,
) -> Result<(), ErrorData> {
    let handle = Handle::parse(task_id, key)?;
    let cancelled = executions::cancel(kitaru, &handle.exec_id).await;
    followed.changed(kitaru, &handle.exec_id);
    let Err(error) = cancelled else {
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

/// How long a task's execution is followed after its client last asked.
const FOLLOWED_IDLE: Duration = Duration::from_secs(60);

/// The executions of tasks followed through their events, each as last
/// looked at. Keyed by the connection too: a client is only answered from
/// what was read with its own credentials.
#[derive(Clone, Default)]
pub struct Followed {
    inner: Arc<Mutex<HashMap<(usize, String), Seen>>>,
}

/// A followed execution.
struct Seen {
    /// As last looked at (`None`: look again before answering).
    execution: Option<Arc<Execution>>,
    /// What its running checkpoint last reported.
    progress: Option<String>,
    /// When a client last asked for it.
    asked: Instant,
}

impl Followed {
    fn key(kitaru: &Arc<Kitaru>, exec_id: &str) -> (usize, String) {
        // The follower holds the connection, so its address is not reused
        // while the entry exists.
        (Arc::as_ptr(kitaru) as usize, exec_id.to_owned())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(usize, String), Seen>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Execution `exec_id` and its progress report: as last looked at
    /// while it is followed, else read now — and followed from then on
    /// while it runs, where the server streams its events.
    async fn execution(
        &self,
        kitaru: &Arc<Kitaru>,
        exec_id: &str,
    ) -> Result<(Arc<Execution>, Option<String>), kitaru_sdk::Error> {
        let key = Self::key(kitaru, exec_id);
        let follow = {
            let mut followed = self.lock();
            match followed.get_mut(&key) {
                Some(seen) => {
                    seen.asked = Instant::now();
                    if let Some(execution) = &seen.execution {
                        return Ok((Arc::clone(execution), seen.progress.clone()));
                    }
                    false
                }
                None => true,
            }
        };
        let execution = Arc::new(executions::get(kitaru, exec_id).await?);
        let running = !execution.summary.status.ended();
        let mut followed = self.lock();
        if let Some(seen) = followed.get_mut(&key) {
            seen.execution = Some(Arc::clone(&execution));
        } else if follow && running {
            followed.insert(
                key.clone(),
                Seen {
                    execution: Some(Arc::clone(&execution)),
                    progress: None,
                    asked: Instant::now(),
                },
            );
            tokio::spawn(self.clone().follow(Arc::clone(kitaru), key));
        }
        Ok((execution, None))
    }

    /// Execution `exec_id` was changed here (input, cancel): look again
    /// before answering for it.
    fn changed(&self, kitaru: &Arc<Kitaru>, exec_id: &str) {
        if let Some(seen) = self.lock().get_mut(&Self::key(kitaru, exec_id)) {
            seen.execution = None;
        }
    }

    /// Follows an execution through its events until it ended or nobody
    /// asked for a while; where the server streams nothing, forgets it at
    /// once (every `tasks/get` reads it then).
    async fn follow(self, kitaru: Arc<Kitaru>, key: (usize, String)) {
        let exec_id = key.1.clone();
        let mut pace = Pace::follow(&kitaru, &exec_id, executions::QUIET_LOOK).await;
        while pace.streaming() {
            pace.wait(Instant::now() + executions::QUIET_LOOK).await;
            if self
                .lock()
                .get(&key)
                .is_none_or(|seen| seen.asked.elapsed() > FOLLOWED_IDLE)
            {
                break;
            }
            let execution = match executions::get(&kitaru, &exec_id).await {
                Ok(execution) => execution,
                Err(error) => {
                    tracing::debug!("following task execution {exec_id}: {error}");
                    break;
                }
            };
            let ended = execution.summary.status.ended();
            if let Some(seen) = self.lock().get_mut(&key) {
                seen.execution = Some(Arc::new(execution));
                seen.progress = pace.progress().map(executions::ExecutionEvent::report);
            }
            if ended {
                break;
            }
        }
        self.lock().remove(&key);
    }
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
        let key = TaskKey([7; 32]);
        assert_eq!(Handle::parse(&handle.id(&key), &key).unwrap(), handle);
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
    fn foreign_forged_or_broken_task_ids_are_refused() {
        let key = TaskKey([7; 32]);
        for id in [
            "nope",
            "kitaru-exec-zz",
            "kitaru-exec-7b7d",
            "kitaru-exec-abc",
            "kitaru-exec-7b7d.00",
        ] {
            assert!(Handle::parse(id, &key).is_err(), "{id}");
        }
        let other_tool = Handle {
            tool: "kitaru_memory_set".into(),
            exec_id: "e".into(),
            frame: Map::new(),
        };
        assert!(Handle::parse(&other_tool.id(&key), &key).is_err());
        let run = Handle {
            tool: "kitaru_executions_run".into(),
            exec_id: "e".into(),
            frame: Map::new(),
        };
        let id = run.id(&key);
        assert!(
            Handle::parse(&id, &TaskKey([8; 32])).is_err(),
            "another key"
        );
        let (body, _) = id.rsplit_once('.').unwrap();
        assert!(Handle::parse(body, &key).is_err(), "unsigned, as ids were");
        let forged = Handle {
            exec_id: "f".into(),
            ..run
        };
        let forged_body = forged.id(&key).rsplit_once('.').unwrap().0.to_owned();
        let (_, signature) = id.rsplit_once('.').unwrap();
        assert!(
            Handle::parse(&format!("{forged_body}.{signature}"), &key).is_err(),
            "another execution under a genuine signature"
        );
    }

    #[test]
    fn hmac_sha256_matches_rfc_4231() {
        // Test case 2 of RFC 4231, with the key padded to 32 bytes by zeros
        // (an HMAC key shorter than the block is zero-padded anyway).
        let mut key = [0u8; 32];
        key[..4].copy_from_slice(b"Jefe");
        assert_eq!(
            hex(&TaskKey(key).sign(b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn the_key_is_kept_private_and_shared_by_later_uses() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/kitaru-mcp/task-key");
        let first = TaskKey::kept_in(&path).unwrap();
        let again = TaskKey::kept_in(&path).unwrap();
        assert_eq!(first.0, again.0);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(
            std::fs::read_dir(path.parent().unwrap()).unwrap().count(),
            1
        );
    }
}
