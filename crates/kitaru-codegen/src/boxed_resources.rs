//! Resources embedded in other types are boxed, so that a hydrated answer
//! decodes on a default 2 MiB thread stack, in an unoptimised build too.
//!
//! The server's resources are the structs with a `body` and `resources`
//! (`PipelineRunResponse`, `StepRunResponse`, ...), and their `resources`
//! embed other resources: a run its pipeline, snapshot, stack, user, build,
//! code reference, active wait; a snapshot its own pipeline, stack, build.
//! typify generates those fields by value, so a resource's size includes
//! every resource it can reach (`PipelineRunResponse` was 23 KB). serde's
//! derived decoder keeps several copies of each field in its stack frame
//! (in a debug build about twelve times the type's size, 274 KiB for a run)
//! and decoding takes one such frame per level: decoding a hydrated run of
//! the test server took 1.3 MiB of stack, one with all its resources set
//! up to 2 MiB. Here a field that holds a resource, by itself or in an
//! `Option`, becomes a `Box` of it, in the type and in its builder, as
//! typify does for recursive types; the JSON stays the same. A resource's
//! size is then its own data (a run is 2.4 KB) and decoding a hydrated run
//! takes about 150 KiB. The parts of a resource (`body`, `metadata`,
//! `resources`) stay inline: boxing them is not needed for that and would
//! change the fields every caller reads.

use std::collections::BTreeSet;

use crate::CodegenError;

/// Boxes the fields of the `types` module's structs (and of their builders)
/// that hold a resource.
pub(crate) fn box_embedded_resources(types: &mut [syn::Item]) -> Result<(), CodegenError> {
    let resources: BTreeSet<String> = types
        .iter()
        .filter_map(|item| match item {
            syn::Item::Struct(s) if has_field(s, "body") && has_field(s, "resources") => {
                Some(s.ident.to_string())
            }
            _ => None,
        })
        .collect();

    let mut boxed = BTreeSet::new();
    for item in types.iter_mut() {
        let syn::Item::Struct(owner) = item else {
            continue;
        };
        let owner_name = owner.ident.to_string();
        for field in &mut owner.fields {
            if let Some(slot) = resource_slot(&mut field.ty, &resources) {
                box_type(slot);
                if let Some(name) = &field.ident {
                    boxed.insert((owner_name.clone(), name.to_string()));
                }
            }
        }
    }

    let builders = types.iter_mut().find_map(|item| match item {
        syn::Item::Mod(module) if module.ident == "builder" => {
            module.content.as_mut().map(|(_, items)| items)
        }
        _ => None,
    });
    if let Some(builders) = builders {
        box_builder_fields(builders, &boxed, &resources)?;
    }
    Ok(())
}

/// The builder of a struct keeps each field as `Result<field type, String>`
/// and has a setter taking anything `TryInto` the field type: both follow
/// the struct's field.
fn box_builder_fields(
    builders: &mut [syn::Item],
    boxed: &BTreeSet<(String, String)>,
    resources: &BTreeSet<String>,
) -> Result<(), CodegenError> {
    let mut done = BTreeSet::new();
    for item in builders.iter_mut() {
        match item {
            syn::Item::Struct(builder) => {
                let owner = builder.ident.to_string();
                for field in &mut builder.fields {
                    let Some(name) = field.ident.as_ref().map(ToString::to_string) else {
                        continue;
                    };
                    let key = (owner.clone(), name);
                    if !boxed.contains(&key) {
                        continue;
                    }
                    let slot = first_generic_argument(&mut field.ty, "Result")
                        .and_then(|inner| resource_slot(inner, resources));
                    box_type(slot.ok_or_else(|| unexpected("builder field", &key))?);
                    done.insert(key);
                }
            }
            syn::Item::Impl(block) if block.trait_.is_none() => {
                let Some(owner) = impl_target(block) else {
                    continue;
                };
                for member in &mut block.items {
                    let syn::ImplItem::Fn(setter) = member else {
                        continue;
                    };
                    let key = (owner.clone(), setter.sig.ident.to_string());
                    if !boxed.contains(&key) {
                        continue;
                    }
                    let slot = setter_target(&mut setter.sig, resources)
                        .ok_or_else(|| unexpected("builder setter", &key))?;
                    box_type(slot);
                }
            }
            _ => {}
        }
    }
    match boxed.difference(&done).next() {
        Some(missing) => Err(unexpected("builder of", missing)),
        None => Ok(()),
    }
}

