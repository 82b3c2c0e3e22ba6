"""`OpenAICompatEmbeddings` beyond the standard suites: configured from the settings file,
errors as LangChain's, options that reach the wire, async on the core's AsyncClient."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from langchain_core.exceptions import LangChainException

from langchain_adapter import OpenAICompatEmbeddings
from llm_openai_compat import ConfigError, NotFound, StreamError
from tests.support.model_server import expected_vector
from tests.support.model_server_fixture import ModelServer


def _settings(path: Path, base_url: str, **provider: Any) -> str:
    entry = {"baseURL": base_url, "maxRetries": 0, **provider}
    path.write_text(json.dumps({"providers": {"local": entry}, "active": {"provider": "local"}}))
    return str(path)


def test_provider_from_the_settings_file(model_server: ModelServer, tmp_path: Path) -> None:
    file = _settings(
        tmp_path / "s.json", model_server.url(),
        embeddingModels=[{"id": "sim-embed", "dimensions": 12}, "other"],
    )
    embeddings = OpenAICompatEmbeddings(provider="local", settings_path=file)
    assert (embeddings.model, embeddings.dimensions, embeddings.provider_id) == ("sim-embed", 12, "local")
    assert embeddings.embed_query("hi") == expected_vector("hi", 12)
    assert model_server.last_body()["dimensions"] == 12
    other = OpenAICompatEmbeddings(settings_path=file, model="other")  # the active provider
    assert other.dimensions is None and other.embed_query("hi") == expected_vector("hi")


def test_chunk_size_and_encoding_reach_the_wire(model_server: ModelServer) -> None:
    embeddings = OpenAICompatEmbeddings(
        base_url=model_server.url(), model="sim-embed", chunk_size=3, encoding="float",
        max_concurrency=1,
    )
    model_server.reset()
    texts = [f"t{i}" for i in range(7)]
    assert embeddings.embed_documents(texts) == [expected_vector(t) for t in texts]
    bodies = [r["body"] for r in model_server.requests()]
    assert [len(b["input"]) for b in bodies] == [3, 3, 1]
    assert all("encoding_format" not in b for b in bodies)


async def test_async_matches_sync(model_server: ModelServer) -> None:
    embeddings = OpenAICompatEmbeddings(base_url=model_server.url("shuffle"), model="sim-embed", chunk_size=2)
    texts = [f"doc {i}" for i in range(9)]
    assert await embeddings.aembed_documents(texts) == embeddings.embed_documents(texts)
    assert await embeddings.aembed_query("q") == expected_vector("q")


def test_errors_are_the_cores_and_langchains(model_server: ModelServer) -> None:
    embeddings = OpenAICompatEmbeddings(base_url=model_server.url("fail=404"), model="x", max_retries=0)
    with pytest.raises(NotFound) as caught:
        embeddings.embed_query("hi")
    assert isinstance(caught.value, LangChainException)
    broken = OpenAICompatEmbeddings(base_url=model_server.url("nan"), model="x")
    with pytest.raises(StreamError, match="NaN"):
        broken.embed_documents(["a", "b"])


def test_bad_configuration_fails_at_construction(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no embedding model given"):
        OpenAICompatEmbeddings(base_url="http://127.0.0.1:9/v1")
    file = _settings(tmp_path / "s.json", "http://127.0.0.1:9/v1")
    with pytest.raises(ConfigError, match="no provider named 'nope'"):
        OpenAICompatEmbeddings(provider="nope", settings_path=file)
    with pytest.raises(ConfigError, match="either provider or base_url"):
        OpenAICompatEmbeddings(provider="local", base_url="http://127.0.0.1:9/v1", model="m")


def test_the_key_is_never_shown(model_server: ModelServer) -> None:
    canary = "sk-lc-embed-" + "K" * 30
    embeddings = OpenAICompatEmbeddings(base_url=model_server.url(), model="m", api_key=canary)
    assert canary not in repr(embeddings) and canary not in str(embeddings.model_dump())
    embeddings.embed_query("hi")
    assert model_server.requests()[-1]["headers"]["authorization"] == f"Bearer {canary}"
