//! `openapi/api_tools.toml` → which API operations become opt-in MCP tools.
//!
//! Every operation of the spec that is not deprecated must have a decision:
//! exposed (a tool `api_<name>` in the toolset `api:<tag>`), hidden (with the
//! reason) or covered by a curated Kitaru tool (the tool's declaration in
//! `openapi/tools.toml` says so with `covers`, see [`crate::tools`]). A new operation
//! without one is hidden until it is decided, with a build warning (the
//! changelog of `kitaru-codegen refresh` suggests a decision; the test
//! `the_repository_decides_every_operation` keeps the repository's own
//! decisions complete); a decided one the spec no longer has is a build
//! warning. The output is a table of data for `src/api/` and a
//! Markdown report; spec text reaches the Rust source only as escaped string
//! literals.
//!
//! Credentials: the 2xx JSON answer schema of every exposed operation is
//! walked (`$ref`s followed, `anyOf`/`oneOf`/`allOf`, `items`,
//! `additionalProperties`); a field the `[credentials]` table calls a
//! credential (or of `format: password`) must be stripped from that
//! operation's answers (its `strip` list or `strip_everywhere`), or the
//! operation hidden — else the build fails, naming the operation and the
//! field's path.

use std::collections::{BTreeMap, BTreeSet, HashSet, VecDeque};

use quote::quote;
use serde::Deserialize;
use serde_json::Value;

/// MCP's limit for a tool name.
const MAX_TOOL_NAME: usize = 64;

/// What the build writes.
pub struct Generated {
    /// Rust source: `API_DECISIONS`, for `include!`.
    pub decisions: String,
    /// Markdown: every operation with its decision.
    pub report: String,
    /// Decided or covered operations the spec does not have (build
    /// warnings).
    pub removed: Vec<String>,
    /// Operations of the spec nobody decided, `name (METHOD path)`: hidden
    /// until they are (build warnings).
    pub undecided: Vec<String>,
}

/// The reason an undecided operation is hidden with.
pub const UNDECIDED: &str = "not decided yet in openapi/api_tools.toml: hidden until it is";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    credentials: Credentials,
    operations: BTreeMap<String, toml::Value>,
}

/// The `[credentials]` table: which fields of an answer are credentials,
/// and which are stripped from every answer.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Credentials {
    /// Field names that are credentials (`key`), or `Schema.field` (the
    /// field of that component schema only).
    #[serde(default)]
    names: Vec<String>,
    /// A field whose name contains one of these is a credential (`token`
    /// → `refresh_token`).
    #[serde(default)]
    name_parts: Vec<String>,
    /// `Schema.field`s the rules above match that are no credentials.
    #[serde(default)]
    not_credentials: Vec<String>,
    /// Strip entries applied to every exposed operation's answer.
    #[serde(default)]
    strip_everywhere: Vec<String>,
}

enum Decision {
    /// With the strip entries of this operation.
    Expose(Vec<String>),
    Hide(String),
    Curated(String),
    Deprecated,
}

/// One operation of the spec, as the normalised document names it.
struct Operation {
    name: String,
    method: String,
    path: String,
    /// The method as the spec writes it (`get`).
    key: &'static str,
    toolset: String,
    deprecated: bool,
}

/// A name made only of ASCII letters, digits and `_` (spec text is
/// untrusted; the real names already are).
pub(crate) fn plain(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect()
}

