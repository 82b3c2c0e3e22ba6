"""The core `Client` / `AsyncClient` against a real LiteLLM proxy, on both wire shapes:
streamed and not, usage, tool calls, a 429, an unknown model, no key and a wrong key, model
listing, and the probes behind `llm openai-compat test`."""

from __future__ import annotations

import pytest

from llm_openai_compat import (
    AsyncClient,
    Client,
    Conversation,
    Message,
    RequestOptions,
    RetryPolicy,
    ToolSpec,
)
from llm_openai_compat.config.settings import ProviderSettings
from llm_openai_compat.discovery import list_models
from llm_openai_compat.errors import BadRequest, RateLimited, Unauthorized
from llm_openai_compat.http.retry import CircuitBreaker
from llm_openai_compat.probe import run_probes
from tests.support.litellm_proxy import MOCK_TEXT

# The first test's set-up may install LiteLLM (about 1-1.5 min; pip itself is bounded).
pytestmark = pytest.mark.timeout(600)

HI = Conversation((Message.text("user", "Say hello."),), system="Be brief.")
NO_WAIT = RetryPolicy(max_attempts=2, sleep=lambda s: None)
WEATHER = ToolSpec(
    name="get_weather",
    description="The weather in a city",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
TIME = ToolSpec(
    name="get_current_time",
    parameters={"type": "object", "properties": {"timezone": {"type": "string"}}},
)


def client(proxy, shape="chat-completions", *, key: str | None = "master", cls=Client):
    return cls.inline(
        proxy.base_url + "/v1",
        api_key=proxy.master_key if key == "master" else key,
        provider_id=f"litellm-{shape}",
        api_shape=shape,
        profile="litellm",
        policy=NO_WAIT,
        breaker=CircuitBreaker(f"litellm-{shape}", threshold=100),
    )


# -- Chat Completions ---------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_chat_text_and_usage(litellm_proxy, stream):
    result = client(litellm_proxy).complete(HI, RequestOptions(model="mock-chat", stream=stream))
    assert result.text == MOCK_TEXT
    assert result.finish is not None and result.finish.reason == "stop"
    assert result.usage is not None
    assert result.usage.input_tokens and result.usage.output_tokens
    assert result.usage.total_tokens == result.usage.input_tokens + result.usage.output_tokens


def test_chat_streams_in_pieces(litellm_proxy):
    events = list(client(litellm_proxy).stream(HI, RequestOptions(model="mock-chat")))
    texts = [e.text for e in events if e.type == "text"]
    assert len(texts) > 3 and "".join(texts) == MOCK_TEXT
    assert [e.type for e in events][-2:] == ["usage", "finish"]


async def test_chat_async(litellm_proxy):
    result = await client(litellm_proxy, cls=AsyncClient).complete(HI, RequestOptions(model="mock-chat"))
    assert result.text == MOCK_TEXT and result.usage is not None


def test_chat_tool_call_whole(litellm_proxy):
    """LiteLLM's mock_tool_calls (not streamable in its mock): finish_reason "stop" beside a
    tool call is reported as tool_calls."""
    result = client(litellm_proxy).complete(
        HI, RequestOptions(model="mock-tools", stream=False, tools=(TIME,))
    )
    assert [(c.id, c.name, c.arguments) for c in result.tool_calls] == [
        ("call_e2e_1", "get_current_time", {"timezone": "UTC"})
    ]
    assert result.finish is not None and result.finish.reason == "tool_calls"


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_chat_tool_call_through_the_proxy(litellm_proxy, stream):
    """A real tool call streamed through LiteLLM (from the local model server behind it), with
    the usage on LiteLLM's usage chunk that keeps a `choices` entry."""
    ask = Conversation((Message.text("user", "What is the weather in Paris? Use get_weather."),))
    result = client(litellm_proxy).complete(
        ask, RequestOptions(model="sim-model", stream=stream, tools=(WEATHER,))
    )
    assert [(c.name, c.arguments) for c in result.tool_calls] == [("get_weather", {"city": "Paris"})]
    assert result.finish is not None and result.finish.reason == "tool_calls"
    assert result.usage is not None and result.usage.input_tokens


def test_chat_429(litellm_proxy):
    with pytest.raises(RateLimited) as caught:
        client(litellm_proxy).complete(HI, RequestOptions(model="mock-429"))
    assert caught.value.status == 429
    assert "mock rate limit error" in str(caught.value)


def test_chat_unknown_model_shows_the_proxys_400(litellm_proxy):
    with pytest.raises(BadRequest) as caught:
        client(litellm_proxy).complete(HI, RequestOptions(model="no-such-model"))
    assert caught.value.status == 400
    assert "Invalid model name passed in model=no-such-model" in str(caught.value)


def test_chat_without_a_key_is_a_json_401(litellm_proxy):
    with pytest.raises(Unauthorized) as caught:
        client(litellm_proxy, key=None).complete(HI, RequestOptions(model="mock-chat"))
    assert caught.value.status == 401 and "No api key passed in" in str(caught.value)


def test_chat_with_a_wrong_key(litellm_proxy):
    """A proxy without a database cannot look a key up: any key but the master key gets a JSON
    400 `no_db_connection` (with a database it would be a 401). Either way, never a success,
    and the key is not in the message."""
    wrong = "sk-wrong-key-" + "w" * 20
    with pytest.raises(BadRequest) as caught:
        client(litellm_proxy, key=wrong).complete(HI, RequestOptions(model="mock-chat"))
    assert caught.value.status == 400
    assert "No connected db" in str(caught.value) and wrong not in str(caught.value)


def test_models_are_listed(litellm_proxy):
    expected = {"mock-chat", "mock-tools", "mock-429", "mock-responses", "sim-model"}
    assert expected <= set(client(litellm_proxy).list_models())
    assert expected <= set(list_models(litellm_proxy.base_url + "/v1", api_key=litellm_proxy.master_key))
    with pytest.raises(Unauthorized):
        list_models(litellm_proxy.base_url + "/v1")


# -- Responses (LiteLLM's bridge over its own chat endpoint) -----------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_responses_text_and_usage(litellm_proxy, stream):
    result = client(litellm_proxy, "responses").complete(
        HI, RequestOptions(model="mock-responses", stream=stream)
    )
    assert result.text == MOCK_TEXT
    assert result.finish is not None and result.finish.reason == "stop"
    assert result.usage is not None and result.usage.input_tokens and result.usage.output_tokens


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_responses_tool_call_through_the_proxy(litellm_proxy, stream):
    ask = Conversation((Message.text("user", "What is the weather in Paris? Use get_weather."),))
    result = client(litellm_proxy, "responses").complete(
        ask, RequestOptions(model="sim-model", stream=stream, tools=(WEATHER,))
    )
    assert [(c.name, c.arguments) for c in result.tool_calls] == [("get_weather", {"city": "Paris"})]
    assert result.finish is not None and result.finish.reason == "tool_calls"
    assert result.usage is not None and result.usage.input_tokens


async def test_responses_async_stream(litellm_proxy):
    events = [
        e async for e in client(litellm_proxy, "responses", cls=AsyncClient).stream(
            HI, RequestOptions(model="mock-responses")
        )
    ]
    assert "".join(e.text for e in events if e.type == "text") == MOCK_TEXT
    assert events[-1].type == "finish"


def test_responses_errors(litellm_proxy):
    with pytest.raises(BadRequest) as caught:
        client(litellm_proxy, "responses").complete(HI, RequestOptions(model="no-such-model"))
    assert caught.value.status == 400
    with pytest.raises(Unauthorized):
        client(litellm_proxy, "responses", key=None).complete(HI, RequestOptions(model="mock-responses"))


# -- what `llm openai-compat test` reports -------------------------------------------------


def test_probes_report_what_the_proxy_supports(litellm_proxy, monkeypatch):
    monkeypatch.setenv("LITELLM_E2E_KEY", litellm_proxy.master_key)
    settings = ProviderSettings.model_validate(
        {
            "baseURL": litellm_proxy.base_url + "/v1",
            "apiKeyRef": {"kind": "env", "name": "LITELLM_E2E_KEY"},
            "profile": "litellm",
            "models": ["mock-chat"],
        }
    )
    report = run_probes("litellm", settings, "mock-chat")
    results = {c.name: c.ok for c in report.checks}
    assert report.connected and "found" in report.auth
    assert results["streaming"] is True
    assert results["stream_options"] is True and results["stream_usage"] is True
    assert results["tools"] is True  # accepted (the mock answers in text)
    assert results["json_schema"] is False  # accepted, but the mock's reply is not JSON
    assert results["developer_role"] is True
    assert results["other_shape"] is True  # LiteLLM's mocks answer /v1/responses too
