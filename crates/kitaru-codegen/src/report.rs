//! The operations report: every operation of the spec and what became of it.

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// One operation of the original document.
pub(crate) struct SpecOperation {
    pub operation_id: String,
    pub method: String,
    pub path: String,
    pub deprecated: bool,
    /// The server versions that have it, when the document is a merge of
    /// several (empty otherwise).
    pub servers: Vec<String>,
}

/// What happened to an operation.
pub(crate) enum Outcome {
    /// The client has a method for it.
    Generated { rust_name: String },
    /// Left out on purpose, with the reason.
    Excluded { reason: String },
    /// In the normalised document but absent from progenitor's output.
    Missing,
}

/// Renders the report, operations sorted by their spec operationId.
pub(crate) fn render(
    header: &str,
    operations: &[SpecOperation],
    outcomes: &BTreeMap<(String, String), Outcome>,
) -> String {
    let mut sorted: Vec<&SpecOperation> = operations.iter().collect();
    sorted.sort_by(|a, b| {
        (&a.operation_id, &a.path, &a.method).cmp(&(&b.operation_id, &b.path, &b.method))
    });

    let outcome_of = |op: &SpecOperation| outcomes.get(&(op.method.clone(), op.path.clone()));
    let generated = sorted
        .iter()
        .filter(|op| matches!(outcome_of(op), Some(Outcome::Generated { .. })))
        .count();
    let deprecated = sorted.iter().filter(|op| op.deprecated).count();

    let mut out = String::new();
    let _ = writeln!(out, "# Operations of the Kitaru server API\n");
    let _ = writeln!(out, "{header}\n");
    let _ = writeln!(
        out,
        "{} operations in the spec ({deprecated} deprecated): {generated} generated, {} not generated.\n",
        sorted.len(),
        sorted.len() - generated,
    );
    let by_version = sorted.iter().any(|op| !op.servers.is_empty());
    if by_version {
        let _ = writeln!(
            out,
            "| operationId | method | path | servers | Rust method | status |"
        );
        let _ = writeln!(out, "| --- | --- | --- | --- | --- | --- |");
    } else {
        let _ = writeln!(
            out,
            "| operationId | method | path | Rust method | status |"
        );
        let _ = writeln!(out, "| --- | --- | --- | --- | --- |");
    }
    for op in sorted {
        let (rust, status) = match outcome_of(op) {
            Some(Outcome::Generated { rust_name }) => (
                format!("`{rust_name}`"),
                if op.deprecated { "generated (deprecated)".to_owned() } else { "generated".to_owned() },
            ),
            Some(Outcome::Excluded { reason }) => ("—".to_owned(), format!("not generated: {reason}")),
            Some(Outcome::Missing) | None => (
                "—".to_owned(),
                "not generated: absent from progenitor's output (unexplained; a bug in kitaru-codegen)".to_owned(),
            ),
        };
        let servers = if by_version {
            format!(" {} |", op.servers.join(", "))
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "| `{}` | {} | `{}` |{servers} {rust} | {status} |",
            op.operation_id,
            op.method.to_ascii_uppercase(),
            op.path,
        );
    }
    out
}
