"""A stream that stalls before its first byte (headers, then nothing for `timeoutMs`) is a
`NetworkTimeout`, retried under the normal policy; after bytes reached the caller it stays a
`StreamError`, never retried. Against real local servers."""

from __future__ import annotations

import uuid

import pytest

from llm_openai_compat import (
    AsyncClient,
    Client,
    Conversation,
    Message,
    NetworkTimeout,
    RequestOptions,
    RetryPolicy,
    StreamError,
)
from llm_openai_compat.http.retry import CircuitBreaker
from tests.support.wire_bytes import chunk, sse

pytestmark = pytest.mark.timeout(60)

HI = Conversation((Message.text("user", "hi"),))
FAST = RetryPolicy(jitter=0.0, steps=(0.01,))


def _client(cls, url: str, **fields):
    return cls.inline(
        url,
        provider_id=f"p-{uuid.uuid4().hex[:6]}",
        policy=FAST,
        breaker=CircuitBreaker("t"),
        timeout_ms=400,
        **fields,
    )


def _stalled(server, token: str) -> list[dict]:
    return [r for r in server.requests() if f"t={token}" in r["path"]]


def test_a_stall_before_the_first_byte_is_retried(model_server):
    token = uuid.uuid4().hex[:8]
    url = model_server.url("stall-first=1", "stall=2000", f"t={token}")
    result = _client(Client, url).complete(HI, RequestOptions(model="m"))
    assert result.text == "Hello! You said: hi."
    assert len(_stalled(model_server, token)) == 2


async def test_a_stall_before_the_first_byte_is_retried_async(model_server):
    token = uuid.uuid4().hex[:8]
    url = model_server.url("stall-first=1", "stall=2000", f"t={token}")
    result = await _client(AsyncClient, url).complete(HI, RequestOptions(model="m"))
    assert result.text == "Hello! You said: hi."
    assert len(_stalled(model_server, token)) == 2


def test_a_server_that_always_stalls_is_an_honest_network_timeout(model_server):
    token = uuid.uuid4().hex[:8]
    url = model_server.url("stall-first=9", "stall=2000", f"t={token}")
    with pytest.raises(NetworkTimeout) as caught:
        list(_client(Client, url).stream(HI, RequestOptions(model="m")))
    message = str(caught.value)
    assert "sent its headers, then no byte for 0.4 s (timeoutMs)" in message
    assert "incomplete" not in message and "output above" not in message
    # Timeouts are retried once at most (RetryPolicy.max_timeout_retries).
    assert caught.value.attempts == 2 and len(_stalled(model_server, token)) == 2


def test_a_stall_after_bytes_stays_a_stream_error_never_retried(fault_server):
    fault_server.enqueue(
        {
            "status": 200,
            "headers": {"content-type": "text/event-stream"},
            "chunked": True,
            "body": sse(chunk(content="Hello"), chunk(content=" world")),
            "stall_after_bytes": 60,
            "stall_seconds": 3,
        }
    )
    client = _client(Client, fault_server.base_url + "/v1")
    seen = []
    with pytest.raises(StreamError) as caught:
        for event in client.stream(HI, RequestOptions(model="m")):
            seen.append(event)
    assert "stalled" in str(caught.value) and "(timeoutMs)" in str(caught.value)
    assert "incomplete" in str(caught.value)
    assert len(fault_server.requests()) == 1


def test_the_primed_stream_keeps_the_response_whole(fault_server):
    """Reading the first bytes inside the retry loop loses none of them and keeps httpx2's
    bookkeeping (elapsed, close) working: the whole body arrives, in order."""
    from llm_openai_compat.http import transport
    from llm_openai_compat.runtime import Runtime

    body = sse(*(chunk(content=f"w{i} ") for i in range(50)))
    fault_server.enqueue(
        {
            "status": 200,
            "headers": {"content-type": "text/event-stream"},
            "body": body,
            "chunked": True,
            "chunk_size": 7,
        }
    )
    runtime = Runtime()
    try:
        endpoint = transport.Endpoint(provider="p", url=fault_server.url(), timeout_ms=2000)
        with transport.send_stream(endpoint, b"{}", pools=runtime.pools, policy=FAST) as response:
            got = b"".join(transport.iter_body(response, endpoint))
        assert got == body.encode()
        assert response.elapsed.total_seconds() >= 0
    finally:
        runtime.close()
