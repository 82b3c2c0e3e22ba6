"""`Client` and `AsyncClient`: the single entry point both adapters call.

A client is bound to one provider (from the settings file, or given inline). `stream()` yields
events from `events.py` (`stream_reads()` the same events, one coalesced list per network
read); `complete()` returns the assembled `Result`. Everything but the I/O loop lives in `call.py` and is shared; the async client duplicates only that loop.

Failover: when the provider came from the settings file with `fallbacks`, a call that fails
transiently (after its retries, or with its breaker open) before any byte of the answer
arrived is sent to the next fallback, with that provider's own settings, key and breaker. Never
after output started, never on a 4xx or a ConfigError, never once the deadline is spent. The
answer then carries a `ResponseMeta` whose extra says `served_by` and `fallback_from`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncGenerator, Generator, Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx2

from .call import (
    EarlyState,
    Prepared,
    Secret,
    Target,
    body_events,
    call_deadline,
    learn_from,
    prepare,
)
from .config.settings import ProviderSettings
from .discovery import aprovider_models, provider_models
from .errors import ConfigError, DeadlineExceeded, OpenAICompatError, clip, is_transient
from .events import Event, Finish, ResponseMeta, Usage, coalesce
from .hooks import AttemptRecord, Exchange
from .http import transport
from .http.pools import OwnedClients, Pools
from .http.retry import CircuitBreaker, Deadline, RetryPolicy, with_changes
from .messages import Conversation, RequestOptions
from .providers import inline_provider_id, resolve_provider
from .result import Result, ResultBuilder, collect
from .runtime import Runtime, default_runtime
from .token_count import TokenCount, parse_token_count, token_count_request

if TYPE_CHECKING:
    from typing import Self  # Python 3.11; only ever an annotation here

    from .embeddings import EmbeddingResult, EmbedJob, EmbedRequest, LearnedLimits
    from .wire.embeddings import Encoding

__all__ = ["AsyncClient", "Client"]

_NOTICES = logging.getLogger("llm_openai_compat")  # where retry notices go too


class _Leg:
    """One provider of a call's failover chain, and whether its answer started arriving."""

    __slots__ = ("delivered", "options", "target", "tried")

    def __init__(self, target: Target, options: RequestOptions, tried: list[str]) -> None:
        self.target, self.options = target, options
        self.tried = tried  # the providers that failed before this one
        self.delivered = False

    def meta(self) -> ResponseMeta | None:
        """Which provider answered, when it is not the one asked."""
        if not self.tried:
            return None
        return ResponseMeta(None, None, {"served_by": self.target.id, "fallback_from": list(self.tried)})


class _Chain:
    """The failover chain of one call: the provider, then its `fallbacks`, sharing one
    deadline. Iterating gives the legs to try; `failed` raises unless the next one may go.
    Pure bookkeeping, shared by the four loops (sync and async, streamed or not)."""

    def __init__(self, client: _BaseClient, options: RequestOptions) -> None:
        self.deadline = client._deadline(options)
        self._first = client.target
        self._options = options
        self.failures: list[tuple[str, OpenAICompatError]] = []

    def __iter__(self) -> Iterator[_Leg]:
        options = self._options
        yield _Leg(self._first, options, [])
        for fallback in self._first.fallbacks:
            if fallback.target is None:  # broken or foreign: skipped, named if all fail
                assert fallback.problem is not None
                self.failures.append((fallback.provider, fallback.problem))
                continue
            leg = _Leg(
                fallback.target, replace(options, model=fallback.model or options.model),
                [pid for pid, _ in self.failures],
            )
            if _NOTICES.isEnabledFor(logging.WARNING):
                pid, error = self.failures[-1]
                _NOTICES.warning(
                    "%s failed (%s); failing over to %s (model %s)",
                    pid, type(error).__name__, leg.target.id, leg.options.model,
                )
            yield leg

    def failed(self, leg: _Leg, error: OpenAICompatError) -> None:
        """Return to fail over: transient (retries spent, or the breaker open), nothing
        delivered, budget left. Else raise the error, naming the providers tried before."""
        if is_transient(error) and not leg.delivered and not isinstance(error, DeadlineExceeded):
            self.failures.append((leg.target.id, error))
            return
        if not self.failures:
            raise error
        raise _after_failover(error, self.failures) from None

    def exhausted(self) -> OpenAICompatError:
        """Every provider failed: the last real failure, naming the others."""
        failures = self.failures
        index = max(i for i, (_, e) in enumerate(failures) if not isinstance(e, ConfigError))
        return _after_failover(failures[index][1], failures[:index] + failures[index + 1 :])


