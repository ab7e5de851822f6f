"""Reads a secret back with the Python SDK, for the secrets tests.

    python -m flows.secret_read  < {"name": ...}

Prints ``{"values": {...}, "private": bool}`` on the last line.
"""

import json
import sys

from kitaru.secrets import get_secret


def main() -> None:
    request = json.load(sys.stdin)
    secret = get_secret(request["name"])
    print(json.dumps({"values": dict(secret.values), "private": bool(secret.private)}))


if __name__ == "__main__":
    main()
