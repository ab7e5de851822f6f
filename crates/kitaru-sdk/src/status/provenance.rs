//! Where the active stack and project come from: each layer that can set
//! them (explicit options, the environment, the repository's config, the
//! global config) as written, which one wins, and what the server resolved
//! it to.
//!
//! The layers are read raw, before the server is asked, so a saved id that
//! no longer exists still shows, next to the stack or project that was used
//! instead.

use serde::Serialize;

use super::config_files::{ConfigLocations, RawConfig};
use kitaru_client::connection::{ConnectionOptions, Environment};

const ZENML_ACTIVE_STACK_ID: &str = "ZENML_ACTIVE_STACK_ID";
const ZENML_ACTIVE_PROJECT_ID: &str = "ZENML_ACTIVE_PROJECT_ID";
const KITARU_PROJECT: &str = "KITARU_PROJECT";
const KITARU_STACK: &str = "KITARU_STACK";

/// Which selection a provenance describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum SelectionResource {
    /// The active stack.
    ActiveStack,
    /// The active project.
    ActiveProject,
}

/// The layer a selection comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub enum SelectionSource {
    /// Set by the program through `ConnectionOptions` (SDK use only).
    #[serde(rename = "explicit options")]
    Explicit,
    /// An environment variable.
    #[serde(rename = "environment")]
    Environment,
    /// The repository's `.kitaru/config.yaml`.
    #[serde(rename = "repo-local config")]
    RepositoryConfig,
    /// The global `config.yaml`.
    #[serde(rename = "global config")]
    GlobalConfig,
    /// No layer sets it: the server's default applies.
    #[serde(rename = "unset")]
    Unset,
}

/// Where the active stack or project comes from, layer by layer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct SelectionProvenance {
    /// What this describes.
    pub resource: SelectionResource,
    /// The layer that wins.
    pub effective_source: SelectionSource,
    /// Which variable or file of that layer.
    pub effective_source_detail: Option<String>,
    /// The id (or name) that layer sets.
    pub effective_id: Option<String>,
    /// The id of the stack or project actually used.
    pub resolved_id: Option<String>,
    /// Its name.
    pub resolved_name: Option<String>,
    /// The variable that sets it in the environment.
    pub environment_variable: Option<String>,
    /// The value of that variable.
    pub environment_id: Option<String>,
    /// The repository root, if there is a repository.
    pub repository_root: Option<String>,
    /// The repository's config file.
    pub repository_config_path: Option<String>,
    /// The id the repository's config sets.
    pub repository_id: Option<String>,
    /// The global config file.
    pub global_config_path: Option<String>,
    /// The id the global config sets.
    pub global_id: Option<String>,
    /// Anything that makes the picture less certain: unreadable files,
    /// conflicting variables, a server that could not be asked.
    pub notes: Vec<String>,
}

/// The candidates of one selection, before precedence applies.
struct Layers {
    explicit: Option<String>,
    environment_variable: String,
    environment_id: Option<String>,
    repository_id: Option<String>,
    global_id: Option<String>,
    notes: Vec<String>,
}

impl SelectionProvenance {
    fn from_layers(resource: SelectionResource, layers: Layers, files: &ConfigLocations) -> Self {
        let repository_config = files.repository_config();
        let global_config = files.global_config();
        let display = |file: &Option<kitaru_client::CliConfigFile>| {
            file.as_ref().map(|file| file.path().display().to_string())
        };
        let (effective_source, effective_source_detail, effective_id) =
            if let Some(id) = &layers.explicit {
                (SelectionSource::Explicit, None, Some(id.clone()))
            } else if let Some(id) = &layers.environment_id {
                let detail = Some(layers.environment_variable.clone());
                (SelectionSource::Environment, detail, Some(id.clone()))
            } else if let Some(id) = &layers.repository_id {
                let detail = display(&repository_config);
                (SelectionSource::RepositoryConfig, detail, Some(id.clone()))
            } else if let Some(id) = &layers.global_id {
                let detail = display(&global_config);
                (SelectionSource::GlobalConfig, detail, Some(id.clone()))
            } else {
                (SelectionSource::Unset, None, None)
            };
        Self {
            resource,
            effective_source,
            effective_source_detail,
            effective_id,
            resolved_id: None,
            resolved_name: None,
            environment_variable: Some(layers.environment_variable),
            environment_id: layers.environment_id,
            repository_root: files
                .repository_root
                .as_ref()
                .map(|root| root.display().to_string()),
            repository_config_path: display(&repository_config),
            repository_id: layers.repository_id,
            global_config_path: display(&global_config),
            global_id: layers.global_id,
            notes: layers.notes,
        }
    }

