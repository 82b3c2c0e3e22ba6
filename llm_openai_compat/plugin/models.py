"""llm model classes for every (provider, model) in the settings file.

Thin on purpose: capabilities are attributes set from the provider's settings (what
`llm openai-compat test` stored in its `capabilities`), overridden per model by what the
server published about that model (`modelCapabilities`, from its listing), `Options` maps to the core's camelCase
params, and `execute` is convert -> `Client.stream` -> convert. The HTTP client is imported
inside `execute`, so registering hundreds of models costs no network and no heavy imports.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Literal, Self

import llm
from llm.parts import StreamEvent
from pydantic import ConfigDict, Field, field_validator

from .notices import AnswerWatch

if TYPE_CHECKING:
    from .. import ProviderSettings, RequestOptions, Settings
    from .convert import EventTranslator

__all__ = ["AsyncOpenAICompatModel", "OpenAICompatModel", "OpenAICompatOptions", "model_pair"]

IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/webp", "image/gif"})
AUDIO_TYPES = frozenset({"audio/wav", "audio/mpeg"})
PDF_TYPES = frozenset({"application/pdf"})
# Sent as Chat Completions `video_url` parts, only to models whose entry says `video: true`.
VIDEO_TYPES = frozenset({"video/mp4", "video/webm", "video/quicktime", "video/mpeg"})
# Keys the user may not override through extra_body: the adapter owns them.
_OWNED_BODY_KEYS = ("model", "messages", "input", "stream")


class OpenAICompatOptions(llm.Options):
    # Built on first validation (a prompt's `-o`), not at import: `llm models` and every
    # command that only lists models never validate options (docs/performance.md).
    model_config = ConfigDict(extra="forbid", defer_build=True)

    temperature: float | None = Field(
        default=None,
        ge=0,
        le=2,
        description="Sampling temperature, 0 to 2: higher is more random, lower more focused.",
    )
    top_p: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="Nucleus sampling: consider only tokens in the top_p probability mass.",
    )
    max_tokens: int | None = Field(
        default=None, gt=0, description="Maximum number of tokens to generate."
    )
    stop: str | list[str] | None = Field(
        default=None,
        description='Stop generating at this string (or any of a JSON list: \'["a", "b"]\').',
    )
    seed: int | None = Field(
        default=None, description="Integer seed, for servers that sample deterministically."
    )
    frequency_penalty: float | None = Field(
        default=None,
        ge=-2,
        le=2,
        description="-2 to 2: positive values penalize tokens by how often they already appear.",
    )
    presence_penalty: float | None = Field(
        default=None,
        ge=-2,
        le=2,
        description="-2 to 2: positive values penalize tokens that already appear at all.",
    )
    reasoning_effort: Literal["none", "minimal", "low", "medium", "high", "xhigh"] | None = Field(
        default=None,
        description="How hard a reasoning model thinks: none, minimal, low, medium, high, xhigh.",
    )
    prompt_cache_retention: Literal["in_memory", "24h"] | None = Field(
        default=None,
        description="How long the server keeps this prompt's cache: in_memory or 24h.",
    )
    reasoning_summary: Literal["auto", "concise", "detailed"] | None = Field(
        default=None,
        description="Ask a reasoning model for a summary of its thinking (responses shape).",
    )
    verbosity: Literal["low", "medium", "high"] | None = Field(
        default=None, description="How long and detailed the answer should be: low, medium, high."
    )
    service_tier: Literal["auto", "default", "flex", "priority"] | None = Field(
        default=None, description="Processing tier, where the server offers several (OpenAI)."
    )
    logprobs: bool | None = Field(
        default=None,
        description="Return the log probability of each output token (in response_json).",
    )
    top_logprobs: int | None = Field(
        default=None, ge=0, le=20,
        description="0 to 20: also return this many most likely tokens at each position.",
    )
    logit_bias: dict[str, float] | None = Field(
        default=None,
        description='Token id to bias, -100 to 100, as a JSON object: \'{"1234": -100}\'.',
    )
    parallel_tool_calls: bool | None = Field(
        default=None, description="Whether the model may call several tools at once."
    )
    image_detail: Literal["auto", "low", "high"] | None = Field(
        default=None, description="Resolution the model looks at images with: auto, low, high."
    )
    timeout: float | None = Field(
        default=None, gt=0,
        description="Seconds to wait for the server (connect and each read), for this prompt.",
    )
    deadline: float | None = Field(
        default=None, gt=0,
        description=(
            "Seconds the whole prompt may take, retries and fallbacks included (over the "
            "provider's deadlineMs)."
        ),
    )
    max_retries: int | None = Field(
        default=None, ge=0, le=10,
        description="How often to retry a failed request (0 to 10), for this prompt.",
    )
    json_object: bool | None = Field(
        default=None, description="Ask for any JSON object as output (response_format json_object)."
    )
    extra_body: dict[str, Any] | None = Field(
        default=None,
        description=(
            "A JSON object merged into the request body, for vendor parameters such as "
            '\'{"top_k": 20, "chat_template_kwargs": {"enable_thinking": false}}\'.'
        ),
    )

    @field_validator("stop", mode="before")
    @classmethod
    def _stop_list(cls, value: Any) -> Any:
        # `[INST]` is a stop string; `["a",` is a JSON list gone wrong, never sent as a string.
        if isinstance(value, str) and re.match(r'\s*\[\s*("|\])', value):
            try:
                parsed = json.loads(value)
            except (ValueError, RecursionError):
                parsed = None
            if isinstance(parsed, list) and all(isinstance(v, str) for v in parsed):
                return parsed
            raise ValueError(
                "stop looks like a JSON list but is not a valid list of strings; "
                """write it as -o stop '["a", "b"]', or give one stop string"""
            )
        return value

    @field_validator("logit_bias", mode="before")
    @classmethod
    def _logit_bias_object(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except (ValueError, RecursionError):
                raise ValueError(
                    """logit_bias must be a JSON object of token ids, e.g. '{"1234": -100}'"""
                ) from None
        if isinstance(value, dict) and any(
            not isinstance(v, int | float) or isinstance(v, bool) or not -100 <= v <= 100
            for v in value.values()
        ):
            raise ValueError("logit_bias values must be numbers from -100 to 100")
        return value

    @field_validator("extra_body", mode="before")
    @classmethod
    def _extra_body_object(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError as exc:
                raise ValueError(f"extra_body must be a JSON object ({exc.msg})") from None
            except RecursionError:
                raise ValueError("extra_body is nested too deeply to be a JSON object") from None
        if value is not None and not isinstance(value, dict):
            raise ValueError("extra_body must be a JSON object, e.g. '{\"top_k\": 20}'")
        owned = [k for k in _OWNED_BODY_KEYS if value and k in value]
        if owned:
            raise ValueError(f"extra_body may not set {', '.join(owned)}: the plugin sets them")
        return value


def _attachment_types(capabilities: Mapping[str, Any]) -> frozenset[str]:
    types: set[str] = set()
    if capabilities.get("images", True) is not False:
        types |= IMAGE_TYPES
    if capabilities.get("audio") is True:
        types |= AUDIO_TYPES
    if capabilities.get("pdf") is True:
        types |= PDF_TYPES
    if capabilities.get("video") is True:
        types |= VIDEO_TYPES
    return frozenset(types)


def _for_llm(error: Any, provider_id: str) -> Any:
    """The error with the fix an llm user types: the `add` flag that points at another key."""
    from .. import MissingKey, Unauthorized

    flags = (
        f"`llm openai-compat add {provider_id} --key-env VAR` "
        "(or --key-llm NAME, --key-keyring NAME)"
    )
    if isinstance(error, Unauthorized) and error.status != 403:
        return error.with_hint(f"The key was refused: store the right one, or point at another "
                               f"with {flags}")
    if isinstance(error, MissingKey) and error.hint:
        return error.with_hint(f"{error.hint}, or point at another key with {flags}")
    return error


class _Shared:
    """What the sync and async models share: identity, capabilities, key handling."""

    # Defaults for a provider never probed: what most OpenAI-compatible servers do.
    can_stream: bool = True
    supports_tools: bool = True
    supports_schema: bool = True
    attachment_types: set[str] | frozenset[str] = IMAGE_TYPES
    needs_key: str | None = None
    key_env_var: str | None = None
    key: str | None = None
    model_id: str

    def __init__(
        self, provider_id: str, model_name: str, provider: ProviderSettings, settings: Settings
    ) -> None:
        # The parse of the settings file llm made this model from: its requests go where it
        # said, as its capabilities above do (llm makes models anew for every command and
        # `llm.get_model`); a prompt then costs no stat of the file.
        self._settings = settings
        self.model_id = f"{provider_id}/{model_name}"
        self.provider_id = provider_id
        self.model_name = model_name
        self.shape = provider.api_shape
        # The provider's probe, overridden by what the server published about this model.
        self._provider_caps = provider.capabilities  # kept apart: a refusal names its source
        self._model_caps = provider.own_capabilities(model_name)
        self.capabilities: dict[str, Any] = {**self._provider_caps, **self._model_caps}
        caps = self.capabilities
        self.can_stream = caps.get("streaming", True) is not False
        self.supports_tools = caps.get("tools", True) is not False
        self.supports_schema = (
            caps.get("jsonSchema", True) is not False or caps.get("jsonObject", True) is not False
        )
        self.attachment_types = _attachment_types(caps)
        self.refreshes = provider.refresh_hours is not None
        # The RequestOptions of a prompt with no option, tool or schema, per `stream`
        # (`_prepare`); frozen, and shared with the twin, whose are the same.
        self._plain_options: dict[bool, RequestOptions] = {}
        self._plan: _Plan | None = None  # this model's client, and what it was made from
        ref = provider.api_key_ref
        # Shown by `llm models --options`; the key itself is resolved by the core per request.
        if ref is not None and ref.kind == "llm":
            self.needs_key = ref.name
        if ref is not None and ref.kind == "env":
            self.key_env_var = ref.name

    @classmethod
    def twin(cls, other: _Shared) -> Self:
        """The same model as the other kind (sync or async): what `__init__` worked out for
        it, copied (`llm models` makes a pair for every model of every provider)."""
        model = cls.__new__(cls)
        model.__dict__.update(other.__dict__)
        return model

    def __str__(self) -> str:
        return f"OpenAI-compatible: {self.model_id}"

    @property
    def supported_server_side_tools(self) -> tuple[type[llm.ServerSideTool], ...]:
        """Raw built-in tool specs (`ServerSideTool({"type": "web_search"})`) are sent as
        given, unless the provider's capabilities say it has no tools at all."""
        return (llm.ServerSideTool,) if self.supports_tools else ()

    def get_key(self, explicit_key: str | None = None) -> str | None:
        """Only `--key` (a key or the name of one stored with `llm keys set`) or `model.key` is
        resolved here; otherwise None, and the core reads the provider's apiKeyRef, which
        never falls back to another provider's key."""
        if self.key:
            return self.key
        if explicit_key:
            return llm.get_key(explicit_key=explicit_key)
        return None

    def _refresh_if_stale(self) -> None:
        """`refreshHours`: a stale model list is listed anew beside this prompt."""
        from .. import load_settings
        from .refresh import refresh_in_background

        current = load_settings().providers.get(self.provider_id)
        if current is not None:
            refresh_in_background(self.provider_id, current)

    def _because(self, capability: str) -> str:
        """Which stored result turned `capability` off, and how to re-test or override it."""
        from .. import capability_cause

        return capability_cause(
            self.provider_id, self.model_name, capability, self._provider_caps, self._model_caps
        )

    def _refused(self, opts: Any) -> str | None:
        """Why this model cannot take one of the options given (its capabilities, or its
        wire shape, rule it out), or None: said before anything is sent."""
        caps = self.capabilities
        given = {n for n in ("reasoning_effort", "reasoning_summary", "parallel_tool_calls",
                             "image_detail") if getattr(opts, n, None) is not None}
        if "reasoning_summary" in given and self.shape != "responses":
            return "-o reasoning_summary needs the responses API shape (apiShape: responses)"
        for name in sorted(given & {"reasoning_effort", "reasoning_summary"}):
            if caps.get("reasoning") is False:
                return f"-o {name} is not offered: this model does not reason; {self._because('reasoning')}"
        if "parallel_tool_calls" in given and caps.get("tools") is False:
            return (
                "-o parallel_tool_calls is not offered: this model does not take tools; "
                + self._because("tools")
            )
        if "image_detail" in given and caps.get("images") is False:
            return (
                "-o image_detail is not offered: this model does not take images; "
                + self._because("images")
            )
        return None

    def _check_request(self, schema: Any, tools: Any) -> None:
        """llm's own check of a schema or tools, made first so the refusal names its cause
        (llm's would say only "does not support schemas"). A ValueError, as llm raises."""
        if schema and not self.supports_schema:
            cause = self._because("jsonSchema")
            raise ValueError(f"{self.model_id} does not support schemas: {cause}")
        functions = [t for t in tools or () if not isinstance(t, llm.ServerSideTool)]
        if functions and not self.supports_tools:
            raise ValueError(f"{self.model_id} does not support tools: {self._because('tools')}")

    def _validate_attachments(self, attachments: Any = None) -> None:
        """llm's attachment check, with the cause of a refusal and how to change it."""
        for attachment in attachments or ():
            kind = attachment.resolve_type()
            if kind in self.attachment_types:
                continue
            family = next(
                (name for name, types in (("images", IMAGE_TYPES), ("audio", AUDIO_TYPES),
                                          ("pdf", PDF_TYPES)) if kind in types),
                None,
            )
            takes = ", ".join(sorted(self.attachment_types)) or "no attachments"
            cause = self._because(family) if family else f"it takes {takes}"
            raise ValueError(f"{self.model_id} does not support attachments of type '{kind}': {cause}")

    def _client(
        self, parts: _PromptParts, key: str | None, opts: Any, given: bool, kind: type[Any]
    ) -> Any:
        """This prompt's client (`kind`: Client or AsyncClient), for the provider as the
        settings file this model was made from has it. A prompt with no `--key`, `-o timeout`,
        `-o max_retries` or `-o deadline` gets the one the last such prompt got, while the
        runtime is the same; the others get their own."""
        runtime = parts.default_runtime()
        plain = key is None and not (given and _given_client_options(opts))
        plan = self._plan
        if plain and plan is not None and plan.runtime is runtime:
            return plan.client
        client = kind(
            parts.resolve_provider(
                self.provider_id, settings=self._settings, **self._client_args(key, opts)
            ),
            deadline=getattr(opts, "deadline", None),
        )
        if plain:
            self._plan = _Plan(runtime, client)
        return client

    def _client_args(self, key: str | None, opts: Any) -> dict[str, Any]:
        """Per-prompt `-o timeout` and `-o max_retries`, over the provider's settings."""
        overrides: dict[str, Any] = {}
        timeout = getattr(opts, "timeout", None)
        if timeout is not None:
            overrides["timeout_ms"] = max(1, round(timeout * 1000))
        retries = getattr(opts, "max_retries", None)
        if retries is not None:
            overrides["max_retries"] = retries
        return {"api_key": key, **overrides}

    def _report(self, watch: AnswerWatch, prompt: Any, response: Any, stream: bool) -> None:
        finish = (getattr(response, "response_json", None) or {}).get("finish_reason")
        watch.report(
            self.model_id, finish_reason=finish, tools=bool(getattr(prompt, "tools", None)),
            stream=stream,
        )

    def _prepare(
        self, parts: _PromptParts, prompt: Any, stream: bool, response: Any, conversation: Any
    ) -> tuple[Any, Any, EventTranslator, bool]:
        """The conversation, the request options and the translator of a prompt, and
        whether its options set anything."""
        build_options = parts.build_options
        if self.refreshes:
            self._refresh_if_stale()
        given = _given(prompt.options)
        plain = not (given or prompt.schema or prompt.tools)
        options = self._plain_options.get(stream) if plain else None
        if options is None:
            refused = self._refused(prompt.options)
            if refused:
                raise llm.ModelError(f"{self.model_id}: {refused}")
            options = build_options(self.model_name, prompt, stream)
            if plain:
                # No option, tool or schema: the same request options every time, built once.
                self._plain_options[stream] = options
        converted = parts.build_conversation(prompt, getattr(conversation, "id", None))
        return (
            converted,
            options,
            parts.EventTranslator(response, self.provider_id, self.shape, self.model_name),
            given,
        )


