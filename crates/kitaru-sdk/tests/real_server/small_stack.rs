//! The answers the tools read decode on a thread with the default 2 MiB
//! stack, in an unoptimised build too.
//!
//! serde's derived decoders keep every field of a type in their stack frame,
//! so a type that embeds other large types by value makes decoding take a
//! lot of stack: before kitaru-codegen boxed the resources embedded in other
//! types, reading a hydrated run of this server took 1.7 MiB of stack in a
//! debug build (a run with more of its resources set, over 2 MiB). A
//! regression aborts this test's process with a stack overflow.

use kitaru_client::Client;
use kitaru_client::types::PipelineRunResponse;
use uuid::Uuid;

use kitaru_testkit::{TestServer, executions_lock, server};

/// What Rust gives a spawned thread unless told otherwise.
const DEFAULT_THREAD_STACK: usize = 2 * 1024 * 1024;

const PAGE_SIZE: i64 = 1000;

#[test]
fn every_seeded_response_decodes_on_a_default_2_mib_stack() {
    let server = server();
    let _listing = executions_lock().read().unwrap_or_else(|e| e.into_inner());
    on_a_default_stack(read_everything_the_tools_read(server));
}

/// What an SDK user on `#[tokio::main]` does, whose worker threads have
/// default stacks: executions in detail, a listing, an artifact's value.
#[test]
fn the_sdk_reads_executions_and_values_on_a_default_2_mib_stack() {
    let server = server();
    let _listing = executions_lock().read().unwrap_or_else(|e| e.into_inner());
    on_a_default_stack(async {
        let kitaru = server.kitaru().await;
        for seed in ["completed", "failed", "waiting"] {
            let exec_id = server.str(&format!("/seed/{seed}/exec_id"));
            let execution = kitaru_sdk::executions::get(&kitaru, exec_id)
                .await
                .expect("the seeded execution");
            assert_eq!(execution.summary.exec_id, exec_id);
        }
        let listed = kitaru_sdk::executions::list(&kitaru, &Default::default(), None)
            .await
            .expect("the executions");
        assert!(listed.len() >= 3);
        let artifact_id = server.str("/seed/completed/artifacts/0/artifact_id");
        let artifact = kitaru_sdk::artifacts::get(&kitaru, artifact_id)
            .await
            .expect("the seeded artifact");
        assert_eq!(
            &artifact.value,
            server.get("/seed/completed/artifacts/0/value")
        );
    });
}

/// Runs `work` on a current-thread runtime in a thread with the default
/// stack size; a stack overflow aborts the test process.
fn on_a_default_stack(work: impl std::future::Future<Output = ()> + Send) {
    std::thread::scope(|scope| {
        let reading = std::thread::Builder::new()
            .name("default-stack".into())
            .stack_size(DEFAULT_THREAD_STACK)
            .spawn_scoped(scope, || {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a current-thread runtime")
                    .block_on(work)
            })
            .expect("spawn a thread with a 2 MiB stack");
        if let Err(panic) = reading.join() {
            std::panic::resume_unwind(panic);
        }
    });
}

