"""Where the core's non-streamed async call spends its time, part by part, in one process.

    python -m bench.split [--rounds 6]

Against the benchmark server, 500 requests at concurrency 50 (best of 3 batches) for each of:
raw httpx2 (the floor), the core's transport alone (`transport.asend` of a prepared request),
plus `prepare()` per request, plus the parse into a `Result`, and the whole `AsyncClient.complete`.
The variants alternate for `--rounds` rounds and the medians are printed as ratios to raw
httpx2, so machine drift cancels out. This is how the second round of async changes in
docs/performance.md was found and measured.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

__all__ = ["main"]

VARIANTS = ("raw", "transport", "prepare", "parse", "complete")


async def _rate(kind: str, base: str, total: int = 500) -> float:
    import httpx2

    from llm_openai_compat import AsyncClient, Conversation, Message, RequestOptions, transport
    from llm_openai_compat.call import body_events, prepare
    from llm_openai_compat.result import collect

    conversation = Conversation((Message.text("user", "hi"),))
    options = RequestOptions(model="hi", stream=False)
    client = AsyncClient.inline(base_url=base, provider_id=f"split-{kind}")
    raw = httpx2.AsyncClient(
        limits=httpx2.Limits(max_connections=100, max_keepalive_connections=100)
    )
    hi_body = {"model": "hi", "messages": [{"role": "user", "content": "hi"}]}
    prepared_once = prepare(client.target, conversation, options)

    async def raw_call() -> None:
        response = await raw.post(base + "/chat/completions", json=hi_body)
        json.loads(response.content)

    async def parts_call() -> None:
        prepared = prepared_once if kind == "transport" else prepare(client.target, conversation, options)
        response = await transport.asend(
            prepared.endpoint, prepared.body_bytes, pools=client.runtime.pools
        )
        if kind in ("transport", "prepare"):
            json.loads(response.content)
            return
        events, _ = body_events(prepared, response.headers.get("content-type"), response.content)
        collect(events)

    async def complete_call() -> None:
        await client.complete(conversation, options)

    call: Callable[[], Awaitable[None]] = {"raw": raw_call, "complete": complete_call}.get(
        kind, parts_call
    )
    gate = asyncio.Semaphore(50)

    async def one() -> None:
        async with gate:
            await call()

    await asyncio.gather(*(one() for _ in range(50)))  # warm: connections, caches
    best = 0.0
    for _ in range(3):
        t0 = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(total)))
        best = max(best, total / (time.perf_counter() - t0))
    await raw.aclose()
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.split")
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args(argv)
    from .server import start_server

    rates: dict[str, list[float]] = {k: [] for k in VARIANTS}
    with start_server() as port:
        base = f"http://127.0.0.1:{port}/v1"
        for round_ in range(args.rounds):
            order: Any = VARIANTS if round_ % 2 == 0 else VARIANTS[::-1]
            for kind in order:
                rates[kind].append(asyncio.run(_rate(kind, base)))
    floor = statistics.median(rates["raw"])
    for kind in VARIANTS:
        median = statistics.median(rates[kind])
        print(f"{kind:10} {median:8.0f} req/s  {median / floor:5.3f}x raw httpx2")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
