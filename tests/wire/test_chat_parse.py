"""Chat Completions parsing (llm_openai_compat.wire.chat) on hand-made chunks: the quirks no
recorded transcript happens to show, and the parser's own contract."""

from __future__ import annotations

import json
from types import MappingProxyType
from typing import Any

from llm_openai_compat import errors
from llm_openai_compat.config.profiles import PROFILES
from llm_openai_compat.events import (
    ReasoningDelta,
    ReasoningItem,
    ResponseMeta,
    StreamFailure,
    TextDelta,
    ToolCall,
    Usage,
)
from llm_openai_compat.wire.assemble import Assembler, DoneSignal, FinishSignal, ToolCallFragment
from llm_openai_compat.wire.chat import ChatStreamParser, parse_body, parse_usage
from tests.support.wire_bytes import bare_chunk
from tests.wire.replay import replay_body, summarize

DEFAULT = PROFILES["default"]


def feed(*chunks: dict[str, Any]) -> list[Any]:
    parser = ChatStreamParser(DEFAULT)
    return [d for c in chunks for d in parser.feed_event("message", json.dumps(c))]


def failure(deltas: list[Any]) -> errors.OpenAICompatError:
    (only,) = deltas
    assert isinstance(only, StreamFailure)
    return only.error


# -- the event level ------------------------------------------------------------------------------


def test_plain_content_chunk_is_one_text_delta() -> None:
    assert feed({"choices": [{"delta": {"content": "Hi"}}]}) == [TextDelta("Hi")]
    assert feed({"choices": [{"delta": {"content": ""}}]}) == []


def test_done_and_keep_alive_events() -> None:
    parser = ChatStreamParser(DEFAULT)
    assert parser.feed_event("message", "[DONE]") == [DoneSignal()]
    assert parser.feed_event("message", " [DONE] ") == [DoneSignal()]
    assert parser.feed_event("message", "") == []


def test_invalid_json_is_a_stream_error_naming_what_arrived() -> None:
    parser = ChatStreamParser(DEFAULT)
    error = failure(parser.feed_event("message", "<html>502 Bad Gateway</html>"))
    assert type(error) is errors.StreamError
    assert "not valid JSON" in str(error) and "<html>502 Bad Gateway</html>" in str(error)
    long = failure(parser.feed_event("message", "x" * 5000))
    assert "(5000 chars)" in str(long) and len(str(long)) < 500
    not_object = failure(parser.feed_event("message", "[1, 2]"))
    assert "not a JSON object" in str(not_object)


def test_error_event_frames() -> None:
    parser = ChatStreamParser(DEFAULT)
    frame = {"error": {"message": "Overloaded", "type": "overloaded_error"}}
    assert type(failure(parser.feed_event("error", json.dumps(frame)))) is errors.Provider5xx
    text = failure(parser.feed_event("error", "upstream went away"))
    assert type(text) is errors.StreamError and "upstream went away" in str(text)


def test_error_chunks_are_classified() -> None:
    quota = {"error": {"message": "You exceeded your current quota", "code": "insufficient_quota"}}
    assert type(failure(feed(quota))) is errors.QuotaExceeded
    rate = {"error": {"message": "slow down", "code": 429}}
    assert type(failure(feed(rate))) is errors.RateLimited
    unknown = {"error": "something odd"}
    assert type(failure(feed(unknown))) is errors.StreamError


# -- choices, text, reasoning -------------------------------------------------------------------


def test_only_choice_zero_is_followed() -> None:
    two = {
        "choices": [
            {"index": 1, "delta": {"content": "other"}, "finish_reason": "length"},
            {"index": 0, "delta": {"content": "mine"}},
        ]
    }
    assert feed(two) == [TextDelta("mine")]
    assert feed({"choices": [{"index": 1, "delta": {"content": "other"}}]}) == []


