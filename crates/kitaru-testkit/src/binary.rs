//! Our `kitaru-mcp` binary, started against a test server.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::peer::StdioPeer;
use crate::server::{HarnessError, TestServer};

/// The binary at a known path: `env!("CARGO_BIN_EXE_kitaru-mcp")` in the
/// root crate's tests and benchmark, [`McpBinary::build`] elsewhere.
#[derive(Clone, Debug)]
pub struct McpBinary(PathBuf);

impl McpBinary {
    /// The binary at `path`.
    pub fn at(path: impl Into<PathBuf>) -> Self {
        Self(path.into())
    }

    /// The binary of the profile the running program was built with (the
    /// `target/<profile>` folder above it), brought up to date with cargo
    /// first: `cargo run --example` builds the example, not the binary.
    pub fn build() -> Result<Self, HarnessError> {
        let failed = |what: String| HarnessError(what);
        let exe = std::env::current_exe()
            .map_err(|e| failed(format!("cannot find the running program: {e}")))?;
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .ok_or_else(|| failed(format!("{} is not in target/<profile>/…", exe.display())))?;
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut build = Command::new(cargo);
        build.current_dir(crate::server::repo_root()).args([
            "build",
            "--quiet",
            "--bin",
            "kitaru-mcp",
        ]);
        if profile_dir.ends_with("release") {
            build.arg("--release");
        }
        if !build.status().is_ok_and(|status| status.success()) {
            return Err(failed("cargo build --bin kitaru-mcp failed".to_owned()));
        }
        Ok(Self(profile_dir.join("kitaru-mcp")))
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// The binary set up to reach `server` as a user's shell would
    /// ([`TestServer::command`]).
    pub fn command(&self, server: &TestServer) -> Command {
        server.command(&self.0)
    }

    /// The binary started against `server` over stdio, handshake done.
    pub fn stdio(&self, server: &TestServer) -> StdioPeer {
        StdioPeer::start(self.command(server))
    }
}
