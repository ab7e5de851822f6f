//! The SDK's status, stacks and clean preview (behind `kitaru_status`,
//! `kitaru_info`, `kitaru_stacks_list` and `kitaru_clean_preview`) against
//! the seeded server and its CLI config — and, without a server, the
//! reports for broken connections.

use std::path::Path;

use kitaru_client::connection::Source;
use kitaru_client::{CliConfigFile, ConnectionOptions};
use kitaru_sdk::clean::{self, CleanPreview, CleanScope, EntryType};
use kitaru_sdk::status::{self, ConnectionKind, SelectionSource, SettingSources, StatusReport};
use kitaru_sdk::{Connector, ErrorKind, Kitaru, Program, stacks};

use kitaru_testkit::server;

/// Connects as a user would from the seeded project folder, with the CLI
/// config `kitaru login` wrote.
fn connector() -> Connector {
    let server = server();
    Connector::new(
        ConnectionOptions::new()
            .config_dir(server.str("/config_path"))
            .working_dir(server.str("/project_dir")),
    )
}

async fn info_all(connector: &Connector) -> StatusReport {
    status::info(connector, true).await
}

async fn clean(connector: &Connector, scope: CleanScope) -> CleanPreview {
    clean::preview(connector, scope).await.unwrap()
}

/// A port nothing listens on: bound, then freed.
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn path_text(path: impl AsRef<Path>) -> String {
    path.as_ref().display().to_string()
}

#[tokio::test]
async fn status_reports_the_local_server_the_cli_is_logged_in_to() {
    let server = server();
    let report = status::status(&connector()).await;
    assert_eq!(report.connection, ConnectionKind::LocalServer);
    assert_eq!(report.server_url.as_deref(), Some(server.url.as_str()));
    assert_eq!(report.connection_target, server.url);
    assert_eq!(
        report.server_version.as_deref(),
        Some(server.str("/versions/server"))
    );
    assert_eq!(report.server_database.as_deref(), Some("sqlite"));
    assert_eq!(report.server_deployment_type.as_deref(), Some("local"));
    assert_eq!(
        report.active_user.as_deref(),
        Some(server.str("/seed/user/name"))
    );
    assert_eq!(
        report.active_stack.as_deref(),
        Some(server.str("/seed/stack/name"))
    );
    assert_eq!(
        report.active_project.as_deref(),
        Some(server.str("/seed/project/name"))
    );
    assert_eq!(
        report.local_server_status,
        Some(format!("running at {} (daemon)", server.url))
    );
    assert_eq!(report.warning, None);
    assert_eq!(report.config_directory, server.str("/config_path"));
    assert_eq!(
        report.repository_root.as_deref(),
        Some(server.str("/project_dir"))
    );
    assert!(report.uses_repo_local_config);
    assert_eq!(
        report.connection_sources,
        Some(SettingSources {
            server_url: "global config".into(),
            auth_token: "global config".into(),
            project: "repo-local config (.kitaru/)".into(),
        })
    );
    // The API document of the connected server's line.
    let line = kitaru_sdk::ServerLine::of(report.server_version.as_deref().unwrap());
    assert_eq!(report.zenml_version.as_deref(), Some(line.zenml()));
    assert_eq!(report.server_line.as_deref(), Some(line.kitaru()));
    assert_eq!(report.api_versions, ["0.94.4", "0.98.0"]);
    assert_eq!(report.python_version, None);
    assert_eq!(report.packages, None);
    assert_eq!(report.active_stack_provenance, None);
    assert_eq!(report.environment_type, None);
}

#[tokio::test]
async fn info_with_all_says_where_the_active_stack_and_project_come_from() {
    let server = server();
    let report = info_all(&connector()).await;
    let repository_config = Path::new(server.str("/project_dir")).join(".kitaru/config.yaml");
    let stack = report.active_stack_provenance.unwrap();
    assert_eq!(stack.effective_source, SelectionSource::RepositoryConfig);
    assert_eq!(
        stack.effective_source_detail,
        Some(path_text(&repository_config))
    );
    assert_eq!(
        stack.effective_id.as_deref(),
        Some(server.str("/seed/stack/id"))
    );
    assert_eq!(
        stack.resolved_id.as_deref(),
        Some(server.str("/seed/stack/id"))
    );
    assert_eq!(
        stack.resolved_name.as_deref(),
        Some(server.str("/seed/stack/name"))
    );
    assert_eq!(stack.notes, Vec::<String>::new());
    let project = report.active_project_provenance.unwrap();
    assert_eq!(
        project.resolved_id.as_deref(),
        Some(server.str("/seed/project/id"))
    );
    assert_eq!(
        project.global_id.as_deref(),
        Some(server.str("/seed/project/id"))
    );
    assert!(report.environment_type.is_some());
}

