//! The program using the SDK, as it names itself on this machine.

use std::fmt;
use std::path::PathBuf;

/// The program using the SDK: its name and version, reported as
/// `sdk_version` by [`status`](crate::status), and the name of the folder
/// it keeps local state in (job logs of the [`bridge`](crate::bridge)).
///
/// The default is this crate, `kitaru-sdk`; a program built on the SDK
/// names itself:
///
/// ```
/// use kitaru_sdk::{Connector, Program};
///
/// let program = Program::new("my-tool", "1.2.0");
/// assert_eq!(program.to_string(), "my-tool 1.2.0");
/// let connector = Connector::new(Default::default()).with_program(program);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Program {
    /// The name, e.g. `kitaru-sdk`; also the name of its state folder.
    pub name: String,
    /// The version.
    pub version: String,
}

impl Program {
    /// The program `name` at `version`.
    pub fn new(name: impl Into<String>, version: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            version: version.into(),
        }
    }

    /// The folder for what the program keeps on this machine:
    /// `$XDG_STATE_HOME/<name>`, else `~/.local/state/<name>`; `None` when
    /// neither variable is set.
    pub fn state_dir(&self) -> Option<PathBuf> {
        std::env::var_os("XDG_STATE_HOME")
            .filter(|dir| !dir.is_empty())
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".local/state"))
            })
            .map(|state| state.join(&self.name))
    }

    /// Where job logs and reports go by default: `jobs` in
    /// [`state_dir`](Self::state_dir), or in `<name>` in the temporary
    /// folder without one.
    pub fn jobs_dir(&self) -> PathBuf {
        self.state_dir()
            .unwrap_or_else(|| std::env::temp_dir().join(&self.name))
            .join("jobs")
    }
}

impl Default for Program {
    /// This crate: `kitaru-sdk` and its version.
    fn default() -> Self {
        Self::new("kitaru-sdk", env!("CARGO_PKG_VERSION"))
    }
}

/// `<name> <version>`.
impl fmt::Display for Program {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.name, self.version)
    }
}