async fn read_everything_the_tools_read(server: &TestServer) {
    let client = server.client();

    let info = client.server_info().send().await.expect("server info");
    assert_eq!(info.version, server.str("/versions/server"));
    let user = client
        .get_current_user()
        .send()
        .await
        .expect("current user");
    assert_eq!(user.id, uuid(server.str("/seed/user/id")));
    let projects = client
        .list_projects()
        .hydrate(true)
        .send()
        .await
        .expect("projects");
    let project_id = uuid(server.str("/seed/project/id"));
    assert!(projects.items.iter().any(|p| p.id == project_id));
    let project = client
        .get_project()
        .project_name_or_id(server.str("/seed/project/name"))
        .hydrate(true)
        .send()
        .await
        .expect("project");
    assert_eq!(project.id, project_id);

    let stacks = client
        .list_stacks()
        .hydrate(true)
        .send()
        .await
        .expect("stacks");
    let stack_id = uuid(server.str("/seed/stack/id"));
    assert!(stacks.items.iter().any(|s| s.id == stack_id));
    let stack = client
        .get_stack()
        .stack_id(stack_id.to_string())
        .hydrate(true)
        .send()
        .await
        .expect("stack");
    assert!(stack.metadata.is_some(), "the stack is hydrated");

    let runs = client
        .list_runs()
        .hydrate(true)
        .size(PAGE_SIZE)
        .send()
        .await
        .expect("hydrated runs");
    assert_eq!(runs.items.len() as u64, runs.total, "all runs on one page");
    for seed in ["completed", "failed", "waiting"] {
        let id = uuid(server.str(&format!("/seed/{seed}/exec_id")));
        assert!(
            runs.items.iter().any(|r| r.id == id),
            "the seeded {seed} run is listed"
        );
    }
    for listed in &runs.items {
        assert!(listed.metadata.is_some(), "run {} is hydrated", listed.id);
        let run = client
            .get_run()
            .run_id(listed.id.to_string())
            .hydrate(true)
            .send()
            .await
            .unwrap_or_else(|e| panic!("run {}: {e}", listed.id));
        assert_eq!(run.name, listed.name);
        assert!(run.resources.is_some(), "run {} has resources", run.id);
        read_steps_and_artifacts(&client, server, &run).await;
    }

    let waiting = uuid(server.str("/seed/waiting/exec_id"));
    let waits = client
        .list_wait_conditions()
        .pipeline_run(waiting.to_string())
        .hydrate(true)
        .size(PAGE_SIZE)
        .send()
        .await
        .expect("wait conditions");
    let wait_id = uuid(server.str("/seed/waiting/wait/wait_id"));
    assert!(
        waits
            .items
            .iter()
            .any(|w| w.id == wait_id && w.metadata.is_some())
    );
}

/// The steps of one run and the artifact versions it produced or used,
/// listed and each on its own, all hydrated; for a seeded run, what the
/// harness seeded.
async fn read_steps_and_artifacts(client: &Client, server: &TestServer, run: &PipelineRunResponse) {
    let steps = client
        .list_run_steps()
        .pipeline_run_id(run.id.to_string())
        .hydrate(true)
        .size(PAGE_SIZE)
        .send()
        .await
        .unwrap_or_else(|e| panic!("steps of run {}: {e}", run.id));
    for listed in &steps.items {
        let step = client
            .get_step()
            .step_id(listed.id.to_string())
            .hydrate(true)
            .send()
            .await
            .unwrap_or_else(|e| panic!("step {}: {e}", listed.id));
        assert!(step.metadata.is_some(), "step {} is hydrated", step.id);
    }

    let artifacts = client
        .list_artifact_versions()
        .pipeline_run(run.id.to_string())
        .hydrate(true)
        .size(PAGE_SIZE)
        .send()
        .await
        .unwrap_or_else(|e| panic!("artifact versions of run {}: {e}", run.id));
    for listed in &artifacts.items {
        let version = client
            .get_artifact_version()
            .artifact_version_id(listed.id.to_string())
            .hydrate(true)
            .send()
            .await
            .unwrap_or_else(|e| panic!("artifact version {}: {e}", listed.id));
        assert!(
            version.metadata.is_some(),
            "artifact version {} is hydrated",
            version.id
        );
    }

    let run_id = run.id.to_string();
    let Some(seeded) = ["completed", "failed", "waiting"]
        .into_iter()
        .map(|seed| &server.json["seed"][seed])
        .find(|seed| seed["exec_id"].as_str() == Some(run_id.as_str()))
    else {
        return;
    };
    let status = run.body.as_ref().expect("a run has a body").status.as_str();
    assert_eq!(status, seeded["status"], "status of run {run_id}");
    let checkpoints = seeded["checkpoints"]
        .as_array()
        .expect("seeded checkpoints");
    assert_eq!(
        steps.items.len(),
        checkpoints.len(),
        "steps of run {run_id}"
    );
    for artifact in seeded["artifacts"].as_array().expect("seeded artifacts") {
        let id = uuid(artifact["artifact_id"].as_str().expect("an artifact id"));
        assert!(
            artifacts.items.iter().any(|v| v.id == id),
            "{} listed for run {run_id}",
            artifact["name"]
        );
    }
}

fn uuid(text: &str) -> Uuid {
    text.parse().expect("a UUID in server.json")
}
