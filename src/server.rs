//! The MCP server: what an assistant sees when it connects over stdio.

use std::sync::Arc;

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::tool::ToolCallContext;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CancelTaskParams, CompleteRequestParams,
    CompleteResult, GetPromptRequestParams, GetPromptResponse, GetTaskParams, GetTaskResult,
    Implementation, ListPromptsResult, ListResourceTemplatesResult, ListResourcesResult,
    PaginatedRequestParams, ReadResourceRequestParams, ReadResourceResponse, Reference,
    ServerCapabilities, ServerConfig, SubscribeRequestParams, UnsubscribeRequestParams,
    UpdateTaskParams,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler};

use kitaru_sdk::Kitaru;

use crate::api_tools;
use crate::catalog::api::{API_OPERATIONS, DISCOVERY_TOOLSET};
use crate::catalog::{TOOLS, TOOLSETS, names};
use crate::connections::Connections;
use crate::prompts::{PROMPTS, PromptSpec};
use crate::resources::Subscriptions;
use crate::selection::ToolSelection;
use crate::tools::{AsTask, Toolbox, WaitAnswers};

/// The name the server gives itself in `initialize`, as the reference does.
pub const SERVER_NAME: &str = "kitaru";

/// What the server tells the assistant about itself: the toolsets it offers
/// and their tools, as `tools.toml` declares them, and how it connects.
pub fn instructions(selection: &ToolSelection) -> String {
    let mut text = String::from("Tools for the Kitaru durable-execution platform.\n");
    for toolset in TOOLSETS {
        let tools: Vec<&str> = toolset
            .tools()
            .filter(|tool| selection.offers(tool))
            .map(|tool| tool.name)
            .collect();
        if tools.is_empty() {
            continue;
        }
        text.push_str(&format!(
            "- {} ({})\n",
            toolset.description,
            tools.join(", ")
        ));
    }
    for toolset in selection.offered_api_toolsets() {
        if toolset == DISCOVERY_TOOLSET {
            text.push_str(
                "- The whole server API on demand: api_search finds operations, api_describe \
                 gives one's input schema, api_call calls it\n",
            );
        } else {
            text.push_str(&format!(
                "- Server API operations tagged `{}` (api_* tools)\n",
                toolset.trim_start_matches("api:")
            ));
        }
    }
    text.push_str(
        "The server uses the same connection as the `kitaru` CLI (`kitaru login`, or \
         KITARU_SERVER_URL / KITARU_AUTH_TOKEN / KITARU_PROJECT).",
    );
    text
}

/// No connection to the Kitaru server, as a protocol error.
fn unavailable(error: kitaru_sdk::Error) -> ErrorData {
    ErrorData::internal_error(error.to_string(), None)
}

/// The Kitaru MCP server: the tools of `openapi/tools.toml` (and the API
/// tools selected) over one lazily made connection, or over HTTP each
/// caller's own.
#[derive(Clone)]
pub struct KitaruServer {
    /// What tool handlers work with.
    toolbox: Toolbox,
    /// Built on first use: the tools' schemas cost milliseconds that
    /// `initialize` does not need to wait for.
    tool_router: Arc<std::sync::OnceLock<ToolRouter<Toolbox>>>,
    subscriptions: Subscriptions,
    /// The executions of tasks followed through their events.
    followed: crate::tasks::Followed,
    /// What task ids are signed with, read on first use.
    task_key: Arc<std::sync::OnceLock<crate::tasks::TaskKey>>,
    /// Where this server's log lines go when the client asked for them.
    client_log: crate::client_log::ClientLog,
}

impl KitaruServer {
    /// A server over `connections` that offers what `selection` lets
    /// through.
    pub fn new(connections: Connections, selection: ToolSelection) -> Self {
        Self {
            toolbox: Toolbox::new(connections, Arc::new(selection)),
            tool_router: Arc::default(),
            subscriptions: Subscriptions::default(),
            followed: crate::tasks::Followed::default(),
            task_key: Arc::default(),
            client_log: crate::client_log::ClientLog::default(),
        }
    }

    /// The routes of the offered tools.
    fn tool_router(&self) -> &ToolRouter<Toolbox> {
        self.tool_router.get_or_init(|| {
            let selection = self.selection();
            let mut tool_router = Toolbox::generated_tool_router();
            for tool in TOOLS.iter().filter(|tool| !selection.offers(tool)) {
                tool_router.disable_route(tool.name);
            }
            for api in API_OPERATIONS.iter() {
                if selection.offers_api(api) {
                    tool_router.add_route(api_tools::route(api));
                }
            }
            if selection.offers_discovery() {
                for route in api_tools::discovery::routes() {
                    tool_router.add_route(route);
                }
            }
            tool_router
        })
    }

