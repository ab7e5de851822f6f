//! The execution view (MCP Apps): offered only to a client that declares the
//! extension, and rendered in a real headless Chromium by a host page built
//! on the official host side, `AppBridge` of `@modelcontextprotocol/ext-apps`
//! (`mcp_app_host.html`), that relays the view's tool calls to kitaru-mcp
//! over stdio — with real payloads from the seeded server — in both
//! sandboxes hosts use: the view's own frame sandboxed `allow-scripts` only,
//! and a proxy frame on another origin (`mcp_app_proxy.html`) holding the
//! view's frame sandboxed `allow-scripts allow-forms`. Screenshots go to
//! `target/test-artifacts/`.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use crate::browser::{Browser, PageServer};
use crate::ts_client::node_packages;
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

/// Where the host renders the view.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Sandbox {
    /// The view's own frame (srcdoc), sandboxed `allow-scripts` only: an
    /// opaque origin, no forms.
    Direct,
    /// A proxy frame on another origin (the second page server) holding the
    /// view's frame, sandboxed `allow-scripts allow-forms`.
    Proxy,
}

const SANDBOXES: [Sandbox; 2] = [Sandbox::Direct, Sandbox::Proxy];

impl Sandbox {
    fn name(self) -> &'static str {
        match self {
            Sandbox::Direct => "direct",
            Sandbox::Proxy => "proxy",
        }
    }

    /// The view frame's `sandbox` attribute.
    fn flags(self) -> &'static str {
        match self {
            Sandbox::Direct => "allow-scripts",
            Sandbox::Proxy => "allow-scripts allow-forms",
        }
    }
}

/// The view's frame, found by its URL: the host (or the proxy) renders the
/// view's HTML as the frame's srcdoc.
const VIEW_FRAME: &str = "about:srcdoc";

/// The host page (with the official bridge from `tests/node/node_modules`)
/// and the view on one origin, relaying tool calls to kitaru-mcp; the
/// sandbox proxy on another.
struct Host {
    page: PageServer,
    proxy: PageServer,
}

