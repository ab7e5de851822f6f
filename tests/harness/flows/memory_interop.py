"""The Python side of the memory interoperability tests.

Run from the project folder of a harness server, with the harness venv's
python and the server's environment:

    python -m flows.memory_interop <command>  < request.json

Each command reads one JSON request on stdin and prints one JSON answer on
the last line of stdout:

* ``write``: ``{"scope", "scope_type", "items": [[key, value], ...]}`` ->
  sets each key with the Python SDK (outside a flow); answers ``{}``.
* ``read``: ``{"scope", "scope_type", "keys": [...]}`` -> what the Python
  SDK reads: ``{key: {"value", "entry"}}`` (``entry`` null for a missing key).
* ``flow``: ``{"items": [[key, value], ...], "read_keys": [...]}`` -> runs a
  real flow that reads ``read_keys`` from its flow scope, then writes each
  item both in its flow scope and in its execution scope; answers
  ``{"exec_id", "flow_id", "read": {key: value}}``.
* ``log``: ``{"scope", "scope_type"}`` -> the scope's audit log as the
  Python SDK reads it: ``{"records": [...]}``.
* ``pickled``: ``{"scope", "key"}`` -> sets a value of a class ZenML stores
  with cloudpickle (namespace scope); answers ``{}``.

Kitaru 0.11 dropped the memory API. On such a line (0.21) ``write`` and
``pickled`` write namespace scopes in kitaru 0.10's storage layout
(``flows.memory_layout``), and the commands that need the Python SDK to read
memory or a flow to use it (``read``, ``flow``, ``log``) are refused: the
tests leave out the Python side there.
"""

# NB: no `from __future__ import annotations`: ZenML needs real annotations
# on checkpoint outputs.
import json
import sys
from typing import Any

from kitaru import checkpoint, flow
from kitaru.client import KitaruClient

from flows import memory_layout

if memory_layout.memory_available():
    from kitaru import memory
else:
    memory = None


class Opaque:
    """A class without a ZenML materializer: stored with cloudpickle."""

    def __init__(self, label: str) -> None:
        self.label = label


@checkpoint
def echo(value: Any) -> Any:
    return value


@flow
def memory_interop(items: list, read_keys: list) -> None:
    memory.configure(scope_type="flow")
    # In a flow, `memory.get` is a step: its output goes through `echo`
    # (one call per key, named echo, echo_2, ...) to be read back below.
    for key in read_keys:
        echo(memory.get(key))
    for key, value in items:
        memory.set(key, value)
    memory.configure(scope_type="execution")
    for key, value in items:
        memory.set(key, value)


def entry_json(entry) -> dict | None:
    if entry is None:
        return None
    return json.loads(entry.model_dump_json())


def main() -> None:
    command = sys.argv[1]
    request = json.load(sys.stdin)
    answer: dict = {}
    if memory is None and command not in ("write", "pickled"):
        raise SystemExit(f"memory_interop {command}: this kitaru has no memory API (dropped in 0.11)")
    if command == "write":
        for key, value in request["items"]:
            memory_layout.record(request["scope"], key, value, scope_type=request["scope_type"])
    elif command == "read":
        memory.configure(scope=request["scope"], scope_type=request["scope_type"])
        client = KitaruClient()
        for key in request["keys"]:
            entry = client.memories.get(key, scope=request["scope"], scope_type=request["scope_type"])
            answer[key] = {"value": memory.get(key, strict=True), "entry": entry_json(entry)}
    elif command == "flow":
        from zenml.client import Client

        handle = memory_interop.run(request["items"], request["read_keys"])
        # Memory calls are steps of their own, so the flow has several ends.
        try:
            handle.wait()
        except Exception:
            pass
        run = Client().get_pipeline_run(handle.exec_id)
        if run.status.value != "completed":
            raise SystemExit(f"the interop flow ended {run.status.value}")
        steps = {name.removeprefix("__kitaru_checkpoint_source_"): step for name, step in run.steps.items()}
        read = {}
        for index, key in enumerate(request["read_keys"]):
            read[key] = steps["echo" if index == 0 else f"echo_{index + 1}"].output.load()
        answer = {"exec_id": str(handle.exec_id), "flow_id": str(run.pipeline.id), "read": read}
    elif command == "log":
        records = KitaruClient().memories.compaction_log(
            scope=request["scope"], scope_type=request["scope_type"]
        )
        answer = {"records": [json.loads(record.model_dump_json()) for record in records]}
    elif command == "pickled":
        memory_layout.record(request["scope"], request["key"], Opaque("only Python can read me"))
    else:
        raise SystemExit(f"unknown command {command!r}")
    print(json.dumps(answer))


if __name__ == "__main__":
    main()
