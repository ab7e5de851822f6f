//! The resolution itself: layer by layer, each setting from the first layer
//! that has it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::env::{self, EnvView, Environment};
use super::files::{
    self, ConfigFile, CredentialsFile, ServerCredentials, StoreSection, VerifySslSetting, non_blank,
};
use super::url::normalize_server_url;
use super::{
    ConnectionError, ConnectionOptions, ConnectionSources, NotConnectedReason, ResolvedConnection,
    Secret, Source, VerifySsl,
};
use crate::cli_config::CliConfigFile;
use crate::session::{ApiToken, Credentials};

/// The server's default when neither the environment nor the config sets one.
const DEFAULT_HTTP_TIMEOUT: Duration = Duration::from_secs(30);

/// Requests under way at once to a server on a loopback address (one Python
/// process; see [`ResolvedConnection::max_concurrent_requests`]) and to any
/// other.
const LOCAL_MAX_CONCURRENT_REQUESTS: usize = 1;
const REMOTE_MAX_CONCURRENT_REQUESTS: usize = 8;

/// A config file that was found, with its path for reporting.
struct Located<T> {
    path: PathBuf,
    file: T,
}

pub(crate) fn resolve(
    options: &ConnectionOptions,
    env: &dyn Environment,
) -> Result<ResolvedConnection, ConnectionError> {
    let env = EnvView::new(env);
    if env.raw(env::KITARU_RUNNER).is_some() {
        return Err(ConnectionError::RunnerRenamed);
    }
    let mut warnings = Vec::new();
    let working_dir = match &options.working_dir {
        Some(dir) => dir.clone(),
        None => std::env::current_dir().map_err(ConnectionError::WorkingDir)?,
    };

    let (config_dir, config_dir_source) =
        files::config_dir_in(options, &env, &working_dir, &mut warnings)?;
    let global = read_located::<ConfigFile>(CliConfigFile::global(&config_dir))?;
    let repository_root = files::find_repository_in(&env, &working_dir);
    let repository = match &repository_root {
        Some(root) => read_located::<ConfigFile>(CliConfigFile::repository(root))?,
        None => None,
    };

    let env_credentials = env_credentials(&env, &mut warnings)?;
    let (server_url, server_source) = server_url(
        options,
        &env,
        &config_dir,
        global.as_ref(),
        env_credentials.as_ref(),
        &mut warnings,
    )?;
    // The store settings in the file describe the file's server only: a URL
    // from elsewhere starts from a fresh store, as the CLI does.
    let file_store = match server_source {
        Source::File(_) => global.as_ref().and_then(|global| {
            global.file.store.as_ref().map(|store| Located {
                path: global.path.clone(),
                file: store,
            })
        }),
        Source::Explicit | Source::Env(_) => None,
    };

    let verify_ssl = verify_ssl(options, &env, file_store.as_ref(), &working_dir)?;
    let http_timeout = http_timeout(options, &env, file_store.as_ref())?;
    let max_concurrent_requests = max_concurrent_requests(options, &env, &server_url)?;

    let stored_credentials = if env.flag(env::ZENML_DISABLE_CREDENTIALS_DISK_CACHING) {
        None
    } else {
        read_located::<CredentialsFile>(CliConfigFile::credentials(&config_dir))?
    };
    let server_entry = stored_credentials.as_ref().and_then(|stored| {
        stored.file.server(&server_url).map(|entry| Located {
            path: stored.path.clone(),
            file: entry,
        })
    });
    let (credentials, credentials_source) = credentials(
        options,
        env_credentials,
        file_store.as_ref(),
        server_entry.as_ref(),
    )?;
    let cached_token = match &server_entry {
        Some(entry) => entry.file.token_for(&credentials, &entry.path)?,
        None => None,
    };

    let (project, project_source) = project(
        options,
        &env,
        repository.as_ref(),
        global.as_ref(),
        &mut warnings,
    )?;
    let (stack, stack_source) = stack(options, &env, repository.as_ref(), global.as_ref())?;

    if let Source::Env(var) = server_source {
        if credentials.is_none() {
            return Err(ConnectionError::ServerUrlWithoutCredentials { var });
        }
        if !matches!(project_source, Some(Source::Explicit | Source::Env(_))) {
            return Err(ConnectionError::ProjectRequired { var });
        }
    }

    Ok(ResolvedConnection {
        server_url,
        verify_ssl,
        http_timeout,
        max_concurrent_requests,
        credentials,
        cached_token,
        project,
        stack,
        config_dir,
        repository_root,
        sources: ConnectionSources {
            server_url: server_source,
            credentials: credentials_source,
            project: project_source,
            stack: stack_source,
            config_dir: config_dir_source,
        },
        warnings,
    })
}

