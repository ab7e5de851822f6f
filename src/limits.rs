//! The limits the tools apply while they run — sizes, timeouts, polling,
//! the audit log, the task key, the jobs folder —, and the program's name
//! as the SDK reports it, set once for the process from the
//! [settings](crate::settings::Settings) before serving. Everything that
//! cuts, waits or polls reads them here, never the environment.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

/// The settings the tools read while they run (each as the setting of the
/// same name documents it, `--help`).
#[derive(Clone, Debug, PartialEq)]
pub struct Limits {
    /// `--audit-log`: `stderr` or a file; `None` when off.
    pub audit_log: Option<String>,
    /// `--list-size`.
    pub list_size: Option<usize>,
    /// `--value-bytes`.
    pub value_bytes: usize,
    /// `--api-result-bytes`.
    pub api_result_bytes: usize,
    /// `--call-timeout`.
    pub call_timeout: Duration,
    /// `--wait-seconds`.
    pub wait_seconds: u64,
    /// `--poll-seconds`.
    pub poll_interval: Duration,
    /// `--max-subscriptions`.
    pub max_subscriptions: usize,
    /// `--task-key-file`.
    pub task_key_file: Option<PathBuf>,
    /// `--jobs-dir`.
    pub jobs_dir: Option<PathBuf>,
}

impl Limits {
    /// Where job logs of the user's Kitaru Python go: `--jobs-dir`, else
    /// `jobs` in this program's state folder.
    pub fn jobs_dir(&self) -> PathBuf {
        self.jobs_dir
            .clone()
            .unwrap_or_else(|| program().jobs_dir())
    }

    /// The file of the task key: `--task-key-file`, else `task-key` in this
    /// program's state folder (`None` without one).
    pub fn task_key_file(&self) -> Option<PathBuf> {
        self.task_key_file
            .clone()
            .or_else(|| program().state_dir().map(|state| state.join("task-key")))
    }
}

/// This program as the SDK names it: `sdk_version` in status reports
/// (`kitaru-mcp <version>`), and the folder it keeps its state in
/// (`$XDG_STATE_HOME/kitaru-mcp`).
pub fn program() -> kitaru_sdk::Program {
    kitaru_sdk::Program::new("kitaru-mcp", env!("CARGO_PKG_VERSION"))
}

/// `--value-bytes` by default.
pub const VALUE_BYTES: usize = 8_000;
/// `--api-result-bytes` by default.
pub const API_RESULT_BYTES: usize = 20_000;
/// `--call-timeout` by default, in seconds.
pub const CALL_TIMEOUT_SECONDS: f64 = 600.0;
/// `--wait-seconds` by default.
pub const WAIT_SECONDS: u64 = 60;
/// `--poll-seconds` by default.
pub const POLL_SECONDS: f64 = 5.0;
/// `--max-subscriptions` by default.
pub const MAX_SUBSCRIPTIONS: usize = 64;

impl Default for Limits {
    fn default() -> Self {
        Self {
            audit_log: None,
            list_size: None,
            value_bytes: VALUE_BYTES,
            api_result_bytes: API_RESULT_BYTES,
            call_timeout: Duration::from_secs_f64(CALL_TIMEOUT_SECONDS),
            wait_seconds: WAIT_SECONDS,
            poll_interval: Duration::from_secs_f64(POLL_SECONDS),
            max_subscriptions: MAX_SUBSCRIPTIONS,
            task_key_file: None,
            jobs_dir: None,
        }
    }
}

static LIMITS: OnceLock<Limits> = OnceLock::new();

/// Makes `limits` the process's, once, before serving; whether they were
/// installed (a second call, or one after the first read, changes nothing).
pub fn install(limits: Limits) -> bool {
    LIMITS.set(limits).is_ok()
}

/// The process's limits: the installed ones, else the defaults.
pub fn limits() -> &'static Limits {
    LIMITS.get_or_init(Limits::default)
}
