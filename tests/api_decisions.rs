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

/// The spec with a new operation `list_brand_new_sessions`, answering a
/// list of `BrandNewSession`s, each with an optional `nested`
/// `BrandNewInner` whose properties are `inner`.
fn spec_answering(inner: Value) -> Value {
    let mut spec = spec();
    let schemas = &mut spec["components"]["schemas"];
    schemas["BrandNewSession"] = json!({
        "type": "object",
        "properties": {
            "id": {"type": "string", "format": "uuid"},
            "nested": {"anyOf": [{"$ref": "#/components/schemas/BrandNewInner"}, {"type": "null"}]}
        }
    });
    schemas["BrandNewInner"] = json!({"type": "object", "properties": inner});
    spec["paths"]["/api/v1/brand_new_sessions"] = json!({
        "get": {"operationId": "list_brand_new_sessions", "summary": "New", "tags": ["new"],
                "responses": {"200": {"description": "ok", "content": {"application/json": {
                    "schema": {"type": "array",
                               "items": {"$ref": "#/components/schemas/BrandNewSession"}}}}}}}
    });
    spec
}

/// The repository's decisions with `list_brand_new_sessions = <decision>`.
fn deciding(decision: &str) -> String {
    format!("{}\nlist_brand_new_sessions = {decision}\n", decisions())
}

