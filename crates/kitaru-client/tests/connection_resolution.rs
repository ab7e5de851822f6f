//! Connection resolution: which layer wins, what the CLI's files look like,
//! and what the user is told when the setup is incomplete.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use kitaru_client::connection::{
    ConnectionError, ConnectionOptions, Credentials, NotConnectedReason, ResolvedConnection,
    Source, VerifySsl,
};
use tempfile::TempDir;

/// The global config of a CLI logged in to a local server, as `kitaru login`
/// writes it.
const LOCAL_LOGIN_CONFIG: &str = "\
active_project_id: 42672a87-bde6-4358-957a-915c9bc92815
active_stack_id: b596d793-8d5c-4f0c-bb33-96066b3548be
analytics_opt_in: true
store:
  connection_pool_size: 10
  http_timeout: 30
  type: rest
  url: http://127.0.0.1:8765
  verify_ssl: true
user_id: 45ecac5e-4796-4c18-b0f8-62ff9f5bfb8f
version: 0.94.4
";

const GLOBAL_PROJECT: &str = "42672a87-bde6-4358-957a-915c9bc92815";
const GLOBAL_STACK: &str = "b596d793-8d5c-4f0c-bb33-96066b3548be";

/// A scratch home: a config directory and a working directory.
struct Setup {
    root: TempDir,
}

impl Setup {
    fn new() -> Self {
        let setup = Self {
            root: tempfile::tempdir().unwrap(),
        };
        fs::create_dir_all(setup.config_dir()).unwrap();
        fs::create_dir_all(setup.work_dir()).unwrap();
        setup
    }

    /// A setup whose global config is [`LOCAL_LOGIN_CONFIG`].
    fn logged_in_locally() -> Self {
        let setup = Self::new();
        setup.write_config(LOCAL_LOGIN_CONFIG);
        setup
    }

    fn config_dir(&self) -> PathBuf {
        self.root.path().join("config")
    }

    fn work_dir(&self) -> PathBuf {
        self.root.path().join("work")
    }

    fn config_file(&self) -> PathBuf {
        self.config_dir().join("config.yaml")
    }

    fn credentials_file(&self) -> PathBuf {
        self.config_dir().join("credentials.yaml")
    }

    fn write_config(&self, yaml: &str) {
        write(&self.config_file(), yaml);
    }

    fn write_credentials(&self, yaml: &str) {
        write(&self.credentials_file(), yaml);
    }

    fn options(&self) -> ConnectionOptions {
        ConnectionOptions::new()
            .config_dir(self.config_dir())
            .working_dir(self.work_dir())
    }

    fn resolve(&self, vars: &[(&str, &str)]) -> Result<ResolvedConnection, ConnectionError> {
        self.options().resolve(&env(vars))
    }
}

fn write(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

fn env(vars: &[(&str, &str)]) -> HashMap<String, String> {
    vars.iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect()
}

fn file(path: PathBuf) -> Option<Source> {
    Some(Source::File(path))
}

fn api_key(credentials: &Credentials) -> &str {
    match credentials {
        Credentials::ApiKey(key) => key.expose(),
        other => panic!("expected an API key, got {other:?}"),
    }
}

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().into()
}

const REMOTE_ENV: [(&str, &str); 3] = [
    ("KITARU_SERVER_URL", "https://kitaru.example.com/"),
    ("KITARU_AUTH_TOKEN", "ksa-key"),
    ("KITARU_PROJECT", "demo"),
];

// ---- the CLI's files alone ---------------------------------------------

#[test]
fn a_local_login_config_resolves_to_its_server_project_and_stack() {
    let setup = Setup::logged_in_locally();

    let connection = setup.resolve(&[]).unwrap();

    assert_eq!(connection.server_url, "http://127.0.0.1:8765");
    assert_eq!(connection.verify_ssl, VerifySsl::Enabled);
    assert_eq!(connection.http_timeout, Duration::from_secs(30));
    assert_eq!(connection.credentials, Credentials::None);
    assert_eq!(connection.cached_token, None);
    assert_eq!(connection.project.as_deref(), Some(GLOBAL_PROJECT));
    assert_eq!(connection.stack.as_deref(), Some(GLOBAL_STACK));
    assert_eq!(connection.config_dir, setup.config_dir());
    assert_eq!(connection.repository_root, None);
    assert_eq!(
        connection.sources.server_url,
        Source::File(setup.config_file())
    );
    assert_eq!(connection.sources.credentials, None);
    assert_eq!(connection.sources.project, file(setup.config_file()));
    assert_eq!(connection.sources.stack, file(setup.config_file()));
    assert_eq!(connection.sources.config_dir, Some(Source::Explicit));
    assert!(connection.warnings.is_empty());
}