def _after_failover(error: OpenAICompatError, failures: list[tuple[str, OpenAICompatError]]) -> OpenAICompatError:
    """The last error, naming every provider tried before it and why each failed."""
    if not failures:
        return error
    before = "; ".join(f"{pid}: {clip(e.message, 160).rstrip('.')}" for pid, e in failures)
    return with_changes(error, message=f"{error.message.rstrip('.')} (after failing over from {before})")


def _target(
    provider: str | ProviderSettings | Target,
    *,
    provider_id: str | None,
    api_key: str | Secret | None,
    settings_path: str | Path | None,
    runtime: Runtime,
) -> Target:
    if isinstance(provider, Target):
        return provider
    if isinstance(provider, ProviderSettings):
        secret = api_key if isinstance(api_key, Secret) else Secret(api_key) if api_key else None
        pid = provider_id or inline_provider_id(provider.base_url)
        return Target(pid, provider, api_key=secret)
    return resolve_provider(
        provider, settings_path=settings_path, api_key=api_key, provider_id=provider_id,
        runtime=runtime,
    )


class _Recorder:
    """Collects what the exchange hook reports; cheap when nobody listens."""

    def __init__(
        self, runtime: Runtime, target: Target, prepared: Prepared | EmbedRequest,
        fallback_from: Sequence[str] = (),
    ) -> None:
        self.fallback_from = tuple(fallback_from)
        self.runtime = runtime
        self.target = target
        self.prepared = prepared
        self.observed = runtime.observed(target.request_log)
        # Attempt reports only for someone to see (each one builds two records).
        self.on_attempt = self._on_attempt if self.observed else None
        self.started = time.time()
        self.t0 = time.perf_counter()
        self.first_byte: float | None = None
        self.status: int | None = None
        self.attempts: list[AttemptRecord] = []

    def _on_attempt(self, info: transport.AttemptInfo) -> None:
        self.attempts.append(
            AttemptRecord(
                attempt=info.attempt,
                status=info.status,
                error=info.error_class_name,
                elapsed_s=info.elapsed_s,
                will_retry=info.will_retry,
                delay_s=info.delay_s,
            )
        )

    def opened(self, status: int) -> None:
        self.status = status
        self.first_byte = time.perf_counter() - self.t0

    def finish(self, closing: list[Event] | None, error: OpenAICompatError | None) -> None:
        if not self.observed:
            return  # nobody observes: skip redacting and building the Exchange (docs/performance.md)
        usage: Mapping[str, Any] | None = None
        finish_reason = None
        for event in closing or ():
            match event:
                case Usage():
                    usage = {
                        "input": event.input_tokens,
                        "output": event.output_tokens,
                        "cached_input": event.cached_input_tokens,
                        "reasoning": event.reasoning_tokens,
                    }
                case Finish(reason=reason):
                    finish_reason = reason
        endpoint = self.prepared.endpoint
        self.runtime.notify_exchange(
            Exchange(
                provider=self.target.id,
                model=self.prepared.model,
                shape=self.prepared.shape,
                url=transport.redact_url(endpoint.url),
                method="POST",
                request_headers=transport.redacted_headers(endpoint.headers),
                request_body=self.prepared.body,
                status=error.status if error is not None and error.status else self.status,
                streamed=self.prepared.stream,
                started_at=self.started,
                elapsed_s=time.perf_counter() - self.t0,
                first_byte_s=self.first_byte,
                attempts=tuple(self.attempts),
                outcome="ok" if error is None else type(error).__name__,
                error=None if error is None else str(error),
                usage=usage,
                finish_reason=finish_reason,
                extra={"fallback_from": list(self.fallback_from)} if self.fallback_from else {},
            ),
            request_log=self.target.request_log,
        )


