"""HTTP transport: the retry loop over pooled httpx2 clients, and httpx2 exceptions -> our errors.

Retries happen only before the first byte of a body reaches the caller, so output is never
duplicated. A stream's first bytes are read inside the loop (`_prime`): a server that sends its
headers and then nothing for `timeoutMs` is a `NetworkTimeout`, retried like one that never
answered, since nothing reached the caller. An `Endpoint.deadline` bounds the whole call: each
attempt's timeouts are cut to what is left of it, no backoff sleeps past it, and a body still
arriving when it passes is cut (`errors.DeadlineExceeded`, which names the bound). The decisions (backoff, retry or not, breaker) live in `retry.py` and are shared;
only the outer loop is written twice, once sync and once async. Clients and breakers come from
the caller's `Pools` (one per `Runtime`); the timeout is set per request. No header value is
ever put into an error, an `AttemptInfo` or a repr: headers are masked by `redacted_headers`,
no frame of the loop keeps them in a plain dict, and an error leaving the loop is scrubbed with
the call's own secrets (`redaction.call_secrets`).
"""

from __future__ import annotations

import contextlib
import functools
import math
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal

import httpx2

from .. import errors
from ..redaction import (
    call_secrets,
    is_sensitive_header,
    redact_url,
    redacted_headers,
    strip_userinfo,
)
from . import direct
from .bodies import MAX_BODY_BYTES, BodyReader, achunks, aread_body, chunks, read_body
from .chunked import ChunkedDecoder
from .direct import parsed_url
from .pools import Lease, Pools
from .retry import (
    DEFAULT_POLICY,
    AttemptInfo,
    Attempts,
    CircuitBreaker,
    Deadline,
    OnAttempt,
    RetryPolicy,
    fmt_seconds,
)

__all__ = [
    "AttemptInfo", "Endpoint", "Pools", "aiter_body", "arrived", "asend", "asend_stream",
    "is_sensitive_header", "iter_body", "join_reads", "redact_url", "redacted_headers", "send", "send_stream",
    "timeout_for", "translate_exception",
]

Method = Literal["GET", "POST"]
_DEFAULT_TIMEOUT_S = 600.0
_MAX_ERROR_BODY = 1024 * 1024
_HTTPX_ERRORS = (httpx2.HTTPError, httpx2.InvalidURL, UnicodeError)


def _seconds(timeout_ms: int | None) -> tuple[float, float]:
    """(connect, read) seconds of a provider's `timeoutMs` (None: the default)."""
    total = _DEFAULT_TIMEOUT_S if timeout_ms is None else max(timeout_ms, 1) / 1000
    return min(10.0, total), total


@functools.lru_cache(maxsize=64)  # a pure function of one number
def timeout_for(timeout_ms: int | None) -> httpx2.Timeout:
    """The per-request timeouts of a provider's `timeoutMs` (None: the default)."""
    connect, total = _seconds(timeout_ms)
    return httpx2.Timeout(connect=connect, read=total, write=total, pool=10.0)


@dataclass(frozen=True)
class Endpoint:
    """Where and how one request is sent. `headers` already include auth."""

    provider: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    timeout_ms: int | None = None
    verify_tls: bool = True
    max_attempts: int | None = None
    model: str | None = None
    # The whole call's budget (`deadlineMs`, `deadline=`), shared by every request it makes.
    deadline: Deadline | None = None

    @property
    def read_timeout_s(self) -> float:
        """Seconds a response may go without data; a stream without an event (see call.py)."""
        return _DEFAULT_TIMEOUT_S if self.timeout_ms is None else max(self.timeout_ms, 1) / 1000

    @property
    def secrets(self) -> tuple[str, ...]:
        """This request's secrets (sensitive header values, URL credentials), longest first;
        computed once (not a `cached_property`: its lock cost more than the rest of the call)."""
        found: tuple[str, ...] | None = self.__dict__.get("_secrets")
        if found is None:
            found = self.__dict__["_secrets"] = call_secrets(self.headers, self.url)
        return found

    def __repr__(self) -> str:
        shown = {f.name: getattr(self, f.name) for f in fields(self)}
        shown.update(url=redact_url(self.url), headers=redacted_headers(self.headers))
        return f"Endpoint({', '.join(f'{k}={v!r}' for k, v in shown.items())})"


