"""Responses request bodies: every body is checked against OpenAI's `CreateResponse` schema and
then field by field."""

from __future__ import annotations

import json
from typing import Any

import pytest

from llm_openai_compat.config.profiles import DEFAULT, PROFILES
from llm_openai_compat.errors import (
    ConfigError,
    MissingStructuredOutput,
    MissingToolCalling,
    ProviderCapability,
)
from llm_openai_compat.messages import (
    Conversation,
    FilePart,
    ImagePart,
    Message,
    ReasoningPart,
    RequestOptions,
    ResponseFormat,
    TextPart,
    ToolCallPart,
    ToolResultPart,
    ToolSpec,
)
from llm_openai_compat.wire.encode import encode_body
from llm_openai_compat.wire.responses import build_request
from tests.support.openapi import assert_valid

OPENAI = PROFILES["openai"]
WEATHER = ToolSpec(
    name="get_weather",
    description="Weather in a city.",
    parameters={
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    },
)


def user(text: str) -> Message:
    return Message.text("user", text)


def build(
    messages: tuple[Message, ...] | list[Message],
    *,
    system: str | None = None,
    profile: Any = DEFAULT,
    **options: Any,
) -> dict[str, Any]:
    options.setdefault("model", "gpt-5")
    body = build_request(
        Conversation(tuple(messages), system=system), RequestOptions(**options), profile
    )
    assert_valid(body, "CreateResponse")
    json.dumps(body)  # plain JSON types only
    return body


def test_text_with_system_as_instructions() -> None:
    body = build([user("Hello")], system="Be brief.")
    assert body == {
        "model": "gpt-5",
        "instructions": "Be brief.",
        "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hello"}]}],
        "store": False,
        "stream": True,
    }
    assert list(body) == ["model", "instructions", "input", "store", "stream"]


def test_leading_system_messages_join_instructions_and_later_ones_stay_in_input() -> None:
    messages = [
        Message.text("system", "Rule one."),
        Message.text("system", "Rule two."),
        user("Hi"),
        Message.text("system", "Now answer in French."),
    ]
    body = build(messages, system="Base.", system_message_mode="developer", stream=False)
    assert body["instructions"] == "Base.\n\nRule one.\n\nRule two."
    assert body["input"] == [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hi"}]},
        {"type": "message", "role": "developer", "content": "Now answer in French."},
    ]
    assert "stream" not in body


def test_developer_mode_falls_back_to_system_where_the_profile_has_no_developer_role() -> None:
    messages = [user("Hi"), Message.text("system", "Later rule.")]
    body = build(
        messages, system_message_mode="developer", profile=PROFILES["deepseek"], stream=False
    )
    assert body["input"][1] == {"type": "message", "role": "system", "content": "Later rule."}


def test_no_system_text_means_no_instructions() -> None:
    body = build([user("Hi")])
    assert "instructions" not in body


def test_remove_mode_with_system_text_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as info:
        build([user("Hi")], system="You are a pirate.", system_message_mode="remove")
    message = str(info.value)
    assert info.value.field == "systemMessageMode"
    assert "'remove'" in message and "load-bearing" in message and "17 characters" in message
    assert "\n" not in message


def test_remove_mode_also_covers_later_system_messages() -> None:
    with pytest.raises(ConfigError):
        build([user("Hi"), Message.text("system", "x")], system_message_mode="remove")


def test_remove_mode_without_system_text_is_fine() -> None:
    body = build([user("Hi")], system_message_mode="remove")
    assert "instructions" not in body


def test_images() -> None:
    message = Message(
        "user",
        (
            TextPart("What is this?"),
            ImagePart("https://example.com/cat.png"),
            ImagePart("data:image/png;base64,iVBORw0KGgo=", detail="low"),
            FilePart("image/jpeg", data_base64="/9j/4AAQ"),
        ),
    )
    body = build([message])
    assert body["input"] == [
        {
            "type": "message",
            "role": "user",
            "content": [
                {"type": "input_text", "text": "What is this?"},
                {
                    "type": "input_image",
                    "image_url": "https://example.com/cat.png",
                    "detail": "auto",
                },
                {
                    "type": "input_image",
                    "image_url": "data:image/png;base64,iVBORw0KGgo=",
                    "detail": "low",
                },
                {
                    "type": "input_image",
                    "image_url": "data:image/jpeg;base64,/9j/4AAQ",
                    "detail": "auto",
                },
            ],
        }
    ]


