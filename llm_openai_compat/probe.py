"""The connection test: what a provider's server really supports, found by asking it.

`run_probes` sends a handful of tiny requests (plain, streamed, with `stream_options`, with a
tool, with each structured-output mode, with the `developer` role, and on the other wire
shape) and reports what worked. Each probe sends exactly the body it means to test, built
with a permissive profile and never adapted on the fly, so a rejection shows up as a rejection
instead of being quietly worked around. `ProbeReport.capabilities()` is what adapters store
in the provider's `capabilities` so their models follow it. No llm or LangChain import here.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any

from .call import Prepared, Secret, StreamState, Target, body_events, prepare, wire_module
from .config.keys import resolve_api_key
from .config.params import merge_params
from .config.settings import ProviderSettings
from .errors import ConfigError, MalformedJSON, OpenAICompatError, clip, loads_json, redact
from .events import Event
from .http import transport
from .http.retry import RetryPolicy
from .http.urls import ApiShape as Shape
from .http.urls import resolve_endpoint
from .messages import Conversation, Message, RequestOptions, ResponseFormat, ToolSpec
from .redaction import MIN_SECRET_LEN
from .result import Result, collect
from .runtime import Runtime, default_runtime
from .wire.encode import encode_body

__all__ = ["Check", "ProbeReport", "describe_key_source", "run_probes"]

# One retry at most: a probe is a diagnosis, not a job that must get through.
PROBE_POLICY = RetryPolicy(max_attempts=2, steps=(0.5,))
# What the probes may send whatever the profile (or earlier adaptation) says.
_PERMISSIVE = {
    "supports_stream_options": True,
    "supports_json_schema": True,
    "supports_tools": True,
    "supports_developer_role": True,
}
_SCHEMA = {
    "type": "object",
    "properties": {"answer": {"type": "string"}},
    "required": ["answer"],
    "additionalProperties": False,
}
_TOOL = ToolSpec(
    name="get_current_time",
    description="Returns the current time. Always call this to learn the time.",
    parameters={"type": "object", "properties": {}, "required": []},
)
_MAX_TOKENS = 64
_LONGER = 512  # tools and JSON: room for a reasoning model to think first


@dataclass(frozen=True, slots=True)
class Check:
    """One probe's outcome. `ok` is None when the probe did not run (and says why)."""

    name: str
    label: str
    ok: bool | None
    detail: str
    seconds: float | None = None


@dataclass(frozen=True, slots=True)
class ProbeReport:
    provider: str
    model: str
    shape: str
    endpoint: str
    auth: str
    checks: tuple[Check, ...]

    def check(self, name: str) -> Check | None:
        return next((c for c in self.checks if c.name == name), None)

    @property
    def connected(self) -> bool:
        first = self.check("connection")
        return bool(first and first.ok)

    @property
    def latency_s(self) -> float | None:
        first = self.check("connection")
        return first.seconds if first else None

    def capabilities(self) -> dict[str, Any]:
        """camelCase capability flags for the provider's settings; probes that did not run are
        left out, so what a user wrote by hand (e.g. `audio`) is kept when merged."""
        names = {
            "streaming": "streaming",
            "stream_options": "streamOptions",
            "stream_usage": "streamUsage",
            "tools": "tools",
            "tools_streamed": "toolsStreamed",
            "json_schema": "jsonSchema",
            "json_object": "jsonObject",
            "developer_role": "developerRole",
        }
        caps: dict[str, Any] = {}
        for check in self.checks:
            if check.name in names and check.ok is not None:
                caps[names[check.name]] = check.ok
        other = self.check("other_shape")
        this_key = "responses" if self.shape == "responses" else "chatCompletions"
        other_key = "chatCompletions" if self.shape == "responses" else "responses"
        follow_up = self.check("follow_up")
        caps[this_key] = self.connected and not (follow_up is not None and follow_up.ok is False)
        if other is not None and other.ok is not None:
            caps[other_key] = other.ok
        caps["probedModel"] = self.model
        caps["probedAt"] = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
        return caps


