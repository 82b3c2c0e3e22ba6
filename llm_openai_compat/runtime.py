"""Where process state lives.

Everything a process learns or keeps between calls belongs to one `Runtime`; no module keeps a
registry of its own. A runtime holds:

- the connection pools: sync httpx2 clients, and async ones per event loop, keyed by origin and
  TLS settings (scheme, host, port, verify_tls), never by provider or timeout (the timeout is
  set per request); at most `max_origins` of each, the least recently used evicted and closed,
  and closed after `idle_s` unused; an async client is closed on its own loop;
- the circuit breakers, one per provider id (its origin: every model behind it) and one per
  (provider id, model), at most `max_breakers` of both together, the least recently used
  forgotten (docs/architecture.md, "retry and breaker counting");
- the quirks learned from servers' 400s, per provider id, and what taught them; the embedding
  batch limits learned from servers' refusals, per (provider id, model) (`embed_limits`);
- the profile registry (the built-in profiles, then those extensions and `register_profile`
  add) and the cache of profile lookups;
- the plugin manager (pluggy), the request loggers (one per file), the parsed settings files
  (valid while their mtime, size and inode hold), the targets resolved from them
  (`resolved`: found again only while the file's parse is the one they came from), and what
  every request to a target for a model shares (`templates`, `call.RequestTemplate`);
- a bounded set (`max_secrets`) of recent secrets: a backstop for what is rendered after a
  call (request-log lines, an error naming another provider's key). Each call redacts what it
  produces with its own secrets (`redaction.call_secrets`); pattern scrubbing keeps no state.

`default_runtime()` is created on first use, and cheaply (the pools, which import httpx2, on
first request); it serves the llm models and every client given no other.
`Client(..., runtime=...)`, `AsyncClient` and `ChatOpenAICompat(runtime=...)` take their own,
and tests use a fresh one each (`set_default_runtime` swaps the default). After `os.fork()` the
child starts with empty pools, breakers, learned quirks and caches, and new locks; it never
uses nor closes the parent's sockets. A pickled runtime (inside a pickled client or model sent
to a worker) arrives as a fresh one with the same limits and registered profiles: pools,
breakers, learned quirks and secrets are per process and never travel. Caches of pure functions with a fixed bound (URL parsing
and redaction) stay module-level `lru_cache`s.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .forks import generation

if TYPE_CHECKING:
    import pluggy

    from .config.profiles import Adaptation, Profile
    from .config.settings import Settings, SettingsCache
    from .errors import OpenAICompatError
    from .hooks import Exchange, RequestLogger
    from .http.pools import Pools
    from .limits import LearnedLimits
    from .redaction import Secrets

__all__ = ["Runtime", "default_runtime", "set_default_runtime"]

_MAX_PROFILE_LOOKUPS = 256
_MAX_RESOLVED = 64
_MAX_TEMPLATES = 256
_MAX_LOGGERS = 64


class Runtime:
    """The one owner of a process's state (see the module docstring). Thread-safe."""

    def __init__(
        self,
        *,
        max_origins: int = 32,
        idle_s: float = 300.0,
        max_breakers: int = 1024,
        max_secrets: int = 1024,
        max_learned: int = 1024,
    ) -> None:
        # The pools import httpx2: made on first use, so that registering the llm plugin
        # (which reads the settings through the default runtime) imports no HTTP client.
        self._pool_limits = {"max_origins": max_origins, "idle_s": idle_s, "max_breakers": max_breakers}
        self._pools: Pools | None = None
        self.max_secrets = max(1, max_secrets)
        self.max_learned = max(1, max_learned)
        self._registered: dict[str, Profile] = {}
        self._profiles: dict[str, Profile] | None = None
        self._profile_cache: dict[tuple[str | None, str], Profile] = {}
        self._manager: pluggy.PluginManager | None = None
        self.notices: set[str] = set()  # one-time warnings already shown (the llm plugin)
        self._fresh()

    def _fresh(self) -> None:
        """The state a process starts with: at creation, and in a forked child (whose copies
        of the parent's locks may be held by threads that do not exist in it)."""
        from .config.settings import SettingsCache
        from .limits import LearnedLimits
        from .redaction import Secrets

        self._generation = generation()
        self._lock = threading.Lock()
        self._learned: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._learned_from: dict[str, list[Adaptation]] = {}
        self._embed_limits = LearnedLimits(self.max_learned)
        self._loggers: OrderedDict[str, RequestLogger] = OrderedDict()
        self.secrets: Secrets = Secrets(self.max_secrets)
        self.settings: SettingsCache = SettingsCache()
        self.resolved = SnapshotMemo(_MAX_RESOLVED)
        self.templates = SnapshotMemo(_MAX_TEMPLATES)  # call.RequestTemplate, by target

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as its limits and registered profiles only: the worker that unpickles it
        starts with fresh state and never sees the sender's sockets or secrets."""
        limits = {
            "max_origins": self.max_origins,
            "idle_s": self._pool_limits["idle_s"],
            "max_breakers": self._pool_limits["max_breakers"],
            "max_secrets": self.max_secrets,
            "max_learned": self.max_learned,
        }
        return (_revive, (limits, tuple(self._registered.values())))

    def __repr__(self) -> str:
        pools = "no pools yet" if self._pools is None else repr(self._pools)
        return f"Runtime({pools}, {self.secrets!r}, {len(self._learned)} providers learned)"

    # -- connections -------------------------------------------------------------------------

    @property
    def pools(self) -> Pools:
        """The pooled clients and the breakers (`http/pools.py`)."""
        pools = self._pools
        if pools is None:
            from .http.pools import Pools

            with self._lock:
                if self._pools is None:
                    self._pools = Pools(**self._pool_limits, secrets=self.secrets)  # type: ignore[arg-type]
                pools = self._pools
        return pools

    @property
    def max_origins(self) -> int:
        """At most this many origins have a pooled client (sync; async per loop)."""
        return self._pools.max_origins if self._pools is not None else int(self._pool_limits["max_origins"])

    @max_origins.setter
    def max_origins(self, value: int) -> None:
        self._pool_limits["max_origins"] = max(1, value)
        if self._pools is not None:
            self._pools.max_origins = max(1, value)

    def close(self) -> None:
        """Close every sync pooled client and forget breakers, learned quirks and limits. Async clients
        are closed on their loops (`aclose` from inside one, or when asyncio shuts it down)."""
        if self._pools is not None:
            self._pools.close()
        with self._lock:
            self._learned = OrderedDict()
            self._learned_from = {}
        self._embed_limits.clear()

    async def aclose(self) -> None:
        """Close the running loop's async clients now, then everything `close` does."""
        if self._pools is not None:
            await self._pools.aclose()
        self.close()

    # -- quirks learned from 400s ------------------------------------------------------------

    def _check_fork(self) -> None:
        if generation() != self._generation:
            self._fresh()

    def learned_changes(self, provider_id: str) -> Mapping[str, Any]:
        """Profile changes learned for this provider (per call: one dict lookup)."""
        if generation() != self._generation:
            self._check_fork()
        return self._learned.get(provider_id, _EMPTY)

    def learned_adaptations(self, provider_id: str) -> list[Adaptation]:
        """What this runtime learned about the provider's server from its 400s, oldest first;
        each `Adaptation.description` is one line for `llm openai-compat test` to print."""
        self._check_fork()
        with self._lock:
            return list(self._learned_from.get(provider_id, ()))

    def learn(self, provider_id: str, adaptation: Adaptation) -> None:
        self._check_fork()
        with self._lock:
            changes = dict(self._learned.get(provider_id, {}))
            changes.update(adaptation.changes)
            self._learned[provider_id] = changes  # replaced, never mutated: readers hold no lock
            self._learned.move_to_end(provider_id)
            self._learned_from.setdefault(provider_id, []).append(adaptation)
            while len(self._learned) > self.max_learned:
                old, _ = self._learned.popitem(last=False)
                self._learned_from.pop(old, None)

    @property
    def embed_limits(self) -> LearnedLimits:
        """The embedding batch limits servers' refusals taught (`embeddings.EmbedJob`)."""
        if generation() != self._generation:
            self._check_fork()
        return self._embed_limits

    # -- profiles ----------------------------------------------------------------------------

    def profiles(self) -> Mapping[str, Profile]:
        """The built-in profiles, then those extensions and `register_profile` added."""
        found = self._profiles
        if found is None:
            self.plugin_manager()  # loads the extensions' profiles once
            from .config.profiles import PROFILES

            with self._lock:
                found = self._profiles = {**PROFILES, **self._registered}
        return found

    def register_profile(self, profile: Profile) -> None:
        """Add (or replace) a profile in this runtime's registry."""
        with self._lock:
            self._registered[profile.name] = profile
            self._profiles = None
            self._profile_cache = {}

    def registered_profile(self, name: str | None, base_url: str) -> Profile:
        """The profile among the built-in ones and those registered so far, without loading
        extensions: for llm's model registration, which must not run plugins' code."""
        from .config.profiles import builtin_profile

        return self._registered.get(name or "") or builtin_profile(name, base_url)

    def get_profile(self, name: str | None, base_url: str) -> Profile:
        """The profile named by a provider's settings, else the one its URL suggests;
        remembered (detection runs every profile's URL regexes, which cost more than the
        rest of preparing a request together)."""
        key = (name, base_url)
        hit = self._profile_cache.get(key)
        if hit is not None:
            return hit
        from .config.profiles import get_profile

        profile = get_profile(name, base_url, self.profiles())  # raises for an unknown name
        with self._lock:
            if len(self._profile_cache) >= _MAX_PROFILE_LOOKUPS:
                self._profile_cache = {}
            self._profile_cache[key] = profile
        return profile

    # -- extensions and the request log ------------------------------------------------------

    def plugin_manager(self) -> pluggy.PluginManager:
        """The plugin manager, with entry-point plugins and their profiles loaded on first use."""
        manager = self._manager
        if manager is not None:
            return manager
        from .hooks import load_plugin_manager

        with self._lock:
            if self._manager is None:
                manager, profiles = load_plugin_manager()
                self._registered = {**{p.name: p for p in profiles}, **self._registered}
                self._profiles = None
                self._profile_cache = {}
                self._manager = manager
            return self._manager

    def observed(self, request_log: str | None) -> bool:
        """Whether anyone sees an exchange: a request log, or an installed observer plugin."""
        if request_log or os.environ.get("OPENAI_COMPAT_REQUEST_LOG"):
            return True
        return bool(self.plugin_manager().get_plugins())

    def request_logger(self, path: str) -> RequestLogger:
        """The logger of one request-log file (one per path, so lines never interleave)."""
        self._check_fork()
        with self._lock:
            logger = self._loggers.get(path)
            if logger is None:
                from .hooks import RequestLogger

                logger = self._loggers[path] = RequestLogger(path, secrets=self.secrets)
                if len(self._loggers) > _MAX_LOGGERS:
                    self._loggers.popitem(last=False)
            else:
                self._loggers.move_to_end(path)
            return logger

    def notify_exchange(self, exchange: Exchange, *, request_log: str | None = None) -> None:
        """Tell observers about an exchange; write the request log if one is configured."""
        from .hooks import notify_observers

        path = request_log or os.environ.get("OPENAI_COMPAT_REQUEST_LOG")
        if path:
            self.request_logger(path).openai_compat_exchange(exchange)
        notify_observers(self.plugin_manager(), exchange)

    # -- secrets -----------------------------------------------------------------------------

    def scrub(self, error: OpenAICompatError, secrets: Sequence[str]) -> OpenAICompatError:
        """An error on its way out of a call, scrubbed of the call's `secrets` and of the recent
        ones this runtime holds that occur in it (a key of another provider echoed in a URL's
        path, say). Only on errors: costs time linear in the message, whatever is held."""
        texts = [str(v) for v in (error.message, *error._state().values()) if isinstance(v, str)]
        held = self.secrets.found_in("\n".join(texts))
        return error.scrub((*secrets, *held) if held else secrets)

    # -- settings ----------------------------------------------------------------------------

    def load_settings(self, path: str | Path | None = None) -> Settings:
        """The parsed settings file, cached in this runtime per (path, mtime, size, inode)."""
        return self.settings.load(Path(path) if path is not None else None)


