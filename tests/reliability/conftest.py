"""Fixtures for the reliability suite, and the figures it hands to the report.

Every test may add figures through the `figures` fixture. When `RELIABILITY_FIGURES` names a
file (the report command sets it, see `python -m reliability`), the figures and every test's
outcome are written there as JSON at the end of the session; otherwise nothing is written.
`RELIABILITY_FULL=1` asks the load tests for their full sizes (the report does; the normal
suite runs smaller ones, to stay fast).
"""

from __future__ import annotations

import json
import os
import threading
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .harness import close_loop

FIGURES_ENV = "RELIABILITY_FIGURES"
FULL = os.environ.get("RELIABILITY_FULL") == "1"


class Figures:
    """Named lists of records and named values, collected across the session."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.records: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.values: dict[str, Any] = {}
        self.outcomes: list[dict[str, Any]] = []

    def add(self, table: str, **record: Any) -> None:
        with self.lock:
            self.records[table].append(record)

    def set(self, name: str, value: Any) -> None:
        with self.lock:
            self.values[name] = value

    def dump(self, path: Path) -> None:
        path.write_text(
            json.dumps(
                {"records": self.records, "values": self.values, "outcomes": self.outcomes},
                indent=1,
                default=str,
            ),
            encoding="utf-8",
        )


FIGURES = Figures()


@pytest.fixture(scope="session")
def figures() -> Iterator[Figures]:
    yield FIGURES


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if "tests/reliability/" not in report.nodeid.replace("\\", "/"):
        return
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        FIGURES.outcomes.append(
            {
                "nodeid": report.nodeid,
                "outcome": report.outcome,
                "duration": round(report.duration, 4),
                "reason": str(report.longrepr[2])
                if report.skipped and isinstance(report.longrepr, tuple)
                else None,
            }
        )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    target = os.environ.get(FIGURES_ENV)
    if target:
        FIGURES.set("exitstatus", int(exitstatus))
        FIGURES.dump(Path(target))


@pytest.fixture(scope="session", autouse=True)
def _close_loop_at_the_end() -> Iterator[None]:
    yield
    close_loop()


@pytest.fixture
def clean_state() -> Iterator[None]:
    """The session's event loop ended after the test (pools, breakers and learned quirks are
    the test's own already: a fresh `Runtime`, tests/conftest.py)."""
    yield
    close_loop()
