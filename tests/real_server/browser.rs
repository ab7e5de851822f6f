//! A small headless-Chromium driver for tests of pages (Chrome DevTools
//! Protocol over a WebSocket), and a tiny HTTP server for the pages.
//!
//! [`Browser`] starts Chromium ([`kitaru_testkit::chromium`]: found, or
//! installed when it can be) headless with a fresh profile, attaches to its first page and drives it:
//! navigate, evaluate JavaScript (in the page, or in a frame of it found by
//! its URL, whatever its origin or sandbox), poll for a condition, emulate
//! the colour scheme, take screenshots. [`PageServer`] serves fixed pages
//! and directories and answers JSON POSTs through a closure, on `127.0.0.1`.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::path::{Component, Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long Chromium may take to start, and a CDP command to answer.
const START_TIMEOUT: Duration = Duration::from_secs(30);
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);
const LOAD_TIMEOUT: Duration = Duration::from_secs(30);

/// A headless Chromium, driven over CDP; killed on drop.
pub struct Browser {
    child: Child,
    /// Chromium's stderr lines so far, for failure messages.
    stderr: Arc<Mutex<Vec<String>>>,
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_id: u64,
    /// Events read while waiting for a command's reply.
    events: VecDeque<Value>,
    page_enabled: bool,
    /// The isolated world made in a frame for [`Browser::eval_in`]: (frame
    /// id, execution context id); made again when its document is gone.
    frame_world: Option<(String, i64)>,
    // Last: removed after the process is killed (fields drop in order, and
    // `Drop::drop` runs before any of them).
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts Chromium ([`kitaru_testkit::chromium`]) headless with a
    /// fresh `--user-data-dir` (a tempdir) and `--remote-debugging-port=0`,
    /// reads the "DevTools listening on ws://..." line from its stderr (30 s),
    /// then attaches to the first page target (`/json/list`, or `/json/new`
    /// when there is none yet), connects its websocket and sets the viewport
    /// to exactly `width` × `height` (Emulation.setDeviceMetricsOverride).
    ///
    /// Panics with how to install Chromium when there is none and it cannot
    /// be installed.
    pub async fn start(width: u32, height: u32) -> Browser {
        let program = kitaru_testkit::chromium().unwrap_or_else(|why| panic!("{why}"));
        let program = program.display().to_string();
        let profile = tempfile::tempdir().expect("a temporary Chromium profile directory");
        let mut child = Command::new(&program)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
                "--hide-scrollbars",
                "--mute-audio",
                // Every frame in the page's one renderer (a sandboxed or
                // cross-origin frame in a process of its own would need a
                // CDP session of its own), so `eval_in` reaches it.
                "--disable-site-isolation-trials",
                "--disable-features=IsolateSandboxedIframes,IsolateOrigins,site-per-process",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--window-size={width},{height}"))
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {program}: {e}"));

        // A thread drains stderr for the browser's whole life (a full pipe
        // would block Chromium), keeping the lines and handing over the
        // DevTools address once.
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let (address_tx, address_rx) = tokio::sync::oneshot::channel();
        {
            let pipe = child.stderr.take().expect("piped stderr");
            let stderr = stderr.clone();
            std::thread::spawn(move || {
                let mut address_tx = Some(address_tx);
                for line in BufReader::new(pipe).lines() {
                    let Ok(line) = line else { break };
                    if let Some(at) = line.find("ws://")
                        && line.contains("DevTools listening on")
                        && let Some(tx) = address_tx.take()
                    {
                        let _ = tx.send(line[at..].trim().to_owned());
                    }
                    stderr.lock().unwrap().push(line);
                }
            });
        }
        let address = match tokio::time::timeout(START_TIMEOUT, address_rx).await {
            Ok(Ok(address)) => address,
            outcome => {
                let _ = child.kill();
                let _ = child.wait();
                let why = if outcome.is_err() {
                    "in time"
                } else {
                    "before exiting"
                };
                panic!(
                    "{program} printed no \"DevTools listening on ws://...\" line {why}; its stderr:\n{}",
                    stderr.lock().unwrap().join("\n")
                );
            }
        };
        // ws://127.0.0.1:PORT/devtools/browser/ID
        let host_port = address
            .trim_start_matches("ws://")
            .split('/')
            .next()
            .unwrap_or_default()
            .to_owned();

        let page_ws = match find_page(&host_port).await {
            Ok(url) => url,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "no page target in {program} ({e}); its stderr:\n{}",
                    stderr.lock().unwrap().join("\n")
                );
            }
        };
        let (ws, _) = tokio_tungstenite::connect_async(page_ws.as_str())
            .await
            .unwrap_or_else(|e| panic!("cannot connect to the page's websocket {page_ws}: {e}"));

        let mut browser = Browser {
            child,
            stderr,
            ws,
            next_id: 0,
            events: VecDeque::new(),
            page_enabled: false,
            frame_world: None,
            _profile: profile,
        };
        // Headless Chromium's viewport is the window less its (invisible)
        // browser UI: make it exactly width × height, as are screenshots.
        browser
            .call(
                "Emulation.setDeviceMetricsOverride",
                json!({ "width": width, "height": height, "deviceScaleFactor": 1, "mobile": false }),
            )
            .await;
        browser
    }

    /// Navigates and waits for the load event (Page.enable + Page.navigate +
    /// Page.loadEventFired, timeout 30 s).
    pub async fn goto(&mut self, url: &str) {
        if !self.page_enabled {
            self.call("Page.enable", json!({})).await;
            self.page_enabled = true;
        }
        self.events
            .retain(|event| event["method"] != "Page.loadEventFired");
        let navigated = self.call("Page.navigate", json!({ "url": url })).await;
        if let Some(error) = navigated.get("errorText").and_then(Value::as_str) {
            panic!("navigating to {url} failed: {error}");
        }
        let deadline = Instant::now() + LOAD_TIMEOUT;
        loop {
            if let Some(at) = self
                .events
                .iter()
                .position(|event| event["method"] == "Page.loadEventFired")
            {
                self.events.remove(at);
                return;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.read()).await {
                Ok(message) => self.keep_event(message),
                Err(_) => panic!("{url} did not fire its load event within {LOAD_TIMEOUT:?}"),
            }
        }
    }

    /// Runtime.evaluate with awaitPromise and returnByValue; the value
    /// (`null` for `undefined`). A JS exception becomes a panic showing its
    /// text.
    pub async fn eval(&mut self, expression: &str) -> Value {
        match self.evaluate(expression).await {
            Ok(value) => value,
            Err(exception) => panic!("evaluating `{expression}` threw: {exception}"),
        }
    }

    /// Polls `expression` (every 100 ms) until it evaluates to a truthy
    /// value and returns that value, or panics after `timeout` showing the
    /// last value and the page's `document.body.innerText`. An exception
    /// counts as not yet (e.g. an iframe not loaded yet) and is shown as the
    /// last value.
    pub async fn wait_for(&mut self, expression: &str, timeout: Duration) -> Value {
        self.wait_for_at(None, expression, timeout).await
    }

    /// [`Browser::eval`] in the frame whose URL is `frame` (the first in
    /// document order; e.g. `about:srcdoc`), at any depth and of any origin
    /// or sandbox: in an isolated world of its own (the frame's DOM, not
    /// its script's globals). A frame not there (yet) panics.
    pub async fn eval_in(&mut self, frame: &str, expression: &str) -> Value {
        match self.evaluate_at(Some(frame), expression).await {
            Ok(value) => value,
            Err(exception) => panic!("evaluating `{expression}` in {frame} threw: {exception}"),
        }
    }

    /// [`Browser::wait_for`] in the frame whose URL is `frame` (see
    /// [`Browser::eval_in`]); a frame not there yet counts as not yet.
    pub async fn wait_for_in(&mut self, frame: &str, expression: &str, timeout: Duration) -> Value {
        self.wait_for_at(Some(frame), expression, timeout).await
    }

    async fn wait_for_at(
        &mut self,
        frame: Option<&str>,
        expression: &str,
        timeout: Duration,
    ) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let last = self.evaluate_at(frame, expression).await;
            if let Ok(value) = &last
                && truthy(value)
            {
                return value.clone();
            }
            if Instant::now() >= deadline {
                let body = self
                    .evaluate_at(
                        frame,
                        "document.body ? document.body.innerText : '(no body)'",
                    )
                    .await;
                let body = match body {
                    Ok(Value::String(text)) => text,
                    other => format!("{other:?}"),
                };
                let last = match last {
                    Ok(value) => value.to_string(),
                    Err(exception) => format!("exception: {exception}"),
                };
                panic!(
                    "`{expression}` was not truthy within {timeout:?} in {}; last value: {last}\n\
                     document.body.innerText:\n{body}",
                    frame.unwrap_or("the page")
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Emulation.setEmulatedMedia with prefers-color-scheme dark/light.
    pub async fn color_scheme(&mut self, dark: bool) {
        let value = if dark { "dark" } else { "light" };
        self.call(
            "Emulation.setEmulatedMedia",
            json!({ "media": "", "features": [{ "name": "prefers-color-scheme", "value": value }] }),
        )
        .await;
    }

    /// Page.captureScreenshot (png) written to `path` (parent dirs created).
    pub async fn screenshot(&mut self, path: &Path) {
        let shot = self
            .call("Page.captureScreenshot", json!({ "format": "png" }))
            .await;
        let data = shot["data"]
            .as_str()
            .unwrap_or_else(|| panic!("Page.captureScreenshot answered no data: {shot}"));
        let png = base64_decode(data);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .unwrap_or_else(|e| panic!("cannot create {}: {e}", parent.display()));
        }
        std::fs::write(path, png)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    }

    /// Runtime.evaluate in the page: the value, or the exception's text.
    async fn evaluate(&mut self, expression: &str) -> Result<Value, String> {
        self.evaluate_at(None, expression).await
    }

    /// Runtime.evaluate in the page (`None`) or in an isolated world of the
    /// frame whose URL is `frame`: the value, or the exception's text (also
    /// when there is no such frame).
    async fn evaluate_at(
        &mut self,
        frame: Option<&str>,
        expression: &str,
    ) -> Result<Value, String> {
        self.evaluate_once(frame, expression, true).await
    }

    /// [`Browser::evaluate_at`]; with `retry`, once more in a new world
    /// when the frame's world was gone.
    async fn evaluate_once(
        &mut self,
        frame: Option<&str>,
        expression: &str,
        retry: bool,
    ) -> Result<Value, String> {
        let mut params =
            json!({ "expression": expression, "awaitPromise": true, "returnByValue": true });
        if let Some(frame) = frame {
            let frame_id = self.frame_id(frame).await?;
            let context = match &self.frame_world {
                Some((id, context)) if *id == frame_id => *context,
                _ => {
                    let world = self
                        .try_call(
                            "Page.createIsolatedWorld",
                            json!({ "frameId": frame_id, "worldName": "kitaru-test" }),
                        )
                        .await
                        .map_err(|error| format!("no world in {frame}: {error}"))?;
                    let context = world["executionContextId"].as_i64().unwrap_or_default();
                    self.frame_world = Some((frame_id, context));
                    context
                }
            };
            params["contextId"] = json!(context);
        }
        let mut answer = match self.try_call("Runtime.evaluate", params).await {
            Ok(answer) => answer,
            Err(error) => {
                // The frame's document (and its world with it) is gone: a
                // new one next time.
                let stale = self.frame_world.take().is_some();
                if stale && retry {
                    return Box::pin(self.evaluate_once(frame, expression, false)).await;
                }
                return Err(format!("Runtime.evaluate failed: {error}"));
            }
        };
        if let Some(details) = answer.get("exceptionDetails") {
            let text = details["exception"]["description"]
                .as_str()
                .or_else(|| details["text"].as_str())
                .map(str::to_owned)
                .unwrap_or_else(|| details.to_string());
            return Err(text);
        }
        Ok(answer["result"]
            .get_mut("value")
            .map(Value::take)
            .unwrap_or(Value::Null))
    }

    /// The id of the first frame (depth first, in document order) whose URL
    /// is `url`.
    async fn frame_id(&mut self, url: &str) -> Result<String, String> {
        fn find(tree: &Value, url: &str) -> Option<String> {
            if tree["frame"]["url"] == url {
                return tree["frame"]["id"].as_str().map(str::to_owned);
            }
            tree["childFrames"]
                .as_array()
                .into_iter()
                .flatten()
                .find_map(|child| find(child, url))
        }
        let tree = self.call("Page.getFrameTree", json!({})).await;
        find(&tree["frameTree"], url).ok_or_else(|| format!("no frame {url} (yet)"))
    }

    /// One CDP command: its `result`; an `error` reply panics. Events read
    /// meanwhile are kept in `events`.
    async fn call(&mut self, method: &str, params: Value) -> Value {
        match self.try_call(method, params).await {
            Ok(result) => result,
            Err(error) => panic!("{method} failed: {error}"),
        }
    }

    /// One CDP command: its `result`, or its `error`. Events read meanwhile
    /// are kept in `events`.
    async fn try_call(&mut self, method: &str, params: Value) -> Result<Value, Value> {
        self.next_id += 1;
        let id = self.next_id;
        let request = json!({ "id": id, "method": method, "params": params });
        self.ws
            .send(Message::text(request.to_string()))
            .await
            .unwrap_or_else(|e| panic!("cannot send {method} to Chromium: {e}"));
        let deadline = Instant::now() + COMMAND_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(mut message) = tokio::time::timeout(left, self.read()).await else {
                panic!("Chromium did not answer {method} within {COMMAND_TIMEOUT:?}");
            };
            if message["id"] == id {
                if let Some(error) = message.get_mut("error") {
                    return Err(error.take());
                }
                return Ok(message["result"].take());
            }
            self.keep_event(message);
        }
    }

    fn keep_event(&mut self, message: Value) {
        if message.get("method").is_some() {
            self.events.push_back(message);
        }
    }

    /// The next JSON message from the page's websocket.
    async fn read(&mut self) -> Value {
        loop {
            let message = match self.ws.next().await {
                Some(Ok(message)) => message,
                Some(Err(e)) => panic!("Chromium's websocket failed: {e}{}", self.stderr_tail()),
                None => panic!("Chromium closed its websocket{}", self.stderr_tail()),
            };
            let text = match message {
                Message::Text(text) => text.to_string(),
                Message::Binary(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                Message::Close(_) => panic!("Chromium closed its websocket{}", self.stderr_tail()),
                _ => continue,
            };
            return serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("Chromium sent no JSON ({e}): {text}"));
        }
    }

    fn stderr_tail(&self) -> String {
        let lines = self.stderr.lock().unwrap();
        let tail = &lines[lines.len().saturating_sub(20)..];
        format!("; Chromium's stderr ends:\n{}", tail.join("\n"))
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The websocket URL of the first page target at `host_port`, creating one
/// when there is none after a few tries.
async fn find_page(host_port: &str) -> Result<String, String> {
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| e.to_string())?;
    let list = format!("http://{host_port}/json/list");
    for attempt in 0..20 {
        let targets: Value = client
            .get(&list)
            .send()
            .await
            .map_err(|e| format!("GET {list}: {e}"))?
            .json()
            .await
            .map_err(|e| format!("GET {list}: {e}"))?;
        let page =
            targets.as_array().into_iter().flatten().find(|target| {
                target["type"] == "page" && target["webSocketDebuggerUrl"].is_string()
            });
        if let Some(page) = page {
            return Ok(page["webSocketDebuggerUrl"].as_str().unwrap().to_owned());
        }
        if attempt == 5 {
            // Chromium wants PUT for /json/new.
            let new = format!("http://{host_port}/json/new?about:blank");
            let target: Value = client
                .put(&new)
                .send()
                .await
                .map_err(|e| format!("PUT {new}: {e}"))?
                .json()
                .await
                .map_err(|e| format!("PUT {new}: {e}"))?;
            if let Some(url) = target["webSocketDebuggerUrl"].as_str() {
                return Ok(url.to_owned());
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!("{list} listed no page"))
}

/// JavaScript's truthiness of a JSON value.
fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|n| n != 0.0 && !n.is_nan()),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

/// Standard base64 (with padding, as CDP sends binary data).
fn base64_decode(text: &str) -> Vec<u8> {
    fn sextet(c: u8) -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {:?}", char::from(c)),
        }
    }
    let bytes: Vec<u8> = text
        .bytes()
        .filter(|c| !c.is_ascii_whitespace() && *c != b'=')
        .collect();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &c)| n | (sextet(c) << (18 - 6 * i)));
        let [_, a, b, c] = n.to_be_bytes();
        out.extend_from_slice(&[a, b, c][..chunk.len() - 1]);
    }
    out
}

