//! The execution spec Kitaru freezes into a run's metadata
//! (`kitaru_execution_spec`): the settings the execution ran with.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::present;
use crate::ServerLine;
use crate::python_repr::json_str;

/// The run-metadata key the Kitaru SDK stores the spec under.
const METADATA_KEY: &str = "kitaru_execution_spec";
/// The setting kitaru 0.21 added to the spec's execution settings.
const COSTS_KEY: &str = "llm_estimated_costs";

/// The settings an execution ran with, as the Kitaru SDK recorded them, with
/// every default filled in.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct FrozenExecutionSpec {
    /// The spec format's version.
    #[serde(default = "first_version")]
    pub version: i64,
    /// The settings the execution actually used.
    pub resolved_execution: ResolvedExecution,
    /// The flow's own defaults (from its decorator and configuration).
    pub flow_defaults: FlowDefaults,
    /// The server connection the execution was started through.
    pub connection: ConnectionSettings,
    /// Model aliases for `kitaru.llm()`, when recorded.
    #[serde(default)]
    pub model_registry: Option<ModelRegistry>,
}

fn first_version() -> i64 {
    1
}

/// The settings an execution actually used.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct ResolvedExecution {
    /// The stack it ran on.
    #[serde(default)]
    pub stack: Option<String>,
    /// Its image and runtime environment.
    #[serde(default)]
    pub image: Option<ImageSettings>,
    /// Whether checkpoint caching was on.
    #[serde(default)]
    pub cache: Option<bool>,
    /// How many times a failed execution is retried.
    pub retries: u32,
    /// Whether `kitaru.llm()` estimates the cost of calls the provider does
    /// not price: on the kitaru 0.21 line (`auto` unless recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub llm_estimated_costs: Option<LlmEstimatedCosts>,
}

/// Whether `kitaru.llm()` estimates the cost of a call from public prices
/// when the provider reports none.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum LlmEstimatedCosts {
    /// Estimate.
    Auto,
    /// Record tokens only.
    Off,
}

/// A flow's defaults; any may be unset.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct FlowDefaults {
    /// Default stack.
    #[serde(default)]
    pub stack: Option<String>,
    /// Default image settings.
    #[serde(default)]
    pub image: Option<ImageSettings>,
    /// Default caching.
    #[serde(default)]
    pub cache: Option<bool>,
    /// Default retries.
    #[serde(default)]
    pub retries: Option<u32>,
    /// Default cost estimation: on the kitaru 0.21 line (null when unset).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub llm_estimated_costs: Option<Option<LlmEstimatedCosts>>,
    /// Default server connection.
    #[serde(flatten)]
    pub connection: ConnectionSettings,
}

/// The connection an execution was started through.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct ConnectionSettings {
    /// The server's URL.
    #[serde(default)]
    pub server_url: Option<String>,
    /// Always null: the SDK does not store tokens.
    #[serde(default)]
    pub auth_token: Option<String>,
    /// The project.
    #[serde(default)]
    pub project: Option<String>,
}

/// Image and runtime-environment settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ImageSettings {
    /// Base image.
    #[serde(default)]
    pub base_image: Option<String>,
    /// Python requirements to install.
    #[serde(default)]
    pub requirements: Option<Vec<String>>,
    /// Dockerfile to build from.
    #[serde(default)]
    pub dockerfile: Option<String>,
    /// Build context folder.
    #[serde(default)]
    pub build_context_root: Option<String>,
    /// Environment variables.
    #[serde(default)]
    pub environment: Option<BTreeMap<String, String>>,
    /// Secrets whose values become environment variables.
    #[serde(default)]
    pub secret_environment_from: Option<Vec<String>>,
    /// System packages to install.
    #[serde(default)]
    pub apt_packages: Option<Vec<String>>,
    /// Whether the local Python environment is replicated.
    #[serde(default)]
    pub replicate_local_python_environment: Option<bool>,
    /// Image tag.
    #[serde(default)]
    pub image_tag: Option<String>,
    /// Repository the image is pushed to.
    #[serde(default)]
    pub target_repository: Option<String>,
    /// User the image runs as.
    #[serde(default)]
    pub user: Option<String>,
    /// Target platform.
    #[serde(default)]
    pub platform: Option<String>,
}

