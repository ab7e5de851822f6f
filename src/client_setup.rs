//! `kitaru-mcp config <client>`: the entry that registers this binary with
//! an MCP client (Claude Code, Claude Desktop, Cursor, VS Code), printed,
//! or merged into the client's configuration file with `--write`.
//!
//! The entry starts this very binary (its absolute path) with the server
//! flags given before `config` (`kitaru-mcp --read-only config cursor`).
//! Writing keeps everything else in the file, replaces only the entry of
//! the same name, and replaces the file in one step (a new file renamed
//! over it), so a client never reads half of it; a file that is not a JSON
//! object is refused and left as it is.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

/// The clients an entry can be made for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum McpClient {
    /// Claude Code: the project's `.mcp.json`.
    ClaudeCode,
    /// Claude Desktop: `claude_desktop_config.json` in its settings folder.
    ClaudeDesktop,
    /// Cursor: `~/.cursor/mcp.json`.
    Cursor,
    /// VS Code: the workspace's `.vscode/mcp.json`.
    Vscode,
}

/// Where the clients' configuration files are looked for.
#[derive(Clone, Debug)]
pub struct Places {
    /// The user's home folder.
    pub home: PathBuf,
    /// The folder `config` runs in (the project, for per-project files).
    pub working_dir: PathBuf,
    /// `$XDG_CONFIG_HOME` (Linux) or `%APPDATA%` (Windows), if set.
    pub config_home: Option<PathBuf>,
}

impl Places {
    /// The places of this process: `$HOME`, the current folder, and the
    /// platform's configuration folder variable.
    pub fn of_this_process() -> Result<Self, String> {
        let home = std::env::var_os(if cfg!(windows) { "USERPROFILE" } else { "HOME" })
            .map(PathBuf::from)
            .filter(|home| home.is_absolute())
            .ok_or("cannot tell the home folder: HOME is not set to an absolute path")?;
        let working_dir = std::env::current_dir()
            .map_err(|error| format!("cannot read the current folder: {error}"))?;
        let config_home = std::env::var_os(if cfg!(windows) {
            "APPDATA"
        } else {
            "XDG_CONFIG_HOME"
        })
        .map(PathBuf::from)
        .filter(|dir| dir.is_absolute());
        Ok(Self {
            home,
            working_dir,
            config_home,
        })
    }
}

impl McpClient {
    /// The client's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::ClaudeCode => "claude-code",
            Self::ClaudeDesktop => "claude-desktop",
            Self::Cursor => "cursor",
            Self::Vscode => "vscode",
        }
    }

    /// The configuration file the entry goes in.
    pub fn file(self, places: &Places) -> PathBuf {
        match self {
            Self::ClaudeCode => places.working_dir.join(".mcp.json"),
            Self::ClaudeDesktop => {
                let folder = if cfg!(target_os = "macos") {
                    places.home.join("Library/Application Support")
                } else {
                    places
                        .config_home
                        .clone()
                        .unwrap_or_else(|| places.home.join(".config"))
                };
                folder.join("Claude").join("claude_desktop_config.json")
            }
            Self::Cursor => places.home.join(".cursor").join("mcp.json"),
            Self::Vscode => places.working_dir.join(".vscode").join("mcp.json"),
        }
    }

    /// The key of the file's object that holds the servers by name.
    fn servers_key(self) -> &'static str {
        match self {
            Self::Vscode => "servers",
            _ => "mcpServers",
        }
    }

    /// The entry for `command` with `args`.
    pub fn entry(self, command: &str, args: &[String]) -> Value {
        let mut entry = Map::new();
        if self == Self::Vscode {
            entry.insert("type".into(), "stdio".into());
        }
        entry.insert("command".into(), command.into());
        entry.insert("args".into(), json!(args));
        Value::Object(entry)
    }

    /// The whole file's worth for one entry: `{"<servers>": {name: entry}}`.
    pub fn snippet(self, name: &str, entry: &Value) -> Value {
        json!({ self.servers_key(): { name: entry } })
    }

    /// A link that installs the entry in one click, where the client has
    /// one (VS Code, Cursor).
    pub fn install_link(self, name: &str, entry: &Value) -> Option<String> {
        match self {
            Self::Vscode => {
                let mut config = entry.clone();
                config["name"] = name.into();
                Some(format!(
                    "vscode:mcp/install?{}",
                    percent_encode(&config.to_string())
                ))
            }
            Self::Cursor => Some(format!(
                "cursor://anysphere.cursor-deeplink/mcp/install?name={}&config={}",
                percent_encode(name),
                percent_encode(&base64(entry.to_string().as_bytes()))
            )),
            _ => None,
        }
    }
}

