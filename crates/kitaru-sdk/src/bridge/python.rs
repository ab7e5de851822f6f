//! Finding the user's Kitaru Python: the interpreter that can import
//! `kitaru`, looked for where a user keeps it.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use crate::{Error, ErrorKind};

/// The variable naming the interpreter explicitly.
pub const PYTHON_VAR: &str = "KITARU_PYTHON";
/// How long asking an interpreter whether it has Kitaru may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(20);
/// Prints the interpreter's version if it can import kitaru; exits 3 if not.
const PROBE: &str = "import importlib.util, platform, sys\n\
                     sys.exit(3) if importlib.util.find_spec('kitaru') is None else \
                     print(platform.python_version())";

/// A Python interpreter that has Kitaru installed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Python {
    /// The interpreter.
    pub path: PathBuf,
    /// Its version, e.g. `3.11.9`.
    pub version: String,
    /// Where it was found: `KITARU_PYTHON`, `.venv`, `kitaru on PATH`,
    /// `python3 on PATH`, `python on PATH`.
    pub found_by: String,
}

impl Python {
    /// The user's Kitaru Python: `$KITARU_PYTHON` (only it, when set); else
    /// the first that can import `kitaru` of: the `.venv` of `working_dir`
    /// or a parent folder, the interpreter of the `kitaru` command on PATH,
    /// `python3` and `python` on PATH.
    pub async fn find(working_dir: &Path) -> Result<Self, Error> {
        if let Some(explicit) = std::env::var_os(PYTHON_VAR).filter(|v| !v.is_empty()) {
            let path = PathBuf::from(explicit);
            return match probe(&path).await {
                Probe::Kitaru(version) => Ok(Self {
                    path,
                    version,
                    found_by: PYTHON_VAR.to_owned(),
                }),
                Probe::NoKitaru => Err(missing(&format!(
                    "{PYTHON_VAR}={} cannot import kitaru",
                    path.display()
                ))),
                Probe::Broken(why) => Err(missing(&format!(
                    "{PYTHON_VAR}={} does not run: {why}",
                    path.display()
                ))),
            };
        }
        let mut tried = Vec::new();
        for (path, found_by) in candidates(working_dir) {
            match probe(&path).await {
                Probe::Kitaru(version) => {
                    return Ok(Self {
                        path,
                        version,
                        found_by: found_by.to_owned(),
                    });
                }
                Probe::NoKitaru => tried.push(format!("{} (no kitaru)", path.display())),
                Probe::Broken(_) => {}
            }
        }
        let tried = if tried.is_empty() {
            "no Python interpreter was found".to_owned()
        } else {
            format!("tried {}", tried.join(", "))
        };
        Err(missing(&tried))
    }
}

/// The Kitaru Python [`Python::find`] would pick, as far as the files tell
/// without running anything: the first candidate that is a virtualenv with
/// Kitaru installed (`KITARU_PYTHON` is taken as it is), with the version
/// its `pyvenv.cfg` records. `None` when only running Python would tell.
pub fn locate_without_running(working_dir: &Path) -> Option<(PathBuf, String)> {
    if let Some(explicit) = std::env::var_os(PYTHON_VAR).filter(|v| !v.is_empty()) {
        let path = PathBuf::from(explicit);
        let version = venv_version(&path)?;
        return Some((path, version));
    }
    candidates(working_dir)
        .into_iter()
        .filter(|(path, _)| has_kitaru(path))
        .find_map(|(path, _)| venv_version(&path).map(|version| (path, version)))
}

/// The Python version a virtualenv's `pyvenv.cfg` records for the
/// interpreter `<venv>/bin/python`.
fn venv_version(python: &Path) -> Option<String> {
    let config = std::fs::read_to_string(python.parent()?.parent()?.join("pyvenv.cfg")).ok()?;
    let value = |wanted: &str| {
        config.lines().find_map(|line| {
            let (key, value) = line.split_once('=')?;
            (key.trim() == wanted).then(|| value.trim().to_owned())
        })
    };
    value("version").or_else(|| value("version_info"))
}

/// Whether the virtualenv of `<venv>/bin/python` has the kitaru package.
fn has_kitaru(python: &Path) -> bool {
    let Some(lib) = python
        .parent()
        .and_then(Path::parent)
        .map(|venv| venv.join("lib"))
    else {
        return false;
    };
    std::fs::read_dir(lib)
        .into_iter()
        .flatten()
        .flatten()
        .any(|entry| {
            entry.file_name().to_string_lossy().starts_with("python")
                && entry
                    .path()
                    .join("site-packages/kitaru/__init__.py")
                    .is_file()
        })
}

fn missing(detail: &str) -> Error {
    Error::Python {
        kind: ErrorKind::Unavailable,
        message: format!(
            "This needs a Python environment with Kitaru installed ({detail}). Install it with \
             `pip install kitaru` (or `uv add kitaru`) in your project's environment, or set \
             {PYTHON_VAR} to that environment's python."
        ),
    }
}