/// Model aliases for `kitaru.llm()`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct ModelRegistry {
    /// Alias → model.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub aliases: BTreeMap<String, ModelAlias>,
    /// The alias used when none is given.
    #[serde(default)]
    pub default: Option<String>,
}

/// One model alias.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct ModelAlias {
    /// The model identifier.
    pub model: String,
    /// The secret holding its credentials.
    #[serde(default)]
    pub secret: Option<String>,
}

fn null_as_empty<'de, D>(deserializer: D) -> Result<BTreeMap<String, ModelAlias>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    Ok(Option::deserialize(deserializer)?.unwrap_or_default())
}

impl FrozenExecutionSpec {
    /// The spec stored in a run's metadata, as the reference of the
    /// server's `line` reads it; `None` when there is none or it does not
    /// have the spec's shape.
    ///
    /// Kitaru 0.10 knows no `llm_estimated_costs` (and ignores one). Kitaru
    /// 0.21 defaults the execution's to `auto` and reads the flow default's
    /// as its configuration does (`on`, `true`, `1`, `yes` are `auto`;
    /// `false`, `0`, `no` are `off`); any other value makes the spec
    /// unreadable.
    pub(crate) fn from_run_metadata(
        run_metadata: &Map<String, Value>,
        line: ServerLine,
    ) -> Option<Self> {
        let mut stored = run_metadata.get(METADATA_KEY)?.as_object()?.clone();
        // Older SDKs called the stack `runner`.
        for section in ["resolved_execution", "flow_defaults"] {
            if let Some(Value::Object(settings)) = stored.get_mut(section)
                && !settings.contains_key("stack")
                && let Some(runner) = settings.get("runner").cloned()
            {
                settings.insert("stack".into(), runner);
            }
        }
        if let Some(Value::Object(resolved)) = stored.get_mut("resolved_execution") {
            match line {
                ServerLine::Kitaru010 => {
                    resolved.remove(COSTS_KEY);
                }
                ServerLine::Kitaru021 => {
                    resolved.entry(COSTS_KEY).or_insert_with(|| "auto".into());
                }
            }
        }
        if let Some(Value::Object(defaults)) = stored.get_mut("flow_defaults") {
            let policy = defaults.remove(COSTS_KEY).unwrap_or(Value::Null);
            if line == ServerLine::Kitaru021 {
                let policy = match policy {
                    Value::Null => Value::Null,
                    given => configured_policy(&given)?,
                };
                defaults.insert(COSTS_KEY.into(), policy);
            }
        }
        serde_json::from_value(Value::Object(stored)).ok()
    }
}

