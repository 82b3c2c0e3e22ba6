"""`Client` and `AsyncClient`: the single entry point both adapters call.

A client is bound to one provider (from the settings file, or given inline). `stream()` yields
events from `events.py` (`stream_batches()` the same events, one list per network read); `complete()` returns the assembled `Result`. Everything but the I/O
loop lives in `call.py` and is shared; the async client duplicates only that loop.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Generator, Mapping, Sequence
from contextlib import aclosing, closing
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .call import (
    Prepared,
    Secret,
    StreamState,
    Target,
    body_events,
    learn_from,
    prepare,
)
from .config.settings import ProviderSettings
from .discovery import aprovider_models, provider_models
from .errors import ConfigError, OpenAICompatError
from .events import Event, Finish, ResponseMeta, Usage
from .hooks import AttemptRecord, Exchange
from .http import transport
from .http.retry import CircuitBreaker, RetryPolicy
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

    def __init__(self, runtime: Runtime, target: Target, prepared: Prepared | EmbedRequest) -> None:
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
    ) -> None:
        """`runtime` owns the pools, breakers and learned quirks used (see runtime.py); the
        default runtime when None."""
        self.runtime = runtime or default_runtime()
        self.target = _target(
            provider, provider_id=provider_id, api_key=api_key, settings_path=settings_path,
            runtime=self.runtime,
        )
        self.policy = policy
        self.breaker = breaker
        self._backstopped: str | bool | None = False  # the auth header last put in the backstop

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
        return cls(target, policy=policy, breaker=breaker, runtime=runtime)

    @property
    def provider_id(self) -> str:
        return self.target.id

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(provider={self.target.id!r}, "
            f"base_url={transport.redact_url(self.target.settings.base_url)!r})"
        )

    def _begin(self, conversation: Conversation, options: RequestOptions) -> tuple[Prepared, _Recorder]:
        prepared = prepare(self.target, conversation, options, self.runtime)
        headers = prepared.endpoint.headers
        auth = headers.get("Authorization") or headers.get("api-key")
        if auth != self._backstopped:  # a new key (or the first call): into the backstop
            self.runtime.secrets.add(*prepared.endpoint.secrets)
            self._backstopped = auth
        return prepared, _Recorder(self.runtime, self.target, prepared)

    def _adapt(
        self, prepared: Prepared, recorder: _Recorder, error: OpenAICompatError, tried: set[str]
    ) -> bool:
        """After a failed attempt: True to try again adapted to what the error taught us, which
        only happens when nothing was received yet, so no output is ever repeated. The choke
        point of the call's errors: scrubbed here of the call's secrets, whatever raised them."""
        self.runtime.scrub(error, prepared.endpoint.secrets)
        if recorder.status is None:
            adaptation = learn_from(self.runtime, self.target.id, prepared.profile, error, tried)
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
        )



def headers_meta(headers: Mapping[str, str]) -> ResponseMeta:
    """The response's headers (without cookies or credentials), asked for with
    `RequestOptions.include_headers`, as ChatOpenAI's `include_response_headers` gives them."""
    return ResponseMeta(None, None, {"headers": {
        name.lower(): value for name, value in headers.items()
        if not transport.is_sensitive_header(name) and name.lower() != "set-cookie"
    }})


