//! Starting and stopping the local Kitaru server (the daemon `kitaru login`
//! starts without a URL). The daemon's lifecycle is Kitaru Python's, so
//! both go through the [bridge](crate::bridge); the checks are made here,
//! and stopping when no daemon is registered needs no Python at all.
//!
//! Both change which server the CLI config points at; a [`Connector`] is
//! reset afterwards, so that its next call connects to the new target.

use std::time::Duration;

use kitaru_client::connection::ProcessEnv;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::bridge::{Job, config_env};
use crate::executions::LaunchOptions;
use crate::status::config_files::ConfigLocations;
use crate::status::local_server::LocalServer;
use crate::{Connector, Error};

/// Time for the Python side to import Kitaru, on top of the daemon's start.
const IMPORT_ALLOWANCE: Duration = Duration::from_secs(120);

/// The local server after [`start`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct LocalServerStarted {
    /// Always `local`.
    pub mode: String,
    /// Its URL, e.g. `http://127.0.0.1:8383`.
    pub url: String,
    /// `connected` (it was running already), `started` or `restarted` (on
    /// another port).
    pub action: String,
}

/// The outcome of [`stop`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct LocalServerStopped {
    /// Whether a registered local server was stopped.
    pub stopped: bool,
    /// Its URL; null when none was registered.
    pub url: Option<String>,
}

/// Starts the local server on `port` (8383 when `None`), or connects to it
/// when it already runs there, waiting up to `timeout` seconds for it
/// (`kitaru_start_local_server`). One running on another port is stopped
/// first. The CLI config then points at it, and `connector` follows.
/// `options` say which Kitaru Python manages the daemon (`settle` is not
/// used).
pub async fn start(
    connector: &Connector,
    port: Option<i64>,
    timeout: i64,
    options: &LaunchOptions,
) -> Result<LocalServerStarted, Error> {
    if timeout < 1 {
        return Err(Error::argument("timeout", "`--timeout` must be >= 1."));
    }
    if port.is_some_and(|port| !(1..=65_535).contains(&port)) {
        return Err(Error::argument(
            "port",
            "`--port` must be between 1 and 65535.",
        ));
    }
    let request = json!({"port": port, "timeout": timeout});
    let mut job = Job::start(
        &options.job_options().await?,
        config_env(connector.options()),
        "start_local_server",
        &request,
    )?;
    let wait = Duration::from_secs(u64::try_from(timeout).unwrap_or(1)) + IMPORT_ALLOWANCE;
    let done = job.until("done", wait).await;
    connector.reset().await;
    let result = &done?["result"];
    Ok(LocalServerStarted {
        mode: "local".to_owned(),
        url: result["url"].as_str().unwrap_or_default().to_owned(),
        action: result["action"].as_str().unwrap_or_default().to_owned(),
    })
}

/// Stops the registered local server, if there is one
/// (`kitaru_stop_local_server`); the CLI config is reset to the local
/// database when it pointed at it, and `connector` follows. Python runs
/// only when a local server is registered.
pub async fn stop(
    connector: &Connector,
    options: &LaunchOptions,
) -> Result<LocalServerStopped, Error> {
    let stopped = stop_registered(connector, options).await;
    connector.reset().await;
    stopped
}

async fn stop_registered(
    connector: &Connector,
    options: &LaunchOptions,
) -> Result<LocalServerStopped, Error> {
    let files = ConfigLocations::discover(connector.options(), &ProcessEnv);
    if let Ok(dir) = &files.config_dir
        && LocalServer::probe(dir).await == LocalServer::NotStarted
    {
        return Ok(LocalServerStopped {
            stopped: false,
            url: None,
        });
    }
    let mut job = Job::start(
        &options.job_options().await?,
        config_env(connector.options()),
        "stop_local_server",
        &json!({}),
    )?;
    let done = job.until("done", IMPORT_ALLOWANCE).await?;
    let result = &done["result"];
    Ok(LocalServerStopped {
        stopped: result["stopped"].as_bool().unwrap_or(false),
        url: result["url"].as_str().map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bridge::Python;

    fn nowhere() -> LaunchOptions {
        LaunchOptions {
            python: Some(Python {
                path: "/nonexistent/python".into(),
                version: String::new(),
                found_by: "test".to_owned(),
            }),
            ..LaunchOptions::default()
        }
    }

    #[tokio::test]
    async fn bad_ports_and_timeouts_are_refused_before_python_runs() {
        let connector = Connector::default();
        for (port, timeout, expected) in [
            (None, 0, "`--timeout` must be >= 1."),
            (Some(0), 60, "`--port` must be between 1 and 65535."),
            (Some(65_536), 60, "`--port` must be between 1 and 65535."),
        ] {
            let error = start(&connector, port, timeout, &nowhere())
                .await
                .unwrap_err();
            assert!(error.to_string().ends_with(expected), "{error}");
            assert_eq!(error.kind(), crate::ErrorKind::InvalidArgument);
        }
    }
}
