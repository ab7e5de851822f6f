//! The execution view (MCP Apps): offered only to a client that declares the
//! extension, and rendered in a real headless Chromium by a minimal host
//! page (`mcp_app_host.html`) that relays the view's tool calls to
//! kitaru-mcp over stdio — with real payloads from the seeded server.
//! Screenshots go to `target/test-artifacts/`.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use crate::browser::{Browser, PageServer};
use kitaru_testkit::{StdioPeer, executions_lock, server, start_waiting_executions};

const EXTENSION: &str = "io.modelcontextprotocol/ui";
const MIME: &str = "text/html;profile=mcp-app";
const VIEW: &str = "ui://kitaru/execution";
const LINKED: [&str; 6] = [
    "kitaru_executions_get",
    "kitaru_executions_latest",
    "kitaru_executions_replay",
    "kitaru_executions_resume",
    "kitaru_executions_run",
    "kitaru_executions_watch",
];

/// kitaru-mcp over stdio, initialized as a client that declares MCP Apps
/// (or not).
fn peer(apps: bool) -> StdioPeer {
    let mut command = crate::support::kitaru_mcp();
    // Replays that the server cannot run itself go through Kitaru's Python.
    command.env("KITARU_PYTHON", server().str("/python"));
    let mut peer = StdioPeer::spawn(command);
    let capabilities = if apps {
        json!({"extensions": {EXTENSION: {"mimeTypes": [MIME]}}})
    } else {
        json!({})
    };
    peer.initialize_with("2025-11-25", capabilities);
    peer
}

fn artifacts_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/test-artifacts")
}

#[test]
fn a_client_declaring_the_extension_sees_the_view_linked_from_the_execution_tools() {
    let mut with = peer(true);
    for tool in with.tools() {
        let name = tool["name"].as_str().unwrap();
        let linked = tool.pointer("/_meta/ui/resourceUri");
        if LINKED.contains(&name) {
            assert_eq!(linked, Some(&json!(VIEW)), "{name}");
        } else {
            assert_eq!(linked, None, "{name}");
        }
    }
    let listed = with.request("resources/list", json!({}));
    let view = &listed["resources"][0];
    assert_eq!(view["uri"], VIEW);
    assert_eq!(view["mimeType"], MIME);
    let read = with.request("resources/read", json!({"uri": VIEW}));
    let content = &read["contents"][0];
    assert_eq!(content["mimeType"], MIME);
    assert_eq!(content["_meta"]["ui"]["csp"]["connectDomains"], json!([]));
    assert!(
        content["text"]
            .as_str()
            .unwrap()
            .starts_with("<!DOCTYPE html>")
    );
}

#[test]
fn a_client_not_declaring_the_extension_sees_no_view() {
    let mut without = peer(false);
    assert!(
        without
            .tools()
            .iter()
            .all(|tool| tool.pointer("/_meta/ui").is_none())
    );
    let listed = without.request("resources/list", json!({}));
    assert!(
        listed["resources"]
            .as_array()
            .unwrap()
            .iter()
            .all(|resource| resource["uri"] != VIEW)
    );
}

/// The host page and the view, served with a relay of tool calls to
/// kitaru-mcp.
async fn host(peer: Arc<Mutex<StdioPeer>>, view_html: String) -> PageServer {
    let pages = vec![
        (
            "/host.html".to_owned(),
            "text/html".to_owned(),
            include_str!("mcp_app_host.html").to_owned(),
        ),
        ("/view.html".to_owned(), "text/html".to_owned(), view_html),
    ];
    PageServer::start(pages, move |_path, call: Value| {
        let peer = peer.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                let answer = peer.lock().unwrap().try_request("tools/call", call);
                match answer {
                    Ok(result) => json!({"result": result}),
                    Err(error) => json!({"error": error}),
                }
            })
            .await
            .unwrap()
        })
    })
    .await
}

fn url(page: &PageServer, tool: &str, arguments: Value, theme: &str) -> String {
    let arguments = arguments.to_string();
    let encoded: String = arguments
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    format!(
        "{}/host.html?tool={tool}&theme={theme}&arguments={encoded}",
        page.url
    )
}

/// The frame's sandbox in the wait test: without `allow-forms`, as hosts
/// may set it (a form's submission is blocked there).
const NO_FORMS: &str = "allow-scripts allow-same-origin";

/// What the view shows, read from its document.
const VIEW_DOC: &str = "document.getElementById('view').contentDocument";

