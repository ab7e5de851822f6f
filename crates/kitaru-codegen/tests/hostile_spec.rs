//! Spec text is untrusted: whatever a document's summaries, descriptions,
//! names and schemas hold, the generated code carries it only inside string
//! literals that read back as the original text, or generation fails with an
//! error. It never becomes code.

use kitaru_codegen::normalise::BINARY_ANSWERS;
use kitaru_codegen::{Generated, Options, generate};
use proc_macro2::{TokenStream, TokenTree};
use serde_json::{Value, json};

fn options() -> Options {
    Options {
        spec_file: "hostile.json".into(),
        inner_type: "crate::session::Session".into(),
        timestamp_type: "crate::timestamp::Timestamp".into(),
        include_deprecated: true,
    }
}

/// Texts that would break out of a literal, a comment or a raw string if
/// pasted into code.
fn hostile_texts() -> Vec<String> {
    vec![
        r###"quote " hash "# "## r#" panic!("x");"###.to_owned(),
        "comment */ panic!(\"x\"); /* again */".to_owned(),
        "brace } ]; panic!(\"x\"); fn evil() { [".to_owned(),
        "nul \u{0} byte and \\u{0} escape \\".to_owned(),
        "lines\nnext line\r\n// panic!(\"x\");\n#[doc = \"evil\"]".to_owned(),
        format!("long {} panic!(\"x\")", "ab\"*/}".repeat(20_000)),
    ]
}

/// A document whose operations carry `texts` everywhere text goes, with a
/// self-referencing schema and an odd operationId.
fn hostile_spec(texts: &[String], body_schema: Value) -> Vec<u8> {
    let spec = json!({
        "openapi": "3.1.0",
        "info": { "title": texts[0], "version": "1", "description": texts[1] },
        "paths": {
            "/api/v1/things": {
                "get": {
                    "operationId": "list_things_api_v1_things_get",
                    "tags": [texts[2]],
                    "summary": texts[0],
                    "description": texts[1],
                    "parameters": [
                        { "name": "page", "in": "query", "required": false, "description": texts[3], "schema": { "type": "integer", "description": texts[4] } },
                        { "name": "name", "in": "query", "required": false, "schema": { "anyOf": [{ "type": "string" }, { "type": "null" }], "description": texts[5] } }
                    ],
                    "responses": { "200": { "description": texts[2], "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Node" } } } } }
                },
                "post": {
                    "operationId": "odd\"op}-name/*x*/ panic!(\"x\")",
                    "summary": texts[4],
                    "description": texts[5],
                    "requestBody": { "required": true, "content": { "application/json": { "schema": body_schema } } },
                    "responses": { "200": { "description": "ok", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Node" } } } } }
                }
            },
            "/api/v1/things/{thing_id}": {
                "get": {
                    "operationId": "get_thing",
                    "summary": texts[3],
                    "description": texts[2],
                    "parameters": [
                        { "name": "thing_id", "in": "path", "required": true, "description": texts[0], "schema": { "type": "string", "format": "uuid" } }
                    ],
                    "responses": { "200": { "description": "ok", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Node" } } } } }
                }
            }
        },
        "components": { "schemas": {
            "Node": {
                "title": texts[1],
                "type": "object",
                "description": texts[0],
                "properties": {
                    "label": { "type": "string", "description": texts[5] },
                    "child": { "anyOf": [{ "$ref": "#/components/schemas/Node" }, { "type": "null" }] }
                },
                "required": ["label"]
            }
        } }
    });
    let mut spec = spec;
    // The downloads the normaliser expects to find (`BINARY_ANSWERS`).
    for (method, path, _) in BINARY_ANSWERS {
        let parameters: Vec<Value> = path
            .split('/')
            .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
            .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }))
            .collect();
        spec["paths"][path] = json!({ method: {
            "operationId": format!("download{}", path.replace(['/', '{', '}'], "_")),
            "summary": texts[2],
            "parameters": parameters,
            "responses": { "200": { "description": "ok", "content": { "application/json": { "schema": {} } } } }
        } });
    }
    serde_json::to_vec(&spec).unwrap()
}

/// Every identifier and every string literal's value in `tokens`.
fn walk(tokens: TokenStream, idents: &mut Vec<String>, strings: &mut Vec<String>) {
    for tree in tokens {
        match tree {
            TokenTree::Group(group) => walk(group.stream(), idents, strings),
            TokenTree::Ident(ident) => idents.push(ident.to_string()),
            TokenTree::Literal(literal) => {
                if let syn::Lit::Str(text) = syn::Lit::new(literal) {
                    strings.push(text.value());
                }
            }
            TokenTree::Punct(_) => {}
        }
    }
}

