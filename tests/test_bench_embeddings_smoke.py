"""Keeps `bench/embeddings.py` from rotting: the bench server's `/embeddings` answers the core
client with the vectors the bench checks, float and base64 alike, and the report renders.
The benchmark itself is never run by the test suite."""

from __future__ import annotations

import pytest

from bench.embeddings import _check, _report, _texts, core
from bench.server import start_server
from llm_openai_compat import Client


def test_the_core_embedder_passes_the_benchs_check() -> None:
    texts = _texts("short", 50) + _texts("long", 3)
    with start_server() as port:
        base_url = f"http://127.0.0.1:{port}/v1"
        _check(texts, core(base_url)(texts))
        floats = Client.inline(base_url).embed(texts, model="bench-embed", encoding="float")
        b64 = Client.inline(base_url).embed(texts, model="bench-embed", encoding="base64")
    assert floats.vectors == b64.vectors
    with pytest.raises(AssertionError, match="vectors for"):
        _check(texts, floats.vectors[:-1])


def test_the_report_states_each_target() -> None:
    rows = [
        ("w", "core", [300.0, 150.0, 330.0]), ("w", "sdk", [200.0, 100.0, 300.0]),
        ("w", "langchain-openai", [100.0, 80.0, 160.0]),
    ]
    report = _report(rows, [(2_000, 4.0), (10_000, 4.5)], quick=True)
    assert "| core >= SDK on w | yes |" in report
    assert "| core >= 2x OpenAIEmbeddings on w | yes |" in report
    assert "| flat memory per batch (5x the batches, <= 1.5x the extra) | yes |" in report
    # Ratios are the medians of the per-repetition ratios (3.0, 1.875, 2.0625), not 300/100.
    assert "| w | llm-openai-compat Client.embed | 300 | 1.50x | 2.06x |" in report
    rows[0] = ("w", "core", [300.0, 150.0, 300.0])  # per repetition: 3.0, 1.875, 1.875
    assert "| core >= 2x OpenAIEmbeddings on w | **no** |" in _report(rows, [(1, 1.0), (2, 1.0)], True)
