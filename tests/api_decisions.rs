//! `openapi/api_tools.toml` must decide every operation of the spec: the
//! build's check, run here on altered copies of the spec and the file.

#[path = "../build/api_tools.rs"]
#[allow(dead_code)]
mod api_tools;

use serde_json::{Value, json};

fn spec() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/openapi/kitaru-server.openapi.json"
    ))
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

fn decisions() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/openapi/api_tools.toml"
    ))
    .unwrap()
}

#[test]
fn the_repository_decides_every_operation() {
    let generated = api_tools::generate(&spec(), &decisions(), "api_tools.toml").unwrap();
    assert!(generated.removed.is_empty(), "{:?}", generated.removed);
}

#[test]
fn a_new_operation_fails_until_it_is_decided() {
    let mut spec = spec();
    spec["paths"]["/api/v1/brand_new"] = json!({
        "get": {"operationId": "list_brand_new_things", "summary": "New", "tags": ["new"],
                "responses": {"200": {"description": "ok"}}}
    });
    let refused = api_tools::generate(&spec, &decisions(), "api_tools.toml")
        .err()
        .expect("an undecided operation fails the build");
    assert!(refused.contains("list_brand_new_things"), "{refused}");
    assert!(refused.contains("expose"), "{refused}");

    let decided = format!("{}\nlist_brand_new_things = \"expose\"\n", decisions());
    let generated = api_tools::generate(&spec, &decided, "api_tools.toml").unwrap();
    assert!(generated.report.contains("| `list_brand_new_things` | GET | `/api/v1/brand_new` | `api:new` | tool `api_list_brand_new_things` |"));
}

#[test]
fn a_removed_operation_is_reported() {
    let mut spec = spec();
    spec["paths"]
        .as_object_mut()
        .unwrap()
        .remove("/api/v1/tags");
    let generated = api_tools::generate(&spec, &decisions(), "api_tools.toml").unwrap();
    assert_eq!(generated.removed, ["create_tag", "list_tags"]);
}

#[test]
fn decisions_must_be_one_of_three_with_a_reason() {
    let broken = decisions().replace("list_tags = \"expose\"", "list_tags = \"show\"");
    let refused = api_tools::generate(&spec(), &broken, "api_tools.toml")
        .err()
        .unwrap();
    assert!(refused.contains("`list_tags` = \"show\""), "{refused}");
    let blank = decisions().replace("list_tags = \"expose\"", "list_tags = { hide = \" \" }");
    let refused = api_tools::generate(&spec(), &blank, "api_tools.toml")
        .err()
        .unwrap();
    assert!(refused.contains("say why"), "{refused}");
}

#[test]
fn spec_text_reaches_the_table_only_as_string_literals() {
    let hostile = "\"); panic!(\"x\"); //";
    let decided = decisions().replace(
        "list_tags = \"expose\"",
        &format!("list_tags = {{ hide = {} }}", toml_string(hostile)),
    );
    let generated = api_tools::generate(&spec(), &decided, "api_tools.toml").unwrap();
    let file: syn::File = syn::parse_str(&generated.decisions).expect("the table parses");
    // An identifier `panic` would print as a token of its own; inside a
    // string literal it stays part of the literal.
    let text = quote::ToTokens::to_token_stream(&file).to_string();
    assert!(
        !text.split_whitespace().any(|token| token == "panic"),
        "spec text became code: {text}"
    );
    assert!(
        generated
            .decisions
            .contains(r#"ApiDecision::Hide("\"); panic!(\"x\"); //")"#),
        "{}",
        generated.decisions
    );
}

fn toml_string(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}
