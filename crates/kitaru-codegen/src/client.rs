//! The normalised document → progenitor → formatted Rust source.

use progenitor::{GenerationSettings, Generator, HooksMode, InterfaceStyle, TagStyle, TypeImpl};
use quote::quote;
use serde_json::{Value, json};

use crate::{CodegenError, Options, boxed_resources, open_enums};

/// Generates the client source (without header) from a normalised document.
pub(crate) fn generate_client(doc: &Value, options: &Options) -> Result<String, CodegenError> {
    let spec: openapiv3::OpenAPI =
        serde_json::from_value(doc.clone()).map_err(CodegenError::NotOpenApi30)?;

    let inner_type = parse_path(&options.inner_type)?;
    let mut settings = GenerationSettings::new();
    settings
        .with_interface(InterfaceStyle::Builder)
        .with_tag(TagStyle::Merged)
        .with_inner_type(quote!(#inner_type))
        .with_hooks(HooksMode::Expected)
        // Maps keep the server's order: it carries meaning (a step's
        // outputs are listed in the order it produced them).
        .with_map_type("::indexmap::IndexMap")
        .with_conversion(
            date_time_schema(),
            &options.timestamp_type,
            [TypeImpl::Display, TypeImpl::FromStr].into_iter(),
        );

    let mut generator = Generator::new(&settings);
    // progenitor and typify panic on some documents they do not support;
    // that is an error of this generation, not a crash of the build script.
    let tokens = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        generator.generate_tokens(&spec)
    }))
    .map_err(|panic| {
        let message = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("no message");
        CodegenError::Progenitor(format!("it panicked: {message}"))
    })?
    .map_err(|e| CodegenError::Progenitor(e.to_string()))?;
    let mut file: syn::File =
        syn::parse2(tokens).map_err(|e| CodegenError::Unparsable(e.to_string()))?;
    let types = types_module(&mut file)?;
    open_enums::open_enums(types, &open_enums::string_enum_names(doc))?;
    boxed_resources::box_embedded_resources(types)?;
    Ok(prettyplease::unparse(&file))
}

/// The items of progenitor's `pub mod types`, where typify puts the API's
/// types (and their builders, in `types::builder`).
fn types_module(file: &mut syn::File) -> Result<&mut Vec<syn::Item>, CodegenError> {
    file.items
        .iter_mut()
        .find_map(|item| match item {
            syn::Item::Mod(module) if module.ident == "types" => {
                module.content.as_mut().map(|(_, items)| items)
            }
            _ => None,
        })
        .ok_or_else(|| CodegenError::Unparsable("no `types` module in progenitor's output".into()))
}

/// The schema typify replaces with the timestamp type: every
/// `{"type": "string", "format": "date-time"}`, whatever its documentation
/// (typify compares schemas without their metadata).
fn date_time_schema() -> schemars08::schema::SchemaObject {
    serde_json::from_value(json!({ "type": "string", "format": "date-time" }))
        .expect("a literal string schema is a valid schemars schema")
}

fn parse_path(path: &str) -> Result<syn::Path, CodegenError> {
    syn::parse_str(path).map_err(|_| CodegenError::BadTypePath(path.to_owned()))
}

/// The client methods in generated source, as `(method, path, Rust name)`,
/// read from the `Sends a `GET` request to `/path`` line progenitor writes
/// into each method's documentation.
pub(crate) fn generated_methods(file: &syn::File) -> Vec<(String, String, String)> {
    let mut found = Vec::new();
    for item in &file.items {
        let syn::Item::Impl(block) = item else {
            continue;
        };
        let is_client = matches!(&*block.self_ty, syn::Type::Path(p) if p.path.is_ident("Client"));
        if !is_client || block.trait_.is_some() {
            continue;
        }
        for member in &block.items {
            let syn::ImplItem::Fn(function) = member else {
                continue;
            };
            let doc = doc_text(&function.attrs);
            if let Some((method, path)) = request_line(&doc) {
                found.push((method, path, function.sig.ident.to_string()));
            }
        }
    }
    found
}

fn doc_text(attrs: &[syn::Attribute]) -> String {
    attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .filter_map(|a| match &a.meta {
            syn::Meta::NameValue(nv) => match &nv.value {
                syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(s),
                    ..
                }) => Some(s.value()),
                _ => None,
            },
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn request_line(doc: &str) -> Option<(String, String)> {
    let rest = &doc[doc.find("Sends a `")? + "Sends a `".len()..];
    let (method, rest) = rest.split_once("` request to `")?;
    let (path, _) = rest.split_once('`')?;
    Some((method.to_ascii_lowercase(), path.to_owned()))
}
