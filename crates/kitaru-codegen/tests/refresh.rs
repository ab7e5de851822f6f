//! `kitaru-codegen refresh` on files: the vendored 0.94.4 → 0.98.0 changelog
//! is the committed one, a refresh into a fake repository writes and checks
//! what it should, and bad inputs say what is wrong (with the exit codes the
//! command documents). The same command against a real server:
//! `refresh_real_server.rs`.
//!
//! After an intended change to the changelog (or to the decisions it
//! reports on), refresh the committed copy with
//!
//! ```text
//! KITARU_UPDATE_GENERATED=1 cargo test -p kitaru-codegen --test refresh
//! ```

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::LazyLock;

use kitaru_codegen::refresh::{self, Options, Report};
use kitaru_codegen::suggest::Suggested;
use kitaru_codegen::vendored;
use kitaru_codegen::{api_tools, tools};
use serde_json::{Value, json};

/// The repository root.
fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn repo_file(path: &str) -> Vec<u8> {
    std::fs::read(repo().join(path)).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

const OLD: &str = "openapi/kitaru-server-0.94.4.openapi.json";
const NEW: &str = "openapi/kitaru-server-0.98.0.openapi.json";
const CHANGELOG: &str = "generated/api-changes-0.94.4-to-0.98.0.md";

/// A fresh folder with the repository's decision files in `openapi/` and
/// the given vendored specs (repository paths, or names and documents).
fn fake_root(name: &str, specs: &[&str], documents: &[(&str, &Value)]) -> PathBuf {
    let root = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("refresh")
        .join(name);
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(root.join("openapi")).unwrap();
    for file in ["openapi/api_tools.toml", "openapi/tools.toml"]
        .iter()
        .chain(specs)
    {
        std::fs::write(root.join(file), repo_file(file)).unwrap();
    }
    for (file, document) in documents {
        std::fs::write(
            root.join("openapi").join(file),
            serde_json::to_vec(document).unwrap(),
        )
        .unwrap();
    }
    root
}

fn options(root: &Path) -> Options {
    Options {
        root: root.to_owned(),
        regenerate: false,
        cargo: "cargo".into(),
    }
}

fn read(root: &Path, file: &str) -> String {
    std::fs::read_to_string(root.join(file)).unwrap_or_else(|e| panic!("cannot read {file}: {e}"))
}

/// The vendored 0.98.0 document refreshed into a copy of the repository's
/// `openapi/` (which has it already: it is replaced, and compared with
/// 0.94.4).
static VENDORED_0_98: LazyLock<(PathBuf, Report)> = LazyLock::new(|| {
    let root = fake_root("vendored-0.98.0", &[OLD, NEW], &[]);
    let report = refresh::refresh(&repo_file(NEW), &options(&root)).expect("the refresh runs");
    (root, report)
});

/// The operations 0.98.0 added, which `api_tools.toml` decides since.
const ADDED_IN_0_98: [&str; 19] = [
    "create_hook_invocation",
    "delete_hook_invocation",
    "get_hook_invocation",
    "list_hook_invocations",
    "get_logs_entries",
    "prune_pipeline_snapshots",
    "release_resource_request",
    "renew_resource_request",
    "get_run_statistics",
    "publish_run_events",
    "stream_run_events",
    "list_webhooks",
    "create_webhook",
    "delete_webhook",
    "get_webhook",
    "update_webhook",
    "get_raw_webhook_event",
    "rotate_webhook_secret",
    "receive_webhook_event",
];

/// The first refresh to 0.98.0, as it met the repository: 0.98.0 arriving
/// next to 0.94.4 with `api_tools.toml` deciding none of its new operations
/// (the repository's file without their lines and without the
/// `password_changed_at` entry).
static FIRST_0_98: LazyLock<(PathBuf, Report)> = LazyLock::new(|| {
    let root = fake_root("first-0.98.0", &[OLD], &[]);
    let decisions = String::from_utf8(repo_file("openapi/api_tools.toml")).unwrap();
    let before: String = decisions
        .lines()
        .filter(|line| {
            !line.contains("password_changed_at")
                && !ADDED_IN_0_98
                    .iter()
                    .any(|name| line.starts_with(&format!("{name} =")))
        })
        .map(|line| format!("{line}\n"))
        .collect();
    std::fs::write(root.join("openapi/api_tools.toml"), before).unwrap();
    let report = refresh::refresh(&repo_file(NEW), &options(&root)).expect("the refresh runs");
    (root, report)
});

#[test]
fn the_vendored_0_98_0_changelog_is_the_committed_one() {
    let (root, report) = &*VENDORED_0_98;
    assert_eq!(report.version, "0.98.0");
    assert_eq!(report.spec_file, NEW);
    let (previous, file, _) = report.changelog.as_ref().expect("a changelog");
    assert_eq!((previous.as_str(), file.as_str()), ("0.94.4", CHANGELOG));

    assert!(
        read(root, NEW).as_bytes() == repo_file(NEW),
        "the refresh does not reproduce {NEW}: is it in its stored form?"
    );
    assert_eq!(report.replaced, Some(true), "the same bytes were there");

    let fresh = read(root, CHANGELOG);
    let committed = std::fs::read_to_string(repo().join(CHANGELOG)).unwrap_or_default();
    if fresh != committed {
        if std::env::var_os("KITARU_UPDATE_GENERATED").is_some_and(|v| v == "1") {
            std::fs::write(repo().join(CHANGELOG), &fresh).unwrap();
        } else {
            panic!(
                "{CHANGELOG} is not what the refresh writes (the decision files or the changelog \
                 changed); review the difference and refresh it with\n  \
                 KITARU_UPDATE_GENERATED=1 cargo test -p kitaru-codegen --test refresh"
            );
        }
    }
}

#[test]
fn the_0_98_0_changelog_names_what_the_server_added_and_dropped() {
    let (root, _) = &*FIRST_0_98;
    let changelog = read(root, CHANGELOG);
    for expected in [
        "# Kitaru server API: changes from 0.94.4 to 0.98.0",
        "- Operations: 19 added, 11 removed,",
        "| POST | `/api/v1/runs/statistics` | `get_run_statistics` | Get Run Statistics |",
        "| GET | `/api/v1/runs/{pipeline_run_id}/events/stream` | `stream_run_events` | Stream Run Events |",
        "| POST | `/api/v1/webhooks` | `create_webhook` | Create Webhook |",
        "| PUT | `/api/v1/webhooks/{webhook_id}/secret` | `rotate_webhook_secret` |",
        "| GET | `/api/v1/resource_pools` | `list_resource_pools` | List Resource Pools | exposed |",
        "### GET `/api/v1/triggers` (`list_triggers`)",
        "- parameter added: `webhook_id` (query, optional)",
        "### `TriggerType`\n\n- values added: `\"webhook\"`",
        "### `UserResponseMetadata`",
        "| `WebhookCreateResponse` | object, 7 fields |",
        "| `UserResponseMetadata.password_changed_at` | `string(date-time) \\| null` |",
        "\"UserResponseMetadata.password_changed_at\",  # a time, which holds no secret",
        "stream_run_events = { hide = \"streams events",
        "create_webhook = { hide = \"answers with a credential (`secret`)\" }",
        "rotate_webhook_secret = { hide = ",
        "get_run_statistics = \"expose\"",
        "list_webhooks = \"expose\"",
    ] {
        assert!(
            changelog.contains(expected),
            "the changelog lacks {expected:?}"
        );
    }
}

#[test]
fn the_0_98_0_suggestions_never_expose_a_credential_and_hide_the_stream() {
    let (_, report) = &*FIRST_0_98;
    let decision = |name: &str| {
        report
            .needed
            .iter()
            .find(|s| s.operation.name == name)
            .unwrap_or_else(|| panic!("{name} needs no decision"))
            .decision
            .clone()
    };
    for hidden in [
        "create_webhook",
        "rotate_webhook_secret",
        "stream_run_events",
        "receive_webhook_event",
    ] {
        assert!(matches!(decision(hidden), Suggested::Hide(_)), "{hidden}");
    }
    for exposed in ["get_run_statistics", "list_webhooks", "get_logs_entries"] {
        assert_eq!(decision(exposed), Suggested::Expose, "{exposed}");
    }
    assert_eq!(report.needed.len(), 19);
    // The build's decision check fails on 0.98.0 as the repository decides
    // today (its new operations are undecided; exposed answers embedding a
    // user hold `password_changed_at`); the refresh says so, and that its
    // proposed lines make the check pass.
    let problem = report.blocking.join("\n");
    assert!(
        problem.contains("no decision") || problem.contains("password_changed_at"),
        "{problem}"
    );
    assert!(problem.contains("that check passes"), "{problem}");
}

#[test]
fn vendored_specs_are_in_their_stored_form() {
    let vendored = vendored::list(&repo().join("openapi")).unwrap();
    let versions: Vec<&str> = vendored.iter().map(|f| f.version.as_str()).collect();
    assert!(versions.starts_with(&["0.94.4", "0.98.0"]), "{versions:?}");
    for file in &vendored {
        let bytes = std::fs::read(&file.path).unwrap();
        let stored = vendored::stored_form(&bytes).unwrap();
        assert_eq!(stored.version, file.version, "{}", file.path.display());
        assert!(
            stored.text.as_bytes() == bytes,
            "{} is not in its stored form: refresh it from itself (docs/api-changes.md)",
            file.path.display()
        );
    }
}

/// The vendored 0.94.4 document as served, changed into a "0.94.5": a new
/// plain operation, a new one answering a token, a parameter retyped and
/// one removed, an operation dropped.
fn next_version() -> Value {
    let mut doc: Value = serde_json::from_slice(&repo_file(OLD)).unwrap();
    doc["info"]["version"] = json!("0.94.5");
    doc["paths"]["/api/v1/brand_new"] = json!({"get": {
        "tags": ["brand_new"], "summary": "List Brand New Things",
        "operationId": "list_brand_new_things_api_v1_brand_new_get",
        "responses": {"200": {"description": "ok", "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/BrandNew"}}}}}}});
    doc["paths"]["/api/v1/brand_new/token"] = json!({"post": {
        "tags": ["brand_new"], "summary": "Issue Brand New Token",
        "operationId": "issue_brand_new_token_api_v1_brand_new_token_post",
        "responses": {"200": {"description": "ok", "content": {"application/json": {
            "schema": {"type": "object", "properties": {"refresh_token": {"type": "string"}}}}}}}}});
    doc["components"]["schemas"]["BrandNew"] = json!({"type": "object",
        "properties": {"id": {"type": "string", "format": "uuid"}, "name": {"type": "string"}},
        "required": ["id"]});
    let tags = doc["paths"]["/api/v1/tags"]["get"]["parameters"]
        .as_array_mut()
        .unwrap();
    for parameter in tags.iter_mut() {
        if parameter["name"] == "name" {
            parameter["schema"] = json!({"type": "integer"});
        }
    }
    tags.retain(|parameter| parameter["name"] != "hydrate");
    doc["paths"]["/api/v1/tags/{tag_id}"]
        .as_object_mut()
        .unwrap()
        .remove("delete");
    doc
}

