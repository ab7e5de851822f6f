//! The toolset `api:discovery`: three small tools that reach every operation
//! of the server's API on demand — search them by words, describe one (its
//! input schema), call one by name — for clients that cannot afford a tool
//! per operation.

use std::sync::Arc;

use rmcp::handler::server::router::tool::ToolRoute;
use rmcp::model::{JsonObject, Tool, ToolAnnotations};
use serde_json::{Value, json};

use super::{check_arguments, invoke};
use crate::catalog::api::{
    API_OPERATIONS, ApiOperation, CALL, DESCRIBE, DISCOVERY_TOOLS, SEARCH, find,
};
use crate::tools::{ToolContext, ToolError, Toolbox};
use kitaru_sdk::ServerFacts;

fn schema(value: Value) -> Arc<JsonObject> {
    match value {
        Value::Object(object) => Arc::new(object),
        _ => unreachable!("the discovery schemas are objects"),
    }
}

/// The three tools.
pub fn tools() -> [Tool; 3] {
    let operation = json!({
        "type": "string",
        "description": "An operation's name as api_search lists it, e.g. `list_runs` (or its tool name `api_list_runs`)."
    });
    [
        Tool::new(
            SEARCH,
            "Search the Kitaru server's API operations (runs, steps, pipelines, schedules, models, \
             tags, service connectors, users, …) by words in their name, tag, path and summary. \
             Then api_describe one and api_call it.",
            schema(json!({
                "type": "object",
                "properties": {
                    "query": {"type": "string", "description": "Words to look for, e.g. `list runs` or `schedule`."},
                    "limit": {"type": "integer", "minimum": 1, "maximum": 50, "description": "How many operations to list (default 10)."}
                },
                "required": ["query"],
                "additionalProperties": false
            })),
        )
        .with_title("Search the API operations")
        .with_annotations(read_only("Search the API operations")),
        Tool::new(
            DESCRIBE,
            "One API operation in full: what it does, its method and path, and the input schema \
             of the `arguments` api_call takes for it.",
            schema(json!({
                "type": "object",
                "properties": {"operation": operation},
                "required": ["operation"],
                "additionalProperties": false
            })),
        )
        .with_title("Describe an API operation")
        .with_annotations(read_only("Describe an API operation")),
        Tool::new(
            CALL,
            "Call an API operation by name with `arguments` as api_describe's input schema says; \
             answers with the server's JSON. Operations that change things are refused in \
             read-only mode.",
            schema(json!({
                "type": "object",
                "properties": {
                    "operation": operation,
                    "arguments": {"type": "object", "description": "The operation's arguments (its path and query parameters, and `body`)."}
                },
                "required": ["operation"],
                "additionalProperties": false
            })),
        )
        .with_title("Call an API operation")
        .with_annotations(
            ToolAnnotations::with_title("Call an API operation")
                .read_only(false)
                .destructive(true)
                .idempotent(false)
                .open_world(false),
        ),
    ]
}

fn read_only(title: &str) -> ToolAnnotations {
    ToolAnnotations::with_title(title)
        .read_only(true)
        .destructive(false)
        .idempotent(true)
        .open_world(false)
}

/// The routes of the three tools.
pub fn routes() -> Vec<ToolRoute<Toolbox>> {
    tools()
        .into_iter()
        .map(|tool| {
            let name: &'static str = DISCOVERY_TOOLS
                .into_iter()
                .find(|name| *name == tool.name)
                .unwrap_or(SEARCH);
            ToolRoute::new_dyn(tool, move |call| {
                Box::pin(async move {
                    let arguments = call.arguments.clone().unwrap_or_default();
                    let context = ToolContext::new(name, call.request_context.clone())
                        .with_arguments(&arguments);
                    let toolbox: &Toolbox = call.service;
                    // What the connected server has, when it is known.
                    let server = toolbox.known_server(&call.request_context);
                    let outcome = context
                        .run(async {
                            match name {
                                SEARCH => search(toolbox, server.as_ref(), &arguments),
                                DESCRIBE => describe(toolbox, server.as_ref(), &arguments),
                                _ => call_operation(toolbox, arguments, &context).await,
                            }
                        })
                        .await;
                    Ok(crate::tools::respond::<Value, Value>(&context, outcome)?.into())
                })
            })
        })
        .collect()
}

/// Only the declared arguments, of the declared types.
fn only(arguments: &JsonObject, allowed: &[&str]) -> Result<(), ToolError> {
    match arguments
        .keys()
        .find(|key| !allowed.contains(&key.as_str()))
    {
        Some(key) => Err(ToolError::argument(
            key,
            format!(
                "unknown argument; the arguments are: {}",
                allowed.join(", ")
            ),
        )),
        None => Ok(()),
    }
}

fn text_argument<'a>(arguments: &'a JsonObject, name: &str) -> Result<&'a str, ToolError> {
    match arguments.get(name) {
        Some(Value::String(text)) if !text.trim().is_empty() => Ok(text),
        Some(Value::String(_)) => Err(ToolError::argument(name, "must not be blank")),
        Some(_) => Err(ToolError::argument(name, "must be a string")),
        None => Err(ToolError::argument(name, "is required")),
    }
}

/// What a model needs to decide whether to use an operation.
fn summary(toolbox: &Toolbox, server: Option<&ServerFacts>, api: &ApiOperation) -> Value {
    let mut entry = json!({
        "operation": api.operation.name,
        "method": api.operation.method,
        "path": api.operation.path,
        "toolset": api.toolset,
        "summary": api.operation.summary,
        "read_only": api.read_only(),
        "callable": availability(toolbox, server, api).is_none(),
    });
    if let Some(reason) = availability(toolbox, server, api) {
        entry["note"] = reason.into();
    }
    entry
}

