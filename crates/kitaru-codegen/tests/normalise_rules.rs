//! Each normaliser rule on its own, on a small fixture: `tests/fixtures/
//! <rule>.input.json` rewritten by that rule alone must equal
//! `<rule>.expected.json`, and must differ from the input.

use std::path::PathBuf;

use kitaru_codegen::normalise::{NormaliseError, RULES};
use serde_json::{Value, json};

fn fixture(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

fn apply(rule_name: &str, mut doc: Value) -> Result<Value, NormaliseError> {
    let rule = RULES
        .iter()
        .find(|rule| rule.name == rule_name)
        .unwrap_or_else(|| panic!("no rule named {rule_name}"));
    rule.apply(&mut doc)?;
    Ok(doc)
}

fn assert_rule_rewrites_its_fixture(rule_name: &str) {
    let input = fixture(&format!("{rule_name}.input.json"));
    let expected = fixture(&format!("{rule_name}.expected.json"));
    assert_ne!(
        input, expected,
        "the fixture of {rule_name} must show a change"
    );
    let actual = apply(rule_name, input).unwrap();
    assert_eq!(
        actual,
        expected,
        "{rule_name} rewrote its fixture to\n{}",
        serde_json::to_string_pretty(&actual).unwrap()
    );
}

macro_rules! rule_tests {
    ($($rule:ident),* $(,)?) => {
        $(
            #[test]
            fn $rule() {
                assert_rule_rewrites_its_fixture(stringify!($rule));
            }
        )*

        #[test]
        fn every_rule_has_a_fixture_test() {
            let tested = [$(stringify!($rule)),*];
            for rule in RULES {
                assert!(tested.contains(&rule.name), "rule {} has no fixture test", rule.name);
            }
        }
    };
}

rule_tests!(
    openapi_version,
    operation_ids,
    body_names,
    type_arrays,
    parameters,
    examples_keyword,
    exclusive_bounds,
    integer_bounds,
    integer_enums,
    const_to_enum,
    nullable_unions,
    string_unions,
    any_json_unions,
    untagged_unions,
    prefix_items,
    property_names,
    ref_siblings,
    titles,
    string_constraints,
    error_responses,
    binary_responses,
);

#[test]
fn a_swagger_2_document_is_refused() {
    let error = apply("openapi_version", json!({ "swagger": "2.0" })).unwrap_err();
    assert!(
        matches!(error, NormaliseError::UnsupportedVersion { .. }),
        "{error}"
    );
}

#[test]
fn a_3_0_document_keeps_its_version() {
    let doc = apply("openapi_version", json!({ "openapi": "3.0.2" })).unwrap();
    assert_eq!(doc["openapi"], "3.0.2");
}

#[test]
fn a_binary_answer_missing_from_the_document_is_an_error() {
    let error = apply(
        "binary_responses",
        json!({ "openapi": "3.0.3", "paths": {} }),
    )
    .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("no operation get /api/v1/artifact_versions/{artifact_version_id}/data"),
        "{error}"
    );
}

#[test]
fn an_existing_different_error_body_schema_is_not_overwritten() {
    let doc = json!({ "openapi": "3.0.3", "paths": {}, "components": { "schemas": { "ErrorBody": { "type": "string" } } } });
    let error = apply("error_responses", doc).unwrap_err();
    assert!(
        matches!(error, NormaliseError::NameTaken { name: "ErrorBody" }),
        "{error}"
    );
}