fn read_located<T: serde::de::DeserializeOwned + Default>(
    file: CliConfigFile,
) -> Result<Option<Located<T>>, ConnectionError> {
    Ok(file.read()?.map(|read| Located {
        path: file.path().to_owned(),
        file: read,
    }))
}

/// Credentials from the environment, in the order the server client tries
/// them: a bare token, an API key, a username and password. Returns the
/// variable they came from.
fn env_credentials(
    env: &EnvView<'_>,
    warnings: &mut Vec<String>,
) -> Result<Option<(Credentials, &'static str)>, ConnectionError> {
    let api_key = env.kitaru_over_zenml(env::KITARU_AUTH_TOKEN, env::ZENML_STORE_API_KEY, warnings);
    if let Some(token) = env.non_blank(env::ZENML_STORE_API_TOKEN) {
        let token = ApiToken {
            access_token: Secret::new(token.value),
            expires_at: None,
        };
        return Ok(Some((
            Credentials::Token(token),
            env::ZENML_STORE_API_TOKEN,
        )));
    }
    if let Some(key) = api_key {
        let value = non_empty(key.value, "API key", Source::Env(key.var))?;
        return Ok(Some((Credentials::ApiKey(Secret::new(value)), key.var)));
    }
    // A password is taken verbatim: an empty one is valid (a local server's
    // default user has one).
    match (
        env.non_blank(env::ZENML_STORE_USERNAME),
        env.raw(env::ZENML_STORE_PASSWORD),
    ) {
        (Some(username), Some(password)) => Ok(Some((
            Credentials::Password {
                username: username.value,
                password: Secret::new(password.value),
            },
            env::ZENML_STORE_USERNAME_PASSWORD,
        ))),
        (Some(_), None) => Err(ConnectionError::IncompletePassword {
            set: env::ZENML_STORE_USERNAME,
            missing: env::ZENML_STORE_PASSWORD,
        }),
        (None, Some(_)) => Err(ConnectionError::IncompletePassword {
            set: env::ZENML_STORE_PASSWORD,
            missing: env::ZENML_STORE_USERNAME,
        }),
        (None, None) => Ok(None),
    }
}

