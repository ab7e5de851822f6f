//! What `kitaru clean` would delete: a read-only walk of the project's
//! `.kitaru/` folder and the global config directory, with sizes.
//!
//! Nothing is deleted, moved or written; the shape of the answer is the one
//! `kitaru clean <scope> --dry-run --output json` gives, so the fields that
//! only a real clean fills (`deleted_paths`, `backup_path`, …) keep their
//! "nothing happened" values.

use std::fs;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Serialize;

use kitaru_client::connection::ProcessEnv;

use crate::status::config_files::{ConfigLocations, KitaruConfig};
use crate::status::environment::{self, EnvironmentVariable};
use crate::status::local_server::LocalServer;
use crate::{Connector, Error};
use kitaru_client::cli_config::{CONFIG_FILE, CliConfigFile, KITARU_FILE, REPOSITORY_DIR};
use kitaru_client::connection::Environment;

/// What a clean removes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum CleanScope {
    /// The project's `.kitaru/` folder.
    Project,
    /// The global config folder.
    Global,
    /// Both.
    All,
}

impl std::str::FromStr for CleanScope {
    type Err = Error;

    /// `project`, `global` or `all`.
    fn from_str(text: &str) -> Result<Self, Error> {
        match text {
            "project" => Ok(Self::Project),
            "global" => Ok(Self::Global),
            "all" => Ok(Self::All),
            other => Err(Error::argument(
                "scope",
                format!("unknown scope '{other}': expected project, global or all"),
            )),
        }
    }
}

/// Above this many local stores, the preview shows their count, not each.
const MAX_LISTED_STORES: usize = 5;

/// The dry run of `kitaru clean <scope>`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct CleanPreview {
    /// What a clean would cover.
    pub scope: CleanScope,
    /// Always true: this is a preview.
    pub dry_run: bool,
    /// Always false in a preview.
    pub aborted: bool,
    /// Always null in a preview (the `backup` entry of `preview` shows where
    /// a clean would save the database).
    pub backup_path: Option<String>,
    /// Always empty in a preview.
    pub deleted_paths: Vec<String>,
    /// Always false in a preview.
    pub local_server_stopped: bool,
    /// Always null in a preview.
    pub local_server_force_killed_pid: Option<u32>,
    /// The local server a global clean would stop: `not running`,
    /// `running at <url>` or `registered but not running`; null for the
    /// project scope.
    pub local_server_status: Option<String>,
    /// Always false in a preview.
    pub reinitialized_project: bool,
    /// Things to know before cleaning, e.g. a custom config path.
    pub warnings: Vec<String>,
    /// Kitaru variables that would keep overriding the configuration after a
    /// clean (secrets masked).
    pub active_environment_overrides: Vec<EnvironmentVariable>,
    /// What would be deleted, as a tree.
    pub preview: Vec<PreviewEntry>,
    /// The bytes that would be freed.
    pub total_bytes: u64,
}

/// One file or folder a clean would delete, or where it would back up the
/// database.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct PreviewEntry {
    /// Its path.
    pub path: String,
    /// What it is.
    #[serde(rename = "type")]
    pub entry_type: EntryType,
    /// Its size (a folder's: every file below it); absent for the backup.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size_bytes: Option<u64>,
    /// Something to know about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// What it contains, where that is worth showing.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<PreviewEntry>,
}

/// What a preview entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum EntryType {
    /// A file.
    File,
    /// A folder.
    Directory,
    /// Where the local database would be backed up (does not exist yet).
    Backup,
}

impl PreviewEntry {
    fn file(path: &Path, size: u64) -> Self {
        Self::sized(path, EntryType::File, size)
    }

    fn directory(path: &Path, size: u64) -> Self {
        Self::sized(path, EntryType::Directory, size)
    }

    fn sized(path: &Path, entry_type: EntryType, size: u64) -> Self {
        Self {
            path: path.display().to_string(),
            entry_type,
            size_bytes: Some(size),
            note: None,
            children: Vec::new(),
        }
    }

    /// A file or folder, or `None` for anything else (a broken link).
    fn of(path: &Path) -> Option<Self> {
        let metadata = fs::metadata(path).ok()?;
        if metadata.is_file() {
            Some(Self::file(path, metadata.len()))
        } else if metadata.is_dir() {
            Some(Self::directory(path, tree_size(path)))
        } else {
            None
        }
    }

    fn size(&self) -> u64 {
        self.size_bytes.unwrap_or_default()
    }

