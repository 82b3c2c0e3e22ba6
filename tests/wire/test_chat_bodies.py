"""Recorded non-streamed Chat Completions bodies and HTTP error bodies, with the normalized
result each must give; and streamed and non-streamed forms of one response agreeing.
"""

from __future__ import annotations

import json

import pytest

from llm_openai_compat import errors
from llm_openai_compat.config.profiles import PROFILES
from llm_openai_compat.events import Event, ReasoningDelta, StreamFailure, TextDelta
from llm_openai_compat.messages import Conversation, Message, RequestOptions, ToolCallPart
from llm_openai_compat.wire.chat import build_request
from tests.support.openapi import read_transcript
from tests.wire.replay import (
    Expectations,
    Summary,
    body_from_summary,
    call_tuples,
    chat_transcripts,
    comparable,
    finish_triple,
    replay_body,
    replay_chat,
    summarize,
    usage_numbers,
)

DEFAULT = PROFILES["default"]
BODIES = chat_transcripts("body")
ERRORS = chat_transcripts("error")
expect = Expectations()


def test_every_body_transcript_has_an_expectation() -> None:
    assert (len(BODIES), len(ERRORS)) == (6, 8)
    assert sorted(expect.checks) == BODIES


@pytest.mark.parametrize("name", BODIES)
def test_body_transcript(name: str) -> None:
    expect.run(name)


def reasoning_then_text(events: list[Event]) -> None:
    kinds = [type(e) for e in events if isinstance(e, (ReasoningDelta, TextDelta))]
    assert kinds and kinds == sorted(kinds, key=lambda k: k is TextDelta)


# -- non-streamed bodies --------------------------------------------------------------------------


@expect("azure__chat__nonstream_content_filter_results.txt")
def _(s: Summary, events: list[Event]) -> None:
    assert s.text == "The capital of France is **Paris**."
    assert usage_numbers(s) == (14, 9, 23, 0, 0)
    assert finish_triple(s) == ("stop", "stop", False)
    assert s.meta is not None
    assert (s.meta.id, s.meta.model) == (
        "chatcmpl-BAeyRj7gU6aCNSSAskAFbupBWYMIT",
        "gpt-4o-2024-11-20",
    )
    jailbreak = s.meta.extra["prompt_filter_results"][0]["content_filter_results"]["jailbreak"]
    assert jailbreak == {"detected": False, "filtered": False}


@expect("deepseek__chat__nonstream_tool_call_cache_fields.txt")
def _(s: Summary, events: list[Event]) -> None:
    assert s.text == ""  # content '' with tool calls
    assert s.reasoning.startswith("The user is asking for the weather in San Francisco.")
    assert s.reasoning.endswith("Let me call the weather function.")
    assert call_tuples(s) == [
        (0, "call_00_9V0vrf86Pc9aelHCJMZqnJBo", "weather", {"location": "San Francisco"})
    ]
    assert usage_numbers(s) == (339, 92, 431, 320, 48)
    assert s.usage is not None and s.usage.raw["prompt_cache_hit_tokens"] == 320
    assert finish_triple(s) == ("tool_calls", "tool_calls", False)


@expect("gemini-openai-compat__chat__nonstream_tool_call_extra_content.txt")
def _(s: Summary, events: list[Event]) -> None:
    # id '' -> a generated id; the message-level extra_content goes with the call, to go back.
    assert call_tuples(s) == [(0, "call_0", "get_current_time", {})]
    call = s.tool_calls[0]
    assert call.extra is not None
    google = call.extra["extra_content"]["google"]
    assert google["thought"] is True and google["thought_signature"].startswith("AVSoXO4AzAXs")
    assert usage_numbers(s) == (
        35,
        12,
        109,
        None,
        None,
    )  # total > prompt + completion: kept as sent
    assert finish_triple(s) == ("tool_calls", "tool_calls", False)
    # Round trip: the next request echoes extra_content on the call.
    part = ToolCallPart(call.id, call.name, call.arguments_raw, extra=call.extra)
    conversation = Conversation((Message.text("user", "time?"), Message("assistant", (part,))))
    body = build_request(conversation, RequestOptions(model="gemini", stream=False), DEFAULT)
    assert body["messages"][1]["tool_calls"][0]["extra_content"] == call.extra["extra_content"]


@expect("groq__chat__nonstream_reasoning_field.txt")
def _(s: Summary, events: list[Event]) -> None:
    assert s.text.startswith('The word "strawberry" contains **3** instances of the letter **R**.')
    assert s.text.endswith("**Answer:** 3.")
    assert s.reasoning.startswith(
        'Okay, so the user is asking how many times the letter "r" appears'
    )
    assert s.reasoning.endswith("So the answer should be 3.\n")
    assert usage_numbers(s) == (17, 649, 666, None, 570)
    assert s.usage is not None and s.usage.raw["queue_time"] == 0.335637089
    assert finish_triple(s) == ("stop", "stop", False)
    reasoning_then_text(events)


