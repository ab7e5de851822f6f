//! One text completion from a model, the way `kitaru.llm()` picks and calls
//! it: the model by alias or name, its credentials from the environment or
//! the alias's secret, and the provider's HTTP API (no provider SDK).
//!
//! Model resolution: the name given (an alias of the model registry, else
//! used as is), else `KITARU_DEFAULT_MODEL`, else the registry's default
//! alias (a single alias counts as default). The registry is
//! `model_registry` in `kitaru.yaml` in the Kitaru config directory, merged
//! with the JSON registry in `KITARU_MODEL_REGISTRY` (which wins).
//!
//! Providers: `openai` (`OPENAI_API_KEY`; `OPENAI_BASE_URL` as in OpenAI's
//! SDK), `anthropic` (`ANTHROPIC_API_KEY`; `ANTHROPIC_BASE_URL`),
//! `ollama` (`OLLAMA_HOST`, no key) and `openrouter` (`OPENROUTER_API_KEY`).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use kitaru_client::connection::Environment;
use serde_json::{Value, json};

use crate::error::ApiContext as _;
use crate::status::config_files::{KitaruConfig, ModelAlias, ModelRegistry};
use crate::{Error, Kitaru};
use kitaru_client::CliConfigFile;

/// The variable naming the model used when none is given.
const DEFAULT_MODEL_VAR: &str = "KITARU_DEFAULT_MODEL";
/// The variable holding a model registry as JSON.
const REGISTRY_VAR: &str = "KITARU_MODEL_REGISTRY";
/// Anthropic requires `max_tokens`; this is what is sent when none is given.
const ANTHROPIC_DEFAULT_MAX_TOKENS: i64 = 4096;
const SUPPORTED: [&str; 4] = ["openai", "anthropic", "ollama", "openrouter"];

/// A model, resolved: what was asked for, and what it stands for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ModelSelection {
    /// `provider/model`.
    pub(crate) resolved: String,
    /// The secret holding the credentials, when the alias names one.
    secret: Option<String>,
}

/// A model alias as the registry accepts it: lower case, letters, digits,
/// `_` and `-`, starting with a letter or digit.
fn alias_name(text: &str) -> Option<String> {
    let alias = text.trim().to_lowercase();
    let mut chars = alias.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let rest_ok =
        chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    (first_ok && rest_ok).then_some(alias)
}

/// The registry in effect: `kitaru.yaml`'s, with `KITARU_MODEL_REGISTRY`'s
/// aliases and default over it.
fn registry(config_dir: &Path, env: &dyn Environment) -> Result<(ModelRegistry, bool), Error> {
    let transported = match env.var(REGISTRY_VAR).filter(|raw| !raw.trim().is_empty()) {
        None => None,
        Some(raw) => Some(serde_json::from_str::<ModelRegistry>(&raw).map_err(|_| {
            Error::argument(
                "model",
                format!(
                    "`{REGISTRY_VAR}` from environment must be valid JSON matching the Kitaru \
                     model registry schema."
                ),
            )
        })?),
    };
    let local = match KitaruConfig::read(&CliConfigFile::kitaru(config_dir)) {
        Ok(config) => config.model_registry().cloned().unwrap_or_default(),
        Err(_) if transported.is_some() => ModelRegistry::default(),
        Err(reason) => return Err(Error::State(reason)),
    };
    let normalise = |registry: ModelRegistry| -> BTreeMap<String, ModelAlias> {
        registry
            .aliases
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(name, alias)| alias_name(&name).map(|name| (name, alias)))
            .collect()
    };
    let has_transported = transported.is_some();
    let mut aliases = normalise(local.clone());
    let mut default = local.default.as_deref().and_then(alias_name);
    if let Some(transported) = transported {
        if let Some(over) = transported.default.as_deref().and_then(alias_name) {
            default = Some(over);
        }
        aliases.extend(normalise(transported));
    }
    Ok((
        ModelRegistry {
            aliases: Some(aliases),
            default,
        },
        has_transported,
    ))
}

