"""pluggy hook specifications for extensions installed with pip.

A package declares an entry point in the group `openai_compat` pointing at a module with
`@hookimpl` functions:

- `openai_compat_profiles()` returns extra vendor `Profile`s (quirks as data);
- `openai_compat_exchange(exchange)` observes every request: the redacted request, status,
  timing, retries and outcome. It must not raise; errors in observers are swallowed.

The plugin manager is created on first use, never at import time, so importing this package
stays cheap. `RequestLogger` is the built-in observer behind the opt-in request log
(`requestLog` in the settings file, or `OPENAI_COMPAT_REQUEST_LOG`).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import pluggy

from .errors import redact

__all__ = [
    "AttemptRecord",
    "Exchange",
    "RequestLogger",
    "hookimpl",
    "hookspec",
    "notify_exchange",
    "plugin_manager",
]

PROJECT = "openai_compat"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)
log = logging.getLogger("llm_openai_compat")


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    attempt: int
    status: int | None
    error: str | None
    elapsed_s: float
    will_retry: bool
    delay_s: float | None


@dataclass(frozen=True, slots=True)
class Exchange:
    """One logical request, after it ended. Headers are already redacted; no key is here."""

    provider: str
    model: str
    shape: str
    url: str
    method: str
    request_headers: Mapping[str, str]
    request_body: Mapping[str, Any] | None
    status: int | None
    streamed: bool
    started_at: float
    elapsed_s: float
    first_byte_s: float | None
    attempts: Sequence[AttemptRecord] = ()
    outcome: str = "ok"  # "ok" or the error class name
    error: str | None = None
    usage: Mapping[str, Any] | None = None
    finish_reason: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return redact(json.dumps(asdict(self), ensure_ascii=False, default=str, sort_keys=True))


class HookSpecs:
    @hookspec
    def openai_compat_profiles(self) -> Sequence[Any]:  # Sequence[profiles.Profile]
        """Return extra vendor profiles."""
        return ()

    @hookspec
    def openai_compat_exchange(self, exchange: Exchange) -> None:
        """Observe one finished exchange (redacted)."""


_manager: pluggy.PluginManager | None = None
_lock = threading.Lock()


def plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager, with entry-point plugins and their profiles loaded."""
    global _manager
    if _manager is not None:
        return _manager
    with _lock:
        if _manager is None:
            pm = pluggy.PluginManager(PROJECT)
            pm.add_hookspecs(HookSpecs)
            try:
                pm.load_setuptools_entrypoints(PROJECT)
            except Exception as exc:  # a broken extension must not break requests
                log.warning("could not load openai_compat extensions: %s", exc)
            _register_profiles(pm)
            _manager = pm
    return _manager


def _register_profiles(pm: pluggy.PluginManager) -> None:
    from .config.profiles import Profile, register_profile

    for batch in pm.hook.openai_compat_profiles():
        for profile in batch or ():
            if isinstance(profile, Profile):
                register_profile(profile)


def notify_exchange(exchange: Exchange, *, request_log: str | None = None) -> None:
    """Tell observers about an exchange; write the request log if one is configured."""
    path = request_log or os.environ.get("OPENAI_COMPAT_REQUEST_LOG")
    if path:
        RequestLogger.for_path(path).openai_compat_exchange(exchange)
    pm = plugin_manager()
    if not pm.get_plugins():
        return
    try:
        pm.hook.openai_compat_exchange(exchange=exchange)
    except Exception as exc:  # observers must never break a request
        log.warning("an openai_compat_exchange observer failed: %s", redact(str(exc)))


class RequestLogger:
    """Appends one JSON line per exchange to a file (opt-in). Thread-safe; one per path."""

    _instances: ClassVar[dict[str, RequestLogger]] = {}

    def __init__(self, path: str) -> None:
        self.path = Path(path).expanduser()
        self._lock = threading.Lock()

    @classmethod
    def for_path(cls, path: str) -> RequestLogger:
        logger = cls._instances.get(path)
        if logger is None:
            logger = cls._instances[path] = cls(path)
        return logger

    @hookimpl
    def openai_compat_exchange(self, exchange: Exchange) -> None:
        line = exchange.to_json() + "\n"
        with self._lock:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
                with os.fdopen(fd, "a", encoding="utf-8") as handle:
                    handle.write(line)
            except OSError as exc:
                log.warning("could not write the request log %s: %s", self.path, exc)