fn operations(normalised: &Value) -> Vec<Operation> {
    let mut found = Vec::new();
    let Some(paths) = normalised.get("paths").and_then(Value::as_object) else {
        return found;
    };
    for (path, item) in paths {
        for method in ["get", "put", "post", "delete", "patch", "head", "options"] {
            let Some(operation) = item.get(method) else {
                continue;
            };
            let name = plain(
                operation
                    .get("operationId")
                    .and_then(Value::as_str)
                    .unwrap_or_default(),
            );
            let tag = operation
                .pointer("/tags/0")
                .and_then(Value::as_str)
                .map(plain)
                .filter(|tag| !tag.is_empty())
                .unwrap_or_else(|| "server".to_owned());
            found.push(Operation {
                name,
                method: method.to_ascii_uppercase(),
                path: path.clone(),
                key: method,
                toolset: format!("api:{tag}"),
                deprecated: operation
                    .get("deprecated")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
            });
        }
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    found
}

/// How an `[operations]` entry may be written.
const FORMS: &str = "write \"expose\", { expose = true, strip = [\"field\", …] } or \
                     { hide = \"reason\" } (or list it in `covers` of the Kitaru tool that \
                     does it, in tools.toml)";

/// What `name = …` in `[operations]` says.
fn decision(name: &str, value: toml::Value, file: &str) -> Result<Decision, String> {
    let toml::Value::Table(mut table) = value else {
        return match value {
            toml::Value::String(word) if word == "expose" => Ok(Decision::Expose(Vec::new())),
            other => Err(format!("{file}: `{name}` = {other}: {FORMS}")),
        };
    };
    let keys: BTreeSet<&str> = table.keys().map(String::as_str).collect();
    let text = |value: Option<toml::Value>| match value {
        Some(toml::Value::String(text)) => Some(text),
        _ => None,
    };
    if keys == BTreeSet::from(["hide"]) {
        return match text(table.remove("hide")) {
            Some(reason) if reason.trim().is_empty() => {
                Err(format!("{file}: `{name}`: say why it is hidden"))
            }
            Some(reason) => Ok(Decision::Hide(reason)),
            None => Err(format!("{file}: `{name}`: `hide` is the reason, a string")),
        };
    }
    if keys == BTreeSet::from(["curated"]) {
        return Err(format!(
            "{file}: `{name}`: a curated tool says which operations it covers in its own \
             declaration: remove this line and add \"{name}\" to `covers` of that tool in \
             tools.toml"
        ));
    }
    if keys.contains("expose") && keys.iter().all(|key| ["expose", "strip"].contains(key)) {
        if table.get("expose") != Some(&toml::Value::Boolean(true)) {
            return Err(format!(
                "{file}: `{name}`: `expose` is `true` (a hidden operation is {{ hide = \"reason\" }})"
            ));
        }
        let strip = match table.remove("strip") {
            None => Vec::new(),
            Some(toml::Value::Array(entries)) => entries
                .into_iter()
                .map(|entry| match entry {
                    toml::Value::String(entry) => strip_entry(&entry)
                        .map(|()| entry)
                        .map_err(|why| format!("{file}: `{name}`: strip entry {why}")),
                    other => Err(format!(
                        "{file}: `{name}`: strip entry {other} is not a string"
                    )),
                })
                .collect::<Result<_, _>>()?,
            Some(other) => {
                return Err(format!(
                    "{file}: `{name}`: `strip` = {other}: a list of field names"
                ));
            }
        };
        return Ok(Decision::Expose(strip));
    }
    let keys: Vec<&str> = keys.into_iter().collect();
    Err(format!(
        "{file}: `{name}` = {{ {} = … }}: {FORMS}",
        keys.join(" = …, ")
    ))
}

/// A strip entry is a field name (`activation_token`) or a dotted path
/// ending with one (`connector.metadata.configuration`).
fn strip_entry(entry: &str) -> Result<(), String> {
    if entry
        .split('.')
        .any(|segment| segment.is_empty() || segment.chars().any(char::is_whitespace))
    {
        return Err(format!(
            "{entry:?}: write a field name or a dotted path of field names"
        ));
    }
    Ok(())
}

fn check_credentials_table(rules: &Credentials, file: &str) -> Result<(), String> {
    for entry in &rules.strip_everywhere {
        strip_entry(entry)
            .map_err(|why| format!("{file}: [credentials] strip_everywhere {why}"))?;
    }
    for (list, entries) in [("names", &rules.names), ("name_parts", &rules.name_parts)] {
        if let Some(blank) = entries.iter().find(|entry| entry.trim().is_empty()) {
            return Err(format!(
                "{file}: [credentials] {list} has a blank entry {blank:?}"
            ));
        }
    }
    if let Some(bad) = rules.not_credentials.iter().find(|entry| {
        entry
            .split_once('.')
            .is_none_or(|(a, b)| a.is_empty() || b.is_empty())
    }) {
        return Err(format!(
            "{file}: [credentials] not_credentials: {bad:?} is not `Schema.field`"
        ));
    }
    Ok(())
}

/// One step of a field's path in an answer.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Seg<'a> {
    /// A property.
    Name(&'a str),
    /// Any key of a map (`additionalProperties`).
    AnyKey,
    /// An item of an array.
    Item,
}

/// `items[].body.activation_token`; `*` for any key of a map.
fn path_text(path: &[Seg]) -> String {
    let mut out = String::new();
    for segment in path {
        match segment {
            Seg::Item => out.push_str("[]"),
            Seg::Name(_) | Seg::AnyKey if !out.is_empty() => out.push('.'),
            _ => {}
        }
        match segment {
            Seg::Name(name) => out.push_str(name),
            Seg::AnyKey => out.push('*'),
            Seg::Item => {}
        }
    }
    if out.is_empty() {
        "(the whole answer)".to_owned()
    } else {
        out
    }
}

/// Whether the strip entry `entry` (split at its dots) removes the member
/// that `path` ends with: the entry's names are the last keys of the path
/// (array levels do not count). A map's key (`*`) never matches a named
/// entry: at run time it could be any key.
fn strips(entry: &[&str], path: &[Seg]) -> bool {
    let mut keys = path.iter().rev().filter(|seg| **seg != Seg::Item);
    entry
        .iter()
        .rev()
        .all(|want| matches!(keys.next(), Some(Seg::Name(name)) if name == want))
}

/// A credential field an answer schema can hold, that no strip entry
/// removes.
struct Found<'a> {
    path: Vec<Seg<'a>>,
    /// `Schema.field` (or the bare name, or `a value`).
    field: String,
    /// Which rule made it a credential.
    why: String,
}

