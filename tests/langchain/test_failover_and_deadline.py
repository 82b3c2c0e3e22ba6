"""LangChain: fallbacks of a provider from the settings file (`served_by` in response_metadata),
`deadline=` on the model and per call, and a stall before the first byte being retried."""

from __future__ import annotations

import json
import uuid

import pytest
from langchain_core.exceptions import ModelTimeoutError

from langchain_adapter import ChatOpenAICompat, OpenAICompatEmbeddings
from llm_openai_compat import DeadlineExceeded

pytestmark = pytest.mark.timeout(60)


def _file(tmp_path, **providers):
    path = tmp_path / f"s-{uuid.uuid4().hex[:6]}.json"
    path.write_text(json.dumps({"providers": providers}))
    return path


def test_fallbacks_apply_to_a_provider_from_the_file(model_server, tmp_path):
    path = _file(
        tmp_path,
        a={
            "baseURL": model_server.url("fail=503"),
            "maxRetries": 0,
            "fallbacks": [{"provider": "b", "model": "m2"}],
        },
        b={"baseURL": model_server.url()},
    )
    chat = ChatOpenAICompat(provider="a", model="m", settings_path=str(path))
    message = chat.invoke("hi")
    assert message.content == "Hello! You said: hi."
    assert message.response_metadata["served_by"] == "b"
    assert message.response_metadata["fallback_from"] == ["a"]
    assert message.response_metadata["model_provider"] == "openai"  # the dialect, unchanged
    chunks = list(chat.stream("hi"))
    merged = chunks[0]
    for piece in chunks[1:]:
        merged += piece
    assert merged.response_metadata["served_by"] == "b"


async def test_fallbacks_apply_async(model_server, tmp_path):
    path = _file(
        tmp_path,
        a={
            "baseURL": model_server.url("fail=502"),
            "maxRetries": 0,
            "fallbacks": [{"provider": "b"}],
        },
        b={"baseURL": model_server.url()},
    )
    message = await ChatOpenAICompat(provider="a", model="m", settings_path=str(path)).ainvoke("hi")
    assert message.response_metadata["served_by"] == "b"


def test_deadline_on_the_model_and_per_call(model_server):
    chat = ChatOpenAICompat(
        base_url=model_server.url("delay=50", "words=200"), model="m", deadline=0.5, timeout=5
    )
    with pytest.raises(DeadlineExceeded) as caught:
        list(chat.stream("hi"))
    assert isinstance(caught.value, ModelTimeoutError)
    assert "0.5 s deadline (deadline)" in str(caught.value)
    unbounded = ChatOpenAICompat(base_url=model_server.url("delay=50", "words=200"), model="m")
    with pytest.raises(DeadlineExceeded, match=r"0\.4 s deadline"):
        list(unbounded.stream("hi", deadline=0.4))


def test_embeddings_take_a_deadline(model_server):
    embeddings = OpenAICompatEmbeddings(
        base_url=model_server.url("fail=503"), model="e", deadline=0.2, max_retries=5
    )
    with pytest.raises(DeadlineExceeded):
        embeddings.embed_documents(["a"])


def test_a_stall_before_the_first_byte_is_retried(model_server):
    token = uuid.uuid4().hex[:8]
    chat = ChatOpenAICompat(
        base_url=model_server.url("stall-first=1", "stall=2000", f"t={token}"),
        model="m",
        timeout=0.4,
    )
    assert "".join(c.content for c in chat.stream("hi")) == "Hello! You said: hi."


def test_the_deadline_holds_with_a_given_http_client(model_server):
    """A given `http_client=` binds the core client at construction; the model's deadline
    must still travel with it (it once did not, so the call ran unbounded)."""
    import httpx2

    with httpx2.Client() as http, httpx2.Client() as http_embed:
        chat = ChatOpenAICompat(
            base_url=model_server.url("delay=50", "words=200"), model="m", deadline=0.5,
            timeout=5, http_client=http,
        )
        with pytest.raises(DeadlineExceeded, match=r"0\.5 s deadline"):
            list(chat.stream("hi"))
        embeddings = OpenAICompatEmbeddings(
            base_url=model_server.url("fail=503"), model="e", deadline=0.2, max_retries=5,
            http_client=http_embed,
        )
        with pytest.raises(DeadlineExceeded):
            embeddings.embed_documents(["a"])