/// Options, then the environment, then credentials left in the global
/// config's store section, then the server's entry in `credentials.yaml`.
fn credentials(
    options: &ConnectionOptions,
    env_credentials: Option<(Credentials, &'static str)>,
    file_store: Option<&Located<&StoreSection>>,
    server_entry: Option<&Located<&ServerCredentials>>,
) -> Result<(Credentials, Option<Source>), ConnectionError> {
    let found = match (&options.credentials, env_credentials) {
        (Some(explicit), _) => Some((explicit.clone(), Source::Explicit)),
        (None, Some((credentials, var))) => Some((credentials, Source::Env(var))),
        (None, None) => {
            match file_store.and_then(|store| store.file.credentials().map(|c| (c, store))) {
                Some((credentials, store)) => Some((credentials, Source::File(store.path.clone()))),
                None => match server_entry {
                    Some(entry) => entry
                        .file
                        .credentials(&entry.path)?
                        .map(|credentials| (credentials, Source::File(entry.path.clone()))),
                    None => None,
                },
            }
        }
    };
    Ok(match found {
        Some((credentials, source)) => (credentials, Some(source)),
        None => (Credentials::None, None),
    })
}

/// Options, then `KITARU_SERVER_URL`, then `ZENML_STORE_URL`, then the
/// global config's REST store. Without any of them there is nothing to
/// connect to.
fn server_url(
    options: &ConnectionOptions,
    env: &EnvView<'_>,
    config_dir: &Path,
    global: Option<&Located<ConfigFile>>,
    env_credentials: Option<&(Credentials, &'static str)>,
    warnings: &mut Vec<String>,
) -> Result<(String, Source), ConnectionError> {
    if let Some(url) = &options.server_url {
        return Ok((
            normalize_server_url(url, Source::Explicit)?,
            Source::Explicit,
        ));
    }
    if let Some(found) =
        env.kitaru_over_zenml(env::KITARU_SERVER_URL, env::ZENML_STORE_URL, warnings)
    {
        let source = Source::Env(found.var);
        return Ok((normalize_server_url(&found.value, source.clone())?, source));
    }
    let rest_url = match global {
        None => Err(NotConnectedReason::NoConfigFile(
            CliConfigFile::global(config_dir).path().to_owned(),
        )),
        Some(global) => rest_store_url(&global.path, global.file.store.as_ref()),
    };
    match rest_url {
        Ok((url, path)) => {
            let source = Source::File(path);
            Ok((normalize_server_url(url, source.clone())?, source))
        }
        Err(reason) => Err(match env_credentials {
            Some((_, var)) => ConnectionError::CredentialsWithoutServerUrl { var },
            None => ConnectionError::NotConnected { reason },
        }),
    }
}

/// The URL of the store in the global config, if it is a REST store (a
/// server); the CLI infers the type from the URL when none is written.
fn rest_store_url<'a>(
    path: &Path,
    store: Option<&'a StoreSection>,
) -> Result<(&'a str, PathBuf), NotConnectedReason> {
    let Some(store) = store else {
        return Err(NotConnectedReason::NoStore(path.to_owned()));
    };
    let url = store.url.as_deref().unwrap_or_default();
    let store_type = match store.store_type.as_deref() {
        Some(written) => written.to_owned(),
        None if url.trim_start().starts_with("http://")
            || url.trim_start().starts_with("https://") =>
        {
            "rest".to_owned()
        }
        None => "sql".to_owned(),
    };
    if store_type == "rest" {
        Ok((url, path.to_owned()))
    } else {
        Err(NotConnectedReason::LocalStore {
            path: path.to_owned(),
            store_type,
        })
    }
}

fn verify_ssl(
    options: &ConnectionOptions,
    env: &EnvView<'_>,
    file_store: Option<&Located<&StoreSection>>,
    working_dir: &Path,
) -> Result<VerifySsl, ConnectionError> {
    if let Some(explicit) = &options.verify_ssl {
        return Ok(explicit.clone());
    }
    if let Some(found) = env.non_blank(env::ZENML_STORE_VERIFY_SSL) {
        return parse_verify_ssl(&found.value, Source::Env(found.var), working_dir);
    }
    match file_store.and_then(|store| {
        store
            .file
            .verify_ssl
            .as_ref()
            .map(|setting| (store, setting))
    }) {
        None => Ok(VerifySsl::default()),
        Some((_, VerifySslSetting::Flag(true))) => Ok(VerifySsl::Enabled),
        Some((_, VerifySslSetting::Flag(false))) => Ok(VerifySsl::Disabled),
        Some((store, VerifySslSetting::Text(text))) => {
            parse_verify_ssl(text, Source::File(store.path.clone()), working_dir)
        }
    }
}

/// A boolean, or the path of a CA bundle file.
fn parse_verify_ssl(
    text: &str,
    from: Source,
    working_dir: &Path,
) -> Result<VerifySsl, ConnectionError> {
    match env::parse_bool(text) {
        Some(true) => Ok(VerifySsl::Enabled),
        Some(false) => Ok(VerifySsl::Disabled),
        None => {
            let path = working_dir.join(text.trim());
            if path.is_file() {
                Ok(VerifySsl::CaBundle(path))
            } else {
                Err(ConnectionError::InvalidValue {
                    what: "TLS verification setting",
                    from,
                    value: text.to_owned(),
                    expected: "true, false, or the path of an existing CA bundle file",
                })
            }
        }
    }
}

fn http_timeout(
    options: &ConnectionOptions,
    env: &EnvView<'_>,
    file_store: Option<&Located<&StoreSection>>,
) -> Result<Duration, ConnectionError> {
    const EXPECTED: &str = "a whole number of seconds greater than 0";
    if let Some(explicit) = options.http_timeout {
        return Ok(explicit);
    }
    if let Some(found) = env.non_blank(env::ZENML_STORE_HTTP_TIMEOUT) {
        return match found.value.parse::<u64>() {
            Ok(seconds) if seconds > 0 => Ok(Duration::from_secs(seconds)),
            _ => Err(ConnectionError::InvalidValue {
                what: "HTTP timeout",
                from: Source::Env(found.var),
                value: found.value,
                expected: EXPECTED,
            }),
        };
    }
    match file_store.and_then(|store| store.file.http_timeout.map(|seconds| (store, seconds))) {
        None => Ok(DEFAULT_HTTP_TIMEOUT),
        Some((_, seconds)) if seconds > 0 => Ok(Duration::from_secs(seconds)),
        Some((store, seconds)) => Err(ConnectionError::InvalidValue {
            what: "HTTP timeout",
            from: Source::File(store.path.clone()),
            value: seconds.to_string(),
            expected: EXPECTED,
        }),
    }
}

fn max_concurrent_requests(
    options: &ConnectionOptions,
    env: &EnvView<'_>,
    server_url: &str,
) -> Result<usize, ConnectionError> {
    if let Some(explicit) = options.max_concurrent_requests {
        return Ok(explicit);
    }
    if let Some(found) = env.non_blank(env::KITARU_MAX_CONCURRENT_REQUESTS) {
        return match found.value.parse::<usize>() {
            Ok(limit) if limit > 0 => Ok(limit),
            _ => Err(ConnectionError::InvalidValue {
                what: "number of concurrent requests",
                from: Source::Env(found.var),
                value: found.value,
                expected: "a whole number greater than 0",
            }),
        };
    }
    Ok(if is_loopback(server_url) {
        LOCAL_MAX_CONCURRENT_REQUESTS
    } else {
        REMOTE_MAX_CONCURRENT_REQUESTS
    })
}

/// Whether the URL's host is this machine: `localhost` or a loopback address.
fn is_loopback(server_url: &str) -> bool {
    match url::Url::parse(server_url)
        .ok()
        .and_then(|url| url.host().map(|host| host.to_owned()))
    {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(address)) => address.is_loopback(),
        Some(url::Host::Ipv6(address)) => address.is_loopback(),
        None => false,
    }
}

