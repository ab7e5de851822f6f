//! The point in time every `format: date-time` field of the API decodes into.
//!
//! The server (ZenML on Python) writes most timestamps without an offset
//! (`2026-11-24T18:28:43.428560`, meaning UTC) but log entries with one
//! (`...Z`). `chrono::DateTime<Utc>` refuses the first form and
//! `NaiveDateTime` the second; [`Timestamp`] reads both, and writes the
//! server's own offset-less form back.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// A UTC point in time as the Kitaru server sends it.
///
/// Reads RFC 3339 with an offset (`2026-11-24T18:28:43Z`,
/// `...+02:00`, converted to UTC) and ISO 8601 without one
/// (`2026-11-24T18:28:43.428560`, taken as UTC). Writes
/// `2026-11-24T18:28:43.428560` (microseconds only when not zero), the form
/// Python's `datetime.isoformat()` gives for the server's naive UTC values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(DateTime<Utc>);

impl Timestamp {
    /// The timestamp at this UTC time.
    pub fn from_utc(time: DateTime<Utc>) -> Self {
        Self(time)
    }

    /// The time as a `chrono::DateTime<Utc>`.
    pub fn as_utc(&self) -> &DateTime<Utc> {
        &self.0
    }

    /// The time as a `chrono::DateTime<Utc>`, by value.
    pub fn into_utc(self) -> DateTime<Utc> {
        self.0
    }

    /// The time without its (UTC) offset, as the server stores it.
    pub fn naive_utc(&self) -> NaiveDateTime {
        self.0.naive_utc()
    }
}

impl From<DateTime<Utc>> for Timestamp {
    fn from(time: DateTime<Utc>) -> Self {
        Self(time)
    }
}

impl From<Timestamp> for DateTime<Utc> {
    fn from(timestamp: Timestamp) -> Self {
        timestamp.0
    }
}

impl From<NaiveDateTime> for Timestamp {
    /// Takes an offset-less time as UTC, like the server does.
    fn from(time: NaiveDateTime) -> Self {
        Self(time.and_utc())
    }
}

/// A string that is not a timestamp in any form [`Timestamp`] reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseTimestampError {
    input: String,
}

impl ParseTimestampError {
    /// The string that did not parse.
    pub fn input(&self) -> &str {
        &self.input
    }
}

impl fmt::Display for ParseTimestampError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} is not a timestamp; expected ISO 8601 such as 2026-11-24T18:28:43.428560 or 2026-11-24T18:28:43Z",
            self.input
        )
    }
}

impl std::error::Error for ParseTimestampError {}

/// Offset-less forms, tried after RFC 3339: `T` as Python's `isoformat()`
/// writes it, a space as `str(datetime)` does.
const NAIVE_FORMATS: [&str; 2] = ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"];

impl FromStr for Timestamp {
    type Err = ParseTimestampError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        if let Ok(time) = DateTime::parse_from_rfc3339(input) {
            return Ok(Self(time.with_timezone(&Utc)));
        }
        NAIVE_FORMATS
            .iter()
            .find_map(|format| NaiveDateTime::parse_from_str(input, format).ok())
            .map(Self::from)
            .ok_or_else(|| ParseTimestampError {
                input: input.to_owned(),
            })
    }
}

impl fmt::Display for Timestamp {
    /// The server's form: `2026-11-24T18:28:43.428560`, or
    /// `2026-11-24T18:28:43` when there are no sub-second digits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let format = if self.0.timestamp_subsec_nanos() == 0 {
            "%Y-%m-%dT%H:%M:%S"
        } else {
            "%Y-%m-%dT%H:%M:%S%.6f"
        };
        write!(f, "{}", self.0.format(format))
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TimestampVisitor;

        impl Visitor<'_> for TimestampVisitor {
            type Value = Timestamp;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an ISO 8601 timestamp, with or without an offset")
            }

            fn visit_str<E: de::Error>(self, value: &str) -> Result<Timestamp, E> {
                value.parse().map_err(E::custom)
            }
        }

        deserializer.deserialize_str(TimestampVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(json: &str) -> Timestamp {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn a_timestamp_without_offset_is_utc() {
        let time = decode(r#""2026-11-24T18:28:43.428560""#);
        assert_eq!(
            time.as_utc().to_rfc3339(),
            "2026-11-24T18:28:43.428560+00:00"
        );
    }

    #[test]
    fn a_log_timestamp_with_z_reads_as_the_same_instant() {
        assert_eq!(
            decode(r#""2026-11-24T18:28:43.428560Z""#),
            decode(r#""2026-11-24T18:28:43.428560""#)
        );
    }

    #[test]
    fn an_offset_is_converted_to_utc() {
        let time = decode(r#""2026-11-24T20:28:43+02:00""#);
        assert_eq!(time.to_string(), "2026-11-24T18:28:43");
    }

    #[test]
    fn it_writes_the_servers_naive_form_back() {
        let time = decode(r#""2026-11-24T18:28:43.428560""#);
        assert_eq!(
            serde_json::to_string(&time).unwrap(),
            r#""2026-11-24T18:28:43.428560""#
        );
        let whole_second = decode(r#""2026-11-24T18:28:43""#);
        assert_eq!(
            serde_json::to_string(&whole_second).unwrap(),
            r#""2026-11-24T18:28:43""#
        );
    }

    #[test]
    fn a_non_timestamp_names_the_input() {
        let error = "yesterday".parse::<Timestamp>().unwrap_err();
        assert_eq!(error.input(), "yesterday");
        assert!(
            error
                .to_string()
                .contains("\"yesterday\" is not a timestamp")
        );
    }
}
