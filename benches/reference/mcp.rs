//! Driving one MCP server over stdio, as an assistant would: the timing
//! pass (spawn → `initialize`, `tools/list`, the tool calls, peak RSS) and
//! the counting pass (the same calls through the counting proxy).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::Options;
use crate::cases::Case;
use crate::proxy::CountingProxy;
use kitaru_testkit::TestServer;
use kitaru_testkit::{StdioPeer, Watchdog};

/// The protocol version both servers are asked for.
const PROTOCOL: &str = "2025-06-18";

/// A case stops being repeated once its calls took this long (at least 3
/// are made): the reference's slowest calls would stretch the run to hours.
const CASE_BUDGET: Duration = Duration::from_secs(30);

/// How long one server may take for a whole pass before it is stopped (and
/// the benchmark with it).
const PASS_LIMIT: Duration = Duration::from_secs(30 * 60);

/// Which of the two servers.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Ours,
    Reference,
}

impl Role {
    pub fn label(self) -> &'static str {
        match self {
            Self::Ours => "ours",
            Self::Reference => "reference",
        }
    }
}

/// How to start one of the two servers.
pub struct Launcher {
    pub role: Role,
    program: PathBuf,
}

impl Launcher {
    pub fn new(role: Role, program: &Path) -> Self {
        assert!(
            program.is_file(),
            "{}: no MCP server at {}",
            role.label(),
            program.display()
        );
        Self {
            role,
            program: program.to_owned(),
        }
    }

    /// The server started as the tests start it: the Kitaru server's CLI
    /// environment, the seeded project as working directory; with
    /// `config_dir`, that CLI config instead.
    fn command(&self, server: &TestServer, config_dir: Option<&Path>) -> Command {
        let program = self.program.to_str().expect("a UTF-8 path");
        let mut command = server.command(program);
        if let Some(config_dir) = config_dir {
            command.env("ZENML_CONFIG_PATH", config_dir);
        }
        command
    }
}

/// What the timing pass measured of one server.
pub struct Timings {
    /// Spawn → `initialize` answered, per spawn.
    pub initialize: Vec<Duration>,
    pub initialize_bytes: usize,
    pub tools_list: Vec<Duration>,
    pub tools_list_bytes: usize,
    /// Per case, in the cases' order.
    pub calls: Vec<Calls>,
    /// VmHWM of the session that made the calls, just before it closed.
    pub peak_rss_kib: u64,
}

/// The timed calls of one case.
pub struct Calls {
    pub times: Vec<Duration>,
    /// What was timed right after each call, if anything (the floor).
    pub paired: Vec<Duration>,
    /// The size of the `result` as compact JSON.
    pub bytes: usize,
    /// The error text, when the tool answered with an error.
    pub error: Option<String>,
}

/// Something to time right after each call of a case, so that both see the
/// same load on the machine: the floor, beside our calls.
pub type Paired<'a> = &'a dyn Fn(&Case) -> Duration;

/// The timing pass: `spawns` spawns, the last of which stays for the
/// calls: `calls` times `tools/list` and each case (after one call to warm
/// up), each call followed by `paired` if given.
pub fn time(
    launcher: &Launcher,
    server: &TestServer,
    cases: &[Case],
    options: &Options,
    paired: Option<Paired>,
) -> Timings {
    let mut initialize = Vec::with_capacity(options.spawns);
    let mut session = None;
    for _ in 0..options.spawns {
        let started = Instant::now();
        let mut peer = StdioPeer::spawn(launcher.command(server, None));
        let answer = peer.initialize(PROTOCOL);
        initialize.push(started.elapsed());
        // The previous session is stopped here, outside the timed part.
        session = Some((peer, answer));
    }
    let (mut peer, initialize_answer) = session.expect("at least one spawn");
    let watchdog = Watchdog::start(peer.pid(), PASS_LIMIT);

    let mut tools_list = Vec::with_capacity(options.calls);
    let mut tools_list_answer = Value::Null;
    for _ in 0..options.calls {
        let started = Instant::now();
        tools_list_answer = peer.request("tools/list", json!({}));
        tools_list.push(started.elapsed());
    }
    let calls = cases
        .iter()
        .map(|case| time_case(&mut peer, case, options.calls, paired))
        .collect();
    let peak_rss_kib = peak_rss_kib(peer.pid());
    watchdog.disarm();
    Timings {
        initialize,
        initialize_bytes: json_size(&initialize_answer),
        tools_list,
        tools_list_bytes: json_size(&tools_list_answer),
        calls,
        peak_rss_kib,
    }
}

fn time_case(peer: &mut StdioPeer, case: &Case, calls: usize, paired: Option<Paired>) -> Calls {
    call(peer, case);
    let mut times = Vec::with_capacity(calls);
    let mut paired_times = Vec::new();
    let mut result = Value::Null;
    let budget = Instant::now();
    while times.len() < calls && (times.len() < 3 || budget.elapsed() < CASE_BUDGET) {
        let started = Instant::now();
        result = call(peer, case);
        times.push(started.elapsed());
        paired_times.extend(paired.map(|paired| paired(case)));
    }
    let error = (result["isError"] == true).then(|| {
        result["content"][0]["text"]
            .as_str()
            .unwrap_or("(no text)")
            .to_owned()
    });
    Calls {
        times,
        paired: paired_times,
        bytes: json_size(&result),
        error,
    }
}

/// Calls the case's tool; the `result`.
fn call(peer: &mut StdioPeer, case: &Case) -> Value {
    peer.request(
        "tools/call",
        json!({"name": case.tool, "arguments": case.arguments}),
    )
}

fn json_size(value: &Value) -> usize {
    serde_json::to_vec(value).map_or(0, |bytes| bytes.len())
}

/// The process's peak resident set (VmHWM), in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_else(|e| panic!("read /proc/{pid}/status: {e}"));
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("/proc/{pid}/status has no VmHWM"))
}

/// The requests one server sent to the Kitaru server, as `METHOD /path?query`.
pub struct Requests {
    /// From spawn through `initialize` and `tools/list`.
    pub startup: Vec<String>,
    /// A first round of every case: what connecting adds shows here.
    pub first_round: Vec<String>,
    /// A second round, per case.
    pub calls: Vec<Vec<String>>,
}

/// The counting pass: the server, pointed at `proxy`, initialises, lists
/// its tools and makes every call twice; the second round is the one
/// counted per call.
pub fn count(
    launcher: &Launcher,
    server: &TestServer,
    cases: &[Case],
    proxy: &CountingProxy,
) -> Requests {
    let config_dir = proxy.cli_config(server);
    let mut peer = StdioPeer::spawn(launcher.command(server, Some(config_dir.path())));
    let watchdog = Watchdog::start(peer.pid(), PASS_LIMIT);
    peer.initialize(PROTOCOL);
    peer.tools();
    let startup = proxy.take();
    for case in cases {
        call(&mut peer, case);
    }
    let first_round = proxy.take();
    let calls = cases
        .iter()
        .map(|case| {
            call(&mut peer, case);
            proxy.take()
        })
        .collect();
    watchdog.disarm();
    Requests {
        startup,
        first_round,
        calls,
    }
}
