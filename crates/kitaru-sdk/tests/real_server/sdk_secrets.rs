//! Secrets against the real server: what is stored is what the Python SDK
//! reads back, and no value ever comes back here.

use kitaru_sdk::{ErrorKind, secrets};
use serde_json::{Value, json};

use kitaru_testkit::{Runs, python, server};

/// The values the Python SDK reads for secret `name`.
async fn python_reads(name: &str) -> Value {
    python(
        "secret_read",
        &[],
        Some(json!({"name": name})),
        Runs::NoFlow,
    )
    .await
}

#[tokio::test]
async fn a_secret_created_here_reads_the_same_in_python() {
    let kitaru = server().kitaru().await;
    let name = kitaru_testkit::fresh("secret");
    let values = json!({
        "API_KEY": "s3cr3t-value", "PORT": 8080, "RATIO": 1.0, "FLAG": true,
        " PADDED ": "x", "OBJ": {"nested": 1}, "LIST": [1, "x"],
    });
    let created = secrets::create(&kitaru, &name, values.as_object().unwrap(), false)
        .await
        .unwrap();
    assert_eq!(created.name, name);
    assert_eq!(created.visibility, "public");
    assert_eq!(
        created.keys,
        ["API_KEY", "FLAG", "LIST", "OBJ", "PADDED", "PORT", "RATIO"]
    );
    assert!(!created.has_missing_values);
    let shown = serde_json::to_string(&created).unwrap();
    assert!(!shown.contains("s3cr3t-value"), "{shown}");

    let read = python_reads(&name).await;
    assert_eq!(
        read["values"],
        json!({"API_KEY": "s3cr3t-value", "PORT": "8080", "RATIO": "1.0", "FLAG": "True",
               "PADDED": "x", "OBJ": "{'nested': 1}", "LIST": "[1, 'x']"})
    );
    assert_eq!(read["private"], false);

    // The same name again: a conflict that names it, and no value.
    let again = secrets::create(&kitaru, &name, values.as_object().unwrap(), false)
        .await
        .unwrap_err();
    assert_eq!(again.kind(), ErrorKind::Conflict);
    assert!(
        again
            .to_string()
            .starts_with(&format!("Secret `{name}` already exists.")),
        "{again}"
    );
    assert!(!again.to_string().contains("s3cr3t"), "{again}");
    // A private secret may share a public one's name.
    let private = secrets::create(&kitaru, &name, values.as_object().unwrap(), true)
        .await
        .unwrap();
    assert_eq!(private.visibility, "private");
    assert_ne!(private.id, created.id);
}

#[tokio::test]
async fn bad_secrets_are_refused_before_the_server_sees_them() {
    let kitaru = server().kitaru().await;
    let empty_name = secrets::create(&kitaru, "  ", json!({"A": "1"}).as_object().unwrap(), false)
        .await
        .unwrap_err();
    assert_eq!(empty_name.kind(), ErrorKind::InvalidArgument);
    assert!(
        empty_name
            .to_string()
            .ends_with("Secret name or ID cannot be empty.")
    );
    let name = kitaru_testkit::fresh("bad-secret");
    let null = secrets::create(
        &kitaru,
        &name,
        json!({"A": null}).as_object().unwrap(),
        false,
    )
    .await
    .unwrap_err();
    assert!(
        null.to_string()
            .ends_with("Secret value for key `A` cannot be None."),
        "{null}"
    );
    let listed = kitaru
        .client
        .list_secrets()
        .name(name.clone())
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.total, 0, "nothing was created");
}