#[tokio::test]
async fn the_default_stack_is_listed_as_active_and_not_managed() {
    let server = server();
    let listed = stacks::list(&server.kitaru().await).await.unwrap();
    let active: Vec<_> = listed.iter().filter(|stack| stack.is_active).collect();
    assert_eq!(active.len(), 1, "{listed:?}");
    assert_eq!(active[0].id, server.str("/seed/stack/id"));
    assert_eq!(active[0].name, server.str("/seed/stack/name"));
    assert!(!active[0].is_managed);
}

#[tokio::test]
async fn the_project_clean_preview_lists_the_seeded_kitaru_folder() {
    let server = server();
    let kitaru_dir = Path::new(server.str("/project_dir")).join(".kitaru");
    let config_size = std::fs::metadata(kitaru_dir.join("config.yaml"))
        .unwrap()
        .len();
    let preview = clean(&connector(), CleanScope::Project).await;
    assert!(preview.dry_run && !preview.aborted);
    assert_eq!(preview.local_server_status, None);
    assert_eq!(preview.preview.len(), 1);
    let folder = &preview.preview[0];
    assert_eq!(folder.path, path_text(&kitaru_dir));
    assert_eq!(folder.entry_type, EntryType::Directory);
    let config = folder
        .children
        .iter()
        .find(|child| child.path == path_text(kitaru_dir.join("config.yaml")))
        .expect("config.yaml is listed");
    assert_eq!(config.entry_type, EntryType::File);
    assert_eq!(config.size_bytes, Some(config_size));
    assert_eq!(preview.total_bytes, folder.size_bytes.unwrap());
}

#[tokio::test]
async fn the_global_clean_preview_lists_the_config_and_where_the_database_would_go() {
    let server = server();
    let config_dir = server.str("/config_path");
    let preview = clean(&connector(), CleanScope::Global).await;
    assert_eq!(
        preview.warnings,
        [format!(
            "Cleaning custom config path {config_dir} (set by explicit options)"
        )]
    );
    assert_eq!(
        preview.local_server_status,
        Some(format!("running at {}", server.url))
    );
    let tree = &preview.preview[0];
    assert_eq!(tree.path, config_dir);
    let child = |name: &str| {
        tree.children
            .iter()
            .find(|child| child.path == path_text(Path::new(config_dir).join(name)))
            .unwrap_or_else(|| panic!("{name} is listed: {tree:?}"))
    };
    assert_eq!(child("config.yaml").entry_type, EntryType::File);
    assert!(
        child("local_stores")
            .note
            .as_deref()
            .unwrap()
            .ends_with(" stores")
    );
    assert_eq!(child("zen_server/daemon").entry_type, EntryType::Directory);
    let backup = &preview.preview[1];
    assert_eq!(backup.entry_type, EntryType::Backup);
    assert!(
        backup
            .path
            .starts_with(&format!("{config_dir}-backups/backup-")),
        "{}",
        backup.path
    );
    assert_eq!(preview.total_bytes, tree.size_bytes.unwrap());
    assert_eq!(preview.backup_path, None);
}

#[tokio::test]
async fn an_unreachable_server_is_reported_not_raised() {
    let empty = tempfile::tempdir().unwrap();
    let url = format!("http://127.0.0.1:{}", closed_port());
    let connector = Connector::new(
        ConnectionOptions::new()
            .server_url(&url)
            .config_dir(empty.path())
            .working_dir(empty.path()),
    );
    let report = info_all(&connector).await;
    assert_eq!(report.connection, ConnectionKind::RemoteServer);
    assert_eq!(report.server_url.as_deref(), Some(url.as_str()));
    let warning = report.warning.unwrap();
    assert!(
        warning.starts_with("Unable to query the configured store: "),
        "{warning}"
    );
    assert!(warning.contains(&url), "{warning}");
    assert_eq!(report.active_user, None);
    assert_eq!(report.server_version, None);
    assert_eq!(report.local_server_status.as_deref(), Some("not started"));
    assert_eq!(
        report.connection_sources.unwrap().server_url,
        "runtime override (ConnectionOptions)"
    );
    let note = &report.active_stack_provenance.unwrap().notes[0];
    assert!(note.starts_with("Querying the server failed: "), "{note}");
}

#[tokio::test]
async fn a_cli_without_a_server_reports_a_local_database() {
    let empty = tempfile::tempdir().unwrap();
    let connector = Connector::new(
        ConnectionOptions::new()
            .config_dir(empty.path())
            .working_dir(empty.path()),
    );
    let report = status::status(&connector).await;
    assert_eq!(report.connection, ConnectionKind::LocalDatabase);
    // The program using the SDK names itself; by default, the SDK.
    assert_eq!(
        report.sdk_version,
        format!("kitaru-sdk {}", env!("CARGO_PKG_VERSION"))
    );
    let named = connector.with_program(Program::new("my-tool", "1.2.0"));
    assert_eq!(status::status(&named).await.sdk_version, "my-tool 1.2.0");
    assert_eq!(
        report.connection_target,
        format!(
            "sqlite:///{}",
            path_text(empty.path().join("local_stores/default_zen_store/zenml.db"))
        )
    );
    assert_eq!(report.server_url, None);
    assert_eq!(report.connection_sources, None);
    let warning = report.warning.unwrap();
    assert!(
        warning.starts_with("Kitaru is not connected to a server"),
        "{warning}"
    );
}

