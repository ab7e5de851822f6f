//! The status report: what the SDK is connected to, as whom, with which
//! project and stack, and where each of those settings came from.
//!
//! Building it never fails: a connection that cannot be resolved, a server
//! that does not answer or a broken file each become a `warning`, and every
//! local fact (files, variables, the local server) is reported whatever the
//! server's state.

use std::path::Path;

use serde::Serialize;

use super::config_files::{ConfigLocations, KitaruConfig, RawConfig};
use super::environment::{self, EnvironmentType, EnvironmentVariable, SystemInfo};
use super::local_server::LocalServer;
use super::log_store;
use super::provenance::{self, SelectionProvenance};
use crate::error::ApiContext;
use crate::{Connector, Error, Program, stacks};
use kitaru_client::connection::{
    ConnectionError, ConnectionOptions, Environment, NotConnectedReason, ProcessEnv,
    ResolvedConnection, Source,
};
use kitaru_client::types::{ProjectResponse, ServerModel, StackResponse, UserResponse};
use kitaru_client::{CliConfigFile, Client, ClientInfo};

const STALE_LOCAL_SERVER: &str = "The configured Kitaru server points to a stopped local server. \
                                  Start it again or run `kitaru logout` to clear the stale connection.";

/// The Kitaru environment as `kitaru status` / `kitaru info --output json`
/// report it, seen from the program using the SDK.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct StatusReport {
    /// The name and version of the program making the report, as its
    /// `Program` says (the reference reports the Kitaru Python SDK's
    /// version here).
    pub sdk_version: String,
    /// What kind of connection is configured.
    pub connection: ConnectionKind,
    /// The server URL, the local database's URL, or `unavailable`.
    pub connection_target: String,
    /// The CLI's global config directory, or `unknown`.
    pub config_directory: String,
    /// The server URL; null for a local database or no connection.
    pub server_url: Option<String>,
    /// The name of the user the server sees.
    pub active_user: Option<String>,
    /// The project set by explicit options or `KITARU_PROJECT`, overriding
    /// the CLI's config.
    pub project_override: Option<String>,
    /// The name of the active stack.
    pub active_stack: Option<String>,
    /// The folder holding the repository's `.kitaru/`.
    pub repository_root: Option<String>,
    /// The server's version.
    pub server_version: Option<String>,
    /// The server's database: `sqlite` or `mysql`.
    pub server_database: Option<String>,
    /// How the server is deployed: `local`, `docker`, `kubernetes`, `cloud`, …
    pub server_deployment_type: Option<String>,
    /// The local server: `not started`, `running at <url> (<provider>)`,
    /// `registered but unavailable (<provider>[: <why>])` or
    /// `unknown (query failed)`.
    pub local_server_status: Option<String>,
    /// Everything worth attention, one per line: why the server could not
    /// be reached or queried, a stale local server, a saved stack or
    /// project that was replaced by another.
    pub warning: Option<String>,
    /// A log-store preference the active stack does not follow.
    pub log_store_status: Option<String>,
    /// What that mismatch means, or why the preference cannot be read.
    pub log_store_warning: Option<String>,
    /// The Kitaru environment variables that are set, secrets masked.
    pub environment: Vec<EnvironmentVariable>,
    /// `kitaru.yaml` in the config directory, if it exists.
    pub kitaru_global_config_path: Option<String>,
    /// `config.yaml` in the config directory, if it exists.
    pub zenml_global_config_path: Option<String>,
    /// `local_stores/` in the config directory, if it exists.
    pub local_stores_path: Option<String>,
    /// The repository's `.kitaru/config.yaml`, if it exists.
    pub repository_config_path: Option<String>,
    /// Whether that file exists.
    pub uses_repo_local_config: bool,
    /// Where the server URL, the credentials and the project come from;
    /// null when the connection cannot be resolved.
    pub connection_sources: Option<SettingSources>,
    /// The name of the active project.
    pub active_project: Option<String>,
    /// Where the active stack comes from, layer by layer (`kitaru_info`
    /// with `all` only).
    pub active_stack_provenance: Option<SelectionProvenance>,
    /// Where the active project comes from, layer by layer (`kitaru_info`
    /// with `all` only).
    pub active_project_provenance: Option<SelectionProvenance>,
    /// The version of the Kitaru Python that runs flow code (run, replay,
    /// the local server), read from its virtualenv without starting it;
    /// null when none is found that way.
    pub python_version: Option<String>,
    /// That interpreter's path (`KITARU_PYTHON`, the project's `.venv`, or
    /// the `kitaru` command's); null as above.
    pub python_executable: Option<String>,
    /// The operating system and processor.
    pub system_info: SystemInfo,
    /// The kind of machine (`kitaru_info` with `all` only).
    pub environment_type: Option<EnvironmentType>,
    /// The ZenML version whose API this SDK speaks with the connected
    /// server: the vendored API document of the server's line (the newest
    /// one when no server answered).
    pub zenml_version: Option<String>,
    /// The Kitaru line of the connected server (`0.10` for ZenML 0.94,
    /// `0.21` for ZenML 0.98): where the lines differ, the SDK follows it.
    pub server_line: Option<String>,
    /// The server API versions this SDK was built from (ZenML versions,
    /// oldest first): it serves each of their servers.
    pub api_versions: Vec<String>,
    /// Always null: there are no Python packages to list.
    pub packages: Option<std::collections::BTreeMap<String, String>>,
}

