//! Open string enums: a value the client does not know decodes instead of
//! failing the whole answer.
//!
//! typify turns each string enum of the document (`ExecutionStatus`,
//! `StackComponentType`, ...) into a closed Rust enum, so one new value on a
//! newer server (a new run status, a new component type) makes every answer
//! that contains it undecodable. This step replaces each such enum of the
//! generated `types` module, under the same name and with the same variants,
//! by one with an extra `Unrecognized(String)` variant that keeps the text,
//! and hand-written-style `Display`/`FromStr`/serde impls over it.

use std::collections::BTreeSet;

use quote::{format_ident, quote};
use serde_json::Value;

use crate::CodegenError;

/// The name of the catch-all variant.
const CATCH_ALL: &str = "Unrecognized";

/// The Rust names (as typify gives them) of the document's named string
/// enums.
pub(crate) fn string_enum_names(doc: &Value) -> BTreeSet<String> {
    doc.pointer("/components/schemas")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter(|(_, schema)| {
            schema.get("type").and_then(Value::as_str) == Some("string")
                && schema
                    .get("enum")
                    .and_then(Value::as_array)
                    .is_some_and(|values| values.iter().all(Value::is_string))
        })
        .map(|(name, _)| heck::AsUpperCamelCase(name).to_string())
        .collect()
}

/// Replaces the closed enums named in `names` among the `types` module's
/// items.
pub(crate) fn open_enums(
    types: &mut Vec<syn::Item>,
    names: &BTreeSet<String>,
) -> Result<(), CodegenError> {
    let mut kept = Vec::with_capacity(types.len());
    for item in types.drain(..) {
        match &item {
            syn::Item::Enum(closed) if names.contains(&closed.ident.to_string()) => {
                kept.extend(open_enum(closed)?);
            }
            // typify's Display/FromStr/TryFrom impls of a replaced enum go
            // with it.
            syn::Item::Impl(block)
                if impl_target(block).is_some_and(|target| names.contains(&target)) => {}
            _ => kept.push(item),
        }
    }
    *types = kept;
    Ok(())
}

fn impl_target(block: &syn::ItemImpl) -> Option<String> {
    match &*block.self_ty {
        syn::Type::Path(path) => path.path.get_ident().map(ToString::to_string),
        _ => None,
    }
}

/// The open version of one closed typify enum: the same name, docs and
/// variants, plus the catch-all.
fn open_enum(closed: &syn::ItemEnum) -> Result<Vec<syn::Item>, CodegenError> {
    let name = &closed.ident;
    let docs = closed.attrs.iter().filter(|a| a.path().is_ident("doc"));
    let mut variants = Vec::new();
    let mut values = Vec::new();
    for variant in &closed.variants {
        if !matches!(variant.fields, syn::Fields::Unit) {
            return Err(CodegenError::Unparsable(format!(
                "{name}::{} is not a unit variant",
                variant.ident
            )));
        }
        values.push(serde_rename(&variant.attrs).unwrap_or_else(|| variant.ident.to_string()));
        variants.push(variant.ident.clone());
    }
    let catch_all = format_ident!("{CATCH_ALL}");
    let value_docs = values.iter().map(|value| format!(" `{value}`"));
    let open_doc = format!(
        " Open: a value added by a newer server decodes as [`{name}::{CATCH_ALL}`] instead of failing the whole answer."
    );

    let tokens = quote! {
        #(#docs)*
        ///
        #[doc = #open_doc]
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum #name {
            #(
                #[doc = #value_docs]
                #variants,
            )*
            /// A value this version of the client does not know, as the server sent it.
            #catch_all(::std::string::String),
        }

        impl #name {
            /// Every value this client knows, in the order of the API's
            /// document.
            pub const KNOWN: &'static [Self] = &[#( Self::#variants ),*];

            /// The value as the server writes it.
            pub fn as_str(&self) -> &str {
                match self {
                    #( Self::#variants => #values, )*
                    Self::#catch_all(value) => value.as_str(),
                }
            }
        }

        impl ::std::convert::From<&str> for #name {
            fn from(value: &str) -> Self {
                match value {
                    #( #values => Self::#variants, )*
                    other => Self::#catch_all(other.to_owned()),
                }
            }
        }

        impl ::std::convert::From<::std::string::String> for #name {
            fn from(value: ::std::string::String) -> Self {
                Self::from(value.as_str())
            }
        }

        impl ::std::str::FromStr for #name {
            type Err = ::std::convert::Infallible;

            fn from_str(value: &str) -> ::std::result::Result<Self, Self::Err> {
                Ok(Self::from(value))
            }
        }

        impl ::std::fmt::Display for #name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::serde::Serialize for #name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> ::std::result::Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for #name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> ::std::result::Result<Self, D::Error> {
                let value = <::std::string::String as ::serde::Deserialize>::deserialize(deserializer)?;
                Ok(Self::from(value))
            }
        }
    };
    syn::parse2::<syn::File>(tokens)
        .map(|file| file.items)
        .map_err(|e| CodegenError::Unparsable(format!("open enum {name}: {e}")))
}

/// The value of `#[serde(rename = "...")]`, if the attributes have one.
fn serde_rename(attrs: &[syn::Attribute]) -> Option<String> {
    let mut rename = None;
    for attr in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        let _ = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename") {
                let value: syn::LitStr = meta.value()?.parse()?;
                rename = Some(value.value());
            }
            Ok(())
        });
    }
    rename
}