def describe_key_source(provider_id: str, settings: ProviderSettings) -> str:
    """Where the key comes from, and whether one is there; never the key."""
    ref = settings.api_key_ref
    if ref is None:
        return "none (no apiKeyRef: no Authorization header)"
    where = {
        "env": f"environment variable {ref.name}",
        "llm": f"llm key {ref.name!r} (llm keys set {ref.name})",
        "keyring": f"OS keyring entry {ref.name!r}",
    }[ref.kind]
    try:
        found = resolve_api_key(provider_id, settings) is not None
    except ConfigError:
        found = False
    return f"{where} ({'found' if found else 'MISSING'})"


def _user(text: str) -> Conversation:
    return Conversation((Message.text("user", text),))


# A follow-up turn: the assistant's earlier answer goes back as history, which some servers
# reject on one shape while the first turn works (llama.cpp's server wants `type` on every
# Responses input item), so a server is only reported as serving a shape after turn two.
_TWO_TURNS = Conversation(
    (
        Message.text("user", "Reply with the single word OK."),
        Message.text("assistant", "OK"),
        Message.text("user", "Reply with the single word OK again."),
    )
)


class _Prober:
    def __init__(self, target: Target, model: str, policy: RetryPolicy, runtime: Runtime) -> None:
        self.runtime = runtime
        self.target = target
        self.model = model
        self.policy = policy

    def prepared(
        self, conversation: Conversation, options: RequestOptions, target: Target | None = None
    ) -> Prepared:
        """Endpoint and headers from the core's `prepare`; the body rebuilt with a permissive
        profile so each probe sends exactly what it tests."""
        target = target or self.target
        settings = target.settings
        base = prepare(
            target, _user("hi"), replace(options, tools=(), response_format=None), self.runtime
        )
        profile = base.profile.with_(**_PERMISSIVE)
        full = replace(
            options,
            params=merge_params(settings.default_params, settings.model_params.get(self.model)),
            extra_body={**settings.extra_body, **options.extra_body},
            system_message_mode=options.system_message_mode or settings.system_message_mode,
        )
        body = wire_module(base.shape).build_request(conversation, full, profile)
        return replace(base, body=body, body_bytes=encode_body(body), profile=profile)

    def exchange(
        self, conversation: Conversation, options: RequestOptions, target: Target | None = None
    ) -> Result:
        prepared = self.prepared(conversation, options, target)
        self.runtime.secrets.add(*prepared.endpoint.secrets)
        try:
            return collect(self._events(prepared))
        except OpenAICompatError as error:
            self.runtime.scrub(error, prepared.endpoint.secrets)  # the server may echo the key
            raise

    def _events(self, prepared: Prepared) -> list[Event]:
        events: list[Event] = []
        pools = self.runtime.pools
        if prepared.stream:
            with transport.send_stream(
                prepared.endpoint, prepared.body_bytes, pools=pools, policy=self.policy
            ) as response:
                state = StreamState(prepared, content_type=response.headers.get("content-type"))
                for chunk in transport.iter_body(response, prepared.endpoint):
                    events.extend(state.feed(chunk))
                    if state.error is not None:
                        raise state.error
                events.extend(state.close())
                if state.error is not None:
                    raise state.error
        else:
            response = transport.send(
                prepared.endpoint, prepared.body_bytes, pools=pools, policy=self.policy
            )
            events, failure = body_events(
                prepared, response.headers.get("content-type"), response.content
            )
            if failure is not None:
                raise failure
        return events

    def options(self, **fields: Any) -> RequestOptions:
        fields.setdefault("stream", False)
        params = {"maxOutputTokens": _MAX_TOKENS, **fields.pop("params", {})}
        return RequestOptions(model=self.model, params=params, **fields)


def _short(text: str, limit: int = 40) -> str:
    return clip(text, limit)  # redacted, then cut; control characters escaped


