//! `openapi/tools.toml` → Rust: one argument type per tool, the table of
//! tools and toolsets, and the rmcp registrations that call the adapters.
//!
//! Deterministic (tools in file order, parameters in file order) and
//! formatted with prettyplease, so `generated/tools.rs` diffs cleanly.

use std::collections::BTreeSet;
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
}

/// The generated Rust sources.
pub struct Generated {
    /// `pub mod args`, the tool and toolset tables.
    pub args: String,
    /// The `#[tool_router]` impl on `KitaruServer`.
    pub router: String,
}

/// A tool with its parameters resolved (shared ones looked up).
struct Resolved<'a> {
    tool: &'a Tool,
    params: Vec<Param>,
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
        quote!(crate::tools::ToolInfo { name: #name, title: #title, toolset: #toolset, read_only: #read_only })
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
        quote!(crate::tools::ToolsetInfo { name: #name, description: #description })
    });
    let args = quote! {
        /// The argument types of the tools, one per tool; their JSON schemas
        /// are the tools' input schemas.
        pub mod args {
            use schemars::JsonSchema;
            use serde::Deserialize;
            #(#args)*
        }

        /// Every tool, in declaration order.
        pub const TOOLS: &[crate::tools::ToolInfo] = &[#(#entries),*];

        /// Every toolset, by name.
        pub const TOOLSETS: &[crate::tools::ToolsetInfo] = &[#(#toolsets),*];

        /// The closed sets of values of string parameters: tool, parameter,
        /// values. An error about such a parameter lists them.
        pub const ALLOWED_VALUES: &[(&str, &str, &[&str])] = &[#(#allowed),*];
    };
    let router = quote! {
        use super::args;

        #[rmcp::tool_router(router = generated_tool_router, vis = "pub(crate)")]
        impl crate::server::KitaruServer {
            #(#routes)*
        }
    };
    Ok(Generated {
        args: format_file(args, file_name)?,
        router: format_file(router, file_name)?,
    })
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
    for param in &resolved.params {
        let field = format_ident!("{}", param.name);
        let ty = rust_type(param);
        let description = &param.description;
        let mut attrs = Vec::new();
        if let Some(value) = &param.default {
            let default_fn = format_ident!("default_{}_{}", tool.name, param.name);
            let value_tokens = default_value(param, value)?;
            let name_str = format!("default_{}_{}", tool.name, param.name);
            attrs.push(quote!(#[serde(default = #name_str)]));
            defaults.push(quote! {
                fn #default_fn() -> #ty { #value_tokens }
            });
        } else if !param.required {
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
    let target = if tool.connect {
        quote!(&*self.kitaru_of(context.request()).await?)
    } else {
        quote!(&*self.connector_of(context.request())?)
    };
    Ok(quote! {
        #[rmcp::tool(
            name = #name,
            description = #description,
            input_schema = crate::tools::input_schema::<args::#args>(),
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
