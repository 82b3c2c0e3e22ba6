"""The first test of a response's metadata for anything to mask (`_scrubbed_meta`): its flat
fields are tested as `name=value` lines rather than as JSON text, which must never mask less."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from llm_openai_compat.events import ResponseMeta
from llm_openai_compat.redaction import redact
from llm_openai_compat.wire.assemble import _scrubbed, _scrubbed_meta, _to_json

KEY = "sk-proj-abcdefghijklmnop"
PIECES = ["sk-", "Bearer ", "api_key", '"', "\\", "\n", "\t", ": ", "=", "abcdefgh", "12345678", KEY]
NAMES = st.sampled_from(["created", "system_fingerprint", "api_key", "apiKey", "x", 'k"', "bearer"])
TEXT = st.lists(st.sampled_from(PIECES) | st.text(max_size=4), max_size=6).map("".join)
VALUES = TEXT | st.integers() | st.booleans() | st.none() | st.floats(allow_nan=False)


def _json_road(meta: ResponseMeta, secrets: tuple[str, ...]) -> ResponseMeta:
    """The test as it was: the three parts' JSON text, or each part scrubbed."""
    text = "\x00".join((meta.id or "", meta.model or "", _to_json(meta.extra) if meta.extra else ""))
    if redact(text, secrets) == text:
        return meta
    return ResponseMeta(
        id=_scrubbed(meta.id, secrets) if meta.id else meta.id,
        model=_scrubbed(meta.model, secrets) if meta.model else meta.model,
        extra=_scrubbed(meta.extra, secrets) if meta.extra else meta.extra,
    )


@settings(max_examples=400, deadline=None)
@given(
    ident=TEXT, model=TEXT, extra=st.dictionaries(NAMES, VALUES, max_size=4),
    own=st.booleans(),
)
def test_masks_what_the_json_text_road_masks(ident: str, model: str, extra: dict, own: bool) -> None:
    meta = ResponseMeta(ident or None, model or None, extra)
    secrets = (KEY,) if own else ()
    assert _scrubbed_meta(meta, secrets) == _json_road(meta, secrets)


def test_a_value_named_as_a_key_is_masked() -> None:
    meta = ResponseMeta("id", "m", {"api_key": "abcdefgh12345", "created": 1})
    assert _scrubbed_meta(meta).extra == {"api_key": "[redacted]", "created": 1}


def test_the_calls_own_key_in_a_flat_field_is_masked() -> None:
    meta = ResponseMeta("id", "m", {"system_fingerprint": f"fp {KEY}", "created": 1700000000})
    scrubbed = _scrubbed_meta(meta, (KEY,))
    assert KEY not in json.dumps(scrubbed.extra)
    assert scrubbed.extra["created"] == 1700000000


def test_nothing_to_mask_keeps_the_same_object() -> None:
    meta = ResponseMeta("chatcmpl-1", "m", {"created": 1, "system_fingerprint": "fp_1", "x": None})
    assert _scrubbed_meta(meta, (KEY,)) is meta


def test_nested_metadata_is_tested_as_json() -> None:
    meta = ResponseMeta("id", "m", {"service": {"api_key": "abcdefgh12345"}})
    assert _scrubbed_meta(meta).extra == {"service": {"api_key": "[redacted]"}}


def test_a_number_named_as_a_key_is_masked_without_breaking_the_stream() -> None:
    # Its JSON text masked is no longer JSON: it is masked item by item instead.
    meta = ResponseMeta("id", "m", {"api_key": 123456789, "usage": {"api_key": -10000000, "n": 2}})
    assert _scrubbed_meta(meta).extra == {
        "api_key": "[redacted]", "usage": {"api_key": "[redacted]", "n": 2}
    }
