//! The MCP tool layer.
//!
//! Every tool is declared in `openapi/tools.toml`; the build script generates
//! its argument type (`args`) and its registration on
//! [`KitaruServer`](crate::server::KitaruServer), which parses the
//! arguments, connects if the tool needs the server, calls the overlay
//! function, and turns the outcome into a tool result. This module holds the
//! little glue those registrations share.

use rmcp::Json;
use rmcp::model::JsonObject;
use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::ToolError;

include!(concat!(env!("OUT_DIR"), "/tool_args.rs"));

/// Checks an argument type's bounds (e.g. `limit >= 1`) before the tool runs.
pub trait Validate {
    /// The first violated bound, naming the argument.
    fn validate(&self) -> Result<(), ToolError>;
}

/// The result of a tool that returns a list: `{"result": [...]}`, as the
/// reference server shapes it.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Listed<T> {
    /// The items.
    pub result: Vec<T>,
}

impl<T> From<Vec<T>> for Listed<T> {
    fn from(result: Vec<T>) -> Self {
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

/// Parses a tool's arguments, naming the argument that is wrong.
pub fn arguments<A: DeserializeOwned + Validate>(
    tool: &str,
    arguments: JsonObject,
) -> Result<A, String> {
    let parsed: A = serde_path_to_error::deserialize(serde_json::Value::Object(arguments))
        .map_err(|error| {
            let path = error.path().to_string();
            // serde names Rust types; the assistant knows JSON ones.
            let reason = error
                .into_inner()
                .to_string()
                .replace("expected i64", "expected an integer");
            let error = if path == "." {
                ToolError::Arguments(reason)
            } else {
                ToolError::argument(path, reason)
            };
            failure(tool, error)
        })?;
    parsed.validate().map_err(|error| failure(tool, error))?;
    Ok(parsed)
}

/// Turns an overlay's outcome into the tool result.
pub fn respond<T, O: From<T>>(tool: &str, result: Result<T, ToolError>) -> Result<Json<O>, String> {
    result
        .map(|value| Json(O::from(value)))
        .map_err(|error| failure(tool, error))
}

/// The text of a failed tool call, logged on stderr as well.
pub fn failure(tool: &str, error: ToolError) -> String {
    tracing::debug!(tool, "tool failed: {error}");
    error.to_string()
}

/// The registrations of the tools on the server.
mod router {
    include!(concat!(env!("OUT_DIR"), "/tool_router.rs"));
}