#[tokio::test]
async fn a_login_to_a_stopped_local_server_is_reported_as_stale() {
    let config = tempfile::tempdir().unwrap();
    let port = closed_port();
    let daemon = config.path().join("zen_server/daemon");
    std::fs::create_dir_all(&daemon).unwrap();
    let service = serde_json::json!({
        "config": {"server": {"provider": "daemon", "port": port, "ip_address": "127.0.0.1"}},
        "status": {"runtime_path": daemon},
        "endpoint": {"status": {"protocol": "http", "hostname": "127.0.0.1", "port": port}},
    });
    std::fs::write(daemon.join("service.json"), service.to_string()).unwrap();
    std::fs::write(
        config.path().join("config.yaml"),
        format!("store: {{type: rest, url: 'http://localhost:{port}'}}\n"),
    )
    .unwrap();
    let connector = Connector::new(
        ConnectionOptions::new()
            .config_dir(config.path())
            .working_dir(config.path()),
    );
    let report = status::status(&connector).await;
    assert_eq!(report.connection, ConnectionKind::RemoteServer);
    assert_eq!(
        report.local_server_status.as_deref(),
        Some("registered but unavailable (daemon: service daemon is not running)")
    );
    assert_eq!(
        report.warning.as_deref(),
        Some(
            "The configured Kitaru server points to a stopped local server. Start it again or \
             run `kitaru logout` to clear the stale connection."
        )
    );
    let preview = clean(&connector, CleanScope::Global).await;
    assert_eq!(
        preview.local_server_status.as_deref(),
        Some("registered but not running")
    );
}

/// The CLI config `kitaru login` wrote, copied to a folder of its own
/// (outside any repository) with `active_project_id` set to `project`.
fn cli_config_saving_project(project: &str) -> tempfile::TempDir {
    let server = server();
    let dir = tempfile::tempdir().unwrap();
    for file in ["config.yaml", "credentials.yaml"] {
        let from = Path::new(server.str("/config_path")).join(file);
        if from.exists() {
            std::fs::copy(&from, dir.path().join(file)).unwrap();
        }
    }
    CliConfigFile::global(dir.path())
        .update(|settings| {
            settings.insert("active_project_id".into(), project.into());
        })
        .unwrap();
    dir
}

#[tokio::test]
async fn a_saved_active_project_that_is_gone_falls_back_as_the_cli_does() {
    let server = server();
    let gone = uuid::Uuid::new_v4().to_string();
    let dir = cli_config_saving_project(&gone);
    let options = ConnectionOptions::new()
        .config_dir(dir.path())
        .working_dir(dir.path());
    let kitaru = Kitaru::connect_with(&options).await.unwrap();
    assert_eq!(kitaru.project(), Some(gone.as_str()));
    assert!(matches!(
        kitaru.connection.sources.project,
        Some(Source::File(_))
    ));

    let project = kitaru.active_project().await.unwrap();
    assert_eq!(project.name, server.str("/seed/project/name"));
    // Status reports the same project, by the same rule.
    let report = status::status(&Connector::new(options)).await;
    assert_eq!(
        report.active_project.as_deref(),
        Some(server.str("/seed/project/name"))
    );
}

#[tokio::test]
async fn a_project_named_explicitly_or_by_a_variable_must_exist() {
    let server = server();
    let dir = cli_config_saving_project(server.str("/seed/project/name"));
    let options = ConnectionOptions::new()
        .config_dir(dir.path())
        .working_dir(dir.path());
    let saved = Kitaru::connect_with(&options).await.unwrap();
    assert_eq!(
        saved.active_project().await.unwrap().name,
        server.str("/seed/project/name")
    );

    let explicit = options.clone().project("no-such-project");
    let kitaru = Kitaru::connect_with(&explicit).await.unwrap();
    let error = kitaru.active_project().await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound, "{error}");
    assert!(error.to_string().contains("'no-such-project'"), "{error}");
    let report = status::status(&Connector::new(explicit)).await;
    assert_eq!(report.active_project, None);

    let variable = options
        .resolve(&std::collections::HashMap::from([(
            "KITARU_PROJECT".to_owned(),
            "no-such-project".to_owned(),
        )]))
        .unwrap();
    assert_eq!(
        variable.sources.project,
        Some(Source::Env("KITARU_PROJECT"))
    );
    let client = variable.connect().await.unwrap();
    let kitaru = Kitaru::new(client, variable);
    let error = kitaru.active_project().await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound, "{error}");
}
