"""One measurement in a fresh process: `python -m bench.worker CLIENT SCENARIO [SIZE]`.

Prints one JSON object on its last stdout line: `{"value": ..., "unit": ..., ...}` or
`{"error": ...}`. The runner (`bench.run`) starts one of these per client, scenario and
repetition, so no client inherits another's imports, pools or caches.

Scenarios and what `value` is:

- `import`                  ms to run the client's import statement(s) (llm: `import llm` and
                            `llm.get_model`, which loads plugins and registers models)
- `call`                    ms per non-streamed call: the best of 3 medians of 50 calls, after
                            5 warm-up calls
- `stream-chat`,
  `stream-responses`        chunks/s over a SIZE-chunk stream, after a 200-chunk warm-up
                            (best of 3; also CPU us per chunk)
- `tool`                    ms to receive a tool call whose arguments arrive in SIZE pieces
                            (best of 3)
- `async`                   requests/s for SIZE async calls at concurrency 50, after one
                            warm-up round of 50 (best of 3)
- `tool-calls`              ms to receive SIZE tool calls of 4 argument pieces each (best of 3)
- `ttfb`                    ms from the request to the first text of a streamed `text-SIZE`
                            (raw httpx2: its first body byte): the median of TTFB_RUNS, after 5
                            warm-up streams, each beside one of raw httpx2 and of the host's
                            floor in the same process (`_ttfb`)

"Best of 3" stops early when one run is longer than INNER_CAP_S (see below).
- `memory`                  MB by which peak RSS (VmHWM) grows during one SIZE-chunk stream
- `plugin-load`             ms to load our llm plugin and run its `register_commands` (llm-plugin)
- `import-split`            ms to import langchain_adapter after every langchain_core import it
                            makes (lc-compat): its own cost, measured in one process

`call` and `async` also report the connections the client opened while timed (the server
counts them): 0 means its pool really reused its connections.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import statistics
import sys
import time
import traceback
import tracemalloc
from typing import Any

from .clients import get_client
from .payloads import HI_TEXT, TEXT_PIECE, call_arguments, expected_tool_arguments

__all__ = ["SCENARIOS", "main", "measure"]

WARMUP_CHUNKS = 200
CALLS = 50
WARMUP_CALLS = 5
CONCURRENCY = 50
# Timed repetitions inside one process; the best one is the process's result. Other work on
# the machine only ever slows a run down, so the best of a few is the least disturbed. A run
# longer than INNER_CAP_S is not repeated: it is long enough to average disturbances out, and
# repeating it would not fit the time budget (llm's built-in model: ~15 s per 500 requests).
INNER = 3
INNER_CAP_S = 2.5
TOOL_CAP_S = 5.0
CALL_BATCHES = 3

SCENARIOS = (
    "import",
    "call",
    "stream-chat",
    "stream-responses",
    "tool",
    "async",
    "memory",
    "plugin-load",
    "import-split",
    "ttfb",
    "tool-calls",
)
TTFB_RUNS = 60


def _rss_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0); False where that is not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def server_stats() -> dict[str, int]:
    """The server's counters, read over a connection of its own (counted, and subtracted)."""
    import socket
    from urllib.parse import urlsplit

    port = urlsplit(os.environ["BENCH_BASE_URL"]).port
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"GET /bench/stats HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n")
        data = b""
        while b"}" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    stats: dict[str, int] = json.loads(data.partition(b"\r\n\r\n")[2])
    return stats


def _opened(before: dict[str, int]) -> int:
    """Connections the client opened since `before` (not counting the stats connections)."""
    return server_stats()["connections"] - before["connections"] - 1


def _check(what: str, got: object, expected: object) -> None:
    if got != expected:
        shown = repr(got)
        raise AssertionError(f"{what}: expected {expected!r:.80}, got {shown:.80}")


def _models_for(scenario: str, size: int) -> list[str]:
    if scenario in ("stream-chat", "stream-responses", "memory"):
        return [f"text-{WARMUP_CHUNKS}", f"text-{size}"]
    if scenario == "ttfb":
        return [f"text-{size}"]
    if scenario == "tool-calls":
        return [f"calls-{size}"]
    if scenario == "tool":
        return [f"tool-{WARMUP_CHUNKS}", f"tool-{size}"]
    return ["hi"]