/// What a [`PageServer`] calls for every POST: (path, JSON body) → the JSON
/// answer. Write it as `|path, body| Box::pin(async move { ... })`.
pub type PostHandler = Arc<dyn Fn(String, Value) -> BoxFuture<'static, Value> + Send + Sync>;

/// Serves fixed pages, directories and one JSON POST endpoint on
/// 127.0.0.1:<free port> (each server its own origin); stops on drop.
pub struct PageServer {
    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub url: String,
    task: tokio::task::JoinHandle<()>,
}

impl PageServer {
    /// `pages`: (path, content type, body), e.g. `("/host.html", "text/html",
    /// ...)`; a GET of any other path is a 404. `post`: called for every POST
    /// (any path) with (path, JSON body; `null` when empty) and returns the
    /// JSON answer (200). HTTP/1.1, one request per connection.
    pub async fn start(
        pages: Vec<(String, String, String)>,
        post: impl Fn(String, Value) -> BoxFuture<'static, Value> + Send + Sync + 'static,
    ) -> PageServer {
        PageServer::start_with_files(pages, Vec::new(), post).await
    }

    /// [`PageServer::start`], also serving each directory `dir` of `mounts`
    /// (prefix, dir) under `prefix` (e.g. `/node_modules/`): a GET of
    /// `prefix` + a relative path is that file (no `..`), its content type
    /// from its extension (`.js` and `.mjs` as JavaScript, for ES modules).
    pub async fn start_with_files(
        pages: Vec<(String, String, String)>,
        mounts: Vec<(String, PathBuf)>,
        post: impl Fn(String, Value) -> BoxFuture<'static, Value> + Send + Sync + 'static,
    ) -> PageServer {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port on 127.0.0.1");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let pages = Arc::new(pages);
        let mounts = Arc::new(mounts);
        let post: PostHandler = Arc::new(post);
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (pages, mounts, post) = (pages.clone(), mounts.clone(), post.clone());
                tokio::spawn(async move {
                    let _ = serve(stream, &pages, &mounts, &post).await;
                });
            }
        });
        PageServer { url, task }
    }
}

