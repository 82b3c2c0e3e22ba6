"""Chat Completions request bodies (llm_openai_compat.wire.chat.build_request): messages,
system text, attachments, tools and tool-call turns. (Structured output, streaming, params,
extra_body and byte stability: test_chat_request_options.py.)

Every body is checked against OpenAI's own OpenAPI description and field by field.
"""

from __future__ import annotations

from typing import Any

import pytest

from llm_openai_compat.config.profiles import PROFILES, Profile
from llm_openai_compat.errors import ConfigError, MissingToolCalling, ProviderCapability
from llm_openai_compat.messages import (
    Conversation,
    FilePart,
    ImagePart,
    Message,
    ReasoningPart,
    RequestOptions,
    TextPart,
    ToolCallPart,
    ToolResultPart,
    ToolSpec,
)
from llm_openai_compat.wire.chat import build_request
from tests.support.openapi import assert_valid

DEFAULT = PROFILES["default"]
OPENAI = PROFILES["openai"]
DEEPSEEK = PROFILES["deepseek"]

HI = Conversation((Message.text("user", "Hi"),))
WEATHER = ToolSpec(
    name="weather",
    description="Current weather for a city",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
CITY_SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "country": {"type": "string"}},
    "required": ["city", "country"],
    "additionalProperties": False,
}


def build(
    conversation: Conversation = HI, profile: Profile = DEFAULT, **options: Any
) -> dict[str, Any]:
    options.setdefault("model", "m")
    options.setdefault("stream", False)
    body = build_request(conversation, RequestOptions(**options), profile)
    assert_valid(body, "CreateChatCompletionRequest")
    return body


# -- plain text and system text -----------------------------------------------------------------


def test_plain_text_user_message_is_a_string() -> None:
    assert build() == {"model": "m", "messages": [{"role": "user", "content": "Hi"}]}


def test_system_text_and_leading_system_messages_merge_into_one_leading_message() -> None:
    conversation = Conversation(
        (
            Message.text("system", "Use metric units."),
            Message("system", (TextPart("Answer in French."),)),
            Message.text("user", "Weather?"),
        ),
        system="Be brief.",
    )
    body = build(conversation)
    assert body["messages"] == [
        {"role": "system", "content": "Be brief.\n\nUse metric units.\n\nAnswer in French."},
        {"role": "user", "content": "Weather?"},
    ]


def test_a_later_system_message_stays_in_place_with_the_system_role() -> None:
    conversation = Conversation(
        (Message.text("user", "a"), Message.text("system", "b"), Message.text("user", "c"))
    )
    body = build(conversation, system_message_mode="developer", profile=OPENAI)
    assert body["messages"] == [
        {"role": "user", "content": "a"},
        {"role": "developer", "content": "b"},
        {"role": "user", "content": "c"},
    ]


@pytest.mark.parametrize(
    ("profile", "mode", "role"),
    [
        (DEFAULT, None, "system"),
        (DEFAULT, "system", "system"),
        (DEFAULT, "developer", "developer"),
        (DEFAULT.with_(system_role="developer"), None, "developer"),
        (DEFAULT.with_(system_role="developer"), "system", "system"),
        # The profile says the server rejects `developer` (DeepSeek): fall back to system.
        (DEEPSEEK, "developer", "system"),
        (DEFAULT.with_(system_role="developer", supports_developer_role=False), None, "system"),
    ],
)
def test_system_message_mode(profile: Profile, mode: str | None, role: str) -> None:
    body = build(Conversation(HI.messages, system="Be brief."), profile, system_message_mode=mode)
    assert body["messages"][0] == {"role": role, "content": "Be brief."}
    assert body["messages"][1] == {"role": "user", "content": "Hi"}


def test_remove_mode_with_a_system_prompt_is_a_config_error() -> None:
    conversation = Conversation(HI.messages, system="Be brief.")
    with pytest.raises(ConfigError) as caught:
        build(conversation, system_message_mode="remove")
    error = caught.value
    assert error.field == "systemMessageMode"
    assert 'systemMessageMode "remove" would drop the system prompt' in str(error)
    assert '"system" or "developer"' in str(error)


def test_remove_mode_without_system_text_is_fine() -> None:
    assert build(system_message_mode="remove")["messages"] == [{"role": "user", "content": "Hi"}]


