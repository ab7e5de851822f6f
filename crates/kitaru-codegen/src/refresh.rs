//! `kitaru-codegen refresh`: a new server document into the repository.
//!
//! [`refresh`] takes the document's bytes (fetched from a server's
//! `/openapi.json` or read from a file by the binary, `src/main.rs`) and,
//! in a repository root (the folder with `openapi/` and `generated/`):
//!
//! 1. checks it is an OpenAPI 3 document with an `info.version` and brings
//!    it into the stored form ([`crate::vendored::stored_form`]); a document
//!    that fails here is not written;
//! 2. finds the previous spec: the vendored one with the greatest version
//!    lower than the new one (a vendored file of the same version is
//!    replaced, and compared with the next lower one);
//! 3. suggests a decision for every operation of the new spec that needs
//!    one in `openapi/api_tools.toml` ([`crate::suggest`]);
//! 4. writes `openapi/kitaru-server-<version>.openapi.json` (and the client
//!    crate's link to it) and, when there
//!    is a previous spec, `generated/api-changes-<previous>-to-<version>.md`
//!    ([`crate::changelog`]);
//! 5. checks what the build will check, on every vendored spec merged with
//!    the new one ([`crate::versions`]): the client generates
//!    ([`crate::generate_versions`]) and the API decisions hold
//!    ([`crate::api_tools::generate`]). What fails is returned as
//!    [`Report::blocking`]; a curated tool covering an operation the new
//!    spec no longer has is a note (the tool answers on such a server that
//!    it lacks the operation);
//! 6. regenerates, if asked and nothing blocks: `KITARU_UPDATE_GENERATED=1
//!    cargo test -p kitaru-client --test generated_is_fresh`, then
//!    `KITARU_UPDATE_GENERATED=1 cargo test --test tool_surface`, in the
//!    root.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::changelog::{self, Counts, Decisions, Side};
use crate::served::{self, Operation};
use crate::suggest::{self, Suggested, Suggestion};
use crate::vendored;
use crate::{api_tools, tools};

/// Where the decision files live, relative to the root.
pub const TOOLS_FILE: &str = "openapi/tools.toml";
/// The API decisions, relative to the root.
pub const API_TOOLS_FILE: &str = "openapi/api_tools.toml";

/// The commands that regenerate `generated/` (and the tool layer's
/// reviewed copies) from the vendored specs, run in the root with
/// `KITARU_UPDATE_GENERATED=1`.
pub const REGENERATE: [&[&str]; 2] = [
    &[
        "test",
        "-p",
        "kitaru-client",
        "--test",
        "generated_is_fresh",
    ],
    &["test", "--test", "tool_surface"],
];

/// How to refresh.
#[derive(Clone, Debug)]
pub struct Options {
    /// The repository root: holds `openapi/` (with `tools.toml` and
    /// `api_tools.toml`) and `generated/`.
    pub root: PathBuf,
    /// Run the [`REGENERATE`] commands after writing.
    pub regenerate: bool,
    /// The cargo to run them with.
    pub cargo: String,
}

/// Why nothing was refreshed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RefreshError {
    /// The root is not a repository root.
    #[error("{0}")]
    Root(String),
    /// The document cannot be stored (nothing was written).
    #[error("the document cannot be used: {0} Nothing was written.")]
    Spec(#[from] vendored::SpecError),
    /// A file could not be read or written.
    #[error("{0}")]
    Io(String),
}

/// What a refresh did.
#[derive(Clone, Debug)]
pub struct Report {
    /// The new spec's `info.version`.
    pub version: String,
    /// The spec written, relative to the root.
    pub spec_file: String,
    /// What was there before under that name: `None` if nothing, else
    /// whether it had the same bytes.
    pub replaced: Option<bool>,
    /// The previous version and the changelog written (relative to the
    /// root) with its counts; `None` when no vendored spec is older.
    pub changelog: Option<(String, String, Counts)>,
    /// The operations that need a decision, with suggestions.
    pub needed: Vec<Suggestion>,
    /// What will fail the build, each with what to do next.
    pub blocking: Vec<String>,
    /// What does not fail the build but should be looked at.
    pub notes: Vec<String>,
    /// The regeneration commands that ran, with whether they succeeded.
    pub regenerated: Vec<(String, bool)>,
}

