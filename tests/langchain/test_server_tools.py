"""Issue 17 item 3: built-in tool dicts pass through `bind_tools` (no more KeyError 'function')
and are sent as given beside the function tools (llm's side: tests/plugin/test_server_tools.py)."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel

from langchain_adapter import ChatOpenAICompat
from tests.support.recorded_more import response_spec


class GetWeather(BaseModel):
    """Get the weather."""

    city: str


@pytest.mark.parametrize("shape", ["chat-completions", "responses"])
def test_bind_tools_sends_built_in_tools_as_given(model_server, shape):
    model = ChatOpenAICompat(base_url=model_server.url(), model="m", api_shape=shape,
                             max_retries=0)
    search = {"type": "web_search", "search_context_size": "low"}
    model.bind_tools([search, GetWeather]).invoke("hello")
    tools = model_server.last_body()["tools"]
    assert search in tools
    assert [t.get("function", t).get("name") for t in tools if t["type"] == "function"] == [
        "GetWeather"
    ]


def test_built_in_tool_output_is_kept(fault_server):
    """The recorded web_search answer: the call item and the citations reach the message."""
    fault_server.enqueue(response_spec("openai__responses__nonstream_web_search_url_citation.txt"))
    model = ChatOpenAICompat(base_url=fault_server.base_url + "/v1", model="gpt-5",
                             use_responses_api=True, max_retries=0, output_version="v1")
    message = model.bind_tools([{"type": "web_search"}]).invoke("news?")
    sent = fault_server.requests()[-1]
    assert json.loads(sent["body"])["tools"] == [{"type": "web_search"}]
    calls = [b for b in message.content_blocks if b["type"] == "server_tool_call"]
    assert calls and all(c["name"] == "web_search" for c in calls)
    assert message.additional_kwargs["annotations"]

