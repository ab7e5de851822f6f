//! `kitaru-mcp --http` against hostile clients, in front of the
//! auth-enabled test server: slow and idle connections, oversized and
//! malformed bodies, batches, wrong paths and targets, origins and CORS,
//! junk credentials, forged task ids, traversal names, subscriptions that
//! could never be delivered, and secret values searched in stderr at
//! `--log trace` and in the audit log. Then the official MCP conformance
//! suite (tests/node) against an instance.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use kitaru_testkit::server;

/// A `kitaru-mcp --http` process, stopped when dropped; its stderr and
/// audit log in `logs`.
struct Instance {
    child: Child,
    port: u16,
    logs: tempfile::TempDir,
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Instance {
    fn start(args: &[&str]) -> Self {
        let port = kitaru_testkit::free_port();
        let logs = tempfile::tempdir().unwrap();
        let child = crate::support::kitaru_mcp()
            .env("KITARU_SERVER_URL", server().str("/auth/server_url"))
            .env("KITARU_PROJECT", "default")
            .env("KITARU_MCP_AUDIT_LOG", logs.path().join("audit.jsonl"))
            .args(["--http", &port.to_string()])
            .args(args)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(logs.path().join("stderr.log")).unwrap())
            .spawn()
            .expect("start kitaru-mcp --http");
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "kitaru-mcp --http did not listen"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { child, port, logs }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.logs.path().join(name)).unwrap_or_default()
    }
}

fn api_key() -> String {
    format!("Bearer {}", server().str("/auth/api_key"))
}

/// A POST of `body` with the usual MCP headers and `extra` ones: the status,
/// the headers and the body (as JSON when it is).
async fn post_raw(
    url: &str,
    body: impl Into<reqwest::Body>,
    extra: &[(&str, &str)],
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut request = reqwest::Client::new()
        .post(url)
        .header("Accept", "application/json, text/event-stream")
        .header("Content-Type", "application/json")
        .header("MCP-Protocol-Version", "2025-11-25")
        .body(body);
    for (name, value) in extra {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("the instance answers");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    (
        status,
        headers,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn rpc(url: &str, method: &str, params: Value) -> Value {
    let message = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let key = api_key();
    let (status, _, body) =
        post_raw(url, message.to_string(), &[("Authorization", key.as_str())]).await;
    assert_eq!(status, 200, "{method}: {body}");
    body
}

fn initialize_params() -> Value {
    json!({"protocolVersion": "2025-11-25", "capabilities": {"extensions": {"io.modelcontextprotocol/tasks": {}}}, "clientInfo": {"name": "hostile", "version": "0"}})
}

/// Writes `request` as it is on a new connection to `port` and reads the
/// answer until the server closes the connection (45 s at most).
async fn raw_exchange(port: u16, request: String) -> String {
    tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(45)))
            .unwrap();
        let mut text = String::new();
        let _ = stream.read_to_string(&mut text);
        text
    })
    .await
    .unwrap()
}

