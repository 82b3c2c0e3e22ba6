"""The public API of `llm_openai_compat` is written in three places in `__init__.py`, each for
a different reader: the `TYPE_CHECKING` imports (type checkers and IDEs), `__all__` (star
imports, `dir()`, and mypy's re-export rule) and `_EXPORTS` (the lazy loader at run time).
The imports are the source of truth; these tests fail when the other two drift from them."""

from __future__ import annotations

import ast
import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

import llm_openai_compat

INIT = Path(llm_openai_compat.__file__)


def _type_checking_imports() -> dict[str, str]:
    """name -> module (relative to the package) of every import under `if TYPE_CHECKING:`."""
    tree = ast.parse(INIT.read_text(encoding="utf-8"))
    found: dict[str, str] = {}
    blocks = [
        node for node in tree.body
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name)
        and node.test.id == "TYPE_CHECKING"
    ]
    assert len(blocks) == 1, "expected one `if TYPE_CHECKING:` block in __init__.py"
    for node in blocks[0].body:
        assert isinstance(node, ast.ImportFrom) and node.level == 1 and node.module, (
            f"line {node.lineno}: only `from .module import Name` belongs in the block"
        )
        for alias in node.names:
            assert alias.asname is None, f"line {node.lineno}: {alias.name} is imported under another name"
            assert alias.name not in found, f"{alias.name} is imported twice"
            found[alias.name] = node.module
    return found


def test_all_lists_exactly_the_type_checking_imports():
    imports = _type_checking_imports()
    assert len(llm_openai_compat.__all__) == len(set(llm_openai_compat.__all__)), "a name twice"
    assert sorted(llm_openai_compat.__all__) == sorted(imports)


def test_the_lazy_loader_maps_each_name_to_the_module_it_is_imported_from():
    assert _type_checking_imports() == llm_openai_compat._EXPORTS


@pytest.mark.parametrize("name", sorted(llm_openai_compat._EXPORTS))
def test_each_name_loads_the_object_its_module_defines(name):
    module = importlib.import_module(f"llm_openai_compat.{llm_openai_compat._EXPORTS[name]}")
    assert getattr(llm_openai_compat, name) is getattr(module, name)


def test_dir_and_a_missing_name():
    assert dir(llm_openai_compat) == sorted(llm_openai_compat.__all__)
    with pytest.raises(AttributeError, match="has no attribute 'Nope'"):
        llm_openai_compat.Nope  # noqa: B018


def test_importing_the_package_loads_none_of_its_modules():
    """The llm plugin imports the package at start-up: the names must stay lazy."""
    code = (
        "import json, sys; import llm_openai_compat; "
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('llm_openai_compat'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert json.loads(out) == ["llm_openai_compat"]
