"""The benchmark: `.venv/bin/python -m bench` (see docs/performance.md for what it measures).

Starts the local server, measures its ceiling, then runs every scenario for every client in
a fresh process (`bench.worker`), interleaved: each repetition runs each scenario once per
client, in an order rotated every repetition, so drift in the machine's speed (other work on
it, thermal state) falls on every client alike. Then the CLI runs (`llm --version`,
`llm -m MODEL hi`, with and without our plugin). Finally it writes the tables of medians
(min-max) and the PASS/MISS of each target into docs/performance.md, and every raw
measurement into bench/results/.

Options: `--reps N` (default 3), `--quick` (1 repetition, small sizes: a smoke run, about a
minute, not for the report), `--clients a,b`, `--scenarios x,y`, `--no-write`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .clients import CLIENTS, PEERS
from .env import MANY_SETTINGS, bench_env, model_names, write_files, write_many
from .payloads import HI_TEXT
from .server import start_server

__all__ = ["Plan", "main", "run_one"]

ROOT = Path(__file__).resolve().parent.parent
WORKER_TIMEOUT_S = 300
# Clients per scenario. `langchain-core` is an import-only baseline for the adapter's target.
STREAM_CLIENTS = ("raw", "core", "llm-plugin", "lc-compat", "openai", "chatopenai", "llm-builtin")
OURS = ("core", "llm-plugin", "lc-compat")
HOST_CLIENTS = {"lc-compat": ("lc-floor", "lc-compat-own"), "llm-plugin": ("llm-floor", "llm-plugin-own")}


@dataclass
class Plan:
    reps: int = 3
    # Peak memory hardly varies between runs (see the min-max); the peers' 100,000-chunk
    # streams are the slowest part of a run, so they run once, ours and the floor twice.
    memory_reps: int = 2
    memory_reps_peers: int = 1
    cli_reps: int = 5
    # The 500-model pairs are targets within 5% of a ~0.9 s process whose CPU time varies by
    # more than that: each runs this many times a repetition, side by side (see `_run`).
    cli_many_repeats: int = 5
    call_size: int = 0
    stream_size: int = 10_000
    tool_size: int = 2_000
    tool_size_large: int = 20_000
    async_size: int = 500
    memory_size: int = 100_000
    memory_size_small: int = 10_000
    ttfb_size: int = 200
    calls_size: int = 500
    clients: tuple[str, ...] = STREAM_CLIENTS
    scenarios: tuple[str, ...] = (
        "import",
        "call",
        "stream-chat",
        "stream-responses",
        "tool",
        "async",
        "memory",
        "flat",
        "cli",
        "ttfb",
        "tool-calls",
    )

    @classmethod
    def quick(cls) -> Plan:
        return cls(
            reps=1,
            memory_reps=1,
            memory_reps_peers=1,
            cli_reps=1,
            cli_many_repeats=1,
            stream_size=2_000,
            tool_size=500,
            tool_size_large=5_000,
            async_size=100,
            memory_size=20_000,
            memory_size_small=2_000,
        )

    def text_sizes(self) -> list[int]:
        return [200, self.stream_size, self.memory_size, self.memory_size_small]

    def tool_sizes(self) -> list[int]:
        return [200, self.tool_size, self.tool_size_large]

    def jobs(self) -> list[tuple[str, str, int, int]]:
        """(scenario key, worker scenario, size, repetitions) in the order they run."""
        out = []
        for scenario in self.scenarios:
            if scenario == "import":
                out.append(("import", "import", 0, self.reps))
                out.append(("import-split", "import-split", 0, self.reps))
            elif scenario == "call":
                out.append(("call", "call", 0, self.reps))
            elif scenario in ("stream-chat", "stream-responses"):
                out.append((scenario, scenario, self.stream_size, self.reps))
            elif scenario == "tool":
                out.append(("tool", "tool", self.tool_size, self.reps))
            elif scenario == "async":
                out.append(("async", "async", self.async_size, self.reps))
            elif scenario == "memory":
                out.append(("memory", "memory", self.memory_size, self.memory_reps))
            elif scenario == "cli":
                out.append(("plugin-load", "plugin-load", 0, self.cli_reps))
            elif scenario == "tool-calls":
                out.append(("tool-calls", "tool-calls", self.calls_size, self.reps))
            elif scenario == "ttfb":
                out.append(("ttfb", "ttfb", self.ttfb_size, self.reps))
            elif scenario == "flat":
                out.append(("memory-small", "memory", self.memory_size_small, self.memory_reps))
                out.append(("tool-large", "tool", self.tool_size_large, self.memory_reps))
        return out


def clients_for(job: str, plan: Plan) -> list[str]:
    chosen = [c for c in plan.clients if c in CLIENTS]
    if job == "import":
        baselines = ["langchain-core", "langchain-core-chat", "langchain-core-adapter-deps"]
        return [*chosen, *baselines, *(["lc-compat-pkg"] if "lc-compat" in chosen else [])]
    if job == "plugin-load":
        return ["llm-plugin"] if "llm-plugin" in chosen else []
    if job == "import-split":
        return ["lc-compat"] if "lc-compat" in chosen else []
    if job == "tool-calls":  # issue 19: 500 calls x 4 pieces, LangChain against LangChain
        return [c for c in chosen if c in ("core", "lc-compat", "chatopenai")]
    if job == "ttfb":  # time to first text: ours against raw httpx2's first byte (issue 19)
        # Each of ours runs raw httpx2 and its host's floor beside it, in its process.
        return [c for c in chosen if c in OURS or c == "raw"]
    if job == "tool-large":
        return [c for c in chosen if c in OURS or c == "raw"]
    if job in ("memory", "memory-small"):
        # Beside each adapter: its host's floor and the adapter's own generator (host_floors.py).
        extra = [k for ours, keys in HOST_CLIENTS.items() if ours in chosen for k in keys]
        mine = chosen if job == "memory" else [c for c in chosen if c in OURS or c == "raw"]
        return [*mine, *extra]
    return chosen


def run_one(root: Path, port: int, client: str, scenario: str, size: int) -> dict[str, Any]:
    load = "" if scenario == "plugin-load" else CLIENTS[client].llm_load_plugins
    env = bench_env(root, port, llm_load_plugins=load)
    cmd = [sys.executable, "-m", "bench.worker", client, scenario, str(size)]
    try:
        proc = subprocess.run(
            cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=WORKER_TIMEOUT_S
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {WORKER_TIMEOUT_S} s"}
    lines = proc.stdout.strip().splitlines()
    try:
        result: dict[str, Any] = json.loads(lines[-1])
    except (IndexError, ValueError):
        result = {"error": f"no result (exit {proc.returncode}): {proc.stderr.strip()[-300:]}"}
    return result


# -- the llm CLI ----------------------------------------------------------------------------

CLI_CASES: tuple[tuple[str, list[str], str | None], ...] = (
    # (key, arguments, LLM_LOAD_PLUGINS): "" = no plugin at all (llm skips its entry-point
    # scan); "llm-openai-compat" = ours alone; None = llm's default (scan every entry point)
    ("version-without", ["--version"], ""),
    ("version-ours", ["--version"], "llm-openai-compat"),
    ("version-default", ["--version"], None),
    ("hi-builtin-without", ["-m", "builtin-hi", "hi"], ""),
    ("hi-builtin-default", ["-m", "builtin-hi", "hi"], None),
    ("hi-plugin-default", ["-m", "bench/hi", "hi"], None),
    # Issue 19: a settings file of 500 models in 5 providers (`bench.env.write_many`).
    ("version-500-without", ["--version"], ""),
    ("version-500-ours", ["--version"], "llm-openai-compat"),
    ("models-500-without", ["models"], ""),
    ("models-500-ours", ["models"], "llm-openai-compat"),
)


def llm_executable() -> str:
    candidate = Path(sys.executable).with_name("llm")
    return str(candidate) if candidate.exists() else (shutil.which("llm") or "llm")


def run_cli(
    root: Path, port: int, args: list[str], load_plugins: str | None, many: bool = False
) -> dict[str, Any]:
    """Wall time of one `llm` process, and its CPU time (user + sys, from the kernel's
    accounting of the child): CPU time is what a plugin adds, and is far less disturbed than
    wall time by other work on the machine."""
    import resource

    env = bench_env(root, port, llm_load_plugins=load_plugins)
    if many:
        env["OPENAI_COMPAT_SETTINGS"] = str(root / MANY_SETTINGS)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(
            [llm_executable(), *args],
            env=env,
            cwd=root,
            capture_output=True,
            text=True,
            timeout=120,
        )
    except subprocess.TimeoutExpired:
        return {"error": "timed out"}
    elapsed = (time.perf_counter() - t0) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) * 1000
    if proc.returncode != 0:
        return {"error": f"exit {proc.returncode}: {proc.stderr.strip()[-300:]}"}
    if args[0] == "-m" and HI_TEXT not in proc.stdout:
        return {"error": f"unexpected output {proc.stdout[:100]!r}"}
    if args == ["models"] and many and load_plugins and proc.stdout.count("many-") < 500:
        return {"error": "`llm models` did not list the 500 models"}
    return {"value": elapsed, "unit": "ms", "cpu_ms": cpu}


# -- the run --------------------------------------------------------------------------------


@dataclass
class Results:
    plan: dict[str, Any]
    machine: dict[str, Any]
    ceiling: dict[str, Any] = field(default_factory=dict)
    # (job, client) -> list of worker results
    runs: dict[str, dict[str, list[dict[str, Any]]]] = field(default_factory=dict)
    cli: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    started: float = 0.0
    elapsed_s: float = 0.0
    load_before: tuple[float, ...] = ()
    load_after: tuple[float, ...] = ()

    def add(self, job: str, client: str, result: dict[str, Any]) -> None:
        self.runs.setdefault(job, {}).setdefault(client, []).append(result)


def _versions() -> dict[str, str]:
    from importlib import metadata

    out = {"python": platform.python_version()}
    for dist in (
        "httpx2",
        "openai",
        "langchain-openai",
        "langchain-core",
        "llm",
        "llm-openai-compat",
    ):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


def _load() -> tuple[float, ...]:
    try:
        return tuple(round(x, 2) for x in os.getloadavg())
    except OSError:
        return ()


def _byte_compile() -> None:
    """Our packages' bytecode in `__pycache__`, as installing the wheel writes it (pip compiles
    every module, as it did the peers' in site-packages). Without it, in an editable checkout
    under `PYTHONDONTWRITEBYTECODE=1` (this machine's environment), every measured process
    compiled our modules from source, 40 ms and more that no installed user pays, while the
    peers loaded theirs compiled."""
    import compileall

    for package in ("llm_openai_compat", "langchain_adapter"):
        compileall.compile_dir(ROOT / package, quiet=1)


def execute(plan: Plan, log: Callable[[str], None] = print) -> Results:
    results = Results(
        plan=asdict(plan),
        machine={
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "versions": _versions(),
        },
    )
    results.started = time.time()
    results.load_before = _load()
    _byte_compile()
    t_start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp, start_server() as port:
        root = Path(tmp)
        write_files(root, port, model_names(plan.text_sizes(), plan.tool_sizes()))
        write_many(root / MANY_SETTINGS, port)
        log(f"server on 127.0.0.1:{port}; measuring its ceiling")
        proc = subprocess.run(
            [sys.executable, "-m", "bench.ceiling", str(port), str(plan.memory_size)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=WORKER_TIMEOUT_S,
        )
        results.ceiling = (
            json.loads(proc.stdout.strip().splitlines()[-1])
            if proc.returncode == 0
            else {"error": proc.stderr[-300:]}
        )
        log(f"ceiling: {results.ceiling}")
        jobs = plan.jobs()
        # Warm-up, discarded: byte-compiles, fills the page cache, creates llm's logs.db.
        for client in clients_for("import", plan):
            run_one(root, port, client, "import", 0)
        if "cli" in plan.scenarios:
            for key, args, load in CLI_CASES:
                run_cli(root, port, args, load, "-500-" in key)
        max_reps = max([r for *_, r in jobs] + [plan.cli_reps if "cli" in plan.scenarios else 0])
        for rep in range(max_reps):
            for job, scenario, size, reps in jobs:
                if rep >= reps:
                    continue
                clients = clients_for(job, plan)
                shift = rep % len(clients)
                for client in clients[shift:] + clients[:shift]:
                    if job == "memory" and client in PEERS and rep >= plan.memory_reps_peers:
                        continue
                    t0 = time.perf_counter()
                    result = run_one(root, port, client, scenario, size)
                    results.add(job, client, result)
                    shown = result.get("value", result.get("error") or result.get("unavailable"))
                    if isinstance(shown, float):
                        shown = f"{shown:.4g} {result.get('unit', '')}"
                    log(
                        f"rep {rep + 1} {job:16} {client:14} {shown}  ({time.perf_counter() - t0:.1f} s)"
                    )
            if "cli" in plan.scenarios and rep < plan.cli_reps:
                # The 500-model pairs run `cli_many_repeats` times a repetition, interleaved
                # (without, ours, without, ours...): the machine's drift over a run falls on
                # both sides of each comparison alike, and the report pairs the i-th run of
                # each side (`report._paired_cpu`).
                many = [case for case in CLI_CASES if "-500-" in case[0]]
                cases = [case for case in CLI_CASES if "-500-" not in case[0]] + many * plan.cli_many_repeats
                shift = rep % len(cases)
                for key, args, load in cases[shift:] + cases[:shift]:
                    result = run_cli(root, port, args, load, "-500-" in key)
                    results.cli.setdefault(key, []).append(result)
                    log(f"rep {rep + 1} cli {key:20} {result.get('value', result.get('error'))}")
    results.elapsed_s = time.perf_counter() - t_start
    results.load_after = _load()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, help="repetitions of each timing scenario (default 3)")
    parser.add_argument("--quick", action="store_true", help="1 repetition at small sizes")
    parser.add_argument(
        "--clients", help="comma-separated client keys: " + ",".join(STREAM_CLIENTS)
    )
    parser.add_argument("--scenarios", help="comma-separated: " + ",".join(Plan().scenarios))
    parser.add_argument("--no-write", action="store_true", help="do not update docs/performance.md")
    parser.add_argument("--output", default=str(ROOT / "docs" / "performance.md"))
    parser.add_argument(
        "--only", choices=["linearity"], help="run one section alone: linearity -> docs/linearity.md"
    )
    args = parser.parse_args(argv)
    if args.only == "linearity":
        return _linearity(args.quick, args.no_write)
    plan = Plan.quick() if args.quick else Plan()
    if args.reps:
        plan.reps = args.reps
        plan.memory_reps = min(plan.memory_reps, args.reps)
        plan.memory_reps_peers = min(plan.memory_reps_peers, args.reps)
        plan.cli_reps = args.reps
    if args.clients:
        plan.clients = tuple(c.strip() for c in args.clients.split(",") if c.strip())
    if args.scenarios:
        plan.scenarios = tuple(s.strip() for s in args.scenarios.split(",") if s.strip())

    from .report import render_report, write_report

    results = execute(plan, log=lambda line: print(line, flush=True))
    out_dir = ROOT / "bench" / "results"
    out_dir.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(results.started))
    raw_path = out_dir / f"{stamp}.json"
    raw_path.write_text(json.dumps(asdict(results), indent=1))
    report = render_report(results, quick=args.quick)
    print(report)
    if not args.no_write and not args.quick:
        write_report(Path(args.output), report)
        print(f"wrote {args.output}; raw results in {raw_path}")
    else:
        print(f"raw results in {raw_path} (docs not updated)")
    if not args.scenarios and not args.clients:
        return _linearity(args.quick, args.no_write)
    return 0


def _linearity(quick: bool, no_write: bool) -> int:
    """The linearity section (bench/linearity.py): docs/linearity.md, its own document."""
    from .linearity import RATIO, run_linearity

    out = ROOT / "docs" / "linearity.md"
    if quick or no_write:
        out = Path(tempfile.mkdtemp(prefix="bench-linearity-")) / "linearity.md"
    rows = run_linearity(out, small=quick, log=lambda line: print(line, flush=True))
    missed = [r for r in rows if r["ratio"] > RATIO]
    print(f"wrote {out}: {len(rows) - len(missed)} / {len(rows)} rows within {RATIO:g}x")
    return 0
