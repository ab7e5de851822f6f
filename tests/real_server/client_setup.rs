//! `kitaru-mcp config <client>`: each client's entry parses, starts this
//! binary with the server flags given before `config`, and serves the real
//! server through it; `--write` merges the entry into the client's file
//! (in a home and a project folder of the test's own), keeping the rest.

use std::path::Path;
use std::process::Output;

use serde_json::{Value, json};

use kitaru_testkit::{StdioPeer, server};

const CLIENTS: [(&str, &str); 4] = [
    ("claude-code", "mcpServers"),
    ("claude-desktop", "mcpServers"),
    ("cursor", "mcpServers"),
    ("vscode", "servers"),
];

/// `kitaru-mcp <args>` with `home` as HOME, in folder `project`.
fn kitaru_mcp(args: &[&str], home: &Path, project: &Path) -> Output {
    let mut command = crate::support::kitaru_mcp();
    command
        .args(args)
        .env("HOME", home)
        .current_dir(project)
        .output()
        .expect("kitaru-mcp runs")
}

#[test]
fn each_clients_entry_starts_this_server_with_the_flags_given() {
    let home = tempfile::tempdir().unwrap();
    let project = tempfile::tempdir().unwrap();
    let flags = ["--read-only", "--toolsets", "executions"];
    // What this binary offers started with those flags directly.
    let offered: Vec<String> = crate::support::ours(&flags)
        .tools()
        .iter()
        .map(|tool| tool["name"].as_str().unwrap().to_owned())
        .collect();
    for (client, key) in CLIENTS {
        let mut args = flags.to_vec();
        args.extend(["config", client]);
        let output = kitaru_mcp(&args, home.path(), project.path());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{client}: {stderr}");
        let printed: Value = serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|e| panic!("{client}: not JSON ({e})"));
        let entry = &printed[key]["kitaru"];
        assert_eq!(entry["args"], json!(flags), "{client}: {printed}");
        assert_eq!(entry.get("type").is_some(), client == "vscode", "{printed}");
        let program = entry["command"].as_str().unwrap();
        assert!(Path::new(program).is_absolute(), "{program}");
        // Nothing was written without --write; where it would go is said.
        assert_eq!(std::fs::read_dir(home.path()).unwrap().count(), 0);
        assert!(stderr.contains("reads this from"), "{stderr}");
        assert_eq!(
            stderr.contains("install it in one click"),
            client == "cursor" || client == "vscode",
            "{stderr}"
        );

        // The entry, started as the client would, serves the real server
        // with its flags: the executions toolset, read-only.
        let mut command = server().command(program);
        command.args(
            entry["args"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap()),
        );
        let mut peer = StdioPeer::start(command);
        let tools: Vec<String> = peer
            .tools()
            .iter()
            .map(|tool| tool["name"].as_str().unwrap().to_owned())
            .collect();
        assert!(
            tools.contains(&"kitaru_executions_list".to_owned()),
            "{tools:?}"
        );
        assert!(
            !tools.contains(&"kitaru_executions_cancel".to_owned()),
            "{tools:?}"
        );
        assert_eq!(tools, offered, "{client}");
        let listed = peer.call("kitaru_executions_list", json!({"limit": 1}));
        assert!(!listed.is_error, "{:?}", listed.texts);
    }
    // An entry for a client never serves HTTP.
    let output = kitaru_mcp(
        &["--http", "8765", "config", "cursor"],
        home.path(),
        project.path(),
    );
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("leave --http out"));
}

#[test]
fn writing_merges_the_entry_into_each_clients_file() {
    let home = tempfile::tempdir().unwrap();
    let project = tempfile::tempdir().unwrap();
    let files = [
        ("claude-code", project.path().join(".mcp.json")),
        (
            "claude-desktop",
            home.path()
                .join(".config/Claude/claude_desktop_config.json"),
        ),
        ("cursor", home.path().join(".cursor/mcp.json")),
        ("vscode", project.path().join(".vscode/mcp.json")),
    ];
    // Cursor's file has another server and a setting of its own.
    std::fs::create_dir_all(home.path().join(".cursor")).unwrap();
    std::fs::write(
        &files[2].1,
        r#"{"mcpServers": {"other": {"command": "other-server"}}, "keep": true}"#,
    )
    .unwrap();
    for ((client, key), (_, file)) in CLIENTS.iter().zip(&files) {
        let output = kitaru_mcp(&["config", client, "--write"], home.path(), project.path());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{client}: {stderr}");
        assert!(stderr.contains(&file.display().to_string()), "{stderr}");
        let written: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        assert_eq!(written[key]["kitaru"]["args"], json!([]), "{written}");
        // Again: nothing changes.
        let again = kitaru_mcp(&["config", client, "--write"], home.path(), project.path());
        assert!(String::from_utf8_lossy(&again.stderr).contains("already had"));
    }
    let cursor: Value =
        serde_json::from_str(&std::fs::read_to_string(&files[2].1).unwrap()).unwrap();
    assert_eq!(cursor["keep"], true);
    assert_eq!(cursor["mcpServers"]["other"]["command"], "other-server");

    // Other flags replace the entry; another name is another entry.
    let output = kitaru_mcp(
        &[
            "--read-only",
            "config",
            "cursor",
            "--write",
            "--name",
            "kitaru-ro",
        ],
        home.path(),
        project.path(),
    );
    assert!(output.status.success());
    let cursor: Value =
        serde_json::from_str(&std::fs::read_to_string(&files[2].1).unwrap()).unwrap();
    assert_eq!(
        cursor["mcpServers"]["kitaru-ro"]["args"],
        json!(["--read-only"])
    );
    assert_eq!(cursor["mcpServers"]["kitaru"]["args"], json!([]));

    // A file that is not a JSON object is left as it is.
    std::fs::write(&files[3].1, "{ broken").unwrap();
    let output = kitaru_mcp(
        &["config", "vscode", "--write"],
        home.path(),
        project.path(),
    );
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("nothing was written"));
    assert_eq!(std::fs::read_to_string(&files[3].1).unwrap(), "{ broken");
}
