//! The typed client deserializes what a real server answers.

use std::io::Read;

use kitaru_client::types::{self, ExecutionStatus, RunWaitConditionStatus};
use serde_json::Value;
use uuid::Uuid;

use kitaru_testkit::server;

fn uuid(text: &str) -> Uuid {
    text.parse().expect("a UUID in server.json")
}

fn checkpoint_name(step_name: &str) -> &str {
    step_name
        .strip_prefix("__kitaru_checkpoint_source_")
        .unwrap_or(step_name)
}

#[tokio::test]
async fn server_info_and_current_user() {
    let server = server();
    let client = server.client();
    let info = client.server_info().send().await.unwrap().into_inner();
    assert_eq!(info.version, server.line().zenml());
    assert_eq!(info.auth_scheme, types::AuthScheme::NoAuth);
    let user = client.get_current_user().send().await.unwrap();
    assert_eq!(user.name, server.str("/seed/user/name"));
}

#[tokio::test]
async fn projects_list_and_get() {
    let server = server();
    let client = server.client();
    let projects = client.list_projects().send().await.unwrap();
    let name = server.str("/seed/project/name");
    assert!(
        projects.items.iter().any(|p| p.name == name),
        "project {name} listed"
    );
    let project = client
        .get_project()
        .project_name_or_id(name)
        .hydrate(true)
        .send()
        .await
        .unwrap();
    assert_eq!(project.id, uuid(server.str("/seed/project/id")));
}

#[tokio::test]
async fn runs_list_unhydrated_and_hydrated() {
    let server = server();
    let client = server.client();
    let expected = [
        ("/seed/completed", ExecutionStatus::Completed),
        ("/seed/failed", ExecutionStatus::Failed),
        ("/seed/waiting", ExecutionStatus::Paused),
    ];
    for hydrate in [false, true] {
        let runs = client
            .list_runs()
            .hydrate(hydrate)
            // The seeded runs are the first ones: they stay on the first
            // page however many runs the other tests make.
            .sort_by("asc:created")
            .size(100)
            .send()
            .await
            .unwrap_or_else(|e| panic!("list_runs hydrate={hydrate}: {e}"));
        for (seed, status) in &expected {
            let id = uuid(server.str(&format!("{seed}/exec_id")));
            let run = runs
                .items
                .iter()
                .find(|r| r.id == id)
                .expect("seeded run listed");
            assert_eq!(run.name, server.str(&format!("{seed}/name")));
            assert_eq!(run.body.as_ref().unwrap().status, *status);
            assert_eq!(
                run.metadata.is_some(),
                hydrate,
                "metadata only when hydrated"
            );
        }
    }
}

#[tokio::test]
async fn hydrated_run_carries_pipeline_times_and_failure() {
    let server = server();
    let client = server.client();
    let run = client
        .get_run()
        .run_id(server.str("/seed/completed/exec_id"))
        .hydrate(true)
        .send()
        .await
        .unwrap();
    let run = run.into_inner();
    let metadata = run.metadata.as_ref().unwrap();
    let pipeline = run.resources.as_ref().unwrap().pipeline.as_ref().unwrap();
    assert_eq!(pipeline.name, server.str("/seed/completed/flow_name"));
    let (start, end) = (metadata.start_time.unwrap(), metadata.end_time.unwrap());
    assert!(start <= end);

    let failed = client
        .get_run()
        .run_id(server.str("/seed/failed/exec_id"))
        .hydrate(true)
        .send()
        .await
        .unwrap();
    let exception = failed
        .into_inner()
        .metadata
        .unwrap()
        .exception_info
        .expect("a failed run has exception info");
    assert_eq!(
        exception.message.as_deref(),
        Some(server.str("/seed/failed/exception_message"))
    );
    assert!(!exception.traceback.is_empty());
}