impl Drop for PageServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Answers one request on `stream`.
async fn serve(
    mut stream: TcpStream,
    pages: &[(String, String, String)],
    mounts: &[(String, PathBuf)],
    post: &PostHandler,
) -> std::io::Result<()> {
    let mut buffer = Vec::new();
    let head_end = loop {
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buffer.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let mut request_line = head.lines().next().unwrap_or_default().split(' ');
    let method = request_line.next().unwrap_or_default().to_owned();
    let target = request_line.next().unwrap_or_default();
    let path = target
        .split(['?', '#'])
        .next()
        .unwrap_or_default()
        .to_owned();
    let length: usize = head
        .lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse().ok())
        .unwrap_or(0);
    let mut body = buffer[head_end..].to_vec();
    while body.len() < length {
        let mut chunk = vec![0u8; length - body.len()];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }

    let (status, content_type, answer): (u16, String, Vec<u8>) = match method.as_str() {
        "POST" => match serde_json::from_slice::<Value>(&body) {
            Ok(json) => (
                200,
                "application/json".to_owned(),
                post(path, json).await.to_string().into_bytes(),
            ),
            Err(_) if body.iter().all(u8::is_ascii_whitespace) => (
                200,
                "application/json".to_owned(),
                post(path, Value::Null).await.to_string().into_bytes(),
            ),
            Err(e) => (
                400,
                "text/plain".to_owned(),
                format!("not JSON: {e}").into_bytes(),
            ),
        },
        "GET" | "HEAD" => match pages.iter().find(|(page, _, _)| *page == path) {
            Some((_, content_type, body)) => (200, content_type.clone(), body.clone().into_bytes()),
            None => match mounted_file(mounts, &path) {
                Some((file, content_type)) => match tokio::fs::read(&file).await {
                    Ok(bytes) => (200, content_type.to_owned(), bytes),
                    Err(_) => (
                        404,
                        "text/plain".to_owned(),
                        format!("no file {path}").into_bytes(),
                    ),
                },
                None => (
                    404,
                    "text/plain".to_owned(),
                    format!("no page {path}").into_bytes(),
                ),
            },
        },
        _ => (
            405,
            "text/plain".to_owned(),
            format!("no {method} here").into_bytes(),
        ),
    };
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        _ => "Method Not Allowed",
    };
    let mut response = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nConnection: close\r\n\r\n",
        answer.len()
    )
    .into_bytes();
    if method != "HEAD" {
        response.extend_from_slice(&answer);
    }
    stream.write_all(&response).await?;
    stream.shutdown().await
}

