//! Projects: the server's namespaces for executions, flows, artifacts and
//! stacks. One is active for a connection: list queries are scoped to it.
//!
//! Making a project the active one is a local setting, kept where the CLI
//! keeps it (the repository's `.kitaru/config.yaml`, else the global
//! `config.yaml`), as for stacks. The kitaru 0.21 reference refuses it
//! unless the server is ZenML Pro: that is its own limit, not the server's
//! (an open-source server serves several projects, only its dashboard
//! shows the default one), so it is done on any server here.

use kitaru_client::ApiError;
use kitaru_client::builder::ListProjects;
use kitaru_client::connection::Source;
use kitaru_client::paging::Paged as _;
use kitaru_client::types::{PageProjectResponse, ProjectResponse};
use serde::Serialize;

use crate::error::ApiContext;
use crate::python_repr::str_repr;
use crate::stacks::activate;
use crate::{Connector, Error, Kitaru};

/// How many prefix matches an ambiguity error lists.
const AMBIGUOUS_SHOWN: i64 = 20;

/// A project, as Kitaru shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct ProjectInfo {
    /// The project's id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The name it is shown by, when it has one.
    pub display_name: Option<String>,
    /// Its description, when it has one.
    pub description: Option<String>,
    /// Whether it is the active project.
    pub is_active: bool,
}

impl ProjectInfo {
    fn of(project: &ProjectResponse, active_id: Option<&str>) -> Self {
        let text = |value: Option<&String>| {
            value
                .map(|value| value.trim())
                .filter(|value| !value.is_empty())
                .map(str::to_owned)
        };
        let id = project.id.to_string();
        Self {
            is_active: active_id == Some(id.as_str()),
            id,
            name: project.name.trim().to_owned(),
            display_name: text(project.body.as_ref().map(|body| &body.display_name)),
            description: text(project.metadata.as_ref().map(|m| &m.description)),
        }
    }
}

/// Every project the user can see, in the server's order (oldest first),
/// the active one marked (`kitaru_projects_list`).
pub async fn list(kitaru: &Kitaru) -> Result<Vec<ProjectInfo>, Error> {
    let active = active_id(kitaru).await?;
    let projects = kitaru
        .client
        .list_projects()
        .hydrate(true)
        .sort_by("created")
        .size(200)
        .all()
        .await
        .context("Failed to list projects")?;
    Ok(projects
        .iter()
        .map(|project| ProjectInfo::of(project, active.as_deref()))
        .collect())
}

/// The active project (`kitaru_projects_current`), chosen by
/// [`Kitaru::active_project`]'s rule.
pub async fn current(kitaru: &Kitaru) -> Result<ProjectInfo, Error> {
    let project = kitaru.active_project().await?;
    let id = project.id.to_string();
    Ok(ProjectInfo::of(&project, Some(&id)))
}

/// The project `name_or_id` names: its id, its exact name, or a unique
/// prefix of its id (`kitaru_projects_show`).
pub async fn show(kitaru: &Kitaru, name_or_id: &str) -> Result<ProjectInfo, Error> {
    let selector = selector(name_or_id)?;
    let project = find(
        kitaru,
        selector,
        &format!("Failed to load project '{selector}'"),
    )
    .await?;
    let active = active_id(kitaru).await?;
    Ok(ProjectInfo::of(&project, active.as_deref()))
}

/// Makes the project `name_or_id` names the active one
/// (`kitaru_projects_use`): recorded where the CLI keeps it, and the
/// connection made anew so that the next calls are scoped to it. When
/// explicit options or a variable (`KITARU_PROJECT`,
/// `ZENML_ACTIVE_PROJECT_ID`) choose the project, they still win: the
/// answer then says `is_active: false`.
pub async fn use_project(connector: &Connector, name_or_id: &str) -> Result<ProjectInfo, Error> {
    let selector = selector(name_or_id)?;
    let kitaru = connector.get().await?;
    let context = format!("Failed to activate project '{selector}'");
    let project = find(&kitaru, selector, &context).await?;
    let file = activate::config_file(&kitaru.connection);
    activate::record_key(&file, activate::ACTIVE_PROJECT_KEY, &project.id.to_string())
        .map_err(|error| Error::State(format!("{context}: could not record it: {error}")))?;
    let decides = !matches!(
        kitaru.connection.sources.project,
        Some(Source::Explicit | Source::Env(_))
    );
    connector.reset().await;
    let id = project.id.to_string();
    Ok(ProjectInfo::of(&project, decides.then_some(id.as_str())))
}

fn selector(name_or_id: &str) -> Result<&str, Error> {
    let selector = name_or_id.trim();
    if selector.is_empty() {
        return Err(Error::argument(
            "name_or_id",
            "Project name_or_id cannot be empty.",
        ));
    }
    Ok(selector)
}

/// The active project's id; `None` when no project is active.
async fn active_id(kitaru: &Kitaru) -> Result<Option<String>, Error> {
    match kitaru.active_project().await {
        Ok(project) => Ok(Some(project.id.to_string())),
        Err(Error::State(_)) => Ok(None),
        Err(error) => Err(error),
    }
}

/// The (hydrated) project `selector` names, found as the Python client
/// finds it without name prefixes: an id, else an exact name, else a
/// unique id prefix. Errors read `<context>: <why>`.
async fn find(kitaru: &Kitaru, selector: &str, context: &str) -> Result<ProjectResponse, Error> {
    if let Ok(id) = uuid::Uuid::parse_str(selector) {
        return kitaru
            .client
            .get_project()
            .project_name_or_id(id.to_string())
            .hydrate(true)
            .send()
            .await
            .map(|answer| answer.into_inner())
            .map_err(|error| {
                let exception = ApiError::from(error);
                if exception.status == Some(404) {
                    Error::NotFound(format!("{context}: {}", str_repr(&exception.message)))
                } else {
                    Error::api(context, exception)
                }
            });
    }
    let by_name = page(
        kitaru,
        |request| request.name(format!("equals:{selector}")),
        context,
    )
    .await?;
    if let Some(project) = by_name.items.into_iter().next() {
        return Ok(project);
    }
    let by_prefix = page(
        kitaru,
        |request| request.id(format!("startswith:{selector}")),
        context,
    )
    .await?;
    if by_prefix.total > 1 {
        let matches: Vec<String> = by_prefix
            .items
            .iter()
            .map(|project| format!("'{}: {}'", project.name, project.id))
            .collect();
        return Err(Error::NotFound(format!(
            "{context}: {} projects have been found  that have an ID prefix that matches the \
             provided string '{selector}':\n[{}].\nPlease provide more characters to uniquely \
             identify only one of the projects.",
            by_prefix.total,
            matches.join(", ")
        )));
    }
    by_prefix.items.into_iter().next().ok_or_else(|| {
        Error::NotFound(format!(
            "{context}: {}",
            str_repr(&format!(
                "No projects have been found  that have an ID prefix that matches the provided \
                 string '{selector}'."
            ))
        ))
    })
}

async fn page(
    kitaru: &Kitaru,
    filter: impl FnOnce(ListProjects<'_>) -> ListProjects<'_>,
    context: &str,
) -> Result<PageProjectResponse, Error> {
    let request = kitaru
        .client
        .list_projects()
        .hydrate(true)
        .size(AMBIGUOUS_SHOWN);
    filter(request)
        .send()
        .await
        .map(|answer| answer.into_inner())
        .context(context)
}
