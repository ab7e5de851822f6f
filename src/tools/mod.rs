//! The MCP tool layer: thin adapters from tool arguments to the Kitaru SDK.
//!
//! Every tool is declared in `openapi/tools.toml`; the build script generates
//! its argument type (`args`), its entry in the [catalog](crate::catalog)
//! and its registration on the [`Toolbox`]. A registration parses the
//! arguments, connects if the tool needs the server, and calls the tool's
//! adapter in one of the modules here, which turns the arguments into the
//! SDK's inputs, calls the SDK, and hands back its result; [`respond`] turns
//! that into the tool result. The behaviour itself lives in `kitaru_sdk`.

mod artifacts;
mod audit;
mod bounded;
mod context;
mod deployments;
mod environment;
mod error;
mod executions;
pub mod formats;
mod memory;
mod projects;
mod secrets;
mod stacks;
mod toolbox;

pub use bounded::{Bounded, Truncation};
pub use context::{AsTask, ToolContext, WaitAnswers, calls_in_flight};
pub use error::ToolError;
pub use toolbox::Toolbox;

use kitaru_sdk::executions::LaunchOptions;
use rmcp::model::{CallToolResult, ContentBlock, JsonObject, MetaObject};
use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;

include!(concat!(env!("OUT_DIR"), "/tool_args.rs"));

/// How the tools that need the user's Kitaru Python run it: as the SDK's
/// defaults say, with the job logs in `--jobs-dir`.
pub(crate) fn launch_options() -> LaunchOptions {
    LaunchOptions {
        jobs_dir: crate::limits::limits().jobs_dir(),
        ..LaunchOptions::default()
    }
}

/// The input schema a model reads for an argument type: the JSON schema
/// without what costs a model's context and tells it nothing (`$schema`,
/// the type's title and doc line, integer formats, `null` as a type or
/// default of optional arguments). Parameter descriptions, enums, defaults
/// and `additionalProperties: false` stay.
pub fn input_schema<T: JsonSchema + std::any::Any>() -> std::sync::Arc<JsonObject> {
    let full = rmcp::handler::server::common::schema_for_type::<T>();
    let mut schema = (*full).clone();
    for noise in ["$schema", "title", "description"] {
        schema.remove(noise);
    }
    if let Some(serde_json::Value::Object(properties)) = schema.get_mut("properties") {
        for property in properties.values_mut() {
            if let serde_json::Value::Object(property) = property {
                property.remove("format");
                // Any keys is what an object schema means without it.
                if property.get("additionalProperties") == Some(&serde_json::Value::Bool(true)) {
                    property.remove("additionalProperties");
                }
                if property.get("default") == Some(&serde_json::Value::Null) {
                    property.remove("default");
                }
                // An optional argument may be left out; saying it may also
                // be null tells a model nothing (null is still accepted).
                if let Some(serde_json::Value::Array(types)) = property.get("type")
                    && let [single, null] = types.as_slice()
                    && null == "null"
                {
                    let single = single.clone();
                    property.insert("type".into(), single);
                    if let Some(serde_json::Value::Array(values)) = property.get_mut("enum") {
                        values.retain(|value| !value.is_null());
                    }
                }
            }
        }
    }
    std::sync::Arc::new(formats::standardised(schema))
}

/// [`input_schema`] for an argument type with hidden fields (an older form
/// of the arguments, still accepted): `additionalProperties` is left open,
/// since a caller may send what the schema does not list.
pub fn input_schema_admitting_hidden<T: JsonSchema + std::any::Any>() -> std::sync::Arc<JsonObject>
{
    let mut schema = (*input_schema::<T>()).clone();
    schema.remove("additionalProperties");
    std::sync::Arc::new(schema)
}

/// The output schema of a tool answering with `T`: rmcp's, with only
/// standard formats (see [`formats`]).
pub fn output_schema<T: JsonSchema + std::any::Any>() -> std::sync::Arc<JsonObject> {
    let schema = rmcp::handler::server::common::schema_for_output::<T>();
    std::sync::Arc::new(formats::standardised((*schema).clone()))
}

/// Checks an argument type's bounds (e.g. `limit >= 1`) before the tool runs.
pub trait Validate {
    /// The first violated bound, naming the argument.
    fn validate(&self) -> Result<(), ToolError>;
}

/// The result of a tool that returns a list: `{"result": [...]}`, as the
/// reference server shapes it, and `more` when a default size cut it short.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Listed<T> {
    /// The items.
    pub result: Vec<T>,
    /// Present when more items exist than were returned because no `limit`
    /// was given: how to get the rest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub more: Option<More>,
}

/// What a list left out, and how to get it.
#[derive(Debug, Serialize, JsonSchema)]
pub struct More {
    /// How many items were returned.
    pub shown: usize,
    /// How to get the others.
    pub hint: String,
}