def test_the_first_configured_reasoning_field_wins() -> None:
    # vLLM sends the same text as reasoning_content and reasoning: report it once.
    both = bare_chunk({"reasoning_content": "think", "reasoning": "think", "content": "ok"})
    assert feed(both) == [ReasoningDelta("think"), TextDelta("ok")]
    only_reasoning = ChatStreamParser(DEFAULT.with_(reasoning_fields=("reasoning",)))
    deltas = only_reasoning.feed_chunk(bare_chunk({"reasoning_content": "a", "reasoning": "b"}))
    assert deltas == [ReasoningDelta("b")]


def test_reasoning_details_text_summary_and_encrypted() -> None:
    details: list[dict[str, Any]] = [
        {"type": "reasoning.summary", "summary": "Plan: add.", "id": "rs_1"},
        {"type": "reasoning.text", "text": "2+2", "signature": None},
        {
            "type": "reasoning.encrypted",
            "data": "ZW5j",
            "id": "rs_2",
            "format": "openai-responses-v1",
        },
        {"type": "reasoning.unknown", "text": "ignored"},
    ]
    deltas = feed(bare_chunk({"reasoning": "Plan: add.", "reasoning_details": details}))
    assert deltas == [
        ReasoningDelta("Plan: add.", "summary"),
        ReasoningDelta("2+2"),
        ReasoningItem(id="rs_2", encrypted_content="ZW5j", raw=details[2]),
    ]


def test_mistral_content_parts() -> None:
    parts = [
        {"type": "thinking", "thinking": "plain string thought"},
        {
            "type": "thinking",
            "thinking": [{"type": "text", "text": "a"}, {"type": "text", "text": ""}],
        },
        {"type": "text", "text": "answer"},
        {"type": "reference", "reference_ids": [1]},
        "bare",
    ]
    assert feed(bare_chunk({"content": parts})) == [
        ReasoningDelta("plain string thought"),
        ReasoningDelta("a"),
        TextDelta("answer"),
        TextDelta("bare"),
    ]


# -- tool calls -----------------------------------------------------------------------------------


def test_interleaved_parallel_calls_follow_the_server_index() -> None:
    def call(index: int, **fields: Any) -> dict[str, Any]:
        return bare_chunk({"tool_calls": [{"index": index, **fields}]})

    deltas = feed(
        call(0, id="a", type="function", function={"name": "f", "arguments": ""}),
        call(1, id="b", type="function", function={"name": "g", "arguments": '{"y"'}),
        call(0, function={"arguments": '{"x": 1'}),
        call(1, function={"arguments": ": 2}"}),
        call(0, function={"arguments": "}"}),
        bare_chunk(finish="tool_calls"),
    )
    assembler = Assembler()
    events = [*assembler.feed(deltas), *assembler.close()]
    done = [(e.id, e.name, e.arguments) for e in events if isinstance(e, ToolCall)]
    assert done == [("a", "f", {"x": 1}), ("b", "g", {"y": 2})]


def test_tool_call_fragment_fields() -> None:
    deltas = feed(
        bare_chunk(
            {
                "tool_calls": [
                    {
                        "index": 0,
                        "id": "",
                        "type": "function",
                        "function": {"name": "", "arguments": {"city": "Oslo"}},
                        "extra_content": {"google": {"thought_signature": "c2ln"}},
                    }
                ]
            }
        )
    )
    assert deltas == [
        ToolCallFragment(
            id=None,
            index=0,
            name=None,
            arguments='{"city": "Oslo"}',  # an object, not text: serialized
            extra={"extra_content": {"google": {"thought_signature": "c2ln"}}},
        )
    ]
    (missing,) = feed(bare_chunk({"tool_calls": [{"id": "x", "function": {"name": "f"}}]}))
    assert missing == ToolCallFragment(id="x", index=None, name="f", arguments=None)


def test_whole_message_calls_are_keyed_by_position() -> None:
    body = {
        "choices": [
            {
                "message": {
                    "content": None,
                    "tool_calls": [
                        {"id": "", "function": {"name": "f", "arguments": "{}"}},
                        {"id": "", "function": {"name": "g", "arguments": "{}"}},
                    ],
                },
                "finish_reason": "tool_calls",
            }
        ]
    }
    summary = summarize(replay_body(body))
    assert [(c.index, c.id, c.name) for c in summary.tool_calls] == [
        (0, "call_0", "f"),
        (1, "call_1", "g"),
    ]


