//! The SDK stands alone: a program outside the workspace
//! (`examples/standalone-sdk`) that depends on `kitaru-sdk` by path builds
//! without the MCP layer, connects the way the CLI does in one call, lists
//! executions and reads an artifact's value from the seeded server.

use std::path::{Path, PathBuf};

use kitaru_testkit::server;

fn manifest() -> PathBuf {
    kitaru_testkit::repo_root().join("examples/standalone-sdk/Cargo.toml")
}

#[test]
fn a_program_outside_the_workspace_reads_executions_and_an_artifact_value() {
    let server = server();
    let flow = server.str("/seed/completed/flow_name");
    let first = &server.get("/seed/completed/artifacts")[0];
    // Its own target directory: the build lock of this workspace's stays free.
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("standalone-sdk");
    // This process's environment, toolchain settings included (a cleared
    // one would let rustup pick, or even fetch, another toolchain), plus the
    // CLI environment of the test server and its project folder.
    let output = std::process::Command::new(env!("CARGO"))
        .args(["run", "--quiet", "--locked", "--manifest-path"])
        .arg(manifest())
        .arg("--")
        .arg(flow)
        .envs(server.env())
        .current_dir(server.str("/project_dir"))
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .expect("cargo runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.starts_with(&format!("connected to {}", server.url)),
        "{stdout}"
    );
    let executions = stdout
        .lines()
        .filter(|l| l.starts_with("execution "))
        .count();
    assert!((1..=5).contains(&executions), "{stdout}");
    let expected = format!(
        "artifact {} = {}",
        first["name"].as_str().unwrap(),
        first["value"]
    );
    assert!(
        stdout.lines().any(|line| line == expected),
        "{expected} not in {stdout}"
    );
}
