//! Resources over stdio: templates, a paged list of executions, each kind
//! read from the seeded server, and a subscription that hears a real status
//! change.

use std::time::Duration;

use serde_json::{Value, json};

use kitaru_testkit::{
    ExecutionTemplate, StdioPeer, changing_executions, executions_lock, server,
    start_waiting_executions,
};

fn peer(extra: &[&str], env: &[(&str, &str)]) -> StdioPeer {
    let mut command = crate::support::kitaru_mcp();
    command.args(extra).envs(env.iter().copied());
    StdioPeer::start(command)
}

fn read(peer: &mut StdioPeer, uri: &str) -> Value {
    let answer = peer.request("resources/read", json!({"uri": uri}));
    let contents = &answer["contents"][0];
    assert_eq!(contents["uri"], uri);
    contents.clone()
}

fn read_json(peer: &mut StdioPeer, uri: &str) -> Value {
    let contents = read(peer, uri);
    assert_eq!(contents["mimeType"], "application/json");
    serde_json::from_str(contents["text"].as_str().unwrap()).unwrap()
}

#[test]
fn templates_follow_the_toolsets() {
    let mut all = peer(&[], &[]);
    let templates = all.request("resources/templates/list", json!({}));
    let uris: Vec<&str> = templates["resourceTemplates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["uriTemplate"].as_str().unwrap())
        .collect();
    assert_eq!(
        uris,
        [
            "kitaru://executions/{exec_id}",
            "kitaru://executions/{exec_id}/logs",
            "kitaru://artifacts/{artifact_id}",
            "kitaru://memory/{scope_type}/{scope}/{key}",
            "kitaru://deployments/{flow}",
            "kitaru://deployments/{flow}/{version}",
        ]
    );
    let mut memory_only = peer(&["--toolsets", "memory"], &[]);
    let templates = memory_only.request("resources/templates/list", json!({}));
    assert_eq!(templates["resourceTemplates"].as_array().unwrap().len(), 1);
    let refused = memory_only
        .try_request("resources/read", json!({"uri": format!("kitaru://executions/{}", server().str("/seed/completed/exec_id"))}))
        .unwrap_err();
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("`executions` toolset is not offered"),
        "{refused}"
    );
}

#[test]
fn each_kind_of_resource_reads_from_the_server() {
    let server = server();
    let mut peer = peer(&[], &[]);
    let completed = server.str("/seed/completed/exec_id");
    let execution = read_json(&mut peer, &format!("kitaru://executions/{completed}"));
    assert_eq!(execution["exec_id"], completed);
    assert_eq!(execution["status"], "completed");

    let failed = server.str("/seed/failed/exec_id");
    let logs = read(&mut peer, &format!("kitaru://executions/{failed}/logs"));
    assert_eq!(logs["mimeType"], "text/plain");
    assert!(
        logs["text"]
            .as_str()
            .unwrap()
            .contains("deliberate failure"),
        "{logs}"
    );

    let seeded = &server.get("/seed/completed/artifacts")[0];
    let artifact = read_json(
        &mut peer,
        &format!(
            "kitaru://artifacts/{}",
            seeded["artifact_id"].as_str().unwrap()
        ),
    );
    assert_eq!(artifact["value"], seeded["value"]);

    let scope = server.str("/seed/memory/scope");
    let key = server.get("/seed/memory/live_keys")[0].as_str().unwrap();
    let entry = read_json(
        &mut peer,
        &format!("kitaru://memory/namespace/{scope}/{key}"),
    );
    assert_eq!(
        entry["value"],
        server
            .get(&format!("/seed/memory/keys/{key}/value"))
            .clone()
    );

    // A key with a slash, percent-encoded in the URI.
    let own_scope = kitaru_testkit::fresh("resources");
    let set = peer.call(
        "kitaru_memory_set",
        json!({"key": "notes/today", "value": {"n": 1}, "scope": own_scope, "scope_type": "namespace"}),
    );
    assert!(!set.is_error, "{:?}", set.texts);
    let entry = read_json(
        &mut peer,
        &format!("kitaru://memory/namespace/{own_scope}/notes%2Ftoday"),
    );
    assert_eq!(entry["value"], json!({"n": 1}));

    let unknown = peer
        .try_request("resources/read", json!({"uri": "kitaru://stacks/default"}))
        .unwrap_err();
    assert!(
        unknown["message"]
            .as_str()
            .unwrap()
            .contains("kitaru://executions/{exec_id}"),
        "{unknown}"
    );
    let missing = peer
        .try_request(
            "resources/read",
            json!({"uri": "kitaru://executions/no-such-execution"}),
        )
        .unwrap_err();
    assert_eq!(missing["code"], -32002, "resource not found: {missing}");
}

