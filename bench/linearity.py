"""Every input dimension at 10x: the time at 10n is at most 12x the time at n, through the core
client, the llm plugin and LangChain's public `ChatOpenAICompat.stream()` / `invoke()`.

Two kinds of dimension. A *response* dimension is one answer of size n from the local server
(bytes, chunks, tool calls per response, argument pieces per call, whitespace-only deltas). A
*workload* dimension is n calls or n entries (a new API key per call, a new inline base URL per
call, providers in the settings file, models of one provider). A linear path takes about 10x as long at 10n (less, with
a call's fixed cost); a quadratic one about 100x. 12x is a complexity check, not a speed target.

Used twice: tests/reliability/test_linearity.py runs it at small sizes in the suite (its figures
go to docs/reliability.md); `python -m bench --only linearity` runs it at full size in a fresh
process and writes docs/linearity.md. Only 127.0.0.1 is ever contacted.
"""

from __future__ import annotations

import gc
import http.server
import json
import os
import socketserver
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "ADAPTERS",
    "DIMENSIONS",
    "FULL_SIZES",
    "RATIO",
    "SMALL_SIZES",
    "BodyServer",
    "Measurement",
    "measure",
    "render",
    "run_linearity",
]

RATIO = 12.0
MODEL = "m"
ADAPTERS = ("core", "llm", "langchain")


# -- response bodies --------------------------------------------------------------------------