/// The kind of connection that is configured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub enum ConnectionKind {
    /// The CLI uses a local database, which only the Python client can
    /// open: the SDK has nothing to talk to.
    #[serde(rename = "local database")]
    LocalDatabase,
    /// The local server started by `kitaru login`, and it is running.
    #[serde(rename = "local Kitaru server")]
    LocalServer,
    /// Any other server.
    #[serde(rename = "remote Kitaru server")]
    RemoteServer,
    /// The connection settings are unusable; `warning` says why.
    #[serde(rename = "unavailable")]
    Unavailable,
}

/// Where each connection setting comes from, worded as the CLI words it:
/// `environment (<VARIABLE>)`, `repo-local config (.kitaru/)`,
/// `global config`, or `runtime override (ConnectionOptions)` for settings
/// a program passed explicitly.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct SettingSources {
    /// Where the server URL comes from.
    pub server_url: String,
    /// Where the credentials come from (`global config` also when there
    /// are none, as for a local server).
    pub auth_token: String,
    /// Where the project comes from.
    pub project: String,
}

impl SettingSources {
    fn of(connection: &ResolvedConnection, repository_config: Option<&Path>) -> Self {
        let sources = &connection.sources;
        let project = match &sources.project {
            Some(Source::File(path)) if Some(path.as_path()) == repository_config => {
                REPOSITORY_CONFIG.to_owned()
            }
            Some(source) => source_words(source),
            None if repository_config.is_some_and(Path::exists) => REPOSITORY_CONFIG.to_owned(),
            None => GLOBAL_CONFIG.to_owned(),
        };
        Self {
            server_url: source_words(&sources.server_url),
            auth_token: sources
                .credentials
                .as_ref()
                .map_or_else(|| GLOBAL_CONFIG.to_owned(), source_words),
            project,
        }
    }
}

const GLOBAL_CONFIG: &str = "global config";
const REPOSITORY_CONFIG: &str = "repo-local config (.kitaru/)";

/// A setting's source in the CLI's words; a file is the global config
/// unless the caller knows better.
fn source_words(source: &Source) -> String {
    match source {
        Source::Explicit => "runtime override (ConnectionOptions)".to_owned(),
        Source::Env(var) => format!("environment ({var})"),
        Source::File(_) => GLOBAL_CONFIG.to_owned(),
    }
}

/// What the server says about the connection.
struct ServerFacts {
    info: ServerModel,
    user: UserResponse,
    stack: Option<StackResponse>,
    project: Option<ProjectResponse>,
}

