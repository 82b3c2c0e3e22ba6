"""`encode_body`: the bytes sent keep the order the caller gave.

Models with structured outputs write fields in the order a schema lists them, and a tool's
parameters are shown to the model in the order given; sorting keys on the way out would silently
change both. These tests build real request bodies (both shapes, schema sent natively and as the
fallback instruction) and read the order back out of the encoded bytes."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llm_openai_compat.config.profiles import PROFILES
from llm_openai_compat.messages import (
    Conversation,
    Message,
    RequestOptions,
    ResponseFormat,
    ToolSpec,
)
from llm_openai_compat.wire import chat_request, responses_request
from llm_openai_compat.wire.encode import encode_body, encode_text_body

# Deliberately not in alphabetical order.
SCHEMA = {
    "type": "object",
    "properties": {"zeta": {"type": "string"}, "alpha": {"type": "integer"}, "mid": {"type": "boolean"}},
    "required": ["zeta", "alpha", "mid"],
}
ORDER = ["zeta", "alpha", "mid"]
BUILDERS = {"chat-completions": chat_request.build_request, "responses": responses_request.build_request}
HI = Conversation((Message.text("user", "Hi"),))


def _sent(shape: str, *, native: bool, **options: Any) -> tuple[bytes, dict[str, Any]]:
    profile = PROFILES["default"]
    if not native:
        profile = dataclasses.replace(profile, supports_json_schema=False)
    body = BUILDERS[shape](HI, RequestOptions(model="m", stream=False, **options), profile)
    raw = encode_body(body)
    return raw, json.loads(raw)


def _positions(text: str, keys: list[str]) -> list[int]:
    return [text.index(f'"{key}"') for key in keys]


@pytest.mark.parametrize("shape", BUILDERS)
def test_a_native_schema_keeps_its_property_order(shape: str) -> None:
    raw, body = _sent(shape, native=True, response_format=ResponseFormat("json_schema", schema=SCHEMA))
    fmt = body["response_format"]["json_schema"] if shape == "chat-completions" else body["text"]["format"]
    assert list(fmt["schema"]["properties"]) == ORDER
    positions = _positions(raw.decode(), ORDER)
    assert positions == sorted(positions)


@pytest.mark.parametrize("shape", BUILDERS)
def test_the_schema_instruction_keeps_its_property_order(shape: str) -> None:
    _, body = _sent(shape, native=False, response_format=ResponseFormat("json_schema", schema=SCHEMA))
    system = body["messages"][0]["content"] if shape == "chat-completions" else body["instructions"]
    positions = _positions(system, ORDER)
    assert positions == sorted(positions), system


@pytest.mark.parametrize("shape", BUILDERS)
def test_tool_parameters_keep_their_order(shape: str) -> None:
    tool = ToolSpec(name="f", description="d", parameters=SCHEMA)
    raw, _ = _sent(shape, native=True, tools=(tool,))
    positions = _positions(raw.decode(), ORDER)
    assert positions == sorted(positions)


def test_the_same_request_encodes_to_the_same_bytes() -> None:
    first, _ = _sent("chat-completions", native=False, response_format=ResponseFormat("json_schema", schema=SCHEMA))
    second, _ = _sent(
        "chat-completions", native=False, response_format=ResponseFormat("json_schema", schema=dict(SCHEMA))
    )
    assert first == second


# Every kind of character JSON treats apart: controls, quote, backslash, DEL, the line
# separators, non-BMP, and plain text.
_text = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from(['"', "\\", "\x00", "\x1f", "\x7f", "\u2028", "\u2029", "/", "😀"]),
    ),
    max_size=40,
)


@given(st.lists(_text, max_size=8), _text, st.none() | st.integers(1, 4096))
def test_a_text_body_encodes_to_the_same_bytes_either_way(
    texts: list[str], model: str, dimensions: int | None
) -> None:
    body: dict[str, Any] = {"model": model, "input": texts, "encoding_format": "base64"}
    if dimensions is not None:
        body["dimensions"] = dimensions
    assert encode_text_body(body) == encode_body(body)