def test_pdf_as_input_file() -> None:
    message = Message(
        "user",
        (
            TextPart("Summarize"),
            FilePart("application/pdf", data_base64="JVBERi0xLjQ=", filename="report.pdf"),
            FilePart("application/pdf", data_base64="JVBERi0xLjQ="),
            FilePart("application/pdf", url="https://example.com/paper.pdf"),
        ),
    )
    body = build([message])
    assert body["input"][0]["content"] == [
        {"type": "input_text", "text": "Summarize"},
        {
            "type": "input_file",
            "filename": "report.pdf",
            "file_data": "data:application/pdf;base64,JVBERi0xLjQ=",
        },
        {
            "type": "input_file",
            "filename": "attachment.pdf",
            "file_data": "data:application/pdf;base64,JVBERi0xLjQ=",
        },
        {"type": "input_file", "file_url": "https://example.com/paper.pdf"},
    ]


def test_audio_is_not_a_responses_input() -> None:
    message = Message("user", (FilePart("audio/wav", data_base64="UklGRg=="),))
    with pytest.raises(ProviderCapability, match="no audio input"):
        build([message])


def test_tools_and_tool_choice() -> None:
    strict = ToolSpec("lookup", parameters=WEATHER.parameters, strict=True)
    body = build([user("Weather?")], tools=(WEATHER, strict), tool_choice="required")
    assert body["tools"] == [
        {
            "type": "function",
            "name": "get_weather",
            "description": "Weather in a city.",
            "parameters": dict(WEATHER.parameters),
            "strict": False,
        },
        {
            "type": "function",
            "name": "lookup",
            "parameters": dict(WEATHER.parameters),
            "strict": True,
        },
    ]
    assert body["tool_choice"] == "required"
    for choice in ("auto", "none"):
        assert build([user("x")], tools=(WEATHER,), tool_choice=choice)["tool_choice"] == choice
    named = build([user("x")], tools=(WEATHER,), tool_choice="get_weather")
    assert named["tool_choice"] == {"type": "function", "name": "get_weather"}
    assert build([user("x")], tools=(WEATHER,))["tool_choice"] == "auto"  # explicit default
    no_auto = DEFAULT.with_(supports_auto_tool_choice=False)
    assert "tool_choice" not in build([user("x")], tools=(WEATHER,), profile=no_auto)
    assert "tool_choice" not in build([user("x")], tool_choice="auto")


def test_tools_on_a_profile_without_tool_calling() -> None:
    with pytest.raises(MissingToolCalling):
        build([user("x")], tools=(WEATHER,), profile=DEFAULT.with_(supports_tools=False))


def test_function_call_history_with_outputs() -> None:
    messages = [
        user("Weather in Paris and Rome?"),
        Message(
            "assistant",
            (
                TextPart("Checking."),
                ToolCallPart("call_1", "get_weather", '{"city":"Paris"}'),
                ToolCallPart(
                    "call_2", "get_weather", '{"city":"Rome"}', extra={"item_id": "fc_real"}
                ),
            ),
        ),
        Message("tool", (ToolResultPart("call_1", "18C", name="get_weather"),)),
        Message("tool", (ToolResultPart("call_2", "24C"),)),
    ]
    body = build(messages, tools=(WEATHER,))
    assert body["input"] == [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Weather in Paris and Rome?"}]},
        {"type": "message", "role": "assistant", "content": "Checking."},
        {
            "type": "function_call",
            "call_id": "call_1",
            "name": "get_weather",
            "arguments": '{"city":"Paris"}',
        },
        {
            "type": "function_call",
            "call_id": "call_2",
            "id": "fc_real",
            "name": "get_weather",
            "arguments": '{"city":"Rome"}',
        },
        {"type": "function_call_output", "call_id": "call_1", "output": "18C"},
        {"type": "function_call_output", "call_id": "call_2", "output": "24C"},
    ]


def test_tool_results_come_before_new_user_text_in_the_same_message() -> None:
    messages = [
        Message("assistant", (ToolCallPart("call_1", "get_weather", "{}"),)),
        Message("user", (TextPart("And tomorrow?"), ToolResultPart("call_1", "sunny"))),
    ]
    body = build(messages)
    assert [item.get("role", item.get("type")) for item in body["input"]] == [
        "function_call",
        "function_call_output",
        "user",
    ]


def reasoning_turn() -> Message:
    return Message(
        "assistant",
        (
            ReasoningPart(
                text="",
                id="rs_1",
                summary=("Plan the call.", "Then answer."),
                encrypted_content="gAAAA-secret",
            ),
            ToolCallPart("call_1", "get_weather", '{"city":"Oslo"}'),
        ),
    )


