"""Pooled httpx2 clients and circuit breakers: the transport's share of process state.

One `Pools` belongs to one `Runtime` (see `runtime.py`). Clients are keyed by origin and TLS
settings (scheme, host, port, verify_tls), never by provider or timeout: the timeout is set
per request. They are bounded (least recently used evicted past `max_origins`) and closed when
evicted or idle past `idle_s`; a client in use when evicted is closed when its last request
ends. Async clients are kept per event loop (they cannot cross loops) and closed on that loop,
when evicted or when asyncio shuts the loop down. After `os.fork()` the child starts with
empty pools and breakers and never touches the parent's sockets.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncGenerator, Callable
from typing import Any, Generic, TypeVar

import httpx2

from ..forks import generation
from ..redaction import Secrets
from . import logfilter
from .direct import Route, parsed_url, route_for
from .retry import CircuitBreaker

__all__ = ["Lease", "OwnedClients", "PoolKey", "Pools", "pool_key"]

# As many idle connections kept as may be open: at concurrency 50, a keep-alive pool of 20
# closed and reopened connections all the time (docs/performance.md).
_MAX_CONNECTIONS = 100
_LIMITS = httpx2.Limits(
    max_connections=_MAX_CONNECTIONS, max_keepalive_connections=_MAX_CONNECTIONS
)

PoolKey = tuple[str, str, int | None, bool]  # scheme, host, port, verify_tls
C = TypeVar("C", httpx2.Client, httpx2.AsyncClient)


@functools.lru_cache(maxsize=512)  # a pure function of the URL; parsing costs ~17 us
def _origin(url: str) -> tuple[str, str, int | None]:
    try:
        parsed = parsed_url(url)
    except (httpx2.InvalidURL, UnicodeError, TypeError):
        return ("", url, None)  # the request itself reports the bad URL
    return (parsed.scheme, parsed.host, parsed.port)


@functools.lru_cache(maxsize=512)  # pure; asked for by every request
def pool_key(url: str, verify_tls: bool) -> PoolKey:
    """The pool a request to `url` uses: its origin and TLS settings."""
    return (*_origin(url), verify_tls)


def _plain_http_context() -> Any:
    """The TLS context of a client that only ever talks plain http (a local server, most of
    the time): loading the CA store costs 20-30 ms per process, paid by every `llm` command.
    Verification stays on with no CA trusted, so an https connection on it fails, never goes
    unverified (redirects are not followed, so none is made)."""
    import ssl

    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED, check_hostname


def client_kwargs(key: PoolKey) -> dict[str, Any]:
    logfilter.install()  # every client is built from these: its URLs never reach a log raw
    scheme, _, _, verify_tls = key
    verify: Any = _plain_http_context() if scheme == "http" else verify_tls
    return {"limits": _LIMITS, "verify": verify, "http2": False}


class Lease(Generic[C]):
    """One client in use by one request; `Pools.release` / `arelease` gives it back."""

    __slots__ = ("client", "key", "last_used", "pid", "retired", "route", "users")

    def __init__(self, key: PoolKey, client: C, route: Route | None = None) -> None:
        self.key = key
        self.client: C = client
        # Our own client's road past httpx2's client layer (`direct`); None: `client.send`.
        self.route = route
        self.pid = os.getpid()  # a client is closed only by the process that opened it
        self.users = 0
        self.last_used = 0.0
        self.retired = False

    def __repr__(self) -> str:
        scheme, host, port, verify = self.key
        return f"Lease({scheme}://{host}:{port}, verify_tls={verify}, users={self.users})"


class _LoopPools:
    __slots__ = ("clients", "guard", "last_sweep")

    def __init__(self) -> None:
        self.clients: OrderedDict[PoolKey, Lease[httpx2.AsyncClient]] = OrderedDict()
        self.guard: AsyncGenerator[None, None] | None = None
        self.last_sweep = 0.0


class Pools:
    """Clients per origin (sync, and async per event loop) and breakers per provider id and
    per (provider id, model)."""

    def __init__(
        self,
        *,
        max_origins: int = 32,
        idle_s: float = 300.0,
        max_breakers: int = 1024,
        clock: Callable[[], float] = time.monotonic,
        secrets: Secrets | None = None,
    ) -> None:
        self.max_origins = max(1, max_origins)
        # The runtime's recent secrets: fed with each request's, read by the log filter.
        self.secrets = secrets
        self._remembered: tuple[str, ...] = ()
        if secrets is not None:
            logfilter.watch(secrets)
        self.idle_s = idle_s
        self.max_breakers = max(1, max_breakers)
        self._clock = clock
        self._fresh()

    def _fresh(self) -> None:
        self._lock = threading.Lock()
        self._generation = generation()
        self._sync: OrderedDict[PoolKey, Lease[httpx2.Client]] = OrderedDict()
        self._last_sweep = 0.0
        self._loops: dict[asyncio.AbstractEventLoop, _LoopPools] = {}
        self._breakers: OrderedDict[tuple[str, str | None], CircuitBreaker] = OrderedDict()

    def _check_fork(self) -> None:
        """After a fork the sockets belong to the parent: forget them without closing."""
        if generation() != self._generation:
            self._fresh()

    def __repr__(self) -> str:
        return (
            f"Pools({len(self._sync)} sync, {sum(len(p.clients) for p in self._loops.values())} "
            f"async of at most {self.max_origins} per loop, {len(self._breakers)} breakers)"
        )

    def remember(self, secrets: tuple[str, ...]) -> None:
        """A request's secrets into the runtime's recent ones (httpx2's and httpcore2's logs
        echo URLs and headers: `logfilter`); cheap when they are the last request's."""
        if self.secrets is not None and secrets and secrets != self._remembered:
            self.secrets.add(*secrets)
            self._remembered = secrets

    # -- counts (tests, diagnostics) ---------------------------------------------------------

    def sync_keys(self) -> list[PoolKey]:
        self._check_fork()
        with self._lock:
            return list(self._sync)

    def async_keys(self, loop: asyncio.AbstractEventLoop | None = None) -> list[PoolKey]:
        self._check_fork()
        with self._lock:
            pools = self._loops.get(loop or asyncio.get_running_loop())
            return list(pools.clients) if pools is not None else []

    def breaker_count(self) -> int:
        self._check_fork()
        return len(self._breakers)

    # -- breakers ----------------------------------------------------------------------------

    def breaker(self, provider: str, model: str | None = None) -> CircuitBreaker:
        """The circuit breaker of a provider id's origin (`model=None`: every model behind
        it), or of one model of it; created on first use, the least recently used of either
        kind forgotten past `max_breakers`."""
        self._check_fork()
        breakers = self._breakers
        key = (provider, model)
        breaker = breakers.get(key)
        if breaker is not None:  # the common case, without the lock (each step is atomic)
            try:  # noqa: SIM105 - suppress() costs a context manager per request
                breakers.move_to_end(key)
            except KeyError:  # evicted meanwhile: still a working breaker
                pass
            return breaker
        with self._lock:
            breaker = breakers.get(key)
            if breaker is None:
                breaker = breakers[key] = CircuitBreaker(provider, model=model)
                if len(breakers) > self.max_breakers:
                    breakers.popitem(last=False)
            return breaker

    # -- sync clients ------------------------------------------------------------------------

    def lease(self, url: str, verify_tls: bool = True) -> Lease[httpx2.Client]:
        """The pooled sync client for `url`'s origin, created on first use. Give it back with
        `release` when the response is closed."""
        key = pool_key(url, verify_tls)
        self._check_fork()
        now = self._clock()
        with self._lock:
            lease = self._sync.get(key)
            if lease is None:
                client = httpx2.Client(**client_kwargs(key))
                lease = self._sync[key] = Lease(key, client, route_for(client, url, _MAX_CONNECTIONS))
            else:
                self._sync.move_to_end(key)
            lease.users += 1
            lease.last_used = now
            if len(self._sync) <= self.max_origins and now - self._last_sweep < 1.0:
                return lease  # the common case: nothing to evict, no sweep due
            doomed, swept = self._evict(self._sync, now, self._last_sweep)
            if swept:
                self._last_sweep = now
        for old in doomed:
            _close(old)
        return lease

    def release(self, lease: Lease[httpx2.Client]) -> None:
        with self._lock:
            lease.users -= 1
            lease.last_used = self._clock()
            close = lease.retired and lease.users == 0
        if close and os.getpid() == lease.pid:
            _close(lease)

    def _evict(
        self, pools: OrderedDict[PoolKey, Lease[Any]], now: float, last_sweep: float
    ) -> tuple[list[Lease[Any]], bool]:
        """Under the lock: take out the leases past the cap and, at most once a second, the
        idle ones; return those to close now (the others close on their last release), and
        whether the idle sweep was made."""
        doomed: list[Lease[Any]] = []
        while len(pools) > self.max_origins:
            _, old = pools.popitem(last=False)
            old.retired = True
            if old.users == 0:
                doomed.append(old)
        if now - last_sweep < 1.0:
            return doomed, False
        for key, old in list(pools.items()):
            if old.users == 0 and now - old.last_used > self.idle_s:
                del pools[key]
                old.retired = True
                doomed.append(old)
        return doomed, True

    def close(self) -> None:
        """Close every sync client now and forget every breaker. Async clients are closed on
        their loops: now for a loop that is not running, else when asyncio shuts it down (or
        by `aclose` from inside it)."""
        self._check_fork()
        with self._lock:
            sync, self._sync = self._sync, OrderedDict()
            self._breakers = OrderedDict()
            idle_loops = [
                (loop, pools) for loop, pools in self._loops.items()
                if not loop.is_closed() and not loop.is_running()
            ]
        for lease in sync.values():
            lease.retired = True
            if lease.users == 0:
                _close(lease)
        for loop, pools in idle_loops:
            if pools.guard is not None:
                with contextlib.suppress(Exception):
                    loop.run_until_complete(pools.guard.aclose())

    # -- async clients -----------------------------------------------------------------------

    async def alease(self, url: str, verify_tls: bool = True) -> Lease[httpx2.AsyncClient]:
        """The pooled async client for `url`'s origin on the running loop. The clients of a
        loop are closed when asyncio shuts it down (`asyncio.run` and `asyncio.Runner` close
        async generators first, and a parked generator guards them)."""
        loop = asyncio.get_running_loop()
        key = pool_key(url, verify_tls)
        self._check_fork()
        now = self._clock()
        with self._lock:
            for closed in [other for other in self._loops if other.is_closed()]:
                del self._loops[closed]  # closed without shutdown_asyncgens: nothing to await
            pools = self._loops.get(loop)
            guard = None
            if pools is None:
                pools = self._loops[loop] = _LoopPools()
                guard = pools.guard = self._close_with_loop(loop, pools)
            lease = pools.clients.get(key)
            if lease is None:
                aclient = httpx2.AsyncClient(**client_kwargs(key))
                lease = pools.clients[key] = Lease(key, aclient, route_for(aclient, url, _MAX_CONNECTIONS))
            else:
                pools.clients.move_to_end(key)
            lease.users += 1
            lease.last_used = now
            doomed, swept = self._evict(pools.clients, now, pools.last_sweep)
            if swept:
                pools.last_sweep = now
        if guard is not None:
            await guard.__anext__()  # parks it; the loop now tracks it for shutdown
        for old in doomed:
            await _aclose(old)
        return lease

    async def arelease(self, lease: Lease[httpx2.AsyncClient]) -> None:
        with self._lock:
            lease.users -= 1
            lease.last_used = self._clock()
            close = lease.retired and lease.users == 0
        if close and os.getpid() == lease.pid:
            await _aclose(lease)

    async def _close_with_loop(
        self, loop: asyncio.AbstractEventLoop, pools: _LoopPools
    ) -> AsyncGenerator[None, None]:
        try:
            yield
        finally:
            with self._lock:
                if self._loops.get(loop) is pools:
                    del self._loops[loop]
                leases = list(pools.clients.values())
                pools.clients.clear()
            for lease in leases:
                lease.retired = True
                await _aclose(lease)

    async def aclose(self) -> None:
        """Close the running loop's async clients now, then everything else as `close` does."""
        pools = self._loops.get(asyncio.get_running_loop())
        if pools is not None and pools.guard is not None:
            await pools.guard.aclose()
        self.close()


