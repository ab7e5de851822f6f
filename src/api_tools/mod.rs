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
//! `kitaru_codegen::api_tools`). Which operations there are and what was
//! decided for each is the [catalog](crate::catalog::api)'s.

pub mod discovery;

use std::sync::Arc;

use kitaru_client::operations::{self, CallError};
use rmcp::handler::server::router::tool::ToolRoute;
use rmcp::model::{JsonObject, Tool, ToolAnnotations};
use serde_json::Value;

use crate::catalog::api::ApiOperation;
use crate::tools::{ToolContext, ToolError, Toolbox};

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
    crate::budget::chars(&first, 300)
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
pub fn route(api: &'static ApiOperation) -> ToolRoute<Toolbox> {
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
    toolbox: &Toolbox,
    api: &ApiOperation,
    arguments: JsonObject,
    context: &ToolContext,
) -> Result<Value, ToolError> {
    if let Some(reason) = api.unavailable() {
        return Err(kitaru_sdk::Error::State(reason).into());
    }
    check_arguments(api, &arguments)?;
    let kitaru = toolbox.kitaru_of(context.request()).await?;
    let operation = api.operation;
    kitaru.require(operation.name).await?;
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
    Ok(crate::budget::api_answer(answer))
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
                    crate::budget::chars(name, 80),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::api::*;
    use serde_json::json;

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
}
