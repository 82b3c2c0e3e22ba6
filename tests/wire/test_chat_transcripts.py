"""Every recorded Chat Completions transcript, replayed through the real SSE decoder, the chat
parser and the assembler, with the normalized result each one must give (and the quirk its
`notes` line describes asserted explicitly).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from llm_openai_compat import errors
from llm_openai_compat.events import (
    Event,
    Finish,
    ReasoningDelta,
    ReasoningItem,
    ResponseMeta,
    StreamFailure,
    TextDelta,
    ToolCall,
    ToolCallArgumentsDelta,
    ToolCallStart,
    Usage,
)
from llm_openai_compat.messages import Conversation, Message, RequestOptions, ToolCallPart
from llm_openai_compat.profiles import PROFILES
from llm_openai_compat.sse import SSEDecoder
from llm_openai_compat.wire.assemble import DoneSignal, FinishSignal, ToolCallFragment
from llm_openai_compat.wire.chat import ChatStreamParser, build_request, parse_body, parse_usage
from tests.support.openapi import read_transcript
from tests.wire.replay import (
    Summary,
    body_from_summary,
    chat_transcripts,
    comparable,
    kind_of,
    replay_body,
    replay_chat,
    sse_bytes,
    summarize,
)

DEFAULT = PROFILES["default"]
Check = Callable[[Summary, list[Event]], None]
EXPECTED: dict[str, Check] = {}


def expect(name: str) -> Callable[[Check], Check]:
    def register(check: Check) -> Check:
        assert name not in EXPECTED, name
        EXPECTED[name] = check
        return check

    return register


def test_every_chat_transcript_has_an_expectation() -> None:
    names = chat_transcripts()
    assert len(names) == 38
    assert sorted(EXPECTED) == names


# Parametrized by file, not by EXPECTED: the expectations below register after this runs.
@pytest.mark.parametrize("name", chat_transcripts())
def test_transcript(name: str) -> None:
    events = replay_chat(name)
    EXPECTED[name](summarize(events), events)


# -- helpers ------------------------------------------------------------------------------------


def usage(s: Summary) -> tuple[int | None, ...]:
    assert s.usage is not None
    u = s.usage
    return (u.input_tokens, u.output_tokens, u.total_tokens, u.cached_input_tokens, u.reasoning_tokens)


def finish(s: Summary) -> tuple[str, str | None, bool]:
    assert s.error is None, s.error
    assert s.finish is not None
    return (s.finish.reason, s.finish.raw_reason, s.finish.inferred)


def calls(s: Summary) -> list[tuple[int, str, str, Any]]:
    for call in s.tool_calls:
        assert call.arguments_error is None, call
    return [(c.index, c.id, c.name, c.arguments) for c in s.tool_calls]


def of_type(events: list[Event], kind: type) -> list[Any]:
    return [e for e in events if isinstance(e, kind)]


def reasoning_then_text(events: list[Event]) -> None:
    kinds = [type(e) for e in events if isinstance(e, (ReasoningDelta, TextDelta))]
    assert kinds and kinds == sorted(kinds, key=lambda k: k is TextDelta)


def no_empty_deltas(events: list[Event]) -> None:
    for event in events:
        if isinstance(event, (TextDelta, ReasoningDelta)):
            assert event.text
        if isinstance(event, ToolCallArgumentsDelta):
            assert event.delta


def ends_with_error(events: list[Event], cls: type[errors.OpenAICompatError]) -> Any:
    assert isinstance(events[-1], StreamFailure)
    assert type(events[-1].error) is cls
    assert not of_type(events, Finish)
    return events[-1].error


# -- streams ------------------------------------------------------------------------------------


@expect("anthropic-via-openai-gateway__chat__stream_tool_call_index_1.txt")
def _(s: Summary, events: list[Event]) -> None:
    assert s.text == "Reading it."
    # The server's first (and only) tool call has index 1: ours is dense and starts at 0.
    assert calls(s) == [(0, "toolu_sanitized", "read_file", {"path": "a.txt"})]
    assert s.tool_calls[0].arguments_raw == '{"path": "a.txt"}'
    assert of_type(events, ToolCallStart) == [ToolCallStart(0, "toolu_sanitized", "read_file")]
    # Empty-string argument fragments produce no deltas; id-less continuations join the call.
    deltas = [e.delta for e in of_type(events, ToolCallArgumentsDelta)]
    assert deltas == ['{"pa', 'th": "a.txt"}']
    assert finish(s) == ("tool_calls", "tool_calls", False)
    assert s.usage is None
    assert s.meta == ResponseMeta("msg_sanitized", "claude-haiku-4-5-20251001", {})


@expect("azure__chat__stream_prompt_filter_first_chunk.txt")
def _(s: Summary, events: list[Event]) -> None:
    # The first chunk (choices: [], id '', model '') only carries prompt_filter_results: it
    # gives a meta event right away and does not end the stream.
    first = events[0]
    assert isinstance(first, ResponseMeta)
    assert (first.id, first.model) == (None, None)
    filters = first.extra["prompt_filter_results"]
    assert filters[0]["content_filter_results"]["jailbreak"] == {"filtered": False, "detected": False}
    assert s.text == "Capital of Denmark."
    assert s.meta is not None
    assert (s.meta.id, s.meta.model) == ("chatcmpl-CYPS1lijGoK8gd9lYzY3r9Sx50nbt", "gpt-5-nano-2025-08-07")
    assert s.meta.extra["prompt_filter_results"] == filters
    assert usage(s) == (15, 78, 93, 0, 64)
    assert finish(s) == ("stop", "stop", False)
    no_empty_deltas(events)


@expect("crusoe-vllm__chat__stream_text.txt")
def _(s: Summary, events: list[Event]) -> None:
    assert s.text == "1, 2, 3, 4, 5"
    assert not s.reasoning and not s.tool_calls
    assert usage(s) == (46, 14, 60, 0, None)
    assert finish(s) == ("stop", "stop", False)  # stop_reason: null beside it is ignored
    assert s.meta == ResponseMeta("chatcmpl-bcfbe349402eb3d2", "meta-llama/Llama-3.3-70B-Instruct", {})
    assert isinstance(events[-2], Usage) and isinstance(events[-1], Finish)


@expect("deepseek__chat__stream_reasoning.txt")
def _(s: Summary, events: list[Event]) -> None:
    assert s.text == 'The word "strawberry" contains three "r"s.'
    assert s.reasoning.startswith('We need to count the number of the letter "r" in')
    assert s.reasoning.endswith("Thus, the answer is 3.")
    assert len(s.reasoning) == 606
    reasoning_then_text(events)
    no_empty_deltas(events)  # the first chunk's reasoning_content '' gives nothing
    assert usage(s) == (18, 219, 237, 0, 205)
    assert finish(s) == ("stop", "stop", False)


@expect("deepseek__chat__stream_tool_call_with_reasoning.txt")
def _(s: Summary, events: list[Event]) -> None:
    assert s.text == ""
    assert s.reasoning.startswith("The user is asking for the weather in San Francisco.")
    assert s.reasoning.endswith('with the location parameter set to "San Francisco".')
    assert len(s.reasoning) == 191
    # id and name come only on the first tool delta; the arguments continue by index.
    assert calls(s) == [(0, "call_00_ioIn7yN9p1ZOMNpDLwd4MgAF", "weather", {"location": "San Francisco"})]
    assert len(of_type(events, ToolCallStart)) == 1
    assert len(of_type(events, ToolCallArgumentsDelta)) > 3
    assert usage(s) == (339, 83, 422, 320, 39)
    assert finish(s) == ("tool_calls", "tool_calls", False)


@expect("groq__chat__stream_error_event_tool_use_failed.txt")
def _(s: Summary, events: list[Event]) -> None:
    # delta.reasoning (with channel: analysis) is reasoning; then an `event: error` frame and no
    # [DONE]: the error frame's own error is reported, not "the stream ended early".
    assert s.reasoning.startswith("We need to call the tool with invalid parameters first")
    assert s.reasoning.endswith('Then second call with name: "test". Let\'s do that.')
    assert s.text == "" and not s.tool_calls
    error = ends_with_error(events, errors.BadRequest)
    assert error.code == "tool_use_failed"
    assert error.status == 400
    assert "Tool call validation failed" in str(error)
    assert "additionalProperties 'invalid_param' not allowed" in str(error)
    assert s.meta is not None and s.meta.model == "openai/gpt-oss-120b"


@expect("groq__chat__stream_tool_call_args_whole.txt")
def _(s: Summary, events: list[Event]) -> None:
    assert calls(s) == [(0, "tk85n1k4m", "weather", {})]
    assert s.tool_calls[0].arguments_raw == "{}"
    # usage both at top level and in x_groq.usage: the same numbers, timing keys kept raw.
    assert usage(s) == (210, 15, 225, None, None)
    assert s.usage is not None and s.usage.raw["queue_time"] == 0.041520249
    assert finish(s) == ("tool_calls", "tool_calls", False)


@expect("huggingface-router-novita__chat__stream_text_sla_metrics.txt")
def _(s: Summary, events: list[Event]) -> None:
    assert s.text == "Paris"
    assert usage(s) == (40, 2, 42, None, None)  # *_details: null
    assert finish(s) == ("stop", "stop", False)
    # sla_metrics change on every chunk and are not kept, so the meta is reported once.
    assert s.meta == ResponseMeta("ebafdc26c3296ed027c5cd6565fa1bce", "meta-llama/llama-3.1-8b-instruct", {})
    assert len(of_type(events, ResponseMeta)) == 1


@expect("mistral__chat__stream_reasoning_content_array.txt")
def _(s: Summary, events: list[Event]) -> None:
    assert s.reasoning == "The user is asking for 2+2. This is basic arithmetic. 2+2=4."
    assert s.text == "2 + 2 = 4"
    reasoning_then_text(events)
    assert usage(s) == (10, 46, 56, None, None)
    assert finish(s) == ("stop", "stop", False)


@expect("mistral__chat__stream_thinking_array_then_string_content.txt")
def _(s: Summary, events: list[Event]) -> None:
    assert s.reasoning.startswith("Okay, the user is asking how to cross the street.")
    assert s.reasoning.endswith("Let me compile this information into a clear and concise response.")
    assert s.text.startswith("To cross the street safely, follow these steps:\n\n1. Look both ways")
    assert s.text.endswith("By following these steps, you can ensure a safe crossing.")
    assert (len(s.reasoning), len(s.text)) == (421, 607)
    reasoning_then_text(events)
    no_empty_deltas(events)
    assert usage(s) == (10, 232, 242, None, None)
    assert finish(s) == ("stop", "stop", False)


@expect("mistral__chat__stream_tool_call_empty_name_repeat.txt")
def _(s: Summary, events: list[Event]) -> None:
    # The second delta repeats name '' without an id: same call, the name is kept.
    assert calls(s) == [
        (0, "chatcmpl-tool-9f149c74c42f265b", "webSearchTool", {"query": "current Berlin weather"})
    ]
    assert of_type(events, ToolCallStart) == [
        ToolCallStart(0, "chatcmpl-tool-9f149c74c42f265b", "webSearchTool")
    ]
    assert s.text == ""
    assert usage(s) == (171, 14, 185, 128, None)
    assert finish(s) == ("tool_calls", "tool_calls", False)


@expect("ollama__chat__stream_parallel_tool_calls_whole_args.txt")
def _(s: Summary, events: list[Event]) -> None:
    assert calls(s) == [
        (0, "call_wteop8bt", "run_command", {"command": "ls"}),
        (1, "call_rk2xye1l", "run_command", {"command": "ls -l"}),
    ]
    assert [e.delta for e in of_type(events, ToolCallArgumentsDelta)] == [
        '{"command":"ls"}',
        '{"command":"ls -l"}',
    ]
    assert s.text == "" and s.usage is None
    assert finish(s) == ("tool_calls", "tool_calls", False)  # no [DONE] needed after a finish


@expect("openai__chat__stream_parallel_tool_calls.txt")
def _(s: Summary, events: list[Event]) -> None:
    assert calls(s) == [
        (0, "call_q2UyBRP7eXNTzAoR8lEhjc9Z", "get_country", {}),
        (1, "call_b51ijcpFkDiTQG1bQzsrmtW5", "get_product_name", {}),
    ]
    assert [(e.index, e.delta) for e in of_type(events, ToolCallArgumentsDelta)] == [(0, "{}"), (1, "{}")]
    assert usage(s) == (364, 40, 404, 0, 0)
    assert finish(s) == ("tool_calls", "tool_calls", False)
    assert [type(e) for e in events[-4:]] == [ToolCall, ToolCall, Usage, Finish]


@expect("openai__chat__stream_text_usage_only_final_chunk.txt")
def _(s: Summary, events: list[Event]) -> None:
    assert s.text.startswith("**Holiday Name:** Harmony Day\n\n**Date:** Celebrated annually")
    assert s.text.endswith("through shared human experiences and mutual respect.")
    assert len(s.text) == 1724
    assert usage(s) == (16, 300, 316, 0, 0)
    assert s.usage is not None
    assert s.usage.raw["completion_tokens_details"]["accepted_prediction_tokens"] == 0
    assert finish(s) == ("stop", "stop", False)
    assert s.meta == ResponseMeta("chatcmpl-D8Z5oo6uDh67AD85p73ksdT1KxhE0", "gpt-4.1-nano-2025-04-14", {})


@expect("openai__chat__stream_tool_call_args_split.txt")
def _(s: Summary, events: list[Event]) -> None:
    assert calls(s) == [(0, "call_LwxJUB9KppVyogRRLQsamRJv", "get_weather", {"city": "Mexico City"})]
    assert [e.delta for e in of_type(events, ToolCallArgumentsDelta)] == [
        '{"', "city", '":"', "Mexico", " City", '"}'
    ]
    assert usage(s) == (423, 15, 438, 0, 0)
    assert finish(s) == ("tool_calls", "tool_calls", False)


@expect("openrouter-novita__chat__stream_tool_call_args_whole_no_finish_reason.txt")
def _(s: Summary, events: list[Event]) -> None:
    assert calls(s) == [(0, "0", "llm_version", {})]
    # No chunk ever says finish_reason: after [DONE] the finish is inferred from the calls.
    assert finish(s) == ("tool_calls", None, True)
    assert usage(s) == (57, 17, 74, 0, 0)
    assert s.meta is not None and s.meta.extra == {"provider": "Novita"}


@expect("openrouter-novita__chat__stream_tool_call_id_repeated_args_restated.txt")
def _(s: Summary, events: list[Event]) -> None:
    # The second delta repeats index, id '0' and name: the same call, not a second one.
    assert calls(s) == [(0, "0", "llm_version", {})]
    assert s.tool_calls[0].arguments_raw == "{}"
    assert len(of_type(events, ToolCallStart)) == 1
    assert finish(s) == ("tool_calls", None, True)
    assert usage(s) == (57, 17, 74, 0, 0)
    assert s.usage is not None and s.usage.raw["cost"] == 0.00007159


@expect("openrouter-novita__chat__stream_tool_call_missing_arguments_key.txt")
def _(s: Summary, events: list[Event]) -> None:
    assert calls(s) == [(0, "llm_version:0", "llm_version", {})]
    # The later usage chunk's finish_reason: null does not undo the tool_calls finish.
    assert finish(s) == ("tool_calls", "tool_calls", False)
    assert usage(s) == (56, 12, 68, 0, 0)
    # The first line is ' data: ...' (field " data"): not an event at all.
    decoded = SSEDecoder().feed(sse_bytes("openrouter-novita__chat__stream_tool_call_missing_arguments_key.txt"))
    assert len(decoded) == 5 and decoded[-1].data == "[DONE]"


@expect("openrouter__chat__stream_error_midstream_with_comments.txt")
def _(s: Summary, events: list[Event]) -> None:
    # 17 comment keep-alives, reasoning, finish_reason 'length' twice, then a chunk with a
    # top-level error {code: 400}: the error wins over the finish, and [DONE] changes nothing.
    assert s.reasoning == "We need to respond to a greeting. The user"
    assert s.text == ""
    error = ends_with_error(events, errors.BadRequest)
    assert error.status == 400
    assert "Token limit reached" in str(error)
    assert s.meta is not None and s.meta.extra == {"provider": "Minimax"}


@expect("openrouter__chat__stream_reasoning_details.txt")
def _(s: Summary, events: list[Event]) -> None:
    # `reasoning` and `reasoning_details` say the same text: it is reported once.
    assert s.reasoning == "This is a simple arithmetic question. 2+2 equals 4."
    assert s.text == "2 + 2 = 4"
    # The signature chunk becomes an opaque item to send back.
    (item,) = s.reasoning_items
    assert item.encrypted_content is not None and item.encrypted_content.startswith("Et0BCkgIChACGAIqQA2s")
    assert item.raw["format"] == "anthropic-claude-v1"
    reasoning_then_text(events)
    # The usage chunk after the stop chunk has finish_reason: null; the stop stands.
    assert finish(s) == ("stop", "stop", False)
    assert usage(s) == (43, 36, 79, 0, 13)
    assert s.usage is not None and s.usage.raw["cost"] == 0.000669
    assert s.meta is not None and s.meta.extra == {"provider": "Google"}


@expect("perplexity__chat__stream_citations.txt")
def _(s: Summary, events: list[Event]) -> None:
    assert s.text == "The current population of **[2][3]"
    # Cumulative usage on every chunk: the last one wins, nothing is summed.
    assert usage(s) == (10, 336, 346, None, None)
    assert len(of_type(events, Usage)) == 1
    citations = s.meta.extra["citations"] if s.meta else []
    assert len(citations) == 7 and citations[0] == "https://populationstat.com/united-states/san-francisco"
    assert len(of_type(events, ResponseMeta)) == 1  # repeated citations are not re-reported
    assert finish(s) == ("stop", "stop", False)


@expect("qwen-dashscope__chat__stream_tool_call_empty_id_continuations.txt")
def _(s: Summary, events: list[Event]) -> None:
    # Continuations carry id '' (not absent): they continue call 0 by index.
    assert calls(s) == [(0, "call_eee11723464a4b9eb8cee71d", "weather", {"location": "San Francisco"})]
    assert s.tool_calls[0].arguments_raw == '{"location": "San Francisco"}'
    assert usage(s) == (295, 22, 317, 0, None)
    assert finish(s) == ("tool_calls", "tool_calls", False)
    no_empty_deltas(events)


@expect("xai__chat__stream_tool_call_reasoning_content.txt")
def _(s: Summary, events: list[Event]) -> None:
    assert s.reasoning.startswith("First, the user is asking about the weather in San Francisco.")
    assert s.reasoning.endswith("but for now, this is the logical next step.")
    assert calls(s) == [(0, "call_79382389", "weather", {"location": "San Francisco"})]
    # xAI's completion_tokens exclude reasoning tokens; the numbers are kept as sent.
    assert usage(s) == (307, 26, 560, 306, 227)
    assert s.usage is not None and s.usage.raw["cost_in_usd_ticks"] == 1497500
    assert finish(s) == ("tool_calls", "tool_calls", False)


@expect("zai__chat__stream_reasoning_content.txt")
def _(s: Summary, events: list[Event]) -> None:
    assert s.reasoning.startswith("\n1.  **Analyze the User's Request:** The user is asking")
    assert s.reasoning.endswith('7.  **Draft the final response:** "4".')
    assert s.text == "4"
    reasoning_then_text(events)
    assert usage(s) == (13, 564, 577, 0, 561)  # on the finish chunk, no separate usage chunk
    assert finish(s) == ("stop", "stop", False)


# -- non-streamed bodies --------------------------------------------------------------------------


@expect("azure__chat__nonstream_content_filter_results.txt")
def _(s: Summary, events: list[Event]) -> None:
    assert s.text == "The capital of France is **Paris**."
    assert usage(s) == (14, 9, 23, 0, 0)
    assert finish(s) == ("stop", "stop", False)
    assert s.meta is not None
    assert (s.meta.id, s.meta.model) == ("chatcmpl-BAeyRj7gU6aCNSSAskAFbupBWYMIT", "gpt-4o-2024-11-20")
    jailbreak = s.meta.extra["prompt_filter_results"][0]["content_filter_results"]["jailbreak"]
    assert jailbreak == {"detected": False, "filtered": False}


@expect("deepseek__chat__nonstream_tool_call_cache_fields.txt")
def _(s: Summary, events: list[Event]) -> None:
    assert s.text == ""  # content '' with tool calls
    assert s.reasoning.startswith("The user is asking for the weather in San Francisco.")
    assert s.reasoning.endswith("Let me call the weather function.")
    assert calls(s) == [(0, "call_00_9V0vrf86Pc9aelHCJMZqnJBo", "weather", {"location": "San Francisco"})]
    assert usage(s) == (339, 92, 431, 320, 48)
    assert s.usage is not None and s.usage.raw["prompt_cache_hit_tokens"] == 320
    assert finish(s) == ("tool_calls", "tool_calls", False)


@expect("gemini-openai-compat__chat__nonstream_tool_call_extra_content.txt")
def _(s: Summary, events: list[Event]) -> None:
    # id '' -> a generated id; the message-level extra_content goes with the call, to go back.
    assert calls(s) == [(0, "call_0", "get_current_time", {})]
    call = s.tool_calls[0]
    assert call.extra is not None
    google = call.extra["extra_content"]["google"]
    assert google["thought"] is True and google["thought_signature"].startswith("AVSoXO4AzAXs")
    assert usage(s) == (35, 12, 109, None, None)  # total > prompt + completion: kept as sent
    assert finish(s) == ("tool_calls", "tool_calls", False)
    # Round trip: the next request echoes extra_content on the call.
    part = ToolCallPart(call.id, call.name, call.arguments_raw, extra=call.extra)
    conversation = Conversation((Message.text("user", "time?"), Message("assistant", (part,))))
    body = build_request(conversation, RequestOptions(model="gemini", stream=False), DEFAULT)
    assert body["messages"][1]["tool_calls"][0]["extra_content"] == call.extra["extra_content"]


@expect("groq__chat__nonstream_reasoning_field.txt")
def _(s: Summary, events: list[Event]) -> None:
    assert s.text.startswith('The word "strawberry" contains **3** instances of the letter **R**.')
    assert s.text.endswith("**Answer:** 3.")
    assert s.reasoning.startswith('Okay, so the user is asking how many times the letter "r" appears')
    assert s.reasoning.endswith("So the answer should be 3.\n")
    assert usage(s) == (17, 649, 666, None, 570)
    assert s.usage is not None and s.usage.raw["queue_time"] == 0.335637089
    assert finish(s) == ("stop", "stop", False)
    reasoning_then_text(events)


@expect("groq__chat__nonstream_think_tags_raw_reasoning_format.txt")
def _(s: Summary, events: list[Event]) -> None:
    assert s.reasoning.strip().startswith("Okay, so I want to make Uruguayan alfajores.")
    assert s.reasoning.strip().endswith("I'm excited to try these Uruguayan alfajores!")
    assert s.text.startswith("To make Uruguayan alfajores, follow these organized steps")
    assert s.text.endswith("Enjoy your traditional Uruguayan alfajores with a cup of coffee or tea!")
    assert "<think>" not in s.text + s.reasoning and "</think>" not in s.text + s.reasoning
    assert usage(s) == (21, 1414, 1435, None, None)
    assert finish(s) == ("stop", "stop", False)
    # A profile that keeps tags leaves everything as text.
    raw = summarize(
        replay_chat("groq__chat__nonstream_think_tags_raw_reasoning_format.txt", profile=DEFAULT.with_(think_tags=False))
    )
    assert raw.reasoning == "" and raw.text.startswith("<think>\nOkay, so I want")


@expect("ollama-cloud__chat__nonstream_tool_call_reasoning_field.txt")
def _(s: Summary, events: list[Event]) -> None:
    assert s.text == ""
    assert s.reasoning.startswith('The conversation: user asked "What is the capital of France?"')
    assert s.reasoning.endswith("We need to provide answer in JSON format. Let's do that.")
    assert calls(s) == [(0, "call_o2vnpxrw", "final_result", {"city": "Paris", "country": "France"})]
    assert usage(s) == (206, 194, 400, None, None)
    assert finish(s) == ("tool_calls", "tool_calls", False)


# -- HTTP error bodies (errors.classify_response) -------------------------------------------------


def error_of(events: list[Event], cls: type[errors.OpenAICompatError]) -> Any:
    (only,) = events
    assert isinstance(only, StreamFailure) and type(only.error) is cls
    return only.error


@expect("groq__chat__error_400_tool_use_failed.txt")
def _(s: Summary, events: list[Event]) -> None:
    error = error_of(events, errors.BadRequest)
    assert (error.status, error.code) == (400, "tool_use_failed")
    assert "Tool call validation failed" in str(error)


@expect("groq__chat__error_404_model_not_found.txt")
def _(s: Summary, events: list[Event]) -> None:
    error = error_of(events, errors.NotFound)
    assert (error.status, error.code, error.param) == (404, "model_not_found", None)
    assert "The model `non-existent` does not exist" in str(error)


@expect("openai__chat__error_400_developer_role_unsupported.txt")
def _(s: Summary, events: list[Event]) -> None:
    error = error_of(events, errors.BadRequest)
    assert (error.code, error.param) == ("unsupported_value", "messages[0].role")
    assert "does not support 'developer' with this model" in str(error)
    assert "'messages[0].role'; change or remove it" in str(error)


@expect("openai__chat__error_400_max_tokens_unsupported.txt")
def _(s: Summary, events: list[Event]) -> None:
    error = error_of(events, errors.BadRequest)
    assert (error.code, error.param) == ("unsupported_parameter", "max_tokens")
    assert "Use 'max_completion_tokens' instead" in str(error)


@expect("openai__chat__error_400_param_code_null.txt")
def _(s: Summary, events: list[Event]) -> None:
    error = error_of(events, errors.BadRequest)
    # code: null -> the type stands in for it.
    assert (error.code, error.param) == ("invalid_request_error", "web_search_options")
    assert "Web search options not supported with this model" in str(error)


@expect("openai__chat__error_401_invalid_api_key.txt")
def _(s: Summary, events: list[Event]) -> None:
    error = error_of(events, errors.Unauthorized)
    assert (error.status, error.code) == (401, "invalid_api_key")
    assert "Incorrect API key provided" in str(error)


@expect("openai__chat__error_404_model_not_found.txt")
def _(s: Summary, events: list[Event]) -> None:
    error = error_of(events, errors.NotFound)
    assert (error.status, error.code) == (404, "model_not_found")
    assert "gpt-5.2-proo" in str(error)


@expect("openrouter__chat__error_429_provider_returned_error.txt")
def _(s: Summary, events: list[Event]) -> None:
    # code is the integer 429; the upstream message (metadata.raw) is the useful part.
    error = error_of(events, errors.RateLimited)
    assert (error.status, error.code) == (429, "429")
    assert "Provider returned error" in str(error)
    assert "temporarily rate-limited upstream" in str(error)


# -- chunking, line endings, and streamed vs non-streamed agreement ------------------------------

STREAMS = [n for n in chat_transcripts() if kind_of(n) in ("sse", "jsonl")]


def fixed(size: int) -> Callable[[bytes], Iterator[bytes]]:
    return lambda data: (data[i : i + size] for i in range(0, len(data), size))


def random_sizes(seed: int) -> Callable[[bytes], Iterator[bytes]]:
    def chunks(data: bytes) -> Iterator[bytes]:
        rng = random.Random(seed)
        i = 0
        while i < len(data):
            step = rng.randint(1, 97)
            yield data[i : i + step]
            i += step

    return chunks


@pytest.mark.parametrize("name", STREAMS)
def test_chunking_and_crlf_give_identical_events(name: str) -> None:
    whole = comparable(replay_chat(name))
    assert comparable(replay_chat(name, crlf=True)) == whole
    for chunker in (fixed(1), fixed(7), random_sizes(1), random_sizes(2)):
        assert comparable(replay_chat(name, chunker=chunker, crlf=True)) == whole
        assert comparable(replay_chat(name, chunker=chunker)) == whole


@pytest.mark.parametrize("name", [n for n in STREAMS if summarize(replay_chat(n)).error is None])
def test_non_streamed_form_of_a_stream_agrees(name: str) -> None:
    streamed = summarize(replay_chat(name))
    body = json.loads(json.dumps(body_from_summary(streamed)))
    assert summarize(replay_body(body)) == streamed


def test_non_streamed_bodies_replay_identically_from_their_text() -> None:
    for name in (n for n in chat_transcripts() if kind_of(n) == "body"):
        _, text = read_transcript(name)
        assert comparable(replay_body(json.loads(text))) == comparable(replay_chat(name))
