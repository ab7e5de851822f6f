//! `kitaru-mcp`: the Kitaru MCP server over stdio (or streamable HTTP with
//! `--http`).
//!
//! stdout carries protocol messages only; every log line goes to stderr.

use anyhow::Context;
use clap::Parser;
use rmcp::ServiceExt;

use kitaru_client::ConnectionOptions;
use kitaru_mcp::client_setup::{McpClient, Places, Written};
use kitaru_mcp::server::KitaruServer;
use kitaru_mcp::settings::{Command, Settings};

fn main() -> anyhow::Result<()> {
    keep_stderr_away_from_other_files();
    let settings = Settings::parse();
    if let Some(Command::Config {
        client,
        write,
        name,
    }) = &settings.command
    {
        return configure(*client, *write, name);
    }
    // Default thread stacks: the generated client boxes the resources that
    // answers embed, so decoding fits them in debug builds too
    // (tests/real_server/small_stack.rs).
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let outcome = runtime.block_on(serve(settings));
    // A read of stdin may still be blocked in a worker thread (after a
    // signal, say): do not wait for it.
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    outcome
}

/// `kitaru-mcp [server flags] config <client> [--write] [--name N]`: the
/// client's entry for this binary with those server flags, printed (the
/// JSON on stdout, where it goes and any install link on stderr) or merged
/// into the client's file.
fn configure(client: McpClient, write: bool, name: &str) -> anyhow::Result<()> {
    let name = name.trim();
    anyhow::ensure!(!name.is_empty(), "--name cannot be blank");
    let command = std::env::current_exe()
        .and_then(std::fs::canonicalize)
        .context("cannot tell where this binary is")?;
    let command = command
        .to_str()
        .context("this binary's path is not valid UTF-8")?;
    // The server flags: what came before `config`.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .take_while(|arg| arg != "config")
        .collect();
    anyhow::ensure!(
        !args
            .iter()
            .any(|arg| arg == "--http" || arg.starts_with("--http=")),
        "clients start kitaru-mcp over stdio: leave --http out of the entry"
    );
    let entry = client.entry(command, &args);
    let places = Places::of_this_process().map_err(anyhow::Error::msg)?;
    let file = client.file(&places);
    if write {
        let done = kitaru_mcp::client_setup::write(client, &file, name, &entry)
            .map_err(anyhow::Error::msg)?;
        let what = match done {
            Written::Created => "created it with",
            Written::Added => "added",
            Written::Replaced => "replaced",
            Written::Unchanged => "already had",
        };
        eprintln!("{}: {what} the server `{name}`", file.display());
        return Ok(());
    }
    println!("{:#}", client.snippet(name, &entry));
    eprintln!(
        "{} reads this from {} (merge it there, or run this again with --write)",
        client.name(),
        file.display()
    );
    if let Some(link) = client.install_link(name, &entry) {
        eprintln!("or install it in one click: {link}");
    }
    Ok(())
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

async fn serve(settings: Settings) -> anyhow::Result<()> {
    // Logs go through a bounded queue to a thread of their own: a client
    // that never reads stderr (or has closed it) costs log lines, never a
    // reply, and a failed write is dropped rather than panicking.
    // 1,024 lines rather than the default 128,000: the queue is allocated
    // (and touched) up front, 4 MiB and a third of the start-up time.
    let (stderr, _flush_on_exit) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(true)
        .buffered_lines_limit(1_024)
        .finish(std::io::stderr());
    kitaru_mcp::logging::init(&settings.log, stderr).map_err(anyhow::Error::msg)?;
    // Once, before anything runs: the tools read these while they work.
    kitaru_mcp::limits::install(settings.limits());

    let selection = settings.selection();
    tracing::info!(toolsets = ?selection.offered_toolsets(), "offering");
    if let Some(address) = settings.http {
        tracing::info!(version = env!("CARGO_PKG_VERSION"), %address, "kitaru-mcp starting on HTTP");
        let http = kitaru_mcp::http::HttpSettings {
            address,
            allowed_hosts: settings.allowed_hosts,
            allowed_origins: settings.allowed_origins,
        };
        return kitaru_mcp::http::serve(http, ConnectionOptions::new(), selection).await;
    }
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        "kitaru-mcp starting on stdio"
    );
    let (transport, written) = kitaru_mcp::transport::stdio();
    let connections = kitaru_mcp::connections::Connections::one(ConnectionOptions::new());
    let service = match KitaruServer::new(connections, selection)
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
