//! A pipeline run's live event stream (`GET /api/v1/runs/{id}/events/stream`,
//! ZenML 0.98 and later): server-sent events, read frame by frame.
//!
//! The generated operation expects JSON and cannot read a stream, so this
//! one is written by hand; it authenticates like every other request.

use std::time::Duration;

use reqwest::header::{ACCEPT, HeaderValue};

use crate::{Client, ClientInfo as _};

/// One server-sent event.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SseFrame {
    /// Its `id:` (the resume cursor), if it has one.
    pub id: Option<String>,
    /// Its `event:` name (`message` when it names none).
    pub event: String,
    /// Its `data:` lines, joined with newlines.
    pub data: String,
}

/// Why a run's event stream could not be opened or read.
#[derive(Debug, thiserror::Error)]
pub enum EventStreamError {
    /// The server answered with an error status; `detail` is its reason.
    #[error("the server answered {status}: {detail}")]
    Status {
        /// The HTTP status.
        status: u16,
        /// The server's reason (bounded).
        detail: String,
    },
    /// The request or the stream failed in transport.
    #[error("{0}")]
    Transport(#[from] reqwest::Error),
}

impl EventStreamError {
    /// Whether the server does not stream events at all: it is older than
    /// the endpoint (404, 405) or streaming is off on it (501).
    pub fn unsupported(&self) -> bool {
        matches!(
            self,
            Self::Status {
                status: 404 | 405 | 501,
                ..
            }
        )
    }
}

/// An open event stream.
#[derive(Debug)]
pub struct RunEvents {
    response: reqwest::Response,
    /// Bytes received and not yet read as lines.
    pending: Vec<u8>,
    frames: FrameReader,
}

/// Reads lines into frames.
#[derive(Debug, Default)]
struct FrameReader {
    /// The frame being read.
    frame: SseFrame,
    /// Whether the frame being read has any field yet.
    started: bool,
}

/// The most of an error body read into [`EventStreamError::Status`].
const MAX_DETAIL: usize = 400;

impl Client {
    /// Opens run `run_id`'s event stream, from after `since` (an event id
    /// seen earlier) or from its start. The stream lasts at most `lifetime`
    /// (reconnect with the last id to go on).
    pub async fn open_run_events(
        &self,
        run_id: &str,
        since: Option<&str>,
        lifetime: Duration,
    ) -> Result<RunEvents, EventStreamError> {
        let mut request = self
            .client()
            .get(format!(
                "{}/api/v1/runs/{run_id}/events/stream",
                self.baseurl()
            ))
            .header(ACCEPT, HeaderValue::from_static("text/event-stream"))
            .header("api-version", Client::api_version())
            .timeout(lifetime);
        if let Some(since) = since {
            request = request.header("Last-Event-ID", since);
        }
        let response = self
            .inner()
            .execute(self.client(), self.baseurl(), request.build()?)
            .await?;
        let status = response.status();
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            let detail = serde_json::from_str(&body)
                .map_or(body, |json| crate::error_detail(&json))
                .chars()
                .take(MAX_DETAIL)
                .collect();
            return Err(EventStreamError::Status {
                status: status.as_u16(),
                detail,
            });
        }
        Ok(RunEvents {
            response,
            pending: Vec::new(),
            frames: FrameReader::default(),
        })
    }
}

impl RunEvents {
    /// The next frame; `None` once the server closed the stream.
    pub async fn next(&mut self) -> Result<Option<SseFrame>, EventStreamError> {
        loop {
            while let Some(end) = self.pending.iter().position(|&b| b == b'\n' || b == b'\r') {
                let line = String::from_utf8_lossy(&self.pending[..end]).into_owned();
                let mut used = end + 1;
                // `\r\n` is one line end.
                if self.pending[end] == b'\r' && self.pending.get(end + 1) == Some(&b'\n') {
                    used += 1;
                }
                self.pending.drain(..used);
                if let Some(frame) = self.frames.read_line(&line) {
                    return Ok(Some(frame));
                }
            }
            match self.response.chunk().await? {
                Some(chunk) => self.pending.extend_from_slice(&chunk),
                None => return Ok(None),
            }
        }
    }
}

impl FrameReader {
    /// Takes in one line; a blank one ends the frame being read.
    fn read_line(&mut self, line: &str) -> Option<SseFrame> {
        if line.is_empty() {
            if !std::mem::take(&mut self.started) {
                return None;
            }
            let mut frame = std::mem::take(&mut self.frame);
            if frame.event.is_empty() {
                "message".clone_into(&mut frame.event);
            }
            return Some(frame);
        }
        if line.starts_with(':') {
            // A comment: the server's heartbeat.
            return None;
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "event" => value.clone_into(&mut self.frame.event),
            "data" => {
                if self.started && !self.frame.data.is_empty() {
                    self.frame.data.push('\n');
                }
                self.frame.data.push_str(value);
            }
            "id" => self.frame.id = Some(value.to_owned()).filter(|id| !id.is_empty()),
            _ => return None,
        }
        self.started = true;
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames_of(lines: &[&str]) -> Vec<SseFrame> {
        let mut reader = FrameReader::default();
        lines
            .iter()
            .filter_map(|line| reader.read_line(line))
            .collect()
    }

    #[test]
    fn frames_are_read_as_the_server_writes_them() {
        let frames = frames_of(&[
            ": ping",
            "",
            "id: 1-0",
            "event: kitaru.checkpoint.started",
            "data: {\"a\": 1}",
            "",
            "event: end",
            "data: {}",
            "",
        ]);
        assert_eq!(
            frames,
            vec![
                SseFrame {
                    id: Some("1-0".into()),
                    event: "kitaru.checkpoint.started".into(),
                    data: "{\"a\": 1}".into(),
                },
                SseFrame {
                    id: None,
                    event: "end".into(),
                    data: "{}".into(),
                },
            ]
        );
    }

    #[test]
    fn data_lines_join_and_a_nameless_frame_is_a_message() {
        let frames = frames_of(&["data: one", "data:two", "unknown: x", ""]);
        assert_eq!(
            frames,
            vec![SseFrame {
                id: None,
                event: "message".into(),
                data: "one\ntwo".into(),
            }]
        );
    }
}
