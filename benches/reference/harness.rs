//! The Kitaru server the benchmark runs against: a fresh one of its own
//! (the test harness's `up` in a new temporary state dir, `down` when the
//! benchmark ends, failures included), so the clones it adds never land on
//! a server tests use; or, to iterate, the one `KITARU_BENCH_SERVER_JSON`
//! names.

use std::path::{Path, PathBuf};

use kitaru_testkit::TestServer;

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
            server: TestServer::read(path).unwrap_or_else(|error| panic!("{error}")),
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
        // From here on a panic stops the server; the harness's watcher stops
        // it should this process die before.
        let own = OwnServer { state_dir };
        let server = kitaru_testkit::start(&own.state_dir, std::process::id())
            .unwrap_or_else(|error| panic!("{error}"));
        Self {
            server,
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
        if let Err(error) = kitaru_testkit::stop(&self.state_dir) {
            eprintln!("[bench reference] {error}");
        }
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