/// Why api_call would refuse the operation here, if it would.
fn availability(
    toolbox: &Toolbox,
    server: Option<&ServerFacts>,
    api: &ApiOperation,
) -> Option<String> {
    api.unavailable()
        .or_else(|| {
            server
                .and_then(|server| server.require(api.operation.name).err())
                .map(|error| error.to_string())
        })
        .or_else(|| {
            (toolbox.selection().is_read_only() && !api.read_only()).then(|| {
                format!(
                    "`{}` changes things and kitaru-mcp runs read-only (--read-only or \
                 KITARU_MCP_READ_ONLY); restart it without read-only mode to call it",
                    api.operation.name
                )
            })
        })
}

/// Lower-case words of `text`, split at anything but letters and digits.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// How well an operation matches the query's words: words found, then the
/// query being the operation's name (`list runs` → `list_runs`), then
/// callable before not, then the weight of the fields matched, then shorter
/// names first.
fn rank(
    toolbox: &Toolbox,
    server: Option<&ServerFacts>,
    api: &ApiOperation,
    query: &[String],
) -> (usize, bool, bool, usize, std::cmp::Reverse<usize>) {
    let (found, weight) = score(api, query);
    let named = query.join("_") == api.operation.name;
    let callable = availability(toolbox, server, api).is_none();
    let length = words(api.operation.name).len();
    (found, named, callable, weight, std::cmp::Reverse(length))
}

/// The words of the query found and the weight of the fields they were
/// found in (name 3, summary 2, toolset and path 1).
fn score(api: &ApiOperation, query: &[String]) -> (usize, usize) {
    let operation = api.operation;
    let fields = [
        (words(operation.name), 3),
        (words(operation.summary), 2),
        (words(api.toolset), 1),
        (words(operation.path), 1),
    ];
    let mut found = 0;
    let mut weight = 0;
    for word in query {
        // "runs" finds "run" and "run" finds "runs".
        let stem = word.strip_suffix('s').unwrap_or(word);
        let mut matched = false;
        for (field, field_weight) in &fields {
            if field
                .iter()
                .any(|candidate| candidate.strip_suffix('s').unwrap_or(candidate) == stem)
            {
                matched = true;
                weight += field_weight;
            }
        }
        found += usize::from(matched);
    }
    (found, weight)
}

fn search(
    toolbox: &Toolbox,
    server: Option<&ServerFacts>,
    arguments: &JsonObject,
) -> Result<Value, ToolError> {
    only(arguments, &["query", "limit"])?;
    let query = words(text_argument(arguments, "query")?);
    let limit = match arguments.get("limit") {
        None => 10,
        Some(value) => match value.as_u64() {
            Some(limit @ 1..=50) => limit as usize,
            _ => {
                return Err(ToolError::argument(
                    "limit",
                    "must be an integer from 1 to 50",
                ));
            }
        },
    };
    let mut ranked: Vec<_> = API_OPERATIONS
        .iter()
        .map(|api| (rank(toolbox, server, api, &query), api))
        .filter(|((found, ..), _)| *found > 0)
        .collect();
    ranked.sort_by(|(a, x), (b, y)| {
        b.cmp(a)
            .then_with(|| x.operation.name.cmp(y.operation.name))
    });
    let matches = ranked.len();
    let operations: Vec<Value> = ranked
        .into_iter()
        .take(limit)
        .map(|(_, api)| summary(toolbox, server, api))
        .collect();
    Ok(json!({ "operations": operations, "matches": matches }))
}

/// The operation an `operation` argument names, or what to do.
fn named(arguments: &JsonObject) -> Result<&'static ApiOperation, ToolError> {
    let name = text_argument(arguments, "operation")?;
    find(name.trim()).ok_or_else(|| {
        ToolError::from(kitaru_sdk::Error::NotFound(format!(
            "no API operation `{}`; find one with api_search",
            crate::budget::chars(name, 80)
        )))
    })
}

fn describe(
    toolbox: &Toolbox,
    server: Option<&ServerFacts>,
    arguments: &JsonObject,
) -> Result<Value, ToolError> {
    only(arguments, &["operation"])?;
    let api = named(arguments)?;
    let mut described = summary(toolbox, server, api);
    let description = api.operation.description;
    described["description"] = crate::budget::chars(description, 4_000).into();
    described["input_schema"] =
        Value::Object(crate::tools::formats::standardised(api.operation.schema()));
    // Credentials are stripped from answers (openapi/api_tools.toml).
    described["answer_leaves_out"] = api.stripped().collect::<Vec<_>>().into();
    Ok(described)
}

async fn call_operation(
    toolbox: &Toolbox,
    mut arguments: JsonObject,
    context: &ToolContext,
) -> Result<Value, ToolError> {
    only(&arguments, &["operation", "arguments"])?;
    let api = named(&arguments)?;
    let server = toolbox.known_server(context.request());
    let server = server.as_ref();
    let operation_arguments = match arguments.remove("arguments") {
        None | Some(Value::Null) => JsonObject::new(),
        Some(Value::Object(object)) => object,
        Some(_) => return Err(ToolError::argument("arguments", "must be an object")),
    };
    if let Some(reason) = availability(toolbox, server, api) {
        return Err(kitaru_sdk::Error::State(reason).into());
    }
    check_arguments(api, &operation_arguments)?;
    invoke(toolbox, api, operation_arguments, context).await
}