/// Resolves `model` (or the default) as `kitaru.llm()` does.
pub(crate) fn resolve(
    model: Option<&str>,
    config_dir: &Path,
    env: &dyn Environment,
) -> Result<ModelSelection, Error> {
    let (registry, transported) = registry(config_dir, env)?;
    let aliases = registry.aliases.clone().unwrap_or_default();
    let by_name = |requested: &str| -> Result<ModelSelection, Error> {
        if requested.is_empty() {
            return Err(Error::argument(
                "model",
                "Model identifier cannot be empty.",
            ));
        }
        Ok(
            match alias_name(requested).and_then(|name| aliases.get(&name)) {
                Some(alias) => ModelSelection {
                    resolved: alias.model.trim().to_owned(),
                    secret: alias
                        .secret
                        .as_deref()
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned),
                },
                None => ModelSelection {
                    resolved: requested.to_owned(),
                    secret: None,
                },
            },
        )
    };
    if let Some(model) = model {
        return by_name(model.trim());
    }
    if let Some(default) = env.var(DEFAULT_MODEL_VAR) {
        let default = default.trim();
        if default.is_empty() {
            return Err(Error::argument(
                "model",
                format!("`{DEFAULT_MODEL_VAR}` is set but empty."),
            ));
        }
        return by_name(default);
    }
    if aliases.is_empty() {
        return Err(Error::argument(
            "model",
            if transported {
                format!(
                    "No model alias is configured in the transported model registry. Set \
                     {DEFAULT_MODEL_VAR} or pass `model`."
                )
            } else {
                format!(
                    "No model alias is configured. Run `kitaru model register <alias> --model \
                     <provider/model>` first, set {DEFAULT_MODEL_VAR}, or pass a concrete model \
                     (`provider/model`)."
                )
            },
        ));
    }
    let default = match registry.default {
        Some(default) => default,
        None if aliases.len() == 1 => aliases.keys().next().cloned().unwrap_or_default(),
        None => {
            return Err(Error::argument(
                "model",
                "Multiple model aliases are configured but no default alias is set. Re-register \
                 one alias to restore a default, or pass `model`.",
            ));
        }
    };
    by_name(&default).and_then(|selection| {
        if aliases.contains_key(&default) {
            Ok(selection)
        } else {
            Err(Error::State(
                "The configured default model alias is missing. Re-register an alias with \
                 `kitaru model register ...` to repair local config."
                    .to_owned(),
            ))
        }
    })
}

/// The provider of a resolved model, and the model's name there.
fn provider(resolved: &str) -> Result<(String, String), Error> {
    let Some((provider, name)) = resolved.split_once('/') else {
        return Err(Error::argument(
            "model",
            format!(
                "Model `{resolved}` does not include a provider prefix. A provider-qualified \
                 model string is required, like `openai/gpt-5-nano`, \
                 `anthropic/claude-sonnet-4-20250514`, or `ollama/qwen3.5`. If you registered an \
                 alias, make sure it resolves to a provider/model string."
            ),
        ));
    };
    let (provider, name) = (provider.trim().to_lowercase(), name.trim().to_owned());
    if name.is_empty() {
        return Err(Error::argument(
            "model",
            format!("Model `{resolved}` has an empty model name after the provider prefix."),
        ));
    }
    if !SUPPORTED.contains(&provider.as_str()) {
        let supported: Vec<String> = SUPPORTED.iter().map(|p| format!("`{p}/*`")).collect();
        return Err(Error::argument(
            "model",
            format!(
                "Provider `{provider}` (from model `{resolved}`) is not supported. Built-in \
                 support covers {}.",
                supported.join(", ")
            ),
        ));
    }
    Ok((provider, name))
}