#[test]
fn a_new_answer_with_a_password_fails_until_it_is_stripped_or_hidden() {
    let spec = spec_answering(json!({
        "name": {"type": "string"},
        "password": {"anyOf": [{"type": "string"}, {"type": "null"}]}
    }));
    let refused = api_tools::generate(&spec, &deciding("\"expose\""), "api_tools.toml")
        .err()
        .expect("a password in an exposed answer fails the build");
    for expected in [
        "`list_brand_new_sessions` (GET /api/v1/brand_new_sessions)",
        "`[].nested.password` (BrandNewInner.password",
        "list_brand_new_sessions = { expose = true, strip = [\"password\"] }",
        "list_brand_new_sessions = { hide = \"reason\" }",
        "`BrandNewInner.password` in `[credentials] not_credentials`",
    ] {
        assert!(refused.contains(expected), "{expected}: {refused}");
    }
    // Only this operation is undecided: the repository's own are not.
    assert!(refused.contains(": 1 exposed operation(s)"), "{refused}");

    for decided in [
        r#"{ expose = true, strip = ["password"] }"#,
        r#"{ expose = true, strip = ["nested.password"] }"#,
        r#"{ hide = "answers with passwords" }"#,
    ] {
        let generated = api_tools::generate(&spec, &deciding(decided), "api_tools.toml")
            .unwrap_or_else(|e| panic!("{decided}: {e}"));
        if decided.contains("strip") {
            assert!(
                generated
                    .report
                    .contains("tool `api_list_brand_new_sessions`, its answers without `"),
                "{}",
                generated.report
            );
            assert!(generated.decisions.contains("\"list_brand_new_sessions\""));
        }
    }
    // An entry whose parent keys are not the field's leaves it in.
    let refused = api_tools::generate(
        &spec,
        &deciding(r#"{ expose = true, strip = ["other.password"] }"#),
        "api_tools.toml",
    )
    .err()
    .expect("`other.password` does not strip `nested.password`");
    assert!(refused.contains("`[].nested.password`"), "{refused}");
}

#[test]
fn an_activation_token_is_stripped_everywhere_or_fails() {
    // The repository strips `activation_token` from every answer, so a new
    // operation answering one is decided by that.
    let spec = spec_answering(json!({"activation_token": {"type": "string"}}));
    api_tools::generate(&spec, &deciding("\"expose\""), "api_tools.toml").unwrap();

    // Without that, deactivate_user (and the new operation) fail, named
    // with the field's path.
    let unstripped = deciding("\"expose\"").replacen("\"activation_token\",", "", 1);
    let refused = api_tools::generate(&spec, &unstripped, "api_tools.toml")
        .err()
        .expect("an activation token left in answers fails the build");
    for expected in [
        "`deactivate_user` (PUT /api/v1/users/{user_name_or_id}/deactivate): `body.activation_token` \
         (UserResponseBody.activation_token",
        "`list_brand_new_sessions` (GET /api/v1/brand_new_sessions): `[].nested.activation_token`",
    ] {
        assert!(refused.contains(expected), "{expected}: {refused}");
    }
}

#[test]
fn format_password_maps_and_cycles_are_followed() {
    // A map of values of format `password`, under a name no rule knows.
    let spec = spec_answering(json!({
        "blob": {"type": "object",
                 "additionalProperties": {"type": "string", "format": "password"}}
    }));
    let refused = api_tools::generate(&spec, &deciding("\"expose\""), "api_tools.toml")
        .err()
        .unwrap();
    assert!(refused.contains("`[].nested.blob.*`"), "{refused}");
    assert!(refused.contains("format: password"), "{refused}");
    api_tools::generate(
        &spec,
        &deciding(r#"{ expose = true, strip = ["blob"] }"#),
        "api_tools.toml",
    )
    .unwrap();

    // A credential behind a map's keys and a cycle of $refs: a dotted entry
    // naming a map's key cannot strip it (at run time the key could be
    // anything); the bare name can.
    let spec = spec_answering(json!({
        "by_name": {"type": "object",
                    "additionalProperties": {"$ref": "#/components/schemas/BrandNewInner"}},
        "refresh_token": {"type": "string"}
    }));
    let refused = api_tools::generate(
        &spec,
        &deciding(r#"{ expose = true, strip = ["nested.refresh_token", "name.refresh_token"] }"#),
        "api_tools.toml",
    )
    .err()
    .unwrap();
    assert!(
        refused.contains("`[].nested.by_name.*.refresh_token`"),
        "{refused}"
    );
    api_tools::generate(
        &spec,
        &deciding(r#"{ expose = true, strip = ["refresh_token"] }"#),
        "api_tools.toml",
    )
    .unwrap();
}

#[test]
fn not_credentials_lets_a_matched_field_through() {
    let spec = spec_answering(json!({"secret_count": {"type": "integer"}}));
    let refused = api_tools::generate(&spec, &deciding("\"expose\""), "api_tools.toml")
        .err()
        .unwrap();
    assert!(refused.contains("its name contains `secret`"), "{refused}");
    let exempt = deciding("\"expose\"").replacen(
        "not_credentials = [",
        "not_credentials = [\n    \"BrandNewInner.secret_count\",",
        1,
    );
    api_tools::generate(&spec, &exempt, "api_tools.toml").unwrap();
}

#[test]
fn strip_decisions_are_checked_for_their_form() {
    for (decision, expected) in [
        ("{ expose = false }", "`expose` is `true`"),
        (r#"{ hide = "x", strip = ["key"] }"#, "write \"expose\""),
        (
            r#"{ expose = true, strip = "key" }"#,
            "a list of field names",
        ),
        (
            r#"{ expose = true, strip = ["a..b"] }"#,
            "a dotted path of field names",
        ),
        (r#"{ expose = true, strip = [1] }"#, "is not a string"),
    ] {
        let broken =
            decisions().replace("list_tags = \"expose\"", &format!("list_tags = {decision}"));
        let refused = api_tools::generate(&spec(), &broken, "api_tools.toml")
            .err()
            .unwrap_or_else(|| panic!("{decision} was accepted"));
        assert!(refused.contains("`list_tags`"), "{refused}");
        assert!(refused.contains(expected), "{decision}: {refused}");
    }
}

#[test]
fn the_repository_strips_the_credentials_it_found() {
    let generated = api_tools::generate(&spec(), &decisions(), "api_tools.toml").unwrap();
    let everywhere = generated
        .decisions
        .split("STRIPPED_EVERYWHERE")
        .nth(1)
        .expect("the table of fields stripped everywhere");
    for field in [
        "\"activation_token\"",
        "\"auth_key\"",
        "\"connector.metadata.configuration\"",
    ] {
        assert!(everywhere.contains(field), "{field}: {everywhere}");
    }
    for line in [
        "| `get_api_key` | GET | `/api/v1/service_accounts/{service_account_id}/api_keys/{api_key_name_or_id}` | `api:service_accounts` | tool `api_get_api_key`, its answers without `key` |",
        "| `deactivate_user` | PUT | `/api/v1/users/{user_name_or_id}/deactivate` | `api:users` | tool `api_deactivate_user` |",
    ] {
        assert!(generated.report.contains(line), "{line}");
    }
    assert!(
        generated
            .report
            .contains("every exposed operation's answers leave out `activation_token`"),
        "{}",
        generated.report
    );
}
