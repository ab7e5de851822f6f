//! The Kitaru server the benchmark runs against: a fresh one of its own
//! (the test harness's `up` in a new temporary state dir, `down` when the
//! benchmark ends, failures included), so the clones it adds never land on
//! a server tests use; or, to iterate, the one `KITARU_BENCH_SERVER_JSON`
//! names.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::support::TestServer;

/// The server, and the server started here if it was.
pub struct Harness {
    server: TestServer,
    /// `None` for a server the benchmark was given: that one is left running.
    _own: Option<OwnServer>,
}

impl Harness {
    /// The server `server_json` describes, or a fresh one.
    pub fn start(server_json: Option<&Path>) -> Self {
        let Some(path) = server_json else {
            return Self::fresh();
        };
        Self {
            server: read_server_json(path),
            _own: None,
        }
    }

    fn fresh() -> Self {
        let state_dir = tempfile::Builder::new()
            .prefix("kitaru-bench-")
            .tempdir()
            .expect("create a temporary state dir")
            .keep();
        crate::progress(&format!(
            "starting a Kitaru server in {} (30-40 s)",
            state_dir.display()
        ));
        // From here on a panic stops the server.
        let own = OwnServer { state_dir };
        let path = up(&own.state_dir)
            .unwrap_or_else(|| panic!("the test-server harness failed (its messages are above)"));
        Self {
            server: read_server_json(&path),
            _own: Some(own),
        }
    }

    pub fn server(&self) -> &TestServer {
        &self.server
    }
}

/// A server started here: stopped when dropped, and its state dir removed,
/// unless the benchmark is panicking: then the logs there are kept.
struct OwnServer {
    state_dir: PathBuf,
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        crate::progress("stopping the Kitaru server");
        down(&self.state_dir);
        if std::thread::panicking() {
            eprintln!(
                "[bench reference] the server's logs are kept in {}",
                self.state_dir.join("logs").display()
            );
        } else if let Err(error) = std::fs::remove_dir_all(&self.state_dir) {
            eprintln!(
                "[bench reference] cannot remove {}: {error}",
                self.state_dir.display()
            );
        }
    }
}

fn harness_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/harness/kitaru_test_server.py")
}

/// `up`: the path of the `server.json` it wrote, `None` when it failed (its
/// messages went to our stderr).
fn up(state_dir: &Path) -> Option<PathBuf> {
    let mut child = Command::new("python3")
        .arg(harness_script())
        .arg("up")
        .arg("--state-dir")
        .arg(state_dir)
        // Its watcher stops the server should this process die before `down`.
        .arg("--watch-pid")
        .arg(std::process::id().to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("run python3 tests/harness/kitaru_test_server.py (is python3.11 installed?)");
    let mut line = String::new();
    let read =
        BufReader::new(child.stdout.take().expect("the harness's stdout")).read_line(&mut line);
    let succeeded = child.wait().is_ok_and(|status| status.success());
    let path = PathBuf::from(line.trim());
    (read.is_ok() && succeeded && path.is_file()).then_some(path)
}

/// `down`; it is idempotent, and a failure is only reported.
fn down(state_dir: &Path) {
    let status = Command::new("python3")
        .arg(harness_script())
        .arg("down")
        .arg("--state-dir")
        .arg(state_dir)
        .stdin(Stdio::null())
        .status();
    if !status.is_ok_and(|status| status.success()) {
        eprintln!(
            "[bench reference] stopping the server in {} failed: stop it with `python3 \
             tests/harness/kitaru_test_server.py down --state-dir {0}`",
            state_dir.display()
        );
    }
}

fn read_server_json(path: &Path) -> TestServer {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let json: Value = serde_json::from_str(&text).expect("server.json is JSON");
    let url = json["server_url"]
        .as_str()
        .expect("server.json has server_url")
        .trim_end_matches('/')
        .to_owned();
    TestServer { url, json }
}