def _detail(exc: BaseException) -> str:
    text = " ".join(str(exc).split()).rstrip(".") or type(exc).__name__
    return errors.redact(strip_userinfo(text))[:200]


def _request_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers to send, with a JSON content type unless one is given. Kept only inside `_Call`,
    whose repr shows none of them."""
    out = {"content-type": "application/json"}
    for name, value in headers.items():
        if name.lower() == "content-type":
            out.pop("content-type", None)
        out[name] = value
    return out


# -- errors ---------------------------------------------------------------------------------


def translate_exception(exc: BaseException, endpoint: Endpoint) -> errors.OpenAICompatError:
    """The one place an httpx2 exception (before any byte reached the caller) becomes an error."""
    where = _where(endpoint)
    url = where["url"]
    if isinstance(exc, (httpx2.UnsupportedProtocol, httpx2.InvalidURL)):
        message = f"The URL {url!r} is not a usable http:// or https:// URL ({_detail(exc)})"
        return errors.ConfigError(message, provider=endpoint.provider, field="baseURL")
    if isinstance(exc, (httpx2.LocalProtocolError, UnicodeError)):
        # Never include the detail: h11 and the codecs quote the offending header value.
        message = "A request header cannot be sent (a newline or non-ASCII character in it?)"
        fix = "Check the API key and the provider's headers"
        return errors.ConfigError(message, provider=endpoint.provider, field="headers", hint=fix)
    if isinstance(exc, httpx2.TimeoutException):
        connect, read = _seconds(endpoint.timeout_ms)
        message = {
            httpx2.ConnectTimeout: f"Timed out connecting after {fmt_seconds(connect)} s",
            httpx2.ReadTimeout: f"No response within {fmt_seconds(read)} s (timeoutMs)",
            httpx2.PoolTimeout: "Timed out waiting for a free pooled connection",
        }.get(type(exc), "Timed out sending the request")
        # The phase decides the breaker: no connection is the origin's failure (retry.py).
        code = "connect_timeout" if isinstance(exc, httpx2.ConnectTimeout) else None
        return errors.NetworkTimeout(message, code=code, **where)
    if isinstance(exc, httpx2.DecodingError):
        return errors.StreamError(f"The response body could not be decoded ({_detail(exc)})", **where)
    detail = _detail(exc)
    hint = None
    if "CERTIFICATE_VERIFY_FAILED" in detail:
        hint = "The server's TLS certificate is not trusted; install its CA, or turn off TLS verification for this provider"
    elif isinstance(exc, httpx2.ProxyError):
        hint = "The proxy (HTTP_PROXY / HTTPS_PROXY / ALL_PROXY) failed; check it or set NO_PROXY"
    return errors.ConnectError(f"Connection failed: {detail}", hint=hint, **where)


def _where(endpoint: Endpoint) -> dict[str, Any]:
    return {"url": redact_url(endpoint.url), "provider": endpoint.provider, "model": endpoint.model}


def _deadline_fired(endpoint: Endpoint) -> bool:
    """Whether the call's deadline has passed (a timeout cut to it fires at, not before, it)."""
    return endpoint.deadline is not None and endpoint.deadline.remaining() <= 0.01


def _late(endpoint: Endpoint, received: int, *, shown: bool = True) -> errors.DeadlineExceeded:
    """The deadline passed while a body was arriving (`shown`: its bytes reached the caller)."""
    assert endpoint.deadline is not None
    hint = (
        "The output above is incomplete; raise the deadline, or leave it unset for long answers"
        if received and shown else None
    )
    return endpoint.deadline.exceeded(
        after=f"while the answer was arriving ({received} bytes received)", hint=hint,
        **_where(endpoint),
    )


