"""Synthetic Responses streams: what no recorded transcript covers.

The recordings show what real servers sent; these hand-built streams pin down the rest of the
parser's contract: `response.incomplete` reasons, flat and nested error events,
`response.failed` without an error event, summary-part separators, rotating item ids on a
function call, `.done` events with or without deltas, a stream cut short or malformed, and the
`event:` line as a fallback type.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from llm_openai_compat.config.profiles import DEFAULT
from llm_openai_compat.errors import (
    BadRequest,
    NotFound,
    OpenAICompatError,
    Provider5xx,
    QuotaExceeded,
    RateLimited,
    StreamError,
    Unauthorized,
)
from llm_openai_compat.events import Finish, ReasoningDelta, RefusalDelta, StreamFailure, TextDelta
from llm_openai_compat.wire.assemble import ToolCallFragment
from llm_openai_compat.wire.responses import ResponsesStreamParser
from tests.support.wire_bytes import sse
from tests.wire.responses_replay import normalize, replay

CREATED = {
    "type": "response.created",
    "response": {"id": "resp_x", "model": "m", "status": "in_progress"},
}


def completed(**response: Any) -> dict[str, Any]:
    return {
        "type": "response.completed",
        "response": {"id": "resp_x", "status": "completed", **response},
    }


def test_incomplete_max_output_tokens_is_length() -> None:
    events = replay(
        [
            sse(
                CREATED,
                {
                    "type": "response.output_text.delta",
                    "output_index": 0,
                    "content_index": 0,
                    "delta": "Hel",
                },
                {
                    "type": "response.incomplete",
                    "response": {
                        "id": "resp_x",
                        "status": "incomplete",
                        "incomplete_details": {"reason": "max_output_tokens"},
                        "usage": {"input_tokens": 5, "output_tokens": 16, "total_tokens": 21},
                    },
                },
                done=False,
            )
        ]
    )
    finish = events[-1]
    assert isinstance(finish, Finish)
    assert finish.reason == "length" and finish.raw_reason == "max_output_tokens"
    assert normalize(events).usage == (5, 16, 21, None, None)


def test_incomplete_content_filter() -> None:
    events = replay(
        [
            sse(
                CREATED,
                {
                    "type": "response.incomplete",
                    "response": {
                        "status": "incomplete",
                        "incomplete_details": {"reason": "content_filter"},
                    },
                },
                done=False,
            )
        ]
    )
    assert normalize(events).finish == "content_filter"


@pytest.mark.parametrize(
    ("error", "cls"),
    [
        ({"code": "insufficient_quota", "message": "quota"}, QuotaExceeded),
        ({"code": "rate_limit_exceeded", "message": "slow down"}, RateLimited),
        ({"code": "invalid_api_key", "message": "bad key"}, Unauthorized),
        ({"code": "model_not_found", "message": "no model"}, NotFound),
        ({"code": "400", "message": "bad input", "param": "input"}, BadRequest),
        ({"code": "server_error", "message": "boom"}, Provider5xx),
        ({"message": "mystery"}, StreamError),
    ],
)
def test_error_events_flat_and_nested(error: dict[str, Any], cls: type[OpenAICompatError]) -> None:
    flat = replay([sse(CREATED, {"type": "error", **error, "sequence_number": 2}, done=False)])
    nested = replay([sse(CREATED, {"type": "error", "error": {"type": "x_error", **error}}, done=False)])
    for events in (flat, nested):
        result = normalize(events)
        assert result.failure is cls, events


def test_response_failed_without_an_error_event() -> None:
    events = replay(
        [
            sse(
                CREATED,
                {
                    "type": "response.failed",
                    "response": {
                        "status": "failed",
                        "error": {"code": "server_error", "message": "The model crashed"},
                    },
                },
                done=False,
            )
        ]
    )
    (failure,) = [e for e in events if isinstance(e, StreamFailure)]
    assert "The model crashed" in str(failure.error)
    assert not any(isinstance(e, Finish) for e in events)


def test_summary_parts_are_separated_by_a_blank_line() -> None:
    def summary(summary_index: int, delta: str, output_index: int = 0) -> dict[str, Any]:
        return {
            "type": "response.reasoning_summary_text.delta",
            "output_index": output_index,
            "summary_index": summary_index,
            "delta": delta,
        }

    events = replay(
        [
            sse(
                CREATED,
                summary(0, "One"),
                summary(0, " more."),
                summary(1, "Two."),
                summary(0, "Three.", 2),
                completed(),
                done=False,
            )
        ]
    )
    deltas = [e for e in events if isinstance(e, ReasoningDelta)]
    assert all(d.kind == "summary" for d in deltas)
    assert "".join(d.text for d in deltas) == "One more.\n\nTwo.\n\nThree."


def test_rotating_ids_on_a_function_call_keep_one_call() -> None:
    events = replay(
        [
            sse(
                CREATED,
                {
                    "type": "response.output_item.added",
                    "output_index": 0,
                    "item": {
                        "type": "function_call",
                        "id": "rot-1",
                        "call_id": "call_a",
                        "name": "f",
                        "arguments": "",
                    },
                },
                {
                    "type": "response.function_call_arguments.delta",
                    "output_index": 0,
                    "item_id": "rot-2",
                    "delta": '{"x":',
                },
                {
                    "type": "response.function_call_arguments.delta",
                    "output_index": 0,
                    "item_id": "rot-3",
                    "delta": "1}",
                },
                {
                    "type": "response.output_item.done",
                    "output_index": 0,
                    "item": {
                        "type": "function_call",
                        "id": "rot-4",
                        "call_id": "call_rotated",
                        "name": "f",
                        "arguments": '{"x":1}',
                    },
                },
                completed(),
                done=False,
            )
        ]
    )
    result = normalize(events)
    assert result.calls == ((0, "call_a", "f", {"x": 1}),)
    assert result.finish == "tool_calls"


def test_done_arguments_win_over_deltas() -> None:
    events = replay(
        [
            sse(
                CREATED,
                {
                    "type": "response.output_item.added",
                    "output_index": 3,
                    "item": {
                        "type": "function_call",
                        "call_id": "c1",
                        "name": "f",
                        "arguments": "",
                    },
                },
                {
                    "type": "response.function_call_arguments.delta",
                    "output_index": 3,
                    "delta": '{"x":"garbl',
                },
                {
                    "type": "response.function_call_arguments.done",
                    "output_index": 3,
                    "arguments": '{"x":"ok"}',
                },
                completed(),
                done=False,
            )
        ]
    )
    assert normalize(events).calls == ((0, "c1", "f", {"x": "ok"}),)


def test_text_done_without_deltas_and_done_sentinel() -> None:
    events = replay(
        [
            sse(
                CREATED,
                {
                    "type": "response.output_text.done",
                    "output_index": 0,
                    "content_index": 0,
                    "text": "whole",
                },
                {
                    "type": "response.reasoning_text.done",
                    "output_index": 1,
                    "content_index": 0,
                    "text": "why",
                },
                {"type": "response.some_future_event", "output_index": 0},
                completed(),
                "[DONE]",
                done=False,
            )
        ]
    )
    result = normalize(events)
    assert (result.text, result.raw_reasoning, result.finish) == ("whole", "why", "stop")


def test_completed_alone_carries_the_output() -> None:
    output = [
        {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "only at the end"}],
        },
        {"type": "function_call", "call_id": "c9", "name": "g", "arguments": "{}"},
    ]
    result = normalize(replay([sse(completed(output=output), done=False)]))
    assert result.text == "only at the end"
    assert result.calls == ((0, "c9", "g", {}),)
    assert result.finish == "tool_calls"


def test_done_events_never_repeat_streamed_text_even_with_missing_indices() -> None:
    events = replay(
        [
            sse(
                CREATED,
                {"type": "response.output_text.delta", "delta": "Hel"},
                {"type": "response.output_text.delta", "delta": "lo"},
                {
                    "type": "response.output_text.done",
                    "output_index": 1,
                    "content_index": 0,
                    "text": "Hello",
                },
                {
                    "type": "response.output_item.done",
                    "output_index": 1,
                    "item": {
                        "type": "message",
                        "content": [{"type": "output_text", "text": "Hello"}],
                    },
                },
                completed(
                    output=[
                        {"type": "message", "content": [{"type": "output_text", "text": "Hello"}]}
                    ]
                ),
                done=False,
            )
        ]
    )
    assert normalize(events).text == "Hello"


def test_no_delta_stream_fills_each_part_once() -> None:
    content = [{"type": "output_text", "text": "A"}, {"type": "output_text", "text": "B"}]
    events = replay(
        [
            sse(
                CREATED,
                {
                    "type": "response.output_text.done",
                    "output_index": 0,
                    "content_index": 0,
                    "text": "A",
                },
                {
                    "type": "response.output_item.done",
                    "output_index": 0,
                    "item": {"type": "message", "content": content},
                },
                completed(output=[{"type": "message", "content": content}]),
                done=False,
            )
        ]
    )
    assert normalize(events).text == "AB"


def test_done_without_completed_still_finishes() -> None:
    result = normalize(
        replay([sse(CREATED, {"type": "response.output_text.delta", "delta": "hi"})])
    )
    assert result.text == "hi" and result.finish == "stop"


def test_stream_cut_short_is_a_stream_error() -> None:
    result = normalize(
        replay([sse(CREATED, {"type": "response.output_text.delta", "delta": "hi"}, done=False)])
    )
    assert result.failure is StreamError


def test_malformed_event_is_a_stream_error() -> None:
    result = normalize(replay([b"data: {not json\n\n"]))
    assert result.failure is StreamError


def test_event_line_is_only_a_fallback_for_the_type() -> None:
    parser = ResponsesStreamParser(DEFAULT)
    deltas = parser.feed_event("response.output_text.delta", json.dumps({"delta": "x"}))
    assert deltas == [TextDelta("x")]
    deltas = parser.feed_event(
        "response.output_text.delta", json.dumps({"type": "response.refusal.delta", "delta": "no"})
    )
    assert deltas == [RefusalDelta("no")]  # a refusal is never plain text (issue 17)


def test_added_fragment_shape() -> None:
    parser = ResponsesStreamParser(DEFAULT)
    deltas = parser.parse_event(
        {
            "type": "response.output_item.added",
            "output_index": 2,
            "item": {
                "type": "function_call",
                "id": "fc_1",
                "call_id": "call_1",
                "name": "f",
                "arguments": "",
            },
        }
    )
    assert deltas == [ToolCallFragment(id="call_1", index=2, name="f")]