/// Options, then `KITARU_PROJECT`, then `ZENML_ACTIVE_PROJECT_ID`, then the
/// repository's config, then the global config.
fn project(
    options: &ConnectionOptions,
    env: &EnvView<'_>,
    repository: Option<&Located<ConfigFile>>,
    global: Option<&Located<ConfigFile>>,
    warnings: &mut Vec<String>,
) -> Result<(Option<String>, Option<Source>), ConnectionError> {
    if let Some(explicit) = &options.project {
        return Ok((
            Some(non_empty(explicit.clone(), "project", Source::Explicit)?),
            Some(Source::Explicit),
        ));
    }
    if let Some(found) =
        env.kitaru_over_zenml(env::KITARU_PROJECT, env::ZENML_ACTIVE_PROJECT_ID, warnings)
    {
        let source = Source::Env(found.var);
        return Ok((
            Some(non_empty(found.value, "project", source.clone())?),
            Some(source),
        ));
    }
    Ok(from_config_files(repository, global, |file| {
        &file.active_project_id
    }))
}

/// Options, then `ZENML_ACTIVE_STACK_ID`, then the repository's config, then
/// the global config. (`KITARU_STACK` only picks where a run executes; it
/// does not change the active stack.)
fn stack(
    options: &ConnectionOptions,
    env: &EnvView<'_>,
    repository: Option<&Located<ConfigFile>>,
    global: Option<&Located<ConfigFile>>,
) -> Result<(Option<String>, Option<Source>), ConnectionError> {
    if let Some(explicit) = &options.stack {
        return Ok((
            Some(non_empty(explicit.clone(), "stack", Source::Explicit)?),
            Some(Source::Explicit),
        ));
    }
    if let Some(found) = env.non_blank(env::ZENML_ACTIVE_STACK_ID) {
        return Ok((Some(found.value), Some(Source::Env(found.var))));
    }
    Ok(from_config_files(repository, global, |file| {
        &file.active_stack_id
    }))
}

/// The first non-blank value of `field` in the repository's config, then in
/// the global one.
fn from_config_files(
    repository: Option<&Located<ConfigFile>>,
    global: Option<&Located<ConfigFile>>,
    field: impl Fn(&ConfigFile) -> &Option<String>,
) -> (Option<String>, Option<Source>) {
    [repository, global]
        .into_iter()
        .flatten()
        .find_map(|located| {
            let value = non_blank(field(&located.file).as_deref())?;
            Some((
                Some(value.to_owned()),
                Some(Source::File(located.path.clone())),
            ))
        })
        .unwrap_or((None, None))
}

fn non_empty(value: String, what: &'static str, from: Source) -> Result<String, ConnectionError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        Err(ConnectionError::Empty { what, from })
    } else {
        Ok(trimmed.to_owned())
    }
}
