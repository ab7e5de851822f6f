//! Following an execution through its live events: on a ZenML 0.98 server
//! with a stream broker (the harness's 0.21 line), the SDK reads the events
//! kitaru 0.21's checkpoints publish, and `watch` looks at the execution
//! when they say something happened instead of every half second. On a
//! server without the stream, events are refused with the reason and
//! `watch` polls.
//!
//! The flow: `reports_progress(pages, seconds)` — `crawl` sleeps `seconds`
//! per page and reports each page with `kitaru.progress`, then `tally`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use kitaru_sdk::ErrorKind;
use kitaru_sdk::executions::{self, ExecutionStatus, Heard, Observer, Update};
use serde_json::json;

use kitaru_testkit::{FLOWS, changing_executions, launch_options, server};

/// How often `watch` looks where it polls.
const POLL: Duration = Duration::from_millis(500);

/// Starts `reports_progress` and returns its id at once, while it runs.
/// A fresh batch: a cached checkpoint publishes nothing.
async fn start(kitaru: &kitaru_sdk::Kitaru, pages: u32, seconds: f64) -> String {
    start_batch(kitaru, pages, seconds, &kitaru_testkit::fresh("events")).await
}

async fn start_batch(kitaru: &kitaru_sdk::Kitaru, pages: u32, seconds: f64, batch: &str) -> String {
    let mut options = launch_options();
    options.settle = Duration::ZERO;
    let args = json!({"pages": pages, "seconds": seconds, "batch": batch});
    let started = executions::run(
        kitaru,
        &format!("{FLOWS}:reports_progress"),
        args.as_object().expect("an object"),
        None,
        &options,
    )
    .await
    .expect("reports_progress starts");
    started.exec_id
}

/// Milliseconds from a time the server recorded to now.
fn since_ended(ended_at: &str) -> i64 {
    let ended: kitaru_client::Timestamp = ended_at.parse().expect("a timestamp");
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_millis();
    i64::try_from(now).expect("in range") - ended.as_utc().timestamp_millis()
}

#[test]
fn an_execution_is_followed_through_its_events() {
    changing_executions(async {
        let kitaru = server().kitaru().await;
        let (pages, seconds) = (2, 4.0);
        let exec_id = start(&kitaru, pages, seconds).await;

        if !server().streams_events() {
            let error = executions::events(&kitaru, &exec_id).await.unwrap_err();
            assert_eq!(error.kind(), ErrorKind::State, "{error}");
            assert!(error.to_string().contains("stream broker"), "{error}");
        }
        let events = async {
            if !server().streams_events() {
                return Vec::new();
            }
            let mut events = executions::events(&kitaru, &exec_id)
                .await
                .expect("its events");
            let mut heard = Vec::new();
            while let Some(one) = events.next().await.expect("the stream reads") {
                heard.push(one);
            }
            heard
        };
        let updates: Arc<Mutex<Vec<Update>>> = Arc::default();
        let observer = {
            let updates = Arc::clone(&updates);
            Observer::new(move |update| {
                updates.lock().unwrap().push(update);
                async {}
            })
        };
        let began = Instant::now();
        let watched = async {
            let execution =
                executions::watch(&kitaru, &exec_id, Duration::from_secs(180), Some(&observer))
                    .await
                    .expect("watch");
            let late = since_ended(execution.summary.ended_at.as_deref().expect("it ended"));
            (execution, late, began.elapsed())
        };
        let (heard, (execution, late_ms, followed)) = tokio::join!(events, watched);
        assert_eq!(execution.summary.status, ExecutionStatus::Completed);
        let updates = updates.lock().unwrap().clone();
        let looks = updates.len();
        // Polling looks every half second (and each look is the same few
        // requests either way).
        let polled_looks = (followed.as_millis() / POLL.as_millis()) as usize;
        eprintln!(
            "followed {exec_id} for {followed:?}: {looks} looks (polling would make about \
             {polled_looks}); noticed its end {late_ms} ms after it; streamed: {}",
            server().streams_events()
        );
        assert!(late_ms < 10_000, "its end was noticed {late_ms} ms late");
        if !server().streams_events() {
            assert!(
                looks + 4 >= polled_looks,
                "{looks} looks while polling for {followed:?}"
            );
            return;
        }

        // What the stream said: each checkpoint started and returned, each
        // page reported, then the end.
        let kinds: Vec<(String, Option<String>, Option<String>)> = heard
            .iter()
            .filter_map(|one| match one {
                Heard::Event(event) => Some((
                    event.kind.clone(),
                    event.checkpoint_name.clone(),
                    event.message().map(str::to_owned),
                )),
                _ => None,
            })
            .collect();
        let kind = |kind: &str, checkpoint: &str, message: Option<&str>| {
            (
                kind.to_owned(),
                Some(checkpoint.to_owned()),
                message.map(str::to_owned),
            )
        };
        assert_eq!(
            kinds,
            vec![
                kind("kitaru.checkpoint.started", "crawl", None),
                kind("kitaru.checkpoint.progress", "crawl", Some("page 1 of 2")),
                kind("kitaru.checkpoint.progress", "crawl", Some("page 2 of 2")),
                kind("kitaru.checkpoint.returned", "crawl", None),
                kind("kitaru.checkpoint.started", "tally", None),
                kind("kitaru.checkpoint.returned", "tally", None),
            ],
            "{heard:#?}"
        );
        assert_eq!(heard.last(), Some(&Heard::End));
        let percents: Vec<Option<f64>> = heard
            .iter()
            .filter_map(|one| match one {
                Heard::Event(event) if event.kind == executions::PROGRESS_KIND => {
                    Some(event.percent())
                }
                _ => None,
            })
            .collect();
        assert_eq!(percents, vec![Some(0.5), Some(1.0)]);
        for one in &heard {
            if let Heard::Event(event) = one {
                assert_eq!(event.exec_id, execution.summary.exec_id);
                assert!(event.cursor.is_some(), "{event:?}");
            }
        }

        // What watch told its observer: the pages as they were read.
        let progress: Vec<&str> = updates
            .iter()
            .filter_map(|update| update.progress.as_deref())
            .collect();
        assert!(progress.contains(&"page 1 of 2 (50%)"), "{updates:#?}");
        assert!(
            updates
                .iter()
                .any(|update| update.describe().ends_with("done): page 1 of 2 (50%)")),
            "{updates:#?}"
        );
        // Fewer looks than polling: while `crawl` reads its pages nothing
        // can change unheard.
        assert!(
            looks * 4 <= polled_looks * 3,
            "{looks} looks in {followed:?}, polling would make {polled_looks}"
        );
    });
}

