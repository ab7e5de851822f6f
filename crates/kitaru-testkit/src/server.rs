//! The real Kitaru server: started by the test harness
//! (`tests/harness/kitaru_test_server.py`), described by the `server.json`
//! it writes.
//!
//! [`server`] is the tests' one: the server `KITARU_TEST_SERVER_JSON` names,
//! or else one shared by every test binary of one `cargo test` run (the
//! first binary that needs it starts it; the harness stops it when that
//! cargo process exits). [`start`] and [`stop`] are for programs that run a
//! server of their own (the demo, the benchmark).
//!
//! Two server [`Line`]s: kitaru 0.10.0 on ZenML 0.94.4 (the default) and
//! kitaru 0.21.0 on ZenML 0.98.0. `KITARU_TEST_SERVER_LINE` (`0.10` or
//! `0.21`) picks the one started; [`TestServer::line`] says which one a
//! server is, and its `server.json` names that line's Python environment
//! (the flows, the `kitaru` CLI, the reference `kitaru-mcp`).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use serde_json::Value;

/// What the harness wrote about the server and the data it seeded.
pub struct TestServer {
    /// The server's base URL, e.g. `http://127.0.0.1:41234`.
    pub url: String,
    /// The whole `server.json`.
    pub json: Value,
    line: Line,
}

/// A Kitaru server line the harness runs: a Kitaru release and the ZenML
/// server under it, each with a pinned Python environment of its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Line {
    /// kitaru 0.10.0 on ZenML 0.94.4: the reference the tool set follows.
    V0_10,
    /// kitaru 0.21.0 on ZenML 0.98.0: the newest of the ZenML-based line
    /// (no memory API in its Python package; a reference `kitaru-mcp` of 37
    /// tools, memory tools gone).
    V0_21,
}

impl Line {
    /// The variable naming the line [`server`] and [`start`] start.
    pub const VARIABLE: &str = "KITARU_TEST_SERVER_LINE";

    /// `0.10` or `0.21`, as the harness's `--line` and `server.json` name it.
    pub fn name(self) -> &'static str {
        match self {
            Self::V0_10 => "0.10",
            Self::V0_21 => "0.21",
        }
    }

    /// The line named `name`.
    pub fn named(name: &str) -> Option<Self> {
        [Self::V0_10, Self::V0_21]
            .into_iter()
            .find(|line| line.name() == name)
    }

    /// The ZenML release of this line's server (what `GET /info` names).
    pub fn zenml(self) -> &'static str {
        match self {
            Self::V0_10 => "0.94.4",
            Self::V0_21 => "0.98.0",
        }
    }

    /// Whether this line's Kitaru Python has the memory API (`kitaru.memory`,
    /// dropped in 0.11; `kitaru memory` in its CLI too). Where it has none,
    /// memory tests leave out the Python side: its reads, its audit log, memory
    /// in a flow. Its writes are still made, in 0.10's storage layout
    /// (`flows/memory_layout.py`).
    pub fn python_memory(self) -> bool {
        self == Self::V0_10
    }

    /// The line `KITARU_TEST_SERVER_LINE` names, `0.10` when it is unset.
    pub fn requested() -> Result<Self, HarnessError> {
        match std::env::var(Self::VARIABLE) {
            Err(std::env::VarError::NotPresent) => Ok(Self::V0_10),
            Ok(name) if name.is_empty() => Ok(Self::V0_10),
            Ok(name) => Self::named(&name).ok_or_else(|| {
                HarnessError(format!(
                    "{}={name:?}: the harness runs the lines 0.10 and 0.21",
                    Self::VARIABLE
                ))
            }),
            Err(error) => Err(HarnessError(format!("{}: {error}", Self::VARIABLE))),
        }
    }
}

impl std::fmt::Display for Line {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The harness could not start or stop a server; its own messages went to
/// stderr.
#[derive(Debug)]
pub struct HarnessError(pub(crate) String);

impl std::fmt::Display for HarnessError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for HarnessError {}

impl TestServer {
    /// The server a `server.json` describes.
    pub fn read(path: &Path) -> Result<Self, HarnessError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| HarnessError(format!("cannot read {}: {e}", path.display())))?;
        let json: Value = serde_json::from_str(&text)
            .map_err(|e| HarnessError(format!("{} is not JSON: {e}", path.display())))?;
        let url = json["server_url"]
            .as_str()
            .ok_or_else(|| HarnessError(format!("{} has no server_url", path.display())))?
            .trim_end_matches('/')
            .to_owned();
        // A server.json from before the harness had lines is a 0.10 server.
        let line = match json.get("line") {
            None => Line::V0_10,
            Some(name) => name
                .as_str()
                .and_then(Line::named)
                .ok_or_else(|| HarnessError(format!("{}: unknown line {name}", path.display())))?,
        };
        Ok(Self { url, json, line })
    }

    /// The server's line.
    pub fn line(&self) -> Line {
        self.line
    }

    /// Whether the server streams run events (the harness gives the 0.21
    /// line's ZenML 0.98 an in-memory stream broker).
    pub fn streams_events(&self) -> bool {
        self.json
            .get("stream_broker")
            .is_some_and(|broker| !broker.is_null())
    }

    /// Whether the Python of this server's line has memory
    /// ([`Line::python_memory`]): the Python SDK, the CLI's `kitaru memory`,
    /// the reference's memory tools. Says so on stderr when it has none, for
    /// the test that leaves that side out.
    pub fn python_memory(&self) -> bool {
        if !self.line.python_memory() {
            eprintln!(
                "the {} line's Kitaru has no memory (dropped in 0.11): its Python side is left out",
                self.line
            );
        }
        self.line.python_memory()
    }

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
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
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
        kitaru_sdk::Kitaru::new(client, connection)
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

