//! Every setting of kitaru-mcp, in one place: read once at start from the
//! command line and the environment (each flag has its `KITARU_MCP_*`
//! variable), shown by `--help` with its default, listed in
//! `docs/operations.md`. Nothing reads the environment at call time.
//!
//! The transport and policy settings go to the server as it is built; the
//! limits the tools apply deep inside a call (sizes, timeouts, polling, the
//! audit log, the task key) are [installed](crate::limits::install) once
//! for the process.

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

use crate::limits::{self, Limits};
use crate::selection::ToolSelection;

/// Kitaru MCP server: lets AI assistants drive Kitaru executions (run,
/// replay, retry, watch), their checkpoints, waits and logs, artifacts,
/// durable memory, deployments, secrets and stacks.
///
/// It speaks the Model Context Protocol over stdin/stdout and connects to the
/// Kitaru server the way the `kitaru` CLI does: `kitaru login`, or
/// KITARU_SERVER_URL, KITARU_AUTH_TOKEN (a service-account API key) and
/// KITARU_PROJECT.
#[derive(Clone, Debug, Parser)]
#[command(
    name = "kitaru-mcp",
    version = concat!(
        env!("CARGO_PKG_VERSION"),
        " (Kitaru server APIs: ZenML ",
        env!("KITARU_SERVER_API_VERSIONS"),
        ")"
    ),
    about,
    long_about,
    after_long_help = tool_list()
)]
pub struct Settings {
    /// The toolsets to offer, comma-separated: names from the list below,
    /// `all`, and `-name` to leave one out (`-stacks`). Exclusions win. The
    /// server's API is opt-in and adds to these: `api:<tag>` (`api:runs`),
    /// `api:all`, `api:discovery` (search, describe, call).
    #[arg(
        long,
        env = "KITARU_MCP_TOOLSETS",
        default_value = "all",
        allow_hyphen_values = true,
        value_parser = ToolSelection::parse
    )]
    pub toolsets: ToolSelection,

    /// Offer only the tools that change nothing.
    #[arg(long, env = "KITARU_MCP_READ_ONLY")]
    pub read_only: bool,

    /// Serve MCP over streamable HTTP at this address instead of stdio: a
    /// port (on 127.0.0.1) or `IP:PORT` (`0.0.0.0:8765` to serve other
    /// machines). Stateless; each request authenticates with the caller's
    /// Kitaru credentials (`Authorization: Bearer <API key or token>`).
    #[arg(long, env = "KITARU_MCP_HTTP", value_name = "ADDR", value_parser = http_address)]
    pub http: Option<std::net::SocketAddr>,

    /// With --http: the `Host` header values served (host or host:port),
    /// comma-separated; loopback names by default. Needed behind a proxy or
    /// on a public address.
    #[arg(long, env = "KITARU_MCP_ALLOWED_HOSTS", value_delimiter = ',')]
    pub allowed_hosts: Vec<String>,

    /// With --http: browser origins allowed to call (`https://app.example.com:443`),
    /// comma-separated; requests from any other origin are refused.
    #[arg(long, env = "KITARU_MCP_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Vec<String>,

    /// Log filter for stderr, e.g. `info` or `kitaru_mcp=debug`.
    #[arg(long, env = "KITARU_MCP_LOG", default_value = "warn")]
    pub log: String,

    /// Where each tool call is recorded as one JSON line (the tool, the
    /// names of its arguments — never their values —, the outcome, the
    /// time taken): `stderr` or a file appended to. Off by default.
    #[arg(long, env = "KITARU_MCP_AUDIT_LOG", value_name = "stderr|PATH")]
    pub audit_log: Option<String>,

    /// How many items a list returns when the call gives no `limit`; set,
    /// it also lifts the default cut of such a list at 10,000 bytes.
    /// By default each list tool's own count (executions 15, artifacts 100).
    #[arg(long, env = "KITARU_MCP_LIST_SIZE", value_name = "N", value_parser = positive)]
    pub list_size: Option<usize>,

    /// The most bytes of a stored value's JSON a result carries; a larger
    /// value is cut and the result says so.
    #[arg(long, env = "KITARU_MCP_VALUE_BYTES", value_name = "BYTES", default_value_t = limits::VALUE_BYTES, value_parser = positive)]
    pub value_bytes: usize,

    /// The most bytes of JSON an `api_*` tool's answer carries; a page
    /// keeps the items that fit.
    #[arg(long, env = "KITARU_MCP_API_RESULT_BYTES", value_name = "BYTES", default_value_t = limits::API_RESULT_BYTES, value_parser = positive)]
    pub api_result_bytes: usize,

    /// How long one tool call may take, in seconds (fractions allowed);
    /// then it is stopped and answers a `timeout` error.
    #[arg(long, env = "KITARU_MCP_CALL_TIMEOUT", value_name = "SECONDS", default_value_t = limits::CALL_TIMEOUT_SECONDS, value_parser = seconds)]
    pub call_timeout: f64,

    /// How long replay and retry follow the execution they start before
    /// they answer with it (still running), in seconds.
    #[arg(long, env = "KITARU_MCP_WAIT_SECONDS", value_name = "SECONDS", default_value_t = limits::WAIT_SECONDS)]
    pub wait_seconds: u64,

    /// How often subscribed executions are polled where the Kitaru server
    /// does not stream their events, in seconds (fractions allowed).
    #[arg(long, env = "KITARU_MCP_POLL_SECONDS", value_name = "SECONDS", default_value_t = limits::POLL_SECONDS, value_parser = seconds)]
    pub poll_seconds: f64,

    /// The most executions one server watches for subscribers at once
    /// (each is an event stream, or a request per poll).
    #[arg(long, env = "KITARU_MCP_MAX_SUBSCRIPTIONS", value_name = "N", default_value_t = limits::MAX_SUBSCRIPTIONS)]
    pub max_subscriptions: usize,

    /// The file of the key task ids are signed with; by default
    /// `$XDG_STATE_HOME/kitaru-mcp/task-key`. Point several instances at
    /// one file to let them answer for each other's tasks.
    #[arg(long, env = "KITARU_MCP_TASK_KEY_FILE", value_name = "PATH", value_parser = path)]
    pub task_key_file: Option<PathBuf>,

    /// Where flows run through the user's Kitaru Python write their output
    /// and reports; by default `$XDG_STATE_HOME/kitaru-mcp/jobs`.
    #[arg(long, env = "KITARU_MCP_JOBS_DIR", value_name = "PATH", value_parser = path)]
    pub jobs_dir: Option<PathBuf>,

    /// Something else than serving MCP.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// What kitaru-mcp does instead of serving MCP.
