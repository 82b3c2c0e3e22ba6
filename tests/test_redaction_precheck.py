"""`redaction.redact` skips its credential pattern for ASCII text holding none of the pattern's
literal parts: it must mask exactly what the pattern alone masks, for any text and any case."""

from __future__ import annotations

import random
import string

from llm_openai_compat.redaction import _CREDENTIAL_PATTERNS, _mask, redact

PARTS = [
    "sk-", "SK-", "Sk-", "pk-", "rk-", "gsk-", "csk-", "xai-", "XaI-", "Bearer ", "BEARER\t",
    "bEaReR  ", "api_key=", "API-KEY:", "apikey='", "Api_Key\" : \"",
]  # fmt: skip


def _by_pattern(text: str) -> str:
    return _CREDENTIAL_PATTERNS.sub(_mask, text)


def test_the_shortcut_masks_exactly_what_the_pattern_masks() -> None:
    rng = random.Random(12)
    alphabet = string.ascii_letters + string.digits + " -_=:'\"."
    for _ in range(20_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        if rng.random() < 0.5:
            at = rng.randint(0, len(text))
            token = "".join(rng.choice(string.ascii_letters + "._-") for _ in range(12))
            text = text[:at] + rng.choice(PARTS) + token + text[at:]
        assert redact(text) == _by_pattern(text), text


def test_non_ascii_text_still_gets_the_pattern() -> None:
    # Under IGNORECASE the Kelvin sign matches `k`: such text is never skipped.
    text = "s\u212a-abcdefghijkl and more"
    assert redact(text) == _by_pattern(text) != text
    assert redact("Bearer abcdefghijkl") == "Bearer [redacted]"
