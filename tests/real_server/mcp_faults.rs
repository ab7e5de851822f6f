//! The binary under load and through a server restart, against the real
//! server: calls sent all at once answer exactly what they answer one after
//! another, and a session outlives its Kitaru server going away and coming
//! back.

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use kitaru_testkit::{StdioPeer, server};

use crate::support::kitaru_mcp;

/// Reads that do not change while other tests run (seeded data only).
fn steady_reads() -> Vec<(&'static str, Value)> {
    let completed = server().str("/seed/completed/exec_id");
    let failed = server().str("/seed/failed/exec_id");
    let artifact = server().str("/seed/completed/checkpoints/0/artifact_ids/0");
    vec![
        ("kitaru_executions_get", json!({"exec_id": completed})),
        ("kitaru_executions_get", json!({"exec_id": failed})),
        ("kitaru_artifacts_get", json!({"artifact_id": artifact})),
        (
            "kitaru_memory_get",
            json!({"key": "greeting", "scope": "seed-ns", "scope_type": "namespace"}),
        ),
        ("kitaru_artifacts_list", json!({"exec_id": completed})),
    ]
}

fn call_line(id: u64, tool: &str, arguments: &Value) -> Vec<u8> {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
           "params": {"name": tool, "arguments": arguments}})
    .to_string()
    .into_bytes()
}

/// Sends every call before reading any answer; the answers by id.
fn all_at_once(
    peer: &mut StdioPeer,
    calls: &[(&str, Value)],
    first_id: u64,
) -> HashMap<u64, Value> {
    for (offset, (tool, arguments)) in calls.iter().enumerate() {
        peer.send_line(&call_line(first_id + offset as u64, tool, arguments));
    }
    let mut answers = HashMap::new();
    while answers.len() < calls.len() {
        let message = peer.next_message();
        if let Some(id) = message.get("id").and_then(Value::as_u64) {
            answers.insert(id, message["result"].clone());
        }
    }
    answers
}

#[test]
fn a_hundred_calls_at_once_answer_as_one_after_another() {
    let reads = steady_reads();
    let calls: Vec<(&str, Value)> = reads.iter().cycle().take(100).cloned().collect();
    let mut peer = StdioPeer::start(kitaru_mcp());

    let started = Instant::now();
    let sequential: Vec<Value> = calls
        .iter()
        .enumerate()
        .map(|(i, (tool, arguments))| {
            peer.send_line(&call_line(1_000 + i as u64, tool, arguments));
            loop {
                let message = peer.next_message();
                if message.get("id").is_some() {
                    break message["result"].clone();
                }
            }
        })
        .collect();
    let one_after_another = started.elapsed();

    let started = Instant::now();
    let concurrent = all_at_once(&mut peer, &calls, 2_000);
    let at_once = started.elapsed();
    // Reported, not asserted: timings belong to the benchmark.
    eprintln!("100 calls: one after another {one_after_another:?}, all at once {at_once:?}");

    for (i, expected) in sequential.iter().enumerate() {
        assert_ne!(expected["isError"], true, "{}: {expected}", calls[i].0);
        let got = &concurrent[&(2_000 + i as u64)];
        assert_eq!(
            got.to_string(),
            expected.to_string(),
            "call {i} ({}) answered differently when sent with the others",
            calls[i].0
        );
    }
}

/// A server process of its own over the test server's database (as the
/// harness starts its authenticating companion), on `port`.
struct OwnServer {
    child: Child,
    url: String,
}