#[derive(Clone, Debug, clap::Subcommand)]
pub enum Command {
    /// Prints the entry that registers this binary with an MCP client, or
    /// merges it into the client's configuration file (--write).
    ///
    /// The entry starts this binary by its absolute path with the server
    /// flags given before `config` (`kitaru-mcp --read-only config cursor`);
    /// writing keeps everything else the file holds.
    Config {
        /// The client.
        client: crate::client_setup::McpClient,
        /// Merge the entry into the client's configuration file instead of
        /// printing it.
        #[arg(long)]
        write: bool,
        /// The server's name in the client.
        #[arg(long, default_value = "kitaru")]
        name: String,
    },
}

impl Settings {
    /// The toolsets and mode to serve.
    pub fn selection(&self) -> ToolSelection {
        self.toolsets.clone().read_only(self.read_only)
    }

    /// The limits the tools apply, for [`crate::limits::install`].
    pub fn limits(&self) -> Limits {
        Limits {
            audit_log: self
                .audit_log
                .clone()
                .filter(|target| !target.trim().is_empty()),
            list_size: self.list_size,
            value_bytes: self.value_bytes,
            api_result_bytes: self.api_result_bytes,
            call_timeout: Duration::from_secs_f64(self.call_timeout),
            wait_seconds: self.wait_seconds,
            poll_interval: Duration::from_secs_f64(self.poll_seconds),
            max_subscriptions: self.max_subscriptions,
            task_key_file: self.task_key_file.clone(),
            jobs_dir: self.jobs_dir.clone(),
        }
    }
}

