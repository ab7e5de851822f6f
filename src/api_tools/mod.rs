//! The server's API as opt-in MCP tools: one tool `api_<operation>` for each
//! operation `openapi/api_tools.toml` exposes, in the toolset `api:<tag>`,
//! called through the generated typed client (`kitaru_client::operations`);
//! and the discovery toolset `api:discovery` (search, describe, call) that
//! reaches the whole API for the cost of three tools.
//!
//! None of them is offered unless its toolset is selected (`--toolsets
//! api:runs,api:discovery`, or `api:all` for every operation tool);
//! read-only mode leaves only the `GET` operations.
//!
//! Credentials in answers (a user's activation token, an API key, a
//! connector's configuration, …) are stripped before the answer goes
//! anywhere: the fields `openapi/api_tools.toml` strips for the operation
//! and for every operation, which the build checks against the spec (see
//! `build/api_tools.rs`).

pub mod discovery;

use std::sync::{Arc, LazyLock};

use kitaru_client::operations::{self, CallError, Operation};
use rmcp::handler::server::router::tool::ToolRoute;
use rmcp::model::{JsonObject, Tool, ToolAnnotations};
use serde_json::{Value, json};

use crate::server::KitaruServer;
use crate::tools::{ToolContext, ToolError};

pub use discovery::DISCOVERY_TOOLSET;

/// What became of an operation (the generated `API_DECISIONS`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApiDecision {
    /// A tool `api_<name>`.
    Expose,
    /// No tool, for this reason.
    Hide(&'static str),
    /// No tool: this curated Kitaru tool does it.
    Curated(&'static str),
    /// No tool: the spec marks it deprecated.
    Deprecated,
}

include!(concat!(env!("OUT_DIR"), "/api_decisions.rs"));

/// Selecting every operation tool.
pub const ALL_TOOLSET: &str = "api:all";

/// An operation with its decision and toolset.
#[derive(Debug)]
pub struct ApiOperation {
    /// The catalogue's entry.
    pub operation: &'static Operation,
    /// The tool's name, `api_<operation>`.
    pub tool: String,
    /// `api:<tag>`.
    pub toolset: &'static str,
    /// Exposed, hidden or curated.
    pub decision: ApiDecision,
    /// The fields stripped from its answers besides
    /// [`STRIPPED_EVERYWHERE`]: names (`key`) or dotted paths
    /// (`service_connector.metadata.configuration`).
    pub strip: &'static [&'static str],
}

impl ApiOperation {
    /// Whether calling it changes nothing on the server.
    pub fn read_only(&self) -> bool {
        matches!(self.operation.method, "GET" | "HEAD")
    }

    /// Every strip entry that applies to its answers.
    pub fn stripped(&self) -> impl Iterator<Item = &'static str> {
        STRIPPED_EVERYWHERE.iter().chain(self.strip).copied()
    }

    /// Why it cannot be called as a tool (hidden, curated, not callable);
    /// `None` when it can.
    pub fn unavailable(&self) -> Option<String> {
        match self.decision {
            ApiDecision::Expose => self
                .operation
                .callable
                .map(|reason| format!("`{}` cannot be called here: {reason}", self.operation.name)),
            ApiDecision::Hide(reason) => Some(format!(
                "`{}` is not offered as a tool: {reason}",
                self.operation.name
            )),
            ApiDecision::Curated(tool) => Some(format!(
                "`{}` is not offered as a tool: use the Kitaru tool `{tool}`, which applies \
                 Kitaru's rules to it",
                self.operation.name
            )),
            ApiDecision::Deprecated => Some(format!(
                "`{}` is deprecated in the server's API and not offered",
                self.operation.name
            )),
        }
    }
}

/// Every operation of the catalogue that has a decision, sorted by name.
pub static API_OPERATIONS: LazyLock<Vec<ApiOperation>> = LazyLock::new(|| {
    API_DECISIONS
        .iter()
        .filter_map(|(name, toolset, decision, strip)| {
            Some(ApiOperation {
                operation: operations::find(name)?,
                tool: format!("api_{name}"),
                toolset,
                decision: *decision,
                strip,
            })
        })
        .collect()
});

