//! The YAML files the Kitaru CLI (ZenML underneath) keeps on this machine:
//! the global `config.yaml` and `credentials.yaml` in its config directory,
//! Kitaru's own `kitaru.yaml` beside them, and a repository's
//! `.kitaru/config.yaml`.
//!
//! [`CliConfigFile`] is the one way to read and write them: strictly (a
//! broken file is an error naming it and the fix), leniently (a missing or
//! broken file reads as the defaults, and the error comes back as a note),
//! and atomically (a CLI reading the file never sees it half-written).
//!
//! ```no_run
//! # fn example() -> Result<(), kitaru_client::cli_config::CliConfigError> {
//! use kitaru_client::cli_config::CliConfigFile;
//!
//! let file = CliConfigFile::global("/home/me/.config/kitaru".as_ref());
//! let settings: Option<serde_norway::Mapping> = file.read()?;
//! println!("{} settings in {}", settings.unwrap_or_default().len(), file.path().display());
//! # Ok(())
//! # }
//! ```

use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_norway::{Mapping, Value};

/// The global config file in the config directory; also the name of a
/// repository's config file in its `.kitaru/` folder.
pub const CONFIG_FILE: &str = "config.yaml";
/// The per-server credentials file in the config directory.
pub const CREDENTIALS_FILE: &str = "credentials.yaml";
/// Kitaru's own global settings (log store, model aliases) in the config
/// directory.
pub const KITARU_FILE: &str = "kitaru.yaml";
/// The directory that marks a repository root; it holds `config.yaml`.
pub const REPOSITORY_DIR: &str = ".kitaru";

/// Why a CLI config file could not be read or written; every message names
/// the file and what to do about it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CliConfigError {
    /// The file exists but cannot be read.
    #[error("Cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why reading failed.
        #[source]
        source: io::Error,
    },

    /// The file is not the YAML the CLI writes.
    #[error(
        "{} is not a valid Kitaru config file ({source}); fix it, or remove it and run `kitaru login` again.",
        path.display()
    )]
    Parse {
        /// The file.
        path: PathBuf,
        /// What the parser objected to.
        #[source]
        source: serde_norway::Error,
    },

    /// The file is YAML, but not a mapping of settings (a list, say).
    #[error(
        "{} is not a valid Kitaru config file (not a YAML mapping); fix it, or remove it and run `kitaru login` again.",
        path.display()
    )]
    NotMapping {
        /// The file.
        path: PathBuf,
    },

    /// The file cannot be written.
    #[error(
        "Cannot write {}: {source}; check that its folder exists and is writable by this user.",
        path.display()
    )]
    Write {
        /// The file.
        path: PathBuf,
        /// Why writing failed.
        #[source]
        source: io::Error,
    },
}

impl CliConfigError {
    /// The file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            Self::Read { path, .. }
            | Self::Parse { path, .. }
            | Self::NotMapping { path }
            | Self::Write { path, .. } => path,
        }
    }
}

/// One YAML file of the Kitaru CLI.
///
/// Unknown keys are kept when the file is updated and ignored when it is
/// read into a type, as the CLI does, so newer CLI versions keep working.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CliConfigFile {
    path: PathBuf,
}

