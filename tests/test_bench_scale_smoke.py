"""Keeps `bench/scale.py` from rotting: spawned workers unpickle the client, warm up, embed
their shares against the bench server and pass the bench's check; the report states the target
either way. The benchmark itself (10,000 texts, timed) is never run by the test suite."""

from __future__ import annotations

from bench.embeddings import _texts
from bench.scale import Fleet, report
from bench.server import start_server


def test_two_spawned_workers_embed_their_shares_and_pass_the_check() -> None:
    with start_server() as port:
        fleet = Fleet(f"http://127.0.0.1:{port}/v1", 2)
        try:
            assert fleet.run(_texts("short", 301)) > 0  # each share checked in its worker
        finally:
            fleet.close()


def test_the_report_states_the_target_met_or_not() -> None:
    met = report({1: [100.0, 100.0, 50.0], 2: [170.0, 150.0, 90.0]}, False, 10_000, load=1.0)
    assert "2 workers / 1 worker: **1.70x**" in met  # the paired ratios 1.7, 1.5, 1.8
    assert "| 2 workers >= 1.6x the throughput of 1 | yes |" in met
    missed = report({1: [100.0], 2: [150.0]}, False, 10_000, load=1.0)
    assert "| 2 workers >= 1.6x the throughput of 1 | **no** |" in missed
