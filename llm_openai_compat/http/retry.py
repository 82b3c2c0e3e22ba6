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
    "Deadline",
    "OnAttempt",
    "Outcome",
    "RetryDecision",
    "RetryPolicy",
    "Scope",
    "breaker_scope",
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


@dataclass(frozen=True)
class Deadline:
    """A total budget for one call: every attempt, backoff sleep and fallback provider.

    `timeoutMs` bounds one wait for the server (connect, first byte, a gap between bytes); a
    deadline bounds the whole call, so a trickling answer and a chain of retries both end. It is
    made once per call (`after`) and shared by everything that call does; `source` names where
    it came from (`deadlineMs` in the file, `deadline=` in code, `-o deadline` in llm).
    """

    at: float  # on `clock`'s scale
    budget_s: float
    source: str = "deadlineMs"
    clock: Callable[[], float] = field(default=time.monotonic, repr=False, compare=False)

    @classmethod
    def after(
        cls, seconds: float | None, source: str = "deadlineMs",
        clock: Callable[[], float] = time.monotonic,
    ) -> Deadline | None:
        """A deadline `seconds` from now, or None when there is no budget."""
        if seconds is None:
            return None
        return cls(clock() + seconds, seconds, source, clock)

    def remaining(self) -> float:
        return self.at - self.clock()

    def exceeded(
        self, *, after: str = "", hint: str | None = None, url: str | None = None,
        provider: str | None = None, model: str | None = None, status: int | None = None,
        attempts: int | None = None,
    ) -> errors.DeadlineExceeded:
        """The error of this deadline firing; `after` says what it cut short."""
        message = f"The call exceeded its {fmt_seconds(self.budget_s)} s deadline ({self.source})"
        return errors.DeadlineExceeded(
            message + (f" {after}" if after else ""), hint=hint, url=url, provider=provider,
            model=model, status=status, attempts=attempts,
        )