def _failure(error: OpenAICompatError) -> str:
    """The server's own words where it answered; our whole one-line message otherwise."""
    if error.status is None:
        return str(error)
    return _short(f"HTTP {error.status}: {error.server_message or error.message}", 100)


def _json_reply(result: Result) -> tuple[bool, str]:
    text = result.text.strip()
    if text.startswith("```"):
        text = text.strip("`").removeprefix("json").strip()
    try:
        value = loads_json(text)
    except MalformedJSON:
        if result.finish is not None and result.finish.reason == "length":
            # A reasoning model can spend the probe's tokens thinking: the format was accepted.
            return True, "accepted (the reply was cut by the probe's token limit)"
        return False, f"accepted, but the reply is not JSON: {_short(result.text)!r}"
    if not isinstance(value, dict):
        return False, "accepted, but the reply is not a JSON object"
    return True, f"reply {_short(json.dumps(value))}"


def _known_keys(provider_id: str, settings: ProviderSettings, api_key: str | None) -> tuple[str, ...]:
    """The key the probes send, to mask wherever it shows (none when it cannot be resolved)."""
    try:
        key = api_key or resolve_api_key(provider_id, settings)
    except OpenAICompatError:
        return ()
    return (key,) if key and len(key) >= MIN_SECRET_LEN else ()