#[test]
fn store_settings_of_the_config_file_apply_to_its_server() {
    let setup = Setup::new();
    setup.write_config("store:\n  type: rest\n  url: https://kitaru.example.com/\n  verify_ssl: false\n  http_timeout: 90\n");

    let connection = setup.resolve(&[]).unwrap();

    assert_eq!(connection.server_url, "https://kitaru.example.com");
    assert_eq!(connection.verify_ssl, VerifySsl::Disabled);
    assert_eq!(connection.http_timeout, Duration::from_secs(90));
    assert_eq!(connection.project, None);
    assert_eq!(connection.stack, None);
}

#[test]
fn a_store_without_type_is_taken_as_a_server_when_its_url_is_http() {
    let setup = Setup::new();
    setup.write_config("store:\n  url: http://127.0.0.1:8383\n");

    assert_eq!(
        setup.resolve(&[]).unwrap().server_url,
        "http://127.0.0.1:8383"
    );
}

#[test]
fn a_ca_bundle_path_in_the_config_file_is_kept() {
    let setup = Setup::new();
    let bundle = setup
        .config_dir()
        .join("local_stores/certificates/ca_bundle.pem");
    write(&bundle, "-----BEGIN CERTIFICATE-----\n");
    setup.write_config(&format!(
        "store:\n  type: rest\n  url: https://kitaru.example.com\n  verify_ssl: {}\n",
        bundle.display()
    ));

    assert_eq!(
        setup.resolve(&[]).unwrap().verify_ssl,
        VerifySsl::CaBundle(bundle)
    );
}

#[test]
fn credentials_left_in_the_store_section_win_over_credentials_yaml() {
    let setup = Setup::new();
    setup.write_config(
        "store:\n  type: rest\n  url: https://kitaru.example.com\n  api_key: key-in-config\n",
    );
    setup.write_credentials("https://kitaru.example.com:\n  url: https://kitaru.example.com\n  api_key: key-in-credentials\n");

    let connection = setup.resolve(&[]).unwrap();

    assert_eq!(api_key(&connection.credentials), "key-in-config");
    assert_eq!(connection.sources.credentials, file(setup.config_file()));
}

// ---- credentials.yaml ---------------------------------------------------

/// `credentials.yaml` as the CLI writes it after an API-key login (with the
/// token it got), a password login and a bare token.
const CLI_CREDENTIALS: &str = "\
http://127.0.0.1:8383:
  password: ''
  url: http://127.0.0.1:8383
  username: default
https://bare.example.com:
  api_token:
    access_token: baretok
  url: https://bare.example.com
https://kitaru.example.com:
  api_key: ZENKEY_abc
  api_token:
    access_token: tok1
    expires_at: '2026-11-26T14:37:43.824722Z'
    expires_in: 3600
    leeway: 180
  pro_api_url: https://kitaru.example.com
  url: https://kitaru.example.com
";

#[test]
fn a_credentials_yaml_written_by_the_cli_is_read_for_each_server() {
    let setup = Setup::new();
    setup.write_credentials(CLI_CREDENTIALS);
    let for_server = |url: &str| setup.options().server_url(url).resolve(&env(&[])).unwrap();

    let with_key = for_server("https://kitaru.example.com");
    assert_eq!(api_key(&with_key.credentials), "ZENKEY_abc");
    let cached = with_key.cached_token.unwrap();
    assert_eq!(cached.access_token.expose(), "tok1");
    assert_eq!(cached.expires_at, Some(utc("2026-11-26T14:34:43.824722Z")));

    let with_password = for_server("http://127.0.0.1:8383");
    assert_eq!(
        with_password.credentials,
        Credentials::Password {
            username: "default".into(),
            password: "".into()
        }
    );

    let with_bare_token = for_server("https://bare.example.com");
    let Credentials::Token(token) = with_bare_token.credentials else {
        panic!("expected a token")
    };
    assert_eq!(
        (token.access_token.expose(), token.expires_at),
        ("baretok", None)
    );

    assert_eq!(
        for_server("https://unknown.example.com").credentials,
        Credentials::None
    );
}

#[test]
fn credentials_yaml_is_looked_up_by_the_server_url() {
    let setup = Setup::logged_in_locally();
    setup.write_credentials(
        "\
https://other.example.com:
  url: https://other.example.com
  api_key: other-key
http://127.0.0.1:8765:
  url: http://127.0.0.1:8765
  api_key: local-key
  server_name: local
  version: 0.94.4
",
    );

    let connection = setup.resolve(&[]).unwrap();

    assert_eq!(api_key(&connection.credentials), "local-key");
    assert_eq!(
        connection.sources.credentials,
        file(setup.credentials_file())
    );
}

#[test]
fn credentials_yaml_lookup_ignores_a_trailing_slash_on_either_side() {
    let setup = Setup::new();
    setup.write_config("store:\n  type: rest\n  url: https://kitaru.example.com/\n");
    setup.write_credentials("https://kitaru.example.com/:\n  api_key: slash-key\n");
    assert_eq!(
        api_key(&setup.resolve(&[]).unwrap().credentials),
        "slash-key"
    );

    setup.write_credentials("https://kitaru.example.com:\n  api_key: plain-key\n");
    assert_eq!(
        api_key(&setup.resolve(&[]).unwrap().credentials),
        "plain-key"
    );
}