class _BaseClient:
    def __init__(
        self,
        provider: str | ProviderSettings | Target,
        *,
        provider_id: str | None = None,
        api_key: str | Secret | None = None,
        settings_path: str | Path | None = None,
        policy: RetryPolicy | None = None,
        breaker: CircuitBreaker | None = None,
        runtime: Runtime | None = None,
        http_client: Any = None,
        deadline: float | None = None,
    ) -> None:
        """`runtime` owns the pools, breakers and learned quirks used (see runtime.py); the
        default runtime when None. `http_client`: an `httpx2.Client` (for `Client`) or
        `httpx2.AsyncClient` (for `AsyncClient`) the caller owns, used as is for this
        client's requests instead of the runtime's pools, never closed here. `deadline`
        (seconds) bounds each call as a whole, retries, backoff and fallbacks included, over
        the provider's `deadlineMs`; a call's own `RequestOptions.deadline` wins over both.
        `breaker` is the provider's own; fallbacks use theirs."""
        if deadline is not None:
            call_deadline(None, deadline)  # a bad value fails here, not at the first call
        self.deadline = deadline
        self.runtime = runtime or default_runtime()
        self.http_client = _checked_http_client(type(self).__name__, http_client)
        self.target = _target(
            provider, provider_id=provider_id, api_key=api_key, settings_path=settings_path,
            runtime=self.runtime,
        )
        self.policy = policy
        self.breaker = breaker
        self._owned: OwnedClients | None = None
        self._backstopped: str | bool | None = False  # the auth header last put in the backstop

    def __getstate__(self) -> dict[str, Any]:
        """What a pickle holds: the target (its settings, and an inline `api_key` if one was
        given: that key IS in the pickle bytes; a key reference, `apiKeyRef` env / keyring /
        llm, is resolved by the process that sends, so no secret travels), the retry policy
        and an explicit breaker (closed). Never pools, learned quirks or the auth header last
        sent; a runtime given explicitly arrives fresh, otherwise the unpickled client uses
        the default runtime of the process it lands in."""
        if self.http_client is not None:
            raise TypeError(
                f"cannot pickle a {type(self).__name__} given http_client=: that client's "
                "connections belong to this process; build the client in the worker instead"
            )
        explicit = self.runtime if self.runtime is not default_runtime() else None
        return {"target": self.target, "policy": self.policy, "breaker": self.breaker,
                "runtime": explicit, "deadline": self.deadline}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.runtime = state["runtime"] or default_runtime()
        self.target = state["target"]
        self.policy = state["policy"]
        self.breaker = state["breaker"]
        self.deadline = state.get("deadline")
        self.http_client = None
        self._owned = None
        self._backstopped = False

    @classmethod
    def inline(
        cls,
        base_url: str,
        *,
        api_key: str | Secret | None = None,
        provider_id: str | None = None,
        policy: RetryPolicy | None = None,
        breaker: CircuitBreaker | None = None,
        runtime: Runtime | None = None,
        http_client: Any = None,
        deadline: float | None = None,
        **fields: Any,
    ) -> Self:
        """A client for a provider given in code rather than in the settings file. `fields`
        are ProviderSettings fields by their Python names (api_shape, headers, timeout_ms...).

        Without a `provider_id`, the id is the server's host, port and path
        (`providers.inline_provider_id`, the same in every adapter), so quirks learned and
        the circuit breaker are per server, never shared by every inline provider."""
        target = resolve_provider(
            base_url, api_key=api_key, provider_id=provider_id, runtime=runtime, **fields
        )
        return cls(target, policy=policy, breaker=breaker, runtime=runtime,
                   http_client=http_client, deadline=deadline)

    @property
    def provider_id(self) -> str:
        return self.target.id

    @property
    def _pools(self) -> Pools:
        """The runtime's pools, or the caller's own client in front of them."""
        if self.http_client is None:
            return self.runtime.pools
        owned = self._owned
        if owned is None or owned.shared is not self.runtime.pools:
            sync = self.http_client if isinstance(self.http_client, httpx2.Client) else None
            owned = self._owned = OwnedClients(
                self.runtime.pools, sync, None if sync is not None else self.http_client
            )
        return owned

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(provider={self.target.id!r}, "
            f"base_url={transport.redact_url(self.target.settings.base_url)!r})"
        )

    def _deadline(self, options: RequestOptions) -> Deadline | None:
        """The call's deadline, made once so that every retry and fallback shares it."""
        seconds = options.deadline if options.deadline is not None else self.deadline
        return call_deadline(self.target.settings.deadline_ms, seconds)

    def _breaker_for(self, target: Target) -> CircuitBreaker | None:
        return self.breaker if target is self.target else None

    def _begin(
        self, leg: _Leg, conversation: Conversation, deadline: Deadline | None
    ) -> tuple[Prepared, _Recorder]:
        target = leg.target
        prepared = prepare(target, conversation, leg.options, self.runtime, deadline)
        headers = prepared.endpoint.headers
        auth = headers.get("Authorization") or headers.get("api-key")
        if target is not self.target:
            self.runtime.secrets.add(*prepared.endpoint.secrets)
        elif auth != self._backstopped:  # a new key (or the first call): into the backstop
            self.runtime.secrets.add(*prepared.endpoint.secrets)
            self._backstopped = auth
        return prepared, _Recorder(self.runtime, target, prepared, leg.tried)

    def _adapt(
        self, prepared: Prepared, recorder: _Recorder, error: OpenAICompatError, tried: set[str]
    ) -> bool:
        """After a failed attempt: True to try again adapted to what the error taught us, which
        only happens when nothing was received yet, so no output is ever repeated. The choke
        point of the call's errors: scrubbed here of the call's secrets, whatever raised them."""
        self.runtime.scrub(error, prepared.endpoint.secrets)
        if recorder.status is None:
            adaptation = learn_from(self.runtime, recorder.target.id, prepared.profile, error, tried)
            if adaptation is not None and adaptation.retry:
                return True
        recorder.finish(None, error)
        return False

    def _listing_breaker(self) -> CircuitBreaker:
        """A listing counts against (and is refused by) the client's breaker, like a request."""
        return self.breaker or self.runtime.pools.breaker(self.target.id)

    def _embed_job(
        self,
        texts: Sequence[str],
        model: str,
        dimensions: int | None,
        encoding: Encoding | None,
        batch_size: int | None,
        extra_body: Mapping[str, Any] | None,
        learned: LearnedLimits | None,
        max_concurrency: int,
    ) -> EmbedJob:
        from .embeddings import EmbedJob  # not on the import path of chat-only callers

        if max_concurrency < 1:
            raise ConfigError(
                f"max_concurrency must be at least 1, not {max_concurrency}",
                provider=self.target.id, field="max_concurrency",
            )
        return EmbedJob(
            self.target, texts, model=model, dimensions=dimensions, encoding=encoding,
            batch_size=batch_size, extra_body=extra_body, learned=learned, runtime=self.runtime,
            deadline=call_deadline(self.target.settings.deadline_ms, self.deadline),
        )



