//! Connecting to servers that fail in ways a real Kitaru server cannot be
//! made to (local stand-ins): one that answers 500 with its message, one
//! that refuses, one that never answers. Each failure says what happened.

use std::collections::HashMap;
use std::time::Duration;

use kitaru_client::ConnectError;
use kitaru_client::connection::ConnectionOptions;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn options(url: &str, dir: &std::path::Path) -> ConnectionOptions {
    ConnectionOptions::new()
        .config_dir(dir.join("config"))
        .working_dir(dir)
        .server_url(url)
        .bearer_token("t")
        .project("default")
        .http_timeout(Duration::from_millis(500))
}

async fn connect(url: &str) -> ConnectError {
    let dir = tempfile::tempdir().unwrap();
    let resolved = options(url, dir.path())
        .resolve(&HashMap::<String, String>::new())
        .expect("resolves");
    resolved
        .connect()
        .await
        .err()
        .expect("the connection fails")
}

#[tokio::test]
async fn a_server_error_is_reported_with_its_message_not_as_unreachable() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut request = [0_u8; 4096];
            let _ = stream.read(&mut request).await;
            let body = r#"{"detail": ["OperationalError", "database is locked"]}"#;
            let answer = format!(
                "HTTP/1.1 500 Internal Server Error\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(answer.as_bytes()).await;
        }
    });
    let error = connect(&format!("http://127.0.0.1:{port}")).await;
    assert!(
        matches!(&error, ConnectError::Unexpected { status: 500, detail, .. } if detail == "database is locked"),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .contains("answered HTTP 500: database is locked"),
        "{error}"
    );
}

#[tokio::test]
async fn refused_and_hung_servers_say_which() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let refused = connect(&format!("http://127.0.0.1:{port}"))
        .await
        .to_string();
    assert!(refused.contains("refused the connection"), "{refused}");

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let hung = connect(&format!("http://127.0.0.1:{port}"))
        .await
        .to_string();
    assert!(
        hung.contains("timed out") && hung.contains("http_timeout"),
        "{hung}"
    );
}