def _delta(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "c",
        "model": MODEL,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def _sse(events: Iterator[dict[str, Any]], finish: str = "stop") -> bytes:
    parts = [b"data: " + json.dumps(e).encode() + b"\n\n" for e in events]
    parts.append(b"data: " + json.dumps(_delta({}, finish)).encode() + b"\n\n")
    parts.append(b"data: [DONE]\n\n")
    return b"".join(parts)


def text_bytes(n: int) -> bytes:
    """One answer of n x 100 bytes, in 1 KB deltas."""
    text = "abcdefghij" * 100
    return _sse(_delta({"content": text}) for _ in range(n // 10))


def chunks(n: int) -> bytes:
    """n deltas of one word each."""
    return _sse(_delta({"content": "w "}) for _ in range(n))


def tool_calls(n: int) -> bytes:
    """n tool calls in one response, each whole in one delta."""
    return _sse(
        (
            _delta(
                {
                    "tool_calls": [
                        {
                            "index": i,
                            "id": f"call_{i}",
                            "type": "function",
                            "function": {"name": "f", "arguments": json.dumps({"i": i})},
                        }
                    ]
                }
            )
            for i in range(n)
        ),
        "tool_calls",
    )


def argument_pieces(n: int) -> bytes:
    """One tool call whose arguments arrive in n pieces."""
    head = _delta(
        {
            "tool_calls": [
                {
                    "index": 0,
                    "id": "call_0",
                    "type": "function",
                    "function": {"name": "f", "arguments": '{"x": "'},
                }
            ]
        }
    )
    piece = _delta({"tool_calls": [{"index": 0, "function": {"arguments": "ab"}}]})
    tail = _delta({"tool_calls": [{"index": 0, "function": {"arguments": '"}'}}]})
    return _sse(iter([head, *(piece for _ in range(n)), tail]), "tool_calls")


def whitespace(n: int) -> bytes:
    """n whitespace-only deltas of 50 spaces, then a word (issue 13: 2 MB took 47 s)."""
    return _sse(
        iter([*(_delta({"content": " " * 50}) for _ in range(n)), _delta({"content": "x"})])
    )


RESPONSE_DIMENSIONS: dict[str, Callable[[int], bytes]] = {
    "bytes": text_bytes,
    "chunks": chunks,
    "tool calls per response": tool_calls,
    "argument pieces per call": argument_pieces,
    "whitespace-only deltas": whitespace,
}
WORKLOAD_DIMENSIONS = (
    "distinct keys", "distinct base URLs", "providers in the file", "models of a provider",
)
DIMENSIONS = (*RESPONSE_DIMENSIONS, *WORKLOAD_DIMENSIONS)
# n per dimension: in the suite (fast, yet large enough that a quadratic term shows) and in
# the benchmark. For workloads n is calls (keys, base URLs) or providers in the file.
SMALL_SIZES = {
    "bytes": 2_000,
    "chunks": 1_000,
    "tool calls per response": 300,
    "argument pieces per call": 1_000,
    "whitespace-only deltas": 1_000,
    "distinct keys": 40,
    "distinct base URLs": 40,
    "providers in the file": 50,
    "models of a provider": 200,
}
FULL_SIZES = {
    "bytes": 20_000,  # 2 MB -> 20 MB of text
    "chunks": 10_000,
    "tool calls per response": 1_000,
    "argument pieces per call": 10_000,
    "whitespace-only deltas": 10_000,  # 0.5 MB -> 5 MB of spaces
    "distinct keys": 200,  # 2,000 keys: past the Runtime's 1,024 recent secrets
    "distinct base URLs": 200,  # 2,000 base URLs: past its 1,024 breakers
    "providers in the file": 200,
    "models of a provider": 1_000,  # 10,000 models listed for one provider
}


# -- the local server -------------------------------------------------------------------------


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and a small body are two writes: no 40 ms stall
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def do_GET(self) -> None:
        self._send(
            b'{"object": "list", "data": [{"id": "m", "object": "model"}]}', "application/json"
        )

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        self.rfile.read(length)
        auth = self.headers.get("authorization") or ""
        owner = self.server.owner
        with owner.lock:
            owner.requests += 1
            if auth:
                owner.keys.add(auth.removeprefix("Bearer "))
        body = owner.body
        if owner.echo_key and auth:
            # Echo the caller's key into the answer's metadata, as a hostile server would:
            # every call then has a secret of its own to scrub.
            key = json.dumps(auth.removeprefix("Bearer "))[1:-1]
            body = body.replace(b'"id": "c"', b'"id": "' + key.encode() + b'"', 1)
        self._send(body, "text/event-stream")

    def _send(self, body: bytes, content_type: str) -> None:
        self.send_response(200)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: BodyServer


class BodyServer:
    """Answers every POST with `body` (an event stream) on 127.0.0.1; counts requests and the
    distinct keys it was sent."""

    def __init__(self) -> None:
        self.body = chunks(1)
        self.echo_key = False
        self.lock = threading.Lock()
        self.requests = 0
        self.keys: set[str] = set()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> BodyServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


# -- one run of one dimension through one adapter ---------------------------------------------


def _settings_path() -> Path:
    from llm_openai_compat import settings_path

    return Path(settings_path())


def _write_providers(providers: dict[str, str], models: Sequence[str] = (MODEL,)) -> None:
    """The settings file with these providers (id -> base URL), each listing `models`,
    replaced as a new inode."""
    path = _settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {
        "providers": {
            pid: {"baseURL": url, "models": list(models)} for pid, url in providers.items()
        }
    }
    fresh = path.with_name(path.name + ".new")
    fresh.write_text(json.dumps(data), encoding="utf-8")
    os.replace(fresh, path)


def _conversation() -> tuple[Any, Any]:
    from llm_openai_compat import Conversation, Message, RequestOptions

    return Conversation((Message.text("user", "hi"),)), RequestOptions(model=MODEL, stream=True)


def _core_call(provider: str, **kwargs: Any) -> int:
    from llm_openai_compat import Client

    conversation, options = _conversation()
    return sum(1 for _ in Client(provider, **kwargs).stream(conversation, options))


def _langchain(**kwargs: Any) -> Any:
    from langchain_adapter import ChatOpenAICompat

    return ChatOpenAICompat(model=MODEL, max_retries=0, **kwargs)


def _response_run(adapter: str, mode: str) -> Callable[[], None]:
    """One answer, through `adapter` ("stream" or, for LangChain, "invoke")."""

    def core() -> None:
        _core_call("lin")

    def llm_run() -> None:
        import llm

        for _ in llm.get_model(f"lin/{MODEL}").prompt("hi", stream=True):
            pass

    def langchain() -> None:
        chat = _langchain(provider="lin")
        if mode == "invoke":
            chat.invoke("hi")
        else:
            for _ in chat.stream("hi"):
                pass

    return {"core": core, "llm": llm_run, "langchain": langchain}[adapter]


@contextmanager
def _fresh_runtime(**limits: Any) -> Iterator[Any]:
    """A new default Runtime (nothing parsed or pooled yet), closed afterwards."""
    from llm_openai_compat import Runtime, set_default_runtime

    runtime = Runtime(**limits)
    previous = set_default_runtime(runtime)
    try:
        yield runtime
    finally:
        set_default_runtime(previous)
        runtime.close()


def _workload_run(dimension: str, adapter: str, n: int, server: BodyServer) -> Callable[[], None]:
    """n calls with a new key or base URL each, or one call with n providers in the file (or
    n models listed for one provider)."""
    base = server.origin + "/v1"
    salt = uuid.uuid4().hex[:12]
    if dimension == "distinct keys":
        keys = [f"sk-lin-{salt}-{i:06d}-0123456789abcdef" for i in range(n)]

        def core_keys() -> None:
            for key in keys:
                _core_call("lin", api_key=key)

        def llm_keys() -> None:
            import llm

            model = llm.get_model(f"lin/{MODEL}")
            for key in keys:
                model.prompt("hi", key=key).text()

        def langchain_keys() -> None:
            for key in keys:
                _langchain(provider="lin", api_key=key).invoke("hi")

        return {"core": core_keys, "llm": llm_keys, "langchain": langchain_keys}[adapter]
    if dimension == "distinct base URLs":
        urls = [f"{server.origin}/t{salt}/u{i}/v1" for i in range(n)]

        def core_urls() -> None:
            for url in urls:
                _core_call(url)

        def llm_urls() -> None:
            # llm reaches a server through a provider: one per base URL, models listed once
            # (llm's own `get_model` registers every plugin's models on each call).
            import llm

            models = {m.model_id: m for m in llm.get_models()}
            for i in range(n):
                models[f"u{salt}{i}/{MODEL}"].prompt("hi").text()

        def langchain_urls() -> None:
            for url in urls:
                _langchain(base_url=url).invoke("hi")

        if adapter == "llm":
            _write_providers({f"u{salt}{i}": url for i, url in enumerate(urls)})
        return {"core": core_urls, "llm": llm_urls, "langchain": langchain_urls}[adapter]
    # providers in the file (or models of one): parse, validate, register/resolve, one call
    # to the last one
    if dimension == "models of a provider":
        _write_providers({f"p{salt}": base}, [*(f"m{salt}-{i}" for i in range(n - 1)), MODEL])
        last = f"p{salt}"
    else:
        _write_providers({f"p{salt}{i}": base for i in range(n)})
        last = f"p{salt}{n - 1}"

    def core_providers() -> None:
        with _fresh_runtime():
            _core_call(last)

    def llm_providers() -> None:
        import llm

        with _fresh_runtime():
            models = {m.model_id: m for m in llm.get_models()}
            models[f"{last}/{MODEL}"].prompt("hi").text()

    def langchain_providers() -> None:
        with _fresh_runtime():
            _langchain(provider=last).invoke("hi")

    return {"core": core_providers, "llm": llm_providers, "langchain": langchain_providers}[adapter]


# -- measuring --------------------------------------------------------------------------------


@dataclass
class Measurement:
    dimension: str
    adapter: str  # "core", "llm", "langchain stream()", "langchain invoke()"
    n: int
    small_s: float
    large_s: float
    ratio: float
    tries: int
    state: dict[str, int]  # what the Runtime held afterwards (workload dimensions)

    @property
    def held(self) -> bool:
        return self.ratio <= RATIO


def _cpu(action: Callable[[], None]) -> float:
    """The CPU time of the process (client and server threads) for one run. CPU time, not
    wall time: on a shared machine a short run often gets a core to itself and a long one never
    does, which inflates the ratio with no change in the work done."""
    gc.collect()
    gc.disable()  # collector pauses grow with what the caller retains, not with our code
    try:
        start = time.process_time()
        action()
        return time.process_time() - start
    finally:
        gc.enable()


def _tries(
    small: Callable[[], float], large: Callable[[], float], tries: int
) -> tuple[float, float, int]:
    """The best time at each size over up to `tries` rounds, stopping at the first ratio
    within the bound: noise only ever adds time, so each size keeps its best."""
    t_small = t_large = float("inf")
    attempt = 0
    while attempt < tries:
        attempt += 1
        t_small, t_large = min(t_small, small()), min(t_large, large())
        if t_large / t_small <= RATIO:
            break
    return t_small, t_large, attempt


REPEAT = 10  # runs at n per measurement: as much work, and as much exposure to noise, as 10n


def measure(
    dimension: str,
    adapter: str,
    n: int,
    server: BodyServer,
    *,
    mode: str = "stream",
    tries: int = 3,
) -> Measurement:
    """The time at n (the mean of 10 runs in a row, each on a fresh Runtime with the current
    one's bounds for a workload) against the time of one run at 10n; the best of each over up
    to `tries` rounds. Ten runs at n take as long as one at 10n, so noise falls on both alike
    (the best of a few short runs would be luckier than the best of long ones); a quadratic
    path is ~100x at every try."""
    label = adapter if adapter != "langchain" else f"langchain {mode}()"
    server.echo_key = dimension == "distinct keys"
    _write_providers({"lin": server.origin + "/v1"})
    if dimension in RESPONSE_DIMENSIONS:
        build = RESPONSE_DIMENSIONS[dimension]
        small_body, large_body = build(n), build(10 * n)
        action = _response_run(adapter, mode)

        def at(size_body: bytes, repeat: int) -> float:
            server.body = size_body

            def runs() -> None:
                for _ in range(repeat):
                    action()

            return _cpu(runs) / repeat

        at(small_body, 1)  # warm: imports, pools, caches
        t_small, t_large, attempt = _tries(
            lambda: at(small_body, REPEAT), lambda: at(large_body, 1), tries
        )
        state: dict[str, int] = {}
    else:
        server.body = chunks(3)
        state = {}
        _workload(dimension, adapter, 2, server, 1, state)  # warm
        t_small, t_large, attempt = _tries(
            lambda: _workload(dimension, adapter, n, server, REPEAT, state),
            lambda: _workload(dimension, adapter, 10 * n, server, 1, state),
            tries,
        )
    return Measurement(
        dimension,
        label,
        n,
        round(t_small, 4),
        round(t_large, 4),
        round(t_large / t_small, 2),
        attempt,
        state,
    )


def _workload(
    dimension: str, adapter: str, n: int, server: BodyServer, repeat: int, state: dict[str, int]
) -> float:
    """The mean CPU time of `repeat` workloads of size n, each with new keys, URLs or
    providers and on a fresh Runtime with the default one's bounds; `state` gets what the
    last one's Runtime held."""
    from llm_openai_compat import default_runtime

    current = default_runtime()
    limits = {
        "max_secrets": current.max_secrets,
        "max_learned": current.max_learned,
        **current._pool_limits,
    }
    total = 0.0
    for _ in range(repeat):
        action = _workload_run(dimension, adapter, n, server)
        with _fresh_runtime(**limits) as runtime:
            total += _cpu(action)
            pools = runtime.pools
            state.update(
                {
                    "secrets held": len(runtime.secrets),
                    "secrets bound": runtime.max_secrets,
                    "breakers held": len(pools._breakers),
                    "breakers bound": pools.max_breakers,
                    "keys the server saw": len(server.keys),
                }
            )
    return total / repeat


def cases() -> list[tuple[str, str, str]]:
    """(dimension, adapter, mode) for every row: LangChain's response rows twice (stream and
    invoke), its workload rows through invoke."""
    out = []
    for dimension in DIMENSIONS:
        for adapter in ADAPTERS:
            if adapter == "langchain" and dimension in RESPONSE_DIMENSIONS:
                out += [(dimension, adapter, "stream"), (dimension, adapter, "invoke")]
            else:
                out.append((dimension, adapter, "invoke" if adapter == "langchain" else "stream"))
    return out


# -- the report -------------------------------------------------------------------------------

BEGIN = "<!-- linearity:begin (generated by `python -m bench --only linearity`) -->"
END = "<!-- linearity:end -->"


_UNITS: dict[str, Callable[[int], str]] = {
    "bytes": lambda n: f"{n * 100 / 1e6:g} MB",
    "chunks": lambda n: f"{n:,} chunks",
    "tool calls per response": lambda n: f"{n:,} calls",
    "argument pieces per call": lambda n: f"{n:,} pieces",
    "whitespace-only deltas": lambda n: f"{n:,} deltas ({n * 50 / 1e6:g} MB)",
    "distinct keys": lambda n: f"{n:,} calls",
    "distinct base URLs": lambda n: f"{n:,} calls",
    "providers in the file": lambda n: f"{n:,} providers",
    "models of a provider": lambda n: f"{n:,} models",
}


def size_label(dimension: str, n: int) -> str:
    """n and 10n in the dimension's own unit: "2 MB -> 20 MB"."""
    unit = _UNITS[dimension]
    return f"{unit(n)} -> {unit(10 * n)}"


def render(rows: list[dict[str, Any]], sizes: dict[str, int], machine: str) -> str:
    """docs/linearity.md from the measurements."""
    lines = [
        "# Linearity: every input dimension at 10x",
        "",
        BEGIN,
        "",
        "Generated by `.venv/bin/python -m bench --only linearity` (bench/linearity.py) on "
        f"{machine}. Each row: the CPU time at n (the mean of 10 runs in a row, so as much work "
        "and as much exposure to other processes as one run at 10n; for a workload each run on a fresh "
        "Runtime with the same bounds) against the CPU time of a run at 10n, the best of each over up to "
        "three tries (CPU time of the process, client and server: on a shared machine wall time "
        "punishes long runs), through the core "
        "client, the llm plugin (in-process, `llm.get_model(...).prompt`) and LangChain's "
        "public `ChatOpenAICompat.stream()` / `invoke()`; **PASS** when the ratio is at most "
        f"{RATIO:g}x (linear is about 10x, quadratic about 100x). Response dimensions are one "
        "answer of size n from a local server on 127.0.0.1; workload dimensions are n calls "
        "(a new API key, or a new inline base URL, per call) or n providers in the settings "
        "file, or n models of one provider (a fresh Runtime parses, validates and registers or "
        "resolves them, then one call).",
        "",
        "| Dimension | n -> 10n | Adapter | CPU s at n | CPU s at 10n | ratio | result | state held after |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        state = r.get("state") or {}
        held = ", ".join(f"{k} {v}" for k, v in state.items()) or "-"
        result = "PASS" if r["ratio"] <= RATIO else "**MISS**"
        lines.append(
            f"| {r['dimension']} | {size_label(r['dimension'], r['n'])} | {r['adapter']} | {r['small_s']} | "
            f"{r['large_s']} | {r['ratio']}x | {result} | {held} |"
        )
    passed = sum(1 for r in rows if r["ratio"] <= RATIO)
    lines += [
        "",
        f"**{passed} / {len(rows)}** rows within {RATIO:g}x. The same code runs in the suite at "
        "small sizes (tests/reliability/test_linearity.py), where each row is a test that fails "
        "over the bound.",
        "",
        END,
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Measure every row at full size (`--small`: the suite's sizes, one try; `--limit N`: the
    first N rows only) in this process and print each as one JSON line."""
    import argparse
    import platform
    import tempfile

    parser = argparse.ArgumentParser(prog="python -m bench.linearity")
    parser.add_argument("--small", action="store_true")
    parser.add_argument("--limit", type=int)
    args = parser.parse_args(argv)
    sizes = SMALL_SIZES if args.small else FULL_SIZES
    machine = f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    with tempfile.TemporaryDirectory(prefix="bench-linearity-") as tmp:
        os.environ["LLM_USER_PATH"] = tmp
        os.environ.pop("OPENAI_COMPAT_SETTINGS", None)
        os.environ["OPENAI_COMPAT_QUIET"] = "1"
        with BodyServer() as server:
            for dimension, adapter, mode in cases()[: args.limit]:
                m = measure(
                    dimension,
                    adapter,
                    sizes[dimension],
                    server,
                    mode=mode,
                    tries=1 if args.small else 3,
                )
                print(json.dumps({**asdict(m), "machine": machine}), flush=True)
    return 0


def run_linearity(
    output: Path,
    *,
    small: bool = False,
    limit: int | None = None,
    log: Callable[[str], None] = print,
    timeout_s: float = 1800,
) -> list[dict[str, Any]]:
    """Run `main` in a fresh process (nothing imported or pooled by an earlier scenario), then
    write `output` (docs/linearity.md) from its rows; return the rows."""
    import subprocess
    import sys

    from .env import _SCRUB

    env = {k: v for k, v in os.environ.items() if k not in _SCRUB}
    command = [
        sys.executable,
        "-m",
        "bench.linearity",
        *(["--small"] if small else []),
        *(["--limit", str(limit)] if limit else []),
    ]
    rows: list[dict[str, Any]] = []
    root = Path(__file__).resolve().parent.parent
    with subprocess.Popen(command, cwd=root, env=env, stdout=subprocess.PIPE, text=True) as proc:
        assert proc.stdout is not None
        deadline = time.monotonic() + timeout_s
        for line in proc.stdout:
            row = json.loads(line)
            rows.append(row)
            log(f"linearity {row['dimension']:26} {row['adapter']:20} {row['ratio']:>6}x")
            if time.monotonic() > deadline:
                proc.kill()
                raise TimeoutError(f"bench.linearity took over {timeout_s} s")
        if proc.wait(timeout=60) != 0:
            raise RuntimeError(f"bench.linearity failed (exit {proc.returncode})")
    machine = rows[0]["machine"] if rows else "no rows"
    sizes = SMALL_SIZES if small else FULL_SIZES
    output.write_text(render(rows, sizes, machine), encoding="utf-8")
    return rows


if __name__ == "__main__":
    raise SystemExit(main())
