"""Retry policy and circuit breaker: pure decisions, no I/O, shared by the sync and async loops.

The transport asks two questions after every failed attempt: "should this be retried, and after
how long?" (`RetryPolicy.decide`) and "may this provider be called at all right now?"
(`CircuitBreaker`). Keeping both here, free of httpx, lets tests drive them with a fake clock.
"""

from __future__ import annotations

import logging
import math
import random as _random
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from .. import errors

__all__ = [
    "DEFAULT_POLICY",
    "AttemptInfo",
    "Attempts",
    "BreakerState",
    "CircuitBreaker",
    "OnAttempt",
    "Outcome",
    "RetryDecision",
    "RetryPolicy",
    "fmt_seconds",
    "with_changes",
]

# Retries are not silent: one record per retry for whoever listens (the llm CLI shows them as
# dim stderr lines; a LangChain or library user sees them with logging configured).
_NOTICES = logging.getLogger("llm_openai_compat")

BreakerState = Literal["closed", "open", "half_open"]
Outcome = Literal["success", "failure", "neutral"]

_RETRY_STATUSES = frozenset({408, 409, 429, *range(500, 600)})


async def _asyncio_sleep(seconds: float) -> None:
    import asyncio  # only async callers pay for it

    await asyncio.sleep(seconds)


def fmt_seconds(seconds: float) -> str:
    """`2` for 2.0, `1.5` for 1.5: seconds as people write them in a message."""
    if not math.isfinite(seconds):
        return str(seconds)
    if seconds >= 1e6:  # a hostile Retry-After of 1e308 must not print 309 digits
        return f"{seconds:.3g}"
    if seconds >= 10 or float(seconds).is_integer():
        return str(math.ceil(seconds))
    return f"{seconds:.2f}".rstrip("0").rstrip(".")


def with_changes(
    error: errors.OpenAICompatError, *, message: str | None = None, **changes: object
) -> errors.OpenAICompatError:
    """A copy of `error` with some fields changed; its one-line message is rendered again."""
    state = {**error._state(), **changes}
    return type(error)(error.message if message is None else message, **state)


@dataclass(frozen=True)
class RetryDecision:
    """What to do after a failed attempt: retry after `delay` s, or raise `error`."""

    retry: bool
    delay: float
    error: errors.OpenAICompatError


