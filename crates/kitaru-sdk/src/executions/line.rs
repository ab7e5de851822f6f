//! Which reference the execution payloads follow: the connected server's
//! line. Kitaru 0.10 runs on ZenML 0.94, kitaru 0.21 on ZenML 0.98; where
//! the two Kitaru SDKs read the same server data differently (statuses,
//! checkpoint grouping, usage records), the payloads follow the SDK that
//! goes with the connected server.

use crate::error::ApiContext as _;
use crate::{Error, Kitaru};

/// The server line an execution payload follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ServerLine {
    /// Kitaru 0.10 on ZenML 0.94.
    Kitaru010,
    /// Kitaru 0.21 on ZenML 0.98.
    Kitaru021,
}

impl ServerLine {
    /// The line of a server reporting this ZenML version: 0.98 and later
    /// are kitaru 0.21's, anything older kitaru 0.10's.
    pub fn of_zenml_version(version: &str) -> Self {
        let mut parts = version.trim().split('.').map(|part| {
            part.chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
                .parse::<u64>()
                .unwrap_or(0)
        });
        let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
        if (major, minor) >= (0, 98) {
            Self::Kitaru021
        } else {
            Self::Kitaru010
        }
    }
}

/// The line of the connected server, from its `/info`.
pub(crate) async fn server_line(kitaru: &Kitaru) -> Result<ServerLine, Error> {
    let info = kitaru
        .client
        .server_info()
        .send()
        .await
        .context("Failed to read the server's info")?
        .into_inner();
    Ok(ServerLine::of_zenml_version(&info.version))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zenml_0_98_and_later_are_the_0_21_line() {
        for (version, line) in [
            ("0.94.4", ServerLine::Kitaru010),
            ("0.93.1", ServerLine::Kitaru010),
            ("0.98.0", ServerLine::Kitaru021),
            ("0.98.1rc1", ServerLine::Kitaru021),
            ("0.99.0", ServerLine::Kitaru021),
            ("1.0.0", ServerLine::Kitaru021),
        ] {
            assert_eq!(ServerLine::of_zenml_version(version), line, "{version}");
        }
    }
}
