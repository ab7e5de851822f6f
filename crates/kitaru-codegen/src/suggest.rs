//! A suggested decision for each operation `openapi/api_tools.toml` does not
//! decide yet, with the reason — for the changelog of a refresh.
//!
//! The rules, first match wins:
//!
//! 1. the tool name `api_<name>` would be longer than MCP allows → hide;
//! 2. its JSON answer can hold a credential → hide. The answer schema is
//!    walked as the build walks it (`$ref`s, unions, items, maps) with the
//!    `[credentials]` rules of `api_tools.toml` (`names`, `name_parts`,
//!    `not_credentials`, `format: password`), fields that
//!    `strip_everywhere` removes left out. A response holding credentials
//!    is never suggested as exposed. An answer that is a bare value (no fields to walk) of an operation
//!    whose name, or its path's last segment, has a word the rules call a
//!    credential (`download-token`) is hidden too (not for a `DELETE`);
//! 3. a download (a name starting `download_`, a path ending in
//!    `/download`) → hide: a file's bytes are not for a model;
//! 4. a login or authentication endpoint (tag `auth`, a path segment
//!    `login`, `logout`, `token`, `api_token`, `device_authorization`) → hide;
//! 5. a stream (an event-stream or NDJSON answer, a path ending in
//!    `/stream`, or a summary or description speaking of SSE, server-sent
//!    events or a `StreamingResponse`) → hide: a tool call needs one bounded
//!    answer;
//! 6. an endpoint other systems call (a summary starting with `Receive`, a
//!    description naming a public endpoint or a provider's webhook event)
//!    → hide;
//! 7. a success answer that is not JSON → hide;
//! 8. otherwise expose, as the repository exposes the rest of the API
//!    (reads, and writes annotated by their method; read-only mode keeps
//!    only the `GET`s), saying what to check: a free-form answer the
//!    credential check cannot see into, a request that takes a password.
//!
//! Deprecated operations need no decision (the build hides them) and get
//! none.

use std::collections::{BTreeMap, BTreeSet, HashSet, VecDeque};

use serde::Deserialize;
use serde_json::Value;

use crate::served::{self, Operation, ref_name};

/// MCP's limit for a tool name (as `api_tools` checks it).
const MAX_TOOL_NAME: usize = 64;

/// A suggested decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Suggested {
    /// `name = "expose"`.
    Expose,
    /// `name = { hide = "reason" }`.
    Hide(String),
}

/// An operation that needs a decision, with the one suggested and why.
#[derive(Clone, Debug)]
pub struct Suggestion {
    /// The operation.
    pub operation: Operation,
    /// What to write in `api_tools.toml`.
    pub decision: Suggested,
    /// Why.
    pub why: String,
}

impl Suggestion {
    /// The line for `[operations]` in `api_tools.toml`.
    pub fn toml_line(&self) -> String {
        match &self.decision {
            Suggested::Expose => format!("{} = \"expose\"", self.operation.name),
            Suggested::Hide(reason) => format!(
                "{} = {{ hide = {} }}",
                self.operation.name,
                toml::Value::String(reason.clone())
            ),
        }
    }
}

/// The `[credentials]` rules of `api_tools.toml`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct CredentialRules {
    #[serde(default)]
    names: Vec<String>,
    #[serde(default)]
    name_parts: Vec<String>,
    #[serde(default)]
    not_credentials: Vec<String>,
    #[serde(default)]
    strip_everywhere: Vec<String>,
}

impl CredentialRules {
    /// These rules with more `not_credentials` entries.
    pub fn with_not_credentials(&self, more: impl IntoIterator<Item = String>) -> Self {
        let mut rules = self.clone();
        rules.not_credentials.extend(more);
        rules
    }
}

/// A field of a component schema that the `[credentials]` rules call a
/// credential, new in this version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CredentialField {
    /// `Schema.field`.
    pub field: String,
    /// Its type text.
    pub ty: String,
    /// Which rule matches it.
    pub why: String,
    /// `Some(reason)` when its type cannot hold a secret (a time, a number,
    /// a flag): a name match only, proposed for `not_credentials`.
    pub no_credential: Option<String>,
}

