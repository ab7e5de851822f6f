//! The execution tools.

use kitaru_sdk::Kitaru;
use kitaru_sdk::executions::{
    self, Cohort, CohortQuery, DiffMatrix, Execution, ExecutionDiff, ExecutionFilter,
    ExecutionStatus, FlowRun, LaunchOptions, LogQuery, Observer, Relaunch, ReplayChanges,
    ReplaySubmission, Statistics, StatisticsQuery, SubmitOptions,
};
use serde::Serialize;

use super::args::{
    ExecutionsAbortWaitArgs, ExecutionsCancelArgs, ExecutionsCohortArgs, ExecutionsDiffArgs,
    ExecutionsDiffMatrixArgs, ExecutionsGetArgs, ExecutionsInputArgs, ExecutionsLatestArgs,
    ExecutionsListArgs, ExecutionsReplayArgs, ExecutionsResumeArgs, ExecutionsRetryArgs,
    ExecutionsRunArgs, ExecutionsStatisticsArgs, ExecutionsWatchArgs, GetExecutionLogsArgs,
};
use super::{Listed, ToolContext, ToolError, optional_limit};

/// `kitaru_executions_list`.
pub async fn list(
    kitaru: &Kitaru,
    args: ExecutionsListArgs,
    _: &ToolContext,
) -> Result<Listed<Execution>, ToolError> {
    let filter = filter(args.status.as_deref(), args.flow, args.stack)?;
    match optional_limit(args.limit) {
        Some(limit) => Ok(executions::list(kitaru, &filter, Some(limit)).await?.into()),
        // Without a limit, a page a model can read, and how to get more.
        None => {
            let size = super::list_size(DEFAULT_EXECUTIONS);
            let found = executions::list(kitaru, &filter, Some(size + 1)).await?;
            Ok(Listed::bounded(
                found,
                size,
                "More executions match: these are the newest. Pass `limit` for more, \
                 or narrow with `status`, `flow` or `stack`.",
            ))
        }
    }
}

/// `kitaru_executions_statistics`.
pub async fn statistics(
    kitaru: &Kitaru,
    args: ExecutionsStatisticsArgs,
    _: &ToolContext,
) -> Result<Statistics, ToolError> {
    let query = StatisticsQuery {
        group_by: args.group_by.unwrap_or_default(),
        metrics: args.metrics.unwrap_or_default(),
        flow: args.flow,
        status: args.status,
        stack: args.stack,
        tags: args.tags,
        max_groups: args.max_groups,
    };
    Ok(executions::statistics(kitaru, &query).await?)
}

/// How many executions a list without `limit` returns.
pub const DEFAULT_EXECUTIONS: usize = 15;

/// `kitaru_executions_get`.
pub async fn get(
    kitaru: &Kitaru,
    args: ExecutionsGetArgs,
    _: &ToolContext,
) -> Result<Execution, ToolError> {
    Ok(executions::get(kitaru, &args.exec_id).await?)
}

/// `kitaru_executions_latest`: none found is an error naming the filters
/// as given (the status too, before it is normalised).
pub async fn latest(
    kitaru: &Kitaru,
    args: ExecutionsLatestArgs,
    _: &ToolContext,
) -> Result<Execution, ToolError> {
    let filter = filter(
        args.status.as_deref(),
        args.flow.clone(),
        args.stack.clone(),
    )?;
    executions::latest(kitaru, &filter).await?.ok_or_else(|| {
        let given: Vec<String> = [
            ("flow", &args.flow),
            ("status", &args.status),
            ("stack", &args.stack),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.as_ref().map(|value| format!("{name}='{value}'")))
        .collect();
        ToolError::not_found(if given.is_empty() {
            "No executions found for the current project.".to_owned()
        } else {
            format!("No executions found for {}.", given.join(" and "))
        })
    })
}

/// `get_execution_logs`.
pub async fn logs(
    kitaru: &Kitaru,
    args: GetExecutionLogsArgs,
    _: &ToolContext,
) -> Result<String, ToolError> {
    // The sources this tool declares; an empty one is the SDK's to refuse,
    // in the reference's words.
    let source = args.source.trim().to_ascii_lowercase();
    if !source.is_empty() && source != "step" && source != "runner" {
        return Err(ToolError::argument(
            "source",
            "`source` must be 'step' (the checkpoints' logs) or 'runner' (the orchestrator's).",
        ));
    }
    let query = LogQuery {
        checkpoint: args.checkpoint,
        source: args.source,
        // A negative limit is as wrong as 0, and the SDK says so.
        limit: usize::try_from(args.limit).unwrap_or(0),
    };
    Ok(executions::logs(kitaru, &args.exec_id, &query).await?)
}

