//! The harness's Python flows (`tests/harness/flows/`), run in the seeded
//! project with the harness's Kitaru Python.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use kitaru_sdk::bridge::Python;
use kitaru_sdk::executions::LaunchOptions;
use serde_json::Value;

use crate::locks::executions_lock;
use crate::server::{repo_root, server};

/// The module of flows the tests launch, as a file target from the project
/// folder.
pub const FLOWS: &str = "flows/extra_replay.py";

/// Whether a Python module run starts executions of its own.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Runs {
    /// It only reads or writes data.
    NoFlow,
    /// It runs a flow: listings of executions must not overlap it
    /// ([`executions_lock`] held for writing meanwhile).
    Flow,
}

/// Copies `tests/harness/flows/<module>.py` into the seeded project's
/// `flows/` package; returns the project folder.
pub fn install_flow_module(module: &str) -> &'static Path {
    let project = Path::new(server().str("/project_dir"));
    let file = format!("{module}.py");
    let source = std::fs::read(repo_root().join("tests/harness/flows").join(&file))
        .expect("read the flow module");
    let target = project.join("flows").join(&file);
    // Concurrent tests install the same module while others import it: an
    // unchanged file is left alone, a changed one replaced in one step
    // (never seen half-written).
    if std::fs::read(&target).ok().as_deref() != Some(source.as_slice()) {
        let staged = project.join("flows").join(format!(
            ".{file}.{}.{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::write(&staged, &source).expect("stage the module");
        std::fs::rename(&staged, &target).expect("install the module");
    }
    project
}

/// What ZenML says when it reads its configuration file while another
/// process rewrites it (the bridge's jobs switch the active project and
/// stack, as the Kitaru CLI does): the process ends before doing anything.
const CONFIG_READ_MID_WRITE: &str = "'ClientConfiguration' object has no attribute";

/// Runs `python -m flows.<module> <args>` (from `tests/harness/flows/`)
/// with the harness's Python, in the seeded project folder and this server's
/// environment, `input` as JSON on stdin; returns the JSON its last stdout
/// line holds. Its stderr goes to the test's. A run that ZenML ended while
/// reading a configuration file being rewritten is made again (twice at
/// most).
pub fn python_module(module: &str, args: &[&str], input: Option<&Value>) -> Value {
    use std::io::Write as _;
    let server = server();
    let project = install_flow_module(module);
    let mut attempt = 0;
    let output = loop {
        attempt += 1;
        let mut command = Command::new(server.str("/python"));
        command
            .arg("-m")
            .arg(format!("flows.{module}"))
            .args(args)
            .current_dir(project)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (name, _) in std::env::vars() {
            if name.starts_with("ZENML_") || name.starts_with("KITARU_") {
                command.env_remove(name);
            }
        }
        let mut child = command
            .envs(server.env())
            .spawn()
            .unwrap_or_else(|e| panic!("run flows.{module}: {e}"));
        let request = input.map(Value::to_string).unwrap_or_default();
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(request.as_bytes())
            .expect("write the request");
        let output = child.wait_with_output().expect("wait for python");
        let stderr = String::from_utf8_lossy(&output.stderr);
        eprint!("{stderr}");
        if output.status.success() || attempt > 2 || !stderr.contains(CONFIG_READ_MID_WRITE) {
            break output;
        }
        eprintln!("flows.{module}: ZenML read its configuration mid-write; running it again");
    };
    assert!(output.status.success(), "flows.{module} {args:?} failed");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let last = stdout
        .lines()
        .last()
        .unwrap_or_else(|| panic!("flows.{module} printed nothing"));
    serde_json::from_str(last)
        .unwrap_or_else(|e| panic!("flows.{module}: the last line is not JSON ({e}): {last}"))
}

/// [`python_module`] for async tests: run off the async runtime, so that
/// the test's pooled connections stay serviced while Python works.
pub async fn python(
    module: &'static str,
    args: &[&str],
    input: Option<Value>,
    runs: Runs,
) -> Value {
    let args: Vec<String> = args.iter().map(|arg| (*arg).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        let _no_listing_in_between = (runs == Runs::Flow)
            .then(|| executions_lock().write().unwrap_or_else(|p| p.into_inner()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        python_module(module, &args, input.as_ref())
    })
    .await
    .expect("the Python side ran")
}

/// Starts `count` new executions of `tests/harness/flows/extra_waiting.py`,
/// each paused on its wait `approve_extra`, and returns their ids (oldest
/// first). For tests that cancel an execution or give it input, so the seeded
/// one stays as it is. Call it while holding [`executions_lock`] for writing.
pub fn start_waiting_executions(count: usize) -> Vec<String> {
    let ids = python_module("extra_waiting", &[&count.to_string()], None);
    serde_json::from_value(ids).expect("flows.extra_waiting prints a JSON list of ids")
}

/// The executions of `cohort_flow` that `tests/harness/flows/cohort.py`
/// made: made once per test process, under [`executions_lock`] for
/// writing. `runs` lists them oldest first (`exec_id`, `started_at` as the
/// server stores it, `status`, `topic`, `version`: the deployment version
/// in its metadata); `replay` is the replay of the first one from `review`
/// (null where the reference's replay refuses). Earlier processes' runs
/// stay on the server: a test reads this batch by its ids or its window.
pub fn cohort_executions() -> &'static Value {
    static MADE: OnceLock<Value> = OnceLock::new();
    MADE.get_or_init(|| {
        let _changing = executions_lock()
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        python_module("cohort", &[], None)
    })
}

/// Launch options running the harness's Kitaru Python in the seeded project,
/// where [`FLOWS`] is installed.
pub fn launch_options() -> LaunchOptions {
    let server = server();
    LaunchOptions {
        python: Some(Python {
            path: server.str("/python").into(),
            version: String::new(),
            found_by: "the test harness".to_owned(),
        }),
        working_dir: install_flow_module("extra_replay").to_path_buf(),
        settle: Duration::from_secs(240),
        env: server.env(),
        observer: None,
        ..LaunchOptions::default()
    }
}

/// Deploys `research_agent` of [`FLOWS`] with the Python SDK (tagged `tag`,
/// exclusively or not, with input `topic`); returns its record of it. Hold
/// [`crate::deployments_lock`] meanwhile.
pub async fn python_deploy(tag: &str, exclusive: bool, topic: &str) -> Value {
    install_flow_module("extra_replay");
    let exclusive = if exclusive { "true" } else { "false" };
    python(
        "deploy_interop",
        &["deploy", tag, exclusive, topic],
        None,
        Runs::NoFlow,
    )
    .await
}
