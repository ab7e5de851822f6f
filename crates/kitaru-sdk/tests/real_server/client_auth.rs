//! Logging in against a server with authentication on (the harness runs one
//! beside the local daemon, over the same database).

use kitaru_client::{ApiToken, Client, Credentials, Secret, Session};

use kitaru_testkit::server;

fn auth_url() -> &'static str {
    server().str("/auth/server_url")
}

fn api_key() -> Credentials {
    Credentials::ApiKey(Secret::new(server().str("/auth/api_key")))
}

fn password() -> Credentials {
    Credentials::Password {
        username: server().str("/auth/username").to_owned(),
        password: Secret::new(server().str("/auth/password")),
    }
}

async fn runs_answer(
    client: &Client,
) -> Result<usize, kitaru_client::Error<kitaru_client::types::ErrorBody>> {
    Ok(client.list_runs().size(100).send().await?.items.len())
}

fn status_and_detail(
    error: kitaru_client::Error<kitaru_client::types::ErrorBody>,
) -> (u16, String) {
    match error {
        kitaru_client::Error::ErrorResponse(answer) => {
            let status = answer.status().as_u16();
            (status, kitaru_client::error_detail(&answer.into_inner().0))
        }
        other => panic!("expected an error answer from the server, got {other}"),
    }
}

#[tokio::test]
async fn the_auth_server_refuses_anonymous_requests() {
    let client = Client::with_credentials(auth_url(), Credentials::None, reqwest::Client::new());
    let (status, detail) = status_and_detail(runs_answer(&client).await.unwrap_err());
    assert_eq!(status, 401);
    assert!(detail.contains("Not authenticated"), "{detail}");
}

#[tokio::test]
async fn an_api_key_logs_in_on_the_first_401() {
    let client = Client::with_credentials(auth_url(), api_key(), reqwest::Client::new());
    assert!(!client.session().has_token());
    let runs = runs_answer(&client)
        .await
        .expect("the API key is exchanged for a token");
    assert!(runs >= 3, "the seeded runs are visible, got {runs}");
    assert!(client.session().has_token());
}

#[tokio::test]
async fn a_username_and_password_log_in() {
    let client = Client::with_credentials(auth_url(), password(), reqwest::Client::new());
    assert!(runs_answer(&client).await.unwrap() >= 3);
}

#[tokio::test]
async fn a_rejected_token_is_replaced_by_logging_in_again_once() {
    // What a token that expired mid-session looks like to the client: a 401.
    let session = Session::new(api_key()).with_token(Secret::new("expired.or.revoked"));
    let client = Client::with_session(auth_url(), session, reqwest::Client::new());
    assert!(runs_answer(&client).await.unwrap() >= 3);
    // The fresh token is kept: the next call needs no new login.
    assert!(runs_answer(&client).await.unwrap() >= 3);
}

#[tokio::test]
async fn a_bad_api_key_reports_the_servers_reason() {
    let client = Client::with_credentials(
        auth_url(),
        Credentials::ApiKey(Secret::new("ZENKEY_not-a-key")),
        reqwest::Client::new(),
    );
    let (status, detail) = status_and_detail(runs_answer(&client).await.unwrap_err());
    assert_eq!(status, 401);
    assert!(detail.contains("API key"), "{detail}");
    assert!(
        !detail.contains("not-a-key"),
        "the key is not echoed: {detail}"
    );
    assert!(!client.session().has_token());
}

#[tokio::test]
async fn a_bare_token_is_used_as_it_is_and_not_renewed() {
    let login = Client::with_credentials(auth_url(), password(), reqwest::Client::new());
    runs_answer(&login).await.unwrap();
    let token = login
        .token()
        .body(
            kitaru_client::types::TokenBody::builder()
                .username(Some("default".to_owned()))
                .password(Some(String::new())),
        )
        .send()
        .await
        .unwrap()
        .into_inner();
    let kitaru_client::types::TokenResponse::TokenResponse(token) = token else {
        panic!("a password login answers with a token");
    };
    let token = token.access_token;
    let bare = Client::with_credentials(
        auth_url(),
        Credentials::Token(ApiToken::new(token)),
        reqwest::Client::new(),
    );
    assert!(runs_answer(&bare).await.unwrap() >= 3);

    let garbage = Client::with_credentials(
        auth_url(),
        Credentials::Token(ApiToken::new("garbage")),
        reqwest::Client::new(),
    );
    let (status, _) = status_and_detail(runs_answer(&garbage).await.unwrap_err());
    assert_eq!(status, 401);
}
