//! `kitaru-codegen refresh --from <server URL | file>`: brings a new version
//! of the Kitaru server's OpenAPI document into the repository, writes the
//! API changelog and regenerates (see `docs/api-changes.md`). The work is in
//! the library ([`kitaru_codegen::refresh`]); this parses the arguments,
//! fetches the document and reports.
//!
//! Exit codes: 0 done (operations may still want a decision, if the build
//! accepts that); 1 the build will fail (or the document cannot be used):
//! each problem is printed with what to do next; 2 bad usage (arguments, a
//! file that cannot be read, a server that cannot be reached, no repository
//! root).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use kitaru_codegen::refresh::{self, Options, RefreshError};
use kitaru_codegen::suggest::Suggested;

const USAGE: &str = "\
Usage: cargo run -p kitaru-codegen -- refresh --from <SERVER URL | FILE> [--root DIR] [--no-regenerate]

Brings the Kitaru server's OpenAPI document into openapi/ as
kitaru-server-<info.version>.openapi.json, writes the API changelog against the
previous vendored spec to generated/api-changes-<old>-to-<new>.md (with a
suggested decision for every operation openapi/api_tools.toml does not decide),
and regenerates generated/.

  --from URL|FILE    a server (http:// or https://; its /openapi.json is fetched,
                     no login needed) or a JSON file (a URL ending in .json is
                     fetched as it is)
  --root DIR         the repository root (default: the first folder, from the
                     current one up, that has openapi/api_tools.toml)
  --no-regenerate    write the spec and the changelog, but do not run the cargo
                     tests that refresh generated/

Exit codes: 0 done; 1 the build will fail until the printed problems are fixed
(or the document cannot be used); 2 bad usage.
Step by step: docs/api-changes.md";

/// Bad usage: the message, for exit code 2.
struct Usage(String);

struct Args {
    from: String,
    root: Option<PathBuf>,
    regenerate: bool,
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Option<Args>, Usage> {
    match args.next().as_deref() {
        Some("refresh") => {}
        Some("-h" | "--help" | "help") | None => return Ok(None),
        Some(other) => {
            return Err(Usage(format!(
                "unknown command {other:?}; the command is `refresh`"
            )));
        }
    }
    let mut from = None;
    let mut root = None;
    let mut regenerate = true;
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => {
                (flag.to_owned(), Some(value.to_owned()))
            }
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| {
            inline
                .clone()
                .or_else(|| args.next())
                .filter(|v| !v.is_empty())
                .ok_or_else(|| Usage(format!("{name} needs a value")))
        };
        match flag.as_str() {
            "--from" => from = Some(value("--from")?),
            "--root" => root = Some(PathBuf::from(value("--root")?)),
            "--no-regenerate" if inline.is_none() => regenerate = false,
            "-h" | "--help" => return Ok(None),
            _ => return Err(Usage(format!("unknown argument {arg:?}"))),
        }
    }
    let from =
        from.ok_or_else(|| Usage("--from is required: a server URL or a JSON file".into()))?;
    Ok(Some(Args {
        from,
        root,
        regenerate,
    }))
}

/// The repository root: the given one, or the first folder from here up
/// that has `openapi/api_tools.toml`.
fn find_root(given: Option<PathBuf>) -> Result<PathBuf, Usage> {
    if let Some(root) = given {
        refresh::check_root(&root).map_err(|e| Usage(e.to_string()))?;
        return Ok(root);
    }
    let here = std::env::current_dir().map_err(|e| Usage(format!("no current folder: {e}")))?;
    here.ancestors()
        .find(|dir| refresh::check_root(dir).is_ok())
        .map(Path::to_path_buf)
        .ok_or_else(|| {
            Usage(format!(
                "no folder from {} up has {}: run it in the repository, or give --root",
                here.display(),
                refresh::API_TOOLS_FILE
            ))
        })
}

/// The document's URL for a server URL.
fn document_url(server: &str) -> String {
    if server.ends_with(".json") {
        server.to_owned()
    } else {
        format!("{}/openapi.json", server.trim_end_matches('/'))
    }
}