/// Whether the build fails on an operation nobody decided (today's
/// `api_tools`), or hides it until it is decided.
fn undecided_fails_the_build() -> bool {
    let mut doc: Value = serde_json::from_slice(&repo_file(OLD)).unwrap();
    doc["paths"]["/api/v1/undecided"] = json!({"get": {"operationId": "undecided_thing",
        "responses": {"200": {"description": "ok"}}}});
    let text = |file: &str| String::from_utf8(repo_file(file)).unwrap();
    let coverage = tools::generate(&text("openapi/tools.toml"), "tools.toml")
        .unwrap()
        .coverage;
    api_tools::generate(
        &doc,
        &text("openapi/api_tools.toml"),
        "api_tools.toml",
        &coverage,
    )
    .is_err()
}

/// The command, run in `root` (without regenerating).
fn command(root: &Path, from: &str) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_kitaru-codegen"))
        .args(["refresh", "--from", from, "--no-regenerate", "--root"])
        .arg(root)
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn a_refresh_from_a_file_writes_the_spec_and_the_changelog_and_blocks_until_decided() {
    let root = fake_root("next-version", &[OLD], &[]);
    let source = root.join("served.json");
    std::fs::write(&source, serde_json::to_vec(&next_version()).unwrap()).unwrap();
    let (code, stdout, stderr) = command(&root, source.to_str().unwrap());
    // Today's build fails on an undecided operation: the refresh exits 1.
    // A build that hid undecided operations would accept it: exit 0.
    let expected = if undecided_fails_the_build() { 1 } else { 0 };
    assert_eq!(code, expected, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("wrote openapi/kitaru-server-0.94.5.openapi.json (new)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("generated/api-changes-0.94.4-to-0.94.5.md"),
        "{stdout}"
    );
    assert!(
        stderr.contains("2 operation(s)") && stderr.contains("have no decision"),
        "{stderr}"
    );
    assert!(
        stderr.contains("`delete_tag`"),
        "the dropped decision is noted: {stderr}"
    );

    let spec = read(&root, "openapi/kitaru-server-0.94.5.openapi.json");
    let stored = vendored::stored_form(&std::fs::read(&source).unwrap()).unwrap();
    assert!(
        spec == stored.text && spec.starts_with("{\n  \""),
        "the stored form"
    );
    let changelog = read(&root, "generated/api-changes-0.94.4-to-0.94.5.md");
    for expected in [
        "- Operations: 2 added, 1 removed, 1 changed.",
        "| GET | `/api/v1/brand_new` | `list_brand_new_things` | List Brand New Things |",
        "| DELETE | `/api/v1/tags/{tag_id}` | `delete_tag` | Delete Tag | exposed |",
        "### GET `/api/v1/tags` (`list_tags`)\n\n\
         - parameter removed: `hydrate` (query)\n\
         - parameter retyped (query): `name`: `string | null` → `integer`\n",
        "| `BrandNew` | object, 2 fields |",
        "| `issue_brand_new_token` | POST | `/api/v1/brand_new/token` | hide: answers with a \
         credential (`refresh_token`) |",
        "# brand_new\nissue_brand_new_token = { hide = \"answers with a credential \
         (`refresh_token`)\" }\nlist_brand_new_things = \"expose\"\n",
    ] {
        assert!(
            changelog.contains(expected),
            "the changelog lacks {expected:?}:\n{changelog}"
        );
    }

    // Decided as suggested, the same refresh passes.
    let decisions = root.join("openapi/api_tools.toml");
    let mut text = std::fs::read_to_string(&decisions).unwrap();
    text.push_str(
        "issue_brand_new_token = { hide = \"answers with a token\" }\nlist_brand_new_things = \"expose\"\n",
    );
    std::fs::write(&decisions, text).unwrap();
    let (code, stdout, stderr) = command(&root, source.to_str().unwrap());
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("(replaced, the same bytes)"), "{stdout}");
    let changelog = read(&root, "generated/api-changes-0.94.4-to-0.94.5.md");
    assert!(
        changelog.contains("- Operations that need a decision in `openapi/api_tools.toml`: 0.")
    );
}

