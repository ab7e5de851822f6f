//! The Kitaru CLI's files as diagnostics see them: where they are, and what
//! they say as written on disk, even when the connection cannot be resolved
//! from them (a local database, a broken file, no server at all).
//!
//! The locations follow the same rules as connection resolution; what
//! differs is that nothing here fails: a file that cannot be read becomes a
//! note in the report. The files are read through
//! [`CliConfigFile`](kitaru_client::CliConfigFile).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_norway::{Mapping, Value};

use super::log_store::LogStoreSetting;
use kitaru_client::cli_config::{CliConfigError, CliConfigFile};
use kitaru_client::connection::{
    ConnectionOptions, Environment, Source, config_dir, find_repository,
};

/// Local artifact stores and the local database.
const LOCAL_STORES_DIR: &str = "local_stores";

/// Where the CLI keeps its files, as seen from one working directory.
#[derive(Clone, Debug)]
pub(crate) struct ConfigLocations {
    /// The global config directory, or why it cannot be located.
    pub(crate) config_dir: Result<PathBuf, String>,
    /// What chose the config directory: explicit options or a variable;
    /// `None` for the platform default.
    pub(crate) config_dir_source: Option<Source>,
    /// The folder holding `.kitaru/`, if there is one.
    pub(crate) repository_root: Option<PathBuf>,
    /// The directory `.kitaru/` is searched from; `None` when the process's
    /// current directory cannot be read.
    pub(crate) working_dir: Option<PathBuf>,
}

impl ConfigLocations {
    /// Locates the files for `options`: its config directory, else
    /// `KITARU_CONFIG_PATH`, else `ZENML_CONFIG_PATH`, else the platform's
    /// config directory for `kitaru`; the repository is
    /// `ZENML_REPOSITORY_PATH` when set, else the nearest folder holding
    /// `.kitaru/` from the working directory up.
    pub(crate) fn discover(options: &ConnectionOptions, env: &dyn Environment) -> Self {
        let working_dir = options
            .explicit_working_dir()
            .map(Path::to_owned)
            .or_else(|| std::env::current_dir().ok());
        // A relative directory stays relative where the working directory
        // cannot be read.
        let base = working_dir.clone().unwrap_or_default();
        let (config_dir, config_dir_source) = match config_dir(options, env, &base, &mut Vec::new())
        {
            Ok((dir, source)) => (Ok(dir), source),
            Err(error) => (Err(error.to_string()), None),
        };
        let repository_root = working_dir
            .as_deref()
            .and_then(|dir| find_repository(env, dir));
        Self {
            config_dir,
            config_dir_source,
            repository_root,
            working_dir,
        }
    }

    /// A file or folder in the config directory.
    fn in_config_dir(&self, name: &str) -> Option<PathBuf> {
        self.config_dir.as_ref().ok().map(|dir| dir.join(name))
    }

    /// The global `config.yaml` (which may not exist).
    pub(crate) fn global_config(&self) -> Option<CliConfigFile> {
        self.config_dir.as_deref().ok().map(CliConfigFile::global)
    }

    /// `kitaru.yaml` (which may not exist).
    pub(crate) fn kitaru_config(&self) -> Option<CliConfigFile> {
        self.config_dir.as_deref().ok().map(CliConfigFile::kitaru)
    }

    /// The `local_stores` folder (which may not exist).
    pub(crate) fn local_stores(&self) -> Option<PathBuf> {
        self.in_config_dir(LOCAL_STORES_DIR)
    }

    /// The repository's `.kitaru/config.yaml` (which may not exist).
    pub(crate) fn repository_config(&self) -> Option<CliConfigFile> {
        self.repository_root
            .as_deref()
            .map(CliConfigFile::repository)
    }

    /// The URL of the local database the CLI uses when it is not logged in
    /// to a server.
    pub(crate) fn default_database_url(&self) -> Option<String> {
        self.local_stores().map(|stores| {
            format!(
                "sqlite:///{}",
                stores.join("default_zen_store").join("zenml.db").display()
            )
        })
    }
}

/// A CLI `config.yaml` read as plain YAML, before anything validates it.
#[derive(Clone, Debug, Default)]
pub(crate) struct RawConfig {
    mapping: Mapping,
}

impl RawConfig {
    /// Reads `file`; a missing file is an empty config. A file that cannot
    /// be read or is not a YAML mapping is an empty config plus a note
    /// saying why, in the Kitaru CLI's words.
    pub(crate) fn read(file: &CliConfigFile) -> (Self, Option<String>) {
        let (mapping, error) = file.read_lenient::<Mapping>();
        let note = error.map(|error| match error {
            CliConfigError::NotMapping { path } => format!(
                "Config file exists but is not a mapping: {}",
                path.display()
            ),
            CliConfigError::Read { path, source } => {
                format!("Could not read config file {}: {source}", path.display())
            }
            CliConfigError::Parse { path, source } => {
                format!("Could not read config file {}: {source}", path.display())
            }
            other => other.to_string(),
        });
        (Self { mapping }, note)
    }