impl OwnServer {
    fn start(port: u16) -> Self {
        let daemon = server().get("/pid").as_u64().expect("server.json pid");
        let environ = std::fs::read(format!("/proc/{daemon}/environ"))
            .expect("read the test server's environment");
        let mut command = Command::new(server().str("/python"));
        for item in environ.split(|&byte| byte == 0) {
            let item = String::from_utf8_lossy(item);
            if let Some((name, value)) = item.split_once('=')
                && (name.starts_with("ZENML_") || name.starts_with("KITARU_"))
            {
                command.env(name, value);
            }
        }
        // A new signing key at each start: tokens issued before a restart
        // are refused after it, as with a real server that rotated its key.
        let key = uuid::Uuid::new_v4().simple().to_string();
        let child = command
            .env("ZENML_SERVER_AUTH_SCHEME", "OAUTH2_PASSWORD_BEARER")
            .env("ZENML_SERVER_JWT_SECRET_KEY", key)
            .env("PYTHONUNBUFFERED", "1")
            .args(["-m", "uvicorn", "zenml.zen_server.zen_server_api:app"])
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .current_dir(server().str("/config_path"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start a server process");
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(90);
        while !healthy(&url) {
            assert!(
                Instant::now() < deadline,
                "the server on {url} did not come up"
            );
            std::thread::sleep(Duration::from_millis(250));
        }
        Self { child, url }
    }

    fn stop(mut self) {
        stop_child(&mut self.child);
    }
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        stop_child(&mut self.child);
    }
}

fn stop_child(child: &mut Child) {
    // SIGTERM first, as a service manager would; then make sure.
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn healthy(url: &str) -> bool {
    let Ok(mut stream) = std::net::TcpStream::connect(url.trim_start_matches("http://")) else {
        return false;
    };
    use std::io::{Read, Write};
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    if stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.starts_with("HTTP/1.1 200")
}

#[test]
fn a_session_outlives_its_server_restarting() {
    let port = kitaru_testkit::free_port();
    let own = OwnServer::start(port);
    let mut command = kitaru_mcp();
    command
        .env("KITARU_SERVER_URL", &own.url)
        .env("KITARU_AUTH_TOKEN", server().str("/auth/api_key"))
        .env("KITARU_PROJECT", "default");
    let mut peer = StdioPeer::start(command);
    let completed = json!({"exec_id": server().str("/seed/completed/exec_id")});

    let before = peer.call("kitaru_executions_get", completed.clone());
    assert!(!before.is_error, "{:?}", before.texts);

    own.stop();
    let down = peer.call("kitaru_executions_get", completed.clone());
    assert!(down.is_error, "{:?}", down.structured);
    assert_eq!(
        down.error_kind.as_deref(),
        Some("unavailable"),
        "{:?}",
        down.texts
    );
    assert!(
        down.texts[0].contains("refused the connection"),
        "{}",
        down.texts[0]
    );

    // Back on the same address with a new signing key: the session's token
    // is refused, it logs in again with its key and answers as before.
    let _own = OwnServer::start(port);
    let after = peer.call("kitaru_executions_get", completed);
    assert!(!after.is_error, "{:?}", after.texts);
    assert_eq!(after.structured, before.structured);
}

/// MCP logging: after `logging/setLevel`, the server's own warnings reach
/// the client as `notifications/message` (connection trouble here), and
/// lines below the level asked for do not.
#[test]
fn connection_trouble_reaches_a_client_that_asked_for_log_messages() {
    let port = kitaru_testkit::free_port();
    let mut command = kitaru_mcp();
    command
        .env("KITARU_SERVER_URL", format!("http://127.0.0.1:{port}"))
        .env("KITARU_PROJECT", "default")
        .env("KITARU_AUTH_TOKEN", "ZENKEY_never-valid");
    let mut peer = StdioPeer::spawn(command);
    let answer = peer.initialize("2025-06-18");
    assert!(answer["capabilities"].get("logging").is_some(), "{answer}");
    assert_eq!(
        peer.request("logging/setLevel", json!({"level": "warning"})),
        json!({})
    );
    let down = peer.call("kitaru_executions_list", json!({"limit": 1}));
    assert!(down.is_error);
    let message = peer
        .wait_for_notification("notifications/message", std::time::Duration::from_secs(10))
        .expect("a log message");
    assert_eq!(message["params"]["level"], "warning", "{message}");
    let text = message["params"]["data"].as_str().unwrap();
    assert!(text.contains("cannot connect"), "{text}");
    assert!(
        !text.contains("never-valid"),
        "a credential in a log message: {text}"
    );
    // `info` lines ("connected to …") are below the level asked for.
    assert!(
        peer.take_notifications("notifications/message")
            .iter()
            .all(|m| m["params"]["level"] != "info")
    );
}