/// The operation behind a tool name (`api_list_runs`) or an operation name
/// (`list_runs`).
pub fn find(name: &str) -> Option<&'static ApiOperation> {
    let name = name.strip_prefix("api_").unwrap_or(name);
    API_OPERATIONS.iter().find(|api| api.operation.name == name)
}

/// The exposed operation behind a tool name.
pub fn exposed_tool(name: &str) -> Option<&'static ApiOperation> {
    API_OPERATIONS
        .iter()
        .find(|api| api.tool == name && api.decision == ApiDecision::Expose)
}

/// The toolsets of the exposed operations, sorted.
pub fn toolsets() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = API_OPERATIONS
        .iter()
        .filter(|api| api.decision == ApiDecision::Expose)
        .map(|api| api.toolset)
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// The first paragraph of a spec description, at most 300 characters: the
/// rest (argument lists, return values) repeats the input schema.
fn brief(text: &str) -> String {
    let first = text
        .split("\n\n")
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    match first.char_indices().nth(300) {
        Some((cut, _)) => format!("{}…", &first[..cut]),
        None => first,
    }
}

/// The MCP tool for an exposed operation.
pub fn tool(api: &ApiOperation) -> Tool {
    let operation = api.operation;
    let mut description = brief(operation.description);
    if description.is_empty() {
        description = operation.summary.to_owned();
    }
    description.push_str(&format!(
        " ({} {}; Kitaru server API)",
        operation.method, operation.path
    ));
    let schema: JsonObject = crate::tools::formats::standardised(operation.schema());
    let method = operation.method;
    let annotations = ToolAnnotations::with_title(operation.summary)
        .read_only(api.read_only())
        .destructive(method == "DELETE")
        .idempotent(matches!(method, "GET" | "HEAD" | "PUT" | "DELETE"))
        .open_world(false);
    Tool::new(api.tool.clone(), description, Arc::new(schema))
        .with_title(operation.summary)
        .with_annotations(annotations)
}

/// The route of an exposed operation's tool.
pub fn route(api: &'static ApiOperation) -> ToolRoute<KitaruServer> {
    ToolRoute::new_dyn(tool(api), move |call| {
        Box::pin(async move {
            let arguments = call.arguments.clone().unwrap_or_default();
            let context = ToolContext::new(&api.tool, call.request_context.clone())
                .with_arguments(&arguments);
            let outcome = context
                .run(async { invoke(call.service, api, arguments, &context).await })
                .await;
            Ok(crate::tools::respond::<Value, Value>(&context, outcome)?.into())
        })
    })
}

/// Calls the operation through the typed client; the answer within the
/// result budget.
async fn invoke(
    server: &KitaruServer,
    api: &ApiOperation,
    arguments: JsonObject,
    context: &ToolContext,
) -> Result<Value, ToolError> {
    if let Some(reason) = api.unavailable() {
        return Err(kitaru_sdk::Error::State(reason).into());
    }
    check_arguments(api, &arguments)?;
    let kitaru = server.kitaru_of(context.request()).await?;
    let operation = api.operation;
    let mut answer = operations::call(&kitaru.client, operation.name, arguments)
        .await
        .map_err(|error| match error {
            CallError::Argument { name, reason } => ToolError::argument(name, reason),
            CallError::Api(error) => kitaru_sdk::Error::api(
                format!("{} {} failed", operation.method, operation.path),
                without_answer_text(error),
            )
            .into(),
            other => kitaru_sdk::Error::State(other.to_string()).into(),
        })?;
    strip_fields(&mut answer, api.stripped());
    Ok(within_budget(answer))
}

/// An answer the typed client cannot decode comes back with its raw bytes
/// in the error's message, credentials and all: the error says only that it
/// did not decode.
fn without_answer_text(mut error: kitaru_client::ApiError) -> kitaru_client::ApiError {
    if error.message.starts_with("Invalid Response Payload") {
        error.message = "the server's answer does not decode as the API's spec describes it \
                         (not shown: it may hold credentials)"
            .to_owned();
    }
    error
}

