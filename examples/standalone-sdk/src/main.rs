//! Kitaru as a library: connect the way the `kitaru` CLI does, list the
//! latest executions, and read the value of the first artifact of the
//! latest completed execution (of the flow named by the first argument, if
//! one is given).
//!
//! Run it where `kitaru status` works (after `kitaru login`, or with
//! KITARU_SERVER_URL / KITARU_AUTH_TOKEN / KITARU_PROJECT set):
//!
//! ```text
//! cargo run --manifest-path examples/standalone-sdk/Cargo.toml
//! ```

use kitaru_sdk::artifacts::{self, ArtifactFilter};
use kitaru_sdk::executions::{self, ExecutionFilter, ExecutionStatus};
use kitaru_sdk::Kitaru;

#[tokio::main]
async fn main() -> Result<(), kitaru_sdk::Error> {
    let kitaru = Kitaru::connect().await?;
    println!("connected to {}", kitaru.connection);

    for execution in executions::list(&kitaru, &ExecutionFilter::default(), Some(5)).await? {
        let summary = &execution.summary;
        println!(
            "execution {} {} {}",
            summary.exec_id,
            summary.status,
            summary.flow_name.as_deref().unwrap_or("-")
        );
    }

    let mut completed = ExecutionFilter::default().status(ExecutionStatus::Completed);
    if let Some(flow) = std::env::args().nth(1) {
        completed = completed.flow(flow);
    }
    let Some(execution) = executions::latest(&kitaru, &completed).await? else {
        println!("no completed execution to read an artifact of");
        return Ok(());
    };
    let exec_id = &execution.summary.exec_id;
    let listed = artifacts::list(&kitaru, exec_id, &ArtifactFilter::default(), Some(1)).await?;
    if let Some(first) = listed.first() {
        let artifact = artifacts::get(&kitaru, &first.artifact_id).await?;
        match artifact.value_unavailable {
            None => println!("artifact {} = {}", first.name, artifact.value),
            Some(why) => println!("artifact {} cannot be read here: {}", first.name, why.message),
        }
    }
    Ok(())
}
