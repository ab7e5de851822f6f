//! The secret tools. Values go to the server and nowhere else: not into
//! results, errors or logs.

use kitaru_sdk::Kitaru;
use kitaru_sdk::secrets::{self, SecretSummary};

use super::args::SecretsCreateArgs;
use super::{ToolContext, ToolError};

/// `kitaru_secrets_create`.
pub async fn create(
    kitaru: &Kitaru,
    args: SecretsCreateArgs,
    _: &ToolContext,
) -> Result<SecretSummary, ToolError> {
    Ok(secrets::create(kitaru, &args.name, &args.values, args.private).await?)
}