#[test]
fn a_curated_tool_covering_a_dropped_operation_is_pointed_out() {
    let mut doc = next_version();
    doc["paths"]
        .as_object_mut()
        .unwrap()
        .remove("/api/v1/runs/{run_id}/stop");
    let root = fake_root("dropped-covered", &[OLD], &[]);
    let report = refresh::refresh(&serde_json::to_vec(&doc).unwrap(), &options(&root)).unwrap();
    // The merged client still has it (0.94.4 does): the build goes on, and
    // the note says the tool will answer that such a server lacks it.
    assert!(report.blocking.is_empty(), "{:?}", report.blocking);
    let notes = report.notes.join("\n");
    assert!(
        notes.contains("covers `stop_run`") && notes.contains("no longer has"),
        "{notes}"
    );
}

#[test]
fn without_an_older_spec_there_is_no_changelog() {
    let root = fake_root("oldest", &[NEW], &[]);
    let report = refresh::refresh(&repo_file(OLD), &options(&root)).unwrap();
    assert!(report.changelog.is_none());
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.contains("no vendored spec is older than 0.94.4"))
    );
    assert!(report.blocking.is_empty(), "{:?}", report.blocking);
    assert!(!root.join("generated").exists());
    assert!(read(&root, OLD).as_bytes() == repo_file(OLD));
}