def test_reasoning_replay_before_the_turns_function_calls() -> None:
    messages = [
        user("Weather in Oslo?"),
        reasoning_turn(),
        Message("tool", (ToolResultPart("call_1", "-3C"),)),
    ]
    body = build(messages, tools=(WEATHER,), params={"reasoningEffort": "high"})
    assert body["input"][1:] == [
        {
            "type": "reasoning",
            "id": "rs_1",
            "summary": [
                {"type": "summary_text", "text": "Plan the call."},
                {"type": "summary_text", "text": "Then answer."},
            ],
            "encrypted_content": "gAAAA-secret",
        },
        {
            "type": "function_call",
            "call_id": "call_1",
            "name": "get_weather",
            "arguments": '{"city":"Oslo"}',
        },
        {"type": "function_call_output", "call_id": "call_1", "output": "-3C"},
    ]
    assert body["include"] == ["reasoning.encrypted_content"]
    assert body["reasoning"] == {"effort": "high"}
    assert body["store"] is False


def test_reasoning_without_encrypted_content_is_only_replayed_when_the_server_stores() -> None:
    turn = Message(
        "assistant",
        (ReasoningPart(id="rs_2", summary=()), TextPart("Hi")),
    )
    stateless = build([user("a"), turn])
    assert [item.get("type", "message") for item in stateless["input"]] == ["message", "message"]
    stored = build([user("a"), turn], params={"store": True})
    assert stored["input"][1] == {"type": "reasoning", "id": "rs_2", "summary": []}
    assert stored["input"][2] == {"type": "message", "role": "assistant", "content": "Hi"}
    assert stored["store"] is True
    # Reasoning from a chat server (text only, no id) never becomes an item.
    chat_reasoning = Message("assistant", (ReasoningPart(text="thinking"), TextPart("Hi")))
    assert len(build([user("a"), chat_reasoning], params={"store": True})["input"]) == 2


def test_structured_output_json_schema() -> None:
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string"}},
        "required": ["name"],
        "additionalProperties": False,
    }
    fmt = ResponseFormat("json_schema", schema=schema, name="person", description="A person")
    body = build([user("x")], response_format=fmt, params={"textVerbosity": "low"})
    assert body["text"] == {
        "format": {
            "type": "json_schema",
            "name": "person",
            "description": "A person",
            "schema": schema,
            "strict": True,
        },
        "verbosity": "low",
    }


def test_structured_output_strictness_comes_from_the_format_then_the_param() -> None:
    schema = {"type": "object", "properties": {}}
    loose = build(
        [user("x")],
        response_format=ResponseFormat("json_schema", schema=schema),
        params={"strictJsonSchema": False},
    )
    assert loose["text"]["format"]["strict"] is False
    assert "strictJsonSchema" not in json.dumps(loose)
    explicit = build(
        [user("x")],
        response_format=ResponseFormat("json_schema", schema=schema, strict=True),
        params={"strictJsonSchema": False},
    )
    assert explicit["text"]["format"]["strict"] is True


def test_structured_output_json_object() -> None:
    body = build([user("Reply in JSON")], response_format=ResponseFormat("json_object"))
    assert body["text"] == {"format": {"type": "json_object"}}


def test_json_schema_on_a_profile_without_it_becomes_json_mode_plus_instructions() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}}
    fmt = ResponseFormat("json_schema", schema=schema)
    profile = DEFAULT.with_(supports_json_schema=False)
    body = build([user("x")], system="Be brief.", response_format=fmt, profile=profile)
    assert body["text"] == {"format": {"type": "json_object"}}
    assert body["instructions"] == (
        "Be brief.\n\nRespond with a JSON object that matches this JSON schema: "
        + json.dumps(schema)
    )
    alone = build([user("x")], response_format=fmt, profile=profile)
    assert alone["instructions"].startswith("Respond with a JSON object")
    with pytest.raises(MissingStructuredOutput):
        build([user("x")], response_format=fmt, profile=profile, system_message_mode="remove")


