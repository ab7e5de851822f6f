//! Parity with the reference: the same tool call, on the same server, through
//! the Python reference `kitaru-mcp` and through ours, gives the same payload.
//!
//! Both servers are driven over stdio by the same client. The only fields
//! allowed to differ are the reference's documented bugs that we fix (see
//! the README), and what only a Python process can know; each test names
//! them.

use serde_json::{Value, json};

use kitaru_testkit::{StdioPeer, ToolAnswer, server};

mod deployments;
mod launch;
mod memory;
mod stacks;
mod tools_v;

fn start(program: &str) -> StdioPeer {
    StdioPeer::start(server().command(program))
}

/// A session with the reference server. One at a time: concurrent
/// reference processes race on the CLI config files they rewrite at start-up
/// and fail at random (`'NoneType' object has no attribute 'update'`).
struct Reference {
    // Declared first so the process ends before the next one may start.
    peer: StdioPeer,
    _one_at_a_time: std::sync::MutexGuard<'static, ()>,
}

impl std::ops::Deref for Reference {
    type Target = StdioPeer;
    fn deref(&self) -> &StdioPeer {
        &self.peer
    }
}

impl std::ops::DerefMut for Reference {
    fn deref_mut(&mut self) -> &mut StdioPeer {
        &mut self.peer
    }
}

fn reference() -> Reference {
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let guard = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    Reference {
        peer: start(server().str("/kitaru_mcp")),
        _one_at_a_time: guard,
    }
}

/// Our server, with lists as long as the reference's: the default list
/// size (a documented difference) is tested in `mcp_stdio`.
fn ours() -> StdioPeer {
    let mut command = crate::support::kitaru_mcp();
    command.env(crate::support::LIST_SIZE_VAR, "1000000");
    // The Kitaru Python that runs flows: the reference's own.
    command.env("KITARU_PYTHON", server().str("/python"));
    StdioPeer::start(command)
}

/// Removes every place `pattern` (a JSON pointer where `*` matches any array
/// element or object key) names.
fn remove(value: &mut Value, pattern: &str) {
    fn walk(value: &mut Value, segments: &[&str]) {
        let Some((head, rest)) = segments.split_first() else {
            return;
        };
        if rest.is_empty() {
            match value {
                Value::Object(map) if *head == "*" => map.clear(),
                Value::Object(map) => {
                    map.remove(*head);
                }
                _ => {}
            }
            return;
        }
        match value {
            Value::Array(items) if *head == "*" => items.iter_mut().for_each(|v| walk(v, rest)),
            Value::Object(map) if *head == "*" => map.values_mut().for_each(|v| walk(v, rest)),
            Value::Array(items) => {
                if let Some(v) = head.parse::<usize>().ok().and_then(|i| items.get_mut(i)) {
                    walk(v, rest)
                }
            }
            Value::Object(map) => {
                if let Some(v) = map.get_mut(*head) {
                    walk(v, rest)
                }
            }
            _ => {}
        }
    }
    let segments: Vec<&str> = pattern.trim_start_matches('/').split('/').collect();
    walk(value, &segments);
}

/// The first difference between two JSON values, as a pointer and both sides.
fn first_difference(path: &str, left: &Value, right: &Value) -> Option<String> {
    match (left, right) {
        (Value::Object(a), Value::Object(b)) => {
            let keys_a: Vec<&String> = a.keys().collect();
            let keys_b: Vec<&String> = b.keys().collect();
            if keys_a != keys_b {
                return Some(format!("{path}: keys {keys_a:?} vs {keys_b:?}"));
            }
            a.iter()
                .find_map(|(k, v)| first_difference(&format!("{path}/{k}"), v, &b[k]))
        }
        (Value::Array(a), Value::Array(b)) => {
            if a.len() != b.len() {
                return Some(format!("{path}: {} items vs {}", a.len(), b.len()));
            }
            a.iter()
                .zip(b)
                .enumerate()
                .find_map(|(i, (x, y))| first_difference(&format!("{path}/{i}"), x, y))
        }
        _ if left == right => None,
        _ => Some(format!("{path}: {left} vs {right}")),
    }
}

