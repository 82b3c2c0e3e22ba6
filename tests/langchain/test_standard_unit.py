"""LangChain's standard unit tests for `ChatOpenAICompat` (no server is contacted)."""

from __future__ import annotations

import json
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from langchain_tests.unit_tests import ChatModelUnitTests

from tests.langchain.capabilities import ChatOpenAICompatCapabilities


@cache
def _settings_file() -> str:
    """A settings file for the init-from-environment test (found via OPENAI_COMPAT_SETTINGS)."""
    folder = tempfile.TemporaryDirectory(prefix="openai-compat-unit-")
    _settings_file.folder = folder  # type: ignore[attr-defined]  # lives as long as the process
    path = Path(folder.name) / "openai-compat.json"
    settings = {
        "providers": {"from-env": {"baseURL": "http://127.0.0.1:9/v1", "models": ["env-model"]}},
        "active": {"provider": "from-env", "model": "env-model"},
    }
    path.write_text(json.dumps(settings))
    return str(path)


class TestChatOpenAICompatUnit(ChatOpenAICompatCapabilities, ChatModelUnitTests):
    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": "sim-model", "base_url": "http://127.0.0.1:9/v1"}

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        # No key ever comes from the environment (see DESIGN.md); the settings file does.
        return (
            {"OPENAI_COMPAT_SETTINGS": _settings_file()},
            {},
            {"provider_id": "from-env", "model": "env-model"},
        )

    @pytest.mark.xfail(
        reason="langchain_core.load(allowed_objects='all') only admits classes listed in "
        "langchain_core.load.mapping (langchain's own integrations), so loading any third-party "
        "model raises ValueError; the snapshot part passes, and test_chat_model.py round-trips "
        "with allowed_objects=[ChatOpenAICompat]",
        raises=ValueError,
        strict=True,
    )
    def test_serdes(self, model: Any, snapshot: Any) -> None:
        super().test_serdes(model, snapshot)
