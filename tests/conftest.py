"""Shared fixtures: every test runs with its own llm user dir and settings file, so nothing
reads or writes the real ones, and no key from the developer's environment leaks in."""

from __future__ import annotations

import pytest

pytest_plugins = ["tests.support.fault_server_fixture", "tests.support.model_server_fixture"]

_LEAKY_ENV = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "OPENAI_COMPAT_SETTINGS",
    "OPENAI_COMPAT_REQUEST_LOG",
    "LLM_USER_PATH",
)


@pytest.fixture(autouse=True)
def isolated_user_dir(tmp_path_factory, monkeypatch):
    user_dir = tmp_path_factory.mktemp("llm-user")
    for name in _LEAKY_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LLM_USER_PATH", str(user_dir))
    from llm_openai_compat.config import settings

    settings.clear_cache()
    yield user_dir
    settings.clear_cache()