    /// Records what the server resolved the selection to.
    pub(crate) fn resolved(&mut self, id: String, name: String) {
        self.resolved_id = Some(id);
        self.resolved_name = Some(name);
    }

    /// Whether a saved id was replaced by another stack or project when the
    /// server was asked (it no longer exists, or is not visible to this
    /// user). Variables and explicit options may name things by name, so
    /// only saved config counts.
    fn fell_back(&self) -> bool {
        matches!(
            self.effective_source,
            SelectionSource::RepositoryConfig | SelectionSource::GlobalConfig
        ) && match (&self.effective_id, &self.resolved_id) {
            (Some(saved), Some(used)) => !saved.eq_ignore_ascii_case(used),
            _ => false,
        }
    }
}

/// The provenance of the active stack and project.
pub(crate) fn collect(
    options: &ConnectionOptions,
    env: &dyn Environment,
    files: &ConfigLocations,
) -> (SelectionProvenance, SelectionProvenance) {
    let mut notes = Vec::new();
    let mut read = |file: Option<kitaru_client::CliConfigFile>| {
        let (config, note) = file.map(|file| RawConfig::read(&file)).unwrap_or_default();
        notes.extend(note);
        config
    };
    let repository = read(files.repository_config());
    let global = read(files.global_config());
    let variable = |name: &str| {
        env.var(name)
            .map(|value| value.trim().to_owned())
            .filter(|value| !value.is_empty())
    };

    let mut stack_notes = notes.clone();
    if variable(KITARU_STACK).is_some() {
        stack_notes.push(format!(
            "{KITARU_STACK} is an execution default and does not set ZenML's active stack."
        ));
    }
    let stack = Layers {
        explicit: options.explicit_stack().map(str::to_owned),
        environment_variable: ZENML_ACTIVE_STACK_ID.to_owned(),
        environment_id: variable(ZENML_ACTIVE_STACK_ID),
        repository_id: repository.id("active_stack_id"),
        global_id: global.id("active_stack_id"),
        notes: stack_notes,
    };

    let kitaru_project = variable(KITARU_PROJECT);
    let zenml_project = variable(ZENML_ACTIVE_PROJECT_ID);
    let mut project_notes = notes;
    if let (Some(kitaru), Some(zenml)) = (&kitaru_project, &zenml_project)
        && kitaru != zenml
    {
        project_notes.push(format!(
            "Both {KITARU_PROJECT} and {ZENML_ACTIVE_PROJECT_ID} are set with different values; \
             {KITARU_PROJECT} takes precedence."
        ));
    }
    let project = Layers {
        explicit: options.explicit_project().map(str::to_owned),
        environment_variable: if kitaru_project.is_some() {
            format!("{KITARU_PROJECT} -> {ZENML_ACTIVE_PROJECT_ID}")
        } else {
            ZENML_ACTIVE_PROJECT_ID.to_owned()
        },
        environment_id: kitaru_project.or(zenml_project),
        repository_id: repository.id("active_project_id"),
        global_id: global.id("active_project_id"),
        notes: project_notes,
    };

    (
        SelectionProvenance::from_layers(SelectionResource::ActiveStack, stack, files),
        SelectionProvenance::from_layers(SelectionResource::ActiveProject, project, files),
    )
}