/// The tests' server, found or started on first use: of the line
/// `KITARU_TEST_SERVER_LINE` names (a `server.json` named by
/// `KITARU_TEST_SERVER_JSON` must describe that line when both are set).
pub fn server() -> &'static TestServer {
    static SERVER: OnceLock<TestServer> = OnceLock::new();
    SERVER.get_or_init(|| {
        let line = Line::requested().unwrap_or_else(|error| panic!("{error}"));
        let Some(path) = std::env::var_os("KITARU_TEST_SERVER_JSON") else {
            let path = shared_server(line);
            return TestServer::read(&path).unwrap_or_else(|error| panic!("{error}"));
        };
        let server = TestServer::read(Path::new(&path)).unwrap_or_else(|error| panic!("{error}"));
        let asked = std::env::var_os(Line::VARIABLE).is_some_and(|name| !name.is_empty());
        assert!(
            !asked || server.line() == line,
            "{} names a {} server, but {}={line}",
            Path::new(&path).display(),
            server.line(),
            Line::VARIABLE,
        );
        server
    })
}

/// The repository's root folder (where `tests/harness/` is).
pub fn repo_root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// The harness's script.
fn harness() -> PathBuf {
    repo_root().join("tests/harness/kitaru_test_server.py")
}

/// Runs the harness's `up` in the new folder `state_dir`: a seeded server of
/// the line `KITARU_TEST_SERVER_LINE` names, that the harness stops once
/// process `watch_pid` has exited. Returns once the server is ready; its
/// messages go to stderr.
pub fn start(state_dir: &Path, watch_pid: u32) -> Result<TestServer, HarnessError> {
    start_line(state_dir, Line::requested()?, watch_pid)
}

fn start_line(state_dir: &Path, line: Line, watch_pid: u32) -> Result<TestServer, HarnessError> {
    std::fs::create_dir_all(state_dir).map_err(|e| {
        HarnessError(format!(
            "cannot create the state dir {}: {e}",
            state_dir.display()
        ))
    })?;
    let mut child = Command::new("python3")
        .arg(harness())
        .arg("up")
        .arg("--line")
        .arg(line.name())
        .arg("--state-dir")
        .arg(state_dir)
        .arg("--watch-pid")
        .arg(watch_pid.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| {
            HarnessError(format!(
                "cannot run python3 {} (is Python 3.11 installed?): {e}",
                harness().display()
            ))
        })?;
    let mut line = String::new();
    let read = child
        .stdout
        .take()
        .map(|stdout| BufReader::new(stdout).read_line(&mut line));
    // `up` returns once the server is ready; its detached watcher stops the
    // server when `watch_pid` exits.
    let status = child.wait();
    let path = PathBuf::from(line.trim());
    let succeeded = matches!(read, Some(Ok(_))) && status.is_ok_and(|s| s.success());
    if !succeeded || line.trim().is_empty() || !path.is_file() {
        return Err(HarnessError(format!(
            "the test-server harness could not start a server in {} (its log is above on stderr)",
            state_dir.display()
        )));
    }
    TestServer::read(&path)
}

/// Runs the harness's `down` for `state_dir` (idempotent).
pub fn stop(state_dir: &Path) -> Result<(), HarnessError> {
    let status = Command::new("python3")
        .arg(harness())
        .arg("down")
        .arg("--state-dir")
        .arg(state_dir)
        .stdin(Stdio::null())
        .status();
    if status.is_ok_and(|status| status.success()) {
        Ok(())
    } else {
        Err(HarnessError(format!(
            "stopping the server in {0} failed: stop it with `python3 \
             tests/harness/kitaru_test_server.py down --state-dir {0}`",
            state_dir.display()
        )))
    }
}

/// The `server.json` of the server this test run shares: the test binaries
/// `cargo test` runs one after the other are children of one cargo process,
/// so the server belongs to that process (its pid and start time name the
/// state dir) and lives as long as it; the first binary to need it starts
/// it, under a file lock, and the later ones find it. A binary run on its
/// own has a server of its own.
fn shared_server(line: Line) -> PathBuf {
    let (owner, start_time) = test_run();
    let servers = repo_root().join("target").join("kitaru-test-servers");
    std::fs::create_dir_all(&servers).expect("create target/kitaru-test-servers");
    let name = format!("{owner}-{start_time}-{line}");
    let lock = std::fs::File::create(servers.join(format!("{name}.lock")))
        .expect("create the test server's lock file");
    lock.lock().expect("lock the test server's lock file");
    let state_dir = servers.join(name);
    let json = state_dir.join("server.json");
    if !json.is_file() {
        start_line(&state_dir, line, owner).unwrap_or_else(|error| panic!("{error}"));
    }
    json
}

/// The process the test server belongs to, and its start time (so that a
/// reused pid names another server): the `cargo` that runs this test
/// binary, or this process when it was not started by cargo.
fn test_run() -> (u32, u64) {
    let own = std::process::id();
    let parent = stat(own).and_then(|fields| fields.first()?.parse::<u32>().ok());
    let cargo = parent.filter(|pid| {
        std::fs::read_to_string(format!("/proc/{pid}/comm"))
            .is_ok_and(|comm| comm.trim() == "cargo")
    });
    let owner = cargo.unwrap_or(own);
    let start_time = stat(owner)
        .and_then(|fields| fields.get(18)?.parse().ok())
        .unwrap_or(0);
    (owner, start_time)
}

/// The fields of `/proc/<pid>/stat` after the command name: `ppid` first,
/// `starttime` 19th.
fn stat(pid: u32) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, after_name) = text.rsplit_once(") ")?;
    // state, ppid, …: skip the state.
    Some(
        after_name
            .split_whitespace()
            .skip(1)
            .map(str::to_owned)
            .collect(),
    )
}
