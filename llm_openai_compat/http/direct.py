"""Requests on our own pooled clients, sent straight to their httpcore2 connection pool.

httpx2's `Client.send` costs about as much CPU as everything else in a call (request and
header models built and merged, auth and redirect machinery, cookies, the response's decoder
chain), and none of it is needed by a request this package builds itself: the body is bytes,
auth is a header, redirects are never followed. For a client in `Pools` (ours, built by
`pools.client_kwargs`) the request goes to the transport httpx2 itself would pick for the URL
(`_transport_for_url`: the pool, or the proxy from HTTP(S)_PROXY / NO_PROXY), to its httpcore2
pool, with the headers httpx2 would send; the answer is an ordinary `httpx2.Response`. httpcore2
exceptions become httpx2's (as httpx2's transport maps them), so `transport.translate_exception`
stays the one place errors are translated. Measured in docs/performance.md.

Not taken (`route` is None; the request goes through `client.send` as before): a user's own
client (`http_client=`), a base URL with `user:password@` (httpx2 turns it into Basic auth), a
transport that is not httpx2's `HTTPTransport` (a mount, a mock), or any httpx2 whose private
attributes are not as expected. The cookie jar of a shared pool is not used on this road: the
pool is shared by every provider and key of an origin, so one tenant's cookies would be sent
with another's.
"""

from __future__ import annotations

import datetime
import functools
import logging
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpcore2
import httpx2

from .origin_pool import AsyncOriginPool

__all__ = ["ByteStreams", "Route", "arequest", "parsed_url", "request", "route_for", "takes"]

# httpx2 parses a URL string on every request, a cost the profile showed; a parsed URL is
# reused as is (docs/performance.md).
parsed_url = functools.lru_cache(maxsize=256)(httpx2.URL)

_logger = logging.getLogger("httpx2")  # the logger whose INFO line httpx2 writes per request


class Route:
    """One origin's connection pool and the headers httpx2 would send on every request to it.
    An async route's pool is an `AsyncOriginPool` over httpx2's (closed with `aclose`)."""

    __slots__ = ("default_headers", "pool")

    def __init__(self, pool: Any, default_headers: dict[bytes, tuple[bytes, bytes]]) -> None:
        self.pool = pool
        self.default_headers = default_headers

    async def aclose(self) -> None:
        if isinstance(self.pool, AsyncOriginPool):
            await self.pool.aclose()


def route_for(
    client: httpx2.Client | httpx2.AsyncClient, url: str, max_connections: int = 100
) -> Route | None:
    """The direct road for requests to `url`'s origin on `client`, or None to go through
    `client.send` (which also reports a URL it cannot use). A URL with `user:password@` is
    sent through `client.send` whatever its origin's route (`takes`)."""
    try:
        transport: Any = client._transport_for_url(parsed_url(url))
        if type(transport) not in (httpx2.HTTPTransport, httpx2.AsyncHTTPTransport):
            return None
        pool = transport._pool
        if isinstance(transport, httpx2.AsyncHTTPTransport):
            if not callable(getattr(pool, "create_connection", None)):
                return None
            pool = AsyncOriginPool(pool, max_connections)
        elif not callable(getattr(pool, "handle_request", None)):
            return None
        defaults = {name.lower(): (name, value) for name, value in client.headers.raw}
    except (AttributeError, TypeError, ValueError, httpx2.InvalidURL):
        return None
    return Route(pool, defaults)


def takes(route: Route | None, url: str) -> Route | None:
    """The route a request to `url` may take: none for a URL with userinfo (Basic auth), or
    one httpx2 cannot parse (`client.send` reports it)."""
    if route is None:
        return None
    try:
        return None if parsed_url(url).userinfo else route
    except (httpx2.InvalidURL, TypeError, ValueError):
        return None


@functools.lru_cache(maxsize=256)
def _target(url: str) -> tuple[httpcore2.URL, bytes]:
    """httpcore2's URL and the Host header of a URL (pure; once per URL)."""
    parsed = parsed_url(url)
    core = httpcore2.URL(
        scheme=parsed.raw_scheme, host=parsed.raw_host, port=parsed.port, target=parsed.raw_path
    )
    return core, parsed.netloc


