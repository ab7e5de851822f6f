//! The SDK's memory against the real server, and against the Python SDK:
//! what one side writes, the other reads, in every scope type, for every
//! JSON kind; values that cannot be read here say why. On the 0.21 line,
//! whose Python has no memory API, Python's writes are made in 0.10's
//! storage layout and its reads are left out.

use kitaru_sdk::memory::{self, MemoryScope, ScopeType};
use kitaru_sdk::{Error, ErrorKind, Kitaru};
use serde_json::{Value, json};

use kitaru_testkit::{
    Runs, fresh, install_flow_module, python, register_memory_version, server, stored_uri,
};

pub(crate) fn namespace(label: &str) -> MemoryScope {
    MemoryScope::namespace(&fresh(label)).unwrap()
}

/// One value of each JSON kind, and one of several MB.
fn every_kind() -> Vec<(&'static str, Value)> {
    let big: Vec<Value> = (0..60_000)
        .map(|i| json!({"i": i, "text": format!("entry {i} \u{2713}")}))
        .collect();
    vec![
        ("kinds/string", json!("plain text")),
        (
            "kinds/unicode",
            json!("h\u{e9}llo \u{2713} \"q\" \u{1F600} \\ \n tab\t"),
        ),
        ("kinds/int", json!(42)),
        ("kinds/negative", json!(-7)),
        ("kinds/float", json!(1.5)),
        ("kinds/whole-float", json!(2.0)),
        ("kinds/huge-float", json!(1e16)),
        ("kinds/true", json!(true)),
        ("kinds/false", json!(false)),
        ("kinds/null", Value::Null),
        ("kinds/list", json!([1, "two", {"three": 3}, null, [4.5]])),
        ("kinds/empty-list", json!([])),
        (
            "kinds/object",
            json!({"x": 2, "y": [1, 2], "nested": {"deep": {"er": [true, null]}}}),
        ),
        ("kinds/empty-object", json!({})),
        ("kinds/big", Value::Array(big)),
    ]
}

fn python_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

/// Runs a command of `tests/harness/flows/memory_interop.py` off the async
/// runtime (so that the test's pooled connections stay serviced meanwhile).
/// `flow` runs a real flow: listings of executions must not overlap it.
/// `write` and `pickled` work on every line; the others need the Python
/// memory API (`TestServer::python_memory`).
pub(crate) async fn interop(command: &'static str, request: Value) -> Value {
    let runs = if command == "flow" {
        Runs::Flow
    } else {
        Runs::NoFlow
    };
    install_flow_module("memory_layout");
    python("memory_interop", &[command], Some(request), runs).await
}

/// What the Python SDK reads for `keys` in `scope`: key -> {value, entry};
/// `None` on a line whose Python has no memory API.
pub(crate) async fn python_reads(scope: &MemoryScope, keys: &[&str]) -> Option<Value> {
    if !server().python_memory() {
        return None;
    }
    Some(
        interop(
            "read",
            json!({"scope": scope.name(), "scope_type": scope.scope_type(), "keys": keys}),
        )
        .await,
    )
}

/// The audit log of `scope` as the Python SDK reads it; `None` on a line
/// whose Python has no memory API.
pub(crate) async fn python_log(scope: &MemoryScope) -> Option<Value> {
    if !server().python_memory() {
        return None;
    }
    Some(
        interop(
            "log",
            json!({"scope": scope.name(), "scope_type": scope.scope_type()}),
        )
        .await,
    )
}