/// Builds the report; `all` adds the provenance of the active stack and
/// project and the environment type.
pub(crate) async fn build(connector: &Connector, all: bool) -> StatusReport {
    let env = ProcessEnv;
    let options = connector.options();
    let files = ConfigLocations::discover(options, &env);
    let (mut stack_provenance, mut project_provenance) = provenance::collect(options, &env, &files);
    let local_server = match &files.config_dir {
        Ok(dir) => LocalServer::probe(dir).await,
        Err(_) => LocalServer::Unreadable,
    };
    let mut report = StatusReport::local(
        connector.program(),
        options,
        &env,
        &files,
        &local_server,
        all,
    );
    let mut warnings = Vec::new();
    let mut active_stack = None;

    match options.resolve(&env) {
        Err(error) => {
            (report.connection, report.connection_target) = unresolved(&error, &files);
            warnings.push(error.to_string());
        }
        Ok(resolved) if local_server.is_stale_url(&resolved.server_url) => {
            // Asking a server known to be down would only add a timeout.
            report.connected_to(&resolved, &local_server, &files);
            warnings.push(STALE_LOCAL_SERVER.to_owned());
        }
        Ok(resolved) => {
            report.connected_to(&resolved, &local_server, &files);
            match server_facts(connector).await {
                Ok(facts) => {
                    report.record(&facts);
                    if let Some(stack) = &facts.stack {
                        stack_provenance.resolved(stack.id.to_string(), stack.name.clone());
                    }
                    if let Some(project) = &facts.project {
                        project_provenance.resolved(project.id.to_string(), project.name.clone());
                    }
                    active_stack = facts.stack;
                }
                Err(error) => {
                    warnings.push(format!("Unable to query the configured store: {error}"));
                    let note = format!(
                        "Querying the server failed: {error}. Raw IDs above were captured \
                         before this failure."
                    );
                    stack_provenance.notes.push(note.clone());
                    project_provenance.notes.push(note);
                }
            }
        }
    }

    (report.log_store_status, report.log_store_warning) =
        log_store_report(&env, &files, active_stack.as_ref());
    warnings.extend(provenance::fallback_warning(
        &stack_provenance,
        &project_provenance,
    ));
    report.warning = (!warnings.is_empty()).then(|| warnings.join("\n"));
    if all {
        report.active_stack_provenance = Some(stack_provenance);
        report.active_project_provenance = Some(project_provenance);
    }
    report
}

impl StatusReport {
    /// What is known without resolving the connection: files, variables,
    /// the local server, the program using the SDK.
    fn local(
        program: &Program,
        options: &ConnectionOptions,
        env: &dyn Environment,
        files: &ConfigLocations,
        local_server: &LocalServer,
        all: bool,
    ) -> Self {
        let repository_config_path = existing(files.repository_config());
        let working_dir = options
            .explicit_working_dir()
            .map(Path::to_path_buf)
            .or_else(|| std::env::current_dir().ok())
            .unwrap_or_default();
        let kitaru_python = crate::bridge::locate_without_running(&working_dir);
        Self {
            sdk_version: program.to_string(),
            connection: ConnectionKind::Unavailable,
            connection_target: "unavailable".to_owned(),
            config_directory: files
                .config_dir
                .as_ref()
                .map_or_else(|_| "unknown".to_owned(), |dir| dir.display().to_string()),
            server_url: None,
            active_user: None,
            project_override: options.explicit_project().map(str::to_owned).or_else(|| {
                env.var("KITARU_PROJECT")
                    .filter(|project| !project.trim().is_empty())
            }),
            active_stack: None,
            repository_root: files
                .repository_root
                .as_ref()
                .map(|root| root.display().to_string()),
            server_version: None,
            server_database: None,
            server_deployment_type: None,
            local_server_status: Some(local_server.describe()),
            warning: None,
            log_store_status: None,
            log_store_warning: None,
            environment: environment::kitaru_variables(env),
            kitaru_global_config_path: existing(files.kitaru_config()),
            zenml_global_config_path: existing(files.global_config()),
            local_stores_path: existing(files.local_stores()),
            uses_repo_local_config: repository_config_path.is_some(),
            repository_config_path,
            connection_sources: None,
            active_project: None,
            active_stack_provenance: None,
            active_project_provenance: None,
            python_version: kitaru_python.as_ref().map(|(_, version)| version.clone()),
            python_executable: kitaru_python.map(|(path, _)| path.display().to_string()),
            system_info: SystemInfo::current(),
            environment_type: all
                .then(|| environment::environment_type(env, Path::new("/.dockerenv").exists())),
            zenml_version: Some(Client::api_version().to_owned()),
            server_line: None,
            api_versions: kitaru_client::operations::SERVER_VERSIONS
                .iter()
                .map(|version| (*version).to_owned())
                .collect(),
            packages: None,
        }
    }

    /// The resolved connection: which server, and where its settings came
    /// from.
    fn connected_to(
        &mut self,
        connection: &ResolvedConnection,
        local_server: &LocalServer,
        files: &ConfigLocations,
    ) {
        let url = &connection.server_url;
        self.connection = if local_server.running_url() == Some(url.as_str()) {
            ConnectionKind::LocalServer
        } else {
            ConnectionKind::RemoteServer
        };
        self.connection_target = url.clone();
        self.server_url = Some(url.clone());
        self.connection_sources = Some(SettingSources::of(
            connection,
            files.repository_config().as_ref().map(CliConfigFile::path),
        ));
    }

