//! The Rust SDK on its own: connect the way the `kitaru` CLI does, list the
//! latest executions, and read one artifact version's stored value.
//!
//!     cargo run --example sdk_tour
//!
//! It uses whatever connection the CLI has (`kitaru login`), or
//! KITARU_SERVER_URL / KITARU_AUTH_TOKEN / KITARU_PROJECT.

use std::io::Read;

use kitaru_client::connection::ConnectionOptions;
use kitaru_client::{Client, types};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let (connection, client) = ConnectionOptions::new().connect().await?;
    println!("connected to {connection}");
    tour(&client).await
}

/// Lists the five latest runs, then prints the stored value of the first
/// artifact version of the latest completed one.
pub async fn tour(client: &Client) -> anyhow::Result<()> {
    let info = client.server_info().send().await?;
    println!(
        "server: ZenML {} ({:?} auth)",
        info.version, info.auth_scheme
    );

    let runs = client
        .list_runs()
        .sort_by("desc:created")
        .size(5)
        .hydrate(true)
        .send()
        .await?;
    println!("\nlatest executions ({} in all):", runs.total);
    for run in &runs.items {
        let body = run.body.as_ref();
        let flow = run
            .resources
            .as_ref()
            .and_then(|r| r.pipeline.as_ref())
            .map_or("?", |p| p.name.as_str());
        println!(
            "  {}  {:<10} {:<18} {}",
            run.id,
            body.map_or("?".into(), |b| format!("{:?}", b.status).to_lowercase()),
            flow,
            body.and_then(|b| b.status_reason.as_deref()).unwrap_or(""),
        );
    }

    let Some(completed) = runs.items.iter().find(|run| {
        run.body
            .as_ref()
            .is_some_and(|b| b.status == types::ExecutionStatus::Completed)
    }) else {
        println!("\nno completed execution among them");
        return Ok(());
    };
    let artifacts = client
        .list_artifact_versions()
        .pipeline_run(completed.id.to_string())
        .sort_by("asc:created")
        .hydrate(true)
        .size(20)
        .send()
        .await?;
    let Some(artifact) = artifacts.items.iter().find(|a| {
        a.body
            .as_ref()
            .is_some_and(|b| b.save_type == types::ArtifactSaveType::StepOutput)
    }) else {
        println!("\nexecution {} produced no artifact", completed.id);
        return Ok(());
    };
    let name = artifact
        .body
        .as_ref()
        .map_or("?", |b| b.artifact.name.as_str());
    let archive = client
        .download_artifact_version(&artifact.id.to_string())
        .await?;
    println!(
        "\nartifact {name} ({}), {} bytes stored:",
        artifact.id,
        archive.len()
    );
    let mut files = tar::Archive::new(flate2::read::GzDecoder::new(archive.as_slice()));
    for file in files.entries()? {
        let mut file = file?;
        if file.header().entry_type().is_dir() {
            continue;
        }
        let path = file.path()?.display().to_string();
        let mut text = String::new();
        if file.read_to_string(&mut text).is_ok() {
            println!("  {path}: {}", text.trim());
        } else {
            println!("  {path}: (binary)");
        }
    }
    Ok(())
}