/// `kitaru_executions_cancel`.
pub async fn cancel(
    kitaru: &Kitaru,
    args: ExecutionsCancelArgs,
    _: &ToolContext,
) -> Result<Execution, ToolError> {
    Ok(executions::cancel(kitaru, &args.exec_id).await?)
}

/// `kitaru_executions_input`.
pub async fn input(
    kitaru: &Kitaru,
    args: ExecutionsInputArgs,
    _: &ToolContext,
) -> Result<Execution, ToolError> {
    Ok(executions::input(kitaru, &args.exec_id, &args.wait, args.value).await?)
}

/// `kitaru_executions_abort_wait`.
pub async fn abort_wait(
    kitaru: &Kitaru,
    args: ExecutionsAbortWaitArgs,
    _: &ToolContext,
) -> Result<Execution, ToolError> {
    Ok(executions::abort_wait(kitaru, &args.exec_id, &args.wait).await?)
}

/// What `kitaru_executions_cohort` answers: the cohort, marked as the
/// reference marks it.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct CohortAnswer {
    /// Always true.
    pub available: bool,
    /// Always `cohort`.
    pub operation: String,
    /// The chosen executions and how they were chosen.
    pub cohort: Cohort,
}

/// `kitaru_executions_cohort`: completed originals, or failed ones too.
pub async fn cohort(
    kitaru: &Kitaru,
    args: ExecutionsCohortArgs,
    _: &ToolContext,
) -> Result<CohortAnswer, ToolError> {
    let mut statuses = vec![ExecutionStatus::Completed];
    if args.include_failed {
        statuses.push(ExecutionStatus::Failed);
    }
    let query = CohortQuery {
        deployment: args.deployment,
        deployment_version: args.deployment_version,
        order_by: args.order_by,
        limit: args.limit,
        statuses,
        since: args.since,
        until: args.until,
        max_scan: args.max_scan,
        ..CohortQuery::new(args.flow, args.at)
    };
    Ok(CohortAnswer {
        available: true,
        operation: "cohort".into(),
        cohort: executions::cohort(kitaru, &query).await?,
    })
}

/// `kitaru_executions_run`: the flow runs in the user's Kitaru Python,
/// detached (it goes on if this server stops).
pub async fn run(
    kitaru: &Kitaru,
    args: ExecutionsRunArgs,
    context: &ToolContext,
) -> Result<FlowRun, ToolError> {
    let options = launch_options(wait_argument(args.max_wait_seconds)?, context);
    let inputs = args.args.unwrap_or_default();
    let mut started = executions::run(
        kitaru,
        &args.target,
        &inputs,
        args.stack.as_deref(),
        &options,
    )
    .await?;
    if let Some(execution) = started.execution.take() {
        started.execution = Some(ask_while_waiting(kitaru, context, execution, &options).await?);
    }
    Ok(started)
}

/// What `kitaru_executions_replay` answers: kitaru 0.21's submission, or,
/// for a call in kitaru 0.10's form (`exec_id`, `from_`), the new execution.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum ReplayAnswer {
    /// `exec_ids` and `at`.
    Submission(Box<ReplaySubmission>),
    /// `exec_id` and `from_`.
    Relaunch(Box<Relaunch>),
}

/// An object that is one of the two answers (MCP clients need an object
/// schema at the top).
impl schemars::JsonSchema for ReplayAnswer {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ReplayAnswer".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let submission = generator.subschema_for::<ReplaySubmission>();
        let relaunch = generator.subschema_for::<Relaunch>();
        schemars::json_schema!({
            "description": "The replay submission (exec_ids and at), or the new execution \
                            (kitaru 0.10's form: exec_id and from_).",
            "type": "object",
            "anyOf": [submission, relaunch],
        })
    }
}