def _late_waiting(endpoint: Endpoint) -> errors.DeadlineExceeded:
    """The deadline passed before the server answered (no response, or no first byte)."""
    assert endpoint.deadline is not None
    return endpoint.deadline.exceeded(after="waiting for the server's answer", **_where(endpoint))


def _broken_stream(
    exc: BaseException, endpoint: Endpoint, delivered: int
) -> errors.StreamError | errors.DeadlineExceeded:
    where = _where(endpoint)
    if isinstance(exc, httpx2.TimeoutException) and _deadline_fired(endpoint):
        return _late(endpoint, delivered)
    if isinstance(exc, httpx2.TimeoutException):
        read = _seconds(endpoint.timeout_ms)[1]
        return errors.StreamError(
            f"The stream stalled: no data for {fmt_seconds(read)} s (timeoutMs) after {delivered} bytes",
            hint="The output above is incomplete; if the model pauses longer, raise the provider's timeoutMs",
            **where,
        )
    return errors.StreamError(
        f"The connection broke after {delivered} bytes ({_detail(exc)}); not retried, "
        "since part of the answer was already delivered",
        **where,
    )


# -- the retry loop -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Call:
    """One logical request: what to send, and the bookkeeping of its attempts."""

    ep: Endpoint
    body: bytes | None
    method: Method
    read: bool
    headers: dict[str, str] = field(repr=False)  # auth: never in a repr (tracebacks with locals)
    run: Attempts
    pools: Pools
    timeout: httpx2.Timeout
    # Called once a request is out, before its answer is read, where the road allows it
    # (`sending.SENT`): work the caller would otherwise do after the answer arrives.
    sent: Callable[[], None] | None = None

    def __repr__(self) -> str:  # on the stack of every HTTP error: no header value shown
        return f"_Call({self.method} {self.ep!r}, read={self.read})"


@functools.lru_cache(maxsize=64)  # `replace` per call was a cost the A/B showed
def _with_attempts(policy: RetryPolicy, attempts: int, *injected: object) -> RetryPolicy:
    """`policy` with `attempts`; `injected` (its sleep, asleep and random, which the policy's
    equality ignores) are part of the cache key so a policy never gets another's."""
    return replace(policy, max_attempts=attempts)


def _call(
    ep: Endpoint, body: bytes | None, method: Method, read: bool, pools: Pools,
    policy: RetryPolicy | None, breaker: CircuitBreaker | None, on_attempt: OnAttempt | None,
    sent: Callable[[], None] | None = None,
) -> _Call:
    policy = policy or DEFAULT_POLICY
    if ep.max_attempts is not None and policy.max_attempts != max(1, ep.max_attempts):
        policy = _with_attempts(
            policy, max(1, ep.max_attempts), policy.sleep, policy.asleep, policy.random
        )
    model_breaker = None
    if breaker is None:  # the origin's, and the model's (a breaker given is the only one)
        breaker = pools.breaker(ep.provider)
        model_breaker = pools.breaker(ep.provider, ep.model) if ep.model else None
    pools.remember(ep.secrets)
    run = Attempts(
        policy, breaker, url=redact_url(ep.url), model_breaker=model_breaker,
        on_attempt=on_attempt, deadline=ep.deadline,
    )
    return _Call(
        ep, body, method, read, _request_headers(ep.headers), run, pools,
        timeout_for(ep.timeout_ms), sent,
    )


def _classify(endpoint: Endpoint, response: httpx2.Response, body: bytes) -> errors.OpenAICompatError:
    status = response.status_code
    if 300 <= status < 400:
        location = response.headers.get("location")
        to = f" to {redact_url(location)}" if location else ""
        message = f"The server redirected{to} (HTTP {status}); set baseURL to the final address"
        return errors.ConfigError(message, provider=endpoint.provider, field="baseURL")
    return errors.classify_response(
        status, response.headers, body, secrets=endpoint.secrets, **_where(endpoint)
    )