async def _async_run(client: Any, total: int) -> dict[str, Any]:
    await client.asetup()
    semaphore = asyncio.Semaphore(CONCURRENCY)

    async def one() -> None:
        async with semaphore:
            _check("async text", await client.acall(), HI_TEXT)

    await asyncio.gather(*(one() for _ in range(CONCURRENCY)))  # warm-up round
    stats = server_stats()
    rates = []
    for _ in range(INNER):
        t0 = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(total)))
        elapsed = time.perf_counter() - t0
        rates.append(total / elapsed)
        if elapsed > INNER_CAP_S:
            break
    opened = _opened(stats)
    return {"value": max(rates), "unit": "req/s", "runs": rates, "connections": opened}


# Our adapters' hosts: their floor (a do-nothing model on the host), timed beside them.
_TTFB_FLOORS = {"lc-compat": "lc-floor", "llm-plugin": "llm-floor"}


def _ttfb(client: Any, size: int) -> dict[str, Any]:
    """Time to first text, paired in this process: each stream of `client` right after one of
    raw httpx2 (its first byte) and, for an adapter, one of its host's floor, so the ratio is
    of neighbours (between processes the placement of client and server on the two cores
    moves a sub-millisecond figure by half). `value`: the client's median; `raw`, `floor`:
    the neighbours' medians."""
    paired = {"self": client}
    if client.key != "raw":
        paired["raw"] = get_client("raw")
    if client.key in _TTFB_FLOORS:
        paired["floor"] = get_client(_TTFB_FLOORS[client.key])
    for name, other in paired.items():
        if name != "self":
            other.import_()
            other.setup(_models_for("ttfb", size), ("chat",))
    firsts: dict[str, list[float]] = {name: [] for name in paired}
    for run in range(5 + TTFB_RUNS):
        for name, each in paired.items():
            first, length = each.first_text(size)
            _check("stream length", length, size * len(TEXT_PIECE))
            if run >= 5:
                firsts[name].append(first * 1000)
    out: dict[str, Any] = {
        "value": statistics.median(firsts["self"]), "unit": "ms", "min": min(firsts["self"]),
    }
    for name in ("raw", "floor"):
        if name in firsts:
            out[name] = statistics.median(firsts[name])
    return out


def _plugin_load() -> dict[str, Any]:
    """What our plugin adds to `llm --version`, measured inside one process: llm's CLI is
    imported with no plugin (LLM_LOAD_PLUGINS=''), then our entry point is loaded the way
    llm loads it and its `register_commands` hook runs, as at CLI start-up. (A whole
    `llm --version` takes ~100x longer and varies by more than the plugin costs.)"""
    if os.environ.get("LLM_LOAD_PLUGINS") != "":
        raise SystemExit("plugin-load needs LLM_LOAD_PLUGINS=''")
    from importlib import metadata

    import llm.cli
    from llm.plugins import pm

    t0, c0 = time.perf_counter(), time.process_time()
    distribution = metadata.distribution("llm-openai-compat")
    for entry_point in distribution.entry_points:
        if entry_point.group == "llm":
            module = entry_point.load()
            pm.register(module, name=entry_point.name)
            module.register_commands(cli=llm.cli.cli)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    if "openai-compat" not in llm.cli.cli.commands:
        raise AssertionError("the plugin did not register its commands")
    return {"value": wall * 1000, "unit": "ms", "cpu_ms": cpu * 1000}


def _import_split() -> dict[str, Any]:
    """The adapter's own import cost, in one process: first every `langchain_core` import the
    adapter makes (`base`), then `from langchain_adapter import ChatOpenAICompat` (`value`:
    the adapter's modules and the core they import, nothing of LangChain's)."""
    from .clients import get_client

    t0 = time.perf_counter()
    get_client("langchain-core-adapter-deps").import_()
    t1, c1 = time.perf_counter(), time.process_time()
    get_client("lc-compat").import_()
    t2, c2 = time.perf_counter(), time.process_time()
    return {
        "value": (t2 - t1) * 1000,
        "unit": "ms",
        "cpu_ms": (c2 - c1) * 1000,
        "base_ms": (t1 - t0) * 1000,
    }


