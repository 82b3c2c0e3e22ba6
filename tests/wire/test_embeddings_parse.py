"""The `/embeddings` wire shape, pure: request bodies, and every way a response is read or
refused. Vectors placed by `index`, base64 and floats equal, and each broken answer a typed
`StreamError` (a misplaced or corrupt vector would poison a search index silently)."""

from __future__ import annotations

import base64
import json
import struct
from typing import Any

import pytest

from llm_openai_compat import BadRequest, RateLimited, StreamError
from llm_openai_compat.wire.embeddings import build_request, load_body, parse_body

VECTORS = [[0.5, -0.25, 0.125], [1.0, 2.0, -3.0], [0.0, 0.75, -0.5]]


def _b64(vector: list[float]) -> str:
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()


def _body(items: list[dict[str, Any]], **top: Any) -> dict[str, Any]:
    return {"object": "list", "data": items, "model": "m", **top}


def _items(vectors: list[list[float]] = VECTORS, b64: bool = False) -> list[dict[str, Any]]:
    return [
        {"object": "embedding", "index": i, "embedding": _b64(v) if b64 else v}
        for i, v in enumerate(vectors)
    ]


def test_request_sends_raw_strings_and_asks_base64_only_when_chosen() -> None:
    body = build_request("m", ["a", "b"], encoding="float")
    assert body == {"model": "m", "input": ["a", "b"]}
    body = build_request("m", ["a"], encoding="base64", dimensions=256, extra_body={"user": "u"})
    assert body == {
        "model": "m", "input": ["a"], "encoding_format": "base64", "dimensions": 256, "user": "u"
    }


def test_request_fields_win_over_extra_body() -> None:
    body = build_request("m", ["a"], extra_body={"model": "other", "input": "x"})
    assert body["model"] == "m" and body["input"] == ["a"]


@pytest.mark.parametrize("b64", [False, True])
def test_vectors_are_placed_by_index_not_by_position(b64: bool) -> None:
    items = _items(b64=b64)
    batch = parse_body(_body(list(reversed(items))), count=3)
    assert batch.vectors == VECTORS


def test_base64_and_float_decode_to_the_same_vectors() -> None:
    floats = parse_body(_body(_items()), count=3).vectors
    b64 = parse_body(_body(_items(b64=True)), count=3).vectors
    assert floats == b64 == VECTORS
    assert all(type(x) is float for v in b64 for x in v)


def test_integer_coordinates_become_floats_and_usage_is_read() -> None:
    items = [{"index": 0, "embedding": [1, 0, -2]}]
    batch = parse_body(_body(items, usage={"prompt_tokens": 4, "total_tokens": 4}), count=1)
    assert batch.vectors == [[1.0, 0.0, -2.0]] and type(batch.vectors[0][0]) is float
    assert (batch.input_tokens, batch.total_tokens, batch.model) == (4, 4, "m")


def test_usage_that_is_not_a_count_is_ignored() -> None:
    usage = {"prompt_tokens": True, "total_tokens": -3}
    batch = parse_body(_body(_items(), usage=usage), count=3)
    assert (batch.input_tokens, batch.total_tokens) == (None, None)


@pytest.mark.parametrize(
    ("items", "needle"),
    [
        ([{"embedding": [1.0]}], "without an integer `index`"),
        ([{"index": "0", "embedding": [1.0]}], "without an integer `index`"),
        ([{"index": True, "embedding": [1.0]}], "without an integer `index`"),
        ([{"index": 5, "embedding": [1.0]}], "index 5, outside 0..0"),
        ([{"index": -1, "embedding": [1.0]}], "outside"),
        ([{"index": 0, "embedding": []}], "empty vector"),
        ([{"index": 0, "embedding": [1.0, "2"]}], "not a list of numbers"),
        ([{"index": 0, "embedding": [1.0, True]}], "not a list of numbers"),
        ([{"index": 0, "embedding": {"x": 1}}], "not a list of numbers"),
        ([{"index": 0, "embedding": [1.0, float("nan")]}], "NaN or infinity"),
        ([{"index": 0, "embedding": [float("inf"), 1.0]}], "NaN or infinity"),
        ([{"index": 0, "embedding": _b64([1.0, float("nan")])}], "NaN or infinity"),
        ([{"index": 0, "embedding": _b64([float("-inf"), 1.0])}], "NaN or infinity"),
        ([{"index": 0, "embedding": _b64([1.0, float("inf")])}], "NaN or infinity"),
        ([{"index": 0, "embedding": "not base64!"}], "does not decode"),
        ([{"index": 0, "embedding": base64.b64encode(b"abcde").decode()}], "not whole float32"),
        (["x"], "not an object"),
    ],
)
def test_a_broken_item_is_a_typed_error(items: list[Any], needle: str) -> None:
    with pytest.raises(StreamError, match=needle):
        parse_body(_body(items), count=1)