    /// A folder entry holding `children`, its size their sum.
    fn folder(path: &Path, children: Vec<Self>) -> Self {
        let size = children.iter().map(Self::size).sum();
        Self {
            children,
            ..Self::directory(path, size)
        }
    }
}

/// What `kitaru clean <scope>` would delete, for the CLI files the
/// connector's options locate (`kitaru_clean_preview`). Reads the local files
/// only and changes nothing; fails for the project scope outside a Kitaru
/// project.
pub async fn preview(connector: &Connector, scope: CleanScope) -> Result<CleanPreview, Error> {
    let env = ProcessEnv;
    let locations = ConfigLocations::discover(connector.options(), &env);
    preview_files(locations, &env, scope).await
}

/// Previews `kitaru clean <scope>` for the files `locations` points at.
async fn preview_files(
    locations: ConfigLocations,
    env: &dyn Environment,
    scope: CleanScope,
) -> Result<CleanPreview, Error> {
    let global = matches!(scope, CleanScope::Global | CleanScope::All);
    let project = matches!(scope, CleanScope::Project | CleanScope::All);
    let project_dir = locations
        .repository_root
        .as_ref()
        .map(|root| root.join(REPOSITORY_DIR))
        .filter(|dir| dir.exists());
    if scope == CleanScope::Project && project_dir.is_none() {
        return Err(Error::NotFound(format!(
            "No Kitaru project found in {} or above. Run `kitaru init` to create one.",
            locations.working_dir.as_deref().map_or_else(
                || "the working directory".to_owned(),
                |dir| dir.display().to_string()
            )
        )));
    }
    let mut plan = CleanPreview {
        scope,
        dry_run: true,
        aborted: false,
        backup_path: None,
        deleted_paths: Vec::new(),
        local_server_stopped: false,
        local_server_force_killed_pid: None,
        local_server_status: None,
        reinitialized_project: false,
        warnings: Vec::new(),
        active_environment_overrides: environment::kitaru_variables(env),
        preview: Vec::new(),
        total_bytes: 0,
    };
    let config_dir = if global {
        let dir = locations.config_dir.clone().map_err(|reason| {
            Error::State(format!(
                "Cannot locate the Kitaru config directory ({reason}); set KITARU_CONFIG_PATH."
            ))
        })?;
        if let Some(source) = &locations.config_dir_source {
            plan.warnings.push(format!(
                "Cleaning custom config path {} (set by {source})",
                dir.display()
            ));
        }
        plan.local_server_status = LocalServer::probe(&dir).await.describe_for_clean();
        Some(dir)
    } else {
        None
    };
    // A large artifact store takes a while to walk: off the async threads.
    let entries = tokio::task::spawn_blocking(move || {
        let mut entries = config_dir
            .map(|dir| global_entries(&dir, Utc::now()))
            .unwrap_or_default();
        if project && let Some(dir) = project_dir {
            entries.push(project_entry(&dir));
        }
        entries
    })
    .await
    .map_err(|error| Error::Unexpected(format!("The clean preview failed: {error}")))?;
    plan.total_bytes = entries
        .iter()
        .filter(|entry| entry.entry_type != EntryType::Backup)
        .map(PreviewEntry::size)
        .sum();
    plan.preview = entries;
    Ok(plan)
}

/// The project's `.kitaru/` folder and what is in it.
fn project_entry(dir: &Path) -> PreviewEntry {
    let children = sorted_children(dir)
        .iter()
        .filter_map(|child| PreviewEntry::of(child))
        .collect();
    PreviewEntry::folder(dir, children)
}