/// Calls `tool` on both servers and compares the structured results with
/// the `allowed` differences removed from both.
fn same_payload(tool: &str, arguments: Value, allowed: &[&str]) -> (ToolAnswer, ToolAnswer) {
    // No execution changes (or flow process runs) between the two calls.
    let _stable = read_lock();
    let theirs = reference().call(tool, arguments.clone());
    let ours = ours().call(tool, arguments.clone());
    assert_eq!(
        theirs.is_error, ours.is_error,
        "{tool} {arguments}: reference error={} ({:?}), ours error={} ({:?})",
        theirs.is_error, theirs.texts, ours.is_error, ours.texts
    );
    if theirs.is_error {
        assert_same_error(tool, &arguments, &theirs, &ours);
    } else {
        let mut a = theirs
            .structured
            .clone()
            .expect("reference structuredContent");
        let mut b = ours.structured.clone().expect("our structuredContent");
        for pattern in allowed {
            remove(&mut a, pattern);
            remove(&mut b, pattern);
        }
        if let Some(difference) = first_difference("", &a, &b) {
            panic!(
                "{tool} {arguments}: payloads differ at {difference}\nreference: {a}\nours: {b}"
            );
        }
    }
    (theirs, ours)
}

/// The reference's error text (without its `Error executing tool <name>: `
/// prefix) is part of ours, ids aside: ours may name the argument first
/// and say what to do next. Where the reference refuses the arguments with
/// pydantic's report, whose wording is pydantic's, ours refuses them too:
/// an `invalid_argument` error naming one of the arguments pydantic names.
fn assert_same_error(tool: &str, arguments: &Value, theirs: &ToolAnswer, ours: &ToolAnswer) {
    let their_text = normalise_ids(&theirs.texts.join("\n"));
    let their_text = their_text
        .strip_prefix(&format!("Error executing tool {tool}: "))
        .unwrap_or(&their_text);
    let our_text = normalise_ids(&ours.texts.join("\n"));
    if let Some(refused) = pydantic_arguments(their_text) {
        assert_eq!(
            ours.error_kind.as_deref(),
            Some("invalid_argument"),
            "{tool} {arguments}: the reference refused the arguments\nreference: {their_text}\nours: {our_text}"
        );
        let named = ours
            .error
            .as_ref()
            .and_then(|error| error["argument"].as_str())
            .unwrap_or_else(|| panic!("{tool} {arguments}: ours names no argument: {our_text}"));
        assert!(
            refused.contains(&named),
            "{tool} {arguments}: ours names `{named}`, the reference {refused:?}\nreference: {their_text}\nours: {our_text}"
        );
        return;
    }
    assert!(
        our_text.contains(their_text),
        "{tool} {arguments}: error texts differ\nreference: {their_text}\nours: {our_text}"
    );
}

/// The arguments pydantic's report of refused arguments names (the first
/// segment of each failing location), `None` when `text` is no such report.
/// The report: `N validation error(s) for <Model>`, then each location on a
/// line of its own with its message indented below.
fn pydantic_arguments(text: &str) -> Option<Vec<&str>> {
    let (header, report) = text.split_once('\n')?;
    if !header.contains(" validation error") || !header.contains(" for ") {
        return None;
    }
    let arguments: Vec<&str> = report
        .lines()
        .filter(|line| !line.is_empty() && !line.starts_with(' '))
        .map(|location| location.split('.').next().unwrap_or(location).trim())
        .collect();
    (!arguments.is_empty()).then_some(arguments)
}

