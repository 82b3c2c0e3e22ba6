"""The core `Client` / `AsyncClient` against llama-cpp-python's real server (its
`chatml-function-calling` chat format) serving a tiny GGUF written by `tiny_gguf.py`, whose
greedy answers are known: text "Hey", every string argument "Oslo".

Issue 14, item 6: with tools and no choice, llama-cpp-python answers in text; the request now
says `tool_choice: "auto"` and the same server calls the tool. It cannot stream a call it
chose itself (an empty event stream), which the `llama-cpp-python` profile avoids by reading
such answers whole.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest

from llm_openai_compat import (
    AsyncClient,
    Client,
    Conversation,
    Message,
    RequestOptions,
    RetryPolicy,
    StreamError,
    ToolSpec,
)
from llm_openai_compat.call import Target, prepare
from llm_openai_compat.config.settings import ProviderSettings
from llm_openai_compat.errors import Provider5xx
from llm_openai_compat.http.retry import CircuitBreaker
from llm_openai_compat.messages import ToolCallPart, ToolResultPart
from tests.support.llamacpp_server import CHAT_MODEL, EMBED_MODEL

# Set-up (build, install) runs before the first test (conftest.py); a request takes < 1 s.
pytestmark = pytest.mark.timeout(120)

ANSWER, ARGUMENT = "Hey", "Oslo"
ASK = Conversation((Message.text("user", "What is the weather in Paris?"),))
WEATHER = ToolSpec(
    "get_weather",
    "The current weather in a city",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
GREEDY = {"temperature": 0}
ONCE = RetryPolicy(max_attempts=1, sleep=lambda s: None)


def client(server, profile: str | None = "llama-cpp-python", cls: Any = Client) -> Any:
    return cls.inline(
        server.base_url, provider_id=f"lcpp-{profile}", profile=profile, policy=ONCE,
        breaker=CircuitBreaker(f"lcpp-{profile}", threshold=100), timeout_ms=60_000,
    )


def options(**fields: Any) -> RequestOptions:
    return RequestOptions(model=CHAT_MODEL, params=GREEDY, **fields)


def post(server, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """A raw request, not through the code under test."""
    request = urllib.request.Request(
        server.base_url + path, json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=60) as answer:
        parsed: dict[str, Any] = json.loads(answer.read())
        return parsed


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
async def test_text(llamacpp_server, stream):
    result = client(llamacpp_server).complete(ASK, options(stream=stream))
    assert result.text == ANSWER and result.finish_reason == "stop"
    if not stream:  # its streams carry no usage, stream_options or not
        assert result.usage is not None and result.usage.output_tokens == len(ANSWER)
    async_result = await client(llamacpp_server, cls=AsyncClient).complete(ASK, options(stream=stream))
    assert async_result.text == ANSWER


def test_streaming_arrives_token_by_token(llamacpp_server):
    events = list(client(llamacpp_server).stream(ASK, options()))
    assert [e.text for e in events if e.type == "text"] == list(ANSWER)
    assert events[-1].type == "finish" and events[-1].reason == "stop"


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_forced_tool_call(llamacpp_server, stream):
    # A named choice: the server's JSON-schema grammar makes the arguments valid.
    events = list(client(llamacpp_server).stream(
        ASK, options(stream=stream, tools=(WEATHER,), tool_choice="get_weather")
    ))
    (call,) = [e for e in events if e.type == "tool_call"]
    assert (call.name, call.arguments) == ("get_weather", {"city": ARGUMENT})
    if stream:  # the arguments arrived in pieces
        assert len([e for e in events if e.type == "tool_call_delta"]) > 1
    assert events[-1].type == "finish" and events[-1].reason == "tool_calls"


def test_without_a_choice_the_server_answers_in_text(llamacpp_server):
    """What the server does with tools and no tool_choice (the reason for item 6)."""
    tools = [{"type": "function", "function": {"name": WEATHER.name,
                                               "parameters": dict(WEATHER.parameters)}}]
    body = {"model": CHAT_MODEL, "messages": [{"role": "user", "content": "Weather in Paris?"}],
            "tools": tools, "temperature": 0}
    message = post(llamacpp_server, "/chat/completions", body)["choices"][0]["message"]
    assert message["content"] == ANSWER and not message.get("tool_calls")
    auto = post(llamacpp_server, "/chat/completions", {**body, "tool_choice": "auto"})
    assert auto["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == "get_weather"


@pytest.mark.parametrize("profile", ["llama-cpp-python", None])
async def test_auto_tool_call_without_a_choice(llamacpp_server, profile):
    target = Target("lcpp", ProviderSettings(base_url=llamacpp_server.base_url, profile=profile))
    assert prepare(target, ASK, options(stream=False, tools=(WEATHER,))).body["tool_choice"] == "auto"
    result = client(llamacpp_server, profile).complete(ASK, options(stream=False, tools=(WEATHER,)))
    assert [(c.name, c.arguments) for c in result.tool_calls] == [("get_weather", {"city": ARGUMENT})]
    assert result.text == "" and result.finish_reason == "tool_calls"
    again = await client(llamacpp_server, profile, AsyncClient).complete(
        ASK, options(stream=False, tools=(WEATHER,))
    )
    assert [c.arguments for c in again.tool_calls] == [{"city": ARGUMENT}]


def test_a_streamed_auto_tool_call_is_read_whole_with_the_profile(llamacpp_server):
    events = list(client(llamacpp_server).stream(ASK, options(tools=(WEATHER,))))
    (call,) = [e for e in events if e.type == "tool_call"]
    assert (call.name, call.arguments) == ("get_weather", {"city": ARGUMENT})
    assert events[-1].type == "finish" and events[-1].reason == "tool_calls"
    # Without the profile the server opens an event stream and ends it empty.
    with pytest.raises(StreamError, match="ended before the server said it was finished"):
        list(client(llamacpp_server, None).stream(ASK, options(tools=(WEATHER,))))


@pytest.mark.parametrize("profile", ["llama-cpp-python", None])
def test_tool_result_turn(llamacpp_server, profile):
    """The call, its result sent back, and the model's text answer after it. The server's
    validation rejects the `content: null` OpenAI sends on a tool-call turn: the profile
    sends "" instead."""
    first = client(llamacpp_server).complete(ASK, options(tools=(WEATHER,), tool_choice="get_weather"))
    (call,) = first.tool_calls
    turn = Conversation((
        *ASK.messages,
        Message("assistant", (ToolCallPart(call.id, call.name, call.arguments_raw),)),
        Message("tool", (ToolResultPart(call.id, "Sunny, 21 C"),)),
    ))
    if profile is None:
        with pytest.raises(Provider5xx, match="validation errors"):
            client(llamacpp_server, None).complete(turn, options(tools=(WEATHER,)))
        return
    answer = client(llamacpp_server).complete(turn, options(tools=(WEATHER,), tool_choice="none"))
    assert answer.text == ANSWER and answer.tool_calls == ()


def test_embedding_model_serves_deterministic_vectors(llamacpp_server):
    """For the embeddings client (another change): the same text, the same unit vector."""
    body = {"model": EMBED_MODEL, "input": ["Hey", "Hey", "Oslo"]}
    data = post(llamacpp_server, "/embeddings", body)["data"]
    vectors = [item["embedding"] for item in data]
    assert vectors[0] == vectors[1] != vectors[2]
    assert len(vectors[0]) == 384 and any(vectors[0])
