"""Tools without a `tool_choice` (issue 14, item 6), through the core against the model server.

With tools and no choice the request says `tool_choice: "auto"` explicitly (OpenAI's default,
which llama-cpp-python's `chatml-function-calling` only honours when it is sent): the
`missing-choice-none` flag answers like that server. A server that rejects "auto" (vLLM without
`--enable-auto-tool-choice`, the `no-auto-tool-choice` flag) is learned from once: the call is
retried without the choice and later calls never send it.
"""

from __future__ import annotations

import random

import pytest

from llm_openai_compat import (
    AsyncClient,
    Client,
    Conversation,
    Message,
    RequestOptions,
    Result,
    RetryPolicy,
    ToolSpec,
)
from llm_openai_compat.http.retry import CircuitBreaker
from llm_openai_compat.runtime import default_runtime

pytestmark = pytest.mark.timeout(30)


async def _no_sleep(seconds: float) -> None:
    return None


POLICY = RetryPolicy(sleep=lambda s: None, asleep=_no_sleep, jitter=0.0)
WEATHER = ToolSpec(
    "get_weather",
    "Current weather for a city",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
ASK = Conversation((Message.text("user", "What is the weather in Paris?"),))


@pytest.fixture(params=["sync", "async"])
def call(request, model_server):
    """`call(flag, options)` -> (provider id, Result) through the sync or the async client."""
    kind = request.param
    model_server.reset()
    provider = f"p{random.random()}"

    async def run(flag: str, options: RequestOptions) -> Result:
        cls = Client if kind == "sync" else AsyncClient
        client = cls.inline(model_server.url(flag), provider_id=provider, policy=POLICY,
                            breaker=CircuitBreaker("test"))
        if kind == "sync":
            return client.complete(ASK, options)
        return await client.complete(ASK, options)

    run.provider = provider  # type: ignore[attr-defined]
    return run


def _sent(model_server) -> list[tuple[object, str]]:
    """(tool_choice sent, "rejected" or "answered") per request. The server marks a request
    complete only after writing the answer, so "pending" may still be on record here."""
    return [
        (r["body"].get("tool_choice", "<absent>"), "rejected" if r["outcome"] == "error" else "answered")
        for r in model_server.requests()
    ]


@pytest.mark.parametrize("stream", [True, False])
async def test_tools_without_a_choice_send_auto_and_get_a_call(call, model_server, stream):
    # The server reads a missing choice as "none": only the explicit "auto" gets the call.
    result = await call("missing-choice-none", RequestOptions(model="sim-model", stream=stream,
                                                                  tools=(WEATHER,)))
    (tool_call,) = result.tool_calls
    assert tool_call.name == "get_weather"
    assert tool_call.arguments == {"city": "Paris"}
    assert _sent(model_server) == [("auto", "answered")]


async def test_an_explicit_choice_is_sent_as_given(call, model_server):
    result = await call("missing-choice-none", RequestOptions(model="sim-model", tools=(WEATHER,),
                                                                  tool_choice="none"))
    assert result.tool_calls == () and "Paris" in result.text
    assert _sent(model_server) == [("none", "answered")]


@pytest.mark.parametrize("stream", [True, False])
async def test_a_server_that_rejects_auto_is_learned_and_retried_without_it(
    call, model_server, stream
):
    options = RequestOptions(model="sim-model", stream=stream, tools=(WEATHER,))
    first = await call("no-auto-tool-choice", options)
    assert [c.name for c in first.tool_calls] == ["get_weather"]
    assert _sent(model_server) == [("auto", "rejected"), ("<absent>", "answered")]
    (learned,) = default_runtime().learned_adaptations(call.provider)
    assert learned.name == "no-auto-tool-choice"
    assert "tool_choice" in learned.description

    model_server.reset()
    again = await call("no-auto-tool-choice", options)
    assert [c.name for c in again.tool_calls] == ["get_weather"]
    assert _sent(model_server) == [("<absent>", "answered")]  # no second rejection
    # A choice other than "auto" is still the caller's to make.
    model_server.reset()
    forced = await call("no-auto-tool-choice", RequestOptions(model="sim-model", stream=stream,
                                                              tools=(WEATHER,), tool_choice="required"))
    assert [c.name for c in forced.tool_calls] == ["get_weather"]
    assert _sent(model_server) == [("required", "answered")]


async def test_without_tools_no_choice_is_sent(call, model_server):
    result = await call("no-auto-tool-choice", RequestOptions(model="sim-model"))
    assert result.text.startswith("Hello!")
    assert _sent(model_server) == [("<absent>", "answered")]
    assert default_runtime().learned_adaptations(call.provider) == []


async def test_responses_shape_sends_auto_too(model_server):
    model_server.reset()
    client = Client.inline(model_server.url("missing-choice-none"), provider_id="resp",
                           policy=POLICY, breaker=CircuitBreaker("test"), api_shape="responses")
    result = client.complete(ASK, RequestOptions(model="sim-model", tools=(WEATHER,)))
    assert [c.name for c in result.tool_calls] == ["get_weather"]
    assert _sent(model_server) == [("auto", "answered")]