/// Executions a page of `resources/list` holds.
const PAGE: usize = 50;

/// The project's executions over REST, newest first: what the listing
/// must say.
async fn executions_newest_first() -> Vec<String> {
    let server = server();
    let mut ids = Vec::new();
    for page in 1.. {
        let answer: Value = reqwest::Client::new()
            .get(format!("{}/api/v1/runs", server.url))
            .query(&[
                ("project", server.str("/seed/project/id")),
                ("sort_by", "desc:created"),
                ("size", "100"),
                ("page", &page.to_string()),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        ids.extend(
            answer["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|run| run["id"].as_str().unwrap().to_owned()),
        );
        if page >= answer["total_pages"].as_i64().unwrap() {
            break;
        }
    }
    ids
}

/// Every execution of the project, newest first, `PAGE` to a page and the
/// pages adding up: executions are recorded first (of a flow of their own,
/// `paged`), so that there are more than a page's worth however few earlier
/// tests made.
#[test]
fn executions_are_listed_newest_first_in_pages() {
    changing_executions(async {
        let first: String =
            serde_json::from_value(kitaru_testkit::python_module("paged", &[], None)).unwrap();
        let template = ExecutionTemplate::of_run(server(), &first).await;
        let before = executions_newest_first().await.len();
        for _ in before..=PAGE {
            template
                .record(&kitaru_testkit::fresh("paged"), "completed")
                .await;
        }
        let expected: Vec<String> = executions_newest_first()
            .await
            .iter()
            .map(|id| format!("kitaru://executions/{id}"))
            .collect();
        assert!(expected.len() > PAGE, "{} executions", expected.len());

        let mut peer = peer(&[], &[]);
        let mut listed: Vec<String> = Vec::new();
        let mut cursor: Option<String> = None;
        let mut pages = 0;
        loop {
            let params = match &cursor {
                Some(cursor) => json!({"cursor": cursor}),
                None => json!({}),
            };
            let page = peer.request("resources/list", params);
            let resources = page["resources"].as_array().unwrap();
            pages += 1;
            assert!(
                resources
                    .iter()
                    .all(|r| r["mimeType"] == "application/json"),
                "{page}"
            );
            listed.extend(
                resources
                    .iter()
                    .map(|r| r["uri"].as_str().unwrap().to_owned()),
            );
            match page["nextCursor"].as_str() {
                Some(next) => {
                    assert_eq!(resources.len(), PAGE, "a page before the last is full");
                    cursor = Some(next.to_owned());
                }
                None => break,
            }
        }
        assert_eq!(pages, expected.len().div_ceil(PAGE));
        assert_eq!(listed, expected, "every execution once, newest first");
        for seed in ["completed", "failed", "waiting"] {
            let uri = format!(
                "kitaru://executions/{}",
                server().str(&format!("/seed/{seed}/exec_id"))
            );
            assert!(listed.contains(&uri), "{uri} is listed");
        }
    });
}

#[test]
fn an_invalid_cursor_is_refused() {
    let bad = peer(&[], &[])
        .try_request("resources/list", json!({"cursor": "x"}))
        .unwrap_err();
    assert!(
        bad["message"].as_str().unwrap().contains("invalid cursor"),
        "{bad}"
    );
}

#[test]
fn a_subscriber_hears_when_its_execution_changes() {
    let _changing = executions_lock().write().unwrap_or_else(|p| p.into_inner());
    let exec_id = start_waiting_executions(1).remove(0);
    let uri = format!("kitaru://executions/{exec_id}");
    let mut peer = peer(&[], &[("KITARU_MCP_POLL_SECONDS", "0.5")]);
    peer.request("resources/subscribe", json!({"uri": uri}));
    let refused = peer
        .try_request("resources/subscribe", json!({"uri": format!("{uri}/logs")}))
        .unwrap_err();
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("only executions"),
        "{refused}"
    );

    // Nothing changes: nothing is heard.
    assert_eq!(read_json(&mut peer, &uri)["status"], "waiting");
    let answered = peer.call(
        "kitaru_executions_input",
        json!({"exec_id": exec_id, "wait": "approve_extra", "value": true}),
    );
    assert!(!answered.is_error, "{:?}", answered.texts);
    let heard = peer
        .wait_for_notification("notifications/resources/updated", Duration::from_secs(60))
        .expect("an update after the wait was answered");
    assert_eq!(heard["params"]["uri"], uri);
    let after_input = read_json(&mut peer, &uri);
    assert_ne!(
        after_input["status_reason"], "Waiting for input.",
        "{after_input}"
    );

    let cancelled = peer.call("kitaru_executions_cancel", json!({"exec_id": exec_id}));
    assert!(!cancelled.is_error, "{:?}", cancelled.texts);
    let heard = peer
        .wait_for_notification("notifications/resources/updated", Duration::from_secs(60))
        .expect("an update after the execution was cancelled");
    assert_eq!(heard["params"]["uri"], uri);
    assert_eq!(read_json(&mut peer, &uri)["status"], "cancelled");
    peer.request("resources/unsubscribe", json!({"uri": uri}));
}

#[tokio::test]
async fn deployments_read_as_resources() {
    let _one = kitaru_testkit::deployments_lock().await;
    let tag = kitaru_testkit::fresh("resource");
    let deployed = kitaru_testkit::python_deploy(&tag, false, "resources").await;
    let version = deployed["version"].as_i64().expect("a version");
    tokio::task::spawn_blocking(move || {
        let mut peer = peer(&[], &[]);
        let versions = read_json(&mut peer, "kitaru://deployments/research_agent");
        let listed = versions
            .as_array()
            .unwrap()
            .iter()
            .find(|deployment| deployment["version"] == version)
            .expect("the new version is listed");
        assert_eq!(listed["tags"][tag.as_str()], false, "{listed}");
        let one = read_json(
            &mut peer,
            &format!("kitaru://deployments/research_agent/{version}"),
        );
        assert_eq!(one["version"], version);
        assert_eq!(one["flow"], "research_agent");
        let missing = peer
            .try_request(
                "resources/read",
                json!({"uri": "kitaru://deployments/never_deployed"}),
            )
            .unwrap_err();
        assert!(
            missing["message"]
                .as_str()
                .unwrap()
                .contains("no deployed version"),
            "{missing}"
        );
    })
    .await
    .unwrap();
}

/// Subscriptions are capped and keyed by the execution: other spellings of
/// one execution's URI (percent-encoding) take no second slot, and
/// unsubscribing by any of them ends it.
#[test]
fn subscriptions_are_capped_and_one_per_execution_however_spelled() {
    let server = kitaru_testkit::server();
    let completed = server.str("/seed/completed/exec_id");
    let failed = server.str("/seed/failed/exec_id");
    let waiting = server.str("/seed/waiting/exec_id");
    let mut peer = peer(&[], &[("KITARU_MCP_MAX_SUBSCRIPTIONS", "2")]);
    let uri = |id: &str| format!("kitaru://executions/{id}");
    let encoded: String = completed
        .chars()
        .map(|c| format!("%{:02X}", c as u32))
        .collect();
    peer.request("resources/subscribe", json!({"uri": uri(completed)}));
    for _ in 0..20 {
        peer.request("resources/subscribe", json!({"uri": uri(&encoded)}));
    }
    peer.request("resources/subscribe", json!({"uri": uri(failed)}));
    let refused = peer
        .try_request("resources/subscribe", json!({"uri": uri(waiting)}))
        .unwrap_err();
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("at most 2 executions"),
        "{refused}"
    );
    // Unsubscribing by the encoded spelling frees the completed one's slot.
    peer.request("resources/unsubscribe", json!({"uri": uri(&encoded)}));
    peer.request("resources/subscribe", json!({"uri": uri(waiting)}));
}
