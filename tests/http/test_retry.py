"""The pure retry policy and circuit breaker, driven by a fake clock and fake randomness."""

from __future__ import annotations

import json
import threading

import pytest

from llm_openai_compat import errors
from llm_openai_compat.http.retry import (
    AttemptInfo,
    Attempts,
    CircuitBreaker,
    Deadline,
    RetryPolicy,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def _5xx(status: int = 503, retry_after: float | None = None) -> errors.OpenAICompatError:
    return errors.classify_response(
        status,
        {"retry-after": str(retry_after)} if retry_after is not None else {},
        b'{"error": {"message": "busy"}}',
        url="http://h/v1/chat/completions",
        provider="p",
    )


# -- backoff --------------------------------------------------------------------------------


def test_backoff_steps_without_jitter():
    policy = RetryPolicy(jitter=0.0)
    assert [policy.backoff(n) for n in range(1, 9)] == [0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 4.0, 4.0]


@pytest.mark.parametrize("draw, factor", [(0.0, 0.75), (0.5, 1.0), (0.999999, 1.25)])
def test_backoff_jitter_bounds(draw, factor):
    policy = RetryPolicy(random=lambda: draw)
    for n, step in enumerate(policy.steps, start=1):
        assert policy.backoff(n) == pytest.approx(step * factor, rel=1e-5)


def test_backoff_with_real_randomness_stays_in_bounds():
    policy = RetryPolicy()
    for n in range(1, 7):
        base = policy.steps[n - 1]
        for _ in range(200):
            assert base * 0.75 <= policy.backoff(n) <= base * 1.25


def test_policy_rejects_nonsense():
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError):
        RetryPolicy(steps=())
    with pytest.raises(ValueError):
        RetryPolicy(jitter=1.5)


# -- retry decisions ------------------------------------------------------------------------


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503, 504, 599])
def test_retryable_statuses(status):
    decision = RetryPolicy(jitter=0.0).decide(_5xx(status), 1)
    assert decision.retry and decision.delay == 0.5


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_client_errors_are_not_retried(status):
    error = _5xx(status)
    decision = RetryPolicy().decide(error, 1)
    assert not decision.retry and decision.error is error


def test_insufficient_quota_is_not_retried():
    error = errors.classify_response(
        429, {}, b'{"error": {"message": "You exceeded your current quota", "code": "insufficient_quota"}}'
    )
    assert isinstance(error, errors.QuotaExceeded)
    assert not RetryPolicy().decide(error, 1).retry


def test_network_errors_are_retried_and_circuit_open_is_not():
    policy = RetryPolicy(jitter=0.0)
    assert policy.decide(errors.ConnectError("refused"), 2).delay == 1.0
    assert policy.decide(errors.NetworkTimeout("slow"), 3).retry
    assert not policy.decide(errors.CircuitOpen("open"), 1).retry
    assert not policy.decide(errors.StreamError("broke"), 1).retry
    assert not policy.decide(errors.ConfigError("bad"), 1).retry


def test_nothing_is_retried_once_bytes_were_delivered():
    assert not RetryPolicy().decide(errors.NetworkTimeout("read"), 1, delivered=True).retry


def test_attempts_are_bounded():
    policy = RetryPolicy()
    assert policy.decide(_5xx(), 5).retry
    assert not policy.decide(_5xx(), 6).retry
    assert not RetryPolicy(max_attempts=1).decide(_5xx(), 1).retry


def test_retry_after_is_honoured_exactly():
    decision = RetryPolicy().decide(_5xx(429, retry_after=2), 1)
    assert decision.retry and decision.delay == 2.0
    ms = errors.classify_response(429, {"retry-after-ms": "1500"}, b"")
    assert RetryPolicy().decide(ms, 1).delay == 1.5


def test_retry_after_beyond_cap_gives_up_at_once():
    error = _5xx(429, retry_after=120)
    decision = RetryPolicy().decide(error, 1)
    assert not decision.retry
    assert isinstance(decision.error, errors.RateLimited)
    assert decision.error.retry_after == 120
    assert "asked to wait 120 s" in str(decision.error)
    assert "30 s" in str(decision.error)
    assert decision.error.status == 429 and decision.error.provider == "p"
    # A cap is a cap: exactly at the cap still waits.
    assert RetryPolicy(retry_after_cap=2).decide(_5xx(429, retry_after=2), 1).retry


