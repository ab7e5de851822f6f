//! The API changelog of a refresh: what changed from one vendored spec to
//! the next, in Markdown for people (`generated/api-changes-<old>-to-<new>.md`).
//!
//! Deterministic: everything is sorted, nothing depends on where or when
//! the spec was captured.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde_json::Value;

use crate::normalise::NormaliseError;
use crate::served::{self, Field, Operation};
use crate::suggest::{CredentialField, Suggested, Suggestion};

/// The changelog's file name in `generated/`.
pub fn file_name(old: &str, new: &str) -> String {
    format!("api-changes-{old}-to-{new}.md")
}

/// One side of the comparison.
#[derive(Clone, Copy, Debug)]
pub struct Side<'a> {
    /// `info.version`.
    pub version: &'a str,
    /// The vendored file, relative to the repository (`openapi/…`).
    pub file: &'a str,
    /// The document.
    pub doc: &'a Value,
}

/// What the repository decides today, for the changelog's decision columns.
#[derive(Clone, Copy, Debug)]
pub struct Decisions<'a> {
    /// Operation → its decision in words, from `openapi/api_tools.toml`.
    pub decided: &'a BTreeMap<String, String>,
    /// Operation → the curated tool that covers it (`openapi/tools.toml`).
    pub covered: &'a BTreeMap<String, String>,
    /// The new spec's operations that need a decision, with suggestions.
    pub needed: &'a [Suggestion],
    /// The new fields the `[credentials]` rules call credentials.
    pub credential_fields: &'a [CredentialField],
}

/// The changes, counted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Operations added.
    pub operations_added: usize,
    /// Operations removed.
    pub operations_removed: usize,
    /// Operations in both with a change listed.
    pub operations_changed: usize,
    /// Schemas added.
    pub schemas_added: usize,
    /// Schemas removed.
    pub schemas_removed: usize,
    /// Schemas in both with a change listed.
    pub schemas_changed: usize,
}

/// The changelog.
#[derive(Clone, Debug)]
pub struct Changelog {
    /// The Markdown.
    pub text: String,
    /// The counts in its summary.
    pub counts: Counts,
}

/// `text` as inline code (a backtick inside is fenced with two).
fn code(text: &str) -> String {
    if text.contains('`') {
        format!("`` {text} ``")
    } else {
        format!("`{text}`")
    }
}

/// `|` and line breaks would break a table row.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