#[test]
fn credentials_yaml_entries_are_also_matched_by_their_url_field() {
    let setup = Setup::new();
    setup.write_config("store:\n  type: rest\n  url: https://kitaru.example.com\n");
    setup.write_credentials(
        "my-server:\n  url: https://kitaru.example.com/\n  api_key: by-url-field\n",
    );

    assert_eq!(
        api_key(&setup.resolve(&[]).unwrap().credentials),
        "by-url-field"
    );
}

#[test]
fn a_token_only_entry_gives_a_token_that_expires_leeway_seconds_early() {
    let setup = Setup::logged_in_locally();
    setup.write_credentials(
        "\
http://127.0.0.1:8765:
  url: http://127.0.0.1:8765
  api_token:
    access_token: device-token
    expires_in: 3600
    expires_at: '2026-11-24T18:48:36.123456Z'
    leeway: 180
    device_id: 2c6e4a57-0b0e-4c8b-9d0a-6d35b5f0c1a2
",
    );

    let connection = setup.resolve(&[]).unwrap();

    let Credentials::Token(token) = &connection.credentials else {
        panic!("expected a token, got {:?}", connection.credentials);
    };
    assert_eq!(token.access_token.expose(), "device-token");
    assert_eq!(token.expires_at, Some(utc("2026-11-24T18:45:36.123456Z")));
    assert!(!token.is_expired_at(utc("2026-11-24T18:45:00Z")));
    assert!(token.is_expired_at(utc("2026-11-24T18:46:00Z")));
    assert_eq!(connection.cached_token, None);
}

#[test]
fn a_token_cached_next_to_an_api_key_is_offered_with_that_key() {
    let setup = Setup::logged_in_locally();
    setup.write_credentials(
        "\
http://127.0.0.1:8765:
  api_key: local-key
  api_token:
    access_token: cached-token
",
    );

    let from_file = setup.resolve(&[]).unwrap();
    assert_eq!(api_key(&from_file.credentials), "local-key");
    assert_eq!(
        from_file.cached_token.unwrap().access_token.expose(),
        "cached-token"
    );

    let same_key_from_env = setup
        .options()
        .server_url("http://127.0.0.1:8765")
        .api_key("local-key");
    let cached = same_key_from_env.resolve(&env(&[])).unwrap().cached_token;
    assert_eq!(cached.unwrap().expires_at, None);

    let other_key = setup.options().api_key("another-key");
    assert_eq!(other_key.resolve(&env(&[])).unwrap().cached_token, None);
}

#[test]
fn resolved_credentials_convert_to_the_clients_credentials() {
    let resolved = Setup::new()
        .options()
        .server_url("http://127.0.0.1:8383")
        .bearer_token("bare")
        .resolve(&env(&[]))
        .unwrap();

    assert_eq!(
        resolved.credentials,
        kitaru_client::Credentials::Token(kitaru_client::ApiToken::new("bare"))
    );
}

#[test]
fn a_password_entry_gives_username_and_password() {
    let setup = Setup::logged_in_locally();
    setup.write_credentials("http://127.0.0.1:8765:\n  username: default\n  password: ''\n");

    let connection = setup.resolve(&[]).unwrap();

    assert_eq!(connection.credentials.kind(), "username and password");
    let Credentials::Password { username, password } = connection.credentials else {
        unreachable!()
    };
    assert_eq!((username.as_str(), password.expose()), ("default", ""));
}

#[test]
fn credentials_yaml_is_ignored_when_disk_caching_is_disabled() {
    let setup = Setup::logged_in_locally();
    setup.write_credentials("http://127.0.0.1:8765:\n  api_key: local-key\n");

    let connection = setup
        .resolve(&[("ZENML_DISABLE_CREDENTIALS_DISK_CACHING", "true")])
        .unwrap();

    assert_eq!(connection.credentials, Credentials::None);
}

#[test]
fn an_empty_credentials_yaml_means_no_credentials() {
    let setup = Setup::logged_in_locally();
    setup.write_credentials("");

    assert_eq!(setup.resolve(&[]).unwrap().credentials, Credentials::None);
}

#[test]
fn an_unreadable_token_expiry_names_the_file() {
    let setup = Setup::logged_in_locally();
    setup.write_credentials(
        "http://127.0.0.1:8765:\n  api_token:\n    access_token: t\n    expires_at: soon\n",
    );

    let message = setup.resolve(&[]).unwrap_err().to_string();

    assert_eq!(
        message,
        format!(
            "Invalid token expiry (api_token.expires_at) from {}: \"soon\"; expected an ISO 8601 date and time.",
            setup.credentials_file().display()
        )
    );
}

// ---- environment over files, explicit over environment ------------------

