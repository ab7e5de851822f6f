//! The runtime log-store preference (`kitaru log-store set`, or the
//! `KITARU_LOG_STORE_*` variables) against the log store the active stack
//! really uses.
//!
//! The preference does not choose where logs go yet: the active stack's log
//! store does. A preference that differs from it is reported so the user is
//! not surprised.

use serde::Deserialize;

use kitaru_client::connection::Environment;
use kitaru_client::types::StackResponse;

const BACKEND_VAR: &str = "KITARU_LOG_STORE_BACKEND";
const ENDPOINT_VAR: &str = "KITARU_LOG_STORE_ENDPOINT";
const API_KEY_VAR: &str = "KITARU_LOG_STORE_API_KEY";
/// The backend of a stack without a log store component: logs go to its
/// artifact store.
const ARTIFACT_STORE: &str = "artifact-store";

/// A log-store override: `log_store` in `kitaru.yaml`, or the variables.
#[derive(Debug, Deserialize)]
pub(crate) struct LogStoreSetting {
    backend: String,
    endpoint: String,
    api_key: Option<String>,
}

impl LogStoreSetting {
    /// The backend name, lower-cased, once the whole setting is checked.
    pub(crate) fn backend(&self) -> Result<String, String> {
        let backend = self.backend.trim().to_lowercase();
        if backend.is_empty() {
            return Err("Log-store backend cannot be empty.".into());
        }
        let mut chars = backend.chars();
        let valid_name = chars
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c));
        if !valid_name {
            return Err(
                "Invalid log-store backend. Use lowercase letters, numbers, dots, \
                        underscores, or hyphens."
                    .into(),
            );
        }
        let endpoint = self.endpoint.trim().trim_end_matches('/');
        if endpoint.is_empty() {
            return Err("Log-store endpoint cannot be empty.".into());
        }
        let is_http = url::Url::parse(endpoint).is_ok_and(|url| {
            matches!(url.scheme(), "http" | "https")
                && url.host_str().is_some_and(|h| !h.is_empty())
        });
        if !is_http {
            return Err(
                "Invalid log-store endpoint. Please use an http:// or https:// URL.".into(),
            );
        }
        if self
            .api_key
            .as_deref()
            .is_some_and(|key| key.trim().is_empty())
        {
            return Err("Log-store API key cannot be empty.".into());
        }
        Ok(backend)
    }
}

/// The preferred backend, when one is set: the variables, else
/// `kitaru.yaml`. `Err` says why the preference cannot be worked out.
pub(crate) fn preferred_backend(
    env: &dyn Environment,
    file: Result<Option<&LogStoreSetting>, &str>,
) -> Result<Option<String>, String> {
    let backend = env.var(BACKEND_VAR);
    let endpoint = env.var(ENDPOINT_VAR);
    let api_key = env.var(API_KEY_VAR);
    if backend.is_none() && endpoint.is_none() && api_key.is_none() {
        return file
            .map_err(str::to_owned)?
            .map(LogStoreSetting::backend)
            .transpose();
    }
    let Some(backend) = backend else {
        return Err(format!(
            "{BACKEND_VAR} must be set when defining a log-store environment override."
        ));
    };
    if backend.trim().to_lowercase() == ARTIFACT_STORE {
        for (var, value) in [(ENDPOINT_VAR, &endpoint), (API_KEY_VAR, &api_key)] {
            if value.as_deref().is_some_and(|value| !value.is_empty()) {
                return Err(format!(
                    "{var} must be unset when {BACKEND_VAR}={ARTIFACT_STORE}."
                ));
            }
        }
        return Ok(Some(ARTIFACT_STORE.to_owned()));
    }
    let Some(endpoint) = endpoint else {
        return Err(format!(
            "{ENDPOINT_VAR} must be set when {BACKEND_VAR} is configured."
        ));
    };
    LogStoreSetting {
        backend,
        endpoint,
        api_key,
    }
    .backend()
    .map(Some)
}

/// The backend of the stack's log store, named as the preference names it;
/// `None` when the stack was read without its components.
fn stack_backend(stack: &StackResponse) -> Option<String> {
    let components = &stack.metadata.as_ref()?.components;
    let flavor = components
        .get("log_store")
        .and_then(|stores| stores.first())
        .map_or("artifact", |store| {
            store
                .body
                .as_ref()
                .map_or("", |body| body.flavor_name.as_str())
        });
    let name = flavor.trim().to_lowercase().replace('_', "-");
    Some(match name.as_str() {
        "" => "unknown".to_owned(),
        "artifact" | "artifact-store" | "artifactstore" => ARTIFACT_STORE.to_owned(),
        "otel" | "otlp" | "open-telemetry" | "open telemetry" => "otel".to_owned(),
        _ => name,
    })
}

/// A preference the active stack does not follow, as a short status and a
/// warning.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Mismatch {
    pub(crate) status: String,
    pub(crate) warning: String,
}