impl CliConfigFile {
    /// The file at `path`.
    pub fn at(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// The global `config.yaml` in `config_dir`: the server store, active
    /// project and stack.
    pub fn global(config_dir: &Path) -> Self {
        Self::at(config_dir.join(CONFIG_FILE))
    }

    /// `credentials.yaml` in `config_dir`: credentials per server URL.
    pub fn credentials(config_dir: &Path) -> Self {
        Self::at(config_dir.join(CREDENTIALS_FILE))
    }

    /// `kitaru.yaml` in `config_dir`: Kitaru's log store and model aliases.
    pub fn kitaru(config_dir: &Path) -> Self {
        Self::at(config_dir.join(KITARU_FILE))
    }

    /// The repository config `.kitaru/config.yaml` under `root`: active
    /// project and stack.
    pub fn repository(root: &Path) -> Self {
        Self::at(root.join(REPOSITORY_DIR).join(CONFIG_FILE))
    }

    /// Where the file is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the file; `None` when it does not exist. An empty file reads as
    /// the defaults, as the CLI takes it; anything else that is not a YAML
    /// mapping of what `T` expects is an error.
    ///
    /// The CLI rewrites its files in place (truncate, then write), so a
    /// reader running beside it can catch a file empty or cut short. An
    /// empty or unparsable file is therefore read again a few times,
    /// briefly, before it is taken as empty or reported as broken.
    pub fn read<T: DeserializeOwned + Default>(&self) -> Result<Option<T>, CliConfigError> {
        const ATTEMPTS: u32 = 8;
        const PAUSE: Duration = Duration::from_millis(25);
        let mut attempt = 1;
        loop {
            let text = match std::fs::read_to_string(&self.path) {
                Ok(text) => text,
                Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
                Err(source) => {
                    return Err(CliConfigError::Read {
                        path: self.path.clone(),
                        source,
                    });
                }
            };
            let settled = attempt >= ATTEMPTS;
            match serde_norway::from_str::<Value>(&text) {
                Ok(Value::Null) if settled || !text.trim().is_empty() => {
                    return Ok(Some(T::default()));
                }
                Ok(value @ Value::Mapping(_)) => {
                    return serde_norway::from_value(value)
                        .map(Some)
                        .map_err(|source| self.parse_error(source));
                }
                Ok(Value::Null) => {}
                Ok(_) => {
                    return Err(CliConfigError::NotMapping {
                        path: self.path.clone(),
                    });
                }
                Err(source) if settled => return Err(self.parse_error(source)),
                Err(_) => {}
            }
            std::thread::sleep(PAUSE);
            attempt += 1;
        }
    }

    /// Reads the file as [`read`](Self::read) does, but never fails: a
    /// missing file reads as the defaults, and so does a broken one, whose
    /// error comes back beside them (for a report to show).
    pub fn read_lenient<T: DeserializeOwned + Default>(&self) -> (T, Option<CliConfigError>) {
        match self.read() {
            Ok(found) => (found.unwrap_or_default(), None),
            Err(error) => (T::default(), Some(error)),
        }
    }

    /// Changes the file's settings: reads it strictly (a missing file is an
    /// empty mapping; a broken one is left alone and reported), applies
    /// `change` and [writes](Self::write) the result. Settings `change`
    /// does not touch are kept as they are.
    pub fn update(&self, change: impl FnOnce(&mut Mapping)) -> Result<(), CliConfigError> {
        let mut settings: Mapping = self.read()?.unwrap_or_default();
        change(&mut settings);
        self.write(&settings)
    }

    /// Replaces the file with `value` as YAML in one step: the text goes to
    /// a new file in the same folder (created if needed), which is then
    /// renamed over the old one, so a reader sees the old file or the new
    /// one, never a part. The old file's permissions are kept.
    pub fn write<T: Serialize>(&self, value: &T) -> Result<(), CliConfigError> {
        let failed = |source: io::Error| CliConfigError::Write {
            path: self.path.clone(),
            source,
        };
        let text = serde_norway::to_string(value)
            .map_err(|error| failed(io::Error::new(io::ErrorKind::InvalidData, error)))?;
        let dir = self
            .path
            .parent()
            .filter(|dir| !dir.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(failed)?;
        let permissions = match std::fs::metadata(&self.path) {
            Ok(metadata) => Some(metadata.permissions()),
            Err(error) if error.kind() == io::ErrorKind::NotFound => None,
            Err(error) => return Err(failed(error)),
        };
        let (staged, mut file) = self.staging_file(dir).map_err(failed)?;
        let written = file
            .write_all(text.as_bytes())
            .and_then(|()| match &permissions {
                Some(permissions) => file.set_permissions(permissions.clone()),
                None => Ok(()),
            })
            .and_then(|()| file.sync_all())
            .and_then(|()| std::fs::rename(&staged, &self.path));
        if let Err(error) = written {
            let _ = std::fs::remove_file(&staged);
            return Err(failed(error));
        }
        Ok(())
    }

    /// A new file in `dir` with a name no one else uses, for the text to
    /// replace this file with.
    fn staging_file(&self, dir: &Path) -> io::Result<(PathBuf, std::fs::File)> {
        static STAGED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let name = self
            .path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        let path = dir.join(format!(
            ".{name}.{}.{}",
            std::process::id(),
            STAGED.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)?;
        Ok((path, file))
    }

    fn parse_error(&self, source: serde_norway::Error) -> CliConfigError {
        CliConfigError::Parse {
            path: self.path.clone(),
            source,
        }
    }
}

impl AsRef<Path> for CliConfigFile {
    fn as_ref(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default, serde::Deserialize)]
    struct Settings {
        active_stack_id: Option<String>,
    }

    /// A file the CLI is rewriting in place (empty for a moment) is read
    /// once it is whole, not taken as an empty config.
    #[test]
    fn a_file_caught_mid_rewrite_is_read_once_whole() {
        let dir = tempfile::tempdir().unwrap();
        let file = CliConfigFile::global(dir.path());
        std::fs::write(file.path(), "").unwrap();
        let writer = {
            let path = file.path().to_owned();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(60));
                std::fs::write(&path, "active_stack_id: s1\n").unwrap();
            })
        };
        let read: Settings = file.read().unwrap().unwrap();
        writer.join().unwrap();
        assert_eq!(read.active_stack_id.as_deref(), Some("s1"));

