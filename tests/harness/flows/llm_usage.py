"""Start a fresh execution that records LLM usage (kitaru 0.21 line only).

For the tests of the kitaru 0.21 payload fields: usage records and the
execution's usage summary, adapter checkpoints, an llm_call's prompt and a
tool_call's arguments as input artifacts, an in-run retry. Run it with the
0.21 reference venv's python, from the project folder (where ``kitaru init``
ran), with a copy of this file in its ``flows/`` package:

    python -m flows.llm_usage

The usage records are the Kitaru SDK's own: ``kitaru.llm()`` answered by the
SDK's mock (``KITARU_LLM_MOCK_RESPONSE``: no provider, no tokens) and records
built with the SDK's record builder (tokens and estimated costs), logged as
an adapter would log them. The last line of stdout (Kitaru logs there too) is
a JSON object: the new execution's id, and the records the flow logged with
tokens (call name -> input tokens, output tokens, estimated cost or null).
"""

# NB: no `from __future__ import annotations`: ZenML needs real annotations
# on checkpoint outputs.
import json
import os
import sys
import tempfile
import uuid

import kitaru
from kitaru import checkpoint, flow
from kitaru._checkpoint_metadata import adapter_checkpoint_metadata
from kitaru._llm_usage import build_usage_record, usage_record_metadata
from kitaru.checkpoint import _synthetic_checkpoint

MOCK_RESPONSE = "mocked answer"
# call name -> (input tokens, output tokens, estimated cost in USD or None)
RECORDS = {
    "run_level": (3, 2, 0.0001),
    "ask": (11, 7, 0.0003),
    "agent_turn": (20, 5, None),
    "flaky_1": (4, 4, 0.00002),
    "flaky_2": (4, 4, 0.00002),
}


def log_record(call_name: str) -> None:
    tokens_in, tokens_out, cost = RECORDS[call_name]
    record = build_usage_record(
        adapter="kitaru.llm",
        surface="direct_llm",
        call_name=call_name,
        record_id=f"{call_name}:{uuid.uuid4().hex}",
        model="openai/gpt-test",
        requested_model="gpt-test",
        resolved_model="openai/gpt-test",
        provider="openai",
        input_tokens=tokens_in,
        output_tokens=tokens_out,
        estimated_cost_usd=cost,
        latency_ms=12.5,
    )
    kitaru.log(**usage_record_metadata(record))


@checkpoint(type="llm_call", cache=False)
def ask(input: str) -> str:
    log_record("ask")
    return f"answer to {input}"


@checkpoint(type="tool_call", cache=False)
def lookup(tool_args: dict) -> dict:
    return {"found": tool_args["q"]}


@_synthetic_checkpoint(
    type="llm_call",
    cache=False,
    metadata=adapter_checkpoint_metadata(
        adapter="pydantic_ai",
        kind="model_request",
        input_slots=["input"],
        output_slots=["output"],
    ),
)
def agent_turn(input: str) -> str:
    log_record("agent_turn")
    return "turn done"


@checkpoint(retries=1, cache=False)
def flaky(marker: str) -> str:
    """Fails its first attempt (counted in a file named after `marker`)."""
    path = os.path.join(tempfile.gettempdir(), f"kitaru-llm-usage-{marker}")
    attempt = int(open(path).read()) + 1 if os.path.exists(path) else 1
    with open(path, "w") as counter:
        counter.write(str(attempt))
    log_record(f"flaky_{attempt}")
    if attempt == 1:
        raise ValueError("first attempt fails")
    return "steady"


@checkpoint(cache=False)
def finish(a: str, b: dict, c: str, d: str, e: str) -> str:
    return f"{a}|{b}|{c}|{d}|{e}"


@flow
def llm_usage(topic: str, marker: str) -> str:
    log_record("run_level")
    a = ask(topic)
    b = lookup({"q": topic})
    c = agent_turn(a)
    d = flaky(marker)
    # A new prompt each run: never served from the cache.
    e = kitaru.llm(f"say hi to {marker}", model="openai/gpt-test", name="hello")
    return finish(a, b, c, d, e)


def main() -> int:
    os.environ["KITARU_LLM_MOCK_RESPONSE"] = MOCK_RESPONSE
    handle = llm_usage.run("durable agents", uuid.uuid4().hex)
    handle.wait()
    print(json.dumps({"exec_id": str(handle.exec_id), "records": RECORDS}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
