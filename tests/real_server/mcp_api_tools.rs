//! The server's API as opt-in tools, against the real server: `api:all`
//! lists every exposed operation and its GET tools answer with real data;
//! the discovery toolset finds, describes and calls operations, and
//! read-only mode refuses the ones that change things.

use serde_json::{Value, json};

use kitaru_testkit::server;

use crate::support::ours;

/// The REST answer for `path`, as the check for what a tool answered.
async fn rest(path: &str) -> Value {
    reqwest::get(format!("{}{path}", server().url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn names(tools: &[Value]) -> Vec<&str> {
    tools
        .iter()
        .map(|tool| tool["name"].as_str().unwrap())
        .collect()
}

#[test]
fn api_tools_are_opt_in() {
    let mut peer = ours(&[]);
    let tools = peer.tools();
    assert!(
        !names(&tools).iter().any(|name| name.starts_with("api_")),
        "{:?}",
        names(&tools)
    );
    let refused = peer.try_request(
        "tools/call",
        json!({"name": "api_list_runs", "arguments": {}}),
    );
    let message = refused.unwrap_err()["message"].as_str().unwrap().to_owned();
    assert!(
        message.contains("toolset `api:runs` is not selected"),
        "{message}"
    );
}

#[tokio::test]
async fn with_api_all_every_exposed_operation_is_a_tool_with_real_answers() {
    let mut peer = ours(&["--toolsets", "api:all"]);
    let tools = peer.tools();
    let listed = names(&tools);
    assert!(listed.len() >= 200, "{} tools", listed.len());
    let api: Vec<&Value> = tools
        .iter()
        .filter(|tool| tool["name"].as_str().unwrap().starts_with("api_"))
        .collect();
    // Hidden and curated operations are not tools.
    for absent in [
        "api_get_secret",
        "api_token",
        "api_stop_run",
        "api_create_api_key",
    ] {
        assert!(!listed.contains(&absent), "{absent} is listed");
    }
    for tool in &api {
        assert_eq!(tool["inputSchema"]["type"], "object", "{}", tool["name"]);
        assert!(
            tool["inputSchema"].get("anyOf").is_none(),
            "{}",
            tool["name"]
        );
    }
    let list_runs = api
        .iter()
        .find(|tool| tool["name"] == "api_list_runs")
        .unwrap();
    assert_eq!(list_runs["annotations"]["readOnlyHint"], true);

    // A sample of GET tools, each compared with the REST answer.
    let completed = server().str("/seed/completed/exec_id");
    let runs = peer.call(
        "api_list_runs",
        json!({"size": 5, "sort_by": "desc:created"}),
    );
    assert!(!runs.is_error, "{:?}", runs.texts);
    let expected = rest("/api/v1/runs?size=5&sort_by=desc:created").await;
    assert_eq!(
        runs.structured.as_ref().unwrap()["total"],
        expected["total"]
    );

    let run = peer.call("api_get_run", json!({"run_id": completed}));
    assert!(!run.is_error, "{:?}", run.texts);
    let run = run.structured.unwrap();
    assert_eq!(run["id"], completed);
    assert_eq!(run["name"], server().str("/seed/completed/name"));

    // Steps are large: the page keeps the items that fit the result budget
    // and says so.
    let steps = peer.call("api_list_run_steps", json!({"pipeline_run_id": completed}));
    assert!(!steps.is_error, "{:?}", steps.texts);
    let steps = steps.structured.unwrap();
    let step_names: Vec<&str> = steps["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|step| step["name"].as_str().unwrap())
        .collect();
    let checkpoints: Vec<&str> = server()
        .get("/seed/completed/checkpoint_names")
        .as_array()
        .unwrap()
        .iter()
        .map(|name| name.as_str().unwrap())
        .collect();
    assert!(
        step_names.iter().all(|name| checkpoints.contains(name)),
        "{step_names:?}"
    );
    match steps.get("truncated") {
        None => assert_eq!(step_names.len(), checkpoints.len()),
        Some(truncated) => {
            assert_eq!(truncated["shown_items"], step_names.len());
            assert_eq!(truncated["page_items"], checkpoints.len());
            assert!(
                steps.to_string().len() < 21_500,
                "{} bytes",
                steps.to_string().len()
            );
        }
    }

    let stacks = peer.call("api_list_stacks", json!({}));
    assert!(!stacks.is_error, "{:?}", stacks.texts);
    let stack_names: Vec<&str> = stacks.structured.as_ref().unwrap()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|stack| stack["name"].as_str().unwrap())
        .collect();
    assert!(stack_names.contains(&"default"), "{stack_names:?}");

    let me = peer.call("api_get_current_user", json!({}));
    assert_eq!(
        me.structured.unwrap()["name"],
        server().str("/seed/user/name")
    );
    let info = peer.call("api_server_info", json!({}));
    assert_eq!(
        info.structured.unwrap()["version"],
        rest("/api/v1/info").await["version"]
    );

    // Bad arguments are refused naming them, before any request.
    let unknown = peer.call("api_get_run", json!({"run_id": completed, "bogus": 1}));
    assert_eq!(unknown.error_kind.as_deref(), Some("invalid_argument"));
    assert_eq!(unknown.error.unwrap()["argument"], "bogus");
    let missing = peer.call("api_get_run", json!({}));
    assert_eq!(missing.error.unwrap()["argument"], "run_id");
    let wrong = peer.call("api_list_runs", json!({"size": "five"}));
    assert_eq!(wrong.error.unwrap()["argument"], "size");
    // The server's refusal keeps its kind.
    let absent = peer.call(
        "api_get_run",
        json!({"run_id": uuid::Uuid::new_v4().to_string()}),
    );
    assert_eq!(
        absent.error_kind.as_deref(),
        Some("not_found"),
        "{:?}",
        absent.texts
    );
}

#[tokio::test]
async fn discovery_finds_describes_and_calls_operations() {
    let mut peer = ours(&["--toolsets", "api:discovery"]);
    let listed = peer.tools();
    let listed = names(&listed);
    for tool in ["api_search", "api_describe", "api_call"] {
        assert!(listed.contains(&tool), "{listed:?}");
    }
    assert!(!listed.contains(&"api_list_runs"));

    let found = peer.call("api_search", json!({"query": "list runs"}));
    let found = found.structured.unwrap();
    assert_eq!(found["operations"][0]["operation"], "list_runs", "{found}");
    assert_eq!(found["operations"][0]["callable"], true);

    let secret = peer.call("api_search", json!({"query": "get secret"}));
    let secret = secret.structured.unwrap();
    let entry = secret["operations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["operation"] == "get_secret")
        .expect("hidden operations are found too");
    assert_eq!(entry["callable"], false);
    assert!(
        entry["note"].as_str().unwrap().contains("secret"),
        "{entry}"
    );

    let described = peer.call("api_describe", json!({"operation": "list_runs"}));
    let described = described.structured.unwrap();
    assert_eq!(described["method"], "GET");
    assert_eq!(described["path"], "/api/v1/runs");
    assert!(
        described["input_schema"]["properties"]["size"].is_object(),
        "{described}"
    );

    let runs = peer.call(
        "api_call",
        json!({"operation": "list_runs", "arguments": {"size": 3}}),
    );
    assert!(!runs.is_error, "{:?}", runs.texts);
    let runs = runs.structured.unwrap();
    assert_eq!(runs["total"], rest("/api/v1/runs?size=1").await["total"]);
    assert!(runs["items"].as_array().unwrap().len() <= 3);

    // A write through api_call, checked over REST, then undone.
    let tag = format!("discovery-{}", uuid::Uuid::new_v4().simple());
    let created = peer.call(
        "api_call",
        json!({"operation": "create_tag", "arguments": {"body": {"name": tag}}}),
    );
    assert!(!created.is_error, "{:?}", created.texts);
    let id = created.structured.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let listed = rest(&format!("/api/v1/tags?name={tag}")).await;
    assert_eq!(listed["total"], 1, "{listed}");
    let deleted = peer.call(
        "api_call",
        json!({"operation": "delete_tag", "arguments": {"tag_id": id}}),
    );
    assert!(!deleted.is_error, "{:?}", deleted.texts);
    assert_eq!(rest(&format!("/api/v1/tags?name={tag}")).await["total"], 0);

    // Hidden and curated operations are refused with the way forward.
    let hidden = peer.call(
        "api_call",
        json!({"operation": "get_secret", "arguments": {"secret_id": uuid::Uuid::new_v4().to_string()}}),
    );
    assert!(hidden.is_error);
    assert!(
        hidden.texts[0].contains("not offered"),
        "{}",
        hidden.texts[0]
    );
    let curated = peer.call(
        "api_call",
        json!({"operation": "stop_run", "arguments": {}}),
    );
    assert!(
        curated.texts[0].contains("kitaru_executions_cancel"),
        "{}",
        curated.texts[0]
    );
    let unknown = peer.call("api_describe", json!({"operation": "no_such_operation"}));
    assert_eq!(unknown.error_kind.as_deref(), Some("not_found"));
}

#[tokio::test]
async fn read_only_mode_refuses_writes_through_discovery() {
    let mut peer = ours(&["--toolsets", "api:discovery,api:tags", "--read-only"]);
    let listed = peer.tools();
    let listed = names(&listed);
    assert!(listed.contains(&"api_list_tags"), "{listed:?}");
    assert!(!listed.contains(&"api_create_tag"), "{listed:?}");

    let tag = format!("read-only-{}", uuid::Uuid::new_v4().simple());
    let refused = peer.call(
        "api_call",
        json!({"operation": "create_tag", "arguments": {"body": {"name": tag}}}),
    );
    assert!(refused.is_error);
    assert!(
        refused.texts[0].contains("read-only"),
        "{}",
        refused.texts[0]
    );
    assert_eq!(rest(&format!("/api/v1/tags?name={tag}")).await["total"], 0);
    let searched = peer.call("api_search", json!({"query": "create tag"}));
    let searched = searched.structured.unwrap();
    assert_eq!(searched["operations"][0]["operation"], "create_tag");
    assert_eq!(searched["operations"][0]["callable"], false);

    let reads = peer.call(
        "api_call",
        json!({"operation": "list_tags", "arguments": {}}),
    );
    assert!(!reads.is_error, "{:?}", reads.texts);
}

/// One API operation called over REST by the test client: its JSON answer,
/// as the server sent it.
async fn rest_call(operation: &str, arguments: Value) -> Value {
    let Value::Object(arguments) = arguments else {
        panic!("arguments are an object");
    };
    kitaru_client::operations::call(&server().client(), operation, arguments)
        .await
        .unwrap_or_else(|e| panic!("{operation}: {e}"))
}

/// Neither the text nor the structured content of `answer` has `needle`.
fn nowhere_in(answer: &kitaru_testkit::ToolAnswer, needle: &str) {
    for text in &answer.texts {
        assert!(!text.contains(needle), "{needle} in the text: {text}");
    }
    if let Some(structured) = &answer.structured {
        assert!(
            !structured.to_string().contains(needle),
            "{needle} in the structured content: {structured}"
        );
    }
}

#[tokio::test]
async fn credentials_are_stripped_from_answers() {
    // A throwaway user, active (it has a password): deactivating it makes
    // the server answer a new activation token, which can set its password.
    let name = format!("strip-{}", uuid::Uuid::new_v4().simple());
    let created = rest_call(
        "create_user",
        json!({"body": {"name": name, "is_admin": false, "password": "Thr0waway-pass!"}}),
    )
    .await;
    let user = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["body"]["active"], true, "{created}");

    let mut peer = ours(&["--toolsets", "api:all"]);
    let deactivated = peer.call("api_deactivate_user", json!({"user_name_or_id": user}));
    assert!(!deactivated.is_error, "{:?}", deactivated.texts);
    let answer = deactivated.structured.clone().unwrap();
    assert_eq!(answer["id"], user.as_str());
    assert_eq!(answer["body"]["active"], false, "{answer}");
    nowhere_in(&deactivated, "activation_token");
    // The same operation over REST does answer one: it was there to strip.
    let direct = rest_call("deactivate_user", json!({"user_name_or_id": user})).await;
    let token = direct["body"]["activation_token"]
        .as_str()
        .unwrap_or_default();
    assert!(!token.is_empty(), "{direct}");

    // api_call strips it too; api_describe says what answers leave out.
    let mut discovery = ours(&["--toolsets", "api:discovery"]);
    let called = discovery.call(
        "api_call",
        json!({"operation": "deactivate_user", "arguments": {"user_name_or_id": user}}),
    );
    assert!(!called.is_error, "{:?}", called.texts);
    assert_eq!(called.structured.as_ref().unwrap()["name"], name.as_str());
    nowhere_in(&called, "activation_token");
    let described = discovery.call("api_describe", json!({"operation": "deactivate_user"}));
    let described = described.structured.unwrap();
    assert!(
        described["answer_leaves_out"]
            .as_array()
            .unwrap()
            .contains(&json!("activation_token")),
        "{described}"
    );
    rest_call("delete_user", json!({"user_name_or_id": user})).await;

    // An API key's answers leave out `key`.
    let account = rest_call(
        "create_service_account",
        json!({"body": {"name": format!("{name}-account"), "active": true}}),
    )
    .await;
    let account = account["id"].as_str().unwrap().to_owned();
    let key = rest_call(
        "create_api_key",
        json!({"service_account_id": account, "body": {"name": "strip-test"}}),
    )
    .await;
    let secret = key["body"]["key"].as_str().unwrap().to_owned();
    let key_id = key["id"].as_str().unwrap().to_owned();
    let got = peer.call(
        "api_get_api_key",
        json!({"service_account_id": account, "api_key_name_or_id": key_id}),
    );
    assert!(!got.is_error, "{:?}", got.texts);
    let body = &got.structured.as_ref().unwrap()["body"];
    assert!(body.is_object() && body.get("key").is_none(), "{body}");
    nowhere_in(&got, &secret);
    let listed = peer.call("api_list_api_keys", json!({"service_account_id": account}));
    assert!(!listed.is_error, "{:?}", listed.texts);
    let items = listed.structured.as_ref().unwrap()["items"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(items.len(), 1);
    assert!(items[0]["body"].get("key").is_none(), "{}", items[0]);
    nowhere_in(&listed, &secret);
    rest_call(
        "delete_api_key",
        json!({"service_account_id": account, "api_key_name_or_id": key_id}),
    )
    .await;
    rest_call(
        "delete_service_account",
        json!({"service_account_name_or_id": account}),
    )
    .await;

    // A code repository's `config` holds its access token as typed in.
    let token = format!("ghp_{}", uuid::Uuid::new_v4().simple());
    let repository = rest_call(
        "create_code_repository",
        json!({"body": {
            "name": format!("{name}-repo"),
            "project": server().str("/seed/project/id"),
            "config": {"owner": "kitaru", "repository": "strip-test", "token": token},
            "source": {
                "module": "zenml.integrations.github.code_repositories.github_code_repository",
                "attribute": "GitHubCodeRepository",
                "type": "internal"
            }
        }}),
    )
    .await;
    assert_eq!(repository["metadata"]["config"]["token"], token.as_str());
    let repository = repository["id"].as_str().unwrap().to_owned();
    let got = peer.call(
        "api_get_code_repository",
        json!({"code_repository_id": repository}),
    );
    assert!(!got.is_error, "{:?}", got.texts);
    let answer = got.structured.as_ref().unwrap();
    assert_eq!(answer["id"], repository.as_str());
    assert!(answer["metadata"].get("config").is_none(), "{answer}");
    nowhere_in(&got, &token);
    let listed = peer.call(
        "api_list_code_repositories",
        json!({"name": format!("{name}-repo"), "hydrate": true}),
    );
    assert!(!listed.is_error, "{:?}", listed.texts);
    assert_eq!(listed.structured.as_ref().unwrap()["total"], 1);
    nowhere_in(&listed, &token);
    rest_call(
        "delete_code_repository",
        json!({"code_repository_id": repository}),
    )
    .await;
}

/// Operations only one server version has: once connected, the tools of the
/// other version's operations are not offered, and calling one — as a tool
/// or through `api_call` — says which server version has it.
#[tokio::test]
async fn operations_the_connected_server_lacks_are_not_offered() {
    let version = rest("/api/v1/info").await["version"]
        .as_str()
        .unwrap()
        .to_owned();
    let line = kitaru_sdk::ServerLine::of(&version);
    // On a 0.10 server the 0.98 statistics; on a 0.21 one the 0.94 resource pools.
    let (lacked, lacked_needs, served) = match line {
        kitaru_sdk::ServerLine::Kitaru010 => (
            "get_run_statistics",
            "ZenML 0.98.0 (kitaru 0.21)",
            "list_resource_pools",
        ),
        _ => (
            "list_resource_pools",
            "ZenML 0.94.4 (kitaru 0.10)",
            "get_run_statistics",
        ),
    };
    let mut peer = ours(&["--toolsets", "api:all,api:discovery"]);
    // Before any connection the version is not known: every tool is listed.
    let before = peer.tools();
    assert!(names(&before).contains(&format!("api_{lacked}").as_str()));
    let arguments = |operation: &str| {
        if operation == "get_run_statistics" {
            json!({"body": {"filter": {}}})
        } else {
            json!({})
        }
    };
    let refused = peer.call(&format!("api_{lacked}"), arguments(lacked));
    assert!(refused.is_error);
    assert_eq!(
        refused.error_kind.as_deref(),
        Some("state"),
        "{:?}",
        refused.texts
    );
    let text = refused.texts.join("\n");
    assert!(text.contains(&format!("runs ZenML {version}")), "{text}");
    assert!(text.contains(&format!("needs {lacked_needs}")), "{text}");

    // Connected now: the list leaves it out, keeps the other version's op
    // the server has, and discovery says why it cannot be called.
    let after = peer.tools();
    let listed = names(&after);
    assert!(
        !listed.contains(&format!("api_{lacked}").as_str()),
        "still listed"
    );
    assert!(listed.contains(&format!("api_{served}").as_str()));
    assert!(listed.contains(&"api_list_runs"));
    let described = peer.call("api_describe", json!({"operation": lacked}));
    let described = described.structured.unwrap();
    assert_eq!(described["callable"], false);
    assert!(
        described["note"].as_str().unwrap().contains(lacked_needs),
        "{described}"
    );
    let called = peer.call(
        "api_call",
        json!({"operation": lacked, "arguments": arguments(lacked)}),
    );
    assert_eq!(called.error_kind.as_deref(), Some("state"));
    assert!(called.texts.join("\n").contains(lacked_needs));
    // What the server has reaches it (a local 0.94 server answers that
    // resource pools are not enabled: its answer, not ours).
    let answered = peer.call(&format!("api_{served}"), arguments(served));
    let text = answered.texts.join("\n");
    assert!(!text.contains("whose API has no"), "{text}");
    if answered.is_error {
        assert!(text.contains("not enabled"), "{text}");
    }
    if served == "get_run_statistics" {
        let answer = answered
            .structured
            .clone()
            .unwrap_or_else(|| serde_json::from_str(&text).expect("a JSON answer"));
        let groups = &answer["groups"];
        assert!(groups[0]["run_count"].as_u64().unwrap() > 0, "{groups}");
    }
}
