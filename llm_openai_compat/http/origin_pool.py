"""One origin's async connections, handed out without scanning them.

httpcore2's pool, on every request and every response closed, walks all of its connections
and asks each whether it expired, a socket poll through anyio's attribute machinery: at 50
requests in flight that walk was about half of all the CPU a request took (docs/performance.md).
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
from collections.abc import AsyncIterator
from typing import Any

import httpcore2

__all__ = ["AsyncOriginPool"]


class AsyncOriginPool:
    """`handle_async_request` as httpcore2's pool has it; connections from `base`."""

    def __init__(self, base: Any, max_connections: int) -> None:
        self._base = base  # an httpcore2.AsyncConnectionPool (or proxy pool), never sent on
        self._max = max(1, max_connections)
        self._idle: list[Any] = []
        self._open = 0  # idle + in use
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self._closed = False

    def __repr__(self) -> str:
        return f"AsyncOriginPool({self._open} open, {len(self._idle)} idle, max {self._max})"

    @property
    def open_connections(self) -> int:
        return self._open

    async def handle_async_request(self, request: Any) -> Any:
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
            content=_Released(response.stream, self, connection),
            extensions=response.extensions,
        )

    async def _acquire(self, origin: Any, timeout: float | None) -> Any:
        if self._closed:
            raise httpcore2.PoolTimeout("The connection pool was closed")
        idle = self._idle
        if len(idle) > 1 and _unusable(idle[0], origin):  # the oldest: stale sockets go
            await self._discard(idle.pop(0))
        while True:
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