/// A warning when a saved stack or project was replaced by another one.
pub(crate) fn fallback_warning(
    stack: &SelectionProvenance,
    project: &SelectionProvenance,
) -> Option<String> {
    let lines: Vec<String> = [("active stack", stack), ("active project", project)]
        .into_iter()
        .filter(|(_, selection)| selection.fell_back())
        .map(|(label, selection)| {
            let source = match (
                &selection.effective_source,
                &selection.effective_source_detail,
            ) {
                (source, Some(detail)) => format!("{} ({detail})", source_name(*source)),
                (source, None) => source_name(*source).to_owned(),
            };
            let used = selection.resolved_id.as_deref().unwrap_or("unknown");
            let used = match &selection.resolved_name {
                Some(name) => format!("{name} ({used})"),
                None => used.to_owned(),
            };
            format!(
                "Configured {label} from {source} points to ID '{}', but Kitaru loaded {used}.",
                selection.effective_id.as_deref().unwrap_or_default()
            )
        })
        .collect();
    if lines.is_empty() {
        return None;
    }
    let mut warning =
        vec!["Kitaru detected that the saved active context changed while loading.".to_owned()];
    warning.extend(lines);
    warning.push(
        "This usually means the saved stack or project no longer exists, or your current \
         credentials cannot access it."
            .to_owned(),
    );
    warning.push(
        "Choose the intended stack/project explicitly before running workflows to avoid \
         accidentally using a fallback context."
            .to_owned(),
    );
    Some(warning.join("\n"))
}

