"""Text coalescing per network read in `ChatOpenAICompat` (issue 19): what arrived in one read
becomes one chunk, `on_llm_new_token` fires for every chunk emitted, and
`stream_granularity="event"` keeps one chunk per server event."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.callbacks import AsyncCallbackHandler, BaseCallbackHandler

from langchain_adapter import ChatOpenAICompat
from tests.support.model_server_fixture import ModelServer


@pytest.fixture
def server(model_server: ModelServer) -> ModelServer:
    model_server.reset()
    return model_server


def chat(server: ModelServer, **fields: Any) -> ChatOpenAICompat:
    return ChatOpenAICompat(
        base_url=server.url("words=300"), model="sim-model", max_retries=0, **fields
    )


class Tokens(BaseCallbackHandler):
    def __init__(self) -> None:
        self.tokens: list[str] = []

    def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
        self.tokens.append(token)


class AsyncTokens(AsyncCallbackHandler):
    def __init__(self) -> None:
        self.tokens: list[str] = []

    async def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
        self.tokens.append(token)


def _texts(chunks: list[Any]) -> list[str]:
    return [c.text for c in chunks if c.text]


def test_a_read_becomes_one_chunk_and_every_chunk_reaches_the_callbacks(
    server: ModelServer,
) -> None:
    per_event = _texts(list(chat(server, stream_granularity="event").stream("tell me")))
    handler = Tokens()
    chunks = list(chat(server).stream("tell me", config={"callbacks": [handler]}))
    per_read = _texts(chunks)
    assert "".join(per_read) == "".join(per_event)
    assert len(per_event) > 200  # the server sent one event per word
    assert len(per_read) < len(per_event)  # written at once, read in a few reads
    # on_llm_new_token fires once per emitted chunk, with that chunk's text
    assert [t for t in handler.tokens if t] == per_read


async def test_the_async_stream_coalesces_too(server: ModelServer) -> None:
    per_event = _texts(
        [c async for c in chat(server, stream_granularity="event").astream("tell me")]
    )
    handler = AsyncTokens()
    per_read = _texts(
        [c async for c in chat(server).astream("tell me", config={"callbacks": [handler]})]
    )
    assert "".join(per_read) == "".join(per_event)
    assert len(per_read) < len(per_event)
    assert [t for t in handler.tokens if t] == per_read


def test_invoke_gives_the_same_message_either_way(server: ModelServer) -> None:
    a = chat(server).invoke("tell me")
    b = chat(server, stream_granularity="event").invoke("tell me")
    assert a.text == b.text and a.usage_metadata == b.usage_metadata