fn read(root: &Path, file: &str) -> Result<String, RefreshError> {
    std::fs::read_to_string(root.join(file))
        .map_err(|e| RefreshError::Io(format!("cannot read {file}: {e}")))
}

fn write(root: &Path, file: &str, text: &str) -> Result<(), RefreshError> {
    let path = root.join(file);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| RefreshError::Io(format!("cannot create {}: {e}", parent.display())))?;
    }
    std::fs::write(&path, text).map_err(|e| RefreshError::Io(format!("cannot write {file}: {e}")))
}

/// Whether `root` is a repository root the refresh can work in.
pub fn check_root(root: &Path) -> Result<(), RefreshError> {
    for file in [TOOLS_FILE, API_TOOLS_FILE] {
        if !root.join(file).is_file() {
            return Err(RefreshError::Root(format!(
                "{} has no {file}: give the repository's root with --root (the folder with \
                 openapi/ and generated/)",
                root.display()
            )));
        }
    }
    Ok(())
}

/// The previous vendored spec: its version, file and document.
struct Previous {
    version: String,
    file: String,
    doc: Value,
}

/// Refreshes from the document `bytes`.
pub fn refresh(bytes: &[u8], options: &Options) -> Result<Report, RefreshError> {
    let root = options.root.as_path();
    check_root(root)?;
    let stored = vendored::stored_form(bytes)?;
    let version = stored.version.clone();
    let spec_file = format!("openapi/{}", vendored::file_name(&version));
    let mut blocking = Vec::new();
    let mut notes = Vec::new();

    let operations = served::operations(&stored.document).map_err(|e| {
        RefreshError::Spec(vendored::SpecError::NotOpenApi(format!(
            "its operations cannot be named: {e}"
        )))
    })?;

    // The previous spec.
    let openapi = root.join("openapi");
    let vendored_files = vendored::list(&openapi)
        .map_err(|e| RefreshError::Io(format!("cannot list {}: {e}", openapi.display())))?;
    let previous = match vendored::previous(&vendored_files, &version) {
        Some(previous) => {
            let file = format!("openapi/{}", vendored::file_name(&previous.version));
            let doc = serde_json::from_str(&read(root, &file)?)
                .map_err(|e| RefreshError::Io(format!("{file} is not JSON: {e}")))?;
            Some(Previous {
                version: previous.version.clone(),
                file,
                doc,
            })
        }
        None => {
            notes.push(format!(
                "no vendored spec is older than {version}: no changelog was written"
            ));
            None
        }
    };

    // The decisions today, and what the new spec needs.
    let tools_text = read(root, TOOLS_FILE)?;
    let coverage = match tools::generate(&tools_text, TOOLS_FILE) {
        Ok(generated) => generated.coverage,
        Err(e) => {
            blocking.push(format!(
                "{TOOLS_FILE}: {e}; fix it, then run the refresh again"
            ));
            Default::default()
        }
    };
    let api_tools_text = read(root, API_TOOLS_FILE)?;
    let decisions = match suggest::read_decisions(&api_tools_text, API_TOOLS_FILE) {
        Ok(decisions) => decisions,
        Err(e) => {
            blocking.push(format!("{e}; fix it, then run the refresh again"));
            Default::default()
        }
    };
    let credential_fields = previous
        .as_ref()
        .map(|previous| {
            suggest::credential_fields(&previous.doc, &stored.document, &decisions.credentials)
        })
        .unwrap_or_default();
    let not_credentials: Vec<String> = credential_fields
        .iter()
        .filter(|field| field.no_credential.is_some())
        .map(|field| field.field.clone())
        .collect();
    let rules = decisions
        .credentials
        .with_not_credentials(not_credentials.iter().cloned());
    let mut needed: Vec<Suggestion> = operations
        .iter()
        .filter(|op| {
            !op.deprecated
                && !coverage.contains_key(&op.name)
                && !decisions.decided.contains_key(&op.name)
        })
        .map(|op| suggest::suggest(&stored.document, op, &rules))
        .collect();
    needed.sort_by(|a, b| a.operation.name.cmp(&b.operation.name));
    // What the build reads: every vendored document, this one in place of
    // any of its version, merged.
    let mut specs: Vec<crate::versions::SpecFile> = crate::versions::read_dir(&openapi, "openapi/")
        .unwrap_or_default()
        .into_iter()
        .filter(|spec| spec.path != spec_file)
        .collect();
    specs.push(crate::versions::SpecFile {
        path: spec_file.clone(),
        bytes: stored.text.clone().into_bytes(),
    });
    let merged = match crate::versions::merge(&specs) {
        Ok(merged) => merged,
        Err(e) => {
            blocking.push(format!(
                "the vendored documents cannot be merged with it: {e}; fix that, then run the \
                 refresh again"
            ));
            stored.document.clone()
        }
    };
    let proposed = Proposed {
        api_tools_text: &api_tools_text,
        not_credentials: &not_credentials,
        spec: &merged,
        coverage: &coverage,
    };
    if blocking.is_empty() {
        proposed.verify(&mut needed);
    }

    // The changelog.
    let changelog = match &previous {
        Some(previous) => {
            let rendered = changelog::render(
                Side {
                    version: &previous.version,
                    file: &previous.file,
                    doc: &previous.doc,
                },
                Side {
                    version: &version,
                    file: &spec_file,
                    doc: &stored.document,
                },
                Decisions {
                    decided: &decisions.decided,
                    covered: &coverage,
                    needed: &needed,
                    credential_fields: &credential_fields,
                },
            )
            .map_err(|e| RefreshError::Io(format!("{}: {e}", previous.file)))?;
            let file = format!(
                "generated/{}",
                changelog::file_name(&previous.version, &version)
            );
            Some((previous.version.clone(), file, rendered))
        }
        None => None,
    };

    // Write.
    let replaced = std::fs::read(root.join(&spec_file))
        .ok()
        .map(|before| before == stored.text.as_bytes());
    write(root, &spec_file, &stored.text)?;
    link_for_the_client(root, &spec_file, &mut notes);
    if let Some((_, file, rendered)) = &changelog {
        write(root, file, &rendered.text)?;
    }

    // What the build will say.
    let changelog_file = changelog.as_ref().map(|(_, file, _)| file.as_str());
    build_checks(
        &specs,
        &spec_file,
        &operations,
        &decisions.decided,
        &needed,
        &proposed,
        changelog_file,
        &mut blocking,
        &mut notes,
    );

    let mut regenerated = Vec::new();
    if options.regenerate {
        if blocking.is_empty() {
            for args in REGENERATE {
                let shown = format!("KITARU_UPDATE_GENERATED=1 cargo {}", args.join(" "));
                let status = Command::new(&options.cargo)
                    .args(args)
                    .current_dir(root)
                    .env("KITARU_UPDATE_GENERATED", "1")
                    .status();
                let ok = matches!(&status, Ok(status) if status.success());
                if !ok {
                    let why = match status {
                        Ok(status) => format!("it ended with {status}"),
                        Err(e) => format!("it could not start: {e}"),
                    };
                    blocking.push(format!(
                        "regenerating failed: `{shown}` ({why}); its output above says why. Fix \
                         that, then run the command again (or the refresh)"
                    ));
                }
                regenerated.push((shown, ok));
                if !ok {
                    break;
                }
            }
        } else {
            notes.push(
                "nothing was regenerated: the build would fail (below); once it is fixed, run \
                 the refresh again, or the commands in docs/api-changes.md"
                    .to_owned(),
            );
        }
    }

    Ok(Report {
        version,
        spec_file,
        replaced,
        changelog: changelog.map(|(previous, file, rendered)| (previous, file, rendered.counts)),
        needed,
        blocking,
        notes,
        regenerated,
    })
}

