"""Scaling out: 10,000 short texts embedded by 2 worker processes against 1, on the bench's
local server (`bench.server`, 768-dimension vectors).

    python -m bench.scale [--quick] [--output FILE]

Each worker is a process started with `spawn` (as Ray's and Dask's are: a fresh interpreter)
that receives a pickled `Client` (no pools travel; it makes its own) and a share of the texts:
the texts are split evenly between the workers, each embeds its share with `Client.embed` and
checks every vector's count and the first value. Start-up is not timed: every worker first
embeds a warm-up batch (imports, connections), then all start together on a barrier. One run
times the slowest worker's share; 1- and 2-worker runs alternate, so a change in the machine's
load hits both; the figure is the median of the paired ratios (each 2-worker run over the
1-worker run just before it), which a burst of load on this shared machine moves less than
either median. Target: 2 workers >= 1.6x 1 worker.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import pickle
import statistics
import time
from collections.abc import Sequence
from multiprocessing.synchronize import Barrier
from pathlib import Path

from .embeddings import _check, _texts
from .server import start_server

__all__ = ["main", "run"]

TEXTS = 10_000
TARGET = 1.6
_state: dict[str, object] = {}


def _init(client_bytes: bytes, barrier: Barrier) -> None:
    """In each worker: the client unpickled once, warmed up (imports, a pooled connection)."""
    client = pickle.loads(client_bytes)
    client.embed(_texts("short", 64), model="bench-embed")
    _state["client"] = client
    _state["barrier"] = barrier


def _embed_share(texts: list[str]) -> float:
    """Embed this worker's share after every worker is ready; seconds it took."""
    from llm_openai_compat import Client

    client = _state["client"]
    barrier = _state["barrier"]
    assert isinstance(client, Client) and isinstance(barrier, Barrier)
    barrier.wait(timeout=60)
    started = time.perf_counter()
    vectors = client.embed(texts, model="bench-embed").vectors
    elapsed = time.perf_counter() - started
    _check(texts, vectors)
    return elapsed


class Fleet:
    """`workers` spawned processes, each holding one unpickled client."""

    def __init__(self, base_url: str, workers: int) -> None:
        from llm_openai_compat import Client

        ctx = mp.get_context("spawn")
        self.workers = workers
        self.barrier = ctx.Barrier(workers)
        blob = pickle.dumps(Client.inline(base_url, api_key="bench"))
        self.pool = ctx.Pool(workers, initializer=_init, initargs=(blob, self.barrier))

    def run(self, texts: Sequence[str]) -> float:
        """Texts per second for one run: all texts over the slowest worker's time."""
        size = -(-len(texts) // self.workers)
        shares = [list(texts[i : i + size]) for i in range(0, len(texts), size)]
        seconds = self.pool.map(_embed_share, shares, chunksize=1)
        return len(texts) / max(seconds)

    def close(self) -> None:
        self.pool.close()
        self.pool.join()


def run(quick: bool, texts_count: int = TEXTS) -> str:
    reps = 5 if quick else 15
    texts = _texts("short", texts_count)
    rates: dict[int, list[float]] = {1: [], 2: []}
    with start_server() as port:
        base_url = f"http://127.0.0.1:{port}/v1"
        fleets = {n: Fleet(base_url, n) for n in rates}
        try:
            for fleet in fleets.values():
                fleet.run(texts)  # untimed: the server renders each batch size once
            for _ in range(reps):
                for n, fleet in fleets.items():
                    rates[n].append(fleet.run(texts))
        finally:
            for fleet in fleets.values():
                fleet.close()
    return report(rates, quick, texts_count)


def report(
    runs: dict[int, list[float]], quick: bool, texts_count: int, load: float | None = None
) -> str:
    load = os.getloadavg()[0] if load is None else load
    medians = {n: statistics.median(r) for n, r in runs.items()}
    speedup = statistics.median(two / one for one, two in zip(runs[1], runs[2], strict=True))
    lines = [
        "# Scaling out: embeddings in worker processes" + (" (quick)" if quick else ""),
        "",
        f"Written by `python -m bench.scale{' --quick' if quick else ''}`: {texts_count:,} short "
        f"texts, local `bench.server`, {os.cpu_count()} CPUs (shared with the server); each "
        "worker a spawned process holding an unpickled `Client`. Texts per second, median of "
        f"{len(runs[1])} alternating runs; load average {load:.1f} when it ended.",
        "",
        "| workers | texts/s (median) | runs |",
        "| ---: | ---: | --- |",
    ]
    for n in sorted(medians):
        lines.append(f"| {n} | {medians[n]:,.0f} | {', '.join(f'{r:,.0f}' for r in runs[n])} |")
    met = "yes" if speedup >= TARGET else "**no**"
    lines += [
        "",
        f"2 workers / 1 worker: **{speedup:.2f}x** (median of the paired ratios; ratio of the "
        f"medians {medians[2] / medians[1]:.2f}x)",
        "",
        "| target | met |",
        "| --- | --- |",
        f"| 2 workers >= {TARGET}x the throughput of 1 | {met} |",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="5 runs each instead of 15")
    parser.add_argument("--output", help="also write the report to this file")
    args = parser.parse_args(argv)
    text = run(args.quick)
    print(text)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