# -- circuit breaker ------------------------------------------------------------------------


def _fail(breaker: CircuitBreaker, times: int) -> None:
    for _ in range(times):
        probe = breaker.acquire()
        breaker.record("failure", probe=probe)


def test_breaker_opens_after_threshold_and_fails_fast():
    clock = FakeClock()
    breaker = CircuitBreaker("local", clock=clock)
    _fail(breaker, 4)
    assert breaker.state == "closed" and breaker.consecutive_failures == 4
    _fail(breaker, 1)
    assert breaker.state == "open"
    clock.advance(12)
    with pytest.raises(errors.CircuitOpen) as info:
        breaker.acquire()
    text = str(info.value)
    assert "'local'" in text and "18 s" in text and "5 consecutive failures" in text
    assert info.value.retry_after == pytest.approx(18)


def test_success_resets_and_client_errors_change_nothing():
    breaker = CircuitBreaker("p", clock=FakeClock())
    _fail(breaker, 4)
    breaker.record("neutral", probe=breaker.acquire())  # a 401: not a failure, no reset
    assert breaker.consecutive_failures == 4
    breaker.record("success", probe=breaker.acquire())
    assert breaker.consecutive_failures == 0
    _fail(breaker, 4)
    assert breaker.state == "closed"


def test_half_open_lets_exactly_one_probe_through_and_success_closes():
    clock = FakeClock()
    breaker = CircuitBreaker("p", clock=clock)
    _fail(breaker, 5)
    clock.advance(29.9)
    with pytest.raises(errors.CircuitOpen):
        breaker.acquire()
    clock.advance(0.1)
    assert breaker.state == "half_open"
    assert breaker.acquire() is True  # the probe
    for _ in range(3):  # concurrent callers still fail fast
        with pytest.raises(errors.CircuitOpen, match="probing"):
            breaker.acquire()
    breaker.record("success", probe=True)
    assert breaker.state == "closed"
    assert breaker.acquire() is False


def test_probe_failure_reopens_for_another_cooldown():
    clock = FakeClock()
    breaker = CircuitBreaker("p", clock=clock)
    _fail(breaker, 5)
    clock.advance(30)
    assert breaker.acquire() is True
    breaker.record("failure", probe=True)
    assert breaker.state == "open"
    clock.advance(29)
    with pytest.raises(errors.CircuitOpen):
        breaker.acquire()
    clock.advance(1)
    assert breaker.acquire() is True


def test_abandoned_or_neutral_probe_frees_the_slot():
    clock = FakeClock()
    breaker = CircuitBreaker("p", clock=clock)
    _fail(breaker, 5)
    clock.advance(30)
    assert breaker.acquire() is True
    breaker.record("neutral", probe=True)  # e.g. the probe got a 401, or was cancelled
    assert breaker.state == "half_open"
    assert breaker.acquire() is True


def test_stragglers_do_not_close_an_open_breaker():
    clock = FakeClock()
    breaker = CircuitBreaker("p", threshold=2, clock=clock)
    slow = breaker.acquire()  # sent while closed, finishes after the breaker opened
    _fail(breaker, 2)
    breaker.record("success", probe=slow)
    assert breaker.state == "open"


def test_allows_after():
    clock = FakeClock()
    breaker = CircuitBreaker("p", clock=clock)
    assert breaker.allows_after(1.0)
    _fail(breaker, 5)
    assert not breaker.allows_after(4.0)
    assert breaker.allows_after(30.0)


def test_breaker_is_thread_safe_with_one_probe():
    clock = FakeClock()
    breaker = CircuitBreaker("p", clock=clock)
    _fail(breaker, 5)
    clock.advance(30)
    probes: list[bool] = []
    refused: list[int] = []
    barrier = threading.Barrier(16)

    def worker() -> None:
        barrier.wait()
        try:
            probes.append(breaker.acquire())
        except errors.CircuitOpen:
            refused.append(1)

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert probes == [True] and len(refused) == 15


# -- one request's attempts -----------------------------------------------------------------


