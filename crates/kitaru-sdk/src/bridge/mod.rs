//! The Python bridge: the one way this crate runs Python, for what only the
//! user's Kitaru Python can do — import and run the user's flow code
//! (run, replay) and manage the local server daemon.
//!
//! It finds the user's Kitaru interpreter ([`Python::find`]), starts a short
//! helper script shipped inside this crate (`helper.py`) as a detached
//! process (its own process group: it outlives the caller, and a flow it
//! runs keeps running when the caller restarts), gives it the same
//! connection the caller resolved, and follows it through a report file of
//! JSON events. The flow's own output goes to a log file next to the
//! report, never to the caller's stdout. The helper decides nothing: plans
//! and checks are made here, in Rust.

mod python;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use kitaru_client::connection::{ConnectionOptions, ResolvedConnection, Source};
use kitaru_client::session::Credentials;
use serde_json::Value;

pub use python::{Python, locate_without_running};

use crate::{Error, ErrorKind};

/// The helper script, run with `python -c` (which also puts the working
/// directory on the import path, so module targets of the project import).
const HELPER: &str = include_str!("helper.py");
/// How often the report file is read while waiting.
const POLL: Duration = Duration::from_millis(100);
/// How much of the log an error quotes when the helper died silently.
const LOG_TAIL: usize = 1_500;

/// One operation of the helper, started and followed.
pub struct Job {
    child: tokio::process::Child,
    report: PathBuf,
    log: PathBuf,
    read: usize,
    events: Vec<Value>,
}

/// Where and how a job runs.
#[derive(Clone, Debug)]
pub struct JobOptions {
    /// The interpreter.
    pub python: Python,
    /// The working directory: flow files and modules resolve against it.
    pub working_dir: PathBuf,
    /// Variables set on top of this process's environment.
    pub env: Vec<(String, String)>,
    /// Where the job's log and events go (readable by this user only).
    pub jobs_dir: PathBuf,
}

