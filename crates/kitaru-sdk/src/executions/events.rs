//! An execution's live events, and the pace at which a followed execution
//! is looked at.
//!
//! Checkpoints of kitaru 0.21 publish events while they run (started,
//! progress, returned, failed), and a ZenML 0.98 server with a stream
//! broker serves them as server-sent events, ending the stream once the run
//! ended. Following an execution then means looking at it when something
//! happened rather than every half second: [`Pace`] does that, and polls
//! where the server streams nothing (older servers, streaming off).
//!
//! What the stream does not say: that a run started waiting for input or
//! was paused (no event marks it). So after a checkpoint ended the
//! execution is looked at again at growing intervals, and at least every
//! [`QUIET_LOOK`] while nothing is heard.

use std::sync::atomic::Ordering;
use std::time::Duration;

use kitaru_client::events::{EventStreamError, RunEvents, SseFrame};
use serde::Serialize;
use serde_json::Value;
use tokio::time::Instant;

use super::lookup;
use crate::{Error, Kitaru, ServerLine};

/// Kind of the event a checkpoint publishes to report progress.
pub const PROGRESS_KIND: &str = "kitaru.checkpoint.progress";
/// Kind of the event a checkpoint publishes as it starts.
const STARTED_KIND: &str = "kitaru.checkpoint.started";

/// Kinds of the events checkpoints publish by themselves start so.
const CHECKPOINT_KINDS: &str = "kitaru.checkpoint.";

/// How long one stream request lasts before it is opened again from its
/// last event (the HTTP client's request timeout would cut it otherwise).
const STREAM_LIFETIME: Duration = Duration::from_secs(600);
/// How long a stream may say nothing before the run is looked at: one that
/// ended with nothing ever published gets no end marker from the server.
const SILENCE: Duration = Duration::from_secs(10);
/// How often a stream that closed early is opened again in a row.
const REOPENS: u32 = 3;
/// Looks after an event: at these intervals, then every [`QUIET_LOOK`].
const AFTER_EVENT: [Duration; 4] = [
    Duration::from_millis(250),
    Duration::from_millis(500),
    Duration::from_secs(1),
    Duration::from_secs(2),
];
/// The longest an execution followed through its events goes unlooked-at.
pub const QUIET_LOOK: Duration = Duration::from_secs(5);
/// The least time between two looks, however many events come.
const LEAST_GAP: Duration = Duration::from_millis(250);

/// One live event of an execution.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ExecutionEvent {
    /// The execution.
    pub exec_id: String,
    /// What happened: `kitaru.checkpoint.started`, `…progress`,
    /// `…returned`, `…failed`, or a kind the flow chose.
    pub kind: String,
    /// What the publisher sent: `kitaru` (the checkpoint it came from),
    /// `message`, `data`, `status`…
    pub payload: Value,
    /// The publisher's correlation id, if any.
    pub correlation_id: Option<String>,
    /// Its place among its checkpoint's events.
    pub index: Option<i64>,
    /// The stream's id of the event (resume from it).
    pub cursor: Option<String>,
    /// The checkpoint (step run) it came from.
    pub checkpoint_id: Option<String>,
    /// The checkpoint's name.
    pub checkpoint_name: Option<String>,
    /// The ZenML step name.
    pub step_name: Option<String>,
}

impl ExecutionEvent {
    /// The event's `message`, if it has one.
    pub fn message(&self) -> Option<&str> {
        self.payload.get("message").and_then(Value::as_str)
    }

    /// How far a progress event said its checkpoint is, if it said: a
    /// fraction from 0 to 1, as `kitaru.progress(percent=…)` takes it.
    pub fn percent(&self) -> Option<f64> {
        self.payload
            .pointer("/data/percent")
            .and_then(Value::as_f64)
    }

    /// The event in a few words: `page 2 of 4 (50%)`.
    pub fn report(&self) -> String {
        let message = self.message().unwrap_or(&self.kind);
        match self.percent() {
            Some(fraction) => format!("{message} ({:.0}%)", fraction * 100.0),
            None => message.to_owned(),
        }
    }

