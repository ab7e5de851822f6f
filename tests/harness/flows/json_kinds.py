"""A flow whose checkpoints return a value of every JSON kind, and a few
values beyond JSON that the Rust SDK reads without Python (not part of the
seed).

For the tests of the content hashes `kitaru_executions_diff` shows: SHA-256
of `json.dumps(value, sort_keys=True, default=str)` as the Python SDK
writes it (escapes, separators, float forms, key order). Run it with the
harness venv's python, from the project folder, with a copy of this file in
its ``flows/`` package:

    python -m flows.json_kinds

The last line of stdout is a JSON object: the new execution's id.
"""

# NB: no `from __future__ import annotations`: ZenML needs real annotations
# on checkpoint outputs.
import json
import sys
import uuid

from pydantic import BaseModel

from kitaru import checkpoint, flow


class Verdict(BaseModel):
    """Stored by ZenML's pydantic materializer."""

    label: str
    score: float
    tags: list


@checkpoint
def a_string(seed: str) -> str:
    return "caf\u00e9 \u2713 \U0001F600 \"quoted\" back\\slash\ttab\nline \x01 \x7f"


@checkpoint
def an_int(seed: str) -> int:
    return -42


@checkpoint
def a_float(seed: str) -> float:
    return 0.1


@checkpoint
def a_small_float(seed: str) -> float:
    return 1e-05


@checkpoint
def a_whole_float(seed: str) -> float:
    return 123.0


@checkpoint
def a_bool(seed: str) -> bool:
    return True


@checkpoint
def a_list(seed: str) -> list:
    return [1, 2.5, "two", None, False, [], {}, [3, [4]], {"b": 1, "a": None}]


@checkpoint
def a_dict(seed: str) -> dict:
    return {
        "zeta": 1,
        "alpha": {"y": [1e16, -0.0, 2.0], "x": None},
        "\u00e9t\u00e9": "\u00fcber",
        "A": True,
        "": "",
        "10": 10,
        "9": 9,
    }


@checkpoint
def an_empty_dict(seed: str) -> dict:
    return {}


@checkpoint
def some_bytes(seed: str) -> bytes:
    return b"\x00raw'\"bytes"


@checkpoint
def a_tuple(seed: str) -> tuple:
    return (1, "two", 3.5)


@checkpoint
def a_uuid(seed: str) -> uuid.UUID:
    return uuid.UUID("12345678-1234-5678-1234-567812345678")


@checkpoint
def a_model(seed: str) -> Verdict:
    return Verdict(label="it's fine", score=0.5, tags=["x", "y"])


@flow
def json_kinds(seed: str) -> str:
    for make in (
        a_string,
        an_int,
        a_float,
        a_small_float,
        a_whole_float,
        a_bool,
        a_list,
        a_dict,
        an_empty_dict,
        some_bytes,
        a_tuple,
        a_uuid,
        a_model,
    ):
        make(seed)
    return "done"


def main() -> int:
    handle = json_kinds.run("kinds")
    handle.wait()
    print(json.dumps({"exec_id": str(handle.exec_id)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
