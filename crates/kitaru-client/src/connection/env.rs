//! Environment variables: how they are read, and the names that matter.

use std::collections::HashMap;
use std::hash::BuildHasher;

/// Read access to environment variables, so that resolution can run against a
/// map in tests instead of the process environment.
pub trait Environment: Send + Sync {
    /// The value of `name`, or `None` when it is not set.
    fn var(&self, name: &str) -> Option<String>;
}

/// The environment of the current process. A variable whose value is not
/// valid UTF-8 counts as unset.
#[derive(Clone, Copy, Debug, Default)]
pub struct ProcessEnv;

impl Environment for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

impl<S: BuildHasher + Send + Sync> Environment for HashMap<String, String, S> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
}

impl<F: Fn(&str) -> Option<String> + Send + Sync> Environment for F {
    fn var(&self, name: &str) -> Option<String> {
        self(name)
    }
}

pub(crate) const KITARU_SERVER_URL: &str = "KITARU_SERVER_URL";
pub(crate) const KITARU_AUTH_TOKEN: &str = "KITARU_AUTH_TOKEN";
pub(crate) const KITARU_PROJECT: &str = "KITARU_PROJECT";
pub(crate) const KITARU_CONFIG_PATH: &str = "KITARU_CONFIG_PATH";
pub(crate) const KITARU_RUNNER: &str = "KITARU_RUNNER";
pub(crate) const KITARU_MAX_CONCURRENT_REQUESTS: &str = "KITARU_MAX_CONCURRENT_REQUESTS";
pub(crate) const ZENML_STORE_URL: &str = "ZENML_STORE_URL";
pub(crate) const ZENML_STORE_API_KEY: &str = "ZENML_STORE_API_KEY";
pub(crate) const ZENML_STORE_API_TOKEN: &str = "ZENML_STORE_API_TOKEN";
pub(crate) const ZENML_STORE_USERNAME: &str = "ZENML_STORE_USERNAME";
pub(crate) const ZENML_STORE_PASSWORD: &str = "ZENML_STORE_PASSWORD";
/// How a username and password from the environment are named as a source.
pub(crate) const ZENML_STORE_USERNAME_PASSWORD: &str = "ZENML_STORE_USERNAME/ZENML_STORE_PASSWORD";
pub(crate) const ZENML_STORE_VERIFY_SSL: &str = "ZENML_STORE_VERIFY_SSL";
pub(crate) const ZENML_STORE_HTTP_TIMEOUT: &str = "ZENML_STORE_HTTP_TIMEOUT";
pub(crate) const ZENML_ACTIVE_PROJECT_ID: &str = "ZENML_ACTIVE_PROJECT_ID";
pub(crate) const ZENML_ACTIVE_STACK_ID: &str = "ZENML_ACTIVE_STACK_ID";
pub(crate) const ZENML_CONFIG_PATH: &str = "ZENML_CONFIG_PATH";
pub(crate) const ZENML_REPOSITORY_PATH: &str = "ZENML_REPOSITORY_PATH";
pub(crate) const ZENML_DISABLE_CREDENTIALS_DISK_CACHING: &str =
    "ZENML_DISABLE_CREDENTIALS_DISK_CACHING";
pub(crate) const HOME: &str = "HOME";
pub(crate) const XDG_CONFIG_HOME: &str = "XDG_CONFIG_HOME";
pub(crate) const APPDATA: &str = "APPDATA";

/// A variable's value together with its name, so the value's source can be
/// reported.
#[derive(Clone)]
pub(crate) struct EnvValue {
    pub(crate) var: &'static str,
    pub(crate) value: String,
}

/// The environment as connection resolution reads it.
pub(crate) struct EnvView<'a> {
    env: &'a dyn Environment,
}

impl<'a> EnvView<'a> {
    pub(crate) fn new(env: &'a dyn Environment) -> Self {
        Self { env }
    }

    /// The value exactly as set, even if blank.
    pub(crate) fn raw(&self, var: &'static str) -> Option<EnvValue> {
        self.env.var(var).map(|value| EnvValue { var, value })
    }

    /// The trimmed value; a blank variable counts as unset.
    pub(crate) fn non_blank(&self, var: &'static str) -> Option<EnvValue> {
        self.raw(var).and_then(|found| {
            let value = found.value.trim();
            (!value.is_empty()).then(|| EnvValue {
                var,
                value: value.to_owned(),
            })
        })
    }

    /// A `KITARU_*` variable and the `ZENML_*` one it stands for.
    ///
    /// Kitaru copies its non-blank variable over the ZenML one at start-up,
    /// so the Kitaru one wins; the ZenML one is then read as it is (trimmed,
    /// but possibly empty: the caller decides whether that is an error).
    /// Two different values are reported in `warnings`.
    pub(crate) fn kitaru_over_zenml(
        &self,
        kitaru: &'static str,
        zenml: &'static str,
        warnings: &mut Vec<String>,
    ) -> Option<EnvValue> {
        let zenml_value = self.raw(zenml).map(|found| EnvValue {
            var: zenml,
            value: found.value.trim().to_owned(),
        });
        match self.non_blank(kitaru) {
            Some(kitaru_value) => {
                if zenml_value.is_some_and(|z| z.value != kitaru_value.value) {
                    warnings.push(format!(
                        "Both {kitaru} and {zenml} are set with different values; using {kitaru}."
                    ));
                }
                Some(kitaru_value)
            }
            None => zenml_value,
        }
    }

    /// Whether a flag variable is set to one of the values ZenML takes as
    /// true.
    pub(crate) fn flag(&self, var: &'static str) -> bool {
        self.raw(var).is_some_and(|found| {
            matches!(found.value.as_str(), "1" | "y" | "yes" | "True" | "true")
        })
    }
}

/// Parses a boolean the way the server's config model does (case-insensitive
/// `true/false`, `1/0`, `yes/no`, `on/off`, `t/f`, `y/n`).
pub(crate) fn parse_bool(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "t" | "yes" | "y" | "on" => Some(true),
        "0" | "false" | "f" | "no" | "n" | "off" => Some(false),
        _ => None,
    }
}
