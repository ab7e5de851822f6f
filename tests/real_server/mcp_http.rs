//! `kitaru-mcp --http`: two instances in front of the auth-enabled test
//! server, one client alternating between them with two users' credentials.
//! Stateless (an instance answers requests of a session it never saw), each
//! request acting as its caller, credentials required and browser origins
//! refused.

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use kitaru_testkit::server;

/// A `kitaru-mcp --http` process, stopped when dropped.
struct Instance {
    child: Child,
    url: String,
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An instance serving the auth-enabled server on a free local port.
fn instance() -> Instance {
    let port = kitaru_testkit::free_port();
    let child = crate::support::kitaru_mcp()
        .env("KITARU_SERVER_URL", server().str("/auth/server_url"))
        .env("KITARU_PROJECT", "default")
        .args(["--http", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start kitaru-mcp --http");
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "kitaru-mcp --http did not listen"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Instance {
        child,
        url: format!("http://127.0.0.1:{port}/"),
    }
}

/// One JSON-RPC request over HTTP: the status and the body.
async fn post(
    url: &str,
    authorization: Option<&str>,
    origin: Option<&str>,
    message: Value,
) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .post(url)
        .header("Accept", "application/json, text/event-stream")
        .header("MCP-Protocol-Version", "2025-11-25")
        .json(&message);
    if let Some(authorization) = authorization {
        request = request.header("Authorization", authorization);
    }
    if let Some(origin) = origin {
        request = request.header("Origin", origin);
    }
    let response = request.send().await.expect("the instance answers");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn call(url: &str, authorization: &str, id: u64, tool: &str, arguments: Value) -> Value {
    let (status, body) = post(
        url,
        Some(authorization),
        None,
        json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
               "params": {"name": tool, "arguments": arguments}}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["isError"], false, "{tool}: {body}");
    body["result"]["structuredContent"].clone()
}

/// A token for the auth server's `default` user (password login).
async fn user_token() -> String {
    login(&[
        ("username", server().str("/auth/username")),
        ("password", server().str("/auth/password")),
    ])
    .await
}

/// A token from the auth server's login form.
async fn login(form: &[(&str, &str)]) -> String {
    let auth = server().str("/auth/server_url");
    let answer: Value = reqwest::Client::new()
        .post(format!("{auth}/api/v1/login"))
        .form(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    answer["access_token"].as_str().expect("a token").to_owned()
}

/// How many secrets named `name` the holder of `authorization` sees, over
/// REST.
async fn secrets_seen(authorization: &str, name: &str) -> u64 {
    let auth = server().str("/auth/server_url");
    let client = reqwest::Client::new();
    // An API key is exchanged for a token first, as any client would.
    let token = match authorization.strip_prefix("Bearer ZENKEY_") {
        Some(_) => {
            let key = authorization.trim_start_matches("Bearer ");
            format!("Bearer {}", login(&[("password", key)]).await)
        }
        None => authorization.to_owned(),
    };
    let page: Value = client
        .get(format!("{auth}/api/v1/secrets"))
        .query(&[("name", format!("equals:{name}"))])
        .header("Authorization", token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    page["total"].as_u64().unwrap_or_else(|| panic!("{page}"))
}

/// The `initialize` request of these tests.
fn initialize() -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}})
}

/// The handshake on `url` as the holder of `authorization`.
async fn handshake(url: &str, authorization: &str) {
    let (status, body) = post(url, Some(authorization), None, initialize()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["serverInfo"]["name"], "kitaru");
}

#[tokio::test]
async fn a_request_without_credentials_is_refused_before_mcp() {
    let one = instance();
    let (status, body) = post(&one.url, None, None, initialize()).await;
    assert_eq!(status, 401, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Authorization"),
        "{body}"
    );
}

#[tokio::test]
async fn a_request_from_a_browser_origin_not_allowed_is_refused_before_mcp() {
    let one = instance();
    let user = format!("Bearer {}", user_token().await);
    let (status, body) = post(
        &one.url,
        Some(&user),
        Some("http://evil.example"),
        initialize(),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    // The same request without the origin is served: the origin was the
    // reason.
    handshake(&one.url, &user).await;
}

#[tokio::test]
async fn two_instances_serve_two_users_alternately_each_as_itself() {
    let (one, two) = (instance(), instance());
    let service_account = format!("Bearer {}", server().str("/auth/api_key"));
    let user = format!("Bearer {}", user_token().await);

    // The handshake on one instance; the calls go to either.
    handshake(&one.url, &service_account).await;
    let turns = [
        (&two.url, &service_account, "kitaru-mcp-tests"),
        (&one.url, &user, server().str("/auth/username")),
        (&two.url, &user, server().str("/auth/username")),
        (&one.url, &service_account, "kitaru-mcp-tests"),
    ];
    for (id, (url, authorization, expected)) in turns.iter().enumerate() {
        let status = call(
            url,
            authorization,
            id as u64 + 2,
            "kitaru_status",
            json!({}),
        )
        .await;
        assert_eq!(status["active_user"], *expected, "turn {id}: {status}");
        assert_eq!(
            status["sdk_version"],
            concat!("kitaru-mcp ", env!("CARGO_PKG_VERSION"))
        );
        assert_eq!(status["server_url"], server().str("/auth/server_url"));
    }
    let listed = call(&one.url, &user, 11, "kitaru_stacks_list", json!({})).await;
    assert!(
        listed["result"]
            .as_array()
            .is_some_and(|stacks| !stacks.is_empty()),
        "{listed}"
    );
}

#[tokio::test]
async fn a_private_secret_made_by_one_user_is_not_seen_by_the_other() {
    let (one, two) = (instance(), instance());
    let service_account = format!("Bearer {}", server().str("/auth/api_key"));
    let user = format!("Bearer {}", user_token().await);
    handshake(&one.url, &service_account).await;
    let name = kitaru_testkit::fresh("http-private");
    let made = call(
        &two.url,
        &service_account,
        10,
        "kitaru_secrets_create",
        json!({"name": name, "values": {"TOKEN": "v"}, "private": true}),
    )
    .await;
    assert_eq!(made["visibility"], "private");
    assert_eq!(secrets_seen(&service_account, &name).await, 1);
    assert_eq!(
        secrets_seen(&user, &name).await,
        0,
        "the other user does not see it"
    );
}
