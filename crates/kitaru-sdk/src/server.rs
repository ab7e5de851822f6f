//! The connected server: its version (`GET /info`), the Kitaru line it
//! belongs to, and whether its API has an operation.
//!
//! One client serves every server version whose API document is vendored
//! (`kitaru_client::operations::SERVER_VERSIONS`); a Kitaru of the ZenML line
//! runs one of two **lines**: kitaru 0.10 on ZenML 0.94, kitaru 0.21 on
//! ZenML 0.98. Where the two lines' behaviour differs (payload fields,
//! statuses, operations), the SDK follows the line of the server it is
//! connected to.

use kitaru_client::operations::{self, Availability};

use crate::error::ApiContext as _;
use crate::{Error, Kitaru};

/// A Kitaru line of the ZenML server family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum ServerLine {
    /// kitaru 0.10, served by ZenML 0.94 (0.94.4 vendored).
    Kitaru010,
    /// kitaru 0.21, served by ZenML 0.98 (0.98.0 vendored).
    Kitaru021,
}

impl ServerLine {
    /// Every line, oldest first.
    pub const ALL: [ServerLine; 2] = [ServerLine::Kitaru010, ServerLine::Kitaru021];

    /// The line a ZenML server version belongs to: 0.98 and later are the
    /// 0.21 line, anything older (or unreadable) the 0.10 line.
    pub fn of(zenml_version: &str) -> Self {
        match operations::version_parts(zenml_version).as_deref() {
            Some([0, minor, ..]) if *minor >= 98 => Self::Kitaru021,
            Some([major, ..]) if *major >= 1 => Self::Kitaru021,
            _ => Self::Kitaru010,
        }
    }

    /// The Kitaru release of the line, e.g. `0.21`.
    pub fn kitaru(self) -> &'static str {
        match self {
            Self::Kitaru010 => "0.10",
            Self::Kitaru021 => "0.21",
        }
    }

    /// The ZenML server version whose API document stands for the line.
    pub fn zenml(self) -> &'static str {
        match self {
            Self::Kitaru010 => "0.94.4",
            Self::Kitaru021 => "0.98.0",
        }
    }
}

impl std::fmt::Display for ServerLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "kitaru {} (ZenML {})", self.kitaru(), self.zenml())
    }
}

/// What the SDK knows about the connected server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerFacts {
    /// The ZenML version the server reports (`GET /info`), e.g. `0.98.0`.
    pub version: String,
    /// The Kitaru line of that version.
    pub line: ServerLine,
}

impl ServerFacts {
    /// Facts about a server of this version.
    pub fn of(version: impl Into<String>) -> Self {
        let version = version.into();
        Self {
            line: ServerLine::of(&version),
            version,
        }
    }

    /// Whether this binary's client was generated from this version's own
    /// API document (else it serves it as the nearest one it knows).
    pub fn known(&self) -> bool {
        operations::SERVER_VERSIONS.contains(&self.version.as_str())
    }

    /// `Ok` unless the server's API lacks the operation `name` (the
    /// client's method name, e.g. `get_run_statistics`); the error names
    /// the server versions whose API has it. An operation the documents
    /// cannot judge for this version is let through: the server will say.
    pub fn require(&self, name: &str) -> Result<(), Error> {
        let Some(operation) = operations::find(name) else {
            return Ok(());
        };
        match operation.availability(&self.version) {
            Availability::Served | Availability::Unknown => Ok(()),
            Availability::NotServed { served_by } => Err(Error::State(format!(
                "The connected Kitaru server runs ZenML {} (the kitaru {} line), whose API has no \
                 `{name}` ({} {}): it needs {}. Use a server of that version, or a tool that \
                 works on this one.",
                self.version,
                self.line.kitaru(),
                operation.method,
                operation.path,
                described(&served_by),
            ))),
        }
    }
}

