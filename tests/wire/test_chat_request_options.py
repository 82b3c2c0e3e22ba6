"""Chat Completions request bodies (llm_openai_compat.wire.chat.build_request): structured
output, streaming, params, the prompt cache key, extra_body, and byte-stable serialization.

Every body is checked against OpenAI's own OpenAPI description and field by field.
"""

from __future__ import annotations

import json
from typing import Any

from llm_openai_compat.messages import Conversation, Message, RequestOptions, ResponseFormat
from llm_openai_compat.wire.chat import build_request
from llm_openai_compat.wire.encode import encode_body
from tests.support.openapi import assert_valid
from tests.wire.test_chat_request import (
    CITY_SCHEMA,
    DEFAULT,
    HI,
    OPENAI,
    WEATHER,
    build,
    tool_turn_conversation,
)

# -- structured output --------------------------------------------------------------------------


def test_json_schema_response_format() -> None:
    fmt = ResponseFormat("json_schema", CITY_SCHEMA, name="city", strict=True, description="A city")
    assert build(response_format=fmt)["response_format"] == {
        "type": "json_schema",
        "json_schema": {
            "name": "city",
            "schema": CITY_SCHEMA,
            "strict": True,
            "description": "A city",
        },
    }


def test_json_schema_strict_falls_back_to_the_strict_param_else_is_omitted() -> None:
    fmt = ResponseFormat("json_schema", CITY_SCHEMA)
    from_params = build(response_format=fmt, params={"strictJsonSchema": False})
    assert from_params["response_format"]["json_schema"] == {
        "name": "response",
        "schema": CITY_SCHEMA,
        "strict": False,
    }
    assert "strictJsonSchema" not in from_params
    omitted = build(response_format=fmt)
    assert omitted["response_format"]["json_schema"] == {"name": "response", "schema": CITY_SCHEMA}


def test_json_object_response_format() -> None:
    body = build(response_format=ResponseFormat("json_object"))
    assert body["response_format"] == {"type": "json_object"}
    assert body["messages"] == [{"role": "user", "content": "Hi"}]


def test_without_json_schema_support_the_schema_becomes_an_instruction() -> None:
    profile = DEFAULT.with_(supports_json_schema=False)
    fmt = ResponseFormat("json_schema", CITY_SCHEMA, name="city")
    body = build(Conversation(HI.messages, system="Be brief."), profile, response_format=fmt)
    assert body["response_format"] == {"type": "json_object"}
    system = body["messages"][0]
    assert system["role"] == "system"
    prefix = "Be brief.\n\nRespond with a JSON object that matches this JSON schema: "
    assert system["content"].startswith(prefix)
    assert json.loads(system["content"][len(prefix) :]) == CITY_SCHEMA
    # No system prompt at all: the instruction is the system message.
    alone = build(profile=profile, response_format=fmt)["messages"][0]["content"]
    assert alone.startswith("Respond with a JSON object that matches this JSON schema: {")


# -- streaming, params, cache key, extra_body -----------------------------------------------------


def test_streaming_asks_for_usage_where_the_profile_allows() -> None:
    body = build(stream=True)
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert "stream_options" not in build(stream=True, include_usage=False)
    no_options = DEFAULT.with_(supports_stream_options=False)
    body = build(profile=no_options, stream=True)
    assert body["stream"] is True and "stream_options" not in body
    body = build(stream=False)
    assert "stream" not in body and "stream_options" not in body


def test_params_map_to_wire_names() -> None:
    params = {
        "temperature": 0.2,
        "topP": 0.9,
        "maxOutputTokens": 256,
        "seed": 7,
        "stop": ["\n\n"],
        "reasoningEffort": "low",
        "frequencyPenalty": 0.5,
        "user": "u-1",
    }
    body = build(params=params)
    assert {k: v for k, v in body.items() if k not in ("model", "messages")} == {
        "temperature": 0.2,
        "top_p": 0.9,
        "max_tokens": 256,
        "seed": 7,
        "stop": ["\n\n"],
        "reasoning_effort": "low",
        "frequency_penalty": 0.5,
        "user": "u-1",
    }
    assert build(HI, OPENAI, params={"maxOutputTokens": 256})["max_completion_tokens"] == 256


def test_prompt_cache_key_only_where_supported() -> None:
    assert build(profile=OPENAI, prompt_cache_key="conv-1")["prompt_cache_key"] == "conv-1"
    assert "prompt_cache_key" not in build(prompt_cache_key="conv-1")


def test_extra_body_is_deep_merged_last_and_wins() -> None:
    extra = {
        "temperature": 0.9,
        "stream_options": {"include_obfuscation": False},
        "metadata": {"team": "b"},
        "top_k": 40,
    }
    params = {"temperature": 0.1, "metadata": {"team": "a", "app": "x"}}
    body = build(stream=True, params=params, extra_body=extra)
    assert body["temperature"] == 0.9
    assert body["stream_options"] == {"include_usage": True, "include_obfuscation": False}
    assert body["metadata"] == {"team": "b", "app": "x"}
    assert body["top_k"] == 40
    assert list(body)[:2] == ["model", "messages"]
    # Nothing the caller passed in was modified.
    assert extra["stream_options"] == {"include_obfuscation": False}
    assert params["metadata"] == {"team": "a", "app": "x"}


# -- determinism and caching --------------------------------------------------------------------


def full_options(**changes: Any) -> RequestOptions:
    values: dict[str, Any] = {
        "model": "m",
        "stream": True,
        "tools": (WEATHER,),
        "tool_choice": "auto",
        "response_format": ResponseFormat("json_schema", CITY_SCHEMA, name="city"),
        "params": {"temperature": 0.3, "maxOutputTokens": 100},
        "extra_body": {"top_k": 5},
        "prompt_cache_key": "conv-1",
    }
    values.update(changes)
    return RequestOptions(**values)


def test_same_inputs_give_identical_bytes_and_order() -> None:
    conversation = Conversation(tool_turn_conversation().messages, system="Be brief.")
    first = build_request(conversation, full_options(), OPENAI)
    second = build_request(conversation, full_options(), OPENAI)
    assert_valid(first, "CreateChatCompletionRequest")
    assert first == second
    assert list(first) == list(second)
    assert encode_body(first) == encode_body(second)
    assert json.dumps(first) == json.dumps(second)  # insertion order too, not just sorted keys


def test_turn_two_messages_start_with_turn_one_bytes() -> None:
    turn1 = Conversation(tool_turn_conversation().messages, system="Be brief.")
    turn2 = Conversation(
        (
            *turn1.messages,
            Message.text("assistant", "Tomorrow: rain in both."),
            Message.text("user", "Thanks!"),
        ),
        system="Be brief.",
    )
    one = build_request(turn1, full_options(), OPENAI)
    two = build_request(turn2, full_options(), OPENAI)
    assert_valid(two, "CreateChatCompletionRequest")
    bytes_one = encode_body({"m": one["messages"]})
    bytes_two = encode_body({"m": two["messages"]})
    assert bytes_one.endswith(b"]}")
    assert bytes_two.startswith(bytes_one[:-2] + b",")
    assert len(two["messages"]) == len(one["messages"]) + 2
