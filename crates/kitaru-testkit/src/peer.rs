//! A minimal MCP client over stdio that tolerates noise on the server's
//! stdout, so the reference server (which prints log lines between protocol
//! messages) and ours can be driven the same way.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use serde_json::{Value, json};

/// Answers a request of the server with its `result`.
type Responder = Box<dyn FnMut(&Value) -> Value + Send>;

/// One MCP session with a server process.
pub struct StdioPeer {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    next_id: u64,
    /// Lines on stdout that were not JSON-RPC messages.
    pub noise: Vec<String>,
    /// Notifications received while waiting for answers, not yet taken.
    notifications: Vec<Value>,
    /// Answers the server's requests (elicitation, …) with a result; without
    /// one they are left unanswered.
    responder: Option<Responder>,
    /// The server's requests received so far.
    pub server_requests: Vec<Value>,
}

/// What a `tools/call` answered.
#[derive(Debug, Clone)]
pub struct ToolAnswer {
    /// `isError`.
    pub is_error: bool,
    /// `structuredContent`, if any.
    pub structured: Option<Value>,
    /// The text of the content items.
    pub texts: Vec<String>,
    /// The kind of a failure (`_meta["kitaru/error_kind"]`), if the server
    /// named one.
    pub error_kind: Option<String>,
    /// A failure's details (`_meta["kitaru/error"]`: kind, message,
    /// argument, allowed values), if any.
    pub error: Option<Value>,
}

impl StdioPeer {
    /// Starts `command` and completes the MCP handshake (protocol 2025-06-18).
    pub fn start(command: Command) -> Self {
        let mut peer = Self::spawn(command);
        peer.initialize("2025-06-18");
        peer
    }

    /// Performs the `initialize` handshake asking for `protocol_version`, and
    /// returns the server's answer.
    pub fn initialize(&mut self, protocol_version: &str) -> Value {
        self.initialize_with(protocol_version, json!({}))
    }

    /// [`initialize`](Self::initialize), declaring `capabilities`.
    pub fn initialize_with(&mut self, protocol_version: &str, capabilities: Value) -> Value {
        let answer = self.request(
            "initialize",
            json!({"protocolVersion": protocol_version, "capabilities": capabilities, "clientInfo": {"name": "parity", "version": "0"}}),
        );
        self.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        answer
    }

    /// Starts `command` without any handshake.
    pub fn spawn(mut command: Command) -> Self {
        command.stderr(Stdio::null());
        Self::spawn_keeping_stderr(command)
    }

    /// Starts `command` without any handshake, its stderr as the command
    /// sets it.
    pub fn spawn_keeping_stderr(mut command: Command) -> Self {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the MCP server process");
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Self {
            child,
            stdin,
            stdout,
            next_id: 1,
            noise: Vec::new(),
            notifications: Vec::new(),
            responder: None,
            server_requests: Vec::new(),
        }
    }

    /// Answers each request the server sends with what `responder` returns
    /// for it (the `result`).
    pub fn answer_requests_with(
        &mut self,
        responder: impl FnMut(&Value) -> Value + Send + 'static,
    ) {
        self.responder = Some(Box::new(responder));
    }

    fn send(&mut self, message: &Value) {
        writeln!(self.stdin, "{message}").expect("write to the server");
        self.stdin.flush().unwrap();
    }

    /// Writes raw bytes and a newline, as a (possibly broken) client would.
    pub fn send_line(&mut self, line: &[u8]) {
        self.stdin.write_all(line).expect("write to the server");
        self.stdin.write_all(b"\n").unwrap();
        self.stdin.flush().unwrap();
    }

    /// The next JSON message the server writes (notifications included).
    pub fn next_message(&mut self) -> Value {
        self.read_message().expect("the server closed stdout")
    }

    /// The next JSON message on stdout, `None` once stdout is closed; lines
    /// that are not JSON are kept in `noise`.
    fn read_message(&mut self) -> Option<Value> {
        loop {
            let mut line = String::new();
            match self.stdout.read_line(&mut line) {
                Ok(0) | Err(_) => return None,
                Ok(_) => {}
            }
            match serde_json::from_str::<Value>(line.trim()) {
                Ok(message) => return Some(message),
                Err(_) => self.noise.push(line.trim_end().to_owned()),
            }
        }
    }

