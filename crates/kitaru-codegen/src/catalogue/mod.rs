//! The operation catalogue: every operation of the document by name, with an
//! input schema for its arguments, and a dispatcher that calls it by name
//! through the generated typed client.
//!
//! The generated source holds two items, for `kitaru-client`'s
//! `src/operations.rs` to include next to its handwritten helpers
//! (`Operation`, `Arguments`, `CallError`, `answer`, `answer_bytes`):
//!
//! - `OPERATIONS`, one `Operation` per operation of the spec, sorted by name;
//! - `dispatch`, one match arm per callable operation, which decodes each
//!   argument into the type of the builder's setter (read from the generated
//!   client, not guessed from the spec), sends, and turns the answer into
//!   JSON.
//!
//! Text from the spec (names, paths, summaries, descriptions, schemas) only
//! ever reaches the generated code as string literals built by
//! [`syn::LitStr`]; identifiers come from progenitor's output.

pub(crate) mod lower;

use std::collections::{BTreeMap, BTreeSet};

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};
use serde_json::{Map, Value, json};

use crate::CodegenError;
use crate::normalise::METHODS;

/// One operation of the (normalised) document, as the catalogue needs it.
pub(crate) struct SpecOperation {
    method: String,
    path: String,
    operation_id: String,
    tag: String,
    summary: String,
    description: String,
    deprecated: bool,
    /// The server versions that have it (a merged document's marks).
    servers: Vec<String>,
    parameters: Vec<Parameter>,
    body: Option<Body>,
    input_schema: String,
}

struct Parameter {
    name: String,
    location: String,
    required: bool,
}

struct Body {
    content_type: String,
    json: bool,
    required: bool,
}

/// The catalogue's generated source and figures about it.
pub(crate) struct Catalogue {
    pub source: String,
    pub callable: usize,
    pub schema_bytes: usize,
    /// The operation with the largest input schema and its size.
    pub largest_schema: (String, usize),
}

/// Every operation of the normalised document (call it before deprecated
/// operations are removed), with its lowered input schema.
pub(crate) fn collect(doc: &Value) -> Vec<SpecOperation> {
    let mut found = Vec::new();
    let Some(paths) = doc.get("paths").and_then(Value::as_object) else {
        return found;
    };
    for (path, item) in paths {
        let shared: Vec<Value> = item
            .get("parameters")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for method in METHODS {
            let Some(operation) = item.get(method).and_then(Value::as_object) else {
                continue;
            };
            found.push(operation_of(doc, path, method, operation, &shared));
        }
    }
    found
}

fn text(object: &Map<String, Value>, key: &str) -> String {
    object
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned()
}

/// `value`, or what its internal `$ref` points to.
fn resolved<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(reference) => reference
            .strip_prefix('#')
            .filter(|p| p.starts_with('/'))
            .and_then(|pointer| doc.pointer(pointer))
            .unwrap_or(value),
        None => value,
    }
}