#[tokio::test]
async fn steps_of_a_run_with_outputs() {
    let server = server();
    let client = server.client();
    let run_id = uuid(server.str("/seed/completed/exec_id"));
    let steps = client
        .list_run_steps()
        .pipeline_run_id(run_id.to_string())
        .sort_by("asc:created")
        .hydrate(true)
        .size(100)
        .send()
        .await
        .unwrap();
    let names: Vec<&str> = steps
        .items
        .iter()
        .map(|s| checkpoint_name(&s.name))
        .collect();
    let expected: Vec<&str> = server
        .get("/seed/completed/checkpoint_names")
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert_eq!(names, expected);

    for checkpoint in server
        .get("/seed/completed/checkpoints")
        .as_array()
        .unwrap()
    {
        let step = client
            .get_step()
            .step_id(checkpoint["call_id"].as_str().unwrap())
            .hydrate(true)
            .send()
            .await
            .unwrap();
        assert_eq!(
            step.body.as_ref().unwrap().status,
            ExecutionStatus::Completed
        );
        let mut outputs: Vec<String> = step
            .resources
            .as_ref()
            .unwrap()
            .outputs
            .values()
            .flatten()
            .map(|a| a.id.to_string())
            .collect();
        outputs.sort();
        let mut seeded: Vec<String> = checkpoint["artifact_ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|id| id.as_str().unwrap().to_owned())
            .collect();
        seeded.sort();
        assert_eq!(outputs, seeded, "outputs of {}", checkpoint["name"]);
    }
}

#[tokio::test]
async fn artifact_versions_hydrated_and_listed_by_run() {
    let server = server();
    let client = server.client();
    for artifact in server.get("/seed/completed/artifacts").as_array().unwrap() {
        let version = client
            .get_artifact_version()
            .artifact_version_id(artifact["artifact_id"].as_str().unwrap())
            .hydrate(true)
            .send()
            .await
            .unwrap();
        let body = version.body.as_ref().unwrap();
        assert_eq!(body.artifact.name, artifact["name"].as_str().unwrap());
        assert_eq!(
            serde_json::to_value(&body.save_type).unwrap(),
            artifact["save_type"]
        );
        assert_eq!(
            Value::Object(version.metadata.as_ref().unwrap().run_metadata.clone()),
            artifact["metadata"]
        );
    }
    let listed = client
        .list_artifact_versions()
        .pipeline_run(server.str("/seed/completed/exec_id"))
        .hydrate(true)
        .size(100)
        .send()
        .await
        .unwrap();
    for artifact in server.get("/seed/completed/artifacts").as_array().unwrap() {
        let id = uuid(artifact["artifact_id"].as_str().unwrap());
        assert!(
            listed.items.iter().any(|v| v.id == id),
            "{} listed by run",
            artifact["name"]
        );
    }
}

/// Unpacks the gzip tar the data endpoint sends and returns `data.json`.
fn data_json_of(archive: &[u8]) -> Value {
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(archive));
    for entry in tar.entries().unwrap() {
        let mut entry = entry.unwrap();
        if entry
            .path()
            .unwrap()
            .file_name()
            .is_some_and(|n| n == "data.json")
        {
            let mut text = String::new();
            entry.read_to_string(&mut text).unwrap();
            return serde_json::from_str(&text).unwrap();
        }
    }
    panic!("no data.json in the artifact archive");
}

#[tokio::test]
async fn artifact_download_token_and_data_return_the_stored_bytes() {
    let server = server();
    let client = server.client();
    for artifact in server.get("/seed/completed/artifacts").as_array().unwrap() {
        let id = artifact["artifact_id"].as_str().unwrap();
        let bytes = client.download_artifact_version(id).await.unwrap();
        assert_eq!(
            data_json_of(&bytes),
            artifact["value"],
            "value of {}",
            artifact["name"]
        );
    }
}

#[tokio::test]
async fn pipeline_snapshot_of_a_run() {
    let server = server();
    let client = server.client();
    let run = client
        .get_run()
        .run_id(server.str("/seed/completed/exec_id"))
        .hydrate(true)
        .send()
        .await
        .unwrap();
    let snapshot = run
        .into_inner()
        .resources
        .unwrap()
        .snapshot
        .expect("a run has a snapshot");
    let fetched = client
        .get_pipeline_snapshot()
        .snapshot_id(snapshot.id.to_string())
        .hydrate(true)
        .send()
        .await
        .unwrap();
    assert_eq!(fetched.id, snapshot.id);
    let listed = client
        .list_pipeline_snapshots()
        .size(100)
        .send()
        .await
        .unwrap();
    assert!(listed.items.iter().any(|s| s.id == snapshot.id));
}