impl Job {
    /// Starts `operation` with `request` (JSON) in the helper, connected as
    /// `connection` says, with its log and events in `options.jobs_dir`.
    pub(crate) fn start(
        options: &JobOptions,
        connection: Vec<(&'static str, String)>,
        operation: &str,
        request: &Value,
    ) -> Result<Self, Error> {
        let dir = options.jobs_dir.clone();
        // Job logs hold what flows print, connection errors and the
        // requests: readable by this user only.
        private_dir(&dir).map_err(|e| Error::Python {
            kind: ErrorKind::Backend,
            message: format!(
                "Cannot create the folder for Python job logs {} (readable by this user only): \
                 {e}. Choose a folder of your own for them.",
                dir.display()
            ),
        })?;
        static JOBS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let stamp = format!(
            "{}-{}-{}-{}",
            operation,
            chrono::Utc::now().format("%Y%m%dT%H%M%S%.3f"),
            std::process::id(),
            JOBS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        let report = dir.join(format!("{stamp}.events.jsonl"));
        let log = dir.join(format!("{stamp}.log"));
        let log_file = private_file(&log).map_err(|e| Error::Python {
            kind: ErrorKind::Backend,
            message: format!("Cannot create the job log {}: {e}", log.display()),
        })?;
        // The helper appends its events to this file.
        private_file(&report).map_err(|e| Error::Python {
            kind: ErrorKind::Backend,
            message: format!(
                "Cannot create the job's events file {}: {e}",
                report.display()
            ),
        })?;
        let log_err = log_file.try_clone().map_err(|e| Error::Python {
            kind: ErrorKind::Backend,
            message: format!("Cannot share the job log: {e}"),
        })?;
        let mut command = tokio::process::Command::new(&options.python.path);
        command
            .arg("-c")
            .arg(HELPER)
            .arg(&report)
            .arg(operation)
            .arg(request.to_string())
            .current_dir(&options.working_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log_file))
            .stderr(Stdio::from(log_err))
            .env("PYTHONUNBUFFERED", "1")
            .envs(options.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .envs(connection)
            .process_group(0)
            .kill_on_drop(false);
        let child = command.spawn().map_err(|e| Error::Python {
            kind: ErrorKind::Unavailable,
            message: format!(
                "Cannot start the Kitaru Python {}: {e}",
                options.python.path.display()
            ),
        })?;
        tracing::debug!(operation, log = %log.display(), "started the Python bridge");
        Ok(Self {
            child,
            report,
            log,
            read: 0,
            events: Vec::new(),
        })
    }

    /// The job's log file (the flow's output).
    pub fn log(&self) -> &Path {
        &self.log
    }

    /// Waits until an event named `event` (or the job's end, or `timeout`)
    /// and returns it; an `error` event or a silent exit becomes the error.
    pub(crate) async fn until(&mut self, event: &str, timeout: Duration) -> Result<Value, Error> {
        let deadline = Instant::now() + timeout;
        loop {
            // Whether it had ended before its events are read: then they are
            // all there is.
            let exited = self.child.try_wait().ok().flatten();
            self.read_events();
            if let Some(found) = self.events.iter().find(|e| e["event"] == event) {
                return Ok(found.clone());
            }
            if let Some(error) = self.events.iter().find(|e| e["event"] == "error") {
                return Err(self.failure(error));
            }
            if let Some(status) = exited {
                return Err(Error::Python {
                    kind: ErrorKind::Backend,
                    message: format!(
                        "The Kitaru Python process ended ({status}) without an answer. Its \
                         output ({}) ends with: {}",
                        self.log.display(),
                        self.log_tail()
                    ),
                });
            }
            if Instant::now() >= deadline {
                return Err(Error::Python {
                    kind: ErrorKind::Timeout,
                    message: format!(
                        "The Kitaru Python process gave no answer within {} s; it goes on in \
                         the background (output: {}).",
                        timeout.as_secs(),
                        self.log.display()
                    ),
                });
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Whether the process has ended.
    pub(crate) fn ended(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// The error event's message, if the job has failed by now.
    pub(crate) fn error_so_far(&mut self) -> Option<String> {
        self.read_events();
        self.events
            .iter()
            .find(|e| e["event"] == "error")
            .map(|e| e["message"].as_str().unwrap_or_default().to_owned())
    }

    fn failure(&self, error: &Value) -> Error {
        let message = error["message"].as_str().unwrap_or("unknown error");
        let kind = match error["type"].as_str().unwrap_or_default() {
            "ValueError"
            | "TypeError"
            | "KitaruUsageError"
            | "ValidationError"
            | "ModuleNotFoundError"
            | "ImportError"
            | "LookupError" => ErrorKind::InvalidArgument,
            "KitaruStateError" => ErrorKind::State,
            _ => ErrorKind::Backend,
        };
        Error::Python {
            kind,
            message: message.to_owned(),
        }
    }

    fn read_events(&mut self) {
        let Ok(text) = std::fs::read_to_string(&self.report) else {
            return;
        };
        let Some(new) = text.get(self.read..) else {
            return;
        };
        // Only whole lines: the helper may be writing the next one.
        let complete = new.rfind('\n').map_or(0, |end| end + 1);
        for line in new[..complete].lines() {
            if let Ok(event) = serde_json::from_str::<Value>(line) {
                self.events.push(event);
            }
        }
        self.read += complete;
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let text = text.trim_end();
        let start = text.len().saturating_sub(LOG_TAIL);
        let start = (start..=text.len())
            .find(|&i| text.is_char_boundary(i))
            .unwrap_or(text.len());
        if text.is_empty() {
            "(nothing)".to_owned()
        } else {
            text[start..].to_owned()
        }
    }
}

/// Creates `dir` (and its parents) if needed and makes it `0700`.
fn private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
}

/// A new file `0600` (never an existing one: no following a planted link).
fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

/// The variables that point the helper's Kitaru at the CLI config
/// directory `options` set explicitly (otherwise it finds the same one).
pub(crate) fn config_env(options: &ConnectionOptions) -> Vec<(&'static str, String)> {
    options
        .explicit_config_dir()
        .map(|dir| vec![("ZENML_CONFIG_PATH", dir.display().to_string())])
        .unwrap_or_default()
}

/// The variables that give the helper the caller's connection where Python
/// would not find it by itself (settings the program passed explicitly);
/// settings from the environment or the CLI's files are inherited as they
/// are. Secrets travel only through the child's environment.
pub(crate) fn connection_env(connection: &ResolvedConnection) -> Vec<(&'static str, String)> {
    let sources = &connection.sources;
    let explicit = |source: Option<&Source>| matches!(source, Some(Source::Explicit));
    let mut env = Vec::new();
    if explicit(sources.config_dir.as_ref()) {
        env.push((
            "ZENML_CONFIG_PATH",
            connection.config_dir.display().to_string(),
        ));
    }
    if explicit(Some(&sources.server_url)) {
        env.push(("KITARU_SERVER_URL", connection.server_url.clone()));
        match &connection.credentials {
            Credentials::ApiKey(key) => env.push(("KITARU_AUTH_TOKEN", key.expose().to_owned())),
            Credentials::Token(token) => {
                env.push((
                    "ZENML_STORE_API_TOKEN",
                    token.access_token.expose().to_owned(),
                ));
            }
            Credentials::Password { username, password } => {
                env.push(("ZENML_STORE_USERNAME", username.clone()));
                env.push(("ZENML_STORE_PASSWORD", password.expose().to_owned()));
            }
            Credentials::None => {}
        }
    }
    if explicit(sources.project.as_ref())
        && let Some(project) = &connection.project
    {
        env.push(("KITARU_PROJECT", project.clone()));
    }
    env
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_helper_compiles_as_python_source() {
        // A syntax error would only show when a user runs a flow.
        let ok = std::process::Command::new("python3")
            .arg("-c")
            .arg("import sys; compile(sys.stdin.read(), 'helper.py', 'exec')")
            .stdin(Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write as _;
                child.stdin.take().unwrap().write_all(HELPER.as_bytes())?;
                child.wait()
            })
            .expect("python3 runs (the test server needs it too)");
        assert!(ok.success(), "helper.py does not compile");
    }

    #[tokio::test]
    async fn job_logs_are_readable_by_this_user_only() {
        use std::os::unix::fs::PermissionsExt as _;
        let top = tempfile::tempdir().unwrap();
        let dir = top.path().join("state/jobs");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let options = JobOptions {
            python: Python {
                path: "/bin/true".into(),
                version: String::new(),
                found_by: "test".into(),
            },
            working_dir: top.path().to_owned(),
            env: Vec::new(),
            jobs_dir: dir.clone(),
        };
        let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        let first = Job::start(&options, Vec::new(), "run", &Value::Null).unwrap();
        let second = Job::start(&options, Vec::new(), "run", &Value::Null).unwrap();
        assert_eq!(mode(&dir), 0o700, "an existing jobs folder is made private");
        assert_ne!(
            first.log, second.log,
            "two jobs at once keep their own logs"
        );
        for job in [&first, &second] {
            assert_eq!(mode(&job.log), 0o600);
            assert_eq!(mode(&job.report), 0o600);
        }
    }
}
