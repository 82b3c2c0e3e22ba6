"""Redaction: no key, token or auth header value may appear in any message, repr or log line.

Resolved keys are registered here when they are read; `redact` scrubs them, and anything that
merely looks like a credential (bearer tokens, `sk-...` keys, `api_key=...`), from text on its
way out. Every error message and every request-log line passes through it.
"""

from __future__ import annotations

import re

__all__ = ["redact", "register_secret"]

# Secret values seen by this process (resolved keys). `redact` scrubs them from every message.
_SECRETS: set[str] = set()
# Things that look like credentials even when we never saw them: bearer tokens, sk- keys.
_CREDENTIAL_PATTERNS = re.compile(
    r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"
    r"|\b(sk|pk|rk|gsk|xai|csk)-[A-Za-z0-9_-]{8,}"
    r"|(api[-_]?key[\"']?\s*[:=]\s*[\"']?)[A-Za-z0-9._-]{8,}"
)


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