fn operation_of(
    doc: &Value,
    path: &str,
    method: &str,
    operation: &Map<String, Value>,
    shared: &[Value],
) -> SpecOperation {
    // Operation parameters override path-item ones of the same name and place.
    let mut parameters: Vec<&Value> = Vec::new();
    let own: Vec<&Value> = operation
        .get("parameters")
        .and_then(Value::as_array)
        .map(|list| list.iter().map(|p| resolved(doc, p)).collect())
        .unwrap_or_default();
    let key = |p: &Value| {
        (
            p.get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
            p.get("in").and_then(Value::as_str).unwrap_or("").to_owned(),
        )
    };
    let own_keys: BTreeSet<_> = own.iter().map(|p| key(p)).collect();
    for parameter in shared.iter().map(|p| resolved(doc, p)) {
        if !own_keys.contains(&key(parameter)) {
            parameters.push(parameter);
        }
    }
    parameters.extend(own);

    let mut properties = Map::new();
    let mut required = Vec::new();
    let mut params = Vec::new();
    for parameter in parameters {
        let (name, location) = key(parameter);
        let is_required =
            location == "path" || parameter.get("required").and_then(Value::as_bool) == Some(true);
        params.push(Parameter {
            name: name.clone(),
            location: location.clone(),
            required: is_required,
        });
        if location != "path" && location != "query" {
            continue;
        }
        let mut schema = parameter
            .get("schema")
            .map(|s| lower::lower(doc, s))
            .unwrap_or_else(|| json!({}));
        if let (Some(Value::String(description)), Value::Object(map)) =
            (parameter.get("description"), &mut schema)
        {
            map.insert("description".into(), Value::String(description.clone()));
        }
        if is_required {
            required.push(Value::String(name.clone()));
        }
        properties.insert(name, schema);
    }

    let body = operation.get("requestBody").map(|body| {
        let body = resolved(doc, body);
        let content = body.get("content").and_then(Value::as_object);
        let json_media =
            content.and_then(|content| content.iter().find(|(media, _)| is_json(media)));
        let content_type = json_media
            .map(|(media, _)| media.clone())
            .or_else(|| content.and_then(|c| c.keys().next().cloned()))
            .unwrap_or_default();
        let is_required = body.get("required").and_then(Value::as_bool) == Some(true);
        if let Some((_, media)) = json_media {
            let mut schema = media
                .get("schema")
                .map(|s| lower::lower(doc, s))
                .unwrap_or_else(|| json!({}));
            if let (Some(Value::String(description)), Value::Object(map)) =
                (body.get("description"), &mut schema)
            {
                map.insert("description".into(), Value::String(description.clone()));
            }
            if is_required {
                required.push(json!("body"));
            }
            properties.insert("body".into(), schema);
        }
        Body {
            json: json_media.is_some(),
            content_type,
            required: is_required,
        }
    });

    let input_schema = json!({
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    });
    SpecOperation {
        method: method.to_ascii_uppercase(),
        path: path.to_owned(),
        operation_id: text(operation, "operationId"),
        tag: operation
            .get("tags")
            .and_then(Value::as_array)
            .and_then(|tags| tags.first())
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned(),
        summary: text(operation, "summary"),
        description: text(operation, "description"),
        deprecated: operation.get("deprecated").and_then(Value::as_bool) == Some(true),
        servers: crate::versions::servers_of(operation),
        parameters: params,
        body,
        input_schema: serde_json::to_string(&input_schema).expect("a JSON value always serialises"),
    }
}

fn is_json(media: &str) -> bool {
    let essence = media.split(';').next().unwrap_or("").trim();
    essence.eq_ignore_ascii_case("application/json") || essence.ends_with("+json")
}

/// What the generated client offers for one operation.
struct Builder {
    /// Setter name → the type it converts into (`TryInto<T>`), with
    /// `types::` paths made absolute (`crate::types::`).
    setters: BTreeMap<String, syn::Type>,
    /// Whether `send` answers a byte stream rather than a decoded value.
    bytes: bool,
}

/// The builders of `mod builder`, by struct name, and the `Client` methods
/// with the builder each returns.
fn builders(
    file: &syn::File,
) -> (
    BTreeMap<String, Builder>,
    BTreeMap<String, (syn::Ident, String)>,
) {
    let mut builders = BTreeMap::new();
    let mut methods = BTreeMap::new();
    for item in &file.items {
        match item {
            syn::Item::Impl(block)
                if block.trait_.is_none() && self_name(block).as_deref() == Some("Client") =>
            {
                for member in &block.items {
                    let syn::ImplItem::Fn(function) = member else {
                        continue;
                    };
                    if let syn::ReturnType::Type(_, ty) = &function.sig.output
                        && let Some(name) = last_segment(ty)
                    {
                        methods.insert(
                            function.sig.ident.to_string(),
                            (function.sig.ident.clone(), name),
                        );
                    }
                }
            }
            syn::Item::Mod(module) if module.ident == "builder" => {
                let Some((_, items)) = &module.content else {
                    continue;
                };
                for item in items {
                    let syn::Item::Impl(block) = item else {
                        continue;
                    };
                    if block.trait_.is_some() {
                        continue;
                    }
                    let Some(name) = self_name(block) else {
                        continue;
                    };
                    builders.insert(name, builder_of(block));
                }
            }
            _ => {}
        }
    }
    (builders, methods)
}

fn self_name(block: &syn::ItemImpl) -> Option<String> {
    match &*block.self_ty {
        syn::Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
        _ => None,
    }
}