/// The file a GET of `path` names under one of `mounts`, and its content
/// type; `None` outside them or for a path with `..` (or any part that is
/// not a plain name).
fn mounted_file(mounts: &[(String, PathBuf)], path: &str) -> Option<(PathBuf, &'static str)> {
    let (prefix, dir) = mounts
        .iter()
        .find(|(prefix, _)| path.starts_with(prefix.as_str()))?;
    let relative = Path::new(&path[prefix.len()..]);
    if !relative
        .components()
        .all(|part| matches!(part, Component::Normal(_)))
    {
        return None;
    }
    let content_type = match relative.extension().and_then(|e| e.to_str()) {
        Some("js" | "mjs" | "cjs") => "text/javascript; charset=utf-8",
        Some("json" | "map") => "application/json",
        Some("html") => "text/html; charset=utf-8",
        Some("css") => "text/css",
        _ => "application/octet-stream",
    };
    Some((dir.join(relative), content_type))
}

const HOST_PAGE: &str = r#"<!doctype html>
<html>
<head>
<meta charset="utf-8">
<title>host</title>
<style>
  body { font-family: sans-serif; background: #fff; color: #111; }
  @media (prefers-color-scheme: dark) { body { background: #111; color: #eee; } }
  iframe { width: 360px; height: 120px; border: 1px solid #888; }
</style>
</head>
<body>
<h1>Host</h1>
<p id="from-child">waiting for the child</p>
<iframe src="/child.html"></iframe>
<script>
  window.addEventListener('message', (event) => {
    if (event.origin !== location.origin) return;
    document.getElementById('from-child').textContent = String(event.data);
  });
</script>
</body>
</html>
"#;

const CHILD_PAGE: &str = r#"<!doctype html>
<html>
<head><meta charset="utf-8"><title>child</title></head>
<body>
<button type="button">Ask the server</button>
<p id="answer"></p>
<script>
  window.addEventListener('load', () => parent.postMessage('hello from the child', location.origin));
  document.querySelector('button').addEventListener('click', async () => {
    const response = await fetch('/echo', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ n: 41 }),
    });
    const json = await response.json();
    const text = 'echo: ' + json.answer + ' from ' + json.path;
    document.getElementById('answer').textContent = text;
    parent.postMessage(text, location.origin);
  });
</script>
</body>
</html>
"#;

#[tokio::test]
async fn browser_drives_a_page_with_an_iframe_and_post_message() {
    let started = Instant::now();
    let posts = Arc::new(Mutex::new(Vec::new()));
    let server = {
        let posts = posts.clone();
        PageServer::start(
            vec![
                (
                    "/host.html".into(),
                    "text/html; charset=utf-8".into(),
                    HOST_PAGE.into(),
                ),
                (
                    "/child.html".into(),
                    "text/html; charset=utf-8".into(),
                    CHILD_PAGE.into(),
                ),
            ],
            move |path, body| {
                posts.lock().unwrap().push((path.clone(), body.clone()));
                Box::pin(async move {
                    json!({ "path": path, "answer": body["n"].as_i64().unwrap_or(0) + 1 })
                })
            },
        )
        .await
    };

    let mut browser = Browser::start(800, 600).await;
    browser.goto(&format!("{}/host.html", server.url)).await;
    assert_eq!(browser.eval("document.title").await, "host");
    assert_eq!(browser.eval("Promise.resolve(6 * 7)").await, 42);

    let wait = Duration::from_secs(15);
    browser
        .wait_for(
            "document.getElementById('from-child').textContent === 'hello from the child'",
            wait,
        )
        .await;
    browser
        .eval("document.querySelector('iframe').contentDocument.querySelector('button').click()")
        .await;
    let echoed = browser
        .wait_for(
            "document.getElementById('from-child').textContent.startsWith('echo:') \
             && document.getElementById('from-child').textContent",
            wait,
        )
        .await;
    assert_eq!(echoed, "echo: 42 from /echo");
    let in_child = browser
        .eval(
            "document.querySelector('iframe').contentDocument.getElementById('answer').textContent",
        )
        .await;
    assert_eq!(in_child, "echo: 42 from /echo");
    assert_eq!(
        *posts.lock().unwrap(),
        vec![("/echo".to_owned(), json!({ "n": 41 }))]
    );

    let artifacts = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-artifacts");
    for dark in [false, true] {
        browser.color_scheme(dark).await;
        let matches = browser
            .eval("matchMedia('(prefers-color-scheme: dark)').matches")
            .await;
        assert_eq!(matches, dark);
        let background = browser
            .eval("getComputedStyle(document.body).backgroundColor")
            .await;
        let expected = if dark {
            "rgb(17, 17, 17)"
        } else {
            "rgb(255, 255, 255)"
        };
        assert_eq!(background, expected);
        let path = artifacts.join(format!(
            "browser-probe-{}.png",
            if dark { "dark" } else { "light" }
        ));
        browser.screenshot(&path).await;
        let png = std::fs::read(&path).unwrap();
        assert!(
            png.starts_with(b"\x89PNG\r\n\x1a\n"),
            "{} is no PNG",
            path.display()
        );
        // IHDR: width and height, big-endian, after the signature and the
        // chunk's length and type.
        assert_eq!(
            &png[16..24],
            [800u32.to_be_bytes(), 600u32.to_be_bytes()].concat()
        );
    }

    // An exception comes back as its text (which `eval` panics with).
    let thrown = browser
        .evaluate("(() => { throw new Error('on purpose') })()")
        .await
        .expect_err("a throwing expression is an exception");
    assert!(thrown.contains("on purpose"), "{thrown}");
    drop(browser);
    eprintln!("browser probe took {:?}", started.elapsed());
}
