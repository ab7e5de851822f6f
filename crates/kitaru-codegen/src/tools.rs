//! `openapi/tools.toml` → Rust: one argument type per tool, the table of
//! tools and toolsets, a constant per tool name, the rmcp registrations that
//! call the adapters, and the tool reference (Markdown).
//!
//! The declaration is the one place a curated tool is described: what the
//! assistant sees (name, title, description, arguments, output, annotations),
//! where it belongs (toolset), what runs it (adapter), and the facts the
//! rest of the server decides from — whether a call can run as an MCP task,
//! whether its result links the execution view, and which API operations it
//! covers (those get no `api_*` tool; see [`crate::api_tools`]).
//!
//! Deterministic (tools in file order, parameters in file order) and
//! formatted with prettyplease, so the reviewed copies in `generated/` diff
//! cleanly.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ToolFile {
    /// Toolsets by name, in file order of their first tool.
    toolset: std::collections::BTreeMap<String, ToolsetDecl>,
    /// Parameters several tools share, by name.
    #[serde(default)]
    param: std::collections::BTreeMap<String, Param>,
    tool: Vec<Tool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ToolsetDecl {
    description: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Tool {
    name: String,
    title: String,
    description: String,
    toolset: String,
    adapter: String,
    output: String,
    result: Option<ResultShape>,
    #[serde(default = "yes")]
    connect: bool,
    #[serde(default)]
    read_only: bool,
    #[serde(default)]
    destructive: bool,
    #[serde(default)]
    idempotent: bool,
    #[serde(default)]
    open_world: bool,
    /// A call can run as an MCP task: the tool starts an execution and
    /// answers with it.
    #[serde(default)]
    task: bool,
    /// The result is an execution the execution view (MCP App) shows.
    #[serde(default)]
    view: bool,
    /// The API operations (`operationId`s) this tool does, with Kitaru's
    /// rules: they get no `api_*` tool.
    #[serde(default)]
    covers: Vec<String>,
    #[serde(default)]
    param: Vec<ParamDecl>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize, Clone, Copy, PartialEq)]
#[serde(rename_all = "lowercase")]
enum ResultShape {
    List,
    Text,
    Optional,
}

/// A parameter as a tool declares it: its own, or a shared one by name.
#[derive(Deserialize)]
#[serde(untagged)]
enum ParamDecl {
    Shared { shared: String },
    Own(Param),
}

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct Param {
    #[serde(default)]
    name: String,
    description: String,
    #[serde(rename = "type")]
    kind: ParamKind,
    #[serde(default)]
    required: bool,
    default: Option<toml::Value>,
    minimum: Option<i64>,
    maximum: Option<i64>,
    /// For strings: the closed set of values, advertised as the schema's
    /// `enum` (the adapter reads the value).
    values: Option<Vec<String>>,
    /// Accepted but left out of the schema a model reads: an older form of
    /// the tool's arguments that callers may still send (the schema then
    /// leaves `additionalProperties` open).
    #[serde(default)]
    hidden: bool,
}

#[derive(Deserialize, Clone, Copy, PartialEq)]
#[serde(rename_all = "snake_case")]
enum ParamKind {
    String,
    Integer,
    Boolean,
    Object,
    Any,
    StringList,
    /// A list of any JSON values (the adapter checks each).
    List,
}

/// What the declarations generate.
pub struct Generated {
    /// Rust: `pub mod args`, the argument types (for `src/tools/`).
    pub args: String,
    /// Rust: `pub mod names`, the tool and toolset tables and the closed
    /// sets of values (for `src/catalog/`).
    pub catalog: String,
    /// Rust: the `#[tool_router]` impl on `KitaruServer`.
    pub router: String,
    /// Markdown: the tool reference (`docs/tools.md`).
    pub reference: String,
    /// The API operations the tools cover: operation → tool.
    pub coverage: BTreeMap<String, String>,
}

/// A tool with its parameters resolved (shared ones looked up).
struct Resolved<'a> {
    tool: &'a Tool,
    params: Vec<Param>,
}