fn last_segment(ty: &syn::Type) -> Option<String> {
    match ty {
        syn::Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
        _ => None,
    }
}

fn builder_of(block: &syn::ItemImpl) -> Builder {
    let mut setters = BTreeMap::new();
    let mut bytes = false;
    for member in &block.items {
        let syn::ImplItem::Fn(function) = member else {
            continue;
        };
        let name = function.sig.ident.to_string();
        if name == "send" {
            bytes = answers_bytes(&function.sig.output);
            continue;
        }
        if let Some(target) = try_into_target(&function.sig) {
            setters.insert(name, absolute_types(target));
        }
    }
    Builder { setters, bytes }
}

/// `T` of a setter `fn x<V>(mut self, value: V) -> Self where V: TryInto<T>`.
fn try_into_target(sig: &syn::Signature) -> Option<syn::Type> {
    let where_clause = sig.generics.where_clause.as_ref()?;
    for predicate in &where_clause.predicates {
        let syn::WherePredicate::Type(predicate) = predicate else {
            continue;
        };
        for bound in &predicate.bounds {
            let syn::TypeParamBound::Trait(bound) = bound else {
                continue;
            };
            let Some(segment) = bound.path.segments.last() else {
                continue;
            };
            if segment.ident != "TryInto" {
                continue;
            }
            if let syn::PathArguments::AngleBracketed(args) = &segment.arguments
                && let Some(syn::GenericArgument::Type(ty)) = args.args.first()
            {
                return Some(ty.clone());
            }
        }
    }
    None
}

/// Whether `Result<ResponseValue<R>, _>` has `R = ByteStream`.
fn answers_bytes(output: &syn::ReturnType) -> bool {
    let syn::ReturnType::Type(_, ty) = output else {
        return false;
    };
    let first_arg = |ty: &syn::Type| -> Option<syn::Type> {
        let syn::Type::Path(p) = ty else { return None };
        let segment = p.path.segments.last()?;
        let syn::PathArguments::AngleBracketed(args) = &segment.arguments else {
            return None;
        };
        match args.args.first()? {
            syn::GenericArgument::Type(ty) => Some(ty.clone()),
            _ => None,
        }
    };
    first_arg(ty)
        .and_then(|value| first_arg(&value))
        .and_then(|answer| last_segment(&answer))
        .is_some_and(|name| name == "ByteStream")
}

/// `types::X` → `crate::types::X`, everywhere inside a type.
fn absolute_types(mut ty: syn::Type) -> syn::Type {
    fix_type(&mut ty);
    ty
}

fn fix_type(ty: &mut syn::Type) {
    match ty {
        syn::Type::Path(p) => {
            if p.qself.is_none()
                && p.path.leading_colon.is_none()
                && p.path.segments.first().is_some_and(|s| s.ident == "types")
            {
                p.path
                    .segments
                    .insert(0, syn::PathSegment::from(format_ident!("crate")));
            }
            for segment in p.path.segments.iter_mut() {
                if let syn::PathArguments::AngleBracketed(args) = &mut segment.arguments {
                    for arg in args.args.iter_mut() {
                        if let syn::GenericArgument::Type(inner) = arg {
                            fix_type(inner);
                        }
                    }
                }
            }
        }
        syn::Type::Tuple(t) => t.elems.iter_mut().for_each(fix_type),
        syn::Type::Array(a) => fix_type(&mut a.elem),
        syn::Type::Slice(s) => fix_type(&mut s.elem),
        syn::Type::Reference(r) => fix_type(&mut r.elem),
        syn::Type::Paren(p) => fix_type(&mut p.elem),
        syn::Type::Group(g) => fix_type(&mut g.elem),
        _ => {}
    }
}

fn is_option(ty: &syn::Type) -> bool {
    last_segment(ty).is_some_and(|name| name == "Option")
}

/// progenitor's name for a parameter's setter (its `sanitize` to snake
/// case), with the variants it may take to stay a valid identifier.
fn setter_candidates(name: &str) -> Vec<String> {
    use heck::ToSnakeCase;
    let cleaned: String = name
        .replace('\'', "")
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let snake = cleaned.to_snake_case();
    vec![
        snake.clone(),
        format!("{snake}_"),
        format!("_{snake}"),
        format!("_{snake}_"),
    ]
}