#[tokio::test]
async fn every_json_kind_written_here_is_read_by_python_and_here() {
    let kitaru = server().kitaru().await;
    let scope = namespace("to-python");
    let values = every_kind();
    for (key, value) in &values {
        let entry = memory::set(&kitaru, &scope, key, value).await.unwrap();
        assert_eq!((entry.key.as_str(), entry.version), (*key, 1));
        assert_eq!(entry.value_type, python_type(value), "{key}");
        assert!(!entry.is_deleted);
    }
    let keys: Vec<&str> = values.iter().map(|(key, _)| *key).collect();
    let read = python_reads(&scope, &keys).await;
    for (key, value) in &values {
        let ours = memory::get(&kitaru, &scope, key, None, true)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(ours.value.as_ref(), Some(value), "we read {key} as written");
        let Some(read) = &read else { continue };
        let theirs = &read[*key];
        assert_eq!(&theirs["value"], value, "Python reads {key} as written");
        assert_eq!(theirs["entry"]["version"], 1, "{key}");
        assert_eq!(theirs["entry"]["value_type"], python_type(value), "{key}");
        assert_eq!(
            ours.entry.artifact_id, theirs["entry"]["artifact_id"],
            "{key}"
        );
        assert_eq!(
            ours.entry.created_at, theirs["entry"]["created_at"],
            "{key}"
        );
    }
    if read.is_none() {
        return; // `kitaru memory` went with the Python API.
    }
    // The CLI shows what we show, field for field.
    for key in [
        "kinds/unicode",
        "kinds/object",
        "kinds/whole-float",
        "kinds/null",
    ] {
        let ours = memory::get(&kitaru, &scope, key, None, true).await.unwrap();
        assert_eq!(
            cli_memory_get(&scope, key).await,
            serde_json::to_value(ours).unwrap(),
            "{key}"
        );
    }
}

/// `kitaru memory get <key> --scope ... -o json`: the payload the CLI shows.
async fn cli_memory_get(scope: &MemoryScope, key: &str) -> Value {
    let mut command = server().command(server().str("/kitaru"));
    command.args([
        "memory",
        "get",
        key,
        "--scope",
        scope.name(),
        "--scope-type",
    ]);
    command.args([scope.scope_type().as_str(), "-o", "json"]);
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let answer: Value = serde_json::from_slice(&output.stdout).unwrap();
    answer["item"].clone()
}

#[tokio::test]
async fn every_json_kind_written_by_python_is_read_here() {
    let kitaru = server().kitaru().await;
    let scope = namespace("from-python");
    let values = every_kind();
    let items: Vec<Value> = values.iter().map(|(k, v)| json!([k, v])).collect();
    interop(
        "write",
        json!({"scope": scope.name(), "scope_type": "namespace", "items": items}),
    )
    .await;
    let keys: Vec<&str> = values.iter().map(|(key, _)| *key).collect();
    let theirs = python_reads(&scope, &keys).await;
    for (key, value) in &values {
        let ours = memory::get(&kitaru, &scope, key, None, true)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(ours.value.as_ref(), Some(value), "{key}");
        let Some(theirs) = &theirs else { continue };
        let entry = serde_json::to_value(&ours.entry).unwrap();
        assert_eq!(
            entry, theirs[*key]["entry"],
            "our entry of {key} is Python's"
        );
    }
    let listed = memory::list(&kitaru, &scope, Some("kinds/")).await.unwrap();
    let mut expected: Vec<&str> = keys.clone();
    expected.sort();
    let listed_keys: Vec<&str> = listed.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(listed_keys, expected);
}

/// The stored form, field by field: a value written here and the same value
/// written by Python register alike and leave the same `data.json`.
#[tokio::test]
async fn a_version_written_here_is_stored_as_python_stores_it() {
    let kitaru = server().kitaru().await;
    let ours_scope = namespace("stored-ours");
    let their_scope = namespace("stored-theirs");
    let values = [
        json!({"x": 2, "y": [1, 2], "z": "caf\u{e9}"}),
        json!([1, "two", null]),
        json!(2.0),
        json!(true),
        json!("h\u{e9}llo \u{1F600}"),
        Value::Null,
    ];
    let items: Vec<Value> = values
        .iter()
        .enumerate()
        .map(|(i, v)| json!([format!("v{i}"), v]))
        .collect();
    interop(
        "write",
        json!({"scope": their_scope.name(), "scope_type": "namespace", "items": items}),
    )
    .await;
    for (i, value) in values.iter().enumerate() {
        let key = format!("v{i}");
        let ours = memory::set(&kitaru, &ours_scope, &key, value)
            .await
            .unwrap();
        let theirs = memory::history(&kitaru, &their_scope, &key).await.unwrap();
        let a = stored_form(&kitaru, &ours.artifact_id, ours_scope.name()).await;
        let b = stored_form(&kitaru, &theirs[0].artifact_id, their_scope.name()).await;
        assert_eq!(a, b, "{value} is stored alike");
    }
}

