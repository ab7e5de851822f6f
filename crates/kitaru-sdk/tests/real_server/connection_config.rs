//! Finding the server the way the CLI does, then connecting to it.

use std::collections::HashMap;

use kitaru_client::connection::{ConnectError, ConnectionOptions, Source};

use kitaru_testkit::server;

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[tokio::test]
async fn the_config_written_by_kitaru_login_connects() {
    let server = server();
    let config_dir = server.str("/config_path");
    let resolved = ConnectionOptions::new()
        .working_dir(server.str("/project_dir"))
        .resolve(&env(&[("ZENML_CONFIG_PATH", config_dir)]))
        .unwrap();
    assert_eq!(resolved.server_url, server.url);
    assert_eq!(
        resolved.sources.server_url,
        Source::File(std::path::Path::new(config_dir).join("config.yaml"))
    );
    let client = resolved.connect().await.unwrap();
    let runs = client.list_runs().size(100).send().await.unwrap();
    assert!(runs.items.len() >= 3);
}

#[tokio::test]
async fn kitaru_environment_variables_connect_with_an_api_key() {
    let server = server();
    let empty = tempfile::tempdir().unwrap();
    let resolved = ConnectionOptions::new()
        .working_dir(empty.path())
        .resolve(&env(&[
            ("KITARU_CONFIG_PATH", empty.path().to_str().unwrap()),
            ("KITARU_SERVER_URL", server.str("/auth/server_url")),
            ("KITARU_AUTH_TOKEN", server.str("/auth/api_key")),
            ("KITARU_PROJECT", server.str("/seed/project/name")),
        ]))
        .unwrap();
    let client = resolved.connect().await.unwrap();
    let user = client.get_current_user().send().await.unwrap();
    assert_eq!(user.name, server.str("/auth/service_account"));
}

#[tokio::test]
async fn a_refused_api_key_names_where_it_came_from_and_is_not_echoed() {
    let server = server();
    let empty = tempfile::tempdir().unwrap();
    let key = "ZENKEY_refused-in-test";
    let error = ConnectionOptions::new()
        .working_dir(empty.path())
        .resolve(&env(&[
            ("KITARU_CONFIG_PATH", empty.path().to_str().unwrap()),
            ("KITARU_SERVER_URL", server.str("/auth/server_url")),
            ("KITARU_AUTH_TOKEN", key),
            ("KITARU_PROJECT", "default"),
        ]))
        .unwrap()
        .connect()
        .await
        .unwrap_err();
    assert!(
        matches!(error, ConnectError::Rejected { status: 401, .. }),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains("KITARU_SERVER_URL"), "{message}");
    assert!(message.contains("KITARU_AUTH_TOKEN"), "{message}");
    assert!(!message.contains("refused-in-test"), "{message}");
}

#[tokio::test]
async fn an_unreachable_server_names_the_url_and_its_source() {
    let empty = tempfile::tempdir().unwrap();
    // A port nothing listens on: bind one, then free it.
    let port = kitaru_testkit::free_port();
    let url = format!("http://127.0.0.1:{port}");
    let error = ConnectionOptions::new()
        .working_dir(empty.path())
        .resolve(&env(&[
            ("KITARU_CONFIG_PATH", empty.path().to_str().unwrap()),
            ("KITARU_SERVER_URL", &url),
            ("KITARU_AUTH_TOKEN", "ZENKEY_whatever"),
            ("KITARU_PROJECT", "default"),
        ]))
        .unwrap()
        .connect()
        .await
        .unwrap_err();
    let message = error.to_string();
    assert!(
        matches!(error, ConnectError::Unreachable { .. }),
        "{message}"
    );
    assert!(
        message.contains(&url) && message.contains("KITARU_SERVER_URL"),
        "{message}"
    );
}