    fn task_key(&self) -> &crate::tasks::TaskKey {
        self.task_key
            .get_or_init(crate::tasks::TaskKey::installation)
    }

    /// Refuses the task method `method` when the tool it stands for is not
    /// offered.
    fn task_policy(&self, method: &str) -> Result<(), ErrorData> {
        match crate::tasks::refusal(self.selection(), method) {
            Some(reason) => Err(ErrorData::invalid_params(reason, None)),
            None => Ok(()),
        }
    }

    /// The toolsets and mode this server runs with.
    fn selection(&self) -> &ToolSelection {
        self.toolbox.selection()
    }

    /// Whether each request acts as its caller (HTTP, stateless).
    fn per_caller(&self) -> bool {
        self.toolbox.connections().is_per_caller()
    }

    /// The connected server for `request`, connecting now if needed.
    async fn kitaru_of(
        &self,
        request: &RequestContext<RoleServer>,
    ) -> Result<Arc<Kitaru>, kitaru_sdk::Error> {
        self.toolbox.kitaru_of(request).await
    }

    /// The prompt `name`, if it is offered; otherwise an error saying why.
    fn offered_prompt(&self, name: &str) -> Result<&'static PromptSpec, ErrorData> {
        let prompt = crate::prompts::find(name).ok_or_else(|| {
            let known: Vec<&str> = PROMPTS.iter().map(|prompt| prompt.name).collect();
            ErrorData::invalid_params(
                format!("no prompt `{name}`; the prompts are: {}", known.join(", ")),
                None,
            )
        })?;
        if !prompt.offered(self.selection()) {
            return Err(ErrorData::invalid_params(
                format!(
                    "prompt `{name}` is not available: it uses {}, which this server does not \
                     offer with its current toolsets or read-only mode",
                    prompt.tools.join(", ")
                ),
                None,
            ));
        }
        Ok(prompt)
    }
}