class Client(_BaseClient):
    """Synchronous client. Connections are pooled per provider and reused across calls."""

    def stream(
        self, conversation: Conversation, options: RequestOptions
    ) -> Generator[Event, None, None]:
        with closing(self.stream_batches(conversation, options)) as batches:
            for batch in batches:
                yield from batch

    def stream_batches(
        self, conversation: Conversation, options: RequestOptions
    ) -> Generator[list[Event], None, None]:
        """The events of `stream()`, in lists: each list is what one network read produced
        (or the final events), never empty. Everything in a list has arrived, so a host may
        merge it into one chunk of its own without delaying anything."""
        tried: set[str] = set()
        while True:
            prepared, recorder = self._begin(conversation, options)
            ending: list[Event] | None = None
            try:
                if prepared.stream:
                    with transport.send_stream(
                        prepared.endpoint,
                        prepared.body_bytes,
                        pools=self.runtime.pools,
                        policy=self.policy,
                        breaker=self.breaker,
                        on_attempt=recorder.on_attempt,
                    ) as response:
                        recorder.opened(response.status_code)
                        state = StreamState(prepared, content_type=response.headers.get("content-type"))
                        if options.include_headers:
                            yield [headers_meta(response.headers)]
                        for chunk in transport.iter_body(response, prepared.endpoint):
                            events = state.feed(chunk)
                            if events:
                                yield events
                            if state.error is not None:
                                del chunk  # server bytes: not a local of the traceback
                                raise state.error
                        chunk = b""  # nor when `close` raises
                        ending = state.close()
                        if state.error is not None:
                            if ending:
                                yield ending
                            raise state.error
                else:
                    ending, failure = self._fetch(prepared, recorder, options.include_headers)
                    if failure is not None:
                        if ending:
                            yield ending
                        raise failure
            except OpenAICompatError as error:
                if self._adapt(prepared, recorder, error, tried):
                    continue
                raise
            recorder.finish(ending, None)
            if ending:
                yield ending
            return

    def complete(self, conversation: Conversation, options: RequestOptions) -> Result:
        if options.stream:
            return collect(self.stream(conversation, options))
        # Not streamed: one read and one parse, with no generator in between.
        tried: set[str] = set()
        while True:
            prepared, recorder = self._begin(conversation, options)
            try:
                events, failure = self._fetch(prepared, recorder, options.include_headers)
                if failure is not None:
                    raise failure
            except OpenAICompatError as error:
                if self._adapt(prepared, recorder, error, tried):
                    continue
                raise
            recorder.finish(events, None)
            return collect(events)

    def _fetch(
        self, prepared: Prepared, recorder: _Recorder, headers: bool = False
    ) -> tuple[list[Event], OpenAICompatError | None]:
        response = transport.send(
            prepared.endpoint,
            prepared.body_bytes,
            pools=self.runtime.pools,
            policy=self.policy,
            breaker=self.breaker,
            on_attempt=recorder.on_attempt,
        )
        recorder.opened(response.status_code)
        events, failure = body_events(
            prepared, response.headers.get("content-type"), response.content
        )
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
        if max_concurrency <= 1 or len(job.pending) <= 1:
            # One batch (a query, llm's batches): no thread pool to start for it.
            while (request := job.take()) is not None:
                recorder = _Recorder(self.runtime, self.target, request)
                try:
                    raw = self._send_embed(request, recorder)
                except OpenAICompatError as error:
                    _embed_outcome(job, request, recorder, None, error)
                    continue
                _embed_outcome(job, request, recorder, raw, None)
            return job.result()
        running: dict[Future[bytes], tuple[EmbedRequest, _Recorder]] = {}
        with ThreadPoolExecutor(max_concurrency, thread_name_prefix="openai-compat-embed") as pool:
            try:
                while not job.done:
                    while len(running) < max_concurrency:
                        request = job.take()
                        if request is None:
                            break
                        recorder = _Recorder(self.runtime, self.target, request)
                        running[pool.submit(self._send_embed, request, recorder)] = (request, recorder)
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

    def _send_embed(self, request: EmbedRequest, recorder: _Recorder) -> bytes:
        response = transport.send(
            request.endpoint, request.body_bytes, pools=self.runtime.pools, policy=self.policy,
            breaker=self.breaker,
            on_attempt=recorder.on_attempt,
        )
        recorder.opened(response.status_code)
        return response.content

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
                endpoint, body, pools=self.runtime.pools, policy=RetryPolicy(max_attempts=1)
            )
        except OpenAICompatError:
            return None
        return parse_token_count(response.content, source)

    def list_models(self) -> list[str]:
        """The model ids the server lists: its profile's native listing (Ollama, LM Studio;
        without embedding models) else `/models` (`discovery.provider_models`)."""
        return provider_models(
            self.target, policy=self.policy, breaker=self._listing_breaker(),
            runtime=self.runtime,
        )


