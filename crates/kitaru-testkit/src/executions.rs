//! More executions, quickly and for real: recorded over REST as the SDK
//! records a run, without running a flow.

use serde_json::{Value, json};

use crate::server::TestServer;

/// What recorded executions share with the run they copy: its project and
/// its snapshot (so its flow).
#[derive(Clone)]
pub struct ExecutionTemplate {
    http: reqwest::Client,
    api: String,
    project: String,
    snapshot: String,
}

impl ExecutionTemplate {
    /// The project and snapshot of run `run_id`. The recorded executions
    /// are its flow's: tests that read that flow's executions see them.
    pub async fn of_run(server: &TestServer, run_id: &str) -> Self {
        let http = reqwest::Client::new();
        let api = format!("{}/api/v1", server.url);
        let run = send(
            http.get(format!("{api}/runs/{run_id}"))
                .query(&[("hydrate", "true")]),
            "GET the run to copy",
        )
        .await;
        let field = |pointer: &str| {
            run.pointer(pointer)
                .and_then(Value::as_str)
                .unwrap_or_else(|| panic!("the run to copy has no {pointer}: {run}"))
                .to_owned()
        };
        Self {
            project: server.str("/seed/project/id").to_owned(),
            snapshot: field("/resources/snapshot/id"),
            http,
            api,
        }
    }

    /// The project's id.
    pub fn project(&self) -> &str {
        &self.project
    }

    /// Records an execution named `name` that ended with `status`
    /// (`completed`, `failed`…): created running with the template's
    /// snapshot (`POST /runs`; the server takes no other first status), then
    /// finished (`PUT /runs/{id}`). It has no steps. Returns its id.
    pub async fn record(&self, name: &str, status: &str) -> String {
        // The server's timestamps are naive UTC.
        let started = chrono::Utc::now()
            .naive_utc()
            .format("%Y-%m-%dT%H:%M:%S%.6f")
            .to_string();
        let created = send(
            self.http.post(format!("{}/runs", self.api)).json(&json!({
                "project": self.project,
                "name": name,
                "snapshot": self.snapshot,
                "status": "running",
                "orchestrator_run_id": uuid::Uuid::new_v4().simple().to_string(),
                "start_time": started,
            })),
            "POST /runs",
        )
        .await;
        // The answer is `[run, created]`.
        let id = created[0]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("the new run has no id: {created}"))
            .to_owned();
        send(
            self.http
                .put(format!("{}/runs/{id}", self.api))
                .json(&json!({"status": status})),
            "PUT /runs/{id}",
        )
        .await;
        id
    }
}

async fn send(request: reqwest::RequestBuilder, what: &str) -> Value {
    let response = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    assert!(status.is_success(), "{what}: {status} {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {text}"))
}