def _attempt_timeout(call: _Call) -> tuple[httpx2.Timeout, bool]:
    """This attempt's timeouts: the provider's, cut to what is left of the call's deadline;
    and whether the deadline cut them (then a timeout is the deadline's)."""
    deadline = call.ep.deadline
    if deadline is None:
        return call.timeout, False
    left = max(deadline.remaining(), 0.001)
    if left >= (call.timeout.read or math.inf):
        return call.timeout, False
    connect = min(call.timeout.connect or left, left)
    return httpx2.Timeout(connect=connect, read=left, write=left, pool=min(10.0, left)), True


def _timed_out(exc: BaseException, call: _Call, cut: bool) -> errors.OpenAICompatError:
    """An httpx2 exception before any byte reached the caller, naming the bound that fired."""
    if cut and isinstance(exc, httpx2.TimeoutException) and _deadline_fired(call.ep):
        return _late_waiting(call.ep)
    return translate_exception(exc, call.ep)


def _first_byte_error(exc: BaseException, call: _Call, cut: bool) -> errors.OpenAICompatError:
    """Headers came, then the body failed before its first byte: nothing reached the caller,
    so this is transient (a timeout or a broken connection) and retried like one."""
    if isinstance(exc, httpx2.TimeoutException):
        if cut and _deadline_fired(call.ep):
            return _late_waiting(call.ep)
        read = fmt_seconds(_seconds(call.ep.timeout_ms)[1])
        return errors.NetworkTimeout(
            f"The server sent its headers, then no byte for {read} s (timeoutMs)",
            hint="Nothing was received, so it was retried; if the model takes longer to start "
            "(a large model loading), raise the provider's timeoutMs",
            **_where(call.ep),
        )
    if isinstance(exc, httpx2.TransportError) and not isinstance(exc, httpx2.UnsupportedProtocol):
        return errors.ConnectError(
            f"The connection broke before the first byte of the answer ({_detail(exc)})",
            **_where(call.ep),
        )
    return translate_exception(exc, call.ep)


class _Primed(httpx2.SyncByteStream):
    """A response stream whose first raw chunk was already read (inside the retry loop)."""

    def __init__(self, first: bytes, rest: Iterator[bytes], stream: httpx2.SyncByteStream) -> None:
        self._first, self._rest, self._stream = first, rest, stream

    def __iter__(self) -> Iterator[bytes]:
        if self._first:
            first, self._first = self._first, b""
            yield first
        yield from self._rest

    def close(self) -> None:
        self._stream.close()

    @property
    def elapsed(self) -> Any:  # Response.elapsed reads it from the stream it was given
        return getattr(self._stream, "elapsed", None)


class _APrimed(httpx2.AsyncByteStream):
    """The async twin of `_Primed`."""

    def __init__(
        self, first: bytes, rest: AsyncIterator[bytes], stream: httpx2.AsyncByteStream
    ) -> None:
        self._first, self._rest, self._stream = first, rest, stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self._first:
            first, self._first = self._first, b""
            yield first
        async for chunk in self._rest:
            yield chunk

    async def aclose(self) -> None:
        await self._stream.aclose()

    @property
    def elapsed(self) -> Any:
        return getattr(self._stream, "elapsed", None)


def _prime(response: httpx2.Response) -> None:
    """Read the stream's first raw chunk now, so a stall or a break before it is retried."""
    stream = response.stream
    assert isinstance(stream, httpx2.SyncByteStream)
    rest = iter(stream)
    first = next(rest, b"")
    response.stream = _Primed(first, rest, stream)


async def _aprime(response: httpx2.Response) -> None:
    """The async twin of `_prime`."""
    stream = response.stream
    assert isinstance(stream, httpx2.AsyncByteStream)
    rest = aiter(stream)
    first = await anext(rest, b"")
    response.stream = _APrimed(first, rest, stream)


def _unusable(endpoint: Endpoint, body: BodyReader) -> errors.OpenAICompatError | None:
    """Why a 2xx body read whole cannot be used: only keep-alives for the read timeout (retried,
    nothing was delivered), past the deadline, or more than MAX_BODY_BYTES (not retried);
    None when it can."""
    if body.late:
        return _late(endpoint, body.size, shown=False)
    if body.stalled:
        message = f"No answer within {fmt_seconds(endpoint.read_timeout_s)} s, only keep-alives"
        return errors.NetworkTimeout(message, **_where(endpoint))
    if body.overflowed:
        message = f"The response is larger than {MAX_BODY_BYTES // 2**20} MB; it was not read"
        return errors.StreamError(message, hint="Check the server and the request", **_where(endpoint))
    return None