/// What writing an entry did.
#[derive(Debug, PartialEq, Eq)]
pub enum Written {
    /// The file did not exist; it holds the entry alone.
    Created,
    /// The entry was added beside the file's other servers.
    Added,
    /// An entry of that name was replaced.
    Replaced,
    /// The same entry was there already; nothing was written.
    Unchanged,
}

/// Merges `entry` as server `name` into `client`'s configuration file at
/// `path`, keeping everything else in it.
pub fn write(client: McpClient, path: &Path, name: &str, entry: &Value) -> Result<Written, String> {
    // A link is followed: the file it points at is the one rewritten.
    let path = match std::fs::canonicalize(path) {
        Ok(real) => real,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => path.to_path_buf(),
        Err(error) => return Err(format!("cannot read {}: {error}", path.display())),
    };
    let (mut document, existed) = match std::fs::read_to_string(&path) {
        Ok(text) if text.trim().is_empty() => (Map::new(), true),
        Ok(text) => match serde_json::from_str::<Value>(&text) {
            Ok(Value::Object(document)) => (document, true),
            Ok(_) | Err(_) => {
                return Err(format!(
                    "{} is not a JSON object; fix or move it and run this again (nothing was \
                     written)",
                    path.display()
                ));
            }
        },
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => (Map::new(), false),
        Err(error) => return Err(format!("cannot read {}: {error}", path.display())),
    };
    let key = client.servers_key();
    let servers = document
        .entry(key)
        .or_insert_with(|| Value::Object(Map::new()));
    let Value::Object(servers) = servers else {
        return Err(format!(
            "`{key}` in {} is not an object; fix it and run this again (nothing was written)",
            path.display()
        ));
    };
    let written = match servers.insert(name.to_owned(), entry.clone()) {
        Some(old) if old == *entry => return Ok(Written::Unchanged),
        Some(_) => Written::Replaced,
        None if existed => Written::Added,
        None => Written::Created,
    };
    let folder = path
        .parent()
        .ok_or_else(|| format!("{} has no folder", path.display()))?;
    std::fs::create_dir_all(folder)
        .map_err(|error| format!("cannot create {}: {error}", folder.display()))?;
    let mut text = serde_json::to_string_pretty(&Value::Object(document))
        .map_err(|error| format!("cannot write JSON: {error}"))?;
    text.push('\n');
    let fresh = folder.join(format!(
        ".{}.kitaru-mcp-{}",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("config"),
        std::process::id()
    ));
    let replace = || -> std::io::Result<()> {
        use std::io::Write as _;
        // Readable by the user alone until it has the old file's
        // permissions: it may hold keys (an entry's `env`).
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&fresh)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        if let Ok(metadata) = std::fs::metadata(&path) {
            std::fs::set_permissions(&fresh, metadata.permissions())?;
        }
        std::fs::rename(&fresh, &path)
    };
    replace().map_err(|error| {
        let _ = std::fs::remove_file(&fresh);
        format!("cannot write {}: {error}", path.display())
    })?;
    Ok(written)
}

/// `text` with everything but unreserved URL characters percent-encoded.
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (byte as char).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