#[tokio::test]
async fn run_wait_conditions_of_the_waiting_run() {
    let server = server();
    let client = server.client();
    let pending = client
        .list_wait_conditions()
        .pipeline_run(server.str("/seed/waiting/exec_id"))
        .status("pending")
        .hydrate(true)
        .send()
        .await
        .unwrap();
    let [wait] = pending.items.as_slice() else {
        panic!("one pending wait, got {}", pending.items.len());
    };
    assert_eq!(wait.id, uuid(server.str("/seed/waiting/wait/wait_id")));
    assert_eq!(wait.name, server.str("/seed/waiting/wait/name"));
    assert_eq!(
        wait.body.as_ref().unwrap().status,
        RunWaitConditionStatus::Pending
    );
    let metadata = wait.metadata.as_ref().unwrap();
    assert_eq!(
        metadata.question.as_deref(),
        Some(server.str("/seed/waiting/wait/question"))
    );
    assert_eq!(
        metadata.data_schema.clone().map(Value::Object).as_ref(),
        Some(server.get("/seed/waiting/wait/schema"))
    );
    assert_eq!(
        &Value::Object(metadata.run_metadata.clone()),
        server.get("/seed/waiting/wait/metadata")
    );
}

#[tokio::test]
async fn tags_include_the_memory_tags() {
    let server = server();
    let client = server.client();
    let tags = client.list_tags().size(1000).send().await.unwrap();
    let scope = server.str("/seed/memory/scope");
    assert!(
        tags.items.iter().any(|t| t.name.contains(scope)),
        "a tag names the memory scope {scope}: {:?}",
        tags.items.iter().map(|t| &t.name).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn secrets_list_and_get() {
    let server = server();
    let client = server.client();
    let name = server.str("/seed/secret/name");
    let listed = client.list_secrets().name(name).send().await.unwrap();
    let [secret] = listed.items.as_slice() else {
        panic!("one secret named {name}");
    };
    let full = client
        .get_secret()
        .secret_id(secret.id.to_string())
        .send()
        .await
        .unwrap();
    let keys: Vec<&String> = full.body.as_ref().unwrap().values.keys().collect();
    let seeded: Vec<&str> = server
        .get("/seed/secret/keys")
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap())
        .collect();
    assert_eq!(keys, seeded);
}

#[tokio::test]
async fn stacks_and_their_components() {
    let server = server();
    let client = server.client();
    let stacks = client.list_stacks().send().await.unwrap();
    let id = uuid(server.str("/seed/stack/id"));
    assert!(stacks.items.iter().any(|s| s.id == id));
    let stack = client
        .get_stack()
        .stack_id(id.to_string())
        .hydrate(true)
        .send()
        .await
        .unwrap();
    assert_eq!(stack.name, server.str("/seed/stack/name"));
    let components = client
        .list_stack_components()
        .stack_id(id.to_string())
        .hydrate(true)
        .send()
        .await
        .unwrap();
    let kinds: Vec<String> = components
        .items
        .iter()
        .map(|c| {
            serde_json::to_value(&c.body.as_ref().unwrap().type_)
                .unwrap()
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    for kind in ["artifact_store", "orchestrator"] {
        assert!(
            kinds.iter().any(|k| k == kind),
            "the stack has an {kind}: {kinds:?}"
        );
    }
}

#[tokio::test]
async fn step_logs_decode_with_their_utc_timestamps() {
    let server = server();
    let client = server.client();
    let failed_step = server.str("/seed/failed/failed_checkpoint/call_id");
    let logs = client
        .get_step_logs()
        .step_id(failed_step)
        .source("step")
        .send()
        .await
        .unwrap();
    assert!(!logs.is_empty(), "the failed step logged its exception");
    assert!(logs.iter().all(|entry| entry.timestamp.is_some()));
    assert!(
        logs.iter()
            .any(|entry| entry.message.contains("deliberate failure"))
    );
}

#[tokio::test]
async fn unknown_run_is_a_typed_404() {
    let server = server();
    let client = server.client();
    let missing = Uuid::nil().to_string();
    let error = client
        .get_run()
        .run_id(Uuid::nil())
        .send()
        .await
        .unwrap_err();
    let kitaru_client::Error::ErrorResponse(answer) = error else {
        panic!("expected the server's error answer, got {error}");
    };
    assert_eq!(answer.status(), 404);
    assert!(format!("{:?}", answer.into_inner()).contains(&missing));
}
