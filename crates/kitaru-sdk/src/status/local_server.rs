//! The local Kitaru server that `kitaru login` (without a URL) starts: a
//! daemon registered in `<config-dir>/zen_server/daemon/service.json`.
//!
//! It counts as running when its process is alive and `HEAD <url>/health`
//! answers 200, as the CLI checks it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// Where the daemon's registration lives, below the config directory.
const DAEMON_DIR: [&str; 2] = ["zen_server", "daemon"];
/// How long the health check may take, as the CLI allows.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(5);
/// What the CLI says of a daemon whose process is gone.
const NOT_RUNNING: &str = "service daemon is not running";

/// What the config directory says about a local server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum LocalServer {
    /// None is registered.
    NotStarted,
    /// One is registered (it may or may not be up).
    Registered(Daemon),
    /// The registration cannot be read.
    Unreadable,
}

/// A registered daemon and its state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Daemon {
    /// How it is deployed: `daemon`.
    provider: String,
    /// The URL it was configured to serve on.
    configured_url: Option<String>,
    /// Whether it answers, and why not.
    state: DaemonState,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum DaemonState {
    /// Its process is alive and it answers its health check at this URL.
    Running { url: String },
    /// It does not answer; the message says why, when known.
    Down { message: Option<String> },
}

/// `service.json`, as much of it as tells where the daemon is.
#[derive(Deserialize)]
struct ServiceFile {
    config: ServiceConfig,
    #[serde(default)]
    status: Option<ServiceStatus>,
    #[serde(default)]
    endpoint: Option<Endpoint>,
}

#[derive(Deserialize)]
struct ServiceConfig {
    #[serde(default)]
    root_runtime_path: Option<PathBuf>,
    server: ServerConfig,
}

#[derive(Deserialize)]
struct ServerConfig {
    provider: String,
    #[serde(default)]
    ip_address: Option<String>,
    #[serde(default)]
    port: Option<u16>,
}

#[derive(Deserialize)]
struct ServiceStatus {
    #[serde(default)]
    runtime_path: Option<PathBuf>,
}

#[derive(Deserialize)]
struct Endpoint {
    #[serde(default)]
    status: Option<EndpointStatus>,
}

#[derive(Deserialize)]
struct EndpointStatus {
    protocol: Option<String>,
    hostname: Option<String>,
    port: Option<u16>,
}

impl ServiceFile {
    /// The URL the daemon serves on, from its endpoint's recorded status.
    fn endpoint_url(&self) -> Option<String> {
        let status = self.endpoint.as_ref()?.status.as_ref()?;
        let host = match status.hostname.as_deref()? {
            "0.0.0.0" => "127.0.0.1",
            host => host,
        };
        Some(format!(
            "{}://{host}:{}",
            status.protocol.as_deref()?,
            status.port?
        ))
    }

    /// The URL it was configured to serve on.
    fn configured_url(&self) -> Option<String> {
        let server = &self.config.server;
        let host = server.ip_address.as_deref().unwrap_or("127.0.0.1");
        server.port.map(|port| format!("http://{host}:{port}"))
    }

    /// The daemon's pid file.
    fn pid_file(&self, daemon_dir: &Path) -> PathBuf {
        self.status
            .as_ref()
            .and_then(|status| status.runtime_path.clone())
            .or_else(|| self.config.root_runtime_path.clone())
            .unwrap_or_else(|| daemon_dir.to_owned())
            .join("service.pid")
    }
}