#[test]
fn kitaru_variables_override_the_config_file() {
    let setup = Setup::new();
    setup.write_config(
        "\
active_project_id: file-project
active_stack_id: file-stack
store:
  type: rest
  url: http://127.0.0.1:8765
  verify_ssl: false
  http_timeout: 90
",
    );

    let connection = setup.resolve(&REMOTE_ENV).unwrap();

    assert_eq!(connection.server_url, "https://kitaru.example.com");
    assert_eq!(api_key(&connection.credentials), "ksa-key");
    assert_eq!(connection.project.as_deref(), Some("demo"));
    assert_eq!(
        connection.sources.server_url,
        Source::Env("KITARU_SERVER_URL")
    );
    assert_eq!(
        connection.sources.credentials,
        Some(Source::Env("KITARU_AUTH_TOKEN"))
    );
    assert_eq!(
        connection.sources.project,
        Some(Source::Env("KITARU_PROJECT"))
    );
    // The file's store settings belong to the file's server.
    assert_eq!(connection.verify_ssl, VerifySsl::Enabled);
    assert_eq!(connection.http_timeout, Duration::from_secs(30));
    // The active stack is not set by a Kitaru variable.
    assert_eq!(connection.stack.as_deref(), Some("file-stack"));
}

#[test]
fn zenml_variables_are_used_when_kitaru_ones_are_unset() {
    let setup = Setup::logged_in_locally();

    let connection = setup
        .resolve(&[
            ("ZENML_STORE_URL", "https://zenml.example.com"),
            ("ZENML_STORE_API_KEY", "zenml-key"),
            ("ZENML_ACTIVE_PROJECT_ID", "zenml-project"),
            ("ZENML_ACTIVE_STACK_ID", "zenml-stack"),
            ("ZENML_STORE_VERIFY_SSL", "False"),
            ("ZENML_STORE_HTTP_TIMEOUT", "5"),
        ])
        .unwrap();

    assert_eq!(connection.server_url, "https://zenml.example.com");
    assert_eq!(api_key(&connection.credentials), "zenml-key");
    assert_eq!(connection.project.as_deref(), Some("zenml-project"));
    assert_eq!(connection.stack.as_deref(), Some("zenml-stack"));
    assert_eq!(connection.verify_ssl, VerifySsl::Disabled);
    assert_eq!(connection.http_timeout, Duration::from_secs(5));
    assert_eq!(
        connection.sources.server_url,
        Source::Env("ZENML_STORE_URL")
    );
    assert_eq!(
        connection.sources.credentials,
        Some(Source::Env("ZENML_STORE_API_KEY"))
    );
    assert_eq!(
        connection.sources.project,
        Some(Source::Env("ZENML_ACTIVE_PROJECT_ID"))
    );
    assert_eq!(
        connection.sources.stack,
        Some(Source::Env("ZENML_ACTIVE_STACK_ID"))
    );
}

#[test]
fn store_variables_without_a_url_adjust_the_config_files_server() {
    let setup = Setup::logged_in_locally();

    let connection = setup
        .resolve(&[
            ("ZENML_STORE_VERIFY_SSL", "no"),
            ("ZENML_STORE_HTTP_TIMEOUT", "7"),
        ])
        .unwrap();

    assert_eq!(connection.server_url, "http://127.0.0.1:8765");
    assert_eq!(connection.verify_ssl, VerifySsl::Disabled);
    assert_eq!(connection.http_timeout, Duration::from_secs(7));
}

#[test]
fn kitaru_variables_win_over_different_zenml_ones_with_a_warning() {
    let setup = Setup::new();
    let mut vars = REMOTE_ENV.to_vec();
    vars.extend([
        ("ZENML_STORE_URL", "https://zenml.example.com"),
        ("ZENML_STORE_API_KEY", "ksa-key"),
        ("ZENML_ACTIVE_PROJECT_ID", "other-project"),
    ]);

    let connection = setup.resolve(&vars).unwrap();

    assert_eq!(connection.server_url, "https://kitaru.example.com");
    assert_eq!(connection.project.as_deref(), Some("demo"));
    assert_eq!(
        connection.warnings,
        [
            "Both KITARU_SERVER_URL and ZENML_STORE_URL are set with different values; using KITARU_SERVER_URL.",
            "Both KITARU_PROJECT and ZENML_ACTIVE_PROJECT_ID are set with different values; using KITARU_PROJECT.",
        ]
    );
}

#[test]
fn blank_kitaru_variables_count_as_unset() {
    let setup = Setup::logged_in_locally();

    let connection = setup
        .resolve(&[
            ("KITARU_SERVER_URL", "  "),
            ("KITARU_AUTH_TOKEN", ""),
            ("KITARU_PROJECT", " "),
            ("ZENML_ACTIVE_STACK_ID", ""),
        ])
        .unwrap();

    assert_eq!(connection.server_url, "http://127.0.0.1:8765");
    assert_eq!(connection.credentials, Credentials::None);
    assert_eq!(connection.project.as_deref(), Some(GLOBAL_PROJECT));
    assert_eq!(connection.stack.as_deref(), Some(GLOBAL_STACK));
}

