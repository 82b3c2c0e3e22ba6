"""Redaction: no key, token or auth header value may appear in any message, repr or log line.

Two mechanisms, both stateless at this layer:

- pattern scrubbing (`redact`): anything that looks like a credential (bearer tokens, `sk-...`
  keys, `api_key=...`), URL userinfo and secret query values, whoever's it is;
- known values (`call_secrets`, `Secrets`): each call knows its own secrets (its auth header,
  every sensitive header value, URL userinfo and secret query values) and redacts what it
  produces with them; the runtime keeps a bounded `Secrets` of recent ones as a backstop for
  things rendered later (request logs). Neither grows with the number of keys a process has
  seen, and redacting costs the same at the ten-thousandth key as at the first.

`errors.py` sits beside this module at the bottom layer; the transport and the clients are the
choke points that scrub escaping errors with the call's secrets (`OpenAICompatError.scrub`).
"""

from __future__ import annotations

import functools
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from urllib.parse import unquote

__all__ = [
    "MASK",
    "MIN_SECRET_LEN",
    "LazyPattern",
    "Secrets",
    "call_secrets",
    "is_sensitive_header",
    "redact",
    "redact_url",
    "redacted_headers",
    "strip_userinfo",
    "url_secrets",
]

# Values under 8 characters are not real keys (placeholders such as "test" or "ollama");
# masking them would mangle ordinary words in messages.
MIN_SECRET_LEN = 8

class LazyPattern:
    """A regular expression compiled on first use (`sub`, `search`, `finditer`). Most
    processes never need most of these (`llm models` needs none), and compiling them all at
    import was 1.5 ms of every llm command (docs/performance.md)."""

    __slots__ = ("_compiled", "_flags", "pattern")

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self.pattern, self._flags = pattern, flags
        self._compiled: re.Pattern[str] | None = None

    @property
    def compiled(self) -> re.Pattern[str]:
        compiled = self._compiled
        if compiled is None:  # two threads at once: both compile the same, either is kept
            compiled = self._compiled = re.compile(self.pattern, self._flags)
        return compiled

    def sub(self, repl: str | Callable[[re.Match[str]], str], text: str) -> str:
        return self.compiled.sub(repl, text)

    def search(self, text: str) -> re.Match[str] | None:
        return self.compiled.search(text)

    def finditer(self, text: str) -> Iterator[re.Match[str]]:
        return self.compiled.finditer(text)


# Things that look like credentials even when we never saw them: bearer tokens, sk- keys.
_CREDENTIAL_PATTERNS = LazyPattern(
    r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"
    r"|\b(sk|pk|rk|gsk|xai|csk)-[A-Za-z0-9_-]{8,}"
    r"|(api[-_]?key[\"']?\s*[:=]\s*[\"']?)[A-Za-z0-9._-]{8,}"
)
_SENSITIVE_NAME_PARTS = ("auth", "key", "token", "secret", "cookie", "password", "signature")
_SECRET_QUERY = LazyPattern(
    r"(?i)(^|&)([^=&]*(?:key|token|secret|sig|password|auth|code|credential|session)[^=&]*)=([^&]*)"
)
# The lookbehind starts a scheme only at a word start: unanchored, `\w+` is tried at every
# position of a long word, quadratic on a 1 MB URL (tests/reliability/test_hostile_settings.py).
_USERINFO = LazyPattern(r"(?i)(?<!\w)(\w+://)([^/@\s]*)@")
MASK = _MASK = "[redacted]"  # what a masked value becomes