/// How a source is named in text, as it is in JSON.
fn source_name(source: SelectionSource) -> &'static str {
    match source {
        SelectionSource::Explicit => "explicit options",
        SelectionSource::Environment => "environment",
        SelectionSource::RepositoryConfig => "repo-local config",
        SelectionSource::GlobalConfig => "global config",
        SelectionSource::Unset => "unset",
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::path::Path;

    use super::*;
    use crate::status::test_env::env;

    const STACK_A: &str = "9df65633-97e3-4a98-95e8-0258c6c621ea";
    const STACK_B: &str = "0df51b18-1d08-4f33-8c37-f8ff2f1d9af6";

    /// A config dir and a repository, with the given config files.
    fn setup(global: &str, repository: Option<&str>) -> (tempfile::TempDir, ConnectionOptions) {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config");
        std::fs::create_dir_all(&config).unwrap();
        std::fs::write(config.join("config.yaml"), global).unwrap();
        let project = dir.path().join("project");
        std::fs::create_dir_all(project.join(".kitaru")).unwrap();
        if let Some(text) = repository {
            std::fs::write(project.join(".kitaru").join("config.yaml"), text).unwrap();
        }
        let options = ConnectionOptions::new()
            .config_dir(&config)
            .working_dir(&project);
        (dir, options)
    }

    fn provenance(
        options: &ConnectionOptions,
        env: &HashMap<String, String>,
    ) -> (SelectionProvenance, SelectionProvenance) {
        collect(options, env, &ConfigLocations::discover(options, env))
    }

    #[test]
    fn the_repository_config_wins_over_the_global_one() {
        let (dir, options) = setup(
            &format!("active_stack_id: {STACK_B}\nactive_project_id: p-global\n"),
            Some(&format!("active_stack_id: {STACK_A}\n")),
        );
        let (stack, project) = provenance(&options, &env(&[]));
        let repository_config = dir.path().join("project/.kitaru/config.yaml");
        assert_eq!(stack.effective_source, SelectionSource::RepositoryConfig);
        assert_eq!(
            stack.effective_source_detail.as_deref().map(Path::new),
            Some(repository_config.as_path())
        );
        assert_eq!(stack.effective_id.as_deref(), Some(STACK_A));
        assert_eq!(stack.repository_id.as_deref(), Some(STACK_A));
        assert_eq!(stack.global_id.as_deref(), Some(STACK_B));
        assert_eq!(
            stack.environment_variable.as_deref(),
            Some("ZENML_ACTIVE_STACK_ID")
        );
        assert_eq!(project.effective_source, SelectionSource::GlobalConfig);
        assert_eq!(project.effective_id.as_deref(), Some("p-global"));
        assert!(stack.notes.is_empty() && project.notes.is_empty());
    }

    #[test]
    fn kitaru_project_wins_and_a_conflict_is_noted() {
        let (_dir, options) = setup("active_project_id: p-global\n", None);
        let (_, project) = provenance(
            &options,
            &env(&[
                ("KITARU_PROJECT", "demo"),
                ("ZENML_ACTIVE_PROJECT_ID", "other"),
            ]),
        );
        assert_eq!(project.effective_source, SelectionSource::Environment);
        assert_eq!(
            project.effective_source_detail.as_deref(),
            Some("KITARU_PROJECT -> ZENML_ACTIVE_PROJECT_ID")
        );
        assert_eq!(project.environment_id.as_deref(), Some("demo"));
        assert_eq!(project.notes.len(), 1, "{:?}", project.notes);
    }

    #[test]
    fn explicit_options_win_over_everything() {
        let (_dir, options) = setup(&format!("active_stack_id: {STACK_B}\n"), None);
        let options = options.stack("gpu");
        let (stack, _) = provenance(&options, &env(&[("ZENML_ACTIVE_STACK_ID", STACK_A)]));
        assert_eq!(stack.effective_source, SelectionSource::Explicit);
        assert_eq!(stack.effective_id.as_deref(), Some("gpu"));
        assert_eq!(stack.environment_id.as_deref(), Some(STACK_A));
    }

    #[test]
    fn nothing_set_is_unset_and_kitaru_stack_is_noted() {
        let (_dir, options) = setup("", None);
        let (stack, project) = provenance(&options, &env(&[("KITARU_STACK", "gpu")]));
        assert_eq!(stack.effective_source, SelectionSource::Unset);
        assert_eq!(stack.effective_id, None);
        assert_eq!(stack.notes.len(), 1);
        assert!(project.notes.is_empty());
    }

    #[test]
    fn an_unreadable_config_is_noted_on_both() {
        let (_dir, options) = setup("[not, a, mapping]\n", None);
        let (stack, project) = provenance(&options, &env(&[]));
        assert!(
            stack.notes[0].contains("is not a mapping"),
            "{:?}",
            stack.notes
        );
        assert_eq!(stack.notes, project.notes);
    }

    #[test]
    fn a_saved_id_replaced_by_another_stack_warns() {
        let (_dir, options) = setup(&format!("active_stack_id: {STACK_B}\n"), None);
        let (mut stack, mut project) = provenance(&options, &env(&[]));
        stack.resolved(STACK_B.to_uppercase(), "default".into());
        assert_eq!(fallback_warning(&stack, &project), None);
        stack.resolved(STACK_A.into(), "default".into());
        project.resolved("p".into(), "default".into());
        let warning = fallback_warning(&stack, &project).unwrap();
        assert!(warning.contains(&format!(
            "Configured active stack from global config ({}) points to ID '{STACK_B}', but Kitaru loaded default ({STACK_A}).",
            stack.global_config_path.as_deref().unwrap()
        )), "{warning}");
        assert!(!warning.contains("active project"), "{warning}");
    }

    #[test]
    fn sources_serialize_as_the_cli_names_them() {
        for source in [
            SelectionSource::Explicit,
            SelectionSource::Environment,
            SelectionSource::RepositoryConfig,
            SelectionSource::GlobalConfig,
            SelectionSource::Unset,
        ] {
            assert_eq!(serde_json::to_value(source).unwrap(), source_name(source));
        }
    }
}