/// `ZenML 0.98.0 (kitaru 0.21)`, or a list of them.
fn described(versions: &[String]) -> String {
    versions
        .iter()
        .map(|version| {
            format!(
                "ZenML {version} (kitaru {})",
                ServerLine::of(version).kitaru()
            )
        })
        .collect::<Vec<_>>()
        .join(" or ")
}

/// The server versions this SDK's client knows, e.g. `ZenML 0.94.4 (kitaru
/// 0.10), ZenML 0.98.0 (kitaru 0.21)`.
pub fn known_versions() -> String {
    operations::SERVER_VERSIONS
        .iter()
        .map(|version| {
            format!(
                "ZenML {version} (kitaru {})",
                ServerLine::of(version).kitaru()
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

impl Kitaru {
    /// The connected server's version and line, asked once (`GET /info`)
    /// and kept.
    pub async fn server(&self) -> Result<&ServerFacts, Error> {
        self.server
            .get_or_try_init(|| async {
                let info = self
                    .client
                    .server_info()
                    .send()
                    .await
                    .context("Failed to read the server's version (GET /info)")?
                    .into_inner();
                Ok(ServerFacts::of(info.version))
            })
            .await
    }

    /// The server's version and line if they were asked already (a
    /// [`crate::Connector`] asks on connecting), without asking.
    pub fn known_server(&self) -> Option<&ServerFacts> {
        self.server.get()
    }

    /// The project kitaru 0.21 scopes its lookups to, as its errors name it
    /// (the configured name or id, else the active project's id); `None`
    /// on the 0.10 line, whose lookups name no project. For error texts
    /// only: asked on the error path.
    pub(crate) async fn lookup_project(&self) -> Option<String> {
        let line = self.server().await.ok()?.line;
        if line != ServerLine::Kitaru021 {
            return None;
        }
        match self.project() {
            Some(configured) => Some(configured.to_owned()),
            None => self.active_project().await.ok().map(|p| p.id.to_string()),
        }
    }

    /// `Ok` unless the connected server's API lacks the operation `name`
    /// ([`ServerFacts::require`]).
    pub async fn require(&self, name: &str) -> Result<(), Error> {
        self.server().await?.require(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_belong_to_lines() {
        assert_eq!(ServerLine::of("0.94.4"), ServerLine::Kitaru010);
        assert_eq!(ServerLine::of("0.94.6"), ServerLine::Kitaru010);
        assert_eq!(ServerLine::of("0.98.0"), ServerLine::Kitaru021);
        assert_eq!(ServerLine::of("0.99.2"), ServerLine::Kitaru021);
        assert_eq!(ServerLine::of("garbage"), ServerLine::Kitaru010);
        for line in ServerLine::ALL {
            assert_eq!(ServerLine::of(line.zenml()), line);
        }
    }

    #[test]
    fn an_operation_the_server_lacks_names_the_version_that_has_it() {
        let old = ServerFacts::of("0.94.4");
        assert!(old.known());
        let error = old.require("get_run_statistics").unwrap_err();
        assert_eq!(error.kind(), crate::ErrorKind::State);
        let text = error.to_string();
        assert!(
            text.contains("ZenML 0.94.4 (the kitaru 0.10 line)"),
            "{text}"
        );
        assert!(text.contains("needs ZenML 0.98.0 (kitaru 0.21)"), "{text}");
        assert!(text.contains("POST /api/v1/runs/statistics"), "{text}");
        let new = ServerFacts::of("0.98.0");
        assert!(new.require("get_run_statistics").is_ok());
        let error = new.require("list_resource_pools").unwrap_err().to_string();
        assert!(
            error.contains("needs ZenML 0.94.4 (kitaru 0.10)"),
            "{error}"
        );
        assert!(new.require("list_runs").is_ok() && old.require("list_runs").is_ok());
        assert!(!ServerFacts::of("0.96.0").known());
        assert!(
            ServerFacts::of("0.96.0")
                .require("get_run_statistics")
                .is_ok()
        );
        assert_eq!(
            known_versions(),
            "ZenML 0.94.4 (kitaru 0.10), ZenML 0.98.0 (kitaru 0.21)"
        );
    }
}