    /// Whether `message` is a notification (kept for
    /// [`wait_for_notification`](Self::wait_for_notification) when it comes
    /// while something else is awaited).
    fn is_notification(message: &Value) -> bool {
        message.get("id").is_none() && message.get("method").is_some()
    }

    /// The server process's id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server's stderr, when it was piped.
    pub fn take_stderr(&mut self) -> Option<std::process::ChildStderr> {
        self.child.stderr.take()
    }

    /// Sends a request and returns its `result` (panics on a JSON-RPC error).
    pub fn request(&mut self, method: &str, params: Value) -> Value {
        match self.try_request(method, params) {
            Ok(result) => result,
            Err(error) => panic!("{method} failed with a JSON-RPC error: {error}"),
        }
    }

    /// Sends a request: its `result`, or its JSON-RPC `error`.
    pub fn try_request(&mut self, method: &str, params: Value) -> Result<Value, Value> {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        loop {
            let message = self.read_message().unwrap_or_else(|| {
                panic!("the server closed stdout while we waited for answer {id}")
            });
            if Self::is_notification(&message) {
                self.notifications.push(message);
                continue;
            }
            if message.get("method").is_some() {
                self.server_requests.push(message.clone());
                if let Some(responder) = self.responder.as_mut() {
                    let result = responder(&message);
                    self.send(&json!({"jsonrpc": "2.0", "id": message["id"], "result": result}));
                }
                continue;
            }
            if message.get("id") == Some(&json!(id)) {
                if let Some(error) = message.get("error") {
                    return Err(error.clone());
                }
                return Ok(message["result"].clone());
            }
        }
    }

    /// The notifications `method` received so far (while waiting for
    /// answers), in order; they are taken.
    pub fn take_notifications(&mut self, method: &str) -> Vec<Value> {
        let (taken, kept) = std::mem::take(&mut self.notifications)
            .into_iter()
            .partition(|n| n["method"] == method);
        self.notifications = kept;
        taken
    }

    /// Waits up to `timeout` for a notification `method` (one that came
    /// while waiting for an answer counts too) and returns it; `None` when
    /// none came in time (the server is stopped then).
    pub fn wait_for_notification(
        &mut self,
        method: &str,
        timeout: std::time::Duration,
    ) -> Option<Value> {
        if let Some(index) = self
            .notifications
            .iter()
            .position(|n| n["method"] == method)
        {
            return Some(self.notifications.remove(index));
        }
        // Stopping the server unblocks the read below: stdout closes with it.
        let deadline = Watchdog::start(self.child.id(), timeout);
        let found = loop {
            let Some(message) = self.read_message() else {
                break None;
            };
            if message["method"] == method {
                break Some(message);
            }
            if Self::is_notification(&message) {
                self.notifications.push(message);
            }
        };
        deadline.disarm();
        found
    }

    /// Calls a tool.
    pub fn call(&mut self, tool: &str, arguments: Value) -> ToolAnswer {
        let result = self.request("tools/call", json!({"name": tool, "arguments": arguments}));
        ToolAnswer {
            is_error: result["isError"].as_bool().unwrap_or(false),
            structured: result.get("structuredContent").cloned(),
            texts: result["content"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|item| item["text"].as_str().map(str::to_owned))
                .collect(),
            error_kind: result["_meta"]["kitaru/error_kind"]
                .as_str()
                .map(str::to_owned),
            error: result["_meta"].get("kitaru/error").cloned(),
        }
    }

    /// The `tools/list` answer's tools.
    pub fn tools(&mut self) -> Vec<Value> {
        self.request("tools/list", json!({}))["tools"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

impl Drop for StdioPeer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Stops a process if it is not disarmed in time, so that a test waiting
/// for an answer that never comes fails instead of hanging.
pub struct Watchdog(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl Watchdog {
    /// Stops process `pid` after `limit` unless disarmed before.
    pub fn start(pid: u32, limit: std::time::Duration) -> Self {
        let disarmed = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = std::sync::Arc::clone(&disarmed);
        std::thread::spawn(move || {
            let deadline = std::time::Instant::now() + limit;
            while std::time::Instant::now() < deadline {
                if flag.load(std::sync::atomic::Ordering::SeqCst) {
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            let _ = std::process::Command::new("kill")
                .arg(pid.to_string())
                .status();
        });
        Self(disarmed)
    }

    /// The process finished in time: leave it be.
    pub fn disarm(&self) {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}
