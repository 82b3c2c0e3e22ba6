"""Static checks that are part of the suite: mypy --strict on the core and bench/, ruff on the
packages (the direction of imports is import-linter's: tests/test_imports.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )


def test_mypy_strict_on_the_core():
    result = _run("mypy")  # files (the core, the adapters, bench/) and strictness: pyproject.toml
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_on_the_packages():
    result = _run("ruff", "check", "llm_openai_compat", "langchain_adapter")
    assert result.returncode == 0, result.stdout + result.stderr
