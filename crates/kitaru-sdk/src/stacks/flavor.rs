//! Component settings checked against the flavor's config schema, which the
//! server publishes (`GET /flavors`), so that a misspelt option is refused
//! before any component is created — the CLI does this with the flavor's
//! Python config class.

use serde_json::{Map, Value};

use crate::error::ApiContext;
use crate::{Error, Kitaru};

/// A flavor's config schema and documentation page.
#[derive(Debug, Default)]
pub(crate) struct FlavorSchema {
    properties: Map<String, Value>,
    docs_url: Option<String>,
}

impl FlavorSchema {
    /// The schema of flavor `flavor` for component type `component_type`;
    /// `None` when the server does not know the flavor (nothing to check
    /// against then).
    pub(crate) async fn fetch(
        kitaru: &Kitaru,
        component_type: &str,
        flavor: &str,
    ) -> Result<Option<Self>, Error> {
        let page = kitaru
            .client
            .list_flavors()
            .name(format!("equals:{flavor}"))
            .type_(component_type)
            .hydrate(true)
            .send()
            .await
            .context(format!(
                "Failed to look up the {flavor} {component_type} flavor"
            ))?
            .into_inner();
        let Some(found) = page.items.into_iter().find(|item| item.name == flavor) else {
            return Ok(None);
        };
        let Some(metadata) = found.metadata else {
            return Ok(None);
        };
        let properties = metadata
            .config_schema
            .get("properties")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        Ok(Some(Self {
            properties,
            docs_url: metadata.docs_url,
        }))
    }

    /// Refuses unknown options (suggesting the closest known one) and
    /// values of the wrong JSON type, in the CLI's words.
    pub(crate) fn check(
        &self,
        target: &str,
        flavor: &str,
        settings: &Map<String, Value>,
    ) -> Result<(), Error> {
        let mut unknown: Vec<&str> = settings
            .keys()
            .map(String::as_str)
            .filter(|key| !self.properties.contains_key(*key))
            .collect();
        unknown.sort_unstable();
        if !unknown.is_empty() {
            let options = unknown
                .iter()
                .map(|key| format!("`{key}`"))
                .collect::<Vec<_>>()
                .join(", ");
            let suggestion = match unknown.as_slice() {
                [one] => closest(one, self.properties.keys().map(String::as_str)),
                _ => None,
            };
            let message = format!("Invalid ZenML option for {target} ({flavor} flavor): {options}");
            return Err(Error::argument(
                "extra",
                self.with_help(message, suggestion),
            ));
        }
        for (key, value) in settings {
            if let Some(problem) = self
                .properties
                .get(key)
                .and_then(|schema| mismatch(schema, value))
            {
                let message = format!(
                    "Invalid ZenML value for {target} ({flavor} flavor) at `{key}`: {problem}"
                );
                return Err(Error::argument("extra", self.with_help(message, None)));
            }
        }
        Ok(())
    }

    fn with_help(&self, message: String, suggestion: Option<&str>) -> String {
        let mut help = Vec::new();
        if let Some(suggestion) = suggestion {
            help.push(format!("Did you mean `{suggestion}`?"));
        }
        if let Some(url) = self.docs_url.as_deref().filter(|url| !url.is_empty()) {
            help.push(format!("See ZenML docs for supported fields: {url}"));
        }
        if help.is_empty() {
            message
        } else {
            format!("{message}. {}", help.join(" "))
        }
    }
}

/// Why `value` does not fit the property schema, for the plain JSON types
/// (the lenient conversions Python's config classes make are allowed).
fn mismatch(schema: &Value, value: &Value) -> Option<&'static str> {
    let types: Vec<&str> = match (schema.get("type"), schema.get("anyOf")) {
        (Some(Value::String(one)), _) => vec![one.as_str()],
        (_, Some(Value::Array(options))) => options
            .iter()
            .map(|option| option.get("type").and_then(Value::as_str))
            .collect::<Option<Vec<_>>>()?,
        _ => return None,
    };
    let fits = |kind: &str| match kind {
        "null" => value.is_null(),
        "string" => value.is_string(),
        "boolean" => match value {
            Value::Bool(_) => true,
            Value::Number(number) => matches!(number.as_f64(), Some(n) if n == 0.0 || n == 1.0),
            Value::String(text) => matches!(
                text.to_lowercase().as_str(),
                "0" | "1" | "true" | "false" | "t" | "f" | "yes" | "no" | "y" | "n" | "on" | "off"
            ),
            _ => false,
        },
        "integer" => match value {
            Value::Number(number) => number.as_f64().is_some_and(|n| n.fract() == 0.0),
            Value::String(text) => text.trim().parse::<i64>().is_ok(),
            _ => false,
        },
        "number" => match value {
            Value::Number(_) => true,
            Value::String(text) => text.trim().parse::<f64>().is_ok(),
            _ => false,
        },
        "object" => value.is_object(),
        "array" => value.is_array(),
        _ => true,
    };
    if types.iter().any(|kind| fits(kind)) {
        return None;
    }
    types
        .iter()
        .find(|kind| **kind != "null")
        .map(|kind| match *kind {
            "string" => "Input should be a valid string",
            "boolean" => "Input should be a valid boolean",
            "integer" => "Input should be a valid integer",
            "number" => "Input should be a valid number",
            "object" => "Input should be a valid dictionary",
            "array" => "Input should be a valid list",
            _ => "Input has the wrong type",
        })
}

