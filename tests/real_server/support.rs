//! The real Kitaru server the integration tests talk to.
//!
//! With `KITARU_TEST_SERVER_JSON` set, the tests use the server that file
//! describes (written by `tests/harness/kitaru_test_server.py up`). Otherwise
//! the first test that needs a server starts a private one through the same
//! harness, seeded with real flows; the harness stops it when this test
//! process exits.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use serde_json::Value;

/// The variable setting the binary's default list size.
pub const LIST_SIZE_VAR: &str = "KITARU_MCP_LIST_SIZE";

/// What the harness wrote about the server and the data it seeded.
pub struct TestServer {
    /// The server's base URL, e.g. `http://127.0.0.1:41234`.
    pub url: String,
    /// The whole `server.json`.
    pub json: Value,
}

impl TestServer {
    /// A value from `server.json` by JSON pointer, e.g. `/seed/completed/run_id`.
    pub fn get(&self, pointer: &str) -> &Value {
        self.json
            .pointer(pointer)
            .unwrap_or_else(|| panic!("server.json has no {pointer}"))
    }

    /// A string from `server.json` by JSON pointer.
    pub fn str(&self, pointer: &str) -> &str {
        self.get(pointer)
            .as_str()
            .unwrap_or_else(|| panic!("server.json {pointer} is not a string"))
    }

    /// The environment a process needs to reach this server as the CLI would
    /// (`ZENML_CONFIG_PATH` and friends).
    pub fn env(&self) -> Vec<(String, String)> {
        self.get("/env")
            .as_object()
            .expect("server.json env is an object")
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
            .collect()
    }

    /// `program` set up to reach this server as a user's shell would: only
    /// PATH and HOME from outside, the CLI environment of this server, and
    /// the seeded project folder as working directory.
    pub fn command(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", std::env::var_os("HOME").unwrap_or_default())
            .envs(self.env())
            .current_dir(self.str("/project_dir"));
        command
    }

    /// A connected [`kitaru_sdk::Kitaru`] for this server, resolved from the
    /// CLI config the harness's `kitaru login` wrote, from the seeded
    /// project folder — as a user's machine would have it.
    pub async fn kitaru(&self) -> kitaru_sdk::Kitaru {
        let connection = kitaru_client::ConnectionOptions::new()
            .config_dir(self.str("/config_path"))
            .working_dir(self.str("/project_dir"))
            .resolve(&std::collections::HashMap::<String, String>::new())
            .expect("the harness's CLI config resolves");
        let client = connection.connect().await.expect("the test server answers");
        kitaru_sdk::Kitaru { client, connection }
    }

    /// A client for this server with no credentials (the local server needs none).
    pub fn client(&self) -> kitaru_client::Client {
        kitaru_client::Client::with_credentials(
            &self.url,
            kitaru_client::Credentials::None,
            reqwest::Client::new(),
        )
    }
}

/// The shared test server, started on first use.
pub fn server() -> &'static TestServer {
    static SERVER: OnceLock<TestServer> = OnceLock::new();
    SERVER.get_or_init(|| {
        let path = match std::env::var_os("KITARU_TEST_SERVER_JSON") {
            Some(path) => PathBuf::from(path),
            None => start_private_server(),
        };
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let json: Value = serde_json::from_str(&text).expect("server.json is JSON");
        let url = json["server_url"]
            .as_str()
            .expect("server.json has server_url")
            .trim_end_matches('/')
            .to_owned();
        TestServer { url, json }
    })
}

fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn start_private_server() -> PathBuf {
    let state_dir = repo_root()
        .join("target")
        .join("kitaru-test-servers")
        .join(std::process::id().to_string());
    std::fs::create_dir_all(&state_dir).expect("create the test server's state dir");
    let harness = repo_root().join("tests/harness/kitaru_test_server.py");
    let mut child = Command::new("python3")
        .arg(&harness)
        .arg("up")
        .arg("--state-dir")
        .arg(&state_dir)
        .arg("--watch-pid")
        .arg(std::process::id().to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("run python3 tests/harness/kitaru_test_server.py (is python3.11 installed?)");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("harness stdout"))
        .read_line(&mut line)
        .expect("read the harness's answer");
    // `up` returns once the server is ready; a detached watcher of its own
    // stops the server when this process exits.
    let status = child.wait().expect("wait for the harness");
    let path = PathBuf::from(line.trim());
    if !status.success() || line.trim().is_empty() || !path.exists() {
        panic!("the test-server harness failed ({status}); its log is above on stderr");
    }
    path
}

/// Serialises tests that change executions (cancel, input, new runs) with
/// tests that compare listings: readers share it, changers hold it alone.
pub fn executions_lock() -> &'static std::sync::RwLock<()> {
    static LOCK: std::sync::RwLock<()> = std::sync::RwLock::new(());
    &LOCK
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

/// Runs `python -m flows.<module> <args>` (from `tests/harness/flows/`)
/// with the harness's Python, in the seeded project folder and this server's
/// environment, `input` as JSON on stdin; returns the JSON its last stdout
/// line holds. Its stderr goes to the test's.
pub fn python_module(module: &str, args: &[&str], input: Option<&Value>) -> Value {
    use std::io::Write as _;
    let server = server();
    let project = install_flow_module(module);
    let mut command = Command::new(server.str("/python"));
    command
        .arg("-m")
        .arg(format!("flows.{module}"))
        .args(args)
        .current_dir(project)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
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
    assert!(output.status.success(), "flows.{module} {args:?} failed");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let last = stdout
        .lines()
        .last()
        .unwrap_or_else(|| panic!("flows.{module} printed nothing"));
    serde_json::from_str(last)
        .unwrap_or_else(|e| panic!("flows.{module}: the last line is not JSON ({e}): {last}"))
}

/// `base` (a JSON object) with the fields of `extra` added or replaced:
/// tool arguments that share a scope, say.
pub fn merged(base: &Value, extra: Value) -> Value {
    let mut merged = base.clone();
    if let (Some(merged), Value::Object(extra)) = (merged.as_object_mut(), extra) {
        merged.extend(extra);
    }
    merged
}

/// Runs an async test that changes or starts executions, holding off the
/// tests that compare listings meanwhile.
pub fn changing_executions(test: impl Future<Output = ()>) {
    let _changing = executions_lock()
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(test);
}

/// Whether a Python module run starts executions of its own.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Runs {
    /// It only reads or writes data.
    NoFlow,
    /// It runs a flow: listings of executions must not overlap it
    /// ([`executions_lock`] held for writing meanwhile).
    Flow,
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
