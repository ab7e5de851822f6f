//! The results: medians side by side with their ratios, the targets with a
//! pass or miss each, as Markdown and as JSON.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use serde::Serialize;

use crate::Options;
use crate::cases::Case;
use crate::mcp::{Launcher, Requests, Role, Timings};

/// The first rows of every size's table; the cases follow.
const INITIALIZE: &str = "spawn → initialize";
const TOOLS_LIST: &str = "tools/list";

/// How much slower than the floor a tool may be, and how much slower at the
/// largest size than at the smallest a call may get and still count as flat.
const FLOOR_LIMIT: f64 = 1.2;
const FLAT_LIMIT: f64 = 1.2;

/// The whole run.
#[derive(Serialize)]
pub struct Report {
    date: String,
    cores: usize,
    cpu: String,
    spawns: usize,
    calls: usize,
    total_seconds: f64,
    sizes: Vec<SizeReport>,
    targets: Vec<Target>,
}

/// Everything measured at one number of executions.
#[derive(Serialize)]
pub struct SizeReport {
    executions: usize,
    rows: Vec<Row>,
    peak_rss_kib: Both<u64>,
    /// Requests from spawn through `initialize` and `tools/list`.
    startup_requests: Both<usize>,
    /// What the first round of calls sent beyond the second (connecting).
    first_round_extra_requests: Both<isize>,
}

/// One measure of both servers.
#[derive(Serialize)]
struct Row {
    label: String,
    ours: Side,
    reference: Side,
    floor: Option<Side>,
}

/// One server's (or the floor's) side of a row.
#[derive(Serialize, Default)]
struct Side {
    median_ms: f64,
    samples_ms: Vec<f64>,
    /// The answer's size (JSON `result`); none for the floor.
    bytes: Option<usize>,
    /// Requests to the Kitaru server per call.
    requests: Option<usize>,
    /// The requests themselves (`METHOD /path?query`).
    sent: Vec<String>,
    /// The tool's error text, if it answered with one.
    error: Option<String>,
}

#[derive(Serialize, Default, Clone, Copy)]
struct Both<T> {
    ours: T,
    reference: T,
}

impl<T> Both<T> {
    fn get_mut(&mut self, role: Role) -> &mut T {
        match role {
            Role::Ours => &mut self.ours,
            Role::Reference => &mut self.reference,
        }
    }
}

impl Row {
    fn new(label: &str, with_floor: bool) -> Self {
        Self {
            label: label.to_owned(),
            ours: Side::default(),
            reference: Side::default(),
            floor: with_floor.then(Side::default),
        }
    }

    fn side(&mut self, role: Role) -> &mut Side {
        match role {
            Role::Ours => &mut self.ours,
            Role::Reference => &mut self.reference,
        }
    }
}

impl Side {
    fn set_times(&mut self, times: &[Duration]) {
        self.samples_ms = times.iter().map(|time| time.as_secs_f64() * 1e3).collect();
        self.median_ms = median(&self.samples_ms);
    }
}

