"""HTTP transport: pooled httpx2 clients, the retry loop, and httpx2 exceptions -> our errors.

Retries happen only before the first byte of a body reaches the caller, so output is never
duplicated. The decisions (backoff, retry or not, breaker) live in `retry.py` and are shared;
only the outer loop is written twice, once sync and once async. No header value is ever put
into an error, an `AttemptInfo` or a repr: headers are masked by `redacted_headers` and every
sensitive header value is registered with `errors.register_secret` before a request is sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import threading
from collections.abc import AsyncGenerator, AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import httpx2

from .. import errors
from ..redaction import (
    is_sensitive_header,
    redact_url,
    redacted_headers,
    strip_userinfo,
    url_secrets,
)
from . import logfilter
from .bodies import MAX_BODY_BYTES, BodyReader, aread_body, read_body
from .retry import (
    DEFAULT_POLICY,
    AttemptInfo,
    Attempts,
    CircuitBreaker,
    OnAttempt,
    RetryPolicy,
    fmt_seconds,
)

__all__ = [
    "AttemptInfo", "Endpoint", "aclose_all", "aiter_body", "asend", "asend_stream", "breaker_for",
    "close_all", "get_async_client", "get_sync_client", "is_sensitive_header", "iter_body",
    "redact_url", "redacted_headers", "send", "send_stream", "translate_exception", "uses_tls",
]

Method = Literal["GET", "POST"]
_DEFAULT_TIMEOUT_S = 600.0
_MAX_ERROR_BODY = 1024 * 1024
# As many idle connections kept as may be open: at concurrency 50, a keep-alive pool of 20
# closed and reopened connections all the time (docs/performance.md).
_LIMITS = httpx2.Limits(max_connections=100, max_keepalive_connections=100)
_HTTPX_ERRORS = (httpx2.HTTPError, httpx2.InvalidURL, UnicodeError)


# httpx2 parses a URL string on every request, a cost the profile showed; a parsed URL is
# reused as is (docs/performance.md).
_parsed_url = functools.lru_cache(maxsize=256)(httpx2.URL)


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

    @property
    def read_timeout_s(self) -> float:
        """Seconds a response may go without data; a stream without an event (see call.py)."""
        return _DEFAULT_TIMEOUT_S if self.timeout_ms is None else max(self.timeout_ms, 1) / 1000

    def __repr__(self) -> str:
        shown = {**self.__dict__, "url": redact_url(self.url), "headers": redacted_headers(self.headers)}
        return f"Endpoint({', '.join(f'{k}={v!r}' for k, v in shown.items())})"


def _detail(exc: BaseException) -> str:
    text = " ".join(str(exc).split()).rstrip(".") or type(exc).__name__
    return errors.redact(strip_userinfo(text))[:200]


def _request_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers to send; registers sensitive values so no message can ever echo them."""
    out = {"content-type": "application/json"}
    for name, value in headers.items():
        if name.lower() == "content-type":
            out.pop("content-type", None)
        out[name] = value
        if is_sensitive_header(name):
            errors.register_secret(value)
            errors.register_secret(value.partition(" ")[2].strip())
    return out


# -- pooled clients -------------------------------------------------------------------------

_Key = tuple[str, bool, int | None, bool]


def _client_kwargs(verify_tls: bool, timeout_ms: int | None, tls: bool = True) -> dict[str, Any]:
    logfilter.install()  # every client is built from these: its URLs never reach a log raw
    total = _DEFAULT_TIMEOUT_S if timeout_ms is None else max(timeout_ms, 1) / 1000
    timeout = httpx2.Timeout(connect=min(10.0, total), read=total, write=total, pool=10.0)
    verify: Any = verify_tls if tls else _plain_http_context()
    return {"timeout": timeout, "limits": _LIMITS, "verify": verify, "http2": False}


def _plain_http_context() -> Any:
    """The TLS context of a client that only ever talks plain http (a local server, most of
    the time): loading the CA store is a start-up cost every `llm` command would pay for nothing.
    Verification stays on with no CA trusted, so an https connection on it fails, never goes
    unverified (redirects are not followed, so none is made)."""
    import ssl

    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED, check_hostname