/// What matters of a stored version, with the scope name made neutral.
async fn stored_form(kitaru: &Kitaru, artifact_id: &str, scope: &str) -> Value {
    let version = kitaru
        .client
        .get_artifact_version()
        .artifact_version_id(artifact_id.parse::<uuid::Uuid>().unwrap())
        .hydrate(true)
        .send()
        .await
        .unwrap()
        .into_inner();
    let body = version.body.unwrap();
    let metadata = version.metadata.unwrap();
    let mut tags: Vec<String> = version
        .resources
        .unwrap()
        .tags
        .iter()
        .map(|tag| tag.name.replace(scope, "<scope>"))
        .collect();
    tags.sort();
    let data_json = std::fs::read(format!("{}/data.json", body.uri)).unwrap();
    let visualizations: Vec<Value> = metadata
        .visualizations
        .unwrap_or_default()
        .iter()
        .map(|v| {
            let v = serde_json::to_value(v).unwrap();
            let uri = v
                .pointer("/body/uri")
                .and_then(Value::as_str)
                .unwrap_or_default();
            json!([v.pointer("/body/type"), uri.strip_prefix(&body.uri)])
        })
        .collect();
    json!({
        "name": body.artifact.name.replace(scope, "<scope>"),
        "materializer": body.materializer,
        "data_type": body.data_type,
        "type": body.type_,
        "save_type": body.save_type,
        "content_hash": body.content_hash,
        "item_count": body.item_count,
        "artifact_store_id": body.artifact_store_id,
        "uri_parent": std::path::Path::new(&body.uri).parent().unwrap().to_string_lossy().replace(scope, "<scope>"),
        "run_metadata": metadata.run_metadata,
        "tags": tags,
        "visualizations": visualizations,
        "data.json": String::from_utf8(data_json).unwrap(),
    })
}