@expect("groq__chat__nonstream_think_tags_raw_reasoning_format.txt")
def _(s: Summary, events: list[Event]) -> None:
    assert s.reasoning.strip().startswith("Okay, so I want to make Uruguayan alfajores.")
    assert s.reasoning.strip().endswith("I'm excited to try these Uruguayan alfajores!")
    assert s.text.startswith("To make Uruguayan alfajores, follow these organized steps")
    assert s.text.endswith(
        "Enjoy your traditional Uruguayan alfajores with a cup of coffee or tea!"
    )
    assert "<think>" not in s.text + s.reasoning and "</think>" not in s.text + s.reasoning
    assert usage_numbers(s) == (21, 1414, 1435, None, None)
    assert finish_triple(s) == ("stop", "stop", False)
    # A profile that keeps tags leaves everything as text.
    raw = summarize(
        replay_chat(
            "groq__chat__nonstream_think_tags_raw_reasoning_format.txt",
            profile=DEFAULT.with_(think_tags=False),
        )
    )
    assert raw.reasoning == "" and raw.text.startswith("<think>\nOkay, so I want")


@expect("ollama-cloud__chat__nonstream_tool_call_reasoning_field.txt")
def _(s: Summary, events: list[Event]) -> None:
    assert s.text == ""
    assert s.reasoning.startswith('The conversation: user asked "What is the capital of France?"')
    assert s.reasoning.endswith("We need to provide answer in JSON format. Let's do that.")
    assert call_tuples(s) == [
        (0, "call_o2vnpxrw", "final_result", {"city": "Paris", "country": "France"})
    ]
    assert usage_numbers(s) == (206, 194, 400, None, None)
    assert finish_triple(s) == ("tool_calls", "tool_calls", False)


# -- HTTP error bodies (errors.classify_response) -------------------------------------------------

# name -> (class, status, code, param, phrases the message must contain)
ERROR_EXPECTATIONS: dict[
    str, tuple[type[errors.OpenAICompatError], int, str, str | None, tuple[str, ...]]
] = {
    "groq__chat__error_400_tool_use_failed.txt": (
        errors.BadRequest,
        400,
        "tool_use_failed",
        None,
        ("Tool call validation failed",),
    ),
    "groq__chat__error_404_model_not_found.txt": (
        errors.NotFound,
        404,
        "model_not_found",
        None,
        ("The model `non-existent` does not exist",),
    ),
    "openai__chat__error_400_developer_role_unsupported.txt": (
        errors.BadRequest,
        400,
        "unsupported_value",
        "messages[0].role",
        ("does not support 'developer' with this model", "'messages[0].role'; change or remove it"),
    ),
    "openai__chat__error_400_max_tokens_unsupported.txt": (
        errors.BadRequest,
        400,
        "unsupported_parameter",
        "max_tokens",
        ("Use 'max_completion_tokens' instead",),
    ),
    # code: null -> the type stands in for it.
    "openai__chat__error_400_param_code_null.txt": (
        errors.BadRequest,
        400,
        "invalid_request_error",
        "web_search_options",
        ("Web search options not supported with this model",),
    ),
    "openai__chat__error_401_invalid_api_key.txt": (
        errors.Unauthorized,
        401,
        "invalid_api_key",
        None,
        ("Incorrect API key provided",),
    ),
    "openai__chat__error_404_model_not_found.txt": (
        errors.NotFound,
        404,
        "model_not_found",
        None,
        ("gpt-5.2-proo",),
    ),
    # code is the integer 429; the upstream message (metadata.raw) is the useful part.
    "openrouter__chat__error_429_provider_returned_error.txt": (
        errors.RateLimited,
        429,
        "429",
        None,
        ("Provider returned error", "temporarily rate-limited upstream"),
    ),
}


def test_every_error_transcript_has_an_expectation() -> None:
    assert sorted(ERROR_EXPECTATIONS) == ERRORS


@pytest.mark.parametrize("name", ERRORS)
def test_error_transcript(name: str) -> None:
    cls, status, code, param, phrases = ERROR_EXPECTATIONS[name]
    (only,) = replay_chat(name)
    assert isinstance(only, StreamFailure)
    error = only.error
    assert type(error) is cls
    assert (error.status, error.code, error.param) == (status, code, param)
    for phrase in phrases:
        assert phrase in str(error)
    assert summarize([only]).error is error


# -- streamed and non-streamed forms agree -----------------------------------------------------------


@pytest.mark.parametrize(
    "name", [n for n in chat_transcripts("sse", "jsonl") if summarize(replay_chat(n)).error is None]
)
def test_non_streamed_form_of_a_stream_agrees(name: str) -> None:
    streamed = summarize(replay_chat(name))
    body = json.loads(json.dumps(body_from_summary(streamed)))
    assert summarize(replay_body(body)) == streamed


def test_non_streamed_bodies_replay_identically_from_their_text() -> None:
    for name in BODIES:
        _, text = read_transcript(name)
        assert comparable(replay_body(json.loads(text))) == comparable(replay_chat(name))