impl ServerHandler for KitaruServer {
    /// Routes the call; a tool the selection leaves out is refused with the
    /// reason and how to get it (rmcp's own answer is "tool not found").
    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        if let Some(refusal) = self.selection().refusal(&request.name) {
            return Err(ErrorData::invalid_params(refusal, None));
        }
        let mut context = context;
        // Whether the tool may answer a wait it meets (by elicitation):
        // only where answering waits is offered as a tool.
        context.extensions.insert(WaitAnswers(
            self.selection().offers_named(names::EXECUTIONS_INPUT),
        ));
        let as_task = crate::tasks::wanted(&request.name, &context);
        context.extensions.insert(AsTask(as_task));
        let tool = request.name.clone();
        let response = self
            .tool_router()
            .call(ToolCallContext::new(&self.toolbox, request, context))
            .await?;
        if as_task
            && let CallToolResponse::Complete(result) = &response
            && let Some(task) = crate::tasks::created(&tool, result, self.task_key())
        {
            return Ok(CallToolResponse::Task(task));
        }
        Ok(response)
    }

    /// The tools offered; for a client that declared MCP Apps, the ones
    /// answering with an execution link to the execution view.
    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::ListToolsResult, ErrorData> {
        let mut tools = self.tool_router().list_all();
        // An API tool whose operation the connected server's version lacks
        // is not offered, once that version is known.
        if let Some(server) = self.toolbox.known_server(&context) {
            tools.retain(|tool| {
                crate::catalog::api::exposed_tool(&tool.name)
                    .is_none_or(|api| server.require(api.operation.name).is_ok())
            });
        }
        if crate::apps::wanted(&context) {
            crate::apps::link(&mut tools);
        }
        Ok(rmcp::model::ListToolsResult::with_all_items(tools))
    }

    /// The task's execution, as the task's state.
    async fn get_task(
        &self,
        request: GetTaskParams,
        context: RequestContext<RoleServer>,
    ) -> Result<GetTaskResult, ErrorData> {
        self.task_policy("tasks/get")?;
        let kitaru = self.kitaru_of(&context).await.map_err(unavailable)?;
        crate::tasks::get(&kitaru, &self.followed, self.task_key(), &request.task_id).await
    }

    /// Answers the wait of the task's execution.
    async fn update_task(
        &self,
        request: UpdateTaskParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.task_policy("tasks/update")?;
        let kitaru = self.kitaru_of(&context).await.map_err(unavailable)?;
        crate::tasks::update(
            &kitaru,
            &self.followed,
            self.task_key(),
            &request.task_id,
            &request.input_responses,
        )
        .await
    }

    /// Cancels the task's execution.
    async fn cancel_task(
        &self,
        request: CancelTaskParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.task_policy("tasks/cancel")?;
        let kitaru = self.kitaru_of(&context).await.map_err(unavailable)?;
        crate::tasks::cancel(&kitaru, &self.followed, self.task_key(), &request.task_id).await
    }

    /// The prompts whose tools are all offered.
    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, ErrorData> {
        let prompts = PROMPTS
            .iter()
            .filter(|prompt| prompt.offered(self.selection()))
            .map(PromptSpec::listing)
            .collect();
        Ok(ListPromptsResult::with_all_items(prompts))
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, ErrorData> {
        let prompt = self.offered_prompt(&request.name)?;
        let result = prompt
            .render(request.arguments)
            .map_err(|reason| ErrorData::invalid_params(reason, None))?;
        Ok(result.into())
    }

    /// Completes prompt arguments from the server's data (execution ids,
    /// flow names, memory scopes and keys, stack names).
    async fn complete(
        &self,
        request: CompleteRequestParams,
        session: RequestContext<RoleServer>,
    ) -> Result<CompleteResult, ErrorData> {
        let Reference::Prompt(reference) = &request.r#ref else {
            return Ok(CompleteResult::default());
        };
        let prompt = self.offered_prompt(&reference.name)?;
        let context = request
            .context
            .and_then(|context| context.arguments)
            .unwrap_or_default();
        // Without a server, only the completions that need none.
        let kitaru = self.kitaru_of(&session).await.ok();
        let completion = crate::prompts::complete(
            kitaru.as_deref(),
            prompt,
            &request.argument.name,
            &request.argument.value,
            &context,
        )
        .await
        .map_err(|reason| ErrorData::invalid_params(reason, None))?;
        Ok(CompleteResult::new(completion))
    }

    async fn list_resources(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        let kitaru = self.kitaru_of(&context).await.map_err(unavailable)?;
        let cursor = request.and_then(|request| request.cursor);
        let mut page = crate::resources::list(&kitaru, self.selection(), cursor.as_deref()).await?;
        if cursor.is_none() && crate::apps::wanted(&context) {
            page.resources.insert(0, crate::apps::resource());
        }
        Ok(page)
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        Ok(ListResourceTemplatesResult::with_all_items(
            crate::resources::templates(self.selection()),
        ))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        if request.uri == crate::apps::EXECUTION_VIEW {
            return Ok(crate::apps::read().into());
        }
        let kitaru = self.kitaru_of(&context).await.map_err(unavailable)?;
        Ok(
            crate::resources::read(&kitaru, self.selection(), &request.uri)
                .await?
                .into(),
        )
    }

    /// Subscribes to an execution: a `notifications/resources/updated`
    /// follows each change of its status.
    async fn subscribe(
        &self,
        request: SubscribeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        if self.per_caller() {
            return Err(ErrorData::invalid_params(
                "resources/subscribe is not available over HTTP: this server is stateless and \
                 cannot deliver notifications after a request's answer; poll \
                 kitaru://executions/{exec_id} (resources/read) or use kitaru_executions_watch",
                None,
            ));
        }
        let connector = self.toolbox.connector_of(&context).map_err(unavailable)?;
        self.subscriptions
            .subscribe(connector, self.selection(), &request.uri, context.peer)
            .await
    }

    async fn unsubscribe(
        &self,
        request: UnsubscribeRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.subscriptions.unsubscribe(&request.uri);
        Ok(())
    }

    /// Sends this server's own log lines at `level` and above to the client
    /// as `notifications/message` (over stdio; over HTTP, stateless, there
    /// is no later moment to send them, and the level is only accepted).
    #[allow(deprecated)]
    async fn set_level(
        &self,
        request: rmcp::model::SetLevelRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        if !self.per_caller() {
            self.client_log.listen(request.level, context.peer);
        }
        Ok(())
    }

    fn get_info(&self) -> ServerConfig {
        let mut capabilities = ServerCapabilities::builder()
            .enable_tools()
            .enable_prompts()
            .enable_completions()
            .enable_resources()
            .enable_resources_subscribe()
            .enable_tasks()
            .build();
        capabilities.logging = Some(rmcp::model::JsonObject::new());
        // Over HTTP (stateless) no notification could reach a subscriber.
        if self.per_caller()
            && let Some(resources) = capabilities.resources.as_mut()
        {
            resources.subscribe = None;
        }
        let mut config =
            ServerConfig::new(capabilities).with_instructions(instructions(self.selection()));
        config.server_info = Implementation::new(SERVER_NAME, env!("CARGO_PKG_VERSION"))
            .with_title("Kitaru MCP server");
        config
    }
}