class OwnedClients(Pools):
    """The httpx2 clients a user passed in (`http_client=` / `http_async_client=`), used as
    they are for one client object's requests: their transport, proxies, TLS settings, default
    headers and event hooks apply. They are never pooled, evicted or closed here (the user
    owns them). Breakers and secrets stay the runtime's (`shared`), so retries, the breaker,
    redaction and errors are those of any other request. A kind not given (an async call on
    an object given only a sync client) uses the shared pools, as ChatOpenAI does."""

    def __init__(
        self,
        shared: Pools,
        client: httpx2.Client | None = None,
        async_client: httpx2.AsyncClient | None = None,
    ) -> None:
        super().__init__(max_origins=1, max_breakers=1)
        logfilter.install()  # the user's client logs URLs too: redacted like ours
        self.shared = shared
        self.client = client
        self.async_client = async_client
        self._key: PoolKey = ("owned", "", None, True)

    def __repr__(self) -> str:
        given = [k for k, c in (("sync", self.client), ("async", self.async_client)) if c]
        return f"OwnedClients({', '.join(given)}; shared {self.shared!r})"

    def breaker(self, provider: str, model: str | None = None) -> CircuitBreaker:
        return self.shared.breaker(provider, model)

    def remember(self, secrets: tuple[str, ...]) -> None:
        self.shared.remember(secrets)

    def lease(self, url: str, verify_tls: bool = True) -> Lease[httpx2.Client]:
        if self.client is None:
            return self.shared.lease(url, verify_tls)
        return Lease(self._key, self.client)

    def release(self, lease: Lease[httpx2.Client]) -> None:
        if lease.client is not self.client:
            self.shared.release(lease)

    async def alease(self, url: str, verify_tls: bool = True) -> Lease[httpx2.AsyncClient]:
        if self.async_client is None:
            return await self.shared.alease(url, verify_tls)
        return Lease(self._key, self.async_client)

    async def arelease(self, lease: Lease[httpx2.AsyncClient]) -> None:
        if lease.client is not self.async_client:
            await self.shared.arelease(lease)

    def close(self) -> None:
        """Nothing of the user's is closed; the shared pools belong to the runtime."""

    async def aclose(self) -> None:
        """As `close`: nothing here is ours to close."""


async def _aclose(lease: Lease[httpx2.AsyncClient]) -> None:
    """Close an async lease: its route's connections, then its client."""
    with contextlib.suppress(Exception):
        if lease.route is not None:
            await lease.route.aclose()
    with contextlib.suppress(Exception):
        await lease.client.aclose()


def _close(lease: Lease[httpx2.Client]) -> None:
    """Close a sync lease: its route's connections, then its client."""
    if lease.route is not None:
        _quietly(lease.route.close)
    _quietly(lease.client.close)


def _quietly(close: Callable[[], None]) -> None:
    with contextlib.suppress(Exception):
        close()
