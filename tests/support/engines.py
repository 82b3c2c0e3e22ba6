"""Ray and Dask for the end-to-end suite, in a venv of their own, cached across checkouts.

`ensure_engines()` creates `~/.cache/llm-openai-compat/e2e-engines-venv` (or
`$OPENAI_COMPAT_ENGINES_VENV`) once, with pinned `ray[data]` and `dask[distributed]` and the
project's own dependencies (read from pyproject.toml), so later runs and fresh CI clones reuse
it; the project itself is not installed there: `run_example` puts the checkout on `PYTHONPATH`,
which Ray's and Dask's worker processes inherit. Never raises: a failed install is returned as a
skip reason, which the suite prints.
"""

from __future__ import annotations

import fcntl
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ENGINES_SPEC", "EngineInstall", "ensure_engines", "run_example"]

ROOT = Path(__file__).resolve().parents[2]
ENGINES_SPEC = os.environ.get(
    "OPENAI_COMPAT_E2E_ENGINES", "ray[data]==2.60.0 dask[distributed]==2026.8.0"
)
VENV = Path(
    os.environ.get("OPENAI_COMPAT_ENGINES_VENV")
    or Path.home() / ".cache" / "llm-openai-compat" / "e2e-engines-venv"
)
MARKER = ".llm-openai-compat-engines.json"
INSTALL_TIMEOUT_S = 1200


@dataclass(frozen=True)
class EngineInstall:
    """The venv's python, or why there is none (`skip_reason`), and what installing cost."""

    python: Path | None
    skip_reason: str | None
    install_seconds: float | None
    installed_now: bool


def _project_dependencies() -> list[str]:
    """The installed project's own requirements and its `langchain` extra's (not the project)."""
    out = []
    for requirement in importlib.metadata.requires("llm-openai-compat") or []:
        spec, _, marker = requirement.partition(";")
        marker = marker.replace(" ", "").replace("'", '"')
        if (not marker or marker == 'extra=="langchain"') and not spec.startswith("llm-openai-compat"):
            out.append(spec.strip())
    return out


def ensure_engines(venv: Path = VENV, spec: str = ENGINES_SPEC) -> EngineInstall:
    """Ray and Dask in `venv`, installed if needed under a file lock (concurrent runs share it)."""
    if os.environ.get("OPENAI_COMPAT_E2E", "1").lower() in ("0", "false", "no", "off"):
        return EngineInstall(None, "OPENAI_COMPAT_E2E is off", None, False)
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.with_name(venv.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            return _ensure_locked(venv, [*spec.split(), *_project_dependencies()])
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _ensure_locked(venv: Path, packages: list[str]) -> EngineInstall:
    python = venv / "bin" / "python"
    marker = venv / MARKER
    if marker.exists() and python.exists():
        recorded = json.loads(marker.read_text())
        if recorded.get("packages") == packages:
            return EngineInstall(python, None, recorded.get("install_seconds"), False)
    shutil.rmtree(venv, ignore_errors=True)
    started = time.monotonic()
    made = subprocess.run(
        [shutil.which("python3") or sys.executable, "-m", "venv", str(venv)],
        capture_output=True, text=True, timeout=300, check=False,
    )
    if made.returncode != 0:
        return EngineInstall(None, f"`python3 -m venv` failed: {made.stderr[-500:]}", None, False)
    try:
        pip = subprocess.run(
            [str(python), "-m", "pip", "install", "--disable-pip-version-check", "--no-input",
             "--prefer-binary", "-q", *packages],
            capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S, check=False,
        )
    except subprocess.TimeoutExpired:
        shutil.rmtree(venv, ignore_errors=True)
        return EngineInstall(None, f"pip install took over {INSTALL_TIMEOUT_S} s", None, False)
    if pip.returncode != 0:
        shutil.rmtree(venv, ignore_errors=True)
        why = " ".join((pip.stderr or pip.stdout).strip().splitlines()[-4:])
        return EngineInstall(
            None, f"could not install {' '.join(packages[:2])} from the package index: {why}",
            None, False,
        )
    seconds = round(time.monotonic() - started, 1)
    marker.write_text(json.dumps({"packages": packages, "install_seconds": seconds}))
    return EngineInstall(python, None, seconds, True)


def run_example(
    python: Path, script: str, *args: str, timeout: float = 600, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`python examples/<script> ARGS...` with the checkout importable in every worker."""
    return subprocess.run(
        [str(python), str(ROOT / "examples" / script), *args],
        capture_output=True, text=True, timeout=timeout, check=False, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "RAY_USAGE_STATS_ENABLED": "0",
             "RAY_DISABLE_DOCKER_CPU_WARNING": "1", **(env or {})},
    )