def test_attempts_bookkeeping_reports_and_raises_final_error_with_attempts():
    seen: list[AttemptInfo] = []
    clock = FakeClock()
    policy = RetryPolicy(max_attempts=3, jitter=0.0)
    run = Attempts(policy, CircuitBreaker("p", clock=clock), url="http://h/x", on_attempt=seen.append, clock=clock)
    delays = []
    with pytest.raises(errors.Provider5xx) as info:
        while True:
            run.begin()
            clock.advance(0.25)
            delays.append(run.failed(_5xx(503)))
    assert delays == [0.5, 1.0]
    assert info.value.attempts == 3 and "[after 3 attempts]" in str(info.value)
    assert [(a.attempt, a.status, a.error_class_name, a.will_retry, a.delay_s) for a in seen] == [
        (1, 503, "Provider5xx", True, 0.5),
        (2, 503, "Provider5xx", True, 1.0),
        (3, 503, "Provider5xx", False, 0.0),
    ]
    assert all(a.elapsed_s == pytest.approx(0.25) for a in seen)


def test_attempts_stop_when_own_failures_open_the_breaker():
    clock = FakeClock()
    breaker = CircuitBreaker("p", threshold=2, clock=clock)
    run = Attempts(RetryPolicy(jitter=0.0), breaker, url="http://h/x", clock=clock)
    run.begin()
    assert run.failed(errors.ConnectError("refused")) == 0.5
    run.begin()
    with pytest.raises(errors.ConnectError) as info:  # the real error, not "failing fast"
        run.failed(errors.ConnectError("refused"))
    assert info.value.attempts == 2
    with pytest.raises(errors.CircuitOpen):
        Attempts(RetryPolicy(), breaker, url="http://h/x").begin()


def test_abandon_frees_the_probe():
    clock = FakeClock()
    breaker = CircuitBreaker("p", clock=clock)
    _fail(breaker, 5)
    clock.advance(30)
    run = Attempts(RetryPolicy(), breaker, url="http://h/x")
    run.begin()
    run.abandon()
    assert breaker.acquire() is True


def test_infinite_retry_after_gives_up_with_a_readable_message():
    error = errors.classify_response(429, {"retry-after": "inf"}, b"")
    decision = RetryPolicy().decide(error, 1)
    assert not decision.retry and "asked to wait inf s" in str(decision.error)


@pytest.mark.parametrize("value, text", [(2.0, "2"), (1.5, "1.5"), (0.25, "0.25"), (29.2, "30"), (0.0, "0")])
def test_fmt_seconds(value, text):
    from llm_openai_compat.http.retry import fmt_seconds

    assert fmt_seconds(value) == text


# -- which breaker a failure counts against (docs/architecture.md, "retry and breaker counting")


def _at(status: int, message: str = "busy") -> errors.OpenAICompatError:
    body = json.dumps({"error": {"message": message}}).encode()
    return errors.classify_response(status, {}, body, provider="p", model="m")


def test_no_answer_is_the_origins_failure_and_any_answer_the_models():
    import httpx2

    from llm_openai_compat.http.retry import breaker_scope
    from llm_openai_compat.http.transport import Endpoint, translate_exception

    ep = Endpoint(provider="p", url="http://127.0.0.1:9/v1/chat/completions", model="m")
    request = httpx2.Request("POST", ep.url)
    assert breaker_scope(translate_exception(httpx2.ConnectError("refused", request=request), ep)) == "origin"
    assert breaker_scope(translate_exception(httpx2.ConnectTimeout("slow", request=request), ep)) == "origin"
    assert breaker_scope(translate_exception(httpx2.ReadTimeout("slow", request=request), ep)) == "model"
    for status in (429, 500, 502, 503, 404):
        assert breaker_scope(_at(status)) == "model", status


def _two(clock: FakeClock) -> tuple[CircuitBreaker, CircuitBreaker]:
    return CircuitBreaker("p", clock=clock), CircuitBreaker("p", model="m", clock=clock)


def _attempt(origin: CircuitBreaker, model: CircuitBreaker, error: errors.OpenAICompatError) -> None:
    run = Attempts(RetryPolicy(max_attempts=1), origin, url="http://h/x", model_breaker=model)
    run.begin()
    with pytest.raises(errors.OpenAICompatError):
        run.failed(error)


