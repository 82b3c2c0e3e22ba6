"""Fixtures for driving the real `llm` CLI and Python API against local servers.

Every test already has its own LLM_USER_PATH (tests/conftest.py); here we add a way to write
the settings file, a CliRunner on `llm.cli.cli`, and a reset of the process-wide state the
core and the plugin keep (pooled clients, circuit breakers, learned quirks, warnings).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from tests.support.wire_bytes import sse


@pytest.fixture(autouse=True)
def _fresh_process_state() -> Iterator[None]:
    from llm_openai_compat import call
    from llm_openai_compat import plugin as llm_plugin
    from llm_openai_compat.http import transport

    llm_plugin._warned.clear()
    yield
    llm_plugin._warned.clear()
    call.forget_learned()
    transport.close_all()


@pytest.fixture
def settings_file(isolated_user_dir: Path) -> Path:
    return isolated_user_dir / "openai-compat.json"


@pytest.fixture
def write_settings(settings_file: Path) -> Callable[..., Path]:
    """Write the settings file from providers given as keyword arguments (or a whole object)."""
    from llm_openai_compat.config import settings

    def write(data: dict[str, Any] | None = None, **providers: dict[str, Any]) -> Path:
        payload = data if data is not None else {"providers": providers}
        settings_file.write_text(json.dumps(payload), encoding="utf-8")
        settings.clear_cache()
        return settings_file

    return write


@pytest.fixture
def run_llm() -> Callable[..., Result]:
    """`llm ARGS...` in-process, with stdout and stderr kept apart."""
    import llm.cli

    def run(*args: str, input: str | None = None) -> Result:
        return CliRunner().invoke(llm.cli.cli, list(args), input=input, catch_exceptions=True)

    return run


def sim(base_url: str, *models: str, **fields: Any) -> dict[str, Any]:
    """A provider entry for the model server; no retries, so failures are fast."""
    return {
        "baseURL": base_url,
        "models": list(models or ("sim-model",)),
        "maxRetries": 0,
        **fields,
    }


def chat_sse(*chunks: dict[str, Any]) -> dict[str, Any]:
    """A fault-server spec streaming chat-completion chunks, then [DONE]."""
    return {"status": 200, "headers": {"content-type": "text/event-stream"}, "body": sse(*chunks)}


def bodies(server: Any) -> list[dict[str, Any]]:
    """The JSON bodies the fault server received, oldest first."""
    return [json.loads(r["body"]) for r in server.requests() if r.get("body")]
