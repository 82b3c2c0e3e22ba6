"""Through the real `llm` CLI: failover to a fallback provider (named in response_json and on
stderr), `-o deadline`, and a stream stalling before its first byte being retried."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.support.fault_server_fixture import refused_url

from .conftest import sim

pytestmark = pytest.mark.timeout(60)


def test_failover_is_shown_and_logged(model_server, write_settings, run_llm):
    write_settings(
        a=sim(model_server.url("fail=503"), "m", fallbacks=[{"provider": "b", "model": "m2"}]),
        b=sim(model_server.url(), "m2"),
    )
    result = run_llm("-m", "a/m", "hi")
    assert result.exit_code == 0, result.output
    assert result.stdout == "Hello! You said: hi.\n"
    assert "a failed (Provider5xx); failing over to b (model m2)" in result.stderr
    row = json.loads(run_llm("logs", "-n", "1", "--json").stdout)[0]
    assert row["response_json"]["provider"] == "b"
    assert row["response_json"]["fallback_from"] == ["a"]


def test_both_failing_is_one_error_naming_both(model_server, write_settings, run_llm):
    write_settings(
        a=sim(model_server.url("fail=503"), "m", fallbacks=[{"provider": "b"}]),
        b=sim(refused_url("/v1"), "m"),
    )
    result = run_llm("-m", "a/m", "hi")
    assert result.exit_code != 0
    assert "after failing over from a: " in result.output and "HTTP 503" in result.output
    assert "Traceback" not in result.output


def test_no_failover_on_401(model_server, write_settings, run_llm):
    token = uuid.uuid4().hex[:8]
    write_settings(
        a=sim(model_server.url("fail=401"), "m", fallbacks=[{"provider": "b"}]),
        b=sim(model_server.url(f"t={token}"), "m"),
    )
    result = run_llm("-m", "a/m", "hi")
    assert result.exit_code != 0 and "failing over" not in result.output
    assert not [r for r in model_server.requests() if f"t={token}" in r["path"]]


def test_option_deadline_cuts_a_trickling_answer(model_server, write_settings, run_llm):
    write_settings(slow=sim(model_server.url("delay=50", "words=200"), "m", timeoutMs=5000))
    result = run_llm("-m", "slow/m", "-o", "deadline", "0.5", "hi")
    assert result.exit_code != 0
    assert "exceeded its 0.5 s deadline (deadline)" in result.output
    assert "Traceback" not in result.output


def test_deadline_ms_in_the_file(model_server, write_settings, run_llm):
    write_settings(slow=sim(model_server.url("delay=50", "words=200"), "m", deadlineMs=500))
    result = run_llm("-m", "slow/m", "hi")
    assert result.exit_code != 0 and "0.5 s deadline (deadlineMs)" in result.output


def test_a_stall_before_the_first_byte_is_retried(model_server, write_settings, run_llm):
    token = uuid.uuid4().hex[:8]
    url = model_server.url("stall-first=1", "stall=2000", f"t={token}")
    write_settings(st=sim(url, "m", timeoutMs=400, maxRetries=2))
    result = run_llm("-m", "st/m", "hi")
    assert result.exit_code == 0, result.output
    assert result.stdout == "Hello! You said: hi.\n"
    assert "NetworkTimeout from st" in result.stderr


def test_deadline_ms_bounds_llm_embed(model_server, write_settings, run_llm):
    # maxRetries 5: the first backoff (0.5 s) would end after the 0.3 s budget, so no retry.
    write_settings(
        emb=sim(
            model_server.url("fail=503"), "m", embeddingModels=["e"], maxRetries=5, deadlineMs=300
        )
    )
    result = run_llm("embed", "-m", "emb/e", "-c", "hello")
    assert result.exit_code != 0
    assert "exceeded its 0.3 s deadline (deadlineMs) after 1 attempt" in result.output
    assert "HTTP 503" in result.output and "Traceback" not in result.output
