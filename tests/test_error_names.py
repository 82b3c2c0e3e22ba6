"""Issue 14 item 8: seed 003's error names work, over today's tree.

Code written against seed 003 catches `ProviderTransient` for a 401 and `MissingToolCalling`
for a server that says it has no tools; neither makes a 401 retried, a breaker trip, or a
server's tool refusal anything but one clear line. And a 404 names the model it tried.
"""

from __future__ import annotations

import json

import pytest

from llm_openai_compat import (
    BadRequest,
    CircuitBreaker,
    Client,
    Conversation,
    Message,
    MissingToolCalling,
    NotFound,
    Provider5xx,
    ProviderError,
    ProviderTransient,
    RateLimited,
    RequestOptions,
    RetryPolicy,
    ToolSpec,
    Unauthorized,
    default_runtime,
)
from llm_openai_compat.errors import classify_response, is_transient, says_tools_unsupported
from tests.support.fault_server_fixture import FaultServer
from tests.support.model_server_fixture import ModelServer

HI = Conversation((Message.text("user", "what is the weather in Paris?"),))
WEATHER = ToolSpec(
    "get_weather", "The weather in a city",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


# -- 401 is a ProviderTransient by name, never in behaviour ---------------------------------------


def test_a_401_is_caught_as_seed_003s_provider_transient(fault_server: FaultServer):
    fault_server.set_default(
        {"status": 401, "json": {"error": {"message": "Incorrect API key", "code": "invalid_api_key"}}}
    )
    breaker = CircuitBreaker("unauth", threshold=1, cooldown=60)
    client = Client.inline(
        fault_server.base_url + "/v1", provider_id="unauth",
        policy=RetryPolicy(max_attempts=4, sleep=lambda s: None), breaker=breaker,
    )
    options = RequestOptions(model="m")
    for _ in range(2):  # a tripped breaker would answer the second with CircuitOpen
        try:
            client.complete(HI, options)
        except ProviderTransient as error:  # seed 003's contract
            assert isinstance(error, Unauthorized) and isinstance(error, ProviderError)
            assert error.status == 401 and error.attempts == 1
        else:
            pytest.fail("a 401 was not raised")
    assert len(fault_server.requests()) == 2  # one attempt per call: never retried
    assert breaker.state == "closed" and breaker.consecutive_failures == 0


def test_the_breaker_still_counts_what_is_transient(fault_server: FaultServer):
    fault_server.set_default({"status": 503, "json": {"error": {"message": "busy"}}})
    breaker = CircuitBreaker("busy", threshold=2, cooldown=60)
    client = Client.inline(
        fault_server.base_url + "/v1", provider_id="busy",
        policy=RetryPolicy(max_attempts=2, sleep=lambda s: None), breaker=breaker,
    )
    with pytest.raises(Provider5xx):
        client.complete(HI, RequestOptions(model="m"))
    assert breaker.state == "open"


@pytest.mark.parametrize(
    ("status", "transient"),
    [(401, False), (403, False), (404, False), (400, False), (429, True), (500, True), (503, True)],
)
def test_is_transient_decides_by_provider_error_first(status: int, transient: bool):
    error = classify_response(status, {}, b'{"error": {"message": "x"}}')
    assert is_transient(error) is transient
    assert isinstance(error, ProviderTransient) is (transient or status in (401, 403))
    assert RetryPolicy().is_retryable(error) is transient


def test_rate_limited_stays_transient_only():
    error = classify_response(429, {}, b'{"error": {"message": "slow down"}}')
    assert isinstance(error, RateLimited) and not isinstance(error, ProviderError)


# -- a server that says it has no tools ----------------------------------------------------------


def test_a_servers_no_tools_400_is_missing_tool_calling_then_learned(model_server: ModelServer):
    model_server.reset()
    client = Client.inline(model_server.url("no-tools"), provider_id="toolless", policy=RetryPolicy(max_attempts=1))
    options = RequestOptions(model="sim-model", tools=(WEATHER,))
    with pytest.raises(MissingToolCalling) as first:
        client.complete(HI, options)
    assert first.value.status == 400 and "tools is not supported" in str(first.value)
    assert "'toolless'" in str(first.value) and "'sim-model'" in str(first.value)
    assert len(model_server.requests()) == 1

    with pytest.raises(MissingToolCalling) as second:  # fails before sending
        client.complete(HI, options)
    assert len(model_server.requests()) == 1
    line = str(second.value)
    assert "\n" not in line and second.value.status is None
    assert "provider 'toolless'" in line and "model 'sim-model'" in line
    assert "earlier in this process" in line and "`llm openai-compat test toolless`" in line
    assert [a.name for a in default_runtime().learned_adaptations("toolless")] == ["no-tools"]
    # Without tools the provider still works.
    assert client.complete(HI, RequestOptions(model="sim-model")).text
    assert len(model_server.requests()) == 2


def test_capabilities_tools_false_fails_before_sending_and_says_how_to_retest(model_server: ModelServer):
    model_server.reset()
    client = Client.inline(
        model_server.url(), provider_id="probed", capabilities={"tools": False}, policy=RetryPolicy(max_attempts=1)
    )
    with pytest.raises(MissingToolCalling) as caught:
        client.complete(HI, RequestOptions(model="sim-model", tools=(WEATHER,)))
    assert model_server.requests() == []
    assert "capabilities.tools" in str(caught.value) and "llm openai-compat test probed" in str(caught.value)


@pytest.mark.parametrize(
    "message",
    [
        "registry.ollama.ai/library/gemma:2b does not support tools",  # Ollama
        "Unsupported parameter: 'tools' is not supported with this model.",  # OpenAI (o1-mini)
        "tools param requires --jinja flag",  # llama.cpp's server without --jinja
        "litellm.UnsupportedParamsError: ollama does not support parameters: ['tools'], for model=x",
        "This model does not support function calling.",
        "Tool calling is not supported for this model",
        "tools is not supported by this server",  # the model server's no-tools flag
    ],
)
def test_servers_phrasings_of_no_tools(message: str):
    assert says_tools_unsupported(message)
    error = classify_response(400, {}, json.dumps({"error": {"message": message}}).encode())
    assert isinstance(error, MissingToolCalling) and not isinstance(error, BadRequest)


@pytest.mark.parametrize(
    "message",
    [
        # vLLM without --enable-auto-tool-choice: learned as its own adaptation (no-auto-tool-choice).
        '"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set',
        "'tool_choice' is only allowed when 'tools' are specified",
        "Invalid schema for function 'get_weather': 'object' is not valid under any of the given schemas",
        "The model does not support image inputs",
    ],
)
def test_other_tool_errors_stay_bad_requests(message: str):
    assert not says_tools_unsupported(message)
    error = classify_response(400, {}, json.dumps({"error": {"message": message}}).encode())
    assert not isinstance(error, MissingToolCalling)


# -- a 404 names the model ------------------------------------------------------------------------


def test_a_404_names_the_model_and_the_url(model_server: ModelServer):
    client = Client.inline(
        model_server.url("no-responses"), provider_id="chat-only", api_shape="responses",
        policy=RetryPolicy(max_attempts=1),
    )
    with pytest.raises(NotFound) as caught:
        client.complete(HI, RequestOptions(model="sim-model"))
    line = str(caught.value)
    assert caught.value.model == "sim-model" and "model 'sim-model'" in line
    assert model_server.url("no-responses") + "/responses" in line