/// Removes from `answer` every member a strip entry names: `field` at any
/// depth, `parent.field` only where the keys leading to it end with
/// `parent` (array levels do not count) — as the build's check reads them.
fn strip_fields<'a>(answer: &mut Value, entries: impl Iterator<Item = &'a str>) {
    let entries: Vec<Vec<&str>> = entries.map(|entry| entry.split('.').collect()).collect();
    if !entries.is_empty() {
        strip_under(answer, &entries, &mut Vec::new());
    }
}

fn strip_under(value: &mut Value, entries: &[Vec<&str>], keys: &mut Vec<String>) {
    match value {
        Value::Object(members) => {
            members.retain(|key, _| {
                !entries.iter().any(|entry| match entry.split_last() {
                    Some((field, parents)) => {
                        *field == key.as_str()
                            && keys.len() >= parents.len()
                            && keys[keys.len() - parents.len()..]
                                .iter()
                                .zip(parents)
                                .all(|(have, want)| have.as_str() == *want)
                    }
                    None => false,
                })
            });
            for (key, member) in members.iter_mut() {
                keys.push(key.clone());
                strip_under(member, entries, keys);
                keys.pop();
            }
        }
        Value::Array(items) => {
            for item in items {
                strip_under(item, entries, keys);
            }
        }
        _ => {}
    }
}

/// The top level of the arguments against the operation's input schema:
/// no unknown key, every required one, each of the declared JSON type. The
/// typed client checks the rest when it decodes them.
fn check_arguments(api: &ApiOperation, arguments: &JsonObject) -> Result<(), ToolError> {
    let schema = api.operation.schema();
    let properties = schema
        .get("properties")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    for name in arguments.keys() {
        if !properties.contains_key(name) {
            let known: Vec<&str> = properties.keys().map(String::as_str).collect();
            return Err(ToolError::argument(
                name,
                format!(
                    "`{}` takes no argument `{}`; its arguments are: {}",
                    api.tool,
                    short(name, 80),
                    if known.is_empty() {
                        "none".to_owned()
                    } else {
                        known.join(", ")
                    }
                ),
            ));
        }
    }
    for required in schema
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        if !arguments.contains_key(required) {
            return Err(ToolError::argument(
                required,
                format!("`{}` needs the argument `{required}`", api.tool),
            ));
        }
    }
    for (name, value) in arguments {
        if let Some(reason) = misfit(&properties[name], value) {
            return Err(ToolError::argument(name, reason));
        }
    }
    Ok(())
}