/// A cost-estimation setting as kitaru 0.21's configuration reads it:
/// `auto` or `off`, given as any of their spellings; `None` when it is
/// neither.
fn configured_policy(given: &Value) -> Option<Value> {
    match json_str(given).trim().to_lowercase().as_str() {
        "auto" | "on" | "true" | "1" | "yes" => Some("auto".into()),
        "off" | "false" | "0" | "no" => Some("off".into()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn spec(stored: Value) -> Option<FrozenExecutionSpec> {
        let metadata = json!({ "kitaru_execution_spec": stored });
        FrozenExecutionSpec::from_run_metadata(metadata.as_object().unwrap(), ServerLine::Kitaru010)
    }

    #[test]
    fn a_stored_spec_comes_back_with_every_default() {
        let frozen = spec(json!({
            "version": 1,
            "resolved_execution": {"stack": "default", "retries": 0},
            "flow_defaults": {},
            "connection": {"server_url": "http://127.0.0.1:8383"},
            "model_registry": {"aliases": {}},
        }))
        .unwrap();
        assert_eq!(
            serde_json::to_string(&frozen).unwrap(),
            concat!(
                r#"{"version":1,"resolved_execution":{"stack":"default","image":null,"cache":null,"retries":0},"#,
                r#""flow_defaults":{"stack":null,"image":null,"cache":null,"retries":null,"server_url":null,"auth_token":null,"project":null},"#,
                r#""connection":{"server_url":"http://127.0.0.1:8383","auth_token":null,"project":null},"#,
                r#""model_registry":{"aliases":{},"default":null}}"#
            )
        );
    }

    #[test]
    fn a_legacy_runner_becomes_the_stack() {
        let frozen = spec(json!({
            "resolved_execution": {"runner": "k8s", "retries": 2},
            "flow_defaults": {"runner": "local"},
            "connection": {},
        }))
        .unwrap();
        assert_eq!(frozen.version, 1);
        assert_eq!(frozen.resolved_execution.stack.as_deref(), Some("k8s"));
        assert_eq!(frozen.flow_defaults.stack.as_deref(), Some("local"));
        assert_eq!(frozen.model_registry, None);
    }

    #[test]
    fn a_missing_or_malformed_spec_is_none() {
        assert_eq!(
            FrozenExecutionSpec::from_run_metadata(&Map::new(), ServerLine::Kitaru010),
            None
        );
        assert_eq!(spec(json!({"resolved_execution": {}})), None);
        assert_eq!(
            spec(json!({
                "resolved_execution": {"retries": 0, "image": {"unknown": 1}},
                "flow_defaults": {},
                "connection": {},
            })),
            None
        );
    }

    /// A spec a real kitaru 0.21 run stored, and the form its reference
    /// returns it in.
    #[test]
    fn on_the_0_21_line_the_spec_carries_the_cost_estimation_settings() {
        let stored = json!({
            "version": 1,
            "resolved_execution": {"stack": "default", "retries": 0, "llm_estimated_costs": "auto"},
            "flow_defaults": {},
            "connection": {"server_url": "http://127.0.0.1:18931", "project": "b37f41bf-4dec-4899-afdc-327a98f78c6d"},
            "model_registry": {"aliases": {}},
        });
        let metadata = json!({ "kitaru_execution_spec": stored });
        let metadata = metadata.as_object().unwrap();
        let frozen =
            FrozenExecutionSpec::from_run_metadata(metadata, ServerLine::Kitaru021).unwrap();
        assert_eq!(
            serde_json::to_value(&frozen).unwrap(),
            json!({
                "version": 1,
                "resolved_execution": {"stack": "default", "image": null, "cache": null, "retries": 0, "llm_estimated_costs": "auto"},
                "flow_defaults": {"stack": null, "image": null, "cache": null, "retries": null, "llm_estimated_costs": null, "server_url": null, "auth_token": null, "project": null},
                "connection": {"server_url": "http://127.0.0.1:18931", "auth_token": null, "project": "b37f41bf-4dec-4899-afdc-327a98f78c6d"},
                "model_registry": {"aliases": {}, "default": null},
            })
        );
        let text = serde_json::to_string(&frozen).unwrap();
        assert_eq!(
            serde_json::from_str::<FrozenExecutionSpec>(&text).unwrap(),
            frozen
        );
        // The 0.10 reference knows no such setting.
        let on_010 =
            FrozenExecutionSpec::from_run_metadata(metadata, ServerLine::Kitaru010).unwrap();
        assert_eq!(on_010.resolved_execution.llm_estimated_costs, None);
        assert_eq!(on_010.flow_defaults.llm_estimated_costs, None);
        assert!(
            !serde_json::to_string(&on_010)
                .unwrap()
                .contains("llm_estimated_costs")
        );
    }

    #[test]
    fn on_the_0_21_line_cost_settings_default_and_read_as_the_configuration_does() {
        let read = |resolved: Value, defaults: Value| {
            spec_on_021(json!({
                "resolved_execution": resolved, "flow_defaults": defaults, "connection": {},
            }))
        };
        let frozen = read(json!({"retries": 0}), json!({"llm_estimated_costs": "No"})).unwrap();
        assert_eq!(
            frozen.resolved_execution.llm_estimated_costs,
            Some(LlmEstimatedCosts::Auto)
        );
        assert_eq!(
            frozen.flow_defaults.llm_estimated_costs,
            Some(Some(LlmEstimatedCosts::Off))
        );
        let on = read(json!({"retries": 0}), json!({"llm_estimated_costs": true})).unwrap();
        assert_eq!(
            on.flow_defaults.llm_estimated_costs,
            Some(Some(LlmEstimatedCosts::Auto))
        );
        assert_eq!(
            read(
                json!({"retries": 0}),
                json!({"llm_estimated_costs": "maybe"})
            ),
            None
        );
        assert_eq!(
            read(
                json!({"retries": 0, "llm_estimated_costs": "on"}),
                json!({})
            ),
            None
        );
    }

    fn spec_on_021(stored: Value) -> Option<FrozenExecutionSpec> {
        let metadata = json!({ "kitaru_execution_spec": stored });
        FrozenExecutionSpec::from_run_metadata(metadata.as_object().unwrap(), ServerLine::Kitaru021)
    }
}