async fn shown(browser: &mut Browser) -> String {
    browser
        .eval(&format!("{VIEW_DOC}.body.innerText"))
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn state_of(browser: &mut Browser, checkpoint: &str) -> Value {
    browser
        .eval(&format!(
            "(() => {{ const li = {VIEW_DOC}.querySelector('[data-checkpoint=\"{checkpoint}\"]'); \
             return li ? li.dataset.state : null; }})()"
        ))
        .await
}

async fn open(browser: &mut Browser, page: &PageServer, tool: &str, arguments: Value, theme: &str) {
    browser.color_scheme(theme == "dark").await;
    browser.goto(&url(page, tool, arguments, theme)).await;
    let ready = browser
        .wait_for(
            &format!("{VIEW_DOC} && {VIEW_DOC}.body && {VIEW_DOC}.body.dataset.ready"),
            // A replay runs the flow before the view gets its result.
            Duration::from_secs(180),
        )
        .await;
    assert_eq!(ready, "1", "{tool}: {}", shown(browser).await);
}

/// A headless browser, and the host page relaying the view's tool calls to
/// kitaru-mcp (a client declaring MCP Apps).
async fn viewing() -> (Browser, PageServer) {
    let mut mcp = peer(true);
    let read = mcp.request("resources/read", json!({"uri": VIEW}));
    let view_html = read["contents"][0]["text"].as_str().unwrap().to_owned();
    let page = host(Arc::new(Mutex::new(mcp)), view_html).await;
    (Browser::start(480, 900).await, page)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_view_shows_a_completed_execution_its_checkpoints_and_artifact_values() {
    let (mut browser, page) = viewing().await;
    let completed = server().str("/seed/completed/exec_id");
    open(
        &mut browser,
        &page,
        "kitaru_executions_get",
        json!({"exec_id": completed}),
        "light",
    )
    .await;
    assert_eq!(
        browser
            .eval(&format!("{VIEW_DOC}.getElementById('status').textContent"))
            .await,
        "completed"
    );
    for checkpoint in server()
        .get("/seed/completed/checkpoints")
        .as_array()
        .unwrap()
    {
        let name = checkpoint["name"].as_str().unwrap();
        let state = state_of(&mut browser, name).await;
        assert!(state == "completed" || state == "cached", "{name}: {state}");
    }
    assert!(
        shown(&mut browser)
            .await
            .contains(server().str("/seed/completed/flow_name"))
    );
    // Artifact values come through the host's tools/call, cut short.
    let first_artifact = server().str("/seed/completed/checkpoints/0/artifact_ids/0");
    let value = browser
        .wait_for(
            &format!(
                "(() => {{ const c = {VIEW_DOC}.querySelector('[data-artifact-id=\"{first_artifact}\"]'); \
                 return c && c.textContent !== '…' ? c.textContent : null; }})()"
            ),
            Duration::from_secs(30),
        )
        .await;
    assert!(!value.as_str().unwrap().starts_with('('), "{value}");
    browser
        .wait_for(
            &format!(
                "[...{VIEW_DOC}.querySelectorAll('.artifact-value')].every(c => c.textContent !== '…')"
            ),
            Duration::from_secs(60),
        )
        .await;
    browser
        .screenshot(&artifacts_dir().join("execution-view-completed.png"))
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_view_shows_a_failed_execution_in_dark_mode_with_its_traceback_folded() {
    let (mut browser, page) = viewing().await;
    let failed = server().str("/seed/failed/exec_id");
    open(
        &mut browser,
        &page,
        "kitaru_executions_get",
        json!({"exec_id": failed}),
        "dark",
    )
    .await;
    let text = shown(&mut browser).await;
    assert!(text.contains("RuntimeError"), "{text}");
    assert!(text.contains("deliberate failure"), "{text}");
    assert_eq!(state_of(&mut browser, "boom").await, "failed");
    assert_eq!(
        browser
            .eval(&format!(
                "{VIEW_DOC}.querySelector('#failure details').open"
            ))
            .await,
        false
    );
    browser
        .screenshot(&artifacts_dir().join("execution-view-failed-dark.png"))
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_view_shows_the_latest_execution_of_a_flow() {
    let (mut browser, page) = viewing().await;
    let flow = server().str("/seed/failed/flow_name");
    open(
        &mut browser,
        &page,
        "kitaru_executions_latest",
        json!({"flow": flow}),
        "light",
    )
    .await;
    assert_eq!(state_of(&mut browser, "boom").await, "failed");
    let text = shown(&mut browser).await;
    assert!(
        text.contains(server().str("/seed/failed/exec_id")),
        "the seeded run is the flow's only one: {text}"
    );
}

/// A flow run through the view's tool, then replayed from its second
/// checkpoint: the view names the original and marks the reused one. (A
/// flow of its own: the seeded flows keep exactly their one run.)
#[tokio::test(flavor = "multi_thread")]
// The lock is held for the whole test on purpose (no listing may straddle
// it); the runtime's other threads keep the host page served meanwhile.
#[allow(clippy::await_holding_lock)]
async fn the_view_runs_a_flow_then_shows_its_replay_reusing_the_first_checkpoint() {
    let _changing = executions_lock().write().unwrap_or_else(|p| p.into_inner());
    let (mut browser, page) = viewing().await;
    kitaru_testkit::install_flow_module("extra_replay");
    open(
        &mut browser,
        &page,
        "kitaru_executions_run",
        json!({"target": "flows/extra_replay.py:research_agent",
               "args": {"topic": format!("views {}", uuid::Uuid::new_v4())}}),
        "light",
    )
    .await;
    assert_eq!(state_of(&mut browser, "summarize").await, "completed");
    let original = browser
        .eval(&format!(
            "{VIEW_DOC}.querySelector('.meta code').textContent"
        ))
        .await;
    let original = original.as_str().unwrap().to_owned();
    open(
        &mut browser,
        &page,
        "kitaru_executions_replay",
        json!({"exec_id": original, "from_": "summarize"}),
        "light",
    )
    .await;
    let text = shown(&mut browser).await;
    assert!(text.contains(&format!("replay of {original}")), "{text}");
    assert_eq!(state_of(&mut browser, "gather_sources").await, "cached");
    browser
        .screenshot(&artifacts_dir().join("execution-view-replayed.png"))
        .await;
}

/// Waiting: the question, a form from the wait's schema (a boolean), sent
/// through the host's tools/call; the execution gets the value.
#[tokio::test(flavor = "multi_thread")]
// The lock is held for the whole test on purpose (no listing may straddle
// it); the runtime's other threads keep the host page served meanwhile.
#[allow(clippy::await_holding_lock)]
async fn the_view_answers_a_wait_through_a_labelled_form() {
    let _changing = executions_lock().write().unwrap_or_else(|p| p.into_inner());
    let waiting = tokio::task::spawn_blocking(|| start_waiting_executions(1).remove(0))
        .await
        .unwrap();
    let (mut browser, page) = viewing().await;
    browser
        .goto(&format!(
            "{}&sandbox={}",
            url(
                &page,
                "kitaru_executions_get",
                json!({"exec_id": waiting}),
                "light"
            ),
            NO_FORMS.replace(' ', "%20")
        ))
        .await;
    let ready = browser
        .wait_for(
            &format!("{VIEW_DOC} && {VIEW_DOC}.body && {VIEW_DOC}.body.dataset.ready"),
            Duration::from_secs(60),
        )
        .await;
    assert_eq!(ready, "1", "{}", shown(&mut browser).await);
    assert_eq!(
        browser
            .eval("document.getElementById('view').getAttribute('sandbox')")
            .await,
        NO_FORMS
    );
    let question = browser
        .eval(&format!(
            "{VIEW_DOC}.getElementById('wait-question').textContent"
        ))
        .await;
    assert!(!question.as_str().unwrap().is_empty(), "{question}");
    // Every control of the form is labelled, and reachable by keyboard.
    let unlabelled = browser
        .eval(&format!(
            "[...{VIEW_DOC}.querySelectorAll('#wait-form input, #wait-form select, #wait-form textarea')]\
             .filter(c => !{VIEW_DOC}.querySelector('label[for=\"' + c.id + '\"]') || c.tabIndex < 0)\
             .map(c => c.id)"
        ))
        .await;
    assert_eq!(unlabelled, json!([]));
    browser
        .screenshot(&artifacts_dir().join("execution-view-waiting.png"))
        .await;
    browser
        .eval(&format!(
            "(() => {{ const d = {VIEW_DOC}; d.getElementById('field-value').value = 'true'; \
             d.getElementById('wait-submit').click(); return true; }})()"
        ))
        .await;
    browser
        .wait_for(
            &format!("{VIEW_DOC}.getElementById('wait-result').textContent.startsWith('Sent')"),
            Duration::from_secs(60),
        )
        .await;
    let calls = browser.eval("window.toolCalls").await;
    let input = calls
        .as_array()
        .unwrap()
        .iter()
        .find(|call| call["name"] == "kitaru_executions_input")
        .unwrap_or_else(|| panic!("no kitaru_executions_input among {calls}"));
    assert_eq!(input["arguments"]["exec_id"], waiting, "{calls}");
    assert_eq!(input["arguments"]["value"], true, "{calls}");

    // Over REST: the wait is resolved with the value (the flow's wait has no
    // timeout, so the execution then waits for a manual resume).
    let resolved: Value = reqwest::get(format!(
        "{}/api/v1/run_wait_conditions?pipeline_run={waiting}&hydrate=true",
        server().url
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let condition = &resolved["items"][0];
    assert_eq!(resolved["total"], 1, "{resolved}");
    assert_eq!(condition["body"]["status"], "resolved", "{condition}");
    assert_eq!(condition["metadata"]["result"], true, "{condition}");
    let kitaru = server().kitaru().await;
    let after = kitaru_sdk::executions::get(&kitaru, &waiting)
        .await
        .unwrap();
    assert_eq!(after.summary.pending_wait, None);

    // The view looks again through the host and no longer asks.
    browser
        .wait_for(
            &format!(
                "{VIEW_DOC}.body.dataset.ready === '1' && !{VIEW_DOC}.getElementById('wait-form')"
            ),
            Duration::from_secs(30),
        )
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_host_the_view_is_a_readable_static_page() {
    let (mut browser, page) = viewing().await;
    browser.goto(&format!("{}/view.html", page.url)).await;
    browser
        .wait_for(
            "document.body.dataset.ready === 'static'",
            Duration::from_secs(10),
        )
        .await;
    let text = browser.eval("document.body.innerText").await;
    assert!(
        text.as_str().unwrap().contains("kitaru_executions_get"),
        "{text}"
    );
}

/// The view answers the host's requests (`ping`; anything it does not know
/// with "method not found") and reports the size of its content whenever it
/// changes: below the frame's height for a short page, larger once a
/// traceback is opened.
#[tokio::test(flavor = "multi_thread")]
async fn the_view_answers_pings_and_reports_the_size_of_its_content() {
    let (mut browser, page) = viewing().await;
    let failed = server().str("/seed/failed/exec_id");
    open(
        &mut browser,
        &page,
        "kitaru_executions_get",
        json!({"exec_id": failed}),
        "light",
    )
    .await;
    let answer = |id: u32| {
        format!("window.hostLog.map(e => e.message).find(m => m.id === {id} && !m.method) || null")
    };
    browser.eval("toView({ id: 4242, method: 'ping' })").await;
    let pong = browser
        .wait_for(&answer(4242), Duration::from_secs(5))
        .await;
    assert_eq!(pong["result"], json!({}), "{pong}");
    browser
        .eval("toView({ id: 4243, method: 'ui/something-new', params: {} })")
        .await;
    let refused = browser
        .wait_for(&answer(4243), Duration::from_secs(5))
        .await;
    assert_eq!(refused["error"]["code"], -32601, "{refused}");

    let heights = "window.hostLog.filter(e => e.from && e.message.method === \
                   'ui/notifications/size-changed').map(e => e.message.params.height)";
    let reported = browser.wait_for(heights, Duration::from_secs(5)).await;
    let before = reported
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .as_f64()
        .unwrap();
    let content = browser
        .eval(&format!(
            "{VIEW_DOC}.getElementById('app').getBoundingClientRect().height"
        ))
        .await
        .as_f64()
        .unwrap();
    assert!(
        before < 900.0,
        "the frame is 900 px high; the content {content}: {reported}"
    );
    assert!((before - content).abs() <= 30.0, "{before} vs {content}");
    browser
        .eval(&format!(
            "{VIEW_DOC}.querySelector('#failure details').open = true"
        ))
        .await;
    let grown = browser
        .wait_for(
            &format!("(() => {{ const h = {heights}; const last = h[h.length - 1]; return last > {before} ? last : null; }})()"),
            Duration::from_secs(5),
        )
        .await;
    assert!(grown.as_f64().unwrap() > before, "{grown}");
    // A checkpoint's failure spans the checkpoint's row, not its first column.
    let widths = browser
        .eval(&format!(
            "(() => {{ const box = {VIEW_DOC}.getElementById('checkpoint-failure'); \
             if (!box) return null; const row = box.closest('li'); \
             return [box.getBoundingClientRect().width, row.getBoundingClientRect().width]; }})()"
        ))
        .await;
    let widths: Vec<f64> = serde_json::from_value(widths).expect("the failed checkpoint's box");
    assert!(
        widths[0] >= widths[1] - 1.0,
        "box {} in a row of {}",
        widths[0],
        widths[1]
    );

    // Artifact names and producers wrap at their separators, never inside
    // a part (each part between break opportunities is one line box).
    open(
        &mut browser,
        &page,
        "kitaru_executions_get",
        json!({"exec_id": server().str("/seed/completed/exec_id")}),
        "light",
    )
    .await;
    let broken = browser
        .eval(&format!(
            "(() => {{ const d = {VIEW_DOC}; const broken = []; \
             for (const td of d.querySelectorAll('tbody td:nth-child(-n+2)')) \
               for (const n of td.childNodes) if (n.nodeType === 3 && n.textContent) {{ \
                 const r = d.createRange(); r.selectNodeContents(n); \
                 if (r.getClientRects().length > 1) broken.push(n.textContent); }} \
             return broken; }})()"
        ))
        .await;
    assert_eq!(broken, json!([]), "parts wrapped inside");
}