#[tokio::test]
async fn flow_and_execution_scopes_written_in_a_real_flow_read_both_ways() {
    if !server().python_memory() {
        return;
    }
    let kitaru = server().kitaru().await;
    // Every run of the interop flow shares its flow scope: keys of our own.
    let tag = fresh("flow");
    let key = |name: &str| format!("{tag}/{name}");
    let values = [
        (
            key("fact"),
            json!({"learned": ["a", "b"], "confidence": 0.9}),
        ),
        (key("note"), json!("caf\u{e9}")),
        (key("nothing"), Value::Null),
    ];
    let items: Vec<Value> = values.iter().map(|(k, v)| json!([k, v])).collect();
    let first = interop("flow", json!({"items": items, "read_keys": []})).await;
    let flow_id = first["flow_id"].as_str().unwrap();
    let exec_id = first["exec_id"].as_str().unwrap();
    let flow_scope = MemoryScope::new(ScopeType::Flow, flow_id).unwrap();
    let exec_scope = MemoryScope::new(ScopeType::Execution, exec_id).unwrap();

    // Python (a flow) -> here, in both scopes.
    for scope in [&flow_scope, &exec_scope] {
        for (key, value) in &values {
            let found = memory::get(&kitaru, scope, key, None, true).await.unwrap();
            let found = found.unwrap_or_else(|| panic!("{key} in {scope}"));
            assert_eq!(found.value.as_ref(), Some(value), "{key} in {scope}");
            assert_eq!(found.entry.scope_type, scope.scope_type());
            assert_eq!(
                found.entry.execution_id.as_deref(),
                Some(exec_id),
                "written by the run"
            );
        }
        let listed = memory::list(&kitaru, scope, Some(&tag)).await.unwrap();
        let keys: Vec<&str> = listed.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, [key("fact"), key("note"), key("nothing")], "{scope}");
    }
    let in_execution = memory::get(&kitaru, &exec_scope, &key("fact"), None, true)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(in_execution.entry.flow_id.as_deref(), Some(flow_id));
    assert_eq!(
        in_execution.entry.flow_name.as_deref(),
        Some("memory_interop")
    );

    // Here -> Python: outside a flow in both scopes, and inside the flow.
    let (from_rust, fact) = (key("from-rust"), key("fact"));
    let ours = [
        (&from_rust, json!({"n": [1, 2, 3]})),
        (&fact, json!("overridden")),
    ];
    for (key, value) in &ours {
        memory::set(&kitaru, &flow_scope, key, value).await.unwrap();
        let entry = memory::set(&kitaru, &exec_scope, key, value).await.unwrap();
        assert_eq!(
            entry.flow_id.as_deref(),
            Some(flow_id),
            "execution scope records its flow"
        );
        assert_eq!(entry.flow_name.as_deref(), Some("memory_interop"));
        assert_eq!(entry.execution_id, None, "not written by an execution");
    }
    for scope in [&flow_scope, &exec_scope] {
        let read = python_reads(scope, &[&from_rust, &fact]).await.unwrap();
        assert_eq!(
            read[&from_rust]["value"],
            json!({"n": [1, 2, 3]}),
            "{scope}"
        );
        assert_eq!(read[&fact]["value"], "overridden", "{scope}");
        assert_eq!(read[&fact]["entry"]["version"], 2, "{scope}");
    }
    let second = interop("flow", json!({"items": [], "read_keys": [from_rust, fact]})).await;
    assert_eq!(second["flow_id"], flow_id, "the same flow");
    assert_eq!(
        second["read"],
        json!({from_rust.clone(): {"n": [1, 2, 3]}, fact.clone(): "overridden"}),
        "a flow reads in its scope what was written here"
    );
}

#[tokio::test]
async fn a_deleted_key_is_gone_for_both_sides_and_its_history_stays() {
    let kitaru = server().kitaru().await;
    let scope = namespace("delete");
    memory::set(&kitaru, &scope, "k", &json!("one"))
        .await
        .unwrap();
    memory::set(&kitaru, &scope, "k", &json!("two"))
        .await
        .unwrap();
    memory::set(&kitaru, &scope, "other", &json!(1))
        .await
        .unwrap();
    let tombstone = memory::delete(&kitaru, &scope, "k").await.unwrap().unwrap();
    assert!(tombstone.is_deleted);
    assert_eq!(
        (tombstone.version, tombstone.value_type.as_str()),
        (3, "NoneType")
    );
    let again = memory::delete(&kitaru, &scope, "k").await.unwrap().unwrap();
    assert_eq!(again, tombstone, "deleting twice writes nothing");
    assert_eq!(
        memory::delete(&kitaru, &scope, "never").await.unwrap(),
        None
    );

    assert_eq!(
        memory::get(&kitaru, &scope, "k", None, false)
            .await
            .unwrap(),
        None
    );
    let old = memory::get(&kitaru, &scope, "k", Some(2), false)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(old.value, Some(json!("two")));
    let listed: Vec<String> = memory::list(&kitaru, &scope, None)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.key)
        .collect();
    assert_eq!(listed, ["other"]);
    let history = memory::history(&kitaru, &scope, "k").await.unwrap();
    let versions: Vec<(i64, bool)> = history.iter().map(|e| (e.version, e.is_deleted)).collect();
    assert_eq!(versions, [(3, true), (2, false), (1, false)]);

    if let Some(read) = python_reads(&scope, &["k"]).await {
        assert_eq!(read["k"]["value"], Value::Null, "Python sees it deleted");
        assert_eq!(
            read["k"]["entry"],
            Value::Null,
            "its client finds no entry either"
        );
    }

    let revived = memory::set(&kitaru, &scope, "k", &json!("three"))
        .await
        .unwrap();
    assert_eq!(revived.version, 4);
    if let Some(read) = python_reads(&scope, &["k"]).await {
        assert_eq!(read["k"]["value"], "three");
    }
}