async fn host(peer: Arc<Mutex<StdioPeer>>, view_html: String) -> Host {
    let pages = vec![
        (
            "/host.html".to_owned(),
            "text/html".to_owned(),
            include_str!("mcp_app_host.html").to_owned(),
        ),
        ("/view.html".to_owned(), "text/html".to_owned(), view_html),
    ];
    let node_modules = node_packages().join("node_modules");
    let page = PageServer::start_with_files(
        pages,
        vec![("/node_modules/".to_owned(), node_modules)],
        move |_path, call: Value| {
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
        },
    )
    .await;
    let proxy = PageServer::start(
        vec![(
            "/proxy.html".to_owned(),
            "text/html".to_owned(),
            include_str!("mcp_app_proxy.html").to_owned(),
        )],
        |_path, _body| Box::pin(async { Value::Null }),
    )
    .await;
    Host { page, proxy }
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn url(host: &Host, sandbox: Sandbox, tool: &str, arguments: Value, theme: &str) -> String {
    let mut url = format!(
        "{}/host.html?tool={tool}&theme={theme}&sandbox={}&arguments={}",
        host.page.url,
        sandbox.name(),
        encode(&arguments.to_string())
    );
    if sandbox == Sandbox::Proxy {
        url.push_str(&format!(
            "&proxy={}",
            encode(&format!("{}/proxy.html", host.proxy.url))
        ));
    }
    url
}

/// What the view shows.
async fn shown(browser: &mut Browser) -> String {
    browser
        .eval_in(VIEW_FRAME, "document.body.innerText")
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn in_view(browser: &mut Browser, expression: &str) -> Value {
    browser.eval_in(VIEW_FRAME, expression).await
}

async fn state_of(browser: &mut Browser, checkpoint: &str) -> Value {
    in_view(
        browser,
        &format!(
            "(() => {{ const li = document.querySelector('[data-checkpoint=\"{checkpoint}\"]'); \
             return li ? li.dataset.state : null; }})()"
        ),
    )
    .await
}

/// Opens the view for `tool` in `sandbox` and waits until it shows the
/// result; checks the frame's sandbox and that the handshake went through
/// the bridge.
async fn open(
    browser: &mut Browser,
    host: &Host,
    sandbox: Sandbox,
    tool: &str,
    arguments: Value,
    theme: &str,
) {
    browser.color_scheme(theme == "dark").await;
    browser
        .goto(&url(host, sandbox, tool, arguments, theme))
        .await;
    let ready = browser
        .wait_for_in(
            VIEW_FRAME,
            "document.body && document.body.dataset.ready",
            // A replay runs the flow before the view gets its result.
            Duration::from_secs(180),
        )
        .await;
    assert_eq!(ready, "1", "{sandbox:?} {tool}: {}", shown(browser).await);
    assert_eq!(
        frame_sandbox(browser, sandbox).await,
        sandbox.flags(),
        "{sandbox:?}"
    );
    // The handshake: the view asked, the bridge answered as the host.
    let handshake = browser
        .eval(
            "(() => { const asked = hostLog.find(e => e.from && e.message.method === 'ui/initialize'); \
             const answer = asked && hostLog.find(e => e.to && e.message.id === asked.message.id && e.message.result); \
             return [asked && asked.message.params, answer && answer.message.result, \
                     hostLog.some(e => e.from && e.message.method === 'ui/notifications/initialized')]; })()",
        )
        .await;
    assert_eq!(
        handshake[0]["appInfo"]["name"], "kitaru-execution-view",
        "{sandbox:?} {handshake}"
    );
    assert_eq!(
        handshake[1]["hostInfo"]["name"], "kitaru-mcp-test-host",
        "{sandbox:?} {handshake}"
    );
    assert!(
        handshake[1]["hostCapabilities"]["serverTools"].is_object(),
        "{handshake}"
    );
    assert_eq!(handshake[2], true, "{sandbox:?} {handshake}");
    no_complaints(browser, sandbox).await;
}

/// Nothing on the host page (the bridge above all: it warns about messages
/// that break the protocol) warned or failed.
async fn no_complaints(browser: &mut Browser, sandbox: Sandbox) {
    let complaints = browser.eval("window.complaints").await;
    assert_eq!(complaints, json!([]), "{sandbox:?}");
}

/// The `sandbox` attribute of the view's frame: the host's frame, or the
/// one inside the proxy (read in the proxy's frame).
async fn frame_sandbox(browser: &mut Browser, sandbox: Sandbox) -> Value {
    match sandbox {
        Sandbox::Direct => {
            browser
                .eval("document.getElementById('view').getAttribute('sandbox')")
                .await
        }
        Sandbox::Proxy => {
            let proxy = browser.eval("document.getElementById('view').src").await;
            browser
                .eval_in(
                    proxy.as_str().unwrap(),
                    "document.querySelector('iframe').getAttribute('sandbox')",
                )
                .await
        }
    }
}

/// A headless browser (464 px wide, as a chat column), and the host page
/// relaying the view's tool calls to kitaru-mcp (a client declaring MCP
/// Apps).
async fn viewing() -> (Browser, Host) {
    let mut mcp = peer(true);
    let read = mcp.request("resources/read", json!({"uri": VIEW}));
    let view_html = read["contents"][0]["text"].as_str().unwrap().to_owned();
    let host = host(Arc::new(Mutex::new(mcp)), view_html).await;
    (Browser::start(480, 900).await, host)
}

/// Waits until every artifact value the view asked the host for is there.
async fn values_loaded(browser: &mut Browser) {
    browser
        .wait_for_in(
            VIEW_FRAME,
            "[...document.querySelectorAll('.artifact-value')].every(c => c.textContent !== '…')",
            Duration::from_secs(60),
        )
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_view_shows_a_completed_execution_its_checkpoints_and_artifact_values() {
    let (mut browser, host) = viewing().await;
    let completed = server().str("/seed/completed/exec_id");
    for sandbox in SANDBOXES {
        open(
            &mut browser,
            &host,
            sandbox,
            "kitaru_executions_get",
            json!({"exec_id": completed}),
            "light",
        )
        .await;
        assert_eq!(
            in_view(
                &mut browser,
                "document.getElementById('status').textContent"
            )
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
        // Artifact values come through the bridge's tools/call, cut short.
        let first_artifact = server().str("/seed/completed/checkpoints/0/artifact_ids/0");
        let value = browser
            .wait_for_in(
                VIEW_FRAME,
                &format!(
                    "(() => {{ const c = document.querySelector('[data-artifact-id=\"{first_artifact}\"]'); \
                     return c && c.textContent !== '…' ? c.textContent : null; }})()"
                ),
                Duration::from_secs(30),
            )
            .await;
        assert!(
            !value.as_str().unwrap().starts_with('('),
            "{sandbox:?} {value}"
        );
        values_loaded(&mut browser).await;
        let relayed = browser
            .eval("toolCalls.filter(c => c.name === 'kitaru_artifacts_get').map(c => c.arguments.artifact_id)")
            .await;
        assert!(
            relayed.as_array().unwrap().contains(&json!(first_artifact)),
            "{sandbox:?} {relayed}"
        );
        browser
            .screenshot(
                &artifacts_dir().join(format!("execution-view-completed-{}.png", sandbox.name())),
            )
            .await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_view_shows_a_failed_execution_in_dark_mode_with_its_traceback_folded() {
    let (mut browser, host) = viewing().await;
    let failed = server().str("/seed/failed/exec_id");
    for sandbox in SANDBOXES {
        open(
            &mut browser,
            &host,
            sandbox,
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
            in_view(
                &mut browser,
                "document.querySelector('#failure details').open"
            )
            .await,
            false
        );
        // The host's theme, not only the browser's scheme.
        assert_eq!(
            in_view(&mut browser, "document.documentElement.dataset.theme").await,
            "dark"
        );
        browser
            .screenshot(
                &artifacts_dir().join(format!("execution-view-failed-dark-{}.png", sandbox.name())),
            )
            .await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_view_shows_the_latest_execution_of_a_flow() {
    let (mut browser, host) = viewing().await;
    let flow = server().str("/seed/failed/flow_name");
    open(
        &mut browser,
        &host,
        Sandbox::Direct,
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
    let (mut browser, host) = viewing().await;
    kitaru_testkit::install_flow_module("extra_replay");
    open(
        &mut browser,
        &host,
        Sandbox::Proxy,
        "kitaru_executions_run",
        json!({"target": "flows/extra_replay.py:research_agent",
               "args": {"topic": format!("views {}", uuid::Uuid::new_v4())}}),
        "light",
    )
    .await;
    assert_eq!(state_of(&mut browser, "summarize").await, "completed");
    let original = in_view(
        &mut browser,
        "document.querySelector('.meta code').textContent",
    )
    .await;
    let original = original.as_str().unwrap().to_owned();
    open(
        &mut browser,
        &host,
        Sandbox::Proxy,
        "kitaru_executions_replay",
        json!({"exec_ids": [original], "at": "summarize"}),
        "light",
    )
    .await;
    // The submission names the replay; the view read it through the host.
    let text = shown(&mut browser).await;
    assert!(text.contains(&format!("replay of {original}")), "{text}");
    assert_eq!(state_of(&mut browser, "gather_sources").await, "cached");
    browser
        .screenshot(&artifacts_dir().join("execution-view-replayed.png"))
        .await;
}

/// Waiting: the question, a form from the wait's schema (a boolean), sent
/// through the bridge's tools/call; the execution gets the value. In both
/// sandboxes (the direct one has no `allow-forms`: a form's submission is
/// blocked there).
#[tokio::test(flavor = "multi_thread")]
// The lock is held for the whole test on purpose (no listing may straddle
// it); the runtime's other threads keep the host page served meanwhile.
#[allow(clippy::await_holding_lock)]
async fn the_view_answers_a_wait_through_a_labelled_form() {
    let _changing = executions_lock().write().unwrap_or_else(|p| p.into_inner());
    let waiting = tokio::task::spawn_blocking(|| start_waiting_executions(SANDBOXES.len()))
        .await
        .unwrap();
    let (mut browser, host) = viewing().await;
    for (sandbox, waiting) in SANDBOXES.into_iter().zip(waiting) {
        answer_a_wait(&mut browser, &host, sandbox, &waiting).await;
    }
}

async fn answer_a_wait(browser: &mut Browser, host: &Host, sandbox: Sandbox, waiting: &str) {
    open(
        browser,
        host,
        sandbox,
        "kitaru_executions_get",
        json!({"exec_id": waiting}),
        "light",
    )
    .await;
    let question = in_view(
        browser,
        "document.getElementById('wait-question').textContent",
    )
    .await;
    assert!(!question.as_str().unwrap().is_empty(), "{question}");
    // Every control of the form is labelled, and reachable by keyboard.
    let unlabelled = in_view(
        browser,
        "[...document.querySelectorAll('#wait-form input, #wait-form select, #wait-form textarea')]\
         .filter(c => !document.querySelector('label[for=\"' + c.id + '\"]') || c.tabIndex < 0)\
         .map(c => c.id)",
    )
    .await;
    assert_eq!(unlabelled, json!([]));
    browser
        .screenshot(&artifacts_dir().join(format!("execution-view-waiting-{}.png", sandbox.name())))
        .await;
    in_view(
        browser,
        "(() => { document.getElementById('field-value').value = 'true'; \
         document.getElementById('wait-submit').click(); return true; })()",
    )
    .await;
    let sent = browser
        .wait_for_in(
            VIEW_FRAME,
            "(() => { const r = document.getElementById('wait-result'); \
             return r && r.textContent && r.textContent !== 'Sending…' ? r.textContent : null; })()",
            Duration::from_secs(60),
        )
        .await;
    assert!(
        sent.as_str().unwrap().starts_with("Sent"),
        "{sandbox:?}: {sent}"
    );
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
    let after = kitaru_sdk::executions::get(&kitaru, waiting).await.unwrap();
    assert_eq!(after.summary.pending_wait, None);

    // The view looks again through the host and no longer asks.
    browser
        .wait_for_in(
            VIEW_FRAME,
            "document.body.dataset.ready === '1' && !document.getElementById('wait-form')",
            Duration::from_secs(30),
        )
        .await;
    no_complaints(browser, sandbox).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_host_the_view_is_a_readable_static_page() {
    let (mut browser, host) = viewing().await;
    browser.goto(&format!("{}/view.html", host.page.url)).await;
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
/// changes — below the frame's first height for a short page, larger once a
/// traceback is opened, smaller again once it is closed — and the host
/// sizes the frame so; nothing from outside loads in it (its CSP and, behind
/// the proxy, the host's); it follows the host's theme when that changes,
/// and answers the host's teardown.
#[tokio::test(flavor = "multi_thread")]
async fn the_view_answers_pings_and_reports_the_size_of_its_content() {
    let (mut browser, host) = viewing().await;
    for sandbox in SANDBOXES {
        pings_and_sizes(&mut browser, &host, sandbox).await;
    }
}

async fn pings_and_sizes(browser: &mut Browser, host: &Host, sandbox: Sandbox) {
    let failed = server().str("/seed/failed/exec_id");
    open(
        browser,
        host,
        sandbox,
        "kitaru_executions_get",
        json!({"exec_id": failed}),
        "light",
    )
    .await;
    let pong = browser.eval("hostRequest('ping')").await;
    assert_eq!(pong, json!({"result": {}}), "{sandbox:?}");
    let refused = browser.eval("hostRequest('ui/something-new', {})").await;
    assert_eq!(refused["error"]["code"], -32601, "{sandbox:?} {refused}");

    let last_height = "(() => { const h = window.sizes.filter(s => s.height !== undefined); \
                       return h.length ? h[h.length - 1].height : null; })()";
    let content = "(() => { const s = getComputedStyle(document.body); \
                   return document.getElementById('app').getBoundingClientRect().height \
                     + parseFloat(s.paddingTop) + parseFloat(s.paddingBottom); })()";
    let before = browser
        .wait_for(last_height, Duration::from_secs(5))
        .await
        .as_f64()
        .unwrap();
    let shown_height = in_view(browser, content).await.as_f64().unwrap();
    assert!(
        before < 600.0,
        "{sandbox:?}: the frame starts 600 px high; the content is {before}"
    );
    assert!(
        (before - shown_height).abs() <= 2.0,
        "{sandbox:?}: reported {before}, content {shown_height}"
    );
    frame_follows(browser, before).await;
    in_view(
        browser,
        "document.querySelector('#failure details').open = true",
    )
    .await;
    let grown = browser
        .wait_for(
            &format!("(() => {{ const h = {last_height}; return h > {before} ? h : null; }})()"),
            Duration::from_secs(5),
        )
        .await
        .as_f64()
        .unwrap();
    frame_follows(browser, grown).await;
    in_view(
        browser,
        "document.querySelector('#failure details').open = false",
    )
    .await;
    let shrunk = browser
        .wait_for(
            &format!("(() => {{ const h = {last_height}; return h < {grown} ? h : null; }})()"),
            Duration::from_secs(5),
        )
        .await
        .as_f64()
        .unwrap();
    assert!(
        (shrunk - before).abs() <= 1.0,
        "{sandbox:?}: back to {before} after closing, reported {shrunk}"
    );
    frame_follows(browser, shrunk).await;
    // A checkpoint's failure spans the checkpoint's row, not its first column.
    let widths = in_view(
        browser,
        "(() => { const box = document.getElementById('checkpoint-failure'); \
         if (!box) return null; const row = box.closest('li'); \
         return [box.getBoundingClientRect().width, row.getBoundingClientRect().width]; })()",
    )
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
        browser,
        host,
        sandbox,
        "kitaru_executions_get",
        json!({"exec_id": server().str("/seed/completed/exec_id")}),
        "light",
    )
    .await;
    values_loaded(browser).await;
    let broken = in_view(
        browser,
        "(() => { const broken = []; let parts = 0; \
         for (const td of document.querySelectorAll('#artifacts tbody td:nth-child(-n+2)')) \
           for (const n of td.childNodes) if (n.nodeType === 3 && n.textContent) { \
             parts += 1; const r = document.createRange(); r.selectNodeContents(n); \
             if (r.getClientRects().length > 1) broken.push(n.textContent); } \
         return { parts, broken }; })()",
    )
    .await;
    assert!(
        broken["parts"].as_u64().unwrap() > 8,
        "{sandbox:?}: {broken}"
    );
    assert_eq!(
        broken["broken"],
        json!([]),
        "{sandbox:?}: parts wrapped inside"
    );
    // Nothing wider than the frame: no sideways scrolling at 464 px.
    let overflow = in_view(
        browser,
        "document.documentElement.scrollWidth - document.documentElement.clientWidth",
    )
    .await;
    assert_eq!(overflow, 0, "{sandbox:?}");

    // The frame's CSP: the view's own and, behind the proxy, the host's
    // (inherited by the srcdoc frame): nothing outside may be loaded.
    let blocked = in_view(
        browser,
        "new Promise(resolve => { const seen = []; \
           document.addEventListener('securitypolicyviolation', e => seen.push(e.originalPolicy)); \
           const img = document.createElement('img'); img.src = 'http://127.0.0.1:9/probe.png'; \
           document.body.append(img); setTimeout(() => { img.remove(); resolve(seen); }, 500); })",
    )
    .await;
    let policies: Vec<&str> = blocked
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        policies
            .iter()
            .any(|policy| policy.contains("form-action 'none'")),
        "{sandbox:?}: the view's own CSP blocks it: {blocked}"
    );
    if sandbox == Sandbox::Proxy {
        assert!(
            policies
                .iter()
                .any(|policy| policy.contains("media-src 'self' data:")),
            "{sandbox:?}: the host's CSP blocks it: {blocked}"
        );
    }

    // The host switches its theme; then it tears the view down.
    browser.eval("hostSetTheme('dark')").await;
    browser
        .wait_for_in(
            VIEW_FRAME,
            "document.documentElement.dataset.theme === 'dark'",
            Duration::from_secs(5),
        )
        .await;
    let background = in_view(browser, "getComputedStyle(document.body).backgroundColor").await;
    assert_eq!(background, "rgb(22, 24, 28)", "{sandbox:?}");
    // The host's own colours, as style variables, win over the view's.
    browser
        .eval(
            "hostSetContext({ theme: 'dark', styles: { variables:              { '--color-background-primary': 'rgb(1, 2, 3)', '--color-text-primary': 'rgb(250, 251, 252)' } } })",
        )
        .await;
    let colours = browser
        .wait_for_in(
            VIEW_FRAME,
            "(() => { const s = getComputedStyle(document.body);              return s.backgroundColor === 'rgb(1, 2, 3)' ? [s.backgroundColor, s.color] : null; })()",
            Duration::from_secs(5),
        )
        .await;
    assert_eq!(
        colours,
        json!(["rgb(1, 2, 3)", "rgb(250, 251, 252)"]),
        "{sandbox:?}"
    );
    let torn_down = browser.eval("hostTeardown()").await;
    assert_eq!(torn_down, json!({"result": {}}), "{sandbox:?}");
    no_complaints(browser, sandbox).await;
}

/// The host gives the view's frame the height the view last reported (the
/// frame's content box; the proxy's inner frame fills the proxy).
async fn frame_follows(browser: &mut Browser, height: f64) {
    browser
        .wait_for(
            &format!(
                "Math.abs(document.getElementById('view').getBoundingClientRect().height - 2 - {height}) < 1"
            ),
            Duration::from_secs(5),
        )
        .await;
}

/// What a cell of the comparison shows about a checkpoint's values, from
/// the diff payload: `changed` when a value's hash differs on the two
/// sides, `same` when all are equal, `unknown` when none could be read,
/// `none` without values.
fn values_of(checkpoint: &Value) -> &'static str {
    let hashes: Vec<&Value> = checkpoint["artifact_hashes"]
        .as_object()
        .map(|hashes| hashes.values().collect())
        .unwrap_or_default();
    let both = |pair: &Value| pair["original"].is_string() && pair["replay"].is_string();
    if hashes.is_empty() {
        "none"
    } else if hashes
        .iter()
        .any(|pair| both(pair) && pair["original"] != pair["replay"])
    {
        "changed"
    } else if !hashes.iter().any(|pair| both(pair)) {
        "unknown"
    } else {
        "same"
    }
}

/// An execution with two real replays — one from `summarize` with
/// `gather_sources`' value overridden (so `summarize`'s value changes), one
/// from `gather_sources` (the same values again) — compared in the view:
/// on its "Compare replays" button for the original, at once for a replay.
/// The matrix is kitaru_executions_diff's answer, called by the view
/// through the bridge: the checkpoints as rows, a column per replay, each
/// cell the status match, the duration change and whether values changed.
#[tokio::test(flavor = "multi_thread")]
// The lock is held while the executions are made (no listing may straddle
// it).
#[allow(clippy::await_holding_lock)]
async fn the_view_compares_an_execution_with_its_replays() {
    let (mut browser, host) = viewing().await;
    let (original, replays, diff) = {
        let _changing = executions_lock().write().unwrap_or_else(|p| p.into_inner());
        tokio::task::spawn_blocking(|| {
            kitaru_testkit::install_flow_module("extra_replay");
            let mut mcp = peer(true);
            let run = mcp.call(
                "kitaru_executions_run",
                json!({"target": "flows/extra_replay.py:research_agent",
                       "args": {"topic": format!("compare {}", uuid::Uuid::new_v4())}}),
            );
            assert!(!run.is_error, "{:?}", run.texts);
            let original = run.structured.unwrap()["exec_id"]
                .as_str()
                .unwrap()
                .to_owned();
            let mut replays = Vec::new();
            for (from, overrides) in [
                (
                    "summarize",
                    json!({"checkpoint.gather_sources": "OVERRIDDEN NOTES"}),
                ),
                ("gather_sources", json!({})),
            ] {
                let replay = mcp.call(
                    "kitaru_executions_replay",
                    json!({"exec_id": original, "from_": from, "overrides": overrides}),
                );
                assert!(!replay.is_error, "{:?}", replay.texts);
                let replay = replay.structured.unwrap();
                assert_eq!(replay["execution"]["status"], "completed", "{replay}");
                replays.push(replay["execution"]["exec_id"].as_str().unwrap().to_owned());
            }
            let diff = mcp.call("kitaru_executions_diff", json!({"original": original}));
            assert!(!diff.is_error, "{:?}", diff.texts);
            (original, replays, diff.structured.unwrap()["diff"].clone())
        })
        .await
        .unwrap()
    };
    // The payload the view should show: newest replay first; the overridden
    // replay's summarize changed its value, the other replay's did not.
    let compared = diff["compared"].as_array().unwrap();
    let columns: Vec<&str> = compared
        .iter()
        .map(|replay| replay["replay_exec_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        columns,
        [replays[1].as_str(), replays[0].as_str()],
        "{diff}"
    );
    let cell = |replay: usize, name: &str| -> &Value {
        compared[replay]["checkpoints"]
            .as_array()
            .unwrap()
            .iter()
            .find(|checkpoint| checkpoint["name"] == name)
            .unwrap_or_else(|| panic!("no {name} in {diff}"))
    };
    assert_eq!(values_of(cell(1, "summarize")), "changed", "{diff}");
    assert_eq!(values_of(cell(0, "summarize")), "same", "{diff}");
    let mut names: Vec<&str> = Vec::new();
    for replay in compared {
        for checkpoint in replay["checkpoints"].as_array().unwrap() {
            let name = checkpoint["name"].as_str().unwrap();
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }

    for (sandbox, theme) in [(Sandbox::Direct, "light"), (Sandbox::Proxy, "dark")] {
        open(
            &mut browser,
            &host,
            sandbox,
            "kitaru_executions_get",
            json!({"exec_id": original}),
            theme,
        )
        .await;
        // Not compared until asked: an original's replays take a scan.
        assert_eq!(
            in_view(&mut browser, "!!document.getElementById('replay-diff')").await,
            false
        );
        in_view(
            &mut browser,
            "(() => { const b = document.getElementById('compare-replays'); b.focus(); b.click(); })()",
        )
        .await;
        check_matrix(&mut browser, sandbox, &diff, &names, None).await;
        // The keyboard's focus moves from the button to the comparison.
        assert_eq!(
            in_view(&mut browser, "document.activeElement.className").await,
            "diff-scroll",
            "{sandbox:?}"
        );
        let asked = browser
            .eval(
                "toolCalls.filter(c => c.name === 'kitaru_executions_diff').map(c => c.arguments)",
            )
            .await;
        assert_eq!(asked, json!([{"original": original}]), "{sandbox:?}");
        values_loaded(&mut browser).await;
        no_complaints(&mut browser, sandbox).await;
        browser
            .screenshot(&artifacts_dir().join(format!("execution-view-replays-{theme}.png")))
            .await;
    }

    // A replay: the comparison of its original, at once, its column marked.
    open(
        &mut browser,
        &host,
        Sandbox::Proxy,
        "kitaru_executions_get",
        json!({"exec_id": replays[0]}),
        "light",
    )
    .await;
    check_matrix(
        &mut browser,
        Sandbox::Proxy,
        &diff,
        &names,
        Some(&replays[0]),
    )
    .await;
    values_loaded(&mut browser).await;
    no_complaints(&mut browser, Sandbox::Proxy).await;
    browser
        .screenshot(&artifacts_dir().join("execution-view-replay-compared.png"))
        .await;
}

/// The matrix the view shows is `diff`: its columns the replays (`mine`
/// marked as the execution shown), its rows `names`, each cell's status,
/// duration change and values as the payload says; a table with headers,
/// no wider than the frame.
async fn check_matrix(
    browser: &mut Browser,
    sandbox: Sandbox,
    diff: &Value,
    names: &[&str],
    mine: Option<&str>,
) {
    let shown = browser
        .wait_for_in(
            VIEW_FRAME,
            "(() => { const t = document.getElementById('replay-diff'); if (!t) return null; \
             const cols = [...t.querySelectorAll('thead th[scope=col]')].slice(1)\
               .map(th => [th.dataset.replay, th.getAttribute('aria-current'), th.textContent]); \
             const rows = [...t.querySelectorAll('tbody tr')].map(tr => ({ \
               name: tr.querySelector('th[scope=row]').textContent, \
               cells: [...tr.querySelectorAll('td')].map(td => ({ status: td.dataset.status, \
                 values: td.dataset.values, ms: td.dataset.durationMs === undefined ? null : Number(td.dataset.durationMs), \
                 text: td.innerText })) })); \
             const region = t.closest('.diff-scroll'); \
             return { caption: t.caption && t.caption.textContent, cols, rows, \
               overflow: region.scrollWidth - region.clientWidth, \
               page: document.documentElement.scrollWidth - document.documentElement.clientWidth }; })()",
            Duration::from_secs(60),
        )
        .await;
    let compared = diff["compared"].as_array().unwrap();
    let cols = shown["cols"].as_array().unwrap();
    assert_eq!(cols.len(), compared.len(), "{sandbox:?} {shown}");
    for (col, replay) in cols.iter().zip(compared) {
        let id = replay["replay_exec_id"].as_str().unwrap();
        assert_eq!(col[0], id, "{shown}");
        assert!(col[2].as_str().unwrap().contains(&id[..8]), "{shown}");
        let marked = mine == Some(id);
        assert_eq!(col[1] == "true", marked, "{sandbox:?} {shown}");
    }
    assert!(
        shown["caption"]
            .as_str()
            .unwrap()
            .contains(&diff["original_exec_id"].as_str().unwrap()[..8]),
        "{shown}"
    );
    let rows = shown["rows"].as_array().unwrap();
    let row_names: Vec<&str> = rows
        .iter()
        .map(|row| row["name"].as_str().unwrap())
        .collect();
    assert_eq!(row_names, names, "{sandbox:?} {shown}");
    for row in rows {
        let name = row["name"].as_str().unwrap();
        for (cell, replay) in row["cells"].as_array().unwrap().iter().zip(compared) {
            let Some(expected) = replay["checkpoints"]
                .as_array()
                .unwrap()
                .iter()
                .find(|checkpoint| checkpoint["name"] == name)
            else {
                assert_eq!(cell["status"], "absent", "{name}: {cell}");
                continue;
            };
            let context = format!("{sandbox:?} {name} in {}: {cell}", replay["replay_exec_id"]);
            let values = values_of(expected);
            assert_eq!(cell["values"], values, "{context}");
            let text = cell["text"].as_str().unwrap();
            match values {
                "changed" => assert!(text.contains("changed"), "{context}"),
                "same" => assert!(text.contains("same values"), "{context}"),
                _ => {}
            }
            if expected["status_match"] == true {
                assert_eq!(cell["status"], "same", "{context}");
                assert!(text.contains("same status"), "{context}");
            } else {
                assert_ne!(cell["status"], "same", "{context}");
            }
            match expected["duration_delta_ms"].as_f64() {
                Some(ms) => {
                    assert!(
                        (cell["ms"].as_f64().unwrap() - ms).abs() < 1e-6,
                        "{context}"
                    );
                    let sign = if ms > 0.0 {
                        '+'
                    } else if ms < 0.0 {
                        '\u{2212}'
                    } else {
                        '\u{b1}'
                    };
                    assert!(text.contains(sign), "{context}");
                }
                None => assert_eq!(cell["ms"], Value::Null, "{context}"),
            }
        }
    }
    // Two replays fit the 464 px frame: nothing to scroll.
    assert_eq!(shown["overflow"], 0, "{sandbox:?} {shown}");
    assert_eq!(shown["page"], 0, "{sandbox:?} {shown}");
}
