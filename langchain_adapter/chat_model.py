"""`ChatOpenAICompat`: a LangChain chat model for any OpenAI-compatible server.

Thin on purpose: it turns its fields and call options into the core's `RequestOptions`, its
messages into a `Conversation` (`convert.py`), and the core's events back into
`AIMessageChunk`s (`convert.ChunkBuilder`). Invoke and stream, sync and async, all go through
that one path; async runs on the core's `AsyncClient`, never in a thread pool.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Iterator, Mapping, Sequence
from contextlib import aclosing, closing
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LangSmithParams, LanguageModelInput
from langchain_core.language_models.chat_models import generate_from_stream
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from pydantic import (
    ConfigDict,
    PrivateAttr,
    SecretStr,
    field_serializer,
    model_validator,
)

from llm_openai_compat import (
    OPTION_PARAMS,
    AsyncClient,
    Client,
    ConfigError,
    ProviderSettings,
    RequestOptions,
    Secret,
    Target,
    get_profile,
    load_settings,
    merge_params,
    resolve_provider,
    validate_params,
)
from llm_openai_compat import settings_path as default_settings_path

from .convert import ChunkBuilder, to_conversation, to_response_format, to_tool_specs
from .errors import translated_errors
from .structured import (
    Method,
    ToolChoice,
    ToolLike,
    bind_tools,
    tool_choice_for,
    with_structured_output,
)

__all__ = ["ChatOpenAICompat"]

# Field -> the core's camelCase param name (the core's one table; `stop` is LangChain's own
# argument; `parallel_tool_calls` is handled on its own). Each may also be given per call; an
# entry without a field here (added for llm's `-o`) is a per-call option only.
_PARAMS = {
    field: camel
    for field, camel in OPTION_PARAMS.items()
    if field not in ("stop", "parallel_tool_calls")
}
# Everything a call (invoke, stream, bind) may pass besides `stop`.
_CALL_OPTIONS = frozenset(
    {*_PARAMS, "model", "tools", "tool_choice", "parallel_tool_calls", "response_format",
     "extra_body", "stream_usage"}
)
_IGNORED = frozenset({"stream", "ls_structured_output_format"})  # consumed by LangChain itself


class ChatOpenAICompat(BaseChatModel):
    """A chat model for any server that speaks OpenAI's HTTP API.

    Configure it from the shared settings file, `ChatOpenAICompat(provider="ollama",
    model="llama3.2")` (with neither `provider` nor `base_url`, the file's active provider and
    model), or inline, `ChatOpenAICompat(base_url="http://localhost:8000/v1", model="m")`.
    Connection fields given with a provider override the file's values for this model only.
    """

    model_config = ConfigDict(extra="forbid")

    model: str | None = None
    """Model id; defaults to the settings file's active model, else the provider's first."""
    provider: str | None = None
    """A provider id from the settings file."""
    settings_path: str | None = None
    """Another settings file than the default (`$OPENAI_COMPAT_SETTINGS` or llm's directory)."""
    base_url: str | None = None
    """The server's base URL, for a provider given inline (instead of `provider`)."""
    api_key: SecretStr | None = None
    """The key, sent as `Authorization: Bearer` (or `api-key` for Azure)."""
    api_key_ref: dict[str, str] | None = None
    """Where the key lives instead: `{"kind": "env" | "keyring" | "llm", "name": ...}`,
    resolved when a request is sent."""
    vendor_profile: str | None = None
    """The vendor profile by name (`openai`, `azure`, `deepseek`, `ollama`, `llamacpp`, ...):
    how keys are sent, `max_tokens` or `max_completion_tokens`, which quirks to expect. None
    means the provider's setting, else the one the base URL suggests, else `default`.
    `profile="azure"` (a string) means the same; `profile` itself stays LangChain's
    `ModelProfile` (a dict of the model's limits and features)."""
    api_shape: Literal["chat-completions", "responses"] | None = None
    """The wire shape; None means the provider's setting (default chat-completions). Requests
    go to `/responses` only when this (or the provider) says so."""
    headers: dict[str, str] | None = None
    """Extra request headers (not for keys)."""
    timeout: float | None = None
    """Read timeout in seconds."""
    max_retries: int | None = None
    """Retries after the first attempt on transient failures (default 5)."""
    temperature: float | None = None
    max_tokens: int | None = None
    """Sent as the server's own field: `max_tokens` unless the profile says otherwise."""
    top_p: float | None = None
    stop: list[str] | None = None
    """Stop sequences. The Responses API has no such field, so there they are applied to the
    streamed text here."""
    seed: int | None = None
    frequency_penalty: float | None = None
    presence_penalty: float | None = None
    reasoning_effort: str | None = None
    default_params: dict[str, Any] | None = None
    """More request params by their camelCase names (see the README), under the fields above."""
    extra_body: dict[str, Any] | None = None
    """Vendor fields sent untouched, merged over the body (`top_k`, `chat_template_kwargs`...)."""
    streaming: bool = False
    """Stream even for `invoke`."""
    stream_usage: bool = True
    """Ask for usage when streaming (`stream_options`); servers that reject it are retried
    once without it, and remembered."""

    _resolved: Target = PrivateAttr()
    _client: Client | None = PrivateAttr(default=None)
    _async_client: AsyncClient | None = PrivateAttr(default=None)
    _ls_provider: str = PrivateAttr()

    # -- configuration ---------------------------------------------------------------------

    @model_validator(mode="before")
    @classmethod
    def _vendor_profile_shorthand(cls, data: Any) -> Any:
        """`profile="azure"`: a string is never a LangChain `ModelProfile`, so it names the
        vendor profile, and `profile` is left to LangChain."""
        if isinstance(data, dict) and isinstance(data.get("profile"), str):
            data = dict(data)
            name = data.pop("profile")
            if data.get("vendor_profile") not in (None, name):
                raise ConfigError("give either profile or vendor_profile, not both",
                                  field="vendor_profile")
            data["vendor_profile"] = name
        return data

    @model_validator(mode="after")
    def _connect(self) -> ChatOpenAICompat:
        """Resolve the provider now, so a bad setting fails at construction with its name."""
        if self.provider and self.base_url:
            raise ConfigError("give either provider or base_url, not both", field="base_url")
        active = None
        if self.base_url:
            name = self.base_url
        else:
            settings = load_settings(Path(self.settings_path) if self.settings_path else None)
            active = settings.active
            name = self.provider or (active.provider if active else "")
            if not name:
                raise ConfigError(
                    "no provider, no base_url and no active provider in the settings file",
                    file=self.settings_path or str(default_settings_path()),
                    hint="Pass base_url=..., or add the provider with `llm openai-compat add`",
                )
        target = resolve_provider(name, settings_path=self.settings_path)
        if not self.base_url:
            self._ls_provider = target.id
            if self.model is None:
                pick = active.model if active and active.provider == target.id else None
                self.model = pick or (target.settings.models[0] if target.settings.models else None)
        if not self.model:
            raise ConfigError("no model given", provider=target.id, field="model",
                              hint="Pass model=... (or list models for the provider)")
        overrides = self._overrides(target.settings)
        if overrides:
            target = resolve_provider(name, settings_path=self.settings_path, **overrides)
        try:  # an unknown profile fails now, naming the known ones
            profile = get_profile(target.settings.profile, target.settings.base_url)
        except ConfigError as error:
            raise error.at(provider=target.id) from None
        if self.base_url:
            self._ls_provider = _inline_ls_provider(self.base_url, profile.name)
        validate_params(self._params({}, None), target.settings.api_shape, where="ChatOpenAICompat")
        self._resolved = target
        return self

    def _overrides(self, base: ProviderSettings) -> dict[str, Any]:
        """Connection fields set on this model, over the provider's."""
        out: dict[str, Any] = {}
        if self.api_shape is not None:
            out["api_shape"] = self.api_shape
        if self.api_key_ref is not None:
            out["api_key_ref"] = self.api_key_ref
        if self.vendor_profile is not None:
            out["profile"] = self.vendor_profile
        if self.headers:
            out["headers"] = {**base.headers, **self.headers}
        if self.timeout is not None:
            out["timeout_ms"] = max(1, round(self.timeout * 1000))
        if self.max_retries is not None:
            out["max_retries"] = self.max_retries
        if self.extra_body:
            out["extra_body"] = {**base.extra_body, **self.extra_body}
        return out

    @property
    def provider_id(self) -> str:
        """The id the core knows this provider by (the settings id, or host and path)."""
        return self._resolved.id

    def _target(self) -> Target:
        """The key is added at the first request, so it is only handed to the core when used."""
        if not self.api_key:
            return self._resolved
        return replace(self._resolved, api_key=Secret(self.api_key.get_secret_value()))

    def _sync(self) -> Client:
        if self._client is None:
            self._client = Client(self._target())
        return self._client

    def _async(self) -> AsyncClient:
        if self._async_client is None:
            self._async_client = AsyncClient(self._target())
        return self._async_client

    # -- LangChain metadata ----------------------------------------------------------------

    @property
    def _llm_type(self) -> str:
        return "openai-compat-chat"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        params = {field: getattr(self, field, None) for field in _PARAMS}
        return {
            "model": self.model,
            "provider": self._resolved.id,
            "api_shape": self._resolved.settings.api_shape,
            **({"profile": self._resolved.settings.profile} if self._resolved.settings.profile else {}),
            "stop": self.stop,
            **{k: v for k, v in params.items() if v is not None},
        }

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        params = LangSmithParams(
            ls_provider=self._ls_provider,
            ls_model_name=kwargs.get("model") or self.model or "",
            ls_model_type="chat",
        )
        temperature = kwargs.get("temperature", self.temperature)
        if temperature is not None:
            params["ls_temperature"] = temperature
        max_tokens = kwargs.get("max_tokens", self.max_tokens)
        if max_tokens is not None:
            params["ls_max_tokens"] = max_tokens
        if stop or self.stop:
            params["ls_stop"] = stop or self.stop
        return params

    @classmethod
    def is_lc_serializable(cls) -> bool:
        return True

    @classmethod
    def get_lc_namespace(cls) -> list[str]:
        return ["langchain_adapter", "chat_model"]

    @property
    def lc_secrets(self) -> dict[str, str]:
        return {"api_key": "OPENAI_COMPAT_API_KEY"}

    # -- what is shown, serialized or traced -------------------------------------------------
    # `repr`, `str`, `model_dump`, `dumpd`/`dumps`/`to_json` and the `serialized` argument of
    # `on_chat_model_start` (what LangSmith records) show the base URL without credentials or
    # query values and the headers without values: both may carry a key the project never
    # sees as one (`http://user:KEY@h/v1?key=KEY`, `X-Api-Key: KEY`). `api_key` is a secret.

    @property
    def lc_attributes(self) -> dict[str, Any]:
        return _shown_fields(self.base_url, self.headers)

    def __repr_args__(self) -> Any:
        shown = _shown_fields(self.base_url, self.headers)
        for name, value in super().__repr_args__():
            yield name, shown.get(name, value) if name else value

    @field_serializer("base_url", "headers")
    def _serialize_masked(self, value: Any, info: Any) -> Any:
        return _shown_fields(self.base_url, self.headers).get(info.field_name, value)

    # -- one call ----------------------------------------------------------------------------

    def _params(self, call: Mapping[str, Any], stop: list[str] | None) -> dict[str, Any]:
        """camelCase params for the core (which applies `stop` itself where the wire shape
        has no such field)."""
        explicit = {
            camel: call.get(field, getattr(self, field, None)) for field, camel in _PARAMS.items()
        }
        if stop:
            explicit["stop"] = stop
        given = {k: v for k, v in explicit.items() if v is not None and v != []}
        if call.get("parallel_tool_calls") is not None:
            given["parallelToolCalls"] = call["parallel_tool_calls"]
        return merge_params(self.default_params, given)

    def _options(self, stop: list[str] | None, call: Mapping[str, Any], *, stream: bool) -> RequestOptions:
        unknown = set(call) - _CALL_OPTIONS - _IGNORED
        if unknown:
            raise TypeError(
                f"ChatOpenAICompat got unexpected call options {sorted(unknown)}; vendor fields "
                "go in extra_body={...}, request params in default_params={...}"
            )
        tools = to_tool_specs(call.get("tools") or ())
        return RequestOptions(
            model=call.get("model") or self.model or "",
            stream=stream,
            tools=tools,
            tool_choice=tool_choice_for(call.get("tool_choice"), [t.name for t in tools]),
            response_format=to_response_format(call.get("response_format")),
            params=self._params(call, stop if stop is not None else self.stop),
            extra_body=call.get("extra_body") or {},
            include_usage=call.get("stream_usage", self.stream_usage),
        )

    def _builder(self, options: RequestOptions) -> ChunkBuilder:
        return ChunkBuilder(options.model, v1=self.output_version == "v1")

    def _run(self, messages: list[BaseMessage], stop: list[str] | None, call: Mapping[str, Any],
             *, stream: bool) -> Iterator[ChatGenerationChunk]:
        options = self._options(stop, call, stream=stream)
        builder = self._builder(options)
        events = self._sync().stream(to_conversation(messages), options)
        with closing(events), translated_errors():
            for event in events:
                chunk = builder.feed(event)
                if chunk is not None:
                    yield chunk

    async def _arun(self, messages: list[BaseMessage], stop: list[str] | None,
                    call: Mapping[str, Any], *, stream: bool) -> AsyncGenerator[ChatGenerationChunk, None]:
        options = self._options(stop, call, stream=stream)
        builder = self._builder(options)
        events = self._async().stream(to_conversation(messages), options)
        # aclosing: an abandoned or cancelled stream closes the HTTP response at once.
        async with aclosing(events):
            with translated_errors():
                async for event in events:
                    chunk = builder.feed(event)
                    if chunk is not None:
                        yield chunk

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        return generate_from_stream(self._run(messages, stop, kwargs, stream=False))

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None,
                **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        yield from self._run(messages, stop, kwargs, stream=True)

    async def _agenerate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                         run_manager: AsyncCallbackManagerForLLMRun | None = None,
                         **kwargs: Any) -> ChatResult:
        chunks = [c async for c in self._arun(messages, stop, kwargs, stream=False)]
        return generate_from_stream(iter(chunks))  # merging is cheap: no executor hop

    async def _astream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                       run_manager: AsyncCallbackManagerForLLMRun | None = None,
                       **kwargs: Any) -> AsyncIterator[ChatGenerationChunk]:
        async with aclosing(self._arun(messages, stop, kwargs, stream=True)) as chunks:
            async for chunk in chunks:
                yield chunk

    # -- tools and structured output -----------------------------------------------------------

    def bind_tools(
        self,
        tools: Sequence[ToolLike],
        *,
        tool_choice: ToolChoice = None,
        strict: bool | None = None,
        parallel_tool_calls: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools (LangChain tools, functions, Pydantic/TypedDict classes, OpenAI or JSON
        schema dicts). `tool_choice`: "auto", "none", "any"/"required"/True (must call one),
        or a tool's name. `kwargs` are other call options (model, temperature, ...)."""
        unknown = set(kwargs) - _CALL_OPTIONS - _IGNORED
        if unknown:
            raise TypeError(f"bind_tools got unexpected options {sorted(unknown)}")
        return bind_tools(self, tools, tool_choice=tool_choice, strict=strict,
                          parallel_tool_calls=parallel_tool_calls, bound=kwargs)

    def with_structured_output(
        self,
        schema: dict[str, Any] | type,
        *,
        method: Method = "function_calling",
        include_raw: bool = False,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, dict[str, Any] | Any]:
        """Answers as `schema` (Pydantic class -> instance; TypedDict or JSON schema -> dict).

        `method="function_calling"` (the default) forces a tool call, which works on servers
        without `response_format: json_schema` support; `"json_schema"` uses that support;
        `"json_mode"` asks for any JSON object (say in the prompt which keys you want).
        """
        if kwargs:
            raise TypeError(f"with_structured_output got unexpected options {sorted(kwargs)}")
        return with_structured_output(self, schema, method=method, include_raw=include_raw,
                                      strict=strict)


def _shown_fields(base_url: str | None, headers: Mapping[str, str] | None) -> dict[str, Any]:
    """`base_url` and `headers` as they may be shown (see "what is shown" above)."""
    out: dict[str, Any] = {}
    if base_url is not None:
        out["base_url"] = _shown_url(base_url)
    if headers is not None:
        out["headers"] = {name: "**********" for name in headers}
    return out


def _shown_url(url: str) -> str:
    """The URL without `user:password@` and with every query value masked."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc.rpartition("@")[2]
        if "@" in parts.netloc:
            netloc = "**********@" + netloc
        query = "&".join(
            f"{item.partition('=')[0]}=**********" if "=" in item else item
            for item in parts.query.split("&")
        ) if parts.query else ""
        return urlunsplit((parts.scheme, netloc, parts.path, query, ""))
    except ValueError:  # not a URL at all: nothing of it is shown
        return "**********"


def _inline_ls_provider(base_url: str, profile: str) -> str:
    """For tracing: the vendor when the profile (given, or detected from the URL) says which
    (deepseek, groq, ...), else the host."""
    return profile if profile != "default" else urlsplit(base_url).hostname or "openai-compatible"