def measure(client_key: str, scenario: str, size: int) -> dict[str, Any]:
    client = get_client(client_key)
    if scenario == "import-split":  # before any availability check, which would import it
        try:
            return _import_split()
        except (ImportError, AttributeError) as exc:
            return {"unavailable": f"{type(exc).__name__}: {exc}"}
    if scenario == "import":
        # No availability check first: it could import what is being timed.
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            client.import_()
        except (ImportError, AttributeError) as exc:
            return {"unavailable": f"{type(exc).__name__}: {exc}"}
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        return {"value": wall * 1000, "unit": "ms", "cpu_ms": cpu * 1000}
    reason = client.unavailable()
    if reason:
        return {"unavailable": reason}
    if scenario == "plugin-load":
        return _plugin_load()
    client.import_()
    if scenario == "async":
        return asyncio.run(_async_run(client, size))
    shapes = ("responses",) if scenario == "stream-responses" else ("chat",)
    client.setup(_models_for(scenario, size), shapes)
    if scenario == "call":
        for _ in range(WARMUP_CALLS):
            _check("call text", client.call(), HI_TEXT)
        medians = []
        stats = server_stats()
        for _ in range(CALL_BATCHES):
            times = []
            for _ in range(CALLS):
                t0 = time.perf_counter()
                text = client.call()
                times.append(time.perf_counter() - t0)
                _check("call text", text, HI_TEXT)
            medians.append(statistics.median(times) * 1000)
        return {
            "value": min(medians),
            "unit": "ms",
            "runs": medians,
            "connections": _opened(stats) / CALL_BATCHES,
        }
    if scenario in ("stream-chat", "stream-responses", "memory"):
        shape = "responses" if scenario == "stream-responses" else "chat"
        _check(
            "warm-up length", client.stream(shape, WARMUP_CHUNKS), WARMUP_CHUNKS * len(TEXT_PIECE)
        )
        if scenario == "memory":
            gc.collect()
            reset = _reset_peak()
            before = _rss_kb("VmRSS")
            _check("stream length", client.stream(shape, size), size * len(TEXT_PIECE))
            peak = _rss_kb("VmHWM") if reset else None
            if peak is None or before is None:
                import resource

                peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            growth = max(0, peak - (before or 0)) / 1024
            result = {"value": growth, "unit": "MB", "rss_before_mb": (before or 0) / 1024}
            if client.traced_memory:
                # The same stream again, its allocations counted (slower, so not timed).
                gc.collect()
                tracemalloc.start()
                _check("stream length", client.stream(shape, size), size * len(TEXT_PIECE))
                result["traced_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
                tracemalloc.stop()
            return result
        runs = []
        for _ in range(INNER):
            gc.collect()
            t0, c0 = time.perf_counter(), time.process_time()
            length = client.stream(shape, size)
            runs.append((time.perf_counter() - t0, time.process_time() - c0))
            _check("stream length", length, size * len(TEXT_PIECE))
            if runs[-1][0] > INNER_CAP_S:
                break
        wall, cpu = min(runs)
        return {
            "value": size / wall,
            "unit": "chunks/s",
            "cpu_us_per_chunk": min(c for _, c in runs) / size * 1e6,
            "runs": [size / w for w, _ in runs],
        }
    if scenario == "ttfb":
        return _ttfb(client, size)
    if scenario == "tool-calls":
        wanted = [json.loads(call_arguments(i)) for i in range(size)]
        times = []
        for _ in range(1 + INNER):
            gc.collect()
            t0 = time.perf_counter()
            calls = client.tool_calls(size)
            times.append(time.perf_counter() - t0)
            _check("tool calls", calls, wanted)
            if times[-1] > TOOL_CAP_S:
                break
        best = min(times[1:] or times)  # the first run is a warm-up
        return {"value": best * 1000, "unit": "ms", "runs": [t * 1000 for t in times]}
    if scenario == "tool":
        expected = json.loads(expected_tool_arguments(size))
        _check(
            "warm-up arguments",
            client.tool(WARMUP_CHUNKS),
            json.loads(expected_tool_arguments(WARMUP_CHUNKS)),
        )
        times = []
        for _ in range(INNER):
            gc.collect()
            t0 = time.perf_counter()
            arguments = client.tool(size)
            times.append(time.perf_counter() - t0)
            _check("tool arguments", arguments, expected)
            # Tool calls are the linearity measure (20,000 pieces against 2,000): both sizes
            # must get their best of 3, or a first run's one-time costs (the heap growing to
            # hold 20,000 chunks) count against the large size only. ~3 s per run at most.
            if times[-1] > TOOL_CAP_S:
                break
        return {"value": min(times) * 1000, "unit": "ms", "runs": [t * 1000 for t in times]}
    raise SystemExit(f"unknown scenario {scenario!r}")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    client_key, scenario = args[0], args[1]
    size = int(args[2]) if len(args) > 2 else 0
    try:
        result = measure(client_key, scenario, size)
    except Exception as exc:
        traceback.print_exc(file=sys.stderr)
        result = {"error": f"{type(exc).__name__}: {exc}"[:300]}
    print(json.dumps(result), flush=True)
    return 0 if "error" not in result else 1


if __name__ == "__main__":
    sys.exit(main())