def _expiry(endpoint: Endpoint) -> Callable[[], bool] | None:
    """For a body read whole: whether the call's deadline passed (None: no deadline)."""
    deadline = endpoint.deadline
    return None if deadline is None else (lambda: deadline.remaining() <= 0)


def _open(call: _Call, lease: Lease[httpx2.Client]) -> httpx2.Response:
    """Attempts until a 2xx response (fully read if `call.read`), or raise the final error."""
    ep, run, client = call.ep, call.run, lease.client
    route = direct.takes(lease.route, ep.url)
    try:
        while True:
            run.begin()
            error: errors.OpenAICompatError | None = None
            timeout, cut = _attempt_timeout(call)
            try:
                # No local holds the request (its repr has the raw URL) or an error body (which
                # may echo the key): tracebacks with locals, and Sentry, show every local.
                if route is not None:
                    response = direct.request(
                        route, call.method, ep.url, call.headers, call.body, timeout, call.sent
                    )
                else:
                    response = client.send(
                        client.build_request(
                            call.method, parsed_url(ep.url), headers=call.headers, content=call.body,
                            timeout=timeout,
                        ),
                        stream=True,
                    )
            except _HTTPX_ERRORS as exc:
                error = _timed_out(exc, call, cut)
            else:
                try:
                    if response.is_success and call.read:
                        try:
                            error = _unusable(
                                ep, read_body(response, ep.read_timeout_s, late=_expiry(ep))
                            )
                        finally:
                            response.close()
                    elif response.is_success:
                        _prime(response)
                except _HTTPX_ERRORS as exc:
                    response.close()
                    error = _first_byte_error(exc, call, cut)
            if error is None:
                if response.is_success:
                    try:
                        run.succeeded(response.status_code)
                    except BaseException:
                        response.close()
                        raise
                    return response
                try:
                    error = _classify(ep, response, read_body(
                        response, ep.read_timeout_s, _MAX_ERROR_BODY, quiet=True
                    ).content())
                finally:
                    response.close()
            run.policy.sleep(run.failed(error.scrub(ep.secrets)))
    finally:
        run.abandon()


async def _aopen(call: _Call, lease: Lease[httpx2.AsyncClient]) -> httpx2.Response:
    """The async twin of `_open`."""
    ep, run, client = call.ep, call.run, lease.client
    route = direct.takes(lease.route, ep.url)
    try:
        while True:
            run.begin()
            error: errors.OpenAICompatError | None = None
            timeout, cut = _attempt_timeout(call)
            try:
                if route is not None:
                    response = await direct.arequest(
                        route, call.method, ep.url, call.headers, call.body, timeout, call.sent
                    )
                else:
                    response = await client.send(
                        client.build_request(
                            call.method, parsed_url(ep.url), headers=call.headers, content=call.body,
                            timeout=timeout,
                        ),
                        stream=True,
                    )
            except _HTTPX_ERRORS as exc:
                error = _timed_out(exc, call, cut)
            else:
                try:
                    if response.is_success and call.read:
                        try:
                            error = _unusable(
                                ep, await aread_body(response, ep.read_timeout_s, late=_expiry(ep))
                            )
                        finally:
                            await response.aclose()
                    elif response.is_success:
                        await _aprime(response)
                except _HTTPX_ERRORS as exc:
                    await response.aclose()
                    error = _first_byte_error(exc, call, cut)
            if error is None:
                if response.is_success:
                    try:
                        run.succeeded(response.status_code)
                    except BaseException:
                        await response.aclose()
                        raise
                    return response
                try:
                    error = _classify(ep, response, (await aread_body(
                        response, ep.read_timeout_s, _MAX_ERROR_BODY, quiet=True
                    )).content())
                finally:
                    await response.aclose()
            await run.policy.asleep(run.failed(error.scrub(ep.secrets)))
    finally:
        run.abandon()


