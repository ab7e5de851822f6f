//! The process environment as diagnostics show it: the `KITARU_*` variables
//! that are set (secrets masked), the kind of machine, and the system.

use serde::Serialize;

use kitaru_client::connection::Environment;

/// The public Kitaru variables, in the order the CLI lists them.
const KITARU_VARIABLES: [&str; 15] = [
    "KITARU_SERVER_URL",
    "KITARU_AUTH_TOKEN",
    "KITARU_PROJECT",
    "KITARU_RUNNER",
    "KITARU_STACK",
    "KITARU_CACHE",
    "KITARU_RETRIES",
    "KITARU_IMAGE",
    "KITARU_LOG_STORE_BACKEND",
    "KITARU_LOG_STORE_ENDPOINT",
    "KITARU_LOG_STORE_API_KEY",
    "KITARU_DEFAULT_MODEL",
    "KITARU_CONFIG_PATH",
    "KITARU_DEBUG",
    "KITARU_ANALYTICS_OPT_IN",
];

/// Parts of a variable name that mark its value as a secret.
const SECRET_NAME_PARTS: [&str; 6] = ["KEY", "TOKEN", "SECRET", "PASSWORD", "CREDENTIAL", "AUTH"];

/// A Kitaru environment variable that is set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct EnvironmentVariable {
    /// The variable's name, e.g. `KITARU_PROJECT`.
    pub name: String,
    /// Its value; for a secret (a name containing KEY, TOKEN, SECRET,
    /// PASSWORD, CREDENTIAL or AUTH) only its first few characters and `***`.
    pub value: String,
}

/// The Kitaru variables set in `env`, in a fixed order, secrets masked. A
/// variable set to the empty string counts as set: it still overrides.
pub(crate) fn kitaru_variables(env: &dyn Environment) -> Vec<EnvironmentVariable> {
    KITARU_VARIABLES
        .iter()
        .filter_map(|name| {
            env.var(name).map(|value| EnvironmentVariable {
                name: (*name).to_owned(),
                value: masked(name, &value),
            })
        })
        .collect()
}

/// `value` as it may be shown for the variable `name`: unchanged unless the
/// name marks a secret; then at most its first 8 characters (6 for shorter
/// values, none below 6) followed by `***`, enough to tell two keys apart.
fn masked(name: &str, value: &str) -> String {
    let upper = name.to_uppercase();
    if !SECRET_NAME_PARTS.iter().any(|part| upper.contains(part)) {
        return value.to_owned();
    }
    let shown = match value.chars().count() {
        8.. => 8,
        6..=7 => 6,
        _ => 0,
    };
    let prefix: String = value.chars().take(shown).collect();
    format!("{prefix}***")
}

/// What kind of machine the process runs on, as far as the environment tells.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum EnvironmentType {
    /// A Kubernetes pod (`KUBERNETES_SERVICE_HOST` is set).
    Kubernetes,
    /// A GitHub Actions runner (`GITHUB_ACTIONS`).
    GithubActions,
    /// A GitLab CI job (`GITLAB_CI`).
    GitlabCi,
    /// A CircleCI job (`CIRCLECI`).
    Circleci,
    /// A container (`/.dockerenv` exists or `CONTAINER` is set).
    Docker,
    /// None of the above.
    Native,
}

/// The first kind whose marker is present; `dockerenv` says whether
/// `/.dockerenv` exists.
pub(crate) fn environment_type(env: &dyn Environment, dockerenv: bool) -> EnvironmentType {
    let set = |name: &str| env.var(name).is_some_and(|value| !value.is_empty());
    if set("KUBERNETES_SERVICE_HOST") {
        EnvironmentType::Kubernetes
    } else if set("GITHUB_ACTIONS") {
        EnvironmentType::GithubActions
    } else if set("GITLAB_CI") {
        EnvironmentType::GitlabCi
    } else if set("CIRCLECI") {
        EnvironmentType::Circleci
    } else if dockerenv || set("CONTAINER") {
        EnvironmentType::Docker
    } else {
        EnvironmentType::Native
    }
}

/// The operating system and processor the SDK was built for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct SystemInfo {
    /// The operating system, as Rust names it: `linux`, `macos`, `windows`, …
    pub os: String,
    /// The processor architecture: `x86_64`, `aarch64`, …
    pub architecture: String,
}

