"""The scenario table (scenarios.py), run against the real fault server through the core client
(sync and async) and both adapters (llm sync and async, LangChain sync and async).

Every row checks: the exact error class from the core's tree (or success), the text delivered
exactly once, the number of requests the server saw, the retry sleeps asked for (stepped and
jittered per DESIGN.md, or exactly the server's Retry-After), and the wall time bound.
"""

from __future__ import annotations

import email.utils
import time
from typing import Any

import pytest

from llm_openai_compat import errors as E
from llm_openai_compat.http.retry import RetryPolicy
from tests.support.fault_server_fixture import refused_url

from .conftest import FULL
from .harness import RUNNERS, Run, install_recorder
from .scenarios import HTTP_DATE_SOON, SCENARIOS, STREAM, Scenario

pytestmark = pytest.mark.timeout(60)

POLICY = RetryPolicy()
# Rows that move 50 MB or wait for a timeout run through every entry point in the report; the
# normal suite, to stay fast, skips the adapters' async twins for them (the core's async loop,
# which those twins run on, is still covered).
QUICK_RUNNERS = {"core", "core-async", "llm", "langchain"}


def _runs(scenario: Scenario, runner_name: str) -> bool:
    if FULL:
        return True
    if scenario.quick_runners is not None:
        return runner_name in scenario.quick_runners
    slow = scenario.heavy or scenario.fault in ("timeout", "keep-alive")
    return not slow or runner_name in QUICK_RUNNERS


CASES = [
    pytest.param(scenario, mode, runner, id=f"{runner.name}/{mode}/{scenario.name}")
    for scenario in SCENARIOS
    for mode in scenario.modes
    for runner in RUNNERS
    if _runs(scenario, runner.name)
]


def _substitute(specs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for spec in specs:
        headers = spec.get("headers") or {}
        if HTTP_DATE_SOON in headers.values():
            when = email.utils.formatdate(time.time() + 2, usegmt=True)
            spec = {**spec, "headers": {k: when if v == HTTP_DATE_SOON else v for k, v in headers.items()}}
        out.append(spec)
    return out


def _check_sleeps(scenario: Scenario, sleeps: list[float]) -> None:
    assert len(sleeps) == scenario.expected_sleeps, f"sleeps asked for: {sleeps}"
    for index, seconds in enumerate(sleeps):
        if scenario.sleep_kind == "exact":
            assert seconds == pytest.approx(scenario.sleep_values[index])
        elif scenario.sleep_kind == "date":
            assert 0.0 <= seconds <= 3.0
        else:
            step = POLICY.steps[min(index, len(POLICY.steps) - 1)]
            low, high = step * (1 - POLICY.jitter), step * (1 + POLICY.jitter)
            assert low - 1e-9 <= seconds <= high + 1e-9, (index, seconds)


@pytest.mark.parametrize(("scenario", "mode", "runner"), CASES)
def test_scenario(scenario: Scenario, mode: str, runner, fault_server, isolated_user_dir, monkeypatch, figures):
    reason = runner.available()
    if reason:
        pytest.skip(reason)
    recorder = install_recorder(monkeypatch)
    provider_id = f"rel-{runner.name}"  # each row has its own runtime: breaker and quirks fresh
    if scenario.default is not None:
        fault_server.set_default(scenario.default)
    specs = _substitute(scenario.specs_for(mode))
    if specs:
        fault_server.enqueue(*specs)
    base = refused_url("/v1") if scenario.refused else fault_server.base_url + "/v1"
    run = Run(isolated_user_dir, provider_id, {"baseURL": base, **scenario.fields}, mode == STREAM)
    outcome = runner.run(run)

    if scenario.error is None:
        assert outcome.error is None, f"unexpected {outcome.error!r}"
    else:
        assert outcome.error is not None, f"expected {scenario.error.__name__}, got success {outcome.text[:80]!r}"
        assert outcome.core_class is scenario.error, f"expected {scenario.error.__name__}, got {outcome.error!r}"
        message = str(outcome.error)
        assert "Traceback" not in message and "\n" not in message.strip()
        for needle in scenario.message:
            assert needle in message, message
        if runner.adapter == "core":
            assert isinstance(outcome.error, E.OpenAICompatError)
    expected_text = scenario.text if scenario.text is not None else ""
    if outcome.text != expected_text:  # keep a 50 MB mismatch readable
        pytest.fail(f"text delivered {len(outcome.text)} chars {outcome.text[:60]!r}..., expected {len(expected_text)} {expected_text[:60]!r}")
    if scenario.requests is not None:
        assert len(fault_server.requests()) == scenario.requests
    _check_sleeps(scenario, recorder.sleeps)
    assert outcome.elapsed <= scenario.bound_s, f"took {outcome.elapsed:.2f} s"

    figures.add(
        "scenarios",
        name=scenario.name,
        fault=scenario.fault,
        mode=mode,
        runner=runner.name,
        error=scenario.error.__name__ if scenario.error else None,
        requests=scenario.requests,
        sleeps=[round(s, 3) for s in recorder.sleeps],
        elapsed=round(outcome.elapsed, 4),
        bound=scenario.bound_s,
        chars=len(outcome.text),
    )