/// `api_tools.toml` with lines added, checked as the build checks it.
struct Proposed<'a> {
    /// The file as it is.
    api_tools_text: &'a str,
    /// Entries proposed for `[credentials] not_credentials`.
    not_credentials: &'a [String],
    spec: &'a Value,
    coverage: &'a BTreeMap<String, String>,
}

impl Proposed<'_> {
    /// The build's check of the file with `decisions` added to
    /// `[operations]` and the proposed `not_credentials`: its error, if it
    /// fails.
    fn check(&self, decisions: &[(String, toml::Value)]) -> Option<String> {
        let mut file = match self.api_tools_text.parse::<toml::Table>() {
            Ok(file) => file,
            Err(e) => return Some(e.to_string()),
        };
        if let Some(toml::Value::Table(operations)) = file.get_mut("operations") {
            for (name, value) in decisions {
                operations.insert(name.clone(), value.clone());
            }
        }
        if let Some(toml::Value::Table(credentials)) = file.get_mut("credentials") {
            let list = credentials
                .entry("not_credentials")
                .or_insert_with(|| toml::Value::Array(Vec::new()));
            if let toml::Value::Array(list) = list {
                list.extend(
                    self.not_credentials
                        .iter()
                        .cloned()
                        .map(toml::Value::String),
                );
            }
        }
        let text = match toml::to_string(&file) {
            Ok(text) => text,
            Err(e) => return Some(e.to_string()),
        };
        api_tools::generate(self.spec, &text, API_TOOLS_FILE, self.coverage).err()
    }

    /// The suggestions as `[operations]` entries.
    fn entries(needed: &[Suggestion]) -> Vec<(String, toml::Value)> {
        needed
            .iter()
            .map(|s| match &s.decision {
                Suggested::Expose => Self::exposed(s),
                Suggested::Hide(reason) => Self::hidden(s, reason),
            })
            .collect()
    }

    fn exposed(s: &Suggestion) -> (String, toml::Value) {
        (
            s.operation.name.clone(),
            toml::Value::String("expose".into()),
        )
    }

    fn hidden(s: &Suggestion, reason: &str) -> (String, toml::Value) {
        let mut table = toml::Table::new();
        table.insert("hide".into(), toml::Value::String(reason.to_owned()));
        (s.operation.name.clone(), toml::Value::Table(table))
    }

    /// Makes sure no suggestion to expose is one the build refuses (a
    /// credential the walk in [`suggest`] missed, say): the build's own
    /// check runs with the suggestions applied and, when it fails while it
    /// passes with every suggestion hidden, once per suggested exposure;
    /// each one it refuses becomes a hide, with the build's reason.
    fn verify(&self, needed: &mut [Suggestion]) {
        if self.check(&Self::entries(needed)).is_none() {
            return;
        }
        let all_hidden: Vec<(String, toml::Value)> =
            needed.iter().map(|s| Self::hidden(s, "(hidden)")).collect();
        if self.check(&all_hidden).is_some() {
            // It fails for another reason, which the build checks report.
            return;
        }
        let refused: Vec<(usize, String)> = needed
            .iter()
            .enumerate()
            .filter(|(_, s)| s.decision == Suggested::Expose)
            .filter_map(|(i, s)| {
                let mut decisions = all_hidden.clone();
                decisions[i] = Self::exposed(s);
                self.check(&decisions).map(|e| (i, e))
            })
            .collect();
        for (i, why) in refused {
            needed[i].decision = Suggested::Hide("the build refuses to expose it".to_owned());
            needed[i].why = format!(
                "the build's check, with it exposed: {}",
                why.replace('\n', " ")
            );
        }
    }
}

