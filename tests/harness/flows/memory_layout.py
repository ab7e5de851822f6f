"""Durable memory written with ZenML alone, in kitaru 0.10's storage layout.

Kitaru dropped its memory API in 0.11, so on the 0.21 line there is no
Python writer for the memory entries the harness seeds (and the memory
tests write). This module writes them as kitaru 0.10's ``memory.set`` /
``memory.delete`` do outside a flow: one ZenML artifact per key, named
``kitaru_mem:<scope_type>:<scope>:<key>``, a new version per write, tagged
``kitaru:memory``, ``kitaru:memory:scope:<scope>``,
``kitaru:memory:key:<key>`` and ``kitaru:memory:scope_type:<scope_type>``,
with the run metadata ``kitaru_memory_scope_type`` and
``kitaru_memory_deleted`` (a delete is a version holding ``None``).

Flow and execution scopes are not written here: 0.10 adds flow metadata to
those that only a running 0.10 flow knows.
"""

import functools
from typing import Any

from zenml.artifacts.utils import save_artifact
from zenml.enums import ArtifactType


@functools.cache
def memory_available() -> bool:
    """Whether this kitaru has the memory API (0.10, not 0.11 and later)."""
    try:
        from kitaru import memory  # noqa: F401
    except ImportError:
        return False
    return True


def record(scope: str, key: str, value: Any, *, deleted: bool = False, scope_type: str = "namespace") -> None:
    """One version of ``key``, as ``memory.set`` (``memory.delete`` when
    ``deleted``) outside a flow makes it: with kitaru's memory API where it
    has one, else with :func:`write`."""
    if not memory_available():
        write(scope, key, value, deleted=deleted, scope_type=scope_type)
        return
    from kitaru import memory

    memory.configure(scope=scope, scope_type=scope_type)
    if deleted:
        memory.delete(key)
    else:
        memory.set(key, value)


def write(scope: str, key: str, value: Any, *, deleted: bool = False, scope_type: str = "namespace") -> None:
    """One memory version of ``key`` in a namespace scope: ``value``, or a
    tombstone when ``deleted``."""
    if scope_type != "namespace":
        raise ValueError(f"only namespace scopes can be written without kitaru.memory, not {scope_type!r}")
    save_artifact(
        data=None if deleted else value,
        name=f"kitaru_mem:{scope_type}:{scope}:{key}",
        artifact_type=ArtifactType.DATA,
        tags=[
            "kitaru:memory",
            f"kitaru:memory:scope:{scope}",
            f"kitaru:memory:key:{key}",
            f"kitaru:memory:scope_type:{scope_type}",
        ],
        user_metadata={"kitaru_memory_scope_type": scope_type, "kitaru_memory_deleted": deleted},
    )