    /// Reads one event frame of the stream.
    fn from_frame(frame: &SseFrame, exec_id: &str) -> Result<Self, Error> {
        let malformed = |what: &str| {
            Error::Unexpected(format!(
                "execution {exec_id}'s event stream sent a malformed event ({what})"
            ))
        };
        let raw: Value = serde_json::from_str(&frame.data).map_err(|_| malformed("not JSON"))?;
        if !raw.is_object() {
            return Err(malformed("not an object"));
        }
        let payload = match raw.get("payload") {
            None | Some(Value::Null) => Value::Object(Default::default()),
            Some(payload @ Value::Object(_)) => payload.clone(),
            Some(_) => return Err(malformed("its payload is not an object")),
        };
        let text = |value: Option<&Value>| value.and_then(Value::as_str).map(str::to_owned);
        let kitaru = payload.get("kitaru");
        let step_name = text(raw.get("step_name"));
        Ok(Self {
            exec_id: text(raw.get("pipeline_run_id")).unwrap_or_else(|| exec_id.to_owned()),
            kind: text(raw.get("kind")).unwrap_or_else(|| frame.event.clone()),
            correlation_id: text(raw.get("correlation_id")),
            index: raw.get("index").and_then(Value::as_i64),
            cursor: frame.id.clone(),
            checkpoint_id: text(kitaru.and_then(|k| k.get("checkpoint_id")))
                .or_else(|| text(raw.get("step_run_id"))),
            checkpoint_name: text(kitaru.and_then(|k| k.get("checkpoint_name"))).or_else(|| {
                step_name
                    .as_deref()
                    .map(|step| super::checkpoint_name(step).to_owned())
            }),
            step_name,
            payload,
        })
    }
}

/// What an execution's event stream said.
#[derive(Clone, Debug, PartialEq)]
pub enum Heard {
    /// An event.
    Event(ExecutionEvent),
    /// Some events were lost (the server's reason: `overflow`, `outage`,
    /// `shutdown`).
    Gap(String),
    /// The run ended; nothing more will come.
    End,
}

/// An execution's live events, as they come ([`events`]).
#[derive(Debug)]
pub struct Events {
    kitaru: Kitaru,
    run_id: String,
    stream: Option<RunEvents>,
    /// The last event's id: a reopened stream goes on from there.
    cursor: Option<String>,
    ended: bool,
}

/// The live events of execution `exec_id` (an id, prefix or run name), from
/// its first one: those already published, then those to come until it
/// ends. Needs a server that streams them (ZenML 0.98 with a stream broker,
/// kitaru 0.21's checkpoints publishing); otherwise a state error says so.
///
/// A run whose checkpoints published nothing (all of them cached) gets no
/// end marker from ZenML 0.98.0 while someone listens; its stream ends here
/// once it has been silent for 10 s and the run no longer runs.
pub async fn events(kitaru: &Kitaru, exec_id: &str) -> Result<Events, Error> {
    let run = lookup::find_run(kitaru, exec_id).await?;
    let run_id = run.id.to_string();
    match Events::open(kitaru, &run_id).await? {
        Some(events) => Ok(events),
        None => Err(Error::State(format!(
            "this Kitaru server does not stream execution events; that needs a ZenML 0.98 server \
             with a stream broker (`stream_broker_implementation_source` in its configuration). \
             Follow execution {run_id} with `watch` instead."
        ))),
    }
}

impl Events {
    /// Opens the stream of run `run_id`; `None` when the server streams
    /// nothing.
    async fn open(kitaru: &Kitaru, run_id: &str) -> Result<Option<Self>, Error> {
        let streamless = &kitaru.no_event_streams;
        if streamless.load(Ordering::Relaxed)
            || kitaru.server().await?.line == ServerLine::Kitaru010
        {
            return Ok(None);
        }
        let mut events = Self {
            kitaru: kitaru.clone(),
            run_id: run_id.to_owned(),
            stream: None,
            cursor: None,
            ended: false,
        };
        match events.connect().await {
            Ok(()) => Ok(Some(events)),
            Err(error) if error.unsupported() => {
                // 404 may be this run alone (deleted meanwhile); the others
                // are the server's.
                if !matches!(error, EventStreamError::Status { status: 404, .. }) {
                    streamless.store(true, Ordering::Relaxed);
                }
                Ok(None)
            }
            Err(error) => Err(events.failure(&error)),
        }
    }

    async fn connect(&mut self) -> Result<(), EventStreamError> {
        let stream = self
            .kitaru
            .client
            .open_run_events(&self.run_id, self.cursor.as_deref(), STREAM_LIFETIME)
            .await?;
        self.stream = Some(stream);
        Ok(())
    }

    /// Whether the run no longer runs or waits.
    async fn run_ended(&self) -> Result<bool, Error> {
        let run = lookup::reload(&self.kitaru, &self.run_id).await?;
        let line = self.kitaru.server().await?.line;
        Ok(super::execution::zenml_status(&run, line).ended())
    }