#[tokio::test]
async fn bad_identifiers_are_refused_with_the_python_sdks_words() {
    let kitaru = server().kitaru().await;
    let scope = namespace("validation");
    fn refused<T>(result: Result<T, Error>) -> String {
        match result {
            Err(Error::InvalidArgument { reason, .. }) => reason,
            Err(other) => panic!("not an argument error: {other}"),
            Ok(_) => panic!("accepted"),
        }
    }
    assert_eq!(
        refused(memory::set(&kitaru, &scope, "a:b", &json!(1)).await),
        "Memory key 'a:b' may only contain letters, numbers, '.', '_', '-', and '/'. Colons are not allowed."
    );
    assert_eq!(
        refused(memory::set(&kitaru, &scope, "_compaction/x", &json!(1)).await),
        "Memory key prefix '_compaction/' is reserved for compaction audit logs."
    );
    assert_eq!(
        refused(memory::get(&kitaru, &scope, "k", Some(0), false).await),
        "Memory version must be an integer >= 1."
    );
    assert_eq!(
        refused(memory::purge(&kitaru, &scope, "k", Some(-1)).await),
        "`keep` must be a non-negative integer or None."
    );
    assert_eq!(
        refused(MemoryScope::parse("global", "x")),
        "Memory scope_type must be one of 'namespace', 'flow', or 'execution'."
    );
    let trimmed = memory::set(&kitaru, &scope, "  spaced  ", &json!(1))
        .await
        .unwrap();
    assert_eq!(trimmed.key, "spaced");
    assert!(memory::history(&kitaru, &scope, "a:b").await.is_err());
}

#[tokio::test]
async fn purge_keeps_the_newest_and_logs_it_in_the_audit_log_python_reads() {
    let kitaru = server().kitaru().await;
    let scope = namespace("purge");
    for value in 1..=4 {
        memory::set(&kitaru, &scope, "k", &json!(value))
            .await
            .unwrap();
    }
    let folders: Vec<String> = {
        let history = memory::history(&kitaru, &scope, "k").await.unwrap();
        let mut folders = Vec::new();
        for entry in history {
            folders.push(stored_uri(&kitaru, &entry.artifact_id).await);
        }
        folders
    };
    let result = memory::purge(&kitaru, &scope, "k", Some(1)).await.unwrap();
    assert!(
        std::path::Path::new(&folders[0]).is_dir(),
        "the kept version keeps its files"
    );
    for purged in &folders[1..] {
        assert!(
            !std::path::Path::new(purged).exists(),
            "{purged} removed with its version"
        );
    }
    assert_eq!((result.versions_deleted, result.keys_affected), (3, 1));
    let left: Vec<i64> = memory::history(&kitaru, &scope, "k")
        .await
        .unwrap()
        .iter()
        .map(|e| e.version)
        .collect();
    assert_eq!(left, [4]);
    let nothing = memory::purge(&kitaru, &scope, "k", Some(5)).await.unwrap();
    assert_eq!((nothing.versions_deleted, nothing.keys_affected), (0, 0));

    let log = memory::compaction_log(&kitaru, &scope).await.unwrap();
    assert_eq!(log.len(), 1, "one record, none for the empty purge");
    let record = serde_json::to_value(&log[0]).unwrap();
    assert_eq!(record["operation"], "purge");
    assert_eq!(record["source_keys"], json!(["k"]));
    assert_eq!(record["source_versions"], json!([3, 2, 1]));
    assert_eq!(
        (
            record["keys_affected"].clone(),
            record["versions_deleted"].clone()
        ),
        (json!(1), json!(3))
    );
    assert_eq!(record["keep"], 1);
    if let Some(theirs) = python_log(&scope).await {
        assert_eq!(
            theirs["records"],
            json!([record]),
            "Python reads the record as written"
        );
    }
    assert!(
        memory::list(&kitaru, &scope, None)
            .await
            .unwrap()
            .iter()
            .all(|e| e.key == "k"),
        "the audit log is not listed as a key"
    );

    // Without keep: the key goes entirely, and numbering starts again.
    let all = memory::purge(&kitaru, &scope, "k", None).await.unwrap();
    assert_eq!(all.versions_deleted, 1);
    assert!(
        memory::history(&kitaru, &scope, "k")
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        memory::set(&kitaru, &scope, "k", &json!(0))
            .await
            .unwrap()
            .version,
        1
    );
}

