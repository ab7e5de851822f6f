//! MCP Apps (the `io.modelcontextprotocol/ui` extension, SEP-1865): an
//! execution as something to look at.
//!
//! One self-contained HTML view (`execution.html`: no network, no external
//! scripts or fonts) is the resource `ui://kitaru/execution`; the tools that
//! answer with an execution link to it through `_meta.ui.resourceUri`. The
//! host renders it in a sandboxed iframe and hands it the tool's result; the
//! view asks the host to call `kitaru_executions_get` while the execution
//! runs, `kitaru_executions_input` to answer a wait, `kitaru_artifacts_get`
//! for values and `kitaru_executions_diff` to compare it with its replays.
//!
//! Only a client that declares the extension sees the links and the
//! resource; every other client sees exactly the tools and resources it saw
//! before.

use rmcp::RoleServer;
use rmcp::model::{MetaObject, ReadResourceResult, Resource, ResourceContents, Tool};

use crate::catalog::ToolInfo;
use rmcp::service::RequestContext;
use serde_json::{Value, json};

/// The extension's identifier.
pub const EXTENSION: &str = "io.modelcontextprotocol/ui";
/// The MIME type of an MCP App's HTML.
pub const MIME_TYPE: &str = "text/html;profile=mcp-app";
/// The execution view.
pub const EXECUTION_VIEW: &str = "ui://kitaru/execution";

/// The view's HTML.
pub const EXECUTION_HTML: &str = include_str!("execution.html");

/// Whether the client of `context` declared the extension with HTML views.
pub fn wanted(context: &RequestContext<RoleServer>) -> bool {
    context
        .client_capabilities()
        .and_then(|capabilities| capabilities.extensions)
        .and_then(|extensions| extensions.get(EXTENSION).cloned())
        .is_some_and(|settings| {
            settings
                .get("mimeTypes")
                .and_then(Value::as_array)
                .is_some_and(|types| types.iter().any(|t| t == MIME_TYPE))
        })
}

/// Links the view from the tools that answer with an execution.
pub fn link(tools: &mut [Tool]) {
    for tool in tools
        .iter_mut()
        .filter(|tool| ToolInfo::named(&tool.name).is_some_and(|tool| tool.view))
    {
        let mut meta = tool.meta.take().unwrap_or_default();
        meta.0
            .insert("ui".to_owned(), json!({ "resourceUri": EXECUTION_VIEW }));
        tool.meta = Some(meta);
    }
}

/// What the host needs to sandbox the view: no external origin at all, and
/// a border around it.
fn ui_meta() -> MetaObject {
    let mut meta = MetaObject::default();
    meta.0.insert(
        "ui".to_owned(),
        json!({
            "csp": {
                "connectDomains": [],
                "resourceDomains": [],
                "frameDomains": [],
                "baseUriDomains": []
            },
            "prefersBorder": true
        }),
    );
    meta
}

/// The view as `resources/list` shows it.
pub fn resource() -> Resource {
    let mut resource = Resource::new(EXECUTION_VIEW, "execution-view");
    resource.title = Some("Kitaru execution view".to_owned());
    resource.description = Some(
        "An execution at a glance: status and timing, its checkpoints as a timeline, the \
         failure with its traceback, artifacts, and a form that answers a pending wait."
            .to_owned(),
    );
    resource.mime_type = Some(MIME_TYPE.to_owned());
    resource.size = Some(EXECUTION_HTML.len() as u64);
    resource.meta = Some(ui_meta());
    resource
}

/// `resources/read` of the view.
pub fn read() -> ReadResourceResult {
    ReadResourceResult::new(vec![ResourceContents::TextResourceContents {
        uri: EXECUTION_VIEW.to_owned(),
        mime_type: Some(MIME_TYPE.to_owned()),
        text: EXECUTION_HTML.to_owned(),
        meta: Some(ui_meta()),
    }])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_view_loads_nothing_from_elsewhere() {
        let html = EXECUTION_HTML.to_ascii_lowercase();
        for outside in ["http://", "https://", "src=\"/", "@import", "url("] {
            assert!(!html.contains(outside), "the view refers to {outside}");
        }
        assert!(html.contains("content-security-policy"));
        assert!(html.contains("connect-src 'none'"));
    }

    #[test]
    fn only_the_execution_tools_are_linked() {
        let schema = std::sync::Arc::new(serde_json::Map::new());
        let mut tools = vec![
            Tool::new("kitaru_executions_get", "", schema.clone()),
            Tool::new("kitaru_stacks_list", "", schema),
        ];
        link(&mut tools);
        assert_eq!(
            tools[0].meta.as_ref().unwrap().0["ui"]["resourceUri"],
            EXECUTION_VIEW
        );
        assert!(tools[1].meta.is_none());
    }
}