fn codes<'a>(names: impl IntoIterator<Item = &'a String>) -> String {
    names
        .into_iter()
        .map(|n| code(n))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A change, with the changes under it (a body's fields).
type Change = (String, Vec<String>);

/// The lines for the field changes of one object (one level).
fn field_changes(old: &BTreeMap<String, Field>, new: &BTreeMap<String, Field>) -> Vec<String> {
    let mut lines = Vec::new();
    for (name, field) in new {
        if !old.contains_key(name) {
            let required = if field.required { ", required" } else { "" };
            lines.push(format!(
                "field added: {}: {}{required}",
                code(name),
                code(&field.ty)
            ));
        }
    }
    for name in old.keys() {
        if !new.contains_key(name) {
            lines.push(format!("field removed: {}", code(name)));
        }
    }
    let mut retyped: BTreeMap<(&str, &str), Vec<&String>> = BTreeMap::new();
    let mut required = Vec::new();
    for (name, before) in old {
        let Some(after) = new.get(name) else { continue };
        if before.ty != after.ty {
            retyped
                .entry((before.ty.as_str(), after.ty.as_str()))
                .or_default()
                .push(name);
        }
        if before.required != after.required {
            required.push(format!(
                "field {} now {}",
                code(name),
                if after.required {
                    "required"
                } else {
                    "optional"
                }
            ));
        }
    }
    for ((before, after), names) in retyped {
        let label = if names.len() == 1 {
            "field retyped"
        } else {
            "fields retyped"
        };
        lines.push(format!(
            "{label}: {}: {} → {}",
            codes(names),
            code(before),
            code(after)
        ));
    }
    lines.extend(required);
    lines
}

/// A request or response body (`label`) in both versions: its head line and
/// the lines under it, if anything changed.
fn body_changes(
    label: &str,
    old: (&Value, &BTreeMap<&str, &Value>),
    new: (&Value, &BTreeMap<&str, &Value>),
) -> Vec<Change> {
    let (old_doc, old_content) = old;
    let (new_doc, new_content) = new;
    let mut out = Vec::new();
    let medias: BTreeSet<&str> = old_content
        .keys()
        .chain(new_content.keys())
        .copied()
        .collect();
    for media in medias {
        match (old_content.get(media), new_content.get(media)) {
            (None, Some(schema)) => out.push((
                format!(
                    "{label} {}: added, {}",
                    code(media),
                    code(&served::type_text(schema))
                ),
                Vec::new(),
            )),
            (Some(_), None) => out.push((format!("{label} {}: removed", code(media)), Vec::new())),
            (Some(before), Some(after)) => {
                let (was, is) = (served::type_text(before), served::type_text(after));
                let lines = match (
                    served::fields(old_doc, before),
                    served::fields(new_doc, after),
                ) {
                    (Some(old_fields), Some(new_fields)) => field_changes(&old_fields, &new_fields),
                    _ => Vec::new(),
                };
                if was != is {
                    out.push((
                        format!("{label} {}: {} → {}", code(media), code(&was), code(&is)),
                        lines,
                    ));
                } else if !lines.is_empty() {
                    out.push((format!("{label} {} ({}):", code(media), code(&is)), lines));
                }
            }
            (None, None) => {}
        }
    }
    out
}

/// A change line with nothing under it.
fn push(out: &mut Vec<Change>, text: String) {
    out.push((text, Vec::new()));
}

/// The changes of one operation present in both versions.
fn operation_changes(
    old_doc: &Value,
    new_doc: &Value,
    old: &Operation,
    new: &Operation,
) -> Vec<Change> {
    let mut out: Vec<Change> = Vec::new();
    if old.name != new.name {
        push(
            &mut out,
            format!("renamed: {} → {}", code(&old.name), code(&new.name)),
        );
    }
    if old.summary != new.summary {
        push(
            &mut out,
            format!("summary: “{}” → “{}”", old.summary, new.summary),
        );
    }
    if old.deprecated != new.deprecated {
        push(
            &mut out,
            if new.deprecated {
                "now deprecated"
            } else {
                "no longer deprecated"
            }
            .to_owned(),
        );
    }
    if old.tags != new.tags {
        push(
            &mut out,
            format!("tags: {} → {}", codes(&old.tags), codes(&new.tags)),
        );
    }
    if old.description != new.description {
        push(&mut out, "description changed".to_owned());
    }

    let item = |doc: &'_ Value, op: &Operation| -> Value {
        doc.get("paths")
            .and_then(|paths| paths.get(&op.path))
            .cloned()
            .unwrap_or(Value::Null)
    };
    let (old_object, new_object) = (old.object(old_doc), new.object(new_doc));
    let before = served::parameters(old_doc, &item(old_doc, old), old_object);
    let after = served::parameters(new_doc, &item(new_doc, new), new_object);
    for ((place, name), parameter) in &after {
        if !before.contains_key(&(place.clone(), name.clone())) {
            push(
                &mut out,
                format!(
                    "parameter added: {} ({place}, {}): {}",
                    code(name),
                    if parameter.required {
                        "required"
                    } else {
                        "optional"
                    },
                    code(&parameter.ty)
                ),
            );
        }
    }
    for (place, name) in before.keys() {
        if !after.contains_key(&(place.clone(), name.clone())) {
            push(
                &mut out,
                format!("parameter removed: {} ({place})", code(name)),
            );
        }
    }
    let mut retyped: BTreeMap<(&str, &str, &str), Vec<&String>> = BTreeMap::new();
    let mut required = Vec::new();
    for ((place, name), was) in &before {
        let Some(is) = after.get(&(place.clone(), name.clone())) else {
            continue;
        };
        if was.ty != is.ty {
            retyped
                .entry((place.as_str(), was.ty.as_str(), is.ty.as_str()))
                .or_default()
                .push(name);
        }
        if was.required != is.required {
            required.push(format!(
                "parameter {} ({place}) now {}",
                code(name),
                if is.required { "required" } else { "optional" }
            ));
        }
    }
    for ((place, was, is), names) in retyped {
        let label = if names.len() == 1 {
            "parameter retyped"
        } else {
            "parameters retyped"
        };
        push(
            &mut out,
            format!(
                "{label} ({place}): {}: {} → {}",
                codes(names),
                code(was),
                code(is)
            ),
        );
    }
    for text in required {
        push(&mut out, text);
    }

    let old_body = served::request_body(old_doc, old_object);
    let new_body = served::request_body(new_doc, new_object);
    let whole = |(required, content): &(bool, BTreeMap<&str, &Value>)| {
        let medias: Vec<String> = content
            .iter()
            .map(|(media, schema)| format!("{} {}", code(media), code(&served::type_text(schema))))
            .collect();
        format!(
            "{}{}",
            if *required { "required" } else { "optional" },
            if medias.is_empty() {
                String::new()
            } else {
                format!(": {}", medias.join(", "))
            }
        )
    };
    match (&old_body, &new_body) {
        (None, Some(body)) => push(&mut out, format!("request body added, {}", whole(body))),
        (Some(body), None) => push(
            &mut out,
            format!("request body removed (was {})", whole(body)),
        ),
        (Some((was, old_content)), Some((is, new_content))) => {
            if was != is {
                push(
                    &mut out,
                    format!(
                        "request body now {}",
                        if *is { "required" } else { "optional" }
                    ),
                );
            }
            out.extend(body_changes(
                "request body",
                (old_doc, old_content),
                (new_doc, new_content),
            ));
        }
        (None, None) => {}
    }

    let old_responses = served::responses(old_doc, old_object);
    let new_responses = served::responses(new_doc, new_object);
    let statuses: BTreeSet<&str> = old_responses
        .keys()
        .chain(new_responses.keys())
        .copied()
        .collect();
    for status in statuses {
        let label = format!("response {}", code(status));
        match (old_responses.get(status), new_responses.get(status)) {
            (None, Some(_)) => out.push((format!("{label} added"), Vec::new())),
            (Some(_), None) => out.push((format!("{label} removed"), Vec::new())),
            (Some(was), Some(is)) => {
                out.extend(body_changes(&label, (old_doc, was), (new_doc, is)))
            }
            (None, None) => {}
        }
    }
    out
}

/// `object, 5 fields`, `enum: "a", "b"`, or the type text.
fn schema_kind(doc: &Value, schema: &Value) -> String {
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        let shown: Vec<String> = values
            .iter()
            .map(|v| serde_json::to_string(v).unwrap_or_default())
            .collect();
        return format!("enum: {}", shown.join(", "));
    }
    match served::fields(doc, schema) {
        Some(fields) if schema.get("properties").is_some() => {
            format!(
                "object, {} field{}",
                fields.len(),
                if fields.len() == 1 { "" } else { "s" }
            )
        }
        _ => served::type_text(schema),
    }
}

