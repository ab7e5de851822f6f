//! The Kitaru CLI's config files: where they live and what they hold.
//!
//! The shapes follow what the CLI (ZenML underneath) writes: the global
//! `config.yaml` and `credentials.yaml` in the config directory, and a
//! repository's `.kitaru/config.yaml`. Unknown keys are ignored, as the CLI
//! ignores them, so newer CLI versions keep working.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use serde::Deserialize;

use super::env::{self, EnvView, Environment};
use super::{ConnectionError, ConnectionOptions, Secret, Source};
use crate::cli_config::REPOSITORY_DIR;
use crate::session::{ApiToken, Credentials};

/// `config.yaml`, global or repository-local (the latter has no `store`).
#[derive(Default, Deserialize)]
pub(crate) struct ConfigFile {
    pub(crate) store: Option<StoreSection>,
    pub(crate) active_project_id: Option<String>,
    pub(crate) active_stack_id: Option<String>,
}

/// The `store` section of the global `config.yaml`.
///
/// Credentials normally live in `credentials.yaml`; they appear here only
/// when written by hand, and the CLI moves them out on its next start.
#[derive(Deserialize)]
pub(crate) struct StoreSection {
    #[serde(rename = "type")]
    pub(crate) store_type: Option<String>,
    pub(crate) url: Option<String>,
    pub(crate) verify_ssl: Option<VerifySslSetting>,
    pub(crate) http_timeout: Option<u64>,
    api_key: Option<String>,
    api_token: Option<String>,
    username: Option<String>,
    password: Option<String>,
}

/// `verify_ssl` as written: a boolean, or the path of a CA bundle.
#[derive(Deserialize)]
#[serde(untagged)]
pub(crate) enum VerifySslSetting {
    Flag(bool),
    Text(String),
}

impl StoreSection {
    /// The credentials written in the store section, in the order the
    /// server client tries them: bare token, API key, username and password.
    pub(crate) fn credentials(&self) -> Option<Credentials> {
        if let Some(token) = non_blank(self.api_token.as_deref()) {
            return Some(Credentials::Token(ApiToken {
                access_token: Secret::new(token),
                expires_at: None,
            }));
        }
        long_lived_credentials(&self.api_key, &self.username, &self.password)
    }
}

/// `credentials.yaml`: one entry per server, keyed by the server URL.
#[derive(Default, Deserialize)]
#[serde(transparent)]
pub(crate) struct CredentialsFile {
    servers: BTreeMap<String, ServerCredentials>,
}

/// One server's entry in `credentials.yaml`. Besides credentials the CLI
/// keeps server facts there (id, name, version, …), which are not needed.
#[derive(Deserialize)]
pub(crate) struct ServerCredentials {
    url: Option<String>,
    api_key: Option<String>,
    username: Option<String>,
    password: Option<String>,
    api_token: Option<TokenEntry>,
}

/// A token cached in `credentials.yaml`.
#[derive(Deserialize)]
struct TokenEntry {
    access_token: Option<String>,
    /// ISO 8601, UTC; absent for a token that never expires.
    expires_at: Option<String>,
    /// Seconds before `expires_at` from which the token counts as expired.
    leeway: Option<i64>,
}

impl CredentialsFile {
    /// The entry for `server_url`: the one keyed by it, else one whose `url`
    /// is it, ignoring trailing slashes on either side.
    pub(crate) fn server(&self, server_url: &str) -> Option<&ServerCredentials> {
        let same = |candidate: &str| candidate.trim_end_matches('/') == server_url;
        self.servers
            .iter()
            .find(|(key, _)| same(key))
            .or_else(|| {
                self.servers
                    .iter()
                    .find(|(_, entry)| entry.url.as_deref().is_some_and(same))
            })
            .map(|(_, entry)| entry)
    }
}

impl ServerCredentials {
    /// The long-lived credentials of this entry (API key, then username and
    /// password), else its token.
    pub(crate) fn credentials(&self, path: &Path) -> Result<Option<Credentials>, ConnectionError> {
        match long_lived_credentials(&self.api_key, &self.username, &self.password) {
            Some(credentials) => Ok(Some(credentials)),
            None => Ok(self.token(path)?.map(Credentials::Token)),
        }
    }

    /// The cached token, if it was issued for `credentials`: the CLI drops a
    /// server's token whenever its key or password changes, so a token next
    /// to the same key or password belongs to it.
    pub(crate) fn token_for(
        &self,
        credentials: &Credentials,
        path: &Path,
    ) -> Result<Option<ApiToken>, ConnectionError> {
        let issued_for_these = match credentials {
            Credentials::ApiKey(key) => non_blank(self.api_key.as_deref()) == Some(key.expose()),
            Credentials::Password { username, password } => {
                non_blank(self.username.as_deref()) == Some(username.as_str())
                    && self.password.as_deref() == Some(password.expose())
            }
            Credentials::None | Credentials::Token(_) => false,
        };
        if issued_for_these {
            self.token(path)
        } else {
            Ok(None)
        }
    }

