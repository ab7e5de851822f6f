"""One real execution of the flow ``paged``, for the paging tests: they
record more executions of its snapshot over REST (steps and all would take
seconds each), and no other test reads this flow. Run it with the reference
venv's python from the project folder, with a copy of this file in its
``flows/`` package:

    python -m flows.paged

The last line of stdout is the new execution's id, as JSON.
"""

# NB: no `from __future__ import annotations`: ZenML needs real annotations
# on checkpoint outputs.
import json
import sys

from kitaru import checkpoint, flow


@checkpoint
def page_item() -> str:
    return "one item"


@flow
def paged() -> str:
    return page_item()


def main() -> int:
    handle = paged.run()
    print(json.dumps(str(handle.exec_id)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