def test_a_models_429s_open_its_breaker_and_close_the_origins_count():
    clock = FakeClock()
    origin, model = _two(clock)
    for _ in range(4):
        _attempt(origin, model, errors.ConnectError("refused"))
    assert origin.consecutive_failures == 4 and model.consecutive_failures == 0
    for _ in range(5):
        _attempt(origin, model, _at(429))
    assert origin.state == "closed" and origin.consecutive_failures == 0  # the server answered
    assert model.state == "open"
    with pytest.raises(errors.CircuitOpen, match="Failing fast for model 'm' of provider 'p'"):
        Attempts(RetryPolicy(), origin, url="http://h/x", model_breaker=model).begin()
    assert origin.acquire() is False  # the refusal gave the origin back nothing held


def test_the_origins_probe_is_released_when_the_model_breaker_refuses():
    clock = FakeClock()
    origin, model = _two(clock)
    _fail(origin, 5)
    for _ in range(5):
        model.record("failure", probe=False)
    clock.advance(30)  # both cooldowns over: the model's probe fails, opening it again
    model.record("failure", probe=model.acquire())
    with pytest.raises(errors.CircuitOpen, match="model 'm'"):
        Attempts(RetryPolicy(), origin, url="http://h/x", model_breaker=model).begin()
    assert origin.acquire() is True  # the probe slot was given back


def test_a_repeated_refusal_is_not_retried_and_takes_back_its_first_failure():
    clock = FakeClock()
    origin, model = _two(clock)
    refusal = "image input is not supported"
    run = Attempts(RetryPolicy(jitter=0.0), origin, url="http://h/x", model_breaker=model)
    run.begin()
    assert run.failed(_at(500, refusal)) == 0.5
    assert model.consecutive_failures == 1
    run.begin()
    with pytest.raises(errors.UnsupportedRequest) as info:
        run.failed(_at(500, refusal))
    assert info.value.attempts == 2 and model.consecutive_failures == 0
    assert "try again" not in str(info.value).lower()
# -- the deadline -----------------------------------------------------------------------------


def test_a_deadline_stops_a_retry_whose_backoff_would_end_after_it():
    clock = FakeClock()
    deadline = Deadline.after(1.2, "deadlineMs", clock=clock)
    run = Attempts(RetryPolicy(jitter=0.0), CircuitBreaker("p", clock=clock), url="http://h/x",
                   clock=clock, deadline=deadline)
    run.begin()
    assert run.failed(_5xx(503)) == 0.5  # 1.2 s left: the 0.5 s backoff fits
    clock.advance(0.5)
    run.begin()
    with pytest.raises(errors.DeadlineExceeded) as info:  # 0.7 s left: the 1 s backoff does not
        run.failed(_5xx(503))
    message = str(info.value)
    assert "exceeded its 1.2 s deadline (deadlineMs) after 2 attempts; last: " in message
    assert info.value.status == 503 and info.value.attempts == 2 and info.value.provider == "p"


def test_a_spent_deadline_starts_no_attempt():
    clock = FakeClock()
    deadline = Deadline.after(1.0, "deadline", clock=clock)
    assert deadline is not None and deadline.remaining() == 1.0
    run = Attempts(RetryPolicy(), CircuitBreaker("p", clock=clock), url="http://h/x",
                   clock=clock, deadline=deadline)
    clock.advance(1.0)
    with pytest.raises(errors.DeadlineExceeded, match="after 0 attempts"):
        run.begin()
    assert Deadline.after(None) is None


def test_a_deadline_firing_is_neutral_for_the_breaker():
    clock = FakeClock()
    deadline = Deadline.after(1.0, clock=clock)
    assert deadline is not None
    breaker = CircuitBreaker("p", threshold=1, clock=clock)
    run = Attempts(RetryPolicy(), breaker, url="http://h/x", clock=clock, deadline=deadline)
    run.begin()
    clock.advance(1.0)
    with pytest.raises(errors.DeadlineExceeded):
        run.failed(deadline.exceeded(after="while waiting"))
    assert breaker.state == "closed"  # the caller's budget ran out, not the server
    assert errors.is_transient(deadline.exceeded())  # still a NetworkTimeout by class