fn lit(text: &str) -> syn::LitStr {
    syn::LitStr::new(text, Span::call_site())
}

/// The Rust name of an operation the client has no method for: its
/// operationId in snake case.
fn fallback_name(operation: &SpecOperation) -> String {
    use heck::ToSnakeCase;
    let base = if operation.operation_id.is_empty() {
        format!("{}_{}", operation.method, operation.path)
    } else {
        operation.operation_id.clone()
    };
    let cleaned: String = base
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    cleaned.to_snake_case()
}

/// One operation's dispatch arm, or why it has none.
fn arm(
    operation: &SpecOperation,
    method_ident: &syn::Ident,
    builder: &Builder,
) -> Result<TokenStream, String> {
    let mut statements = Vec::new();
    let mut used: BTreeSet<String> = BTreeSet::new();
    for parameter in &operation.parameters {
        if parameter.location != "path" && parameter.location != "query" {
            if parameter.required {
                return Err(format!(
                    "takes a required {} parameter `{}`, which calls by name cannot set",
                    parameter.location, parameter.name
                ));
            }
            continue;
        }
        let Some(setter) = setter_candidates(&parameter.name)
            .into_iter()
            .find(|candidate| builder.setters.contains_key(candidate) && candidate != "body")
        else {
            return Err(format!(
                "no setter of the generated builder matches the parameter `{}`",
                parameter.name
            ));
        };
        if !used.insert(setter.clone()) {
            return Err(format!(
                "two parameters map to the same setter `{setter}` of the generated builder"
            ));
        }
        let ty = &builder.setters[&setter];
        let key = lit(&parameter.name);
        let setter = format_ident!("{}", setter);
        statements.push(if parameter.required {
            quote! { request = request.#setter(arguments.required::<#ty>(#key)?); }
        } else {
            quote! {
                if let Some(value) = arguments.optional::<#ty>(#key)? {
                    request = request.#setter(value);
                }
            }
        });
    }
    match &operation.body {
        Some(body) if !body.json => {
            return Err(format!(
                "its request body is `{}`, not JSON",
                body.content_type
            ));
        }
        Some(body) => {
            let Some(ty) = builder.setters.get("body") else {
                return Err("the generated builder has no `body` setter".into());
            };
            used.insert("body".into());
            statements.push(if body.required {
                quote! { request = request.body(arguments.required::<#ty>("body")?); }
            } else if is_option(ty) {
                quote! { request = request.body(arguments.optional::<#ty>("body")?.unwrap_or_default()); }
            } else {
                quote! {
                    if let Some(value) = arguments.optional::<#ty>("body")? {
                        request = request.body(value);
                    }
                }
            });
        }
        None => {}
    }
    if let Some(unmapped) = builder.setters.keys().find(|s| !used.contains(*s)) {
        return Err(format!(
            "the generated builder has a setter `{unmapped}` that no parameter of the spec explains"
        ));
    }
    let answer = if builder.bytes {
        quote!(answer_bytes)
    } else {
        quote!(answer)
    };
    let name = lit(&method_ident.to_string());
    Ok(quote! {
        #name => ::std::boxed::Box::pin(async move {
            let mut request = client.#method_ident();
            #(#statements)*
            arguments.finish()?;
            #answer(request.send().await).await
        }),
    })
}

/// Renders the catalogue for the operations `collect` found, against the
/// generated client `file` whose methods are `methods` (`(method, path,
/// Rust name)`, as `client::generated_methods` reads them).
pub(crate) fn render(
    header: &str,
    operations: &[SpecOperation],
    file: &syn::File,
    methods: &[(String, String, String)],
) -> Result<Catalogue, CodegenError> {
    let (builders, client_methods) = builders(file);
    let by_route: BTreeMap<(String, String), &str> = methods
        .iter()
        .map(|(method, path, name)| ((method.to_ascii_uppercase(), path.clone()), name.as_str()))
        .collect();

    struct Entry<'a> {
        name: String,
        operation: &'a SpecOperation,
        arm: Result<TokenStream, String>,
    }
    let mut entries = Vec::new();
    for operation in operations {
        let route = (operation.method.clone(), operation.path.clone());
        let (name, arm) = match by_route.get(&route) {
            Some(rust_name) => {
                let arm = match client_methods.get(*rust_name) {
                    Some((ident, builder_name)) => match builders.get(builder_name) {
                        Some(builder) => arm(operation, ident, builder),
                        None => Err(format!(
                            "the generated client has no builder `{builder_name}`"
                        )),
                    },
                    None => Err("the generated client has no such method".to_owned()),
                };
                ((*rust_name).to_owned(), arm)
            }
            None => (
                fallback_name(operation),
                Err(if operation.deprecated {
                    "deprecated, and the client was generated without deprecated operations"
                        .to_owned()
                } else {
                    "the generated client has no method for it".to_owned()
                }),
            ),
        };
        entries.push(Entry {
            name,
            operation,
            arm,
        });
    }
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    if let Some(pair) = entries.windows(2).find(|pair| pair[0].name == pair[1].name) {
        return Err(CodegenError::Catalogue(format!(
            "two operations are named {:?} ({} {} and {} {})",
            pair[0].name,
            pair[0].operation.method,
            pair[0].operation.path,
            pair[1].operation.method,
            pair[1].operation.path,
        )));
    }

    let mut rows = Vec::new();
    let mut arms = Vec::new();
    let mut schema_bytes = 0;
    let mut largest = (String::new(), 0);
    for entry in &entries {
        let operation = entry.operation;
        schema_bytes += operation.input_schema.len();
        if operation.input_schema.len() > largest.1 {
            largest = (entry.name.clone(), operation.input_schema.len());
        }
        let name = lit(&entry.name);
        let method = lit(&operation.method);
        let path = lit(&operation.path);
        let tag = lit(&operation.tag);
        let summary = lit(&operation.summary);
        let description = lit(&operation.description);
        let deprecated = operation.deprecated;
        let servers = operation.servers.iter().map(|server| lit(server));
        let schema = lit(&operation.input_schema);
        let callable = match &entry.arm {
            Ok(tokens) => {
                arms.push(tokens.clone());
                quote!(None)
            }
            Err(reason) => {
                let reason = lit(reason);
                quote!(Some(#reason))
            }
        };
        rows.push(quote! {
            Operation {
                name: #name,
                method: #method,
                path: #path,
                tag: #tag,
                summary: #summary,
                description: #description,
                deprecated: #deprecated,
                servers: &[#(#servers),*],
                input_schema: #schema,
                callable: #callable,
            }
        });
    }
    let callable = arms.len();
    let mut versions: Vec<crate::versions::ServerVersion> = entries
        .iter()
        .flat_map(|entry| entry.operation.servers.iter())
        .map(|server| crate::versions::ServerVersion(server.clone()))
        .collect();
    versions.sort();
    versions.dedup();
    let versions = versions.iter().map(|version| lit(&version.0));
    let tokens = quote! {
        /// The server versions whose documents the client was generated
        /// from, oldest first (empty when it came from one unversioned
        /// document).
        pub static SERVER_VERSIONS: &[&str] = &[#(#versions),*];

        /// Every operation of the spec, sorted by name.
        pub static OPERATIONS: &[Operation] = &[ #(#rows),* ];

        /// Calls the callable operation `name` through the typed client.
        ///
        /// Each operation is its own boxed future: one `async fn` over all
        /// of them would need a stack frame (in a debug build) as large as
        /// all their locals together.
        pub(super) fn dispatch<'a>(
            client: &'a crate::Client,
            name: &str,
            mut arguments: Arguments,
        ) -> ::std::pin::Pin<
            ::std::boxed::Box<
                dyn ::std::future::Future<
                    Output = ::std::result::Result<::serde_json::Value, CallError>,
                > + ::std::marker::Send + 'a,
            >,
        > {
            match name {
                #(#arms)*
                _ => {
                    let name = name.to_owned();
                    ::std::boxed::Box::pin(async move {
                        ::std::result::Result::Err(CallError::UnknownOperation(name))
                    })
                }
            }
        }
    };
    let file: syn::File =
        syn::parse2(tokens).map_err(|e| CodegenError::Unparsable(e.to_string()))?;
    Ok(Catalogue {
        source: format!("{header}{}", prettyplease::unparse(&file)),
        callable,
        schema_bytes,
        largest_schema: largest,
    })
}
