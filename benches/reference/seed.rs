//! More executions, quickly and for real: clones of the seeded completed run,
//! recorded over REST as the SDK records a run — created running with the
//! run's snapshot (`POST /runs`; the server takes no other first status),
//! then finished (`PUT /runs/{id}`). They have no steps.
//!
//! The 4th and 5th executions end failed, the others completed: the
//! filtered listings then find the same runs at every size, and the newest
//! execution is always a completed clone. (Not cancelled: the reference's
//! listings fail on a cancelled run, "Unsupported execution status
//! mapping".)

use serde_json::json;
use tokio::task::JoinSet;

use crate::floor::Rest;
use crate::support::TestServer;

/// Clones recorded at the same time (the server writes to SQLite).
const PARALLEL: usize = 4;

/// What every clone shares with the seeded completed run.
#[derive(Clone)]
pub struct Template {
    project: String,
    snapshot: String,
}

impl Template {
    pub async fn of_completed_run(rest: &Rest, server: &TestServer) -> Self {
        let id = server.str("/seed/completed/exec_id");
        let run = rest
            .get(&format!("/runs/{id}"), &[("hydrate", "true")])
            .await;
        Self {
            project: rest.project().to_owned(),
            snapshot: run["resources"]["snapshot"]["id"]
                .as_str()
                .expect("the completed run has a snapshot")
                .to_owned(),
        }
    }
}

/// Adds clones until the project has `wanted` executions; returns how many
/// it has (more than `wanted` when it had more already).
pub async fn top_up(rest: &Rest, template: &Template, wanted: usize) -> usize {
    let have = execution_count(rest).await;
    if have < wanted {
        crate::progress(&format!("recording {} executions", wanted - have));
    }
    let mut recording = JoinSet::new();
    for ordinal in have + 1..=wanted {
        if recording.len() >= PARALLEL {
            finish(&mut recording).await;
        }
        recording.spawn(record_clone(rest.clone(), template.clone(), ordinal));
    }
    while !recording.is_empty() {
        finish(&mut recording).await;
    }
    execution_count(rest).await
}

async fn finish(recording: &mut JoinSet<()>) {
    if let Some(Err(error)) = recording.join_next().await {
        panic!("recording an execution failed: {error}");
    }
}

async fn execution_count(rest: &Rest) -> usize {
    let page = rest
        .get("/runs", &[("project", rest.project()), ("size", "1")])
        .await;
    page["total"]
        .as_u64()
        .and_then(|total| usize::try_from(total).ok())
        .expect("a page of runs has a total")
}

/// Records the project's execution number `ordinal` (counting from 1).
async fn record_clone(rest: Rest, template: Template, ordinal: usize) {
    let unique = uuid::Uuid::new_v4().simple().to_string();
    let started = chrono::Utc::now()
        .naive_utc()
        .format("%Y-%m-%dT%H:%M:%S%.6f");
    let created = rest
        .post(
            "/runs",
            &json!({
                "project": template.project,
                "name": format!("bench_clone-{ordinal:04}-{}", &unique[..8]),
                "snapshot": template.snapshot,
                "status": "running",
                "orchestrator_run_id": unique,
                "start_time": started.to_string(),
            }),
        )
        .await;
    // The answer is `[run, created]`.
    let id = created[0]["id"].as_str().expect("the new run has an id");
    let status = if matches!(ordinal, 4 | 5) {
        "failed"
    } else {
        "completed"
    };
    rest.put(&format!("/runs/{id}"), &json!({"status": status}))
        .await;
}