@dataclass(frozen=True)
class RetryPolicy:
    """When and how long to wait before trying a request again.

    Only transient errors are retried, and only before any byte reached the caller: a retry
    after that would duplicate output. `sleep`, `asleep` and `random` are injectable so tests
    run fast and can assert the delays asked for.

    Timing rules against a hostile or broken server:

    - A `Retry-After` / `retry-after-ms` that is zero, negative, in the past or NaN says
      nothing usable: the normal backoff applies (never a zero-delay retry loop). One longer
      than `retry_after_cap` (infinity included) is not waited for.
    - A timeout (connect, read before the first byte, or only keep-alives) is retried at most
      `max_timeout_retries` times (1): each costs up to the provider's `timeoutMs`, so a server
      that accepts connections and never answers holds the caller for about 2 x `timeoutMs`,
      not `max_attempts` x `timeoutMs`.
    """

    max_attempts: int = 6
    max_timeout_retries: int = 1
    steps: tuple[float, ...] = (0.5, 1.0, 1.5, 2.0, 3.0, 4.0)
    jitter: float = 0.25
    retry_after_cap: float = 30.0
    retry_statuses: frozenset[int] = field(default=_RETRY_STATUSES, repr=False)
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False, compare=False)
    asleep: Callable[[float], Awaitable[None]] = field(
        default=_asyncio_sleep, repr=False, compare=False
    )
    random: Callable[[], float] = field(default=_random.random, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if not self.steps or min(self.steps) < 0:
            raise ValueError("steps must be a non-empty tuple of non-negative delays")
        if not 0 <= self.jitter < 1:
            raise ValueError("jitter must be in [0, 1)")

    def backoff(self, attempt: int) -> float:
        """The jittered delay before attempt `attempt + 1`."""
        base = self.steps[min(max(attempt, 1) - 1, len(self.steps) - 1)]
        return base * (1 - self.jitter + 2 * self.jitter * self.random())

    def is_retryable(self, error: errors.OpenAICompatError) -> bool:
        """Transient errors, except a breaker that is failing fast, with a retryable status.
        `is_transient`, not `isinstance`: a 401 is also a ProviderTransient (seed 003)."""
        if not errors.is_transient(error) or isinstance(error, errors.CircuitOpen):
            return False
        return error.status is None or error.status in self.retry_statuses

    def decide(
        self,
        error: errors.OpenAICompatError,
        attempt: int,
        *,
        delivered: bool = False,
        timeouts: int = 0,
    ) -> RetryDecision:
        """After attempt number `attempt` failed with `error`: retry (after how long) or give up.

        `delivered` says bytes already reached the caller; such a request is never retried.
        A server asking to wait longer than `retry_after_cap` is not waited for: the error is
        raised at once, saying how long the server asked for. `timeouts` counts the attempts
        of this request that timed out, this one included.
        """
        if delivered or attempt >= self.max_attempts or not self.is_retryable(error):
            return RetryDecision(False, 0.0, error)
        if isinstance(error, errors.NetworkTimeout) and timeouts > self.max_timeout_retries:
            return RetryDecision(False, 0.0, error)
        wait = error.retry_after
        if wait is None or math.isnan(wait) or wait <= 0:
            return RetryDecision(True, self.backoff(attempt), error)
        if wait > self.retry_after_cap:
            message = (
                f"{error.message.rstrip('.')}; the server asked to wait {fmt_seconds(wait)} s, "
                f"more than the {fmt_seconds(self.retry_after_cap)} s this client waits"
            )
            return RetryDecision(False, 0.0, with_changes(error, message=message))
        return RetryDecision(True, wait, error)


DEFAULT_POLICY = RetryPolicy()


class CircuitBreaker:
    """Fails fast for `cooldown` s after `threshold` consecutive failed attempts to a provider.

    A failure is a transient error (429, 5xx, timeout, connection error); a success (2xx)
    resets the count; a 4xx answer changes nothing. After the cooldown exactly one probe is
    let through (others still fail fast): its success closes the breaker, its failure opens it
    for another cooldown. Thread-safe, since sync clients are shared across threads.
    """

    def __init__(
        self,
        provider: str,
        *,
        threshold: int = 5,
        cooldown: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if threshold < 1:
            raise ValueError("threshold must be at least 1")
        self.provider = provider
        self.threshold = threshold
        self.cooldown = cooldown
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None  # set while open or half-open
        self._probing = False

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled closed: its count and state belong to the process that saw the failures."""
        return (_closed_breaker, (self.provider, self.threshold, self.cooldown, self._clock))

    def __repr__(self) -> str:
        return f"CircuitBreaker({self.provider!r}, state={self.state!r}, failures={self._failures})"

    @property
    def state(self) -> BreakerState:
        with self._lock:
            return self._state_locked(self._clock())

    @property
    def consecutive_failures(self) -> int:
        return self._failures

    def _state_locked(self, now: float) -> BreakerState:
        if self._opened_at is None:
            return "closed"
        if self._probing or now - self._opened_at >= self.cooldown:
            return "half_open"
        return "open"

    def acquire(self, *, url: str | None = None) -> bool:
        """Ask to send one request. Returns True when it is the half-open probe.

        Raises `errors.CircuitOpen` while failing fast; the caller must `record` an outcome
        for every successful `acquire`, even when the request is abandoned ("neutral").
        """
        with self._lock:
            now = self._clock()
            state = self._state_locked(now)
            if state == "closed":
                return False
            if state == "half_open" and not self._probing:
                self._probing = True
                return True
            failures = self._failures
            if self._probing:
                message = "Failing fast: one request is already probing whether the provider recovered"
                remaining = None
            else:
                assert self._opened_at is not None
                remaining = max(0.0, self.cooldown - (now - self._opened_at))
                message = (
                    f"Failing fast after {failures} consecutive failure{'s' * (failures != 1)}; "
                    f"the next try is allowed in {fmt_seconds(remaining)} s"
                )
        raise errors.CircuitOpen(message, provider=self.provider, url=url, retry_after=remaining)

    def allows_after(self, delay: float) -> bool:
        """Would a request `delay` s from now get through? Lets a retry loop stop early."""
        with self._lock:
            if self._opened_at is None:
                return True
            if self._probing:
                return False
            return self._clock() + delay - self._opened_at >= self.cooldown

    def record(self, outcome: Outcome, *, probe: bool = False) -> None:
        """Report how an acquired request went."""
        with self._lock:
            if probe:
                self._probing = False
                if outcome == "success":
                    self._failures, self._opened_at = 0, None
                elif outcome == "failure":
                    self._failures += 1
                    self._opened_at = self._clock()
                return
            if self._opened_at is not None:
                return  # a straggler sent before the breaker opened: only the probe decides
            if outcome == "success":
                self._failures = 0
            elif outcome == "failure":
                self._failures += 1
                if self._failures >= self.threshold:
                    self._opened_at = self._clock()

    def reset(self) -> None:
        """Close the breaker and forget failures (tests, or after the user fixed something)."""
        with self._lock:
            self._failures, self._opened_at, self._probing = 0, None, False


@dataclass(frozen=True)
class AttemptInfo:
    """One attempt, for observers (logging, metrics). Never carries headers."""

    attempt: int
    url: str
    status: int | None
    error_class_name: str | None
    elapsed_s: float
    will_retry: bool
    delay_s: float


OnAttempt = Callable[[AttemptInfo], None]


class Attempts:
    """The bookkeeping of one logical request across its attempts, shared by the sync and
    async loops: breaker permission, outcomes, retry decisions and `AttemptInfo` reports.

    `url` must already be redacted; it goes into reports and errors.
    """

    def __init__(
        self,
        policy: RetryPolicy,
        breaker: CircuitBreaker,
        *,
        url: str,
        on_attempt: OnAttempt | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.policy, self.breaker, self.url = policy, breaker, url
        self.on_attempt, self._clock = on_attempt, clock
        self.attempt = 0
        self.timeouts = 0
        self.last_error: errors.OpenAICompatError | None = None
        self._probe: bool | None = None  # not None while an attempt holds the breaker
        self._started = 0.0

    def begin(self) -> None:
        """Before each attempt. If the breaker refuses, raise this request's last real error
        (more useful than "failing fast" when our own failures opened it), else CircuitOpen."""
        try:
            self._probe = self.breaker.acquire(url=self.url)
        except errors.CircuitOpen as refused:
            failure: errors.OpenAICompatError = refused
        else:
            self.attempt += 1
            self._started = self._clock()
            return
        raise self.last_error or failure

    def _record(self, outcome: Outcome) -> None:
        if self._probe is not None:
            self.breaker.record(outcome, probe=self._probe)
            self._probe = None

    def _report(self, status: int | None, error: str | None, retry: bool, delay: float) -> None:
        if self.on_attempt is not None:
            elapsed = self._clock() - self._started
            self.on_attempt(AttemptInfo(self.attempt, self.url, status, error, elapsed, retry, delay))

    def succeeded(self, status: int) -> None:
        """The attempt got a 2xx answer."""
        self._record("success")
        self._report(status, None, False, 0.0)

    def failed(self, error: errors.OpenAICompatError) -> float:
        """After a failed attempt: the delay before the next one, or raise the final error
        (with `attempts` set)."""
        self._record("failure" if errors.is_transient(error) else "neutral")
        if isinstance(error, errors.NetworkTimeout):
            self.timeouts += 1
        decision = self.policy.decide(error, self.attempt, timeouts=self.timeouts)
        retry = decision.retry and self.breaker.allows_after(decision.delay)
        delay = decision.delay if retry else 0.0
        self._report(error.status, type(error).__name__, retry, delay)
        final = with_changes(decision.error, attempts=self.attempt)
        if not retry:
            raise final
        if _NOTICES.isEnabledFor(logging.WARNING):
            what = f"HTTP {error.status}" if error.status else type(error).__name__
            _NOTICES.warning(
                "%s from %s (%s); retry %d of %d in %s s",
                what, self.breaker.provider, self.url, self.attempt,
                self.policy.max_attempts - 1, fmt_seconds(delay),
            )
        self.last_error = final
        return delay

    def abandon(self) -> None:
        """Always call when done: an attempt ended without an outcome (cancelled, or an
        unexpected exception) must not keep the breaker's single probe slot forever."""
        self._record("neutral")


def _closed_breaker(
    provider: str, threshold: int, cooldown: float, clock: Callable[[], float]
) -> CircuitBreaker:
    """An unpickled `CircuitBreaker`: the sender's settings, closed."""
    return CircuitBreaker(provider, threshold=threshold, cooldown=cooldown, clock=clock)
