"""Turn a benchmark run into the markdown of docs/performance.md.

Only the part between `<!-- bench:begin -->` and `<!-- bench:end -->` is generated; the rest
of the file (how to run it, what was changed and why) is written by hand and kept.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .clients import CLIENTS

__all__ = ["BEGIN", "END", "Stat", "render_report", "targets", "write_report"]

BEGIN = "<!-- bench:begin -->"
END = "<!-- bench:end -->"

# job -> (column title, unit, higher is better)
COLUMNS: dict[str, tuple[str, str, bool]] = {
    "call": ("1 non-streamed call", "ms", False),
    "stream-chat": ("{stream_size:,}-chunk stream, chat", "chunks/s", True),
    "overhead-chat": ("overhead per chunk over raw, chat", "us", False),
    "stream-responses": ("{stream_size:,}-chunk stream, responses", "chunks/s", True),
    "overhead-responses": ("overhead per chunk over raw, responses", "us", False),
    "tool": ("tool call, arguments in {tool_size:,} pieces", "ms", False),
    "async": ("{async_size:,} async requests, concurrency 50", "req/s", True),
    "import": ("import", "ms", False),
    "memory": ("peak RSS growth, {memory_size:,}-chunk stream", "MB", False),
}


def _title(job: str, plan: dict[str, Any]) -> str:
    return COLUMNS[job][0].format(**plan)


ROW_ORDER = ("raw", "core", "llm-plugin", "lc-compat", "openai", "chatopenai", "llm-builtin")
PEER_LABELS = {"openai": "openai SDK", "chatopenai": "ChatOpenAI", "llm-builtin": "llm built-in"}
OUR_LABELS = {"core": "core Client", "llm-plugin": "llm models", "lc-compat": "ChatOpenAICompat"}
CLI_LABELS = {
    "version-without": "`llm --version`, no plugin loaded (`LLM_LOAD_PLUGINS=''`)",
    "version-ours": "`llm --version`, our plugin alone (`LLM_LOAD_PLUGINS=llm-openai-compat`)",
    "version-default": "`llm --version`, llm's default (scans every entry point; ours installed)",
    "hi-builtin-without": "`llm -m builtin-hi hi` (llm's OpenAI model), no plugin loaded",
    "hi-builtin-default": "`llm -m builtin-hi hi` (llm's OpenAI model), llm's default, ours installed",
    "hi-plugin-default": "`llm -m bench/hi hi` (our model), llm's default",
    "version-500-without": "`llm --version`, no plugin; settings of 500 models in 5 providers",
    "version-500-ours": "`llm --version`, our plugin alone, 500 models in 5 providers",
    "models-500-without": "`llm models`, no plugin (llm's own models only)",
    "models-500-ours": "`llm models`, our plugin alone, 500 models in 5 providers",
}


IMPORT_BASELINES = (
    ("langchain-core", "import langchain_core.language_models"),
    ("langchain-core-chat", "from langchain_core.language_models import BaseChatModel"),
    ("langchain-core-adapter-deps", "every langchain_core import langchain_adapter makes"),
    ("lc-compat-pkg", "import langchain_adapter"),
)
# (ours, baseline, wording): the target as worded (both modules load their classes on first
# use), what using either costs (the class), and the imports the adapter itself makes.
IMPORT_TARGETS = (
    ("lc-compat-pkg", "langchain-core",
     "`import langchain_adapter` <= `import langchain_core.language_models`"),
    ("lc-compat", "langchain-core-chat",
     "`from langchain_adapter import ChatOpenAICompat` <= "
     "`from langchain_core.language_models import BaseChatModel`"),
    ("lc-compat", "langchain-core-adapter-deps",
     "`from langchain_adapter import ChatOpenAICompat` <= every langchain_core import it makes"),
)
# Our adapter -> (its host's floor, what its own generator is, the host's public stream API).
HOST_MEMORY = {
    "lc-compat": ("lc-floor", "`_stream`", "`BaseChatModel.stream()`"),
    "llm-plugin": ("llm-floor", "`execute()`", "llm's `Response`"),
}


@dataclass(frozen=True)
class Stat:
    median: float
    low: float
    high: float
    n: int


def _median(stat: Stat | None) -> float | None:
    return None if stat is None else stat.median


def _minus(a: Stat | None, b: Stat | None) -> float | None:
    """The difference of the medians, when both were measured."""
    return None if a is None or b is None else a.median - b.median


def _times(a: Stat | None, b: Stat | None) -> float | None:
    """The ratio of the medians, when both were measured."""
    return None if a is None or b is None else a.median / b.median


def _paired_cpu(
    ours: list[dict[str, Any]], theirs: list[dict[str, Any]], *, minus: bool = False
) -> float | None:
    """The median of the CPU-time ratios (`minus`: differences, ms) of runs made side by side
    (the i-th run of each, from one block of the interleaved CLI runs), so drift of the
    machine over a run cancels in each pair: the ratio of the two medians moved by several
    percent between runs of the same code, and their difference by ±100 ms."""
    pairs: list[tuple[float, float]] = [
        (a["cpu_ms"], b["cpu_ms"])
        for a, b in zip(ours, theirs, strict=False)  # a failed run leaves a side shorter
        if isinstance(a.get("cpu_ms"), (int, float)) and isinstance(b.get("cpu_ms"), (int, float))
        and b["cpu_ms"] > 0
    ]
    if not pairs:
        return None
    return statistics.median(a - b if minus else a / b for a, b in pairs)


def _stat(values: list[float]) -> Stat | None:
    if not values:
        return None
    return Stat(statistics.median(values), min(values), max(values), len(values))


def _values(results: list[dict[str, Any]]) -> list[float]:
    return [r["value"] for r in results if "value" in r]


def _field_stat(results: list[dict[str, Any]], key: str) -> Stat | None:
    return _stat([r[key] for r in results if isinstance(r.get(key), (int, float))])


def _problem(results: list[dict[str, Any]]) -> str | None:
    for r in results:
        if "unavailable" in r:
            return f"not available: {r['unavailable']}"
    errors = [r["error"] for r in results if "error" in r]
    if errors and not _values(results):
        return f"error: {errors[0]}"
    return None


def stats(results: Any) -> dict[tuple[str, str], Stat]:
    """(job, client) -> Stat, plus derived per-chunk overheads over the raw floor."""
    runs: dict[str, dict[str, list[dict[str, Any]]]] = results.runs
    out: dict[tuple[str, str], Stat] = {}
    for job, by_client in runs.items():
        for client, items in by_client.items():
            stat = _stat(_values(items))
            if stat is not None:
                out[job, client] = stat
    for shape in ("chat", "responses"):
        floor = out.get((f"stream-{shape}", "raw"))
        if floor is None:
            continue
        for (job, client), stat in list(out.items()):
            if job == f"stream-{shape}":
                # us per chunk over the floor's, from the medians (and the spread from min/max)
                def over(rate: float, floor_rate: float = floor.median) -> float:
                    return 1e6 / rate - 1e6 / floor_rate

                out[f"overhead-{shape}", client] = Stat(
                    over(stat.median), over(stat.high), over(stat.low), stat.n
                )
    for key, items in getattr(results, "cli", {}).items():
        stat = _stat(_values(items))
        if stat is not None:
            out["cli", key] = stat
    return out


def _num(value: float, unit: str) -> str:
    if unit == "n":
        return f"{value:.0f}"
    if unit == "chunks/s" or (unit == "req/s" and value >= 10_000):
        return f"{value / 1000:.1f}k" if value < 100_000 else f"{value / 1000:.0f}k"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _cell(stat: Stat | None, unit: str, problem: str | None = None) -> str:
    if stat is None:
        return (
            "not available"
            if problem and problem.startswith("not available")
            else ("error" if problem else "—")
        )
    if stat.n == 1:
        return _num(stat.median, unit)
    return f"{_num(stat.median, unit)} ({_num(stat.low, unit)}–{_num(stat.high, unit)})"  # noqa: RUF001


def _ratio(ours: Stat | None, peer: Stat | None, higher_better: bool) -> float | None:
    if ours is None or peer is None or ours.median <= 0 or peer.median <= 0:
        return None
    return ours.median / peer.median if higher_better else peer.median / ours.median


@dataclass(frozen=True)
class Target:
    name: str
    measured: str
    ok: bool | None  # None: could not be measured

    @property
    def verdict(self) -> str:
        return "n/a" if self.ok is None else ("PASS" if self.ok else "MISS")


def targets(
    s: dict[tuple[str, str], Stat], plan: dict[str, Any], cli: dict[str, list[dict[str, Any]]]
) -> list[Target]:
    def get(job: str, client: str) -> Stat | None:
        return s.get((job, client))

    out: list[Target] = []

    def add(name: str, value: float | None, ok: Callable[[float], bool], fmt: str) -> None:
        if value is None:
            out.append(Target(name, "not measured", None))
        else:
            out.append(Target(name, fmt.format(value), bool(ok(value))))

    over = get("overhead-chat", "core")
    add(
        "core: overhead per chunk over raw httpx2 (chat) <= 10 us",
        _median(over),
        lambda v: v <= 10,
        "{:.1f} us",
    )
    over = get("overhead-responses", "core")
    add(
        "core: overhead per chunk over raw httpx2 (responses) <= 10 us",
        _median(over),
        lambda v: v <= 10,
        "{:.1f} us",
    )
    core, raw = get("call", "core"), get("call", "raw")
    add(
        "core: non-streamed call within 1.3x of raw httpx2",
        _times(core, raw),
        lambda v: v <= 1.3,
        "{:.2f}x",
    )
    add(
        "core: async throughput >= 1.5x the openai SDK's",
        _ratio(get("async", "core"), get("async", "openai"), True),
        lambda v: v >= 1.5,
        "{:.2f}x",
    )
    for shape in ("chat", "responses"):
        add(
            f"llm models: stream throughput ({shape}) >= 3x llm's built-in",
            _ratio(
                get(f"stream-{shape}", "llm-plugin"), get(f"stream-{shape}", "llm-builtin"), True
            ),
            lambda v: v >= 3,
            "{:.2f}x",
        )
    add(
        "llm models: per-call latency >= 5x lower than llm's built-in",
        _ratio(get("call", "llm-plugin"), get("call", "llm-builtin"), False),
        lambda v: v >= 5,
        "{:.2f}x",
    )
    load = get("plugin-load", "llm-plugin")
    add(
        "llm plugin adds < 15 ms to `llm --version` (its load + register_commands, in process)",
        _median(load),
        lambda v: v < 15,
        "{:.1f} ms",
    )
    add(
        "… the same from whole `llm --version` runs (CPU time, ours alone minus no plugin, the "
        "median of side-by-side pairs; noisy)",
        _paired_cpu(cli.get("version-ours", []), cli.get("version-without", []), minus=True),
        lambda v: v < 15,
        "{:+.1f} ms",
    )
    for shape in ("chat", "responses"):
        add(
            f"ChatOpenAICompat: stream throughput ({shape}) >= 2x ChatOpenAI's",
            _ratio(get(f"stream-{shape}", "lc-compat"), get(f"stream-{shape}", "chatopenai"), True),
            lambda v: v >= 2,
            "{:.2f}x",
        )
    add(
        "ChatOpenAICompat: async throughput >= ChatOpenAI's",
        _ratio(get("async", "lc-compat"), get("async", "chatopenai"), True),
        lambda v: v >= 1,
        "{:.2f}x",
    )

    def import_cpu(client: str) -> Stat | None:
        return _field_stat(plan.get("_runs", {}).get("import", {}).get(client, []), "cpu_ms")

    own = get("import-split", "lc-compat")
    add(
        "import langchain_adapter adds <= 100 ms to the langchain_core imports it makes (in process)",
        _median(own),
        lambda v: v <= 100,
        "{:.0f} ms",
    )
    for ours_key, base_key, wording in IMPORT_TARGETS:
        adapter, base = import_cpu(ours_key), import_cpu(base_key)
        add(
            f"{wording} + 100 ms (CPU time)",
            _minus(adapter, base),
            lambda v: v <= 100,
            "{:+.0f} ms",
        )
    sizes = f"{plan['memory_size']:,} minus {plan['memory_size_small']:,} chunks"

    def growth(client: str) -> float | None:
        big, small = get("memory", client), get("memory-small", client)
        return big.median - small.median if big and small else None

    def traced_growth(client: str) -> float | None:
        runs = plan.get("_runs", {})
        big = _field_stat(runs.get("memory", {}).get(client, []), "traced_peak_mb")
        small = _field_stat(runs.get("memory-small", {}).get(client, []), "traced_peak_mb")
        return big.median - small.median if big and small else None

    for client in ("core", "lc-compat", "llm-plugin"):
        if client in HOST_MEMORY:
            floor, own_name, host = HOST_MEMORY[client]
            add(
                f"{OUR_LABELS[client]}: its own generator ({own_name}) flat in stream length "
                f"(peak RSS growth, {sizes}, < 1 MB)",
                growth(f"{client}-own"),
                lambda v: v < 1.0,
                "{:+.2f} MB",
            )
            ours_mb, floor_mb = traced_growth(client), traced_growth(floor)
            rss_ours, rss_base = growth(client), growth(floor)
            rss = "" if rss_ours is None or rss_base is None else f"; RSS {rss_ours - rss_base:+.2f} MB"
            add(
                f"{OUR_LABELS[client]} through {host}: memory kept beyond what the host keeps "
                f"for its floor (the same pieces from memory), traced allocations, {sizes}, < 1 MB",
                None if ours_mb is None or floor_mb is None else ours_mb - floor_mb,
                lambda v: v < 1.0,
                "{:+.2f} MB" + rss,
            )
        else:
            add(
                f"{OUR_LABELS[client]}: memory flat in stream length (peak RSS growth, {sizes}, < 1 MB)",
                growth(client),
                lambda v: v < 1.0,
                "{:+.2f} MB",
            )
        large, normal = get("tool-large", client), get("tool", client)
        add(
            f"{OUR_LABELS[client]}: tool-call assembly linear (time for {plan['tool_size_large']:,} "
            f"pieces / {plan['tool_size']:,} pieces <= 1.5x the size ratio; quadratic: its square)",
            _times(large, normal),
            lambda v: v <= 1.5 * plan["tool_size_large"] / plan["tool_size"],
            "{:.1f}x",
        )
    out.extend(round_two_targets(s, cli, plan.get("_runs", {})))
    return out


def round_two_targets(
    s: dict[tuple[str, str], Stat], cli: dict[str, list[dict[str, Any]]],
    runs: dict[str, dict[str, list[dict[str, Any]]]],
) -> list[Target]:
    """Issue 19's targets (performance, round two), from the same run."""
    out: list[Target] = []

    def add(name: str, value: float | None, ok: Callable[[float], bool], fmt: str) -> None:
        out.append(
            Target(name, "not measured", None)
            if value is None
            else Target(name, fmt.format(value), bool(ok(value)))
        )

    for shape in ("chat", "responses"):
        add(
            f"round 2: ChatOpenAICompat stream() text throughput ({shape}) >= 5x ChatOpenAI's",
            _ratio(
                s.get((f"stream-{shape}", "lc-compat")),
                s.get((f"stream-{shape}", "chatopenai")),
                True,
            ),
            lambda v: v >= 5,
            "{:.2f}x",
        )
    add(
        "round 2: ChatOpenAICompat streamed tool call (1 call x 2,000 argument pieces) >= 3x "
        "ChatOpenAI's",
        _ratio(s.get(("tool", "lc-compat")), s.get(("tool", "chatopenai")), False),
        lambda v: v >= 3,
        "{:.2f}x",
    )
    add(
        "round 2: ChatOpenAICompat streamed tool calls (500 calls x 4 pieces) >= 3x ChatOpenAI's",
        _ratio(s.get(("tool-calls", "lc-compat")), s.get(("tool-calls", "chatopenai")), False),
        lambda v: v >= 3,
        "{:.2f}x",
    )
    for shape in ("chat", "responses"):
        add(
            f"round 2: llm models stream throughput ({shape}) >= 8x llm's built-in",
            _ratio(
                s.get((f"stream-{shape}", "llm-plugin")),
                s.get((f"stream-{shape}", "llm-builtin")),
                True,
            ),
            lambda v: v >= 8,
            "{:.2f}x",
        )
    add(
        "round 2: core async throughput at concurrency 50 >= 2x the openai SDK's",
        _ratio(s.get(("async", "core")), s.get(("async", "openai")), True),
        lambda v: v >= 2,
        "{:.2f}x",
    )
    for key, what in (("version", "`llm --version`"), ("models", "`llm models`")):
        add(
            f"round 2: {what} with 500 models in 5 providers <= 1.05x llm without the plugin "
            "(CPU time, the median of side-by-side pairs)",
            _paired_cpu(cli.get(f"{key}-500-ours", []), cli.get(f"{key}-500-without", [])),
            lambda v: v <= 1.05,
            "{:.3f}x",
        )
    add(
        "round 2: core (stream_reads) time to first text within 5% of raw httpx2's time to "
        "first byte (paired in each process)",
        _ttfb_ratio(runs, "core", less_floor=False),
        lambda v: v <= 1.05,
        "{:.2f}x",
    )
    for client in ("llm-plugin", "lc-compat"):
        add(
            f"round 2: {OUR_LABELS[client]} time to first text, less its host's own time to a "
            "first chunk (the host floor, no HTTP), within 5% of raw httpx2's time to first "
            "byte (paired in each process)",
            _ttfb_ratio(runs, client, less_floor=True),
            lambda v: v <= 1.05,
            "{:.2f}x",
        )
    return out


