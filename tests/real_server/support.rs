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
    let path = PathBuf::from(line.trim());
    if line.trim().is_empty() || !path.exists() {
        let status = child.wait().expect("wait for the harness");
        panic!("the test-server harness failed ({status}); its log is above on stderr");
    }
    path
}
