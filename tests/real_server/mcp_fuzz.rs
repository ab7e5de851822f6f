//! Arguments broken on purpose, generated from every tool's input schema:
//! each is refused as a tool error that names the argument (kind
//! `invalid_argument`), before any request reaches the server; the session
//! goes on, and errors quote at most a short prefix of what they were given.

use serde_json::{Map, Value, json};

use kitaru_testkit::{StdioPeer, server};

/// A value of the right type for a property schema.
fn plausible(schema: &Value) -> Value {
    match schema["type"].as_str() {
        Some("string") => schema["enum"].get(0).cloned().unwrap_or_else(|| json!("x")),
        Some("integer") => json!(schema["minimum"].as_i64().unwrap_or(1).max(1)),
        Some("number") => json!(1.0),
        Some("boolean") => json!(true),
        Some("object") => json!({}),
        Some("array") => json!([]),
        _ => json!("x"),
    }
}

/// A value of the wrong type for a property schema, if it has one type.
fn wrong(schema: &Value) -> Option<Value> {
    Some(match schema["type"].as_str()? {
        "string" => json!(12345),
        "integer" | "number" => json!("not a number"),
        "boolean" => json!("not a boolean"),
        "object" => json!("not an object"),
        "array" => json!("not a list"),
        _ => return None,
    })
}

/// The property schema without `null` in its type list.
fn single_typed(schema: &Value) -> Value {
    let mut schema = schema.clone();
    if let Some(types) = schema["type"].as_array() {
        let kept: Vec<&Value> = types.iter().filter(|t| *t != "null").collect();
        if kept.len() == 1 {
            schema["type"] = kept[0].clone();
        }
    }
    schema
}

/// Asserts the answer is an argument error naming `argument`.
/// The cases tried so far, and the slowest and largest answers among them.
#[derive(Default)]
struct Tally {
    cases: usize,
    slowest: (std::time::Duration, String),
    largest: (usize, String),
}

impl Tally {
    /// Prints the figures (for the closing notes; not asserted).
    fn report(&self, over: &str) {
        eprintln!(
            "{} broken-argument cases over {over}; slowest answer {:?} ({}), largest {} bytes ({})",
            self.cases, self.slowest.0, self.slowest.1, self.largest.0, self.largest.1
        );
    }

    /// Calls `tool` with `arguments`, which must be refused naming `argument`.
    fn refused(&mut self, peer: &mut StdioPeer, tool: &str, arguments: &Value, argument: &str) {
        let started = std::time::Instant::now();
        let bytes = refused(peer, tool, arguments, argument);
        let took = started.elapsed();
        self.cases += 1;
        if took > self.slowest.0 {
            self.slowest = (took, format!("{tool} without a good {argument}"));
        }
        if bytes > self.largest.0 {
            self.largest = (bytes, format!("{tool} without a good {argument}"));
        }
    }
}

/// Calls `tool` with `arguments`, which must be refused naming `argument`;
/// the bytes of the answer's text.
fn refused(peer: &mut StdioPeer, tool: &str, arguments: &Value, argument: &str) -> usize {
    let answer = peer.call(tool, arguments.clone());
    assert_eq!(answer.structured, None, "{tool} {arguments}: no payload");
    let error = answer.error.clone().unwrap_or_default();
    assert!(answer.is_error, "{tool} {arguments}: accepted");
    assert_eq!(
        error["kind"], "invalid_argument",
        "{tool} {arguments}: {error}"
    );
    assert_eq!(error["argument"], argument, "{tool} {arguments}: {error}");
    let chars = answer.texts.join("").chars().count();
    assert!(chars <= 2_100, "{tool}: a {chars} character error");
    answer.texts.iter().map(String::len).sum()
}

/// Tries every broken variant of `tool`'s arguments the schema suggests.
fn break_arguments(peer: &mut StdioPeer, tool: &Value, tally: &mut Tally, secret_name: &str) {
    let name = tool["name"].as_str().unwrap();
    for (arguments, argument) in broken_cases(tool, secret_name) {
        tally.refused(peer, name, &arguments, &argument);
    }
}

