"""`complete()` without streaming: its own path (no generator between read and parse), so it
must keep everything `stream()` does — learned adaptations, errors inside a 200 body, a server
that streams anyway, the exchange report — for the sync and the async client alike."""

from __future__ import annotations

import json
import random

import pytest

from llm_openai_compat import (
    AsyncClient,
    BadRequest,
    Client,
    Conversation,
    Message,
    OpenAICompatError,
    RequestOptions,
    Result,
    RetryPolicy,
    StreamError,
)
from llm_openai_compat.http.retry import CircuitBreaker


async def _no_sleep(seconds: float) -> None:
    return None


POLICY = RetryPolicy(sleep=lambda s: None, asleep=_no_sleep, jitter=0.0)
HI = Conversation((Message.text("user", "hi"),), system="Be brief.", id="conv-1")
JSON = {"content-type": "application/json"}


def _body(text: str) -> str:
    return json.dumps(
        {
            "id": "chatcmpl-9",
            "object": "chat.completion",
            "model": "m1",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                         "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
        }
    )


@pytest.fixture(params=["sync", "async"])
def complete(request, fault_server):
    """`complete(options, **provider fields)` through the sync or the async client."""
    kind = request.param

    async def run(options: RequestOptions, **fields: object) -> Result:
        cls = Client if kind == "sync" else AsyncClient
        client = cls.inline(
            fault_server.base_url + "/v1", provider_id=f"p{random.random()}", policy=POLICY,
            breaker=CircuitBreaker("test"), **fields,
        )
        if kind == "sync":
            return client.complete(HI, options)
        return await client.complete(HI, options)

    yield run


async def test_plain_body_sent_unstreamed(complete, fault_server):
    fault_server.enqueue({"status": 200, "headers": JSON, "body": _body("plain")})
    result = await complete(RequestOptions(model="m1", stream=False))
    assert result.text == "plain" and result.finish_reason == "stop"
    assert (result.usage.input_tokens, result.usage.output_tokens) == (3, 2)
    assert result.meta.id == "chatcmpl-9"
    (request,) = fault_server.requests()
    body = json.loads(request["body"])
    assert "stream" not in body or body["stream"] is False
    assert request["headers"]["accept"] == "application/json"


async def test_developer_role_rejected_is_learned_unstreamed(complete, fault_server):
    rejection = {"error": {"message": "'messages[0].role' does not support 'developer'",
                           "param": "messages[0].role", "code": "unsupported_value"}}
    fault_server.enqueue(
        {"status": 400, "headers": JSON, "body": json.dumps(rejection)},
        {"status": 200, "headers": JSON, "body": _body("ok")},
    )
    options = RequestOptions(model="o1", stream=False, system_message_mode="developer")
    result = await complete(options, system_message_mode=None, profile="openai")
    assert result.text == "ok"
    roles = [json.loads(r["body"])["messages"][0]["role"] for r in fault_server.requests()]
    assert roles == ["developer", "system"]


async def test_error_inside_a_200_body_is_raised_with_where(complete, fault_server):
    error = {"error": {"message": "Upstream model crashed", "type": "server_error"}}
    fault_server.enqueue({"status": 200, "headers": JSON, "body": json.dumps(error)})
    with pytest.raises(OpenAICompatError) as info:
        await complete(RequestOptions(model="m1", stream=False), max_retries=0)
    message = str(info.value)
    assert "Upstream model crashed" in message and "\n" not in message
    assert f"127.0.0.1:{fault_server.port}" in message


async def test_server_that_streams_anyway_is_decoded(complete, fault_server):
    streamed = (
        'data: {"choices":[{"index":0,"delta":{"content":"stre"}}]}\n\n'
        'data: {"choices":[{"index":0,"delta":{"content":"amed"},"finish_reason":"stop"}]}\n\n'
        "data: [DONE]\n\n"
    )
    fault_server.enqueue(
        {"status": 200, "headers": {"content-type": "text/event-stream"}, "body": streamed}
    )
    result = await complete(RequestOptions(model="m1", stream=False))
    assert result.text == "streamed" and result.finish_reason == "stop"


async def test_error_event_in_an_unasked_stream_is_raised(complete, fault_server):
    streamed = (
        'data: {"choices":[{"index":0,"delta":{"content":"par"}}]}\n\n'
        'data: {"error":{"message":"rate limited mid-way","code":"rate_limit_exceeded"}}\n\n'
    )
    fault_server.enqueue(
        {"status": 200, "headers": {"content-type": "text/event-stream"}, "body": streamed}
    )
    with pytest.raises(OpenAICompatError, match="rate limited mid-way"):
        await complete(RequestOptions(model="m1", stream=False), max_retries=0)


async def test_body_that_is_not_json_is_one_line(complete, fault_server):
    fault_server.enqueue({"status": 200, "headers": JSON, "body": "<html>gateway</html>"})
    with pytest.raises(StreamError, match="not valid JSON") as info:
        await complete(RequestOptions(model="m1", stream=False))
    assert "\n" not in str(info.value)


async def test_bad_request_unstreamed_is_raised_once(complete, fault_server):
    fault_server.enqueue(
        {"status": 400, "headers": JSON,
         "body": json.dumps({"error": {"message": "temperature is out of range",
                                       "param": "temperature"}})}
    )
    with pytest.raises(BadRequest, match="temperature is out of range"):
        await complete(RequestOptions(model="m1", stream=False))
    assert len(fault_server.requests()) == 1


async def test_request_log_records_the_unstreamed_exchange(complete, fault_server, tmp_path, monkeypatch):
    log = tmp_path / "requests.jsonl"
    monkeypatch.setenv("OPENAI_COMPAT_REQUEST_LOG", str(log))
    canary = "sk-canary" + "Q" * 30
    fault_server.enqueue({"status": 200, "headers": JSON, "body": _body("logged")})
    result = await complete(RequestOptions(model="m1", stream=False), headers={"X-Api-Key": canary})
    assert result.text == "logged"
    (line,) = log.read_text().splitlines()
    record = json.loads(line)
    assert record["status"] == 200 and record["streamed"] is False
    assert record["finish_reason"] == "stop" and record["usage"]["input"] == 3
    assert record["outcome"] == "ok"
    assert canary not in line