fn unexpected(what: &str, (owner, field): &(String, String)) -> CodegenError {
    CodegenError::Unparsable(format!(
        "{what} {owner}::{field} is not shaped as typify writes it; cannot box the resource it holds"
    ))
}

fn has_field(s: &syn::ItemStruct, name: &str) -> bool {
    s.fields
        .iter()
        .any(|field| field.ident.as_ref().is_some_and(|ident| ident == name))
}

fn impl_target(block: &syn::ItemImpl) -> Option<String> {
    match &*block.self_ty {
        syn::Type::Path(path) => path.path.get_ident().map(ToString::to_string),
        _ => None,
    }
}

/// Where a resource sits in a field type: the type itself when it is one,
/// or the `T` of an `Option<T>` when that is one. A resource in a `Vec` or
/// a map is on the heap already.
fn resource_slot<'a>(
    ty: &'a mut syn::Type,
    resources: &BTreeSet<String>,
) -> Option<&'a mut syn::Type> {
    if is_resource(ty, resources) {
        return Some(ty);
    }
    first_generic_argument(ty, "Option").filter(|inner| is_resource(inner, resources))
}

/// `X` or `super::X` (as the builders name it), X a resource.
fn is_resource(ty: &syn::Type, resources: &BTreeSet<String>) -> bool {
    let syn::Type::Path(path) = ty else {
        return false;
    };
    let segments: Vec<&syn::PathSegment> = path.path.segments.iter().collect();
    let (last, prefix) = match segments.as_slice() {
        [last] => (last, None),
        [prefix, last] => (last, Some(prefix)),
        _ => return false,
    };
    path.qself.is_none()
        && path.path.leading_colon.is_none()
        && prefix.is_none_or(|p| p.ident == "super" && p.arguments.is_none())
        && last.arguments.is_none()
        && resources.contains(&last.ident.to_string())
}

/// The first type argument of a `...::Wrapper<A, ...>` type.
fn first_generic_argument<'a>(ty: &'a mut syn::Type, wrapper: &str) -> Option<&'a mut syn::Type> {
    match ty {
        syn::Type::Path(path) => first_type_argument(&mut path.path, wrapper),
        _ => None,
    }
}

/// The first type argument of a `...::Wrapper<A, ...>` path.
fn first_type_argument<'a>(path: &'a mut syn::Path, wrapper: &str) -> Option<&'a mut syn::Type> {
    let last = path.segments.last_mut()?;
    if last.ident != wrapper {
        return None;
    }
    let syn::PathArguments::AngleBracketed(arguments) = &mut last.arguments else {
        return None;
    };
    arguments
        .args
        .iter_mut()
        .find_map(|argument| match argument {
            syn::GenericArgument::Type(ty) => Some(ty),
            _ => None,
        })
}

/// The resource in a setter's `T: TryInto<field type>` bound.
fn setter_target<'a>(
    sig: &'a mut syn::Signature,
    resources: &BTreeSet<String>,
) -> Option<&'a mut syn::Type> {
    let clause = sig.generics.where_clause.as_mut()?;
    clause.predicates.iter_mut().find_map(|predicate| {
        let syn::WherePredicate::Type(predicate) = predicate else {
            return None;
        };
        predicate.bounds.iter_mut().find_map(|bound| match bound {
            syn::TypeParamBound::Trait(bound) => first_type_argument(&mut bound.path, "TryInto")
                .and_then(|target| resource_slot(target, resources)),
            _ => None,
        })
    })
}