def run_probes(
    provider_id: str,
    settings: ProviderSettings,
    model: str,
    *,
    api_key: str | None = None,
    on_progress: Callable[[str], None] | None = None,
    policy: RetryPolicy | None = None,
    runtime: Runtime | None = None,
) -> ProbeReport:
    """Probe `model` on this provider. Never raises for what the server does; a failed
    connection stops the other probes (they are reported as not run)."""
    target = Target(provider_id, settings, api_key=Secret(api_key) if api_key else None)
    prober = _Prober(target, model, policy or PROBE_POLICY, runtime or default_runtime())
    shape = settings.api_shape
    known = _known_keys(provider_id, settings, api_key)

    def shown(url: str) -> str:  # the key may sit in the URL's path, where no pattern finds it
        return redact(transport.redact_url(url), known)

    endpoint = shown(resolve_endpoint(settings.base_url, shape, settings.url_mode))
    auth = "explicit key (--key)" if api_key else describe_key_source(provider_id, settings)
    checks: list[Check] = []
    progress = on_progress or (lambda _label: None)

    def attempt(name: str, label: str, run: Callable[[], tuple[bool, str]]) -> Check:
        progress(label)
        started = time.perf_counter()
        try:
            ok, detail = run()
        except OpenAICompatError as error:
            ok, detail = False, _failure(error)
        check = Check(name, label, ok, detail, time.perf_counter() - started)
        checks.append(check)
        return check

    def skip(name: str, label: str, why: str) -> None:
        checks.append(Check(name, label, None, why))

    def connection() -> tuple[bool, str]:
        result = prober.exchange(_user("Reply with the single word OK."), prober.options())
        return True, f"replied {_short(result.text or result.reasoning)!r}"

    first = attempt("connection", "Connection", connection)
    if not first.ok:
        for name, label in _LATER:
            skip(name, label, "not run: the connection failed")
        return ProbeReport(provider_id, model, shape, endpoint, auth, tuple(checks))

    stream_usage: bool | None = None

    def streaming() -> tuple[bool, str]:
        nonlocal stream_usage
        result = prober.exchange(
            _user("Count from 1 to 5."), prober.options(stream=True, include_usage=False)
        )
        if result.finish is None:
            return False, "the stream ended without a finish"
        stream_usage = result.usage is not None
        return True, f"{len(result.text)} characters, finish {result.finish.reason}"

    attempt("streaming", "Streaming", streaming)

    def follow_up() -> tuple[bool, str]:
        result = prober.exchange(_TWO_TURNS, prober.options())
        return True, f"replied {_short(result.text or result.reasoning)!r}"

    attempt("follow_up", "Follow-up turn (history)", follow_up)

    if shape == "chat-completions":

        def stream_options() -> tuple[bool, str]:
            nonlocal stream_usage
            result = prober.exchange(
                _user("Say hi."), prober.options(stream=True, include_usage=True)
            )
            stream_usage = result.usage is not None or bool(stream_usage)
            return True, "accepted"

        attempt("stream_options", "stream_options", stream_options)
    else:
        skip("stream_options", "stream_options", "n/a: Responses streams always carry usage")
    if stream_usage is None:
        skip("stream_usage", "Usage in streams", "not known: streaming failed")
    else:
        detail = "reported" if stream_usage else "not reported (token counts will be missing)"
        checks.append(Check("stream_usage", "Usage in streams", stream_usage, detail))

    def tools() -> tuple[bool, str]:
        result = prober.exchange(
            _user("What time is it? Call the get_current_time tool to find out."),
            prober.options(tools=(_TOOL,), params={"maxOutputTokens": _LONGER}),
        )
        if result.tool_calls:
            return True, f"called {result.tool_calls[0].name}"
        return True, "accepted, but the model answered in text"

    attempt("tools", "Tool calling", tools)

    def tools_streamed() -> tuple[bool, str]:
        # Gateways may drop tool calls from streams only; llm streams by default.
        result = prober.exchange(
            _user("What time is it? Call the get_current_time tool to find out."),
            prober.options(tools=(_TOOL,), stream=True, params={"maxOutputTokens": _LONGER}),
        )
        if result.tool_calls:
            return True, f"called {result.tool_calls[0].name}"
        if result.text.strip():
            return True, "accepted, but the model answered in text"
        return False, "the stream ended with no text and no tool call (use --no-stream with tools)"

    attempt("tools_streamed", "Tool calling (streamed)", tools_streamed)

    def json_schema() -> tuple[bool, str]:
        fmt = ResponseFormat(kind="json_schema", schema=_SCHEMA, name="probe")
        result = prober.exchange(
            _user('Reply with JSON whose "answer" is "OK".'),
            prober.options(response_format=fmt, params={"maxOutputTokens": _LONGER}),
        )
        return _json_reply(result)

    attempt("json_schema", "Structured output (json_schema)", json_schema)

    def json_object() -> tuple[bool, str]:
        result = prober.exchange(
            _user('Reply with a JSON object: {"answer": "OK"}.'),
            prober.options(
                response_format=ResponseFormat(kind="json_object"),
                params={"maxOutputTokens": _LONGER},
            ),
        )
        return _json_reply(result)

    attempt("json_object", "Structured output (json_object)", json_object)

    if shape == "chat-completions":

        def developer() -> tuple[bool, str]:
            conversation = Conversation(
                (Message.text("user", "Hello"),), system="Reply with the single word OK."
            )
            prober.exchange(conversation, prober.options(system_message_mode="developer"))
            return True, "accepted"

        attempt("developer_role", "developer role", developer)
    else:
        skip("developer_role", "developer role", "n/a: Responses sends system text as instructions")

    other: Shape = "responses" if shape == "chat-completions" else "chat-completions"
    other_target = replace(target, settings=settings.model_copy(update={"api_shape": other}))

    def other_shape() -> tuple[bool, str]:
        prober.exchange(_user("Reply with the single word OK."), prober.options(), other_target)
        prober.exchange(_TWO_TURNS, prober.options(), other_target)
        url = resolve_endpoint(settings.base_url, other, settings.url_mode)
        return True, f"served at {shown(url)}"

    attempt("other_shape", f"Other shape ({other})", other_shape)
    return ProbeReport(provider_id, model, shape, endpoint, auth, tuple(checks))


_LATER = (
    ("streaming", "Streaming"),
    ("follow_up", "Follow-up turn (history)"),
    ("stream_options", "stream_options"),
    ("stream_usage", "Usage in streams"),
    ("tools", "Tool calling"),
    ("tools_streamed", "Tool calling (streamed)"),
    ("json_schema", "Structured output (json_schema)"),
    ("json_object", "Structured output (json_object)"),
    ("developer_role", "developer role"),
    ("other_shape", "Other shape"),
)
