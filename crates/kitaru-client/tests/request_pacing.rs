//! How requests reach the server: no more at once than the connection
//! allows, and a read whose connection closed before any answer is sent once
//! more (a write never is). Local stand-ins: a real server cannot be made to
//! hold requests or drop a connection on cue.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use kitaru_client::connection::{ConnectionOptions, ResolvedConnection};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const USER: &str = r#"{"id": "6f1ab3f2-48a1-4a54-9f2a-54e1c1a1e1b0", "name": "default", "body": {"created": "2026-01-01T00:00:00", "updated": "2026-01-01T00:00:00", "active": true, "is_service_account": false, "is_admin": true}}"#;

fn resolve(url: &str, dir: &std::path::Path, limit: Option<usize>) -> ResolvedConnection {
    let mut options = ConnectionOptions::new()
        .config_dir(dir.join("config"))
        .working_dir(dir)
        .server_url(url)
        .bearer_token("t")
        .project("default")
        .http_timeout(Duration::from_secs(10));
    if let Some(limit) = limit {
        options = options.max_concurrent_requests(limit);
    }
    options
        .resolve(&HashMap::<String, String>::new())
        .expect("resolves")
}

/// Reads one request's head (the stand-ins' requests have no body).
async fn read_request(stream: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut byte = [0_u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte).await {
            Ok(1) => head.push(byte[0]),
            _ => return None,
        }
    }
    Some(String::from_utf8_lossy(&head).into_owned())
}

async fn answer(stream: &mut TcpStream, body: &str) {
    let answer = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(answer.as_bytes()).await;
}

/// A server that holds each request 150 ms and records the most it held at
/// once.
async fn slow_server() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let held = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let seen = most.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let (held, most) = (held.clone(), most.clone());
            tokio::spawn(async move {
                while read_request(&mut stream).await.is_some() {
                    let now = held.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(150)).await;
                    held.fetch_sub(1, Ordering::SeqCst);
                    answer(&mut stream, USER).await;
                }
            });
        }
    });
    (url, seen)
}

async fn ten_at_once(connection: &ResolvedConnection) {
    let client = connection.client().unwrap();
    let calls: Vec<_> = (0..10)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.get_current_user().send().await })
        })
        .collect();
    for call in calls {
        call.await.unwrap().expect("each request is answered");
    }
}

#[tokio::test]
async fn requests_under_way_at_once_stay_within_the_limit() {
    let dir = tempfile::tempdir().unwrap();

    // A loopback server is one process: one request at a time by default.
    let (url, most) = slow_server().await;
    let local = resolve(&url, dir.path(), None);
    assert_eq!(local.max_concurrent_requests, 1);
    ten_at_once(&local).await;
    assert_eq!(most.load(Ordering::SeqCst), 1);

    let (url, most) = slow_server().await;
    let three = resolve(&url, dir.path(), Some(3));
    assert_eq!(three.max_concurrent_requests, 3);
    ten_at_once(&three).await;
    assert_eq!(most.load(Ordering::SeqCst), 3);
}

#[test]
fn the_limit_comes_from_the_environment_or_the_kind_of_server() {
    let dir = tempfile::tempdir().unwrap();
    let resolve_with = |url: &str, env: &[(&str, &str)]| {
        ConnectionOptions::new()
            .config_dir(dir.path().join("config"))
            .working_dir(dir.path())
            .server_url(url)
            .bearer_token("t")
            .project("default")
            .resolve(
                &env.iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect::<HashMap<_, _>>(),
            )
    };
    for (url, expected) in [
        ("http://127.0.0.1:8237", 1),
        ("http://localhost:8237", 1),
        ("http://[::1]:8237", 1),
        ("https://kitaru.example.com", 8),
        ("http://10.0.0.5:8080", 8),
    ] {
        let resolved = resolve_with(url, &[]).unwrap();
        assert_eq!(resolved.max_concurrent_requests, expected, "{url}");
    }
    let resolved = resolve_with(
        "http://127.0.0.1:8237",
        &[("KITARU_MAX_CONCURRENT_REQUESTS", "4")],
    )
    .unwrap();
    assert_eq!(resolved.max_concurrent_requests, 4);

    let refused = resolve_with(
        "http://127.0.0.1:8237",
        &[("KITARU_MAX_CONCURRENT_REQUESTS", "0")],
    )
    .unwrap_err()
    .to_string();
    assert!(
        refused.contains("KITARU_MAX_CONCURRENT_REQUESTS") && refused.contains("greater than 0"),
        "{refused}"
    );
}

/// A server that closes the first connection after reading a request,
/// without answering, and answers every later one; it counts requests.
async fn dropping_server() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let requests = Arc::new(AtomicUsize::new(0));
    let counted = requests.clone();
    tokio::spawn(async move {
        let mut first = true;
        while let Ok((mut stream, _)) = listener.accept().await {
            if read_request(&mut stream).await.is_none() {
                continue;
            }
            requests.fetch_add(1, Ordering::SeqCst);
            if std::mem::take(&mut first) {
                drop(stream);
                continue;
            }
            answer(&mut stream, USER).await;
        }
    });
    (url, counted)
}

#[tokio::test]
async fn a_read_whose_connection_dropped_is_sent_again_a_write_is_not() {
    let dir = tempfile::tempdir().unwrap();

    let (url, requests) = dropping_server().await;
    let client = resolve(&url, dir.path(), None).client().unwrap();
    let user = client
        .get_current_user()
        .send()
        .await
        .expect("answered the second time");
    assert_eq!(user.name, "default");
    assert_eq!(requests.load(Ordering::SeqCst), 2);

    let (url, requests) = dropping_server().await;
    let client = resolve(&url, dir.path(), None).client().unwrap();
    let refused = client
        .refresh_run_status()
        .run_id(uuid::Uuid::nil())
        .send()
        .await
        .expect_err("a dropped write is not repeated");
    assert!(
        matches!(refused, kitaru_client::Error::CommunicationError(_)),
        "{refused}"
    );
    assert_eq!(requests.load(Ordering::SeqCst), 1);
}