fn fetch(url: &str) -> Result<Vec<u8>, Usage> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Usage(format!("cannot start the HTTP client: {e}")))?;
    runtime.block_on(async {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()
            .map_err(|e| Usage(format!("cannot start the HTTP client: {e}")))?;
        let answer = client.get(url).send().await.map_err(|e| {
            Usage(format!(
                "cannot fetch {url}: {}. Is the server up, and is this its URL (`kitaru info` \
                 shows it)?",
                chain(&e)
            ))
        })?;
        let status = answer.status();
        if !status.is_success() {
            return Err(Usage(format!(
                "{url} answered HTTP {status}: is this a Kitaru (ZenML) server's URL? The \
                 document is at <server URL>/openapi.json"
            )));
        }
        answer
            .bytes()
            .await
            .map(|bytes| bytes.to_vec())
            .map_err(|e| Usage(format!("reading the answer of {url} failed: {}", chain(&e))))
    })
}

/// An error with its causes: `a: b: c`.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        let more = inner.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        cause = inner.source();
    }
    text
}

fn run() -> Result<ExitCode, Usage> {
    let Some(args) = parse(std::env::args().skip(1))? else {
        println!("{USAGE}");
        return Ok(ExitCode::SUCCESS);
    };
    let root = find_root(args.root)?;
    let bytes = if args.from.starts_with("http://") || args.from.starts_with("https://") {
        let url = document_url(&args.from);
        println!("fetching {url}");
        fetch(&url)?
    } else if args.from.contains("://") {
        return Err(Usage(format!(
            "{}: only http:// and https:// URLs are fetched",
            args.from
        )));
    } else {
        std::fs::read(&args.from).map_err(|e| Usage(format!("cannot read {}: {e}", args.from)))?
    };
    let options = Options {
        root,
        regenerate: args.regenerate,
        cargo: std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()),
    };
    let report = match refresh::refresh(&bytes, &options) {
        Ok(report) => report,
        Err(RefreshError::Root(message)) => return Err(Usage(message)),
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(1));
        }
    };

    let state = match report.replaced {
        None => "new",
        Some(true) => "replaced, the same bytes",
        Some(false) => "replaced",
    };
    println!(
        "server API {}: wrote {} ({state})",
        report.version, report.spec_file
    );
    if let Some((previous, file, counts)) = &report.changelog {
        println!(
            "changes from {previous}: wrote {file}: operations {} added, {} removed, {} changed; \
             schemas {} added, {} removed, {} changed",
            counts.operations_added,
            counts.operations_removed,
            counts.operations_changed,
            counts.schemas_added,
            counts.schemas_removed,
            counts.schemas_changed
        );
    }
    if !report.needed.is_empty() {
        println!(
            "{} operation(s) need a decision in {} (suggested):",
            report.needed.len(),
            refresh::API_TOOLS_FILE
        );
        for suggestion in &report.needed {
            let decision = match &suggestion.decision {
                Suggested::Expose => "expose".to_owned(),
                Suggested::Hide(reason) => format!("hide ({reason})"),
            };
            println!(
                "  {:<40} {} {}: {decision}",
                suggestion.operation.name, suggestion.operation.method, suggestion.operation.path
            );
        }
    }
    for (command, ok) in &report.regenerated {
        println!("{}: {command}", if *ok { "regenerated" } else { "failed" });
    }
    for note in &report.notes {
        eprintln!("note: {note}");
    }
    for problem in &report.blocking {
        eprintln!("error: {problem}");
    }
    if report.blocking.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!(
            "{} problem(s) will fail the build (above); the files were written.",
            report.blocking.len()
        );
        Ok(ExitCode::from(1))
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(Usage(message)) => {
            eprintln!(
                "error: {message}\n(`cargo run -p kitaru-codegen -- --help` for how to use it)"
            );
            ExitCode::from(2)
        }
    }
}