#[tokio::test]
async fn purge_scope_skips_deleted_keys_unless_asked() {
    let kitaru = server().kitaru().await;
    let scope = namespace("purge-scope");
    for value in 1..=3 {
        memory::set(&kitaru, &scope, "k1", &json!(value))
            .await
            .unwrap();
    }
    memory::set(&kitaru, &scope, "k2", &json!("a"))
        .await
        .unwrap();
    memory::set(&kitaru, &scope, "k2", &json!("b"))
        .await
        .unwrap();
    memory::delete(&kitaru, &scope, "k2").await.unwrap();
    memory::set(&kitaru, &scope, "k3", &json!([1]))
        .await
        .unwrap();

    let kept = memory::purge_scope(&kitaru, &scope, Some(1), false)
        .await
        .unwrap();
    assert_eq!(
        (kept.versions_deleted, kept.keys_affected),
        (2, 1),
        "k1 v2, v1"
    );
    let with_deleted = memory::purge_scope(&kitaru, &scope, Some(1), true)
        .await
        .unwrap();
    assert_eq!(
        (with_deleted.versions_deleted, with_deleted.keys_affected),
        (3, 1),
        "all of k2"
    );
    assert!(
        memory::history(&kitaru, &scope, "k2")
            .await
            .unwrap()
            .is_empty()
    );
    let keys: Vec<String> = memory::list(&kitaru, &scope, None)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.key)
        .collect();
    assert_eq!(keys, ["k1", "k3"]);
    let log = memory::compaction_log(&kitaru, &scope).await.unwrap();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].source_keys, ["k2"], "newest first");
    assert_eq!(log[0].source_versions, [3, 2, 1]);
    assert_eq!(log[1].source_keys, ["k1"]);
}