def uses_tls(url: str) -> bool:
    return url[:7].lower() != "http://"


class _Pools:
    """Process-wide clients: one per (provider, verify_tls, timeout); async ones per loop too."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pid = os.getpid()
        self.sync: dict[_Key, httpx2.Client] = {}
        self.loops: dict[asyncio.AbstractEventLoop, dict[_Key, httpx2.AsyncClient]] = {}
        self.guards: dict[asyncio.AbstractEventLoop, AsyncGenerator[None, None]] = {}
        self.breakers: dict[str, CircuitBreaker] = {}

    def check_fork(self) -> None:
        """After a fork the sockets belong to the parent: forget them without closing."""
        if os.getpid() != self.pid:
            self.pid = os.getpid()
            self.sync, self.loops, self.guards = {}, {}, {}


_POOLS = _Pools()


def get_sync_client(
    provider: str, *, verify_tls: bool = True, timeout_ms: int | None = None, tls: bool = True
) -> httpx2.Client:
    """The pooled sync client for this provider, created on first use; `tls=False` for one
    that only talks plain http."""
    key = (provider, verify_tls, timeout_ms, tls)
    with _POOLS.lock:
        _POOLS.check_fork()
        client = _POOLS.sync.get(key)
        if client is None:
            client = _POOLS.sync[key] = httpx2.Client(**_client_kwargs(verify_tls, timeout_ms, tls))
        return client


async def get_async_client(
    provider: str, *, verify_tls: bool = True, timeout_ms: int | None = None, tls: bool = True
) -> httpx2.AsyncClient:
    """The pooled async client for this provider on the running loop (clients can't cross loops).

    The clients of a loop are closed when asyncio shuts the loop down (`asyncio.run` and
    `asyncio.Runner` close async generators first, and a parked generator guards them).
    """
    loop = asyncio.get_running_loop()
    key = (provider, verify_tls, timeout_ms, tls)
    with _POOLS.lock:
        _POOLS.check_fork()
        for closed in [other for other in _POOLS.loops if other.is_closed()]:
            del _POOLS.loops[closed]  # closed without shutdown_asyncgens: nothing to await
            _POOLS.guards.pop(closed, None)
        clients = _POOLS.loops.get(loop)
        guard = None
        if clients is None:
            clients = _POOLS.loops[loop] = {}
            guard = _POOLS.guards[loop] = _close_with_loop(loop, clients)
        client = clients.get(key)
        if client is None:
            client = clients[key] = httpx2.AsyncClient(**_client_kwargs(verify_tls, timeout_ms, tls))
    if guard is not None:
        await guard.__anext__()  # parks it; the loop now tracks it for shutdown
    return client


async def _close_with_loop(
    loop: asyncio.AbstractEventLoop, clients: dict[_Key, httpx2.AsyncClient]
) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        with _POOLS.lock:
            if _POOLS.loops.get(loop) is clients:
                del _POOLS.loops[loop]
                _POOLS.guards.pop(loop, None)
        for client in list(clients.values()):
            with contextlib.suppress(Exception):
                await client.aclose()
        clients.clear()


def breaker_for(provider: str) -> CircuitBreaker:
    """The process-wide circuit breaker of a provider."""
    with _POOLS.lock:
        breaker = _POOLS.breakers.get(provider)
        if breaker is None:
            breaker = _POOLS.breakers[provider] = CircuitBreaker(provider)
        return breaker


def close_all() -> None:
    """Close and forget every pooled client and breaker (tests). Async clients of a running
    loop are closed on that loop; prefer `aclose_all()` from inside it."""
    with _POOLS.lock:
        sync, _POOLS.sync = _POOLS.sync, {}
        _POOLS.loops, _POOLS.guards, _POOLS.breakers = {}, {}, {}
    for client in sync.values():
        client.close()


async def aclose_all() -> None:
    """Close the running loop's async clients now, then everything else as `close_all` does."""
    guard = _POOLS.guards.get(asyncio.get_running_loop())
    if guard is not None:
        await guard.aclose()
    close_all()


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
        timeout = _client_kwargs(endpoint.verify_tls, endpoint.timeout_ms)["timeout"]
        message = {
            httpx2.ConnectTimeout: f"Timed out connecting after {fmt_seconds(timeout.connect)} s",
            httpx2.ReadTimeout: f"No response within {fmt_seconds(timeout.read)} s",
            httpx2.PoolTimeout: "Timed out waiting for a free pooled connection",
        }.get(type(exc), "Timed out sending the request")
        return errors.NetworkTimeout(message, **where)
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


def _broken_stream(exc: BaseException, endpoint: Endpoint, delivered: int) -> errors.StreamError:
    where = _where(endpoint)
    if isinstance(exc, httpx2.TimeoutException):
        read = _client_kwargs(endpoint.verify_tls, endpoint.timeout_ms)["timeout"].read
        return errors.StreamError(
            f"The stream stalled: no data for {fmt_seconds(read)} s after {delivered} bytes",
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


def _call(
    ep: Endpoint, body: bytes | None, method: Method, read: bool,
    policy: RetryPolicy | None, breaker: CircuitBreaker | None, on_attempt: OnAttempt | None,
) -> _Call:
    headers = _request_headers(ep.headers)  # first: registers secrets before any message exists
    for secret in url_secrets(ep.url):  # and the URL's own (a server may echo its path back)
        errors.register_secret(secret)
    policy = policy or DEFAULT_POLICY
    if ep.max_attempts is not None:
        policy = replace(policy, max_attempts=max(1, ep.max_attempts))
    run = Attempts(policy, breaker or breaker_for(ep.provider), url=redact_url(ep.url), on_attempt=on_attempt)
    return _Call(ep, body, method, read, headers, run)


def _classify(endpoint: Endpoint, response: httpx2.Response, body: bytes) -> errors.OpenAICompatError:
    status = response.status_code
    if 300 <= status < 400:
        location = response.headers.get("location")
        to = f" to {redact_url(location)}" if location else ""
        message = f"The server redirected{to} (HTTP {status}); set baseURL to the final address"
        return errors.ConfigError(message, provider=endpoint.provider, field="baseURL")
    return errors.classify_response(status, response.headers, body, **_where(endpoint))


def _unusable(endpoint: Endpoint, body: BodyReader) -> errors.OpenAICompatError | None:
    """Why a 2xx body read whole cannot be used: only keep-alives for the read timeout (retried,
    nothing was delivered), or more than MAX_BODY_BYTES (not retried); None when it can."""
    if body.stalled:
        message = f"No answer within {fmt_seconds(endpoint.read_timeout_s)} s, only keep-alives"
        return errors.NetworkTimeout(message, **_where(endpoint))
    if body.overflowed:
        message = f"The response is larger than {MAX_BODY_BYTES // 2**20} MB; it was not read"
        return errors.StreamError(message, hint="Check the server and the request", **_where(endpoint))
    return None


def _open(call: _Call) -> httpx2.Response:
    """Attempts until a 2xx response (fully read if `read`), or raise the final error."""
    ep, run = call.ep, call.run
    client = get_sync_client(
        ep.provider, verify_tls=ep.verify_tls, timeout_ms=ep.timeout_ms, tls=uses_tls(ep.url)
    )
    try:
        while True:
            run.begin()
            error: errors.OpenAICompatError | None = None
            try:
                # No local holds the request (its repr has the raw URL) or an error body (which
                # may echo the key): tracebacks with locals, and Sentry, show every local.
                response = client.send(
                    client.build_request(call.method, _parsed_url(ep.url), headers=call.headers, content=call.body),
                    stream=True,
                )
                if response.is_success and call.read:
                    try:
                        error = _unusable(ep, read_body(response, ep.read_timeout_s))
                    finally:
                        response.close()
            except _HTTPX_ERRORS as exc:
                error = translate_exception(exc, ep)
            if error is None:
                if response.is_success:
                    try:
                        run.succeeded(response.status_code)
                    except BaseException:
                        response.close()
                        raise
                    return response
                try:
                    error = _classify(
                        ep, response, read_body(response, ep.read_timeout_s, _MAX_ERROR_BODY, quiet=True).content()
                    )
                finally:
                    response.close()
            run.policy.sleep(run.failed(error))
    finally:
        run.abandon()


async def _aopen(call: _Call) -> httpx2.Response:
    """The async twin of `_open`."""
    ep, run = call.ep, call.run
    client = await get_async_client(
        ep.provider, verify_tls=ep.verify_tls, timeout_ms=ep.timeout_ms, tls=uses_tls(ep.url)
    )
    try:
        while True:
            run.begin()
            error: errors.OpenAICompatError | None = None
            try:
                response = await client.send(
                    client.build_request(call.method, _parsed_url(ep.url), headers=call.headers, content=call.body),
                    stream=True,
                )
                if response.is_success and call.read:
                    try:
                        error = _unusable(ep, await aread_body(response, ep.read_timeout_s))
                    finally:
                        await response.aclose()
            except _HTTPX_ERRORS as exc:
                error = translate_exception(exc, ep)
            if error is None:
                if response.is_success:
                    try:
                        run.succeeded(response.status_code)
                    except BaseException:
                        await response.aclose()
                        raise
                    return response
                try:
                    error = _classify(
                        ep, response,
                        (await aread_body(response, ep.read_timeout_s, _MAX_ERROR_BODY, quiet=True)).content(),
                    )
                finally:
                    await response.aclose()
            await run.policy.asleep(run.failed(error))
    finally:
        run.abandon()


@contextlib.contextmanager
def send_stream(
    endpoint: Endpoint, body: bytes | None, *, method: Method = "POST",
    policy: RetryPolicy | None = None, breaker: CircuitBreaker | None = None,
    on_attempt: OnAttempt | None = None,
) -> Iterator[httpx2.Response]:
    """Send with retries; yield the open 2xx response. Read it with `iter_body`.

    `breaker=None` uses the provider's process-wide breaker; `policy=None` the default policy.
    """
    response = _open(_call(endpoint, body, method, False, policy, breaker, on_attempt))
    try:
        yield response
    finally:
        response.close()


@contextlib.asynccontextmanager
async def asend_stream(
    endpoint: Endpoint, body: bytes | None, *, method: Method = "POST",
    policy: RetryPolicy | None = None, breaker: CircuitBreaker | None = None,
    on_attempt: OnAttempt | None = None,
) -> AsyncIterator[httpx2.Response]:
    """The async twin of `send_stream`; read the response with `aiter_body`."""
    response = await _aopen(_call(endpoint, body, method, False, policy, breaker, on_attempt))
    try:
        yield response
    finally:
        await response.aclose()


def send(
    endpoint: Endpoint, body: bytes | None, *, method: Method = "POST",
    policy: RetryPolicy | None = None, breaker: CircuitBreaker | None = None,
    on_attempt: OnAttempt | None = None,
) -> httpx2.Response:
    """Send and read the whole 2xx body; a body that breaks off is retried, since nothing
    was delivered yet. Returns a closed response whose `.content` is read."""
    return _open(_call(endpoint, body, method, True, policy, breaker, on_attempt))


async def asend(
    endpoint: Endpoint, body: bytes | None, *, method: Method = "POST",
    policy: RetryPolicy | None = None, breaker: CircuitBreaker | None = None,
    on_attempt: OnAttempt | None = None,
) -> httpx2.Response:
    """The async twin of `send`."""
    return await _aopen(_call(endpoint, body, method, True, policy, breaker, on_attempt))


def iter_body(response: httpx2.Response, endpoint: Endpoint) -> Iterator[bytes]:
    """The body's bytes; a failure mid-body becomes `errors.StreamError` (never retried)."""
    delivered = 0
    try:
        for chunk in response.iter_bytes():
            delivered += len(chunk)
            yield chunk
    except _HTTPX_ERRORS as exc:
        failure = _broken_stream(exc, endpoint, delivered)
    else:
        return
    raise failure  # outside the handler: the httpx2 exception is not chained


async def aiter_body(response: httpx2.Response, endpoint: Endpoint) -> AsyncIterator[bytes]:
    """The async twin of `iter_body`."""
    delivered = 0
    try:
        async for chunk in response.aiter_bytes():
            delivered += len(chunk)
            yield chunk
    except _HTTPX_ERRORS as exc:
        failure = _broken_stream(exc, endpoint, delivered)
    else:
        return
    raise failure