/// The fields of `new`'s component schemas, new since `old` (in a new
/// schema, or new in a schema), that the rules call credentials, each
/// with whether its type can hold one at all.
pub fn credential_fields(
    old: &Value,
    new: &Value,
    rules: &CredentialRules,
) -> Vec<CredentialField> {
    let old_schemas = served::schemas(old);
    let mut found = Vec::new();
    for (schema_name, schema) in served::schemas(new) {
        let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
            continue;
        };
        for (name, property) in properties {
            let existed = old_schemas
                .get(schema_name)
                .and_then(|old| old.get("properties"))
                .is_some_and(|old| old.get(name).is_some());
            if existed {
                continue;
            }
            let ty = served::type_text(property);
            let why = if ty.split(" | ").any(|member| member == "string(password)") {
                "its schema has `format: password`".to_owned()
            } else if let Some((_, why)) = is_credential(rules, Some(schema_name), name) {
                why
            } else {
                continue;
            };
            let kinds: Vec<&str> = ty.split(" | ").filter(|member| *member != "null").collect();
            let no_credential = kinds
                .iter()
                .all(|member| NO_SECRET.iter().any(|(kind, _)| kind == member))
                .then(|| {
                    let what: BTreeSet<&str> = kinds
                        .iter()
                        .filter_map(|member| NO_SECRET.iter().find(|(kind, _)| kind == member))
                        .map(|(_, what)| *what)
                        .collect();
                    format!(
                        "{}, which holds no secret",
                        what.into_iter().collect::<Vec<_>>().join(" or ")
                    )
                })
                .filter(|_| !kinds.is_empty());
            found.push(CredentialField {
                field: format!("{schema_name}.{name}"),
                ty,
                why,
                no_credential,
            });
        }
    }
    found
}

/// Types that cannot hold a secret value, and what they are.
const NO_SECRET: [(&str, &str); 5] = [
    ("string(date-time)", "a time"),
    ("string(date)", "a date"),
    ("boolean", "a flag"),
    ("integer", "a number"),
    ("number", "a number"),
];

/// What `api_tools.toml` holds, as far as suggestions need it.
#[derive(Clone, Debug, Default)]
pub struct DecisionsFile {
    /// The `[credentials]` rules.
    pub credentials: CredentialRules,
    /// Each decided operation's decision, in words (`exposed`,
    /// `hidden: reason`).
    pub decided: BTreeMap<String, String>,
}

