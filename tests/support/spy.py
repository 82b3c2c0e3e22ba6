"""`spy`: record every call of a module's function while it still does its work."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest

__all__ = ["spy"]


def spy(monkeypatch: pytest.MonkeyPatch, module: ModuleType, name: str) -> list[Any]:
    """Replace `module.name` (a one-argument function) for the test with one that records its
    argument and calls the original; returns the list of arguments seen."""
    seen: list[Any] = []
    real = getattr(module, name)

    def recording(arg: Any) -> Any:
        seen.append(arg)
        return real(arg)

    monkeypatch.setattr(module, name, recording)
    return seen
