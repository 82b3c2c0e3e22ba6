"""A response's StreamState made while the server works (`StreamState.early`, `EarlyState`):
the same as one made once the answer arrived, its idle clock started at the answer."""

from __future__ import annotations

import json

from llm_openai_compat import Conversation, Message, RequestOptions
from llm_openai_compat.call import EarlyState, StreamState, Target, prepare
from llm_openai_compat.config.settings import ProviderSettings

TARGET = Target("early", ProviderSettings(base_url="http://127.0.0.1:9/v1", timeout_ms=1000))
HI = Conversation((Message.text("user", "hi"),))
CHUNK = {"id": "c1", "model": "m1", "choices": [{"index": 0, "delta": {"content": "hi"}}]}


def _prepared(stream: bool = True):  # type: ignore[no-untyped-def]
    return prepare(TARGET, HI, RequestOptions(model="m1", stream=stream))


def test_an_early_state_is_the_answers_with_its_idle_clock_started_at_the_answer() -> None:
    now = [0.0]
    early = StreamState.early(_prepared(), clock=lambda: now[0])
    now[0] = 5.0  # the server took longer than the 1 s read timeout to answer
    state = early.answered("text/event-stream; charset=utf-8")
    assert state is early
    now[0] = 5.5
    assert state.feed(b": keep-alive\n\n") == [] and state.error is None  # 0.5 s idle, not 5.5
    events = state.feed(f"data: {json.dumps(CHUNK)}\n\n".encode())
    assert [e.text for e in events if e.type == "text"] == ["hi"]


def test_a_json_answer_to_a_stream_gets_a_state_of_its_own() -> None:
    early = StreamState.early(_prepared())
    state = early.answered("application/json")
    assert state is not early
    body = {**CHUNK, "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"},
                                  "finish_reason": "stop"}]}
    events = state.feed(json.dumps(body).encode()) + state.close()
    assert [e.text for e in events if e.type == "text"] == ["hi"] and state.error is None


def test_early_state_made_when_called_and_used_once() -> None:
    prepared = _prepared()
    early = EarlyState(prepared)
    made_late = early.answered("text/event-stream")  # not called: made at the answer
    early()
    made = early._state
    first = early.answered("text/event-stream")
    assert first is made is not None  # the one made while the server worked
    again = early.answered("text/event-stream")  # another attempt: a state of its own
    assert len({id(made_late), id(first), id(again)}) == 3
    for state in (made_late, first, again):
        events = state.feed(f"data: {json.dumps(CHUNK)}\n\n".encode())
        assert [e.text for e in events if e.type == "text"] == ["hi"]
