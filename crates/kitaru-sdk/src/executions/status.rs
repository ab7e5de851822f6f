//! Kitaru's five execution states over ZenML's run and step states.

use kitaru_client::types::ExecutionStatus as ZenmlStatus;
use serde::{Deserialize, Serialize};

use crate::{Error, ServerLine};

/// Where an execution or checkpoint stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ExecutionStatus {
    /// Queued, starting, running or resuming (on the kitaru 0.21 line also
    /// being stopped).
    Running,
    /// Paused, or running but blocked on a pending wait for input.
    Waiting,
    /// Finished successfully (also: cached or skipped checkpoints).
    Completed,
    /// Finished with an error (also: a checkpoint attempt that was retried).
    Failed,
    /// Stopped on request (on the kitaru 0.10 line also being stopped).
    Cancelled,
}

/// Statuses kitaru 0.21 gives checkpoints whose work was reused; it reads
/// them as completed.
const REUSE_STATUSES: [&str; 3] = ["replay_reused", "reused", "reused_not_incurred"];

/// The status filter's accepted values, in the order error messages list them.
const FILTER_VALUES: [ExecutionStatus; 5] = [
    ExecutionStatus::Running,
    ExecutionStatus::Waiting,
    ExecutionStatus::Completed,
    ExecutionStatus::Failed,
    ExecutionStatus::Cancelled,
];

impl ExecutionStatus {
    /// Every status, in the order kitaru lists them.
    pub const ALL: [ExecutionStatus; 5] = FILTER_VALUES;

    /// The status as the payloads spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Waiting => "waiting",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    /// The Kitaru status of a ZenML run or step status on a server of
    /// `line`, before a pending wait turns `running` into `waiting`.
    ///
    /// Every ZenML status maps to something: the kitaru 0.10 reference fails
    /// on `queued`, `resuming`, `cancelling` and `cancelled`, and with it
    /// every listing that meets such a run. A run being stopped (`stopping`,
    /// `cancelling`) is `cancelled` on the 0.10 line, and still `running` on
    /// the 0.21 line, as kitaru 0.21 reads it; kitaru 0.21 also reads its
    /// reuse statuses (`replay_reused`, `reused`, `reused_not_incurred`) as
    /// completed. Any other status this client does not know yet is taken as
    /// still running, the one reading that never claims work has ended.
    pub fn from_zenml(status: &ZenmlStatus, line: ServerLine) -> Self {
        match status {
            ZenmlStatus::Initializing
            | ZenmlStatus::Provisioning
            | ZenmlStatus::Queued
            | ZenmlStatus::Running
            | ZenmlStatus::Retrying
            | ZenmlStatus::Resuming => Self::Running,
            ZenmlStatus::Paused => Self::Waiting,
            ZenmlStatus::Completed | ZenmlStatus::Cached | ZenmlStatus::Skipped => Self::Completed,
            ZenmlStatus::Failed | ZenmlStatus::Retried => Self::Failed,
            ZenmlStatus::Stopped | ZenmlStatus::Cancelled => Self::Cancelled,
            ZenmlStatus::Stopping | ZenmlStatus::Cancelling => match line {
                ServerLine::Kitaru010 => Self::Cancelled,
                ServerLine::Kitaru021 => Self::Running,
            },
            ZenmlStatus::Unrecognized(other)
                if line == ServerLine::Kitaru021 && REUSE_STATUSES.contains(&other.as_str()) =>
            {
                Self::Completed
            }
            ZenmlStatus::Unrecognized(_) => Self::Running,
        }
    }

    /// Whether an execution in this status has ended (completed, failed or
    /// cancelled): it no longer runs or waits, and will not change again.
    pub fn ended(self) -> bool {
        !matches!(self, Self::Running | Self::Waiting)
    }

    /// Whether an execution in this (pre-override) status may have a pending
    /// wait, so its wait conditions are worth asking for.
    pub(crate) fn may_wait(self) -> bool {
        matches!(self, Self::Running | Self::Waiting)
    }

    /// This status once the execution's pending wait, if any, is known.
    pub(crate) fn with_pending_wait(self, has_pending_wait: bool) -> Self {
        if has_pending_wait && self.may_wait() {
            Self::Waiting
        } else {
            self
        }
    }

    /// Reads the `status` filter argument: trimmed, case-insensitive.
    pub fn parse_filter(raw: &str) -> Result<Self, Error> {
        let wanted = raw.trim().to_lowercase();
        FILTER_VALUES
            .into_iter()
            .find(|status| status.as_str() == wanted)
            .ok_or_else(|| {
                let expected: Vec<&str> = FILTER_VALUES.iter().map(|s| s.as_str()).collect();
                Error::argument(
                    "status",
                    format!(
                        "Unsupported status filter '{raw}'. Expected one of: {}.",
                        expected.join(", ")
                    ),
                )
            })
    }