    /// An id such as `active_stack_id` as written, trimmed; `None` when
    /// absent or blank.
    pub(crate) fn id(&self, key: &str) -> Option<String> {
        scalar_text(self.mapping.get(key)?)
    }

    /// The URL of the `store` section, as written.
    pub(crate) fn store_url(&self) -> Option<String> {
        scalar_text(self.mapping.get("store")?.get("url")?)
    }
}

/// A scalar as text, the way the CLI stringifies config ids.
fn scalar_text(value: &Value) -> Option<String> {
    let text = match value {
        Value::String(text) => text.trim().to_owned(),
        Value::Number(number) => number.to_string(),
        Value::Bool(flag) => flag.to_string(),
        _ => return None,
    };
    (!text.is_empty()).then_some(text)
}

/// `kitaru.yaml`: Kitaru's own global settings.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct KitaruConfig {
    /// The preferred runtime log store, set by `kitaru log-store set`.
    pub(crate) log_store: Option<LogStoreSetting>,
    model_registry: Option<ModelRegistry>,
}

/// `model_registry` in `kitaru.yaml` (or JSON in `KITARU_MODEL_REGISTRY`):
/// the model aliases of `kitaru.llm()` and memory compaction.
#[derive(Clone, Debug, Default, Deserialize)]
pub(crate) struct ModelRegistry {
    #[serde(default)]
    pub(crate) aliases: Option<BTreeMap<String, ModelAlias>>,
    /// The alias used when none is named.
    #[serde(default)]
    pub(crate) default: Option<String>,
}

/// One model alias: the `provider/model` it stands for, and the secret
/// holding its credentials.
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct ModelAlias {
    pub(crate) model: String,
    #[serde(default)]
    pub(crate) secret: Option<String>,
}

impl KitaruConfig {
    /// Reads `file`; the defaults when it does not exist or is empty. The
    /// error is the Kitaru CLI's message for the file.
    pub(crate) fn read(file: &CliConfigFile) -> Result<Self, String> {
        let invalid = || {
            format!(
                "The Kitaru global config file is invalid. Fix or delete {} and try again.",
                file.path().display()
            )
        };
        match file.read::<Self>() {
            Ok(config) => {
                let config = config.unwrap_or_default();
                if config.is_valid() {
                    Ok(config)
                } else {
                    Err(invalid())
                }
            }
            Err(CliConfigError::NotMapping { path }) => Err(format!(
                "The Kitaru global config file is invalid. Expected a YAML mapping at {}.",
                path.display()
            )),
            Err(CliConfigError::Parse { .. }) => Err(invalid()),
            Err(other) => Err(other.to_string()),
        }
    }

    /// Whether the values pass the checks the CLI applies when it loads the
    /// file: a valid log store, and a model for every alias.
    fn is_valid(&self) -> bool {
        let log_store_valid = self
            .log_store
            .as_ref()
            .is_none_or(|setting| setting.backend().is_ok());
        let aliases_valid = self
            .model_registry
            .iter()
            .flat_map(|registry| registry.aliases.iter().flatten())
            .all(|(_, alias)| !alias.model.trim().is_empty());
        log_store_valid && aliases_valid
    }

    /// The model registry, if the file has one.
    pub(crate) fn model_registry(&self) -> Option<&ModelRegistry> {
        self.model_registry.as_ref()
    }

