//! Values sized for a model's context: a stored value larger than the
//! budget (`--value-bytes`) is replaced by the beginning of its JSON text, and
//! `value_truncated` says so, with the total size and how to get it whole.

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

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

/// Cuts `value` to the value budget when it is larger
/// ([`crate::budget::value`]); says what was cut and where to get it whole.
pub fn bound(value: &mut Value, hint: &str) -> Option<Truncation> {
    crate::budget::value(value).map(|cut| Truncation {
        total_bytes: cut.total_bytes,
        shown_bytes: cut.shown_bytes,
        hint: hint.to_owned(),
    })
}
