//! Security against a real server, as an attacker would try it: memory
//! names and stored URIs that lead out of the artifact store, read-only
//! mode through tasks and elicitation, forged task ids, and values in logs.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

use kitaru_sdk::memory::{self, MemoryScope};

use kitaru_testkit::{
    StdioPeer, executions_lock, register_memory_version, server, start_waiting_executions,
    stored_uri,
};

fn kitaru_mcp(args: &[&str]) -> Command {
    let mut command = crate::support::kitaru_mcp();
    command.args(args);
    command
}

fn fresh_scope(what: &str) -> String {
    kitaru_testkit::fresh(what)
}

/// Every file below `dir`, as paths relative to it.
fn files_below(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(next) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&next) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                found.push(path.strip_prefix(dir).unwrap().to_owned());
            }
        }
    }
    found
}

#[test]
fn memory_names_that_lead_out_of_the_store_are_refused_and_nothing_is_written() {
    let outside = tempfile::tempdir().unwrap();
    // Enough `..` to climb out of any store folder, then into `outside`.
    let climb = "../".repeat(24);
    let target = format!("{climb}{}", outside.path().display()).replace("//", "/");
    let scope = fresh_scope("escape");
    let mut peer = StdioPeer::start(kitaru_mcp(&[]));
    for (argument, arguments) in [
        (
            "key",
            json!({"key": format!("k/{target}"), "value": 1, "scope": scope, "scope_type": "namespace"}),
        ),
        (
            "scope",
            json!({"key": "k", "value": 1, "scope": format!("s/{target}"), "scope_type": "namespace"}),
        ),
        (
            "key",
            json!({"key": "/etc/x", "value": 1, "scope": scope, "scope_type": "namespace"}),
        ),
    ] {
        let answer = peer.call("kitaru_memory_set", arguments.clone());
        assert!(
            answer.is_error,
            "{arguments} was accepted: {:?}",
            answer.structured
        );
        let error = answer.error.unwrap();
        assert_eq!(error["kind"], "invalid_argument", "{error}");
        assert_eq!(error["argument"], argument, "{error}");
        assert!(
            answer.texts[0].contains("'..' segment") && answer.texts[0].contains("stay inside"),
            "the rule is named: {:?}",
            answer.texts
        );
    }
    // A tombstone and a compaction target are written the same way.
    let delete = peer.call(
        "kitaru_memory_delete",
        json!({"key": format!("k/{target}"), "scope": scope, "scope_type": "namespace"}),
    );
    assert_eq!(delete.error_kind.as_deref(), Some("invalid_argument"));
    assert_eq!(files_below(outside.path()), Vec::<PathBuf>::new());
    // Nothing registered either.
    let listed = peer.call(
        "kitaru_memory_list",
        json!({"scope": scope, "scope_type": "namespace"}),
    );
    assert_eq!(listed.structured.unwrap()["result"], json!([]));
}

#[tokio::test]
async fn purge_removes_only_its_own_folders_inside_the_store() {
    let kitaru = server().kitaru().await;
    let scope = MemoryScope::namespace(&fresh_scope("purge-escape")).unwrap();
    // A folder of the user's that a hostile `uri` points at, through a path
    // that looks like a memory folder and climbs out with `..`.
    let victim_home = tempfile::tempdir().unwrap();
    let lure = victim_home.path().join("custom_artifacts/kitaru_mem:x");
    std::fs::create_dir_all(&lure).unwrap();
    let victim = victim_home.path().join("victim");
    std::fs::create_dir_all(&victim).unwrap();
    std::fs::write(victim.join("precious.txt"), "keep me").unwrap();
    let hostile = format!("{}/../../victim", lure.display());
    assert!(
        Path::new(&hostile).is_dir(),
        "the lure resolves to the victim"
    );

    // One genuine version (its folder in the store), then the hostile ones.
    let genuine = memory::set(&kitaru, &scope, "k", &json!(1)).await.unwrap();
    let genuine_uri = stored_uri(&kitaru, &genuine.artifact_id).await;
    assert!(Path::new(&genuine_uri).is_dir());
    register_memory_version(&kitaru, &scope, "k", &hostile, None).await;
    register_memory_version(&kitaru, &scope, "k", &victim.display().to_string(), None).await;

    let mut peer = StdioPeer::start(kitaru_mcp(&[]));
    let purged = peer.call(
        "kitaru_memory_purge",
        json!({"key": "k", "scope": scope.name(), "scope_type": "namespace"}),
    );
    assert!(!purged.is_error, "{:?}", purged.texts);
    assert_eq!(purged.structured.unwrap()["versions_deleted"], 3);
    assert_eq!(
        std::fs::read_to_string(victim.join("precious.txt")).unwrap(),
        "keep me",
        "a folder outside the store is never removed"
    );
    assert!(lure.is_dir());
    assert!(
        !Path::new(&genuine_uri).exists(),
        "the version's own folder in the store is removed"
    );
}