/// Standard base64 with padding.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, byte)| n | (u32::from(*byte) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_and_percent_encoding_are_the_standard_ones() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"{\"a\":1}"), "eyJhIjoxfQ==");
        assert_eq!(percent_encode("a b/{\"c\"}~"), "a%20b%2F%7B%22c%22%7D~");
    }

    #[test]
    fn each_client_gets_its_own_shape_and_place() {
        let places = Places {
            home: "/home/u".into(),
            working_dir: "/work/p".into(),
            config_home: None,
        };
        let args = vec!["--read-only".to_owned()];
        let entry = McpClient::Vscode.entry("/bin/kitaru-mcp", &args);
        assert_eq!(
            McpClient::Vscode.snippet("kitaru", &entry),
            json!({"servers": {"kitaru": {"type": "stdio", "command": "/bin/kitaru-mcp", "args": ["--read-only"]}}})
        );
        assert_eq!(
            McpClient::Vscode.file(&places),
            PathBuf::from("/work/p/.vscode/mcp.json")
        );
        let entry = McpClient::Cursor.entry("/bin/kitaru-mcp", &args);
        assert_eq!(
            McpClient::Cursor.snippet("kitaru", &entry),
            json!({"mcpServers": {"kitaru": {"command": "/bin/kitaru-mcp", "args": ["--read-only"]}}})
        );
        assert_eq!(
            McpClient::Cursor.file(&places),
            PathBuf::from("/home/u/.cursor/mcp.json")
        );
        assert_eq!(
            McpClient::ClaudeCode.file(&places),
            PathBuf::from("/work/p/.mcp.json")
        );
        if !cfg!(target_os = "macos") && !cfg!(windows) {
            assert_eq!(
                McpClient::ClaudeDesktop.file(&places),
                PathBuf::from("/home/u/.config/Claude/claude_desktop_config.json")
            );
        }
        let link = McpClient::Cursor.install_link("kitaru", &entry).unwrap();
        let config = link.split("config=").nth(1).unwrap();
        assert!(config.ends_with("%3D") || !config.contains('='), "{link}");
        assert!(
            McpClient::ClaudeCode
                .install_link("kitaru", &entry)
                .is_none()
        );
    }

    #[test]
    fn writing_keeps_the_rest_and_refuses_what_it_cannot_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("mcp.json");
        let entry = McpClient::Cursor.entry("/bin/kitaru-mcp", &[]);
        assert_eq!(
            write(McpClient::Cursor, &path, "kitaru", &entry),
            Ok(Written::Created)
        );
        assert_eq!(
            write(McpClient::Cursor, &path, "kitaru", &entry),
            Ok(Written::Unchanged)
        );
        std::fs::write(
            &path,
            r#"{"theme": "dark", "mcpServers": {"other": {"command": "x"}}}"#,
        )
        .unwrap();
        assert_eq!(
            write(McpClient::Cursor, &path, "kitaru", &entry),
            Ok(Written::Added)
        );
        let other = McpClient::Cursor.entry("/bin/kitaru-mcp", &["--read-only".into()]);
        assert_eq!(
            write(McpClient::Cursor, &path, "kitaru", &other),
            Ok(Written::Replaced)
        );
        let document: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(document["theme"], "dark");
        assert_eq!(document["mcpServers"]["other"]["command"], "x");
        assert_eq!(document["mcpServers"]["kitaru"], other);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
            write(McpClient::Cursor, &path, "third", &entry).unwrap();
            assert_eq!(mode(&path), 0o640, "an existing file keeps its mode");
            let new = dir.path().join("new.json");
            write(McpClient::Cursor, &new, "kitaru", &entry).unwrap();
            assert_eq!(mode(&new), 0o600, "a new file is the user's alone");
        }
        // No temporary file is left beside it.
        assert_eq!(
            std::fs::read_dir(path.parent().unwrap()).unwrap().count(),
            1
        );

        for broken in ["[1]", "{not json", r#"{"mcpServers": [1]}"#] {
            std::fs::write(&path, broken).unwrap();
            let error = write(McpClient::Cursor, &path, "kitaru", &entry).unwrap_err();
            assert!(error.contains("nothing was written"), "{error}");
            assert_eq!(std::fs::read_to_string(&path).unwrap(), broken);
        }
    }
}
