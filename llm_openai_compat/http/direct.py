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
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import h11
import httpcore2
import httpx2

from .chunked import ChunkedDecoder
from .origin_pool import AsyncOriginPool, OriginPool
from .sending import SENT

__all__ = [
    "ByteStreams", "Route", "arequest", "join_reads", "parsed_url", "request", "route_for", "takes",
]

# httpx2 parses a URL string on every request, a cost the profile showed; a parsed URL is
# reused as is (docs/performance.md).
parsed_url = functools.lru_cache(maxsize=256)(httpx2.URL)

_logger = logging.getLogger("httpx2")  # the logger whose INFO line httpx2 writes per request


class Route:
    """One origin's connection pool and the headers httpx2 would send on every request to it.
    The pool is an `OriginPool` (async: `AsyncOriginPool`) over httpx2's, whose connections it
    makes; closed with `close` (`aclose`) before the client."""

    __slots__ = ("default_headers", "pool")

    def __init__(self, pool: Any, default_headers: dict[bytes, tuple[bytes, bytes]]) -> None:
        self.pool = pool
        self.default_headers = default_headers

    def close(self) -> None:
        if isinstance(self.pool, OriginPool):
            self.pool.close()

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
        if not callable(getattr(pool, "create_connection", None)):
            return None
        if isinstance(transport, httpx2.AsyncHTTPTransport):
            pool = AsyncOriginPool(pool, max_connections)
        else:
            pool = OriginPool(pool, max_connections)
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
    timeout: httpx2.Timeout, route: Route, sent: Callable[[], None] | None,
) -> httpcore2.Request:
    core_url, host = _target(url)
    extensions: dict[str, Any] = {"timeout": timeout.as_dict()}
    if sent is not None:
        extensions[SENT] = sent
    return httpcore2.Request(
        method=method,
        url=core_url,
        headers=_headers(route, host, headers, body),
        content=body,
        extensions=extensions,
    )


@functools.cache
def _exceptions() -> dict[type[Exception], type[Exception]]:
    """httpcore2's exceptions -> httpx2's, httpx2's own table."""
    from httpx2._transports.default import _load_httpcore_exceptions

    table: dict[type[Exception], type[Exception]] = dict(_load_httpcore_exceptions())
    return table


def _httpcore_errors() -> tuple[type[Exception], ...]:
    return tuple(_exceptions())


@functools.cache
def _h11_errors() -> tuple[type[Exception], ...]:
    """What reading a body from h11 raises: httpcore2's network errors, and h11's protocol
    error (httpcore2 maps it to its RemoteProtocolError; `_map` does the same)."""
    return (*_exceptions(), h11.RemoteProtocolError)


def _map(exc: Exception) -> Exception:
    """httpcore2's exception as httpx2's transport maps it (the most specific class)."""
    if isinstance(exc, h11.RemoteProtocolError):  # as httpcore2's `map_exceptions` does
        return httpx2.RemoteProtocolError(str(exc))
    mapped: type[Exception] | None = None
    for source, target in _exceptions().items():
        if isinstance(exc, source) and (mapped is None or issubclass(target, mapped)):
            mapped = target
    return exc if mapped is None else mapped(str(exc))


class _Timed:
    """`elapsed` once closed, as httpx2's client sets it (`Response.elapsed` reads it)."""

    __slots__ = ("_httpcore_stream", "_length_read", "_start", "_wire", "body", "elapsed", "whole")

    def __init__(self, stream: Any, headers: Any = ()) -> None:
        self._httpcore_stream = stream
        self._start = time.perf_counter()
        self._wire = _wire(stream)
        self._length_read = _length_read(headers, self._wire[2]) if self._wire else 0
        # False: one piece per HTTP chunk, as httpcore2 yields them. True (`join_reads`): one
        # piece per network read, everything h11 can decode from the bytes that read brought.
        self.whole = False
        # How the body is read, once it is (`transport.arrived` asks it what has arrived).
        self.body: _Body | None = None

    def _done(self) -> None:
        self.elapsed = datetime.timedelta(seconds=time.perf_counter() - self._start)


def _wire(stream: Any) -> tuple[Any, Any, int, float | None] | None:
    """(h11 connection, network stream, read size, read timeout) of an HTTP/1.1 response's
    stream, for reading its body without httpcore2's per-chunk layers; None (httpcore2 reads
    it) for HTTP/2, a proxy tunnel's other classes, debug logging or trace hooks on (httpcore2
    writes their lines), or private attributes not as expected."""
    try:
        inner = stream._stream  # the pool's wrapper (httpcore2's, or `_Released`) -> HTTP/1.1
        connection = inner._connection
        request = inner._request
        if not isinstance(connection, (httpcore2.HTTP11Connection, httpcore2.AsyncHTTP11Connection)):
            return None
        state = connection._h11_state
        if not isinstance(state, h11.Connection) or "trace" in request.extensions:
            return None
        if _http11_logger.isEnabledFor(logging.DEBUG):
            return None
        timeout = request.extensions.get("timeout", {}).get("read")
        return state, connection._network_stream, int(connection.READ_NUM_BYTES), timeout
    except (AttributeError, TypeError, ValueError):
        return None