fn median(samples: &[f64]) -> f64 {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

impl SizeReport {
    pub fn new(executions: usize, cases: &[Case]) -> Self {
        let mut rows = vec![Row::new(INITIALIZE, false), Row::new(TOOLS_LIST, false)];
        rows.extend(cases.iter().map(|case| Row::new(case.label, true)));
        Self {
            executions,
            rows,
            peak_rss_kib: Both::default(),
            startup_requests: Both::default(),
            first_round_extra_requests: Both::default(),
        }
    }

    /// The rows of the cases, in their order.
    fn case_rows(&mut self) -> &mut [Row] {
        &mut self.rows[2..]
    }

    pub fn add_timings(&mut self, launcher: &Launcher, timings: Timings) {
        let role = launcher.role;
        let initialize = self.rows[0].side(role);
        initialize.set_times(&timings.initialize);
        initialize.bytes = Some(timings.initialize_bytes);
        let tools_list = self.rows[1].side(role);
        tools_list.set_times(&timings.tools_list);
        tools_list.bytes = Some(timings.tools_list_bytes);
        for (row, calls) in self.case_rows().iter_mut().zip(timings.calls) {
            let side = row.side(role);
            side.set_times(&calls.times);
            side.bytes = Some(calls.bytes);
            side.error = calls.error;
            if !calls.paired.is_empty() {
                let floor = row.floor.as_mut().expect("a case row has a floor");
                floor.set_times(&calls.paired);
            }
        }
        *self.peak_rss_kib.get_mut(role) = timings.peak_rss_kib;
    }

    pub fn add_floor_requests(&mut self, counts: Vec<usize>) {
        for (row, count) in self.case_rows().iter_mut().zip(counts) {
            row.floor.as_mut().expect("a case row has a floor").requests = Some(count);
        }
    }

    pub fn add_counts(&mut self, launcher: &Launcher, requests: Requests) {
        let role = launcher.role;
        *self.startup_requests.get_mut(role) = requests.startup.len();
        let second_round: usize = requests.calls.iter().map(Vec::len).sum();
        *self.first_round_extra_requests.get_mut(role) =
            requests.first_round.len() as isize - second_round as isize;
        self.rows[0].side(role).requests = Some(requests.startup.len());
        for (row, sent) in self.case_rows().iter_mut().zip(requests.calls) {
            let side = row.side(role);
            side.requests = Some(sent.len());
            side.sent = sent;
        }
    }

    fn row(&self, label: &str) -> &Row {
        self.rows
            .iter()
            .find(|row| row.label == label)
            .unwrap_or_else(|| panic!("no row {label}"))
    }
}

/// One target of issue 13, as measured.
#[derive(Serialize)]
struct Target {
    target: String,
    measured: String,
    pass: bool,
}

impl Report {
    pub fn new(mut sizes: Vec<SizeReport>, options: &Options, took: Duration) -> Self {
        sizes.sort_by_key(|size| size.executions);
        let targets = targets(&sizes);
        Self {
            date: chrono::Utc::now().format("%Y-%m-%d").to_string(),
            cores: std::thread::available_parallelism().map_or(0, usize::from),
            cpu: cpu_model(),
            spawns: options.spawns,
            calls: options.calls,
            total_seconds: took.as_secs_f64(),
            sizes,
            targets,
        }
    }

    /// Writes the Markdown and the JSON.
    pub fn write(&self, markdown: &Path, json: &Path) {
        let written = std::fs::write(markdown, self.markdown()).and_then(|()| {
            let json_text = serde_json::to_string_pretty(self).expect("the report serialises");
            std::fs::write(json, json_text)
        });
        match written {
            Ok(()) => crate::progress(&format!(
                "written: {} and {}",
                markdown.display(),
                json.display()
            )),
            Err(error) => eprintln!("[bench reference] cannot write the report: {error}"),
        }
    }

    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "Measured {} on {} cores ({}); medians of {} spawns and of {} calls per measure \
             (fewer for a reference call over 30 s in all); whole run {:.0} s.\n",
            self.date, self.cores, self.cpu, self.spawns, self.calls, self.total_seconds
        );
        for size in &self.sizes {
            size_table(&mut out, size);
        }
        targets_table(&mut out, &self.targets);
        requests_section(&mut out, &self.sizes);
        out
    }
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|line| line.strip_prefix("model name"))
                .map(|rest| rest.trim_start_matches([' ', '\t', ':']).trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

fn size_table(out: &mut String, size: &SizeReport) {
    let _ = writeln!(
        out,
        "#### {} executions\n",
        thousands(size.executions as u64)
    );
    out.push_str(
        "| call | ours | reference | reference ÷ ours | bare REST | ours ÷ REST | reference ÷ REST \
         | requests ours / reference / REST | bytes ours / reference |\n",
    );
    out.push_str("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    for row in &size.rows {
        let floor = row.floor.as_ref();
        let requests = |side: Option<&Side>| {
            side.and_then(|side| side.requests)
                .map_or("–".into(), |count| count.to_string())
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} / {} / {} | {} / {} |",
            row.label,
            with_error(&row.ours),
            with_error(&row.reference),
            ratio(row.reference.median_ms, row.ours.median_ms),
            floor.map_or("–".into(), |floor| millis(floor.median_ms)),
            floor.map_or("–".into(), |floor| ratio(
                row.ours.median_ms,
                floor.median_ms
            )),
            floor.map_or("–".into(), |floor| ratio(
                row.reference.median_ms,
                floor.median_ms
            )),
            requests(Some(&row.ours)),
            requests(Some(&row.reference)),
            requests(floor),
            row.ours.bytes.map_or("–".into(), |b| thousands(b as u64)),
            row.reference
                .bytes
                .map_or("–".into(), |b| thousands(b as u64)),
        );
    }
    let rss = size.peak_rss_kib;
    let _ = writeln!(
        out,
        "| peak RSS | {} | {} | {} | | | | | |\n",
        mebibytes(rss.ours),
        mebibytes(rss.reference),
        ratio(rss.reference as f64, rss.ours as f64),
    );
    for row in &size.rows {
        for (who, side) in [("ours", &row.ours), ("reference", &row.reference)] {
            if let Some(error) = &side.error {
                let _ = writeln!(out, "Error, {who}, {}: {}\n", row.label, error.trim());
            }
        }
    }
    let _ = writeln!(
        out,
        "Requests before the first call (spawn, `initialize`, `tools/list`): ours {}, reference \
         {}. Connecting (the first round of calls beyond the second): ours {}, reference {}.\n",
        size.startup_requests.ours,
        size.startup_requests.reference,
        size.first_round_extra_requests.ours,
        size.first_round_extra_requests.reference,
    );
}

