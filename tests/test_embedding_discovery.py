"""Discovery puts embedding models in `embeddingModels`, never in `models`: LM Studio's
`type`, Ollama's capabilities or encoder-only family, and names with `embed` (OpenAI's
`/models`). The commands that store them are tested in tests/plugin/test_embeddings.py."""

from __future__ import annotations

from typing import Any

import pytest

from llm_openai_compat.discovery import ModelListing, classify_models, list_model_listing
from tests.test_discovery import LMSTUDIO_V0, OLLAMA_TAGS, OPENAI_LIST

OLLAMA_WITH_EMBEDDERS = {
    "models": [
        *OLLAMA_TAGS["models"],
        {"name": "nomic-embed-text:latest", "details": {"family": "nomic-bert"}},
        {"name": "mxbai-large:latest", "details": {"family": "bert", "families": ["bert"]}},
        {"name": "bge-m3:567m", "details": {"families": ["xlm-roberta"]}},
        {"name": "qwen3-embedding:0.6b", "details": {"family": "qwen3"}},
        {"name": "tool-model", "capabilities": ["completion", "tools"]},
        {"name": "plain-embedder", "capabilities": ["embedding"]},
    ]
}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (LMSTUDIO_V0, ModelListing(
            ["meta-llama-3.1-8b-instruct", "qwen2-vl-7b-instruct"],
            ["text-embedding-nomic-embed-text-v1.5"],
        )),
        (OPENAI_LIST, ModelListing(
            ["meta-llama-3.1-8b-instruct", "qwen2-vl-7b-instruct"],
            ["text-embedding-nomic-embed-text-v1.5"],
        )),
        (OLLAMA_WITH_EMBEDDERS, ModelListing(
            ["llama3.2:latest", "qwen3:8b", "tool-model"],
            ["bge-m3:567m", "mxbai-large:latest", "nomic-embed-text:latest", "plain-embedder",
             "qwen3-embedding:0.6b"],
        )),
        (["text-embedding-3-small", "gpt-4o"], ModelListing(["gpt-4o"], ["text-embedding-3-small"])),
        ({"data": [{"id": "x", "type": "tts"}]}, ModelListing([], [])),
    ],
)
def test_classify_models(body: Any, expected: ModelListing) -> None:
    # What each entry states (`capabilities`) is tested in tests/test_capabilities.py.
    found = classify_models(body)
    assert (found.models, found.embedding_models) == (expected.models, expected.embedding_models)


def test_a_stated_type_wins_over_the_name() -> None:
    body = {"data": [{"id": "embedded-chat", "type": "llm"}]}
    found = classify_models(body)
    assert (found.models, found.embedding_models) == (["embedded-chat"], [])


def test_the_ollama_listing_over_http(fault_server: Any) -> None:
    fault_server.reset()
    fault_server.enqueue({"status": 200, "json": OLLAMA_WITH_EMBEDDERS})
    listing = list_model_listing(fault_server.base_url + "/v1", profile="ollama")
    assert "nomic-embed-text:latest" in listing.embedding_models
    assert "nomic-embed-text:latest" not in listing.models
