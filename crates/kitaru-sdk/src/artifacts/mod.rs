//! Artifacts: the values checkpoints produce and `kitaru.save` stores.
//!
//! In ZenML terms an artifact is an artifact version; Kitaru adds a `kind`
//! (from `kitaru.save(type=...)`) and names the checkpoint that produced it.

mod get;
mod hash;
mod list;
mod value;

pub use get::{Artifact, get};
pub use hash::content_hash;
pub use list::{ArtifactFilter, list};
pub(crate) use value::load;
pub use value::{ArtifactValue, ValueFormat, ValueUnavailable};

use serde::{Deserialize, Serialize};

/// How an artifact version came to be stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum SaveType {
    /// The output of a checkpoint.
    StepOutput,
    /// Saved explicitly with `kitaru.save`.
    Manual,
    /// Uploaded from outside a checkpoint (e.g. flow inputs).
    External,
    /// Registered from data that already existed.
    Preexisting,
    /// A save type this version of the SDK does not know.
    #[serde(untagged)]
    Other(String),
}

/// An artifact as executions and listings show it: what it is and where it
/// came from, without its value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct ArtifactRef {
    /// The artifact version's id.
    pub artifact_id: String,
    /// The artifact's name: `<flow>::<checkpoint>::<output>` for checkpoint
    /// outputs, the given name for `kitaru.save`, the input's name for an
    /// input.
    pub name: String,
    /// The kind given to `kitaru.save(type=...)`: prompt, response, context,
    /// input, output or blob. On the kitaru 0.21 line an `llm_call`'s prompt
    /// and `output` read `prompt` and `response`, a `tool_call`'s arguments
    /// and `output` `input` and `output`, unless saved with a kind. Null
    /// otherwise.
    pub kind: Option<String>,
    /// How it was stored.
    pub save_type: SaveType,
    /// The name of the checkpoint that produced it (null for an input).
    pub producing_call: Option<String>,
    /// The artifact version's run metadata, as stored.
    pub metadata: serde_json::Map<String, serde_json::Value>,
    /// `input` for an artifact a checkpoint was given rather than produced
    /// (kitaru 0.21 line); absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<ArtifactDirection>,
    /// For an input: how it reached the checkpoint (`step_output`,
    /// `external`, `manual`, `lazy`, `override`); absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_type: Option<String>,
}

/// Which way an artifact went: only inputs are marked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ArtifactDirection {
    /// Given to the checkpoint.
    Input,
}
