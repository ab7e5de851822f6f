//! `executions::statistics` against the real server: on executions this
//! test records (of the flow `paged`, tagged with tags of its own, with
//! numeric and text metadata), the groups and aggregates are the ones
//! recorded; the server's answer (ZenML 0.98) and the one computed here from
//! the runs (what a ZenML 0.94.4 server gets) agree group for group.

use std::collections::BTreeMap;

use kitaru_sdk::executions::{self, Statistics, StatisticsQuery};
use kitaru_sdk::{ErrorKind, Kitaru, ServerLine};
use kitaru_testkit::{ExecutionTemplate, changing_executions, fresh, python_module, server};
use serde_json::{Value, json};

/// `POST`s or `PUT`s `body` to the server's API, asserting success.
async fn send(method: reqwest::Method, path: &str, body: Value) -> Value {
    let response = reqwest::Client::new()
        .request(method, format!("{}/api/v1{path}", server().url))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    assert!(status.is_success(), "{path}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// Tags and metadata on run `id`.
async fn annotate(id: &str, tags: &[&str], metadata: Value) {
    send(
        reqwest::Method::PUT,
        &format!("/runs/{id}"),
        json!({"add_tags": tags}),
    )
    .await;
    let types: serde_json::Map<String, Value> = metadata
        .as_object()
        .unwrap()
        .iter()
        .map(|(key, value)| {
            (
                key.clone(),
                json!(if value.is_string() { "str" } else { "int" }),
            )
        })
        .collect();
    send(
        reqwest::Method::POST,
        "/run-metadata",
        json!({
            "project": server().str("/seed/project/id"),
            "resources": [{"id": id, "type": "pipeline_run"}],
            "values": metadata,
            "types": types,
        }),
    )
    .await;
}

/// Groups by their keys (as JSON text), with count and metrics.
fn by_keys(statistics: &Statistics) -> BTreeMap<String, (u64, BTreeMap<String, Option<f64>>)> {
    statistics
        .groups
        .iter()
        .map(|g| {
            (
                Value::Object(g.keys.clone()).to_string(),
                (g.execution_count, g.metrics.clone()),
            )
        })
        .collect()
}

/// Asserts both answers have the same groups, counts and (to rounding)
/// metrics.
fn assert_agree(server_side: &Statistics, here: &Statistics, query: &StatisticsQuery) {
    let (a, b) = (by_keys(server_side), by_keys(here));
    assert_eq!(
        a.keys().collect::<Vec<_>>(),
        b.keys().collect::<Vec<_>>(),
        "{query:?}: groups"
    );
    for (key, (count, metrics)) in &a {
        let (other_count, other_metrics) = &b[key];
        assert_eq!(count, other_count, "{query:?}: {key}");
        for (name, value) in metrics {
            let other = other_metrics[name];
            match (value, other) {
                (Some(x), Some(y)) => assert!(
                    (x - y).abs() <= 1e-6 * x.abs().max(1.0),
                    "{query:?}: {key} {name}: {x} vs {y}"
                ),
                _ => assert_eq!(*value, other, "{query:?}: {key} {name}"),
            }
        }
    }
    assert_eq!(server_side.truncated, here.truncated, "{query:?}");
    assert_eq!(server_side.group_count, here.group_count, "{query:?}");
}

fn query(group_by: &[&str], tag: &str) -> StatisticsQuery {
    StatisticsQuery {
        group_by: group_by.iter().map(|s| (*s).to_owned()).collect(),
        metrics: [
            "tokens:metadata:stats_tokens:sum",
            "mean_tokens:metadata:stats_tokens:avg",
            "least:metadata:stats_tokens:min",
            "most:metadata:stats_tokens:max",
            "team_avg:metadata:stats_team:avg",
            "took:duration:max",
            "steps:step_count:sum",
            "cached:cached_step_count:sum",
            "outputs:output_artifact_count:sum",
        ]
        .map(|m| json!(m))
        .to_vec(),
        tags: Some(vec![tag.to_owned()]),
        ..StatisticsQuery::default()
    }
}

#[test]
fn statistics_group_what_was_recorded_alike_on_the_server_and_here() {
    changing_executions(async {
        let kitaru: Kitaru = server().kitaru().await;
        let line = kitaru.server().await.unwrap().line;
        let first: String = serde_json::from_value(python_module("paged", &[], None)).unwrap();
        let template = ExecutionTemplate::of_run(server(), &first).await;
        let (all, some) = (fresh("stats-all"), fresh("stats-some"));
        let mut ids = vec![first];
        for status in ["completed", "failed", "completed"] {
            ids.push(template.record(&fresh("stats"), status).await);
        }
        for (index, (id, tokens, team)) in ids
            .iter()
            .zip([5, 7, 11, 13])
            .zip([Some("a"), Some("b"), Some("a"), None])
            .map(|((id, tokens), team)| (id, tokens, team))
            .enumerate()
        {
            let tags: Vec<&str> = if index < 2 {
                vec![&all, &some]
            } else {
                vec![&all]
            };
            let mut metadata = json!({"stats_tokens": tokens});
            if let Some(team) = team {
                metadata["stats_team"] = json!(team);
            }
            annotate(id, &tags, metadata).await;
        }

        // What was recorded, as the groups show it (here: what an old
        // server gets).
        let here = |group_by: &[&str]| {
            let query = query(group_by, &all);
            let kitaru = &kitaru;
            async move {
                executions::statistics_computed_here(kitaru, &query)
                    .await
                    .unwrap()
            }
        };
        let total = here(&[]).await;
        assert_eq!(total.computed_by.as_deref(), Some("client"));
        assert_eq!(total.runs_scanned, Some(4));
        assert_eq!(total.group_count, 1);
        let group = &total.groups[0];
        assert_eq!(group.execution_count, 4);
        assert_eq!(group.metrics["tokens"], Some(36.0));
        assert_eq!(group.metrics["mean_tokens"], Some(9.0));
        assert_eq!(
            (group.metrics["least"], group.metrics["most"]),
            (Some(5.0), Some(13.0))
        );
        assert_eq!(
            group.metrics["team_avg"], None,
            "text metadata is no number"
        );
        assert_eq!(
            group.metrics["steps"],
            Some(1.0),
            "the one real run's checkpoint"
        );
        assert!(group.metrics["outputs"].unwrap() >= 1.0, "{group:?}");
        assert!(group.metrics["took"].unwrap() > 0.0, "{group:?}");

        let counts = |statistics: &Statistics| -> BTreeMap<String, u64> {
            statistics
                .groups
                .iter()
                .map(|g| (Value::Object(g.keys.clone()).to_string(), g.execution_count))
                .collect()
        };
        let keyed = |pairs: &[(Value, u64)]| -> BTreeMap<String, u64> {
            pairs.iter().map(|(k, n)| (k.to_string(), *n)).collect()
        };
        assert_eq!(
            counts(&here(&["status"]).await),
            keyed(&[
                (json!({"status": "completed"}), 3),
                (json!({"status": "failed"}), 1)
            ])
        );
        assert_eq!(
            counts(&here(&["tag"]).await),
            keyed(&[(json!({"tag": all}), 4), (json!({"tag": some}), 2)])
        );
        let teams = here(&["metadata:stats_team"]).await;
        assert_eq!(
            counts(&teams),
            keyed(&[
                (json!({"stats_team": "a"}), 2),
                (json!({"stats_team": "b"}), 1),
                (json!({"stats_team": null}), 1),
            ])
        );
        assert_eq!(
            teams.groups[0].keys["stats_team"], "a",
            "most executions first"
        );
        let cut = executions::statistics_computed_here(
            &kitaru,
            &StatisticsQuery {
                max_groups: 1,
                ..query(&["metadata:stats_team"], &all)
            },
        )
        .await
        .unwrap();
        assert!(cut.truncated);
        assert_eq!(counts(&cut), keyed(&[(json!({"stats_team": "a"}), 2)]));
        let days = here(&["time:day", "flow"]).await;
        assert_eq!(days.group_count, 1, "{days:?}");
        let day = days.groups[0].keys["day"].as_str().unwrap();
        assert_eq!(day.len(), 10, "{day}");

        // The same groups both ways.
        for group_by in [
            &[][..],
            &["status"],
            &["tag", "status"],
            &["metadata:stats_team"],
            &["metadata:stats_tokens", "flow"],
            &["time:hour", "stack"],
            &["time:week"],
            &["time:month", "status"],
        ] {
            let query = query(group_by, &all);
            let here = executions::statistics_computed_here(&kitaru, &query)
                .await
                .unwrap();
            let answer = executions::statistics(&kitaru, &query).await.unwrap();
            match line {
                ServerLine::Kitaru010 => {
                    assert_eq!(answer.computed_by.as_deref(), Some("client"));
                    assert_eq!(answer, here, "{query:?}");
                }
                _ => {
                    assert_eq!(answer.computed_by, None, "the server computes them");
                    assert_agree(&answer, &here, &query);
                }
            }
        }
    });
}

#[tokio::test]
async fn bad_queries_are_refused_before_any_request() {
    let kitaru = server().kitaru().await;
    for (query, argument) in [
        (
            StatisticsQuery {
                max_groups: 0,
                ..StatisticsQuery::default()
            },
            "max_groups",
        ),
        (
            StatisticsQuery {
                group_by: vec!["time:day".into(), "time:week".into()],
                ..StatisticsQuery::default()
            },
            "group_by",
        ),
        (
            StatisticsQuery {
                metrics: vec![json!("x:duration:median")],
                ..StatisticsQuery::default()
            },
            "metrics",
        ),
        (
            StatisticsQuery {
                status: Some("done".into()),
                ..StatisticsQuery::default()
            },
            "status",
        ),
    ] {
        let error = executions::statistics(&kitaru, &query).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidArgument, "{error}");
        assert!(
            error.to_string().contains(&format!("`{argument}`")),
            "{error}"
        );
    }
}
