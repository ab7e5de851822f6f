//! The Python wheel: built with maturin from `packaging/`, installed into a
//! fresh virtual environment with nothing else, and the `kitaru-mcp` it puts
//! on that environment's PATH answers MCP against the test server.

use std::path::Path;
use std::process::Command;

use serde_json::json;

use kitaru_testkit::{StdioPeer, server};

/// The maturin the wheel is built with (its own environment).
const MATURIN: &str = "maturin==1.16.0";

fn run(command: &mut Command) {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A virtual environment at `dir` made by the harness's `python3`.
fn venv(dir: &Path) {
    run(Command::new("python3").args(["-m", "venv"]).arg(dir));
}

#[test]
fn the_wheel_puts_a_working_kitaru_mcp_on_path() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let work = tempfile::tempdir().unwrap();
    let (tools, wheels, env) = (
        work.path().join("tools"),
        work.path().join("wheels"),
        work.path().join("env"),
    );

    venv(&tools);
    run(Command::new(tools.join("bin/pip")).args(["install", "--quiet", MATURIN]));
    // A target folder of its own: `cargo test` holds the workspace's.
    run(Command::new(tools.join("bin/maturin"))
        .args(["build", "--profile", "wheel-test", "--out"])
        .arg(&wheels)
        .current_dir(root.join("packaging"))
        .env("CARGO_TARGET_DIR", root.join("target/wheel-test")));
    let wheel = std::fs::read_dir(&wheels)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .find(|path| path.extension().is_some_and(|ext| ext == "whl"))
        .expect("a wheel was built");
    let name = wheel.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with(&format!("kitaru_mcp_rs-{}-", env!("CARGO_PKG_VERSION"))),
        "{name}"
    );

    // Only the wheel: no index, no other package.
    venv(&env);
    run(Command::new(env.join("bin/pip"))
        .args(["install", "--quiet", "--no-index"])
        .arg(&wheel));
    let installed = env.join("bin/kitaru-mcp");
    assert!(installed.is_file(), "kitaru-mcp on the environment's PATH");
    let version = Command::new(&installed).arg("--version").output().unwrap();
    assert!(
        String::from_utf8_lossy(&version.stdout)
            .starts_with(concat!("kitaru-mcp ", env!("CARGO_PKG_VERSION"))),
        "{version:?}"
    );

    let mut peer = StdioPeer::start(server().command(installed.to_str().unwrap()));
    let stacks = peer.call("kitaru_stacks_list", json!({}));
    assert!(!stacks.is_error, "{:?}", stacks.texts);
    assert!(
        stacks.structured.unwrap()["result"]
            .as_array()
            .unwrap()
            .iter()
            .any(|stack| stack["name"] == "default")
    );
}
