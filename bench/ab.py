"""A/B of the core's hot paths between two copies of `llm_openai_compat`.

    python -m bench.ab BEFORE_DIR AFTER_DIR [--rounds 4] [--write]

Each DIR holds a copy of the `llm_openai_compat` package (e.g. `git worktree` or a `cp -r` of
the package with and without a change). The probe (`python -m bench.ab --probe`) runs in a
fresh process with PYTHONPATH set to one DIR, against the benchmark server, and measures the
core and raw httpx2 side by side in the same process (so machine drift cancels out of the
ratios); the driver alternates BEFORE and AFTER `--rounds` times and prints medians. This is
how each core change listed in docs/performance.md was measured. `--write` puts the table
(and the command) into docs/performance.md between the `ab:begin` and `ab:end` markers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _probe(port: int) -> dict[str, Any]:
    import httpx2

    import llm_openai_compat
    from llm_openai_compat import (
        AsyncClient,
        Client,
        Conversation,
        Message,
        RequestOptions,
        ToolSpec,
    )

    base = f"http://127.0.0.1:{port}/v1"
    chat = Client.inline(base_url=base, provider_id="ab-chat")
    resp = Client.inline(base_url=base, provider_id="ab-resp", api_shape="responses")
    conv = Conversation((Message.text("user", "hi"),))
    raw = httpx2.Client()
    hi_body = {"model": "hi", "messages": [{"role": "user", "content": "hi"}]}

    def raw_call() -> None:
        response = raw.post(base + "/chat/completions", json=hi_body)
        json.loads(response.content)

    opts = RequestOptions(model="hi", stream=False)

    def core_call() -> None:
        chat.complete(conv, opts)

    def raw_stream(shape: str, n: int) -> None:
        path = "/responses" if shape == "responses" else "/chat/completions"
        body = {
            "model": f"text-{n}",
            "stream": True,
            **({"input": "hi"} if shape == "responses" else hi_body),
        }
        body["model"] = f"text-{n}"
        with raw.stream("POST", base + path, json=body) as response:
            for line in response.iter_lines():
                if line.startswith("data: ") and line != "data: [DONE]":
                    json.loads(line[6:])

    def core_stream(shape: str, n: int) -> None:
        client = resp if shape == "responses" else chat
        for _ in client.stream(conv, RequestOptions(model=f"text-{n}")):
            pass

    tool_opts = RequestOptions(
        model="tool-2000", tools=(ToolSpec("get_weather", None, {"type": "object"}),)
    )

    def core_tool() -> None:
        for _ in chat.stream(conv, tool_opts):
            pass

    def timed(fn: Any, *args: Any) -> tuple[float, float]:
        t0, c0 = time.perf_counter(), time.process_time()
        fn(*args)
        return time.perf_counter() - t0, time.process_time() - c0

    out: dict[str, Any] = {"package": os.path.dirname(llm_openai_compat.__file__)}
    # per-call latency: paired rounds, median of medians
    raw_med: list[float] = []
    core_med: list[float] = []
    for _ in range(8):
        for fn, sink in ((raw_call, raw_med), (core_call, core_med)):
            for _ in range(10):
                fn()
            times = [timed(fn)[0] for _ in range(150)]
            sink.append(statistics.median(times))
    out["call_raw_us"] = statistics.median(raw_med) * 1e6
    out["call_core_us"] = statistics.median(core_med) * 1e6
    out["call_ratio"] = out["call_core_us"] / out["call_raw_us"]
    # streams: best of 3, wall and CPU
    n = 10_000
    for shape in ("chat", "responses"):
        raw_stream(shape, 200)
        core_stream(shape, 200)
        raw_best = min(timed(raw_stream, shape, n) for _ in range(3))
        core_best = min(timed(core_stream, shape, n) for _ in range(3))
        out[f"{shape}_raw_us_per_chunk"] = raw_best[0] / n * 1e6
        out[f"{shape}_core_us_per_chunk"] = core_best[0] / n * 1e6
        out[f"{shape}_overhead_us"] = (core_best[0] - raw_best[0]) / n * 1e6
        out[f"{shape}_overhead_cpu_us"] = (core_best[1] - raw_best[1]) / n * 1e6
    core_tool()
    out["tool_2000_ms"] = min(timed(core_tool)[0] for _ in range(3)) * 1000

    async def async_rate(kind: str) -> float:
        sem = asyncio.Semaphore(50)
        if kind == "core":
            client = AsyncClient.inline(base_url=base, provider_id="ab-async")

            async def one() -> None:
                async with sem:
                    await client.complete(conv, opts)
        else:
            aclient = httpx2.AsyncClient(
                limits=httpx2.Limits(max_connections=100, max_keepalive_connections=100)
            )

            async def one() -> None:
                async with sem:
                    response = await aclient.post(base + "/chat/completions", json=hi_body)
                    json.loads(response.content)

        await asyncio.gather(*(one() for _ in range(50)))
        best = 0.0
        for _ in range(3):
            t0 = time.perf_counter()
            await asyncio.gather(*(one() for _ in range(500)))
            best = max(best, 500 / (time.perf_counter() - t0))
        return best

    out["async_raw_rps"] = asyncio.run(async_rate("raw"))
    out["async_core_rps"] = asyncio.run(async_rate("core"))
    out["async_ratio_to_raw"] = out["async_core_rps"] / out["async_raw_rps"]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ab")
    parser.add_argument("dirs", nargs="*")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--probe", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--write", action="store_true", help="put the table in docs/performance.md")
    args = parser.parse_args(argv)
    if args.probe:
        print(json.dumps(_probe(args.probe)), flush=True)
        return 0
    from .server import start_server

    dirs = [str(Path(d).resolve()) for d in args.dirs]
    results: dict[str, list[dict[str, Any]]] = {d: [] for d in dirs}
    with start_server() as port:
        for round_ in range(args.rounds):
            for d in dirs if round_ % 2 == 0 else dirs[::-1]:
                env = {**os.environ, "PYTHONPATH": d + os.pathsep + str(ROOT)}
                proc = subprocess.run(
                    [sys.executable, "-m", "bench.ab", "--probe", str(port)],
                    env=env,
                    cwd=d,
                    capture_output=True,
                    text=True,
                    timeout=600,
                )  # cwd=d: `-m` puts the working directory first on sys.path
                if proc.returncode != 0:
                    print(proc.stderr[-2000:], file=sys.stderr)
                    return 1
                result = json.loads(proc.stdout.strip().splitlines()[-1])
                if not result["package"].startswith(d):
                    raise SystemExit(f"the probe imported {result['package']}, not {d}")
                results[d].append(result)
                print(f"round {round_ + 1}: {d} done", file=sys.stderr, flush=True)
    keys = [k for k in results[dirs[0]][0] if k != "package"]
    print(f"{'metric':28}" + "".join(f"{Path(d).name:>14}" for d in dirs))
    for key in keys:
        cells = "".join(f"{statistics.median(r[key] for r in results[d]):14.3f}" for d in dirs)
        print(f"{key:28}{cells}")
    if args.write:
        write_section(ROOT / "docs" / "performance.md", markdown(results, dirs, args.rounds))
    return 0


# Lower is better for these; for the rest (requests/s) higher is.
_HIGHER_BETTER = ("async_raw_rps", "async_core_rps", "async_ratio_to_raw")
AB_BEGIN, AB_END = "<!-- ab:begin -->", "<!-- ab:end -->"


def markdown(results: dict[str, list[dict[str, Any]]], dirs: list[str], rounds: int) -> str:
    """The A/B as a markdown table: medians over the rounds, and whether AFTER is at least as
    good as BEFORE on the rows that compare the core with raw httpx2 in the same process."""
    before, after = dirs[0], dirs[-1]
    keys = [k for k in results[before][0] if k != "package"]
    lines = [
        f"`python -m bench.ab {Path(before).name} {Path(after).name} --rounds {rounds}` "
        f"({time.strftime('%Y-%m-%d %H:%M')}; medians of {rounds} alternating processes; "
        "load average before: " + ", ".join(f"{x:.2f}" for x in os.getloadavg()) + ").",
        "",
        f"| metric | {Path(before).name} | {Path(after).name} | after at least as good |",
        "|---|---|---|---|",
    ]
    for key in keys:
        a = statistics.median(r[key] for r in results[before])
        b = statistics.median(r[key] for r in results[after])
        relative = "raw" not in key or key.endswith("ratio") or key.endswith("_ratio_to_raw")
        verdict = ("yes" if (b >= a if key in _HIGHER_BETTER else b <= a) else "no") if relative else ""
        lines.append(f"| {key} | {a:.3f} | {b:.3f} | {verdict} |")
    return "\n".join(lines)


def write_section(path: Path, section: str) -> None:
    text = path.read_text()
    start, end = text.find(AB_BEGIN), text.find(AB_END)
    if start < 0 or end < start:
        raise SystemExit(f"{path} has no {AB_BEGIN} ... {AB_END} section")
    path.write_text(text[: start + len(AB_BEGIN)] + "\n\n" + section + "\n\n" + text[end:])


if __name__ == "__main__":
    sys.exit(main())
