"""Fixtures for driving the real `llm` CLI and Python API against local servers.

Every test already has its own LLM_USER_PATH (tests/conftest.py); here we add a way to write
the settings file and a CliRunner on `llm.cli.cli`. Process state (pooled clients, breakers,
learned quirks, warnings shown) is a fresh default `Runtime` per test (tests/conftest.py).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from tests.support.wire_bytes import sse


@pytest.fixture
def settings_file(isolated_user_dir: Path) -> Path:
    return isolated_user_dir / "openai-compat.json"


@pytest.fixture
def write_settings(settings_file: Path) -> Callable[..., Path]:
    """Write the settings file from providers given as keyword arguments (or a whole object).
    Replaced, not rewritten in place: a new inode, so a parse cached by (mtime, size, inode)
    never survives a rewrite within one clock tick."""

    def write(data: dict[str, Any] | None = None, **providers: dict[str, Any]) -> Path:
        payload = data if data is not None else {"providers": providers}
        fresh = settings_file.with_name(settings_file.name + ".new")
        fresh.write_text(json.dumps(payload), encoding="utf-8")
        os.replace(fresh, settings_file)
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
