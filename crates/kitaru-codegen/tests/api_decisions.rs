//! `openapi/api_tools.toml` and the curated tools' `covers` must decide
//! every operation of the spec: the build's check, run here on the
//! repository's files and on altered copies of them.

use std::collections::BTreeMap;

use kitaru_codegen::{api_tools, tools};
use serde_json::{Value, json};

/// A file of the repository (the workspace root, two levels up).
fn repository_file(path: &str) -> String {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::fs::read_to_string(root.join(path)).unwrap()
}

/// The vendored specs of every server version, merged as the build merges them.
fn spec() -> Value {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../openapi");
    kitaru_codegen::versions::merge(&kitaru_codegen::versions::read_dir(&root, "openapi/").unwrap())
        .unwrap()
}

fn decisions() -> String {
    repository_file("openapi/api_tools.toml")
}

/// The operations the repository's curated tools cover.
fn covered() -> BTreeMap<String, String> {
    tools::generate(&repository_file("openapi/tools.toml"), "tools.toml")
        .unwrap()
        .coverage
}

/// The build's check of `decisions` against `spec`, with the repository's
/// coverage.
fn generate(spec: &Value, decisions: &str) -> Result<api_tools::Generated, String> {
    api_tools::generate(spec, decisions, "api_tools.toml", &covered())
}

#[test]
fn the_repository_decides_every_operation() {
    let generated = generate(&spec(), &decisions()).unwrap();
    assert!(generated.removed.is_empty(), "{:?}", generated.removed);
    // The build hides an undecided operation (with a warning); the
    // repository decides every one.
    assert!(generated.undecided.is_empty(), "{:?}", generated.undecided);
}

#[test]
fn a_new_operation_is_hidden_until_it_is_decided() {
    let mut spec = spec();
    spec["paths"]["/api/v1/brand_new"] = json!({
        "get": {"operationId": "list_brand_new_things", "summary": "New", "tags": ["new"],
                "responses": {"200": {"description": "ok"}}}
    });
    let generated = generate(&spec, &decisions()).expect("an undecided operation builds");
    assert_eq!(
        generated.undecided,
        ["list_brand_new_things (GET /api/v1/brand_new)"]
    );
    assert!(generated.report.contains(&format!(
        "| `list_brand_new_things` | GET | `/api/v1/brand_new` | `api:new` | hidden: {} |",
        api_tools::UNDECIDED
    )));
    assert!(generated.decisions.contains("list_brand_new_things"));

    let decided = format!("{}\nlist_brand_new_things = \"expose\"\n", decisions());
    let generated = generate(&spec, &decided).unwrap();
    assert!(generated.undecided.is_empty());
    assert!(generated.report.contains("| `list_brand_new_things` | GET | `/api/v1/brand_new` | `api:new` | tool `api_list_brand_new_things` |"));
}

#[test]
fn a_removed_operation_is_reported() {
    let mut spec = spec();
    spec["paths"]
        .as_object_mut()
        .unwrap()
        .remove("/api/v1/tags");
    let generated = generate(&spec, &decisions()).unwrap();
    assert_eq!(generated.removed, ["create_tag", "list_tags"]);
}

#[test]
fn decisions_must_be_expose_or_hide_with_a_reason() {
    let broken = decisions().replace("list_tags = \"expose\"", "list_tags = \"show\"");
    let refused = generate(&spec(), &broken).err().unwrap();
    assert!(refused.contains("`list_tags` = \"show\""), "{refused}");
    let blank = decisions().replace("list_tags = \"expose\"", "list_tags = { hide = \" \" }");
    let refused = generate(&spec(), &blank).err().unwrap();
    assert!(refused.contains("say why"), "{refused}");
}