/// The variables that hold a provider's credentials.
fn credential_keys(provider: &str) -> &'static [&'static str] {
    match provider {
        "openai" => &["OPENAI_API_KEY"],
        "anthropic" => &["ANTHROPIC_API_KEY"],
        "openrouter" => &["OPENROUTER_API_KEY"],
        _ => &[],
    }
}

/// Credentials first from the environment, else from the alias's secret.
async fn credentials(
    kitaru: &Kitaru,
    selection: &ModelSelection,
    provider: &str,
    env: &dyn Environment,
) -> Result<HashMap<String, String>, Error> {
    let keys = credential_keys(provider);
    let from_env = |key: &&str| env.var(key).filter(|value| !value.is_empty());
    if !keys.is_empty() && keys.iter().any(|key| from_env(key).is_some()) {
        return Ok(keys
            .iter()
            .filter_map(|key| from_env(key).map(|value| ((*key).to_owned(), value)))
            .collect());
    }
    let Some(secret) = &selection.secret else {
        if keys.is_empty() {
            return Ok(HashMap::new());
        }
        return Err(Error::State(format!(
            "No provider credentials found for `{}`. Set one of [{}] in the environment or \
             register an alias with `--secret` via `kitaru model register ...`.",
            selection.resolved,
            keys.join(", ")
        )));
    };
    let values = secret_values(kitaru, secret).await?;
    if !keys.is_empty() && !keys.iter().any(|key| values.contains_key(*key)) {
        return Err(Error::State(format!(
            "Secret `{secret}` does not provide required credential keys for `{}`. Expected one \
             of [{}].",
            selection.resolved,
            keys.join(", ")
        )));
    }
    Ok(values)
}

/// The non-empty values of the secret named exactly `name`.
async fn secret_values(kitaru: &Kitaru, name: &str) -> Result<HashMap<String, String>, Error> {
    let context = format!("Failed to read secret `{name}`");
    let found = kitaru
        .client
        .list_secrets()
        .name(name.to_owned())
        .size(2)
        .send()
        .await
        .context(&context)?
        .into_inner();
    let Some(listed) = found.items.iter().find(|secret| secret.name == name) else {
        return Err(Error::NotFound(format!(
            "Secret `{name}` (named by the model alias) was not found."
        )));
    };
    let secret = kitaru
        .client
        .get_secret()
        .secret_id(listed.id)
        .send()
        .await
        .context(&context)?
        .into_inner();
    let values: HashMap<String, String> = secret
        .body
        .map(|body| body.values)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(key, value)| value.filter(|v| !v.is_empty()).map(|v| (key, v)))
        .collect();
    if values.is_empty() {
        return Err(Error::State(format!(
            "Secret `{name}` does not contain readable key/value pairs."
        )));
    }
    Ok(values)
}