/// Reads `api_tools.toml` (`file` names it in errors).
pub fn read_decisions(text: &str, file: &str) -> Result<DecisionsFile, String> {
    #[derive(Deserialize)]
    struct Raw {
        credentials: CredentialRules,
        #[serde(default)]
        operations: BTreeMap<String, toml::Value>,
    }
    let raw: Raw = toml::from_str(text).map_err(|e| format!("{file}: {e}"))?;
    let decided = raw
        .operations
        .into_iter()
        .map(|(name, value)| {
            let words = match &value {
                toml::Value::Table(table) => match table.get("hide") {
                    Some(toml::Value::String(reason)) => format!("hidden: {reason}"),
                    _ => match table.get("strip") {
                        Some(toml::Value::Array(fields)) if !fields.is_empty() => format!(
                            "exposed, its answers without {}",
                            fields
                                .iter()
                                .filter_map(toml::Value::as_str)
                                .map(|f| format!("`{f}`"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                        _ => "exposed".to_owned(),
                    },
                },
                _ => "exposed".to_owned(),
            };
            (name, words)
        })
        .collect();
    Ok(DecisionsFile {
        credentials: raw.credentials,
        decided,
    })
}

/// The suggestion for `operation` of `doc` (the document as served).
pub fn suggest(doc: &Value, operation: &Operation, rules: &CredentialRules) -> Suggestion {
    let (decision, why) = decide(doc, operation, rules);
    Suggestion {
        operation: operation.clone(),
        decision,
        why,
    }
}

fn hide(reason: &str, why: String) -> (Suggested, String) {
    (Suggested::Hide(reason.to_owned()), why)
}

fn decide(doc: &Value, operation: &Operation, rules: &CredentialRules) -> (Suggested, String) {
    let tool = format!("api_{}", operation.name);
    if tool.len() > MAX_TOOL_NAME {
        return hide(
            "its tool name would be too long for MCP",
            format!(
                "`{tool}` has {} characters; MCP allows {MAX_TOOL_NAME}, and the build refuses it",
                tool.len()
            ),
        );
    }
    let object = operation.object(doc);
    let answers = success_answers(doc, object);

    if let Some(found) = answers
        .iter()
        .filter(|(media, _)| media.contains("json"))
        .find_map(|(_, schema)| credential(doc, schema, rules))
    {
        let field = found
            .path
            .rsplit(['.', '['])
            .find(|segment| !segment.is_empty() && *segment != "]" && *segment != "*")
            .unwrap_or("field")
            .to_owned();
        return hide(
            &format!("answers with a credential (`{}`)", found.path),
            format!(
                "its answer holds `{}` ({}: {}); credentials never go into a model's context, so \
                 an answer that holds one is never suggested as exposed (if the rest of the answer \
                 is worth having, stripping the field is the alternative: `{{ expose = true, strip \
                 = [\"{field}\"] }}`)",
                found.path, found.field, found.why
            ),
        );
    }

    if operation.method != "DELETE"
        && !answers.is_empty()
        && answers
            .iter()
            .all(|(_, schema)| served::fields(doc, schema).is_none())
        && let Some(word) = credential_word(operation, rules)
    {
        return hide(
            &format!("answers with a credential (a {word}, by its name)"),
            format!(
                "its answer is a bare value and its name says it is a {word}; credentials never \
                 go into a model's context"
            ),
        );
    }

    let last = operation
        .path
        .rsplit('/')
        .find(|segment| !segment.is_empty() && !segment.starts_with('{'))
        .unwrap_or_default();
    if operation.name.starts_with("download_") || last == "download" {
        return hide(
            "answers with a download (a file's bytes), not something a model can read",
            format!(
                "{}: a file's bytes, for a program to save, not for a model's context",
                if last == "download" {
                    "its path ends in `/download`".to_owned()
                } else {
                    format!("its name is `{}`", operation.name)
                }
            ),
        );
    }

    let segments: Vec<&str> = operation
        .path
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let auth_segment = segments.iter().find(|s| {
        [
            "login",
            "logout",
            "token",
            "api_token",
            "device_authorization",
        ]
        .contains(s)
    });
    if operation
        .tags
        .iter()
        .any(|tag| tag == "auth" || tag == "login")
        || auth_segment.is_some()
    {
        let signal = match auth_segment {
            Some(segment) => format!("its path has `/{segment}`"),
            None => "its tag is `auth`".to_owned(),
        };
        return hide(
            "a login or authentication endpoint: takes or answers credentials",
            format!("{signal}: logins are the connection's business, not an assistant's"),
        );
    }

    if let Some(signal) = stream_signal(operation, &answers) {
        return hide(
            "streams events (server-sent events): a tool call needs one bounded answer",
            format!("{signal}; an MCP tool answers once, with a bounded result"),
        );
    }

    let description = operation.description.to_ascii_lowercase();
    let inbound = if operation.summary.starts_with("Receive ") {
        Some(format!("its summary is “{}”", operation.summary))
    } else if description.contains("public endpoint") {
        Some("its description names a public endpoint".to_owned())
    } else if description.contains("provider webhook") {
        Some("its description speaks of a provider's webhook event".to_owned())
    } else {
        None
    };
    if let Some(signal) = inbound {
        return hide(
            "the endpoint other systems deliver to (webhook events), not an operation for a client",
            format!("{signal}: external systems call it, authenticated by their own signature"),
        );
    }

    if !answers.is_empty() && answers.iter().all(|(media, _)| !media.contains("json")) {
        let media: BTreeSet<&str> = answers.iter().map(|(media, _)| *media).collect();
        return hide(
            "answers with something other than JSON",
            format!(
                "its success answer is {}, not JSON a model can read",
                media
                    .into_iter()
                    .map(|m| format!("`{m}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
    }

    let what = if operation.summary.is_empty() {
        String::new()
    } else {
        format!(" (“{}”)", operation.summary)
    };
    let reads = ["get_", "list_"]
        .iter()
        .any(|p| operation.name.starts_with(p))
        || ["Get ", "List "]
            .iter()
            .any(|p| operation.summary.starts_with(p));
    let mut why = match operation.method.as_str() {
        "GET" | "HEAD" => format!(
            "a read{what}: changes nothing; exposed like the other reads, and read-only mode keeps it"
        ),
        "DELETE" => format!(
            "a delete{what}: exposed like the other deletes, annotated destructive; read-only mode \
             leaves it out"
        ),
        method if reads => format!(
            "a read sent as {method}{what}: exposed like the other reads, but tools are annotated \
             by their method, so read-only mode leaves it out"
        ),
        _ => format!(
            "a write{what}: exposed like the other writes (annotated by its method); read-only mode \
             leaves it out"
        ),
    };
    // A delete's `{}` answer is FastAPI's way of saying nothing comes back.
    let free_form: BTreeSet<String> = answers
        .iter()
        .filter(|(media, _)| media.contains("json"))
        .filter(|(_, schema)| {
            !(operation.method == "DELETE" && schema.as_object().is_some_and(|o| o.is_empty()))
        })
        .map(|(_, schema)| served::type_text(schema))
        .filter(|text| {
            text == "any" || text == "object" || text == "any | null" || text == "object | null"
        })
        .collect();
    if !free_form.is_empty() {
        why.push_str(&format!(
            "; its answer is free-form (`{}`): the build's credential check cannot see into it, so \
             check what it returns",
            free_form.into_iter().collect::<Vec<_>>().join("`, `")
        ));
    }
    // A request that takes a password: the caller, a model, would have to
    // hold it.
    let requests = CredentialRules {
        name_parts: vec!["password".to_owned(), "passphrase".to_owned()],
        ..CredentialRules::default()
    };
    if let Some(found) = served::request_body(doc, object)
        .into_iter()
        .flat_map(|(_, content)| content.into_values())
        .find_map(|schema| credential(doc, schema, &requests))
    {
        why.push_str(&format!(
            "; its request takes a password (`{}`), which the caller has to provide: consider \
             hiding it",
            found.path
        ));
    }
    (Suggested::Expose, why)
}

/// The media types and schemas of the success answers (2xx, `default`).
fn success_answers<'a>(doc: &'a Value, operation: &'a Value) -> Vec<(&'a str, &'a Value)> {
    served::responses(doc, operation)
        .into_iter()
        .filter(|(code, _)| code.starts_with('2') || *code == "default")
        .flat_map(|(_, content)| content.into_iter())
        .collect()
}

/// A word of the operation's name or of its path's last fixed segment that
/// the `[credentials]` rules call a credential.
fn credential_word(operation: &Operation, rules: &CredentialRules) -> Option<String> {
    let last = operation
        .path
        .rsplit('/')
        .find(|segment| !segment.is_empty() && !segment.starts_with('{'))
        .unwrap_or_default();
    let words: Vec<String> = operation
        .name
        .split('_')
        .chain(last.split(['-', '_']))
        .map(str::to_ascii_lowercase)
        .collect();
    words.into_iter().find(|word| {
        rules.names.iter().any(|name| name == word)
            || rules
                .name_parts
                .iter()
                .any(|part| word.contains(&part.to_ascii_lowercase()))
    })
}

fn stream_signal(operation: &Operation, answers: &[(&str, &Value)]) -> Option<String> {
    if let Some((media, _)) = answers
        .iter()
        .find(|(media, _)| media.contains("event-stream") || media.contains("ndjson"))
    {
        return Some(format!("it answers `{media}`"));
    }
    if operation.path.ends_with("/stream") {
        return Some("its path ends in `/stream`".to_owned());
    }
    let text = format!("{}\n{}", operation.summary, operation.description);
    let lower = text.to_ascii_lowercase();
    if text
        .split(|c: char| !c.is_ascii_alphanumeric())
        .any(|word| word == "SSE")
    {
        return Some("its description speaks of SSE".to_owned());
    }
    for phrase in ["server-sent events", "streamingresponse", "event stream"] {
        if lower.contains(phrase) {
            return Some(format!("its description speaks of “{phrase}”"));
        }
    }
    None
}

/// A credential an answer can hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credential {
    /// Where, in the answer (`items[].body.secret`).
    pub path: String,
    /// `Schema.field` (or the field's name).
    pub field: String,
    /// Which rule makes it a credential.
    pub why: String,
}

/// One step of a path in an answer: a property, `*` (any key of a map) or
/// `[]` (an item).
type Path<'a> = Vec<&'a str>;

fn path_text(path: &[&str]) -> String {
    let mut out = String::new();
    for segment in path {
        if *segment != "[]" && !out.is_empty() {
            out.push('.');
        }
        out.push_str(segment);
    }
    if out.is_empty() {
        "(the whole answer)".to_owned()
    } else {
        out
    }
}

/// The first credential (by a shortest path) the answer schema `schema` can
/// hold that `strip_everywhere` does not remove.
pub fn credential(doc: &Value, schema: &Value, rules: &CredentialRules) -> Option<Credential> {
    let entries: Vec<Vec<&str>> = rules
        .strip_everywhere
        .iter()
        .map(|entry| entry.split('.').collect())
        .collect();
    let window = entries
        .iter()
        .map(Vec::len)
        .max()
        .unwrap_or(1)
        .saturating_sub(1);
    let tail = |path: &Path| -> Vec<String> {
        let mut keys: Vec<String> = path
            .iter()
            .rev()
            .filter(|seg| **seg != "[]")
            .take(window)
            .map(|seg| (*seg).to_owned())
            .collect();
        keys.reverse();
        keys
    };
    let strips = |path: &Path| {
        entries.iter().any(|entry| {
            let mut keys = path.iter().rev().filter(|seg| **seg != "[]");
            entry.iter().rev().all(|want| keys.next() == Some(want))
        })
    };

    let mut pending: VecDeque<(&Value, Option<&str>, Path)> = VecDeque::new();
    let mut seen: HashSet<(*const Value, Option<&str>, Vec<String>)> = HashSet::new();
    pending.push_back((schema, None, Vec::new()));
    let mut steps = 0usize;
    while let Some((node, owner, path)) = pending.pop_front() {
        let Some(object) = node.as_object() else {
            continue;
        };
        if !seen.insert((std::ptr::from_ref(node), owner, tail(&path))) {
            continue;
        }
        steps += 1;
        if steps > 1_000_000 {
            return Some(Credential {
                path: path_text(&path),
                field: "(unknown)".to_owned(),
                why: "the answer schema is too large to walk, so it may hold one".to_owned(),
            });
        }
        if let Some(reference) = object.get("$ref").and_then(Value::as_str) {
            match served::follow(doc, reference) {
                Some(target) => {
                    pending.push_front((target, Some(ref_name(reference)), path.clone()))
                }
                None => {
                    return Some(Credential {
                        path: path_text(&path),
                        field: reference.to_owned(),
                        why: "a $ref that cannot be followed, so it may hold one".to_owned(),
                    });
                }
            }
        }
        if object.get("format").and_then(Value::as_str) == Some("password") {
            let field = match (path.last(), owner) {
                (Some(name), Some(owner)) if *name != "[]" && *name != "*" => {
                    format!("{owner}.{name}")
                }
                (Some(name), None) if *name != "[]" && *name != "*" => (*name).to_owned(),
                _ => "a value".to_owned(),
            };
            return Some(Credential {
                path: path_text(&path),
                field,
                why: "its schema has `format: password`".to_owned(),
            });
        }
        for union in ["anyOf", "oneOf", "allOf"] {
            for member in object
                .get(union)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                pending.push_front((member, owner, path.clone()));
            }
        }
        let items: Vec<&Value> = match object.get("items") {
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
            let mut deeper = path.clone();
            deeper.push("[]");
            pending.push_back((item, owner, deeper));
        }
        for values in object.get("additionalProperties").into_iter().chain(
            object
                .get("patternProperties")
                .and_then(Value::as_object)
                .into_iter()
                .flat_map(|patterns| patterns.values()),
        ) {
            let mut deeper = path.clone();
            deeper.push("*");
            pending.push_back((values, owner, deeper));
        }
        for (name, property) in object
            .get("properties")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let mut deeper = path.clone();
            deeper.push(name.as_str());
            if strips(&deeper) {
                continue;
            }
            if let Some((field, why)) = is_credential(rules, owner, name) {
                return Some(Credential {
                    path: path_text(&deeper),
                    field,
                    why,
                });
            }
            pending.push_back((property, owner, deeper));
        }
    }
    None
}

/// Whether the field `name` of the component schema `owner` is a
/// credential by the `[credentials]` rules: its `Schema.field` and why.
fn is_credential(
    rules: &CredentialRules,
    owner: Option<&str>,
    name: &str,
) -> Option<(String, String)> {
    let qualified = owner.map_or_else(|| name.to_owned(), |owner| format!("{owner}.{name}"));
    let this = |entry: &String| owner.is_some() && *entry == qualified;
    if rules.not_credentials.iter().any(this) {
        return None;
    }
    if rules.names.iter().any(|entry| entry == name || this(entry)) {
        return Some((qualified, "named in [credentials] names".to_owned()));
    }
    rules
        .name_parts
        .iter()
        .find(|part| {
            name.to_ascii_lowercase()
                .contains(&part.to_ascii_lowercase())
        })
        .map(|part| {
            (
                qualified,
                format!("its name contains `{part}` ([credentials] name_parts)"),
            )
        })
}