class _Plan:
    """A model's client, and the runtime it was made in."""

    __slots__ = ("client", "runtime")

    def __init__(self, runtime: Any, client: Any) -> None:
        self.runtime, self.client = runtime, client

    def __repr__(self) -> str:
        return f"_Plan({self.client!r})"


def _given_client_options(options: Any) -> bool:
    """Whether a prompt's options shape its client (`_client_args`, the deadline)."""
    return any(getattr(options, name, None) is not None for name in _CLIENT_OPTIONS)


_CLIENT_OPTIONS = ("timeout", "max_retries", "deadline")


class _PromptParts:
    """What a prompt needs beyond llm: the core's clients and the conversion layer. Imported
    on the first prompt, not at registration (`llm models` never loads them), then kept
    (`_parts`): an import statement in a function costs a lookup in importlib's own Python
    code on every prompt."""

    def __init__(self) -> None:
        from .. import AsyncClient, Client, OpenAICompatError, default_runtime, resolve_provider
        from .convert import EventTranslator, build_conversation, build_options

        self.Client, self.AsyncClient = Client, AsyncClient
        self.OpenAICompatError = OpenAICompatError
        self.resolve_provider = resolve_provider
        self.default_runtime = default_runtime
        self.EventTranslator = EventTranslator
        self.build_conversation = build_conversation
        self.build_options = build_options