#[test]
fn the_events_of_an_ended_execution_are_read_to_their_end() {
    changing_executions(async {
        let kitaru = server().kitaru().await;
        let batch = kitaru_testkit::fresh("ended");
        let exec_id = start_batch(&kitaru, 1, 0.0, &batch).await;
        let ended = executions::watch(&kitaru, &exec_id, Duration::from_secs(180), None)
            .await
            .expect("watch");
        assert_eq!(ended.summary.status, ExecutionStatus::Completed);
        if !server().streams_events() {
            return;
        }
        // Read after the end: the same events, then the end at once.
        let mut events = executions::events(&kitaru, &exec_id)
            .await
            .expect("its events");
        let mut kinds = Vec::new();
        let began = Instant::now();
        while let Some(one) = events.next().await.expect("the stream reads") {
            kinds.push(match one {
                Heard::Event(event) => event.kind,
                Heard::Gap(reason) => format!("gap {reason}"),
                Heard::End => "end".to_owned(),
            });
        }
        assert!(
            began.elapsed() < Duration::from_secs(10),
            "{:?}",
            began.elapsed()
        );
        assert_eq!(
            kinds,
            [
                "kitaru.checkpoint.started",
                "kitaru.checkpoint.progress",
                "kitaru.checkpoint.returned",
                "kitaru.checkpoint.started",
                "kitaru.checkpoint.returned",
                "end"
            ]
        );
        // Nothing after the end.
        assert!(events.next().await.unwrap().is_none());

        // Run again alike, every checkpoint is cached and publishes
        // nothing: the server sends no end marker to those listening, yet
        // the stream ends once the run did.
        let cached = start_batch(&kitaru, 1, 0.0, &batch).await;
        let mut events = executions::events(&kitaru, &cached)
            .await
            .expect("its events");
        let began = Instant::now();
        let mut heard = Vec::new();
        while let Some(one) = events.next().await.expect("the stream reads") {
            heard.push(one);
        }
        assert_eq!(heard, vec![Heard::End]);
        assert!(
            began.elapsed() < Duration::from_secs(60),
            "{:?}",
            began.elapsed()
        );
        let steps = executions::get(&kitaru, &cached).await.unwrap();
        assert_eq!(steps.summary.status, ExecutionStatus::Completed);

        // An execution that does not exist is not found before any stream.
        let missing = executions::events(&kitaru, "00000000-0000-4000-8000-00000000beef")
            .await
            .unwrap_err();
        assert_eq!(missing.kind(), ErrorKind::NotFound, "{missing}");
    });
}

/// A wait is not an event: after the checkpoint before it returned, watch
/// looks again at growing intervals, and notices the wait soon after it
/// began; given input, the execution is followed to its end.
#[test]
fn a_wait_is_noticed_soon_after_it_began() {
    changing_executions(async {
        let kitaru = server().kitaru().await;
        let mut options = launch_options();
        options.settle = Duration::ZERO;
        // A fresh topic: `ask` must run (and publish), not come from cache.
        let args = json!({"topic": kitaru_testkit::fresh("wait-delay")});
        let started = executions::run(
            &kitaru,
            &format!("{FLOWS}:waits_long"),
            args.as_object().unwrap(),
            None,
            &options,
        )
        .await
        .unwrap();
        let waiting = executions::watch(&kitaru, &started.exec_id, Duration::from_secs(180), None)
            .await
            .unwrap();
        assert_eq!(waiting.summary.status, ExecutionStatus::Waiting);
        let wait = waiting.summary.pending_wait.as_ref().expect("its wait");
        let late_ms = since_ended(wait.entered_waiting_at.as_deref().expect("when it began"));
        eprintln!(
            "noticed the wait of {} {late_ms} ms after it began; streamed: {}",
            started.exec_id,
            server().streams_events()
        );
        assert!(
            late_ms < (executions::QUIET_LOOK + Duration::from_secs(3)).as_millis() as i64,
            "the wait was noticed {late_ms} ms after it began"
        );

        executions::input(&kitaru, &started.exec_id, "go", json!(true))
            .await
            .unwrap();
        // Until its runner takes the input up, it still reads as waiting.
        let deadline = Instant::now() + Duration::from_secs(180);
        let ended = loop {
            let now = executions::watch(&kitaru, &started.exec_id, Duration::from_secs(60), None)
                .await
                .unwrap();
            if now.summary.status != ExecutionStatus::Waiting || Instant::now() > deadline {
                break now;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        };
        assert_eq!(ended.summary.status, ExecutionStatus::Completed);
        let late_ms = since_ended(ended.summary.ended_at.as_deref().expect("it ended"));
        eprintln!("noticed its end {late_ms} ms after it");
    });
}