def _ttfb_ratio(
    runs: dict[str, dict[str, list[dict[str, Any]]]], client: str, *, less_floor: bool
) -> float | None:
    """The median over processes of (time to first text [less the host floor's]) / raw
    httpx2's first byte, each process's figures measured side by side (`worker._ttfb`)."""
    ratios = []
    for r in runs.get("ttfb", {}).get(client, []):
        if "value" not in r or not r.get("raw"):
            continue
        if less_floor and "floor" not in r:
            continue
        ours = r["value"] - (r["floor"] if less_floor else 0.0)
        ratios.append(ours / r["raw"])
    return statistics.median(ratios) if ratios else None


def render_report(results: Any, *, quick: bool = False) -> str:
    s = stats(results)
    runs = results.runs
    plan = results.plan
    lines: list[str] = [BEGIN, ""]
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(results.started))
    versions = ", ".join(f"{k} {v}" for k, v in results.machine["versions"].items())
    lines += [
        f"Run of {when}{' (QUICK: small sizes, 1 repetition)' if quick else ''}: "
        f"{results.machine['cpus']} CPUs, {results.machine['platform']}; {versions}. "
        f"{plan['reps']} repetitions per timing scenario ({plan['memory_reps']} for memory, "
        f"{plan['memory_reps_peers']} for the peers' memory, {plan['cli_reps']} for the CLI, {plan.get('cli_many_repeats', 3)} times as many for its 500-model rows), "
        "each in a fresh process, interleaved; "
        f"{results.elapsed_s / 60:.1f} minutes in all. Load average before/after: "
        f"{'/'.join(map(str, results.load_before))} → {'/'.join(map(str, results.load_after))}.",
        "",
        "Cells are `median (min–max)` over the repetitions (processes); each process reports "  # noqa: RUF001
        "its best of 3 timed runs (streams, tool call, async) or of 3 batches of 50 calls, "
        "since other work on a shared machine only ever slows a run down. Per-chunk overhead "
        "is `1/rate − 1/rate(raw)` from the medians (its spread from the min and max rate).",  # noqa: RUF001
        "",
    ]
    ceiling = results.ceiling
    if "chunks_per_s" in ceiling:
        lines += [
            "**Server ceiling** (a raw-socket client, no HTTP library, no JSON): "
            f"{ceiling['chunks_per_s'] / 1e6:.2f}M chunks/s ({ceiling['mb_per_s']:.0f} MB/s) on a "
            f"{plan['memory_size']:,}-chunk stream, {ceiling['call_ms'] * 1000:.0f} us per sequential "
            f"call, {ceiling['async_req_per_s'] / 1000:.1f}k requests/s at concurrency 50 — far above "
            "every client below, so the server is never what is measured.",
            "",
        ]
    # main table
    jobs = list(COLUMNS)
    header = "| client | " + " | ".join(f"{_title(j, plan)} ({COLUMNS[j][1]})" for j in jobs) + " |"
    lines += ["### Results", "", header, "|---" * (len(jobs) + 1) + "|"]
    for client in ROW_ORDER:
        if client not in CLIENTS:
            continue
        cells = []
        for job in jobs:
            base_job = job.replace("overhead-", "stream-")
            problem = _problem(runs.get(base_job, {}).get(client, []))
            stat = s.get((job, client))
            if job.startswith("overhead") and client == "raw" and stat is not None:
                cells.append("0 (floor)")
            else:
                cells.append(_cell(stat, COLUMNS[job][1], problem))
        lines.append(f"| {CLIENTS[client].label} | " + " | ".join(cells) + " |")
    bases = [
        f"`{label}` {_cell(s.get(('import', key)), 'ms')} ms"
        for key, label in IMPORT_BASELINES
        if s.get(("import", key)) is not None
    ]
    if bases:
        lines += ["", "Import baselines: " + "; ".join(bases) + "."]
    own = s.get(("import-split", "lc-compat"))
    if own is not None:
        lines += [
            "",
            "In one process, after every `langchain_core` import the adapter makes, "
            f"`from langchain_adapter import ChatOpenAICompat` takes {_cell(own, 'ms')} ms "
            "(the adapter's own modules and the core client they import).",
        ]
    notes = []
    for client in ROW_ORDER:
        for job in ("call", "stream-chat", "import"):
            problem = _problem(runs.get(job, {}).get(client, []))
            if problem:
                notes.append(f"- {CLIENTS[client].label}: {problem}")
                break
    if notes:
        lines += ["", *notes]

    # ratios
    ratio_jobs = ["call", "stream-chat", "stream-responses", "tool", "async", "import", "memory"]
    lines += [
        "",
        "### Ratios against the peers",
        "",
        "How many times better ours is (medians; > 1 means ours is better: faster, more "
        "throughput, quicker import, less memory growth).",
        "",
        "| ours vs peer | " + " | ".join(_title(j, plan) for j in ratio_jobs) + " |",
        "|---" * (len(ratio_jobs) + 1) + "|",
    ]
    for ours in OUR_LABELS:
        for peer in ("raw", *PEER_LABELS):
            cells = []
            for job in ratio_jobs:
                ratio = _ratio(s.get((job, ours)), s.get((job, peer)), COLUMNS[job][2])
                cells.append("—" if ratio is None else f"{ratio:.2f}x")
            if all(c == "—" for c in cells):
                continue
            peer_label = "raw httpx2 (floor)" if peer == "raw" else PEER_LABELS[peer]
            lines.append(f"| {OUR_LABELS[ours]} vs {peer_label} | " + " | ".join(cells) + " |")

    # CLI
    lines += [
        "",
        "### The llm command line",
        "",
        "Wall time and CPU time (user + sys of the `llm` process) per command.",
        "",
        "| command | wall time (ms) | CPU time (ms) |",
        "|---|---|---|",
    ]
    cli_runs = getattr(results, "cli", {})
    for key, label in CLI_LABELS.items():
        items = cli_runs.get(key, [])
        cpu = _field_stat(items, "cpu_ms")
        lines.append(
            f"| {label} | {_cell(s.get(('cli', key)), 'ms', _problem(items))} | {_cell(cpu, 'ms')} |"
        )
    wall_ours, wall_none = s.get(("cli", "version-ours")), s.get(("cli", "version-without"))
    ours_cpu = _field_stat(cli_runs.get("version-ours", []), "cpu_ms")
    none_cpu = _field_stat(cli_runs.get("version-without", []), "cpu_ms")
    load = s.get(("plugin-load", "llm-plugin"))
    if load is not None:
        lines += [
            "",
            f"Loading our plugin and running its `register_commands` (what it adds to every `llm` "
            f"command, measured in process): {_cell(load, 'ms')} ms.",
        ]
    if wall_ours and wall_none and ours_cpu and none_cpu:
        lines += [
            "",
            f"Our plugin adds {ours_cpu.median - none_cpu.median:+.1f} ms of CPU time "
            f"({wall_ours.median - wall_none.median:+.1f} ms of wall time) to `llm --version` (medians).",
        ]

    # per-chunk CPU and connection reuse
    lines += [
        "",
        "### CPU per chunk and connection reuse",
        "",
        "CPU time of the client process per chunk (best run; less sensitive than wall time to "
        "other work on the machine), and the connections each client opened while timed "
        "(the server counts them; 0 means its pool really reused its connections).",
        "",
        "| client | CPU per chunk, chat (us) | CPU per chunk, responses (us) | CPU over raw, chat (us) | "
        "connections opened during 50 calls | during the async requests |",
        "|---|---|---|---|---|---|",
    ]
    raw_cpu = _field_stat(runs.get("stream-chat", {}).get("raw", []), "cpu_us_per_chunk")
    for client in ROW_ORDER:
        if client not in CLIENTS:
            continue
        chat = _field_stat(runs.get("stream-chat", {}).get(client, []), "cpu_us_per_chunk")
        resp = _field_stat(runs.get("stream-responses", {}).get(client, []), "cpu_us_per_chunk")
        calls = _field_stat(runs.get("call", {}).get(client, []), "connections")
        conns = _field_stat(runs.get("async", {}).get(client, []), "connections")
        over = f"{chat.median - raw_cpu.median:+.1f}" if chat and raw_cpu else "—"
        lines.append(
            f"| {CLIENTS[client].label} | {_cell(chat, 'us')} | {_cell(resp, 'us')} | {over} | "
            f"{_cell(calls, 'n')} | {_cell(conns, 'n')} |"
        )

    # time to first text (issue 19: latency is not traded for throughput)
    if any(("ttfb", c) in s for c in ROW_ORDER):
        lines += [
            "",
            "### Time to first text",
            "",
            f"A streamed {plan.get('ttfb_size', 200):,}-chunk chat answer: ms from the request to "
            "the first text the caller gets (raw httpx2: its first body byte); the median of 60 "
            "streams per process, each stream right after one of raw httpx2 (and of the host's "
            "floor) in the same process, since between processes the placement of client and "
            "server on the two cores moves a sub-millisecond figure by half; ratios are the "
            "median over processes of each process's ratio. Ours coalesce per network read (`stream_reads`) and still "
            "deliver the answer's first piece at once. A host's own time to a first chunk "
            "(its floor: a do-nothing model on the host streaming from memory, no HTTP; "
            "LangChain's callbacks and run setup, and its messages built from the input; llm's "
            "`Response`, and the messages it gives a model, `prompt.messages`, which every llm "
            "model reads to know what to send, llm's own OpenAI models too) is paid before any "
            "request is sent whatever the model, so the adapters' targets compare what is left "
            "of their time to first text, beside the plain ratio.",
            "",
            "| client | time to first text (ms) | raw httpx2's first byte beside it (ms) | "
            "vs raw | its host's own time to a first chunk (ms) | less the host's own, vs raw |",
            "|---|---|---|---|---|---|",
        ]
        ttfb_runs = results.runs.get("ttfb", {})
        for client in ROW_ORDER:
            stat = s.get(("ttfb", client))
            if stat is None or client == "raw":
                continue
            raw_beside = _field_stat(ttfb_runs.get(client, []), "raw")
            floor = _field_stat(ttfb_runs.get(client, []), "floor")
            ratio = _ttfb_ratio(runs, client, less_floor=False)
            net = _ttfb_ratio(runs, client, less_floor=True) if floor is not None else None
            lines.append(
                f"| {OUR_LABELS.get(client, client)} | {_cell(stat, 'ms')} | "
                f"{'—' if raw_beside is None else _cell(raw_beside, 'ms')} | "
                f"{'—' if ratio is None else f'{ratio:.2f}x'} | "
                f"{'—' if floor is None else _cell(floor, 'ms')} | "
                f"{'—' if net is None else f'{net:.2f}x'} |"
            )

    # flatness
    lines += [
        "",
        "### Memory and tool-call assembly against stream length",
        "",
        f"| client | peak RSS growth, {plan['memory_size_small']:,} chunks (MB) | "
        f"{plan['memory_size']:,} chunks (MB) | tool call, {plan['tool_size']:,} pieces (ms) | "
        f"{plan['tool_size_large']:,} pieces (ms) | time ratio (linear = "
        f"{plan['tool_size_large'] / plan['tool_size']:.0f}) | traced allocations at peak, "
        f"{plan['memory_size_small']:,} / {plan['memory_size']:,} chunks (MB) |",
        "|---|---|---|---|---|---|---|",
    ]
    memory_rows = ["raw", "core"]
    for client in ("llm-plugin", "lc-compat"):
        memory_rows += [client, f"{client}-own", HOST_MEMORY[client][0]]
    for client in memory_rows:
        small, big = s.get(("memory-small", client)), s.get(("memory", client))
        t_small, t_big = s.get(("tool", client)), s.get(("tool-large", client))
        if not any((small, big, t_small, t_big)):
            continue
        tool_ratio = f"{t_big.median / t_small.median:.1f}" if t_small and t_big else "—"
        traced = [
            _field_stat(runs.get(job, {}).get(client, []), "traced_peak_mb")
            for job in ("memory-small", "memory")
        ]
        traced_cell = (
            f"{_cell(traced[0], 'MB')} / {_cell(traced[1], 'MB')}" if all(traced) else "—"
        )
        lines.append(
            f"| {CLIENTS[client].label} | {_cell(small, 'MB')} | {_cell(big, 'MB')} | "
            f"{_cell(t_small, 'ms')} | {_cell(t_big, 'ms')} | {tool_ratio} | {traced_cell} |"
        )

    # targets
    lines += ["", "### Targets", "", "| target | measured | verdict |", "|---|---|---|"]
    for target in targets(s, {**plan, "_runs": runs}, getattr(results, "cli", {})):
        lines.append(f"| {target.name} | {target.measured} | **{target.verdict}** |")
    errors = [
        f"- {job} / {client}: {r['error']}"
        for job, by_client in runs.items()
        for client, items in by_client.items()
        for r in items
        if "error" in r
    ]
    if errors:
        lines += ["", "Errors during the run:", "", *errors[:20]]
    lines += ["", END]
    return "\n".join(lines)


_SKELETON = """# Performance

{block}
"""


def write_report(path: Path, report: str) -> None:
    """Replace the generated block of `path` (or create the file around it)."""
    if path.exists():
        text = path.read_text()
        if BEGIN in text and END in text:
            head, _, rest = text.partition(BEGIN)
            _, _, tail = rest.partition(END)
            path.write_text(head + report + tail)
            return
        path.write_text(text.rstrip("\n") + "\n\n" + report + "\n")
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_SKELETON.format(block=report))