def _headers(
    route: Route, host: bytes, headers: dict[str, str], body: bytes | None
) -> list[tuple[bytes, bytes]]:
    """Host, httpx2's defaults, then ours (a name given replaces the default, as httpx2 merges
    them); values encoded as ASCII, as httpx2 does (anything else raises UnicodeEncodeError)."""
    merged = dict(route.default_headers)
    for name, value in headers.items():
        raw = name.encode("ascii")
        merged[raw.lower()] = (raw, value.encode("ascii"))
    given_host = merged.pop(b"host", None)  # a Host header given replaces the URL's, as in httpx2
    out = [given_host or (b"Host", host)]
    merged.pop(b"content-length", None)  # the body's own length, always
    out.extend(merged.values())
    if body is not None:
        out.append((b"Content-Length", b"%d" % len(body)))
    return out


def _core_request(
    method: str, url: str, headers: dict[str, str], body: bytes | None,
    timeout: httpx2.Timeout, route: Route,
) -> httpcore2.Request:
    core_url, host = _target(url)
    return httpcore2.Request(
        method=method,
        url=core_url,
        headers=_headers(route, host, headers, body),
        content=body,
        extensions={"timeout": timeout.as_dict()},
    )


@functools.cache
def _exceptions() -> dict[type[Exception], type[Exception]]:
    """httpcore2's exceptions -> httpx2's, httpx2's own table."""
    from httpx2._transports.default import _load_httpcore_exceptions

    table: dict[type[Exception], type[Exception]] = dict(_load_httpcore_exceptions())
    return table


def _httpcore_errors() -> tuple[type[Exception], ...]:
    return tuple(_exceptions())


def _map(exc: Exception) -> Exception:
    """httpcore2's exception as httpx2's transport maps it (the most specific class)."""
    mapped: type[Exception] | None = None
    for source, target in _exceptions().items():
        if isinstance(exc, source) and (mapped is None or issubclass(target, mapped)):
            mapped = target
    return exc if mapped is None else mapped(str(exc))


class _Timed:
    """`elapsed` once closed, as httpx2's client sets it (`Response.elapsed` reads it)."""

    __slots__ = ("_httpcore_stream", "_start", "elapsed")

    def __init__(self, stream: Any) -> None:
        self._httpcore_stream = stream
        self._start = time.perf_counter()

    def _done(self) -> None:
        self.elapsed = datetime.timedelta(seconds=time.perf_counter() - self._start)


class _Stream(_Timed, httpx2.SyncByteStream):
    """httpcore2's response stream, with its exceptions mapped to httpx2's."""

    __slots__ = ()

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self._httpcore_stream
        except _httpcore_errors() as exc:
            raise _map(exc) from exc

    def close(self) -> None:
        close = getattr(self._httpcore_stream, "close", None)
        if close is not None:
            close()
        self._done()


class _AStream(_Timed, httpx2.AsyncByteStream):
    """The async twin of `_Stream`."""

    __slots__ = ()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._httpcore_stream:
                yield chunk
        except _httpcore_errors() as exc:
            raise _map(exc) from exc

    async def aclose(self) -> None:
        close = getattr(self._httpcore_stream, "aclose", None)
        if close is not None:
            await close()
        self._done()


def _response(method: str, url: str, core: Any, stream: httpx2.SyncByteStream | httpx2.AsyncByteStream) -> httpx2.Response:
    response = httpx2.Response(
        status_code=core.status, headers=core.headers, stream=stream, extensions=core.extensions
    )
    if _logger.isEnabledFor(logging.INFO):  # the line httpx2's own send writes
        _logger.info(
            'HTTP Request: %s %s "%s %d %s"', method, parsed_url(url), response.http_version,
            response.status_code, response.reason_phrase,
        )
    return response


def request(
    route: Route, method: str, url: str, headers: dict[str, str], body: bytes | None,
    timeout: httpx2.Timeout,
) -> httpx2.Response:
    """Send on the route's pool; the open response (read it, then close it)."""
    core_request = _core_request(method, url, headers, body, timeout, route)
    try:
        core = route.pool.handle_request(core_request)
    except _httpcore_errors() as exc:
        raise _map(exc) from exc
    return _response(method, url, core, _Stream(core.stream))


async def arequest(
    route: Route, method: str, url: str, headers: dict[str, str], body: bytes | None,
    timeout: httpx2.Timeout,
) -> httpx2.Response:
    """The async twin of `request`."""
    core_request = _core_request(method, url, headers, body, timeout, route)
    try:
        core = await route.pool.handle_async_request(core_request)
    except _httpcore_errors() as exc:
        raise _map(exc) from exc
    return _response(method, url, core, _AStream(core.stream))


# What this road's responses stream from (`transport.arrived` looks through them).
ByteStreams = (_Stream, _AStream)