fn box_type(slot: &mut syn::Type) {
    let inner = slot.clone();
    *slot = syn::parse_quote!(::std::boxed::Box<#inner>);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn boxed(source: &str) -> String {
        let mut file: syn::File = syn::parse_str(source).unwrap();
        box_embedded_resources(&mut file.items).unwrap();
        prettyplease::unparse(&file)
    }

    const RUN: &str = r#"
        pub struct Run { pub body: Option<RunBody>, pub resources: Option<RunResources> }
        pub struct RunBody { pub status: String }
        pub struct RunResources {
            pub pipeline: Option<Pipeline>,
            pub stack: Pipeline,
            pub steps: Vec<Pipeline>,
            pub body: Option<RunBody>,
        }
        pub struct Pipeline { pub body: Option<RunBody>, pub resources: Option<RunBody> }
        pub mod builder {
            pub struct RunResources {
                pipeline: ::std::result::Result<Option<super::Pipeline>, ::std::string::String>,
                stack: ::std::result::Result<super::Pipeline, ::std::string::String>,
                steps: ::std::result::Result<Vec<super::Pipeline>, ::std::string::String>,
                body: ::std::result::Result<Option<super::RunBody>, ::std::string::String>,
            }
            impl RunResources {
                pub fn pipeline<T>(mut self, value: T) -> Self
                where
                    T: ::std::convert::TryInto<Option<super::Pipeline>>,
                    T::Error: ::std::fmt::Display,
                {
                    self
                }
                pub fn stack<T>(mut self, value: T) -> Self
                where
                    T: ::std::convert::TryInto<super::Pipeline>,
                    T::Error: ::std::fmt::Display,
                {
                    self
                }
            }
        }
    "#;

    #[test]
    fn a_resource_held_by_value_or_in_an_option_is_boxed() {
        let out = boxed(RUN);
        assert!(
            out.contains("pub pipeline: Option<::std::boxed::Box<Pipeline>>"),
            "{out}"
        );
        assert!(
            out.contains("pub stack: ::std::boxed::Box<Pipeline>"),
            "{out}"
        );
    }

    #[test]
    fn resources_in_collections_and_parts_of_a_resource_stay_as_they_are() {
        let out = boxed(RUN);
        assert!(out.contains("pub steps: Vec<Pipeline>"), "{out}");
        assert!(out.contains("pub body: Option<RunBody>"), "{out}");
        assert!(out.contains("pub resources: Option<RunResources>"), "{out}");
    }

    #[test]
    fn the_builder_field_and_setter_follow_the_boxed_field() {
        let out = boxed(RUN);
        assert!(
            out.contains(
                "::std::result::Result<\n            Option<::std::boxed::Box<super::Pipeline>>,"
            ),
            "{out}"
        );
        assert!(
            out.contains("T: ::std::convert::TryInto<Option<::std::boxed::Box<super::Pipeline>>>"),
            "{out}"
        );
        assert!(
            out.contains("T: ::std::convert::TryInto<::std::boxed::Box<super::Pipeline>>"),
            "{out}"
        );
        assert!(
            out.contains("::std::result::Result<Vec<super::Pipeline>, ::std::string::String>"),
            "{out}"
        );
    }

    #[test]
    fn a_builder_that_does_not_match_its_struct_is_an_error() {
        let mut file: syn::File = syn::parse_str(
            r#"
            pub struct Run { pub body: Option<String>, pub resources: Option<String> }
            pub struct Holder { pub run: Run }
            pub mod builder {
                pub struct Holder { run: ::std::result::Result<String, ::std::string::String> }
            }
            "#,
        )
        .unwrap();
        let error = box_embedded_resources(&mut file.items).unwrap_err();
        assert!(error.to_string().contains("Holder::run"), "{error}");
    }
}
