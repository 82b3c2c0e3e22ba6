"""`Client` and `AsyncClient`: the single entry point both adapters call.

A client is bound to one provider (from the settings file, or given inline). `stream()` yields
events from `events.py`; `complete()` returns the assembled `Result`. Everything but the I/O
loop lives in `call.py` and is shared; the async client duplicates only that loop.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Generator, Mapping
from pathlib import Path
from typing import Any

from .call import (
    Prepared,
    Secret,
    StreamState,
    Target,
    auth_headers,
    body_events,
    learn_from,
    prepare,
    profile_for,
)
from .config.settings import ProviderSettings
from .errors import ConfigError, OpenAICompatError
from .events import Event
from .hooks import AttemptRecord, Exchange
from .http import transport
from .http.retry import CircuitBreaker, RetryPolicy
from .http.urls import models_endpoint
from .messages import Conversation, RequestOptions
from .result import Result, ResultBuilder, collect
from .runtime import Runtime, default_runtime

__all__ = ["AsyncClient", "Client", "inline_provider_id", "parse_model_list"]


def _target(
    provider: str | ProviderSettings | Target,
    *,
    provider_id: str | None,
    api_key: str | Secret | None,
    settings_path: str | Path | None,
    runtime: Runtime,
) -> Target:
    secret: Secret | None = Secret(api_key) if isinstance(api_key, str) and api_key else None
    if isinstance(api_key, Secret):
        secret = api_key
    if isinstance(provider, Target):
        return provider
    if isinstance(provider, ProviderSettings):
        return Target(provider_id or "inline", provider, api_key=secret)
    path = Path(settings_path) if settings_path else None
    settings = runtime.load_settings(path)
    found = settings.providers.get(provider)
    if found is None:
        from .config.settings import settings_path as default_path

        known = ", ".join(sorted(settings.providers)) or "none"
        raise ConfigError(
            f"no provider named {provider!r} (known: {known})",
            file=str(path or default_path()),
            provider=provider,
            hint="Add it with `llm openai-compat add` or fix the name",
        )
    return Target(provider, found, api_key=secret, request_log=settings.request_log)


class _Recorder:
    """Collects what the exchange hook reports; cheap when nobody listens."""

    def __init__(self, runtime: Runtime, target: Target, prepared: Prepared) -> None:
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
            return  # building the redacted Exchange cost ~15 us per call (docs/performance.md)
        usage: Mapping[str, Any] | None = None
        finish_reason = None
        for event in closing or ():
            if event.type == "usage":
                usage = {
                    "input": event.input_tokens,
                    "output": event.output_tokens,
                    "cached_input": event.cached_input_tokens,
                    "reasoning": event.reasoning_tokens,
                }
            elif event.type == "finish":
                finish_reason = event.reason
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


def inline_provider_id(base_url: str) -> str:
    """`host:port/path` of a base URL: the identity of a provider given in code."""
    from urllib.parse import urlsplit

    parts = urlsplit(base_url)
    return f"{parts.hostname or ''}:{parts.port or ''}{parts.path.rstrip('/')}"


def parse_model_list(body: Any) -> list[str]:
    """Model ids from `/models`: OpenAI's `{"data": [{"id"}]}`, Ollama's `{"models": [...]}`."""
    items: Any = body
    if isinstance(body, dict):
        items = body.get("data", body.get("models", []))
    ids: list[str] = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, str):
            ids.append(item)
        elif isinstance(item, dict):
            value = item.get("id") or item.get("model") or item.get("name")
            if isinstance(value, str) and value:
                ids.append(value)
    return sorted(dict.fromkeys(ids))


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
        api_key: str | None = None,
        provider_id: str | None = None,
        policy: RetryPolicy | None = None,
        breaker: CircuitBreaker | None = None,
        runtime: Runtime | None = None,
        **fields: Any,
    ) -> Any:
        """A client for a provider given in code rather than in the settings file. `fields`
        are ProviderSettings fields by their Python names (api_shape, headers, timeout_ms...).

        Without a `provider_id`, the id is the server's host, port and path, so quirks learned
        and the circuit breaker are per server, never shared by every inline provider."""
        from pydantic import ValidationError

        try:
            settings = ProviderSettings(base_url=base_url, **fields)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ConfigError(first["msg"], provider=provider_id, field=where) from None
        if provider_id is None:
            provider_id = inline_provider_id(settings.base_url)
        return cls(
            settings, provider_id=provider_id, api_key=api_key, policy=policy, breaker=breaker,
            runtime=runtime,
        )

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
        if recorder.status is None and learn_from(self.runtime, self.target.id, prepared.profile, error, tried):
            return True
        recorder.finish(None, error)
        return False

    def _models_endpoint(self) -> transport.Endpoint:
        settings = self.target.settings
        profile = profile_for(self.target, self.runtime)
        return transport.Endpoint(
            provider=self.target.id,
            url=models_endpoint(settings.base_url, settings.url_mode),
            headers={"Accept": "application/json", **settings.headers, **auth_headers(self.target, profile)},
            timeout_ms=settings.timeout_ms,
            verify_tls=settings.verify_tls,
            max_attempts=2,
        )


class Client(_BaseClient):
    """Synchronous client. Connections are pooled per provider and reused across calls."""

    def stream(
        self, conversation: Conversation, options: RequestOptions
    ) -> Generator[Event, None, None]:
        tried: set[str] = set()
        while True:
            prepared, recorder = self._begin(conversation, options)
            closing: list[Event] | None = None
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
                        for chunk in transport.iter_body(response, prepared.endpoint):
                            yield from state.feed(chunk)
                            if state.error is not None:
                                raise state.error
                        closing = state.close()
                        if state.error is not None:
                            yield from closing
                            raise state.error
                else:
                    closing, failure = self._fetch(prepared, recorder)
                    if failure is not None:
                        yield from closing
                        raise failure
            except OpenAICompatError as error:
                if self._adapt(prepared, recorder, error, tried):
                    continue
                raise
            recorder.finish(closing, None)
            yield from closing
            return

    def complete(self, conversation: Conversation, options: RequestOptions) -> Result:
        if options.stream:
            return collect(self.stream(conversation, options))
        # Not streamed: one read and one parse, with no generator in between.
        tried: set[str] = set()
        while True:
            prepared, recorder = self._begin(conversation, options)
            try:
                events, failure = self._fetch(prepared, recorder)
                if failure is not None:
                    raise failure
            except OpenAICompatError as error:
                if self._adapt(prepared, recorder, error, tried):
                    continue
                raise
            recorder.finish(events, None)
            return collect(events)

    def _fetch(
        self, prepared: Prepared, recorder: _Recorder
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
        return body_events(prepared, response.headers.get("content-type"), response.content)

    def list_models(self) -> list[str]:
        """The model ids the server lists at its `/models` endpoint."""
        response = transport.send(
            self._models_endpoint(), None, pools=self.runtime.pools, method="GET", policy=self.policy
        )
        return parse_model_list(_json_of(response))


class AsyncClient(_BaseClient):
    """Asynchronous client on httpx2's AsyncClient (no thread pool)."""

    async def stream(
        self, conversation: Conversation, options: RequestOptions
    ) -> AsyncGenerator[Event, None]:
        tried: set[str] = set()
        while True:
            prepared, recorder = self._begin(conversation, options)
            closing: list[Event] | None = None
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
                        async for chunk in transport.aiter_body(response, prepared.endpoint):
                            for event in state.feed(chunk):
                                yield event
                            if state.error is not None:
                                raise state.error
                        closing = state.close()
                        if state.error is not None:
                            for event in closing:
                                yield event
                            raise state.error
                else:
                    closing, failure = await self._fetch(prepared, recorder)
                    if failure is not None:
                        for event in closing:
                            yield event
                        raise failure
            except OpenAICompatError as error:
                if self._adapt(prepared, recorder, error, tried):
                    continue
                raise
            recorder.finish(closing, None)
            for event in closing:
                yield event
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
                events, failure = await self._fetch(prepared, recorder)
                if failure is not None:
                    raise failure
            except OpenAICompatError as error:
                if self._adapt(prepared, recorder, error, tried):
                    continue
                raise
            recorder.finish(events, None)
            return collect(events)

    async def _fetch(
        self, prepared: Prepared, recorder: _Recorder
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
        return body_events(prepared, response.headers.get("content-type"), response.content)

    async def list_models(self) -> list[str]:
        response = await transport.asend(
            self._models_endpoint(), None, pools=self.runtime.pools, method="GET", policy=self.policy
        )
        return parse_model_list(_json_of(response))


def _json_of(response: Any) -> Any:
    import json

    try:
        return json.loads(response.content)
    except ValueError:
        from .errors import StreamError

        raise StreamError(
            "The server's model list is not JSON",
            url=transport.redact_url(str(response.request.url)) if response.request else None,
            hint="Check that the base URL points at an OpenAI-compatible API",
        ) from None
