//! Memory compaction against the real server, with a stand-in model
//! endpoint the test starts: the exact request each provider gets, where
//! the model and its credentials come from, and the summary and audit
//! record both SDKs read back.

use std::collections::HashMap;

use kitaru_sdk::memory::{self, CompactRequest, MemoryScope, SourceMode};
use kitaru_sdk::{Error, ErrorKind, Kitaru};
use serde_json::{Value, json};

use crate::sdk_memory::{namespace, python_log, python_reads};
use kitaru_testkit::FakeLlm;
use kitaru_testkit::fresh;
use kitaru_testkit::server;

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

async fn scope_with(kitaru: &Kitaru, label: &str, values: &[(&str, Value)]) -> MemoryScope {
    let scope = namespace(label);
    for (key, value) in values {
        memory::set(kitaru, &scope, key, value).await.unwrap();
    }
    scope
}

#[tokio::test]
async fn one_key_is_summarised_by_ollama_and_both_sdks_read_the_result() {
    let kitaru = server().kitaru().await;
    let scope = scope_with(
        &kitaru,
        "compact-one",
        &[
            ("k", json!("first")),
            ("k", json!({"x": 4, "ok": true, "none": null})),
        ],
    )
    .await;
    let llm = FakeLlm::start(200, FakeLlm::openai_answer("x is four")).await;
    let vars = env(&[("OLLAMA_HOST", &llm.url)]);
    let request = CompactRequest {
        key: Some("k".into()),
        model: Some("ollama/fake-model".into()),
        ..Default::default()
    };
    let result = memory::compact(&kitaru, &scope, &request, &vars)
        .await
        .unwrap();

    let sent = llm.received();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].request_line, "POST /v1/chat/completions HTTP/1.1");
    assert_eq!(sent[0].header("authorization"), Some("Bearer ollama"));
    assert_eq!(
        sent[0].body,
        json!({
            "messages": [{"role": "user", "content":
                "Summarize the following memory entries into a concise, factual summary \
                 preserving all important information. Output only the summary text.\n\n\
                 Memory entries (1 total):\n\n--- k (version 2) ---\n\
                 {'none': None, 'ok': True, 'x': 4}"}],
            "model": "fake-model",
        })
    );

    assert_eq!((result.entry.key.as_str(), result.entry.version), ("k", 3));
    assert_eq!(result.entry.value_type, "str");
    assert_eq!(result.sources_read, 1);
    let record = serde_json::to_value(&result.compaction_record).unwrap();
    assert_eq!(record["operation"], "compact");
    assert_eq!(record["source_keys"], json!(["k"]));
    assert_eq!(record["source_versions"], json!([2]));
    assert_eq!(
        (
            record["target_key"].clone(),
            record["target_version"].clone()
        ),
        (json!("k"), json!(3))
    );
    assert_eq!(
        record["instruction"],
        Value::Null,
        "the default instruction is not recorded"
    );
    assert_eq!(record["model"], "ollama/fake-model");
    assert_eq!(record["source_mode"], "current");

    let ours = memory::get(&kitaru, &scope, "k", None, true)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ours.value, Some(json!("x is four")));
    if let Some(read) = python_reads(&scope, &["k"]).await {
        assert_eq!(read["k"]["value"], "x is four");
    }
    let log = memory::compaction_log(&kitaru, &scope).await.unwrap();
    assert_eq!(log, [result.compaction_record.clone()]);
    if let Some(theirs) = python_log(&scope).await {
        assert_eq!(
            theirs["records"],
            json!([record]),
            "Python reads our record as we wrote it"
        );
    }
}

