"""The retry policy and the circuit breaker, measured rather than restated.

Every figure here comes from requests sent to the fault server through the core client, with
the sleeps recorded (not slept) and the breaker's clock injected: how many attempts a request
makes, the delays it asks for between them, the largest Retry-After it waits for, how many
consecutive failures open the breaker, how long it stays open, and how many probes it lets
through when the cooldown is over. The report prints these figures next to DESIGN.md's policy.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Any

import pytest

from llm_openai_compat import Client, Conversation, Message, RequestOptions
from llm_openai_compat import errors as E
from llm_openai_compat.http.retry import DEFAULT_POLICY, CircuitBreaker, RetryPolicy

from .harness import Recorder, fresh_provider_id

pytestmark = [pytest.mark.timeout(60), pytest.mark.usefixtures("clean_state")]

HI = Conversation((Message.text("user", "hi"),))
FAIL = {"status": 500, "json": {"error": {"message": "boom", "type": "server_error"}}}
OK = {
    "status": 200,
    "json": {"choices": [{"index": 0, "message": {"content": "ok"}, "finish_reason": "stop"}]},
}


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _client(server: Any, *, policy: RetryPolicy, breaker: CircuitBreaker, **fields: Any) -> Client:
    return Client.inline(
        server.base_url + "/v1", provider_id=breaker.provider, policy=policy, breaker=breaker, **fields
    )


def _call(client: Client) -> BaseException | None:
    try:
        client.complete(HI, RequestOptions(model="m", stream=False))
    except E.OpenAICompatError as exc:
        return exc
    return None


def _requests(server: Any) -> int:
    return len(server.requests())


def _no_breaker() -> CircuitBreaker:
    return CircuitBreaker(fresh_provider_id("pol"), threshold=10_000)


def test_attempts_and_backoff_steps(fault_server, figures):
    """500 forever, the breaker out of the way: attempts and the un-jittered steps."""
    fault_server.set_default(FAIL)
    rec = Recorder()
    policy = replace(DEFAULT_POLICY, sleep=rec.sleep, random=lambda: 0.5)  # factor exactly 1
    error = _call(_client(fault_server, policy=policy, breaker=_no_breaker()))
    assert isinstance(error, E.Provider5xx)
    attempts = _requests(fault_server)
    assert attempts == 6 and error.attempts == 6
    assert rec.sleeps == [0.5, 1.0, 1.5, 2.0, 3.0]

    # With maxRetries 10 the schedule runs past its last step, which then repeats.
    fault_server.reset()
    fault_server.set_default(FAIL)
    rec_long = Recorder()
    policy = replace(DEFAULT_POLICY, sleep=rec_long.sleep, random=lambda: 0.5)
    _call(_client(fault_server, policy=policy, breaker=_no_breaker(), max_retries=10))
    assert _requests(fault_server) == 11
    assert rec_long.sleeps == [0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 4.0, 4.0, 4.0, 4.0]
    figures.set("retry.attempts", attempts)
    figures.set("retry.steps", rec.sleeps)
    figures.set("retry.steps_max_retries_10", rec_long.sleeps)


def test_jitter_bounds_and_spread(fault_server, figures):
    """The jitter's extremes (random() at 0 and just under 1), and its spread over real draws."""
    fault_server.set_default(FAIL)
    extremes = {}
    for label, draw in (("low", 0.0), ("high", 0.999999)):
        rec = Recorder()
        policy = replace(DEFAULT_POLICY, sleep=rec.sleep, random=lambda d=draw: d)
        _call(_client(fault_server, policy=policy, breaker=_no_breaker(), max_retries=1))
        extremes[label] = rec.sleeps[0] / 0.5
    assert extremes["low"] == pytest.approx(0.75)
    assert extremes["high"] == pytest.approx(1.25, abs=1e-5)

    factors: list[float] = []
    for _ in range(30):
        rec = Recorder()
        policy = replace(DEFAULT_POLICY, sleep=rec.sleep)  # the real random source
        _call(_client(fault_server, policy=policy, breaker=_no_breaker()))
        steps = DEFAULT_POLICY.steps
        factors += [s / steps[i] for i, s in enumerate(rec.sleeps)]
    assert len(factors) == 150
    assert all(0.75 <= f <= 1.25 for f in factors)
    assert max(factors) - min(factors) > 0.2  # it really varies
    figures.set("retry.jitter_bounds", [round(extremes["low"], 4), round(extremes["high"], 4)])
    figures.set("retry.jitter_observed", [round(min(factors), 3), round(max(factors), 3), len(factors)])