#[test]
fn spec_text_reaches_the_table_only_as_string_literals() {
    let hostile = "\"); panic!(\"x\"); //";
    let decided = decisions().replace(
        "list_tags = \"expose\"",
        &format!("list_tags = {{ hide = {} }}", toml_string(hostile)),
    );
    let generated = generate(&spec(), &decided).unwrap();
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
    let refused = generate(&spec, &deciding("\"expose\""))
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
        let generated =
            generate(&spec, &deciding(decided)).unwrap_or_else(|e| panic!("{decided}: {e}"));
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
    let refused = generate(
        &spec,
        &deciding(r#"{ expose = true, strip = ["other.password"] }"#),
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
    generate(&spec, &deciding("\"expose\"")).unwrap();

    // Without that, deactivate_user (and the new operation) fail, named
    // with the field's path.
    let unstripped = deciding("\"expose\"").replacen("\"activation_token\",", "", 1);
    let refused = generate(&spec, &unstripped)
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
    let refused = generate(&spec, &deciding("\"expose\"")).err().unwrap();
    assert!(refused.contains("`[].nested.blob.*`"), "{refused}");
    assert!(refused.contains("format: password"), "{refused}");
    generate(&spec, &deciding(r#"{ expose = true, strip = ["blob"] }"#)).unwrap();

    // A credential behind a map's keys and a cycle of $refs: a dotted entry
    // naming a map's key cannot strip it (at run time the key could be
    // anything); the bare name can.
    let spec = spec_answering(json!({
        "by_name": {"type": "object",
                    "additionalProperties": {"$ref": "#/components/schemas/BrandNewInner"}},
        "refresh_token": {"type": "string"}
    }));
    let refused = generate(
        &spec,
        &deciding(r#"{ expose = true, strip = ["nested.refresh_token", "name.refresh_token"] }"#),
    )
    .err()
    .unwrap();
    assert!(
        refused.contains("`[].nested.by_name.*.refresh_token`"),
        "{refused}"
    );
    generate(
        &spec,
        &deciding(r#"{ expose = true, strip = ["refresh_token"] }"#),
    )
    .unwrap();
}

#[test]
fn not_credentials_lets_a_matched_field_through() {
    let spec = spec_answering(json!({"secret_count": {"type": "integer"}}));
    let refused = generate(&spec, &deciding("\"expose\"")).err().unwrap();
    assert!(refused.contains("its name contains `secret`"), "{refused}");
    let exempt = deciding("\"expose\"").replacen(
        "not_credentials = [",
        "not_credentials = [\n    \"BrandNewInner.secret_count\",",
        1,
    );
    generate(&spec, &exempt).unwrap();
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
        let refused = generate(&spec(), &broken)
            .err()
            .unwrap_or_else(|| panic!("{decision} was accepted"));
        assert!(refused.contains("`list_tags`"), "{refused}");
        assert!(refused.contains(expected), "{decision}: {refused}");
    }
}

#[test]
fn the_repository_strips_the_credentials_it_found() {
    let generated = generate(&spec(), &decisions()).unwrap();
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

#[test]
fn an_operation_is_decided_once_here_or_covered_by_a_tool() {
    let covered = covered();
    assert_eq!(covered["stop_run"], "kitaru_executions_cancel");
    // Decided here as well as covered: refused, naming both.
    let twice = format!("{}\nstop_run = \"expose\"\n", decisions());
    let refused = generate(&spec(), &twice).err().expect("decided twice");
    assert!(
        refused.contains("`stop_run`") && refused.contains("kitaru_executions_cancel"),
        "{refused}"
    );
    // The old form names the new place.
    let old = format!(
        "{}\nstop_run = {{ curated = \"kitaru_executions_cancel\" }}\n",
        decisions()
    );
    let refused = api_tools::generate(&spec(), &old, "api_tools.toml", &BTreeMap::new())
        .err()
        .expect("the curated form is gone");
    assert!(refused.contains("`covers`"), "{refused}");
    // Covered by no tool and decided nowhere: the build names it, and
    // hides it.
    let mut fewer = covered.clone();
    fewer.remove("stop_run");
    let generated = api_tools::generate(&spec(), &decisions(), "api_tools.toml", &fewer).unwrap();
    assert!(
        generated
            .undecided
            .iter()
            .any(|u| u.starts_with("stop_run (POST ")),
        "{:?}",
        generated.undecided
    );
    // Covering an operation the spec lacks: a warning (`removed`).
    let mut more = covered;
    more.insert("no_such_operation".into(), "kitaru_status".into());
    let generated = api_tools::generate(&spec(), &decisions(), "api_tools.toml", &more).unwrap();
    assert_eq!(generated.removed, ["no_such_operation"]);
}
