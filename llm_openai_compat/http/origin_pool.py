"""One origin's connections, handed out without scanning them (`OriginPool`, and its async
twin `AsyncOriginPool`).

httpcore2's pool, on every request and every response closed, walks all of its connections
and asks each whether it expired, a socket poll (through anyio's attribute machinery when
async): at 50 requests in flight that walk was about half of all the CPU a request took, and
for one streamed request its scheduling (a pool request, an event, the walk) was a tenth of
the time to first text the client adds (docs/performance.md).
A route of ours serves one origin, so its connections are interchangeable: this pool keeps the
idle ones on a stack, checks only the one it hands out (and the oldest, so stale sockets do not
linger), and wakes one waiter when a connection comes back. The connections themselves are made
by the httpcore2 pool httpx2 configured (`create_connection`: its TLS context, keep-alive
expiry, proxy or SOCKS connections), so only the scheduling is ours. At most `max_connections`
are open; a request waits for one up to the pool timeout (`httpcore2.PoolTimeout`).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpcore2

from .sending import HeadCache, install

__all__ = ["AsyncOriginPool", "OriginPool"]


class OriginPool:
    """`handle_request` as httpcore2's pool has it; connections from `base`. Thread-safe: the
    idle stack and the count are kept under a lock, and a request waiting for a connection
    waits on a condition that a release notifies."""

    def __init__(self, base: Any, max_connections: int) -> None:
        self._base = base  # an httpcore2.ConnectionPool (or proxy pool), never sent on
        self._max = max(1, max_connections)
        self._idle: list[Any] = []
        self._open = 0  # idle + in use
        self._free = threading.Condition(threading.Lock())
        self._closed = False
        self._heads = HeadCache()  # the headers its keep-alive connections send, validated

    def __repr__(self) -> str:
        return f"OriginPool({self._open} open, {len(self._idle)} idle, max {self._max})"

    @property
    def open_connections(self) -> int:
        return self._open

    def handle_request(self, request: Any) -> Any:
        _check_scheme(request)
        timeouts = request.extensions.get("timeout", {})
        connection = self._acquire(request.url.origin, timeouts.get("pool"))
        try:
            response = connection.handle_request(request)
        except BaseException:
            self._release(connection)
            raise
        return httpcore2.Response(
            status=response.status,
            headers=response.headers,
            content=_Released(response.stream, self, connection),
            extensions=response.extensions,
        )

    def _acquire(self, origin: Any, timeout: float | None) -> Any:
        stale: list[Any] = []
        try:
            with self._free:
                if self._closed:
                    raise httpcore2.PoolTimeout("The connection pool was closed")
                idle = self._idle
                if len(idle) > 1 and _unusable(idle[0], origin):  # the oldest: stale sockets go
                    stale.append(idle.pop(0))
                    self._open -= 1
                    self._free.notify()  # its slot is free for a waiter
                until = None if timeout is None else time.monotonic() + timeout
                while True:
                    if self._closed:  # closed while this request waited
                        raise httpcore2.PoolTimeout("The connection pool was closed")
                    while idle:
                        connection = idle.pop()
                        if not _unusable(connection, origin):
                            return connection
                        stale.append(connection)
                        self._open -= 1
                        self._free.notify()
                    if self._open < self._max:
                        connection = self._base.create_connection(origin)  # no I/O until used
                        self._open += 1
                        return connection
                    left = None if until is None else until - time.monotonic()
                    if (left is not None and left <= 0) or not self._free.wait(left):
                        raise httpcore2.PoolTimeout("Timed out waiting for a free connection")
        finally:
            for connection in stale:
                _close_quietly(connection)

    def _release(self, connection: Any) -> None:
        """A connection back from a request: kept if it can serve another, else closed."""
        with self._free:
            keep = not self._closed and connection.is_available() and not connection.is_closed()
            if keep:
                install(connection, self._heads)
                self._idle.append(connection)
            else:
                self._open -= 1
            self._free.notify()
        if not keep:
            _close_quietly(connection)

    def close(self) -> None:
        """Close the idle connections now; those in use close when their response does."""
        with self._free:
            self._closed = True
            idle, self._idle = self._idle, []
            self._open -= len(idle)
            self._free.notify_all()
        for connection in idle:
            _close_quietly(connection)


def _close_quietly(connection: Any) -> None:
    with contextlib.suppress(Exception):  # failing to close, it is gone either way
        connection.close()


class AsyncOriginPool:
    """`handle_async_request` as httpcore2's pool has it; connections from `base`."""

    def __init__(self, base: Any, max_connections: int) -> None:
        self._base = base  # an httpcore2.AsyncConnectionPool (or proxy pool), never sent on
        self._max = max(1, max_connections)
        self._idle: list[Any] = []
        self._open = 0  # idle + in use
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self._closed = False
        self._heads = HeadCache()

    def __repr__(self) -> str:
        return f"AsyncOriginPool({self._open} open, {len(self._idle)} idle, max {self._max})"

    @property
    def open_connections(self) -> int:
        return self._open

    async def handle_async_request(self, request: Any) -> Any:
        _check_scheme(request)
        timeouts = request.extensions.get("timeout", {})
        connection = await self._acquire(request.url.origin, timeouts.get("pool"))
        try:
            response = await connection.handle_async_request(request)
        except BaseException:
            await self._release(connection)
            raise
        return httpcore2.Response(
            status=response.status,
            headers=response.headers,
            content=_AReleased(response.stream, self, connection),
            extensions=response.extensions,
        )

    async def _acquire(self, origin: Any, timeout: float | None) -> Any:
        if self._closed:
            raise httpcore2.PoolTimeout("The connection pool was closed")
        idle = self._idle
        if len(idle) > 1 and _unusable(idle[0], origin):  # the oldest: stale sockets go
            await self._discard(idle.pop(0))
        while True:
            if self._closed:  # closed while this request waited
                raise httpcore2.PoolTimeout("The connection pool was closed")
            while idle:
                connection = idle.pop()
                if not _unusable(connection, origin):
                    return connection
                await self._discard(connection)
            if self._open < self._max:
                self._open += 1
                try:
                    return self._base.create_connection(origin)
                except BaseException:
                    self._open -= 1
                    raise
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await asyncio.wait_for(waiter, timeout)
            except BaseException as exc:
                if waiter.done() and not waiter.cancelled():
                    self._wake()  # woken as it gave up: the wake-up goes to the next waiter
                elif waiter in self._waiters:
                    self._waiters.remove(waiter)
                if isinstance(exc, asyncio.TimeoutError):
                    raise httpcore2.PoolTimeout("Timed out waiting for a free connection") from None
                raise

    async def _release(self, connection: Any) -> None:
        """A connection back from a request: kept if it can serve another, else closed."""
        if not self._closed and connection.is_available() and not connection.is_closed():
            install(connection, self._heads)
            self._idle.append(connection)
            self._wake()
        else:
            await self._discard(connection)

    async def _discard(self, connection: Any) -> None:
        self._open -= 1
        self._wake()
        with contextlib.suppress(Exception):  # failing to close, it is gone either way
            await connection.aclose()

    def _wake(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    async def aclose(self) -> None:
        """Close the idle connections now; those in use close when their response does."""
        self._closed = True
        idle, self._idle = self._idle, []
        for connection in idle:
            await self._discard(connection)
        while self._waiters:  # each finds the pool closed
            self._wake()


def _check_scheme(request: Any) -> None:
    """httpcore2's pool's own check, before anything else."""
    scheme = request.url.scheme.decode()
    if scheme == "":
        raise httpcore2.UnsupportedProtocol(
            "Request URL is missing an 'http://' or 'https://' protocol."
        )
    if scheme not in ("http", "https", "ws", "wss"):
        raise httpcore2.UnsupportedProtocol(f"Request URL has an unsupported protocol '{scheme}://'.")


def _unusable(connection: Any, origin: Any) -> bool:
    return (
        not connection.can_handle_request(origin)
        or not connection.is_available()
        or connection.has_expired()
    )


class _Released:
    """A response's stream that gives its connection back to the pool when closed. `_stream`
    is httpcore2's own (`transport.arrived` looks through it to h11)."""

    __slots__ = ("_closed", "_connection", "_pool", "_stream")

    def __init__(self, stream: Any, pool: OriginPool, connection: Any) -> None:
        self._stream = stream
        self._pool = pool
        self._connection = connection
        self._closed = False

    def __iter__(self) -> Iterator[bytes]:
        iterator: Iterator[bytes] = self._stream.__iter__()
        return iterator

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            close = getattr(self._stream, "close", None)
            if close is not None:
                close()
        finally:
            self._pool._release(self._connection)


class _AReleased:
    """The async twin of `_Released`."""

    __slots__ = ("_closed", "_connection", "_pool", "_stream")

    def __init__(self, stream: Any, pool: AsyncOriginPool, connection: Any) -> None:
        self._stream = stream
        self._pool = pool
        self._connection = connection
        self._closed = False

    def __aiter__(self) -> AsyncIterator[bytes]:
        iterator: AsyncIterator[bytes] = self._stream.__aiter__()
        return iterator

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            close = getattr(self._stream, "aclose", None)
            if close is not None:
                await close()
        finally:
            await self._pool._release(self._connection)
