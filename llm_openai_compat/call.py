"""The pure parts of one call, shared by `Client` and `AsyncClient`.

`prepare` turns provider settings, a conversation and options into an endpoint and body bytes;
`StreamState` turns response bytes into events (SSE decoder -> shape parser -> assembler, or a
whole JSON body through the same parser and assembler). The clients only add the I/O loop.
"""

from __future__ import annotations

import functools
import hashlib
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol

from .capabilities import capability_cause
from .config.keys import resolve_api_key
from .config.params import has_wire_field, merge_params
from .config.profiles import ADAPTATIONS, Adaptation, Profile
from .config.settings import ProviderSettings
from .errors import (
    ConfigError,
    MalformedJSON,
    MissingToolCalling,
    OpenAICompatError,
    StreamError,
    clip,
    loads_json,
    redact,
)
from .events import Event, StreamFailure
from .http.bodies import MAX_BODY_BYTES, MAX_IDLE_BYTES, MAX_STREAM_BYTES, only_keepalives
from .http.retry import Deadline, fmt_seconds
from .http.transport import Endpoint, redact_url
from .http.urls import resolve_endpoint
from .messages import Conversation, RequestOptions
from .runtime import Runtime, default_runtime
from .wire.assemble import Assembler, Delta
from .wire.encode import encode_body
from .wire.sse import SSEDecoder
from .wire.stops import StopEmulation, emulated_stops

__all__ = [
    "EarlyState",
    "Fallback",
    "Prepared",
    "RequestTemplate",
    "Secret",
    "StreamState",
    "Target",
    "auth_headers",
    "body_events",
    "call_deadline",
    "key_headers",
    "learn_from",
    "prepare",
    "profile_for",
    "request_template",
    "target_key",
]

Shape = Literal["chat-completions", "responses"]
USER_AGENT = "llm-openai-compat/0.1"