class _LengthBody:
    """A Content-Length body h11 has not started on: bytes read and not given out yet
    (`pending`: first, those h11 already held) and how many are still to come. h11's reader is
    told the body is done once it is read."""

    __slots__ = ("pending", "reader", "remaining")

    def __init__(self, reader: Any, pending: bytes, remaining: int) -> None:
        self.reader, self.pending, self.remaining = reader, pending, remaining

    def incomplete(self, remaining: int) -> h11.RemoteProtocolError:
        """h11's own error for a body cut short."""
        length = self.reader._length
        return h11.RemoteProtocolError(
            "peer closed connection without sending complete message body "
            f"(received {length - remaining} bytes, expected {length})"
        )


def _take_body(state: Any) -> ChunkedDecoder | _LengthBody | None:
    """The body h11 was about to read, taken over before it started: a chunked one as a
    decoder fed the body bytes h11 already holds, a Content-Length one as those bytes and the
    count still to come (taken out of h11's buffer either way). None to let h11 read it: a
    body framed otherwise (read to the close), or h11's private state not as expected."""
    try:
        reader = state._reader
        buffer = state._receive_buffer
        kind = type(reader).__name__
        if (
            state._receive_buffer_closed
            or state.their_state is not h11.SEND_BODY
            or not isinstance(buffer._data, bytearray)
            or not isinstance(buffer._next_line_search, int)
            or not isinstance(buffer._multiple_lines_search, int)
        ):
            return None
        if kind == "ChunkedReader":
            if reader._bytes_in_chunk or reader._bytes_to_discard or reader._reading_trailer:
                return None
            limit = state._max_incomplete_event_size
            taken: ChunkedDecoder | _LengthBody = ChunkedDecoder(
                limit if isinstance(limit, int) else 16 * 1024
            )
            count = len(buffer._data)
        elif kind == "ContentLengthReader":
            remaining = reader._remaining
            if not isinstance(remaining, int) or remaining != reader._length or remaining <= 0:
                return None
            count = min(len(buffer._data), remaining)  # bytes beyond the body stay h11's
            taken = _LengthBody(reader, b"", remaining - count)
        else:
            return None
    except AttributeError:
        return None
    data = bytes(buffer._data[:count])
    del buffer._data[:count]
    buffer._next_line_search = buffer._multiple_lines_search = 0
    if isinstance(taken, ChunkedDecoder):
        taken.feed(data)
    else:
        taken.pending = data
    return taken


# A Content-Length body that is not an event stream is read in pieces of up to this much
# rather than httpcore2's 64 KB: such a body is read whole (a batch of embeddings is tens of
# MB), and each read is a syscall, a bytes object and a piece to join (a read returns what has
# arrived, so a large size never waits for more). An event stream keeps httpcore2's size: a
# read is what its reader parses at once, so it bounds the memory of a stream's batch.
_LENGTH_READ = 1024 * 1024


def _length_read(headers: Any, size: int) -> int:
    for name, value in headers:
        if name.lower() == b"content-type":
            return size if b"event-stream" in value.lower() else _LENGTH_READ
    return _LENGTH_READ