    fn failure(&self, error: &EventStreamError) -> Error {
        Error::Unexpected(format!(
            "could not follow execution {}'s events: {error}",
            self.run_id
        ))
    }

    /// What is heard next; `None` after the end.
    pub async fn next(&mut self) -> Result<Option<Heard>, Error> {
        let mut reopened = 0;
        while !self.ended {
            let frame = match self.stream.as_mut() {
                Some(stream) => match tokio::time::timeout(SILENCE, stream.next()).await {
                    Ok(frame) => frame,
                    Err(_) if self.run_ended().await? => {
                        // The server sends no end marker where nothing was
                        // ever published (every checkpoint cached).
                        self.ended = true;
                        self.stream = None;
                        return Ok(Some(Heard::End));
                    }
                    Err(_) => continue,
                },
                None => Ok(None),
            };
            let frame = match frame {
                Ok(Some(frame)) => frame,
                // Closed early (a lost connection, the request's lifetime):
                // open it again from the last event.
                Ok(None) | Err(_) if reopened < REOPENS => {
                    self.stream = None;
                    reopened += 1;
                    tokio::time::sleep(Duration::from_millis(100) * reopened).await;
                    match self.connect().await {
                        Err(error) if reopened == REOPENS => return Err(self.failure(&error)),
                        _ => continue,
                    }
                }
                Ok(None) => {
                    return Err(Error::Unexpected(format!(
                        "execution {}'s event stream kept closing before its end",
                        self.run_id
                    )));
                }
                Err(error) => return Err(self.failure(&error)),
            };
            if frame.id.is_some() {
                self.cursor.clone_from(&frame.id);
            }
            match frame.event.as_str() {
                "end" => {
                    self.ended = true;
                    self.stream = None;
                    return Ok(Some(Heard::End));
                }
                "gap" => {
                    let reason = serde_json::from_str::<Value>(&frame.data)
                        .ok()
                        .and_then(|data| data.get("reason")?.as_str().map(str::to_owned))
                        .unwrap_or_default();
                    return Ok(Some(Heard::Gap(reason)));
                }
                "error" => {
                    return Err(Error::Unexpected(format!(
                        "execution {}'s event stream failed on the server: {}",
                        self.run_id, frame.data
                    )));
                }
                // The cursor moved past events filtered out or unknown.
                "cursor" | "system" => {}
                _ => {
                    return Ok(Some(Heard::Event(ExecutionEvent::from_frame(
                        &frame,
                        &self.run_id,
                    )?)));
                }
            }
        }
        Ok(None)
    }
}

/// When to look at a followed execution next: as soon as its events say
/// something happened (at most every quarter second), then — after a
/// checkpoint ended — at growing intervals up to [`QUIET_LOOK`]; or every
/// `poll` where the server streams nothing.
///
/// ```no_run
/// # async fn example(kitaru: &kitaru_sdk::Kitaru, run_id: &str) -> Result<(), kitaru_sdk::Error> {
/// use std::time::Duration;
/// use kitaru_sdk::executions::{self, ExecutionStatus, Pace};
///
/// let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
/// let mut pace = Pace::follow(kitaru, run_id, Duration::from_secs(1)).await;
/// while executions::get(kitaru, run_id).await?.summary.status == ExecutionStatus::Running
///     && tokio::time::Instant::now() < deadline
/// {
///     pace.wait(deadline).await;
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Pace {
    events: Option<Events>,
    poll: Duration,
    next_look: Instant,
    last_look: Instant,
    /// Looks made since the last event (which interval comes next).
    since_event: usize,
    /// The newest progress event heard.
    progress: Option<ExecutionEvent>,
}

impl Pace {
    /// Paces the following of run `run_id` (an execution's full id),
    /// through its events when the server streams them, else every `poll`.
    pub async fn follow(kitaru: &Kitaru, run_id: &str, poll: Duration) -> Self {
        let events = match Events::open(kitaru, run_id).await {
            Ok(events) => events,
            Err(error) => {
                tracing::debug!("polling execution {run_id}: {error}");
                None
            }
        };
        Self {
            events,
            ..Self::polling(poll)
        }
    }

    /// Paces a following by polling every `poll`.
    pub fn polling(poll: Duration) -> Self {
        let now = Instant::now();
        Self {
            events: None,
            poll,
            next_look: now + poll,
            last_look: now,
            since_event: AFTER_EVENT.len(),
            progress: None,
        }
    }

    /// Whether the execution is followed through its events.
    pub fn streaming(&self) -> bool {
        self.events.is_some()
    }

