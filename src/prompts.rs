//! MCP prompts: the copy-paste prompts of the Kitaru docs, each a guided,
//! safe sequence of tool calls, with arguments the server can complete from
//! real data.
//!
//! A prompt is offered only when every tool it relies on is offered (so
//! read-only mode drops the prompts that run flows or answer a wait).

use std::collections::BTreeSet;

use kitaru_sdk::executions::{self, ExecutionFilter, ExecutionStatus};
use kitaru_sdk::memory::{self, MemoryScope, ScopeType};
use kitaru_sdk::{Kitaru, stacks};
use rmcp::model::{CompletionInfo, GetPromptResult, Prompt, PromptArgument, PromptMessage, Role};

use crate::catalog::{TOOLS, names};
use crate::selection::ToolSelection;

/// What an argument's values can be completed from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Completion {
    /// Nothing: free text.
    Free,
    /// Ids of recent executions; `Some(status)` only those in that status.
    Execution(Option<ExecutionStatus>),
    /// Names of flows with executions.
    Flow,
    /// Memory scopes of the scope type given (namespace by default).
    MemoryScope,
    /// Keys holding a value in the scope given.
    MemoryKey,
    /// The three scope types.
    ScopeType,
    /// Names of the server's stacks.
    Stack,
    /// A fixed set of values.
    OneOf(&'static [&'static str]),
}

/// One argument of a prompt.
#[derive(Debug)]
pub struct PromptArg {
    /// Its name.
    pub name: &'static str,
    /// What it is.
    pub description: &'static str,
    /// Whether the prompt needs it.
    pub required: bool,
    /// Where completions come from.
    pub completion: Completion,
}

/// One prompt.
#[derive(Debug)]
pub struct PromptSpec {
    /// Its name.
    pub name: &'static str,
    /// Its title.
    pub title: &'static str,
    /// What it does.
    pub description: &'static str,
    /// Its arguments.
    pub arguments: &'static [PromptArg],
    /// The tools it guides the assistant through; all must be offered.
    pub tools: &'static [&'static str],
    /// The prompt text for the given argument values.
    render: fn(&Values) -> String,
}

/// Argument values as given, by name.
pub struct Values(serde_json::Map<String, serde_json::Value>);

impl Values {
    /// An argument's value, trimmed; `None` when absent or blank.
    pub fn get(&self, name: &str) -> Option<String> {
        let value = self.0.get(name)?;
        let text = match value {
            serde_json::Value::String(text) => text.trim().to_owned(),
            serde_json::Value::Null => return None,
            other => other.to_string(),
        };
        (!text.is_empty()).then_some(text)
    }
}

const EXEC_ID_WAITING: PromptArg = PromptArg {
    name: "exec_id",
    description: "A waiting execution to resolve; all waiting ones are looked at otherwise.",
    required: false,
    completion: Completion::Execution(Some(ExecutionStatus::Waiting)),
};

