"""Issue 17: `http_client` / `http_async_client`, an httpx2 client the user owns, used as is
for that object's requests (its headers and event hooks apply; not closed, not pooled by the
Runtime), with the core's retries, breaker, redaction and errors."""

from __future__ import annotations

import httpx2
import pytest
from langchain_core.load import dumps
from langchain_core.messages import HumanMessage

from langchain_adapter import ChatOpenAICompat, OpenAICompatEmbeddings
from llm_openai_compat import ConfigError, OpenAICompatError


def _hooked(seen: list[str]) -> httpx2.Client:
    return httpx2.Client(
        headers={"X-Owned-By": "user"},
        event_hooks={"request": [lambda r: seen.append(str(r.url.path))]},
    )


@pytest.mark.parametrize("stream", [False, True])
def test_sync_requests_go_through_the_users_client(model_server, runtime, stream):
    seen: list[str] = []
    with _hooked(seen) as client:
        model = ChatOpenAICompat(
            base_url=model_server.url(),
            model="m",
            http_client=client,
            api_key="sk-owned-1234567890",
            runtime=runtime,
        )
        model_server.reset()
        if stream:
            text = "".join(str(c.content) for c in model.stream([HumanMessage("hi")]))
        else:
            text = str(model.invoke("hi").content)
        assert text
        request = model_server.requests()[-1]
        assert request["headers"]["x-owned-by"] == "user"  # the client's own default header
        assert request["headers"]["authorization"] == "Bearer sk-owned-1234567890"
        assert seen == ["/v1/chat/completions"]  # its event hook ran
        assert runtime.pools.sync_keys() == []  # the runtime pooled nothing
        assert not client.is_closed  # and closed nothing of the user's
        model.invoke("again")
        assert len(seen) == 2
    assert client.is_closed  # closed by its owner


async def test_async_requests_go_through_the_users_async_client(model_server, runtime):
    seen: list[str] = []

    async def hook(request: httpx2.Request) -> None:
        seen.append(request.url.path)

    async with httpx2.AsyncClient(
        headers={"X-Owned-By": "async-user"}, event_hooks={"request": [hook]}
    ) as client:
        model = ChatOpenAICompat(
            base_url=model_server.url(), model="m", http_async_client=client, runtime=runtime
        )
        model_server.reset()
        chunks = [c async for c in model.astream("hi")]
        assert "".join(str(c.content) for c in chunks)
        assert (await model.ainvoke("hi")).content
        assert seen == ["/v1/chat/completions"] * 2
        assert all(r["headers"]["x-owned-by"] == "async-user" for r in model_server.requests())
        assert not client.is_closed
    # Only the async client was given: sync calls use the runtime's pools, as ChatOpenAI does.
    seen.clear()
    assert model.invoke("hi").content
    assert seen == [] and runtime.pools.sync_keys() != []


def test_the_users_client_gets_the_cores_retries_breaker_and_redaction(model_server, runtime):
    seen: list[str] = []
    key = "sk-secret-abcdef123456"
    with _hooked(seen) as client:
        model = ChatOpenAICompat(
            base_url=model_server.url("fail=503"),
            model="m",
            http_client=client,
            api_key=key,
            max_retries=1,
            runtime=runtime,
        )
        with pytest.raises(OpenAICompatError) as caught:
            model.invoke("hi")
        assert len(seen) == 2  # one retry, made on the user's client
        message = str(caught.value)
        assert "503" in message and key not in message and "\n" not in message
        assert runtime.pools.breaker_count() == 2  # the runtime's breakers (origin, model) counted them
        wrong_key = ChatOpenAICompat(
            base_url=model_server.url(f"key={key}x"),
            model="m",
            http_client=client,
            api_key=key,
            runtime=runtime,
        )
        with pytest.raises(OpenAICompatError) as caught:
            wrong_key.invoke("hi")
        assert key not in str(caught.value) and len(seen) == 3  # a 401 is not retried


def test_embeddings_use_the_users_client(model_server, runtime):
    seen: list[str] = []
    with _hooked(seen) as client:
        embeddings = OpenAICompatEmbeddings(
            base_url=model_server.url(), model="e", http_client=client, runtime=runtime
        )
        assert len(embeddings.embed_documents(["a", "b"])) == 2
        assert seen == ["/v1/embeddings"]
        assert runtime.pools.sync_keys() == []


class _NotHttpx2:
    """Stands for an `httpx.Client` (httpx itself is not imported in this project)."""


@pytest.mark.parametrize("field", ["http_client", "http_async_client"])
def test_anything_but_an_httpx2_client_is_refused_at_construction(model_server, field):
    with pytest.raises(ConfigError) as caught:
        ChatOpenAICompat(base_url=model_server.url(), model="m", **{field: _NotHttpx2()})
    message = str(caught.value)
    assert "httpx2." in message and "_NotHttpx2" in message and "\n" not in message
    wrong_kind = httpx2.Client() if field == "http_async_client" else httpx2.AsyncClient()
    with pytest.raises(ConfigError, match=r"httpx2\.(Async)?Client\(\.\.\.\) \(or nothing\)"):
        ChatOpenAICompat(base_url=model_server.url(), model="m", **{field: wrong_kind})


def test_the_users_client_is_never_serialized_or_shown(model_server):
    with httpx2.Client() as client:
        model = ChatOpenAICompat(base_url=model_server.url(), model="m", http_client=client)
        assert "http_client" not in model.model_dump()
        assert "http_client" not in dumps(model)  # nor in LangChain's serialization
        assert "Client object" not in repr(model)
