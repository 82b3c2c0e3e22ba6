"""docs/reliability.md must match what a fresh run of `python -m reliability` would count.

The counts the report embeds (as JSON at its end) are compared with what this version of the
suite runs at full size: the scenario table, the hostile corpus, the fuzz budgets and the load
sizes. A change to any of them without regenerating the report fails here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from reliability.report import read_counts

from . import test_fuzz, test_load
from .harness import RUNNERS
from .hostile_settings import CORPUS
from .scenarios import SCENARIOS

REPORT = Path(__file__).resolve().parents[2] / "docs" / "reliability.md"


@pytest.fixture(scope="module")
def counts():
    if not REPORT.exists():
        pytest.fail("docs/reliability.md is missing: run `python -m reliability`")
    found = read_counts(REPORT.read_text(encoding="utf-8"))
    assert found is not None, "docs/reliability.md has no counts block: regenerate it"
    return found


def test_the_report_run_passed(counts):
    assert counts["tests"].get("failed", 0) == 0
    assert counts["scenario_runs_passed"] == counts["scenario_runs"]
    assert counts["canary_hits"] == 0
    assert counts["load_requests_ok"] == counts["load_requests"]
    assert counts["load_chunks_delivered"] == counts["load_chunks"]


def test_the_report_counts_what_the_suite_runs(counts):
    runs = sum(len(s.modes) for s in SCENARIOS) * len(RUNNERS)
    assert counts["scenario_runs"] == runs, "the scenario table changed: regenerate the report"
    assert counts["scenario_rows"] == len(SCENARIOS)
    assert counts["faults_survived"] == sum(len(s.modes) for s in SCENARIOS if s.fault != "none") * len(RUNNERS)
    assert counts["hostile_files"] == len(CORPUS)
    assert counts["hypothesis_inputs"] == test_fuzz.EXAMPLES * 6
    assert counts["atheris_inputs"] in (0, test_fuzz.ATHERIS_RUNS)
    assert counts["load_requests"] == 2000 * len(test_load.ADAPTERS)
    assert counts["load_chunks"] == 100_000 * len(test_load.STREAMERS) * 2  # sync and async
    assert test_load.CONCURRENCY == 100
