"""Multi-turn: `llm chat` and `llm -c` send the whole history, built from prompt.messages."""

from __future__ import annotations

import pytest

from .conftest import sim

pytestmark = pytest.mark.timeout(30)


def test_llm_chat_two_turns(model_server, write_settings, run_llm):
    write_settings(sim=sim(model_server.url()))
    model_server.reset()
    result = run_llm(
        "chat", "-m", "sim/sim-model", "-s", "Be brief.", input="first\nsecond\nquit\n"
    )
    assert result.exit_code == 0, result.output
    assert "Hello! You said: first." in result.stdout
    assert "Hello! You said: second." in result.stdout
    first, second = (r["body"] for r in model_server.requests())
    assert [m["role"] for m in second["messages"]] == ["system", "user", "assistant", "user"]
    assert second["messages"][2]["content"] == "Hello! You said: first."
    assert len(first["messages"]) == 2


def test_continue_with_c(model_server, write_settings, run_llm):
    write_settings(sim=sim(model_server.url()))
    assert run_llm("-m", "sim/sim-model", "remember blue").exit_code == 0
    result = run_llm("-c", "what did I say?")
    assert result.exit_code == 0, result.output
    messages = model_server.last_body()["messages"]
    assert [m["content"] for m in messages] == [
        "remember blue",
        "Hello! You said: remember blue.",
        "what did I say?",
    ]