class CircuitBreaker:
    """Fails fast for `cooldown` s after `threshold` consecutive failed attempts.

    A breaker is about a provider's origin (`model=None`: the server itself, every model behind
    it) or about one model of it; `Attempts` decides which failure counts against which (see
    `breaker_scope`). A failure is a transient error (429, 5xx, timeout, connection error); a
    success (2xx) resets the count; a 4xx answer changes nothing. After the cooldown exactly one
    probe is let through (others still fail fast): its success closes the breaker, its failure
    opens it for another cooldown. Thread-safe, since sync clients are shared across threads.
    """

    def __init__(
        self,
        provider: str,
        *,
        model: str | None = None,
        threshold: int = 5,
        cooldown: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if threshold < 1:
            raise ValueError("threshold must be at least 1")
        self.provider = provider
        self.model = model
        self.threshold = threshold
        self.cooldown = cooldown
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None  # set while open or half-open
        self._probing = False
        self._cause: str | None = None  # what the last failure was ("HTTP 429", "ConnectError")

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled closed: its count and state belong to the process that saw the failures."""
        return (_closed_breaker, (self.provider, self.threshold, self.cooldown, self._clock))

    def __repr__(self) -> str:
        model = f", model={self.model!r}" if self.model is not None else ""
        return (
            f"CircuitBreaker({self.provider!r}{model}, state={self.state!r}, "
            f"failures={self._failures})"
        )

    @property
    def subject(self) -> str:
        """What this breaker is about, as a message names it."""
        if self.model is not None:
            return f"model {self.model!r} of provider {self.provider!r}"
        return f"provider {self.provider!r} (every model of its server)"

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
            cause = f", the last {self._cause}" if self._cause else ""
            if self._probing:
                message = (
                    f"Failing fast for {self.subject}: one request is already probing whether "
                    "it recovered"
                )
                remaining = None
            else:
                assert self._opened_at is not None
                remaining = max(0.0, self.cooldown - (now - self._opened_at))
                message = (
                    f"Failing fast for {self.subject} after {failures} consecutive failure"
                    f"{'s' * (failures != 1)}{cause}; the next try is allowed in "
                    f"{fmt_seconds(remaining)} s"
                )
        if self.model is not None:
            hint = (
                "Only this model fails fast; other models of the provider are still tried. "
                "Check the model (rate limit, gateway route), or use another meanwhile"
            )
        else:
            hint = (
                "The server could not be reached, so every model of this provider fails fast; "
                "check the server is running and the base URL, then try again after that"
            )
        raise errors.CircuitOpen(
            message, provider=self.provider, model=self.model, url=url, retry_after=remaining,
            hint=hint,
        )

    def allows_after(self, delay: float) -> bool:
        """Would a request `delay` s from now get through? Lets a retry loop stop early."""
        with self._lock:
            if self._opened_at is None:
                return True
            if self._probing:
                return False
            return self._clock() + delay - self._opened_at >= self.cooldown

    def record(self, outcome: Outcome, *, probe: bool = False, cause: str | None = None) -> None:
        """Report how an acquired request went; `cause` names a failure for the message."""
        with self._lock:
            if outcome == "failure" and cause:
                self._cause = cause
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


Scope = Literal["origin", "model"]


def breaker_scope(error: errors.OpenAICompatError) -> Scope:
    """Which breaker a failed attempt counts against (docs/architecture.md, "retry and breaker
    counting"): no answer at all — refused, reset, DNS, TLS, a connect timeout — is the origin's
    (every model behind it is unreachable); anything the server answered, and a read timeout
    (the server took the request), is the model's."""
    if isinstance(error, errors.ConnectError):
        return "origin"
    if isinstance(error, errors.NetworkTimeout) and error.code == "connect_timeout":
        return "origin"
    return "model"


class Attempts:
    """The bookkeeping of one logical request across its attempts, shared by the sync and
    async loops: breaker permission, outcomes, retry decisions and `AttemptInfo` reports.

    `breaker` is the origin's; `model_breaker`, when given, the model's: an attempt needs both
    to let it through, and each failure counts against the one `breaker_scope` names (an answer
    from the server counts as a success of the origin). `url` must already be redacted; it goes
    into reports and errors.
    """

    def __init__(
        self,
        policy: RetryPolicy,
        breaker: CircuitBreaker,
        *,
        url: str,
        model_breaker: CircuitBreaker | None = None,
        on_attempt: OnAttempt | None = None,
        clock: Callable[[], float] = time.monotonic,
        deadline: Deadline | None = None,
    ) -> None:
        self.policy, self.breaker, self.url = policy, breaker, url
        self.model_breaker = model_breaker
        self.on_attempt, self._clock = on_attempt, clock
        self.deadline = deadline
        self.attempt = 0
        self.timeouts = 0
        self.last_error: errors.OpenAICompatError | None = None
        # One slot per breaker, not None while an attempt holds it (True: the half-open probe).
        self._probes: list[bool | None] = []
        self._started = 0.0

    def _breakers(self) -> tuple[CircuitBreaker, ...]:
        if self.model_breaker is None:
            return (self.breaker,)
        return (self.breaker, self.model_breaker)

    def begin(self) -> None:
        """Before each attempt. If a breaker refuses, raise this request's last real error
        (more useful than "failing fast" when our own failures opened it), else CircuitOpen.
        A spent deadline starts no attempt."""
        if self.deadline is not None and self.deadline.remaining() <= 0:
            raise self._out_of_time(self.last_error)
        held: list[bool] = []
        try:
            for breaker in self._breakers():
                held.append(breaker.acquire(url=self.url))
        except errors.CircuitOpen as refused:
            failure: errors.OpenAICompatError = refused
        else:
            self._probes = list(held)
            self.attempt += 1
            self._started = self._clock()
            return
        # Give back what the breakers before the refusing one let through.
        for breaker, probe in zip(self._breakers(), held, strict=False):
            breaker.record("neutral", probe=probe)
        raise self.last_error or failure

    def _record(self, *outcomes: Outcome, cause: str | None = None) -> None:
        """One outcome per breaker (the last one repeated for those not named)."""
        for index, (breaker, probe) in enumerate(zip(self._breakers(), self._probes, strict=False)):
            if probe is not None:
                outcome = outcomes[min(index, len(outcomes) - 1)]
                breaker.record(outcome, probe=probe, cause=cause)
        self._probes = []

    def _report(self, status: int | None, error: str | None, retry: bool, delay: float) -> None:
        if self.on_attempt is not None:
            elapsed = self._clock() - self._started
            self.on_attempt(AttemptInfo(self.attempt, self.url, status, error, elapsed, retry, delay))

    def succeeded(self, status: int) -> None:
        """The attempt got a 2xx answer."""
        self._record("success")
        self._report(status, None, False, 0.0)

    def _count(self, error: errors.OpenAICompatError) -> None:
        """Count a failed attempt against the breaker it belongs to."""
        if isinstance(error, errors.UnsupportedRequest):
            # The same answer twice: the server and model work, the request is what fails; it
            # takes back the failure its first attempt counted, and never blocks the model.
            self._record("success")
            return
        failed: Outcome = "failure" if errors.is_transient(error) else "neutral"
        cause = f"HTTP {error.status}" if error.status else type(error).__name__
        if self.model_breaker is None:
            self._record(failed, cause=cause)
        elif breaker_scope(error) == "origin":
            self._record(failed, "neutral", cause=cause)
        else:  # the server answered (or took the request): the origin is reachable
            self._record("success" if error.status is not None else "neutral", failed, cause=cause)

    def failed(self, error: errors.OpenAICompatError) -> float:
        """After a failed attempt: the delay before the next one, or raise the final error
        (with `attempts` set). A 5xx that repeats the previous attempt's refusal exactly is
        not transient (`errors.repeated_refusal`): it is raised at once, counted by no breaker.
        A deadline firing is the caller's budget running out, not the server failing: it is
        counted by no breaker either."""
        error = errors.repeated_refusal(self.last_error, error) or error
        if isinstance(error, errors.DeadlineExceeded):
            self._record("neutral")
        else:
            self._count(error)
        if isinstance(error, errors.NetworkTimeout):
            self.timeouts += 1
        decision = self.policy.decide(error, self.attempt, timeouts=self.timeouts)
        retry = decision.retry and all(b.allows_after(decision.delay) for b in self._breakers())
        # Never sleep past the deadline: a retry that would start after it is not made.
        late = (
            retry and self.deadline is not None and decision.delay >= self.deadline.remaining()
        )
        retry = retry and not late
        delay = decision.delay if retry else 0.0
        self._report(error.status, type(error).__name__, retry, delay)
        final = with_changes(decision.error, attempts=self.attempt)
        if late:
            raise self._out_of_time(final)
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

    def _out_of_time(self, last: errors.OpenAICompatError | None) -> errors.DeadlineExceeded:
        """The deadline's error, naming the failure it cut short (if any)."""
        assert self.deadline is not None
        if isinstance(last, errors.DeadlineExceeded):
            return last
        attempts = f"after {self.attempt} attempt{'s' * (self.attempt != 1)}"
        cause = f"; last: {last.message.rstrip('.')}" if last is not None else ""
        return self.deadline.exceeded(
            after=f"{attempts}{cause}", url=self.url, provider=self.breaker.provider,
            status=None if last is None else last.status, attempts=self.attempt,
            model=None if last is None else last.model,
        )

    def abandon(self) -> None:
        """Always call when done: an attempt ended without an outcome (cancelled, or an
        unexpected exception) must not keep the breaker's single probe slot forever."""
        self._record("neutral")


def _closed_breaker(
    provider: str, threshold: int, cooldown: float, clock: Callable[[], float]
) -> CircuitBreaker:
    """An unpickled `CircuitBreaker`: the sender's settings, closed."""
    return CircuitBreaker(provider, threshold=threshold, cooldown=cooldown, clock=clock)
