"""Every input dimension stays linear through every adapter.

For each dimension (bytes of one answer, chunks, tool calls per response, argument pieces per
tool call, whitespace-only deltas) a response of size n and one of size 10n are sent by the
hostile server to the core client, the llm plugin and `ChatOpenAICompat`; the best of a few
runs at each size is compared. A linear path takes about 10x as long (less, with the fixed
cost of a call); a quadratic one about 100x. The bound, 12x, is a complexity check, not a
performance target: the sizes are small so the suite stays fast, yet large enough that the
per-call constant cannot hide a quadratic term (the whitespace row took 3.6 s at 10n before
the `<think>` splitter was fixed, against 36 ms at n). Full sizes belong in `bench/`.
"""

from __future__ import annotations

import gc
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.support.hostile_server import HostileServer, Reply, sse

from .harness import MODEL, RUNNER_BY_NAME, Outcome, Run, fresh_provider_id, write_provider

pytestmark = [pytest.mark.timeout(300), pytest.mark.usefixtures("clean_state")]

RATIO = 12.0


def _delta(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {"id": "c", "model": "m", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def _stream(events: Iterator[dict[str, Any]], finish: str = "stop") -> bytes:
    parts = [sse(event) for event in events]
    parts.append(sse(_delta({}, finish)))
    parts.append(b"data: [DONE]\n\n")
    return b"".join(parts)


def text_bytes(n: int) -> bytes:
    """One answer of n x 100 bytes, in 1 KB deltas."""
    text = "abcdefghij" * 100
    return _stream(_delta({"content": text}) for _ in range(n // 10))


def chunks(n: int) -> bytes:
    """n deltas of one word each."""
    return _stream(_delta({"content": "w "}) for _ in range(n))


def tool_calls(n: int) -> bytes:
    """n tool calls in one response, each whole in one chunk."""
    return _stream(
        (
            _delta({"tool_calls": [{"index": i, "id": f"call_{i}", "type": "function",
                                    "function": {"name": "f", "arguments": json.dumps({"i": i})}}]})
            for i in range(n)
        ),
        "tool_calls",
    )


def argument_pieces(n: int) -> bytes:
    """One tool call whose arguments arrive in n pieces."""
    head = _delta({"tool_calls": [{"index": 0, "id": "call_0", "type": "function",
                                   "function": {"name": "f", "arguments": '{"x": "'}}]})
    pieces = (_delta({"tool_calls": [{"index": 0, "function": {"arguments": "ab"}}]}) for _ in range(n))
    tail = _delta({"tool_calls": [{"index": 0, "function": {"arguments": '"}'}}]})
    return _stream(iter([head, *pieces, tail]), "tool_calls")


def whitespace(n: int) -> bytes:
    """n whitespace-only deltas of 50 spaces, then a word."""
    return _stream(iter([*(_delta({"content": " " * 50}) for _ in range(n)), _delta({"content": "x"})]))


# (dimension, body builder, n): n is chosen so the fixed cost of a call is small against it.
DIMENSIONS: list[tuple[str, Callable[[int], bytes], int]] = [
    ("bytes", text_bytes, 2_000),  # 200 KB -> 2 MB of text
    ("chunks", chunks, 1_000),
    ("tool calls per response", tool_calls, 100),
    ("argument pieces per call", argument_pieces, 1_000),
    ("whitespace-only deltas", whitespace, 1_000),
]
ADAPTERS = ["core", "llm", "langchain"]


def _langchain_adapter_stream(run: Run) -> Outcome:
    """The adapter's own generator (`ChatOpenAICompat._stream`): LangChain's public `stream()`
    also keeps every chunk and merges them at the end, and its `merge_lists` scans the merged
    tool-call chunks for each new one (quadratic in tool calls per response, upstream; see
    docs/reliability.md). What this adapter adds is measured here."""
    from langchain_core.messages import HumanMessage

    from langchain_adapter import ChatOpenAICompat

    write_provider(run.user_dir, run.provider_id, run.fields)
    pieces: list[str] = []
    start = time.perf_counter()
    try:
        chat = ChatOpenAICompat(provider=run.provider_id, model=MODEL)
        for chunk in chat._stream([HumanMessage(run.prompt)]):
            if isinstance(chunk.message.content, str) and chunk.message.content:
                pieces.append(chunk.message.content)
    except Exception as exc:
        return Outcome(pieces, exc, time.perf_counter() - start)
    return Outcome(pieces, None, time.perf_counter() - start)


RUNNERS = {
    "core": RUNNER_BY_NAME["core"].run,
    "llm": RUNNER_BY_NAME["llm"].run,
    "langchain": _langchain_adapter_stream,
}


def _best_time(runner: Any, server: HostileServer, user_dir: Any, body: bytes, runs: int) -> float:
    server.reset(lambda r: Reply(body=body, headers=[("content-type", "text/event-stream")]))
    best = float("inf")
    for _ in range(runs):
        run = Run(user_dir, fresh_provider_id("lin"), {"baseURL": server.base_url}, stream=True)
        gc.collect()
        gc.disable()  # collector pauses grow with what the caller retains, not with our code
        try:
            start = time.perf_counter()
            outcome = runner(run)
            elapsed = time.perf_counter() - start
        finally:
            gc.enable()
        assert outcome.error is None, repr(outcome.error)
        best = min(best, elapsed)
    return best


@pytest.fixture(scope="module")
def server() -> Iterator[HostileServer]:
    with HostileServer() as running:
        yield running


@pytest.mark.parametrize("adapter", ADAPTERS)
@pytest.mark.parametrize(("dimension", "build", "n"), DIMENSIONS, ids=[d[0] for d in DIMENSIONS])
def test_ten_times_the_input_costs_at_most_twelve_times(adapter, dimension, build, n, server, isolated_user_dir, figures):
    reason = RUNNER_BY_NAME[adapter].available()
    if reason is not None:
        pytest.skip(reason)
    runner = RUNNERS[adapter]
    small, large = build(n), build(10 * n)
    _best_time(runner, server, isolated_user_dir, small, 1)  # warm: imports, pools, caches
    # Noise (other processes on a shared machine) only ever adds time, to either size: the
    # divisor gets more tries, and a ratio over the bound is measured again, up to three
    # times. A quadratic path is ~100x at every try; noise does not repeat.
    for _ in range(3):
        t_small = _best_time(runner, server, isolated_user_dir, small, 4)
        t_large = _best_time(runner, server, isolated_user_dir, large, 2)
        ratio = t_large / t_small
        if ratio <= RATIO:
            break
    figures.add("linearity", adapter=adapter, dimension=dimension, n=n, small_s=round(t_small, 4),
                large_s=round(t_large, 4), ratio=round(ratio, 2), bound=RATIO, held=ratio <= RATIO)
    assert ratio <= RATIO, f"{dimension} via {adapter}: {t_small:.3f} s at n={n}, {t_large:.3f} s at 10n"
