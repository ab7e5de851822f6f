//! `kitaru-codegen refresh --from <URL>` against a real kitaru 0.21.0
//! (ZenML 0.98.0) server reproduces the vendored 0.98.0 spec and the
//! committed 0.94.4 → 0.98.0 changelog byte for byte, into a copy of the
//! repository's `openapi/`.
//!
//! Which server, first match wins:
//!
//! 1. `KITARU_REFRESH_TEST_SERVER_URL`: that server's URL;
//! 2. `KITARU_TEST_SERVER_JSON`, when the `server.json` it names is of the
//!    0.21 line (its `line`, or `KITARU_TEST_SERVER_LINE=0.21` when it has
//!    none): its `server_url`;
//! 3. `KITARU_TEST_SERVER_LINE=0.21`: a server of the 0.21 line started for
//!    this test with the harness (`tests/harness/kitaru_test_server.py up
//!    --line 0.21`), stopped after it;
//! 4. otherwise the test is skipped, saying so on stdout.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use kitaru_codegen::{api_tools, tools};

const NEW: &str = "openapi/kitaru-server-0.98.0.openapi.json";
const OLD: &str = "openapi/kitaru-server-0.94.4.openapi.json";
const CHANGELOG: &str = "generated/api-changes-0.94.4-to-0.98.0.md";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn env(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .filter(|value| !value.trim().is_empty())
}

/// A server started by the harness for this test; stopped when dropped.
struct Harness(PathBuf);

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = Command::new("python3")
            .arg(repo().join("tests/harness/kitaru_test_server.py"))
            .args(["down", "--state-dir"])
            .arg(&self.0)
            .status();
    }
}

/// The server's URL and, if this test started it, its harness; or why the
/// test is skipped.
fn server() -> Result<(String, Option<Harness>), String> {
    if let Some(url) = env("KITARU_REFRESH_TEST_SERVER_URL") {
        return Ok((url, None));
    }
    let line = env("KITARU_TEST_SERVER_LINE");
    if let Some(path) = env("KITARU_TEST_SERVER_JSON") {
        let json: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(&path).map_err(|e| format!("cannot read {path}: {e}"))?,
        )
        .map_err(|e| format!("{path} is not JSON: {e}"))?;
        let its_line = json["line"].as_str().map(str::to_owned).or(line.clone());
        if its_line.as_deref() == Some("0.21") {
            let url = json["server_url"]
                .as_str()
                .ok_or_else(|| format!("{path} has no server_url"))?;
            return Ok((url.to_owned(), None));
        }
        return Err(format!(
            "KITARU_TEST_SERVER_JSON names a server of the {} line, not 0.21",
            its_line.as_deref().unwrap_or("0.10")
        ));
    }
    if line.as_deref() != Some("0.21") {
        return Err(
            "no kitaru 0.21 server: set KITARU_REFRESH_TEST_SERVER_URL to one's URL, or \
             KITARU_TEST_SERVER_LINE=0.21 (with KITARU_TEST_SERVER_JSON, or the harness starts one)"
                .to_owned(),
        );
    }
    let state_dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("refresh-server-{}", std::process::id()));
    let harness = Harness(state_dir.clone());
    let output = Command::new("python3")
        .arg(repo().join("tests/harness/kitaru_test_server.py"))
        .args(["up", "--line", "0.21", "--state-dir"])
        .arg(&state_dir)
        .args(["--watch-pid", &std::process::id().to_string()])
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .expect("python3 runs the harness");
    let path = String::from_utf8_lossy(&output.stdout)
        .lines()
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned();
    assert!(
        output.status.success() && !path.is_empty(),
        "the harness could not start a 0.21 server (above)"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let url = json["server_url"]
        .as_str()
        .expect("server.json has server_url")
        .to_owned();
    Ok((url, Some(harness)))
}

#[test]
fn a_refresh_from_a_0_98_server_reproduces_the_vendored_spec_and_changelog() {
    let (url, _harness) = match server() {
        Ok(found) => found,
        Err(why) => {
            println!("skipped: {why}");
            return;
        }
    };
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("refresh/real-server");
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(root.join("openapi")).unwrap();
    for file in ["openapi/api_tools.toml", "openapi/tools.toml", OLD] {
        std::fs::copy(repo().join(file), root.join(file)).unwrap();
    }

    let output = Command::new(env!("CARGO_BIN_EXE_kitaru-codegen"))
        .args(["refresh", "--from", &url, "--no-regenerate", "--root"])
        .arg(&root)
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert!(
        stdout.contains("server API 0.98.0: wrote openapi/kitaru-server-0.98.0.openapi.json (new)"),
        "the server at {url} is not a 0.98.0 one, or the refresh failed:\n{stdout}\n{stderr}"
    );
    let written = std::fs::read(root.join(NEW)).unwrap();
    assert!(
        written == std::fs::read(repo().join(NEW)).unwrap(),
        "the document {url} serves, stored, differs from {NEW}: `diff {} {}`",
        root.join(NEW).display(),
        repo().join(NEW).display()
    );
    let changelog = std::fs::read(root.join(CHANGELOG)).unwrap();
    assert!(
        changelog == std::fs::read(repo().join(CHANGELOG)).unwrap(),
        "the changelog differs from {CHANGELOG}: `diff {} {}`",
        root.join(CHANGELOG).display(),
        repo().join(CHANGELOG).display()
    );

    // The exit code is the build's verdict on the spec: 1 while the build's
    // decision check fails on it (today: its operations are undecided).
    let spec: serde_json::Value = serde_json::from_slice(&written).unwrap();
    let read = |file: &str| std::fs::read_to_string(repo().join(file)).unwrap();
    let coverage = tools::generate(&read("openapi/tools.toml"), "tools.toml")
        .unwrap()
        .coverage;
    let build_fails = api_tools::generate(
        &spec,
        &read("openapi/api_tools.toml"),
        "api_tools.toml",
        &coverage,
    )
    .is_err();
    assert_eq!(
        output.status.code(),
        Some(if build_fails { 1 } else { 0 }),
        "{stdout}\n{stderr}"
    );
}
