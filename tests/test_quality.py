"""Static checks that are part of the suite: mypy --strict on the core, ruff on the packages,
the size rule, and the direction of imports (the core never imports a host)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "llm_openai_compat"
# Modules that are the llm adapter and may import llm; nothing else in the core may.
LLM_ADAPTER_PREFIX = "llm_"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )


def test_mypy_strict_on_the_core():
    result = _run("mypy")  # files and strictness come from pyproject.toml
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_on_the_packages():
    result = _run("ruff", "check", "llm_openai_compat", "langchain_adapter")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    "path", sorted(p for d in ("llm_openai_compat", "langchain_adapter") for p in (ROOT / d).rglob("*.py")),
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_modules_stay_small(path: Path):
    lines = path.read_text().count("\n")
    assert lines <= 500, f"{path.name} has {lines} lines: split it by concept"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("path", sorted(CORE.rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_core_imports_no_host(path: Path):
    imported = _imports(path)
    assert "langchain_core" not in imported and "langchain" not in imported
    assert "httpx" not in imported, "use httpx2"
    if not path.name.startswith(LLM_ADAPTER_PREFIX):
        assert "llm" not in imported, f"{path.name} is core and must not import llm"
