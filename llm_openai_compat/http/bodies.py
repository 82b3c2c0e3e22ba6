"""Reading a whole response body, bounded in size and in time without progress.

The transport's read timeout is per read: any byte resets it. Servers and gateways keep idle
connections open with bytes that say nothing (whitespace before a JSON body, `: comment`
lines in an event stream), so a server that only ever sends those would keep a caller waiting
forever. A body read whole therefore stops when nothing but keep-alives arrived for the read
timeout (`stalled`), and at a size limit (`overflowed`; an error body is then cut there).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Callable, Iterator

import httpx2

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_IDLE_BYTES",
    "MAX_STREAM_BYTES",
    "BodyReader",
    "achunks",
    "aread_body",
    "chunks",
    "only_keepalives",
    "read_body",
]

# A whole body larger than this is refused: no answer is this big, and a hostile server must
# not grow memory without bound (an event stream is bounded per event by the SSE decoder).
MAX_BODY_BYTES = 64 * 1024 * 1024
# The limits count *decoded* bytes: gzip turns 1 MB on the wire into 1 GB of keep-alive lines.
# An event stream may run long (a long answer is many small events), but not without bound,
# and keep-alives between two events say nothing: a megabyte of them is an attack, not a pause.
MAX_STREAM_BYTES = 256 * 1024 * 1024
MAX_IDLE_BYTES = 1024 * 1024

_QUIET_ERRORS = (httpx2.HTTPError, httpx2.InvalidURL, UnicodeError)


def _identity(response: httpx2.Response) -> bool:
    encoding = response.headers.get("content-encoding")
    return not encoding or encoding.strip().lower() == "identity"


def chunks(response: httpx2.Response) -> Iterator[bytes]:
    """The body's bytes as they arrive: the stream itself when the server sent them without a
    content-encoding (httpx2's decoder chain costs about as much as the rest of reading a small
    body, for nothing), else decoded by httpx2. The caller closes the response."""
    if _identity(response):
        return iter(response.stream)  # type: ignore[arg-type]  # a sync response's stream
    return response.iter_bytes()


def achunks(response: httpx2.Response) -> AsyncIterator[bytes]:
    """The async twin of `chunks`."""
    if _identity(response):
        return aiter(response.stream)  # type: ignore[arg-type]
    return response.aiter_bytes()


def only_keepalives(chunk: bytes) -> bool:
    """True when `chunk` holds nothing but whitespace and `:` comment lines."""
    head = chunk.lstrip()  # the chunk itself (no copy) when it starts with content
    if not head:
        return True
    if head[:1] != b":":
        # Content first: how nearly every chunk of a body starts, decided without a scan of
        # it (splitting a 64 KB chunk into lines cost as much as httpx2's whole read of it).
        return False
    for line in head.split(b"\n"):
        stripped = line.strip()
        if stripped and not stripped.startswith(b":"):
            return False
    return True


class BodyReader:
    """Collects chunks; `add` says whether to keep reading."""

    def __init__(
        self, idle_s: float, limit: int | None = None, clock: Callable[[], float] = time.monotonic,
        late: Callable[[], bool] | None = None,
    ) -> None:
        self.parts: list[bytes] = []
        self.late = False  # the call's deadline passed while the body arrived
        self._expired = late
        self.size = 0
        self.limit = limit
        self.idle_s = idle_s
        self.stalled = False
        self.overflowed = False
        self._clock = clock
        self._last = clock()

    def add(self, chunk: bytes) -> bool:
        self.parts.append(chunk)
        self.size += len(chunk)
        if self._expired is not None and self._expired():
            self.late = True
            return False
        now = self._clock()
        if not only_keepalives(chunk):
            self._last = now
        elif now - self._last > self.idle_s:
            self.stalled = True
            return False
        if self.limit is not None and self.size > self.limit:
            # Strictly over: a body of exactly `limit` bytes may be whole, so one more chunk
            # (or the end) decides. Decoders hand out pieces of exact powers of two.
            self.overflowed = True
            return False
        return True

    def content(self) -> bytes:
        data = b"".join(self.parts)
        return data if self.limit is None else data[: self.limit]


def read_body(
    response: httpx2.Response, idle_s: float, limit: int | None = MAX_BODY_BYTES, *,
    quiet: bool = False, late: Callable[[], bool] | None = None,
) -> BodyReader:
    """Read the body (httpx2 errors propagate unless `quiet`). Unless it stalled, overflowed or
    ran past the deadline (`late()` true), the response's `.content` is set, as
    `Response.read()` would."""
    reader = BodyReader(idle_s, limit, late=late)
    with contextlib.suppress(*(_QUIET_ERRORS if quiet else ())):
        for chunk in chunks(response):
            if not reader.add(chunk):
                break
    if not reader.stalled and not reader.overflowed and not reader.late:
        response._content = reader.content()
    return reader


async def aread_body(
    response: httpx2.Response, idle_s: float, limit: int | None = MAX_BODY_BYTES, *,
    quiet: bool = False, late: Callable[[], bool] | None = None,
) -> BodyReader:
    """The async twin of `read_body`."""
    reader = BodyReader(idle_s, limit, late=late)
    with contextlib.suppress(*(_QUIET_ERRORS if quiet else ())):
        async with contextlib.aclosing(achunks(response)) as pieces:  # type: ignore[type-var]
            async for chunk in pieces:
                if not reader.add(chunk):
                    break
    if not reader.stalled and not reader.overflowed and not reader.late:
        response._content = reader.content()
    return reader