class _Body:
    """Reading one HTTP/1.1 body, without I/O: `next` says what to do (give out these bytes, or
    read up to this many from the network, or 0: the body is whole), `received` takes what a
    read brought (b"": the server closed). The sync and async streams are the loop around it,
    which alone awaits; what httpcore2's loop does with h11 is done here, the body itself taken
    over from h11 where it can be (`_take_body`)."""

    __slots__ = ("_ended", "_length_read", "_size", "_state", "taken")

    def __init__(self, state: Any, size: int, length_read: int) -> None:
        self._state, self._size, self._length_read = state, size, length_read
        self.taken = _take_body(state)  # None once h11 reads (or ends) the body
        self._ended = False  # h11 gave its EndOfMessage (asked again, it would want data)

    def next(self, whole: bool) -> bytes | int:
        taken = self.taken
        if isinstance(taken, ChunkedDecoder):
            pieces = taken.take(whole)
            if pieces:
                return pieces[0] if len(pieces) == 1 else b"".join(pieces)
            if taken.error is not None:
                raise taken.error
            if taken.end is None:
                return self._size
            self._state.receive_data(taken.end)  # the last chunk and trailers: h11's
            self.taken = None
        elif taken is not None:
            if taken.pending:
                data, taken.pending = taken.pending, b""
                return data
            if taken.remaining:
                return min(self._length_read, taken.remaining)
            taken.reader._remaining = 0  # read to its length: h11 ends the message
            self.taken = None
        return self._from_h11(whole)

    def _from_h11(self, whole: bool) -> bytes | int:
        """httpcore2's loop over h11's events; with `whole`, a read's data joined."""
        if self._ended:
            return 0
        next_event = self._state.next_event
        parts: list[bytes] = []
        while True:
            event = next_event()
            if type(event) is _DATA:
                if not whole:
                    return bytes(event.data)
                parts.append(event.data)
            elif event is _NEED_DATA:
                return b"".join(parts) if parts else self._size
            else:  # EndOfMessage (or PAUSED): the body is whole
                self._ended = True
                return b"".join(parts) if parts else 0

    def received(self, data: bytes) -> None:
        taken = self.taken
        if isinstance(taken, ChunkedDecoder):
            if not data:
                raise h11.RemoteProtocolError(_INCOMPLETE)
            taken.feed(data)
        elif taken is not None:
            if not data:
                raise taken.incomplete(taken.remaining)
            taken.remaining -= len(data)
            taken.pending = data
        else:
            self._state.receive_data(data)


_INCOMPLETE = "peer closed connection without sending complete message body (incomplete chunked read)"
_http11_logger = logging.getLogger("httpcore2.http11")
_NEED_DATA = h11.NEED_DATA
_DATA = h11.Data


class _Stream(_Timed, httpx2.SyncByteStream):
    """httpcore2's response stream, with its exceptions mapped to httpx2's.

    An HTTP/1.1 body is read here, as httpcore2's own loop reads it from h11 but without its
    four generator layers and context manager per HTTP chunk; a chunked body's chunks are
    decoded a read at a time (`ChunkedDecoder`) and its end handed back to h11. With `whole`
    set, the data of one network read comes out joined. On any failure the response is closed
    first, as httpcore2 does: a connection left mid-body is never reused (h11 is not DONE, so
    httpcore2 closes it)."""

    __slots__ = ()

    def __iter__(self) -> Iterator[bytes]:
        try:
            if self._wire is None:
                yield from self._httpcore_stream
                return
            state, network, size, timeout = self._wire
            self.body = body = _Body(state, size, self._length_read)
            while True:
                step = body.next(self.whole)
                if type(step) is bytes:
                    yield step
                elif step:
                    body.received(network.read(step, timeout))
                else:
                    return
        except _h11_errors() as exc:
            self.close()
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
            if self._wire is None:
                async for chunk in self._httpcore_stream:
                    yield chunk
                return
            state, network, size, timeout = self._wire
            self.body = body = _Body(state, size, self._length_read)
            while True:
                step = body.next(self.whole)
                if type(step) is bytes:
                    yield step
                elif step:
                    body.received(await network.read(step, timeout))
                else:
                    return
        except _h11_errors() as exc:
            await self.aclose()
            raise _map(exc) from exc

    async def aclose(self) -> None:
        close = getattr(self._httpcore_stream, "aclose", None)
        if close is not None:
            await close()
        self._done()


def join_reads(stream: Any) -> None:
    """From now on, `stream` (one of `ByteStreams`) yields a network read's chunks joined."""
    stream.whole = True


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
    timeout: httpx2.Timeout, sent: Callable[[], None] | None = None,
) -> httpx2.Response:
    """Send on the route's pool; the open response (read it, then close it). `sent`, if given,
    may be called once the request is out, before its answer is read (`sending.SENT`)."""
    core_request = _core_request(method, url, headers, body, timeout, route, sent)
    try:
        core = route.pool.handle_request(core_request)
    except _httpcore_errors() as exc:
        raise _map(exc) from exc
    return _response(method, url, core, _Stream(core.stream, core.headers))


async def arequest(
    route: Route, method: str, url: str, headers: dict[str, str], body: bytes | None,
    timeout: httpx2.Timeout, sent: Callable[[], None] | None = None,
) -> httpx2.Response:
    """The async twin of `request`."""
    core_request = _core_request(method, url, headers, body, timeout, route, sent)
    try:
        core = await route.pool.handle_async_request(core_request)
    except _httpcore_errors() as exc:
        raise _map(exc) from exc
    return _response(method, url, core, _AStream(core.stream, core.headers))


# What this road's responses stream from (`transport.arrived` looks through them).
ByteStreams = (_Stream, _AStream)
