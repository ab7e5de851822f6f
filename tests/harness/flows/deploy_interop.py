"""Deployments made and read by the Python SDK, for the interop tests.

Run with the reference venv's python from the seeded project folder, with
this file and ``extra_replay.py`` in its ``flows/`` package:

    python -m flows.deploy_interop deploy TAG EXCLUSIVE TOPIC
    python -m flows.deploy_interop list

``deploy`` deploys ``flows.extra_replay:research_agent`` with input
``topic`` — on the local stack, which the Kitaru server cannot run remotely,
so the server-runnable check is switched off here (as the behaviour
contract captured it); everything else is the SDK's own. ``list`` prints the
SDK's view of that flow's deployments. The last stdout line is JSON.
"""

import json
import sys

from kitaru.client import KitaruClient

from flows.extra_replay import research_agent


def _no_stack_check(**_):
    return None


def _record(deployment):
    return {
        "deployment_id": str(deployment.deployment_id),
        "flow": deployment.flow,
        "version": deployment.version,
        "tags": dict(deployment.tags),
        "stack": deployment.stack,
    }


def main() -> None:
    command = sys.argv[1]
    if command == "deploy":
        tag, exclusive, topic = sys.argv[2], sys.argv[3] == "true", sys.argv[4]
        sys.modules["kitaru.flow"].ensure_stack_is_server_runnable = _no_stack_check
        deployment = research_agent.deploy(topic=topic, tags={tag: exclusive})
        print(json.dumps(_record(deployment)))
    elif command == "list":
        deployments = KitaruClient().deployments.list(flow="research_agent")
        print(json.dumps([_record(d) for d in deployments]))
    else:
        raise SystemExit(f"unknown command {command}")


if __name__ == "__main__":
    main()
