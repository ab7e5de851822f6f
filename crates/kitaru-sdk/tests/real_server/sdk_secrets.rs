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

/// The list orders secrets by lower-case name then id, pages them, and
/// shows keys and visibility, never a value.
#[tokio::test]
async fn secrets_are_listed_by_name_in_pages_without_values() {
    let kitaru = server().kitaru().await;
    let stem = kitaru_testkit::fresh("listed");
    let names = [
        format!("B-{stem}"),
        format!("a-{stem}"),
        format!("c-{stem}"),
    ];
    let mut ids = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let values = json!({"TOKEN": format!("hidden-{i}-{stem}")});
        let created = secrets::create(&kitaru, name, values.as_object().unwrap(), i == 2)
            .await
            .unwrap();
        ids.push(created.id);
    }
    let everything = secrets::list(&kitaru, 1, 100_000).await.unwrap();
    let order: Vec<(String, String)> = everything
        .iter()
        .map(|s| (s.name.to_lowercase(), s.id.clone()))
        .collect();
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(order, sorted, "by lower-case name, then id");
    let ours: Vec<&str> = everything
        .iter()
        .filter(|s| s.name.ends_with(&stem))
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(
        ours,
        [names[1].as_str(), names[0].as_str(), names[2].as_str()]
    );
    let private = everything.iter().find(|s| s.name == names[2]).unwrap();
    assert_eq!(private.visibility, "private");
    assert_eq!(private.keys, ["TOKEN"]);
    let shown = serde_json::to_string(&everything).unwrap();
    assert!(!shown.contains("hidden-"), "a value was shown");

    // Pages are windows of that order.
    let at = everything.iter().position(|s| s.name == names[1]).unwrap();
    let size = 2;
    let page = i64::try_from(at / size + 1).unwrap();
    let window = secrets::list(&kitaru, page, 2).await.unwrap();
    let start = (at / size) * size;
    assert_eq!(window[0].id, everything[start].id);
    assert!(window.len() <= size);
    assert!(
        secrets::list(&kitaru, 100_000, 20)
            .await
            .unwrap()
            .is_empty()
    );
    for (page, size, argument) in [(0, 20, "page"), (1, 0, "size"), (-3, 5, "page")] {
        let error = secrets::list(&kitaru, page, size).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidArgument);
        assert_eq!(
            error.to_string(),
            format!("invalid argument `{argument}`: `{argument}` must be an integer >= 1.")
        );
    }
}