def _checked_http_client(kind: str, value: Any) -> Any:
    """The caller's httpx2 client, or a one-line ConfigError for anything else (an `httpx`
    client too: this package speaks httpx2 only)."""
    if value is None:
        return None
    wanted = httpx2.AsyncClient if kind == "AsyncClient" else httpx2.Client
    if isinstance(value, wanted):
        return value
    got = f"{type(value).__module__}.{type(value).__qualname__}"
    raise ConfigError(
        f"{kind} takes http_client=httpx2.{wanted.__name__}(...) (or nothing), not {got}",
        field="http_client", hint="Build the client with httpx2, or leave http_client out",
    )


def headers_meta(headers: Mapping[str, str]) -> ResponseMeta:
    """The response's headers (without cookies or credentials), asked for with
    `RequestOptions.include_headers`, as ChatOpenAI's `include_response_headers` gives them."""
    return ResponseMeta(None, None, {"headers": {
        name.lower(): value for name, value in headers.items()
        if not transport.is_sensitive_header(name) and name.lower() != "set-cookie"
    }})


def _answers(events: list[Event]) -> bool:
    """Whether `events` hold a piece of the answer (not only metadata): time to first text is
    not traded for throughput, so the first such batch is not held for the rest of its read."""
    return any(not isinstance(e, ResponseMeta) for e in events)


def _batch(events: list[Event], reads: bool) -> list[Any]:
    """What a stream yields for `events`: them one by one, or as one coalesced list."""
    if not reads:
        return events
    return [coalesce(events)] if events else []


