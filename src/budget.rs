//! Every cut of text to a budget, in one place: a model's context is the
//! scarce resource, and whatever a caller or the server sends may be
//! megabytes. Each cut says what was left out.
//!
//! - stored values in results ([`value`], `--value-bytes`);
//! - lists without a `limit` ([`list_keep`], `--list-size`, else
//!   [`LIST_BYTES`]);
//! - `api_*` answers ([`api_answer`], `--api-result-bytes`);
//! - error texts ([`message`], [`MESSAGE_CHARS`]);
//! - names and ids a client gave, quoted back in messages ([`quoted`]);
//! - spec texts shown to a model ([`chars`]: API tool descriptions).
//!
//! The sizes come from [`crate::limits`]; the SDK and the client cut their
//! own texts (a bridge job's log tail, an operation's refusal reason).

use serde::Serialize;
use serde_json::{Value, json};

use crate::limits::limits;

/// How many bytes (as JSON) the items of a list without `limit` may take
/// together, unless `--list-size` sets the size: executions with long
/// failures or metadata are cut before the default count is reached.
pub const LIST_BYTES: usize = 10_000;

/// The longest error text a result carries, in characters.
pub const MESSAGE_CHARS: usize = 2_000;

/// The longest name or id a client gave that a message quotes back, in
/// characters.
pub const QUOTED_CHARS: usize = 80;

/// The longest prefix of `text` of at most `bytes` bytes that ends on a
/// character boundary.
pub fn head(text: &str, bytes: usize) -> &str {
    if text.len() <= bytes {
        return text;
    }
    let mut cut = bytes;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    &text[..cut]
}

/// At most `chars` characters of `text`, with `…` when cut.
pub fn chars(text: &str, chars: usize) -> String {
    match text.char_indices().nth(chars) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// A name or id a client gave, as a message quotes it.
pub fn quoted(text: &str) -> String {
    text.chars().take(QUOTED_CHARS).collect()
}

/// An error text cut to [`MESSAGE_CHARS`] characters, saying how much was
/// left out: an error may quote what it was given.
pub fn message(message: String) -> String {
    let length = message.chars().count();
    if length <= MESSAGE_CHARS {
        return message;
    }
    let kept: String = message.chars().take(MESSAGE_CHARS).collect();
    format!("{kept}… ({} more characters)", length - MESSAGE_CHARS)
}

/// How many items a list without `limit` returns by default: `--list-size`
/// when set, else the tool's own `default`.
pub fn list_size(default: usize) -> usize {
    limits().list_size.unwrap_or(default)
}

/// How many of `items` (fetched as `default + 1` for a call without
/// `limit`) a list keeps: at most `default`, and unless `--list-size` is
/// set, only as many as fit [`LIST_BYTES`] (always at least one).
pub fn list_keep<T: Serialize>(items: &[T], default: usize) -> usize {
    let mut keep = items.len().min(default);
    if limits().list_size.is_some() {
        return keep;
    }
    let mut used = 0;
    for (index, item) in items.iter().take(keep).enumerate() {
        used += serde_json::to_vec(item).map_or(0, |bytes| bytes.len());
        if used > LIST_BYTES && index > 0 {
            keep = index;
            break;
        }
    }
    keep
}

/// How much of a value was left out.
pub struct ValueCut {
    /// The size of the whole value's JSON text, in bytes.
    pub total_bytes: usize,
    /// How many of them the value shows now.
    pub shown_bytes: usize,
}

/// Cuts `value` to `--value-bytes` when its JSON is larger: it becomes the
/// beginning of that text (a string ending in `…`).
pub fn value(value: &mut Value) -> Option<ValueCut> {
    let text = serde_json::to_string(value).ok()?;
    let kept = head(&text, limits().value_bytes);
    if kept.len() == text.len() {
        return None;
    }
    let shown_bytes = kept.len();
    *value = Value::String(format!("{kept}…"));
    Some(ValueCut {
        total_bytes: text.len(),
        shown_bytes,
    })
}

/// An API operation's answer as structured content (an object), within
/// `--api-result-bytes`: a page keeps as many of its items as fit, anything
/// else becomes the beginning of its JSON text; `truncated` says what was
/// left out and what to do.
pub fn api_answer(answer: Value) -> Value {
    let mut answer = match answer {
        Value::Object(object) => Value::Object(object),
        other => json!({ "result": other }),
    };
    let budget = limits().api_result_bytes;
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
    let kept = head(&text, budget);
    json!({
        "result_json_start": format!("{kept}…"),
        "truncated": {
            "total_bytes": text.len(),
            "shown_bytes": kept.len(),
            "hint": "narrow the request (filters, smaller pages, no `hydrate`)",
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_end_on_character_boundaries() {
        assert_eq!(head("héllo", 2), "h");
        assert_eq!(head("héllo", 3), "hé");
        assert_eq!(head("hi", 10), "hi");
        assert_eq!(chars("héllo", 2), "hé…");
        assert_eq!(chars("hé", 2), "hé");
        assert_eq!(quoted(&"é".repeat(100)).chars().count(), QUOTED_CHARS);
    }

    #[test]
    fn long_messages_say_how_much_was_left_out() {
        let cut = message("x".repeat(MESSAGE_CHARS + 5));
        assert!(cut.ends_with("… (5 more characters)"), "{cut}");
        assert_eq!(message("short".into()), "short");
    }

    #[test]
    fn values_larger_than_the_budget_become_their_beginning() {
        let mut small = json!({"a": 1});
        assert!(value(&mut small).is_none());
        let mut large = json!("é".repeat(limits().value_bytes));
        let cut = value(&mut large).unwrap();
        let text = large.as_str().unwrap();
        assert_eq!(cut.shown_bytes + "…".len(), text.len());
        assert!(cut.total_bytes > cut.shown_bytes);
    }

    #[test]
    fn lists_keep_what_fits_and_at_least_one() {
        let small: Vec<u32> = (0..30).collect();
        assert_eq!(list_keep(&small, 20), 20);
        let large: Vec<String> = (0..5).map(|_| "x".repeat(LIST_BYTES)).collect();
        assert_eq!(list_keep(&large, 20), 1);
    }

    #[test]
    fn large_pages_keep_the_items_that_fit() {
        let items: Vec<Value> = (0..100)
            .map(|i| json!({"id": i, "pad": "x".repeat(500)}))
            .collect();
        let bounded = api_answer(json!({"items": items, "total": 100}));
        let shown = bounded["items"].as_array().unwrap().len();
        assert!(shown > 0 && shown < 100, "{shown}");
        assert_eq!(bounded["truncated"]["shown_items"], shown);
        let scalar = api_answer(json!("y".repeat(50_000)));
        assert!(scalar["result_json_start"].as_str().unwrap().len() < 21_000);
        assert_eq!(api_answer(json!(3)), json!({"result": 3}));
        // Exactly the items whose JSON array fits the budget are kept.
        let budget = limits().api_result_bytes;
        let kept: Vec<Value> = bounded["items"].as_array().unwrap().clone();
        let mut one_more = kept.clone();
        one_more.push(json!({"id": shown, "pad": "x".repeat(500)}));
        assert!(serde_json::to_string(&kept).unwrap().len() <= budget);
        assert!(serde_json::to_string(&one_more).unwrap().len() > budget);
    }
}