impl<T> From<Vec<T>> for Listed<T> {
    fn from(result: Vec<T>) -> Self {
        Self { result, more: None }
    }
}

pub use crate::budget::list_size;

impl<T: Serialize> Listed<T> {
    /// A list that asked for `default + 1` items when the caller gave no
    /// limit: cut as [`crate::budget::list_keep`] says, saying that more
    /// exist and how to get them.
    pub fn bounded(mut items: Vec<T>, default: usize, hint: impl Into<String>) -> Self {
        let keep = crate::budget::list_keep(&items, default);
        if items.len() <= keep {
            return items.into();
        }
        items.truncate(keep);
        Self {
            result: items,
            more: Some(More {
                shown: keep,
                hint: hint.into(),
            }),
        }
    }
}

/// The result of a tool that may find nothing: `{"result": {...}}` or
/// `{"result": null}`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Maybe<T> {
    /// The result, or null.
    pub result: Option<T>,
}

impl<T> From<Option<T>> for Maybe<T> {
    fn from(result: Option<T>) -> Self {
        Self { result }
    }
}

/// The result of a tool that returns text: `{"result": "..."}`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Text {
    /// The text.
    pub result: String,
}

impl From<String> for Text {
    fn from(result: String) -> Self {
        Self { result }
    }
}

/// The `_meta` key of a failed tool result that names the error's kind
/// (`not_found`, `invalid_argument`, ...).
pub const ERROR_KIND_META: &str = "kitaru/error_kind";

/// The `_meta` key of a failed tool result that holds the error:
/// `{"kind", "message", "argument"?, "allowed"?}`.
pub const ERROR_META: &str = "kitaru/error";

/// Parses a tool's arguments, naming the argument that is wrong.
pub fn arguments<A: DeserializeOwned + Validate>(arguments: JsonObject) -> Result<A, ToolError> {
    let parsed: A = serde_path_to_error::deserialize(serde_json::Value::Object(arguments))
        .map_err(|error| {
            let path = error.path().to_string();
            // serde names Rust types; the assistant knows JSON ones.
            let reason = error
                .into_inner()
                .to_string()
                .replace("expected i64", "expected an integer");
            if path != "." {
                ToolError::argument(path, reason)
            } else if let Some(name) = named_field(&reason).map(str::to_owned) {
                // A missing or unknown argument is named by the message.
                ToolError::argument(name, reason)
            } else {
                ToolError::arguments(reason)
            }
        })?;
    parsed.validate()?;
    Ok(parsed)
}

/// The argument serde's "missing field `x`" or "unknown field `x`" names.
fn named_field(reason: &str) -> Option<&str> {
    let rest = reason
        .strip_prefix("missing field `")
        .or_else(|| reason.strip_prefix("unknown field `"))?;
    rest.split('`').next().filter(|name| !name.is_empty())
}

/// Turns an adapter's outcome into the tool result: the payload as
/// structured content (and its JSON text), or an error result whose text is
/// the message, whose structured content is the error (kind, message, the
/// argument at fault and its allowed values), and whose `_meta` names the
/// kind.
pub fn respond<O: Serialize + From<T>, T>(
    context: &ToolContext,
    outcome: Result<T, ToolError>,
) -> Result<CallToolResult, rmcp::ErrorData> {
    audit::record(context, outcome.as_ref().err().map(ToolError::kind));
    match outcome {
        Ok(value) => {
            let value = serde_json::to_value(O::from(value)).map_err(|error| {
                rmcp::ErrorData::internal_error(
                    format!("{}: cannot serialise the result: {error}", context.tool()),
                    None,
                )
            })?;
            Ok(CallToolResult::structured(value))
        }
        Err(error) => {
            tracing::debug!(
                tool = context.tool(),
                kind = error.kind(),
                "tool failed: {error}"
            );
            // No structured content: a client validates any against the
            // tool's output schema, errors included (the TypeScript SDK
            // does), and an error is not the tool's payload. The details go
            // in `_meta` and the text says all a model needs.
            let details = error.details(context.tool());
            let mut meta = MetaObject::new();
            meta.0
                .insert(ERROR_KIND_META.to_owned(), error.kind().into());
            meta.0.insert(ERROR_META.to_owned(), details.clone());
            Ok(
                CallToolResult::error(vec![ContentBlock::text(error.text(&details))])
                    .with_meta(Some(meta)),
            )
        }
    }
}

/// A `limit` argument as the SDK takes it; a negative one reads as 0, which
/// the SDK refuses as it refuses 0 (the declared minimum refuses both first).
fn optional_limit(limit: Option<i64>) -> Option<usize> {
    limit.map(|limit| usize::try_from(limit).unwrap_or(0))
}

/// The registrations of the tools on the server.
mod router {
    include!(concat!(env!("OUT_DIR"), "/tool_router.rs"));
}