#[tokio::test]
async fn versions_a_flow_used_are_not_purged_and_nothing_else_is_either() {
    // Only a flow's memory calls make a run use a memory version.
    if !server().python_memory() {
        return;
    }
    let kitaru = server().kitaru().await;
    let first = interop("flow", json!({"items": [["used", 1]], "read_keys": []})).await;
    let scope = MemoryScope::new(ScopeType::Execution, first["exec_id"].as_str().unwrap()).unwrap();
    memory::set(&kitaru, &scope, "free", &json!("x"))
        .await
        .unwrap();
    memory::set(&kitaru, &scope, "free", &json!("y"))
        .await
        .unwrap();
    let error = memory::purge_scope(&kitaru, &scope, None, false)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::State);
    assert!(
        error
            .to_string()
            .contains("Cannot purge versions [1] for key 'used' in scope"),
        "{error}"
    );
    assert_eq!(
        memory::history(&kitaru, &scope, "free")
            .await
            .unwrap()
            .len(),
        2,
        "nothing purged"
    );
    assert!(
        memory::compaction_log(&kitaru, &scope)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_value_whose_file_is_gone_is_unavailable_and_strict_says_why() {
    let kitaru = server().kitaru().await;
    let scope = namespace("file-gone");
    let entry = memory::set(&kitaru, &scope, "k", &json!({"a": 1}))
        .await
        .unwrap();
    let uri = stored_uri(&kitaru, &entry.artifact_id).await;
    std::fs::remove_file(format!("{uri}/data.json")).unwrap();

    let found = memory::get(&kitaru, &scope, "k", None, false)
        .await
        .unwrap()
        .unwrap();
    assert!(!found.value_available);
    assert_eq!(found.value, None);
    let unavailable = found.value_unavailable.unwrap();
    assert_eq!(
        unavailable.error_type,
        "KitaruMemoryArtifactUnavailableError"
    );
    assert_eq!(unavailable.cause_type, "RuntimeError");
    assert_eq!(
        unavailable.message,
        format!(
            "Memory key 'k' in scope '{}' (namespace) points to artifact '{}', but the artifact \
             value could not be loaded from this environment: RuntimeError: Materialization of \
             type <class 'dict'> failed. Expected either {uri}/data.json or {uri}/metadata.json \
             to exist.",
            scope.name(),
            entry.artifact_id
        )
    );
    let strict = memory::get(&kitaru, &scope, "k", None, true)
        .await
        .unwrap_err();
    assert_eq!(strict.to_string(), unavailable.message);

    // A scalar, with its whole folder gone: the server cannot send it either.
    let scalar = memory::set(&kitaru, &scope, "s", &json!("text"))
        .await
        .unwrap();
    let uri = stored_uri(&kitaru, &scalar.artifact_id).await;
    std::fs::remove_dir_all(&uri).unwrap();
    let found = memory::get(&kitaru, &scope, "s", None, false)
        .await
        .unwrap()
        .unwrap();
    let unavailable = found.value_unavailable.unwrap();
    assert_eq!(unavailable.cause_type, "FileNotFoundError");
    assert!(
        unavailable.message.ends_with(&format!(
            "FileNotFoundError: [Errno 2] No such file or directory: '{uri}/data.json'"
        )),
        "{}",
        unavailable.message
    );
}

#[tokio::test]
async fn a_pickled_value_from_python_is_unavailable_with_where_to_load_it() {
    let kitaru = server().kitaru().await;
    let scope = namespace("pickled");
    interop("pickled", json!({"scope": scope.name(), "key": "opaque"})).await;
    let found = memory::get(&kitaru, &scope, "opaque", None, false)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.entry.value_type, "Opaque");
    assert!(!found.value_available);
    let unavailable = found.value_unavailable.unwrap();
    assert_eq!(unavailable.cause_type, "UnsupportedMaterializer");
    assert!(
        unavailable.message.contains("CloudpickleMaterializer"),
        "{}",
        unavailable.message
    );
    assert!(
        unavailable.message.contains("flows.memory_interop.Opaque"),
        "{}",
        unavailable.message
    );
    let error = memory::get(&kitaru, &scope, "opaque", None, true)
        .await
        .unwrap_err();
    assert_eq!(error.to_string(), unavailable.message);
}

/// An artifact store component registered on the server for a test.
async fn register_store(kitaru: &Kitaru, flavor: &str, path: &str) -> uuid::Uuid {
    let request = json!({
        "name": fresh("store"), "type": "artifact_store", "flavor": flavor,
        "configuration": {"path": path},
    });
    kitaru
        .client
        .create_stack_component()
        .body(serde_json::from_value::<kitaru_client::types::ComponentRequest>(request).unwrap())
        .send()
        .await
        .unwrap()
        .into_inner()
        .id
}

/// A stack with the default orchestrator and the given artifact store.
async fn register_stack(kitaru: &Kitaru, store: uuid::Uuid) -> String {
    let stacks = kitaru
        .client
        .list_stacks()
        .name("default")
        .hydrate(true)
        .send()
        .await
        .unwrap()
        .into_inner();
    let default = &stacks.items[0];
    let orchestrator = default.metadata.as_ref().unwrap().components["orchestrator"][0].id;
    let name = fresh("stack");
    let request = json!({
        "name": name,
        "components": {"orchestrator": [orchestrator], "artifact_store": [store]},
    });
    kitaru
        .client
        .create_stack()
        .body(serde_json::from_value::<kitaru_client::types::StackRequest>(request).unwrap())
        .send()
        .await
        .unwrap();
    name
}

