"""The README's quick start, followed literally against a local server, step by step: so the
first thing a newcomer reads cannot drift from what the code does.

Ollama's usual address (`discovery.KNOWN_SERVERS["ollama"]`) is pointed at the suite's model
server, which answers Ollama's native listing (`/api/tags`) with `llama3.2:latest`; every `llm`
line of the quick start's shell block then runs as written, and its Python block is executed.
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
from pathlib import Path

import pytest

from llm_openai_compat import discovery
from llm_openai_compat.discovery import KnownServer

README = Path(__file__).resolve().parents[2] / "README.md"

pytestmark = pytest.mark.timeout(60)


def _quick_start() -> tuple[list[str], str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```(\w+)\n(.*?)```", section, flags=re.S)
    shell = next(body for lang, body in blocks if lang == "sh")
    python = next(body for lang, body in blocks if lang == "python")
    lines = [line.split("  #", 1)[0].strip() for line in shell.splitlines()]
    return [line for line in lines if line], python


def test_the_quick_start_comes_before_the_developer_set_up():
    text = README.read_text(encoding="utf-8")
    assert text.index("## Quick start") < text.index("## For developers")


def test_the_quick_start_works_as_written(model_server, run_llm, monkeypatch, settings_file):
    real = discovery.KNOWN_SERVERS["ollama"]
    url = model_server.url("models=llama3.2:latest")
    moved = KnownServer(real.id, real.name, url, real.profile, real.note)
    monkeypatch.setitem(discovery.KNOWN_SERVERS, "ollama", moved)  # type: ignore[arg-type]
    commands, python = _quick_start()
    assert [c.split()[:3] for c in commands] == [
        ["llm", "install", "llm-openai-compat"],
        ["llm", "openai-compat", "add"],
        ["llm", "-m", "ollama/llama3.2"],  # the name people type, for llama3.2:latest
        ["llm", "openai-compat", "test"],
    ]
    _install, add, prompt, probe = (shlex.split(c)[1:] for c in commands)

    # `llm install`: the plugin is what the suite runs; llm must list it.
    plugins = run_llm("plugins")
    assert plugins.exit_code == 0 and '"llm-openai-compat"' in plugins.stdout

    result = run_llm(*add)
    assert result.exit_code == 0, result.output
    assert "Added provider 'ollama' with 1 model " in result.stdout
    assert "llm -m ollama/llama3.2:latest" in result.stderr  # the suggested first prompt

    result = run_llm(*prompt)
    assert result.exit_code == 0, result.output
    assert result.stdout == "Hello! You said: Say hi.\n"
    assert model_server.last_body()["model"] == "llama3.2:latest"

    result = run_llm(*probe)
    assert result.exit_code == 0, result.output
    assert "Connection" in result.stdout and "NO" not in result.stdout

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(python, "README.md", "exec"), {})
    assert out.getvalue() == "Hello! You said: Say hi.\n"
