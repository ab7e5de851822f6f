//! The deployment tools: thin adapters over `kitaru_sdk::deployments`.

use kitaru_sdk::Kitaru;
use kitaru_sdk::deployments::{self, Deleted, DeployRequest, Deployment, Invocation, Selector};

use super::args::{
    DeploymentsDeleteArgs, DeploymentsDeployArgs, DeploymentsGetArgs, DeploymentsInvokeArgs,
    DeploymentsListArgs, DeploymentsTagArgs, DeploymentsUntagArgs,
};
use super::{Listed, ToolContext, ToolError};

/// `kitaru_deployments_deploy`: the flow is compiled by the user's Kitaru
/// Python (found from this server's working directory).
pub async fn deploy(
    kitaru: &Kitaru,
    args: DeploymentsDeployArgs,
    _: &ToolContext,
) -> Result<Deployment, ToolError> {
    let request = DeployRequest {
        target: args.target,
        inputs: args.inputs.unwrap_or_default(),
        tag: args.tag,
        exclusive: args.exclusive,
        stack: args.stack,
        image: args.image.filter(|image| !image.is_null()),
        cache: args.cache,
        retries: args.retries,
    };
    Ok(deployments::deploy(kitaru, &request, &super::launch_options()).await?)
}

/// `kitaru_deployments_list`.
pub async fn list(
    kitaru: &Kitaru,
    args: DeploymentsListArgs,
    _: &ToolContext,
) -> Result<Listed<Deployment>, ToolError> {
    Ok(deployments::list(kitaru, args.flow.as_deref())
        .await?
        .into())
}

/// `kitaru_deployments_get`.
pub async fn get(
    kitaru: &Kitaru,
    args: DeploymentsGetArgs,
    _: &ToolContext,
) -> Result<Deployment, ToolError> {
    let selector = Selector::of(args.version, args.tag.as_deref())?;
    Ok(deployments::get(kitaru, &args.flow, &selector).await?)
}

/// `kitaru_deployments_invoke`.
pub async fn invoke(
    kitaru: &Kitaru,
    args: DeploymentsInvokeArgs,
    _: &ToolContext,
) -> Result<Invocation, ToolError> {
    let selector = Selector::of(args.version, args.tag.as_deref())?;
    let inputs = args.inputs.unwrap_or_default();
    Ok(deployments::invoke(kitaru, &args.flow, &selector, &inputs).await?)
}

/// `kitaru_deployments_tag`.
pub async fn tag(
    kitaru: &Kitaru,
    args: DeploymentsTagArgs,
    _: &ToolContext,
) -> Result<Deployment, ToolError> {
    Ok(deployments::tag(kitaru, &args.flow, args.version, &args.tag, args.exclusive).await?)
}

/// `kitaru_deployments_untag`.
pub async fn untag(
    kitaru: &Kitaru,
    args: DeploymentsUntagArgs,
    _: &ToolContext,
) -> Result<Deployment, ToolError> {
    Ok(deployments::untag(kitaru, &args.flow, args.version, &args.tag).await?)
}

/// `kitaru_deployments_delete`.
pub async fn delete(
    kitaru: &Kitaru,
    args: DeploymentsDeleteArgs,
    _: &ToolContext,
) -> Result<Deleted, ToolError> {
    Ok(deployments::delete(kitaru, &args.flow, args.version).await?)
}