/// The config directory's tree, then where the database would be backed up
/// (when there is a local database). Empty when the directory is absent.
fn global_entries(config_dir: &Path, now: DateTime<Utc>) -> Vec<PreviewEntry> {
    if !config_dir.exists() {
        return Vec::new();
    }
    let mut children = Vec::new();
    let kitaru_yaml = CliConfigFile::kitaru(config_dir);
    if let Some(mut entry) = PreviewEntry::of(kitaru_yaml.path()) {
        entry.note = match KitaruConfig::read(&kitaru_yaml) {
            Ok(config) => match config.model_alias_count() {
                0 => None,
                count => Some(format!(
                    "model_registry: {count} aliases (use --force to proceed)"
                )),
            },
            Err(_) => Some("model_registry: unreadable (use --force to proceed)".to_owned()),
        };
        children.push(entry);
    }
    children.extend(PreviewEntry::of(CliConfigFile::global(config_dir).path()));
    let local_stores = config_dir.join("local_stores");
    if local_stores.exists() {
        children.push(local_stores_entry(&local_stores));
    }
    let daemon = config_dir.join("zen_server").join("daemon");
    if daemon.exists() {
        children.push(PreviewEntry::directory(&daemon, tree_size(&daemon)));
    }
    const SHOWN: [&str; 4] = [KITARU_FILE, CONFIG_FILE, "local_stores", "zen_server"];
    children.extend(
        sorted_children(config_dir)
            .iter()
            .filter(|child| {
                child
                    .file_name()
                    .is_none_or(|name| !SHOWN.iter().any(|shown| name == *shown))
            })
            .filter_map(|child| PreviewEntry::of(child)),
    );
    let mut entries = vec![PreviewEntry::folder(config_dir, children)];
    if has_local_database(config_dir) {
        let backups = config_dir.with_file_name(format!(
            "{}-backups",
            config_dir.file_name().unwrap_or_default().to_string_lossy()
        ));
        let file = format!("backup-{}.db", now.format("%Y-%m-%dT%H-%M-%S"));
        entries.push(PreviewEntry {
            path: backups.join(file).display().to_string(),
            entry_type: EntryType::Backup,
            size_bytes: None,
            note: Some("Database backup will be saved here".to_owned()),
            children: Vec::new(),
        });
    }
    entries
}

/// `local_stores/`: one folder per store (listed when there are few), plus
/// any loose files.
fn local_stores_entry(local_stores: &Path) -> PreviewEntry {
    let (stores, files): (Vec<PathBuf>, Vec<PathBuf>) = sorted_children(local_stores)
        .into_iter()
        .filter(|child| child.exists())
        .partition(|child| child.is_dir());
    let stores: Vec<PreviewEntry> = stores
        .iter()
        .map(|store| PreviewEntry::directory(store, tree_size(store)))
        .collect();
    let loose: u64 = files
        .iter()
        .filter_map(|file| fs::metadata(file).ok())
        .filter(fs::Metadata::is_file)
        .map(|metadata| metadata.len())
        .sum();
    let size = stores.iter().map(PreviewEntry::size).sum::<u64>() + loose;
    let note = (!stores.is_empty()).then(|| format!("{} stores", stores.len()));
    PreviewEntry {
        note,
        children: if stores.len() <= MAX_LISTED_STORES {
            stores
        } else {
            Vec::new()
        },
        ..PreviewEntry::directory(local_stores, size)
    }
}

/// Whether a clean would back up a local database: the default store's
/// `zenml.db`, or any `*.db` file below `local_stores/`.
fn has_local_database(config_dir: &Path) -> bool {
    fn any_db(dir: &Path) -> bool {
        sorted_children(dir)
            .iter()
            .any(|child| match fs::symlink_metadata(child) {
                Ok(metadata) if metadata.is_dir() => any_db(child),
                Ok(_) => child.extension().is_some_and(|ext| ext == "db") && child.is_file(),
                Err(_) => false,
            })
    }
    let local_stores = config_dir.join("local_stores");
    local_stores
        .join("default_zen_store")
        .join("zenml.db")
        .is_file()
        || any_db(&local_stores)
}

/// The entries of a folder, sorted by name; none when it cannot be read.
fn sorted_children(dir: &Path) -> Vec<PathBuf> {
    let mut children: Vec<PathBuf> = fs::read_dir(dir)
        .map(|entries| entries.flatten().map(|entry| entry.path()).collect())
        .unwrap_or_default();
    children.sort();
    children
}