/// The SDK connected as the CLI is, but with `stack` active.
async fn kitaru_on(stack: &str) -> Kitaru {
    let server = server();
    let connection = kitaru_client::ConnectionOptions::new()
        .config_dir(server.str("/config_path"))
        .working_dir(server.str("/project_dir"))
        .stack(stack)
        .resolve(&std::collections::HashMap::<String, String>::new())
        .unwrap();
    let client = connection.connect().await.unwrap();
    Kitaru::new(client, connection)
}

#[tokio::test]
async fn a_store_this_process_cannot_write_to_is_refused_and_nothing_is_registered() {
    let kitaru = server().kitaru().await;
    let s3 = register_store(&kitaru, "s3", "s3://kitaru-mcp-unreachable").await;
    let on_s3 = kitaru_on(&register_stack(&kitaru, s3).await).await;
    let scope = namespace("unwritable");
    let error = memory::set(&on_s3, &scope, "k", &json!(1))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::State);
    let text = error.to_string();
    assert!(
        text.contains("flavor 's3'") && text.contains("Nothing was written"),
        "{text}"
    );

    // A local store whose folder cannot be created (its path is a file).
    let file = tempfile::NamedTempFile::new().unwrap();
    let blocked = register_store(&kitaru, "local", &file.path().to_string_lossy()).await;
    let on_blocked = kitaru_on(&register_stack(&kitaru, blocked).await).await;
    let error = memory::set(&on_blocked, &scope, "k", &json!(1))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::State);
    assert!(
        error.to_string().contains("Nothing was registered"),
        "{error}"
    );

    assert!(
        memory::history(&kitaru, &scope, "k")
            .await
            .unwrap()
            .is_empty(),
        "no version"
    );
    let artifacts = kitaru
        .client
        .list_artifacts()
        .name(scope.name().to_owned())
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(artifacts.total, 0);
}

#[tokio::test]
async fn a_value_in_a_store_the_server_cannot_reach_is_unavailable() {
    let kitaru = server().kitaru().await;
    let s3 = register_store(&kitaru, "s3", "s3://kitaru-mcp-unreachable").await;
    let scope = namespace("unreachable");
    // Registered as a Python writer on that store would have: only the
    // files are out of reach.
    register_memory_version(
        &kitaru,
        &scope,
        "k",
        "s3://kitaru-mcp-unreachable/custom_artifacts/k/1",
        Some(s3),
    )
    .await;
    let found = memory::get(&kitaru, &scope, "k", None, false)
        .await
        .unwrap()
        .unwrap();
    assert!(!found.value_available);
    let unavailable = found.value_unavailable.unwrap();
    assert_eq!(unavailable.cause_type, "ArtifactStoreUnreachable");
    assert!(
        unavailable.message.contains("could not be instantiated"),
        "{}",
        unavailable.message
    );
    let listed = memory::list(&kitaru, &scope, None).await.unwrap();
    assert_eq!(listed.len(), 1, "listing needs no value");
}

#[tokio::test]
async fn two_processes_setting_one_key_at_once_lose_nothing() {
    let kitaru = server().kitaru().await;
    let scope = namespace("race");
    let writers = 6;
    let tasks: Vec<_> = (0..writers)
        .map(|i| {
            let scope = scope.clone();
            tokio::spawn(async move {
                // Each its own connection, as separate processes would be.
                let kitaru = server().kitaru().await;
                memory::set(&kitaru, &scope, "k", &json!(i)).await
            })
        })
        .collect();
    let mut versions = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            Ok(entry) => versions.push(entry.version),
            Err(error) => assert_eq!(error.kind(), ErrorKind::Conflict, "{error}"),
        }
    }
    versions.sort();
    let history = memory::history(&kitaru, &scope, "k").await.unwrap();
    let mut stored: Vec<i64> = history.iter().map(|e| e.version).collect();
    stored.sort();
    assert_eq!(stored, versions, "every reported write is stored, no other");
    assert_eq!(
        stored,
        (1..=stored.len() as i64).collect::<Vec<_>>(),
        "consecutive"
    );
    assert!(
        stored.len() >= writers - 1,
        "at most one clear conflict: {stored:?}"
    );
}