/// The known option most like `word`, if any is alike enough (similarity
/// ≥ 0.6, measured as matching characters over total length).
fn closest<'a>(word: &str, known: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    known
        .map(|candidate| (similarity(word, candidate), candidate))
        .filter(|(score, _)| *score >= 0.6)
        .max_by(|(a, x), (b, y)| a.total_cmp(b).then_with(|| x.cmp(y)))
        .map(|(_, candidate)| candidate)
}

/// 2·M / T, M being the characters of the longest common blocks found
/// recursively on either side of the longest one (Ratcliff/Obershelp).
fn similarity(a: &str, b: &str) -> f64 {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let total = a.len() + b.len();
    if total == 0 {
        return 1.0;
    }
    2.0 * matching(&a, &b) as f64 / total as f64
}

fn matching(a: &[char], b: &[char]) -> usize {
    let (mut best, mut at_a, mut at_b) = (0, 0, 0);
    for i in 0..a.len() {
        for j in 0..b.len() {
            let mut length = 0;
            while i + length < a.len() && j + length < b.len() && a[i + length] == b[j + length] {
                length += 1;
            }
            if length > best {
                (best, at_a, at_b) = (length, i, j);
            }
        }
    }
    if best == 0 {
        return 0;
    }
    best + matching(&a[..at_a], &b[..at_b]) + matching(&a[at_a + best..], &b[at_b + best..])
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn artifact_store() -> FlavorSchema {
        FlavorSchema {
            properties: json!({"path": {"type": "string", "default": ""}})
                .as_object()
                .unwrap()
                .clone(),
            docs_url: Some("https://docs.zenml.io/stack-components/artifact-stores/local".into()),
        }
    }

    fn refusal(result: Result<(), Error>) -> String {
        match result {
            Err(Error::InvalidArgument { reason, .. }) => reason,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn unknown_options_are_refused_with_a_suggestion_and_the_docs() {
        let settings = json!({"pth": "/x"}).as_object().unwrap().clone();
        assert_eq!(
            refusal(artifact_store().check("artifact_store", "local", &settings)),
            "Invalid ZenML option for artifact_store (local flavor): `pth`. Did you mean `path`? \
             See ZenML docs for supported fields: https://docs.zenml.io/stack-components/artifact-stores/local"
        );
        let orchestrator = FlavorSchema {
            properties: Map::new(),
            docs_url: Some("https://docs.zenml.io/stack-components/orchestrators/local".into()),
        };
        let settings = json!({"bogus_field": 1, "another": 2})
            .as_object()
            .unwrap()
            .clone();
        assert_eq!(
            refusal(orchestrator.check("orchestrator", "local", &settings)),
            "Invalid ZenML option for orchestrator (local flavor): `another`, `bogus_field`. \
             See ZenML docs for supported fields: https://docs.zenml.io/stack-components/orchestrators/local"
        );
    }

    #[test]
    fn values_of_the_wrong_type_are_refused_lenient_ones_pass() {
        let settings = json!({"path": 5}).as_object().unwrap().clone();
        assert!(refusal(artifact_store().check("artifact_store", "local", &settings))
            .starts_with("Invalid ZenML value for artifact_store (local flavor) at `path`: Input should be a valid string."));
        assert!(
            artifact_store()
                .check(
                    "artifact_store",
                    "local",
                    &json!({"path": "/tmp/x"}).as_object().unwrap().clone()
                )
                .is_ok()
        );
        let flag = json!({"type": "boolean"});
        assert_eq!(mismatch(&flag, &json!("yes")), None);
        assert_eq!(
            mismatch(&flag, &json!([1])),
            Some("Input should be a valid boolean")
        );
        let optional_int = json!({"anyOf": [{"type": "integer"}, {"type": "null"}]});
        assert_eq!(mismatch(&optional_int, &Value::Null), None);
        assert_eq!(mismatch(&optional_int, &json!("12")), None);
        assert_eq!(
            mismatch(&optional_int, &json!(1.5)),
            Some("Input should be a valid integer")
        );
    }

    #[test]
    fn similarity_is_difflibs_ratio() {
        assert_eq!(similarity("abcd", "bcde"), 0.75);
        assert_eq!(similarity("path", "path"), 1.0);
        assert_eq!(
            closest("synchronus", ["synchronous", "timeout"].into_iter()),
            Some("synchronous")
        );
        assert_eq!(closest("zzz", ["path"].into_iter()), None);
    }
}
