//! `kitaru-mcp`: the Kitaru MCP server over stdio (or streamable HTTP with
//! `--http`).
//!
//! stdout carries protocol messages only; every log line goes to stderr.

use anyhow::Context;
use clap::Parser;
use rmcp::ServiceExt;

use kitaru_client::ConnectionOptions;
use kitaru_mcp::selection::ToolSelection;
use kitaru_mcp::server::KitaruServer;
use kitaru_mcp::tools::TOOLSETS;

/// Kitaru MCP server: lets AI assistants drive Kitaru executions (run,
/// replay, retry, watch), their checkpoints, waits and logs, artifacts,
/// durable memory, deployments, secrets and stacks.
///
/// It speaks the Model Context Protocol over stdin/stdout and connects to the
/// Kitaru server the way the `kitaru` CLI does: `kitaru login`, or
/// KITARU_SERVER_URL, KITARU_AUTH_TOKEN (a service-account API key) and
/// KITARU_PROJECT.
#[derive(Debug, Parser)]
#[command(
    name = "kitaru-mcp",
    version = concat!(
        env!("CARGO_PKG_VERSION"),
        " (Kitaru server API ",
        env!("KITARU_SERVER_API_VERSION"),
        ")"
    ),
    about,
    long_about,
    after_long_help = tool_list()
)]
struct Args {
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
    toolsets: ToolSelection,

    /// Offer only the tools that change nothing.
    #[arg(long, env = "KITARU_MCP_READ_ONLY")]
    read_only: bool,

    /// Serve MCP over streamable HTTP at this address instead of stdio: a
    /// port (on 127.0.0.1) or `IP:PORT` (`0.0.0.0:8765` to serve other
    /// machines). Stateless; each request authenticates with the caller's
    /// Kitaru credentials (`Authorization: Bearer <API key or token>`).
    #[arg(long, env = "KITARU_MCP_HTTP", value_name = "ADDR", value_parser = http_address)]
    http: Option<std::net::SocketAddr>,

    /// With --http: the `Host` header values served (host or host:port),
    /// comma-separated; loopback names by default. Needed behind a proxy or
    /// on a public address.
    #[arg(long, env = "KITARU_MCP_ALLOWED_HOSTS", value_delimiter = ',')]
    allowed_hosts: Vec<String>,

    /// With --http: browser origins allowed to call (`https://app.example.com:443`),
    /// comma-separated; requests from any other origin are refused.
    #[arg(long, env = "KITARU_MCP_ALLOWED_ORIGINS", value_delimiter = ',')]
    allowed_origins: Vec<String>,

    /// Log filter for stderr, e.g. `info` or `kitaru_mcp=debug`.
    #[arg(long, env = "KITARU_MCP_LOG", default_value = "warn")]
    log: String,
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

/// The tools, by toolset, for `--help`.
fn tool_list() -> String {
    let mut text = String::from("Tools:");
    for toolset in TOOLSETS {
        text.push_str(&format!("\n  {}:", toolset.name));
        for tool in toolset.tools() {
            text.push_str(&format!("\n    {:<28} {}", tool.name, tool.title));
        }
    }
    text.push_str(&format!(
        "\n\nOpt-in API toolsets (one tool per operation of the server's API):\n  {}, {}, {}",
        kitaru_mcp::api_tools::ALL_TOOLSET,
        kitaru_mcp::api_tools::DISCOVERY_TOOLSET,
        kitaru_mcp::api_tools::toolsets().join(", ")
    ));
    text
}

fn main() -> anyhow::Result<()> {
    keep_stderr_away_from_other_files();
    let args = Args::parse();
    // Default thread stacks: the generated client boxes the resources that
    // answers embed, so decoding fits them in debug builds too
    // (tests/real_server/small_stack.rs).
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let outcome = runtime.block_on(serve(args));
    // A read of stdin may still be blocked in a worker thread (after a
    // signal, say): do not wait for it.
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    outcome
}

/// A process started with stderr closed would hand file descriptor 2 to
/// the first file or socket it opens, and log lines would go into it (a
/// connection to the Kitaru server, say). Opening `/dev/null` first puts it
/// in that slot for good when the slot is free.
fn keep_stderr_away_from_other_files() {
    #[cfg(unix)]
    {
        use std::os::fd::{AsRawFd, IntoRawFd};
        if let Ok(null) = std::fs::OpenOptions::new().write(true).open("/dev/null")
            && null.as_raw_fd() == 2
        {
            // Keep it open: it is stderr now.
            let _ = null.into_raw_fd();
        }
    }
}

async fn serve(args: Args) -> anyhow::Result<()> {
    // Logs go through a bounded queue to a thread of their own: a client
    // that never reads stderr (or has closed it) costs log lines, never a
    // reply, and a failed write is dropped rather than panicking.
    // 1,024 lines rather than the default 128,000: the queue is allocated
    // (and touched) up front, 4 MiB and a third of the start-up time.
    let (stderr, _flush_on_exit) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(true)
        .buffered_lines_limit(1_024)
        .finish(std::io::stderr());
    kitaru_mcp::logging::init(&args.log, stderr).map_err(anyhow::Error::msg)?;

    let selection = args.toolsets.read_only(args.read_only);
    tracing::info!(toolsets = ?selection.offered_toolsets(), "offering");
    if let Some(address) = args.http {
        tracing::info!(version = env!("CARGO_PKG_VERSION"), %address, "kitaru-mcp starting on HTTP");
        let settings = kitaru_mcp::http::HttpSettings {
            address,
            allowed_hosts: args.allowed_hosts,
            allowed_origins: args.allowed_origins,
        };
        return kitaru_mcp::http::serve(settings, ConnectionOptions::new(), selection).await;
    }
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        "kitaru-mcp starting on stdio"
    );
    let (transport, written) = kitaru_mcp::transport::stdio();
    let service = match KitaruServer::with_selection(ConnectionOptions::new(), selection)
        .serve(transport)
        .await
    {
        Ok(service) => service,
        // The client went away before the handshake: nothing to report.
        Err(rmcp::service::ServerInitializeError::ConnectionClosed(_)) => {
            tracing::info!("stdin closed before initialize");
            return Ok(());
        }
        Err(error) => return Err(error).context("MCP initialisation over stdio failed"),
    };
    let stop = service.cancellation_token();
    let session = service.waiting();
    tokio::pin!(session);
    let ended = tokio::select! {
        ended = &mut session => ended,
        signal = shutdown_signal() => {
            tracing::info!("{signal}: finishing the calls under way");
            finish_calls_in_flight().await;
            stop.cancel();
            session.await
        }
    };
    // The session's transport is gone: the writer writes what is left, then
    // stops.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), written).await;
    ended.context("MCP session ended with an error")?;
    Ok(())
}

/// How long a SIGTERM or SIGINT waits for the calls under way.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// SIGTERM or SIGINT (Ctrl-C), whichever comes first; its name.
async fn shutdown_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            (Ok(mut term), Ok(mut int)) => tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = int.recv() => "SIGINT",
            },
            _ => std::future::pending().await,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "Ctrl-C"
    }
}

/// Waits until no tool call is under way, or [`SHUTDOWN_GRACE`] has passed.
async fn finish_calls_in_flight() {
    let deadline = tokio::time::Instant::now() + SHUTDOWN_GRACE;
    while kitaru_mcp::tools::calls_in_flight() > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
