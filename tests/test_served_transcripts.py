"""Every recorded stream, served by a real local HTTP server on 127.0.0.1 with CRLF line ends
and cut at random byte boundaries, gives the client exactly the events that replaying the
recording through the parser gives: the network path adds and loses nothing."""

from __future__ import annotations

import pytest

from llm_openai_compat import (
    AsyncClient,
    Client,
    Conversation,
    Message,
    RequestOptions,
    RetryPolicy,
)
from llm_openai_compat.errors import OpenAICompatError
from llm_openai_compat.events import StreamFailure
from tests.wire import replay as chat_replay
from tests.wire.responses_replay import replay as responses_replay
from tests.wire.responses_replay import stream_payloads

HI = Conversation((Message.text("user", "hi"),))
NO_RETRY = RetryPolicy(max_attempts=1)

CHAT = [(name, chat_replay.sse_bytes(name)) for name in chat_replay.chat_transcripts("sse", "jsonl")]
RESPONSES = [
    (f"{name}#{i}", payload.encode())
    for name in sorted(p.name for p in chat_replay.TRANSCRIPTS.glob("*__responses__stream_*.txt"))
    for i, payload in enumerate(stream_payloads(name))
]


def _expected(events):
    """Direct replay: the events before any failure, and the failure's class and message."""
    failure = next((e.error for e in events if isinstance(e, StreamFailure)), None)
    kept = [e for e in events if not isinstance(e, StreamFailure)]
    return kept, failure


def _serve(fault_server, data: bytes, seed: int) -> None:
    fault_server.enqueue(
        {
            "status": 200,
            "headers": {"content-type": "text/event-stream"},
            "body_b64": __import__("base64").b64encode(data.replace(b"\n", b"\r\n")).decode(),
            "random_chunks": seed,
        }
    )


def _compare(got, raised, expected_events, expected_error):
    assert got == expected_events
    if expected_error is None:
        assert raised is None
    else:
        assert type(raised) is type(expected_error)
        assert raised.server_message == expected_error.server_message


@pytest.mark.parametrize(("name", "data"), CHAT, ids=[n for n, _ in CHAT])
@pytest.mark.parametrize("seed", [1, 2])
def test_chat_stream_served_over_http(fault_server, name, data, seed):
    expected_events, expected_error = _expected(chat_replay.replay_sse([data]))
    _serve(fault_server, data, seed)
    client = Client.inline(fault_server.base_url + "/v1", provider_id="served", policy=NO_RETRY)
    got, raised = [], None
    try:
        for event in client.stream(HI, RequestOptions(model="m")):
            got.append(event)
    except OpenAICompatError as error:
        raised = error
    _compare(got, raised, expected_events, expected_error)


@pytest.mark.parametrize(("name", "data"), RESPONSES, ids=[n for n, _ in RESPONSES])
async def test_responses_stream_served_over_http_async(fault_server, name, data):
    expected_events, expected_error = _expected(responses_replay([data]))
    _serve(fault_server, data, 3)
    client = AsyncClient.inline(
        fault_server.base_url + "/v1", provider_id="served-r", api_shape="responses", policy=NO_RETRY
    )
    got, raised = [], None
    try:
        async for event in client.stream(HI, RequestOptions(model="m")):
            got.append(event)
    except OpenAICompatError as error:
        raised = error
    _compare(got, raised, expected_events, expected_error)
    assert fault_server.requests()[-1]["path"] == "/v1/responses"
