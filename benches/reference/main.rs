//! `cargo bench --bench reference`: our `kitaru-mcp` and the Python
//! reference side by side, against one real local Kitaru server, at 10 and
//! at 1,000 executions (docs/benchmark.md).
//!
//! For each size it times both servers over stdio (spawn → `initialize`,
//! `tools/list`, seven tool calls), reads their peak RSS, times the bare
//! REST requests each call needs (the floor), and in a separate pass counts
//! the requests each server sends through a counting proxy. The results go
//! to stdout and to `target/bench-reference.{md,json}`.
//!
//! Settings (environment):
//! - `KITARU_BENCH_SERVER_JSON`: use the server this `server.json`
//!   describes instead of starting a fresh one (clones are added to it);
//! - `KITARU_BENCH_MCP_BIN`: our binary (default: the one `cargo bench`
//!   built with the bench profile, which inherits `[profile.release]`);
//! - `KITARU_BENCH_SIZES` (`10,1000`), `KITARU_BENCH_SPAWNS` (5),
//!   `KITARU_BENCH_CALLS` (10): executions, spawns and calls per measure.

#![forbid(unsafe_code)]

mod cases;
mod floor;
mod harness;
mod mcp;
mod proxy;
mod report;
mod seed;

use std::path::{Path, PathBuf};
use std::time::Instant;

use floor::Rest;
use mcp::{Launcher, Role};
use report::{Report, SizeReport};

/// What the environment asks of this run.
struct Options {
    server_json: Option<PathBuf>,
    our_binary: PathBuf,
    sizes: Vec<usize>,
    spawns: usize,
    calls: usize,
}

impl Options {
    fn from_env() -> Self {
        Self {
            server_json: std::env::var_os("KITARU_BENCH_SERVER_JSON").map(PathBuf::from),
            our_binary: std::env::var_os("KITARU_BENCH_MCP_BIN").map_or_else(
                || PathBuf::from(env!("CARGO_BIN_EXE_kitaru-mcp")),
                PathBuf::from,
            ),
            sizes: std::env::var("KITARU_BENCH_SIZES")
                .unwrap_or_else(|_| "10,1000".into())
                .split(',')
                .map(|size| {
                    size.trim()
                        .parse()
                        .expect("KITARU_BENCH_SIZES: numbers, e.g. 10,1000")
                })
                .collect(),
            spawns: count_setting("KITARU_BENCH_SPAWNS", 5),
            calls: count_setting("KITARU_BENCH_CALLS", 10),
        }
    }
}

fn count_setting(name: &str, default: usize) -> usize {
    std::env::var(name).map_or(default, |value| {
        value
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|count| *count >= 1)
            .unwrap_or_else(|| panic!("{name}: a whole number >= 1"))
    })
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` (or
    // `--all-targets`) does not, and gets no five-minute benchmark.
    if !std::env::args().any(|arg| arg == "--bench") {
        println!("the reference benchmark runs with `cargo bench --bench reference`");
        return;
    }
    let started = Instant::now();
    let options = Options::from_env();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let harness = harness::Harness::start(options.server_json.as_deref());
    let server = harness.server();
    let rest = Rest::new(server);
    let cases = cases::all(server);
    let ours = Launcher::new(Role::Ours, &options.our_binary);
    let reference = Launcher::new(Role::Reference, Path::new(server.str("/kitaru_mcp")));
    let template = runtime.block_on(kitaru_testkit::ExecutionTemplate::of_run(
        server,
        server.str("/seed/completed/exec_id"),
    ));

    let mut sizes = Vec::new();
    for &wanted in &options.sizes {
        let seeding = Instant::now();
        let executions = runtime.block_on(seed::top_up(&rest, &template, wanted));
        progress(&format!(
            "{executions} executions on the server ({:.0} s to record)",
            seeding.elapsed().as_secs_f64()
        ));
        let mut size = SizeReport::new(executions, &cases);
        size.add_floor_requests(floor::requests(&runtime, &rest, &cases));
        // The floor is timed right after each of our calls: both see the
        // same load on the machine.
        let time_floor = |case: &cases::Case| floor::time_once(&runtime, &rest, case);
        for (launcher, paired) in [
            (&ours, Some(&time_floor as mcp::Paired)),
            (&reference, None),
        ] {
            progress(&format!(
                "timing {} ({executions} executions)",
                launcher.role.label()
            ));
            size.add_timings(
                launcher,
                mcp::time(launcher, server, &cases, &options, paired),
            );
        }
        for launcher in [&ours, &reference] {
            progress(&format!(
                "counting {}'s requests ({executions} executions)",
                launcher.role.label()
            ));
            let counts = runtime.block_on(proxy::CountingProxy::start(&server.url));
            size.add_counts(launcher, mcp::count(launcher, server, &cases, &counts));
        }
        sizes.push(size);
    }
    drop(harness);

    let report = Report::new(sizes, &options, started.elapsed());
    let target = target_dir();
    report.write(
        &target.join("bench-reference.md"),
        &target.join("bench-reference.json"),
    );
    println!("{}", report.markdown());
}

/// A line about what the benchmark is doing now, on stderr.
fn progress(what: &str) {
    eprintln!("[bench reference] {what}");
}

/// The target directory this benchmark was built in: it runs from
/// `<target>/release/deps/`.
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the benchmark's own path");
    exe.ancestors()
        .nth(3)
        .map_or_else(|| PathBuf::from("target"), Path::to_path_buf)
}
