"""Static checks that are part of the suite: mypy --strict on the core and bench/, ruff on the
packages, the direction of imports (the core never imports a host)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "llm_openai_compat"


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
    if "plugin" not in path.relative_to(CORE).parts:
        assert "llm" not in imported, f"{path.name} is core and must not import llm"
