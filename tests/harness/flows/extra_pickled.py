"""A flow whose checkpoints return values beyond plain JSON (not part of the seed).

`tests/real_server/sdk_artifacts.rs` runs it to check what
`kitaru_artifacts_get` returns for such values: a custom class instance
(stored with cloudpickle, so only Python can read it back), bytes, a tuple, a
set, a list and a dict holding bytes (stored element by element), a pydantic
model and a UUID. Run from the project folder of a harness server, with the harness
venv's python and the server's environment:

    python -m flows.extra_pickled

It runs the flow once and prints one JSON object on the last line of stdout:
checkpoint name -> artifact version id of its output.
"""

# NB: no `from __future__ import annotations`: ZenML needs real annotations
# on checkpoint outputs.
import json
import uuid

from pydantic import BaseModel

from kitaru import checkpoint, flow


class Custom:
    """A class ZenML has no materializer for: stored with cloudpickle."""

    def __init__(self, label: str) -> None:
        self.label = label


class Report(BaseModel):
    """Stored by ZenML's pydantic materializer as `data_v2.json`."""

    title: str
    score: float
    tags: list


@checkpoint
def make_custom(label: str) -> Custom:
    return Custom(label)


@checkpoint
def make_bytes(label: str) -> bytes:
    return b"\x00\x01raw'"


@checkpoint
def make_tuple(label: str) -> tuple:
    return (1, "two", 3.5)


@checkpoint
def make_set(label: str) -> set:
    return {"pear", "apple", "fig"}


@checkpoint
def make_mixed_list(label: str) -> list:
    return [1, b"\x00raw", "caf\u00e9 \"q\"", [2, 3]]


@checkpoint
def make_bytes_dict(label: str) -> dict:
    return {"blob": b"\xffdata", 7: "seven"}


@checkpoint
def make_report(label: str) -> Report:
    return Report(title=label, score=0.5, tags=["x", "y"])


@checkpoint
def make_uuid(label: str) -> uuid.UUID:
    return uuid.UUID("12345678-1234-5678-1234-567812345678")


@checkpoint
def make_float(label: str) -> float:
    return 1e16


@checkpoint
def collect(
    custom: Custom,
    raw: bytes,
    numbers: tuple,
    fruits: set,
    mixed: list,
    blobs: dict,
    report: Report,
    ident: uuid.UUID,
    big: float,
) -> str:
    return f"collected {custom.label}"


@flow
def extra_values(label: str) -> str:
    return collect(
        make_custom(label),
        make_bytes(label),
        make_tuple(label),
        make_set(label),
        make_mixed_list(label),
        make_bytes_dict(label),
        make_report(label),
        make_uuid(label),
        make_float(label),
    )


def main() -> None:
    from zenml.client import Client

    handle = extra_values.run("pickled")
    handle.wait()
    run = Client().get_pipeline_run(handle.exec_id)
    ids = {}
    for step_name, step in run.steps.items():
        for versions in step.outputs.values():
            for version in versions:
                ids[step_name.removeprefix("__kitaru_checkpoint_source_")] = str(version.id)
    print(json.dumps(ids))


if __name__ == "__main__":
    main()
