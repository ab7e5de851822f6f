//! The floor: the bare REST requests each tool's answer needs, sent with a
//! plain HTTP client from this process and timed like the tool calls. A
//! tool cannot be faster than the requests it needs; how far above them it
//! is, is what the server adds.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::cases::Case;
use kitaru_testkit::TestServer;

/// Steps and artifact versions per page, as large as a run of the seed needs.
const PAGE_SIZE: &str = "200";

/// A plain JSON client for the Kitaru server's REST API that counts what it
/// sends.
#[derive(Clone)]
pub struct Rest {
    http: reqwest::Client,
    api: String,
    project: String,
    sent: Arc<AtomicUsize>,
}

impl Rest {
    pub fn new(server: &TestServer) -> Self {
        Self {
            http: reqwest::Client::new(),
            api: format!("{}/api/v1", server.url),
            project: server.str("/seed/project/id").to_owned(),
            sent: Arc::default(),
        }
    }

    pub fn project(&self) -> &str {
        &self.project
    }

    /// `GET /api/v1<path>?<query>`, its JSON answer.
    pub async fn get(&self, path: &str, query: &[(&str, &str)]) -> Value {
        let request = self.http.get(format!("{}{path}", self.api)).query(query);
        self.send(request, &format!("GET {path}")).await
    }

    /// Sends `request`; anything but a JSON success stops the benchmark.
    async fn send(&self, request: reqwest::RequestBuilder, what: &str) -> Value {
        self.sent.fetch_add(1, Ordering::Relaxed);
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{what}: no answer: {e}"));
        let status = response.status();
        let body = response
            .bytes()
            .await
            .unwrap_or_else(|e| panic!("{what}: the answer broke off: {e}"));
        if !status.is_success() {
            panic!("{what}: HTTP {status}: {}", String::from_utf8_lossy(&body));
        }
        serde_json::from_slice(&body).unwrap_or_else(|e| panic!("{what}: not JSON: {e}"))
    }

    /// How many requests were sent since the last call.
    fn take_sent(&self) -> usize {
        self.sent.swap(0, Ordering::Relaxed)
    }

    /// A page of the project's runs, hydrated (status, times, metadata,
    /// flow, stack), newest first, narrowed by `filters`.
    pub async fn runs(&self, filters: &[(&str, String)]) -> Vec<Value> {
        let mut query = vec![
            ("project", self.project.as_str()),
            ("sort_by", "desc:created"),
            ("hydrate", "true"),
            ("include_full_metadata", "false"),
        ];
        query.extend(filters.iter().map(|(name, value)| (*name, value.as_str())));
        let page = self.get("/runs", &query).await;
        page["items"].as_array().cloned().unwrap_or_default()
    }
}