#[tokio::test]
async fn an_artifact_uri_outside_the_local_stores_is_not_read_here() {
    let kitaru = server().kitaru().await;
    let scope = MemoryScope::namespace(&fresh_scope("read-escape")).unwrap();
    // A folder on this machine holding what a BuiltInMaterializer reads.
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::write(elsewhere.path().join("data.json"), "\"read-from-outside\"").unwrap();
    register_memory_version(
        &kitaru,
        &scope,
        "k",
        &elsewhere.path().display().to_string(),
        None,
    )
    .await;
    let found = memory::get(&kitaru, &scope, "k", None, false)
        .await
        .unwrap()
        .unwrap();
    assert_ne!(
        found.value,
        Some(json!("read-from-outside")),
        "the file outside the stores was read"
    );
}

/// A task id as ids were before they were signed: the handle as hex JSON.
pub(crate) fn unsigned_task_id(exec_id: &str) -> String {
    let json =
        json!({"tool": "kitaru_executions_run", "exec_id": exec_id, "frame": {}}).to_string();
    let hex: String = json.bytes().map(|byte| format!("{byte:02x}")).collect();
    format!("kitaru-exec-{hex}")
}

fn wait_id_of(exec_id: &str) -> String {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let kitaru = server().kitaru().await;
        let execution = kitaru_sdk::executions::get(&kitaru, exec_id).await.unwrap();
        execution.summary.pending_wait.expect("waiting").wait_id
    })
}

const TASKS: &str = "io.modelcontextprotocol/tasks";

fn task_error(peer: &mut StdioPeer, method: &str, params: Value) -> String {
    match peer.try_request(method, params) {
        Ok(result) => panic!("{method} was accepted: {result}"),
        Err(error) => error["message"].as_str().unwrap_or_default().to_owned(),
    }
}

#[test]
fn tasks_obey_read_only_mode_and_toolsets_and_forged_ids_are_refused() {
    let _changing = executions_lock().write().unwrap_or_else(|p| p.into_inner());
    let exec_id = start_waiting_executions(1).remove(0);
    let wait_id = wait_id_of(&exec_id);
    let forged = unsigned_task_id(&exec_id);
    let answer = json!({"taskId": forged, "inputResponses": {format!("wait:{wait_id}"): {"action": "accept", "content": {"value": true}}}});

    for (args, expected) in [
        (vec!["--read-only"], "read-only"),
        (vec!["--toolsets", "memory"], "toolset"),
        (vec![], "unknown task id"),
    ] {
        let mut peer = StdioPeer::spawn(kitaru_mcp(&args));
        peer.initialize_with("2025-11-25", json!({"extensions": {TASKS: {}}}));
        let update = task_error(&mut peer, "tasks/update", answer.clone());
        assert!(update.contains(expected), "{args:?}: {update}");
        let cancel = task_error(&mut peer, "tasks/cancel", json!({"taskId": forged}));
        assert!(cancel.contains(expected), "{args:?}: {cancel}");
        assert_eq!(
            crate::mcp_tasks::server_status(&exec_id),
            "waiting",
            "{args:?}: the execution was changed"
        );
    }
    // Reading a task obeys the policy of reading an execution.
    let mut peer = StdioPeer::spawn(kitaru_mcp(&["--toolsets", "memory"]));
    peer.initialize_with("2025-11-25", json!({"extensions": {TASKS: {}}}));
    assert!(task_error(&mut peer, "tasks/get", json!({"taskId": forged})).contains("toolset"));
    let _ = kitaru_mcp_cancel(&exec_id);
}