/// Compares the preferred backend with the active stack's.
pub(crate) fn mismatch(preferred: &str, stack: &StackResponse) -> Option<Mismatch> {
    let used = stack_backend(stack)?;
    if used == preferred {
        return None;
    }
    Some(Mismatch {
        status: format!("{preferred} (preferred) ⚠ stack uses {used}"),
        warning: [
            format!("Active stack uses: {used} (stack: {})", stack.name),
            "The Kitaru log-store preference is not wired into stack selection yet.".to_owned(),
            "Actual runtime logs go to the active stack's ZenML stack log store, not this \
             preference."
                .to_owned(),
        ]
        .join("\n"),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::status::test_env::env;

    fn setting(backend: &str, endpoint: &str) -> LogStoreSetting {
        LogStoreSetting {
            backend: backend.into(),
            endpoint: endpoint.into(),
            api_key: None,
        }
    }

    fn stack(components: serde_json::Value) -> StackResponse {
        serde_json::from_value(json!({
            "id": "9df65633-97e3-4a98-95e8-0258c6c621ea",
            "name": "default",
            "permission_denied": false,
            "metadata": { "components": components, "secrets": [] },
        }))
        .unwrap()
    }

    fn component(flavor: &str) -> serde_json::Value {
        json!({
            "id": "0df51b18-1d08-4f33-8c37-f8ff2f1d9af6",
            "name": "logs",
            "permission_denied": false,
            "body": {
                "created": "2026-11-26T13:45:03", "updated": "2026-11-26T13:45:03",
                "flavor_name": flavor, "type": "log_store",
            },
        })
    }

    #[test]
    fn without_variables_or_file_there_is_no_preference() {
        assert_eq!(preferred_backend(&env(&[]), Ok(None)), Ok(None));
    }

    #[test]
    fn the_variables_win_over_the_file() {
        let file = setting("otel", "https://otel.example.com");
        let vars = env(&[
            ("KITARU_LOG_STORE_BACKEND", " Datadog "),
            ("KITARU_LOG_STORE_ENDPOINT", "https://logs.example.com/"),
        ]);
        assert_eq!(
            preferred_backend(&vars, Ok(Some(&file))),
            Ok(Some("datadog".into()))
        );
        assert_eq!(
            preferred_backend(&env(&[]), Ok(Some(&file))),
            Ok(Some("otel".into()))
        );
    }

    #[test]
    fn incomplete_variables_say_what_is_missing() {
        let no_backend = env(&[("KITARU_LOG_STORE_ENDPOINT", "https://x")]);
        assert_eq!(
            preferred_backend(&no_backend, Ok(None)).unwrap_err(),
            "KITARU_LOG_STORE_BACKEND must be set when defining a log-store environment override."
        );
        let no_endpoint = env(&[("KITARU_LOG_STORE_BACKEND", "datadog")]);
        assert_eq!(
            preferred_backend(&no_endpoint, Ok(None)).unwrap_err(),
            "KITARU_LOG_STORE_ENDPOINT must be set when KITARU_LOG_STORE_BACKEND is configured."
        );
        let artifact_with_key = env(&[
            ("KITARU_LOG_STORE_BACKEND", "artifact-store"),
            ("KITARU_LOG_STORE_API_KEY", "k"),
        ]);
        assert_eq!(
            preferred_backend(&artifact_with_key, Ok(None)).unwrap_err(),
            "KITARU_LOG_STORE_API_KEY must be unset when KITARU_LOG_STORE_BACKEND=artifact-store."
        );
    }

    #[test]
    fn an_unreadable_file_is_reported() {
        assert_eq!(
            preferred_backend(&env(&[]), Err("broken")).unwrap_err(),
            "broken"
        );
    }

    #[test]
    fn settings_are_checked_like_the_cli_checks_them() {
        assert_eq!(
            setting("my.backend-1", "http://h").backend(),
            Ok("my.backend-1".into())
        );
        assert!(setting("-x", "http://h").backend().is_err());
        assert!(setting("x", "ftp://h").backend().is_err());
        assert!(setting("x", " / ").backend().is_err());
    }

    #[test]
    fn a_stack_without_log_store_logs_to_its_artifact_store() {
        let plain = stack(json!({}));
        assert_eq!(mismatch("artifact-store", &plain), None);
        let found = mismatch("datadog", &plain).unwrap();
        assert_eq!(
            found.status,
            "datadog (preferred) ⚠ stack uses artifact-store"
        );
        assert!(
            found
                .warning
                .starts_with("Active stack uses: artifact-store (stack: default)\n")
        );
    }

    #[test]
    fn a_log_store_flavor_is_named_like_the_preference() {
        let otlp = stack(json!({ "log_store": [component("OTLP")] }));
        assert_eq!(mismatch("otel", &otlp), None);
        let datadog = stack(json!({ "log_store": [component("datadog")] }));
        assert!(mismatch("otel", &datadog).is_some());
    }
}