/// The changes of one component schema present in both versions.
fn schema_changes(old_doc: &Value, new_doc: &Value, old: &Value, new: &Value) -> Vec<String> {
    let values = |schema: &Value| -> Option<BTreeSet<String>> {
        schema.get("enum").and_then(Value::as_array).map(|values| {
            values
                .iter()
                .map(|v| serde_json::to_string(v).unwrap_or_default())
                .collect()
        })
    };
    if let (Some(was), Some(is)) = (values(old), values(new)) {
        let mut lines = Vec::new();
        let added: Vec<String> = is.difference(&was).cloned().collect();
        let removed: Vec<String> = was.difference(&is).cloned().collect();
        if !added.is_empty() {
            lines.push(format!("values added: {}", codes(&added)));
        }
        if !removed.is_empty() {
            lines.push(format!("values removed: {}", codes(&removed)));
        }
        return lines;
    }
    let has_fields = |schema: &Value| schema.get("properties").is_some_and(Value::is_object);
    if has_fields(old) && has_fields(new) {
        let (Some(was), Some(is)) = (served::fields(old_doc, old), served::fields(new_doc, new))
        else {
            return Vec::new();
        };
        return field_changes(&was, &is);
    }
    let (was, is) = (served::type_text(old), served::type_text(new));
    if was == is {
        Vec::new()
    } else {
        vec![format!("retyped: {} → {}", code(&was), code(&is))]
    }
}

