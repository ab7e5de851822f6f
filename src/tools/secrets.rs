//! The secret tools. Values go to the server and nowhere else: not into
//! results, errors or logs.

use kitaru_sdk::Kitaru;
use kitaru_sdk::secrets::{self, SecretSummary};

use super::args::{SecretsCreateArgs, SecretsListArgs};
use super::{ToolContext, ToolError};

/// `kitaru_secrets_create`.
pub async fn create(
    kitaru: &Kitaru,
    args: SecretsCreateArgs,
    _: &ToolContext,
) -> Result<SecretSummary, ToolError> {
    Ok(secrets::create(kitaru, &args.name, &args.values, args.private).await?)
}

/// `kitaru_secrets_list`.
pub async fn list(
    kitaru: &Kitaru,
    args: SecretsListArgs,
    _: &ToolContext,
) -> Result<Vec<SecretSummary>, ToolError> {
    Ok(secrets::list(kitaru, args.page, args.size).await?)
}