/// `kitaru_executions_replay`: kitaru 0.21's form (`exec_ids`, `at`, …),
/// or kitaru 0.10's (`exec_id`, `from_`, `overrides`, `flow_inputs`), not
/// mixed.
pub async fn replay(
    kitaru: &Kitaru,
    args: ExecutionsReplayArgs,
    context: &ToolContext,
) -> Result<ReplayAnswer, ToolError> {
    let old: Vec<&str> = [
        ("exec_id", args.exec_id.is_some()),
        ("from_", args.from_.is_some()),
        ("overrides", args.overrides.is_some()),
        ("flow_inputs", args.flow_inputs.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, given)| given.then_some(name))
    .collect();
    let new: Vec<&str> = [
        ("exec_ids", args.exec_ids.is_some()),
        ("at", args.at.is_some()),
        ("flow_overrides", args.flow_overrides.is_some()),
        ("checkpoint_overrides", args.checkpoint_overrides.is_some()),
        ("invocation_overrides", args.invocation_overrides.is_some()),
        ("skip", args.skip.is_some()),
        ("tag", args.tag.is_some()),
        ("wait", args.wait.is_some()),
        ("on_error", args.on_error.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, given)| given.then_some(name))
    .collect();
    let options = launch_options(wait_seconds(), context);
    if !old.is_empty() {
        if !new.is_empty() {
            return Err(ToolError::argument(
                old[0],
                format!(
                    "Give `exec_ids` and `at` (with `flow_overrides`, `checkpoint_overrides`, \
                     …), or kitaru 0.10's `exec_id` and `from_` (with `overrides`, \
                     `flow_inputs`), not both: got {} and {}.",
                    quoted(&new),
                    quoted(&old)
                ),
            ));
        }
        let (Some(exec_id), Some(from_)) = (args.exec_id, args.from_) else {
            return Err(ToolError::argument(
                "from_",
                "kitaru 0.10's form needs both `exec_id` and `from_`; or give `exec_ids` and \
                 `at`.",
            ));
        };
        let overrides = args.overrides.unwrap_or_default();
        let flow_inputs = args.flow_inputs.unwrap_or_default();
        let mut relaunched =
            executions::replay(kitaru, &exec_id, &from_, &overrides, &flow_inputs, &options)
                .await?;
        relaunched.execution =
            ask_while_waiting(kitaru, context, relaunched.execution, &options).await?;
        return Ok(ReplayAnswer::Relaunch(Box::new(relaunched)));
    }
    let Some(exec_ids) = args.exec_ids else {
        return Err(ToolError::argument(
            "exec_ids",
            "Give `exec_ids` (the executions to replay) and `at` (the checkpoint to re-run \
             from).",
        ));
    };
    let Some(at) = args.at else {
        return Err(ToolError::argument(
            "at",
            "Give `at`: the checkpoint to re-run from (name, invocation id or call id).",
        ));
    };
    let changes = ReplayChanges {
        flow_overrides: args.flow_overrides.unwrap_or_default(),
        checkpoint_overrides: args.checkpoint_overrides.unwrap_or_default(),
        invocation_overrides: args.invocation_overrides.unwrap_or_default(),
        skip: args.skip.unwrap_or_default(),
    };
    let submit = SubmitOptions {
        tag: args.tag,
        wait: args.wait,
        on_error: args.on_error,
    };
    let submission =
        executions::replay_executions(kitaru, &exec_ids, &at, &changes, &submit, &options).await?;
    Ok(ReplayAnswer::Submission(Box::new(submission)))
}

fn quoted(names: &[&str]) -> String {
    names
        .iter()
        .map(|name| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `kitaru_executions_retry`.
pub async fn retry(
    kitaru: &Kitaru,
    args: ExecutionsRetryArgs,
    context: &ToolContext,
) -> Result<Relaunch, ToolError> {
    let options = launch_options(wait_seconds(), context);
    let mut relaunched = executions::retry(kitaru, &args.exec_id, &options).await?;
    relaunched.execution =
        ask_while_waiting(kitaru, context, relaunched.execution, &options).await?;
    Ok(relaunched)
}

/// `kitaru_executions_resume`.
pub async fn resume(
    kitaru: &Kitaru,
    args: ExecutionsResumeArgs,
    context: &ToolContext,
) -> Result<Execution, ToolError> {
    let options = launch_options(wait_seconds(), context);
    let execution = executions::resume(kitaru, &args.exec_id, &options).await?;
    Ok(ask_while_waiting(kitaru, context, execution, &options).await?)
}

/// `kitaru_executions_diff`'s answer: the comparison, marked as the
/// reference marks an operation's answer.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct DiffAnswer {
    /// Always true: the operation is available on this server.
    pub available: bool,
    /// `diff`.
    pub operation: String,
    /// The original execution compared with its replays.
    pub diff: ExecutionDiff,
}

/// `kitaru_executions_diff_matrix`'s answer.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct DiffMatrixAnswer {
    /// Always true: the operation is available on this server.
    pub available: bool,
    /// `diff_matrix`.
    pub operation: String,
    /// One row per execution asked for.
    pub diff_matrix: DiffMatrix,
}

/// `kitaru_executions_diff`: no executions given (or an empty list) means
/// the original's replays.
pub async fn diff(
    kitaru: &Kitaru,
    args: ExecutionsDiffArgs,
    _: &ToolContext,
) -> Result<DiffAnswer, ToolError> {
    let compared = args.executions.unwrap_or_default();
    Ok(DiffAnswer {
        available: true,
        operation: "diff".into(),
        diff: executions::diff(kitaru, &args.original, &compared).await?,
    })
}

