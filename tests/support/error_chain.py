"""Walk an error's causes, for tests that search every message in a chain for secrets."""

from __future__ import annotations

from collections.abc import Iterator


def iter_chain(error: BaseException) -> Iterator[BaseException]:
    """The error, then each `__cause__` (or else `__context__`), each once."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__
