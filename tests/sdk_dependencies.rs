//! The SDK crates compile without the MCP layer: neither rmcp nor clap is in
//! the normal dependency tree of `kitaru-client` or `kitaru-sdk` (schemars
//! only behind the SDK's optional `schemars` feature), nor of a program
//! outside the workspace that depends on the SDK.

use std::path::Path;
use std::process::Command;

/// The crates in the normal dependency tree `cargo tree` prints for `args`.
fn tree(args: &[&str]) -> Vec<String> {
    let output = Command::new(env!("CARGO"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "tree", "--locked", "-e", "normal", "--prefix", "none", "--format", "{p}",
        ])
        .args(args)
        .output()
        .expect("cargo tree runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

fn assert_free_of(crates: &[String], forbidden: &[&str], what: &str) {
    assert!(!crates.is_empty(), "cargo tree listed nothing for {what}");
    for name in forbidden {
        assert!(
            !crates.iter().any(|c| c == name),
            "{what} depends on {name}"
        );
    }
}

#[test]
fn the_sdk_crates_depend_on_neither_rmcp_nor_clap() {
    for package in ["kitaru-client", "kitaru-sdk"] {
        let crates = tree(&["-p", package]);
        assert_free_of(&crates, &["rmcp", "clap", "schemars"], package);
    }
    // The feature brings the JSON schemas, and nothing of MCP.
    let with_schemas = tree(&["-p", "kitaru-sdk", "--features", "schemars"]);
    assert!(with_schemas.iter().any(|c| c == "schemars"));
    assert_free_of(&with_schemas, &["rmcp", "clap"], "kitaru-sdk[schemars]");
    // The MCP crate itself does have them: the check can tell.
    let server = tree(&["-p", "kitaru-mcp"]);
    assert!(server.iter().any(|c| c == "rmcp") && server.iter().any(|c| c == "clap"));
}

#[test]
fn a_program_outside_the_workspace_gets_no_mcp_crates() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/standalone-sdk/Cargo.toml");
    let crates = tree(&["--manifest-path", manifest.to_str().unwrap()]);
    assert!(crates.iter().any(|c| c == "kitaru-sdk"));
    assert_free_of(
        &crates,
        &["rmcp", "clap", "schemars"],
        "examples/standalone-sdk",
    );
}
