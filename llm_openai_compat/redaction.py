"""Redaction: no key, token or auth header value may appear in any message, repr or log line.

Resolved keys are registered here when they are read; `redact` scrubs them, and anything that
merely looks like a credential (bearer tokens, `sk-...` keys, `api_key=...`), from text on its
way out. Every error message and every request-log line passes through it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from urllib.parse import unquote

__all__ = [
    "is_sensitive_header",
    "redact",
    "redact_url",
    "redacted_headers",
    "register_secret",
    "strip_userinfo",
    "url_secrets",
]

# Secret values seen by this process (resolved keys). `redact` scrubs them from every message.
_SECRETS: set[str] = set()
# Things that look like credentials even when we never saw them: bearer tokens, sk- keys.
_CREDENTIAL_PATTERNS = re.compile(
    r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"
    r"|\b(sk|pk|rk|gsk|xai|csk)-[A-Za-z0-9_-]{8,}"
    r"|(api[-_]?key[\"']?\s*[:=]\s*[\"']?)[A-Za-z0-9._-]{8,}"
)
_SENSITIVE_NAME_PARTS = ("auth", "key", "token", "secret", "cookie", "password", "signature")
_SECRET_QUERY = re.compile(
    r"(?i)(^|&)([^=&]*(?:key|token|secret|sig|password|auth|code|credential|session)[^=&]*)=([^&]*)"
)
# The lookbehind starts a scheme only at a word start: unanchored, `\w+` is tried at every
# position of a long word, quadratic on a 1 MB URL (tests/reliability/test_hostile_settings.py).
_USERINFO = re.compile(r"(?i)(?<!\w)(\w+://)[^/@\s]*@")


def register_secret(value: str | None) -> None:
    """Remember a secret so that no message, repr or log line can ever contain it.

    Values under 8 characters are not real keys (placeholders such as "test" or "ollama");
    masking them would mangle ordinary words in every later message of the process."""
    if value and len(value) >= 8:
        _SECRETS.add(value)


def redact(text: str) -> str:
    """Scrub known secrets and credential-shaped strings from `text`."""
    # A snapshot (another thread may register a secret meanwhile), longest first (so a secret
    # that contains a shorter one is not left half-masked).
    for secret in sorted(_SECRETS, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, "[redacted]")

    def _mask(match: re.Match[str]) -> str:
        prefix = match.group(1) or match.group(3) or ""
        if match.group(2):
            return match.group(2) + "-[redacted]"
        return prefix + "[redacted]"

    return _CREDENTIAL_PATTERNS.sub(_mask, text)


def strip_userinfo(text: str) -> str:
    """`user:password@` of every URL in `text` masked."""
    return _USERINFO.sub(r"\1[redacted]@", text)


@functools.lru_cache(maxsize=512)  # a few names, asked about for every header of every request
def is_sensitive_header(name: str) -> bool:
    """Authorization, api-key, x-api-key, cookie, ... and any name with key/token/secret in it."""
    lowered = name.lower()
    return any(part in lowered for part in _SENSITIVE_NAME_PARTS)


def redacted_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """A copy safe to log: sensitive header values become "[redacted]"."""
    return {k: "[redacted]" if is_sensitive_header(k) else v for k, v in headers.items()}


# url -> (secrets registered when it was redacted, the redacted url). Every request's retry
# bookkeeping needs its URL redacted, and regexes plus a secret scan on each would add up.
_REDACTED_URLS: dict[str, tuple[int, str]] = {}


@functools.lru_cache(maxsize=256)  # asked for every request; a process talks to few URLs
def url_secrets(url: str) -> tuple[str, ...]:
    """The secrets a URL carries: its userinfo's password (and user), and the values of
    key/token/secret/sig/code/... query parameters. The transport registers them, so a server
    that echoes the request's path or URL back cannot put them into a message."""
    found: list[str] = []
    _, sep, rest = url.partition("://")
    authority = rest.split("/", 1)[0].split("?", 1)[0] if sep else ""
    if "@" in authority:
        user, _, password = authority.rpartition("@")[0].partition(":")
        found += [unquote(user), unquote(password), user, password]
    query = url.partition("?")[2].partition("#")[0]
    for match in _SECRET_QUERY.finditer(query):
        found += [match.group(3), unquote(match.group(3))]
    return tuple(dict.fromkeys(v for v in found if v))


def redact_url(url: str) -> str:
    """The URL without user:password@ and with key/token/secret query values masked."""
    seen = len(_SECRETS)  # it only grows: a remembered redaction holds while it is unchanged
    hit = _REDACTED_URLS.get(url)
    if hit is not None and hit[0] == seen:
        return hit[1]
    shown = strip_userinfo(url)
    base, sep, query = shown.partition("?")
    if sep:
        query = _SECRET_QUERY.sub(r"\1\2=[redacted]", query)
    shown = redact(base + sep + query)
    if len(_REDACTED_URLS) >= 256:
        _REDACTED_URLS.clear()
    _REDACTED_URLS[url] = (seen, shown)
    return shown