# -- attachments --------------------------------------------------------------------------------


def test_images_by_url_and_data_url() -> None:
    data_url = "data:image/png;base64,iVBORw0KGgo="
    conversation = Conversation(
        (
            Message(
                "user",
                (
                    TextPart("What is in these?"),
                    ImagePart("https://example.com/cat.jpg", detail="high"),
                    ImagePart(data_url),
                    FilePart("image/jpeg", data_base64="/9j/4AAQ"),
                ),
            ),
        )
    )
    body = build(conversation)
    assert body["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is in these?"},
                {
                    "type": "image_url",
                    "image_url": {"url": "https://example.com/cat.jpg", "detail": "high"},
                },
                {"type": "image_url", "image_url": {"url": data_url}},
                {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/4AAQ"}},
            ],
        }
    ]


def test_a_single_image_is_still_a_content_array() -> None:
    conversation = Conversation((Message("user", (ImagePart("https://e.com/a.png"),)),))
    content = build(conversation)["messages"][0]["content"]
    assert content == [{"type": "image_url", "image_url": {"url": "https://e.com/a.png"}}]


@pytest.mark.parametrize(
    ("mime", "fmt"),
    [("audio/wav", "wav"), ("audio/x-wav", "wav"), ("audio/mpeg", "mp3"), ("audio/mp3", "mp3")],
)
def test_audio_file_parts_become_input_audio(mime: str, fmt: str) -> None:
    conversation = Conversation(
        (Message("user", (TextPart("Transcribe"), FilePart(mime, data_base64="UklGRg=="))),)
    )
    content = build(conversation)["messages"][0]["content"]
    assert content[1] == {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": fmt}}


def test_audio_from_a_base64_data_url() -> None:
    part = FilePart("audio/wav", url="data:audio/wav;base64,UklGRg==")
    content = build(Conversation((Message("user", (TextPart("x"), part)),)))["messages"][0][
        "content"
    ]
    assert content[1]["input_audio"] == {"data": "UklGRg==", "format": "wav"}


def test_pdf_file_parts_become_file_data() -> None:
    conversation = Conversation(
        (
            Message(
                "user",
                (
                    TextPart("Summarize"),
                    FilePart("application/pdf", data_base64="JVBERi0x", filename="report.pdf"),
                    FilePart("application/pdf", data_base64="JVBERi0y"),
                ),
            ),
        )
    )
    content = build(conversation)["messages"][0]["content"]
    assert content[1] == {
        "type": "file",
        "file": {"filename": "report.pdf", "file_data": "data:application/pdf;base64,JVBERi0x"},
    }
    assert content[2] == {
        "type": "file",
        "file": {"filename": "attachment.pdf", "file_data": "data:application/pdf;base64,JVBERi0y"},
    }


def test_a_pdf_by_url_cannot_be_sent() -> None:
    part = FilePart("application/pdf", url="https://example.com/a.pdf")
    with pytest.raises(ProviderCapability, match="by URL"):
        build(Conversation((Message("user", (part,)),)))


# -- tools --------------------------------------------------------------------------------------


def test_tools_are_function_tools() -> None:
    bare = ToolSpec(name="now")
    strict = ToolSpec(name="lookup", parameters={"type": "object"}, strict=True)
    body = build(tools=(WEATHER, bare, strict))
    assert body["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "weather",
                "description": "Current weather for a city",
                "parameters": {
                    "type": "object",
                    "properties": {"city": {"type": "string"}},
                    "required": ["city"],
                },
            },
        },
        {
            "type": "function",
            "function": {"name": "now", "parameters": {"type": "object", "properties": {}}},
        },
        {
            "type": "function",
            "function": {"name": "lookup", "parameters": {"type": "object"}, "strict": True},
        },
    ]
    # OpenAI's default, sent explicitly: llama-cpp-python reads a missing choice as "none".
    assert body["tool_choice"] == "auto"


def test_auto_tool_choice_is_omitted_where_the_server_rejects_it() -> None:
    no_auto = DEFAULT.with_(supports_auto_tool_choice=False)
    assert "tool_choice" not in build(profile=no_auto, tools=(WEATHER,))
    assert "tool_choice" not in build(profile=no_auto, tools=(WEATHER,), tool_choice="auto")
    assert build(profile=no_auto, tools=(WEATHER,), tool_choice="required")["tool_choice"] == "required"