/// The checks the build makes, on the new spec.
#[allow(clippy::too_many_arguments)]
fn build_checks(
    specs: &[crate::versions::SpecFile],
    spec_file: &str,
    operations: &[Operation],
    decided: &BTreeMap<String, String>,
    needed: &[Suggestion],
    proposed: &Proposed,
    changelog: Option<&str>,
    blocking: &mut Vec<String>,
    notes: &mut Vec<String>,
) {
    if let Err(e) = check_codegen(specs) {
        blocking.push(format!(
            "the client cannot be generated with {spec_file}: {e}. The build fails while it is in \
             openapi/: teach kitaru-codegen the new construct (crates/kitaru-codegen/src/normalise/ \
             or the merge, src/versions.rs) and run the refresh again, or remove the file to go back"
        ));
    }
    let pointer = match changelog {
        Some(file) => format!(
            "the lines to add, ready to paste, are at the end of {file} (section “Operations \
             that need a decision”); review them"
        ),
        None => format!(
            "suggested lines: {}",
            needed
                .iter()
                .map(Suggestion::toml_line)
                .chain(
                    proposed
                        .not_credentials
                        .iter()
                        .map(|field| format!("[credentials] not_credentials += {field:?}"))
                )
                .collect::<Vec<_>>()
                .join("; ")
        ),
    };
    if let Err(e) = api_tools::generate(
        proposed.spec,
        proposed.api_tools_text,
        API_TOOLS_FILE,
        proposed.coverage,
    ) {
        let next = match proposed.check(&Proposed::entries(needed)) {
            None => format!(
                "With the lines the refresh proposes for {API_TOOLS_FILE}, that check passes: {pointer}"
            ),
            Some(e) => format!(
                "Even with the lines the refresh proposes for {API_TOOLS_FILE}, that check fails: \
                 {e}; decide it by hand ({pointer})"
            ),
        };
        blocking.push(format!(
            "the build's API decisions check fails on {spec_file}: {e}\n{next}"
        ));
    } else if !needed.is_empty() {
        notes.push(format!(
            "{} operation(s) have no decision in {API_TOOLS_FILE}; the build accepts that, but \
             decide them: {pointer}",
            needed.len()
        ));
    }
    let names: BTreeSet<&str> = operations.iter().map(|op| op.name.as_str()).collect();
    for (operation, tool) in proposed.coverage {
        if !names.contains(operation.as_str()) {
            notes.push(format!(
                "the curated tool `{tool}` covers `{operation}` ({TOOLS_FILE}), which {spec_file} \
                 no longer has: on a server of this version the tool's call answers that the \
                 server lacks it. Make the tool use the operation that replaces it there (see the \
                 changelog)"
            ));
        }
    }
    let gone: Vec<&String> = decided
        .keys()
        .filter(|name| !names.contains(name.as_str()))
        .collect();
    if !gone.is_empty() {
        notes.push(format!(
            "{} decision(s) in {API_TOOLS_FILE} name operations {spec_file} does not have ({}): \
             keep them while an older vendored spec has them",
            gone.len(),
            gone.iter()
                .map(|name| format!("`{name}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
}

/// Whether the client generates from the specs, as the client's build
/// script generates it.
fn check_codegen(specs: &[crate::versions::SpecFile]) -> Result<(), crate::CodegenError> {
    let options = crate::Options {
        spec_file: "openapi/".to_owned(),
        inner_type: "crate::session::Session".to_owned(),
        timestamp_type: "crate::timestamp::Timestamp".to_owned(),
        include_deprecated: true,
    };
    crate::generate_versions(specs, &options).map(drop)
}

/// The client crate reads the documents through links in its own
/// `openapi/` (so that its package carries them): one for a new file.
fn link_for_the_client(root: &Path, spec_file: &str, notes: &mut Vec<String>) {
    let client_dir = root.join("crates/kitaru-client/openapi");
    let Some(name) = Path::new(spec_file).file_name() else {
        return;
    };
    let link = client_dir.join(name);
    if !client_dir.is_dir() || link.symlink_metadata().is_ok() {
        return;
    }
    let target = Path::new("../../..").join(spec_file);
    #[cfg(unix)]
    let made = std::os::unix::fs::symlink(&target, &link);
    #[cfg(not(unix))]
    let made: std::io::Result<()> = Err(std::io::Error::other("symbolic links need unix"));
    if let Err(e) = made {
        notes.push(format!(
            "could not link {} to {} ({e}): make that link by hand, or the client is not \
             generated from it",
            link.display(),
            target.display()
        ));
    }
}