        // An empty file that stays empty is the default config, as for the CLI.
        std::fs::write(file.path(), "").unwrap();
        let read: Settings = file.read().unwrap().unwrap();
        assert!(read.active_stack_id.is_none());
    }

    #[test]
    fn a_broken_file_is_an_error_strictly_and_the_defaults_leniently() {
        let dir = tempfile::tempdir().unwrap();
        let file = CliConfigFile::repository(dir.path());
        assert!(file.read::<Settings>().unwrap().is_none(), "missing");
        let (settings, note) = file.read_lenient::<Settings>();
        assert!(settings.active_stack_id.is_none() && note.is_none());

        std::fs::create_dir_all(file.path().parent().unwrap()).unwrap();
        for (text, says) in [
            ("- a list\n", "not a YAML mapping"),
            (
                "active_stack_id: [unclosed\n",
                "is not a valid Kitaru config file",
            ),
            (
                "active_stack_id: {a: 1}\n",
                "is not a valid Kitaru config file",
            ),
        ] {
            std::fs::write(file.path(), text).unwrap();
            let error = file.read::<Settings>().unwrap_err();
            let message = error.to_string();
            assert!(message.contains(says), "{text}: {message}");
            assert!(
                message.starts_with(&file.path().display().to_string()),
                "{message}"
            );
            assert!(message.contains("fix it, or remove it"), "{message}");
            let (settings, note) = file.read_lenient::<Settings>();
            assert!(settings.active_stack_id.is_none());
            assert_eq!(note.unwrap().path(), file.path());
        }
    }

    #[test]
    fn an_update_keeps_the_other_settings_and_leaves_no_staging_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = CliConfigFile::global(dir.path());
        std::fs::write(
            file.path(),
            "active_project_id: p1\nactive_stack_id: old\nstore:\n  url: http://x\n",
        )
        .unwrap();
        file.update(|settings| {
            settings.insert("active_stack_id".into(), "new".into());
        })
        .unwrap();
        let written: Value =
            serde_norway::from_str(&std::fs::read_to_string(file.path()).unwrap()).unwrap();
        assert_eq!(written["active_stack_id"], Value::from("new"));
        assert_eq!(written["active_project_id"], Value::from("p1"));
        assert_eq!(written["store"]["url"], Value::from("http://x"));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn an_update_creates_a_missing_file_and_folder_and_leaves_a_broken_file_alone() {
        let dir = tempfile::tempdir().unwrap();
        let file = CliConfigFile::repository(dir.path());
        file.update(|settings| {
            settings.insert("active_stack_id".into(), "s".into());
        })
        .unwrap();
        assert_eq!(
            std::fs::read_to_string(file.path()).unwrap(),
            "active_stack_id: s\n"
        );

        std::fs::write(file.path(), "- a list\n").unwrap();
        let error = file.update(|_| {}).unwrap_err();
        assert!(
            matches!(error, CliConfigError::NotMapping { .. }),
            "{error}"
        );
        assert_eq!(std::fs::read_to_string(file.path()).unwrap(), "- a list\n");
    }

    #[cfg(unix)]
    #[test]
    fn a_write_keeps_the_files_permissions() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let file = CliConfigFile::credentials(dir.path());
        std::fs::write(file.path(), "{}\n").unwrap();
        std::fs::set_permissions(file.path(), std::fs::Permissions::from_mode(0o600)).unwrap();
        file.write(&Mapping::new()).unwrap();
        let mode = std::fs::metadata(file.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