#[test]
fn a_bare_token_variable_is_used_as_is_and_wins_over_an_api_key() {
    let setup = Setup::new();
    let mut vars = REMOTE_ENV.to_vec();
    vars.push(("ZENML_STORE_API_TOKEN", "bare-token"));

    let connection = setup.resolve(&vars).unwrap();

    let Credentials::Token(token) = &connection.credentials else {
        panic!("expected a token, got {:?}", connection.credentials);
    };
    assert_eq!(token.access_token.expose(), "bare-token");
    assert_eq!(token.expires_at, None);
    assert_eq!(
        connection.sources.credentials,
        Some(Source::Env("ZENML_STORE_API_TOKEN"))
    );
}

#[test]
fn username_and_password_variables_allow_an_empty_password() {
    let setup = Setup::new();

    let connection = setup
        .resolve(&[
            ("KITARU_SERVER_URL", "http://127.0.0.1:8383"),
            ("KITARU_PROJECT", "default"),
            ("ZENML_STORE_USERNAME", "default"),
            ("ZENML_STORE_PASSWORD", ""),
        ])
        .unwrap();

    assert_eq!(connection.credentials.kind(), "username and password");
    assert_eq!(
        connection.sources.credentials,
        Some(Source::Env("ZENML_STORE_USERNAME/ZENML_STORE_PASSWORD"))
    );
}

#[test]
fn explicit_options_override_the_environment() {
    let setup = Setup::logged_in_locally();
    let mut vars = REMOTE_ENV.to_vec();
    vars.extend([
        ("ZENML_ACTIVE_STACK_ID", "env-stack"),
        ("ZENML_STORE_HTTP_TIMEOUT", "5"),
    ]);

    let connection = setup
        .options()
        .server_url("https://explicit.example.com")
        .password("alice", "wonderland")
        .project("explicit-project")
        .stack("explicit-stack")
        .verify_ssl(VerifySsl::Disabled)
        .http_timeout(Duration::from_secs(3))
        .resolve(&env(&vars))
        .unwrap();

    assert_eq!(connection.server_url, "https://explicit.example.com");
    assert_eq!(connection.credentials.kind(), "username and password");
    assert_eq!(connection.project.as_deref(), Some("explicit-project"));
    assert_eq!(connection.stack.as_deref(), Some("explicit-stack"));
    assert_eq!(connection.verify_ssl, VerifySsl::Disabled);
    assert_eq!(connection.http_timeout, Duration::from_secs(3));
    let sources = &connection.sources;
    for source in [&sources.credentials, &sources.project, &sources.stack] {
        assert_eq!(source.as_ref(), Some(&Source::Explicit));
    }
    assert_eq!(sources.server_url, Source::Explicit);
}

#[test]
fn an_explicit_server_without_credentials_is_accepted() {
    let setup = Setup::new();

    let connection = setup
        .options()
        .server_url("http://127.0.0.1:8383/")
        .resolve(&env(&[]))
        .unwrap();

    assert_eq!(connection.server_url, "http://127.0.0.1:8383");
    assert_eq!(connection.credentials, Credentials::None);
}

#[test]
fn the_environment_can_be_a_closure() {
    let setup = Setup::logged_in_locally();
    let lookup = |name: &str| (name == "ZENML_ACTIVE_STACK_ID").then(|| "from-closure".to_owned());

    let connection = setup.options().resolve(&lookup).unwrap();

    assert_eq!(connection.stack.as_deref(), Some("from-closure"));
}

// ---- the config directory -----------------------------------------------

fn resolve_in_default_locations(
    work: &Path,
    vars: &[(&str, &str)],
) -> Result<ResolvedConnection, ConnectionError> {
    ConnectionOptions::new()
        .working_dir(work)
        .resolve(&env(vars))
}

#[test]
fn kitaru_config_path_wins_over_zenml_config_path() {
    let root = tempfile::tempdir().unwrap();
    let kitaru = root.path().join("kitaru-config");
    let zenml = root.path().join("zenml-config");
    write(
        &kitaru.join("config.yaml"),
        "store:\n  url: http://kitaru-config:1\n",
    );
    write(
        &zenml.join("config.yaml"),
        "store:\n  url: http://zenml-config:2\n",
    );
    let paths = [
        ("KITARU_CONFIG_PATH", kitaru.to_str().unwrap()),
        ("ZENML_CONFIG_PATH", zenml.to_str().unwrap()),
    ];

    let connection = resolve_in_default_locations(root.path(), &paths).unwrap();

    assert_eq!(connection.config_dir, kitaru);
    assert_eq!(connection.server_url, "http://kitaru-config:1");
    assert_eq!(
        connection.sources.config_dir,
        Some(Source::Env("KITARU_CONFIG_PATH"))
    );
}

