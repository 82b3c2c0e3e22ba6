"""Sending a request on a keep-alive connection of our pools: its head from headers h11
validated once (`HeadCache`), and the caller told once the request is out (`SENT`).

Heads. httpcore2 hands h11 each request's headers as a list, and h11 validates every name and value
against its grammar again (regexes, lower-casing, Content-Length and Transfer-Encoding rules):
for a streamed request that was about as much CPU as building the whole request body, paid
before the first byte goes out. The requests of one origin pool carry the same headers call
after call (the key, the content type, the user agent...) but for the body's length, so a pool
keeps the validated headers of the sets it has seen (`HeadCache`, bounded) and its keep-alive
connections send a head from them (`install`): h11 takes a validated `Headers` as is. A set
seen for the first time, or anything unexpected, goes through h11's own validation, so a bad
header is refused with h11's error as before.

Sent. Between the last byte of a request and the first of its answer the client only waits
(the server's time: about as long as all the client's own work for a first text); work that
does not need the answer is better done there than after it. A request whose extensions hold
`SENT` (a callable without arguments) has it called once its body is sent, before the answer is
read, on a connection `install`ed here; elsewhere (a new connection, httpcore2's own road) it
is not called, so what it does must be done later when it was not. What it raises is dropped:
it may only do work that would otherwise be done after the answer arrives.
"""

from __future__ import annotations

import contextlib
import functools
import weakref
from typing import Any

import h11
import httpcore2

__all__ = ["SENT", "HeadCache", "install"]

SENT = "llm_openai_compat.sent"  # the request extension: called once the request is sent

_LENGTH = b"content-length"

_Headers: Any
try:  # the type of a validated event's headers (h11 >= 0.14), built from its items
    from h11._headers import Headers as _Headers
except ImportError:  # pragma: no cover - a later h11: every head is validated as before
    _Headers = None


class HeadCache:
    """The validated headers of up to `size` header sets (the Content-Length left out, which
    changes with each body); all forgotten when one more comes (a pool sends a few). Safe to
    share between threads: a dict's get, set and clear are each atomic."""

    __slots__ = ("_sets", "_size")

    def __init__(self, size: int = 32) -> None:
        self._sets: dict[tuple[tuple[bytes, bytes], ...], tuple[list[Any], int]] = {}
        self._size = size

    def __repr__(self) -> str:  # never the values: they hold keys
        return f"HeadCache({len(self._sets)} header sets)"

    def request(self, request: Any) -> h11.Request:
        """h11's event for `request`'s head; raises h11's LocalProtocolError for a bad one."""
        headers = request.headers
        rest: list[tuple[bytes, bytes]] = []
        length: bytes | None = None
        for name, value in headers:
            if name.lower() == _LENGTH:
                length = b"" if length is not None else value  # two: h11 decides
            else:
                rest.append((name, value))
        key = tuple(rest)
        found = self._sets.get(key)
        if found is None or _Headers is None or (length is not None and not length.isdigit()):
            event = h11.Request(method=request.method, target=request.url.target, headers=headers)
            if _Headers is not None and (length is None or length.isdigit()):
                items = [item for item in event.headers._full_items if item[1] != _LENGTH]
                at = next(
                    (i for i, item in enumerate(event.headers._full_items) if item[1] == _LENGTH),
                    -1,
                )
                if len(self._sets) >= self._size:
                    self._sets.clear()
                self._sets[key] = (items, at)
            return event
        items, at = found
        if length is not None:
            items = [*items[:at], (b"Content-Length", _LENGTH, length), *items[at:]]
        return h11.Request(method=request.method, target=request.url.target, headers=_Headers(items))


def install(connection: Any, heads: HeadCache) -> None:
    """Have `connection` (an httpcore2 HTTPConnection from a pool of ours, already connected
    over HTTP/1.1) send its request heads from `heads`. Any other connection is left as is."""
    inner = getattr(connection, "_connection", None)
    if "_send_request_headers" in getattr(inner, "__dict__", ()):
        return
    # A weak reference: the connection holding itself would leave it to the cycle collector.
    head: functools.partial[Any]
    body: functools.partial[Any]
    if type(inner) is httpcore2.HTTP11Connection:
        head = functools.partial(_send_head, weakref.proxy(inner), heads)
        body = functools.partial(_send_body, weakref.proxy(inner))
    elif type(inner) is httpcore2.AsyncHTTP11Connection:
        head = functools.partial(_asend_head, weakref.proxy(inner), heads)
        body = functools.partial(_asend_body, weakref.proxy(inner))
    else:
        return
    inner.__dict__["_send_request_headers"] = head
    inner.__dict__["_send_request_body"] = body


def _event(heads: HeadCache, request: Any) -> h11.Request:
    try:
        return heads.request(request)
    except h11.LocalProtocolError as exc:  # as httpcore2's own `_send_request_headers` maps it
        raise httpcore2.LocalProtocolError(exc) from exc


def _send_head(connection: Any, heads: HeadCache, request: Any) -> None:
    """httpcore2's `HTTP11Connection._send_request_headers`, the headers from `heads`."""
    timeout = request.extensions.get("timeout", {}).get("write", None)
    connection._send_event(_event(heads, request), timeout=timeout)


async def _asend_head(connection: Any, heads: HeadCache, request: Any) -> None:
    """The async twin of `_send_head`."""
    timeout = request.extensions.get("timeout", {}).get("write", None)
    await connection._send_event(_event(heads, request), timeout=timeout)


def _sent(request: Any) -> None:
    hook = request.extensions.get(SENT)
    if hook is not None:
        with contextlib.suppress(Exception):  # its work is done later when it was not
            hook()


def _send_body(connection: Any, request: Any) -> None:
    """httpcore2's `HTTP11Connection._send_request_body`, then the request's `SENT` hook."""
    httpcore2.HTTP11Connection._send_request_body(connection, request)
    _sent(request)


async def _asend_body(connection: Any, request: Any) -> None:
    """The async twin of `_send_body`."""
    await httpcore2.AsyncHTTP11Connection._send_request_body(connection, request)
    _sent(request)