_EMPTY: Mapping[str, Any] = {}


class SnapshotMemo:
    """Values worked out from one object (the snapshot: a parse of the settings file, or a
    `Target`), by key: a value is found again only for that very object, so an edited file,
    or a target resolved from it anew, is never answered from here. `resolved` keeps the
    targets resolved from each parse (every call with the same arguments gets the same
    `Target`, so what is kept per target is found again); `templates` what each request to
    a target shares (`call.RequestTemplate`). At most `limit` entries, all
    dropped when full (a process calls a handful of providers and models)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._items: dict[Any, tuple[Any, Any]] = {}

    def __repr__(self) -> str:
        return f"SnapshotMemo({len(self._items)} entries)"

    def get(self, key: Any, snapshot: Any) -> Any:
        hit = self._items.get(key)
        return hit[1] if hit is not None and hit[0] is snapshot else None

    def put(self, key: Any, snapshot: Any, value: Any) -> None:
        items = self._items
        if key not in items and len(items) >= self.limit:
            items.clear()
        items[key] = (snapshot, value)


def _revive(limits: dict[str, Any], registered: Sequence[Profile]) -> Runtime:
    """An unpickled `Runtime`: fresh state, the sender's limits and registered profiles."""
    runtime = Runtime(**limits)
    for profile in registered:
        runtime.register_profile(profile)
    return runtime
_default: Runtime | None = None
_default_lock = threading.Lock()


def default_runtime() -> Runtime:
    """The runtime of normal use, created on first use (importing this module costs nothing)."""
    runtime = _default
    if runtime is not None:
        return runtime
    with _default_lock:
        return _default if _default is not None else _set(Runtime())


def _set(runtime: Runtime | None) -> Runtime:
    global _default
    _default = runtime
    return runtime  # type: ignore[return-value]


def set_default_runtime(runtime: Runtime | None) -> Runtime | None:
    """Make `runtime` the default (None: a fresh one on next use); returns the previous one.
    For hosts that manage their own, and tests."""
    with _default_lock:
        previous = _default
        _set(runtime)
        return previous
