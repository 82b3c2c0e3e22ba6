"""Issue 17 items 4 and 5: token counting without `transformers` (trim_messages works), and
LangChain's `profile` filled from the provider's probed capabilities."""

from __future__ import annotations

import json

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, trim_messages

from langchain_adapter import ChatOpenAICompat


@pytest.mark.parametrize("flags", [(), ("llamacpp-tokenize",)])
@pytest.mark.parametrize("shape", ["chat-completions", "responses"])
def test_the_servers_tokenizer_counts(model_server, flags, shape):
    model = ChatOpenAICompat(base_url=model_server.url(*flags), model="m", api_shape=shape)
    model_server.reset()
    assert model.get_num_tokens_from_messages([HumanMessage("one two, three")]) == 4
    request = model_server.requests()[-1]
    expected = "/responses/input_tokens" if shape == "responses" else "/tokenize"
    assert request["path"].endswith(expected)
    if shape == "chat-completions":
        assert not request["path"].endswith("/v1/tokenize")  # at the server's root


def test_token_counting_and_trim(model_server):
    model = ChatOpenAICompat(base_url=model_server.url("no-tokenize"), model="m")
    model_server.reset()
    short = [HumanMessage("hi")]
    long = [HumanMessage("word " * 400)]
    assert 0 < model.get_num_tokens_from_messages(short) < model.get_num_tokens_from_messages(long)
    assert model.get_num_tokens("a" * 400) == 100
    history = [SystemMessage("be brief")] + [
        m for i in range(20) for m in (HumanMessage(f"question {i} " * 20), AIMessage("ok " * 20))
    ]
    trimmed = trim_messages(history, max_tokens=200, token_counter=model, strategy="last",
                            include_system=True, start_on="human")
    assert trimmed[0] == history[0] and len(trimmed) < len(history)
    assert model.get_num_tokens_from_messages(trimmed) <= 200
    # The server has no tokenizer: asked once, then estimated without asking again.
    assert len(model_server.requests()) == 1


def test_profile_from_probed_capabilities(tmp_path, model_server):
    settings = tmp_path / "providers.json"
    settings.write_text(json.dumps({"providers": {"local": {
        "baseURL": model_server.url(), "models": ["m"],
        "capabilities": {"tools": True, "jsonSchema": False, "images": True,
                         "toolsStreamed": True, "contextWindow": 32768},
    }}}))
    model = ChatOpenAICompat(provider="local", settings_path=str(settings))
    assert model.profile == {"tool_calling": True, "structured_output": False,
                             "image_inputs": True, "tool_call_streaming": True,
                             "max_input_tokens": 32768}
    given = ChatOpenAICompat(provider="local", settings_path=str(settings),
                             profile={"max_input_tokens": 8})
    assert given.profile == {"max_input_tokens": 8}
    assert ChatOpenAICompat(base_url=model_server.url(), model="m").profile is None
