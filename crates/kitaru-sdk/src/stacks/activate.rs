//! Making a stack the active one: a local setting, kept where the CLI keeps
//! it — the repository's `.kitaru/config.yaml` when there is a repository,
//! else the global `config.yaml` — and not a change on the server.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_norway::{Mapping, Value};

use crate::Error;
use kitaru_client::connection::{ResolvedConnection, Source};

/// The key both config files keep the active stack under.
const ACTIVE_STACK_KEY: &str = "active_stack_id";

/// The file the CLI would record the active stack in for `connection`.
pub(crate) fn config_file(connection: &ResolvedConnection) -> PathBuf {
    match &connection.repository_root {
        Some(root) => root.join(".kitaru").join("config.yaml"),
        None => connection.config_dir.join("config.yaml"),
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

/// Records `stack_id` as the active stack in `path`, keeping every other
/// setting of the file; the file is replaced in one step, so a CLI reading
/// it never sees it half-written.
pub(crate) fn record(path: &Path, stack_id: &str) -> Result<(), Error> {
    let failed = |what: String| {
        Error::State(format!(
            "Could not record the active stack in {}: {what}",
            path.display()
        ))
    };
    let mut settings = match std::fs::read_to_string(path) {
        Ok(text) => match serde_norway::from_str::<Value>(&text) {
            Ok(Value::Mapping(mapping)) => mapping,
            Ok(Value::Null) => Mapping::new(),
            Ok(_) => return Err(failed("the file is not a YAML mapping".to_owned())),
            Err(error) => return Err(failed(error.to_string())),
        },
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Mapping::new(),
        Err(error) => return Err(failed(error.to_string())),
    };
    settings.insert(
        Value::String(ACTIVE_STACK_KEY.to_owned()),
        Value::String(stack_id.to_owned()),
    );
    let text = serde_norway::to_string(&settings).map_err(|error| failed(error.to_string()))?;
    let dir = path
        .parent()
        .ok_or_else(|| failed("it has no parent folder".to_owned()))?;
    std::fs::create_dir_all(dir).map_err(|error| failed(error.to_string()))?;
    let mut staged = tempfile_in(dir).map_err(|error| failed(error.to_string()))?;
    staged
        .1
        .write_all(text.as_bytes())
        .and_then(|()| staged.1.sync_all())
        .map_err(|error| failed(error.to_string()))?;
    std::fs::rename(&staged.0, path).map_err(|error| {
        let _ = std::fs::remove_file(&staged.0);
        failed(error.to_string())
    })
}

/// A new file in `dir` with a name no one else uses.
fn tempfile_in(dir: &Path) -> std::io::Result<(PathBuf, std::fs::File)> {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_nanos())
        .unwrap_or_default();
    let path = dir.join(format!(".config.yaml.{}.{stamp}", std::process::id()));
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)?;
    Ok((path, file))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recording_keeps_the_other_settings() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.yaml");
        std::fs::write(
            &path,
            "active_project_id: p1\nactive_stack_id: old\nstore:\n  url: http://x\n",
        )
        .unwrap();
        record(&path, "new-id").unwrap();
        let written: Value =
            serde_norway::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(written["active_stack_id"], Value::String("new-id".into()));
        assert_eq!(written["active_project_id"], Value::String("p1".into()));
        assert_eq!(written["store"]["url"], Value::String("http://x".into()));
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no staging file left"
        );
    }

    #[test]
    fn a_missing_file_and_folder_are_created_a_broken_file_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".kitaru").join("config.yaml");
        record(&path, "s").unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "active_stack_id: s\n"
        );

        let broken = dir.path().join("broken.yaml");
        std::fs::write(&broken, "- a list\n").unwrap();
        let error = record(&broken, "s").unwrap_err().to_string();
        assert!(error.contains("not a YAML mapping"), "{error}");
        assert_eq!(std::fs::read_to_string(&broken).unwrap(), "- a list\n");
    }
}
