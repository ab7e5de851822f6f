//! Values sized for a model's context: a stored value larger than the
//! budget is replaced by the beginning of its JSON text, and
//! `value_truncated` says so, with the total size and how to get it whole.

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

/// The most bytes of a value's JSON text a result carries:
/// `KITARU_MCP_VALUE_BYTES`, else 8,000.
fn value_budget() -> usize {
    std::env::var("KITARU_MCP_VALUE_BYTES")
        .ok()
        .and_then(|text| text.trim().parse::<usize>().ok())
        .filter(|bytes| *bytes > 0)
        .unwrap_or(8_000)
}

/// A payload whose `value` may have been cut to the budget.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Bounded<T> {
    /// The payload (its `value` cut when `value_truncated` is present).
    #[serde(flatten)]
    pub inner: T,
    /// Present when `value` is only the beginning of the value's JSON text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_truncated: Option<Truncation>,
}

/// How much of a value was left out.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Truncation {
    /// The size of the whole value's JSON text, in bytes.
    pub total_bytes: usize,
    /// How many of them `value` shows.
    pub shown_bytes: usize,
    /// Where to get the whole value.
    pub hint: String,
}

/// Cuts `value` to the budget when it is larger; says what was cut.
pub fn bound(value: &mut Value, hint: &str) -> Option<Truncation> {
    let budget = value_budget();
    let text = serde_json::to_string(value).ok()?;
    if text.len() <= budget {
        return None;
    }
    let mut cut = budget;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    *value = Value::String(format!("{}…", &text[..cut]));
    Some(Truncation {
        total_bytes: text.len(),
        shown_bytes: cut,
        hint: hint.to_owned(),
    })
}