#[test]
fn a_blank_kitaru_config_path_falls_back_to_zenml_config_path() {
    let root = tempfile::tempdir().unwrap();
    write(
        &root.path().join("zenml/config.yaml"),
        "store:\n  url: http://zenml-config:2\n",
    );

    // A relative path is taken against the working directory.
    let connection = resolve_in_default_locations(
        root.path(),
        &[("KITARU_CONFIG_PATH", " "), ("ZENML_CONFIG_PATH", "zenml")],
    )
    .unwrap();

    assert_eq!(connection.config_dir, root.path().join("zenml"));
    assert_eq!(
        connection.sources.config_dir,
        Some(Source::Env("ZENML_CONFIG_PATH"))
    );
}

#[cfg(all(unix, not(target_os = "macos")))]
#[test]
fn the_default_config_dir_follows_xdg_then_home() {
    let root = tempfile::tempdir().unwrap();
    let xdg = root.path().join("xdg");
    let home = root.path().join("home");
    write(
        &xdg.join("kitaru/config.yaml"),
        "store:\n  url: http://xdg:1\n",
    );
    write(
        &home.join(".config/kitaru/config.yaml"),
        "store:\n  url: http://home:2\n",
    );

    let with_xdg = resolve_in_default_locations(
        root.path(),
        &[
            ("XDG_CONFIG_HOME", xdg.to_str().unwrap()),
            ("HOME", home.to_str().unwrap()),
        ],
    )
    .unwrap();
    let without_xdg =
        resolve_in_default_locations(root.path(), &[("HOME", home.to_str().unwrap())]).unwrap();

    assert_eq!(with_xdg.config_dir, xdg.join("kitaru"));
    assert_eq!(with_xdg.sources.config_dir, None);
    assert_eq!(without_xdg.config_dir, home.join(".config/kitaru"));
    assert_eq!(without_xdg.server_url, "http://home:2");
}

#[cfg(all(unix, not(target_os = "macos")))]
#[test]
fn without_home_the_config_dir_must_be_named() {
    let root = tempfile::tempdir().unwrap();

    let error = resolve_in_default_locations(root.path(), &[]).unwrap_err();

    assert_eq!(
        error.to_string(),
        "Cannot locate the Kitaru config directory because HOME is not set; set KITARU_CONFIG_PATH to the directory that holds the CLI's config.yaml."
    );
}

// ---- the repository's .kitaru/config.yaml -------------------------------

#[test]
fn the_repository_config_found_walking_up_overrides_the_global_project_and_stack() {
    let setup = Setup::logged_in_locally();
    let repo_config = setup.work_dir().join(".kitaru/config.yaml");
    write(
        &repo_config,
        "active_project_id: repo-project\nactive_stack_id: repo-stack\n",
    );
    let nested = setup.work_dir().join("src/flows/deep");
    fs::create_dir_all(&nested).unwrap();

    let connection = setup
        .options()
        .working_dir(&nested)
        .resolve(&env(&[]))
        .unwrap();

    assert_eq!(connection.repository_root, Some(setup.work_dir()));
    assert_eq!(connection.project.as_deref(), Some("repo-project"));
    assert_eq!(connection.stack.as_deref(), Some("repo-stack"));
    assert_eq!(connection.sources.project, file(repo_config.clone()));
    assert_eq!(connection.sources.stack, file(repo_config));
}

#[test]
fn a_repository_config_without_a_project_keeps_the_global_one() {
    let setup = Setup::logged_in_locally();
    write(
        &setup.work_dir().join(".kitaru/config.yaml"),
        "active_stack_id: repo-stack\n",
    );

    let connection = setup.resolve(&[]).unwrap();

    assert_eq!(connection.project.as_deref(), Some(GLOBAL_PROJECT));
    assert_eq!(connection.stack.as_deref(), Some("repo-stack"));
}

#[test]
fn environment_ids_win_over_the_repository_config() {
    let setup = Setup::logged_in_locally();
    write(
        &setup.work_dir().join(".kitaru/config.yaml"),
        "active_project_id: repo-project\nactive_stack_id: repo-stack\n",
    );

    let connection = setup
        .resolve(&[
            ("KITARU_PROJECT", "env-project"),
            ("ZENML_ACTIVE_STACK_ID", "env-stack"),
        ])
        .unwrap();

    assert_eq!(connection.project.as_deref(), Some("env-project"));
    assert_eq!(connection.stack.as_deref(), Some("env-stack"));
}