/// The size of every file below `dir`. Linked files count with their
/// target's size; linked folders are not entered (they may lead anywhere,
/// even back up the tree).
fn tree_size(dir: &Path) -> u64 {
    sorted_children(dir)
        .iter()
        .map(|child| match fs::symlink_metadata(child) {
            Ok(metadata) if metadata.is_dir() => tree_size(child),
            Ok(metadata) if metadata.is_file() => metadata.len(),
            Ok(_) => fs::metadata(child)
                .ok()
                .filter(fs::Metadata::is_file)
                .map_or(0, |target| target.len()),
            Err(_) => 0,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use std::collections::HashMap;

    use super::*;
    use crate::status::test_env::env;
    use kitaru_client::connection::ConnectionOptions;

    fn write(path: &Path, bytes: usize) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, vec![b'x'; bytes]).unwrap();
    }

    /// A project folder and a config dir like the ones the CLI leaves.
    fn machine() -> (tempfile::TempDir, ConfigLocations) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(&root.join("project/.kitaru/config.yaml"), 110);
        write(&root.join("project/.kitaru/cache/a.bin"), 5);
        write(&root.join("config/config.yaml"), 310);
        write(
            &root.join("config/local_stores/default_zen_store/zenml.db"),
            1000,
        );
        write(
            &root.join("config/local_stores/1234/greet/output/data.txt"),
            19,
        );
        write(&root.join("config/local_stores/1234/logs/x.log"), 1);
        write(&root.join("config/local_stores/stray.txt"), 7);
        // A daemon registration whose process is gone (no pid file).
        let service = r#"{"config":{"server":{"provider":"daemon","port":1}}}"#;
        assert_eq!(service.len(), 52);
        fs::create_dir_all(root.join("config/zen_server/daemon")).unwrap();
        fs::write(root.join("config/zen_server/daemon/service.json"), service).unwrap();
        write(&root.join("config/zen_server/other/ignored.txt"), 999);
        write(&root.join("config/analytics.json"), 3);
        let options = ConnectionOptions::new()
            .config_dir(root.join("config"))
            .working_dir(root.join("project"));
        let locations = ConfigLocations::discover(&options, &env(&[]));
        (dir, locations)
    }

    fn no_env() -> HashMap<String, String> {
        env(&[("KITARU_ANALYTICS_OPT_IN", "false")])
    }

    #[tokio::test]
    async fn the_project_scope_lists_the_kitaru_folder() {
        let (dir, locations) = machine();
        let plan = preview_files(locations, &no_env(), CleanScope::Project)
            .await
            .unwrap();
        let kitaru = dir.path().join("project/.kitaru");
        assert_eq!(
            serde_json::to_value(&plan).unwrap(),
            json!({
                "scope": "project", "dry_run": true, "aborted": false, "backup_path": null,
                "deleted_paths": [], "local_server_stopped": false,
                "local_server_force_killed_pid": null, "local_server_status": null,
                "reinitialized_project": false, "warnings": [],
                "active_environment_overrides": [{"name": "KITARU_ANALYTICS_OPT_IN", "value": "false"}],
                "preview": [{
                    "path": kitaru.display().to_string(), "type": "directory", "size_bytes": 115,
                    "children": [
                        {"path": kitaru.join("cache").display().to_string(), "type": "directory", "size_bytes": 5},
                        {"path": kitaru.join("config.yaml").display().to_string(), "type": "file", "size_bytes": 110},
                    ],
                }],
                "total_bytes": 115,
            })
        );
    }

    #[tokio::test]
    async fn the_global_scope_lists_the_config_tree_and_the_backup() {
        let (dir, locations) = machine();
        let plan = preview_files(locations, &no_env(), CleanScope::Global)
            .await
            .unwrap();
        let config = dir.path().join("config");
        let path = |relative: &str| config.join(relative).display().to_string();
        assert_eq!(
            plan.warnings,
            [format!(
                "Cleaning custom config path {} (set by explicit options)",
                config.display()
            )]
        );
        assert_eq!(
            plan.local_server_status.as_deref(),
            Some("registered but not running")
        );
        assert_eq!(plan.preview.len(), 2);
        let tree = serde_json::to_value(&plan.preview[0]).unwrap();
        assert_eq!(
            tree,
            json!({
                "path": config.display().to_string(), "type": "directory", "size_bytes": 1392,
                "children": [
                    {"path": path("config.yaml"), "type": "file", "size_bytes": 310},
                    {"path": path("local_stores"), "type": "directory", "size_bytes": 1027,
                     "note": "2 stores", "children": [
                        {"path": path("local_stores/1234"), "type": "directory", "size_bytes": 20},
                        {"path": path("local_stores/default_zen_store"), "type": "directory", "size_bytes": 1000},
                     ]},
                    {"path": path("zen_server/daemon"), "type": "directory", "size_bytes": 52},
                    {"path": path("analytics.json"), "type": "file", "size_bytes": 3},
                ],
            })
        );
        let backup = &plan.preview[1];
        assert_eq!(backup.entry_type, EntryType::Backup);
        assert_eq!(backup.size_bytes, None);
        let backups_dir = format!(
            "{}-backups{}backup-",
            config.display(),
            std::path::MAIN_SEPARATOR
        );
        assert!(backup.path.starts_with(&backups_dir), "{}", backup.path);
        assert_eq!(plan.total_bytes, 1392);
    }

    #[tokio::test]
    async fn the_all_scope_adds_both_and_counts_no_backup() {
        let (_dir, locations) = machine();
        let plan = preview_files(locations, &no_env(), CleanScope::All)
            .await
            .unwrap();
        let types: Vec<EntryType> = plan.preview.iter().map(|e| e.entry_type).collect();
        assert_eq!(
            types,
            [
                EntryType::Directory,
                EntryType::Backup,
                EntryType::Directory
            ]
        );
        assert_eq!(plan.total_bytes, 1392 + 115);
    }

    #[tokio::test]
    async fn model_aliases_are_flagged_on_kitaru_yaml() {
        let (dir, locations) = machine();
        let kitaru_yaml = dir.path().join("config/kitaru.yaml");
        fs::write(
            &kitaru_yaml,
            "model_registry:\n  aliases:\n    fast: {model: m}\n",
        )
        .unwrap();
        let plan = preview_files(locations.clone(), &no_env(), CleanScope::Global)
            .await
            .unwrap();
        let first = &plan.preview[0].children[0];
        assert_eq!(first.path, kitaru_yaml.display().to_string());
        assert_eq!(
            first.note.as_deref(),
            Some("model_registry: 1 aliases (use --force to proceed)")
        );
        fs::write(&kitaru_yaml, "[broken").unwrap();
        let plan = preview_files(locations, &no_env(), CleanScope::Global)
            .await
            .unwrap();
        assert_eq!(
            plan.preview[0].children[0].note.as_deref(),
            Some("model_registry: unreadable (use --force to proceed)")
        );
    }

    #[tokio::test]
    async fn many_stores_are_summarised() {
        let (dir, locations) = machine();
        for store in ["s1", "s2", "s3", "s4", "s5"] {
            write(
                &dir.path().join("config/local_stores").join(store).join("f"),
                1,
            );
        }
        let plan = preview_files(locations, &no_env(), CleanScope::Global)
            .await
            .unwrap();
        let stores = &plan.preview[0].children[1];
        assert_eq!(stores.note.as_deref(), Some("7 stores"));
        assert!(stores.children.is_empty());
        assert_eq!(stores.size_bytes, Some(1027 + 5));
    }

    #[tokio::test]
    async fn no_database_means_no_backup_entry() {
        let (dir, locations) = machine();
        fs::remove_file(
            dir.path()
                .join("config/local_stores/default_zen_store/zenml.db"),
        )
        .unwrap();
        let plan = preview_files(locations.clone(), &no_env(), CleanScope::Global)
            .await
            .unwrap();
        assert_eq!(plan.preview.len(), 1);
        write(
            &dir.path().join("config/local_stores/1234/nested/other.db"),
            1,
        );
        let plan = preview_files(locations, &no_env(), CleanScope::Global)
            .await
            .unwrap();
        assert_eq!(plan.preview.len(), 2);
    }

    #[tokio::test]
    async fn a_folder_without_a_project_is_refused_for_the_project_scope_only() {
        let (dir, mut locations) = machine();
        locations.repository_root = None;
        locations.working_dir = Some(dir.path().to_owned());
        let error = preview_files(locations.clone(), &no_env(), CleanScope::Project)
            .await
            .unwrap_err();
        assert!(
            error.to_string().starts_with("No Kitaru project found in "),
            "{error}"
        );
        assert!(
            error
                .to_string()
                .ends_with("Run `kitaru init` to create one."),
            "{error}"
        );
        let plan = preview_files(locations, &no_env(), CleanScope::All)
            .await
            .unwrap();
        assert_eq!(plan.preview.len(), 2);
    }

    #[cfg(unix)]
    #[test]
    fn linked_files_count_and_linked_folders_are_not_entered() {
        let dir = tempfile::tempdir().unwrap();
        write(&dir.path().join("outside/big.bin"), 1000);
        write(&dir.path().join("tree/own.bin"), 10);
        std::os::unix::fs::symlink(
            dir.path().join("outside/big.bin"),
            dir.path().join("tree/link.bin"),
        )
        .unwrap();
        std::os::unix::fs::symlink(
            dir.path().join("outside"),
            dir.path().join("tree/linked-dir"),
        )
        .unwrap();
        assert_eq!(tree_size(&dir.path().join("tree")), 1010);
    }
}