@functools.cache
def _parts() -> _PromptParts:
    return _PromptParts()


def _given(options: Any) -> bool:
    """Whether a prompt's llm options set anything (pydantic keeps the values in
    `__dict__`; anything else counts as set)."""
    values = getattr(options, "__dict__", None)
    if not isinstance(values, dict):
        return True
    return list(values.values()).count(None) != len(values)  # in C, not a generator


def _check_first(conversation: Any, kwargs: Mapping[str, Any]) -> None:
    check = getattr(conversation.model, "_check_request", None)  # the model may be reassigned
    if check is not None:
        check(kwargs.get("schema"), kwargs.get("tools") or conversation.tools)


class _ChecksFirst:
    """Mixin: the conversation's schema and tools are checked by the model first
    (`_check_request`), so a refusal comes before llm sends anything."""

    def prompt(self, *args: Any, **kwargs: Any) -> Any:
        _check_first(self, kwargs)
        return super().prompt(*args, **kwargs)  # type: ignore[misc]

    def chain(self, *args: Any, **kwargs: Any) -> Any:
        _check_first(self, kwargs)
        return super().chain(*args, **kwargs)  # type: ignore[misc]


class _CheckedConversation(_ChecksFirst, llm.Conversation):
    """An llm `Conversation` checked first."""