/// Parses `source`, checks that no hostile text became code, and returns the
/// values of its string literals.
fn literals_of(what: &str, source: &str) -> Vec<String> {
    let file: syn::File = syn::parse_file(source)
        .unwrap_or_else(|e| panic!("the generated {what} does not parse: {e}"));
    let mut idents = Vec::new();
    let mut strings = Vec::new();
    walk(
        quote::ToTokens::into_token_stream(file),
        &mut idents,
        &mut strings,
    );
    for forbidden in ["panic", "evil"] {
        assert!(
            !idents.iter().any(|i| i == forbidden),
            "spec text became code in the generated {what}: identifier `{forbidden}`"
        );
    }
    strings
}

/// Plain comments (not doc comments, which are literals) in the catalogue
/// are only its fixed header.
fn assert_only_header_comments(source: &str) {
    for line in source.lines().skip_while(|line| line.starts_with("//")) {
        let trimmed = line.trim_start();
        assert!(
            !trimmed.starts_with("//") || trimmed.starts_with("///"),
            "a comment outside the header: {line:.80}"
        );
    }
}

fn check(generated: &Generated, texts: &[String]) {
    let strings = literals_of("catalogue", &generated.operations);
    assert_only_header_comments(&generated.operations);
    for text in texts {
        assert!(
            strings.iter().any(|s| s == text)
                || strings
                    .iter()
                    .filter_map(|s| serde_json::from_str::<Value>(s).ok())
                    .any(|schema| contains_string(&schema, text)),
            "the text {:.60?} does not read back from any literal of the catalogue",
            text
        );
    }
    // The client's own doc comments carry the same texts.
    literals_of("client", &generated.client);
}

fn contains_string(value: &Value, text: &str) -> bool {
    match value {
        Value::String(s) => s == text,
        Value::Array(items) => items.iter().any(|v| contains_string(v, text)),
        Value::Object(map) => map.values().any(|v| contains_string(v, text)),
        _ => false,
    }
}

/// The `input_schema` literal of the operation named `name`.
fn schema_of(source: &str, name: &str) -> Value {
    let file = syn::parse_file(source).unwrap();
    let mut idents = Vec::new();
    let mut strings = Vec::new();
    walk(
        quote::ToTokens::into_token_stream(file),
        &mut idents,
        &mut strings,
    );
    // Rows list name, method, path, tag, summary, description, schema, in order.
    let at = strings
        .iter()
        .position(|s| s == name)
        .expect("the operation is listed");
    strings[at + 1..]
        .iter()
        .find_map(|s| {
            serde_json::from_str::<Value>(s)
                .ok()
                .filter(|v| v.get("additionalProperties") == Some(&json!(false)))
        })
        .expect("its input schema follows its name")
}

#[test]
fn hostile_text_stays_inside_literals() {
    let texts = hostile_texts();
    let spec = hostile_spec(&texts, json!({ "$ref": "#/components/schemas/Node" }));
    match generate(&spec, &options()) {
        Ok(generated) => {
            check(&generated, &texts);
            // Three operations and the four downloads, all callable.
            assert_eq!(generated.callable_operations, 7, "{}", generated.operations);
            let body = schema_of(&generated.operations, "get_thing");
            assert_eq!(body["required"], json!(["thing_id"]));
            assert_eq!(body["properties"]["thing_id"]["description"], texts[0]);
            // The self-reference is cut one level down.
            let listed = generated
                .operations
                .matches("recursive: Node (cut here)")
                .count();
            assert!(listed >= 1, "the cycle is not cut");
        }
        Err(error) => {
            let message = error.to_string();
            assert!(!message.is_empty());
            panic!("the hostile spec did not generate: {message}");
        }
    }
}

#[test]
fn an_external_ref_is_never_followed() {
    let texts = hostile_texts();
    let spec = hostile_spec(
        &texts,
        json!({
            "type": "object",
            "properties": {
                "remote": { "$ref": "https://example.invalid/schema.json#/Evil" },
                "node": { "$ref": "#/components/schemas/Node" }
            }
        }),
    );
    // typify cannot follow it either (it panics); the generator refuses the
    // document up front with an error that names the reference.
    let result = std::panic::catch_unwind(|| generate(&spec, &options()));
    match result {
        Ok(Ok(_)) => panic!("a document with an external reference generated"),
        Ok(Err(error)) => {
            let message = error.to_string();
            assert!(
                message.contains("https://example.invalid/schema.json#/Evil")
                    && message.contains("not followed"),
                "{message}"
            );
        }
        Err(_) => panic!("generation panicked on an external reference instead of failing"),
    }
}
