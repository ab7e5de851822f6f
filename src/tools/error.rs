//! Errors a tool reports to the assistant.

use kitaru_sdk::ErrorKind;

/// Why a tool call failed: the message the assistant reads, and a stable
/// kind (`not_found`, `invalid_argument`, ...) carried in the result's
/// `_meta`. Never carries a secret value.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ToolError {
    kind: &'static str,
    message: String,
    /// The argument at fault, for argument errors.
    argument: Option<String>,
}

impl ToolError {
    /// An argument is missing, malformed or out of range.
    pub fn argument(argument: impl AsRef<str>, reason: impl AsRef<str>) -> Self {
        kitaru_sdk::Error::argument(argument.as_ref(), reason.as_ref()).into()
    }

    /// The arguments as a whole are wrong, e.g. a required one is missing.
    pub fn arguments(reason: impl std::fmt::Display) -> Self {
        Self {
            kind: ErrorKind::InvalidArgument.as_str(),
            message: crate::budget::message(format!("invalid arguments: {reason}")),
            argument: None,
        }
    }

    /// Nothing matched what the arguments ask for.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::NotFound.as_str(),
            message: crate::budget::message(message.into()),
            argument: None,
        }
    }

    /// The client cancelled the call.
    pub fn cancelled() -> Self {
        Self {
            kind: "cancelled",
            message: "the call was cancelled by the client".to_owned(),
            argument: None,
        }
    }

    /// The call ran out of its time (`KITARU_MCP_CALL_TIMEOUT`).
    pub fn timed_out(limit: std::time::Duration) -> Self {
        Self {
            kind: ErrorKind::Timeout.as_str(),
            message: format!(
                "the call did not finish within {} s (KITARU_MCP_CALL_TIMEOUT) and was stopped; \
                 narrow it (a filter or a limit) or raise the timeout",
                limit.as_secs_f64()
            ),
            argument: None,
        }
    }

    /// The kind, as a stable snake_case name.
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// The argument at fault, for an argument error that names one.
    pub fn faulty_argument(&self) -> Option<&str> {
        self.argument.as_deref()
    }

    /// The error's details, for a client to act on (in the result's
    /// `_meta`): `{"kind", "message", "argument"?, "allowed"?}`, `allowed`
    /// being the values `tool` accepts for the argument at fault.
    pub fn details(&self, tool: &str) -> serde_json::Value {
        let mut error = serde_json::json!({"kind": self.kind, "message": self.message});
        if let Some(argument) = &self.argument {
            error["argument"] = argument.as_str().into();
            let allowed = crate::catalog::ALLOWED_VALUES
                .iter()
                .find(|(name, param, _)| *name == tool && param == argument);
            if let Some((_, _, values)) = allowed {
                error["allowed"] = values.to_vec().into();
            }
        }
        error
    }

    /// The text a model reads: the message, and the allowed values of the
    /// argument at fault when the message does not list them.
    pub fn text(&self, details: &serde_json::Value) -> String {
        let Some(allowed) = details.get("allowed").and_then(serde_json::Value::as_array) else {
            return self.message.clone();
        };
        let values: Vec<&str> = allowed
            .iter()
            .filter_map(serde_json::Value::as_str)
            .collect();
        if values.iter().all(|value| self.message.contains(value)) {
            return self.message.clone();
        }
        format!(
            "{} Allowed values of `{}`: {}.",
            self.message,
            details["argument"].as_str().unwrap_or_default(),
            values.join(", ")
        )
    }
}

impl From<kitaru_sdk::Error> for ToolError {
    fn from(error: kitaru_sdk::Error) -> Self {
        let argument = match &error {
            kitaru_sdk::Error::InvalidArgument { argument, .. } => Some(argument.clone()),
            _ => None,
        };
        Self {
            kind: error.kind().as_str(),
            message: crate::budget::message(error.to_string()),
            argument,
        }
    }
}
