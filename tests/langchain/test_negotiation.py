"""Issue 14 items 5 and 8 through LangChain.

`with_structured_output(method="json_schema")` against a server without json_schema: the first
call is answered, the second is sent adapted without a 400 first. A 401 is catchable as seed
003's `ProviderTransient` and LangChain's `ModelAuthenticationError`, and never retryable.
A server that says it has no tools raises `MissingToolCalling` (also LangChain's invalid
request), then fails before sending.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.exceptions import ModelAuthenticationError, ModelInvalidRequestError
from langchain_core.tools import tool
from pydantic import BaseModel

from langchain_adapter import ChatOpenAICompat
from llm_openai_compat import MissingToolCalling, ProviderTransient, Unauthorized
from tests.support.model_server_fixture import ModelServer


class Pet(BaseModel):
    name: str
    age: int


@tool
def get_weather(city: str) -> str:
    """The current weather in a city."""
    return f"It is sunny in {city}."


@pytest.fixture
def server(model_server: ModelServer) -> Iterator[ModelServer]:
    model_server.reset()
    yield model_server


def _model(server: ModelServer, *flags: str, **fields: Any) -> ChatOpenAICompat:
    fields.setdefault("max_retries", 0)
    return ChatOpenAICompat(base_url=server.url(*flags), model="sim-model", **fields)


@pytest.mark.parametrize("api_shape", ["chat-completions", "responses"])
def test_json_schema_method_learns_the_servers_refusal(server: ModelServer, api_shape: str):
    structured = _model(server, "no-json-schema", api_shape=api_shape).with_structured_output(
        Pet, method="json_schema"
    )
    assert structured.invoke("My dog 'Rex' is 3") == Pet(name="Rex", age=3)
    assert structured.invoke("My cat 'Tom' is 5") == Pet(name="Tom", age=5)

    def kind(body: dict) -> str:
        fmt = body["response_format"] if api_shape == "chat-completions" else body["text"]["format"]
        return str(fmt["type"])

    requests = server.requests()
    assert [kind(r["body"]) for r in requests] == ["json_schema", "json_object", "json_object"]
    assert [r["outcome"] for r in requests] == ["error", "complete", "complete"]


def test_a_401_is_seed_003s_provider_transient_and_not_retryable(server: ModelServer):
    model = _model(server, "key=right-key", api_key="wrong-key", max_retries=3)
    with pytest.raises(ProviderTransient) as caught:
        model.invoke("hi")
    error = caught.value
    assert isinstance(error, Unauthorized) and isinstance(error, ModelAuthenticationError)
    assert error.is_retryable is False  # type: ignore[attr-defined]
    assert len(server.requests()) == 1


def test_a_server_without_tools(server: ModelServer):
    model = _model(server, "no-tools").bind_tools([get_weather])
    with pytest.raises(MissingToolCalling) as first:
        model.invoke("weather in Paris?")
    assert isinstance(first.value, ModelInvalidRequestError) and first.value.status == 400
    with pytest.raises(MissingToolCalling) as second:
        model.invoke("weather in Rome?")
    assert len(server.requests()) == 1
    assert "provider " in str(second.value) and "model 'sim-model'" in str(second.value)
    assert "llm openai-compat test" in str(second.value)