@pytest.mark.parametrize(
    ("choice", "wire"),
    [
        ("auto", "auto"),
        ("none", "none"),
        ("required", "required"),
        ("weather", {"type": "function", "function": {"name": "weather"}}),
    ],
)
def test_tool_choice(choice: str, wire: Any) -> None:
    assert build(tools=(WEATHER,), tool_choice=choice)["tool_choice"] == wire


def test_tool_choice_without_tools_is_not_sent() -> None:
    assert "tool_choice" not in build(tool_choice="auto")


def test_tools_on_a_profile_without_tool_calling_raise() -> None:
    with pytest.raises(MissingToolCalling):
        build(profile=DEFAULT.with_(name="plain", supports_tools=False), tools=(WEATHER,))


def test_parallel_tool_calls_only_with_tools_and_where_supported() -> None:
    params = {"parallelToolCalls": False}
    assert build(tools=(WEATHER,), params=params)["parallel_tool_calls"] is False
    assert "parallel_tool_calls" not in build(params=params)
    no_parallel = DEFAULT.with_(supports_parallel_tool_calls=False)
    assert "parallel_tool_calls" not in build(profile=no_parallel, tools=(WEATHER,), params=params)


def tool_turn_conversation() -> Conversation:
    signature = {"google": {"thought_signature": "c2lnbmF0dXJl"}}
    return Conversation(
        (
            Message.text("user", "Weather in Paris and Rome?"),
            Message(
                "assistant",
                (
                    ReasoningPart(text="Two cities, two calls."),
                    ToolCallPart(
                        "call_1", "weather", '{"city":"Paris"}', extra={"extra_content": signature}
                    ),
                    ToolCallPart("call_2", "weather", '{"city":"Rome"}'),
                ),
            ),
            Message(
                "tool",
                (
                    ToolResultPart("call_1", "18C, sunny", name="weather"),
                    ToolResultPart("call_2", "24C, cloudy", name="weather"),
                ),
            ),
            Message.text("assistant", "Paris 18C, Rome 24C."),
            Message("user", (ToolResultPart("call_3", "late result"), TextPart("And tomorrow?"))),
        )
    )


def test_assistant_tool_call_turn_and_tool_results() -> None:
    body = build(tool_turn_conversation(), tools=(WEATHER,))
    assert body["messages"] == [
        {"role": "user", "content": "Weather in Paris and Rome?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "weather", "arguments": '{"city":"Paris"}'},
                    "extra_content": {"google": {"thought_signature": "c2lnbmF0dXJl"}},
                },
                {
                    "id": "call_2",
                    "type": "function",
                    "function": {"name": "weather", "arguments": '{"city":"Rome"}'},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "18C, sunny"},
        {"role": "tool", "tool_call_id": "call_2", "content": "24C, cloudy"},
        {"role": "assistant", "content": "Paris 18C, Rome 24C."},
        # Tool results in a user message answer the previous turn, so they come first.
        {"role": "tool", "tool_call_id": "call_3", "content": "late result"},
        {"role": "user", "content": "And tomorrow?"},
    ]


def test_earlier_reasoning_is_replayed_only_where_the_profile_asks() -> None:
    replaying = DEEPSEEK.with_(replay_reasoning_field="reasoning_content")
    body = build(tool_turn_conversation(), replaying, tools=(WEATHER,))
    assert body["messages"][1]["reasoning_content"] == "Two cities, two calls."
    assert "reasoning_content" not in body["messages"][3]
    default = build(tool_turn_conversation(), tools=(WEATHER,))
    assert all("reasoning_content" not in m for m in default["messages"])


def test_assistant_text_with_tool_calls_keeps_the_text() -> None:
    conversation = Conversation(
        (
            Message.text("user", "x"),
            Message("assistant", (TextPart("Let me check."), ToolCallPart("c1", "now", "{}"))),
            Message("tool", (ToolResultPart("c1", "noon"),)),
        )
    )
    body = build(conversation)
    assert body["messages"][1]["content"] == "Let me check."
    assert body["messages"][1]["tool_calls"][0]["id"] == "c1"
