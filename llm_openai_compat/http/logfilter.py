"""A logging filter for httpx2's and httpcore2's own loggers.

httpx2 logs every request at INFO (`HTTP Request: POST http://user:KEY@host/v1?key=KEY ...`)
and httpcore2 logs raw response headers at DEBUG; an application that calls
`logging.basicConfig(level=logging.INFO)` would write the URL's credentials, a query key or an
echoed header to its log. The filter rewrites each record's message with every URL redacted
(`redact_url`: userinfo and key/token/secret/sig/code query values masked) and known secrets
scrubbed (`redact`). Filters only run for records a logger actually emits, so it costs nothing
while those loggers are quiet (the default).
"""

from __future__ import annotations

import logging
import re
import threading
import weakref

from ..redaction import Secrets, redact, redact_url

__all__ = ["LOGGER_NAMES", "RedactingFilter", "install", "watch"]

LOGGER_NAMES = (
    "httpx2",
    "httpcore2.connection",
    "httpcore2.http11",
    "httpcore2.http2",
    "httpcore2.proxy",
    "httpcore2.socks",
)
_URL = re.compile(r"""(?i)\b[a-z][a-z0-9+.-]*://[^\s"'<>]+""")
_installed = False
_lock = threading.Lock()
# The recent secrets of each live runtime (`Pools.remember` feeds them); weak, so a runtime
# that is gone leaves nothing here, and nothing needs resetting.
_watched: weakref.WeakSet[Secrets] = weakref.WeakSet()


class RedactingFilter(logging.Filter):
    """Rewrites a record's message with URLs and known secrets redacted; never drops it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is logging's problem; show it, but not its args
            message = str(record.msg)
        message = redact(_URL.sub(lambda m: redact_url(m.group()), message))
        for secrets in list(_watched):
            message = secrets.redact(message)
        record.msg = message
        record.args = ()
        return True


def watch(secrets: Secrets) -> None:
    """Also mask these secrets (a runtime's recent ones) in every record."""
    with _lock:
        _watched.add(secrets)


def install() -> None:
    """Attach the filter to httpx2's and httpcore2's loggers (once per process; idempotent)."""
    global _installed
    if _installed:
        return
    with _lock:
        if _installed:
            return
        shared = RedactingFilter()
        for name in LOGGER_NAMES:
            logging.getLogger(name).addFilter(shared)
        _installed = True
