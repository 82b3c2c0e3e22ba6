"""Per-model capabilities read from the listings servers publish (recorded fixtures)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from llm_openai_compat import capabilities_from_item
from llm_openai_compat.capabilities import (
    llamacpp_props_capabilities,
    merge_capabilities,
    ollama_show_capabilities,
)
from llm_openai_compat.discovery import classify_models

FIXTURES = Path(__file__).parent / "fixtures" / "transcripts-more"


def _body(name: str) -> Any:
    text = (FIXTURES / f"{name}.txt").read_text(encoding="utf-8")
    return json.loads("\n".join(line for line in text.splitlines() if not line.startswith("#")))


def test_lmstudio_listing_tells_vision_tools_and_embeddings_apart():
    listing = classify_models(_body("lmstudio__models__listing_api_v0_models"))
    caps = listing.capabilities
    assert caps["openai/gpt-oss-20b"]["tools"] is True
    assert caps["openai/gpt-oss-20b"]["images"] is False
    assert caps["openai/gpt-oss-20b"]["contextLength"] == 131072
    assert caps["llava-v1.5-7b-llamafile"]["images"] is True
    assert caps["llava-v1.5-7b-llamafile"]["tools"] is False  # no `capabilities` listed
    embedding = [m for m, c in caps.items() if c.get("embedding")]
    assert embedding and set(embedding) <= set(listing.embedding_models)
    assert not set(embedding) & set(listing.models)


def test_openrouter_listing_reads_modalities_and_supported_parameters():
    listing = classify_models(_body("openrouter__models__listing_api_v1_models_excerpt"))
    sonnet = listing.capabilities["anthropic/claude-sonnet-4"]
    assert sonnet["images"] is True and sonnet["pdf"] is True and sonnet["audio"] is False
    assert sonnet["tools"] is True and sonnet["contextLength"] == 1000000
    # Every model of the excerpt states its parameters: none is left to the provider probe.
    assert set(listing.capabilities) == set(listing.models)
    for model, caps in listing.capabilities.items():
        params = next(
            m["supported_parameters"]
            for m in _body("openrouter__models__listing_api_v1_models_excerpt")["data"]
            if m["id"] == model
        )
        assert caps["tools"] is ("tools" in params)
        assert caps["jsonSchema"] is ("structured_outputs" in params)


def test_llamacpp_meta_and_vllm_max_model_len_give_context_length():
    listing = classify_models(_body("llamacpp__models__listing_v1_models_docs"))
    assert list(listing.capabilities.values()) == [{"contextLength": 131072}]
    vllm = {"id": "Qwen/Qwen3-8B", "object": "model", "owned_by": "vllm", "max_model_len": 32768}
    assert capabilities_from_item(vllm) == {"contextLength": 32768}


def test_plain_listings_state_nothing():
    assert classify_models(_body("openai__models__listing_v1_models")).capabilities == {}
    assert classify_models(_body("ollama__models__listing_api_tags_docs")).capabilities == {}


def test_ollama_show_and_llamacpp_props():
    show = {
        "capabilities": ["completion", "vision", "tools"],
        "model_info": {"general.architecture": "gemma3", "gemma3.context_length": 131072},
    }
    assert ollama_show_capabilities(show) == {
        "chat": True, "embedding": False, "tools": True, "images": True, "audio": False,
        "reasoning": False, "contextLength": 131072,
    }
    assert ollama_show_capabilities({"capabilities": ["embedding"]})["embedding"] is True
    assert ollama_show_capabilities("not an object") == {}
    props = {"modalities": {"vision": True, "audio": False},
             "default_generation_settings": {"n_ctx": 8192}}
    assert llamacpp_props_capabilities(props) == {"images": True, "audio": False, "contextLength": 8192}


def test_a_model_entry_overrides_the_provider_probe():
    assert merge_capabilities({"tools": True, "streaming": True}, {"tools": False}) == {
        "tools": False, "streaming": True,
    }