    /// The ZenML statuses a run can have to end up with this Kitaru status
    /// on a server of `line`: the server-side part of a status filter,
    /// derived from [`from_zenml`](Self::from_zenml) over every status the
    /// client knows. `waiting` includes the ones that map to running (a
    /// running run with a pending wait is waiting), so is `running` refined
    /// once the waits are known.
    pub(crate) fn zenml_candidates(self, line: ServerLine) -> Vec<&'static str> {
        ZenmlStatus::KNOWN
            .iter()
            .filter(|status| {
                let mapped = Self::from_zenml(status, line);
                mapped == self || (self == Self::Waiting && mapped.may_wait())
            })
            .map(|status| status.as_str())
            .collect()
    }

    /// The ZenML statuses that read as exactly this status on a server of
    /// `line`, waits aside (a running run blocked on a wait is `running`
    /// here): what the server's statistics group a Kitaru status by.
    pub(crate) fn zenml_statuses(self, line: ServerLine) -> Vec<&'static str> {
        ZenmlStatus::KNOWN
            .iter()
            .filter(|status| Self::from_zenml(status, line) == self)
            .map(|status| status.as_str())
            .collect()
    }
}

impl std::fmt::Display for ExecutionStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zenml(status: &str) -> ZenmlStatus {
        serde_json::from_value(serde_json::json!(status)).unwrap()
    }

    /// Every ZenML status, and how the 0.10 and 0.21 lines read it.
    const TABLE: [(&str, &str, &str); 20] = [
        ("initializing", "running", "running"),
        ("provisioning", "running", "running"),
        ("queued", "running", "running"),
        ("running", "running", "running"),
        ("retrying", "running", "running"),
        ("resuming", "running", "running"),
        ("paused", "waiting", "waiting"),
        ("completed", "completed", "completed"),
        ("cached", "completed", "completed"),
        ("skipped", "completed", "completed"),
        ("failed", "failed", "failed"),
        ("retried", "failed", "failed"),
        ("stopped", "cancelled", "cancelled"),
        ("cancelled", "cancelled", "cancelled"),
        ("stopping", "cancelled", "running"),
        ("cancelling", "cancelled", "running"),
        ("replay_reused", "running", "completed"),
        ("reused", "running", "completed"),
        ("reused_not_incurred", "running", "completed"),
        ("hibernating", "running", "running"),
    ];

    #[test]
    fn every_zenml_status_has_a_kitaru_status_on_each_line() {
        for (zenml_status, on_010, on_021) in TABLE {
            for (line, kitaru) in [
                (ServerLine::Kitaru010, on_010),
                (ServerLine::Kitaru021, on_021),
            ] {
                assert_eq!(
                    ExecutionStatus::from_zenml(&zenml(zenml_status), line).as_str(),
                    kitaru,
                    "{zenml_status} on {line:?}"
                );
            }
        }
    }

    #[test]
    fn a_pending_wait_turns_running_and_paused_into_waiting_only() {
        use ExecutionStatus::*;
        assert_eq!(Running.with_pending_wait(true), Waiting);
        assert_eq!(Waiting.with_pending_wait(true), Waiting);
        assert_eq!(Waiting.with_pending_wait(false), Waiting);
        assert_eq!(Running.with_pending_wait(false), Running);
        assert_eq!(Completed.with_pending_wait(true), Completed);
        assert_eq!(Cancelled.with_pending_wait(true), Cancelled);
    }

    #[test]
    fn the_server_side_filter_asks_for_every_status_that_maps_to_the_wanted_one() {
        let sorted = |mut statuses: Vec<&'static str>| {
            statuses.sort_unstable();
            statuses
        };
        for (line, column) in [(ServerLine::Kitaru010, 1), (ServerLine::Kitaru021, 2)] {
            let mapped_to = |kitaru: &str| -> Vec<&'static str> {
                TABLE
                    .iter()
                    .filter(|row| [row.1, row.2][column - 1] == kitaru)
                    .map(|row| row.0)
                    .filter(|status| !matches!(zenml(status), ZenmlStatus::Unrecognized(_)))
                    .collect()
            };
            for wanted in FILTER_VALUES {
                let mut expected = mapped_to(wanted.as_str());
                if wanted == ExecutionStatus::Waiting {
                    expected.extend(mapped_to("running"));
                }
                assert_eq!(
                    sorted(wanted.zenml_candidates(line)),
                    sorted(expected),
                    "{wanted} on {line:?}"
                );
            }
        }
        assert_eq!(
            sorted(ExecutionStatus::Cancelled.zenml_candidates(ServerLine::Kitaru021)),
            ["cancelled", "stopped"]
        );
    }

    #[test]
    fn the_filter_is_trimmed_and_case_insensitive() {
        assert_eq!(
            ExecutionStatus::parse_filter(" Waiting ").unwrap(),
            ExecutionStatus::Waiting
        );
    }

    #[test]
    fn an_unknown_filter_names_the_raw_value_and_the_choices() {
        let error = ExecutionStatus::parse_filter("Done").unwrap_err();
        assert!(
            error.to_string().ends_with(
                "Unsupported status filter 'Done'. Expected one of: running, waiting, completed, failed, cancelled."
            ),
            "{error}"
        );
    }

    #[test]
    fn statuses_serialize_in_lower_case() {
        assert_eq!(
            serde_json::to_value(ExecutionStatus::Cancelled).unwrap(),
            serde_json::json!("cancelled")
        );
    }
}
