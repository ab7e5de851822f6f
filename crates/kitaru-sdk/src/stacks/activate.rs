//! Making a stack (or a project) the active one: a local setting, kept
//! where the CLI keeps it — the repository's `.kitaru/config.yaml` when
//! there is a repository, else the global `config.yaml` — and not a change
//! on the server.

use kitaru_client::CliConfigFile;
use kitaru_client::connection::{ResolvedConnection, Source};
use serde_norway::Value;

use crate::Error;

/// The key both config files keep the active stack under.
const ACTIVE_STACK_KEY: &str = "active_stack_id";
/// The key both config files keep the active project under.
pub(crate) const ACTIVE_PROJECT_KEY: &str = "active_project_id";

/// The file the CLI would record the active stack in for `connection`.
pub(crate) fn config_file(connection: &ResolvedConnection) -> CliConfigFile {
    match &connection.repository_root {
        Some(root) => CliConfigFile::repository(root),
        None => CliConfigFile::global(&connection.config_dir),
    }
}

/// Whether a stack recorded in the config file becomes the active one: not
/// when explicit options or `ZENML_ACTIVE_STACK_ID` choose the stack.
pub(crate) fn file_decides(connection: &ResolvedConnection) -> bool {
    !matches!(
        connection.sources.stack,
        Some(Source::Explicit | Source::Env(_))
    )
}

/// Records `stack_id` as the active stack in `file`, keeping every other
/// setting of the file; the file is replaced in one step, so a CLI reading
/// it never sees it half-written.
pub(crate) fn record(file: &CliConfigFile, stack_id: &str) -> Result<(), Error> {
    record_key(file, ACTIVE_STACK_KEY, stack_id)
        .map_err(|error| Error::State(format!("Could not record the active stack: {error}")))
}

/// Records `id` under `key` in `file`, keeping every other setting of the
/// file, replaced in one step.
pub(crate) fn record_key(
    file: &CliConfigFile,
    key: &str,
    id: &str,
) -> Result<(), kitaru_client::CliConfigError> {
    file.update(|settings| {
        settings.insert(Value::String(key.to_owned()), Value::String(id.to_owned()));
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recording_sets_the_active_stack_and_names_a_broken_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = CliConfigFile::repository(dir.path());
        record(&file, "new-id").unwrap();
        let settings: serde_norway::Mapping = file.read().unwrap().unwrap();
        assert_eq!(settings.get(ACTIVE_STACK_KEY), Some(&Value::from("new-id")));

        std::fs::write(file.path(), "- a list\n").unwrap();
        let error = record(&file, "s").unwrap_err().to_string();
        assert!(
            error.starts_with("Could not record the active stack: "),
            "{error}"
        );
        assert!(
            error.contains(&file.path().display().to_string()),
            "{error}"
        );
    }
}