#[test]
fn zenml_repository_path_names_the_repository_without_walking_up() {
    let setup = Setup::logged_in_locally();
    let elsewhere = setup.root.path().join("elsewhere");
    write(
        &elsewhere.join(".kitaru/config.yaml"),
        "active_stack_id: elsewhere-stack\n",
    );
    write(
        &setup.work_dir().join(".kitaru/config.yaml"),
        "active_stack_id: work-stack\n",
    );

    let named = setup
        .resolve(&[("ZENML_REPOSITORY_PATH", elsewhere.to_str().unwrap())])
        .unwrap();
    let below_a_repository = elsewhere.join("sub");
    fs::create_dir_all(&below_a_repository).unwrap();
    let not_a_repository = setup
        .resolve(&[(
            "ZENML_REPOSITORY_PATH",
            below_a_repository.to_str().unwrap(),
        )])
        .unwrap();

    assert_eq!(named.repository_root, Some(elsewhere));
    assert_eq!(named.stack.as_deref(), Some("elsewhere-stack"));
    assert_eq!(not_a_repository.repository_root, None);
    assert_eq!(not_a_repository.stack.as_deref(), Some(GLOBAL_STACK));
}

// ---- validation -------------------------------------------------------------

fn error_message(setup: &Setup, vars: &[(&str, &str)]) -> String {
    setup.resolve(vars).unwrap_err().to_string()
}

#[test]
fn an_auth_token_without_any_server_url_is_refused() {
    let setup = Setup::new();

    assert_eq!(
        error_message(&setup, &[("KITARU_AUTH_TOKEN", "ksa-key")]),
        "KITARU_AUTH_TOKEN is set but no Kitaru server URL is available; set KITARU_SERVER_URL or run `kitaru login`."
    );
}

#[test]
fn a_server_url_variable_without_credentials_is_refused() {
    let setup = Setup::logged_in_locally();

    assert_eq!(
        error_message(
            &setup,
            &[
                ("KITARU_SERVER_URL", "https://kitaru.example.com"),
                ("KITARU_PROJECT", "demo")
            ]
        ),
        "KITARU_SERVER_URL is set but no Kitaru auth token is available; set KITARU_AUTH_TOKEN or run `kitaru login`."
    );
}

#[test]
fn a_server_url_variable_is_satisfied_by_credentials_yaml() {
    let setup = Setup::new();
    setup.write_credentials("https://kitaru.example.com:\n  api_key: stored-key\n");

    let connection = setup
        .resolve(&[
            ("KITARU_SERVER_URL", "https://kitaru.example.com"),
            ("KITARU_PROJECT", "demo"),
        ])
        .unwrap();

    assert_eq!(api_key(&connection.credentials), "stored-key");
}

#[test]
fn a_server_url_variable_needs_a_project_from_the_environment() {
    let setup = Setup::logged_in_locally();

    assert_eq!(
        error_message(&setup, &REMOTE_ENV[..2]),
        "A remote Kitaru server is configured via environment variables (KITARU_SERVER_URL), but no project is active. Set KITARU_PROJECT (preferred) or ZENML_ACTIVE_PROJECT_ID before using the SDK."
    );
}

#[test]
fn the_renamed_runner_variable_is_refused() {
    let setup = Setup::logged_in_locally();

    assert_eq!(
        error_message(&setup, &[("KITARU_RUNNER", "")]),
        "`KITARU_RUNNER` was renamed to `KITARU_STACK`; use the new name."
    );
}

#[test]
fn an_empty_zenml_store_url_is_refused() {
    let setup = Setup::logged_in_locally();

    assert_eq!(
        error_message(&setup, &[("ZENML_STORE_URL", " ")]),
        "The server URL from ZENML_STORE_URL cannot be empty; give it a value or leave it unset."
    );
}

#[test]
fn empty_zenml_key_and_project_variables_are_refused() {
    let setup = Setup::logged_in_locally();

    assert_eq!(
        error_message(&setup, &[("ZENML_STORE_API_KEY", "")]),
        "The API key from ZENML_STORE_API_KEY cannot be empty; give it a value or leave it unset."
    );
    assert_eq!(
        error_message(&setup, &[("ZENML_ACTIVE_PROJECT_ID", "")]),
        "The project from ZENML_ACTIVE_PROJECT_ID cannot be empty; give it a value or leave it unset."
    );
}

#[test]
fn a_server_url_that_is_not_http_is_refused() {
    let setup = Setup::new();

    for url in [
        "kitaru.example.com",
        "localhost:8080",
        "ftp://kitaru.example.com",
    ] {
        assert_eq!(
            error_message(&setup, &[("KITARU_SERVER_URL", url)]),
            "Invalid Kitaru server URL from KITARU_SERVER_URL. Please use an http:// or https:// URL, e.g. https://kitaru.example.com.",
        );
    }
}

#[test]
fn without_a_config_file_there_is_no_connection() {
    let setup = Setup::new();

    let error = setup.resolve(&[]).unwrap_err();

    assert!(matches!(
        &error,
        ConnectionError::NotConnected { reason: NotConnectedReason::NoConfigFile(path) } if *path == setup.config_file()
    ));
    assert_eq!(
        error.to_string(),
        format!(
            "Kitaru is not connected to a server: {} does not exist. Run `kitaru login <server-url>`, or set KITARU_SERVER_URL, KITARU_AUTH_TOKEN and KITARU_PROJECT.",
            setup.config_file().display()
        )
    );
}