def _mask(match: re.Match[str]) -> str:
    if match.group(2):
        return match.group(2) + "-" + _MASK
    return (match.group(1) or match.group(3) or "") + _MASK


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with the given secret values and anything credential-shaped masked.

    `secrets` are the few values of one call (longest first, see `call_secrets`)."""
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, _MASK)
    if len(text) < MIN_SECRET_LEN:  # shorter than anything credential-shaped
        return text
    if text.isascii():
        # Each pattern holds one of these, in ASCII text whatever its case; most text holds
        # none, and four substring tests cost far less than the pattern's scan. (Other text
        # is scanned: under IGNORECASE some non-ASCII letters match `k` and `i`.)
        low = text.lower()
        if "key" not in low and "k-" not in low and "i-" not in low and "bearer" not in low:
            return text
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
    return {k: _MASK if is_sensitive_header(k) else v for k, v in headers.items()}


@functools.lru_cache(maxsize=512)  # a pure function; every call's retry bookkeeping needs it
def redact_url(url: str) -> str:
    """The URL without user:password@ and with key/token/secret query values masked."""
    shown = strip_userinfo(url)
    base, sep, query = shown.partition("?")
    if sep:
        query = _SECRET_QUERY.sub(r"\1\2=[redacted]", query)
    return redact(base + sep + query)


@functools.lru_cache(maxsize=512)
def url_secrets(url: str) -> tuple[str, ...]:
    """The secret values a URL carries: its userinfo (whole, the user and the password) and
    the values of its secret (key/token/secret/sig/code/credential/session...) query
    parameters, raw and percent-decoded."""
    found: list[str] = []
    for match in _USERINFO.finditer(url):
        user, _, password = match.group(2).partition(":")
        found += [match.group(2), user, password]
    _, sep, query = url.partition("?")
    if sep:
        found += [m.group(3) for m in _SECRET_QUERY.finditer(query.partition("#")[0])]
    return _longest_first(v for raw in found for v in (raw, unquote(raw)))


def call_secrets(headers: Mapping[str, str], url: str) -> tuple[str, ...]:
    """The secrets of one call, longest first: every sensitive header value (and the token
    after its scheme, `Bearer <token>`) and the URL's (`url_secrets`)."""
    found = list(url_secrets(url))
    for name, value in headers.items():
        if is_sensitive_header(name):
            found += [value, value.partition(" ")[2].strip()]
    return _longest_first(found)


def _longest_first(values: Iterable[str]) -> tuple[str, ...]:
    # Longest first, so a secret that contains a shorter one is not left half-masked.
    unique = {v for v in values if len(v) >= MIN_SECRET_LEN}
    return tuple(sorted(unique, key=len, reverse=True))


class Secrets:
    """A bounded set of recent secret values (least recently used dropped first), and
    `redact` with them, in time linear in the text and independent of how many are held:
    secrets are indexed by their first `MIN_SECRET_LEN` characters."""

    def __init__(self, limit: int = 1024) -> None:
        self.limit = max(1, limit)
        self._values: OrderedDict[str, None] = OrderedDict()
        self._by_prefix: dict[str, set[str]] = {}
        self._lock = threading.Lock()

    def add(self, *values: str | None) -> None:
        with self._lock:
            for value in values:
                if not value or len(value) < MIN_SECRET_LEN:
                    continue
                if value in self._values:
                    self._values.move_to_end(value)
                    continue
                self._values[value] = None
                self._by_prefix.setdefault(value[:MIN_SECRET_LEN], set()).add(value)
                while len(self._values) > self.limit:
                    old, _ = self._values.popitem(last=False)
                    group = self._by_prefix[old[:MIN_SECRET_LEN]]
                    group.discard(old)
                    if not group:
                        del self._by_prefix[old[:MIN_SECRET_LEN]]

    def __len__(self) -> int:
        return len(self._values)

    def __contains__(self, value: object) -> bool:
        return value in self._values

    def __iter__(self) -> Iterator[str]:
        with self._lock:
            return iter(list(self._values))

    def __repr__(self) -> str:
        return f"Secrets({len(self._values)} of at most {self.limit})"

    def found_in(self, text: str) -> tuple[str, ...]:
        """The held secrets that occur in `text`, longest first."""
        with self._lock:
            prefixes = self._by_prefix
            if not prefixes:
                return ()
            hits: set[str] = set()
            n = MIN_SECRET_LEN
            for i in range(len(text) - n + 1):
                group = prefixes.get(text[i : i + n])
                if group:
                    hits.update(s for s in group if text.startswith(s, i))
        return _longest_first(hits)

    def redact(self, text: str, extra: Iterable[str] = ()) -> str:
        """`text` with every held secret, the `extra` ones and credential-shaped strings masked."""
        return redact(text, _longest_first([*self.found_in(text), *extra]))
