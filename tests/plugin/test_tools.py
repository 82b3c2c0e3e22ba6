"""Tools through llm: `-T`, `--functions`, chains in the Python API (sync and async), on both
wire shapes; the assembled calls go to `response.add_tool_call` and the results go back with
the right tool_call_id."""

from __future__ import annotations

import json
from importlib.metadata import version

import llm
import pytest

from tests.support.wire_bytes import chunk

from .conftest import bodies, chat_sse, sim

pytestmark = pytest.mark.timeout(30)


def _tool_call_then_answer(fault_server, name: str, arguments: str, answer: str) -> None:
    call = {
        "index": 0,
        "id": "call_1",
        "type": "function",
        "function": {"name": name, "arguments": ""},
    }
    fault_server.enqueue(
        chat_sse(
            chunk({"role": "assistant", "tool_calls": [call]}),
            chunk({"tool_calls": [{"index": 0, "function": {"arguments": arguments}}]}),
            chunk(finish="tool_calls"),
        ),
        chat_sse(chunk({"content": answer}), chunk(finish="stop")),
    )


def test_tool_chain_with_T(fault_server, write_settings, run_llm):
    write_settings(fs=sim(fault_server.base_url + "/v1"))
    _tool_call_then_answer(fault_server, "llm_version", "{}", "It is 0.36.")
    result = run_llm("-m", "fs/sim-model", "-T", "llm_version", "Which version?", "--td")
    assert result.exit_code == 0, result.output
    assert result.stdout.endswith("It is 0.36.\n")
    assert "Tool call: llm_version({})" in result.output
    first, second = bodies(fault_server)
    assert first["tools"][0]["function"]["name"] == "llm_version"
    assistant, tool = second["messages"][1], second["messages"][2]
    assert assistant["role"] == "assistant"
    assert assistant["tool_calls"][0]["id"] == "call_1"
    assert assistant["tool_calls"][0]["function"] == {"name": "llm_version", "arguments": "{}"}
    assert tool["role"] == "tool" and tool["tool_call_id"] == "call_1"
    assert tool["content"] == version("llm")


def test_tool_chain_with_functions(fault_server, write_settings, run_llm):
    write_settings(fs=sim(fault_server.base_url + "/v1"))
    _tool_call_then_answer(fault_server, "add", '{"a": 2, "b": 40}', "The sum is 42.")
    code = "def add(a: int, b: int) -> int:\n    'Add two numbers.'\n    return a + b\n"
    result = run_llm("-m", "fs/sim-model", "--functions", code, "What is 2 + 40?")
    assert result.exit_code == 0, result.output
    assert result.stdout.endswith("The sum is 42.\n")
    spec = bodies(fault_server)[0]["tools"][0]["function"]
    assert spec["name"] == "add" and spec["description"] == "Add two numbers."
    assert set(spec["parameters"]["properties"]) == {"a", "b"}
    tool = bodies(fault_server)[1]["messages"][-1]
    assert tool == {"role": "tool", "tool_call_id": "call_1", "content": "42"}


def test_tool_calls_are_logged(fault_server, write_settings, run_llm):
    write_settings(fs=sim(fault_server.base_url + "/v1"))
    _tool_call_then_answer(fault_server, "llm_version", "{}", "Done.")
    assert run_llm("-m", "fs/sim-model", "-T", "llm_version", "v?").exit_code == 0
    rows = json.loads(run_llm("logs", "-n", "2", "--json").stdout)
    calls = [c for row in rows for c in row["tool_calls"]]
    assert calls and calls[0]["name"] == "llm_version" and calls[0]["tool_call_id"] == "call_1"


def multiply(x: int, y: int) -> int:
    "Multiply two integers."
    return x * y


@pytest.mark.parametrize("shape", ["chat-completions", "responses"])
def test_python_chain_on_both_shapes(model_server, write_settings, shape):
    write_settings(sim=sim(model_server.url(), apiShape=shape))
    model = llm.get_model("sim/sim-model")
    chain = model.chain("Use multiply on 6 and 7.", tools=[multiply])
    text = chain.text()
    assert "multiply" in text and "42" in text
    responses = list(chain.responses())
    calls = responses[0].tool_calls()
    assert calls[0].name == "multiply" and calls[0].arguments == {"x": 6, "y": 7}
    assert calls[0].tool_call_id


async def test_async_chain(model_server, write_settings):
    write_settings(sim=sim(model_server.url("no-index")))
    model = llm.get_async_model("sim/sim-model")
    chain = model.chain("Use multiply on 3 and 5.", tools=[multiply])
    text = await chain.text()
    assert "15" in text


def test_unparseable_arguments_reach_the_tool_as_an_error_not_a_crash(fault_server, write_settings):
    write_settings(fs=sim(fault_server.base_url + "/v1"))
    _tool_call_then_answer(fault_server, "multiply", '{"x": 2, "y":', "Sorry.")
    chain = llm.get_model("fs/sim-model").chain("go", tools=[multiply])
    assert chain.text().endswith("Sorry.")
    sent = bodies(fault_server)[1]["messages"]
    assert sent[1]["tool_calls"][0]["function"]["arguments"] == '{"x": 2, "y":'
    assert sent[2]["role"] == "tool" and "Error" in sent[2]["content"]


def test_tools_refused_when_the_provider_cannot_call_them(model_server, write_settings, run_llm):
    write_settings(plain=sim(model_server.url("no-tools"), capabilities={"tools": False}))
    result = run_llm("-m", "plain/sim-model", "-T", "llm_version", "v?")
    assert result.exit_code != 0 and "does not support tools" in result.output