/// Whether `text` is a UUID in its hyphenated form.
fn is_uuid(text: &[u8]) -> bool {
    text.len() == 36
        && text.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// `text` with every UUID replaced by `<id>`.
fn normalise_ids(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes.len() - i >= 36 && is_uuid(&bytes[i..i + 36]) {
            out.push_str("<id>");
            i += 36;
        } else {
            let c = text[i..].chars().next().unwrap();
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// Arguments ours adds to a reference tool (documented in the README).
const EXTRA_ARGUMENTS: [(&str, &str); 1] = [("kitaru_executions_run", "max_wait_seconds")];
/// Tools the reference lacks (documented in the README).
const EXTRA_TOOLS: [&str; 1] = ["kitaru_executions_watch"];

/// Whether `name` is one of ours that the reference of the server's line
/// lacks: [`EXTRA_TOOLS`], and the memory tools where its Kitaru has no
/// memory (0.21).
fn ours_only(name: &str) -> bool {
    let memory = kitaru_mcp::catalog::ToolInfo::named(name).is_some_and(|t| t.toolset == "memory");
    EXTRA_TOOLS.contains(&name)
        || (memory && !server().line().python_memory())
        || (server().line() == kitaru_testkit::Line::V0_10 && TOOLS_V_LANDED.contains(&name))
}

/// The 0.21 reference's tools that are not here yet (the "Tools V" issue,
/// listed in docs/reference-differences.md).
const TOOLS_V_NEW: [&str; 0] = [];
/// The 0.21 reference's tools that are here: the 0.10 reference lacks them.
const TOOLS_V_LANDED: [&str; 11] = [
    "kitaru_executions_abort_wait",
    "kitaru_executions_cohort",
    "kitaru_executions_diff",
    "kitaru_executions_diff_matrix",
    "kitaru_executions_resume",
    "kitaru_executions_statistics",
    "kitaru_projects_current",
    "kitaru_projects_list",
    "kitaru_projects_show",
    "kitaru_projects_use",
    "kitaru_secrets_list",
];
/// The 0.21 reference's tools whose arguments changed that are still to
/// come here: the same issue.
const TOOLS_V_CHANGED: [&str; 0] = [];
/// The 0.21 reference's tools whose arguments changed, now in their 0.21
/// form here on both lines; the 0.10 form is still accepted, not
/// advertised (docs/reference-differences.md), so on the 0.10 line their
/// arguments differ from that reference's.
const FORMS_V_LANDED: [&str; 1] = ["kitaru_executions_replay"];
/// Arguments of the 0.21 reference's tools that are here: the 0.10
/// reference lacks them (ours refuses them on a 0.10 server).
const ARGUMENTS_V_LANDED: [(&str, &str); 1] = [("manage_stack", "sandbox")];

/// Whether `tool`'s 0.21 form is still to come here (on a 0.21 server).
fn awaiting_tools_v(tool: &str) -> bool {
    server().line() == kitaru_testkit::Line::V0_21 && TOOLS_V_CHANGED.contains(&tool)
}

#[test]
fn both_servers_list_the_same_tools_with_the_same_arguments() {
    let theirs = reference().tools();
    let ours = ours().tools();
    let mut differences = Vec::new();
    // The reference's tools ours lacks: none on the 0.10 line; on the 0.21
    // line, exactly those still to come (so this fails once one lands).
    let mut missing: Vec<&str> = theirs
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .filter(|name| !ours.iter().any(|o| o["name"] == *name))
        .collect();
    missing.sort_unstable();
    let expected: &[&str] = match server().line() {
        kitaru_testkit::Line::V0_21 => &TOOLS_V_NEW,
        _ => &[],
    };
    assert_eq!(missing, expected, "the reference's tools ours lacks");
    for tool in &ours {
        let name = tool["name"].as_str().unwrap();
        if ours_only(name) {
            continue;
        }
        if server().line() == kitaru_testkit::Line::V0_10 && FORMS_V_LANDED.contains(&name) {
            continue;
        }
        if awaiting_tools_v(name) {
            let reference = theirs.iter().find(|t| t["name"] == tool["name"]).unwrap();
            assert_ne!(
                tool["inputSchema"]["properties"], reference["inputSchema"]["properties"],
                "{name} has its 0.21 form now: leave it to the comparison"
            );
            continue;
        }
        let extra = |argument: &String| {
            EXTRA_ARGUMENTS.contains(&(name, argument.as_str()))
                || (server().line() == kitaru_testkit::Line::V0_10
                    && ARGUMENTS_V_LANDED.contains(&(name, argument.as_str())))
        };
        let Some(reference) = theirs.iter().find(|t| t["name"] == tool["name"]) else {
            differences.push(format!("{name} is not a reference tool"));
            continue;
        };
        let properties = |t: &Value| -> Vec<String> {
            let mut names: Vec<String> = t["inputSchema"]["properties"]
                .as_object()
                .map(|p| p.keys().filter(|k| !extra(k)).cloned().collect())
                .unwrap_or_default();
            names.sort();
            names
        };
        if properties(tool) != properties(reference) {
            differences.push(format!(
                "arguments of {name}: ours {:?}, the reference's {:?}",
                properties(tool),
                properties(reference)
            ));
        }
        let required = |t: &Value| match &t["inputSchema"]["required"] {
            Value::Null => json!([]),
            required => required.clone(),
        };
        if required(tool) != required(reference) {
            differences.push(format!(
                "required arguments of {name}: ours {}, the reference's {}",
                required(tool),
                required(reference)
            ));
        }
    }
    assert!(
        differences.is_empty(),
        "the {} reference's tools differ:\n{}",
        server().line(),
        differences.join("\n")
    );
}

/// What a model reads of `tools/list` (names, descriptions, input schemas)
/// costs ours no more bytes than the reference's for the same tools,
/// although ours describe every parameter.
/// What each tool of the kitaru-mcp 0.21 reference costs a model in
/// `tools/list` (bytes of its name, description and input schema as
/// compact JSON), measured on the 0.21 line by
/// `the_newest_references_tool_costs_are_on_record`.
const NEWEST_REFERENCE_COSTS: &str = include_str!("reference_0_21_tool_costs.json");

/// The bytes of a tool a model reads in `tools/list`.
fn model_visible_bytes(tool: &Value) -> usize {
    let part = json!({
        "name": tool["name"],
        "description": tool["description"],
        "inputSchema": tool["inputSchema"],
    });
    serde_json::to_string(&part).unwrap().len()
}

/// On the 0.21 line, the recorded costs of the 0.21 reference's tools are
/// what it costs now (refresh the file with what this prints if the pinned
/// reference changes).
#[test]
fn the_newest_references_tool_costs_are_on_record() {
    if line() != kitaru_sdk::ServerLine::Kitaru021 {
        return;
    }
    let measured: serde_json::Map<String, Value> = reference()
        .tools()
        .iter()
        .map(|tool| {
            (
                tool["name"].as_str().unwrap().to_owned(),
                json!(model_visible_bytes(tool)),
            )
        })
        .collect();
    let recorded: serde_json::Map<String, Value> =
        serde_json::from_str(NEWEST_REFERENCE_COSTS).unwrap();
    assert_eq!(
        recorded,
        measured,
        "tests/real_server/parity/reference_0_21_tool_costs.json is stale; now:\n{}",
        serde_json::to_string_pretty(&measured).unwrap()
    );
}

/// Our tools cost a model no more than the references' same tools. A tool
/// offers both lines' forms of its arguments on either line (the 0.21
/// replay form, `manage_stack`'s sandbox), so its budget is the larger of
/// what the connected line's reference and the newest reference spend on it.
#[test]
fn the_tool_list_costs_a_model_no_more_than_the_references() {
    let theirs = reference().tools();
    let ours = ours().tools();
    let newest: serde_json::Map<String, Value> =
        serde_json::from_str(NEWEST_REFERENCE_COSTS).unwrap();
    // Our tools the reference lacks (kitaru_executions_watch) are not
    // part of the comparison.
    let ours: Vec<Value> = ours
        .into_iter()
        .filter(|mine| theirs.iter().any(|tool| tool["name"] == mine["name"]))
        .collect();
    let ours_bytes: usize = ours.iter().map(model_visible_bytes).sum();
    let their_bytes: usize = theirs
        .iter()
        .filter(|tool| ours.iter().any(|mine| mine["name"] == tool["name"]))
        .map(|tool| {
            let newest = tool["name"]
                .as_str()
                .and_then(|name| newest.get(name))
                .and_then(Value::as_u64)
                .unwrap_or(0) as usize;
            model_visible_bytes(tool).max(newest)
        })
        .sum();
    assert!(
        ours_bytes <= their_bytes,
        "tools/list costs {ours_bytes} bytes here, {their_bytes} in the references for the same {} tools",
        ours.len()
    );
    let described = ours
        .iter()
        .filter_map(|tool| tool["inputSchema"]["properties"].as_object())
        .flat_map(|properties| properties.values())
        .all(|property| {
            property["description"]
                .as_str()
                .is_some_and(|d| !d.is_empty())
        });
    assert!(described, "every parameter has a description");
}

/// The fixes to the reference's execution payload (see the README): the
/// server's status reason, the real exception, and real counts.
fn execution_fixes(at: &str) -> Vec<String> {
    [
        "status_reason",
        "failure/message",
        "failure/exception_type",
        "checkpoints/*/failure/message",
        "checkpoints/*/failure/exception_type",
        "checkpoints/*/attempts/*/failure/message",
        "checkpoints/*/attempts/*/failure/exception_type",
    ]
    .iter()
    .map(|field| format!("{at}/{field}"))
    .collect()
}

fn strs(patterns: &[String]) -> Vec<&str> {
    patterns.iter().map(String::as_str).collect()
}

fn read_lock() -> std::sync::RwLockReadGuard<'static, ()> {
    kitaru_testkit::executions_lock()
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[test]
fn executions_list_matches_with_every_filter() {
    let mut allowed = execution_fixes("/result/*");
    // Real counts instead of the reference's constant 0.
    allowed.push("/result/*/checkpoint_count".into());
    allowed.push("/result/*/artifact_count".into());
    let server = server();
    for arguments in [
        json!({}),
        json!({"limit": 2}),
        json!({"status": "failed"}),
        json!({"status": " Waiting "}),
        json!({"status": "completed", "flow": server.str("/seed/completed/flow_name")}),
        json!({"stack": server.str("/seed/stack/name"), "limit": 3}),
        json!({"flow": "no-such-flow"}),
        json!({"status": "sleeping"}),
        json!({"limit": 0}),
    ] {
        same_payload("kitaru_executions_list", arguments, &strs(&allowed));
    }
}

#[test]
fn executions_get_matches_for_each_seeded_execution() {
    let server = server();
    let allowed = execution_fixes("");
    for seed in ["completed", "failed", "waiting"] {
        let id = server.str(&format!("/seed/{seed}/exec_id"));
        same_payload(
            "kitaru_executions_get",
            json!({"exec_id": id}),
            &strs(&allowed),
        );
        let name = server.str(&format!("/seed/{seed}/name"));
        same_payload(
            "kitaru_executions_get",
            json!({"exec_id": name}),
            &strs(&allowed),
        );
    }
    let prefix = &server.str("/seed/completed/exec_id")[..8];
    same_payload(
        "kitaru_executions_get",
        json!({"exec_id": prefix}),
        &strs(&allowed),
    );
    same_payload("kitaru_executions_get", json!({"exec_id": "nope"}), &[]);
}

#[test]
fn executions_latest_matches() {
    let mut allowed = execution_fixes("");
    // The reference's latest is a detail payload without its checkpoints
    // (so, on the 0.21 line, without their usage records).
    allowed.extend(
        [
            "/checkpoints",
            "/artifacts",
            "/checkpoint_count",
            "/artifact_count",
            "/llm_usage_records",
        ]
        .map(String::from),
    );
    let server = server();
    for arguments in [
        json!({"status": "failed"}),
        json!({"flow": server.str("/seed/completed/flow_name")}),
        json!({"status": "completed", "stack": server.str("/seed/stack/name")}),
        json!({"flow": "x", "stack": "nope"}),
    ] {
        same_payload("kitaru_executions_latest", arguments, &strs(&allowed));
    }
}

#[test]
fn execution_logs_match_but_name_their_levels() {
    let server = server();
    for (seed, arguments) in [
        ("completed", json!({})),
        ("failed", json!({})),
        ("completed", json!({"checkpoint": "greet"})),
        ("completed", json!({"limit": 2})),
        ("completed", json!({"source": "runner"})),
    ] {
        let mut arguments = arguments;
        arguments["exec_id"] = json!(server.str(&format!("/seed/{seed}/exec_id")));
        let (theirs, ours) = same_payload("get_execution_logs", arguments.clone(), &["/result"]);
        if theirs.is_error {
            continue;
        }
        let text = |answer: &ToolAnswer| {
            answer.structured.as_ref().unwrap()["result"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        // The reference prints Python's numeric levels; we print their names.
        let mut expected = text(&theirs);
        for (number, name) in [
            (" 10 [", " DEBUG ["),
            (" 20 [", " INFO ["),
            (" 30 [", " WARNING ["),
            (" 40 [", " ERROR ["),
            (" 50 [", " CRITICAL ["),
        ] {
            expected = expected.replace(number, name);
        }
        assert_eq!(text(&ours), expected, "get_execution_logs {arguments}");
    }
}

#[test]
fn artifacts_list_and_get_match() {
    let server = server();
    let exec_id = server.str("/seed/completed/exec_id");
    for arguments in [
        json!({"exec_id": exec_id}),
        json!({"exec_id": exec_id, "producing_call": "pair"}),
        json!({"exec_id": exec_id, "kind": "response"}),
        json!({"exec_id": exec_id, "name": "seed_response", "limit": 1}),
        json!({"exec_id": "nope"}),
    ] {
        same_payload("kitaru_artifacts_list", arguments, &[]);
    }
    // Beyond the reference: whether the value could be read here, and why not.
    let extra = ["/value_available", "/value_unavailable"];
    for artifact in server.get("/seed/completed/artifacts").as_array().unwrap() {
        let id = artifact["artifact_id"].as_str().unwrap();
        same_payload("kitaru_artifacts_get", json!({"artifact_id": id}), &extra);
    }
    same_payload(
        "kitaru_artifacts_get",
        json!({"artifact_id": "seed_response"}),
        &extra,
    );
    same_payload(
        "kitaru_artifacts_get",
        json!({"artifact_id": "nope"}),
        &extra,
    );
}

/// The test server's Kitaru line, as our SDK reads it from the server.
fn line() -> kitaru_sdk::ServerLine {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async { server().kitaru().await.server().await.unwrap().line })
}

/// On the kitaru 0.21 line, an execution with what that line adds (LLM
/// usage records and summary, an adapter's checkpoint, an llm_call's prompt
/// and a tool_call's arguments as inputs, an in-run retry) reads the same
/// as in the 0.21 reference, the fixes aside.
#[test]
fn an_execution_with_llm_usage_matches_on_the_0_21_line() {
    if line() != kitaru_sdk::ServerLine::Kitaru021 {
        return; // `flows/llm_usage.py` records usage with the kitaru 0.21 SDK.
    }
    let made = {
        let _changing = kitaru_testkit::executions_lock()
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        kitaru_testkit::python_module("llm_usage", &[], None)
    };
    let exec_id = made["exec_id"].as_str().unwrap();
    same_payload(
        "kitaru_executions_get",
        json!({"exec_id": exec_id}),
        &strs(&execution_fixes("")),
    );
    same_payload("kitaru_artifacts_list", json!({"exec_id": exec_id}), &[]);
    same_payload(
        "kitaru_artifacts_list",
        json!({"exec_id": exec_id, "kind": "prompt"}),
        &[],
    );
    let mut listed = execution_fixes("/result/*");
    listed.push("/result/*/checkpoint_count".into());
    listed.push("/result/*/artifact_count".into());
    same_payload(
        "kitaru_executions_list",
        json!({"flow": "llm_usage", "limit": 1}),
        &strs(&listed),
    );
}

/// What only the Python process hosting the reference can know (its
/// `python_version` is ours too: the Kitaru Python that runs flows is its
/// virtualenv), and what only ours reports (the server's line, the API
/// versions it was built from).
const PYTHON_ONLY: [&str; 7] = [
    "/sdk_version",
    "/python_executable",
    "/zenml_version",
    "/packages",
    "/system_info",
    "/server_line",
    "/api_versions",
];

#[test]
fn status_info_and_stacks_match() {
    same_payload("kitaru_status", json!({}), &PYTHON_ONLY);
    same_payload("kitaru_info", json!({"all": true}), &PYTHON_ONLY);
    same_payload("kitaru_info", json!({}), &PYTHON_ONLY);
    same_payload("kitaru_stacks_list", json!({}), &[]);
}

/// Removes `key` at every depth (sizes that change as the server logs).
fn remove_everywhere(value: &mut Value, key: &str) {
    match value {
        Value::Object(map) => {
            map.remove(key);
            map.values_mut().for_each(|v| remove_everywhere(v, key));
        }
        Value::Array(items) => items.iter_mut().for_each(|v| remove_everywhere(v, key)),
        _ => {}
    }
}

#[test]
fn clean_preview_matches_for_each_scope() {
    for scope in ["project", "global", "all"] {
        let arguments = json!({"scope": scope});
        let theirs = reference().call("kitaru_clean_preview", arguments.clone());
        let ours = ours().call("kitaru_clean_preview", arguments);
        assert!(
            !theirs.is_error && !ours.is_error,
            "{scope}: {:?} {:?}",
            theirs.texts,
            ours.texts
        );
        let (mut a, mut b) = (theirs.structured.unwrap(), ours.structured.unwrap());
        for value in [&mut a, &mut b] {
            // The daemon's log grows while it runs, and the backup entry is
            // named after the current second.
            remove_everywhere(value, "size_bytes");
            remove(value, "/total_bytes");
            if let Some(entries) = value["preview"].as_array_mut() {
                entries.retain(|entry| entry["type"] != "backup");
            }
        }
        if let Some(difference) = first_difference("", &a, &b) {
            panic!("kitaru_clean_preview {scope}: {difference}");
        }
    }
}

/// Replaces ids and timestamps, so two executions of the same flow that went
/// through the same steps compare equal.
fn anonymize(value: &mut Value) {
    match value {
        Value::String(text) => {
            let is_time =
                text.len() >= 19 && text.as_bytes()[4] == b'-' && text.as_bytes()[10] == b'T';
            if is_uuid(text.as_bytes()) {
                *text = "<id>".into();
            } else if is_time {
                *text = "<time>".into();
            }
        }
        Value::Array(items) => items.iter_mut().for_each(anonymize),
        Value::Object(map) => map.values_mut().for_each(anonymize),
        _ => {}
    }
}

/// Two fresh executions of one flow differ in whether their first
/// checkpoint was served from the cache of an earlier run (the first run on
/// a new server is not; the next one is): which call a checkpoint reused is
/// left out of comparisons between them.
fn forget_cache_hits(execution: &mut Value) {
    remove_everywhere(execution, "original_call_id");
}

/// Runs `tool` on two fresh, identical waiting executions: the reference on
/// one, ours on the other; compares the answers ids and times aside.
fn same_change(tool: &str, arguments: impl Fn(&str) -> Value, allowed: &[&str]) {
    let _changing = kitaru_testkit::executions_lock()
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let fresh = kitaru_testkit::start_waiting_executions(2);
    let theirs = reference().call(tool, arguments(&fresh[0]));
    let ours = ours().call(tool, arguments(&fresh[1]));
    assert_same_answers(tool, &arguments("<exec_id>"), theirs, ours, allowed);
}

/// The two servers' answers to one call (`arguments` names it in
/// messages): the same error text, or the same payload once ids, times,
/// cache hits and the `allowed` differences are left out. Returns the
/// payloads as they came (nulls for errors).
fn assert_same_answers(
    tool: &str,
    arguments: &Value,
    theirs: ToolAnswer,
    ours: ToolAnswer,
    allowed: &[&str],
) -> (Value, Value) {
    assert_eq!(
        theirs.is_error, ours.is_error,
        "{tool} {arguments}: reference {:?}, ours {:?}",
        theirs.texts, ours.texts
    );
    if theirs.is_error {
        assert_same_error(tool, arguments, &theirs, &ours);
        return (Value::Null, Value::Null);
    }
    let (a, b) = (theirs.structured.unwrap(), ours.structured.unwrap());
    let (mut x, mut y) = (a.clone(), b.clone());
    for value in [&mut x, &mut y] {
        for pattern in allowed {
            remove(value, pattern);
        }
        anonymize(value);
        forget_cache_hits(value);
    }
    if let Some(difference) = first_difference("", &x, &y) {
        panic!("{tool} {arguments}: payloads differ at {difference}\nreference: {x}\nours: {y}");
    }
    (a, b)
}

#[test]
fn input_to_a_waiting_execution_matches() {
    let allowed = execution_fixes("");
    same_change(
        "kitaru_executions_input",
        |exec_id| json!({"exec_id": exec_id, "wait": "approve_extra", "value": true}),
        &strs(&allowed),
    );
    // A value the wait's schema (boolean) refuses.
    same_change(
        "kitaru_executions_input",
        |exec_id| json!({"exec_id": exec_id, "wait": "approve_extra", "value": "yes"}),
        &[],
    );
}

#[test]
fn cancel_of_a_finished_or_unknown_execution_fails_alike() {
    let completed = server().str("/seed/completed/exec_id");
    same_payload(
        "kitaru_executions_cancel",
        json!({"exec_id": completed}),
        &[],
    );
    same_payload("kitaru_executions_cancel", json!({"exec_id": "nope"}), &[]);
}

#[test]
fn cancel_of_a_waiting_execution_ends_in_the_same_state() {
    let _changing = kitaru_testkit::executions_lock()
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let fresh = kitaru_testkit::start_waiting_executions(2);
    // The reference reports the local orchestrator's missing forceful stop
    // as a failure, although the server has already marked the run as
    // stopping; ours reports the cancelled execution (a documented fix).
    let theirs = reference().call("kitaru_executions_cancel", json!({"exec_id": fresh[0]}));
    assert!(theirs.is_error, "{:?}", theirs.texts);
    assert!(
        theirs.texts[0].contains("forceful stop"),
        "{:?}",
        theirs.texts
    );
    let ours = ours().call("kitaru_executions_cancel", json!({"exec_id": fresh[1]}));
    assert!(!ours.is_error, "{:?}", ours.texts);
    let mut cancelled = ours.structured.unwrap();
    assert_eq!(cancelled["status"], "cancelled");

    let mut theirs_after = self::ours()
        .call("kitaru_executions_get", json!({"exec_id": fresh[0]}))
        .structured
        .unwrap();
    if server().line() == kitaru_testkit::Line::V0_21 {
        // On the 0.21 line the reference's run, only marked stopping, reads
        // as still waiting (kitaru 0.21 reads stopping as running, waiting
        // while a wait is pending); ours aborted the wait, so the server
        // stopped the run (a documented fix).
        assert_eq!(theirs_after["status"], "waiting", "{theirs_after}");
        assert_eq!(cancelled["status_reason"], "Wait condition was aborted.");
        assert_eq!(cancelled["pending_wait"], Value::Null, "{cancelled}");
        let wait = &theirs_after["pending_wait"]["name"];
        assert_eq!(wait, "approve_extra", "{theirs_after}");
        return;
    }
    // On the 0.10 line the reference's execution, read back, is in the
    // state ours reported.
    for execution in [&mut cancelled, &mut theirs_after] {
        anonymize(execution);
        forget_cache_hits(execution);
    }
    if let Some(difference) = first_difference("", &theirs_after, &cancelled) {
        panic!("cancelled executions differ at {difference}");
    }
}

/// The same secret created through each server gives the same metadata
/// (ids and the UUID names aside), and the same refusals.
#[test]
fn secrets_create_matches_and_never_shows_a_value() {
    let values =
        json!({"API_KEY": "parity-secret-value", "PORT": 8080, "FLAG": true, "OBJ": {"a": [1]}});
    let (their_name, our_name) = (
        uuid::Uuid::new_v4().to_string(),
        uuid::Uuid::new_v4().to_string(),
    );
    let mut theirs = reference();
    let mut ours = ours();
    let a = theirs.call(
        "kitaru_secrets_create",
        json!({"name": their_name, "values": values}),
    );
    let b = ours.call(
        "kitaru_secrets_create",
        json!({"name": our_name, "values": values}),
    );
    assert!(!a.is_error && !b.is_error, "{a:?} / {b:?}");
    let (mut x, mut y) = (a.structured.unwrap(), b.structured.unwrap());
    anonymize(&mut x);
    anonymize(&mut y);
    assert_eq!(x, y);
    assert!(!b.texts.concat().contains("parity-secret-value"));
    for (arguments, _) in [
        (json!({"name": our_name, "values": values}), "exists"),
        (json!({"name": " ", "values": values}), "empty name"),
        (json!({"name": "x", "values": {}}), "no values"),
        (json!({"name": "x", "values": {"1BAD": "v"}}), "bad key"),
        (json!({"name": "x", "values": {"K": null}}), "null"),
        (json!({"name": "x", "values": {"K": ""}}), "empty value"),
        (
            json!({"name": "x", "values": {" A": "1", "A": "2"}}),
            "duplicate",
        ),
    ] {
        let a = theirs.call("kitaru_secrets_create", arguments.clone());
        let b = ours.call("kitaru_secrets_create", arguments.clone());
        assert!(a.is_error && b.is_error, "{arguments}: {a:?} / {b:?}");
        assert_same_error("kitaru_secrets_create", &arguments, &a, &b);
    }
}
