"""Embeddings end to end through a real LiteLLM proxy: its mock embeddings (one vector, as
LiteLLM's mock answers) and `/embeddings` routed to the model server (a vector per input),
from the core, `llm embed` / `llm embed-multi` on a 10,000-row CSV, and LangChain."""

from __future__ import annotations

import csv
import json
from typing import Any

import pytest

from llm_openai_compat import AsyncClient, Client, StreamError
from tests.support.litellm_proxy import MOCK_VECTOR
from tests.support.model_server import expected_vector

pytestmark = pytest.mark.timeout(600)
TEXTS = [f"passage {i} on {'rivers' if i % 2 else 'hills'}" for i in range(300)]


def _client(proxy: Any, cls: Any = Client) -> Any:
    return cls.inline(proxy.base_url + "/v1", api_key=proxy.master_key, profile="litellm", max_retries=1)


def test_core_on_litellms_mock_embeddings(litellm_proxy: Any) -> None:
    result = _client(litellm_proxy).embed(["hello"], model="mock-embed")
    assert result.vectors == [MOCK_VECTOR]
    # The mock answers one vector whatever it was sent: a typed error, not a wrong answer.
    with pytest.raises(StreamError, match="1 vectors for 2 inputs"):
        _client(litellm_proxy).embed(["a", "b"], model="mock-embed")


@pytest.mark.parametrize("encoding", ["float", "base64"])
async def test_core_through_the_proxy_to_a_server(litellm_proxy: Any, encoding: str) -> None:
    result = _client(litellm_proxy).embed(TEXTS, model="sim-embed", encoding=encoding, batch_size=64)
    assert result.vectors == [expected_vector(t) for t in TEXTS]
    again = await _client(litellm_proxy, AsyncClient).embed(TEXTS, model="sim-embed", encoding=encoding)
    assert again.vectors == result.vectors


@pytest.fixture
def llm_cli(litellm_proxy: Any, isolated_user_dir: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    llm_cli = pytest.importorskip("llm.cli", reason="llm is not installed")
    from click.testing import CliRunner


    monkeypatch.setenv("LITELLM_E2E_KEY", litellm_proxy.master_key)
    provider = {
        "baseURL": litellm_proxy.base_url + "/v1",
        "apiKeyRef": {"kind": "env", "name": "LITELLM_E2E_KEY"},
        "profile": "litellm",
        "maxRetries": 1,
        "embeddingModels": ["mock-embed", "sim-embed"],
    }
    (isolated_user_dir / "openai-compat.json").write_text(json.dumps({"providers": {"litellm": provider}}))

    def run(*args: str) -> Any:
        return CliRunner().invoke(llm_cli.cli, list(args), catch_exceptions=False)

    return run


def test_llm_embed_and_embed_multi(llm_cli: Any, isolated_user_dir: Any, tmp_path: Any) -> None:
    listed = llm_cli("embed-models")
    assert "litellm/mock-embed" in listed.stdout and "litellm/sim-embed" in listed.stdout
    one = llm_cli("embed", "-m", "litellm/mock-embed", "-c", "hello")
    assert one.exit_code == 0, one.output
    assert json.loads(one.stdout) == MOCK_VECTOR
    path = tmp_path / "rows.csv"
    rows = [(f"r{i}", f"line {i} of the corpus") for i in range(10_000)]
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "content"])
        writer.writerows(rows)
    many = llm_cli("embed-multi", "corpus", str(path), "-m", "litellm/sim-embed")
    assert many.exit_code == 0, many.output
    import llm
    import sqlite_utils

    db = sqlite_utils.Database(isolated_user_dir / "embeddings.db")
    assert db["embeddings"].count == 10_000
    for row_id, content in (rows[0], rows[9_999]):
        stored = next(db["embeddings"].rows_where("id = ?", [row_id]))
        assert llm.decode(stored["embedding"]) == pytest.approx(expected_vector(content))
    similar = llm_cli("similar", "corpus", "-c", rows[123][1], "-n", "1")
    assert json.loads(similar.stdout.splitlines()[0])["id"] == "r123"


async def test_langchain_embeddings_through_the_proxy(litellm_proxy: Any) -> None:
    from langchain_adapter import OpenAICompatEmbeddings

    embeddings = OpenAICompatEmbeddings(
        base_url=litellm_proxy.base_url + "/v1", api_key=litellm_proxy.master_key,
        model="sim-embed", vendor_profile="litellm", chunk_size=50,
    )
    assert embeddings.embed_documents(TEXTS[:120]) == [expected_vector(t) for t in TEXTS[:120]]
    assert await embeddings.aembed_query("q") == expected_vector("q")