class Client(_BaseClient):
    """Synchronous client. Connections are pooled per provider and reused across calls.

    Picklable (`pickle`, `cloudpickle`) for worker processes: see `__getstate__` for what
    travels. With an inline `api_key` the key is in the pickle; with `apiKeyRef` it is not."""

    def stream(
        self, conversation: Conversation, options: RequestOptions
    ) -> Generator[Event, None, None]:
        """The answer's events, one at a time, as the server sends them."""
        return self._events(conversation, options, False)

    def stream_reads(
        self, conversation: Conversation, options: RequestOptions
    ) -> Generator[list[Event], None, None]:
        """The same events in lists: everything that arrived in one network read, `coalesce`d
        (adjacent text pieces joined...). Never waits for more data than arrived; for hosts
        with a per-chunk cost (LangChain, llm), which then pay it once per read."""
        return self._events(conversation, options, True)

    def _events(
        self, conversation: Conversation, options: RequestOptions, reads: bool
    ) -> Generator[Any, None, None]:
        chain = _Chain(self, options)
        for leg in chain:
            try:
                yield from self._stream_leg(leg, conversation, chain.deadline, reads)
                return
            except OpenAICompatError as error:
                chain.failed(leg, error)
        raise chain.exhausted()

    def _stream_leg(
        self, leg: _Leg, conversation: Conversation, deadline: Deadline | None, reads: bool
    ) -> Generator[Any, None, None]:
        options = leg.options
        tried: set[str] = set()
        while True:
            prepared, recorder = self._begin(leg, conversation, deadline)
            closing: list[Event] | None = None
            pending: list[Event] = []
            try:
                if prepared.stream:
                    early = EarlyState(prepared)  # made while the server works, if it can be
                    with transport.send_stream(
                        prepared.endpoint,
                        prepared.body_bytes,
                        pools=self._pools,
                        policy=self.policy,
                        breaker=self._breaker_for(leg.target),
                        on_attempt=recorder.on_attempt,
                        on_sent=early,
                    ) as response:
                        recorder.opened(response.status_code)
                        state = early.answered(response.headers.get("content-type"))
                        if options.include_headers:
                            pending.append(headers_meta(response.headers))
                        if (meta := leg.meta()) is not None:
                            pending.append(meta)
                        if reads:
                            arrived = transport.arrived(response)
                            first = True  # the answer's first batch goes out with its first piece
                            held: list[bytes] = []  # chunks of this read, not parsed yet
                            for chunk in transport.iter_body(response, prepared.endpoint):
                                leg.delivered = True
                                more = arrived()
                                if more and not first:
                                    # Parsed with the rest of the read, in one call (`_held`).
                                    held.append(chunk)
                                    continue
                                pending += state.feed(_held(held, chunk) if held else chunk)
                                if state.error is not None:
                                    del chunk  # server bytes: not a local of the traceback
                                    if pending:
                                        yield coalesce(pending)
                                    raise state.error
                                if pending and (not more or (first and _answers(pending))):
                                    if first and _answers(pending):
                                        first = False  # its first piece is out: reads joined
                                        transport.join_reads(response)
                                    yield coalesce(pending)
                                    pending = []
                        else:
                            yield from pending
                            pending = []
                            whole = False
                            for chunk in transport.iter_body(response, prepared.endpoint):
                                leg.delivered = True
                                events = state.feed(chunk)
                                if not whole and _answers(events):
                                    whole = True  # the first piece of the answer is out
                                    transport.join_reads(response)
                                yield from events
                                if state.error is not None:
                                    del chunk  # server bytes: not a local of the traceback
                                    raise state.error
                        chunk = b""  # nor when `close` raises
                        closing = state.close()
                        if state.error is not None:
                            yield from _batch(pending + closing, reads)
                            raise state.error
                else:
                    closing, failure = self._fetch(leg, prepared, recorder, options.include_headers)
                    if failure is not None:
                        yield from _batch(closing, reads)
                        raise failure
            except OpenAICompatError as error:
                if self._adapt(prepared, recorder, error, tried):
                    continue
                raise
            recorder.finish(closing, None)
            yield from _batch(pending + closing, reads)
            return

    def complete(self, conversation: Conversation, options: RequestOptions) -> Result:
        if options.stream:
            return collect(self.stream(conversation, options))
        # Not streamed: one read and one parse, with no generator in between.
        chain = _Chain(self, options)
        for leg in chain:
            try:
                return self._complete_leg(leg, conversation, chain.deadline)
            except OpenAICompatError as error:
                chain.failed(leg, error)
        raise chain.exhausted()

    def _complete_leg(self, leg: _Leg, conversation: Conversation, deadline: Deadline | None) -> Result:
        tried: set[str] = set()
        while True:
            prepared, recorder = self._begin(leg, conversation, deadline)
            try:
                events, failure = self._fetch(leg, prepared, recorder, leg.options.include_headers)
                if failure is not None:
                    raise failure
            except OpenAICompatError as error:
                if self._adapt(prepared, recorder, error, tried):
                    continue
                raise
            recorder.finish(events, None)
            return collect(events)

    def _fetch(
        self, leg: _Leg, prepared: Prepared, recorder: _Recorder, headers: bool = False
    ) -> tuple[list[Event], OpenAICompatError | None]:
        response = transport.send(
            prepared.endpoint,
            prepared.body_bytes,
            pools=self._pools,
            policy=self.policy,
            breaker=self._breaker_for(leg.target),
            on_attempt=recorder.on_attempt,
        )
        leg.delivered = True
        recorder.opened(response.status_code)
        events, failure = body_events(
            prepared, response.headers.get("content-type"), response.content
        )
        if (meta := leg.meta()) is not None:
            events = [meta, *events]
        if headers:
            events = [headers_meta(response.headers), *events]
        return events, failure

    def embed(
        self,
        texts: Sequence[str],
        *,
        model: str,
        dimensions: int | None = None,
        encoding: Encoding | None = None,
        batch_size: int | None = None,
        max_concurrency: int = 4,
        extra_body: Mapping[str, Any] | None = None,
        learned: LearnedLimits | None = None,
    ) -> EmbeddingResult:
        """One vector per text, in input order. Raw strings are sent (no tokenizing here);
        batches follow the profile's limits (and `batch_size`), at most `max_concurrency` in
        flight, each on the chat path's transport (auth, retries, breaker, request log).
        `encoding` None: base64 where the profile says the server supports it."""
        from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

        job = self._embed_job(
            texts, model, dimensions, encoding, batch_size, extra_body, learned, max_concurrency
        )
        if max_concurrency <= 1 or job.single:
            # One batch (a query, llm's batches): no thread pool to start for it.
            while (request := job.take()) is not None:
                recorder = _Recorder(self.runtime, self.target, request)
                try:
                    loaded = self._send_embed(job, request, recorder)
                except OpenAICompatError as error:
                    _embed_outcome(job, request, recorder, None, error)
                    continue
                _embed_outcome(job, request, recorder, loaded, None)
            return job.result()
        running: dict[Future[Any], tuple[EmbedRequest, _Recorder]] = {}
        with ThreadPoolExecutor(max_concurrency, thread_name_prefix="openai-compat-embed") as pool:
            try:
                while not job.done:
                    while len(running) < max_concurrency:
                        request = job.take()
                        if request is None:
                            break
                        recorder = _Recorder(self.runtime, self.target, request)
                        future = pool.submit(self._send_embed, job, request, recorder)
                        running[future] = (request, recorder)
                    assert running, "an unfinished embed job has a batch pending or running"
                    finished, _ = wait(running, return_when=FIRST_COMPLETED)
                    for future in finished:
                        request, recorder = running.pop(future)
                        failure = future.exception()
                        body = None if failure else future.result()
                        _embed_outcome(job, request, recorder, body, failure)
            finally:
                for future in running:
                    future.cancel()
        return job.result()

    def _send_embed(self, job: EmbedJob, request: EmbedRequest, recorder: _Recorder) -> Any:
        """One batch sent, its body decoded here (`EmbedJob.load`: the bytes go at once)."""
        response = transport.send(
            request.endpoint, request.body_bytes, pools=self._pools, policy=self.policy,
            breaker=self.breaker,
            on_attempt=recorder.on_attempt,
        )
        recorder.opened(response.status_code)
        return job.load(response.content)

    def count_tokens(self, conversation: Conversation, model: str) -> TokenCount | None:
        """The server's own count of the conversation's input tokens (`token_count`), or None
        when it has no tokenizer endpoint or the count failed: the caller estimates then.
        One attempt, no retries: a count is never worth a wait."""
        prepared = prepare(
            self.target, conversation, RequestOptions(model=model, stream=False), self.runtime
        )
        endpoint, body, source = token_count_request(prepared)
        try:
            response = transport.send(
                endpoint, body, pools=self._pools, policy=RetryPolicy(max_attempts=1)
            )
        except OpenAICompatError:
            return None
        return parse_token_count(response.content, source)

    def list_models(self) -> list[str]:
        """The model ids the server lists: its profile's native listing (Ollama, LM Studio;
        without embedding models) else `/models` (`discovery.provider_models`)."""
        return provider_models(
            self.target, policy=self.policy, breaker=self._listing_breaker(),
            runtime=self.runtime, pools=self._pools,
        )


