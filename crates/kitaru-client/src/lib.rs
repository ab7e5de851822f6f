//! Typed Rust client for the Kitaru server's REST API.
//!
//! A Kitaru server is a ZenML server; its API lives under `/api/v1`. The
//! client is generated at build time from the vendored OpenAPI document
//! (`openapi/kitaru-server-<version>.openapi.json` (every server version, merged)) by `kitaru-codegen`; the reviewed
//! copy of the generated code is `generated/kitaru_client.rs`, and
//! `generated/operations.md` lists every operation with its method name.
//!
//! Every operation is a method on [`Client`] that returns a builder; set the
//! parameters and `send()`:
//!
//! ```no_run
//! # async fn example() -> Result<(), kitaru_client::Error<kitaru_client::types::ErrorBody>> {
//! use kitaru_client::{Client, Credentials};
//!
//! let client = Client::with_credentials("http://127.0.0.1:8237", Credentials::None, reqwest::Client::new());
//! let runs = client.list_runs().hydrate(true).size(20).send().await?;
//! for run in &runs.items {
//!     println!("{} {:?}", run.name, run.body.as_ref().map(|body| &body.status));
//! }
//! # Ok(())
//! # }
//! ```
//!
//! To connect the way the `kitaru` CLI does (explicit settings, then the
//! `KITARU_*` / `ZENML_*` variables, then the CLI's config files), use
//! [`ConnectionOptions`]; the answer records where each setting came from:
//!
//! ```no_run
//! # async fn example() -> Result<(), kitaru_client::ConnectError> {
//! let (connection, client) = kitaru_client::ConnectionOptions::new().connect().await?;
//! println!("connected to {connection}");
//! # Ok(())
//! # }
//! ```
//!
//! Every list request is [`paging::Paged`]: `.stream()` streams its items
//! over the server's pages and `.all()` collects them. [`ApiError`] is what
//! the server said when a request failed, and [`CliConfigFile`] reads and
//! writes the CLI's config files.
//!
//! Timestamps decode into [`Timestamp`], which reads the server's
//! offset-less values as UTC. Error answers decode into
//! [`types::ErrorBody`], whatever shape the server gave them. The API's
//! string enums are open: a value a newer server adds (a new run status,
//! a new stack component type) decodes as their `Unrecognized(String)`
//! variant, e.g. [`types::ExecutionStatus::Unrecognized`], instead of
//! failing the whole answer.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

/// The crate's README (its page on crates.io), whose example compiles as a
/// doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

mod api_error;
mod artifacts;
pub mod cli_config;
pub mod connection;
pub mod events;
pub mod operations;
pub mod paging;
pub mod session;
pub mod timestamp;

/// The generated client: [`Client`], its request builders, and the API's
/// types. Generated code, so lints that judge style are off here.
#[allow(
    clippy::all,
    clippy::pedantic,
    missing_docs,
    unused_imports,
    unused_mut,
    dead_code,
    rustdoc::all
)]
mod generated {
    include!(concat!(env!("OUT_DIR"), "/kitaru_client.rs"));
}

pub use api_error::{ApiError, error_detail};
pub use cli_config::{CliConfigError, CliConfigFile};
pub use connection::{ConnectError, ConnectionOptions, ResolvedConnection};
pub use generated::{
    ByteStream, Client, ClientInfo, Error, ResponseValue, builder, prelude, types,
};
pub use operations::{CallError, OPERATIONS, Operation};
pub use session::{ApiToken, Credentials, Secret, Session};
pub use timestamp::Timestamp;

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::types;

    #[test]
    fn resources_embed_each_other_in_boxes() {
        // By value, a run held every resource it can reach (23 KB), and a
        // debug build needed over 2 MiB of stack to decode one.
        assert!(std::mem::size_of::<types::PipelineRunResponse>() < 4096);
        assert!(std::mem::size_of::<types::StepRunResponse>() < 4096);
    }

    #[test]
    fn a_status_a_newer_server_added_decodes_as_unrecognized() {
        let status: types::ExecutionStatus = serde_json::from_value(json!("hibernating")).unwrap();
        assert_eq!(
            status,
            types::ExecutionStatus::Unrecognized("hibernating".into())
        );
        assert_eq!(serde_json::to_value(&status).unwrap(), json!("hibernating"));
    }

    #[test]
    fn a_known_status_decodes_to_its_variant_and_back() {
        let status: types::ExecutionStatus = serde_json::from_value(json!("running")).unwrap();
        assert_eq!(status, types::ExecutionStatus::Running);
        assert_eq!(status.to_string(), "running");
        assert_eq!(serde_json::to_value(&status).unwrap(), json!("running"));
    }

    fn trigger_body(extra: serde_json::Value) -> serde_json::Value {
        let mut body = json!({
            "name": "nightly",
            "created": "2026-11-24T18:28:43.428560",
            "updated": "2026-11-24T18:28:43.428560",
            "project_id": "42672a87-bde6-4358-957a-915c9bc92815",
            "is_archived": false,
        });
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        json!({ "id": "b596d793-8d5c-4f0c-bb33-96066b3548be", "body": body })
    }

    #[test]
    fn a_platform_event_trigger_is_not_mistaken_for_a_schedule_trigger() {
        let answer = trigger_body(json!({
            "type": "platform_event",
            "flavor": "platform event",
            "source_entity": { "type": "pipeline", "id": "42672a87-bde6-4358-957a-915c9bc92815" },
            "target_events": ["run_completed"],
        }));
        let trigger: types::GetTriggerResponse = serde_json::from_value(answer).unwrap();
        assert!(
            matches!(
                trigger,
                types::GetTriggerResponse::PlatformEventTriggerResponse(_)
            ),
            "{trigger:?}"
        );
    }

    #[test]
    fn a_schedule_trigger_decodes_as_one() {
        let answer = trigger_body(
            json!({ "type": "schedule", "flavor": "native schedule", "cron_expression": "0 3 * * *" }),
        );
        let trigger: types::GetTriggerResponse = serde_json::from_value(answer).unwrap();
        assert!(
            matches!(
                trigger,
                types::GetTriggerResponse::ScheduleTriggerResponse(_)
            ),
            "{trigger:?}"
        );
    }

    #[test]
    fn both_error_shapes_of_the_server_decode() {
        let handler: types::ErrorBody =
            serde_json::from_value(json!({ "detail": ["KeyError", "no run"] })).unwrap();
        assert_eq!(handler.0["detail"][0], "KeyError");
        let rejected: types::ErrorBody =
            serde_json::from_value(json!(["ValueError", "bad size"])).unwrap();
        assert_eq!(rejected.0[1], "bad size");
    }
}
