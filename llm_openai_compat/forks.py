"""How many forks this process came through, so state copied into a child can tell.

A `Runtime` and its `Pools` remember the generation they were made in; after `os.fork()` the
child's generation is higher, and they start afresh instead of using the parent's sockets.
One integer, bumped by the interpreter's own fork hook: cheaper to compare on every call than
`os.getpid()`, which is a system call.
"""

from __future__ import annotations

import os

__all__ = ["generation"]

_count = [0]


def generation() -> int:
    return _count[0]


def _forked() -> None:
    _count[0] += 1


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forked)
