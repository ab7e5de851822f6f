"""Start fresh executions that wait for input, for tests that change them.

The seeded waiting execution is shared by every test; tests that cancel an
execution or give it input start their own with this script instead. Run it
with the reference venv's python, from the project folder (where ``kitaru
init`` ran), with a copy of this file in its ``flows/`` package:

    python -m flows.extra_waiting COUNT

Each execution runs checkpoint ``draft``, then waits on ``approve_extra``
(``schema=bool``) with ``timeout=0``, so the runner pauses it at once. The
last line of stdout (Kitaru logs there too) is a JSON list of the new
execution ids, oldest first.
"""

# NB: no `from __future__ import annotations`: ZenML needs real annotations
# on checkpoint outputs.
import json
import sys

import kitaru
from kitaru import checkpoint, flow

WAIT_NAME = "approve_extra"
WAIT_QUESTION = "Approve the extra draft?"


@checkpoint
def draft(topic: str) -> str:
    return f"draft about {topic}"


@checkpoint
def publish_extra(text: str, approved: bool) -> str:
    return f"{text} (approved={approved})"


@flow
def extra_waiting(topic: str) -> str:
    text = draft(topic)
    approved = kitaru.wait(
        name=WAIT_NAME,
        question=WAIT_QUESTION,
        schema=bool,
        metadata={"purpose": "mutating tests"},
        timeout=0,
    )
    return publish_extra(text, approved)


def main() -> int:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    ids = [str(extra_waiting.run(f"topic {index}").exec_id) for index in range(count)]
    print(json.dumps(ids), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
