"""`llm -m PROVIDER/MODEL` and `llm openai-compat ...` against a real LiteLLM proxy, on both
wire shapes. Skipped (with the reason in the summary) until the llm plugin is installed."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.litellm_proxy import MOCK_TEXT

# The first test's set-up may install LiteLLM (about 1-1.5 min; pip itself is bounded).
pytestmark = pytest.mark.timeout(600)


def _cli() -> Any:
    llm_cli = pytest.importorskip("llm.cli", reason="llm is not installed")
    from click.testing import CliRunner

    result = CliRunner().invoke(llm_cli.cli, ["openai-compat", "--help"])
    if result.exit_code != 0:
        pytest.skip("the llm plugin (llm openai-compat) is not registered yet")
    return llm_cli.cli


@pytest.fixture
def llm(litellm_proxy, isolated_user_dir, monkeypatch):
    """Run `llm ARGS...` in-process against a settings file naming the proxy twice: once per
    wire shape. Returns (exit code, stdout, stderr)."""
    cli = _cli()
    from click.testing import CliRunner


    monkeypatch.setenv("LITELLM_E2E_KEY", litellm_proxy.master_key)
    key = {"kind": "env", "name": "LITELLM_E2E_KEY"}
    base = litellm_proxy.base_url + "/v1"
    (isolated_user_dir / "openai-compat.json").write_text(
        json.dumps(
            {
                "providers": {
                    "litellm": {
                        "baseURL": base,
                        "apiKeyRef": key,
                        "profile": "litellm",
                        "maxRetries": 1,
                        "models": ["mock-chat", "mock-tools", "mock-429", "sim-model", "no-such-model"],
                    },
                    "litellm-resp": {
                        "baseURL": base,
                        "apiKeyRef": key,
                        "profile": "litellm",
                        "apiShape": "responses",
                        "models": ["mock-responses", "sim-model"],
                    },
                },
                "active": {"provider": "litellm", "model": "mock-chat"},
            }
        )
    )

    def run(*args: str) -> tuple[int, str, str]:
        result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
        return result.exit_code, result.stdout, result.stderr

    return run


@pytest.mark.parametrize("stream", [[], ["--no-stream"]], ids=["streamed", "whole"])
def test_prompt_on_chat_completions(llm, stream):
    code, out, err = llm("-m", "litellm/mock-chat", *stream, "-u", "Say hello")
    assert code == 0, err
    assert out.strip() == MOCK_TEXT
    assert "input" in err and "output" in err  # -u: token usage on stderr


@pytest.mark.parametrize("stream", [[], ["--no-stream"]], ids=["streamed", "whole"])
def test_prompt_on_responses(llm, stream):
    code, out, err = llm("-m", "litellm-resp/mock-responses", *stream, "Say hello")
    assert code == 0, err
    assert out.strip() == MOCK_TEXT


def test_the_active_alias(llm):
    code, out, err = llm("-m", "openai-compat", "Say hello")
    assert code == 0, err and out.strip() == MOCK_TEXT


@pytest.mark.parametrize("provider", ["litellm", "litellm-resp"], ids=["chat", "responses"])
def test_a_tool_call_round_trip(llm, provider):
    code, out, err = llm(
        "-m", f"{provider}/sim-model",
        "--functions", "def get_weather(city: str) -> str:\n    return 'sunny in ' + city\n",
        "What is the weather in Paris? Use get_weather.",
    )
    assert code == 0, err
    assert "sunny in Paris" in out


def test_a_429(llm):
    code, out, err = llm("-m", "litellm/mock-429", "hi")
    assert code != 0
    assert "mock rate limit error" in out + err


def test_an_unknown_model(llm):
    code, out, err = llm("-m", "litellm/no-such-model", "hi")
    assert code != 0
    assert "Invalid model name passed in model=no-such-model" in out + err


def test_a_wrong_key(llm, monkeypatch):
    monkeypatch.setenv("LITELLM_E2E_KEY", "sk-wrong-" + "w" * 20)
    code, out, err = llm("-m", "litellm/mock-chat", "hi")
    assert code != 0
    assert "No connected db" in out + err and "sk-wrong-" not in out + err


def test_models_listed_from_the_proxy(llm):
    code, out, err = llm("openai-compat", "models", "litellm")
    assert code == 0, err
    assert "litellm/mock-chat" in out and "litellm/mock-responses" in out


def test_openai_compat_test_reports_what_the_proxy_supports(llm):
    code, out, err = llm("openai-compat", "test", "litellm", "-m", "mock-chat", "--no-store")
    assert code == 0, out + err
    rows = {line.split("  ")[0].strip(): line for line in out.splitlines() if "  " in line}
    for check in ("Connection", "Streaming", "stream_options", "Usage in streams", "developer role"):
        assert " yes " in rows[check] + " ", rows.get(check)