    /// How many model aliases are registered.
    pub(crate) fn model_alias_count(&self) -> usize {
        self.model_registry
            .as_ref()
            .and_then(|registry| registry.aliases.as_ref())
            .map_or(0, BTreeMap::len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::test_env::env;

    #[test]
    fn explicit_options_win_then_kitaru_then_zenml_variables() {
        let dir = tempfile::tempdir().unwrap();
        let both = env(&[("KITARU_CONFIG_PATH", "/k"), ("ZENML_CONFIG_PATH", "/z")]);
        let options = ConnectionOptions::new().working_dir(dir.path());
        let found = ConfigLocations::discover(&options, &both);
        assert_eq!(found.config_dir.unwrap(), PathBuf::from("/k"));
        assert_eq!(
            found.config_dir_source,
            Some(Source::Env("KITARU_CONFIG_PATH"))
        );

        let zenml_only = env(&[("KITARU_CONFIG_PATH", " "), ("ZENML_CONFIG_PATH", "/z")]);
        let found = ConfigLocations::discover(&options, &zenml_only);
        assert_eq!(found.config_dir.unwrap(), PathBuf::from("/z"));
        assert_eq!(
            found.config_dir_source,
            Some(Source::Env("ZENML_CONFIG_PATH"))
        );

        let explicit = options.clone().config_dir("/e");
        let found = ConfigLocations::discover(&explicit, &both);
        assert_eq!(found.config_dir.unwrap(), PathBuf::from("/e"));
        assert_eq!(found.config_dir_source, Some(Source::Explicit));
    }

    #[test]
    fn the_platform_default_needs_home() {
        let dir = tempfile::tempdir().unwrap();
        let options = ConnectionOptions::new().working_dir(dir.path());
        let found = ConfigLocations::discover(&options, &env(&[]));
        assert!(found.config_dir.is_err());
        assert_eq!(found.config_dir_source, None);
        if cfg!(target_os = "linux") {
            let found = ConfigLocations::discover(&options, &env(&[("HOME", "/home/u")]));
            assert_eq!(
                found.config_dir.unwrap(),
                PathBuf::from("/home/u/.config/kitaru")
            );
        }
    }

    #[test]
    fn the_repository_is_found_from_a_subfolder() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join(".kitaru")).unwrap();
        let nested = root.path().join("a").join("b");
        std::fs::create_dir_all(&nested).unwrap();
        let options = ConnectionOptions::new().working_dir(&nested);
        let found = ConfigLocations::discover(&options, &env(&[]));
        assert_eq!(found.repository_root.as_deref(), Some(root.path()));
        assert_eq!(
            found.repository_config().unwrap().path(),
            root.path().join(".kitaru").join("config.yaml")
        );
    }

    #[test]
    fn a_raw_config_gives_ids_and_the_store_url_as_written() {
        let dir = tempfile::tempdir().unwrap();
        let file = CliConfigFile::global(dir.path());
        std::fs::write(
            file.path(),
            "active_stack_id: ' 9df65633-97e3-4a98-95e8-0258c6c621ea '\nactive_project_id: ''\nstore:\n  type: sql\n  url: sqlite:////x/zenml.db\n",
        )
        .unwrap();
        let (config, note) = RawConfig::read(&file);
        assert_eq!(note, None);
        assert_eq!(
            config.id("active_stack_id").as_deref(),
            Some("9df65633-97e3-4a98-95e8-0258c6c621ea")
        );
        assert_eq!(config.id("active_project_id"), None);
        assert_eq!(config.store_url().as_deref(), Some("sqlite:////x/zenml.db"));
    }

    #[test]
    fn a_broken_raw_config_becomes_a_note() {
        let dir = tempfile::tempdir().unwrap();
        let file = CliConfigFile::global(dir.path());
        std::fs::write(file.path(), "- just\n- a list\n").unwrap();
        let (config, note) = RawConfig::read(&file);
        assert_eq!(config.id("active_stack_id"), None);
        assert_eq!(
            note.unwrap(),
            format!(
                "Config file exists but is not a mapping: {}",
                file.path().display()
            )
        );
        std::fs::write(file.path(), "active_stack_id: [unclosed\n").unwrap();
        let (_, note) = RawConfig::read(&file);
        let note = note.unwrap();
        assert!(
            note.starts_with(&format!(
                "Could not read config file {}: ",
                file.path().display()
            )),
            "{note}"
        );
        let (_, missing) = RawConfig::read(&CliConfigFile::at(dir.path().join("absent.yaml")));
        assert_eq!(missing, None);
    }

    #[test]
    fn model_aliases_are_counted_and_an_invalid_file_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let file = CliConfigFile::kitaru(dir.path());
        std::fs::write(
            file.path(),
            "version: 1\nmodel_registry:\n  aliases:\n    fast: {model: openai/gpt-4o-mini}\n    smart: {model: x, secret: s}\n",
        )
        .unwrap();
        assert_eq!(KitaruConfig::read(&file).unwrap().model_alias_count(), 2);

        for invalid in [
            "model_registry:\n  aliases:\n    fast: {secret: s}\n",
            "model_registry:\n  aliases:\n    fast: {model: ' '}\n",
            "log_store: {backend: 'Bad Name', endpoint: 'https://logs.example.com'}\n",
        ] {
            std::fs::write(file.path(), invalid).unwrap();
            let error = KitaruConfig::read(&file).unwrap_err();
            assert!(error.contains("is invalid"), "{invalid}: {error}");
        }
        std::fs::write(file.path(), "[broken").unwrap();
        let error = KitaruConfig::read(&file).unwrap_err();
        assert!(error.contains("Fix or delete"), "{error}");
        std::fs::write(file.path(), "- a list\n").unwrap();
        let error = KitaruConfig::read(&file).unwrap_err();
        assert!(error.contains("Expected a YAML mapping"), "{error}");

        std::fs::write(file.path(), "").unwrap();
        assert_eq!(KitaruConfig::read(&file).unwrap().model_alias_count(), 0);
    }
}
