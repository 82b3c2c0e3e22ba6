"""Keeps the benchmark harness (`bench/`, run with `python -m bench`) from rotting.

One scenario, one client, a tiny size, one repetition: the local server starts, a fresh worker
process streams 200 chunks through the core client and checks it received them all, and the
report renders from that single result. The benchmark itself is never run by the test suite.
"""

from __future__ import annotations

from bench.env import model_names, write_files
from bench.report import render_report
from bench.run import Plan, Results, run_one
from bench.server import start_server


def test_one_scenario_for_one_client_at_a_tiny_size(tmp_path):
    with start_server() as port:
        write_files(tmp_path, port, model_names([200], [200]))
        result = run_one(tmp_path, port, "core", "stream-chat", 200)
    assert "error" not in result, result
    assert result["unit"] == "chunks/s"
    assert result["value"] > 0

    plan = Plan(reps=1, stream_size=200)
    results = Results(plan=plan.__dict__, machine={"cpus": 1, "platform": "test", "versions": {}})
    results.add("stream-chat", "core", result)
    report = render_report(results, quick=True)
    assert "llm-openai-compat core Client" in report
    assert (
        "| core: non-streamed call within 1.3x of raw httpx2 | not measured | **n/a** |" in report
    )


def test_host_floors_and_own_generators_stream_what_they_are_sent(tmp_path):
    """The memory scenario's extra clients (bench/host_floors.py) check the text they got, so
    a client that silently streamed nothing would fail here rather than look flat."""
    with start_server() as port:
        write_files(tmp_path, port, model_names([200], [200]))
        results = {
            client: run_one(tmp_path, port, client, "memory", 200)
            for client in ("lc-floor", "lc-compat-own", "llm-floor", "llm-plugin-own")
        }
    for client, result in results.items():
        assert "error" not in result and "unavailable" not in result, (client, result)
        assert result["unit"] == "MB" and result["value"] >= 0


def test_time_to_first_text_and_the_round_two_targets(tmp_path):
    """Issue 19's additions: the `ttfb` scenario (raw httpx2's first byte against our first text,
    through each of our clients), the 500-model settings file the CLI cases read, and the round
    two targets in the report."""
    import json

    from bench.env import MANY_SETTINGS, write_many

    with start_server() as port:
        write_files(tmp_path, port, model_names([200], [200]))
        write_many(tmp_path / MANY_SETTINGS, port, providers=2, models=3)
        results = {c: run_one(tmp_path, port, c, "ttfb", 200) for c in ("raw", "core", "lc-compat")}
        calls = {c: run_one(tmp_path, port, c, "tool-calls", 3) for c in ("core", "lc-compat")}
    for client, result in calls.items():  # every call's arguments checked by the worker
        assert "error" not in result and "unavailable" not in result, (client, result)
        assert result["unit"] == "ms" and result["value"] > 0
    for client, result in results.items():
        assert "error" not in result and "unavailable" not in result, (client, result)
        assert result["unit"] == "ms" and result["value"] > 0
    many = json.loads((tmp_path / MANY_SETTINGS).read_text())["providers"]
    assert sum(len(p["models"]) for p in many.values()) == 6

    plan = Plan(reps=1)
    run = Results(plan=plan.__dict__, machine={"cpus": 1, "platform": "test", "versions": {}})
    for client, result in results.items():
        run.add("ttfb", client, result)
    report = render_report(run, quick=True)
    assert "### Time to first text" in report
    assert "round 2: core (stream_reads) time to first text within 5% of raw httpx2's" in report
    assert "round 2: `llm models` with 500 models in 5 providers" in report


def test_the_cli_target_pairs_runs_made_side_by_side():
    """Issue 19's CLI targets: the median of the i-th runs' ratios (here 1.0), not the ratio
    of the medians (150 / 120 = 1.25); a run that failed is left out with its pair."""
    from bench.report import _paired_cpu

    ours = [{"cpu_ms": 100.0}, {"cpu_ms": 300.0}, {"cpu_ms": 150.0}, {"error": "x"}]
    without = [{"cpu_ms": 100.0}, {"cpu_ms": 300.0}, {"cpu_ms": 120.0}, {"cpu_ms": 1.0}]
    assert _paired_cpu(ours, without) == 1.0
    assert _paired_cpu([], without) is None


def test_the_ab_table_goes_between_its_markers(tmp_path):
    """`python -m bench.ab ... --write` renders the medians and says where AFTER is at least as
    good, and replaces only its own section of docs/performance.md."""
    from bench.ab import AB_BEGIN, AB_END, markdown, write_section

    def run(call_ratio: float, rps: float) -> dict[str, float | str]:
        return {
            "package": "x",
            "call_raw_us": 400.0,
            "call_ratio": call_ratio,
            "async_core_rps": rps,
        }

    results = {"/a/before": [run(1.2, 900.0)], "/b/after": [run(1.1, 800.0)]}
    table = markdown(results, ["/a/before", "/b/after"], 1)
    assert "| call_ratio | 1.200 | 1.100 | yes |" in table
    assert "| async_core_rps | 900.000 | 800.000 | no |" in table
    assert "| call_raw_us | 400.000 | 400.000 |  |" in table  # the floor: no verdict
    doc = tmp_path / "performance.md"
    doc.write_text(f"head\n{AB_BEGIN}\nold\n{AB_END}\ntail\n")
    write_section(doc, table)
    text = doc.read_text()
    assert text.startswith("head\n") and text.endswith(f"{AB_END}\ntail\n")
    assert "old" not in text and "call_ratio" in text
def test_the_linearity_section_measures_and_writes_its_table(tmp_path):
    """`python -m bench --only linearity` in small: two rows (bytes through the core and llm)
    measured in a fresh process, and docs/linearity.md's table rendered from them."""
    from bench.linearity import BEGIN, END, RATIO, run_linearity

    out = tmp_path / "linearity.md"
    rows = run_linearity(out, small=True, limit=2, log=lambda line: None)
    assert [(r["dimension"], r["adapter"]) for r in rows] == [("bytes", "core"), ("bytes", "llm")]
    assert all(r["small_s"] > 0 and r["large_s"] > 0 for r in rows)
    text = out.read_text()
    assert BEGIN in text and END in text
    for r in rows:
        verdict = "PASS" if r["ratio"] <= RATIO else "**MISS**"
        assert (
            f"| bytes | 0.2 MB -> 2 MB | {r['adapter']} | {r['small_s']} | {r['large_s']} | {r['ratio']}x | {verdict} |"
            in text
        )


def test_every_linearity_dimension_has_its_unit_in_the_table():
    """The full run renders a row per dimension: each must have its unit (the "models of a
    provider" row once ended a 13-minute run at the table)."""
    from bench.linearity import DIMENSIONS, FULL_SIZES, SMALL_SIZES, size_label

    for dimension in DIMENSIONS:
        for sizes in (SMALL_SIZES, FULL_SIZES):
            label = size_label(dimension, sizes[dimension])
            assert " -> " in label and label.split()[0][0].isdigit()