#[test]
fn the_previous_spec_is_the_greatest_lower_version() {
    let mut older = next_version();
    older["info"]["version"] = json!("0.9.9");
    let root = fake_root(
        "previous",
        &[OLD, NEW],
        &[("kitaru-server-0.9.9.openapi.json", &older)],
    );
    let mut doc = next_version();
    doc["info"]["version"] = json!("0.95.0");
    let report = refresh::refresh(&serde_json::to_vec(&doc).unwrap(), &options(&root)).unwrap();
    let (previous, file, _) = report.changelog.unwrap();
    assert_eq!(previous, "0.94.4");
    assert_eq!(file, "generated/api-changes-0.94.4-to-0.95.0.md");
}

#[test]
fn bad_input_says_what_is_wrong() {
    let root = fake_root("bad-input", &[OLD], &[]);
    let write = |name: &str, text: &str| {
        let path = root.join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let cases: Vec<(String, i32, &str)> = vec![
        (write("page.html", "<html></html>"), 1, "it is not JSON"),
        (
            write("swagger.json", r#"{"swagger": "2.0", "paths": {}}"#),
            1,
            "no `openapi` field",
        ),
        (
            write(
                "no-version.json",
                r#"{"openapi": "3.1.0", "info": {}, "paths": {}}"#,
            ),
            1,
            "no `info.version`",
        ),
        (
            write(
                "bad-version.json",
                r#"{"openapi": "3.1.0", "info": {"version": "../x"}, "paths": {}}"#,
            ),
            1,
            "cannot name a file",
        ),
        (
            root.join("missing.json").to_str().unwrap().to_owned(),
            2,
            "cannot read",
        ),
        (
            "ftp://example.com".to_owned(),
            2,
            "only http:// and https://",
        ),
        ("http://127.0.0.1:9".to_owned(), 2, "Is the server up"),
    ];
    for (from, expected_code, message) in cases {
        let (code, stdout, stderr) = command(&root, &from);
        assert_eq!(code, expected_code, "{from}: {stdout}\n{stderr}");
        assert!(stderr.contains(message), "{from}: {stderr}");
    }
    let written: Vec<String> = std::fs::read_dir(root.join("openapi"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".openapi.json"))
        .collect();
    assert_eq!(
        written,
        ["kitaru-server-0.94.4.openapi.json"],
        "nothing was written"
    );
    assert!(!root.join("generated").exists());

    let usage = |args: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_kitaru-codegen"))
            .args(args)
            .output()
            .unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let root = root.to_str().unwrap();
    for (args, message) in [
        (vec!["refresh", "--root", root], "--from is required"),
        (vec!["refresh", "--from"], "--from needs a value"),
        (
            vec!["refresh", "--from", "x.json", "--frobnicate"],
            "unknown argument",
        ),
        (vec!["regenerate"], "unknown command"),
        (
            vec!["refresh", "--from", "x.json", "--root", "/"],
            "give the repository's root",
        ),
    ] {
        let (code, stderr) = usage(&args);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
    let help = Command::new(env!("CARGO_BIN_EXE_kitaru-codegen"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("docs/api-changes.md"));
}