#[test]
fn a_config_without_store_is_not_connected() {
    let setup = Setup::new();
    setup.write_config("analytics_opt_in: true\nversion: 0.94.4\n");

    assert_eq!(
        error_message(&setup, &[]),
        format!(
            "Kitaru is not connected to a server: {} has no server store. Run `kitaru login <server-url>`, or set KITARU_SERVER_URL, KITARU_AUTH_TOKEN and KITARU_PROJECT.",
            setup.config_file().display()
        )
    );
}

#[test]
fn a_local_sql_store_is_not_connected_and_its_url_is_not_shown() {
    let setup = Setup::new();
    setup.write_config("store:\n  type: sql\n  url: mysql://root:hunter2@db/zenml\n");

    let message = error_message(&setup, &[]);

    assert_eq!(
        message,
        format!(
            "Kitaru is not connected to a server: {} uses a local `sql` store, which this client cannot open. Run `kitaru login <server-url>`, or set KITARU_SERVER_URL, KITARU_AUTH_TOKEN and KITARU_PROJECT.",
            setup.config_file().display()
        )
    );
}

#[test]
fn half_a_username_and_password_is_refused() {
    let setup = Setup::logged_in_locally();

    assert_eq!(
        error_message(&setup, &[("ZENML_STORE_USERNAME", "alice")]),
        "ZENML_STORE_USERNAME is set but ZENML_STORE_PASSWORD is not; set both (the password may be empty) or neither."
    );
}

#[test]
fn malformed_store_settings_are_refused_with_the_variable_named() {
    let setup = Setup::logged_in_locally();

    assert_eq!(
        error_message(&setup, &[("ZENML_STORE_HTTP_TIMEOUT", "soon")]),
        "Invalid HTTP timeout from ZENML_STORE_HTTP_TIMEOUT: \"soon\"; expected a whole number of seconds greater than 0."
    );
    assert_eq!(
        error_message(&setup, &[("ZENML_STORE_VERIFY_SSL", "/no/such/bundle.pem")]),
        "Invalid TLS verification setting from ZENML_STORE_VERIFY_SSL: \"/no/such/bundle.pem\"; expected true, false, or the path of an existing CA bundle file."
    );
}

#[test]
fn a_malformed_config_file_is_named() {
    let setup = Setup::new();
    setup.write_config("store: [not, a, mapping\n");

    let message = error_message(&setup, &[]);

    assert!(
        message.starts_with(&format!(
            "{} is not a valid Kitaru config file (",
            setup.config_file().display()
        )),
        "{message}"
    );
    assert!(
        message.ends_with("fix it, or remove it and run `kitaru login` again."),
        "{message}"
    );
}

// ---- what gets printed --------------------------------------------------

#[test]
fn debug_and_display_never_show_secrets() {
    let setup = Setup::logged_in_locally();
    setup.write_credentials(
        "http://127.0.0.1:8765:\n  api_key: secret-key-1\n  api_token:\n    access_token: secret-token-2\n",
    );
    let from_file = setup.resolve(&[]).unwrap();
    let with_password = setup.options().password("alice", "secret-password-3");
    let with_token = setup.options().bearer_token("secret-token-4");

    let printed = [
        format!("{from_file:?}"),
        format!("{from_file:#?}"),
        from_file.to_string(),
        format!("{with_password:?}"),
        format!("{:?}", with_password.resolve(&env(&[])).unwrap()),
        format!("{with_token:?}"),
        format!("{:?}", with_token.resolve(&env(&[])).unwrap()),
    ];

    for text in &printed {
        for secret in [
            "secret-key-1",
            "secret-token-2",
            "secret-password-3",
            "secret-token-4",
        ] {
            assert!(!text.contains(secret), "{secret} leaked in {text}");
        }
    }
    assert!(printed[0].contains("ApiKey(***)"), "{}", printed[0]);
    assert!(
        printed[3].contains("username: \"alice\", password: ***"),
        "{}",
        printed[3]
    );
}

#[test]
fn display_says_where_each_setting_came_from() {
    let setup = Setup::logged_in_locally();
    setup.write_credentials("http://127.0.0.1:8765:\n  api_key: local-key\n");

    let connection = setup.resolve(&[("KITARU_PROJECT", "demo")]).unwrap();

    assert_eq!(
        connection.to_string(),
        format!(
            "http://127.0.0.1:8765 (server URL from {config}, credentials from {credentials} (api key), project 'demo' from KITARU_PROJECT, stack '{GLOBAL_STACK}' from {config})",
            config = setup.config_file().display(),
            credentials = setup.credentials_file().display(),
        )
    );
    let bare = setup
        .options()
        .resolve(&env(&[("ZENML_DISABLE_CREDENTIALS_DISK_CACHING", "1")]))
        .unwrap();
    assert!(bare.to_string().contains("no credentials"), "{bare}");
}