#[tokio::test]
async fn history_and_several_keys_are_summarised_in_order_skipping_what_is_gone() {
    let kitaru = server().kitaru().await;
    let scope = scope_with(
        &kitaru,
        "compact-many",
        &[
            ("a", json!(1)),
            ("a", json!(2.5)),
            ("a", json!([1, "two"])),
            ("b", json!("bee")),
            ("gone", json!("x")),
        ],
    )
    .await;
    memory::delete(&kitaru, &scope, "gone").await.unwrap();
    let llm = FakeLlm::start(200, FakeLlm::openai_answer("merged")).await;
    let vars = env(&[("OLLAMA_HOST", llm.url.trim_start_matches("http://"))]);

    let history = CompactRequest {
        key: Some("a".into()),
        source_mode: Some(SourceMode::History),
        target_key: Some("a-summary".into()),
        instruction: Some("Merge these.".into()),
        model: Some("ollama/m".into()),
        max_tokens: Some(64),
        ..Default::default()
    };
    let result = memory::compact(&kitaru, &scope, &history, &vars)
        .await
        .unwrap();
    assert_eq!(result.sources_read, 3);
    assert_eq!(result.entry.key, "a-summary");
    assert_eq!(result.compaction_record.source_keys, ["a", "a", "a"]);
    assert_eq!(result.compaction_record.source_versions, [3, 2, 1]);
    assert_eq!(
        result.compaction_record.instruction.as_deref(),
        Some("Merge these.")
    );
    assert_eq!(
        llm.received()[0].body,
        json!({
            "messages": [{"role": "user", "content":
                "Merge these.\n\nMemory entries (3 total):\n\n--- a (version 3) ---\n[1, 'two']\n\n\
                 --- a (version 2) ---\n2.5\n\n--- a (version 1) ---\n1"}],
            "model": "m",
            "max_tokens": 64,
        })
    );

    let several = CompactRequest {
        keys: Some(vec![
            "b".into(),
            "missing".into(),
            "gone".into(),
            "a".into(),
        ]),
        target_key: Some("all".into()),
        model: Some("ollama/m".into()),
        ..Default::default()
    };
    let result = memory::compact(&kitaru, &scope, &several, &vars)
        .await
        .unwrap();
    assert_eq!(result.compaction_record.source_keys, ["b", "a"]);
    assert_eq!(result.compaction_record.source_versions, [1, 3]);
    let prompt = llm.received()[1].body["messages"][0]["content"].clone();
    assert!(
        prompt
            .as_str()
            .unwrap()
            .ends_with("--- b (version 1) ---\nbee\n\n--- a (version 3) ---\n[1, 'two']"),
        "{prompt}"
    );
    let log = memory::compaction_log(&kitaru, &scope).await.unwrap();
    let targets: Vec<&str> = log.iter().filter_map(|r| r.target_key.as_deref()).collect();
    assert_eq!(targets, ["all", "a-summary"], "newest first");
}

#[tokio::test]
async fn openai_and_anthropic_get_their_own_requests_and_keys() {
    let kitaru = server().kitaru().await;
    let scope = scope_with(&kitaru, "compact-providers", &[("k", json!("v"))]).await;
    let openai = FakeLlm::start(200, FakeLlm::openai_answer("o")).await;
    let vars = env(&[
        ("OPENAI_BASE_URL", &format!("{}/v1", openai.url)),
        ("OPENAI_API_KEY", "sk-from-env"),
        ("KITARU_DEFAULT_MODEL", "openai/gpt-test"),
    ]);
    let request = CompactRequest {
        key: Some("k".into()),
        ..Default::default()
    };
    let result = memory::compact(&kitaru, &scope, &request, &vars)
        .await
        .unwrap();
    assert_eq!(
        result.compaction_record.model.as_deref(),
        Some("openai/gpt-test")
    );
    let sent = &openai.received()[0];
    assert_eq!(sent.request_line, "POST /v1/chat/completions HTTP/1.1");
    assert_eq!(sent.header("authorization"), Some("Bearer sk-from-env"));
    assert_eq!(sent.body["model"], "gpt-test");

    let anthropic = FakeLlm::start(
        200,
        json!({"content": [{"type": "text", "text": "first"}, {"type": "text", "text": "second"}]}),
    )
    .await;
    let vars = env(&[
        ("ANTHROPIC_BASE_URL", &anthropic.url),
        ("ANTHROPIC_API_KEY", "ak-from-env"),
    ]);
    let request = CompactRequest {
        key: Some("k".into()),
        model: Some("anthropic/claude-test".into()),
        ..Default::default()
    };
    let result = memory::compact(&kitaru, &scope, &request, &vars)
        .await
        .unwrap();
    let summary = memory::get(&kitaru, &scope, "k", Some(result.entry.version), true)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(summary.value, Some(json!("first\nsecond")));
    let sent = &anthropic.received()[0];
    assert_eq!(sent.request_line, "POST /v1/messages HTTP/1.1");
    assert_eq!(sent.header("x-api-key"), Some("ak-from-env"));
    assert_eq!(sent.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(sent.body["max_tokens"], 4096);
    assert_eq!(sent.body["model"], "claude-test");
    assert_eq!(sent.body["messages"][0]["role"], "user");
}

#[tokio::test]
async fn an_alias_takes_its_credentials_from_its_secret_and_errors_never_show_them() {
    let kitaru = server().kitaru().await;
    let scope = scope_with(&kitaru, "compact-secret", &[("k", json!("v"))]).await;
    let secret = fresh("llm-secret");
    let request = json!({"name": secret, "private": false, "values": {"OPENAI_API_KEY": "sk-only-in-the-secret"}});
    kitaru
        .client
        .create_secret()
        .body(serde_json::from_value::<kitaru_client::types::SecretRequest>(request).unwrap())
        .send()
        .await
        .unwrap();
    let registry =
        json!({"aliases": {"team": {"model": "openai/gpt-team", "secret": secret}}}).to_string();

    let llm = FakeLlm::start(200, FakeLlm::openai_answer("ok")).await;
    let base = format!("{}/v1", llm.url);
    let vars = env(&[
        ("KITARU_MODEL_REGISTRY", &registry),
        ("OPENAI_BASE_URL", &base),
    ]);
    let request = CompactRequest {
        key: Some("k".into()),
        ..Default::default()
    };
    let result = memory::compact(&kitaru, &scope, &request, &vars)
        .await
        .unwrap();
    assert_eq!(
        result.compaction_record.model.as_deref(),
        Some("openai/gpt-team")
    );
    assert_eq!(
        llm.received()[0].header("authorization"),
        Some("Bearer sk-only-in-the-secret")
    );

    // The provider refuses, quoting the key: the error names the provider,
    // not the key.
    let refusing = FakeLlm::start(
        401,
        json!({"error": {"message": "Incorrect API key provided: sk-only-in-the-secret"}}),
    )
    .await;
    let base = format!("{}/v1", refusing.url);
    let vars = env(&[
        ("KITARU_MODEL_REGISTRY", &registry),
        ("OPENAI_BASE_URL", &base),
    ]);
    let error = memory::compact(&kitaru, &scope, &request, &vars)
        .await
        .unwrap_err();
    let text = error.to_string();
    assert!(
        text.contains("while calling openai for model `openai/gpt-team`"),
        "{text}"
    );
    assert!(text.contains("HTTP 401"), "{text}");
    assert!(!text.contains("sk-only-in-the-secret"), "{text}");

    // No key anywhere.
    let error = memory::compact(
        &kitaru,
        &scope,
        &CompactRequest {
            key: Some("k".into()),
            model: Some("openai/gpt-x".into()),
            ..Default::default()
        },
        &env(&[]),
    )
    .await
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "No provider credentials found for `openai/gpt-x`. Set one of [OPENAI_API_KEY] in the \
         environment or register an alias with `--secret` via `kitaru model register ...`."
    );
}