/// What a plain client asks for to answer one tool call.
pub enum Floor {
    /// A listing: a page of runs with these filters (see [`Rest::runs`]),
    /// the pending waits of those that may be waiting, and the steps of all
    /// (the checkpoint and artifact counts).
    Listing(Vec<(&'static str, String)>),
    /// The newest run, then its detail as for [`Floor::Run`].
    Newest,
    /// One run in detail: the run, its pending waits if it may be waiting,
    /// its steps, and when they have outputs the run's artifact versions
    /// (hydrated: their metadata).
    Run(String),
    /// An artifact version, then the step that produced it (the checkpoint
    /// name). Its value is read from the local artifact store: no request.
    Artifact(String),
    /// The newest version of a memory key's artifact (its value as above).
    Memory(String),
}

impl Floor {
    /// Sends the requests, one after the other.
    pub async fn run(&self, rest: &Rest) {
        match self {
            Self::Listing(filters) => {
                let runs = rest.runs(filters).await;
                waits_of(rest, &runs).await;
                let ids: Vec<&str> = runs.iter().filter_map(|run| run["id"].as_str()).collect();
                if !ids.is_empty() {
                    steps_of(rest, &one_of(&ids)).await;
                }
            }
            Self::Newest => {
                if let Some(run) = rest.runs(&[("size", "1".into())]).await.first() {
                    detail(rest, run).await;
                }
            }
            Self::Run(id) => {
                let query = [("hydrate", "true"), ("include_full_metadata", "false")];
                let run = rest.get(&format!("/runs/{id}"), &query).await;
                detail(rest, &run).await;
            }
            Self::Artifact(id) => {
                let version = rest
                    .get(&format!("/artifact_versions/{id}"), &[("hydrate", "true")])
                    .await;
                if let Some(step) = version["resources"]["producer_step_run_id"].as_str() {
                    rest.get(&format!("/steps/{step}"), &[]).await;
                }
            }
            Self::Memory(artifact_name) => {
                let query = [
                    ("artifact", artifact_name.as_str()),
                    ("project", rest.project()),
                    ("sort_by", "desc:version_number"),
                    ("hydrate", "true"),
                    ("size", "1"),
                ];
                rest.get("/artifact_versions", &query).await;
            }
        }
    }
}

/// The rest of one run's detail, given the run.
async fn detail(rest: &Rest, run: &Value) {
    let id = run["id"].as_str().expect("a run has an id");
    waits_of(rest, std::slice::from_ref(run)).await;
    let steps = steps_of(rest, id).await;
    let has_outputs = steps.iter().any(|step| {
        step["resources"]["outputs"]
            .as_object()
            .is_some_and(|outputs| !outputs.is_empty())
    });
    if has_outputs {
        let query = [
            ("pipeline_run", id),
            ("hydrate", "true"),
            ("size", PAGE_SIZE),
        ];
        rest.get("/artifact_versions", &query).await;
    }
}

/// The hydrated steps of the runs `runs` names (an id or a `oneof:` filter).
async fn steps_of(rest: &Rest, runs: &str) -> Vec<Value> {
    let query = [
        ("pipeline_run_id", runs),
        ("project", rest.project()),
        ("sort_by", "asc:created"),
        ("hydrate", "true"),
        ("size", PAGE_SIZE),
    ];
    let page = rest.get("/steps", &query).await;
    page["items"].as_array().cloned().unwrap_or_default()
}

/// The pending waits of those of `runs` whose status lets them wait
/// (running or paused); no request when none does.
async fn waits_of(rest: &Rest, runs: &[Value]) {
    let may_wait: Vec<&str> = runs
        .iter()
        .filter(|run| {
            let status = run["body"]["status"].as_str().unwrap_or_default();
            matches!(
                status,
                "initializing"
                    | "provisioning"
                    | "queued"
                    | "running"
                    | "retrying"
                    | "resuming"
                    | "paused"
            )
        })
        .filter_map(|run| run["id"].as_str())
        .collect();
    if may_wait.is_empty() {
        return;
    }
    let runs = one_of(&may_wait);
    let query = [
        ("pipeline_run", runs.as_str()),
        ("status", "pending"),
        ("project", rest.project()),
        ("hydrate", "true"),
        ("size", PAGE_SIZE),
    ];
    rest.get("/run_wait_conditions", &query).await;
}

/// A `oneof:` filter value.
fn one_of(values: &[&str]) -> String {
    format!("oneof:{}", serde_json::json!(values))
}

/// How many requests each case's floor sends; this also warms them up.
pub fn requests(runtime: &tokio::runtime::Runtime, rest: &Rest, cases: &[Case]) -> Vec<usize> {
    runtime.block_on(async {
        let mut counts = Vec::with_capacity(cases.len());
        for case in cases {
            rest.take_sent();
            case.floor.run(rest).await;
            counts.push(rest.take_sent());
        }
        counts
    })
}

/// The time one run of `case`'s floor takes.
pub fn time_once(runtime: &tokio::runtime::Runtime, rest: &Rest, case: &Case) -> Duration {
    runtime.block_on(async {
        let start = Instant::now();
        case.floor.run(rest).await;
        start.elapsed()
    })
}