class Secret:
    """A key held in memory; its repr and str never show it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True, slots=True)
class Target:
    """A provider to call: its id, its settings, and optionally an explicit key."""

    id: str
    settings: ProviderSettings
    api_key: Secret | None = None
    request_log: str | None = None
    # The providers to fail over to, in order (the settings file's `fallbacks`).
    fallbacks: tuple[Fallback, ...] = ()

    def __repr__(self) -> str:  # the settings may hold secret headers or URL credentials
        return f"Target(id={self.id!r}, base_url={redact_url(self.settings.base_url)!r})"


@dataclass(frozen=True, slots=True)
class Fallback:
    """A provider to fail over to: resolved from the same file, or why it cannot be used
    (a broken or foreign entry: skipped when its turn comes, and named in the final error)."""

    provider: str
    model: str | None = None  # None: the model the call asked for
    target: Target | None = None
    problem: ConfigError | None = None


@dataclass(frozen=True, slots=True)
class Prepared:
    endpoint: Endpoint
    body: Mapping[str, Any] = field(repr=False)
    body_bytes: bytes = field(repr=False)
    shape: Shape
    profile: Profile
    model: str
    stream: bool
    # Stop sequences the client applies itself (the wire shape has no `stop` field).
    stops: tuple[str, ...] = ()


def learn_from(
    runtime: Runtime, provider_id: str, profile: Profile, error: OpenAICompatError, tried: set[str]
) -> Adaptation | None:
    """If a server's error says it rejects something we can do without, remember the fix.
    The caller retries only when the adaptation says so (`Adaptation.retry`)."""
    classes = {cls.__name__ for cls in type(error).__mro__}
    for adaptation in ADAPTATIONS:
        if adaptation.name in tried or error.status not in adaptation.statuses:
            continue
        if adaptation.error is not None:
            if adaptation.error not in classes:
                continue
        elif not adaptation.matches(error.param, error.server_message):
            continue
        if all(getattr(profile, k) == v for k, v in adaptation.changes.items()):
            continue  # already applied; the error is about something else
        runtime.learn(provider_id, adaptation)
        tried.add(adaptation.name)
        return adaptation
    return None


class StreamParser(Protocol):
    """A wire shape's stream parser: one per response, fed each SSE event's name and data."""

    def feed_event(self, event: str, data: str) -> list[Delta]: ...


@dataclass(frozen=True, slots=True)
class WireShape:
    """What the clients need of a wire shape: build a body, parse a stream or a body.
    `wire.chat` and `wire.responses` each provide the three with these signatures."""

    build_request: Callable[[Conversation, RequestOptions, Profile], dict[str, Any]]
    stream_parser: Callable[[Profile], StreamParser]
    parse_body: Callable[[Mapping[str, Any], Profile], list[Delta]]


_WIRE: dict[str, WireShape] = {}  # built once per shape; twice per call otherwise


def wire_module(shape: Shape) -> WireShape:
    found = _WIRE.get(shape)
    if found is not None:
        return found
    if shape == "responses":
        from .wire import responses

        found = WireShape(
            responses.build_request, responses.ResponsesStreamParser, responses.parse_body
        )
    else:
        from .wire import chat

        found = WireShape(chat.build_request, chat.ChatStreamParser, chat.parse_body)
    _WIRE[shape] = found
    return found


# What `llm openai-compat test` stored in a provider's `capabilities`, and the profile field
# each one switches off when the server said no.
CAPABILITY_FIELDS: dict[str, dict[str, Any]] = {
    "streamOptions": {"supports_stream_options": False},
    "developerRole": {"supports_developer_role": False, "system_role": "system"},
    "jsonSchema": {"supports_json_schema": False},
    "tools": {"supports_tools": False},
}


# A pure function of three strings (urls.py); it validates the base URL every time otherwise.
_endpoint_url = functools.lru_cache(maxsize=256)(resolve_endpoint)


def model_capabilities(target: Target, model: str | None) -> Mapping[str, Any]:
    """What is stored about `model`: its `modelCapabilities` entry over the provider's
    `capabilities` (a `test --model M` result is M's alone)."""
    settings = target.settings
    own = settings.own_capabilities(model) if model is not None else None
    return {**settings.capabilities, **own} if own else settings.capabilities


def profile_for(target: Target, runtime: Runtime, model: str | None = None) -> Profile:
    """The vendor profile, narrowed by probed capabilities (the model's, when given) and by
    what 400s taught us."""
    profile = runtime.get_profile(target.settings.profile, target.settings.base_url)
    changes: dict[str, Any] = {}
    caps = model_capabilities(target, model)
    for name, off in CAPABILITY_FIELDS.items():
        if caps.get(name) is False:
            changes.update(off)
    changes.update(runtime.learned_changes(target.id))
    return profile.with_(**changes) if changes else profile


def cache_key_for(conversation_id: str | None) -> str | None:
    """`prompt_cache_key` derived from the conversation id: short, stable and opaque."""
    if not conversation_id:
        return None
    return "oc-" + hashlib.sha256(conversation_id.encode("utf-8")).hexdigest()[:32]


def target_key(target: Target) -> str | None:
    """The target's key: given, or resolved now from its `apiKeyRef`."""
    if target.api_key is not None:
        return target.api_key.get_secret_value()
    return resolve_api_key(target.id, target.settings)


def auth_headers(target: Target, profile: Profile) -> dict[str, str]:
    """The target's key (`target_key`) as headers."""
    return key_headers(target_key(target), profile)


def key_headers(key: str | None, profile: Profile) -> dict[str, str]:
    """A key as the profile sends it: `Authorization: Bearer`, or Azure's `api-key`."""
    if not key:
        return {}
    if profile.auth_header == "api-key":
        return {"api-key": key}
    return {"Authorization": f"Bearer {key}"}


def _build(
    target: Target, shape: Shape, conversation: Conversation, options: RequestOptions, profile: Profile
) -> tuple[dict[str, Any], bytes]:
    """The body and its bytes; values nested too deeply to build become a ConfigError."""
    try:
        body: dict[str, Any] = wire_module(shape).build_request(conversation, options, profile)
        return body, encode_body(body)
    except RecursionError:
        pass  # raised outside the handler: no traceback thousands of frames deep is chained
    raise ConfigError(
        "the request is nested too deeply to send", provider=target.id, field="extraBody",
        hint="Flatten the JSON in extraBody, the params or the tool schemas",
    )


def no_tool_calling(
    runtime: Runtime, target: Target, profile: Profile, model: str, tools: int
) -> MissingToolCalling:
    """The error for tools sent to a provider known not to call them, saying how it is known
    and how to check again."""
    provider = target.id
    if runtime.learned_changes(provider).get("supports_tools") is False:
        why = "the server answered earlier in this process that it cannot call tools"
        again = (
            "restart the process once tool calling is on (llama.cpp: --jinja), or check with "
            f"`llm openai-compat test {provider}`"
        )
    elif model_capabilities(target, model).get("tools") is False:
        own = target.settings.own_capabilities(model) if model is not None else {}
        cause = capability_cause(provider, model, "tools", target.settings.capabilities, own)
        why, _, again = cause.partition("; ")
        again = f"once tool calling is on, {again}"
    else:
        why = f"the {profile.name!r} profile says this server cannot call tools"
        again = "use another profile or model"
    return MissingToolCalling(
        f"{tools} tool(s) were given, but {why}",
        provider=provider, model=model, hint=f"Run without tools, or {again}",
    )


def call_deadline(deadline_ms: int | None, seconds: float | None = None) -> Deadline | None:
    """The deadline of a call starting now: `seconds` given in code (`deadline=`, `-o
    deadline`), else the provider's `deadlineMs`; None when neither is set."""
    if seconds is not None:
        if not math.isfinite(seconds) or seconds <= 0:
            raise ConfigError(
                f"deadline must be a positive number of seconds, not {seconds}", field="deadline"
            )
        return Deadline.after(seconds, "deadline")
    if deadline_ms is not None:
        return Deadline.after(deadline_ms / 1000, "deadlineMs")
    return None


@dataclass(frozen=True, slots=True)
class RequestTemplate:
    """What every request to one target for one model (streamed or not) shares: the profile
    narrowed for it, the settings file's params merged, and the endpoint
    (URL, headers with auth, timeouts; no deadline), whose secrets are then computed once.
    Worked out once and kept in the runtime (`Runtime.templates`) while what it came from is
    the same: the target, the runtime's profile for it and what the runtime learned about its
    server (each replaced, never changed, when they change), and the key resolved for this
    request. Its mappings are shared by every request made from it: never changed."""

    target: Target
    base: Profile
    learned: Mapping[str, Any]
    key: str | None
    profile: Profile
    params: Mapping[str, Any]
    endpoint: Endpoint

    def made_from(
        self, target: Target, base: Profile, learned: Mapping[str, Any], key: str | None
    ) -> bool:
        return (
            target is self.target and base is self.base and learned is self.learned
            and key == self.key
        )


def request_template(
    target: Target, runtime: Runtime, model: str, stream: bool
) -> RequestTemplate:
    """The template of a request to `target` for `model`, from the runtime's memo or made
    now. The key is resolved every time (an environment variable or stored key may change)."""
    settings = target.settings
    key = target_key(target)
    base = runtime.get_profile(settings.profile, settings.base_url)
    learned = runtime.learned_changes(target.id)
    memo_key = (target.id, model, stream)
    found: RequestTemplate | None = runtime.templates.get(memo_key, target)
    if found is not None and found.made_from(target, base, learned, key):
        return found
    profile = profile_for(target, runtime, model)
    headers = {
        "Content-Type": "application/json",
        "Accept": "text/event-stream" if stream else "application/json",
        "User-Agent": USER_AGENT,
        **settings.headers,
        **key_headers(key, profile),
    }
    template = RequestTemplate(
        target=target,
        base=base,
        learned=learned,
        key=key,
        profile=profile,
        params=merge_params(settings.default_params, settings.model_params.get(model)),
        endpoint=Endpoint(
            provider=target.id,
            url=_endpoint_url(settings.base_url, settings.api_shape, settings.url_mode),
            headers=headers,
            timeout_ms=settings.timeout_ms,
            verify_tls=settings.verify_tls,
            max_attempts=None if settings.max_retries is None else settings.max_retries + 1,
            model=model,
        ),
    )
    runtime.templates.put(memo_key, target, template)
    return template


def prepare(
    target: Target,
    conversation: Conversation,
    options: RequestOptions,
    runtime: Runtime | None = None,
    deadline: Deadline | None = None,
) -> Prepared:
    """`deadline` is the call's, made once by the caller (`call_deadline`) so that retries
    after a 400 and fallbacks share it."""
    runtime = runtime or default_runtime()
    settings = target.settings
    shape: Shape = settings.api_shape
    template = request_template(target, runtime, options.model, options.stream)
    profile = template.profile
    params = merge_params(template.params, options.params)
    extra_body = {**settings.extra_body, **options.extra_body}
    if options.stream and (params.get("n") or 1) > 1:
        # A stream follows choice 0 only: the other choices would be dropped without a word.
        raise ConfigError(
            "n > 1 cannot be streamed", provider=target.id, field="n",
            hint="Send n choices without streaming, or n=1 when streaming",
        )
    system_mode = options.system_message_mode or settings.system_message_mode
    cache_key = options.prompt_cache_key or cache_key_for(conversation.id)
    if (params, extra_body, system_mode, cache_key) != (
        options.params, options.extra_body, options.system_message_mode, options.prompt_cache_key
    ):  # most calls change nothing: skip the copy `replace` would make
        options = replace(
            options,
            params=params,
            extra_body=extra_body,
            system_message_mode=system_mode,
            prompt_cache_key=cache_key,
        )
    if options.tools and not profile.supports_tools:
        raise no_tool_calling(runtime, target, profile, options.model, len(options.tools))
    body, body_bytes = _build(target, shape, conversation, options, profile)
    endpoint = template.endpoint
    return Prepared(
        endpoint=endpoint if deadline is None else replace(endpoint, deadline=deadline),
        body=body,
        body_bytes=body_bytes,
        shape=shape,
        profile=profile,
        model=options.model,
        stream=options.stream,
        stops=emulated_stops(options.params, has_wire_field("stop", shape)),
    )


_NOT_JSON = object()
_LONG_EVENT = 64 * 1024  # pending bytes from which a stream is receiving one big event
_EVENT_STREAM = "text/event-stream"


def _is_event_stream(prepared: Prepared, content_type: str | None) -> bool:
    """An answer is an event stream when it says so, or when a stream was asked for and the
    answer does not say it is JSON."""
    kind = content_type or ""
    return "event-stream" in kind or (prepared.stream and "json" not in kind)


class StreamState:
    """Bytes in, events out, for one response. When the server reports an error, the events
    before it are returned and `error` is set: the caller yields them, then raises it.

    A response that goes the read timeout without an event (or, not being an event stream,
    without a byte other than whitespace) fails with `StreamError` even while bytes arrive:
    keep-alive comments, blank `data:` lines and whitespace reset the transport's read timeout,
    so without this bound a server that only ever sends them would hang the caller."""

    def __init__(
        self,
        prepared: Prepared,
        *,
        content_type: str | None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._prepared = prepared
        self._sse = _is_event_stream(prepared, content_type)
        self._wire = wire_module(prepared.shape)
        # A JSON body is parsed whole (`_parse_body`): no stream parser or decoder for it.
        self._parser = self._wire.stream_parser(prepared.profile) if self._sse else None
        self._decoder = SSEDecoder() if self._sse else None
        self._assembler = Assembler(
            think_tags=prepared.profile.think_tags, secrets=prepared.endpoint.secrets
        )
        self._stops = StopEmulation(prepared.stops) if prepared.stops else None
        self._body: list[bytes] = []
        self.bytes_seen = 0
        self._idle_bytes = 0  # decoded bytes since the last event (keep-alives)
        # Set when the server reported an error in the stream; raise it after the events.
        self.error: OpenAICompatError | None = None
        self._clock = clock
        self._idle_limit = prepared.endpoint.read_timeout_s
        self._last_event = clock()

    @classmethod
    def early(
        cls, prepared: Prepared, clock: Callable[[], float] = time.monotonic
    ) -> StreamState:
        """A state made before the answer arrived (while the server works on the request,
        `transport.send_stream`'s `on_sent`), for the event stream a streamed request expects;
        `answered` makes it the answer's."""
        return cls(prepared, content_type=_EVENT_STREAM if prepared.stream else None, clock=clock)

    def answered(self, content_type: str | None) -> StreamState:
        """This `early` state as the answer's, its idle clock started now; a new state when
        the answer is not what it was made for (a JSON body to a streamed request)."""
        if _is_event_stream(self._prepared, content_type) != self._sse:
            return StreamState(self._prepared, content_type=content_type, clock=self._clock)
        self._last_event = self._clock()
        return self

    def feed(self, chunk: bytes) -> list[Event]:
        self.bytes_seen += len(chunk)
        out: list[Event] = []
        decoder, parser = self._decoder, self._parser
        if decoder is not None and parser is not None:  # an event stream
            # The per-chunk path: locals, and the progress test folded into the one loop.
            parse, assembler = parser.feed_event, self._assembler
            progress = False
            deltas: list[Delta] = []
            for sse in decoder.feed(chunk):
                data = sse.data
                if not progress and data and not data.isspace():
                    progress = True
                deltas += parse(sse.event, data)
            # One assembler pass for the chunk's deltas (the parser never reads its state).
            out += assembler.feed(deltas)
            if self._stops is not None:
                out = self._stops.apply(out)
            if assembler.failed:
                return self._take_failure(out)
            # Keep-alive bytes: comments and events without data. Bytes of one long event still
            # arriving are not (the decoder bounds an event's size by itself).
            idle = not progress and self._decoder.pending_bytes < _LONG_EVENT  # type: ignore[union-attr]
        else:
            self._body.append(chunk)
            progress = not only_keepalives(chunk)
            idle = not progress
            if self.bytes_seen > MAX_BODY_BYTES:
                self._body = []
                self.error = StreamError(
                    f"The response is larger than {MAX_BODY_BYTES // 2**20} MB; it was not read"
                ).at(url=redact_url(self._prepared.endpoint.url), provider=self._prepared.endpoint.provider)
                return out
        if progress:
            self._last_event = self._clock()
            self._idle_bytes = 0
        elif idle:
            self._idle_bytes += len(chunk)
        if self.error is None and (
            self._idle_bytes > MAX_IDLE_BYTES or (self._sse and self.bytes_seen > MAX_STREAM_BYTES)
        ):
            if self._stops is not None:
                out.extend(self._stops.release())
            what = (
                f"{self._idle_bytes} bytes of keep-alives without an event"
                if self._idle_bytes > MAX_IDLE_BYTES
                else f"more than {MAX_STREAM_BYTES // 2**20} MB"
            )
            self.error = StreamError(
                f"The server sent {what}; the response was abandoned",
                hint="The output above may be incomplete; check the server or the proxy in front of it",
            ).at(**self._where(), model=self._prepared.model)
        elif not progress and self._clock() - self._last_event > self._idle_limit:
            if self._stops is not None:
                out.extend(self._stops.release())
            self.error = StreamError(
                f"No {'event' if self._sse else 'data'} for {fmt_seconds(self._idle_limit)} s: "
                "the server sent only "
                f"keep-alives after {self.bytes_seen} bytes",
                hint="The output above may be incomplete; if the model pauses longer, "
                "raise the provider's timeoutMs",
            ).at(
                url=redact_url(self._prepared.endpoint.url),
                provider=self._prepared.endpoint.provider,
                model=self._prepared.model,
            )
        return out

    def close(self) -> list[Event]:
        out: list[Event] = []
        decoder, parser = self._decoder, self._parser
        if decoder is not None and parser is not None:  # an event stream
            for sse in decoder.flush():
                out.extend(self._assembler.feed(parser.feed_event(sse.event, sse.data)))
        else:
            out.extend(self._assembler.feed(self._parse_body(b"".join(self._body))))
        out.extend(self._assembler.close())
        if self._stops is not None:
            out = self._stops.apply(out)
        if self._assembler.failed:
            return self._take_failure(out)
        return out

    def _where(self) -> dict[str, Any]:
        # Only on failure: redacting the URL costs more than parsing a small body.
        return {"url": redact_url(self._prepared.endpoint.url), "provider": self._prepared.endpoint.provider}

    def _parse_body(self, raw: bytes) -> list[Delta]:
        try:
            obj = loads_json(raw)
        except MalformedJSON as exc:
            obj, why = _NOT_JSON, exc.message
        if obj is _NOT_JSON:  # raised outside the handler: the decode error (and body) not chained
            # Redacted (of this call's secrets too) before it is cut (`clip`); 64 KB around the
            # cut is enough for any key.
            text = raw[:65536].decode("utf-8", errors="replace")
            text = clip(redact(text, self._prepared.endpoint.secrets), 200)
            del raw  # the body may echo the key: not a local of the traceback
            raise StreamError(
                f"The server's response is not valid JSON ({why.rstrip('.')}): {text!r}",
                hint="Check that the base URL points at an OpenAI-compatible API",
            ).at(**self._where())
        if not isinstance(obj, dict):
            raise StreamError("The server's response is not a JSON object").at(**self._where())
        deltas: list[Delta] = self._wire.parse_body(obj, self._prepared.profile)
        return deltas

    def _take_failure(self, events: list[Event]) -> list[Event]:
        """Keep the events before the failure; the caller yields them, then raises `error`."""
        for position, event in enumerate(events):
            if isinstance(event, StreamFailure):
                self.error = event.error.at(
                    url=redact_url(self._prepared.endpoint.url),
                    provider=self._prepared.endpoint.provider,
                    model=self._prepared.model,
                )
                return events[:position]
        return events


class EarlyState:
    """A response's `StreamState`, made while the server works on the request when the road
    calls this (`transport.send_stream`'s `on_sent`), else once the answer arrives."""

    __slots__ = ("_prepared", "_state")

    def __init__(self, prepared: Prepared) -> None:
        self._prepared = prepared
        self._state: StreamState | None = None

    def __call__(self) -> None:
        self._state = StreamState.early(self._prepared)

    def answered(self, content_type: str | None) -> StreamState:
        state = self._state
        if state is None:
            return StreamState(self._prepared, content_type=content_type)
        self._state = None  # an attempt after this one makes its own
        return state.answered(content_type)


def body_events(
    prepared: Prepared, content_type: str | None, content: bytes
) -> tuple[list[Event], OpenAICompatError | None]:
    """The events of a body read whole, and the error the server reported in it (raise it
    after delivering the events). A server may stream even when asked not to: an event
    stream is decoded as one."""
    state = StreamState(prepared, content_type=content_type)
    events = state.feed(content)
    del content  # the server's bytes may echo the key: no local of a traceback holds them
    if state.error is None:
        events += state.close()
    return events, state.error
