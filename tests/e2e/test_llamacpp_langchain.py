"""`ChatOpenAICompat` (LangChain) against llama-cpp-python's real server
(`chatml-function-calling`, the tiny GGUF of `tiny_gguf.py`: text "Hey", every string argument
"Oslo"): invoke and stream, a forced tool call, and `bind_tools` without a choice, which now
sends `tool_choice: "auto"` (issue 14, item 6) so the model calls the tool."""

from __future__ import annotations

import pytest
from langchain_core.tools import tool
from pydantic import BaseModel

from langchain_adapter import ChatOpenAICompat
from tests.support.llamacpp_server import CHAT_MODEL

pytestmark = pytest.mark.timeout(120)


@tool
def get_weather(city: str) -> str:
    """The current weather in a city."""
    return f"Sunny in {city}."


class Weather(BaseModel):
    """The weather asked about."""

    city: str


@pytest.fixture
def chat(llamacpp_server):
    return ChatOpenAICompat(base_url=llamacpp_server.base_url, model=CHAT_MODEL,
                            profile="llama-cpp-python", temperature=0, max_retries=0, timeout=60)


def _joined(chunks):
    full = None
    for chunk in chunks:
        full = chunk if full is None else full + chunk
    assert full is not None
    return full


def test_invoke_and_stream(chat):
    assert chat.invoke("Say hello.").content == "Hey"
    chunks = [c for c in chat.stream("Say hello.") if c.content]
    assert [c.content for c in chunks] == ["H", "e", "y"]


@pytest.mark.parametrize("stream", [False, True], ids=["invoke", "stream"])
async def test_bind_tools_without_a_choice_calls_the_tool(chat, stream):
    bound = chat.bind_tools([get_weather])
    question = "What is the weather in Paris?"
    if stream:
        message = _joined([c async for c in bound.astream(question)])
    else:
        message = await bound.ainvoke(question)
    assert [(c["name"], c["args"]) for c in message.tool_calls] == [("get_weather", {"city": "Oslo"})]


def test_forced_tool_call_streams(chat):
    bound = chat.bind_tools([get_weather], tool_choice="get_weather")
    chunks = list(bound.stream("What is the weather in Paris?"))
    assert len(chunks) > 2  # the arguments arrived in pieces
    assert [c["args"] for c in _joined(chunks).tool_calls] == [{"city": "Oslo"}]


def test_structured_output_by_function_calling(chat):
    structured = chat.with_structured_output(Weather, method="function_calling")
    assert structured.invoke("What is the weather in Paris?") == Weather(city="Oslo")