class AsyncClient(_BaseClient):
    """Asynchronous client on httpx2's AsyncClient (no thread pool)."""

    async def stream(
        self, conversation: Conversation, options: RequestOptions
    ) -> AsyncGenerator[Event, None]:
        async with aclosing(self.stream_batches(conversation, options)) as batches:
            async for batch in batches:
                for event in batch:
                    yield event

    async def stream_batches(
        self, conversation: Conversation, options: RequestOptions
    ) -> AsyncGenerator[list[Event], None]:
        """The async twin of `Client.stream_batches`."""
        tried: set[str] = set()
        while True:
            prepared, recorder = self._begin(conversation, options)
            ending: list[Event] | None = None
            try:
                if prepared.stream:
                    async with transport.asend_stream(
                        prepared.endpoint,
                        prepared.body_bytes,
                        pools=self.runtime.pools,
                        policy=self.policy,
                        breaker=self.breaker,
                        on_attempt=recorder.on_attempt,
                    ) as response:
                        recorder.opened(response.status_code)
                        state = StreamState(prepared, content_type=response.headers.get("content-type"))
                        if options.include_headers:
                            yield [headers_meta(response.headers)]
                        async for chunk in transport.aiter_body(response, prepared.endpoint):
                            events = state.feed(chunk)
                            if events:
                                yield events
                            if state.error is not None:
                                del chunk  # server bytes: not a local of the traceback
                                raise state.error
                        chunk = b""  # nor when `close` raises
                        ending = state.close()
                        if state.error is not None:
                            if ending:
                                yield ending
                            raise state.error
                else:
                    ending, failure = await self._fetch(prepared, recorder, options.include_headers)
                    if failure is not None:
                        if ending:
                            yield ending
                        raise failure
            except OpenAICompatError as error:
                if self._adapt(prepared, recorder, error, tried):
                    continue
                raise
            recorder.finish(ending, None)
            if ending:
                yield ending
            return

    async def complete(self, conversation: Conversation, options: RequestOptions) -> Result:
        if options.stream:
            builder = ResultBuilder()
            async for event in self.stream(conversation, options):
                builder.add(event)
            return builder.build()
        # Not streamed: no async generator between the read and the parse (docs/performance.md).
        tried: set[str] = set()
        while True:
            prepared, recorder = self._begin(conversation, options)
            try:
                events, failure = await self._fetch(prepared, recorder, options.include_headers)
                if failure is not None:
                    raise failure
            except OpenAICompatError as error:
                if self._adapt(prepared, recorder, error, tried):
                    continue
                raise
            recorder.finish(events, None)
            return collect(events)

    async def _fetch(
        self, prepared: Prepared, recorder: _Recorder, headers: bool = False
    ) -> tuple[list[Event], OpenAICompatError | None]:
        response = await transport.asend(
            prepared.endpoint,
            prepared.body_bytes,
            pools=self.runtime.pools,
            policy=self.policy,
            breaker=self.breaker,
            on_attempt=recorder.on_attempt,
        )
        recorder.opened(response.status_code)
        events, failure = body_events(
            prepared, response.headers.get("content-type"), response.content
        )
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
        running: dict[asyncio.Task[bytes], tuple[EmbedRequest, _Recorder]] = {}
        try:
            while not job.done:
                while len(running) < max_concurrency:
                    request = job.take()
                    if request is None:
                        break
                    recorder = _Recorder(self.runtime, self.target, request)
                    task = asyncio.ensure_future(self._send_embed(request, recorder))
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

    async def _send_embed(self, request: EmbedRequest, recorder: _Recorder) -> bytes:
        response = await transport.asend(
            request.endpoint, request.body_bytes, pools=self.runtime.pools, policy=self.policy,
            breaker=self.breaker,
            on_attempt=recorder.on_attempt,
        )
        recorder.opened(response.status_code)
        return response.content

    async def list_models(self) -> list[str]:
        """`Client.list_models` on the async transport."""
        return await aprovider_models(
            self.target, policy=self.policy, breaker=self._listing_breaker(), runtime=self.runtime
        )


def _embed_outcome(
    job: EmbedJob,
    request: EmbedRequest,
    recorder: _Recorder,
    raw: bytes | None,
    error: BaseException | None,
) -> None:
    """A finished batch into the job: its body's vectors, or its error (raised unless the
    job planned the batch again, smaller or as floats). The choke point of an embed call's
    errors, as `_adapt` is of a chat call's: scrubbed here of the batch's secrets."""
    if error is None:
        assert raw is not None
        try:
            usage = job.received(request, raw)
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
