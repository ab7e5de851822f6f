//! The suggested decisions (`kitaru_codegen::suggest`) on the vendored
//! specs, measured against the decisions the repository made by hand and
//! against the build's own check.

use std::path::Path;

use kitaru_codegen::suggest::{self, Suggested};
use kitaru_codegen::{api_tools, served, tools};
use serde_json::Value;

fn repo_file(path: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

fn spec(version: &str) -> Value {
    serde_json::from_str(&repo_file(&format!(
        "openapi/kitaru-server-{version}.openapi.json"
    )))
    .unwrap()
}

/// Operations `api_tools.toml` hides because their answers are or hold
/// credentials (tokens, keys, secret values, connector credentials).
const HIDDEN_FOR_CREDENTIALS: [&str; 14] = [
    "api_token",
    "create_api_key",
    "download_snapshot_code",
    "get_artifact_download_token",
    "get_secret",
    "get_service_connector",
    "get_service_connector_client",
    "get_snapshot_code_download_token",
    "get_stack_deployment_config",
    "list_secrets",
    "list_service_connectors",
    "rotate_api_key",
    "token",
    "update_secret",
];

#[test]
fn what_the_repository_hides_for_credentials_or_exposes_stripped_is_suggested_hidden() {
    let doc = spec("0.94.4");
    let decisions =
        suggest::read_decisions(&repo_file("openapi/api_tools.toml"), "api_tools.toml").unwrap();
    let operations = served::operations(&doc).unwrap();
    let (mut hidden, mut stripped_count) = (0, 0);
    for operation in &operations {
        let Some(decided) = decisions.decided.get(&operation.name) else {
            continue;
        };
        let stripped = decided.contains("its answers without");
        if !(stripped || HIDDEN_FOR_CREDENTIALS.contains(&operation.name.as_str())) {
            continue;
        }
        if stripped {
            stripped_count += 1;
        } else {
            hidden += 1;
        }
        let suggestion = suggest::suggest(&doc, operation, &decisions.credentials);
        assert!(
            matches!(suggestion.decision, Suggested::Hide(_)),
            "{} ({decided}) is suggested exposed: {}",
            operation.name,
            suggestion.why
        );
        if stripped {
            assert!(suggestion.why.contains("strip = ["), "{}", suggestion.why);
        }
    }
    assert_eq!(
        hidden,
        HIDDEN_FOR_CREDENTIALS.len(),
        "every listed operation is decided"
    );
    assert_eq!(
        stripped_count, 10,
        "the operations exposed with fields stripped"
    );
}

/// Every operation of a vendored spec decided as suggested (deprecated and
/// covered ones aside): the build's check accepts it, so no suggestion
/// exposes an answer the build would refuse.
#[test]
fn the_build_accepts_every_operation_decided_as_suggested() {
    let coverage = tools::generate(&repo_file("openapi/tools.toml"), "tools.toml")
        .unwrap()
        .coverage;
    let text = repo_file("openapi/api_tools.toml");
    let decisions = suggest::read_decisions(&text, "api_tools.toml").unwrap();
    for version in ["0.94.4", "0.98.0"] {
        let doc = spec(version);
        // 0.98.0's new field a name match only calls a credential.
        let rules = decisions
            .credentials
            .with_not_credentials(["UserResponseMetadata.password_changed_at".to_owned()]);
        let mut file: toml::Table = text.parse().unwrap();
        let mut operations = toml::Table::new();
        let mut exposed = 0;
        for operation in served::operations(&doc).unwrap() {
            if operation.deprecated || coverage.contains_key(&operation.name) {
                continue;
            }
            let value = match suggest::suggest(&doc, &operation, &rules).decision {
                Suggested::Expose => {
                    exposed += 1;
                    toml::Value::String("expose".into())
                }
                Suggested::Hide(reason) => {
                    let mut hide = toml::Table::new();
                    hide.insert("hide".into(), toml::Value::String(reason));
                    toml::Value::Table(hide)
                }
            };
            operations.insert(operation.name.clone(), value);
        }
        file.insert("operations".into(), toml::Value::Table(operations));
        file.get_mut("credentials")
            .and_then(toml::Value::as_table_mut)
            .and_then(|credentials| credentials.get_mut("not_credentials"))
            .and_then(toml::Value::as_array_mut)
            .expect("[credentials] not_credentials")
            .push("UserResponseMetadata.password_changed_at".into());
        let decided = toml::to_string(&file).unwrap();
        api_tools::generate(&doc, &decided, "api_tools.toml", &coverage)
            .unwrap_or_else(|e| panic!("{version}: {e}"));
        assert!(exposed > 150, "{version}: only {exposed} suggested exposed");
    }
}