/// Cancels `exec_id` through our server, to leave no execution waiting.
fn kitaru_mcp_cancel(exec_id: &str) -> bool {
    let mut peer = StdioPeer::start(kitaru_mcp(&[]));
    !peer
        .call("kitaru_executions_cancel", json!({"exec_id": exec_id}))
        .is_error
}

#[test]
fn no_tool_answers_a_wait_where_answering_waits_is_not_offered() {
    let _changing = executions_lock().write().unwrap_or_else(|p| p.into_inner());
    let exec_id = start_waiting_executions(1).remove(0);
    // (`kitaru_executions_input` shares its toolset with watch: read-only
    // mode is the way to offer watch without it.)
    for args in [
        vec!["--read-only"],
        vec!["--read-only", "--toolsets", "executions"],
    ] {
        let mut peer = StdioPeer::spawn(kitaru_mcp(&args));
        peer.initialize_with("2025-11-25", json!({"elicitation": {"form": {}}}));
        peer.answer_requests_with(|_| json!({"action": "accept", "content": {"value": true}}));
        let watched = peer.call(
            "kitaru_executions_watch",
            json!({"exec_id": exec_id, "max_wait_seconds": 1}),
        );
        assert!(!watched.is_error, "{:?}", watched.texts);
        assert_eq!(watched.structured.unwrap()["status"], "waiting");
        assert!(
            peer.server_requests.is_empty(),
            "{args:?}: asked {:?}",
            peer.server_requests
        );
        assert_eq!(
            crate::mcp_tasks::server_status(&exec_id),
            "waiting",
            "{args:?}: the wait was answered"
        );
    }
    assert!(kitaru_mcp_cancel(&exec_id));
}

#[test]
fn values_never_reach_stderr_or_the_audit_log_even_at_trace() {
    let logs = tempfile::tempdir().unwrap();
    let stderr_path = logs.path().join("stderr.log");
    let audit_path = logs.path().join("audit.jsonl");
    let secret = format!("s3cr3t-{}", uuid::Uuid::new_v4().simple());
    let memory_value = format!("m3m0ry-{}", uuid::Uuid::new_v4().simple());
    let name = fresh_scope("logged-secret");
    let mut command = kitaru_mcp(&["--log", "trace"]);
    command
        .env("KITARU_MCP_AUDIT_LOG", &audit_path)
        .stderr(std::fs::File::create(&stderr_path).unwrap());
    let mut peer = StdioPeer::spawn_keeping_stderr(command);
    peer.initialize("2025-06-18");
    let created = peer.call(
        "kitaru_secrets_create",
        json!({"name": name, "values": {"API_KEY": secret}}),
    );
    assert!(!created.is_error, "{:?}", created.texts);
    // The same name again: refused, and the refusal does not echo it.
    let again = peer.call(
        "kitaru_secrets_create",
        json!({"name": name, "values": {"API_KEY": secret}}),
    );
    assert!(again.is_error);
    let set = peer.call(
        "kitaru_memory_set",
        json!({"key": "k", "value": memory_value, "scope": name, "scope_type": "namespace"}),
    );
    assert!(!set.is_error, "{:?}", set.texts);
    // A line the server cannot parse is logged by the transport at debug.
    peer.send_line(format!("{{\"jsonrpc\": \"2.0\", \"id\": 99, \"method\": \"tools/call\", \"params\": {{\"x\": \"{secret}\"").as_bytes());
    let _ = peer.call("kitaru_executions_list", json!({"limit": 1}));
    drop(peer);
    std::thread::sleep(std::time::Duration::from_millis(300));

    let stderr = std::fs::read_to_string(&stderr_path).unwrap();
    let audit = std::fs::read_to_string(&audit_path).unwrap();
    assert!(
        stderr.lines().count() > 20,
        "trace logs were written:\n{stderr}"
    );
    assert!(audit.contains("kitaru_secrets_create"), "{audit}");
    for (channel, text) in [("stderr", &stderr), ("audit log", &audit)] {
        assert!(!text.contains(&secret), "the secret is in the {channel}");
        assert!(
            !text.contains(&memory_value),
            "an argument value is in the {channel}"
        );
    }
    for text in [&created.texts, &again.texts] {
        assert!(!text.join("").contains(&secret));
    }
}
