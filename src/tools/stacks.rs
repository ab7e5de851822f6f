//! The stack tools.

use kitaru_sdk::Kitaru;
use kitaru_sdk::stacks::{self, StackSummary};

use super::args::StacksListArgs;
use super::{ToolContext, ToolError};

/// `kitaru_stacks_list`.
pub async fn list(
    kitaru: &Kitaru,
    _: StacksListArgs,
    _: &ToolContext,
) -> Result<Vec<StackSummary>, ToolError> {
    Ok(stacks::list(kitaru).await?)
}