    fn token(&self, path: &Path) -> Result<Option<ApiToken>, ConnectionError> {
        let Some(entry) = &self.api_token else {
            return Ok(None);
        };
        let Some(access_token) = non_blank(entry.access_token.as_deref()) else {
            return Ok(None);
        };
        let expires_at = match non_blank(entry.expires_at.as_deref()) {
            None => None,
            Some(text) => {
                let expires_at = parse_utc(text).ok_or_else(|| ConnectionError::InvalidValue {
                    what: "token expiry (api_token.expires_at)",
                    from: Source::File(path.to_owned()),
                    value: text.to_owned(),
                    expected: "an ISO 8601 date and time",
                })?;
                let leeway = TimeDelta::seconds(entry.leeway.unwrap_or(0).max(0));
                Some(expires_at - leeway)
            }
        };
        Ok(Some(ApiToken {
            access_token: Secret::new(access_token),
            expires_at,
        }))
    }
}

/// The repository root: `ZENML_REPOSITORY_PATH` if set (only that folder is
/// checked), else the nearest folder holding `.kitaru/`, walking up from
/// `working_dir`.
pub fn find_repository(env: &dyn Environment, working_dir: &Path) -> Option<PathBuf> {
    find_repository_in(&EnvView::new(env), working_dir)
}

pub(crate) fn find_repository_in(env: &EnvView<'_>, working_dir: &Path) -> Option<PathBuf> {
    let is_root = |dir: &Path| dir.join(REPOSITORY_DIR).is_dir();
    match env.non_blank(env::ZENML_REPOSITORY_PATH) {
        Some(explicit) => Some(working_dir.join(explicit.value)).filter(|dir| is_root(dir)),
        None => working_dir
            .ancestors()
            .find(|dir| is_root(dir))
            .map(Path::to_owned),
    }
}

/// The CLI's global config directory and what chose it: the options, then
/// `KITARU_CONFIG_PATH`, then `ZENML_CONFIG_PATH` (blank ones count as
/// unset; a relative path is taken from `working_dir`), then the platform
/// default (`None` as the source). Two different variables are reported in
/// `warnings`.
pub fn config_dir(
    options: &ConnectionOptions,
    env: &dyn Environment,
    working_dir: &Path,
    warnings: &mut Vec<String>,
) -> Result<(PathBuf, Option<Source>), ConnectionError> {
    config_dir_in(options, &EnvView::new(env), working_dir, warnings)
}

pub(crate) fn config_dir_in(
    options: &ConnectionOptions,
    env: &EnvView<'_>,
    working_dir: &Path,
    warnings: &mut Vec<String>,
) -> Result<(PathBuf, Option<Source>), ConnectionError> {
    if let Some(dir) = &options.config_dir {
        return Ok((working_dir.join(dir), Some(Source::Explicit)));
    }
    match env.kitaru_over_zenml(env::KITARU_CONFIG_PATH, env::ZENML_CONFIG_PATH, warnings) {
        Some(found) if !found.value.is_empty() => {
            Ok((working_dir.join(found.value), Some(Source::Env(found.var))))
        }
        _ => Ok((default_config_dir(env)?, None)),
    }
}

/// The platform's config directory for `kitaru`, where the CLI keeps its
/// files unless `KITARU_CONFIG_PATH` or `ZENML_CONFIG_PATH` says otherwise.
fn default_config_dir(env: &EnvView<'_>) -> Result<PathBuf, ConnectionError> {
    let home = || {
        env.non_blank(env::HOME)
            .map(|home| PathBuf::from(home.value))
            .ok_or(ConnectionError::UnknownConfigDir { var: env::HOME })
    };
    let base = if cfg!(target_os = "macos") {
        home()?.join("Library").join("Application Support")
    } else if cfg!(windows) {
        match env.non_blank(env::APPDATA) {
            Some(appdata) => PathBuf::from(appdata.value),
            None => home()?,
        }
    } else {
        match env.non_blank(env::XDG_CONFIG_HOME) {
            Some(xdg) => PathBuf::from(xdg.value),
            None => home()?.join(".config"),
        }
    };
    Ok(base.join("kitaru"))
}

/// An API key, else a username and password (the password taken verbatim:
/// it may be empty).
fn long_lived_credentials(
    api_key: &Option<String>,
    username: &Option<String>,
    password: &Option<String>,
) -> Option<Credentials> {
    if let Some(key) = non_blank(api_key.as_deref()) {
        return Some(Credentials::ApiKey(Secret::new(key)));
    }
    match (non_blank(username.as_deref()), password) {
        (Some(username), Some(password)) => Some(Credentials::Password {
            username: username.to_owned(),
            password: Secret::new(password.as_str()),
        }),
        _ => None,
    }
}

/// The trimmed text, or `None` when it is absent or blank.
pub(crate) fn non_blank(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|value| !value.is_empty())
}

/// Parses the CLI's timestamps: RFC 3339, or a naive date and time taken as
/// UTC (as the CLI itself takes it).
fn parse_utc(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|parsed| parsed.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|naive| naive.and_utc())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_with_zone_fraction_or_no_zone_parse() {
        let expected = DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z").unwrap();
        assert_eq!(parse_utc("2026-01-02T03:04:05Z"), Some(expected.into()));
        assert_eq!(
            parse_utc("2026-01-02T05:04:05+02:00"),
            Some(expected.into())
        );
        assert_eq!(parse_utc("2026-01-02T03:04:05"), Some(expected.into()));
        assert!(parse_utc("2026-01-02T03:04:05.123456").is_some());
        assert!(parse_utc("2026-01-02T03:04:05.123456+00:00").is_some());
        assert_eq!(parse_utc("next tuesday"), None);
    }
}