/// Every prompt, in the order the docs give them.
pub const PROMPTS: &[PromptSpec] = &[
    PromptSpec {
        name: "status_check",
        title: "Read-only status check",
        description: "Check the Kitaru connection and the latest executions, and summarize anything \
                      waiting for input. Changes nothing.",
        arguments: &[PromptArg {
            name: "count",
            description: "How many of the latest executions to list (default 5).",
            required: false,
            completion: Completion::OneOf(&["5", "10", "20"]),
        }],
        tools: &[names::STATUS, names::EXECUTIONS_LIST, names::EXECUTIONS_GET],
        render: |values| {
            let count = values
                .get("count")
                .and_then(|count| count.parse::<u32>().ok())
                .filter(|count| *count > 0)
                .unwrap_or(5);
            format!(
                "Check my Kitaru status with `kitaru_status` and list the {count} latest executions \
                 with `kitaru_executions_list` (limit {count}). Summarize anything waiting for input: \
                 for each waiting execution, get it with `kitaru_executions_get` and show the \
                 pending wait's question and the kind of value it expects. This is a read-only \
                 check: do not cancel executions or answer waits."
            )
        },
    },
    PromptSpec {
        name: "run_flow",
        title: "Start and watch a flow",
        description: "Run a flow from `<module_or_file>:<flow_name>` and follow its execution until \
                      it finishes, asking the user before answering any wait.",
        arguments: &[
            PromptArg {
                name: "target",
                description: "The flow: `<module_or_file>:<flow_name>`, e.g. \
                              `flows/research.py:research_agent`.",
                required: true,
                completion: Completion::Free,
            },
            PromptArg {
                name: "inputs",
                description: "The flow's inputs as a JSON object, e.g. {\"topic\": \"durable execution\"}.",
                required: false,
                completion: Completion::Free,
            },
        ],
        tools: &[names::EXECUTIONS_RUN, names::EXECUTIONS_GET],
        render: |values| {
            let target = values.get("target").unwrap_or_default();
            let inputs = values
                .get("inputs")
                .map(|inputs| format!(" with args {inputs}"))
                .unwrap_or_default();
            format!(
                "Run `{target}`{inputs} with `kitaru_executions_run`, then watch the execution \
                 until it finishes: while its status is running, get it again with \
                 `kitaru_executions_get` every few seconds and tell me which checkpoint it is at. \
                 If it waits for input, show me the wait's question and expected value and stop \
                 there: do not answer the wait yourself. When it ends, give me its id, status and \
                 result, or its failure (checkpoint, exception and message)."
            )
        },
    },
    PromptSpec {
        name: "resolve_wait",
        title: "Resolve a waiting execution safely",
        description: "Find an execution waiting for input, show its question, and answer it only \
                      with a value the user gives.",
        arguments: &[EXEC_ID_WAITING],
        tools: &[
            names::EXECUTIONS_LIST,
            names::EXECUTIONS_GET,
            names::EXECUTIONS_INPUT,
        ],
        render: |values| {
            let find = match values.get("exec_id") {
                Some(exec_id) => format!(
                    "Get execution `{exec_id}` with `kitaru_executions_get` and check that it is \
                     waiting for input."
                ),
                None => "Find executions waiting for input with `kitaru_executions_list` \
                         (status \"waiting\"). If several are waiting, list them with their \
                         questions and ask me which one to resolve; if none is, say so and stop."
                    .to_owned(),
            };
            format!(
                "{find} For the execution to resolve, show me the pending wait's question, its name \
                 and the schema of the value it expects (from `kitaru_executions_get`). Then ask me \
                 for the value. Do not call `kitaru_executions_input` before I have given it; then \
                 call it with the execution's id, the wait's name and my value, and show the \
                 execution's new status."
            )
        },
    },
    PromptSpec {
        name: "replay_execution",
        title: "Plan and run a replay",
        description: "Replay a failed execution from the checkpoint before the failing one, \
                      explaining the plan and asking before running it.",
        arguments: &[
            PromptArg {
                name: "exec_id",
                description: "The execution to replay; the latest failed one otherwise.",
                required: false,
                completion: Completion::Execution(Some(ExecutionStatus::Failed)),
            },
            PromptArg {
                name: "from_",
                description: "The checkpoint to replay from; the one before the failing \
                              checkpoint otherwise.",
                required: false,
                completion: Completion::Free,
            },
        ],
        tools: &[
            names::EXECUTIONS_LATEST,
            names::EXECUTIONS_GET,
            names::EXECUTIONS_REPLAY,
        ],
        render: |values| {
            let find = match values.get("exec_id") {
                Some(exec_id) => format!("Get execution `{exec_id}` with `kitaru_executions_get`."),
                None => "Get the latest failed execution with `kitaru_executions_latest` (status \
                         \"failed\")."
                    .to_owned(),
            };
            let boundary = match values.get("from_") {
                Some(from) => format!("from checkpoint `{from}`"),
                None => "from the checkpoint before the failing one (the failing one itself \
                         when it is the first)"
                    .to_owned(),
            };
            format!(
                "{find} Plan a replay {boundary}. Before running it, explain the plan: the \
                 checkpoints that will reuse their recorded outputs (everything upstream of the \
                 replay point), the ones that will run again (the replay point and everything \
                 downstream of it), and any overrides or changed flow inputs. Ask me to confirm. \
                 Only then call `kitaru_executions_replay` with `exec_ids` (the execution's id) and \
                 `at` (the replay point), and report the new execution's id and status, or its \
                 failure if it failed again."
            )
        },
    },
    PromptSpec {
        name: "inspect_results",
        title: "Inspect results from a completed execution",
        description: "Show the artifacts of the latest completed execution, with their values.",
        arguments: &[
            PromptArg {
                name: "flow",
                description: "Only executions of this flow.",
                required: false,
                completion: Completion::Flow,
            },
            PromptArg {
                name: "kind",
                description: "Which artifacts (default response).",
                required: false,
                completion: Completion::OneOf(&[
                    "response", "prompt", "context", "input", "output", "blob",
                ]),
            },
        ],
        tools: &[
            names::EXECUTIONS_LATEST,
            names::ARTIFACTS_LIST,
            names::ARTIFACTS_GET,
        ],
        render: |values| {
            let flow = values
                .get("flow")
                .map(|flow| format!(" of flow `{flow}`"))
                .unwrap_or_default();
            let flow_argument = values
                .get("flow")
                .map(|flow| format!(", flow \"{flow}\""))
                .unwrap_or_default();
            let kind = values.get("kind").unwrap_or_else(|| "response".to_owned());
            format!(
                "Get the latest completed execution{flow} with `kitaru_executions_latest` (status \
                 \"completed\"{flow_argument}) and list its {kind} artifacts with \
                 `kitaru_artifacts_list` (kind \"{kind}\"). Show each one's value with \
                 `kitaru_artifacts_get`. When a value is unavailable (value_available false), \
                 explain value_unavailable instead of guessing the value."
            )
        },
    },
    PromptSpec {
        name: "read_memory",
        title: "Read durable memory safely",
        description: "Read a memory key and, if its value cannot be read here, explain why instead \
                      of overwriting it.",
        arguments: &[
            PromptArg {
                name: "key",
                description: "The memory key.",
                required: true,
                completion: Completion::MemoryKey,
            },
            PromptArg {
                name: "scope",
                description: "The scope: a namespace name, a flow id or an execution id.",
                required: true,
                completion: Completion::MemoryScope,
            },
            PromptArg {
                name: "scope_type",
                description: "namespace (default), flow or execution.",
                required: false,
                completion: Completion::ScopeType,
            },
        ],
        tools: &[names::MEMORY_GET, names::MEMORY_LIST, names::MEMORY_HISTORY],
        render: |values| {
            let key = values.get("key").unwrap_or_default();
            let scope = values.get("scope").unwrap_or_default();
            let scope_type = values
                .get("scope_type")
                .unwrap_or_else(|| "namespace".to_owned());
            format!(
                "Read `{key}` from Kitaru memory in scope `{scope}` (scope_type \"{scope_type}\") \
                 with `kitaru_memory_get`. If value_available is false, explain the diagnostics in \
                 value_unavailable (error_type, cause_type, message) and where the value could be \
                 read instead; do not overwrite the key with `kitaru_memory_set`. If the key does \
                 not exist or is deleted, say so, and show the scope's keys \
                 (`kitaru_memory_list`) and the key's history (`kitaru_memory_history`)."
            )
        },
    },
    PromptSpec {
        name: "manage_local_stack",
        title: "Manage a local stack",
        description: "Create a local stack if it does not exist yet (it becomes the active one), \
                      then show the Kitaru status.",
        arguments: &[PromptArg {
            name: "name",
            description: "The stack's name (default local-dev).",
            required: false,
            completion: Completion::Stack,
        }],
        tools: &[names::STACKS_LIST, names::MANAGE_STACK, names::STATUS],
        render: |values| {
            let name = values.get("name").unwrap_or_else(|| "local-dev".to_owned());
            format!(
                "Create a local Kitaru stack named `{name}` if it does not already exist, then \
                 show me the current Kitaru status. First list the stacks with \
                 `kitaru_stacks_list`: if `{name}` is there, do not create it again; say whether \
                 it is the active one. Otherwise create it with `manage_stack` (action `create`, \
                 name `{name}`): it gets fresh local components and becomes the active stack for \
                 this project; tell me which stack was active before. Then call `kitaru_status`. \
                 Do not delete or replace any stack."
            )
        },
    },
    PromptSpec {
        name: "deploy_and_invoke",
        title: "Deploy and invoke a shared flow route",
        description: "Deploy a flow as a tagged version, then invoke that route and show the \
                      started execution.",
        arguments: &[
            PromptArg {
                name: "target",
                description: "The flow: `<module_or_file>:<flow_name>`.",
                required: true,
                completion: Completion::Free,
            },
            PromptArg {
                name: "inputs",
                description: "Representative flow inputs as a JSON object.",
                required: false,
                completion: Completion::Free,
            },
            PromptArg {
                name: "tag",
                description: "The route's tag (default canary).",
                required: false,
                completion: Completion::OneOf(&["canary", "stable", "prod", "default"]),
            },
        ],
        tools: &[names::DEPLOYMENTS_DEPLOY, names::DEPLOYMENTS_INVOKE],
        render: |values| {
            let target = values.get("target").unwrap_or_default();
            let inputs = values
                .get("inputs")
                .map(|inputs| format!(" with inputs {inputs}"))
                .unwrap_or_default();
            let tag = values.get("tag").unwrap_or_else(|| "canary".to_owned());
            format!(
                "Deploy `{target}`{inputs} as a `{tag}` deployment (exclusive) with \
                 `kitaru_deployments_deploy`, then invoke the `{tag}` route with \
                 `kitaru_deployments_invoke` (flow and tag) and show me the started execution's \
                 id and status. If the deploy or the invocation is refused because the stack \
                 cannot run on the server, explain that and stop: do not retry with another \
                 stack unless I name one."
            )
        },
    },
    PromptSpec {
        name: "compare_replays",
        title: "Compare an execution with its replays",
        description: "Show checkpoint by checkpoint what its replays changed: status, time, \
                      tokens, cost and values. Changes nothing.",
        arguments: &[PromptArg {
            name: "exec_id",
            description: "The original execution; the latest completed one otherwise.",
            required: false,
            completion: Completion::Execution(Some(ExecutionStatus::Completed)),
        }],
        tools: &[names::EXECUTIONS_LATEST, names::EXECUTIONS_DIFF],
        render: |values| {
            let find = match values.get("exec_id") {
                Some(exec_id) => format!("The original is execution `{exec_id}`."),
                None => "Find the original with `kitaru_executions_latest` (status \
                         \"completed\")."
                    .to_owned(),
            };
            format!(
                "{find} Compare it with its replays: call `kitaru_executions_diff` with it as \
                 `original` (its replays are found for you). For each replay, show a table of \
                 its checkpoints: whether the status matches, the duration change, the token \
                 and cost changes, and whether any output value changed (an artifact's two \
                 hashes differ). Then say in a few sentences what the replays changed and which \
                 one did best, and mention any warning in the answer (e.g. a scan cut short). \
                 If it has no replays, say so and stop. This is a read-only look: replay \
                 nothing."
            )
        },
    },
    PromptSpec {
        name: "where_time_goes",
        title: "Where time and cost go",
        description: "Group executions and show where time, tokens and cost go, with the \
                      outliers. Changes nothing.",
        arguments: &[
            PromptArg {
                name: "by",
                description: "What to group by (default flow).",
                required: false,
                completion: Completion::OneOf(&[
                    "flow",
                    "status",
                    "stack",
                    "tag",
                    "time:day",
                    "time:week",
                ]),
            },
            PromptArg {
                name: "flow",
                description: "Only executions of this flow.",
                required: false,
                completion: Completion::Flow,
            },
        ],
        tools: &[names::EXECUTIONS_STATISTICS, names::EXECUTIONS_LIST],
        render: |values| {
            let by = values.get("by").unwrap_or_else(|| "flow".to_owned());
            let (flow, flow_argument) = match values.get("flow") {
                Some(flow) => (format!(" of flow `{flow}`"), format!(", flow \"{flow}\"")),
                None => (String::new(), String::new()),
            };
            format!(
                "Find where time and cost go in my Kitaru executions{flow}. Call \
                 `kitaru_executions_statistics` with group_by [\"{by}\"]{flow_argument} and \
                 metrics [\"mean_seconds:duration:avg\", \"longest_seconds:duration:max\", \
                 \"mean_checkpoints:step_count:avg\", \"llm_total_tokens\", \
                 \"llm_display_cost\"]. Show the groups as a table (executions, mean and longest \
                 duration, checkpoints, tokens, cost) and say which groups take most of the time \
                 and of the cost, and which look like outliers (a mean far from the others, a \
                 longest run far above the mean). If the answer says it was computed by the \
                 client or truncated, say so. For the costliest group, list a few of its \
                 executions with `kitaru_executions_list` so I can look closer. This is a \
                 read-only look: change nothing."
            )
        },
    },
];