impl LocalServer {
    /// Reads the registration below `config_dir` and checks whether the
    /// daemon is up.
    pub(crate) async fn probe(config_dir: &Path) -> Self {
        let daemon_dir = DAEMON_DIR
            .iter()
            .fold(config_dir.to_owned(), |dir, part| dir.join(part));
        let text = match std::fs::read_to_string(daemon_dir.join("service.json")) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Self::NotStarted,
            Err(error) => {
                tracing::debug!("cannot read the local server's registration: {error}");
                return Self::Unreadable;
            }
        };
        let service: ServiceFile = match serde_json::from_str(&text) {
            Ok(service) => service,
            Err(error) => {
                tracing::debug!("cannot parse the local server's registration: {error}");
                return Self::Unreadable;
            }
        };
        let state = if process_alive(&service.pid_file(&daemon_dir)) == Some(false) {
            DaemonState::Down {
                message: Some(NOT_RUNNING.to_owned()),
            }
        } else {
            match service.endpoint_url() {
                Some(url) if healthy(&url).await => DaemonState::Running { url },
                _ => DaemonState::Down { message: None },
            }
        };
        Self::Registered(Daemon {
            provider: service.config.server.provider.clone(),
            configured_url: service.configured_url(),
            state,
        })
    }

    /// The URL of the daemon if it is up.
    pub(crate) fn running_url(&self) -> Option<&str> {
        match self {
            Self::Registered(Daemon {
                state: DaemonState::Running { url },
                ..
            }) => Some(url),
            _ => None,
        }
    }

    /// The state as the status report words it: `not started`,
    /// `running at <url> (<provider>)`, `registered but unavailable
    /// (<provider>[: <why>])`, `unknown (query failed)`.
    pub(crate) fn describe(&self) -> String {
        match self {
            Self::NotStarted => "not started".to_owned(),
            Self::Unreadable => "unknown (query failed)".to_owned(),
            Self::Registered(daemon) => match &daemon.state {
                DaemonState::Running { url } => format!("running at {url} ({})", daemon.provider),
                DaemonState::Down { message: Some(why) } => {
                    format!("registered but unavailable ({}: {why})", daemon.provider)
                }
                DaemonState::Down { message: None } => {
                    format!("registered but unavailable ({})", daemon.provider)
                }
            },
        }
    }

    /// The state as the clean preview words it: `not running`,
    /// `running at <url>`, `registered but not running`.
    pub(crate) fn describe_for_clean(&self) -> Option<String> {
        match self {
            Self::NotStarted => Some("not running".to_owned()),
            Self::Unreadable => None,
            Self::Registered(daemon) => Some(match &daemon.state {
                DaemonState::Running { url } => format!("running at {url}"),
                DaemonState::Down { .. } => "registered but not running".to_owned(),
            }),
        }
    }

    /// Whether `url` points at a registered daemon that is down: a stale
    /// connection left behind by `kitaru login`.
    pub(crate) fn is_stale_url(&self, url: &str) -> bool {
        let Self::Registered(daemon) = self else {
            return false;
        };
        matches!(daemon.state, DaemonState::Down { .. })
            && localhost_identity(url).is_some()
            && localhost_identity(url)
                == daemon
                    .configured_url
                    .as_deref()
                    .and_then(localhost_identity)
    }
}

/// The port of a URL on this machine (any loopback name); `None` for other
/// hosts.
fn localhost_identity(url: &str) -> Option<u16> {
    let url = url::Url::parse(url).ok()?;
    let loopback = matches!(url.host_str()?, "127.0.0.1" | "localhost" | "::1" | "[::1]");
    loopback.then(|| url.port_or_known_default()).flatten()
}

/// Whether the pid file names a live daemon process; `None` when this
/// platform cannot tell (then only the health check decides).
fn process_alive(pid_file: &Path) -> Option<bool> {
    let Some(pid) = std::fs::read_to_string(pid_file)
        .ok()
        .and_then(|text| text.trim().parse::<u32>().ok())
    else {
        return Some(false);
    };
    if !cfg!(target_os = "linux") {
        return None;
    }
    // A reused pid must not pass for the daemon: its command line names the
    // daemon's entry point.
    Some(
        std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|cmdline| {
            String::from_utf8_lossy(&cmdline).contains("local_daemon_entrypoint")
        }),
    )
}

