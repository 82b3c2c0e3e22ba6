"""The `/embeddings` wire shape: the request body, and one parse of a response body.

Pure: no I/O. Vectors sent as base64 are OpenAI's layout (little-endian float32) and are
decoded with `array`, not numpy, so the core stays light. Every way a body can be wrong (not
JSON, nested too deeply, an item without its `index` or with one twice, a vector of the wrong
length, NaN or infinity) is a typed `StreamError`, never a silently wrong vector: a search
index built on a misplaced vector returns wrong answers for ever after.
"""

from __future__ import annotations

import array
import base64
import binascii
import json
import math
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pydantic_core

from ..errors import OpenAICompatError, StreamError, error_from_payload

__all__ = ["EmbeddingBatch", "Encoding", "build_request", "load_body", "parse_body"]

Encoding = Literal["float", "base64"]
_BIG_ENDIAN = sys.byteorder == "big"



@dataclass(frozen=True, slots=True)
class EmbeddingBatch:
    """The vectors of one request, in the order of its inputs, and what the server counted."""

    vectors: list[list[float]]
    input_tokens: int | None = None
    total_tokens: int | None = None
    model: str | None = None


def build_request(
    model: str,
    texts: Sequence[str],
    *,
    dimensions: int | None = None,
    encoding: Encoding = "float",
    extra_body: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The body: raw strings (never client-side tokens), `encoding_format` only for base64
    (the default everywhere, and some servers reject the field), `dimensions` when asked."""
    body: dict[str, Any] = {**(extra_body or {}), "model": model, "input": list(texts)}
    if encoding == "base64":
        body["encoding_format"] = "base64"
    if dimensions is not None:
        body["dimensions"] = dimensions
    return body


def load_body(raw: bytes) -> Any:
    """The one place an embeddings body is decoded from JSON; every failure is a StreamError.
    pydantic-core's parser first (a seventh of `json.loads`'s time for float vectors); what it
    refuses, json decides, as `errors.loads_json` does."""
    try:
        return pydantic_core.from_json(raw, cache_strings=False)  # no process-wide cache
    except ValueError:
        pass
    problem = None
    try:
        return json.loads(raw)
    except RecursionError:
        problem = "is nested too deeply to be an embeddings response"
    except (ValueError, UnicodeDecodeError):
        text = raw[:120].decode("utf-8", errors="replace")
        problem = f"is not valid JSON: {text!r}"
    # Raised outside the handler: neither the decode error nor the body is chained.
    raise StreamError(
        f"The server's embeddings response {problem}",
        hint="Check that the base URL points at an OpenAI-compatible API",
    )


def _bad(message: str, hint: str | None = None) -> StreamError:
    return StreamError(
        f"The server's embeddings response {message}",
        hint=hint or "The server or a gateway in front of it is broken; no vector was used",
    )


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _strict_b64(text: str) -> bytes:
    """Strict: a character outside the alphabet is an error, never silently skipped.

    The lenient decoder is a third faster; it skips what it cannot use, so when its output is
    as long as the text allows (every character used: 3 bytes per 4, less the padding) the
    text was valid and the bytes are what the strict decoder gives. Anything else goes to the
    strict decoder, which decides."""
    if len(text) % 4 == 0 and text.isascii():
        raw = binascii.a2b_base64(text)
        if len(raw) == len(text) // 4 * 3 - (2 if text.endswith("==") else text.endswith("=")):
            return raw
    if sys.version_info >= (3, 11):
        return binascii.a2b_base64(text, strict_mode=True)
    return base64.b64decode(text, validate=True)  # pragma: no cover  (3.10)


def _decode_base64(text: str, position: int) -> tuple[list[float], bool]:
    try:
        raw = _strict_b64(text)
    except (binascii.Error, ValueError):
        raise _bad(f"has an item {position} whose base64 vector does not decode") from None
    if len(raw) % 4:
        raise _bad(f"has an item {position} whose base64 vector is not whole float32 values")
    # array('f').tolist(): a third faster than a struct unpack into a list (which made a tuple
    # first); the wire is little-endian float32, swapped on a big-endian machine.
    floats = array.array("f", raw)
    if _BIG_ENDIAN:
        floats.byteswap()
    # Finite for sure when no value's high byte (the 4th, little-endian) is 0x7f or 0xff:
    # those alone hold the exponents of NaN, infinity and values above 2**127. Two C scans
    # of a quarter of the bytes, instead of summing the floats (`_finite`).
    high = raw[3::4]
    return floats.tolist(), b"\x7f" not in high and b"\xff" not in high


def _as_vector(value: Any, position: int) -> tuple[list[float], bool]:
    """The vector, and whether it is known to be finite already."""
    if isinstance(value, str):
        return _decode_base64(value, position)
    if not isinstance(value, list):
        raise _bad(f"has an item {position} whose embedding is not a list of numbers")
    try:
        # Only numbers: a bool or a string is not a coordinate (float() would take both).
        if all(type(x) is float for x in value):
            return value, False
        if any(isinstance(x, bool) or not isinstance(x, (int, float)) for x in value):
            raise TypeError
        return [float(x) for x in value], False
    except (TypeError, OverflowError):
        raise _bad(f"has an item {position} whose embedding is not a list of numbers") from None


def _finite(vector: list[float]) -> bool:
    # One C-speed sum; only when it is not finite, a scan tells NaN/inf from an overflow.
    return math.isfinite(sum(vector)) or all(math.isfinite(x) for x in vector)


def parse_body(obj: Any, *, count: int, dimensions: int | None = None) -> EmbeddingBatch:
    """The batch of `count` inputs in input order, reordered by each item's `index`.

    `dimensions`: the length every vector must have (asked for, or seen in an earlier batch);
    without it the first vector's length is the one every other must match. `obj` is used up:
    each item of its `data` is released once decoded (`load_body` made it for this call)."""
    if not isinstance(obj, dict):
        raise _bad("is not a JSON object")
    if obj.get("error") is not None and "data" not in obj:
        error: OpenAICompatError = _error_in_body(obj["error"])
        raise error
    items = obj.get("data")
    if not isinstance(items, list):
        raise _bad("has no `data` list")
    if len(items) != count:
        raise _bad(f"has {len(items)} vectors for {count} inputs")
    vectors: list[list[float] | None] = [None] * count
    expected = dimensions
    for position, item in enumerate(items):
        if not isinstance(item, dict):
            raise _bad(f"has an item {position} that is not an object")
        index = item.get("index")
        if not isinstance(index, int) or isinstance(index, bool):
            raise _bad(f"has an item {position} without an integer `index`")
        if not 0 <= index < count:
            raise _bad(f"has an item with index {index}, outside 0..{count - 1}")
        if vectors[index] is not None:
            raise _bad(f"has index {index} twice")
        vector, finite = _as_vector(item.get("embedding"), position)
        # The item (and its text) go now, not with the whole body: memory, and the collector,
        # whose young generation counts containers made less those freed; one freed per list
        # made keeps it from walking the new vectors again and again.
        items[position] = item = None
        if not vector:
            raise _bad(f"has an empty vector at index {index}")
        if expected is None:
            expected = len(vector)
        elif len(vector) != expected:
            raise _bad(
                f"has a vector of {len(vector)} dimensions at index {index}, expected {expected}",
                hint="Check the model and the `dimensions` asked for; no vector was used",
            )
        if not finite and not _finite(vector):
            raise _bad(f"has NaN or infinity in the vector at index {index}")
        vectors[index] = vector
    usage = obj.get("usage")
    usage = usage if isinstance(usage, dict) else {}
    model = obj.get("model")
    return EmbeddingBatch(
        vectors=vectors,  # type: ignore[arg-type]  # every slot was filled: count items, no twice
        input_tokens=_count(usage.get("prompt_tokens")),
        total_tokens=_count(usage.get("total_tokens")),
        model=model if isinstance(model, str) else None,
    )


def _error_in_body(payload: Any) -> OpenAICompatError:
    """A 200 whose body is `{"error": ...}` (some gateways): the error it reports."""
    if isinstance(payload, dict):
        message = payload.get("message")
        code = payload.get("code")
        etype = payload.get("type")
        return error_from_payload(
            message if isinstance(message, str) else None,
            str(code) if isinstance(code, (str, int)) and not isinstance(code, bool) else None,
            etype if isinstance(etype, str) else None,
        )
    return error_from_payload(payload if isinstance(payload, str) else None, None, None)