/// `--http`: a port alone listens on 127.0.0.1.
fn http_address(text: &str) -> Result<std::net::SocketAddr, String> {
    if let Ok(port) = text.trim().parse::<u16>() {
        return Ok(std::net::SocketAddr::from(([127, 0, 0, 1], port)));
    }
    text.trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a port or an IP:PORT address"))
}

/// A path, not empty.
fn path(text: &str) -> Result<PathBuf, String> {
    if text.trim().is_empty() {
        return Err("an empty path".to_owned());
    }
    Ok(PathBuf::from(text))
}

/// A whole number above zero.
fn positive(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(number) if number > 0 => Ok(number),
        _ => Err(format!("`{text}` is not a whole number above 0")),
    }
}

/// Seconds above zero, fractions allowed.
fn seconds(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(seconds) if seconds.is_finite() && seconds > 0.0 && seconds < 1e9 => Ok(seconds),
        _ => Err(format!("`{text}` is not a number of seconds above 0")),
    }
}

/// The tools, by toolset, for `--help`.
fn tool_list() -> String {
    let mut text = String::from("Tools:");
    for toolset in crate::catalog::TOOLSETS {
        text.push_str(&format!("\n  {}:", toolset.name));
        for tool in toolset.tools() {
            text.push_str(&format!("\n    {:<28} {}", tool.name, tool.title));
        }
    }
    text.push_str(&format!(
        "\n\nOpt-in API toolsets (one tool per operation of the server's API):\n  {}, {}, {}",
        crate::catalog::api::ALL_TOOLSET,
        crate::catalog::api::DISCOVERY_TOOLSET,
        crate::catalog::api::toolsets().join(", ")
    ));
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn defaults_are_the_documented_ones() {
        let limits = Settings::parse_from(["kitaru-mcp"]).limits();
        assert_eq!(limits, Limits::default());
        assert_eq!(limits.value_bytes, 8_000);
        assert_eq!(limits.api_result_bytes, 20_000);
        assert_eq!(limits.call_timeout, Duration::from_secs(600));
        assert_eq!(limits.wait_seconds, 60);
        assert_eq!(limits.poll_interval, Duration::from_secs(5));
        assert_eq!(limits.max_subscriptions, 64);
        assert_eq!(
            (limits.list_size, limits.audit_log, limits.task_key_file),
            (None, None, None)
        );
    }

    #[test]
    fn bad_values_are_refused_naming_the_value() {
        for (flag, value) in [
            ("--value-bytes", "0"),
            ("--list-size", "many"),
            ("--call-timeout", "-1"),
            ("--poll-seconds", "inf"),
        ] {
            let argument = format!("{flag}={value}");
            let error = Settings::try_parse_from(["kitaru-mcp", &argument]).unwrap_err();
            assert!(error.to_string().contains(&format!("`{value}`")), "{error}");
        }
        let fine = Settings::try_parse_from(["kitaru-mcp", "--call-timeout", "0.5"]).unwrap();
        assert_eq!(fine.limits().call_timeout, Duration::from_millis(500));
    }

    /// Every setting has its variable, and the operations guide lists it.
    #[test]
    fn every_setting_has_a_variable_listed_in_the_docs() {
        let docs = include_str!("../docs/operations.md");
        let command = Settings::command();
        for argument in command.get_arguments() {
            let id = argument.get_id().as_str();
            if ["help", "version"].contains(&id) {
                continue;
            }
            let variable = argument
                .get_env()
                .unwrap_or_else(|| panic!("--{id} has no variable"))
                .to_string_lossy()
                .into_owned();
            assert!(variable.starts_with("KITARU_MCP_"), "{variable}");
            assert!(
                docs.contains(&variable),
                "docs/operations.md does not list {variable}"
            );
        }
    }
}
