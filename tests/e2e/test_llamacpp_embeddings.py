"""Embeddings against llama-cpp-python's real server in embedding mode (the tiny GGUF of
`tiny_gguf.py --embedding`: one-hot token embeddings, mean pooling, 384 dimensions): the core
client, `OpenAICompatEmbeddings` (sync and async) and `llm embed` / `llm embed-multi`, each
compared with the vectors the server itself answers to a plain request."""

from __future__ import annotations

import json
import math
import sqlite3
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from langchain_adapter import OpenAICompatEmbeddings
from llm_openai_compat import AsyncClient, Client
from tests.support.llamacpp_server import EMBED_MODEL

pytestmark = pytest.mark.timeout(180)

TEXTS = ["Hey", "Oslo", "Hey Oslo", "Say hello."]


def _reference(server: Any, texts: list[str]) -> list[list[float]]:
    """The server's own vectors, asked for with the standard library (floats)."""
    request = urllib.request.Request(
        server.base_url + "/embeddings",
        data=json.dumps({"model": EMBED_MODEL, "input": texts}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as answer:
        data = json.loads(answer.read())["data"]
    return [item["embedding"] for item in sorted(data, key=lambda item: item["index"])]


def _same(got: list[list[float]], expected: list[list[float]]) -> bool:
    return len(got) == len(expected) and all(
        len(a) == len(b) and all(math.isclose(x, y, rel_tol=1e-6, abs_tol=1e-7) for x, y in zip(a, b, strict=True))
        for a, b in zip(got, expected, strict=True)
    )


@pytest.fixture(scope="module")
def reference(llamacpp_server: Any) -> list[list[float]]:
    vectors = _reference(llamacpp_server, TEXTS)
    assert len(vectors[0]) == 384 and vectors[0] != vectors[1]
    return vectors


async def test_the_core_client_sync_and_async(llamacpp_server: Any, reference: Any) -> None:
    client = Client.inline(llamacpp_server.base_url, profile="llama-cpp-python", max_retries=0)
    assert _same(client.embed(TEXTS, model=EMBED_MODEL).vectors, reference)
    assert _same(client.embed(TEXTS, model=EMBED_MODEL, batch_size=1).vectors, reference)
    aclient = AsyncClient.inline(llamacpp_server.base_url, profile="llama-cpp-python", max_retries=0)
    assert _same((await aclient.embed(TEXTS, model=EMBED_MODEL)).vectors, reference)


async def test_langchain_embeddings(llamacpp_server: Any, reference: Any) -> None:
    embeddings = OpenAICompatEmbeddings(
        base_url=llamacpp_server.base_url, model=EMBED_MODEL, vendor_profile="llama-cpp-python",
        max_retries=0, chunk_size=2,
    )
    assert _same(embeddings.embed_documents(TEXTS), reference)
    assert _same([embeddings.embed_query("Oslo")], [reference[1]])
    assert _same(await embeddings.aembed_documents(TEXTS), reference)


def test_llm_embed_and_embed_multi(llamacpp_server: Any, reference: Any, isolated_user_dir: Path,
                                   tmp_path: Path) -> None:
    import llm.cli
    from click.testing import CliRunner

    provider = {"baseURL": llamacpp_server.base_url, "profile": "llama-cpp-python",
                "embeddingModels": [EMBED_MODEL], "maxRetries": 0}
    (isolated_user_dir / "openai-compat.json").write_text(json.dumps({"providers": {"lcpp": provider}}))
    runner = CliRunner()
    done = runner.invoke(llm.cli.cli, ["embed", "-m", f"lcpp/{EMBED_MODEL}", "-c", "Oslo"])
    assert done.exit_code == 0, done.output
    assert _same([json.loads(done.stdout)], [reference[1]])

    rows = tmp_path / "rows.csv"
    rows.write_text("id,text\n" + "".join(f"{i},{TEXTS[i % 4]}\n" for i in range(40)))
    db = tmp_path / "e.db"
    done = runner.invoke(llm.cli.cli, ["embed-multi", "notes", str(rows), "-m", f"lcpp/{EMBED_MODEL}",
                                       "-d", str(db), "--batch-size", "16"])
    assert done.exit_code == 0, done.output
    import llm

    collection = llm.Collection("notes", sqlite_utils_db(db))
    assert collection.count() == 40
    with sqlite3.connect(db) as conn:
        stored = dict(conn.execute("select id, embedding from embeddings").fetchall())
    assert _same([llm.decode(stored["5"])], [reference[1]])  # row 5 is "Oslo"


def sqlite_utils_db(path: Path) -> Any:
    import sqlite_utils

    return sqlite_utils.Database(path)


def test_add_discover_puts_the_embedding_model_apart(llamacpp_server: Any, isolated_user_dir: Path) -> None:
    """llama-cpp-python's `/v1/models` marks nothing (no type, no capabilities): the model id
    (`tiny-embed`) is what tells it apart, and `add --discover` stores it as an embedding model;
    `llm embed` then works with no hand editing."""
    import llm.cli
    from click.testing import CliRunner

    runner = CliRunner()
    done = runner.invoke(llm.cli.cli, ["openai-compat", "add", "lcpp", "--base-url",
                                       llamacpp_server.base_url, "--discover"])
    assert done.exit_code == 0, done.output
    stored = json.loads((isolated_user_dir / "openai-compat.json").read_text())["providers"]["lcpp"]
    assert stored["embeddingModels"] == [EMBED_MODEL]
    assert EMBED_MODEL not in stored["models"]
    done = runner.invoke(llm.cli.cli, ["embed", "-m", f"lcpp/{EMBED_MODEL}", "-c", "Hey"])
    assert done.exit_code == 0, done.output
    assert len(json.loads(done.stdout)) == 384