def test_max_output_tokens_and_sampling_params() -> None:
    params = {
        "maxOutputTokens": 256,
        "temperature": 0.2,
        "topP": 0.9,
        "serviceTier": "flex",
        "parallelToolCalls": False,
        "metadata": {"app": "test"},
        "truncation": "auto",
        "safetyIdentifier": "user-1",
        "maxToolCalls": 3,
        "seed": 7,  # not on responses: dropped
    }
    body = build([user("x")], params=params, tools=(WEATHER,))
    assert body["max_output_tokens"] == 256
    assert body["temperature"] == 0.2
    assert body["top_p"] == 0.9
    assert body["service_tier"] == "flex"
    assert body["parallel_tool_calls"] is False
    assert body["metadata"] == {"app": "test"}
    assert body["truncation"] == "auto"
    assert body["safety_identifier"] == "user-1"
    assert body["max_tool_calls"] == 3
    assert "seed" not in body
    # As on chat-completions, parallel_tool_calls goes only with tools.
    assert "parallel_tool_calls" not in build([user("x")], params=params)
    no_parallel = DEFAULT.with_(supports_parallel_tool_calls=False)
    assert "parallel_tool_calls" not in build(
        [user("x")], params=params, tools=(WEATHER,), profile=no_parallel
    )


def test_reasoning_effort_and_summary() -> None:
    body = build([user("x")], params={"reasoningEffort": "xhigh", "reasoningSummary": "auto"})
    assert body["reasoning"] == {"effort": "xhigh", "summary": "auto"}
    assert body["include"] == ["reasoning.encrypted_content"]


def test_effort_none_asks_for_no_encrypted_reasoning() -> None:
    body = build([user("x")], params={"reasoningEffort": "none"})
    assert body["reasoning"] == {"effort": "none"}
    assert "include" not in body


def test_stored_responses_need_no_encrypted_reasoning() -> None:
    body = build([user("x")], params={"reasoningEffort": "low", "store": True})
    assert "include" not in body and body["store"] is True


def test_include_merges_user_values_logprobs_and_encrypted_reasoning() -> None:
    params = {
        "include": ["file_search_call.results"],
        "logprobs": 3,
        "forceReasoning": True,
    }
    body = build([user("x")], params=params)
    assert body["include"] == [
        "file_search_call.results",
        "message.output_text.logprobs",
        "reasoning.encrypted_content",
    ]
    assert body["top_logprobs"] == 3


def test_prompt_cache_key_only_where_the_profile_allows_it() -> None:
    assert build([user("x")], prompt_cache_key="oc-1", profile=OPENAI)["prompt_cache_key"] == "oc-1"
    assert "prompt_cache_key" not in build([user("x")], prompt_cache_key="oc-1")


def test_extra_body_is_deep_merged_last() -> None:
    body = build(
        [user("x")],
        params={"reasoningEffort": "low", "store": True},
        extra_body={"reasoning": {"summary": "detailed"}, "store": False, "top_k": 20},
    )
    assert body["reasoning"] == {"effort": "low", "summary": "detailed"}
    assert body["store"] is False
    assert body["top_k"] == 20
    assert list(body)[-1] == "top_k"


def test_conversation_state_params() -> None:
    body = build([user("x")], params={"previousResponseId": "resp_1", "store": True})
    assert body["previous_response_id"] == "resp_1"


def test_same_conversation_same_bytes() -> None:
    messages = [user("Weather in Oslo?"), reasoning_turn()]
    options: dict[str, Any] = {
        "tools": (WEATHER,),
        "params": {"reasoningEffort": "high", "temperature": 1},
        "prompt_cache_key": "oc-1",
    }
    first = encode_body(build(messages, system="Be brief.", profile=OPENAI, **options))
    second = encode_body(build(list(messages), system="Be brief.", profile=OPENAI, **options))
    assert first == second


def test_turn_two_input_starts_with_turn_one_bytes() -> None:
    turn_one = [user("Weather in Oslo?"), reasoning_turn()]
    turn_two = [
        *turn_one,
        Message("tool", (ToolResultPart("call_1", "-3C"),)),
        Message("assistant", (TextPart("It is -3C."),)),
        user("And in Rome?"),
    ]
    options: dict[str, Any] = {"tools": (WEATHER,), "params": {"reasoningEffort": "high"}}
    one = build(turn_one, system="Be brief.", **options)
    two = build(turn_two, system="Be brief.", **options)
    one_input = encode_body({"input": one["input"]})[: -len(b"]}")]
    two_input = encode_body({"input": two["input"]})
    assert two_input.startswith(one_input + b",")
    # Everything before `input` is identical too (sorted keys put it first after instructions).
    assert encode_body(one).split(b'"input"')[0] == encode_body(two).split(b'"input"')[0]


def test_body_does_not_share_the_callers_objects() -> None:
    params_schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    spec = ToolSpec("t", parameters=params_schema)
    body = build([user("x")], tools=(spec,))
    body["tools"][0]["parameters"]["properties"]["b"] = {}
    assert "b" not in params_schema["properties"]
