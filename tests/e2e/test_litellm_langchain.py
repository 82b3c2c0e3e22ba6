"""`ChatOpenAICompat` (LangChain) against a real LiteLLM proxy, on both wire shapes. Skipped
(with the reason in the summary) until the LangChain model is installed."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.litellm_proxy import MOCK_TEXT

# The first test's set-up may install LiteLLM (about 1-1.5 min; pip itself is bounded).
pytestmark = pytest.mark.timeout(600)


def _model_class() -> Any:
    pytest.importorskip("langchain_core", reason="langchain-core is not installed")
    adapter = pytest.importorskip("langchain_adapter", reason="the LangChain model is not installed yet")
    if not hasattr(adapter, "ChatOpenAICompat"):
        pytest.skip("langchain_adapter has no ChatOpenAICompat yet")
    return adapter.ChatOpenAICompat


@pytest.fixture
def chat(litellm_proxy):
    cls = _model_class()

    def make(model: str = "mock-chat", **fields: Any) -> Any:
        fields.setdefault("max_retries", 1)
        return cls(
            base_url=litellm_proxy.base_url + "/v1",
            api_key=litellm_proxy.master_key,
            model=model,
            **fields,
        )

    return make


def test_invoke_with_usage(chat):
    message = chat().invoke("Say hello")
    assert message.content == MOCK_TEXT
    assert message.usage_metadata and message.usage_metadata["total_tokens"] > 0


def test_stream_with_usage(chat):
    chunks = list(chat().stream("Say hello"))
    assert "".join(str(c.content) for c in chunks) == MOCK_TEXT
    assert any(c.usage_metadata for c in chunks)


async def test_ainvoke_on_responses(chat):
    message = await chat("mock-responses", api_shape="responses").ainvoke("Say hello")
    assert message.content == MOCK_TEXT
    assert message.usage_metadata and message.usage_metadata["output_tokens"] > 0


def test_stream_on_responses(chat):
    chunks = list(chat("mock-responses", api_shape="responses").stream("Say hello"))
    assert "".join(str(c.content) for c in chunks) == MOCK_TEXT


@pytest.mark.parametrize("streaming", [False, True], ids=["whole", "streamed"])
def test_bind_tools(chat, streaming):
    def get_weather(city: str) -> str:
        """The weather in a city."""
        return "sunny"

    model = chat("sim-model", streaming=streaming).bind_tools([get_weather])
    message = model.invoke("What is the weather in Paris? Use get_weather.")
    assert [(c["name"], c["args"]) for c in message.tool_calls] == [("get_weather", {"city": "Paris"})]


def test_errors(chat, litellm_proxy):
    from llm_openai_compat.errors import BadRequest, RateLimited, Unauthorized

    with pytest.raises(RateLimited):
        chat("mock-429").invoke("hi")
    with pytest.raises(BadRequest, match="Invalid model name"):
        chat("no-such-model").invoke("hi")
    cls = _model_class()
    keyless = cls(base_url=litellm_proxy.base_url + "/v1", model="mock-chat", max_retries=0)
    with pytest.raises(Unauthorized):
        keyless.invoke("hi")
    wrong = cls(base_url=litellm_proxy.base_url + "/v1", model="mock-chat", api_key="sk-wrong-" + "w" * 20)
    with pytest.raises(BadRequest, match="No connected db"):  # no database: a 400, not a 401
        wrong.invoke("hi")