/// Every broken variant of `tool`'s arguments its input schema suggests,
/// each with the argument it must be refused naming: an unknown argument,
/// each required one missing and null, each typed one of the wrong type,
/// each maximum + 1, each enum outside its values.
pub(crate) fn broken_cases(tool: &Value, secret_name: &str) -> Vec<(Value, String)> {
    let name = tool["name"].as_str().unwrap();
    let schema = &tool["inputSchema"];
    let properties = schema["properties"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut base = Map::new();
    for key in &required {
        base.insert(
            (*key).to_owned(),
            plausible(&single_typed(&properties[*key])),
        );
    }
    if name == "kitaru_secrets_create" {
        base.insert("name".into(), json!(secret_name));
    }
    let mut cases = Vec::new();
    let mut case = |arguments: Map<String, Value>, argument: &str| {
        cases.push((Value::Object(arguments), argument.to_owned()));
    };
    // An argument nobody declared.
    let mut unknown = base.clone();
    unknown.insert("zz_not_an_argument".into(), json!(1));
    case(unknown, "zz_not_an_argument");
    for key in &required {
        let mut missing = base.clone();
        missing.remove(*key);
        case(missing, key);
        // Null, where a value of a type is required (an "any" value may be null).
        if properties[*key].get("type").is_some() {
            let mut null = base.clone();
            null.insert((*key).to_owned(), Value::Null);
            case(null, key);
        }
    }
    for (key, property) in &properties {
        let property = single_typed(property);
        if let Some(value) = wrong(&property) {
            let mut broken = base.clone();
            broken.insert(key.clone(), value);
            case(broken, key);
        }
        if let Some(maximum) = property["maximum"].as_i64() {
            let mut over = base.clone();
            over.insert(key.clone(), json!(maximum.saturating_add(1)));
            case(over, key);
        }
        if let Some(values) = property["enum"].as_array() {
            assert!(!values.is_empty());
            let mut outside = base.clone();
            outside.insert(key.clone(), json!("🦀 not one of them"));
            case(outside, key);
        }
    }
    cases
}

#[test]
fn broken_arguments_of_every_tool_are_refused_naming_the_argument() {
    let mut command = crate::support::kitaru_mcp();
    // No Python: nothing here may get as far as running flow code.
    command.env("KITARU_PYTHON", "/nonexistent/python");
    let mut peer = StdioPeer::start(command);
    let tools = peer.tools();
    let mut tally = Tally::default();
    let secret_name = kitaru_testkit::fresh("fuzz-secret");
    for tool in &tools {
        break_arguments(&mut peer, tool, &mut tally, &secret_name);
    }
    assert!(tally.cases > 150, "{} cases", tally.cases);
    tally.report(&format!("{} tools", tools.len()));

    // A refused write wrote nothing: the secret does not exist.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let found = runtime.block_on(async {
        server()
            .client()
            .list_secrets()
            .name(format!("equals:{secret_name}"))
            .send()
            .await
            .unwrap()
            .into_inner()
            .total
    });
    assert_eq!(found, 0, "a refused secrets_create created nothing");

    // Huge and unicode text in read-only tools: answered, error texts short.
    let huge = "é🦀".repeat(50_000);
    for tool in [
        "kitaru_executions_get",
        "kitaru_artifacts_get",
        "get_execution_logs",
    ] {
        let key = if tool == "kitaru_artifacts_get" {
            "artifact_id"
        } else {
            "exec_id"
        };
        let answer = peer.call(tool, json!({ key: huge }));
        assert!(answer.is_error);
        let chars = answer.texts.join("").chars().count();
        assert!(
            chars <= 2_100,
            "{tool}: a {chars} character error: the argument is echoed whole"
        );
    }
    // The session goes on.
    assert!(!peer.call("kitaru_stacks_list", json!({})).is_error);
}

#[test]
fn broken_arguments_of_every_api_tool_are_refused_naming_the_argument() {
    let mut command = crate::support::kitaru_mcp();
    command.args(["--toolsets", "api:all"]);
    let mut peer = StdioPeer::start(command);
    let tools: Vec<Value> = peer
        .tools()
        .into_iter()
        .filter(|tool| tool["name"].as_str().unwrap().starts_with("api_"))
        .collect();
    let mut tally = Tally::default();
    for tool in &tools {
        break_arguments(&mut peer, tool, &mut tally, "unused");
    }
    assert!(tally.cases > 1_000, "{} cases", tally.cases);
    tally.report(&format!("{} API tools", tools.len()));
    assert!(!peer.call("api_list_stacks", json!({})).is_error);
}
