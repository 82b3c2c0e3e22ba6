"""`Client.count_tokens`: the server's tokenizer (vLLM and llama.cpp `/tokenize` at the root,
Responses `input_tokens`), None where the server has none."""

from __future__ import annotations

import pytest

from llm_openai_compat import Client, Conversation, Message, TokenCount

HI = Conversation((Message.text("user", "one two, three"),), system="be brief")


@pytest.mark.parametrize(
    ("flags", "shape", "source"),
    [((), "chat-completions", "tokenize"), (("llamacpp-tokenize",), "chat-completions", "tokenize"),
     ((), "responses", "responses-input-tokens")],
)
def test_server_count(model_server, flags, shape, source):
    client = Client.inline(model_server.url(*flags), provider_id="tok", api_shape=shape)
    assert client.count_tokens(HI, "m") == TokenCount(6, source)


def test_no_tokenizer_is_none_after_one_attempt(model_server):
    client = Client.inline(model_server.url("no-tokenize"), provider_id="tok-none")
    model_server.reset()
    assert client.count_tokens(HI, "m") is None
    assert len(model_server.requests()) == 1
