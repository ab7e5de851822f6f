"""What kitaru 0.21 makes of a Modal stack given no cloud connector inputs,
for the connector-reuse tests: the service connectors it would reuse and the
stack request it would send. Creating the stack itself needs the `modal`
Python package, which the reference environment lacks, so only the request
is built here (with the connected server's connectors).

    python -m flows.modal_reuse  < {"name": ..., "artifact_store": ..., "container_registry": ...}

Prints ``{"request": <StackRequest as JSON>}`` or ``{"error": <message>}``
on the last line.
"""

import json
import sys

from zenml.client import Client

from kitaru._config import _stacks


def main() -> None:
    request = json.load(sys.stdin)
    spec = _stacks.ModalStackSpec(
        artifact_store=request["artifact_store"],
        container_registry=request["container_registry"],
    )
    provider = _stacks._infer_cloud_provider_from_artifact_store(spec.artifact_store)
    try:
        existing = _stacks._resolve_modal_existing_connectors(
            spec, provider=provider, client=Client()
        )
        stack_request = _stacks._build_modal_stack_request(
            request["name"], spec=spec, existing_connectors=existing, labels=None
        )
    except Exception as exc:  # the refusal is what is compared
        print(json.dumps({"error": str(exc), "type": type(exc).__name__}))
        return
    print(json.dumps({"request": stack_request.model_dump(mode="json")}))


if __name__ == "__main__":
    main()