class AsyncClient(_BaseClient):
    """Asynchronous client on httpx2's AsyncClient (no thread pool)."""

    def stream(
        self, conversation: Conversation, options: RequestOptions
    ) -> AsyncGenerator[Event, None]:
        """The answer's events, one at a time, as the server sends them."""
        return self._events(conversation, options, False)

    def stream_reads(
        self, conversation: Conversation, options: RequestOptions
    ) -> AsyncGenerator[list[Event], None]:
        """The async twin of `Client.stream_reads`: one coalesced list per network read."""
        return self._events(conversation, options, True)

    async def _events(
        self, conversation: Conversation, options: RequestOptions, reads: bool
    ) -> AsyncGenerator[Any, None]:
        chain = _Chain(self, options)
        for leg in chain:
            try:
                async for item in self._stream_leg(leg, conversation, chain.deadline, reads):
                    yield item
                return
            except OpenAICompatError as error:
                chain.failed(leg, error)
        raise chain.exhausted()

    async def _stream_leg(
        self, leg: _Leg, conversation: Conversation, deadline: Deadline | None, reads: bool
    ) -> AsyncGenerator[Any, None]:
        options = leg.options
        tried: set[str] = set()
        while True:
            prepared, recorder = self._begin(leg, conversation, deadline)
            closing: list[Event] | None = None
            pending: list[Event] = []
            try:
                if prepared.stream:
                    early = EarlyState(prepared)  # made while the server works, if it can be
                    async with transport.asend_stream(
                        prepared.endpoint,
                        prepared.body_bytes,
                        pools=self._pools,
                        policy=self.policy,
                        breaker=self._breaker_for(leg.target),
                        on_attempt=recorder.on_attempt,
                        on_sent=early,
                    ) as response:
                        recorder.opened(response.status_code)
                        state = early.answered(response.headers.get("content-type"))
                        if options.include_headers:
                            pending.append(headers_meta(response.headers))
                        if (meta := leg.meta()) is not None:
                            pending.append(meta)
                        if reads:
                            arrived = transport.arrived(response)
                            first = True  # the answer's first batch goes out with its first piece
                            held: list[bytes] = []  # chunks of this read, not parsed yet
                            async for chunk in transport.aiter_body(response, prepared.endpoint):
                                leg.delivered = True
                                more = arrived()
                                if more and not first:
                                    # Parsed with the rest of the read, in one call (`_held`).
                                    held.append(chunk)
                                    continue
                                pending += state.feed(_held(held, chunk) if held else chunk)
                                if state.error is not None:
                                    del chunk  # server bytes: not a local of the traceback
                                    if pending:
                                        yield coalesce(pending)
                                    raise state.error
                                if pending and (not more or (first and _answers(pending))):
                                    if first and _answers(pending):
                                        first = False  # its first piece is out: reads joined
                                        transport.join_reads(response)
                                    yield coalesce(pending)
                                    pending = []
                        else:
                            for event in pending:
                                yield event
                            pending = []
                            whole = False
                            async for chunk in transport.aiter_body(response, prepared.endpoint):
                                leg.delivered = True
                                events = state.feed(chunk)
                                if not whole and _answers(events):
                                    whole = True  # the first piece of the answer is out
                                    transport.join_reads(response)
                                for event in events:
                                    yield event
                                if state.error is not None:
                                    del chunk  # server bytes: not a local of the traceback
                                    raise state.error
                        chunk = b""  # nor when `close` raises
                        closing = state.close()
                        if state.error is not None:
                            for item in _batch(pending + closing, reads):
                                yield item
                            raise state.error
                else:
                    closing, failure = await self._fetch(leg, prepared, recorder, options.include_headers)
                    if failure is not None:
                        for item in _batch(closing, reads):
                            yield item
                        raise failure
            except OpenAICompatError as error:
                if self._adapt(prepared, recorder, error, tried):
                    continue
                raise
            recorder.finish(closing, None)
            for item in _batch(pending + closing, reads):
                yield item
            return

    async def complete(self, conversation: Conversation, options: RequestOptions) -> Result:
        if options.stream:
            builder = ResultBuilder()
            async for event in self.stream(conversation, options):
                builder.add(event)
            return builder.build()
        # Not streamed: no async generator between the read and the parse (docs/performance.md).
        chain = _Chain(self, options)
        for leg in chain:
            try:
                return await self._complete_leg(leg, conversation, chain.deadline)
            except OpenAICompatError as error:
                chain.failed(leg, error)
        raise chain.exhausted()

    async def _complete_leg(
        self, leg: _Leg, conversation: Conversation, deadline: Deadline | None
    ) -> Result:
        tried: set[str] = set()
        while True:
            prepared, recorder = self._begin(leg, conversation, deadline)
            try:
                events, failure = await self._fetch(leg, prepared, recorder, leg.options.include_headers)
                if failure is not None:
                    raise failure
            except OpenAICompatError as error:
                if self._adapt(prepared, recorder, error, tried):
                    continue
                raise
            recorder.finish(events, None)
            return collect(events)

    async def _fetch(
        self, leg: _Leg, prepared: Prepared, recorder: _Recorder, headers: bool = False
    ) -> tuple[list[Event], OpenAICompatError | None]:
        response = await transport.asend(
            prepared.endpoint,
            prepared.body_bytes,
            pools=self._pools,
            policy=self.policy,
            breaker=self._breaker_for(leg.target),
            on_attempt=recorder.on_attempt,
        )
        leg.delivered = True
        recorder.opened(response.status_code)
        events, failure = body_events(
            prepared, response.headers.get("content-type"), response.content
        )
        if (meta := leg.meta()) is not None:
            events = [meta, *events]
        if headers:
            events = [headers_meta(response.headers), *events]
        return events, failure

    async def embed(
        self,
        texts: Sequence[str],
        *,
        model: str,
        dimensions: int | None = None,
        encoding: Encoding | None = None,
        batch_size: int | None = None,
        max_concurrency: int = 4,
        extra_body: Mapping[str, Any] | None = None,
        learned: LearnedLimits | None = None,
    ) -> EmbeddingResult:
        """The async twin of `Client.embed`: the same job, batches as tasks on this loop."""
        import asyncio

        job = self._embed_job(
            texts, model, dimensions, encoding, batch_size, extra_body, learned, max_concurrency
        )
        running: dict[asyncio.Task[Any], tuple[EmbedRequest, _Recorder]] = {}
        try:
            while not job.done:
                while len(running) < max_concurrency:
                    request = job.take()
                    if request is None:
                        break
                    recorder = _Recorder(self.runtime, self.target, request)
                    task = asyncio.ensure_future(self._send_embed(job, request, recorder))
                    running[task] = (request, recorder)
                assert running, "an unfinished embed job has a batch pending or running"
                finished, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                for task in finished:
                    request, recorder = running.pop(task)
                    error = task.exception()
                    _embed_outcome(job, request, recorder, None if error else task.result(), error)
        finally:
            for task in running:
                task.cancel()
            if running:
                await asyncio.gather(*running, return_exceptions=True)
        return job.result()

    async def _send_embed(self, job: EmbedJob, request: EmbedRequest, recorder: _Recorder) -> Any:
        """`Client._send_embed` on the async transport."""
        response = await transport.asend(
            request.endpoint, request.body_bytes, pools=self._pools, policy=self.policy,
            breaker=self.breaker,
            on_attempt=recorder.on_attempt,
        )
        recorder.opened(response.status_code)
        return job.load(response.content)

    async def list_models(self) -> list[str]:
        """`Client.list_models` on the async transport."""
        return await aprovider_models(
            self.target, policy=self.policy, breaker=self._listing_breaker(), runtime=self.runtime,
            pools=self._pools,
        )


def _held(held: list[bytes], chunk: bytes) -> bytes:
    """The chunks of one network read as one: the stream state's per-call work and the SSE
    decoder's (whose fast path takes many whole events at once) are paid once per read.
    `held` is emptied. Only chunks followed by more data are held (`transport.arrived`), so
    none is left when the body ends."""
    held.append(chunk)
    joined = b"".join(held)
    held.clear()
    return joined


def _embed_outcome(
    job: EmbedJob,
    request: EmbedRequest,
    recorder: _Recorder,
    loaded: Any,
    error: BaseException | None,
) -> None:
    """A finished batch into the job: its decoded body's vectors, or its error (raised unless
    the job planned the batch again, smaller or as floats). The choke point of an embed call's
    errors, as `_adapt` is of a chat call's: scrubbed here of the batch's secrets."""
    if error is None:
        try:
            usage = job.received(request, loaded)
        except OpenAICompatError as failure:
            recorder.runtime.scrub(failure, request.endpoint.secrets)
            recorder.finish(None, failure)
            raise
        recorder.finish([usage], None)
        return
    if isinstance(error, OpenAICompatError):
        recorder.runtime.scrub(error, request.endpoint.secrets)
        recorder.finish(None, error)
        if job.failed(request, error):
            return
    raise error
