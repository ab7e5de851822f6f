"""Executions of one flow for the cohort tests (``kitaru_executions_cohort``).

Runs ``cohort_flow`` several times, with different inputs: some record a
deployment version in the run's metadata, some fail in ``review``, and on
the kitaru 0.21 line each records LLM usage (different token counts and
costs, so that rankings by usage differ); then replays the first one from
``review`` when the local stack lets it. Run it with the reference venv's
python from the project folder, with a copy of this file in its ``flows/``
package:

    python -m flows.cohort

The last line of stdout is a JSON object: ``runs`` (each run's ``exec_id``,
``started_at`` as the server stores it, and its inputs), oldest first, and
``replay`` (the replay's id, or null).
"""

# NB: no `from __future__ import annotations`: ZenML needs real annotations
# on checkpoint outputs.
import json
import sys
import uuid

import kitaru
from kitaru import checkpoint, flow

try:  # kitaru 0.21: usage records; kitaru 0.10 has none.
    from kitaru._llm_usage import build_usage_record, usage_record_metadata
except ImportError:  # pragma: no cover - the 0.10 line
    build_usage_record = None

# (topic, input tokens, estimated cost, deployment version, fail in review)
RUNS = [
    ("alpha", 10, 0.004, 1, False),
    ("beta", 30, 0.001, 2, False),
    ("gamma", 20, None, None, False),
    ("delta", 5, 0.002, 1, True),
    ("epsilon", 40, 0.003, 1, False),
]


def log_usage(tokens: int, cost) -> None:
    if build_usage_record is None:
        return
    record = build_usage_record(
        adapter="kitaru.llm",
        surface="direct_llm",
        call_name="cohort",
        record_id=f"cohort:{uuid.uuid4().hex}",
        model="openai/gpt-test",
        requested_model="gpt-test",
        resolved_model="openai/gpt-test",
        provider="openai",
        input_tokens=tokens,
        output_tokens=1,
        estimated_cost_usd=cost,
        latency_ms=1.0,
    )
    kitaru.log(**usage_record_metadata(record))


@checkpoint(cache=False)
def draft(topic: str) -> str:
    return f"draft on {topic}"


@checkpoint(cache=False)
def review(text: str, fail: bool) -> str:
    if fail:
        raise RuntimeError("review rejected the draft")
    return f"reviewed: {text}"


@flow
def cohort_flow(topic: str, tokens: int, cost, version, fail: bool) -> str:
    if version is not None:
        kitaru.log(deployment_version=version)
    log_usage(tokens, cost)
    return review(draft(topic), fail)


def main() -> int:
    from kitaru.client import KitaruClient

    client = KitaruClient()
    runs = []
    for topic, tokens, cost, version, fail in RUNS:
        try:
            handle = cohort_flow.run(topic, tokens, cost, version, fail)
            handle.wait()
            exec_id = str(handle.exec_id)
        except Exception as error:  # the failing run raises on wait
            exec_id = getattr(error, "exec_id", None)
            if exec_id is None:
                listed = client.executions.list(flow="cohort_flow", limit=1)
                exec_id = listed[0].exec_id
        execution = client.executions.get(exec_id)
        runs.append(
            {
                "exec_id": exec_id,
                "started_at": execution.started_at.isoformat(),
                "status": str(execution.status.value),
                "topic": topic,
                "version": version,
            }
        )
    replay = None
    try:
        submitted = client.executions.replay(runs[0]["exec_id"], at="review", wait=True)
        replay = json.loads(json.dumps(submitted.to_json(), default=str))
    except Exception as error:  # noqa: BLE001 - the local stack may refuse
        print(f"no replay: {error}", file=sys.stderr)
    print(json.dumps({"runs": runs, "replay": replay}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
