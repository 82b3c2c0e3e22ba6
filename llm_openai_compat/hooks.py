"""pluggy hook specifications for extensions installed with pip.

A package declares an entry point in the group `openai_compat` pointing at a module with
`@hookimpl` functions:

- `openai_compat_profiles()` returns extra vendor `Profile`s (quirks as data);
- `openai_compat_exchange(exchange)` observes every request: the redacted request, status,
  timing, retries and outcome. It must not raise; errors in observers are swallowed.

A runtime creates its plugin manager on first use, never at import time, so importing this
package stays cheap (`Runtime.plugin_manager`). `RequestLogger` is the built-in observer behind
the opt-in request log (`requestLog` in the settings file, or `OPENAI_COMPAT_REQUEST_LOG`).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

from .errors import redact

if TYPE_CHECKING:
    from .redaction import Secrets

__all__ = [
    "AttemptRecord",
    "Exchange",
    "RequestLogger",
    "hookimpl",
    "hookspec",
    "load_plugin_manager",
    "notify_observers",
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


def load_plugin_manager() -> tuple[pluggy.PluginManager, list[Any]]:
    """A plugin manager with the entry-point plugins loaded, and the profiles they add (a
    runtime keeps both: `Runtime.plugin_manager`)."""
    from .config.profiles import Profile

    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(HookSpecs)
    try:
        pm.load_setuptools_entrypoints(PROJECT)
    except Exception as exc:  # a broken extension must not break requests
        log.warning("could not load openai_compat extensions: %s", exc)
    profiles = [
        profile
        for batch in pm.hook.openai_compat_profiles()
        for profile in batch or ()
        if isinstance(profile, Profile)
    ]
    return pm, profiles


def notify_observers(pm: pluggy.PluginManager, exchange: Exchange) -> None:
    """Tell the observer plugins about an exchange; an observer's failure is logged only."""
    if not pm.get_plugins():
        return
    try:
        pm.hook.openai_compat_exchange(exchange=exchange)
    except Exception as exc:  # observers must never break a request
        log.warning("an openai_compat_exchange observer failed: %s", redact(str(exc)))


class RequestLogger:
    """Appends one JSON line per exchange to a file (opt-in). Thread-safe; a runtime keeps
    one per path. Lines are scrubbed with the runtime's recent secrets too (a backstop: the
    exchange was already redacted with its call's own)."""

    def __init__(self, path: str, *, secrets: Secrets | None = None) -> None:
        self.path = Path(path).expanduser()
        self._secrets = secrets
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"RequestLogger({str(self.path)!r})"

    @hookimpl
    def openai_compat_exchange(self, exchange: Exchange) -> None:
        line = exchange.to_json()
        if self._secrets is not None:
            line = self._secrets.redact(line)
        line += "\n"
        with self._lock:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
                with os.fdopen(fd, "a", encoding="utf-8") as handle:
                    handle.write(line)
            except OSError as exc:
                log.warning("could not write the request log %s: %s", self.path, exc)
