"""Flows used to seed the test server with real executions.

Runs inside the reference venv of the server line (kitaru 0.10.0 or 0.21.0;
the flows are the same on both), from the project folder
created by ``kitaru_test_server.py up`` (the folder where ``kitaru init`` ran).
The constants below are the values the flows produce; the harness reports them
in ``server.json`` as the expected artifact values.
"""

# NB: no `from __future__ import annotations`: ZenML needs real annotations
# on checkpoint outputs.
from typing import Tuple

import kitaru
from kitaru import checkpoint, flow

# ---------------------------------------------------------------------------
# Expected values (single source of truth for the harness and the tests)
# ---------------------------------------------------------------------------

COMPLETED_FLOW = "seed_completed"
FAILED_FLOW = "seed_failed"
WAITING_FLOW = "seed_waiting"

TOPIC = "durable agents"
GREETING = "hello from kitaru"  # str output of `greet`
FACTS = {"topic": TOPIC, "sources": 3, "tags": ["a", "b"]}  # dict output of `gather`
WORDS = ["alpha", "beta", "gamma"]  # list output of `split_words`
WORD_COUNT = 3  # int output of `count_words`
PAIR_SUMMARY = {"summary": "durable agents summarised", "ok": True}  # `pair` output_0
PAIR_SCORE = 17  # `pair` output_1
FINAL_RESULT = "summary ready (score=17)"  # str output of `finalize` = flow result
SAVED_NAME = "seed_response"
SAVED_TYPE = "response"
SAVED_VALUE = "final answer about durable agents"  # kitaru.save(...) inside `pair`

FAILURE_MESSAGE = "deliberate failure"

WAIT_NAME = "approve_seed"
WAIT_QUESTION = "Approve the seeded draft?"
WAIT_METADATA = {"reviewer": "seed-bot", "priority": 2}
WAIT_PREPARED = "draft ready for review"  # str output of `prepare` (before the wait)


# ---------------------------------------------------------------------------
# Completed execution
# ---------------------------------------------------------------------------


@checkpoint
def greet(topic: str) -> str:
    return GREETING


@checkpoint(type="tool_call")
def gather(topic: str) -> dict:
    return dict(FACTS)


@checkpoint
def split_words(text: str) -> list:
    return list(WORDS)


@checkpoint
def count_words(words: list) -> int:
    return len(words)


@checkpoint(type="llm_call")
def pair(facts: dict, count: int) -> Tuple[dict, int]:
    kitaru.save(SAVED_NAME, SAVED_VALUE, type=SAVED_TYPE)
    return dict(PAIR_SUMMARY), PAIR_SCORE


@checkpoint
def finalize(summary: dict, score: int) -> str:
    # Single sink: Kitaru derives a flow's result from its terminal checkpoint,
    # and refuses when that checkpoint has several outputs (like `pair`).
    return f"summary ready (score={score})"


@flow
def seed_completed(topic: str) -> str:
    greeting = greet(topic)
    facts = gather(topic)
    words = split_words(greeting)
    count = count_words(words)
    summary, score = pair(facts, count)
    return finalize(summary, score)


# ---------------------------------------------------------------------------
# Failed execution
# ---------------------------------------------------------------------------


@checkpoint
def boom(topic: str) -> str:
    raise RuntimeError(FAILURE_MESSAGE)


@flow
def seed_failed(topic: str) -> str:
    return boom(topic)


# ---------------------------------------------------------------------------
# Execution left waiting for input
# ---------------------------------------------------------------------------


@checkpoint
def prepare(topic: str) -> str:
    return WAIT_PREPARED


@checkpoint
def publish(draft: str, approved: bool) -> str:
    return f"{draft} (approved={approved})"


@flow
def seed_waiting(topic: str, wait_timeout: int = 0) -> str:
    draft = prepare(topic)
    approved = kitaru.wait(
        name=WAIT_NAME,
        question=WAIT_QUESTION,
        schema=bool,
        metadata=dict(WAIT_METADATA),
        timeout=wait_timeout,
    )
    return publish(draft, approved)
