"""Load: many concurrent requests, and one very long stream, through the core and both adapters.

Against the fast local server (tests/support/load_server.py): every request must succeed with
exactly its text, every chunk of the long stream must arrive once and in order, memory must
stay flat (resident set size sampled while it runs), and connections must be reused (the
server counts the connections it was asked to open).

The normal suite runs 500 requests and a 20,000-chunk stream, to stay fast; the report
(`RELIABILITY_FULL=1`) runs the sizes the issue asks for: 2,000 requests at concurrency 100
and a 100,000-chunk stream.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.load_server_process import LoadServer

from .conftest import FULL
from .harness import langchain_available, llm_available

pytestmark = [pytest.mark.timeout(300), pytest.mark.usefixtures("clean_state")]

REQUESTS = 2000 if FULL else 500
CONCURRENCY = 100
CHUNKS = 100_000 if FULL else 20_000
FLAT_MB = 32.0  # growth allowed between 10% and 100% of a run (GC and allocator noise)
# langchain_core's BaseChatModel.stream keeps every chunk until the stream ends (to merge them
# for on_llm_end): through the public stream()/astream() memory grows with the chunk count.
# Measured about 0.5 KB per chunk; the bound is twice that. The adapter's own generator
# (`_stream`, below) must stay flat.
LANGCHAIN_BYTES_PER_CHUNK = 1024
PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * PAGE / 1e6


class Sampler:
    """Resident set size, sampled in a thread while a run lasts; checkpoints taken inline."""

    def __init__(self) -> None:
        self.start = rss_mb()
        self.peak = self.start
        self.marks: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, rss_mb())

    def mark(self, name: str) -> None:
        value = rss_mb()
        self.marks[name] = value
        self.peak = max(self.peak, value)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.mark("end")


@pytest.fixture(scope="module")
def load_server() -> Iterator[LoadServer]:
    with LoadServer(chunks=CHUNKS) as server:
        yield server


@pytest.fixture
def provider(load_server, isolated_user_dir) -> str:
    path = isolated_user_dir / "openai-compat.json"
    path.write_text(json.dumps({"providers": {"load": {"baseURL": load_server.base_url + "/v1", "models": ["small", "big"]}}}))
    load_server.reset()
    return "load"


# -- many concurrent requests -----------------------------------------------------------------


def _core_one() -> Any:
    from llm_openai_compat import AsyncClient, Conversation, Message, RequestOptions

    client = AsyncClient("load")
    conversation = Conversation((Message.text("user", "hi"),))

    async def one() -> str:
        text = []
        async for event in client.stream(conversation, RequestOptions(model="small")):
            if event.type == "text":
                text.append(event.text)
        return "".join(text)

    return one


def _llm_one() -> Any:
    import llm

    model = llm.get_async_model("load/small")

    async def one() -> str:
        return await model.prompt("hi").text()

    return one


def _langchain_one() -> Any:
    from langchain_adapter import ChatOpenAICompat

    chat = ChatOpenAICompat(provider="load", model="small")

    async def one() -> str:
        return str((await chat.ainvoke("hi")).content)

    return one


ADAPTERS = {
    "core": (_core_one, lambda: None),
    "llm": (_llm_one, llm_available),
    "langchain": (_langchain_one, langchain_available),
}


@pytest.mark.parametrize("adapter", list(ADAPTERS))
def test_concurrent_requests(adapter, provider, load_server, figures):
    make, unavailable = ADAPTERS[adapter]
    if unavailable():
        pytest.skip(unavailable())
    results: list[str] = []
    errors: list[BaseException] = []

    async def main(sampler: Sampler) -> None:
        one = make()
        semaphore = asyncio.Semaphore(CONCURRENCY)

        async def bounded(index: int) -> None:
            async with semaphore:
                try:
                    results.append(await one())
                except Exception as exc:  # counted, then asserted to be none
                    errors.append(exc)
                if len(results) == REQUESTS // 10:
                    sampler.mark("10%")

        await asyncio.gather(*(bounded(i) for i in range(REQUESTS)))

    start = time.perf_counter()
    with Sampler() as sampler:
        asyncio.run(main(sampler))
    elapsed = time.perf_counter() - start
    stats = load_server.stats()
    assert errors == []
    assert len(results) == REQUESTS and all(text == "abc" for text in results)
    assert stats["requests"] == REQUESTS  # none lost, none repeated
    assert stats["connections"] <= CONCURRENCY  # the pool's limit: connections were reused
    growth = sampler.marks["end"] - sampler.marks["10%"]
    assert growth < FLAT_MB, f"RSS grew {growth:.1f} MB"
    figures.add(
        "load_requests", adapter=adapter, requests=REQUESTS, concurrency=CONCURRENCY, ok=len(results),
        errors=len(errors), server_requests=stats["requests"], connections=stats["connections"],
        seconds=round(elapsed, 2), rps=round(REQUESTS / elapsed), rss_peak_delta_mb=round(sampler.peak - sampler.start, 1),
        rss_growth_mb=round(growth, 1),
    )


# -- one very long stream ---------------------------------------------------------------------


class Checker:
    """Compares delivered text with "0,1,2,...," as it arrives, without keeping it."""

    def __init__(self, sampler: Sampler) -> None:
        self.expected = "".join(f"{i}," for i in range(CHUNKS))
        self.position = 0
        self.pieces = 0
        self.sampler = sampler

    def feed(self, text: str) -> None:
        if not text:
            return
        end = self.position + len(text)
        assert self.expected[self.position : end] == text, f"mismatch at {self.position}"
        # By text delivered, not pieces: the adapters coalesce what arrived in one read.
        if self.position < len(self.expected) // 10 <= end:
            self.sampler.mark("10%")
        self.position = end
        self.pieces += 1

    def done(self) -> None:
        assert self.position == len(self.expected), f"{self.position} of {len(self.expected)} chars"


def _stream_core(check: Checker, use_async: bool) -> None:
    from llm_openai_compat import AsyncClient, Client, Conversation, Message, RequestOptions

    conversation = Conversation((Message.text("user", "hi"),))
    options = RequestOptions(model="big")
    if not use_async:
        for event in Client("load").stream(conversation, options):
            if event.type == "text":
                check.feed(event.text)
        return

    async def main() -> None:
        async for event in AsyncClient("load").stream(conversation, options):
            if event.type == "text":
                check.feed(event.text)

    asyncio.run(main())


def _stream_llm(check: Checker, use_async: bool) -> None:
    import llm

    if not use_async:
        for piece in llm.get_model("load/big").prompt("hi"):
            check.feed(piece)
        return

    async def main() -> None:
        async for piece in llm.get_async_model("load/big").prompt("hi"):
            check.feed(piece)

    asyncio.run(main())


def _stream_langchain_adapter_only(check: Checker, use_async: bool) -> None:
    """The adapter's own generator, without BaseChatModel.stream's chunk list."""
    from langchain_core.messages import HumanMessage

    from langchain_adapter import ChatOpenAICompat

    chat = ChatOpenAICompat(provider="load", model="big")
    messages = [HumanMessage("hi")]
    if not use_async:
        for chunk in chat._stream(messages):
            check.feed(chunk.message.content if isinstance(chunk.message.content, str) else "")
        return

    async def main() -> None:
        async for chunk in chat._astream(messages):
            check.feed(chunk.message.content if isinstance(chunk.message.content, str) else "")

    asyncio.run(main())


def _stream_langchain(check: Checker, use_async: bool) -> None:
    from langchain_adapter import ChatOpenAICompat

    chat = ChatOpenAICompat(provider="load", model="big")
    if not use_async:
        for chunk in chat.stream("hi"):
            check.feed(chunk.content if isinstance(chunk.content, str) else "")
        return

    async def main() -> None:
        async for chunk in chat.astream("hi"):
            check.feed(chunk.content if isinstance(chunk.content, str) else "")

    asyncio.run(main())


STREAMERS = {
    "core": (_stream_core, lambda: None),
    "llm": (_stream_llm, llm_available),
    "langchain": (_stream_langchain, langchain_available),
    "langchain-adapter-only": (_stream_langchain_adapter_only, langchain_available),
}


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("adapter", list(STREAMERS))
def test_long_stream(adapter, use_async, provider, load_server, figures):
    run, unavailable = STREAMERS[adapter]
    if unavailable():
        pytest.skip(unavailable())
    start = time.perf_counter()
    with Sampler() as sampler:
        check = Checker(sampler)
        run(check, use_async)
    elapsed = time.perf_counter() - start
    check.done()
    stats = load_server.stats()
    assert stats == {"connections": 1, "requests": 1}
    growth = sampler.marks["end"] - sampler.marks["10%"]
    allowed = FLAT_MB
    if adapter == "langchain":  # see LANGCHAIN_BYTES_PER_CHUNK
        allowed += CHUNKS * 0.9 * LANGCHAIN_BYTES_PER_CHUNK / 1e6
    assert growth < allowed, f"RSS grew {growth:.1f} MB (allowed {allowed:.1f})"
    figures.add(
        "load_stream", adapter=adapter + ("-async" if use_async else ""), chunks=CHUNKS, delivered=check.pieces,
        chars=check.position, seconds=round(elapsed, 2), chunks_per_s=round(CHUNKS / elapsed),
        rss_peak_delta_mb=round(sampler.peak - sampler.start, 1), rss_growth_mb=round(growth, 1),
        connections=stats["connections"], growth_per_chunk_bytes=round(growth * 1e6 / (CHUNKS * 0.9)),
    )


def test_stream_memory_is_bounded_by_tracemalloc(provider, figures):
    """The core's own allocations while streaming: the peak must not grow with the stream."""
    import tracemalloc

    peaks = {}
    for label, limit in (("first 10%", CHUNKS // 10), ("all", CHUNKS)):
        from llm_openai_compat import Client, Conversation, Message, RequestOptions

        stream = Client("load").stream(Conversation((Message.text("user", "hi"),)), RequestOptions(model="big"))
        tracemalloc.start()
        try:
            seen = 0
            for event in stream:
                if event.type == "text":
                    seen += 1
                    if seen >= limit:
                        break
            peaks[label] = tracemalloc.get_traced_memory()[1] / 1e6
        finally:
            tracemalloc.stop()
            stream.close()
    assert peaks["all"] < peaks["first 10%"] * 2 + 1.0, peaks
    figures.set("load_tracemalloc_peak_mb", {k: round(v, 2) for k, v in peaks.items()})