/// Sends `prompt` as one user message to the selected model and returns
/// the text of its answer.
pub(crate) async fn complete(
    kitaru: &Kitaru,
    selection: &ModelSelection,
    prompt: &str,
    max_tokens: Option<i64>,
    env: &dyn Environment,
) -> Result<String, Error> {
    let (provider, model) = provider(&selection.resolved)?;
    let credentials = credentials(kitaru, selection, &provider, env).await?;
    let credential = |key: &str| credentials.get(key).cloned().or_else(|| env.var(key));
    let messages = json!([{"role": "user", "content": prompt}]);
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(600))
        .build()
        .map_err(|e| Error::Unexpected(format!("cannot build an HTTP client: {e}")))?;
    // Whatever the provider says, never pass a credential on.
    let scrub = |text: String| {
        credentials
            .values()
            .filter(|value| value.len() >= 4)
            .fold(text, |text, value| text.replace(value.as_str(), "***"))
    };
    let failed = |detail: String| {
        let detail = scrub(detail);
        Error::Api {
            context: format!(
                "Memory compaction failed while calling {provider} for model `{provider}/{model}`"
            ),
            kind: crate::ErrorKind::Backend,
            status: None,
            detail,
        }
    };
    let (request, anthropic) = if provider == "anthropic" {
        let base = env
            .var("ANTHROPIC_BASE_URL")
            .filter(|url| !url.trim().is_empty())
            .unwrap_or_else(|| "https://api.anthropic.com".to_owned());
        let body = json!({
            "model": model,
            "messages": messages,
            "max_tokens": max_tokens.unwrap_or(ANTHROPIC_DEFAULT_MAX_TOKENS),
        });
        let request = http
            .post(format!("{}/v1/messages", base.trim_end_matches('/')))
            .header(
                "x-api-key",
                credential("ANTHROPIC_API_KEY").unwrap_or_default(),
            )
            .header("anthropic-version", "2023-06-01")
            .json(&body);
        (request, true)
    } else {
        let (base, key) = match provider.as_str() {
            "ollama" => {
                let host = env
                    .var("OLLAMA_HOST")
                    .filter(|host| !host.trim().is_empty())
                    .unwrap_or_else(|| "http://localhost:11434".to_owned());
                let host = if host.contains("://") {
                    host
                } else {
                    format!("http://{host}")
                };
                (
                    format!("{}/v1", host.trim_end_matches('/')),
                    Some("ollama".to_owned()),
                )
            }
            "openrouter" => (
                "https://openrouter.ai/api/v1".to_owned(),
                credential("OPENROUTER_API_KEY"),
            ),
            _ => (
                env.var("OPENAI_BASE_URL")
                    .filter(|url| !url.trim().is_empty())
                    .unwrap_or_else(|| "https://api.openai.com/v1".to_owned()),
                credential("OPENAI_API_KEY"),
            ),
        };
        let mut body = json!({"messages": messages, "model": model});
        if let Some(max_tokens) = max_tokens {
            body["max_tokens"] = max_tokens.into();
        }
        let mut request = http
            .post(format!("{}/chat/completions", base.trim_end_matches('/')))
            .json(&body);
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        (request, false)
    };
    let answer = request.send().await.map_err(|e| failed(e.to_string()))?;
    let status = answer.status();
    let text = answer.text().await.map_err(|e| failed(e.to_string()))?;
    if !status.is_success() {
        let detail: Value = serde_json::from_str(&text).unwrap_or(Value::String(text.clone()));
        let message = detail
            .pointer("/error/message")
            .and_then(Value::as_str)
            .map_or_else(|| text.trim().to_owned(), str::to_owned);
        return Err(failed(format!("HTTP {}: {message}", status.as_u16())));
    }
    let body: Value =
        serde_json::from_str(&text).map_err(|e| failed(format!("the answer is not JSON: {e}")))?;
    let extracted = if anthropic {
        anthropic_text(&body)
    } else {
        openai_text(&body)
    };
    extracted.ok_or_else(|| {
        failed(format!(
            "the answer holds no text (a text completion was expected): {}",
            text.chars().take(300).collect::<String>()
        ))
    })
}

/// The text of an OpenAI-style answer: the first choice's message content
/// (a string, or text parts joined by newlines), or its `text`.
fn openai_text(body: &Value) -> Option<String> {
    let choice = body.get("choices")?.as_array()?.first()?;
    let content = match choice.get("message") {
        Some(message) if message.is_object() => message.get("content")?,
        _ => choice.get("text")?,
    };
    match content {
        Value::String(text) => Some(text.clone()),
        Value::Array(parts) => {
            let texts: Vec<&str> = parts
                .iter()
                .filter_map(|part| part.as_str().or_else(|| part.get("text")?.as_str()))
                .collect();
            (!texts.is_empty()).then(|| texts.join("\n"))
        }
        _ => None,
    }
}

