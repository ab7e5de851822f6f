"""Flows that the run, replay and retry tests start through kitaru-mcp.

The tests copy this file into the seeded project's ``flows/`` package and
run its flows as ``flows/extra_replay.py:<flow>`` (a file target) or
``flows.extra_replay:<flow>`` (a module target).

* ``research_agent(topic)``: ``gather_sources`` (str, from the topic) feeds
  ``summarize`` (dict), the docs' replay example.
* ``flaky(marker)``: ``prepare_flaky`` succeeds; ``fragile`` fails the
  first time it runs for a marker path (and creates the file), then succeeds.
* ``waits_long(topic)``: ``ask``, then a wait ``go`` (bool) with a 600 s
  timeout (its runner keeps polling), then ``publish_answer``.
* ``reports_progress(pages, seconds, batch)``: ``crawl`` reads ``pages``
  pages, ``seconds`` apart, reporting each with ``kitaru.progress``
  (kitaru 0.21; silently on 0.10, which has none), then ``tally``. A fresh
  ``batch`` keeps both from being cached (a cached checkpoint publishes no
  events).
"""

# NB: no `from __future__ import annotations`: ZenML needs real annotations
# on checkpoint outputs.
import os
import time

import kitaru
from kitaru import checkpoint, flow


@checkpoint
def gather_sources(topic: str) -> str:
    return f"notes on {topic}"


@checkpoint
def summarize(notes: str) -> dict:
    return {"summary": notes, "n": len(notes)}


@flow
def research_agent(topic: str) -> dict:
    return summarize(gather_sources(topic))


@checkpoint
def prepare_flaky(marker: str) -> str:
    return "prepared"


@checkpoint
def fragile(prepared: str, marker: str) -> str:
    if not os.path.exists(marker):
        with open(marker, "w", encoding="utf-8") as handle:
            handle.write("failed once")
        raise RuntimeError("first attempt fails")
    return f"{prepared}, then recovered"


@flow
def flaky(marker: str) -> str:
    return fragile(prepare_flaky(marker), marker)


@checkpoint
def ask(topic: str) -> str:
    return f"may I publish {topic}?"


@checkpoint
def publish_answer(question: str, approved: bool) -> str:
    return f"{question} approved={approved}"


@flow
def waits_long(topic: str) -> str:
    question = ask(topic)
    approved = kitaru.wait(name="go", question="Publish?", schema=bool, timeout=600)
    return publish_answer(question, approved)


@checkpoint
def crawl(pages: int, seconds: float, batch: str) -> int:
    report = getattr(kitaru, "progress", None)
    for page in range(1, pages + 1):
        time.sleep(seconds)
        if report is not None:
            report(f"page {page} of {pages}", percent=page / pages)
    return pages


@checkpoint
def tally(pages: int, batch: str) -> str:
    return f"{pages} pages of {batch}"


@flow
def reports_progress(pages: int, seconds: float, batch: str = "") -> str:
    return tally(crawl(pages, seconds, batch), batch)