/// Whether the server closed `stream` within `within` (a read sees EOF or
/// an error).
fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    stream.set_read_timeout(Some(within)).unwrap();
    let mut buffer = [0u8; 1024];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => return true,
            // A 408 or similar before closing is fine.
            Ok(_) => continue,
            Err(error) => {
                return !matches!(
                    error.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn slow_idle_and_too_many_connections_are_cut_and_the_instance_keeps_serving() {
    let instance = Instance::start(&[]);
    let port = instance.port;
    let started = Instant::now();
    let (half_headers, idle, crowd) = tokio::task::spawn_blocking(move || {
        // 200 connections that send half a header and stop, before any
        // authentication.
        let half: Vec<TcpStream> = (0..200)
            .map(|_| {
                let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
                stream
                    .write_all(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Ty")
                    .unwrap();
                stream
            })
            .collect();
        let idle = TcpStream::connect(("127.0.0.1", port)).unwrap();
        // More than the instance serves at once: they wait their turn.
        let crowd: Vec<TcpStream> = (0..100)
            .map(|_| TcpStream::connect(("127.0.0.1", port)).unwrap())
            .collect();
        (half, idle, crowd)
    })
    .await
    .unwrap();
    // An honest caller is served, at the latest once the header timeout
    // has cut the stalled ones.
    let body = rpc(&instance.url(), "initialize", initialize_params()).await;
    assert_eq!(body["result"]["serverInfo"]["name"], "kitaru");
    let served_after = started.elapsed();
    let closed = tokio::task::spawn_blocking(move || {
        let mut all = half_headers;
        all.push(idle);
        all.extend(crowd);
        // One deadline for all: the header timeout is 10 s.
        let deadline = Instant::now() + Duration::from_secs(25);
        all.iter_mut()
            .map(|stream| {
                let left = deadline.saturating_duration_since(Instant::now());
                closed_within(stream, left.max(Duration::from_millis(10)))
            })
            .filter(|closed| *closed)
            .count()
    })
    .await
    .unwrap();
    assert_eq!(closed, 301, "every stalled connection is closed");
    eprintln!(
        "301 stalled connections: served an honest call after {served_after:?}, all cut after {:?}",
        started.elapsed()
    );
    // A body that never completes is cut too.
    let key = api_key();
    let answer = raw_exchange(
        port,
        format!(
            "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {key}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: 100\r\n\r\n{{\"jsonrpc\""
        ),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
}

#[tokio::test]
async fn malformed_requests_are_answered_as_json_rpc_errors() {
    let instance = Instance::start(&[]);
    let url = instance.url();
    let key = api_key();
    let auth = [("Authorization", key.as_str())];
    // Not JSON: -32700; a batch or a non-message: -32600.
    let (status, _, body) = post_raw(&url, "{not json", &auth).await;
    assert_eq!(
        (status, body["error"]["code"].as_i64()),
        (400, Some(-32700)),
        "{body}"
    );
    let batch = json!([{"jsonrpc": "2.0", "id": 1, "method": "ping"}]);
    let (status, _, body) = post_raw(&url, batch.to_string(), &auth).await;
    assert_eq!(
        (status, body["error"]["code"].as_i64()),
        (400, Some(-32600)),
        "{body}"
    );
    assert!(body["error"]["message"].as_str().unwrap().contains("batch"));
    let (status, _, body) = post_raw(&url, json!({"id": 7, "x": 1}).to_string(), &auth).await;
    assert_eq!((status, body["id"].clone()), (400, json!(7)), "{body}");
    // Too large a body: 413, as JSON-RPC.
    let huge = format!(
        "{{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\": \"ping\", \"x\": \"{}\"}}",
        "a".repeat(5 << 20)
    );
    let (status, _, body) = post_raw(&url, huge, &auth).await;
    assert_eq!(
        (status, body["error"]["code"].as_i64()),
        (413, Some(-32600)),
        "{body}"
    );
    // Only the MCP path answers MCP.
    let ping = json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}).to_string();
    let (status, _, body) = post_raw(&format!("{url}admin"), ping.clone(), &auth).await;
    assert_eq!(status, 404, "{body}");
    let (status, _, _) = post_raw(&format!("{url}mcp"), ping.clone(), &auth).await;
    assert_eq!(status, 200);
    // Huge headers: refused by the HTTP layer.
    let big = "x".repeat(1 << 20);
    let (status, _, _) = post_raw(&url, ping.clone(), &[("X-Big", big.as_str())]).await;
    assert_eq!(status, 431);
    // An absolute-form target must name the Host it is sent to.
    let port = instance.port;
    let answer = raw_exchange(
        port,
        format!(
            "POST http://evil.example.com/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: {key}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{ping}",
            ping.len()
        ),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
}

#[tokio::test]
async fn origins_of_this_machine_are_served_and_preflights_answered_before_credentials() {
    let instance = Instance::start(&["--allowed-origins", "https://app.example.com"]);
    let url = instance.url();
    let key = api_key();
    let ping = json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}).to_string();
    let local = format!("http://127.0.0.1:{}", instance.port);
    for origin in [
        local.as_str(),
        "http://localhost:5173",
        "https://app.example.com",
    ] {
        let (status, headers, body) = post_raw(
            &url,
            ping.clone(),
            &[("Authorization", key.as_str()), ("Origin", origin)],
        )
        .await;
        assert_eq!(status, 200, "{origin}: {body}");
        assert_eq!(headers["access-control-allow-origin"], origin);
    }
    let (status, _, _) = post_raw(
        &url,
        ping.clone(),
        &[
            ("Authorization", key.as_str()),
            ("Origin", "http://evil.example.com"),
        ],
    )
    .await;
    assert_eq!(status, 403);
    // A preflight carries no credentials: answered for allowed origins.
    let client = reqwest::Client::new();
    let preflight = |origin: &'static str| {
        client
            .request(reqwest::Method::OPTIONS, &url)
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .header(
                "Access-Control-Request-Headers",
                "authorization, content-type",
            )
            .send()
    };
    let allowed = preflight("https://app.example.com").await.unwrap();
    assert_eq!(allowed.status().as_u16(), 204);
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
    let methods = allowed.headers()["access-control-allow-methods"]
        .to_str()
        .unwrap();
    assert!(methods.contains("POST"), "{methods}");
    let headers = allowed.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap();
    assert!(headers.contains("authorization"), "{headers}");
    assert_eq!(
        preflight("http://evil.example.com")
            .await
            .unwrap()
            .status()
            .as_u16(),
        403
    );
    // Without credentials, an allowed origin still reads why (401 + CORS).
    let (status, headers, _) = post_raw(&url, ping, &[("Origin", "https://app.example.com")]).await;
    assert_eq!(status, 401);
    assert_eq!(
        headers["access-control-allow-origin"],
        "https://app.example.com"
    );
}