    /// What the server said.
    fn record(&mut self, facts: &ServerFacts) {
        self.active_user = Some(facts.user.name.clone());
        self.server_version = Some(facts.info.version.clone());
        let line = crate::ServerLine::of(&facts.info.version);
        self.server_line = Some(line.kitaru().to_owned());
        self.zenml_version = Some(line.zenml().to_owned());
        self.server_database = facts.info.database_type.as_ref().map(ToString::to_string);
        self.server_deployment_type = facts.info.deployment_type.as_ref().map(ToString::to_string);
        self.active_stack = facts.stack.as_ref().map(|stack| stack.name.clone());
        self.active_project = facts.project.as_ref().map(|project| project.name.clone());
    }
}

/// The path of a file or folder that exists.
fn existing(path: Option<impl AsRef<Path>>) -> Option<String> {
    path.filter(|path| path.as_ref().exists())
        .map(|path| path.as_ref().display().to_string())
}

/// `log_store_status` and `log_store_warning`: a preference the active
/// stack does not follow, or why the preference cannot be read.
fn log_store_report(
    env: &dyn Environment,
    files: &ConfigLocations,
    active_stack: Option<&StackResponse>,
) -> (Option<String>, Option<String>) {
    let kitaru_config = files
        .kitaru_config()
        .map_or(Ok(None), |file| KitaruConfig::read(&file).map(Some));
    let file_setting = kitaru_config
        .as_ref()
        .map(|config| config.as_ref().and_then(|config| config.log_store.as_ref()))
        .map_err(String::as_str);
    match log_store::preferred_backend(env, file_setting) {
        Err(reason) => (
            None,
            Some(format!(
                "Unable to resolve Kitaru log-store preference: {reason}"
            )),
        ),
        Ok(preferred) => preferred
            .zip(active_stack)
            .and_then(|(preferred, stack)| log_store::mismatch(&preferred, stack))
            .map_or((None, None), |mismatch| {
                (Some(mismatch.status), Some(mismatch.warning))
            }),
    }
}

/// The connection kind and target when the connection cannot be resolved:
/// a CLI without a server uses a local database (which the SDK cannot
/// open); anything else is unusable.
fn unresolved(error: &ConnectionError, files: &ConfigLocations) -> (ConnectionKind, String) {
    let ConnectionError::NotConnected { reason } = error else {
        return (ConnectionKind::Unavailable, "unavailable".to_owned());
    };
    let written = match reason {
        NotConnectedReason::LocalStore { path, .. } => {
            RawConfig::read(&CliConfigFile::at(path)).0.store_url()
        }
        _ => None,
    };
    let target = written
        .or_else(|| files.default_database_url())
        .unwrap_or_else(|| "unavailable".to_owned());
    (ConnectionKind::LocalDatabase, target)
}

