//! Turns the server's OpenAPI 3.1 document into the OpenAPI 3.0 that
//! progenitor 0.15 (openapiv3 2.x, typify 0.8) reads, and that generates
//! types which decode what the server really sends.
//!
//! The document is rewritten as plain JSON by a fixed list of small named
//! [`RULES`], applied in order. Each rule is deterministic: the output
//! depends only on the input, never on hash-map order.

mod operations;
mod schemas;
mod unions;
mod walk;

use serde_json::Value;

pub use operations::{BINARY_ANSWERS, ERROR_BODY};
pub(crate) use walk::METHODS;

/// Why a document could not be normalised.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NormaliseError {
    /// The document's `openapi` field is neither 3.0.x nor 3.1.x.
    #[error("unsupported OpenAPI version {found:?}; kitaru-codegen reads 3.0.x and 3.1.x")]
    UnsupportedVersion {
        /// The version the document declares.
        found: String,
    },
    /// The document (or its `components`) is not a JSON object.
    #[error("the OpenAPI document is not a JSON object")]
    NotAnObject,
    /// A name the normaliser adds is already used by the document.
    #[error(
        "the document already has a schema named {name}; the normaliser needs that name for its error schema"
    )]
    NameTaken {
        /// The name.
        name: &'static str,
    },
    /// An operation listed in [`BINARY_ANSWERS`] is missing from the document.
    #[error(
        "no operation {method} {path} in the document; update BINARY_ANSWERS in kitaru-codegen if the server moved or dropped it"
    )]
    UnknownOperation {
        /// The HTTP method (lowercase).
        method: &'static str,
        /// The path template.
        path: &'static str,
    },
}

/// One named rewrite of the document.
pub struct Rule {
    /// The rule's name, also the stem of its test fixtures.
    pub name: &'static str,
    apply: fn(&mut Value) -> Result<(), NormaliseError>,
}

impl Rule {
    /// Applies this rule alone to `doc`.
    pub fn apply(&self, doc: &mut Value) -> Result<(), NormaliseError> {
        (self.apply)(doc)
    }
}

impl std::fmt::Debug for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rule").field("name", &self.name).finish()
    }
}

/// The rules, in the order [`normalise`] applies them. The order matters:
/// parameters are simplified before the general union rules see them, nulls
/// leave unions before the other union rules classify what is left, and
/// titles go last, after the rules that move them.
pub const RULES: &[Rule] = &[
    Rule {
        name: "openapi_version",
        apply: operations::openapi_version,
    },
    Rule {
        name: "operation_ids",
        apply: operations::operation_ids,
    },
    Rule {
        name: "body_names",
        apply: operations::body_names,
    },
    Rule {
        name: "type_arrays",
        apply: schemas::type_arrays,
    },
    Rule {
        name: "parameters",
        apply: operations::parameters,
    },
    Rule {
        name: "examples_keyword",
        apply: schemas::examples_keyword,
    },
    Rule {
        name: "exclusive_bounds",
        apply: schemas::exclusive_bounds,
    },
    Rule {
        name: "integer_bounds",
        apply: schemas::integer_bounds,
    },
    Rule {
        name: "integer_enums",
        apply: schemas::integer_enums,
    },
    Rule {
        name: "const_to_enum",
        apply: schemas::const_to_enum,
    },
    Rule {
        name: "nullable_unions",
        apply: unions::nullable_unions,
    },
    Rule {
        name: "string_unions",
        apply: unions::string_unions,
    },
    Rule {
        name: "any_json_unions",
        apply: unions::any_json_unions,
    },
    Rule {
        name: "untagged_unions",
        apply: unions::untagged_unions,
    },
    Rule {
        name: "prefix_items",
        apply: schemas::prefix_items,
    },
    Rule {
        name: "property_names",
        apply: schemas::property_names,
    },
    Rule {
        name: "ref_siblings",
        apply: schemas::ref_siblings,
    },
    Rule {
        name: "titles",
        apply: schemas::titles,
    },
    Rule {
        name: "string_constraints",
        apply: schemas::string_constraints,
    },
    Rule {
        name: "error_responses",
        apply: operations::error_responses,
    },
    Rule {
        name: "binary_responses",
        apply: operations::binary_responses,
    },
];

/// Applies every rule of [`RULES`] to `doc`, in order.
pub fn normalise(mut doc: Value) -> Result<Value, NormaliseError> {
    for rule in RULES {
        rule.apply(&mut doc)?;
    }
    Ok(doc)
}