/// What is wrong with `value` for a property's schema at its top level:
/// its type, its allowed values, its range, its length.
fn misfit(schema: &Value, value: &Value) -> Option<String> {
    if let Some(expected) = schema.get("type")
        && !type_fits(expected, value)
    {
        return Some(format!("expected {expected}, got {}", json_type(value)));
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !value.is_null()
        && !allowed.contains(value)
    {
        let allowed: Vec<String> = allowed.iter().map(Value::to_string).collect();
        return Some(format!("must be one of {}", allowed.join(", ")));
    }
    if let Some(number) = value.as_f64() {
        if let Some(minimum) = schema.get("minimum").and_then(Value::as_f64)
            && number < minimum
        {
            return Some(format!("must be at least {minimum}"));
        }
        if let Some(maximum) = schema.get("maximum").and_then(Value::as_f64)
            && number > maximum
        {
            return Some(format!("must be at most {maximum}"));
        }
    }
    if let Some(text) = value.as_str() {
        let length = text.chars().count() as u64;
        if let Some(shortest) = schema.get("minLength").and_then(Value::as_u64)
            && length < shortest
        {
            return Some(format!("must be at least {shortest} characters long"));
        }
        if let Some(longest) = schema.get("maxLength").and_then(Value::as_u64)
            && length > longest
        {
            return Some(format!("must be at most {longest} characters long"));
        }
    }
    None
}

/// At most `chars` characters of `text` (an argument echoed back).
fn short(text: &str, chars: usize) -> String {
    match text.char_indices().nth(chars) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Whether `value` is of the schema's `type` (a name or a list of names).
fn type_fits(expected: &Value, value: &Value) -> bool {
    let fits = |name: &str| match (name, json_type(value)) {
        ("number", "integer") => true,
        (wanted, actual) => wanted == actual,
    };
    match expected {
        Value::String(name) => fits(name),
        Value::Array(names) => names.iter().filter_map(Value::as_str).any(fits),
        _ => true,
    }
}

/// The most bytes of JSON an operation's answer carries:
/// `KITARU_MCP_API_RESULT_BYTES`, else 20,000.
fn result_budget() -> usize {
    std::env::var("KITARU_MCP_API_RESULT_BYTES")
        .ok()
        .and_then(|text| text.trim().parse::<usize>().ok())
        .filter(|bytes| *bytes > 0)
        .unwrap_or(20_000)
}

/// The answer as structured content (an object), within the budget: a page
/// keeps as many of its items as fit, anything else becomes the beginning
/// of its JSON text; `truncated` says what was left out and what to do.
fn within_budget(answer: Value) -> Value {
    let mut answer = match answer {
        Value::Object(object) => Value::Object(object),
        other => json!({ "result": other }),
    };
    let budget = result_budget();
    let total = answer.to_string().len();
    if total <= budget {
        return answer;
    }
    if let Some(items) = answer.get_mut("items").and_then(Value::as_array_mut) {
        let listed = items.len();
        // The items that fit, each serialised once: `[a,b]` is 2 bytes of
        // brackets, the items and a comma between each two; at least one.
        let mut used = 2;
        let mut fitting = 0;
        for (index, item) in items.iter().enumerate() {
            used += serde_json::to_string(item).map_or(0, |t| t.len()) + usize::from(index > 0);
            if used > budget {
                break;
            }
            fitting += 1;
        }
        items.truncate(fitting.max(1));
        let shown = items.len();
        if answer.to_string().len() <= budget + 1_000 {
            answer["truncated"] = json!({
                "total_bytes": total,
                "shown_items": shown,
                "page_items": listed,
                "hint": "ask for smaller pages (`size`) or leave `hydrate` off",
            });
            return answer;
        }
    }
    let text = answer.to_string();
    let mut cut = budget;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    json!({
        "result_json_start": format!("{}…", &text[..cut]),
        "truncated": {
            "total_bytes": text.len(),
            "shown_bytes": cut,
            "hint": "narrow the request (filters, smaller pages, no `hydrate`)",
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_decision_names_an_operation_of_the_catalogue_and_back() {
        for (name, ..) in API_DECISIONS {
            assert!(
                operations::find(name).is_some(),
                "{name} is decided but not in the catalogue"
            );
        }
        for operation in operations::OPERATIONS {
            assert!(
                API_DECISIONS
                    .iter()
                    .any(|(name, ..)| *name == operation.name),
                "{} is in the catalogue without a decision",
                operation.name
            );
        }
        assert_eq!(API_OPERATIONS.len(), API_DECISIONS.len());
    }

    #[test]
    fn tool_names_are_valid_and_unique() {
        let mut names = std::collections::BTreeSet::new();
        for api in API_OPERATIONS.iter() {
            assert!(api.tool.len() <= 64, "{}", api.tool);
            assert!(
                api.tool
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_'),
                "{}",
                api.tool
            );
            assert!(names.insert(api.tool.clone()), "{} twice", api.tool);
            assert!(api.toolset.starts_with("api:"), "{}", api.toolset);
        }
    }

    #[test]
    fn exposed_tools_have_object_schemas_and_method_annotations() {
        let list_runs = find("list_runs").unwrap();
        let listed = tool(list_runs);
        assert_eq!(listed.name, "api_list_runs");
        assert_eq!(listed.input_schema["type"], "object");
        assert_eq!(
            listed.annotations.as_ref().unwrap().read_only_hint,
            Some(true)
        );
        let delete = tool(find("delete_tag").unwrap());
        assert_eq!(
            delete.annotations.as_ref().unwrap().destructive_hint,
            Some(true)
        );
        assert_eq!(
            delete.annotations.as_ref().unwrap().read_only_hint,
            Some(false)
        );
        assert_eq!(
            find("get_secret").unwrap().decision,
            ApiDecision::Hide("answers with the secret's values, which never go into a result")
        );
    }

    #[test]
    fn stripped_fields_leave_answers_at_any_depth() {
        let mut answer = json!({
            "items": [
                {"body": {"name": "a", "activation_token": "t1", "key": "k"},
                 "resources": {"user": {"body": {"activation_token": "t2"}}}},
            ],
            "metadata": {
                "configuration": {"path": "s3://x"},
                "connector": {"metadata": {"configuration": {"secret": "s"}, "labels": {}}},
                "components": {"orchestrator": [
                    {"metadata": {"connector": {"metadata": {"configuration": {"k": 1}}}}}
                ]},
            },
            "auth_key": "a",
        });
        strip_fields(
            &mut answer,
            [
                "activation_token",
                "auth_key",
                "connector.metadata.configuration",
            ]
            .into_iter(),
        );
        assert_eq!(
            answer,
            json!({
                "items": [
                    {"body": {"name": "a", "key": "k"},
                     "resources": {"user": {"body": {}}}},
                ],
                "metadata": {
                    "configuration": {"path": "s3://x"},
                    "connector": {"metadata": {"labels": {}}},
                    "components": {"orchestrator": [
                        {"metadata": {"connector": {"metadata": {}}}}
                    ]},
                },
            })
        );
        // An entry's parents must be the last keys: `body.key` leaves a
        // `key` elsewhere.
        let mut answer = json!({"body": {"key": 1}, "other": {"key": 2}, "key": 3});
        strip_fields(&mut answer, ["body.key"].into_iter());
        assert_eq!(answer, json!({"body": {}, "other": {"key": 2}, "key": 3}));
        // A top-level array (a batch answer) is walked too.
        let mut answer = json!([{"activation_token": "t"}, {"name": "n"}]);
        strip_fields(&mut answer, ["activation_token"].into_iter());
        assert_eq!(answer, json!([{}, {"name": "n"}]));
    }

    #[test]
    fn an_answer_that_does_not_decode_is_not_quoted() {
        let error = kitaru_client::ApiError {
            status: None,
            exception_type: None,
            message:
                r#"Invalid Response Payload (b"{\"activation_token\": \"t\"}"): missing field"#
                    .to_owned(),
            timed_out: false,
        };
        let message = without_answer_text(error).message;
        assert!(!message.contains("activation_token"), "{message}");
        assert!(message.contains("does not decode"), "{message}");
        let other = kitaru_client::ApiError {
            status: Some(404),
            exception_type: Some("KeyError".to_owned()),
            message: "no such user".to_owned(),
            timed_out: false,
        };
        assert_eq!(without_answer_text(other.clone()), other);
    }

    #[test]
    fn operations_strip_the_credentials_the_toml_decides() {
        let deactivate = find("deactivate_user").unwrap();
        assert_eq!(deactivate.decision, ApiDecision::Expose);
        assert!(
            deactivate
                .stripped()
                .any(|entry| entry == "activation_token")
        );
        let get_api_key = find("get_api_key").unwrap();
        assert!(get_api_key.stripped().any(|entry| entry == "key"));
        assert!(!deactivate.stripped().any(|entry| entry == "key"));
        assert!(matches!(
            find("get_stack_deployment_config").unwrap().decision,
            ApiDecision::Hide(_)
        ));
    }

    #[test]
    fn large_pages_keep_the_items_that_fit() {
        let items: Vec<Value> = (0..100)
            .map(|i| json!({"id": i, "pad": "x".repeat(500)}))
            .collect();
        let bounded = within_budget(json!({"items": items, "total": 100}));
        let shown = bounded["items"].as_array().unwrap().len();
        assert!(shown > 0 && shown < 100, "{shown}");
        assert_eq!(bounded["truncated"]["shown_items"], shown);
        let scalar = within_budget(json!("y".repeat(50_000)));
        assert!(scalar["result_json_start"].as_str().unwrap().len() < 21_000);
        assert_eq!(within_budget(json!(3)), json!({"result": 3}));
        // Exactly the items whose JSON array fits the budget are kept.
        let kept: Vec<Value> = bounded["items"].as_array().unwrap().clone();
        let mut one_more = kept.clone();
        one_more.push(json!({"id": shown, "pad": "x".repeat(500)}));
        assert!(serde_json::to_string(&kept).unwrap().len() <= result_budget());
        assert!(serde_json::to_string(&one_more).unwrap().len() > result_budget());
    }
}
