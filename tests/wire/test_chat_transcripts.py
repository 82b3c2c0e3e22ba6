"""Every recorded Chat Completions stream, replayed through the real SSE decoder, the chat
parser and the assembler: the normalized result each one must give, the quirk its `notes` line
describes, and identical events however the bytes are chunked or lines are ended.
(Non-streamed and error bodies: test_chat_bodies.py.)
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from llm_openai_compat import errors
from llm_openai_compat.events import (
    Event,
    Finish,
    ReasoningDelta,
    ResponseMeta,
    StreamFailure,
    TextDelta,
    ToolCall,
    ToolCallArgumentsDelta,
    ToolCallStart,
    Usage,
)
from llm_openai_compat.wire.sse import SSEDecoder
from tests.wire.replay import (
    Expectations,
    Summary,
    call_tuples,
    chat_transcripts,
    comparable,
    finish_triple,
    of_type,
    replay_chat,
    sse_bytes,
    usage_numbers,
)

STREAMS = chat_transcripts("sse", "jsonl")
expect = Expectations()


def test_every_stream_transcript_has_an_expectation() -> None:
    assert len(STREAMS) == 24
    assert sorted(expect.checks) == STREAMS


# Parametrized by file, not by the registry: the expectations below register after this runs.
@pytest.mark.parametrize("name", STREAMS)
def test_stream_transcript(name: str) -> None:
    expect.run(name)


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
    assert call_tuples(s) == [(0, "toolu_sanitized", "read_file", {"path": "a.txt"})]
    assert s.tool_calls[0].arguments_raw == '{"path": "a.txt"}'
    assert of_type(events, ToolCallStart) == [ToolCallStart(0, "toolu_sanitized", "read_file")]
    # Empty-string argument fragments produce no deltas; id-less continuations join the call.
    deltas = [e.delta for e in of_type(events, ToolCallArgumentsDelta)]
    assert deltas == ['{"pa', 'th": "a.txt"}']
    assert finish_triple(s) == ("tool_calls", "tool_calls", False)
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
    assert filters[0]["content_filter_results"]["jailbreak"] == {
        "filtered": False,
        "detected": False,
    }
    assert s.text == "Capital of Denmark."
    assert s.meta is not None
    assert (s.meta.id, s.meta.model) == (
        "chatcmpl-CYPS1lijGoK8gd9lYzY3r9Sx50nbt",
        "gpt-5-nano-2025-08-07",
    )
    assert s.meta.extra["prompt_filter_results"] == filters
    assert usage_numbers(s) == (15, 78, 93, 0, 64)
    assert finish_triple(s) == ("stop", "stop", False)
    no_empty_deltas(events)


@expect("crusoe-vllm__chat__stream_text.txt")
def _(s: Summary, events: list[Event]) -> None:
    assert s.text == "1, 2, 3, 4, 5"
    assert not s.reasoning and not s.tool_calls
    assert usage_numbers(s) == (46, 14, 60, 0, None)
    assert finish_triple(s) == ("stop", "stop", False)  # stop_reason: null beside it is ignored
    assert s.meta == ResponseMeta(
        "chatcmpl-bcfbe349402eb3d2",
        "meta-llama/Llama-3.3-70B-Instruct",
        {"system_fingerprint": "vllm-0.24.0-tp4-6d31f84d"},  # kept since issue 17
    )
    assert isinstance(events[-2], Usage) and isinstance(events[-1], Finish)


@expect("deepseek__chat__stream_reasoning.txt")
def _(s: Summary, events: list[Event]) -> None:
    assert s.text == 'The word "strawberry" contains three "r"s.'
    assert s.reasoning.startswith('We need to count the number of the letter "r" in')
    assert s.reasoning.endswith("Thus, the answer is 3.")
    assert len(s.reasoning) == 606
    reasoning_then_text(events)
    no_empty_deltas(events)  # the first chunk's reasoning_content '' gives nothing
    assert usage_numbers(s) == (18, 219, 237, 0, 205)
    assert finish_triple(s) == ("stop", "stop", False)


@expect("deepseek__chat__stream_tool_call_with_reasoning.txt")
def _(s: Summary, events: list[Event]) -> None:
    assert s.text == ""
    assert s.reasoning.startswith("The user is asking for the weather in San Francisco.")
    assert s.reasoning.endswith('with the location parameter set to "San Francisco".')
    assert len(s.reasoning) == 191
    # id and name come only on the first tool delta; the arguments continue by index.
    assert call_tuples(s) == [
        (0, "call_00_ioIn7yN9p1ZOMNpDLwd4MgAF", "weather", {"location": "San Francisco"})
    ]
    assert len(of_type(events, ToolCallStart)) == 1
    assert len(of_type(events, ToolCallArgumentsDelta)) > 3
    assert usage_numbers(s) == (339, 83, 422, 320, 39)
    assert finish_triple(s) == ("tool_calls", "tool_calls", False)


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
    assert call_tuples(s) == [(0, "tk85n1k4m", "weather", {})]
    assert s.tool_calls[0].arguments_raw == "{}"
    # usage both at top level and in x_groq.usage: the same numbers, timing keys kept raw.
    assert usage_numbers(s) == (210, 15, 225, None, None)
    assert s.usage is not None and s.usage.raw["queue_time"] == 0.041520249
    assert finish_triple(s) == ("tool_calls", "tool_calls", False)


@expect("huggingface-router-novita__chat__stream_text_sla_metrics.txt")
def _(s: Summary, events: list[Event]) -> None:
    assert s.text == "Paris"
    assert usage_numbers(s) == (40, 2, 42, None, None)  # *_details: null
    assert finish_triple(s) == ("stop", "stop", False)
    # sla_metrics change on every chunk and are not kept, so the meta is reported once.
    assert s.meta == ResponseMeta(
        "ebafdc26c3296ed027c5cd6565fa1bce", "meta-llama/llama-3.1-8b-instruct", {}
    )
    assert len(of_type(events, ResponseMeta)) == 1


@expect("mistral__chat__stream_reasoning_content_array.txt")
def _(s: Summary, events: list[Event]) -> None:
    assert s.reasoning == "The user is asking for 2+2. This is basic arithmetic. 2+2=4."
    assert s.text == "2 + 2 = 4"
    reasoning_then_text(events)
    assert usage_numbers(s) == (10, 46, 56, None, None)
    assert finish_triple(s) == ("stop", "stop", False)


@expect("mistral__chat__stream_thinking_array_then_string_content.txt")
def _(s: Summary, events: list[Event]) -> None:
    assert s.reasoning.startswith("Okay, the user is asking how to cross the street.")
    assert s.reasoning.endswith(
        "Let me compile this information into a clear and concise response."
    )
    assert s.text.startswith("To cross the street safely, follow these steps:\n\n1. Look both ways")
    assert s.text.endswith("By following these steps, you can ensure a safe crossing.")
    assert (len(s.reasoning), len(s.text)) == (421, 607)
    reasoning_then_text(events)
    no_empty_deltas(events)
    assert usage_numbers(s) == (10, 232, 242, None, None)
    assert finish_triple(s) == ("stop", "stop", False)


@expect("mistral__chat__stream_tool_call_empty_name_repeat.txt")
def _(s: Summary, events: list[Event]) -> None:
    # The second delta repeats name '' without an id: same call, the name is kept.
    assert call_tuples(s) == [
        (0, "chatcmpl-tool-9f149c74c42f265b", "webSearchTool", {"query": "current Berlin weather"})
    ]
    assert of_type(events, ToolCallStart) == [
        ToolCallStart(0, "chatcmpl-tool-9f149c74c42f265b", "webSearchTool")
    ]
    assert s.text == ""
    assert usage_numbers(s) == (171, 14, 185, 128, None)
    assert finish_triple(s) == ("tool_calls", "tool_calls", False)


@expect("ollama__chat__stream_parallel_tool_calls_whole_args.txt")
def _(s: Summary, events: list[Event]) -> None:
    assert call_tuples(s) == [
        (0, "call_wteop8bt", "run_command", {"command": "ls"}),
        (1, "call_rk2xye1l", "run_command", {"command": "ls -l"}),
    ]
    assert [e.delta for e in of_type(events, ToolCallArgumentsDelta)] == [
        '{"command":"ls"}',
        '{"command":"ls -l"}',
    ]
    assert s.text == "" and s.usage is None
    assert finish_triple(s) == (
        "tool_calls",
        "tool_calls",
        False,
    )  # no [DONE] needed after a finish


@expect("openai__chat__stream_parallel_tool_calls.txt")
def _(s: Summary, events: list[Event]) -> None:
    assert call_tuples(s) == [
        (0, "call_q2UyBRP7eXNTzAoR8lEhjc9Z", "get_country", {}),
        (1, "call_b51ijcpFkDiTQG1bQzsrmtW5", "get_product_name", {}),
    ]
    assert [(e.index, e.delta) for e in of_type(events, ToolCallArgumentsDelta)] == [
        (0, "{}"),
        (1, "{}"),
    ]
    assert usage_numbers(s) == (364, 40, 404, 0, 0)
    assert finish_triple(s) == ("tool_calls", "tool_calls", False)
    assert [type(e) for e in events[-4:]] == [ToolCall, ToolCall, Usage, Finish]


@expect("openai__chat__stream_text_usage_only_final_chunk.txt")
def _(s: Summary, events: list[Event]) -> None:
    assert s.text.startswith("**Holiday Name:** Harmony Day\n\n**Date:** Celebrated annually")
    assert s.text.endswith("through shared human experiences and mutual respect.")
    assert len(s.text) == 1724
    assert usage_numbers(s) == (16, 300, 316, 0, 0)
    assert s.usage is not None
    assert s.usage.raw["completion_tokens_details"]["accepted_prediction_tokens"] == 0
    assert finish_triple(s) == ("stop", "stop", False)
    assert s.meta == ResponseMeta(
        "chatcmpl-D8Z5oo6uDh67AD85p73ksdT1KxhE0",
        "gpt-4.1-nano-2025-04-14",
        {"system_fingerprint": "fp_de604bd877", "service_tier": "default"},
    )


@expect("openai__chat__stream_tool_call_args_split.txt")
def _(s: Summary, events: list[Event]) -> None:
    assert call_tuples(s) == [
        (0, "call_LwxJUB9KppVyogRRLQsamRJv", "get_weather", {"city": "Mexico City"})
    ]
    assert [e.delta for e in of_type(events, ToolCallArgumentsDelta)] == [
        '{"',
        "city",
        '":"',
        "Mexico",
        " City",
        '"}',
    ]
    assert usage_numbers(s) == (423, 15, 438, 0, 0)
    assert finish_triple(s) == ("tool_calls", "tool_calls", False)


@expect("openrouter-novita__chat__stream_tool_call_args_whole_no_finish_reason.txt")
def _(s: Summary, events: list[Event]) -> None:
    assert call_tuples(s) == [(0, "0", "llm_version", {})]
    # No chunk ever says finish_reason: after [DONE] the finish is inferred from the calls.
    assert finish_triple(s) == ("tool_calls", None, True)
    assert usage_numbers(s) == (57, 17, 74, 0, 0)
    assert s.meta is not None and s.meta.extra == {"provider": "Novita"}


@expect("openrouter-novita__chat__stream_tool_call_id_repeated_args_restated.txt")
def _(s: Summary, events: list[Event]) -> None:
    # The second delta repeats index, id '0' and name: the same call, not a second one.
    assert call_tuples(s) == [(0, "0", "llm_version", {})]
    assert s.tool_calls[0].arguments_raw == "{}"
    assert len(of_type(events, ToolCallStart)) == 1
    assert finish_triple(s) == ("tool_calls", None, True)
    assert usage_numbers(s) == (57, 17, 74, 0, 0)
    assert s.usage is not None and s.usage.raw["cost"] == 0.00007159


@expect("openrouter-novita__chat__stream_tool_call_missing_arguments_key.txt")
def _(s: Summary, events: list[Event]) -> None:
    assert call_tuples(s) == [(0, "llm_version:0", "llm_version", {})]
    # The later usage chunk's finish_reason: null does not undo the tool_calls finish.
    assert finish_triple(s) == ("tool_calls", "tool_calls", False)
    assert usage_numbers(s) == (56, 12, 68, 0, 0)
    # The first line is ' data: ...' (field " data"): not an event at all.
    decoded = SSEDecoder().feed(
        sse_bytes("openrouter-novita__chat__stream_tool_call_missing_arguments_key.txt")
    )
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
    assert item.encrypted_content is not None and item.encrypted_content.startswith(
        "Et0BCkgIChACGAIqQA2s"
    )
    assert item.raw["format"] == "anthropic-claude-v1"
    reasoning_then_text(events)
    # The usage chunk after the stop chunk has finish_reason: null; the stop stands.
    assert finish_triple(s) == ("stop", "stop", False)
    assert usage_numbers(s) == (43, 36, 79, 0, 13)
    assert s.usage is not None and s.usage.raw["cost"] == 0.000669
    assert s.meta is not None and s.meta.extra == {"provider": "Google"}


@expect("perplexity__chat__stream_citations.txt")
def _(s: Summary, events: list[Event]) -> None:
    assert s.text == "The current population of **[2][3]"
    # Cumulative usage on every chunk: the last one wins, nothing is summed.
    assert usage_numbers(s) == (10, 336, 346, None, None)
    assert len(of_type(events, Usage)) == 1
    citations = s.meta.extra["citations"] if s.meta else []
    assert (
        len(citations) == 7
        and citations[0] == "https://populationstat.com/united-states/san-francisco"
    )
    assert len(of_type(events, ResponseMeta)) == 1  # repeated citations are not re-reported
    assert finish_triple(s) == ("stop", "stop", False)


@expect("qwen-dashscope__chat__stream_tool_call_empty_id_continuations.txt")
def _(s: Summary, events: list[Event]) -> None:
    # Continuations carry id '' (not absent): they continue call 0 by index.
    assert call_tuples(s) == [
        (0, "call_eee11723464a4b9eb8cee71d", "weather", {"location": "San Francisco"})
    ]
    assert s.tool_calls[0].arguments_raw == '{"location": "San Francisco"}'
    assert usage_numbers(s) == (295, 22, 317, 0, None)
    assert finish_triple(s) == ("tool_calls", "tool_calls", False)
    no_empty_deltas(events)


@expect("xai__chat__stream_tool_call_reasoning_content.txt")
def _(s: Summary, events: list[Event]) -> None:
    assert s.reasoning.startswith("First, the user is asking about the weather in San Francisco.")
    assert s.reasoning.endswith("but for now, this is the logical next step.")
    assert call_tuples(s) == [(0, "call_79382389", "weather", {"location": "San Francisco"})]
    # xAI's completion_tokens exclude reasoning tokens; the numbers are kept as sent.
    assert usage_numbers(s) == (307, 26, 560, 306, 227)
    assert s.usage is not None and s.usage.raw["cost_in_usd_ticks"] == 1497500
    assert finish_triple(s) == ("tool_calls", "tool_calls", False)


@expect("zai__chat__stream_reasoning_content.txt")
def _(s: Summary, events: list[Event]) -> None:
    assert s.reasoning.startswith("\n1.  **Analyze the User's Request:** The user is asking")
    assert s.reasoning.endswith('7.  **Draft the final response:** "4".')
    assert s.text == "4"
    reasoning_then_text(events)
    assert usage_numbers(s) == (
        13,
        564,
        577,
        0,
        561,
    )  # on the finish chunk, no separate usage chunk
    assert finish_triple(s) == ("stop", "stop", False)


# -- chunking, line endings, and streamed vs non-streamed agreement ------------------------------


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