impl Resolved<'_> {
    /// Whether the tool also accepts arguments its schema leaves out (an
    /// older form of them).
    fn admits_hidden(&self) -> bool {
        self.params.iter().any(|param| param.hidden)
    }
}

/// The generated Rust source for the whole tool surface.
pub fn generate(toml_text: &str, file_name: &str) -> Result<Generated, String> {
    let file: ToolFile = toml::from_str(toml_text).map_err(|e| e.to_string())?;
    let tools = resolve(&file)?;
    check(&file, &tools)?;
    let args: Vec<TokenStream> = tools.iter().map(args_type).collect::<Result<_, _>>()?;
    let routes: Vec<TokenStream> = tools.iter().map(route).collect::<Result<_, _>>()?;
    let entries = tools.iter().map(|resolved| {
        let tool = resolved.tool;
        let (name, title, toolset, read_only) =
            (&tool.name, &tool.title, &tool.toolset, tool.read_only);
        let (task, view, covers) = (tool.task, tool.view, &tool.covers);
        quote!(crate::catalog::ToolInfo {
            name: #name, title: #title, toolset: #toolset, read_only: #read_only,
            task: #task, view: #view, covers: &[#(#covers),*],
        })
    });
    let names = tools.iter().map(|resolved| {
        let name = &resolved.tool.name;
        let constant = name_constant(name);
        let doc = format!("`{name}`: {}", resolved.tool.title);
        quote!(#[doc = #doc] pub const #constant: &str = #name;)
    });
    let allowed = tools.iter().flat_map(|resolved| {
        let tool = &resolved.tool.name;
        resolved.params.iter().filter_map(move |param| {
            let values = param.values.as_ref()?;
            let name = &param.name;
            Some(quote!((#tool, #name, &[#(#values),*])))
        })
    });
    let toolsets = file.toolset.iter().map(|(name, toolset)| {
        let description = &toolset.description;
        quote!(crate::catalog::ToolsetInfo { name: #name, description: #description })
    });
    let args = quote! {
        /// The argument types of the tools, one per tool; their JSON schemas
        /// are the tools' input schemas.
        pub mod args {
            use schemars::JsonSchema;
            use serde::Deserialize;
            #(#args)*
        }
    };
    let catalog = quote! {
        /// The name of every tool, one constant each: code that names a tool
        /// uses these, so a tool it names exists.
        pub mod names {
            #(#names)*
        }

        /// Every tool, in declaration order.
        pub const TOOLS: &[crate::catalog::ToolInfo] = &[#(#entries),*];

        /// Every toolset, by name.
        pub const TOOLSETS: &[crate::catalog::ToolsetInfo] = &[#(#toolsets),*];

        /// The closed sets of values of string parameters: tool, parameter,
        /// values. An error about such a parameter lists them.
        pub const ALLOWED_VALUES: &[(&str, &str, &[&str])] = &[#(#allowed),*];
    };
    let router = quote! {
        use super::args;

        #[rmcp::tool_router(router = generated_tool_router, vis = "pub(crate)")]
        impl crate::tools::Toolbox {
            #(#routes)*
        }
    };
    let coverage = tools
        .iter()
        .flat_map(|resolved| {
            let tool = &resolved.tool.name;
            resolved
                .tool
                .covers
                .iter()
                .map(move |operation| (operation.clone(), tool.clone()))
        })
        .collect();
    Ok(Generated {
        args: format_file(args, file_name)?,
        catalog: format_file(catalog, file_name)?,
        router: format_file(router, file_name)?,
        reference: reference(&file, &tools, file_name),
        coverage,
    })
}

/// `kitaru_executions_get` → `EXECUTIONS_GET`; `manage_stack` → `MANAGE_STACK`.
fn name_constant(name: &str) -> proc_macro2::Ident {
    let base = name.strip_prefix("kitaru_").unwrap_or(name);
    format_ident!("{}", base.to_ascii_uppercase())
}

fn format_file(tokens: TokenStream, file_name: &str) -> Result<String, String> {
    let syntax: syn::File =
        syn::parse2(tokens).map_err(|e| format!("generated code does not parse: {e}"))?;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "// Generated by build.rs from {file_name}; do not edit. Reviewed copies: generated/tool_*.rs.\n"
    );
    out.push_str(&prettyplease::unparse(&syntax));
    Ok(out)
}

/// Each tool with its shared parameters looked up.
fn resolve(file: &ToolFile) -> Result<Vec<Resolved<'_>>, String> {
    file.tool
        .iter()
        .map(|tool| {
            let params = tool
                .param
                .iter()
                .map(|decl| match decl {
                    ParamDecl::Own(param) => Ok(param.clone()),
                    ParamDecl::Shared { shared } => {
                        let mut param = file.param.get(shared).cloned().ok_or_else(|| {
                            format!("tool {}: no shared parameter `{shared}`", tool.name)
                        })?;
                        param.name = shared.clone();
                        Ok(param)
                    }
                })
                .collect::<Result<_, String>>()?;
            Ok(Resolved { tool, params })
        })
        .collect()
}

fn check(file: &ToolFile, tools: &[Resolved<'_>]) -> Result<(), String> {
    let mut seen = BTreeSet::new();
    let mut covered = BTreeMap::new();
    for (name, param) in &file.param {
        if !param.name.is_empty() {
            return Err(format!("shared parameter {name}: its name is its key"));
        }
    }
    for Resolved { tool, params } in tools {
        if !seen.insert(&tool.name) {
            return Err(format!("tool {} is declared twice", tool.name));
        }
        if !file.toolset.contains_key(&tool.toolset) {
            return Err(format!(
                "tool {}: toolset `{}` is not declared in [toolset]",
                tool.name, tool.toolset
            ));
        }
        if tool.read_only && tool.destructive {
            return Err(format!(
                "tool {} cannot be both read_only and destructive",
                tool.name
            ));
        }
        if tool.task && !tool.connect {
            return Err(format!(
                "tool {}: a task follows an execution on the server; it needs `connect`",
                tool.name
            ));
        }
        for operation in &tool.covers {
            if let Some(other) = covered.insert(operation, &tool.name) {
                return Err(format!(
                    "operation {operation} is covered by both {other} and {}",
                    tool.name
                ));
            }
        }
        let mut names = BTreeSet::new();
        for param in params {
            let at = format!("tool {} parameter {}", tool.name, param.name);
            if param.name.is_empty() {
                return Err(format!("tool {}: a parameter has no name", tool.name));
            }
            if !names.insert(&param.name) {
                return Err(format!("{at} is declared twice"));
            }
            if param.required && param.default.is_some() {
                return Err(format!("{at}: required and default exclude each other"));
            }
            if param.hidden && (param.required || param.default.is_some()) {
                return Err(format!(
                    "{at}: a hidden parameter is optional, without a default"
                ));
            }
            if param.values.is_some() && param.kind != ParamKind::String {
                return Err(format!("{at}: `values` applies to strings only"));
            }
            if (param.minimum.is_some() || param.maximum.is_some())
                && param.kind != ParamKind::Integer
            {
                return Err(format!(
                    "{at}: `minimum` and `maximum` apply to integers only"
                ));
            }
        }
    }
    let used: BTreeSet<&String> = tools.iter().map(|t| &t.tool.toolset).collect();
    if let Some(unused) = file.toolset.keys().find(|name| !used.contains(name)) {
        return Err(format!("toolset {unused} has no tools"));
    }
    Ok(())
}

fn pascal(text: &str) -> String {
    text.split('_')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase())
                .into_iter()
                .chain(chars)
                .collect::<String>()
        })
        .collect()
}

fn args_name(tool: &Tool) -> proc_macro2::Ident {
    let base = tool.name.strip_prefix("kitaru_").unwrap_or(&tool.name);
    format_ident!("{}Args", pascal(base))
}

fn path(text: &str) -> Result<syn::Path, String> {
    syn::parse_str(text).map_err(|e| format!("`{text}` is not a Rust path: {e}"))
}

fn rust_type(param: &Param) -> TokenStream {
    let base = match param.kind {
        ParamKind::String => quote!(String),
        ParamKind::Integer => quote!(i64),
        ParamKind::Boolean => quote!(bool),
        ParamKind::Object => quote!(serde_json::Map<String, serde_json::Value>),
        ParamKind::Any => quote!(serde_json::Value),
        ParamKind::StringList => quote!(Vec<String>),
        ParamKind::List => quote!(Vec<serde_json::Value>),
    };
    if param.required || param.default.is_some() {
        base
    } else {
        quote!(Option<#base>)
    }
}

fn default_value(param: &Param, value: &toml::Value) -> Result<TokenStream, String> {
    let wrong = || {
        format!(
            "parameter {}: default {value} does not fit its type",
            param.name
        )
    };
    Ok(match (param.kind, value) {
        (ParamKind::String, toml::Value::String(s)) => {
            if param
                .values
                .as_ref()
                .is_some_and(|values| !values.contains(s))
            {
                return Err(wrong());
            }
            quote!(#s.to_owned())
        }
        (ParamKind::Integer, toml::Value::Integer(i)) => quote!(#i),
        (ParamKind::Boolean, toml::Value::Boolean(b)) => quote!(#b),
        _ => return Err(wrong()),
    })
}

fn args_type(resolved: &Resolved<'_>) -> Result<TokenStream, String> {
    let tool = resolved.tool;
    let name = args_name(tool);
    let doc = format!("Arguments of `{}`.", tool.name);
    let mut fields = Vec::new();
    let mut defaults = Vec::new();
    let mut checks = Vec::new();
    // With a hidden (older) form, the advertised form's required arguments
    // are required in the schema only: the adapter checks which form came.
    let admits_hidden = resolved.admits_hidden();
    for param in &resolved.params {
        let mut attrs = Vec::new();
        let mut relaxed = (*param).clone();
        // serde reads a missing `Option` as `None` by itself; a
        // `#[serde(default)]` would make schemars drop it from `required`.
        let schema_only_required = admits_hidden && param.required;
        if schema_only_required {
            relaxed.required = false;
            attrs.push(quote!(#[schemars(required)]));
        }
        let param = &relaxed;
        let field = format_ident!("{}", param.name);
        let ty = rust_type(param);
        let description = &param.description;
        if let Some(value) = &param.default {
            let default_fn = format_ident!("default_{}_{}", tool.name, param.name);
            let value_tokens = default_value(param, value)?;
            let name_str = format!("default_{}_{}", tool.name, param.name);
            attrs.push(quote!(#[serde(default = #name_str)]));
            defaults.push(quote! {
                fn #default_fn() -> #ty { #value_tokens }
            });
        } else if !param.required && !schema_only_required {
            attrs.push(quote!(#[serde(default)]));
        }
        match (param.minimum, param.maximum) {
            (Some(min), Some(max)) => {
                attrs.push(quote!(#[schemars(range(min = #min, max = #max))]))
            }
            (Some(min), None) => attrs.push(quote!(#[schemars(range(min = #min))])),
            (None, Some(max)) => attrs.push(quote!(#[schemars(range(max = #max))])),
            (None, None) => {}
        }
        if let Some(maximum) = param.maximum {
            let argument = &param.name;
            let reason = format!(
                "`{argument}` must be <= {maximum}: a longer answer costs a model's context more \
                 than it helps; narrow the query instead."
            );
            checks.push(if param.required || param.default.is_some() {
                quote! {
                    if self.#field > #maximum {
                        return Err(crate::tools::ToolError::argument(#argument, #reason));
                    }
                }
            } else {
                quote! {
                    if self.#field.is_some_and(|value| value > #maximum) {
                        return Err(crate::tools::ToolError::argument(#argument, #reason));
                    }
                }
            });
        }
        if let Some(minimum) = param.minimum {
            let argument = &param.name;
            // The reference's wording.
            let reason = if param.required || param.default.is_some() {
                format!("`{argument}` must be >= {minimum}.")
            } else {
                format!("`{argument}` must be >= {minimum} when provided.")
            };
            checks.push(if param.required || param.default.is_some() {
                quote! {
                    if self.#field < #minimum {
                        return Err(crate::tools::ToolError::argument(#argument, #reason));
                    }
                }
            } else {
                quote! {
                    if self.#field.is_some_and(|value| value < #minimum) {
                        return Err(crate::tools::ToolError::argument(#argument, #reason));
                    }
                }
            });
        }
        if param.hidden {
            attrs.push(quote!(#[schemars(skip)]));
        }
        if let Some(values) = &param.values {
            // Optional parameters may also be null.
            let null = (!param.required && param.default.is_none()).then(|| quote!(, null));
            attrs.push(quote!(#[schemars(extend("enum" = [#(#values),* #null]))]));
        }
        fields.push(quote! {
            #[doc = #description]
            #(#attrs)*
            pub #field: #ty
        });
    }
    Ok(quote! {
        #[doc = #doc]
        #[derive(Clone, Debug, Deserialize, JsonSchema)]
        #[serde(deny_unknown_fields)]
        pub struct #name { #(#fields),* }
        impl crate::tools::Validate for #name {
            fn validate(&self) -> Result<(), crate::tools::ToolError> {
                #(#checks)*
                Ok(())
            }
        }
        #(#defaults)*
    })
}

fn route(resolved: &Resolved<'_>) -> Result<TokenStream, String> {
    let tool = resolved.tool;
    let fn_name = format_ident!("{}", tool.name);
    let (name, title, description) = (&tool.name, &tool.title, &tool.description);
    let args = args_name(tool);
    let adapter = path(&format!("crate::tools::{}", tool.adapter))?;
    let output = path(&tool.output)?;
    let output_ty = match tool.result {
        Some(ResultShape::List) => quote!(crate::tools::Listed<#output>),
        Some(ResultShape::Text) => quote!(crate::tools::Text),
        Some(ResultShape::Optional) => quote!(crate::tools::Maybe<#output>),
        None => quote!(#output),
    };
    let (read_only, destructive, idempotent, open_world) = (
        tool.read_only,
        tool.destructive,
        tool.idempotent,
        tool.open_world,
    );
    let input_schema = if resolved.admits_hidden() {
        quote!(crate::tools::input_schema_admitting_hidden::<args::#args>())
    } else {
        quote!(crate::tools::input_schema::<args::#args>())
    };
    let target = if tool.connect {
        quote!(&*self.kitaru_of(context.request()).await?)
    } else {
        quote!(&*self.connector_of(context.request())?)
    };
    Ok(quote! {
        #[rmcp::tool(
            name = #name,
            description = #description,
            input_schema = #input_schema,
            output_schema = crate::tools::output_schema::<#output_ty>(),
            annotations(
                title = #title,
                read_only_hint = #read_only,
                destructive_hint = #destructive,
                idempotent_hint = #idempotent,
                open_world_hint = #open_world
            )
        )]
        async fn #fn_name(
            &self,
            rmcp::handler::server::wrapper::Parameters(arguments): rmcp::handler::server::wrapper::Parameters<rmcp::model::JsonObject>,
            request: rmcp::service::RequestContext<rmcp::RoleServer>,
        ) -> Result<rmcp::model::CallToolResult, rmcp::ErrorData> {
            let context = crate::tools::ToolContext::new(#name, request).with_arguments(&arguments);
            let outcome = context.run(async {
                let args: args::#args = crate::tools::arguments(arguments)?;
                #adapter(#target, args, &context).await
            }).await;
            crate::tools::respond::<#output_ty, _>(&context, outcome)
        }
    })
}

/// The tool reference: every toolset and tool, as the assistant sees it and
/// with the facts the server decides from.
fn reference(file: &ToolFile, tools: &[Resolved<'_>], file_name: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Tool reference\n\n\
         Generated from `{file_name}` by the build; do not edit. After changing the \
         declarations: `KITARU_UPDATE_GENERATED=1 cargo test --test tool_surface`.\n\n\
         {} tools in {} toolsets. Read-only tools are offered in `--read-only` mode; \
         the others are not. A tool marked *task* runs as an MCP task when the client \
         supports tasks; *view* links the execution view (an MCP App) to its result. \
         The API operations a tool *covers* get no `api_*` tool of their own \
         ([API tools](api-tools.md)).\n",
        tools.len(),
        file.toolset.len()
    );
    let _ = writeln!(out, "| toolset | tools | what it holds |\n|---|---|---|");
    for (name, toolset) in &file.toolset {
        let count = tools.iter().filter(|t| &t.tool.toolset == name).count();
        let _ = writeln!(
            out,
            "| `{name}` | {count} | {} |",
            cell(&toolset.description)
        );
    }
    for (name, toolset) in &file.toolset {
        let _ = writeln!(out, "\n## Toolset `{name}`\n\n{}\n", toolset.description);
        let _ = writeln!(out, "| tool | title | read-only |\n|---|---|---|");
        let members: Vec<&Resolved<'_>> =
            tools.iter().filter(|t| &t.tool.toolset == name).collect();
        for Resolved { tool, .. } in &members {
            let read_only = if tool.read_only { "yes" } else { "no" };
            let _ = writeln!(
                out,
                "| [`{0}`](#{0}) | {1} | {read_only} |",
                tool.name,
                cell(&tool.title)
            );
        }
        for resolved in members {
            tool_section(&mut out, resolved);
        }
    }
    out
}

fn tool_section(out: &mut String, Resolved { tool, params }: &Resolved<'_>) {
    let _ = writeln!(
        out,
        "\n### `{}`\n\n**{}.** {}\n",
        tool.name, tool.title, tool.description
    );
    let hints: Vec<&str> = [
        (tool.read_only, "read-only"),
        (tool.destructive, "destructive"),
        (tool.idempotent, "idempotent"),
        (tool.open_world, "open world"),
        (tool.task, "task"),
        (tool.view, "view"),
        (!tool.connect, "works without a server"),
    ]
    .into_iter()
    .filter_map(|(on, word)| on.then_some(word))
    .collect();
    if !hints.is_empty() {
        let _ = writeln!(out, "- {}", hints.join(", "));
    }
    let output = tool.output.rsplit("::").next().unwrap_or(&tool.output);
    let result = match tool.result {
        Some(ResultShape::List) => format!("`{{\"result\": [{output}, …]}}`"),
        Some(ResultShape::Text) => "`{\"result\": text}`".to_owned(),
        Some(ResultShape::Optional) => format!("`{{\"result\": {output} | null}}`"),
        None => format!("`{output}`"),
    };
    let _ = writeln!(out, "- Result: {result}");
    if !tool.covers.is_empty() {
        let covers: Vec<String> = tool.covers.iter().map(|op| format!("`{op}`")).collect();
        let _ = writeln!(out, "- Covers: {}", covers.join(", "));
    }
    if params.is_empty() {
        let _ = writeln!(out, "- No arguments.");
        return;
    }
    let _ = writeln!(
        out,
        "\n| argument | type | | description |\n|---|---|---|---|"
    );
    for param in params {
        let kind = match param.kind {
            ParamKind::String => "string",
            ParamKind::Integer => "integer",
            ParamKind::Boolean => "boolean",
            ParamKind::Object => "object",
            ParamKind::Any => "any JSON",
            ParamKind::StringList => "list of strings",
            ParamKind::List => "list",
        };
        let mut facts = Vec::new();
        if param.required {
            facts.push("required".to_owned());
        }
        if param.hidden {
            facts.push("accepted, not advertised".to_owned());
        }
        if let Some(default) = &param.default {
            facts.push(format!("default `{default}`"));
        }
        match (param.minimum, param.maximum) {
            (Some(min), Some(max)) => facts.push(format!("{min}–{max}")),
            (Some(min), None) => facts.push(format!("≥ {min}")),
            (None, Some(max)) => facts.push(format!("≤ {max}")),
            (None, None) => {}
        }
        if let Some(values) = &param.values {
            let values: Vec<String> = values.iter().map(|v| format!("`{v}`")).collect();
            facts.push(format!("one of {}", values.join(", ")));
        }
        let _ = writeln!(
            out,
            "| `{}` | {kind} | {} | {} |",
            param.name,
            facts.join("; "),
            cell(&param.description)
        );
    }
}

/// Text fit for one Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}