class _CheckedAsyncConversation(_ChecksFirst, llm.AsyncConversation):
    """The async twin of `_CheckedConversation`."""


def _checked(conversation: Any, cls: type[Any]) -> Any:
    """The same conversation (every field kept) as the checking class."""
    import dataclasses

    fields = {f.name: getattr(conversation, f.name) for f in dataclasses.fields(conversation) if f.init}
    return cls(**fields)


class OpenAICompatModel(_Shared, llm.KeyModel):
    # One shared class: llm types Options as its own nested class, which every plugin replaces.
    Options = OpenAICompatOptions  # type: ignore[assignment]

    def conversation(self, *args: Any, **kwargs: Any) -> Any:
        return _checked(super().conversation(*args, **kwargs), _CheckedConversation)

    def prompt(self, *args: Any, **kwargs: Any) -> Any:
        self._check_request(kwargs.get("schema"), kwargs.get("tools"))
        return super().prompt(*args, **kwargs)

    def execute(
        self,
        prompt: Any,
        stream: bool,
        response: Any,
        conversation: Any = None,
        key: str | None = None,
    ) -> Iterator[StreamEvent]:
        parts = _parts()
        converted, options, translator, given = self._prepare(
            parts, prompt, stream, response, conversation
        )
        watch = AnswerWatch()
        try:
            try:
                client = self._client(parts, key, prompt.options, given, parts.Client)
            finally:
                del key  # no frame of the call keeps the raw key (tracebacks with locals)
            # One read of the network, one batch: text pieces that arrived together are joined
            # (`coalesce`), so llm keeps and prints one chunk per read, not one per token.
            for batch in client.stream_reads(converted, options):
                for event in batch:
                    for out in translator.translate(event):
                        yield watch.see(out)
        except parts.OpenAICompatError as error:
            raise llm.ModelError(str(_for_llm(error, self.provider_id))) from None
        yield from translator.finish()
        self._report(watch, prompt, response, stream)