# -- usage, meta, finish ---------------------------------------------------------------------------


def test_usage_normalization() -> None:
    deepseek = {"prompt_tokens": 10, "completion_tokens": 2, "prompt_cache_hit_tokens": 8}
    assert parse_usage(deepseek) == Usage(10, 2, None, 8, None, raw=deepseek)
    zero_cached = {"prompt_tokens_details": {"cached_tokens": 0}, "prompt_cache_hit_tokens": 4}
    assert parse_usage(zero_cached).cached_input_tokens == 4
    aliases = {
        "input_tokens": 3,
        "output_tokens": 4,
        "total_tokens": 7,
        "output_tokens_details": {"reasoning_tokens": 1},
    }
    assert parse_usage(aliases) == Usage(3, 4, 7, None, 1, raw=aliases)
    junk = {"prompt_tokens": True, "completion_tokens": "5", "prompt_tokens_details": None}
    assert parse_usage(junk) == Usage(raw=junk)


def test_usage_null_ignored_nested_usage_used_and_repeats_skipped() -> None:
    usage = {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}
    deltas = feed(
        bare_chunk({"content": "a"}, usage=None),
        {"choices": [], "x_groq": {"id": "req_1", "usage": usage}},
        {"choices": [], "usage": usage},
    )
    assert deltas == [TextDelta("a"), parse_usage(usage)]


def test_meta_is_reported_when_it_changes() -> None:
    parser = ChatStreamParser(DEFAULT)
    first = parser.feed_chunk({"id": "", "model": "", "prompt_filter_results": [1], "choices": []})
    assert first == [ResponseMeta(None, None, {"prompt_filter_results": [1]})]
    second = parser.feed_chunk(bare_chunk({"content": "x"}, id="c1", model="m"))
    assert second == [ResponseMeta("c1", "m", {"prompt_filter_results": [1]}), TextDelta("x")]
    assert parser.feed_chunk(bare_chunk({"content": "y"}, id="c1", model="m")) == [TextDelta("y")]
    extra = parser.feed_chunk({"search_results": [{"url": "u"}], "choices": []})
    assert extra == [
        ResponseMeta("c1", "m", {"prompt_filter_results": [1], "search_results": [{"url": "u"}]})
    ]


def test_finish_and_error_order_within_one_chunk() -> None:
    both = bare_chunk(
        {"content": "x"},
        "length",
        usage={"prompt_tokens": 1},
        error={"message": "cut", "code": 400},
    )
    deltas = feed(both)
    assert [type(d) for d in deltas] == [TextDelta, Usage, FinishSignal, StreamFailure]


def test_malformed_chunks_are_ignored_not_raised() -> None:
    odd: list[dict[str, Any]] = [
        {"choices": {"0": 1}},
        {"choices": ["x"]},
        {"choices": [{"delta": "text"}]},
        {"choices": [{"delta": None}]},
    ]
    assert feed(*odd) == []


def test_feed_chunk_accepts_any_mapping() -> None:
    parser = ChatStreamParser(DEFAULT)
    frozen = MappingProxyType({"choices": [MappingProxyType({"delta": {"content": "hi"}})]})
    assert parser.feed_chunk(frozen) == [TextDelta("hi")]


# -- non-streamed bodies -------------------------------------------------------------------------


def test_body_without_finish_reason_ends_with_done() -> None:
    deltas = parse_body({"id": "x", "choices": [{"message": {"content": "hi"}}]}, DEFAULT)
    assert deltas == [ResponseMeta("x", None, {}), TextDelta("hi"), DoneSignal()]
    finish = summarize(replay_body({"choices": [{"message": {"content": "hi"}}]})).finish
    assert finish is not None and (finish.reason, finish.raw_reason, finish.inferred) == (
        "stop",
        None,
        True,
    )


def test_error_body() -> None:
    error = failure(
        parse_body({"error": {"message": "nope", "type": "invalid_request_error"}}, DEFAULT)
    )
    assert type(error) is errors.BadRequest and "nope" in str(error)
