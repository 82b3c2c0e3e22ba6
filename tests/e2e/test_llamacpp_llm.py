"""llm against llama-cpp-python's real server (`chatml-function-calling`, the tiny GGUF of
`tiny_gguf.py`: text "Hey", every string argument "Oslo"): a prompt streamed and not, and a
tool call the model chooses itself because the request now says `tool_choice: "auto"`
(issue 14, item 6), through the CLI's `--functions` and the Python API.

The bigram model calls the tool whenever it may, so a CLI chain (which sends the result back
with the tools again) calls it again until llm's chain limit: the CLI test runs one call and
its result turn under `--chain-limit 2`; the Python API takes the call alone."""

from __future__ import annotations

import json

import pytest

from tests.support.llamacpp_server import CHAT_MODEL

pytestmark = pytest.mark.timeout(120)

WEATHER = (
    "def get_weather(city: str) -> str:\n"
    "    'The current weather in a city.'\n"
    "    return f'Sunny in {city}'\n"
)


@pytest.fixture
def llm(llamacpp_server, isolated_user_dir):
    """`llm ARGS...` in-process against a settings file naming the server; returns the result."""
    import llm.cli
    from click.testing import CliRunner


    provider = {"baseURL": llamacpp_server.base_url, "profile": "llama-cpp-python",
                "models": [CHAT_MODEL], "maxRetries": 0, "defaultParams": {"temperature": 0}}
    (isolated_user_dir / "openai-compat.json").write_text(json.dumps({"providers": {"lcpp": provider}}))

    def run(*args: str):
        return CliRunner().invoke(llm.cli.cli, list(args), catch_exceptions=True)

    yield run


@pytest.mark.parametrize("flags", [(), ("--no-stream",)], ids=["streamed", "whole"])
def test_prompt(llm, flags):
    result = llm("-m", f"lcpp/{CHAT_MODEL}", *flags, "Say hello.")
    assert result.exit_code == 0, result.output
    assert result.stdout == "Hey\n"


def test_functions_call_the_tool_without_a_choice(llm):
    result = llm("-m", f"lcpp/{CHAT_MODEL}", "--functions", WEATHER, "--td", "--chain-limit", "2",
                 "What is the weather in Paris?")
    assert "Tool call: get_weather({'city': 'Oslo'})" in result.output
    assert "Sunny in Oslo" in result.output  # llm ran the function with the model's arguments
    # The second turn (the tool-call turn and its result sent back) was accepted, and the model
    # called again: llm stops at its chain limit. A real model answers there instead.
    assert result.exit_code == 1 and result.output.rstrip().endswith("Chain limit of 2 exceeded.")


@pytest.mark.parametrize("stream", [True, False], ids=["streamed", "whole"])
def test_python_api_tool_call(llm, stream):
    import llm as llm_api

    def get_weather(city: str) -> str:
        """The current weather in a city."""
        return f"Sunny in {city}"

    model = llm_api.get_model(f"lcpp/{CHAT_MODEL}")
    response = model.prompt("What is the weather in Paris?", tools=[get_weather], stream=stream)
    calls = response.tool_calls()
    assert [(c.name, c.arguments) for c in calls] == [("get_weather", {"city": "Oslo"})]
    assert response.text() == ""
