"""docs/architecture.md is the map of the code: every module it names exists, every core module
is named in it, and its direction of imports is the import-linter layers contract's."""

from __future__ import annotations

import re
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "architecture.md"


def _layout() -> str:
    text = DOC.read_text(encoding="utf-8")
    return text.split("## Layout", 1)[1].split("```", 2)[1]


def _named_paths() -> set[str]:
    """Paths in the layout block: an indented name's folder is the last folder above it."""
    paths: set[str] = set()
    folders: list[tuple[int, str]] = []
    for line in _layout().splitlines():
        match = re.match(r"^( *)([\w./_-]+(?:, [\w./_-]+)*)\s", line + " ")
        if not match or not match.group(2).strip():
            continue
        indent = len(match.group(1))
        if indent >= 20:  # a continuation of the description column
            continue
        folders = [(i, f) for i, f in folders if i < indent]
        base = folders[-1][1] if folders else ""
        for name in match.group(2).split(", "):
            path = base + name
            if name.endswith("/"):
                folders.append((indent, path))
            paths.add(path)
    return paths


def test_every_named_module_and_folder_exists():
    missing = sorted(p for p in _named_paths() if not (ROOT / p).exists())
    assert not missing, f"docs/architecture.md names what does not exist: {missing}"


def test_every_core_module_is_named():
    named = _named_paths()
    core = ROOT / "llm_openai_compat"
    modules = {
        str(p.relative_to(ROOT))
        for p in core.rglob("*.py")
        if p.name != "__init__.py" or p.parent == core / "plugin" or p.parent == core
    }
    unnamed = sorted(m for m in modules if m not in named)
    assert not unnamed, f"docs/architecture.md does not name: {unnamed}"


def test_the_direction_of_imports_is_the_contracts():
    text = DOC.read_text(encoding="utf-8")
    block = text.split("## Direction of imports", 1)[1].split("```", 2)[1]
    documented = [line.strip().removeprefix("-> ").strip() for line in block.splitlines()]
    documented = [d for d in documented if d and not d.startswith("plugin/")]
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    (layers,) = [c["layers"] for c in contracts if c.get("type") == "layers"]
    assert documented == layers
