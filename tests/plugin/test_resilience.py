"""A broken settings file, or a server that is down, never breaks llm: `llm --version`,
`llm models` and other plugins' models keep working, our models are skipped with one warning
line naming the file and the field, and registration does no network I/O and no heavy imports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import sim

pytestmark = pytest.mark.timeout(60)

LLM = Path(sys.executable).with_name("llm")
GOOD = {"providers": {"ok": {"baseURL": "http://127.0.0.1:9/v1", "models": ["m"]}}}

BROKEN = {
    "empty": ("", ["is empty"]),
    "invalid-json": ("{bad", ["not valid JSON", "line 1"]),
    "not-an-object": ("[1, 2]", ["must hold a JSON object"]),
    "unknown-field": (
        json.dumps({"providers": {"x": {"baseURL": "http://h/v1", "modelz": ["a"]}}}),
        ["providers.x.modelz", "unknown field", "did you mean models"],
    ),
    "bad-url": (
        json.dumps({"providers": {"x": {"baseURL": "ftp://h/v1", "models": ["a"]}}}),
        ["providers.x.baseURL", "http://"],
    ),
    "wrong-type": (
        json.dumps({"providers": {"x": {"baseURL": "http://h/v1", "models": "a"}}}),
        ["providers.x.models", "array"],
    ),
    "dangling-active": (
        json.dumps({"providers": {}, "active": {"provider": "gone"}}),
        ["active.provider", "'gone'"],
    ),
    "not-utf8": (b"\xff\xfe{}", ["not UTF-8"]),
}
PER_PROVIDER = {"unknown-field", "bad-url", "wrong-type"}  # the file's only provider is broken


def _assert_llm_survives(run_llm, settings_file: Path, expected: list[str]) -> None:
    version = run_llm("--version")
    assert version.exit_code == 0 and version.stdout.startswith("cli, version")
    models = run_llm("models")
    assert models.exit_code == 0, models.output
    assert "OpenAI Chat: gpt-4o" in models.stdout  # llm's own models are all still there
    assert "OpenAI-compatible" not in models.stdout
    warnings = [line for line in models.stderr.splitlines() if "llm-openai-compat" in line]
    assert len(warnings) == 1, models.stderr
    assert str(settings_file) in warnings[0]
    for needle in expected:
        assert needle in warnings[0]
    assert "Traceback" not in models.output
    # Other commands keep working too.
    assert run_llm("aliases", "list").exit_code == 0
    assert run_llm("openai-compat", "path").exit_code == 0


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_settings_file(case, run_llm, settings_file):
    content, expected = BROKEN[case]
    if isinstance(content, bytes):
        settings_file.write_bytes(content)
    else:
        settings_file.write_text(content)
    _assert_llm_survives(run_llm, settings_file, expected)
    providers = run_llm("openai-compat", "providers")
    if case in PER_PROVIDER:  # only that provider is skipped: the table shows it broken
        assert providers.exit_code == 0, providers.output
        assert "BROKEN" in providers.stdout and expected[0] in providers.stdout
        return
    # Our own commands say the same thing, as one `Error:` line.
    assert providers.exit_code == 1 and providers.output.startswith("Error: ")
    assert providers.output.count("\n") == 1


def test_unreadable_settings_file(run_llm, settings_file, monkeypatch):
    settings_file.write_text(json.dumps(GOOD))
    real_open = Path.open

    def refuse(self, *args, **kwargs):
        if self == settings_file.resolve():
            raise PermissionError(13, "Permission denied")
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", refuse)
    _assert_llm_survives(run_llm, settings_file, ["cannot be read", "Permission denied"])


def test_settings_path_is_a_directory(run_llm, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_COMPAT_SETTINGS", str(tmp_path))
    _assert_llm_survives(run_llm, tmp_path, ["is a directory"])


def test_missing_file_is_silent(run_llm, settings_file):
    assert not settings_file.exists()
    models = run_llm("models")
    assert models.exit_code == 0 and "gpt-4o" in models.stdout
    assert models.stderr == ""


def test_unreachable_server_does_not_slow_or_break_registration(
    run_llm, write_settings, fault_server
):
    write_settings(away=sim(fault_server.refused_url("/v1"), "a", "b"))
    started = time.perf_counter()
    models = run_llm("models")
    assert models.exit_code == 0 and models.stderr == ""
    assert "OpenAI-compatible: away/a" in models.stdout and "away/b" in models.stdout
    assert time.perf_counter() - started < 5
    assert fault_server.requests() == []


def _subprocess_env(tmp_path: Path, settings: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI", "LLM_"))}
    env.update(LLM_USER_PATH=str(tmp_path), OPENAI_COMPAT_SETTINGS=str(settings))
    return env


def test_real_llm_executable_survives_a_broken_file(tmp_path):
    settings = tmp_path / "broken.json"
    settings.write_text('{"providers": {"x": {"baseURL": "http://h/v1", "bogus": 1}}}')
    env = _subprocess_env(tmp_path, settings)
    version = subprocess.run(
        [str(LLM), "--version"], env=env, capture_output=True, text=True, timeout=30
    )
    assert version.returncode == 0 and "version" in version.stdout
    models = subprocess.run(
        [str(LLM), "models"], env=env, capture_output=True, text=True, timeout=30
    )
    assert models.returncode == 0 and "gpt-4o" in models.stdout
    assert models.stderr.count("llm-openai-compat") == 1
    assert "providers.x.bogus" in models.stderr and str(settings) in models.stderr


STARTUP_PROBE = """
import json, sys, time
import llm, llm.cli  # llm itself, and its plugin loading (which imports our hooks)
before = set(sys.modules)
started = time.perf_counter()
models = llm.get_models()
elapsed = time.perf_counter() - started
ours = [m.model_id for m in models if m.model_id.startswith("p/")]
new = sorted(set(sys.modules) - before)
print(json.dumps({"ours": ours, "new": new, "all": sorted(sys.modules), "elapsed": elapsed}))
"""


def test_startup_imports_no_langchain_keyring_or_client(tmp_path):
    settings = tmp_path / "s.json"
    settings.write_text(
        json.dumps(
            {
                "providers": {
                    "p": {
                        "baseURL": "http://127.0.0.1:9/v1",
                        "models": [f"m{i}" for i in range(50)],
                        "apiKeyRef": {"kind": "keyring", "name": "p-key"},
                    }
                }
            }
        )
    )
    env = _subprocess_env(tmp_path, settings)
    done = subprocess.run(
        [sys.executable, "-c", STARTUP_PROBE], env=env, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert len(report["ours"]) == 50
    loaded = report["all"]
    assert not [
        m for m in loaded if m.split(".")[0] in ("langchain_core", "keyring", "langchain_adapter")
    ]
    # Neither the HTTP client layer nor the conversion layer is loaded until a prompt runs.
    for module in ("transport", "client", "call", "llm_convert", "probe", "wire"):
        assert f"llm_openai_compat.{module}" not in loaded
    assert report["elapsed"] < 1.0
