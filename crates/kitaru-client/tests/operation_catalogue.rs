//! The operation catalogue on the real spec: what it lists, and that `call`
//! refuses bad arguments before any request.

use kitaru_client::operations::{self, CallError, OPERATIONS};
use kitaru_client::{Client, Credentials};
use serde_json::{Map, Value, json};

fn schema(name: &str) -> Map<String, Value> {
    operations::find(name)
        .unwrap_or_else(|| panic!("no operation {name}"))
        .schema()
}

fn required(schema: &Map<String, Value>) -> Vec<&str> {
    schema["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect()
}

#[test]
fn every_operation_is_listed_sorted_with_an_object_schema() {
    // Both server lines: 263 of ZenML 0.94.4, 19 more that 0.98.0 added.
    assert_eq!(OPERATIONS.len(), 282);
    assert!(OPERATIONS.windows(2).all(|w| w[0].name < w[1].name));
    for operation in OPERATIONS {
        assert!(!operation.servers.is_empty(), "{}", operation.name);
        assert!(
            operation
                .servers
                .iter()
                .all(|server| kitaru_client::operations::SERVER_VERSIONS.contains(server)),
            "{}",
            operation.name
        );
        let schema: Value = serde_json::from_str(operation.input_schema)
            .unwrap_or_else(|e| panic!("{}: {e}", operation.name));
        assert_eq!(schema["type"], "object", "{}", operation.name);
        assert_eq!(schema["additionalProperties"], false, "{}", operation.name);
        assert!(schema["properties"].is_object(), "{}", operation.name);
        for name in required(schema.as_object().unwrap()) {
            assert!(
                schema["properties"].get(name).is_some(),
                "{}: required {name} is no property",
                operation.name
            );
        }
        assert!(
            ["GET", "POST", "PUT", "DELETE", "PATCH"].contains(&operation.method),
            "{}",
            operation.method
        );
        assert_eq!(
            operations::find(operation.name).map(|o| o.path),
            Some(operation.path)
        );
    }
    let not_callable: Vec<(&str, &str)> = OPERATIONS
        .iter()
        .filter_map(|o| o.callable.map(|reason| (o.name, reason)))
        .collect();
    assert_eq!(
        not_callable.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
        // stream_run_events (0.98): a header parameter (`Last-Event-ID`)
        // the catalogue does not take; a stream no tool returns anyway.
        ["device_authorization", "stream_run_events", "token"],
        "{not_callable:?}"
    );
}

#[test]
fn list_runs_takes_paging_and_hydration() {
    let operation = operations::find("list_runs").unwrap();
    assert_eq!((operation.method, operation.path), ("GET", "/api/v1/runs"));
    assert_eq!(operation.tag, "runs");
    assert_eq!(operation.callable, None);
    let schema = operation.schema();
    let properties = schema["properties"].as_object().unwrap();
    assert_eq!(properties["page"]["type"], "integer");
    assert_eq!(properties["size"]["type"], "integer");
    assert_eq!(properties["hydrate"]["type"], "boolean");
    assert!(required(&schema).is_empty());
}

#[test]
fn get_run_requires_its_id() {
    let schema = schema("get_run");
    assert_eq!(required(&schema), ["run_id"]);
    assert_eq!(schema["properties"]["run_id"]["format"], "uuid");
}

#[test]
fn a_post_with_a_json_body_requires_it() {
    let operation = operations::find("create_project").unwrap();
    assert_eq!(operation.method, "POST");
    let schema = operation.schema();
    assert!(required(&schema).contains(&"body"));
    let body = &schema["properties"]["body"];
    assert_eq!(body["type"], "object");
    assert!(body["properties"]["name"].is_object(), "{body}");
}

/// A client of a port nothing listens on: any request would fail as `Api`.
fn unreachable_client() -> Client {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    Client::with_credentials(
        &format!("http://127.0.0.1:{port}"),
        Credentials::None,
        reqwest::Client::new(),
    )
}

async fn call(name: &str, arguments: Value) -> Result<Value, CallError> {
    let Value::Object(arguments) = arguments else {
        panic!("arguments are an object")
    };
    operations::call(&unreachable_client(), name, arguments).await
}

fn argument_error(result: Result<Value, CallError>) -> (String, String) {
    match result {
        Err(CallError::Argument { name, reason }) => (name, reason),
        other => panic!("expected an argument error, got {other:?}"),
    }
}

#[tokio::test]
async fn an_unknown_argument_is_refused_by_name() {
    let (name, reason) = argument_error(call("list_runs", json!({ "page": 1, "pages": 2 })).await);
    assert_eq!(name, "pages");
    assert!(
        reason.contains("page") && reason.contains("size"),
        "{reason}"
    );
}

#[tokio::test]
async fn a_missing_required_argument_is_refused_by_name() {
    let (name, _) = argument_error(call("get_run", json!({ "hydrate": true })).await);
    assert_eq!(name, "run_id");
    let (name, _) = argument_error(call("create_project", json!({})).await);
    assert_eq!(name, "body");
}

#[tokio::test]
async fn a_value_of_the_wrong_type_is_refused_by_name() {
    let (name, reason) = argument_error(call("list_runs", json!({ "size": "twenty" })).await);
    assert_eq!(name, "size");
    assert!(reason.contains("expected i64"), "{reason}");
    let (name, _) = argument_error(call("get_run", json!({ "run_id": "not-a-uuid" })).await);
    assert_eq!(name, "run_id");
    let (name, reason) = argument_error(
        call(
            "create_project",
            json!({ "body": { "name": 5, "padding": "x".repeat(10_000) } }),
        )
        .await,
    );
    assert_eq!(name, "body");
    assert!(reason.len() < 400, "{reason}");
}

#[tokio::test]
async fn good_arguments_reach_the_transport() {
    let result = call(
        "list_runs",
        json!({ "page": 1, "size": 2, "hydrate": null }),
    )
    .await;
    assert!(matches!(result, Err(CallError::Api(_))), "{result:?}");
}

#[tokio::test]
async fn unknown_and_uncallable_operations_say_so() {
    assert!(matches!(
        call("no_such_operation", json!({})).await,
        Err(CallError::UnknownOperation(name)) if name == "no_such_operation"
    ));
    assert!(matches!(
        call("token", json!({})).await,
        Err(CallError::NotCallable { operation, .. }) if operation == "token"
    ));
}

#[test]
fn the_call_future_is_send() {
    fn assert_send<T: Send>(_: &T) {}
    let client = unreachable_client();
    let future = operations::call(&client, "list_runs", Map::new());
    assert_send(&future);
}