/// The most schema nodes one operation's answer may take to walk.
const MAX_STEPS: usize = 1_000_000;

/// A schema to walk: the node, the component schema it belongs to and the
/// path of keys to it in an answer.
type Pending<'a> = (&'a Value, Option<&'a str>, Vec<Seg<'a>>);

/// Walks the answer schemas of one operation, collecting the credential
/// fields its strip entries leave in. A member an entry removes is not
/// walked into (what is under it goes with it). A schema node is walked
/// once for each component schema it is reached from and each sequence of
/// the last keys an entry could match, so `$ref` cycles end and shared
/// schemas are not walked again for every path to them; shorter paths are
/// walked first, so a field is reported by its shortest path.
struct Walk<'a> {
    spec: &'a Value,
    rules: &'a Credentials,
    /// The strip entries that apply, split at their dots.
    entries: Vec<Vec<&'a str>>,
    /// How many of the last keys decide what an entry strips below.
    window: usize,
    /// What is left to walk: same-path steps (`$ref`, unions) in front.
    pending: VecDeque<Pending<'a>>,
    seen: HashSet<(*const Value, Option<&'a str>, Vec<Seg<'a>>)>,
    found: BTreeMap<String, Found<'a>>,
    steps: usize,
    problem: Option<String>,
}

impl<'a> Walk<'a> {
    fn new(
        spec: &'a Value,
        rules: &'a Credentials,
        strip: impl Iterator<Item = &'a String>,
    ) -> Self {
        let entries: Vec<Vec<&str>> = strip.map(|entry| entry.split('.').collect()).collect();
        let window = entries.iter().map(Vec::len).max().unwrap_or(1) - 1;
        Walk {
            spec,
            rules,
            entries,
            window,
            pending: VecDeque::new(),
            seen: HashSet::new(),
            found: BTreeMap::new(),
            steps: 0,
            problem: None,
        }
    }

    /// Whether the field `name` of the component schema `owner` is a
    /// credential: its `Schema.field` and why, if it is.
    fn credential(&self, owner: Option<&str>, name: &str) -> Option<(String, String)> {
        // `Schema.field` for this field, checked without building it: this
        // runs for every property walked.
        let this = |entry: &String| {
            owner.is_some_and(|owner| {
                entry
                    .strip_prefix(owner)
                    .and_then(|rest| rest.strip_prefix('.'))
                    == Some(name)
            })
        };
        let qualified = || owner.map_or_else(|| name.to_owned(), |owner| format!("{owner}.{name}"));
        if self.rules.not_credentials.iter().any(this) {
            return None;
        }
        if self
            .rules
            .names
            .iter()
            .any(|entry| entry == name || this(entry))
        {
            return Some((qualified(), "named in [credentials] names".to_owned()));
        }
        self.rules
            .name_parts
            .iter()
            .find(|part| {
                name.as_bytes()
                    .windows(part.len())
                    .any(|window| window.eq_ignore_ascii_case(part.as_bytes()))
            })
            .map(|part| {
                (
                    qualified(),
                    format!("its name contains `{part}` ([credentials] name_parts)"),
                )
            })
    }