/// `kitaru_executions_diff_matrix`.
pub async fn diff_matrix(
    kitaru: &Kitaru,
    args: ExecutionsDiffMatrixArgs,
    _: &ToolContext,
) -> Result<DiffMatrixAnswer, ToolError> {
    Ok(DiffMatrixAnswer {
        available: true,
        operation: "diff_matrix".into(),
        diff_matrix: executions::diff_matrix(kitaru, &args.exec_ids).await?,
    })
}

/// How long replay and retry follow the new execution before they return
/// it (still running): `--wait-seconds`.
fn wait_seconds() -> u64 {
    crate::limits::limits().wait_seconds
}

/// `kitaru_executions_watch`: progress notifications while it follows the
/// execution, when the client gave a progress token.
pub async fn watch(
    kitaru: &Kitaru,
    args: ExecutionsWatchArgs,
    context: &ToolContext,
) -> Result<Execution, ToolError> {
    let options = launch_options(wait_argument(args.max_wait_seconds)?, context);
    let execution = executions::watch(
        kitaru,
        &args.exec_id,
        options.settle,
        options.observer.as_ref(),
    )
    .await?;
    ask_while_waiting(kitaru, context, execution, &options).await
}

/// While `execution` waits for input and the client takes elicitation
/// requests, asks the user the wait's question, answers the wait with what
/// they give, and follows the execution again (for `options.settle` each
/// time). A declined or cancelled question, or a client that cannot be
/// asked, leaves the execution waiting: the answer then carries the wait's
/// question for the assistant to ask.
async fn ask_while_waiting(
    kitaru: &Kitaru,
    context: &ToolContext,
    mut execution: Execution,
    options: &LaunchOptions,
) -> Result<Execution, ToolError> {
    if context.as_task() || !context.can_elicit() || !context.may_answer_waits() {
        return Ok(execution);
    }
    while execution.summary.status == ExecutionStatus::Waiting {
        let Some(wait) = execution.summary.pending_wait.clone() else {
            break;
        };
        let (message, schema, shape) = crate::elicitation::form(&wait);
        let params =
            serde_json::from_value::<rmcp::model::ElicitRequestParams>(serde_json::json!({
                "mode": "form", "message": message, "requestedSchema": schema,
            }))
            .map_err(|error| {
                ToolError::arguments(format!("cannot ask for the wait's input: {error}"))
            })?;
        let answer = match context.peer().create_elicitation(params).await {
            Ok(answer) => answer,
            Err(error) => {
                tracing::debug!("elicitation failed, the execution stays waiting: {error}");
                break;
            }
        };
        if answer.action != rmcp::model::ElicitationAction::Accept {
            break;
        }
        let value = crate::elicitation::answer(shape, answer.content.as_ref())
            .map_err(|reason| ToolError::argument("value", reason))?;
        let exec_id = execution.summary.exec_id.clone();
        executions::input(kitaru, &exec_id, &wait.wait_id, value).await?;
        execution =
            executions::watch(kitaru, &exec_id, options.settle, options.observer.as_ref()).await?;
    }
    Ok(execution)
}

fn wait_argument(seconds: i64) -> Result<u64, ToolError> {
    u64::try_from(seconds).map_err(|_| ToolError::argument("max_wait_seconds", "must be >= 0"))
}

/// Flow code resolves against this server's working directory, as the
/// reference resolves it; the call returns after `seconds` at the latest,
/// with progress notifications on the way when the client asked for them.
fn launch_options(seconds: u64, context: &ToolContext) -> LaunchOptions {
    // A task is followed with `tasks/get`: no need to wait here.
    let seconds = if context.as_task() { 0 } else { seconds };
    LaunchOptions {
        settle: std::time::Duration::from_secs(seconds),
        observer: progress(context),
        ..super::launch_options()
    }
}

/// An observer sending each look at the execution to the client as a
/// progress notification (`progress` counts the looks), if the call
/// carries a progress token.
fn progress(context: &ToolContext) -> Option<Observer> {
    let token = context.progress_token()?;
    let peer = context.peer().clone();
    Some(Observer::new(move |update| {
        let mut notification =
            rmcp::model::ProgressNotificationParam::new(token.clone(), f64::from(update.look));
        notification.message = Some(update.describe());
        let peer = peer.clone();
        async move {
            if let Err(error) = peer.notify_progress(notification).await {
                tracing::debug!("progress notification not sent: {error}");
            }
        }
    }))
}

/// The SDK filter of the list and latest arguments; the status is read as
/// the reference reads it (trimmed, any case).
fn filter(
    status: Option<&str>,
    flow: Option<String>,
    stack: Option<String>,
) -> Result<ExecutionFilter, ToolError> {
    Ok(ExecutionFilter {
        status: status.map(ExecutionStatus::parse_filter).transpose()?,
        flow,
        stack,
    })
}