def test_duplicate_index_is_an_error_not_a_lost_vector() -> None:
    items = _items()
    items[2]["index"] = 0
    with pytest.raises(StreamError, match="index 0 twice"):
        parse_body(_body(items), count=3)


def test_wrong_length_against_the_first_vector_and_against_dimensions() -> None:
    items = _items([[1.0, 2.0], [1.0, 2.0, 3.0]])
    with pytest.raises(StreamError, match="3 dimensions at index 1, expected 2"):
        parse_body(_body(items), count=2)
    with pytest.raises(StreamError, match="2 dimensions at index 0, expected 4"):
        parse_body(_body(_items([[1.0, 2.0]])), count=1, dimensions=4)


def test_finite_values_whose_sum_overflows_are_accepted() -> None:
    big = [1.5e308, 1.5e308]
    assert parse_body(_body([{"index": 0, "embedding": big}]), count=1).vectors == [big]


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ([], "not a JSON object"),
        ({"object": "list"}, "no `data` list"),
        (_body(_items()[:2]), "2 vectors for 3 inputs"),
    ],
)
def test_a_body_of_the_wrong_shape_is_a_typed_error(body: Any, needle: str) -> None:
    with pytest.raises(StreamError, match=needle):
        parse_body(body, count=3)


def test_an_error_inside_a_200_is_raised_as_its_class() -> None:
    with pytest.raises(RateLimited):
        parse_body({"error": {"message": "slow down", "code": "rate_limit_exceeded"}}, count=1)
    with pytest.raises(BadRequest):
        parse_body({"error": "bad input"}, count=1)


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b"<html>oops</html>", "not valid JSON: '<html>oops</html>'"),
        (b"\xff\xfe{", "not valid JSON"),
    ],
)
def test_load_body_maps_every_decode_failure(raw: bytes, needle: str) -> None:
    with pytest.raises(StreamError, match=needle) as caught:
        load_body(raw)
    assert caught.value.__cause__ is None and caught.value.__context__ is None


def test_load_body_reads_json() -> None:
    assert load_body(json.dumps(_body(_items())).encode())["model"] == "m"


def test_base64_decoding_accepts_and_refuses_exactly_what_the_strict_decoder_does():
    """The lenient decoder's fast path (every character used) gives the strict decoder's
    bytes; everything else is the strict decoder's to judge (seeded mutations of valid text)."""
    import base64
    import binascii
    import random

    from llm_openai_compat.wire.embeddings import _strict_b64

    def outcome(decode, text):
        try:
            return decode(text)
        except (binascii.Error, ValueError):
            return "refused"

    rng = random.Random(7)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
    extra = alphabet + " \n!-_.é\x00"
    for _ in range(20_000):
        if rng.random() < 0.5:
            chars = list(base64.b64encode(rng.randbytes(rng.randint(0, 24))).decode())
            for _ in range(rng.randint(0, 3)):
                if chars and rng.random() < 0.7:
                    chars[rng.randrange(len(chars))] = rng.choice(extra)
                else:
                    chars.insert(rng.randrange(len(chars) + 1), rng.choice(extra))
            text = "".join(chars)
        else:
            text = "".join(rng.choice(extra) for _ in range(rng.randint(0, 24)))
        strict = outcome(lambda t: binascii.a2b_base64(t, strict_mode=True), text)
        assert outcome(_strict_b64, text) == strict, text


def test_base64_values_near_the_float32_limit_are_finite_and_kept() -> None:
    """The high-byte precheck only sends such vectors to the exact check; they pass it."""
    big = [1.5 * 2.0**127, -(2.0**127), 2.0**126, 1.0]  # exact float32 values
    batch = parse_body(_body([{"index": 0, "embedding": _b64(big)}]), count=1)
    assert batch.vectors[0] == big