impl SystemInfo {
    /// The system of this process.
    pub(crate) fn current() -> Self {
        Self {
            os: std::env::consts::OS.to_owned(),
            architecture: std::env::consts::ARCH.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::test_env::env;

    #[test]
    fn secrets_show_at_most_eight_characters() {
        assert_eq!(
            masked("KITARU_AUTH_TOKEN", "ZENKEY_abcdefgh"),
            "ZENKEY_a***"
        );
        assert_eq!(masked("KITARU_AUTH_TOKEN", "12345678"), "12345678***");
        assert_eq!(masked("KITARU_LOG_STORE_API_KEY", "1234567"), "123456***");
        assert_eq!(masked("KITARU_LOG_STORE_API_KEY", "123456"), "123456***");
        assert_eq!(masked("KITARU_LOG_STORE_API_KEY", "12345"), "***");
        assert_eq!(masked("KITARU_LOG_STORE_API_KEY", ""), "***");
    }

    #[test]
    fn secret_names_are_recognised_whatever_their_case() {
        assert_eq!(masked("my_password", "hunter2hunter2"), "hunter2h***");
        assert_eq!(masked("Kitaru_Credentials", "abc"), "***");
    }

    #[test]
    fn other_values_are_shown_as_they_are() {
        assert_eq!(
            masked("KITARU_SERVER_URL", "https://kitaru.example.com"),
            "https://kitaru.example.com"
        );
        assert_eq!(masked("KITARU_PROJECT", "demo"), "demo");
    }

    #[test]
    fn variables_are_listed_in_fixed_order_including_empty_ones() {
        let listed = kitaru_variables(&env(&[
            ("KITARU_ANALYTICS_OPT_IN", "false"),
            ("KITARU_PROJECT", ""),
            ("KITARU_AUTH_TOKEN", "ZENKEY_secret-value"),
            ("KITARU_SERVER_URL", "http://127.0.0.1:8383"),
            ("ZENML_STORE_URL", "http://elsewhere"),
            ("KITARU_UNKNOWN", "x"),
        ]));
        let pairs: Vec<(&str, &str)> = listed
            .iter()
            .map(|v| (v.name.as_str(), v.value.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("KITARU_SERVER_URL", "http://127.0.0.1:8383"),
                ("KITARU_AUTH_TOKEN", "ZENKEY_s***"),
                ("KITARU_PROJECT", ""),
                ("KITARU_ANALYTICS_OPT_IN", "false"),
            ]
        );
    }

    #[test]
    fn kubernetes_wins_over_ci_and_containers() {
        let env = env(&[
            ("KUBERNETES_SERVICE_HOST", "10.0.0.1"),
            ("GITHUB_ACTIONS", "true"),
        ]);
        assert_eq!(environment_type(&env, true), EnvironmentType::Kubernetes);
    }

    #[test]
    fn ci_systems_are_recognised_in_order() {
        let both = env(&[("GITLAB_CI", "true"), ("CIRCLECI", "true")]);
        assert_eq!(environment_type(&both, false), EnvironmentType::GitlabCi);
        let circle = env(&[("CIRCLECI", "true")]);
        assert_eq!(environment_type(&circle, true), EnvironmentType::Circleci);
    }

    #[test]
    fn a_container_is_recognised_by_dockerenv_or_the_container_variable() {
        assert_eq!(environment_type(&env(&[]), true), EnvironmentType::Docker);
        assert_eq!(
            environment_type(&env(&[("CONTAINER", "podman")]), false),
            EnvironmentType::Docker
        );
    }

    #[test]
    fn empty_markers_do_not_count() {
        let env = env(&[("KUBERNETES_SERVICE_HOST", ""), ("CONTAINER", "")]);
        assert_eq!(environment_type(&env, false), EnvironmentType::Native);
    }

    #[test]
    fn environment_types_serialize_as_the_cli_names_them() {
        assert_eq!(
            serde_json::to_value(EnvironmentType::GithubActions).unwrap(),
            "github_actions"
        );
        assert_eq!(
            serde_json::to_value(EnvironmentType::Circleci).unwrap(),
            "circleci"
        );
    }
}