impl PromptSpec {
    /// Whether every tool of the prompt is offered.
    pub fn offered(&self, selection: &ToolSelection) -> bool {
        self.tools.iter().all(|name| {
            TOOLS
                .iter()
                .any(|tool| tool.name == *name && selection.offers(tool))
        })
    }

    /// The prompt as `prompts/list` shows it.
    pub fn listing(&self) -> Prompt {
        let arguments = self
            .arguments
            .iter()
            .map(|argument| {
                let mut listed = PromptArgument::new(argument.name);
                listed.description = Some(argument.description.to_owned());
                listed.required = Some(argument.required);
                listed
            })
            .collect();
        let mut prompt = Prompt::new(self.name, Some(self.description), Some(arguments));
        prompt.title = Some(self.title.to_owned());
        prompt
    }

    /// The prompt's messages for `arguments`; a missing required argument
    /// is an error naming it.
    pub fn render(
        &self,
        arguments: Option<serde_json::Map<String, serde_json::Value>>,
    ) -> Result<GetPromptResult, String> {
        let values = Values(arguments.unwrap_or_default());
        if let Some(missing) = self
            .arguments
            .iter()
            .find(|argument| argument.required && values.get(argument.name).is_none())
        {
            return Err(format!(
                "prompt `{}` needs the argument `{}` ({})",
                self.name, missing.name, missing.description
            ));
        }
        if let Some(unknown) = values
            .0
            .keys()
            .find(|name| !self.arguments.iter().any(|argument| argument.name == *name))
        {
            let known: Vec<&str> = self
                .arguments
                .iter()
                .map(|argument| argument.name)
                .collect();
            return Err(format!(
                "prompt `{}` has no argument `{unknown}`; its arguments are: {}",
                self.name,
                known.join(", ")
            ));
        }
        let text = (self.render)(&values);
        Ok(
            GetPromptResult::new(vec![PromptMessage::new_text(Role::User, text)])
                .with_description(self.description),
        )
    }
}

