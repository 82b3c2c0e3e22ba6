"""Scaling out end to end: examples/ray_batch.py (Ray Data `map_batches`, a class-based UDF
holding the models) and examples/dask_batch.py (`LocalCluster(processes=True)`) run with 2
worker processes against the model server, and through a LiteLLM proxy in front of it.

Ray and Dask live in a cached venv of their own (tests/support/engines.py); when they cannot
be installed the tests skip and the terminal summary prints why. The server checks a key whose
SHA-256 is in its URL, so every row proves a worker resolved the key reference from its own
environment (the pickles hold only the variable's name); every vector is compared with the
server's deterministic one and every label with the row's topic, so a lost, duplicated or
crossed response fails the test.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

import pytest

from tests.support.engines import run_example
from tests.support.litellm_proxy import LIMITED_PARALLEL
from tests.support.model_server import expected_vector

pytestmark = pytest.mark.timeout(900)

KEY = "sk-scale-out-4d2b8e1a"
DIGEST = hashlib.sha256(KEY.encode()).hexdigest()
LABELS = ("sports", "science", "cooking")
ROWS = 240


def _check(out: Path, rows: int) -> None:
    got = [json.loads(line) for line in out.read_text().splitlines()]
    assert [row["id"] for row in got] == list(range(rows)), "a row was lost or duplicated"
    for row in got:
        assert row["text"] == f"row {row['id']}: a short note about {LABELS[row['id'] % 3]}"
        assert row["label"] == LABELS[row["id"] % 3], row
        expected = expected_vector(row["text"])
        assert len(row["embedding"]) == len(expected)
        assert all(math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-7)
                   for a, b in zip(row["embedding"], expected, strict=True)), row["id"]


def _run(engines: Path, script: str, base_url: str, out: Path, *extra: str,
         env: dict[str, str]) -> None:
    done = run_example(
        engines, script, "--base-url", base_url, "--out", str(out), "--rows", str(ROWS),
        "--workers", "2", "--concurrency", "4", "--batch-size", "40", *extra, env=env,
    )
    assert done.returncode == 0, (done.stdout[-2000:], done.stderr[-4000:])
    assert f"{ROWS} rows embedded and classified with 2 workers" in done.stdout


@pytest.mark.parametrize("script", ["ray_batch.py", "dask_batch.py"])
def test_the_example_embeds_and_classifies_every_row_in_two_workers(
    engines: Path, model_server: Any, tmp_path: Path, script: str
) -> None:
    model_server.reset()
    out = tmp_path / "out.jsonl"
    _run(engines, script, model_server.url(f"key-sha256={DIGEST}"), out,
         "--embed-model", "embed-m", "--chat-model", "chat-m", "--api-key-env", "SCALE_KEY",
         env={"SCALE_KEY": KEY})
    _check(out, ROWS)
    seen = model_server.requests()
    assert all(r["headers"].get("authorization") == f"Bearer {KEY}" for r in seen)
    embeds = [r for r in seen if r["path"].endswith("/embeddings")]
    chats = [r for r in seen if r["path"].endswith("/chat/completions")]
    assert sum(len(r["body"]["input"]) for r in embeds) == ROWS
    assert len(chats) == ROWS


@pytest.mark.parametrize("script", ["dask_batch.py", "ray_batch.py"])
def test_workers_through_a_litellm_proxy_share_one_gateway(
    engines: Path, litellm_proxy: Any, model_server: Any, tmp_path: Path, script: str
) -> None:
    """The setup the README recommends for a fleet: every worker sends to the proxy (one place
    for rate limits and keys), which forwards to the server (`sim-*` routes upstream)."""
    model_server.reset()
    out = tmp_path / "out.jsonl"
    _run(engines, script, litellm_proxy.base_url + "/v1", out,
         "--embed-model", "sim-embed", "--chat-model", "sim-model", "--api-key-env", "PROXY_KEY",
         env={"PROXY_KEY": litellm_proxy.master_key})
    _check(out, ROWS)
    seen = model_server.requests()
    # Everything reached the server through the proxy: its own upstream key, never the workers'.
    assert seen and all(r["headers"].get("authorization") == "Bearer none" for r in seen)
    assert len([r for r in seen if r["path"].endswith("/chat/completions")]) == ROWS


def test_a_fleet_sized_to_the_gateway_limit_completes_within_it(
    engines: Path, litellm_proxy: Any, model_server: Any, tmp_path: Path
) -> None:
    """README's advice for a shared limit: it lives in the gateway (`max_parallel_requests` per
    deployment, LIMITED_PARALLEL), and workers x max_concurrency is kept at or below it, since
    LiteLLM answers 429 beyond it and a run of 429s opens each worker's breaker for that model.
    Sized so, every row arrives exactly once and the server, holding each request 30 ms, never
    serves more than the limit of one deployment at once."""
    model_server.reset()
    out = tmp_path / "out.jsonl"
    workers = 2
    per_worker = LIMITED_PARALLEL // workers
    _run(engines, "dask_batch.py", litellm_proxy.base_url + "/v1", out,
         "--embed-model", "sim-embed-limited", "--chat-model", "sim-model-limited",
         "--api-key-env", "PROXY_KEY", "--concurrency", str(per_worker),
         env={"PROXY_KEY": litellm_proxy.master_key})
    _check(out, ROWS)
    seen = model_server.requests()
    chats = [r for r in seen if r["path"].endswith("/chat/completions")]
    assert len(chats) == ROWS
    for path in ("/chat/completions", "/embeddings"):
        held = [r for r in seen if r["path"].endswith(path)]
        assert held and all("hold" in r["flags"] for r in held)
    assert max(r["in_flight"] for r in seen) <= LIMITED_PARALLEL
