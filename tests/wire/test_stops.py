"""Stop sequences the client applies itself, for wire shapes without a `stop` field
(Responses): unit tests of stops.py, and the core client against a real local server."""

from __future__ import annotations

import json
import random

import pytest

from llm_openai_compat import Client, Conversation, Message, RequestOptions, RetryPolicy
from llm_openai_compat.events import Finish, TextDelta, ToolCall, Usage
from llm_openai_compat.http.retry import CircuitBreaker
from llm_openai_compat.wire.stops import StopEmulation, StopFilter, emulated_stops


def _feed(stops: list[str], pieces: list[str]) -> tuple[str, StopFilter]:
    f = StopFilter(stops)
    out = "".join(f.feed(p) for p in pieces)
    return out + f.flush(), f


@pytest.mark.parametrize(
    ("pieces", "expected", "hit"),
    [
        (["Hello END there"], "Hello ", True),
        (["Hello E", "N", "D there"], "Hello ", True),  # split over three pieces
        (["Hello E", "NOUGH"], "Hello ENOUGH", False),  # a false start is released
        (["abc", "STO", "P", "more"], "abc", True),  # the second stop sequence
        (["no stop at all"], "no stop at all", False),
        (["ends with E"], "ends with E", False),  # held back, then flushed at the end
    ],
)
def test_filter_across_piece_boundaries(pieces, expected, hit):
    out, f = _feed(["END", "STOP"], pieces)
    assert out == expected and f.hit is hit


def test_filter_takes_the_earliest_match_and_drops_everything_after():
    out, f = _feed(["b", "a"], ["xxab", "a", "b"])
    assert out == "xx" and f.hit


def test_emulation_releases_held_text_before_closing_events_and_says_stop():
    emulation = StopEmulation(["</answer>"])
    usage = Usage(input_tokens=3, output_tokens=9)
    call = ToolCall(index=0, id="c1", name="f", arguments_raw="{}", arguments={})
    first = emulation.apply([TextDelta("The answer is 4</ans")])
    assert first == [TextDelta("The answer is 4")]  # "</ans" held: it may start the stop
    rest = emulation.apply([TextDelta("wer> and more"), call, usage, Finish("length", "length")])
    assert rest == [call, usage, Finish("stop", "length")]

    released = StopEmulation(["STOP"]).apply([TextDelta("tail ST"), usage, Finish("stop", "completed")])
    assert released == [TextDelta("tail "), TextDelta("ST"), usage, Finish("stop", "completed")]


def test_only_shapes_without_a_stop_field_emulate():
    assert emulated_stops({"stop": ["a", "", 3]}, has_stop_field=False) == ("a",)
    assert emulated_stops({"stop": "END"}, has_stop_field=False) == ("END",)
    assert emulated_stops({"stop": ["a"]}, has_stop_field=True) == ()
    assert emulated_stops({}, has_stop_field=False) == ()


def _responses_stream(pieces: list[str]) -> str:
    def event(kind: str, **fields: object) -> str:
        return f"event: {kind}\ndata: {json.dumps({'type': kind, **fields})}\n\n"

    text = "".join(pieces)
    out = [event("response.created", response={"id": "resp_1", "model": "m1", "status": "in_progress"})]
    out += [event("response.output_text.delta", item_id="msg_1", output_index=0, content_index=0,
                  delta=p) for p in pieces]
    out.append(event("response.completed", response={
        "id": "resp_1", "model": "m1", "status": "completed",
        "output": [{"type": "message", "id": "msg_1", "role": "assistant",
                    "content": [{"type": "output_text", "text": text}]}],
        "usage": {"input_tokens": 4, "output_tokens": 6, "total_tokens": 10},
    }))
    return "".join(out)


@pytest.mark.parametrize("stream", [True, False])
def test_core_client_applies_stop_on_the_responses_shape(fault_server, stream):
    pieces = ["Count: 1, 2", ", 3, ST", "OP, 4, 5"]
    if stream:
        response = {"status": 200, "headers": {"content-type": "text/event-stream"},
                    "body": _responses_stream(pieces)}
    else:
        body = {"id": "resp_1", "object": "response", "model": "m1", "status": "completed",
                "output": [{"type": "message", "id": "msg_1", "role": "assistant",
                            "content": [{"type": "output_text", "text": "".join(pieces)}]}],
                "usage": {"input_tokens": 4, "output_tokens": 6, "total_tokens": 10}}
        response = {"status": 200, "headers": {"content-type": "application/json"},
                    "body": json.dumps(body)}
    fault_server.enqueue(response)
    client = Client.inline(
        fault_server.base_url + "/v1", provider_id=f"stops{random.random()}", api_shape="responses",
        policy=RetryPolicy(sleep=lambda s: None), breaker=CircuitBreaker("stops"),
    )
    conversation = Conversation((Message.text("user", "count"),))
    result = client.complete(conversation, RequestOptions(model="m1", stream=stream,
                                                          params={"stop": ["STOP"]}))
    assert result.text == "Count: 1, 2, 3, "
    assert result.finish_reason == "stop"
    assert result.usage.output_tokens == 6  # read to the end for its usage
    sent = json.loads(fault_server.requests()[0]["body"])
    assert "stop" not in sent  # the Responses API has no such field


def test_held_text_comes_before_a_tool_call_or_reasoning_that_follows_it():
    from llm_openai_compat.events import ReasoningDelta, ResponseMeta, ToolCallStart

    start = ToolCallStart(index=0, id="c1", name="f")
    meta = ResponseMeta("resp_1", "m1")
    out = StopEmulation(["END"]).apply([TextDelta("ok E"), meta, start, ReasoningDelta("hm")])
    assert out == [TextDelta("ok "), meta, TextDelta("E"), start, ReasoningDelta("hm")]


def test_held_text_is_delivered_when_the_stream_goes_idle():
    from llm_openai_compat.call import StreamState, Target, prepare
    from llm_openai_compat.config.settings import ProviderSettings

    target = Target("idle", ProviderSettings(base_url="http://127.0.0.1:9/v1", api_shape="responses",
                                             timeout_ms=1000))
    prepared = prepare(target, Conversation((Message.text("user", "hi"),)),
                       RequestOptions(model="m1", params={"stop": ["END"]}))
    now = [0.0]
    state = StreamState(prepared, content_type="text/event-stream", clock=lambda: now[0])
    delta = {"type": "response.output_text.delta", "item_id": "msg_1", "output_index": 0,
             "content_index": 0, "delta": "ok E"}
    events = state.feed(f"data: {json.dumps(delta)}\n\n".encode())
    assert [e.text for e in events if e.type == "text"] == ["ok "]
    now[0] = 5.0  # only keep-alives for longer than the 1 s read timeout
    late = state.feed(b": keep-alive\n\n")
    assert late == [TextDelta("E")] and state.error is not None
