"""Embeddings through the real `llm` CLI (click's CliRunner on `llm.cli.cli`) against the local
model server: `llm embed-models`, `llm embed`, `llm embed-multi` on a 10,000-row CSV (llm's
batches of 100, split again by the core where the server refuses them), `llm similar`, and
the errors a user can meet."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import llm
import pytest

from tests.support.model_server import expected_vector

from .conftest import sim

pytestmark = pytest.mark.timeout(120)


def _provider(base_url: str, **fields: Any) -> dict[str, Any]:
    return sim(
        base_url, "sim-model",
        embeddingModels=["sim-embed", {"id": "sim-embed-16", "dimensions": 16}], **fields,
    )


def test_embed_models_lists_the_providers_embedding_models(run_llm, write_settings) -> None:
    # Nothing listens on port 9: registration makes no request.
    write_settings(local=_provider("http://127.0.0.1:9/v1"))
    result = run_llm("embed-models")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "OpenAI-compatible embeddings: local/sim-embed" in lines
    assert "OpenAI-compatible embeddings: local/sim-embed-16" in lines
    chat = run_llm("models").stdout
    assert "local/sim-model" in chat and "local/sim-embed" not in chat


def test_embed_one_string(run_llm, write_settings, model_server) -> None:
    write_settings(local=_provider(model_server.url()))
    result = run_llm("embed", "-m", "local/sim-embed", "-c", "hello")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == expected_vector("hello")
    result = run_llm("embed", "-m", "local/sim-embed-16", "-c", "hello")
    assert json.loads(result.stdout) == expected_vector("hello", 16)
    assert model_server.last_body()["dimensions"] == 16


def _db(user_dir: Path) -> Any:
    import sqlite_utils

    return sqlite_utils.Database(user_dir / "embeddings.db")


def test_embed_multi_on_a_10000_row_csv_then_similar(
    run_llm, write_settings, model_server, isolated_user_dir, tmp_path
) -> None:
    # The server refuses more than 30 inputs: llm's batches of 100 are halved by the core.
    write_settings(local=_provider(model_server.url("max-inputs=30", "shuffle")))
    path = tmp_path / "rows.csv"
    rows = [(f"row{i}", f"note {i} about {['cats', 'dogs', 'owls'][i % 3]}") for i in range(10_000)]
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "content"])
        writer.writerows(rows)
    model_server.reset()
    result = run_llm("embed-multi", "notes", str(path), "-m", "local/sim-embed", "--store")
    assert result.exit_code == 0, result.output
    db = _db(isolated_user_dir)
    assert db["embeddings"].count == 10_000
    for row_id, content in (rows[0], rows[4_321], rows[-1]):
        stored = next(db["embeddings"].rows_where("id = ?", [row_id]))
        assert stored["content"] == content
        assert llm.decode(stored["embedding"]) == pytest.approx(expected_vector(content))
    sizes = [len(r["body"]["input"]) for r in model_server.requests()]
    assert sizes[:2] == [100, 50]  # llm's batch of 100 reached the server, then was halved
    refused = [s for s in sizes if s > 30]
    assert sum(s for s in sizes if s <= 30) == 10_000  # every input accepted exactly once
    assert len(refused) <= 6  # learned once for the process, not refused per llm batch

    similar = run_llm("similar", "notes", "-c", rows[77][1], "-n", "3")
    assert similar.exit_code == 0, similar.output
    top = json.loads(similar.stdout.splitlines()[0])
    assert top["id"] == "row77" and top["score"] == pytest.approx(1.0)


def test_embed_multi_honours_llms_batch_size(run_llm, write_settings, model_server, tmp_path) -> None:
    write_settings(local=_provider(model_server.url()))
    path = tmp_path / "rows.json"
    path.write_text(json.dumps([{"id": i, "text": f"item {i}"} for i in range(25)]))
    model_server.reset()
    result = run_llm("embed-multi", "items", str(path), "-m", "local/sim-embed", "--batch-size", "10")
    assert result.exit_code == 0, result.output
    assert [len(r["body"]["input"]) for r in model_server.requests()] == [10, 10, 5]


def test_a_server_error_is_one_line(run_llm, write_settings, model_server) -> None:
    write_settings(local=_provider(model_server.url("no-index")))
    result = run_llm("embed", "-m", "local/sim-embed", "-c", "hello")
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "without an integer `index`" in lines[0], result.output
    write_settings(local=_provider(model_server.url("fail=404")))
    result = run_llm("embed", "-m", "local/sim-embed", "-c", "hello")
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: Not found (provider 'local'")
    assert "/embeddings" in lines[0]


def test_binary_input_is_refused_before_any_request(write_settings, model_server) -> None:
    write_settings(local=_provider(model_server.url()))
    model = llm.get_embedding_model("local/sim-embed")
    assert model.supports_text and not model.supports_binary
    model_server.reset()
    with pytest.raises(ValueError, match="does not support binary data"):
        model.embed(b"\x00\x01")
    from llm_openai_compat.plugin.embeddings import EmbeddingError

    with pytest.raises(EmbeddingError, match="embeds text only"):
        list(model.embed_batch([b"\x00\x01"]))  # past llm's own check, ours still refuses
    assert model_server.requests() == []


def test_binary_input_where_a_profile_takes_it(write_settings, model_server, runtime) -> None:
    from llm_openai_compat.config.profiles import Profile

    runtime.register_profile(Profile(name="binary-embeds", embedding_binary_input=True))
    write_settings(local=_provider(model_server.url(), profile="binary-embeds"))
    model = llm.get_embedding_model("local/sim-embed")
    assert model.supports_binary
    assert model.embed(b"\x00\x01") == expected_vector("AAE=")  # sent as base64 text


def test_an_embedding_model_keeps_the_settings_it_was_made_from(
    write_settings, model_server
) -> None:
    """As the chat models: llm makes models anew for every command and
    `llm.get_embedding_model`, which see an edit; a model made before it does not."""
    write_settings(local=_provider(model_server.url("run=before")))
    model = llm.get_embedding_model("local/sim-embed")
    write_settings(local=_provider(model_server.url("run=after"), headers={"X-Edited": "yes"}))
    model_server.reset()
    assert model.embed("hello") == expected_vector("hello")
    assert "run=before" in model_server.requests()[-1]["path"]
    assert llm.get_embedding_model("local/sim-embed").embed("hello") == expected_vector("hello")
    assert "run=after" in model_server.requests()[-1]["path"]
    assert model_server.requests()[-1]["headers"].get("x-edited") == "yes"


def test_add_discover_and_refresh_store_embedding_models(
    run_llm: Any, model_server: Any, settings_file: Any
) -> None:
    result = run_llm("openai-compat", "add", "sim", "--base-url", model_server.url(), "--discover")
    assert result.exit_code == 0, result.output
    assert "with 3 models and 1 embedding model" in result.stdout
    stored = json.loads(settings_file.read_text())["providers"]["sim"]
    assert stored["models"] == ["sim-model", "sim-model-mini", "sim-reasoner"]
    assert stored["embeddingModels"] == ["sim-embed"]
    # Dimensions set by hand survive a refresh.
    data = json.loads(settings_file.read_text())
    data["providers"]["sim"]["embeddingModels"] = [{"id": "sim-embed", "dimensions": 4}]
    settings_file.write_text(json.dumps(data))
    listed = run_llm("openai-compat", "models", "sim", "--refresh")
    assert listed.exit_code == 0, listed.output
    assert ["sim/sim-embed", "embedding", "yes"] in [
        line.split()[:3] for line in listed.stdout.splitlines()
    ]
    stored = json.loads(settings_file.read_text())["providers"]["sim"]
    assert stored["embeddingModels"] == [{"id": "sim-embed", "dimensions": 4}]
    assert "sim-embed" not in stored["models"]
    embed_models = run_llm("embed-models").stdout
    assert "sim/sim-embed" in embed_models


EMBED_STARTUP_PROBE = """
import json, sys
import llm, llm.cli
before = set(sys.modules)
ids = [m.model_id for m in llm.get_embedding_models() if m.model_id.startswith("p/")]
print(json.dumps({"ids": ids, "new": sorted(set(sys.modules) - before)}))
"""


def test_registering_embedding_models_loads_no_client_and_sends_nothing(tmp_path) -> None:
    import subprocess
    import sys

    from .test_resilience import _subprocess_env

    settings = tmp_path / "s.json"
    provider = {"baseURL": "http://127.0.0.1:9/v1", "embeddingModels": [f"e{i}" for i in range(50)]}
    settings.write_text(json.dumps({"providers": {"p": provider}}))
    done = subprocess.run(
        [sys.executable, "-c", EMBED_STARTUP_PROBE], env=_subprocess_env(tmp_path, settings),
        capture_output=True, text=True, timeout=30,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["ids"] == [f"p/e{i}" for i in range(50)]
    heavy = ("httpx2", "langchain_core", "keyring")
    assert not [m for m in report["new"] if m.split(".")[0] in heavy]
    for module in ("client", "call", "embeddings", "http.transport", "wire.embeddings"):
        assert f"llm_openai_compat.{module}" not in report["new"]