@contextlib.contextmanager
def send_stream(
    endpoint: Endpoint, body: bytes | None, *, pools: Pools, method: Method = "POST",
    policy: RetryPolicy | None = None, breaker: CircuitBreaker | None = None,
    on_attempt: OnAttempt | None = None, on_sent: Callable[[], None] | None = None,
) -> Iterator[httpx2.Response]:
    """Send with retries; yield the open 2xx response. Read it with `iter_body`.

    `breaker=None` uses the breakers in `pools` of the provider's origin and of the endpoint's
    model (one given is the only one used); `policy=None` the default policy. `on_sent`, if
    given, may be called after an attempt's request is out, before its answer is read (on a
    keep-alive connection of our pools: `sending.SENT`); it is not called otherwise.
    """
    call = _call(endpoint, body, method, False, pools, policy, breaker, on_attempt, on_sent)
    lease = pools.lease(endpoint.url, endpoint.verify_tls)
    try:
        response = _open(call, lease)
        try:
            yield response
        finally:
            response.close()
    finally:
        pools.release(lease)


@contextlib.asynccontextmanager
async def asend_stream(
    endpoint: Endpoint, body: bytes | None, *, pools: Pools, method: Method = "POST",
    policy: RetryPolicy | None = None, breaker: CircuitBreaker | None = None,
    on_attempt: OnAttempt | None = None, on_sent: Callable[[], None] | None = None,
) -> AsyncIterator[httpx2.Response]:
    """The async twin of `send_stream`; read the response with `aiter_body`."""
    call = _call(endpoint, body, method, False, pools, policy, breaker, on_attempt, on_sent)
    lease = await pools.alease(endpoint.url, endpoint.verify_tls)
    try:
        response = await _aopen(call, lease)
        try:
            yield response
        finally:
            await response.aclose()
    finally:
        await pools.arelease(lease)


def send(
    endpoint: Endpoint, body: bytes | None, *, pools: Pools, method: Method = "POST",
    policy: RetryPolicy | None = None, breaker: CircuitBreaker | None = None,
    on_attempt: OnAttempt | None = None,
) -> httpx2.Response:
    """Send and read the whole 2xx body; a body that breaks off is retried, since nothing
    was delivered yet. Returns a closed response whose `.content` is read."""
    call = _call(endpoint, body, method, True, pools, policy, breaker, on_attempt)
    lease = pools.lease(endpoint.url, endpoint.verify_tls)
    try:
        return _open(call, lease)
    finally:
        pools.release(lease)


async def asend(
    endpoint: Endpoint, body: bytes | None, *, pools: Pools, method: Method = "POST",
    policy: RetryPolicy | None = None, breaker: CircuitBreaker | None = None,
    on_attempt: OnAttempt | None = None,
) -> httpx2.Response:
    """The async twin of `send`."""
    call = _call(endpoint, body, method, True, pools, policy, breaker, on_attempt)
    lease = await pools.alease(endpoint.url, endpoint.verify_tls)
    try:
        return await _aopen(call, lease)
    finally:
        await pools.arelease(lease)


def _never() -> bool:
    return False


def arrived(response: httpx2.Response) -> Callable[[], bool]:
    """A probe for coalescing per network read: True when the response's next body bytes have
    already arrived (h11 holds them), so reading on returns data without touching the network.

    httpx2 has no public way to ask, so this looks through its stream to httpcore2's HTTP/1.1
    connection and h11's receive buffer; where anything is not as expected (HTTP/2, another
    transport, a later version) the probe is always False: one batch per read of the body, the
    granularity without coalescing. It never says True when the next read would wait: for a
    chunked body at a chunk boundary it asks for a whole chunk-size line and a byte beyond."""
    try:
        inner: Any = response.stream  # private attributes, each checked: see the docstring
        if isinstance(inner, (_Primed, _APrimed)):  # its first chunk is read by then
            inner = inner._stream
        if not isinstance(inner, direct.ByteStreams):  # httpx2's client wraps it once more
            inner = inner._stream
        elif inner.body is not None and inner.body.taken is not None:
            return _body_ready(inner.body.taken)  # the direct road took the body from h11
        stream = inner._httpcore_stream._stream
        state = stream._connection._h11_state
        if not isinstance(state._receive_buffer._data, bytearray):
            return _never
        state._reader  # noqa: B018 - it must exist
    except AttributeError:
        return _never

    return lambda: h11_ready(state)