/// The changelog from `old` to `new`.
pub fn render(old: Side, new: Side, decisions: Decisions) -> Result<Changelog, NormaliseError> {
    let old_ops = served::operations(old.doc)?;
    let new_ops = served::operations(new.doc)?;
    let key = |op: &Operation| (op.path.clone(), op.method.clone());
    let old_by: BTreeMap<(String, String), &Operation> =
        old_ops.iter().map(|op| (key(op), op)).collect();
    let new_by: BTreeMap<(String, String), &Operation> =
        new_ops.iter().map(|op| (key(op), op)).collect();
    let added: Vec<&Operation> = new_ops
        .iter()
        .filter(|op| !old_by.contains_key(&key(op)))
        .collect();
    let removed: Vec<&Operation> = old_ops
        .iter()
        .filter(|op| !new_by.contains_key(&key(op)))
        .collect();
    let changed: Vec<(&Operation, Vec<Change>)> = new_ops
        .iter()
        .filter_map(|op| {
            let before = old_by.get(&key(op))?;
            let lines = operation_changes(old.doc, new.doc, before, op);
            (!lines.is_empty()).then_some((op, lines))
        })
        .collect();

    let old_schemas = served::schemas(old.doc);
    let new_schemas = served::schemas(new.doc);
    let schemas_added: Vec<&str> = new_schemas
        .keys()
        .filter(|n| !old_schemas.contains_key(*n))
        .copied()
        .collect();
    let schemas_removed: Vec<&str> = old_schemas
        .keys()
        .filter(|n| !new_schemas.contains_key(*n))
        .copied()
        .collect();
    let schemas_changed: Vec<(&str, Vec<String>)> = new_schemas
        .iter()
        .filter_map(|(name, schema)| {
            let before = old_schemas.get(name)?;
            let lines = schema_changes(old.doc, new.doc, before, schema);
            (!lines.is_empty()).then_some((*name, lines))
        })
        .collect();

    let counts = Counts {
        operations_added: added.len(),
        operations_removed: removed.len(),
        operations_changed: changed.len(),
        schemas_added: schemas_added.len(),
        schemas_removed: schemas_removed.len(),
        schemas_changed: schemas_changed.len(),
    };
    let (o, n) = (old.version, new.version);
    let mut out = String::new();
    let _ = writeln!(out, "# Kitaru server API: changes from {o} to {n}\n");
    let _ = writeln!(
        out,
        "Generated by `cargo run -p kitaru-codegen -- refresh` from `{}` and `{}` and the \
         decisions in `openapi/api_tools.toml` and `openapi/tools.toml`, do not edit. How to \
         update the client when the server's API changes: `docs/api-changes.md`.\n",
        old.file, new.file
    );
    let _ = writeln!(
        out,
        "Reading it: operations are named as `openapi/api_tools.toml` names them (the \
         operationId as kitaru-codegen shortens it). Types are written in a short canonical \
         form: a schema's name for a reference, `string(uuid)` for a format, `array<T>`, \
         `map<T>`, `object{{a, b}}` for an inline object, and a union's members sorted, each \
         once, `null` last. *Retyped* means that form changed; the order of a union's members, \
         titles, descriptions, defaults, examples and constraints (lengths, bounds, patterns) \
         are not changes of type. Request and response bodies are compared one level deep: \
         the fields of the schema a body names; what changed deeper down is under *Schemas \
         changed*, by schema.\n"
    );

    let deprecated = |ops: &[Operation]| ops.iter().filter(|op| op.deprecated).count();
    let _ = writeln!(out, "## Summary\n");
    let _ = writeln!(out, "| | {o} | {n} |\n| --- | --- | --- |");
    let _ = writeln!(
        out,
        "| operations | {} | {} |",
        old_ops.len(),
        new_ops.len()
    );
    let _ = writeln!(
        out,
        "| of them deprecated | {} | {} |",
        deprecated(&old_ops),
        deprecated(&new_ops)
    );
    let _ = writeln!(
        out,
        "| schemas | {} | {} |\n",
        old_schemas.len(),
        new_schemas.len()
    );
    let _ = writeln!(
        out,
        "- Operations: {} added, {} removed, {} changed.",
        counts.operations_added, counts.operations_removed, counts.operations_changed
    );
    let _ = writeln!(
        out,
        "- Schemas: {} added, {} removed, {} changed.",
        counts.schemas_added, counts.schemas_removed, counts.schemas_changed
    );
    let _ = writeln!(
        out,
        "- Operations that need a decision in `openapi/api_tools.toml`: {}.\n",
        decisions.needed.len()
    );

    let _ = writeln!(out, "## Operations added\n");
    if added.is_empty() {
        let _ = writeln!(out, "None.\n");
    } else {
        let _ = writeln!(
            out,
            "| method | path | operation | summary |\n| --- | --- | --- | --- |"
        );
        for op in &added {
            let deprecated = if op.deprecated { " (deprecated)" } else { "" };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {}{deprecated} |",
                op.method,
                code(&cell(&op.path)),
                code(&op.name),
                cell(&op.summary)
            );
        }
        out.push('\n');
    }

    let _ = writeln!(out, "## Operations removed\n");
    if removed.is_empty() {
        let _ = writeln!(out, "None.\n");
    } else {
        let _ = writeln!(
            out,
            "The decisions stay while an older vendored spec still has the operation.\n\n\
             | method | path | operation | summary | decided today |\n| --- | --- | --- | --- | --- |"
        );
        for op in &removed {
            let decided = if let Some(tool) = decisions.covered.get(&op.name) {
                format!(
                    "covered by the curated tool {} (`openapi/tools.toml`)",
                    code(tool)
                )
            } else if op.deprecated {
                "deprecated (hidden)".to_owned()
            } else if let Some(words) = decisions.decided.get(&op.name) {
                cell(words)
            } else {
                "undecided".to_owned()
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {decided} |",
                op.method,
                code(&cell(&op.path)),
                code(&op.name),
                cell(&op.summary)
            );
        }
        out.push('\n');
    }

    let _ = writeln!(out, "## Operations changed\n");
    if changed.is_empty() {
        let _ = writeln!(out, "None.\n");
    }
    for (op, lines) in &changed {
        let _ = writeln!(
            out,
            "### {} {} ({})\n",
            op.method,
            code(&op.path),
            code(&op.name)
        );
        for (head, under) in lines {
            let _ = writeln!(out, "- {}", head.replace('\n', " "));
            for line in under {
                let _ = writeln!(out, "  - {line}");
            }
        }
        out.push('\n');
    }

    for (title, names, doc) in [
        ("Schemas added", &schemas_added, new.doc),
        ("Schemas removed", &schemas_removed, old.doc),
    ] {
        let _ = writeln!(out, "## {title}\n");
        if names.is_empty() {
            let _ = writeln!(out, "None.\n");
            continue;
        }
        let schemas = served::schemas(doc);
        let _ = writeln!(out, "| schema | kind |\n| --- | --- |");
        for name in names.iter() {
            let _ = writeln!(
                out,
                "| {} | {} |",
                code(name),
                cell(&schema_kind(doc, schemas[name]))
            );
        }
        out.push('\n');
    }

    let _ = writeln!(out, "## Schemas changed\n");
    if schemas_changed.is_empty() {
        let _ = writeln!(out, "None.\n");
    }
    for (name, lines) in &schemas_changed {
        let _ = writeln!(out, "### {}\n", code(name));
        for line in lines {
            let _ = writeln!(out, "- {line}");
        }
        out.push('\n');
    }

    let _ = writeln!(out, "## New fields the credential rules match\n");
    if decisions.credential_fields.is_empty() {
        let _ = writeln!(
            out,
            "None: no field new in {n} is a credential by the `[credentials]` rules of \
             `openapi/api_tools.toml`.\n"
        );
    } else {
        let _ = writeln!(
            out,
            "Fields new in {n} that the `[credentials]` rules of `openapi/api_tools.toml` call \
             credentials. The build fails on every exposed operation whose answer can hold one, \
             unless it is stripped; a field whose type cannot hold a secret (a time, a number, a \
             flag) matches by its name only and is proposed for `not_credentials` (the \
             suggestions below assume it is listed there).\n"
        );
        let _ = writeln!(
            out,
            "| field | type | rule | verdict |\n| --- | --- | --- | --- |"
        );
        for field in decisions.credential_fields {
            let verdict = match &field.no_credential {
                Some(what) => format!("no credential ({what}): add to `not_credentials`"),
                None => "a credential: an answer holding it is hidden, or strips it".to_owned(),
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {verdict} |",
                code(&field.field),
                code(&cell(&field.ty)),
                cell(&field.why)
            );
        }
        out.push('\n');
    }

    let not_credentials: Vec<&CredentialField> = decisions
        .credential_fields
        .iter()
        .filter(|field| field.no_credential.is_some())
        .collect();
    let _ = writeln!(
        out,
        "## Operations that need a decision in `openapi/api_tools.toml`\n"
    );
    if decisions.needed.is_empty() {
        let _ = writeln!(
            out,
            "None: every operation of {n} is decided in `openapi/api_tools.toml`, covered by a \
             curated tool in `openapi/tools.toml`, or deprecated (which the build hides)."
        );
    } else {
        let _ = writeln!(
            out,
            "Not decided in `openapi/api_tools.toml`, not covered by a curated tool \
             (`covers` in `openapi/tools.toml`) and not deprecated. Each has a suggested \
             decision, and why; review them (a suggestion is a starting point, not a \
             decision), then add the lines to `[operations]`, each under its tag's comment. \
             An answer that can hold a credential is never suggested as exposed.\n"
        );
        let _ = writeln!(
            out,
            "| operation | method | path | suggested | why |\n| --- | --- | --- | --- | --- |"
        );
        for suggestion in decisions.needed {
            let op = &suggestion.operation;
            let decision = match &suggestion.decision {
                Suggested::Expose => "expose".to_owned(),
                Suggested::Hide(reason) => format!("hide: {}", cell(reason)),
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {decision} | {} |",
                code(&op.name),
                op.method,
                code(&cell(&op.path)),
                cell(&suggestion.why)
            );
        }
        out.push('\n');
    }
    if !decisions.needed.is_empty() || !not_credentials.is_empty() {
        let _ = writeln!(
            out,
            "The lines to add to `openapi/api_tools.toml`:\n\n```toml"
        );
        if !not_credentials.is_empty() {
            let _ = writeln!(out, "# [credentials] not_credentials, added to the list:");
            for field in &not_credentials {
                let _ = writeln!(
                    out,
                    "{},  # {}",
                    toml::Value::String(field.field.clone()),
                    field.no_credential.as_deref().unwrap_or_default()
                );
            }
        }
        let mut by_tag: BTreeMap<&str, Vec<&Suggestion>> = BTreeMap::new();
        for suggestion in decisions.needed {
            by_tag
                .entry(suggestion.operation.tag.as_str())
                .or_default()
                .push(suggestion);
        }
        if !by_tag.is_empty() {
            if !not_credentials.is_empty() {
                out.push('\n');
            }
            let _ = writeln!(out, "# [operations], each under its tag's comment:");
        }
        for (tag, suggestions) in by_tag {
            let _ = writeln!(out, "\n# {}", if tag.is_empty() { "(no tag)" } else { tag });
            let mut lines: Vec<String> = suggestions.iter().map(|s| s.toml_line()).collect();
            lines.sort();
            for line in lines {
                let _ = writeln!(out, "{line}");
            }
        }
        let _ = writeln!(out, "```");
    }
    Ok(Changelog { text: out, counts })
}
