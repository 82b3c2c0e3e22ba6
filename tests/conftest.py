"""Shared fixtures: every test runs with its own llm user dir and settings file, so nothing
reads or writes the real ones, no key from the developer's environment leaks in, and its own
`Runtime` (pools, breakers, learned quirks, caches), so no test sees another's state."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from llm_openai_compat.runtime import Runtime, set_default_runtime

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
    yield user_dir


@pytest.fixture(autouse=True)
def runtime() -> Iterator[Runtime]:
    """A fresh `Runtime` for every test, made the default for its duration (so the llm models
    and clients given none use it too) and closed after: no process state crosses tests."""
    fresh = Runtime()
    previous = set_default_runtime(fresh)
    try:
        yield fresh
    finally:
        set_default_runtime(previous)
        fresh.close()