@pytest.mark.parametrize("header", ["Retry-After", "retry-after-ms"])
def test_retry_after_cap(fault_server, figures, header):
    """The largest wait the client accepts from the server, found by asking."""
    honoured, refused = [], []
    for seconds in (1, 10, 29.5, 30, 30.001, 31, 120, 3600):
        fault_server.reset()
        value = str(seconds) if header == "Retry-After" else str(int(seconds * 1000))
        if header == "Retry-After" and not float(seconds).is_integer():
            continue  # Retry-After is whole seconds
        fault_server.enqueue({**FAIL, "status": 429, "headers": {header: value}}, OK)
        rec = Recorder()
        policy = replace(DEFAULT_POLICY, sleep=rec.sleep)
        error = _call(_client(fault_server, policy=policy, breaker=_no_breaker()))
        if error is None:
            assert rec.sleeps == [pytest.approx(seconds)]
            assert _requests(fault_server) == 2
            honoured.append(seconds)
        else:
            assert isinstance(error, E.RateLimited) and rec.sleeps == []
            assert _requests(fault_server) == 1
            assert "more than the 30 s this client waits" in str(error)
            refused.append(seconds)
    assert max(honoured) == 30 and min(refused) > 30
    figures.set(f"retry_after.{header}", {"largest_honoured": max(honoured), "smallest_refused": min(refused)})


def test_breaker_threshold_cooldown_and_single_probe(fault_server, figures):
    clock = FakeClock()
    breaker = CircuitBreaker(fresh_provider_id("brk"), clock=clock)
    once = replace(DEFAULT_POLICY, max_attempts=1, sleep=lambda s: None)
    client = _client(fault_server, policy=once, breaker=breaker)
    fault_server.set_default(FAIL)

    # Threshold: consecutive failures until a request fails fast without reaching the server.
    failures = 0
    while True:
        before = _requests(fault_server)
        error = _call(client)
        if _requests(fault_server) == before:
            assert isinstance(error, E.CircuitOpen)
            break
        assert isinstance(error, E.Provider5xx)
        failures += 1
        assert failures < 50
    assert failures == 5

    # Cooldown: advance the injected clock in 0.5 s steps until a request gets through.
    def cooldown() -> float:
        opened_at = clock.now
        while True:
            clock.now += 0.5
            before = _requests(fault_server)
            error = _call(client)
            if _requests(fault_server) > before:
                return clock.now - opened_at
            assert isinstance(error, E.CircuitOpen) and "next try is allowed in" in str(error)
            assert clock.now - opened_at < 600

    first = cooldown()  # that probe failed (500): open again, for another cooldown
    assert first == 30.0
    second = cooldown()
    assert second == 30.0

    # One probe: while a slow probe is in flight, every other request fails fast.
    clock.now += 30.0
    fault_server.enqueue({**OK, "delay_before_headers": 0.6})
    fault_server.set_default(OK)
    results: dict[str, Any] = {}
    probe = threading.Thread(target=lambda: results.setdefault("probe", _call(client)))
    before = _requests(fault_server)
    probe.start()
    deadline = 50
    while _requests(fault_server) == before and deadline:  # wait until the probe reached it
        threading.Event().wait(0.01)
        deadline -= 1
    others = [_call(client) for _ in range(10)]
    probe.join(10)
    assert results["probe"] is None  # the probe succeeded
    assert all(isinstance(e, E.CircuitOpen) and "already probing" in str(e) for e in others)
    probes = _requests(fault_server) - before
    assert probes == 1
    assert breaker.state == "closed"
    assert _call(client) is None and _requests(fault_server) == before + 2

    figures.set(
        "breaker",
        {"threshold": failures, "cooldown_s": first, "cooldown_after_failed_probe_s": second,
         "probes_while_half_open": probes, "fail_fast_during_probe": len(others),
         "closed_after_good_probe": True},
    )


def test_default_breaker_and_retries_together(fault_server, figures):
    """The real configuration: one request to a dead server, then the next one."""
    fault_server.set_default(FAIL)
    rec = Recorder()
    policy = replace(DEFAULT_POLICY, sleep=rec.sleep)
    pid = fresh_provider_id("dflt")
    client = Client.inline(fault_server.base_url + "/v1", provider_id=pid, policy=policy)
    error = _call(client)
    first = _requests(fault_server)
    assert isinstance(error, E.Provider5xx) and first == 5 and len(rec.sleeps) == 4
    error = _call(client)
    assert isinstance(error, E.CircuitOpen) and _requests(fault_server) == first
    figures.set("retry.attempts_with_default_breaker", first)