/// Whether `HEAD <url>/health` answers 200 within the timeout. The daemon
/// is on this machine, so no proxy is asked.
async fn healthy(url: &str) -> bool {
    let Ok(http) = reqwest::Client::builder()
        .timeout(HEALTH_TIMEOUT)
        .no_proxy()
        .build()
    else {
        return false;
    };
    let health = format!("{}/health", url.trim_end_matches('/'));
    http.head(&health)
        .send()
        .await
        .is_ok_and(|answer| answer.status() == reqwest::StatusCode::OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn daemon(state: DaemonState) -> LocalServer {
        LocalServer::Registered(Daemon {
            provider: "daemon".into(),
            configured_url: Some("http://127.0.0.1:8383".into()),
            state,
        })
    }

    fn write_service(config_dir: &Path, port: u16) -> PathBuf {
        let daemon_dir = config_dir.join("zen_server").join("daemon");
        std::fs::create_dir_all(&daemon_dir).unwrap();
        let service = serde_json::json!({
            "config": {
                "root_runtime_path": daemon_dir,
                "server": {"provider": "daemon", "port": port, "ip_address": "127.0.0.1"},
            },
            "status": {"runtime_path": daemon_dir},
            "endpoint": {"status": {"protocol": "http", "hostname": "127.0.0.1", "port": port}},
        });
        std::fs::write(daemon_dir.join("service.json"), service.to_string()).unwrap();
        daemon_dir
    }

    #[test]
    fn states_are_worded_as_the_cli_words_them() {
        let running = daemon(DaemonState::Running {
            url: "http://127.0.0.1:8383".into(),
        });
        assert_eq!(
            running.describe(),
            "running at http://127.0.0.1:8383 (daemon)"
        );
        assert_eq!(
            running.describe_for_clean().unwrap(),
            "running at http://127.0.0.1:8383"
        );
        let gone = daemon(DaemonState::Down {
            message: Some(NOT_RUNNING.into()),
        });
        assert_eq!(
            gone.describe(),
            "registered but unavailable (daemon: service daemon is not running)"
        );
        assert_eq!(
            gone.describe_for_clean().unwrap(),
            "registered but not running"
        );
        let silent = daemon(DaemonState::Down { message: None });
        assert_eq!(silent.describe(), "registered but unavailable (daemon)");
        assert_eq!(LocalServer::NotStarted.describe(), "not started");
        assert_eq!(
            LocalServer::NotStarted.describe_for_clean().unwrap(),
            "not running"
        );
        assert_eq!(LocalServer::Unreadable.describe(), "unknown (query failed)");
    }

    #[test]
    fn a_url_of_a_stopped_daemon_is_stale_whatever_loopback_name_it_uses() {
        let stopped = daemon(DaemonState::Down { message: None });
        assert!(stopped.is_stale_url("http://localhost:8383"));
        assert!(stopped.is_stale_url("http://127.0.0.1:8383/"));
        assert!(!stopped.is_stale_url("http://127.0.0.1:8384"));
        assert!(!stopped.is_stale_url("https://kitaru.example.com"));
        let running = daemon(DaemonState::Running {
            url: "http://127.0.0.1:8383".into(),
        });
        assert!(!running.is_stale_url("http://127.0.0.1:8383"));
    }

    #[tokio::test]
    async fn no_registration_means_not_started() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            LocalServer::probe(dir.path()).await,
            LocalServer::NotStarted
        );
    }

    #[tokio::test]
    async fn a_registration_without_a_live_process_is_down() {
        let dir = tempfile::tempdir().unwrap();
        write_service(dir.path(), 1);
        let probed = LocalServer::probe(dir.path()).await;
        assert_eq!(
            probed.describe(),
            "registered but unavailable (daemon: service daemon is not running)"
        );
        assert!(probed.is_stale_url("http://localhost:1"));
    }

    #[tokio::test]
    async fn a_broken_registration_is_unreadable() {
        let dir = tempfile::tempdir().unwrap();
        let daemon_dir = write_service(dir.path(), 1);
        std::fs::write(daemon_dir.join("service.json"), "{").unwrap();
        assert_eq!(
            LocalServer::probe(dir.path()).await,
            LocalServer::Unreadable
        );
    }
}