class AsyncOpenAICompatModel(_Shared, llm.AsyncKeyModel):
    # One shared class: llm types Options as its own nested class, which every plugin replaces.
    Options = OpenAICompatOptions  # type: ignore[assignment]

    def conversation(self, *args: Any, **kwargs: Any) -> Any:
        return _checked(super().conversation(*args, **kwargs), _CheckedAsyncConversation)

    def prompt(self, *args: Any, **kwargs: Any) -> Any:
        self._check_request(kwargs.get("schema"), kwargs.get("tools"))
        return super().prompt(*args, **kwargs)

    async def execute(  # type: ignore[override]
        self,
        prompt: Any,
        stream: bool,
        response: Any,
        conversation: Any = None,
        key: str | None = None,
    ) -> AsyncIterator[StreamEvent]:
        parts = _parts()
        converted, options, translator, given = self._prepare(
            parts, prompt, stream, response, conversation
        )
        watch = AnswerWatch()
        try:
            try:
                client = self._client(parts, key, prompt.options, given, parts.AsyncClient)
            finally:
                del key  # no frame of the call keeps the raw key (tracebacks with locals)
            async for batch in client.stream_reads(converted, options):
                for event in batch:
                    for out in translator.translate(event):
                        yield watch.see(out)
        except parts.OpenAICompatError as error:
            raise llm.ModelError(str(_for_llm(error, self.provider_id))) from None
        for out in translator.finish():
            yield out
        self._report(watch, prompt, response, stream)


def model_pair(
    provider_id: str, model_name: str, provider: ProviderSettings, settings: Settings
) -> tuple[OpenAICompatModel, AsyncOpenAICompatModel]:
    """The sync and async models of one model of a provider of `settings` (the parse of the
    settings file llm's registration read)."""
    model = OpenAICompatModel(provider_id, model_name, provider, settings)
    return model, AsyncOpenAICompatModel.twin(model)
