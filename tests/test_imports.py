"""The direction of imports, checked by import-linter against the contracts in pyproject.toml:
adapters use only the public API, the core is layered, and it never imports a host or httpx.
The second test proves the contracts can fail: it breaks them in a copy of the packages."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("llm_openai_compat", "langchain_adapter")


def _lint_imports(where: Path) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).with_name("lint-imports")
    command = [str(script)] if script.exists() else [shutil.which("lint-imports") or "lint-imports"]
    # The packages in `where` come first on the path, ahead of the installed (editable) ones.
    env = {**os.environ, "PYTHONPATH": str(where)}
    return subprocess.run(
        [*command, "--no-cache"], cwd=where, env=env, capture_output=True, text=True, timeout=300
    )


def test_the_import_contracts_hold():
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 kept, 0 broken" in result.stdout


def _append(path: Path, line: str) -> None:
    path.write_text(path.read_text() + f"\n{line}\n")


def test_a_stray_import_breaks_its_contract(tmp_path: Path):
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    _append(tmp_path / "llm_openai_compat" / "events.py", "import langchain_core  # noqa")
    _append(
        tmp_path / "langchain_adapter" / "structured.py",
        "from llm_openai_compat.call import prepare  # noqa",
    )
    _append(tmp_path / "llm_openai_compat" / "config" / "params.py", "from ..call import prepare  # noqa")

    result = _lint_imports(tmp_path)

    out = result.stdout
    assert result.returncode != 0, out
    assert "1 kept, 3 broken" in out, out
    assert "The core never imports a host: llm, click or LangChain BROKEN" in out
    assert "Core layers: client > call > runtime > wire > config > http > data types BROKEN" in out
    assert "llm_openai_compat.events -> langchain_core" in out
    assert "Adapters import only the public API (llm_openai_compat itself) BROKEN" in out
    assert "langchain_adapter.structured -> llm_openai_compat.call" in out
    assert "llm_openai_compat.config.params -> llm_openai_compat.call" in out
    assert "HTTP goes through httpx2, never httpx KEPT" in out
