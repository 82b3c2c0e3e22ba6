"""`bind_tools` without a choice (issue 14, item 6): LangChain's default sends
`tool_choice: "auto"`, so a server that reads a missing choice as "none" (llama-cpp-python's
`chatml-function-calling`; the model server's `missing-choice-none`) calls the tool, in
`invoke` and in `stream`; a server that rejects "auto" (vLLM) is learned from and retried."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.tools import tool

from langchain_adapter import ChatOpenAICompat
from tests.support.model_server_fixture import ModelServer

pytestmark = pytest.mark.timeout(30)


@tool
def get_weather(city: str) -> str:
    """The current weather in a city."""
    return f"It is sunny in {city}."


@pytest.fixture
def server(model_server: ModelServer) -> Any:
    model_server.reset()
    return model_server


def _chat(server: ModelServer, flag: str) -> ChatOpenAICompat:
    return ChatOpenAICompat(base_url=server.url(flag), model="sim-model", max_retries=0)


def _choices(server: ModelServer) -> list[object]:
    return [r["body"].get("tool_choice", "<absent>") for r in server.requests()]


def test_bind_tools_calls_where_a_missing_choice_means_none(server):
    bound = _chat(server, "missing-choice-none").bind_tools([get_weather])
    message = bound.invoke("What is the weather in Paris?")
    assert [(c["name"], c["args"]) for c in message.tool_calls] == [("get_weather", {"city": "Paris"})]
    streamed = None
    for chunk in bound.stream("What is the weather in Paris?"):
        streamed = chunk if streamed is None else streamed + chunk
    assert streamed is not None
    assert [c["name"] for c in streamed.tool_calls] == ["get_weather"]
    assert _choices(server) == ["auto", "auto"]


async def test_bind_tools_after_a_rejection_of_auto(server):
    bound = _chat(server, "no-auto-tool-choice").bind_tools([get_weather])
    message = await bound.ainvoke("What is the weather in Paris?")
    assert [c["name"] for c in message.tool_calls] == ["get_weather"]
    again = await bound.ainvoke("And the weather in Rome?")
    assert [c["args"] for c in again.tool_calls] == [{"city": "Rome"}]
    assert _choices(server) == ["auto", "<absent>", "<absent>"]
    # An explicit "auto" is dropped too once the server said no; "none" is kept.
    plain = _chat(server, "no-auto-tool-choice").bind_tools([get_weather], tool_choice="none")
    assert (await plain.ainvoke("What is the weather in Paris?")).tool_calls == []
    assert _choices(server)[-1] == "none"