/// The prompt named `name`, if there is one.
pub fn find(name: &str) -> Option<&'static PromptSpec> {
    PROMPTS.iter().find(|prompt| prompt.name == name)
}

/// Completions for `argument` of `prompt`, starting with `typed`, from the
/// server's real data; `context` holds the other arguments already chosen.
pub async fn complete(
    kitaru: Option<&Kitaru>,
    prompt: &PromptSpec,
    argument: &str,
    typed: &str,
    context: &std::collections::HashMap<String, String>,
) -> Result<CompletionInfo, String> {
    let Some(spec) = prompt.arguments.iter().find(|spec| spec.name == argument) else {
        return Err(format!(
            "prompt `{}` has no argument `{argument}`",
            prompt.name
        ));
    };
    let candidates: Vec<String> = match (spec.completion, kitaru) {
        (Completion::Free, _) => Vec::new(),
        (Completion::OneOf(values), _) => values.iter().map(|v| (*v).to_owned()).collect(),
        (Completion::ScopeType, _) => ["namespace", "flow", "execution"]
            .map(str::to_owned)
            .to_vec(),
        (_, None) => Vec::new(),
        (Completion::Execution(status), Some(kitaru)) => {
            let filter = ExecutionFilter {
                status,
                ..Default::default()
            };
            executions::list(kitaru, &filter, Some(CompletionInfo::MAX_VALUES))
                .await
                .map_err(|e| e.to_string())?
                .into_iter()
                .map(|execution| execution.summary.exec_id)
                .collect()
        }
        (Completion::Flow, Some(kitaru)) => {
            let recent = executions::list(kitaru, &ExecutionFilter::default(), Some(200))
                .await
                .map_err(|e| e.to_string())?;
            let flows: BTreeSet<String> = recent
                .into_iter()
                .filter_map(|execution| execution.summary.flow_name)
                .collect();
            flows.into_iter().collect()
        }
        (Completion::Stack, Some(kitaru)) => stacks::list(kitaru)
            .await
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|stack| stack.name)
            .collect(),
        (Completion::MemoryScope, Some(kitaru)) => {
            let scope_type = context
                .get("scope_type")
                .and_then(|text| ScopeType::parse(text).ok())
                .unwrap_or(ScopeType::Namespace);
            memory::scopes(kitaru, scope_type)
                .await
                .map_err(|e| e.to_string())?
        }
        (Completion::MemoryKey, Some(kitaru)) => {
            let scope_type = context
                .get("scope_type")
                .map_or("namespace", String::as_str);
            match context.get("scope") {
                Some(scope) => match MemoryScope::parse(scope_type, scope) {
                    Ok(scope) => memory::list(kitaru, &scope, None)
                        .await
                        .map_err(|e| e.to_string())?
                        .into_iter()
                        .map(|entry| entry.key)
                        .collect(),
                    Err(_) => Vec::new(),
                },
                // Keys need a scope to come from.
                None => Vec::new(),
            }
        }
    };
    let matching: Vec<String> = candidates
        .into_iter()
        .filter(|candidate| candidate.starts_with(typed))
        .collect();
    let total = matching.len();
    let values: Vec<String> = matching
        .into_iter()
        .take(CompletionInfo::MAX_VALUES)
        .collect();
    let more = total > values.len();
    CompletionInfo::with_pagination(values, u32::try_from(total).ok(), more)
}
