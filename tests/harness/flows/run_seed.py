"""Seed a fresh Kitaru server with real data, in one Python process.

Usage (from the project folder where ``kitaru init`` ran, with the reference
venv's python and the isolated ``ZENML_CONFIG_PATH`` in the environment):

    python -m flows.run_seed --out RESULT.json

Creates: a completed execution, a failed execution, an execution left waiting
for input, durable memory entries in a namespace scope and a secret. Writes a
small JSON report (ids returned by the SDK, the expected values) to RESULT.json;
the harness then reads every fact back from the server over REST.
Progress goes to stderr; stdout is left to Kitaru's own logging.
"""

import argparse
import json
import sys
import time
import traceback

MEMORY_SCOPE = "seed-ns"
MEMORY_SCOPE_TYPE = "namespace"
# key -> list of values written in order; None means "delete" (tombstone).
MEMORY_WRITES = [
    ("greeting", "hello"),
    ("prefs", {"theme": "dark", "lang": "en"}),
    ("counter", 1),
    ("counter", 2),
    ("obsolete", "to be removed"),
    ("obsolete", None),
]

SECRET_NAME = "seed-secret"
SECRET_VALUES = {
    "API_KEY": "sk-seed-not-a-real-key",
    "ENDPOINT": "https://example.invalid/v1",
}


def _log(message: str) -> None:
    print(f"[seed] {message}", file=sys.stderr, flush=True)


class _Timer:
    def __init__(self) -> None:
        self.timings: dict = {}

    def step(self, name: str):
        timer = self

        class _Ctx:
            def __enter__(self):
                self.start = time.monotonic()
                _log(f"{name} ...")

            def __exit__(self, *exc):
                elapsed = round(time.monotonic() - self.start, 3)
                timer.timings[name] = elapsed
                _log(f"{name} done in {elapsed}s" if exc[0] is None else f"{name} FAILED after {elapsed}s")
                return False

        return _Ctx()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--wait-timeout", type=int, default=0)
    args = parser.parse_args()

    timer = _Timer()
    report: dict = {"timings": timer.timings}

    with timer.step("import"):
        import kitaru

        from flows import memory_layout
        from flows import seed_flows as flows

    # --- completed execution ------------------------------------------------
    with timer.step("completed flow"):
        handle = flows.seed_completed.run(flows.TOPIC)
        result = handle.wait()
        if result != flows.FINAL_RESULT:
            raise SystemExit(f"seed_completed returned {result!r}, expected {flows.FINAL_RESULT!r}")
        report["completed"] = {"exec_id": handle.exec_id, "result": result}

    # --- failed execution ---------------------------------------------------
    with timer.step("failed flow"):
        try:
            handle = flows.seed_failed.run(flows.TOPIC)
            handle.wait()
        except Exception as exc:  # expected: the checkpoint raises
            report["failed"] = {"raised": f"{type(exc).__name__}: {exc}"}
        else:
            raise SystemExit("seed_failed unexpectedly succeeded")

    # --- execution waiting for input ------------------------------------------
    with timer.step("waiting flow"):
        handle = flows.seed_waiting.run(flows.TOPIC, wait_timeout=args.wait_timeout)
        report["waiting"] = {"exec_id": handle.exec_id}

    # --- durable memory -------------------------------------------------------
    # kitaru 0.10 writes with its memory API; later lines have none, and the
    # same versions are written in its storage layout with ZenML alone.
    with timer.step("memory"):
        for key, value in MEMORY_WRITES:
            memory_layout.record(MEMORY_SCOPE, key, value, deleted=value is None, scope_type=MEMORY_SCOPE_TYPE)
        report["memory"] = {
            "written_by": "kitaru.memory" if memory_layout.memory_available() else "flows.memory_layout",
            "scope": MEMORY_SCOPE,
            "scope_type": MEMORY_SCOPE_TYPE,
            "writes": [[key, value] for key, value in MEMORY_WRITES],
        }

    # --- secret ---------------------------------------------------------------
    with timer.step("secret"):
        summary = kitaru.create_secret(SECRET_NAME, SECRET_VALUES)
        report["secret"] = {
            "id": str(summary.id),
            "name": summary.name,
            "keys": sorted(summary.keys),
            "values": dict(SECRET_VALUES),
        }

    report["expected"] = {
        "completed_flow": flows.COMPLETED_FLOW,
        "failed_flow": flows.FAILED_FLOW,
        "waiting_flow": flows.WAITING_FLOW,
        "topic": flows.TOPIC,
        # checkpoint name -> {output name -> value}
        "checkpoint_outputs": {
            "greet": {"output": flows.GREETING},
            "gather": {"output": flows.FACTS},
            "split_words": {"output": flows.WORDS},
            "count_words": {"output": flows.WORD_COUNT},
            "pair": {"output_0": flows.PAIR_SUMMARY, "output_1": flows.PAIR_SCORE},
            "finalize": {"output": flows.FINAL_RESULT},
        },
        "checkpoint_types": {"gather": "tool_call", "pair": "llm_call"},
        "saved": {
            "checkpoint": "pair",
            "name": flows.SAVED_NAME,
            "type": flows.SAVED_TYPE,
            "value": flows.SAVED_VALUE,
        },
        "failed_checkpoint": "boom",
        "failure_message": flows.FAILURE_MESSAGE,
        "wait": {
            "name": flows.WAIT_NAME,
            "question": flows.WAIT_QUESTION,
            "metadata": flows.WAIT_METADATA,
            "schema": {"type": "boolean"},
            "checkpoint_before": "prepare",
            "checkpoint_before_output": flows.WAIT_PREPARED,
        },
    }

    with open(args.out, "w", encoding="utf-8") as fh:
        json.dump(report, fh, indent=2, sort_keys=True)
    _log(f"report written to {args.out}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except SystemExit:
        raise
    except BaseException:
        traceback.print_exc()
        sys.exit(1)