/// The text of an Anthropic answer: its non-empty text blocks, joined by
/// newlines.
fn anthropic_text(body: &Value) -> Option<String> {
    let texts: Vec<&str> = body
        .get("content")?
        .as_array()?
        .iter()
        .filter(|block| block.get("type").and_then(Value::as_str) == Some("text"))
        .filter_map(|block| block.get("text")?.as_str())
        .filter(|text| !text.is_empty())
        .collect();
    (!texts.is_empty()).then(|| texts.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn reason(error: Error) -> String {
        match error {
            Error::InvalidArgument { reason, .. } => reason,
            Error::State(reason) => reason,
            other => panic!("unexpected error: {other}"),
        }
    }

    #[test]
    fn a_model_resolves_by_argument_then_variable_then_registry_default() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("kitaru.yaml"),
            "model_registry:\n  aliases:\n    fast:\n      model: openai/gpt-x\n      secret: oai\n    local:\n      model: ollama/qwen\n  default: local\n",
        )
        .unwrap();
        let none = env(&[]);
        let pick = |model: Option<&str>, env: &HashMap<String, String>| {
            resolve(model, dir.path(), env).unwrap()
        };
        assert_eq!(pick(Some("FAST"), &none).resolved, "openai/gpt-x");
        assert_eq!(pick(Some("FAST"), &none).secret.as_deref(), Some("oai"));
        assert_eq!(
            pick(Some("anthropic/claude"), &none).resolved,
            "anthropic/claude"
        );
        assert_eq!(pick(None, &none).resolved, "ollama/qwen");
        assert_eq!(
            pick(None, &env(&[("KITARU_DEFAULT_MODEL", "fast")])).resolved,
            "openai/gpt-x"
        );
        let transported = env(&[(
            "KITARU_MODEL_REGISTRY",
            r#"{"aliases": {"remote": {"model": "openrouter/m"}}, "default": "remote"}"#,
        )]);
        assert_eq!(pick(None, &transported).resolved, "openrouter/m");
        assert_eq!(pick(Some("fast"), &transported).resolved, "openai/gpt-x");
        let broken = env(&[("KITARU_MODEL_REGISTRY", "{")]);
        assert!(
            reason(resolve(None, dir.path(), &broken).unwrap_err()).contains("must be valid JSON")
        );
    }

    #[test]
    fn without_any_model_the_error_says_how_to_configure_one() {
        let dir = tempfile::tempdir().unwrap();
        let text = reason(resolve(None, dir.path(), &env(&[])).unwrap_err());
        assert!(text.starts_with("No model alias is configured."), "{text}");
        let empty = env(&[("KITARU_DEFAULT_MODEL", " ")]);
        assert_eq!(
            reason(resolve(None, dir.path(), &empty).unwrap_err()),
            "`KITARU_DEFAULT_MODEL` is set but empty."
        );
    }

    #[test]
    fn providers_are_checked() {
        assert_eq!(
            provider("ollama/qwen").unwrap(),
            ("ollama".into(), "qwen".into())
        );
        assert!(
            reason(provider("gpt-x").unwrap_err()).contains("does not include a provider prefix")
        );
        assert!(reason(provider("openai/ ").unwrap_err()).contains("empty model name"));
        assert!(
            reason(provider("mistral/m").unwrap_err())
                .starts_with("Provider `mistral` (from model `mistral/m`) is not supported.")
        );
    }

    #[test]
    fn answers_are_read_as_the_python_sdk_reads_them() {
        let openai = json!({"choices": [{"message": {"content": "sum"}}]});
        assert_eq!(openai_text(&openai).as_deref(), Some("sum"));
        let parts =
            json!({"choices": [{"message": {"content": [{"type": "text", "text": "a"}, "b"]}}]});
        assert_eq!(openai_text(&parts).as_deref(), Some("a\nb"));
        assert_eq!(openai_text(&json!({"choices": []})), None);
        let anthropic = json!({"content": [{"type": "text", "text": "x"}, {"type": "tool_use"}, {"type": "text", "text": "y"}]});
        assert_eq!(anthropic_text(&anthropic).as_deref(), Some("x\ny"));
    }
}