    /// The newest progress event heard, if any.
    pub fn progress(&self) -> Option<&ExecutionEvent> {
        self.progress.as_ref()
    }

    /// Returns when it is time to look again, by `deadline` at the latest.
    pub async fn wait(&mut self, deadline: Instant) {
        self.next_look = self.next_look.min(deadline);
        loop {
            let Some(events) = self.events.as_mut() else {
                tokio::time::sleep_until(self.next_look).await;
                break;
            };
            let heard = tokio::select! {
                () = tokio::time::sleep_until(self.next_look) => break,
                heard = events.next() => heard,
            };
            match heard {
                Ok(Some(Heard::Event(event))) => {
                    // While a checkpoint runs, the execution's state cannot
                    // change unheard (its end is an event): one look reports
                    // the news. After anything else (a checkpoint ended, a
                    // flow's own event), the flow body goes on and may wait
                    // or end without a word: looks follow closely.
                    let running = event.kind == PROGRESS_KIND || event.kind == STARTED_KIND;
                    if event.kind == PROGRESS_KIND {
                        self.progress = Some(event);
                    } else if event.kind.starts_with(CHECKPOINT_KINDS) {
                        // A checkpoint started or ended: its progress is over.
                        self.progress = None;
                    }
                    self.since_event = if running { AFTER_EVENT.len() } else { 0 };
                    self.next_look = self
                        .next_look
                        .min(Instant::now().max(self.last_look + LEAST_GAP));
                }
                Ok(Some(Heard::Gap(_))) => self.next_look = Instant::now(),
                Ok(Some(Heard::End) | None) => {
                    // Nothing more will be heard: look now, then poll.
                    self.events = None;
                    break;
                }
                Err(error) => {
                    tracing::debug!("polling execution {}: {error}", events.run_id);
                    self.events = None;
                    break;
                }
            }
        }
        let now = Instant::now();
        self.last_look = now;
        let next = if self.events.is_none() {
            self.poll
        } else {
            let next = AFTER_EVENT
                .get(self.since_event)
                .copied()
                .unwrap_or(QUIET_LOOK);
            self.since_event += 1;
            next
        };
        self.next_look = now + next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_checkpoint_event_reads_as_kitaru_reads_it() {
        let frame = SseFrame {
            id: Some("3-0".into()),
            event: PROGRESS_KIND.into(),
            data: json!({
                "pipeline_run_id": "run-1",
                "step_run_id": "step-9",
                "step_name": "crawl",
                "kind": PROGRESS_KIND,
                "correlation_id": "c",
                "index": 2,
                "payload": {
                    "kitaru": {"checkpoint_name": "crawl", "checkpoint_id": "cp-1"},
                    "message": "page 2 of 4",
                    "data": {"percent": 0.5}
                }
            })
            .to_string(),
        };
        let event = ExecutionEvent::from_frame(&frame, "fallback").unwrap();
        assert_eq!(event.exec_id, "run-1");
        assert_eq!(event.checkpoint_name.as_deref(), Some("crawl"));
        assert_eq!(event.checkpoint_id.as_deref(), Some("cp-1"));
        assert_eq!(event.cursor.as_deref(), Some("3-0"));
        assert_eq!(event.index, Some(2));
        assert_eq!(event.message(), Some("page 2 of 4"));
        assert_eq!(event.percent(), Some(0.5));

        // Without Kitaru's envelope: the step's run id and checkpoint name.
        let bare = SseFrame {
            id: None,
            event: "custom".into(),
            data: json!({"step_run_id": "step-9", "step_name": "crawl"}).to_string(),
        };
        let event = ExecutionEvent::from_frame(&bare, "run-2").unwrap();
        assert_eq!(event.exec_id, "run-2");
        assert_eq!(event.kind, "custom");
        assert_eq!(event.checkpoint_id.as_deref(), Some("step-9"));
        assert_eq!(event.checkpoint_name.as_deref(), Some("crawl"));
        assert_eq!(event.message(), None);
    }

    #[test]
    fn malformed_events_are_refused_with_the_reason() {
        for (data, reason) in [
            ("not json", "not JSON"),
            ("[1]", "not an object"),
            (r#"{"payload": 3}"#, "its payload is not an object"),
        ] {
            let frame = SseFrame {
                id: None,
                event: "x".into(),
                data: data.into(),
            };
            let error = ExecutionEvent::from_frame(&frame, "run")
                .unwrap_err()
                .to_string();
            assert!(error.contains(reason), "{error}");
        }
    }
}
