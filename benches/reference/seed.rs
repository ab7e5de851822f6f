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

use kitaru_testkit::ExecutionTemplate;
use tokio::task::JoinSet;

use crate::floor::Rest;

/// Clones recorded at the same time (the server writes to SQLite).
const PARALLEL: usize = 4;

/// Adds clones until the project has `wanted` executions; returns how many
/// it has (more than `wanted` when it had more already).
pub async fn top_up(rest: &Rest, template: &ExecutionTemplate, wanted: usize) -> usize {
    let have = execution_count(rest).await;
    if have < wanted {
        crate::progress(&format!("recording {} executions", wanted - have));
    }
    let mut recording = JoinSet::new();
    for ordinal in have + 1..=wanted {
        if recording.len() >= PARALLEL {
            finish(&mut recording).await;
        }
        recording.spawn(record_clone(template.clone(), ordinal));
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
async fn record_clone(template: ExecutionTemplate, ordinal: usize) {
    let unique = uuid::Uuid::new_v4().simple().to_string();
    let status = if matches!(ordinal, 4 | 5) {
        "failed"
    } else {
        "completed"
    };
    template
        .record(
            &format!("bench_clone-{ordinal:04}-{}", &unique[..8]),
            status,
        )
        .await;
}