#[tokio::test]
async fn callers_with_junk_credentials_forged_tasks_and_traversal_names_change_nothing() {
    let instance = Instance::start(&["--log", "trace"]);
    let url = instance.url();
    // Junk tokens: each refused by the Kitaru server, the instance answers.
    let tools_call = |name: &str, arguments: Value| {
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": name, "arguments": arguments}}).to_string()
    };
    for n in 0..50 {
        let junk = format!("Bearer junk-{n}");
        let (status, _, body) = post_raw(
            &url,
            tools_call("kitaru_executions_list", json!({"limit": 1})),
            &[("Authorization", junk.as_str())],
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["result"]["isError"], true, "{body}");
    }
    // No subscriptions where they cannot be delivered.
    let initialized = rpc(&url, "initialize", initialize_params()).await;
    let capabilities = &initialized["result"]["capabilities"];
    assert!(
        capabilities["resources"].get("subscribe").is_none(),
        "{capabilities}"
    );
    let key = api_key();
    let subscribe = json!({"jsonrpc": "2.0", "id": 3, "method": "resources/subscribe",
        "params": {"uri": format!("kitaru://executions/{}", server().str("/seed/completed/exec_id"))}});
    refused_with(&url, &subscribe, "not available over HTTP").await;
    // A forged task id is refused.
    let forged = crate::security::unsigned_task_id(server().str("/seed/waiting/exec_id"));
    for method in ["tasks/get", "tasks/cancel"] {
        // Stateless: the request carries the client's capabilities.
        let message = json!({"jsonrpc": "2.0", "id": 4, "method": method, "params": {"taskId": forged,
            "_meta": {"io.modelcontextprotocol/clientCapabilities": {"extensions": {"io.modelcontextprotocol/tasks": {}}}}}});
        refused_with(&url, &message, "unknown task id").await;
    }
    // A memory name that climbs out of the store.
    let (_, _, body) = post_raw(
        &url,
        tools_call("kitaru_memory_set", json!({"key": "k/../../../../../../../../tmp/x", "value": 1, "scope": "s", "scope_type": "namespace"})),
        &[("Authorization", key.as_str())],
    )
    .await;
    assert_eq!(body["result"]["isError"], true, "{body}");
    assert_eq!(
        body["result"]["_meta"]["kitaru/error"]["argument"], "key",
        "{body}"
    );
    // A secret value: in no log at trace.
    let marker = format!("s3cr3t-{}", uuid::Uuid::new_v4().simple());
    let name = kitaru_testkit::fresh("http-secret");
    let (_, _, body) = post_raw(
        &url,
        tools_call(
            "kitaru_secrets_create",
            json!({"name": name, "values": {"TOKEN": marker}}),
        ),
        &[("Authorization", key.as_str())],
    )
    .await;
    assert_eq!(body["result"]["isError"], false, "{body}");
    assert!(!body.to_string().contains(&marker));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let stderr = instance.log("stderr.log");
    let audit = instance.log("audit.jsonl");
    assert!(stderr.lines().count() > 20, "{stderr}");
    assert!(audit.contains("kitaru_secrets_create"), "{audit}");
    for (channel, text) in [("stderr", &stderr), ("audit log", &audit)] {
        assert!(
            !text.contains(&marker),
            "the secret value is in the {channel}"
        );
        assert!(
            !text.contains(server().str("/auth/api_key")),
            "the API key is in the {channel}"
        );
    }
}

/// Sends `message` with the service account's key: it must be refused
/// with a JSON-RPC error whose message says `expected`.
async fn refused_with(url: &str, message: &Value, expected: &str) {
    let key = api_key();
    let (_, _, body) = post_raw(url, message.to_string(), &[("Authorization", key.as_str())]).await;
    let said = body["error"]["message"].as_str().unwrap_or_default();
    assert!(said.contains(expected), "{message}: {body}");
}

fn node_dir() -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/node")
}

#[test]
fn the_official_conformance_suite_passes() {
    crate::ts_client::node_packages();
    let instance = Instance::start(&[]);
    let scenarios = [
        "server-initialize",
        "ping",
        "tools-list",
        "resources-list",
        "prompts-list",
        "logging-set-level",
        "dns-rebinding-protection",
    ];
    let output = std::process::Command::new("bash")
        .arg(node_dir().join("conformance.sh"))
        .arg(instance.url())
        .args(scenarios)
        .env("CONFORMANCE_AUTHORIZATION", api_key())
        .output()
        .expect("bash runs");
    let report = String::from_utf8_lossy(&output.stdout);
    eprintln!("{report}");
    assert!(
        output.status.success(),
        "{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for scenario in scenarios {
        assert!(
            report.contains(&format!("PASS {scenario}")),
            "{scenario}: {report}"
        );
    }
}