#[tokio::test]
async fn bad_requests_are_refused_before_any_model_is_called() {
    let kitaru = server().kitaru().await;
    let scope = scope_with(
        &kitaru,
        "compact-bad",
        &[("k", json!("v")), ("gone", json!(1))],
    )
    .await;
    memory::delete(&kitaru, &scope, "gone").await.unwrap();
    let llm = FakeLlm::start(200, FakeLlm::openai_answer("never")).await;
    let vars = env(&[
        ("OLLAMA_HOST", &llm.url),
        ("KITARU_DEFAULT_MODEL", "ollama/m"),
    ]);
    let refused = |request: CompactRequest| {
        let (kitaru, scope, vars) = (&kitaru, &scope, &vars);
        async move {
            memory::compact(kitaru, scope, &request, vars)
                .await
                .unwrap_err()
        }
    };
    let key = |k: &str| Some(k.to_owned());
    let cases = [
        (
            CompactRequest {
                key: key("k"),
                keys: Some(vec!["k".into()]),
                ..Default::default()
            },
            "compact() requires exactly one of `key` or `keys`, not both.",
        ),
        (
            CompactRequest::default(),
            "compact() requires either `key` (single-key mode) or `keys` (multi-key mode).",
        ),
        (
            CompactRequest {
                keys: Some(vec!["k".into()]),
                ..Default::default()
            },
            "compact() in multi-key mode requires `target_key`.",
        ),
        (
            CompactRequest {
                keys: Some(vec!["k".into()]),
                target_key: key("t"),
                source_mode: Some(SourceMode::History),
                ..Default::default()
            },
            "compact() only supports `source_mode='history'` in single-key mode.",
        ),
    ];
    for (request, expected) in cases {
        let error = refused(request).await;
        assert_eq!(error.kind(), ErrorKind::InvalidArgument);
        assert!(error.to_string().ends_with(expected), "{error}");
    }
    let missing = refused(CompactRequest {
        key: key("nope"),
        ..Default::default()
    })
    .await;
    assert!(
        missing
            .to_string()
            .contains("compact() found no current value for key 'nope'"),
        "{missing}"
    );
    let deleted = refused(CompactRequest {
        key: key("gone"),
        ..Default::default()
    })
    .await;
    assert!(
        deleted
            .to_string()
            .contains("because its current value is deleted"),
        "{deleted}"
    );
    let none = refused(CompactRequest {
        keys: Some(vec!["gone".into(), "nope".into()]),
        target_key: key("t"),
        ..Default::default()
    })
    .await;
    assert_eq!(
        none.to_string(),
        "compact() found no source entries to summarize."
    );
    let reserved = refused(CompactRequest {
        key: key("_compaction/x"),
        ..Default::default()
    })
    .await;
    assert!(
        matches!(reserved, Error::InvalidArgument { .. }),
        "{reserved}"
    );
    assert!(llm.received().is_empty(), "no model was called");
    assert!(
        memory::compaction_log(&kitaru, &scope)
            .await
            .unwrap()
            .is_empty()
    );
}