/// The interpreters to try, in order.
fn candidates(working_dir: &Path) -> Vec<(PathBuf, &'static str)> {
    let mut found = Vec::new();
    for dir in working_dir.ancestors() {
        let venv = dir.join(".venv").join("bin").join("python");
        if venv.exists() {
            found.push((venv, ".venv"));
            break;
        }
    }
    if let Some(kitaru) = on_path("kitaru")
        && let Some(interpreter) = shebang_interpreter(&kitaru)
    {
        found.push((interpreter, "kitaru on PATH"));
    }
    for (name, found_by) in [("python3", "python3 on PATH"), ("python", "python on PATH")] {
        if let Some(path) = on_path(name) {
            found.push((path, found_by));
        }
    }
    found
}

/// The first executable file called `name` in a PATH folder.
fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// The interpreter a script's `#!` line names, when it names a file.
fn shebang_interpreter(script: &Path) -> Option<PathBuf> {
    let text = std::fs::read(script).ok()?;
    let first = text.split(|b| *b == b'\n').next()?;
    let line = std::str::from_utf8(first).ok()?.strip_prefix("#!")?.trim();
    let interpreter = PathBuf::from(line.split_whitespace().next()?);
    (interpreter.is_absolute() && interpreter.file_name()? != "env" && interpreter.is_file())
        .then_some(interpreter)
}

enum Probe {
    Kitaru(String),
    NoKitaru,
    Broken(String),
}

async fn probe(python: &Path) -> Probe {
    let run = tokio::process::Command::new(python)
        .arg("-c")
        .arg(PROBE)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .output();
    match tokio::time::timeout(PROBE_TIMEOUT, run).await {
        Err(_) => Probe::Broken(format!("no answer in {} s", PROBE_TIMEOUT.as_secs())),
        Ok(Err(error)) => Probe::Broken(error.to_string()),
        Ok(Ok(output)) if output.status.success() => {
            Probe::Kitaru(String::from_utf8_lossy(&output.stdout).trim().to_owned())
        }
        Ok(Ok(output)) if output.status.code() == Some(3) => Probe::NoKitaru,
        Ok(Ok(output)) => Probe::Broken(format!("exited with {}", output.status)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shebang_names_the_interpreter_unless_it_goes_through_env() {
        let dir = tempfile::tempdir().unwrap();
        let python = dir.path().join("python3");
        std::fs::write(&python, "").unwrap();
        let script = dir.path().join("kitaru");
        std::fs::write(&script, format!("#!{} -s\nimport x\n", python.display())).unwrap();
        assert_eq!(shebang_interpreter(&script), Some(python));
        std::fs::write(&script, "#!/usr/bin/env python3\n").unwrap();
        assert_eq!(shebang_interpreter(&script), None);
        std::fs::write(&script, "no shebang").unwrap();
        assert_eq!(shebang_interpreter(&script), None);
    }

    #[test]
    fn a_venv_with_kitaru_tells_its_version_without_running() {
        let dir = tempfile::tempdir().unwrap();
        let venv = dir.path().join(".venv");
        std::fs::create_dir_all(venv.join("bin")).unwrap();
        std::fs::write(venv.join("bin/python"), "").unwrap();
        std::fs::write(
            venv.join("pyvenv.cfg"),
            "home = /usr/bin\nversion = 3.11.7\n",
        )
        .unwrap();
        assert_eq!(
            locate_without_running(dir.path()),
            None,
            "no kitaru installed"
        );
        let package = venv.join("lib/python3.11/site-packages/kitaru");
        std::fs::create_dir_all(&package).unwrap();
        std::fs::write(package.join("__init__.py"), "").unwrap();
        assert_eq!(
            locate_without_running(dir.path()),
            Some((venv.join("bin/python"), "3.11.7".to_owned()))
        );
    }

    #[test]
    fn a_project_venv_is_found_from_a_subfolder() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join(".venv/bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::write(bin.join("python"), "").unwrap();
        let sub = dir.path().join("flows/deep");
        std::fs::create_dir_all(&sub).unwrap();
        let found = candidates(&sub);
        assert_eq!(found[0], (bin.join("python"), ".venv"));
    }

    #[tokio::test]
    async fn an_interpreter_without_kitaru_is_named_in_the_error() {
        // The system python3 of the test machine has no kitaru (the
        // reference lives in its own virtualenv).
        let Some(python3) = on_path("python3") else {
            panic!("python3 is on PATH on the test machines");
        };
        assert!(matches!(probe(&python3).await, Probe::NoKitaru));
        assert!(matches!(
            probe(Path::new("/nonexistent/python")).await,
            Probe::Broken(_)
        ));
    }
}
