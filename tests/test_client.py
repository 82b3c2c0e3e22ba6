"""Client and AsyncClient against a real local HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import random

import pytest

from llm_openai_compat import (
    AsyncClient,
    BadRequest,
    Client,
    ConfigError,
    Conversation,
    Message,
    RequestOptions,
    RetryPolicy,
    StreamError,
    ToolSpec,
)
from llm_openai_compat.http.retry import CircuitBreaker
from tests.support.wire_bytes import chunk, sse

FAST = RetryPolicy(sleep=lambda s: None, jitter=0.0)


async def _no_sleep(seconds: float) -> None:
    return None


AFAST = RetryPolicy(sleep=lambda s: None, asleep=_no_sleep, jitter=0.0)

HI = Conversation((Message.text("user", "hi"),), system="Be brief.", id="conv-1")


def usage_chunk(prompt: int, completion: int, cached: int = 0) -> dict:
    return {
        "id": "chatcmpl-1",
        "model": "m1",
        "choices": [],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": cached},
        },
    }


def client_for(server, **fields) -> Client:
    return Client.inline(
        server.base_url + "/v1", provider_id=f"p{random.random()}", policy=FAST,
        breaker=CircuitBreaker("test"), **fields
    )


def test_stream_text_usage_and_request_body(fault_server):
    fault_server.enqueue(
        {
            "status": 200,
            "headers": {"content-type": "text/event-stream"},
            "body": sse(chunk("Hel"), chunk("lo"), chunk(finish="stop"), usage_chunk(9, 2, 4)),
        }
    )
    client = client_for(fault_server, default_params={"temperature": 0.3})
    events = list(client.stream(HI, RequestOptions(model="m1")))
    kinds = [e.type for e in events]
    assert kinds == ["meta", "text", "text", "usage", "finish"]
    assert "".join(e.text for e in events if e.type == "text") == "Hello"
    usage = events[-2]
    assert (usage.input_tokens, usage.output_tokens, usage.cached_input_tokens) == (9, 2, 4)
    assert events[-1].reason == "stop"

    (request,) = fault_server.requests()
    assert request["path"] == "/v1/chat/completions"
    assert "authorization" not in {k.lower() for k in request["headers"]}
    body = json.loads(request["body"])
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert body["temperature"] == 0.3


def test_complete_non_streamed_matches_streamed(fault_server):
    body = {
        "id": "chatcmpl-2",
        "object": "chat.completion",
        "model": "m1",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "lookup", "arguments": '{"q": "x"}'},
                        }
                    ],
                },
                "finish_reason": "tool_calls",
            }
        ],
        "usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12},
    }
    fault_server.enqueue(
        {"status": 200, "headers": {"content-type": "application/json"}, "body": json.dumps(body)}
    )
    streamed = sse(
        chunk({"tool_calls": [{"index": 0, "id": "call_1", "type": "function",
                               "function": {"name": "lookup", "arguments": '{"q": '}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": '"x"}'}}]}),
        chunk(finish="tool_calls"),
        usage_chunk(5, 7),
    )
    fault_server.enqueue(
        {"status": 200, "headers": {"content-type": "text/event-stream"}, "body": streamed}
    )
    client = client_for(fault_server)
    tools = (ToolSpec("lookup", "Look up", {"type": "object", "properties": {"q": {"type": "string"}}}),)
    plain = client.complete(HI, RequestOptions(model="m1", stream=False, tools=tools))
    live = client.complete(HI, RequestOptions(model="m1", tools=tools))
    for result in (plain, live):
        assert result.text == ""
        assert [(c.id, c.name, dict(c.arguments)) for c in result.tool_calls] == [
            ("call_1", "lookup", {"q": "x"})
        ]
        assert result.finish_reason == "tool_calls"
        assert (result.usage.input_tokens, result.usage.output_tokens) == (5, 7)
    first = json.loads(fault_server.requests()[0]["body"])
    assert "stream" not in first or first["stream"] is False


def test_error_inside_stream_yields_text_then_raises(fault_server):
    body = sse(chunk("partial "), {"error": {"message": "upstream exploded", "code": 502}}, done=False)
    fault_server.enqueue({"status": 200, "headers": {"content-type": "text/event-stream"}, "body": body})
    client = client_for(fault_server)
    seen = []
    with pytest.raises(Exception) as info:
        for event in client.stream(HI, RequestOptions(model="m1")):
            seen.append(event)
    assert "".join(e.text for e in seen if e.type == "text") == "partial "
    assert "upstream exploded" in str(info.value)
    assert fault_server.base_url in str(info.value)
    assert len(fault_server.requests()) == 1  # never retried once bytes were delivered


def test_stream_without_finish_or_done_is_reported(fault_server):
    fault_server.enqueue(
        {"status": 200, "headers": {"content-type": "text/event-stream"},
         "body": sse(chunk("cut"), done=False)}
    )
    client = client_for(fault_server)
    with pytest.raises(StreamError, match="ended before the server said it was finished"):
        list(client.stream(HI, RequestOptions(model="m1")))


def test_developer_role_rejected_is_learned_and_retried_once(fault_server):
    rejection = {
        "error": {
            "code": "unsupported_value",
            "message": "Unsupported value: 'messages[0].role' does not support 'developer' with this model.",
            "param": "messages[0].role",
            "type": "invalid_request_error",
        }
    }
    ok = sse(chunk("ok", finish="stop"))
    fault_server.enqueue(
        {"status": 400, "headers": {"content-type": "application/json"}, "body": json.dumps(rejection)},
        {"status": 200, "headers": {"content-type": "text/event-stream"}, "body": ok},
        {"status": 200, "headers": {"content-type": "text/event-stream"}, "body": ok},
    )
    client = client_for(fault_server, system_message_mode=None, profile="openai")
    options = RequestOptions(model="o1", system_message_mode="developer")
    assert client.complete(HI, options).text == "ok"
    assert client.complete(HI, options).text == "ok"
    # The server said it does not take the developer role: the request is sent again once
    # with `system`, and the provider keeps that for the rest of the process.
    roles = [json.loads(r["body"])["messages"][0]["role"] for r in fault_server.requests()]
    assert roles == ["developer", "system", "system"]


def test_stream_options_rejected_falls_back_and_remembers(fault_server):
    rejection = {"error": {"message": "Unrecognized request argument supplied: stream_options",
                           "type": "invalid_request_error", "param": None, "code": None}}
    ok = sse(chunk("ok", finish="stop"))
    fault_server.enqueue(
        {"status": 400, "headers": {"content-type": "application/json"}, "body": json.dumps(rejection)},
        {"status": 200, "headers": {"content-type": "text/event-stream"}, "body": ok},
        {"status": 200, "headers": {"content-type": "text/event-stream"}, "body": ok},
    )
    client = client_for(fault_server)
    assert client.complete(HI, RequestOptions(model="m1")).text == "ok"
    assert client.complete(HI, RequestOptions(model="m1")).text == "ok"
    bodies = [json.loads(r["body"]) for r in fault_server.requests()]
    assert "stream_options" in bodies[0]
    assert "stream_options" not in bodies[1]
    assert "stream_options" not in bodies[2]  # remembered for the process


def test_bad_request_not_adaptable_is_raised_once(fault_server):
    fault_server.enqueue(
        {"status": 400, "headers": {"content-type": "application/json"},
         "body": json.dumps({"error": {"message": "Web search options not supported with this model.",
                                       "param": "web_search_options", "code": None}})}
    )
    client = client_for(fault_server)
    with pytest.raises(BadRequest) as info:
        client.complete(HI, RequestOptions(model="m1"))
    message = str(info.value)
    assert "\n" not in message
    assert "web_search_options" in message
    assert "/v1/chat/completions" in message
    assert len(fault_server.requests()) == 1


def test_api_key_header_and_no_leak(fault_server):
    canary = "sk-canary-" + "Z" * 40
    fault_server.enqueue(
        {"status": 401, "headers": {"content-type": "application/json"},
         "body": json.dumps({"error": {"message": f"Incorrect API key provided: {canary}",
                                       "code": "invalid_api_key"}})}
    )
    client = Client.inline(fault_server.base_url, api_key=canary, policy=FAST, breaker=CircuitBreaker("test"))
    assert canary not in repr(client)
    with pytest.raises(Exception) as info:
        client.complete(HI, RequestOptions(model="m1"))
    assert canary not in str(info.value) and canary not in repr(info.value)
    (request,) = fault_server.requests()
    assert request["headers"].get("authorization") == f"Bearer {canary}" or request["headers"].get(
        "Authorization"
    ) == f"Bearer {canary}"
    assert request["path"] == "/v1/chat/completions"


def test_request_log_is_redacted(fault_server, tmp_path, monkeypatch):
    canary = "sk-canary-" + "Q" * 40
    log_path = tmp_path / "requests.jsonl"
    monkeypatch.setenv("OPENAI_COMPAT_REQUEST_LOG", str(log_path))
    fault_server.enqueue(
        {"status": 503, "headers": {"content-type": "text/html"}, "body": "<html><title>Down</title></html>"},
        {"status": 200, "headers": {"content-type": "text/event-stream"},
         "body": sse(chunk("fine", finish="stop"), usage_chunk(3, 1))},
    )
    client = Client.inline(fault_server.base_url + "/v1", api_key=canary, policy=FAST,
                           breaker=CircuitBreaker("test"))
    assert client.complete(HI, RequestOptions(model="m1")).text == "fine"
    lines = log_path.read_text().splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert canary not in lines[0]
    assert record["request_headers"]["Authorization"] == "[redacted]"
    assert [a["status"] for a in record["attempts"]][:1] == [503]
    assert record["status"] == 200 and record["finish_reason"] == "stop"
    assert record["usage"]["input"] == 3


def test_unknown_provider_names_file_and_known(tmp_path):
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"providers": {"ollama": {"baseURL": "http://127.0.0.1:9/v1"}}}))
    with pytest.raises(ConfigError) as info:
        Client("nope", settings_path=path)
    assert str(path) in str(info.value) and "ollama" in str(info.value)


def test_provider_from_settings_file(fault_server, tmp_path, monkeypatch):
    path = tmp_path / "openai-compat.json"
    path.write_text(json.dumps({"providers": {"local": {
        "baseURL": fault_server.base_url + "/v1", "models": ["m1"],
        "apiKeyRef": {"kind": "env", "name": "LOCAL_KEY"}, "headers": {"X-Org": "acme"}}}}))
    monkeypatch.setenv("OPENAI_COMPAT_SETTINGS", str(path))
    monkeypatch.setenv("LOCAL_KEY", "local-secret-123456")
    fault_server.enqueue({"status": 200, "headers": {"content-type": "text/event-stream"},
                          "body": sse(chunk("yo", finish="stop"))})
    client = Client("local", policy=FAST)
    assert client.complete(HI, RequestOptions(model="m1")).text == "yo"
    headers = {k.lower(): v for k, v in fault_server.requests()[0]["headers"].items()}
    assert headers["authorization"] == "Bearer local-secret-123456"
    assert headers["x-org"] == "acme"


def test_list_models(fault_server):
    fault_server.enqueue(
        {"status": 200, "headers": {"content-type": "application/json"},
         "body": json.dumps({"object": "list", "data": [{"id": "b"}, {"id": "a"}]})}
    )
    assert client_for(fault_server).list_models() == ["a", "b"]
    assert fault_server.requests()[0]["path"] == "/v1/models"


async def test_async_stream_and_complete(fault_server):
    fault_server.enqueue(
        {"status": 503, "body": "{}", "headers": {"content-type": "application/json"}},
        {"status": 200, "headers": {"content-type": "text/event-stream"},
         "body": sse(chunk("as"), chunk("ync", finish="stop"), usage_chunk(1, 2))},
    )
    client = AsyncClient.inline(fault_server.base_url + "/v1", provider_id="async-p", policy=AFAST,
                                breaker=CircuitBreaker("test"))
    texts = []
    async for event in client.stream(HI, RequestOptions(model="m1")):
        if event.type == "text":
            texts.append(event.text)
    assert "".join(texts) == "async"
    assert len(fault_server.requests()) == 2


async def test_async_cancel_closes_the_response(fault_server):
    pieces = [chunk(f"{i} ") for i in range(50)]
    fault_server.enqueue({"status": 200, "headers": {"content-type": "text/event-stream"},
                          "body": sse(*pieces, chunk(finish="stop")), "delay_between_chunks": 0.01,
                          "chunk_size": 40})
    client = AsyncClient.inline(fault_server.base_url + "/v1", policy=AFAST, breaker=CircuitBreaker("test"))
    stream = client.stream(HI, RequestOptions(model="m1"))
    async for event in stream:
        if event.type == "text":
            break
    await stream.aclose()  # closes the HTTP response; nothing hangs


def test_probed_capabilities_shape_the_request(fault_server):
    """What `llm openai-compat test` stored (capabilities) is honoured by every adapter."""
    fault_server.enqueue(
        {"status": 200, "headers": {"content-type": "text/event-stream"},
         "body": sse(chunk("ok", finish="stop"))}
    )
    client = client_for(
        fault_server,
        capabilities={"streamOptions": False, "developerRole": False, "jsonSchema": True},
    )
    options = RequestOptions(model="m1", system_message_mode="developer")
    assert client.complete(HI, options).text == "ok"
    body = json.loads(fault_server.requests()[0]["body"])
    assert "stream_options" not in body
    assert body["messages"][0]["role"] == "system"


@pytest.mark.parametrize("stream", [True, False])
def test_stream_reads_are_the_stream_events_in_non_empty_lists(fault_server, stream):
    """`stream_reads` yields what `stream` yields (text that arrived together joined), grouped
    by network read, never an empty list, sync and async alike; the last list holds the
    finish."""
    import asyncio

    body = sse(chunk("Hel"), chunk("lo"), chunk(finish="stop"), usage_chunk(9, 2))
    reply = {"status": 200, "headers": {"content-type": "text/event-stream"}, "body": body}
    if not stream:
        reply = {"status": 200, "headers": {"content-type": "application/json"},
                 "body": json.dumps({"id": "c", "model": "m1", "choices": [
                     {"index": 0, "message": {"role": "assistant", "content": "Hello"},
                      "finish_reason": "stop"}]})}
    for _ in range(3):
        fault_server.enqueue(reply)
    options = RequestOptions(model="m1", stream=stream)
    flat = list(client_for(fault_server).stream(HI, options))
    batches = list(client_for(fault_server).stream_reads(HI, options))

    async def abatches() -> list[list]:
        return [b async for b in AsyncClient(fault_server.base_url).stream_reads(HI, options)]

    for got in (batches, asyncio.run(abatches())):
        assert all(isinstance(b, list) and b for b in got)
        events = [e for b in got for e in b]
        assert "".join(e.text for e in events if e.type == "text") == "Hello"
        assert [e.type for e in events if e.type != "text"] == [
            e.type for e in flat if e.type != "text"
        ]
        assert got[-1][-1].type == "finish"


def test_list_models_goes_through_the_users_http_client(model_server, runtime):
    """A model listing is one of the client's requests: with `http_client=` it goes through
    that client (its headers and hooks), not the runtime's pools, sync and async."""
    import asyncio

    import httpx2

    from llm_openai_compat import AsyncClient

    seen: list[str] = []
    with httpx2.Client(
        headers={"X-Owned-By": "lister"},
        event_hooks={"request": [lambda r: seen.append(r.url.path)]},
    ) as http:
        client = Client.inline(model_server.url(), runtime=runtime, http_client=http)
        model_server.reset()
        assert client.list_models()
        assert seen == ["/v1/models"]
        assert model_server.requests()[-1]["headers"]["x-owned-by"] == "lister"
        assert runtime.pools.sync_keys() == []

    async def listed() -> list[str]:
        async def hook(request: httpx2.Request) -> None:
            seen.append("async " + request.url.path)

        async with httpx2.AsyncClient(event_hooks={"request": [hook]}) as http_async:
            aclient = AsyncClient.inline(model_server.url(), runtime=runtime,
                                         http_client=http_async)
            return await aclient.list_models()

    assert asyncio.run(listed())
    assert seen[-1] == "async /v1/models"


def test_a_json_answer_to_a_stream_on_a_kept_connection_is_read_as_json(fault_server):
    # The second request goes out on the first one's connection, where the stream's state is
    # made before the answer (as an event stream): the JSON answer still gets a JSON state.
    whole = {"id": "chatcmpl-2", "model": "m1", "choices": [{"index": 0, "finish_reason": "stop",
             "message": {"role": "assistant", "content": "Whole"}}]}
    fault_server.enqueue(
        {"status": 200, "headers": {"content-type": "text/event-stream"},
         "body": sse(chunk("Hel"), chunk("lo"), chunk(finish="stop"))},
        {"status": 200, "headers": {"content-type": "application/json"}, "body": json.dumps(whole)},
    )
    client = client_for(fault_server)
    first = [e for e in client.stream(HI, RequestOptions(model="m1")) if e.type == "text"]
    second = [e for e in client.stream(HI, RequestOptions(model="m1")) if e.type == "text"]
    assert "".join(e.text for e in first) == "Hello"
    assert [e.text for e in second] == ["Whole"]