/// Asks the server who we are, what it is, and which stack and project
/// are active.
async fn server_facts(connector: &Connector) -> Result<ServerFacts, Error> {
    let kitaru = &*connector.get().await?;
    let client = &kitaru.client;
    let (info, user, all_stacks) = tokio::try_join!(
        async {
            client
                .server_info()
                .send()
                .await
                .context("Failed to read the server's info")
        },
        async {
            client
                .get_current_user()
                .send()
                .await
                .context("Failed to read the current user")
        },
        stacks::all(kitaru),
    )?;
    let stack = stacks::active(&all_stacks, kitaru.connection.stack.as_deref()).cloned();
    let user = user.into_inner();
    let project = kitaru
        .active_project()
        .await
        .inspect_err(|error| tracing::debug!("cannot tell the active project: {error}"))
        .ok();
    Ok(ServerFacts {
        info: info.into_inner(),
        user,
        stack,
        project,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::test_env::env;

    fn resolve(
        options: ConnectionOptions,
        pairs: &[(&str, &str)],
    ) -> (ResolvedConnection, ConfigLocations) {
        let env = env(pairs);
        let files = ConfigLocations::discover(&options, &env);
        (options.resolve(&env).unwrap(), files)
    }

    fn machine(repository: &str) -> (tempfile::TempDir, ConnectionOptions) {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config");
        std::fs::create_dir_all(&config).unwrap();
        std::fs::write(
            config.join("config.yaml"),
            "active_project_id: p-global\nstore: {type: rest, url: 'http://127.0.0.1:8383/'}\n",
        )
        .unwrap();
        let project = dir.path().join("project");
        std::fs::create_dir_all(project.join(".kitaru")).unwrap();
        std::fs::write(project.join(".kitaru/config.yaml"), repository).unwrap();
        let options = ConnectionOptions::new()
            .config_dir(config)
            .working_dir(project);
        (dir, options)
    }

    fn sources(options: ConnectionOptions, pairs: &[(&str, &str)]) -> SettingSources {
        let (resolved, files) = resolve(options, pairs);
        SettingSources::of(
            &resolved,
            files.repository_config().as_ref().map(CliConfigFile::path),
        )
    }

    #[test]
    fn a_cli_login_reads_as_global_and_repository_config() {
        let (_dir, options) = machine("active_project_id: p-repo\n");
        assert_eq!(
            sources(options, &[]),
            SettingSources {
                server_url: "global config".into(),
                auth_token: "global config".into(),
                project: "repo-local config (.kitaru/)".into(),
            }
        );
    }

    #[test]
    fn a_project_from_the_global_config_reads_as_global_even_in_a_repository() {
        let (_dir, options) = machine("");
        assert_eq!(sources(options, &[]).project, "global config");
    }

    #[test]
    fn with_no_project_anywhere_a_repository_config_is_named_as_the_source() {
        let (dir, options) = machine("");
        std::fs::write(
            dir.path().join("config/config.yaml"),
            "store: {type: rest, url: 'http://127.0.0.1:8383'}\n",
        )
        .unwrap();
        assert_eq!(
            sources(options, &[]).project,
            "repo-local config (.kitaru/)"
        );
    }

    #[test]
    fn environment_settings_name_their_variable() {
        let (_dir, options) = machine("");
        let found = sources(
            options,
            &[
                ("KITARU_SERVER_URL", "https://kitaru.example.com"),
                ("KITARU_AUTH_TOKEN", "ZENKEY_x"),
                ("ZENML_ACTIVE_PROJECT_ID", "demo"),
            ],
        );
        assert_eq!(
            found,
            SettingSources {
                server_url: "environment (KITARU_SERVER_URL)".into(),
                auth_token: "environment (KITARU_AUTH_TOKEN)".into(),
                project: "environment (ZENML_ACTIVE_PROJECT_ID)".into(),
            }
        );
    }

    #[test]
    fn explicit_options_read_as_a_runtime_override() {
        let (_dir, options) = machine("");
        let found = sources(
            options
                .server_url("https://kitaru.example.com")
                .api_key("k")
                .project("demo"),
            &[],
        );
        assert_eq!(found.server_url, "runtime override (ConnectionOptions)");
        assert_eq!(found.auth_token, "runtime override (ConnectionOptions)");
        assert_eq!(found.project, "runtime override (ConnectionOptions)");
    }

    #[test]
    fn a_local_database_is_reported_with_its_url() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("config.yaml"),
            "store: {type: sql, url: 'sqlite:////data/zenml.db'}\n",
        )
        .unwrap();
        let options = ConnectionOptions::new()
            .config_dir(dir.path())
            .working_dir(dir.path());
        let env = env(&[]);
        let files = ConfigLocations::discover(&options, &env);
        let error = options.resolve(&env).unwrap_err();
        assert_eq!(
            unresolved(&error, &files),
            (
                ConnectionKind::LocalDatabase,
                "sqlite:////data/zenml.db".to_owned()
            )
        );

        let empty = tempfile::tempdir().unwrap();
        let options = options.config_dir(empty.path());
        let files = ConfigLocations::discover(&options, &env);
        let error = options.resolve(&env).unwrap_err();
        let (kind, target) = unresolved(&error, &files);
        assert_eq!(kind, ConnectionKind::LocalDatabase);
        assert!(
            target.starts_with("sqlite:///") && target.ends_with("zenml.db"),
            "{target}"
        );
    }

    #[test]
    fn other_resolution_failures_are_unavailable() {
        let (_dir, options) = machine("");
        let env = env(&[("KITARU_SERVER_URL", "https://kitaru.example.com")]);
        let files = ConfigLocations::discover(&options, &env);
        let error = options.resolve(&env).unwrap_err();
        assert_eq!(
            unresolved(&error, &files),
            (ConnectionKind::Unavailable, "unavailable".to_owned())
        );
    }

    #[test]
    fn connection_kinds_serialize_as_the_cli_names_them() {
        assert_eq!(
            serde_json::to_value(ConnectionKind::LocalServer).unwrap(),
            "local Kitaru server"
        );
        assert_eq!(
            serde_json::to_value(ConnectionKind::LocalDatabase).unwrap(),
            "local database"
        );
    }
}
