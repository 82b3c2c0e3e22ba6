"""Embedding throughput: the core's `Client.embed` against the openai SDK and LangChain's
`OpenAIEmbeddings(check_embedding_ctx_length=False)`, on the same local server (`bench.server`,
768-dimension vectors, base64 or float as asked).

    python -m bench.embeddings [--quick] [--output FILE]

Two workloads: 10,000 short texts and 1,000 long ones (~2 KB each). Each client does what
its documentation tells a user to do: the SDK is called once per 2,048 inputs (OpenAI's
per-request limit; the SDK does not split), `OpenAIEmbeddings.embed_documents` and
`Client.embed` take the whole list. Every result is checked (count, dimensions, the first
vector's values), so a client that drops vectors fails instead of looking fast.

Memory: `tracemalloc` around the core's call, the peak above what the result itself keeps,
for a short and a 5x longer list of the same texts: flat per batch means the extra does not
grow with the number of batches. Targets: core >= the SDK's throughput, >= 2x OpenAIEmbeddings.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import time
import tracemalloc
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .server import start_server

__all__ = ["main"]

DIMENSIONS = 768
SDK_BATCH = 2048
MIN_SAMPLE_S = 0.5
MEMORY_BATCH = 100
MEMORY_RUNS = 5
Embedder = Callable[[list[str]], Sequence[Sequence[float]]]


def _texts(kind: str, count: int) -> list[str]:
    if kind == "short":
        return [f"note {i}: the quick brown fox jumps over the lazy dog" for i in range(count)]
    para = "Retrieval augmented generation splits documents into passages and embeds each. "
    return [f"passage {i}. " + para * 25 for i in range(count)]


def _expected_first(index: int) -> float:
    return ((index * 31) % 997) / 997.0


def _check(texts: list[str], vectors: Sequence[Sequence[float]]) -> None:
    """Every vector there, of the right length, the first one the server's first."""
    if len(vectors) != len(texts):
        raise AssertionError(f"{len(vectors)} vectors for {len(texts)} texts")
    if any(len(v) != DIMENSIONS for v in vectors[:: max(1, len(vectors) // 50)]):
        raise AssertionError("a vector of the wrong length")
    if abs(float(vectors[0][0]) - _expected_first(0)) > 1e-6:
        raise AssertionError("the first vector is not the server's first")


def core(base_url: str, batch_size: int | None = None) -> Embedder:
    from llm_openai_compat import Client

    client = Client.inline(base_url, api_key="bench")
    return lambda texts: client.embed(texts, model="bench-embed", batch_size=batch_size).vectors


def sdk(base_url: str) -> Embedder:
    import openai

    client = openai.OpenAI(base_url=base_url, api_key="bench", max_retries=0)

    def run(texts: list[str]) -> list[list[float]]:
        out: list[list[float]] = []
        for start in range(0, len(texts), SDK_BATCH):
            response = client.embeddings.create(
                model="bench-embed", input=texts[start : start + SDK_BATCH]
            )
            out.extend(item.embedding for item in response.data)
        return out

    return run


def langchain_openai(base_url: str) -> Embedder:
    from langchain_openai import OpenAIEmbeddings

    # By their aliases, which mypy does not see in the constructor's signature.
    fields: dict[str, Any] = {"base_url": base_url, "api_key": "bench"}
    embeddings = OpenAIEmbeddings(
        model="bench-embed", check_embedding_ctx_length=False, max_retries=0, **fields
    )
    embed: Embedder = embeddings.embed_documents
    return embed


CLIENTS: dict[str, tuple[str, Callable[[str], Embedder]]] = {
    "core": ("llm-openai-compat Client.embed", core),
    "sdk": ("openai SDK embeddings.create", sdk),
    "langchain-openai": ("OpenAIEmbeddings(check_embedding_ctx_length=False)", langchain_openai),
}


def _sample(embed: Embedder, texts: list[str]) -> float:
    """Texts per second over at least `MIN_SAMPLE_S`: the call repeated until then, so one
    sample is never a single 0.1 s call that a burst of load on a shared machine decides."""
    calls = 0
    gc.collect()
    started = time.perf_counter()
    while True:
        vectors = embed(texts)
        calls += 1
        elapsed = time.perf_counter() - started
        if elapsed >= MIN_SAMPLE_S:
            break
    _check(texts, vectors)
    return calls * len(texts) / elapsed


def _throughputs(embedders: dict[str, Embedder], texts: list[str], reps: int) -> dict[str, list[float]]:
    """Texts per second of each client, `reps` samples each, after one whole untimed run
    (which also has the server render its reply for each batch size a client sends). The
    clients take turns within each repetition (in a rotating order), so a change in the
    machine's load hits every client alike instead of deciding a comparison."""
    for embed in embedders.values():
        _check(texts, embed(texts))
    rates: dict[str, list[float]] = {key: [] for key in embedders}
    keys = list(embedders)
    for rep in range(reps):
        for key in keys[rep % len(keys):] + keys[: rep % len(keys)]:
            rates[key].append(_sample(embedders[key], texts))
    return rates


def _extra_memory(embed: Embedder, texts: list[str]) -> float:
    """KB allocated at the peak of the call beyond what its result keeps afterwards."""
    gc.collect()
    tracemalloc.start()
    try:
        vectors = embed(texts)
        kept, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    _check(texts, vectors)
    return (peak - kept) / 2**10


def run(quick: bool) -> str:
    reps = 3 if quick else 7
    workloads = [("10k short texts", _texts("short", 10_000)), ("1k long texts", _texts("long", 1_000))]
    rows: list[tuple[str, str, list[float]]] = []
    memory: list[tuple[int, float]] = []
    with start_server() as port:
        base_url = f"http://127.0.0.1:{port}/v1"
        embedders = {key: factory(base_url) for key, (_label, factory) in CLIENTS.items()}
        for name, texts in workloads:
            for key, rates in _throughputs(embedders, texts, reps).items():
                rows.append((name, key, rates))
        # Batches of 100, so both sizes keep every one of the 4 concurrent batches busy (20 and
        # 100 batches): with the default 512, 2,000 texts are 4 batches, whose overlap in time
        # (and so the peak) is luck, and the comparison said nothing about batches.
        short = _texts("short", 10_000)
        small_batches = core(base_url, batch_size=MEMORY_BATCH)
        for count in (2_000, 10_000):
            # The median of 5 calls: the peak depends on how many of the 4 batches in flight
            # have finished at the moment one is parsed, which varies from call to call.
            peaks = [_extra_memory(small_batches, short[:count]) for _ in range(MEMORY_RUNS)]
            memory.append((count, statistics.median(peaks)))
    return _report(rows, memory, quick)


def _paired(ours: list[float], theirs: list[float]) -> float:
    """The median of the per-repetition ratios (samples taken side by side in time)."""
    return statistics.median(a / b for a, b in zip(ours, theirs, strict=True))


def _report(
    rows: list[tuple[str, str, list[float]]], memory: list[tuple[int, float]], quick: bool
) -> str:
    reps = len(rows[0][2]) if rows else 0
    lines = [
        "# Embeddings throughput" + (" (quick)" if quick else ""),
        "",
        f"Written by `python -m bench.embeddings{' --quick' if quick else ''}`. "
        f"Local `bench.server`, {DIMENSIONS}-dimension vectors, {os.cpu_count()} CPUs, load "
        f"average {os.getloadavg()[0]:.1f} at the end. Texts per second (higher is better): the "
        f"median of {reps} samples of at least {MIN_SAMPLE_S} s each, the clients taking turns "
        "in every repetition. The ratios are medians of the per-repetition ratios.",
        "",
        "| workload | client | texts/s | vs SDK | vs OpenAIEmbeddings |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    verdicts = []
    for workload in dict.fromkeys(w for w, _, _ in rows):
        rates = {key: r for w, key, r in rows if w == workload}
        for key, rate in rates.items():
            lines.append(
                f"| {workload} | {CLIENTS[key][0]} | {statistics.median(rate):,.0f} | "
                f"{_paired(rate, rates['sdk']):.2f}x | "
                f"{_paired(rate, rates['langchain-openai']):.2f}x |"
            )
        verdicts.append(
            (f"core >= SDK on {workload}", _paired(rates["core"], rates["sdk"]) >= 1)
        )
        verdicts.append(
            (f"core >= 2x OpenAIEmbeddings on {workload}",
             _paired(rates["core"], rates["langchain-openai"]) >= 2)
        )
    lines += ["", "Core's extra memory at the peak of one call (beyond the vectors it returns), "
              f"in batches of {MEMORY_BATCH} (4 at a time):", ""]
    lines += [f"- {count:,} short texts ({count // MEMORY_BATCH} batches): {kb:,.0f} KB "
              f"(median of {MEMORY_RUNS} calls)"
              for count, kb in memory]
    (_, small), (_, large) = memory
    verdicts.append(("flat memory per batch (5x the batches, <= 1.5x the extra)", large <= 1.5 * small))
    lines += ["", "| target | met |", "| --- | --- |"]
    lines += [f"| {name} | {'yes' if ok else '**no**'} |" for name, ok in verdicts]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.embeddings", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 repetitions instead of 7")
    parser.add_argument("--output", help="also write the report to this file")
    args = parser.parse_args(argv)
    report = run(args.quick)
    print(report)
    if args.output:
        Path(args.output).write_text(report, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