def _body_ready(body: Any) -> Callable[[], bool]:
    """The probe of a body the direct road reads itself: a chunked one's decoder knows what
    it holds; a Content-Length one holds nothing between reads."""
    if isinstance(body, ChunkedDecoder):
        return body.ready
    return _never


def join_reads(response: httpx2.Response) -> None:
    """From now on the response's body comes one piece per network read (the chunks h11 can
    decode from what one read brought, joined) where the direct road reads it from h11; else
    nothing changes and `arrived` tells the caller what to hold. A caller sets it once the
    answer's first piece is out: until then each chunk is parsed as it comes, so a read that
    brought a whole answer does not delay its first text by the parse of all of it."""
    inner: Any = response.stream
    if isinstance(inner, (_Primed, _APrimed)):
        inner = inner._stream
    if isinstance(inner, direct.ByteStreams):
        direct.join_reads(inner)


def h11_ready(state: Any) -> bool:
    """Whether an h11 connection can produce its next body data from the bytes it already
    holds, without reading the network (see `arrived`)."""
    data = state._receive_buffer._data
    size = len(data)
    if not size:
        return False
    reader = state._reader
    chunk_left = getattr(reader, "_bytes_in_chunk", None)
    if chunk_left is None:  # Content-Length or read-to-close: any byte is body
        return type(reader).__name__ in ("ContentLengthReader", "Http10Reader")
    if reader._reading_trailer:
        return False
    skip = len(reader._bytes_to_discard)
    if chunk_left and not skip:
        return True  # inside a chunk: its next bytes are data
    end = data.find(b"\r\n", skip)  # the chunk-size line, as h11 reads it
    if end < 0 or size <= end + 2:
        return False
    # A chunk of data follows its size line; the last chunk (size 0) is the end, not data: a
    # batch held for more of the read goes out now rather than wait on the stream's close.
    if data[skip] in _NONZERO_HEX:  # how a size line of data starts: no parse needed
        return True
    return bool(data[skip:end].split(b";")[0].strip().lstrip(b"0"))


_NONZERO_HEX = frozenset(b"123456789abcdefABCDEF")


def iter_body(response: httpx2.Response, endpoint: Endpoint) -> Iterator[bytes]:
    """The body's bytes; a failure mid-body becomes `errors.StreamError` (never retried)."""
    delivered = 0
    deadline = endpoint.deadline
    failure: errors.OpenAICompatError
    try:
        for chunk in chunks(response):
            if deadline is not None and deadline.remaining() <= 0:  # a trickle is cut here
                failure = _late(endpoint, delivered)
                break
            delivered += len(chunk)
            yield chunk
        else:
            return
    except _HTTPX_ERRORS as exc:
        failure = _broken_stream(exc, endpoint, delivered)
    raise failure.scrub(endpoint.secrets)  # outside the handler: the httpx2 exception is not chained


async def aiter_body(response: httpx2.Response, endpoint: Endpoint) -> AsyncIterator[bytes]:
    """The async twin of `iter_body`."""
    delivered = 0
    deadline = endpoint.deadline
    failure: errors.OpenAICompatError
    try:
        async for chunk in achunks(response):
            if deadline is not None and deadline.remaining() <= 0:
                failure = _late(endpoint, delivered)
                break
            delivered += len(chunk)
            yield chunk
        else:
            return
    except _HTTPX_ERRORS as exc:
        failure = _broken_stream(exc, endpoint, delivered)
    raise failure.scrub(endpoint.secrets)
