"""What servers' refusals taught about embedding batch sizes, kept by a `Runtime`.

A class of its own (not in `embeddings.py`) so that the runtime, below the embedding layer,
can own one instance per process (`Runtime.embed_limits`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict

__all__ = ["LearnedLimits"]


class LearnedLimits:
    """Per (provider, model): the most inputs and bytes a server accepted, learned from its
    refusals. Bounded (least recently used go first); one per `Runtime` (`Runtime.embed_limits`),
    and injectable (`Client.embed(learned=...)`) where a test or host wants its own."""

    def __init__(self, maxsize: int = 256) -> None:
        self._limits: OrderedDict[tuple[str, str], tuple[int | None, int | None]] = OrderedDict()
        self._lock = threading.Lock()
        self._maxsize = maxsize

    def get(self, key: tuple[str, str]) -> tuple[int | None, int | None]:
        with self._lock:
            found = self._limits.get(key)
            if found is None:
                return None, None
            self._limits.move_to_end(key)
            return found

    def lower(self, key: tuple[str, str], *, inputs: int | None = None, size: int | None = None) -> None:
        with self._lock:
            old_inputs, old_size = self._limits.get(key, (None, None))
            if inputs is not None:
                old_inputs = inputs if old_inputs is None else min(old_inputs, inputs)
            if size is not None:
                old_size = size if old_size is None else min(old_size, size)
            self._limits[key] = (old_inputs, old_size)
            self._limits.move_to_end(key)
            while len(self._limits) > self._maxsize:
                self._limits.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._limits.clear()