    fn record(&mut self, path: &[Seg<'a>], field: String, why: String) {
        self.found.entry(path_text(path)).or_insert_with(|| Found {
            path: path.to_vec(),
            field,
            why,
        });
    }

    /// The last keys of `path` an entry could still match below it.
    fn tail(&self, path: &[Seg<'a>]) -> Vec<Seg<'a>> {
        let mut keys: Vec<Seg<'a>> = path
            .iter()
            .rev()
            .filter(|seg| **seg != Seg::Item)
            .take(self.window)
            .cloned()
            .collect();
        keys.reverse();
        keys
    }

    /// Walks `schema`, the answer's schema, and all it leads to.
    fn walk(&mut self, schema: &'a Value) {
        self.pending.push_back((schema, None, Vec::new()));
        while let Some((schema, owner, path)) = self.pending.pop_front() {
            self.step(schema, owner, &path);
            if self.problem.is_some() {
                return;
            }
        }
    }

    /// One schema node at `path`, of the component schema `owner`.
    fn step(&mut self, schema: &'a Value, owner: Option<&'a str>, path: &[Seg<'a>]) {
        let Some(object) = schema.as_object() else {
            return;
        };
        if !self
            .seen
            .insert((std::ptr::from_ref(schema), owner, self.tail(path)))
        {
            return;
        }
        self.steps += 1;
        if self.steps > MAX_STEPS {
            self.problem = Some(format!(
                "its answer schema takes more than {MAX_STEPS} steps to walk"
            ));
            return;
        }
        let deeper = |segment: Seg<'a>| {
            let mut path = path.to_vec();
            path.push(segment);
            path
        };
        if let Some(reference) = object.get("$ref").and_then(Value::as_str) {
            match reference
                .strip_prefix('#')
                .and_then(|pointer| self.spec.pointer(pointer))
            {
                Some(target) => {
                    self.pending
                        .push_front((target, reference.rsplit('/').next(), path.to_vec()));
                }
                None => {
                    self.problem = Some(format!(
                        "its answer schema has a $ref {reference:?} that cannot be followed"
                    ));
                    return;
                }
            }
        }
        if object.get("format").and_then(Value::as_str) == Some("password") {
            let field = match path.last() {
                Some(Seg::Name(name)) => {
                    owner.map_or_else(|| (*name).to_owned(), |o| format!("{o}.{name}"))
                }
                _ => "a value".to_owned(),
            };
            self.record(path, field, "its schema has `format: password`".to_owned());
        }
        for union in ["anyOf", "oneOf", "allOf"] {
            for member in object
                .get(union)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                self.pending.push_front((member, owner, path.to_vec()));
            }
        }
        let items = match object.get("items") {
            Some(Value::Array(items)) => items.iter().collect(),
            Some(item) => vec![item],
            None => Vec::new(),
        };
        for item in items.into_iter().chain(
            object
                .get("prefixItems")
                .and_then(Value::as_array)
                .into_iter()
                .flatten(),
        ) {
            self.pending.push_back((item, owner, deeper(Seg::Item)));
        }
        for values in object.get("additionalProperties").into_iter().chain(
            object
                .get("patternProperties")
                .and_then(Value::as_object)
                .into_iter()
                .flat_map(|patterns| patterns.values()),
        ) {
            self.pending.push_back((values, owner, deeper(Seg::AnyKey)));
        }
        for (name, property) in object
            .get("properties")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let path = deeper(Seg::Name(name));
            if self.entries.iter().any(|entry| strips(entry, &path)) {
                continue;
            }
            if let Some((field, why)) = self.credential(owner, name) {
                self.record(&path, field, why);
            }
            self.pending.push_back((property, owner, path));
        }
    }
}

/// The schemas of an operation's JSON answers (2xx, or `default`), in the
/// spec as served.
fn answer_schemas<'a>(spec: &'a Value, operation: &Operation) -> Vec<&'a Value> {
    let mut schemas = Vec::new();
    let responses = spec
        .get("paths")
        .and_then(|paths| paths.get(&operation.path))
        .and_then(|item| item.get(operation.key))
        .and_then(|operation| operation.get("responses"))
        .and_then(Value::as_object);
    for (code, response) in responses.into_iter().flatten() {
        if !(code.starts_with('2') || code == "default") {
            continue;
        }
        // A response may itself be a reference (`#/components/responses/…`).
        let response = match response.get("$ref").and_then(Value::as_str) {
            Some(reference) => reference
                .strip_prefix('#')
                .and_then(|pointer| spec.pointer(pointer))
                .unwrap_or(&Value::Null),
            None => response,
        };
        for (media, content) in response
            .get("content")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            if media.contains("json")
                && let Some(schema) = content.get("schema")
            {
                schemas.push(schema);
            }
        }
    }
    schemas
}

