"""Tools without a choice through llm (issue 14, item 6): `--functions` and `-T` send
`tool_choice: "auto"`, so a server that reads a missing choice as "none" (llama-cpp-python's
`chatml-function-calling`; the model server's `missing-choice-none`) calls the tool; a server
that rejects "auto" (vLLM without `--enable-auto-tool-choice`) is learned from, the prompt
still works, and `llm openai-compat test` says what changed."""

from __future__ import annotations

import pytest

from llm_openai_compat.config.profiles import ADAPTATIONS

from .conftest import sim

pytestmark = pytest.mark.timeout(30)

WEATHER = (
    "def get_weather(city: str) -> str:\n"
    "    'The current weather in a city.'\n"
    "    return f'Sunny in {city}'\n"
)
NO_AUTO = next(a for a in ADAPTATIONS if a.name == "no-auto-tool-choice")


def _choices(model_server) -> list[object]:
    return [r["body"].get("tool_choice", "<absent>") for r in model_server.requests()]


def test_functions_call_the_tool_where_a_missing_choice_means_none(
    run_llm, write_settings, model_server
):
    model_server.reset()
    write_settings(lcpp=sim(model_server.url("missing-choice-none")))
    result = run_llm("-m", "lcpp/sim-model", "--functions", WEATHER, "--td",
                     "What is the weather in Paris?")
    assert result.exit_code == 0, result.output
    assert "Tool call: get_weather({'city': 'Paris'})" in result.output
    assert "Sunny in Paris" in result.stdout  # the model's answer quotes the tool's output
    # Both turns carry tools, so both say "auto".
    assert _choices(model_server) == ["auto", "auto"]


def test_T_tools_after_a_rejection_of_auto(run_llm, write_settings, model_server):
    model_server.reset()
    write_settings(vllm=sim(model_server.url("no-auto-tool-choice")))
    result = run_llm("-m", "vllm/sim-model", "-T", "llm_version", "--td",
                     "Use the tool to tell the version.")
    assert result.exit_code == 0, result.output
    assert "Tool call: llm_version({})" in result.output
    # Rejected once, then never sent again: not on the retry, not on the tool-result turn.
    assert _choices(model_server) == ["auto", "<absent>", "<absent>"]
    assert model_server.requests()[0]["outcome"] == "error"
    tested = run_llm("openai-compat", "test", "vllm", "--no-store")
    assert tested.exit_code == 0, tested.output
    assert f"Adapted: {NO_AUTO.description}" in tested.stdout