/// A median, or the error the tool answered with.
fn with_error(side: &Side) -> String {
    match &side.error {
        Some(_) => format!("{} (error)", millis(side.median_ms)),
        None => millis(side.median_ms),
    }
}

fn targets_table(out: &mut String, targets: &[Target]) {
    out.push_str("#### Targets\n\n| target | measured | |\n| --- | --- | --- |\n");
    for target in targets {
        let mark = if target.pass { "✅ pass" } else { "❌ miss" };
        let _ = writeln!(out, "| {} | {} | {mark} |", target.target, target.measured);
    }
    out.push('\n');
}

/// Per call at the largest size: what each server asked the Kitaru server.
fn requests_section(out: &mut String, sizes: &[SizeReport]) {
    let Some(largest) = sizes.last() else {
        return;
    };
    let _ = writeln!(
        out,
        "#### Requests per call at {} executions\n",
        thousands(largest.executions as u64)
    );
    for row in largest.rows.iter().filter(|row| row.floor.is_some()) {
        let _ = writeln!(out, "- **{}**", row.label);
        for (who, side) in [("ours", &row.ours), ("reference", &row.reference)] {
            let _ = writeln!(out, "  - {who}: {}", summarise(&side.sent));
        }
    }
    out.push('\n');
}

/// Requests grouped by method and path (ids as `{id}`), with their counts.
fn summarise(sent: &[String]) -> String {
    let mut groups: Vec<(String, usize)> = Vec::new();
    for request in sent {
        let path = request.split('?').next().unwrap_or(request);
        let shape: Vec<String> = path
            .split('/')
            .map(|part| {
                if uuid::Uuid::parse_str(part).is_ok() {
                    "{id}".into()
                } else {
                    part.to_owned()
                }
            })
            .collect();
        let shape = shape.join("/");
        match groups.iter_mut().find(|(known, _)| *known == shape) {
            Some((_, count)) => *count += 1,
            None => groups.push((shape, 1)),
        }
    }
    if groups.is_empty() {
        return "none".into();
    }
    groups
        .iter()
        .map(|(shape, count)| format!("`{shape}` ×{count}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The targets, judged on the smallest and the largest size.
fn targets(sizes: &[SizeReport]) -> Vec<Target> {
    let (Some(smallest), Some(largest)) = (sizes.first(), sizes.last()) else {
        return Vec::new();
    };
    let at = |size: &SizeReport| format!("@{}", thousands(size.executions as u64));
    let every_size = |measure: &dyn Fn(&SizeReport) -> f64, show: &dyn Fn(f64) -> String| {
        let values: Vec<f64> = sizes.iter().map(measure).collect();
        let shown = sizes
            .iter()
            .zip(&values)
            .map(|(size, value)| format!("{} {}", show(*value), at(size)))
            .collect::<Vec<_>>()
            .join(", ");
        (values, shown)
    };
    let mut targets = Vec::new();

    let (values, shown) = every_size(&|size| size.row(INITIALIZE).ours.median_ms, &millis);
    targets.push(Target {
        target: "initialize ≤ 5 ms".into(),
        measured: shown,
        pass: values.iter().all(|ms| *ms <= 5.0),
    });
    let (values, shown) = every_size(
        &|size| {
            let row = size.row(INITIALIZE);
            row.reference.median_ms / row.ours.median_ms
        },
        &times,
    );
    targets.push(Target {
        target: "initialize ≥ 500× faster than the reference".into(),
        measured: shown,
        pass: values.iter().all(|ratio| *ratio >= 500.0),
    });
    let (values, shown) = every_size(
        &|size| size.peak_rss_kib.reference as f64 / size.peak_rss_kib.ours as f64,
        &times,
    );
    targets.push(Target {
        target: "peak RSS ≥ 10× lower".into(),
        measured: shown,
        pass: values.iter().all(|ratio| *ratio >= 10.0),
    });

    let scaling = [
        "executions_list status=failed",
        "executions_list flow=(none)",
        "executions_latest",
    ];
    for label in scaling {
        let row = largest.row(label);
        let speedup = row.reference.median_ms / row.ours.median_ms;
        targets.push(Target {
            target: format!("{label} ≥ 25× faster than the reference {}", at(largest)),
            measured: times(speedup),
            pass: speedup >= 25.0,
        });
    }
    if sizes.len() > 1 {
        for label in scaling {
            let (small, large) = (smallest.row(label), largest.row(label));
            let growth = large.ours.median_ms / small.ours.median_ms;
            // The floor's own growth: what the Kitaru server adds with size.
            let floor = |row: &Row| row.floor.as_ref().map_or(f64::NAN, |f| f.median_ms);
            targets.push(Target {
                target: format!(
                    "{label} flat {} → {} (≤ {FLAT_LIMIT}×)",
                    at(smallest),
                    at(largest)
                ),
                measured: format!(
                    "{} → {}: {} (bare REST {} → {}: {})",
                    millis(small.ours.median_ms),
                    millis(large.ours.median_ms),
                    times(growth),
                    millis(floor(small)),
                    millis(floor(large)),
                    times(floor(large) / floor(small)),
                ),
                pass: growth <= FLAT_LIMIT,
            });
        }
    }

    for label in largest
        .rows
        .iter()
        .filter(|row| row.floor.is_some())
        .map(|row| &row.label)
    {
        let (values, shown) = every_size(
            &|size| {
                let row = size.row(label);
                row.ours.median_ms / row.floor.as_ref().map_or(f64::NAN, |floor| floor.median_ms)
            },
            &times,
        );
        targets.push(Target {
            target: format!("{label} within {FLOOR_LIMIT}× of its bare REST floor"),
            measured: shown,
            pass: values.iter().all(|ratio| *ratio <= FLOOR_LIMIT),
        });
    }
    targets
}

fn millis(ms: f64) -> String {
    if ms.is_nan() {
        "–".into()
    } else if ms >= 1000.0 {
        format!("{:.2} s", ms / 1000.0)
    } else if ms >= 10.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.2} ms")
    }
}

fn ratio(numerator: f64, denominator: f64) -> String {
    times(numerator / denominator)
}

fn times(ratio: f64) -> String {
    if !ratio.is_finite() {
        "–".into()
    } else if ratio >= 100.0 {
        format!("{}×", thousands(ratio.round() as u64))
    } else if ratio >= 10.0 {
        format!("{ratio:.1}×")
    } else {
        format!("{ratio:.2}×")
    }
}

fn mebibytes(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// `1234567` as `1,234,567`.
fn thousands(number: u64) -> String {
    let digits = number.to_string();
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}
