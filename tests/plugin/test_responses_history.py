"""Follow-up turns on the Responses shape: every input item carries its `type`, because
llama.cpp's server answers `400 Cannot determine type of 'item'` to history without it; and
`llm openai-compat test` proves a shape with a second turn, not only the first."""

from __future__ import annotations

import json

from langchain_core.messages import AIMessage, HumanMessage

from langchain_adapter import ChatOpenAICompat
from llm_openai_compat import Client, Conversation, Message, RequestOptions
from tests.plugin.conftest import sim

TURNS = Conversation(
    (
        Message.text("user", "hello"),
        Message.text("assistant", "Hello! You said: hello."),
        Message.text("user", "and again"),
    )
)


def _untyped(body: dict) -> list[dict]:
    return [item for item in body["input"] if "type" not in item]


def test_core_two_turns_on_a_server_that_requires_typed_items(model_server):
    client = Client.inline(model_server.url("typed-items"), api_shape="responses", max_retries=0)
    for stream in (True, False):
        result = client.complete(TURNS, RequestOptions(model="sim-model", stream=stream))
        assert result.text == "Hello! You said: and again."
        assert _untyped(model_server.last_body()) == []


def test_llm_continue_on_a_server_that_requires_typed_items(model_server, write_settings, run_llm):
    write_settings(resp=sim(model_server.url("typed-items"), apiShape="responses"))
    assert run_llm("-m", "resp/sim-model", "hello").exit_code == 0
    second = run_llm("-c", "and again")
    assert second.exit_code == 0, second.output
    assert second.stdout == "Hello! You said: and again.\n"
    body = model_server.last_body()
    assert [item["role"] for item in body["input"]] == ["user", "assistant", "user"]
    assert _untyped(body) == []


def test_langchain_history_on_a_server_that_requires_typed_items(model_server):
    chat = ChatOpenAICompat(
        base_url=model_server.url("typed-items"), model="sim-model", api_shape="responses",
        max_retries=0,
    )
    history = [HumanMessage("hello"), AIMessage("Hello! You said: hello."), HumanMessage("and again")]
    assert chat.invoke(history).content == "Hello! You said: and again."
    assert "".join(str(c.content) for c in chat.stream(history)) == "Hello! You said: and again."
    assert _untyped(model_server.last_body()) == []


def _rows(stdout: str) -> dict[str, str]:
    table = stdout.split("\n\n", 1)[1].splitlines()[1:]
    return {line[:33].strip(): line[33:40].strip() for line in table}


def test_probe_fails_a_shape_that_breaks_on_turn_two(model_server, write_settings, run_llm, settings_file):
    write_settings(resp=sim(model_server.url("no-history"), apiShape="responses"))
    result = run_llm("openai-compat", "test", "resp")
    assert result.exit_code == 0, result.output
    rows = _rows(result.stdout)
    assert rows["Connection"] == "yes"
    assert rows["Follow-up turn (history)"] == "NO"
    assert "Cannot determine type of 'item'" in result.stdout
    caps = json.loads(settings_file.read_text())["providers"]["resp"]["capabilities"]
    assert caps["responses"] is False
    # Chat Completions is unaffected by the flag: the other shape serves both turns.
    assert caps["chatCompletions"] is True


def test_probe_reports_the_other_shape_only_after_two_turns(model_server, write_settings, run_llm, settings_file):
    write_settings(chat=sim(model_server.url("no-history")))
    result = run_llm("openai-compat", "test", "chat")
    assert result.exit_code == 0, result.output
    assert _rows(result.stdout)["Other shape (responses)"] == "NO"
    caps = json.loads(settings_file.read_text())["providers"]["chat"]["capabilities"]
    assert caps["responses"] is False and caps["chatCompletions"] is True