/// The decisions for `spec` (the document as served) from the text of
/// `api_tools.toml` and the operations the curated tools cover
/// (operation → tool, from their declarations).
pub fn generate(
    spec: &Value,
    decisions_toml: &str,
    file: &str,
    covered: &BTreeMap<String, String>,
) -> Result<Generated, String> {
    let normalised = crate::normalise::normalise(spec.clone())
        .map_err(|e| format!("normalising the spec: {e}"))?;
    let operations = operations(&normalised);
    let parsed = toml::from_str::<File>(decisions_toml).map_err(|e| format!("{file}: {e}"))?;
    let rules = parsed.credentials;
    check_credentials_table(&rules, file)?;
    let mut decided = parsed.operations;
    if let Some((operation, tool)) = covered
        .iter()
        .find(|(operation, _)| decided.contains_key(*operation))
    {
        return Err(format!(
            "{file}: `{operation}` is decided here and covered by {tool} (tools.toml): keep one"
        ));
    }
    let mut covering = covered.clone();

    let mut rows = Vec::new();
    let mut undecided = Vec::new();
    for operation in &operations {
        let entry = decided.remove(&operation.name);
        let tool = covering.remove(&operation.name);
        let decision = match (entry, tool) {
            _ if operation.deprecated => Decision::Deprecated,
            (_, Some(tool)) => Decision::Curated(tool),
            (None, None) => {
                undecided.push(format!(
                    "{} ({} {})",
                    operation.name, operation.method, operation.path
                ));
                Decision::Hide(UNDECIDED.to_owned())
            }
            (Some(value), None) => decision(&operation.name, value, file)?,
        };
        let tool = format!("api_{}", operation.name);
        if matches!(decision, Decision::Expose(_)) && tool.len() > MAX_TOOL_NAME {
            return Err(format!(
                "{file}: `{}` would be a tool name of {} characters (MCP allows {MAX_TOOL_NAME})",
                operation.name,
                tool.len()
            ));
        }
        rows.push((operation, decision));
    }
    let removed = decided.into_keys().chain(covering.into_keys()).collect();
    check_credentials(spec, &rows, &rules, file)?;

    let entries = rows.iter().map(|(operation, decision)| {
        let name = &operation.name;
        let toolset = &operation.toolset;
        let no_strip = Vec::new();
        let (decision, strip) = match decision {
            Decision::Expose(strip) => (quote!(ApiDecision::Expose), strip),
            Decision::Hide(reason) => (quote!(ApiDecision::Hide(#reason)), &no_strip),
            Decision::Curated(tool) => (quote!(ApiDecision::Curated(#tool)), &no_strip),
            Decision::Deprecated => (quote!(ApiDecision::Deprecated), &no_strip),
        };
        quote!((#name, #toolset, #decision, &[#(#strip),*]))
    });
    let everywhere = &rules.strip_everywhere;
    let tokens = quote! {
        /// Every operation of the spec: its name, its toolset, what became
        /// of it and the fields stripped from its answers (from
        /// `openapi/api_tools.toml`).
        pub static API_DECISIONS: &[(&str, &str, ApiDecision, &[&str])] = &[#(#entries),*];
        /// The fields stripped from every operation's answers
        /// (`[credentials] strip_everywhere`).
        pub static STRIPPED_EVERYWHERE: &[&str] = &[#(#everywhere),*];
    };
    let file_ast: syn::File = syn::parse2(tokens).map_err(|e| e.to_string())?;
    let decisions = format!(
        "// Generated by build.rs from {file} and the spec, do not edit.\n\n{}",
        prettyplease::unparse(&file_ast)
    );
    Ok(Generated {
        decisions,
        report: report(&rows, &rules, file),
        removed,
        undecided,
    })
}

/// Every exposed operation whose answer can hold a credential strips it;
/// else an error naming each one, the fields and how to decide.
fn check_credentials(
    spec: &Value,
    rows: &[(&Operation, Decision)],
    rules: &Credentials,
    file: &str,
) -> Result<(), String> {
    let mut problems = Vec::new();
    let mut example = None;
    for (operation, decision) in rows {
        let Decision::Expose(strip) = decision else {
            continue;
        };
        let mut walk = Walk::new(spec, rules, rules.strip_everywhere.iter().chain(strip));
        for schema in answer_schemas(spec, operation) {
            walk.walk(schema);
        }
        if let Some(problem) = walk.problem {
            return Err(format!(
                "{file}: cannot check `{}`: {problem}",
                operation.name
            ));
        }
        let mut open: Vec<Found> = walk.found.into_values().collect();
        if open.is_empty() {
            continue;
        }
        open.sort_by_key(|found| (found.path.len(), path_text(&found.path)));
        let fields: Vec<String> = open
            .iter()
            .take(5)
            .map(|found| {
                format!(
                    "`{}` ({}: {})",
                    path_text(&found.path),
                    found.field,
                    found.why
                )
            })
            .collect();
        let more = match open.len() {
            n if n > 5 => format!(" and {} more", n - 5),
            _ => String::new(),
        };
        problems.push(format!(
            "  - `{}` ({} {}): {}{more}",
            operation.name,
            operation.method,
            operation.path,
            fields.join(", ")
        ));
        if example.is_none() {
            let name = open[0]
                .path
                .iter()
                .rev()
                .find_map(|seg| match seg {
                    Seg::Name(name) => Some(*name),
                    _ => None,
                })
                .unwrap_or("field")
                .to_owned();
            example = Some((operation.name.clone(), name, open[0].field.clone()));
        }
    }
    let Some((operation, name, field)) = example else {
        return Ok(());
    };
    Err(format!(
        "{file}: {} exposed operation(s) can answer with a credential that is neither stripped \
         nor hidden:\n{}\nDecide each in {file}: strip the field from the operation's answers \
         (`{operation} = {{ expose = true, strip = [\"{name}\"] }}`; a dotted entry such as \
         `parent.{name}` strips it only under that key; `[credentials] strip_everywhere` strips \
         it from every answer), hide the operation (`{operation} = {{ hide = \"reason\" }}`), \
         or, if the field holds no credential, list `{field}` in `[credentials] not_credentials`.",
        problems.len(),
        problems.join("\n")
    ))
}

/// `|` and line breaks would break a Markdown table row.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

fn report(rows: &[(&Operation, Decision)], rules: &Credentials, file: &str) -> String {
    let count = |wanted: fn(&Decision) -> bool| rows.iter().filter(|(_, d)| wanted(d)).count();
    let listed = |entries: &[String]| {
        entries
            .iter()
            .map(|entry| format!("`{}`", cell(entry)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut out = format!(
        "# API operations as MCP tools\n\nGenerated by build.rs from `{file}` and the spec, do not \
         edit. {} operations: {} exposed (opt-in toolsets `api:*`), {} covered by a curated \
         Kitaru tool, {} hidden, {} deprecated.\n\nCredentials: every exposed operation's answers \
         leave out {} (`[credentials] strip_everywhere`); a tool below says what else its answers \
         leave out.\n\n| operation | method | path | toolset | decision |\n| --- | --- | --- | --- \
         | --- |\n",
        rows.len(),
        count(|d| matches!(d, Decision::Expose(_))),
        count(|d| matches!(d, Decision::Curated(_))),
        count(|d| matches!(d, Decision::Hide(_))),
        count(|d| matches!(d, Decision::Deprecated)),
        if rules.strip_everywhere.is_empty() {
            "nothing".to_owned()
        } else {
            listed(&rules.strip_everywhere)
        },
    );
    for (operation, decision) in rows {
        let decision = match decision {
            Decision::Expose(strip) if strip.is_empty() => format!("tool `api_{}`", operation.name),
            Decision::Expose(strip) => format!(
                "tool `api_{}`, its answers without {}",
                operation.name,
                listed(strip)
            ),
            Decision::Hide(reason) => format!("hidden: {}", cell(reason)),
            Decision::Curated(tool) => format!("curated: `{}`", cell(tool)),
            Decision::Deprecated => "hidden: deprecated".to_owned(),
        };
        out.push_str(&format!(
            "| `{}` | {} | `{}` | `{}` | {decision} |\n",
            operation.name,
            operation.method,
            cell(&operation.path),
            operation.toolset
        ));
    }
    out
}
