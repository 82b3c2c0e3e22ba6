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
from typing import Any, Literal
from urllib.parse import urlencode, urlsplit, urlunsplit

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LangSmithParams, LanguageModelInput
from langchain_core.language_models.chat_models import generate_from_stream
from langchain_core.language_models.model_profile import ModelProfile
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.messages.utils import count_tokens_approximately
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from pydantic import (
    ConfigDict,
    Field,
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
    Conversation,
    ProviderSettings,
    RequestOptions,
    Runtime,
    Secret,
    Target,
    merge_params,
    named_or_active,
    resolve_provider,
    validate_params,
)

from .convert import (
    ChunkBuilder,
    as_responses_message,
    is_server_tool,
    to_conversation,
    to_response_format,
    to_tool_specs,
)
from .errors import translated_errors
from .held_clients import HeldClients
from .structured import (
    Method,
    ToolChoice,
    ToolLike,
    bind_tools,
    tool_choice_for,
    with_structured_output,
)

__all__ = ["ChatOpenAICompat"]

# Field -> the core's camelCase param name (the core's one table, ChatOpenAI's names). `stop`
# is LangChain's own argument, `metadata` is LangChain's run metadata, and `logprobs` is read
# with `top_logprobs`. Each may also be given per call.
_PARAMS = {
    field: camel for field, camel in OPTION_PARAMS.items()
    if field not in ("stop", "metadata", "user", "logprobs", "parallel_tool_calls")
}
# Everything a call (invoke, stream, bind) may pass besides `stop`.
_CALL_OPTIONS = frozenset(
    {*_PARAMS, "model", "tools", "tool_choice", "parallel_tool_calls", "response_format",
     "extra_body", "stream_usage", "logprobs", "top_logprobs", "reasoning", "model_kwargs",
     "conversation_id", "system_message_mode", "max_retries", "prompt_cache_key",
     "include_response_headers", "deadline"}
)
_IGNORED = frozenset({"stream", "ls_structured_output_format"})  # consumed by LangChain itself

# ChatOpenAI's other names for fields of this class.
_ALIASES = {
    "model_name": "model",
    "openai_api_base": "base_url",
    "openai_api_key": "api_key",
    "max_completion_tokens": "max_tokens",
    "stop_sequences": "stop",
    "request_timeout": "timeout",
    "default_headers": "headers",
}
# ChatOpenAI fields that mean nothing here: why, and what to use instead (one line each).
_NOT_APPLICABLE = {
    "openai_organization": "an OpenAI account header; send it with headers={'OpenAI-Organization': ...}",
    "organization": "an OpenAI account header; send it with headers={'OpenAI-Organization': ...}",
    "openai_proxy": "proxies belong to the HTTP client; pass http_client=httpx2.Client(proxy=...)",
    "tiktoken_model_name": "token counts come from the server's tokenizer or LangChain's approximation",
    "disabled_params": "the core learns what a server rejects; drop the param instead",
    "async_client": "pass http_async_client=httpx2.AsyncClient(...) instead",
    "client": "pass http_client=httpx2.Client(...) instead",
    "root_client": "pass http_client=httpx2.Client(...) instead",
    "root_async_client": "pass http_async_client=httpx2.AsyncClient(...) instead",
    "azure_endpoint": "give the Azure URL as base_url with vendor_profile='azure'",
}

_OUTPUT_VERSIONS = frozenset({"v0", "v1", "responses/v1"})


class ChatOpenAICompat(HeldClients, BaseChatModel):
    """A chat model for any server that speaks OpenAI's HTTP API.

    Configure it from the shared settings file, `ChatOpenAICompat(provider="ollama",
    model="llama3.2")` (with neither `provider` nor `base_url`, the file's active provider and
    model), or inline, `ChatOpenAICompat(base_url="http://localhost:8000/v1", model="m")`.
    Connection fields given with a provider override the file's values for this model only.

    `output_version`: None or "v0" (text content), "v1" (LangChain's standard blocks), or
    "responses/v1" (ChatOpenAI's Responses-style blocks; implies the Responses API unless
    `use_responses_api` or `api_shape` is given).
    """

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

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
    deadline: float | None = Field(None, gt=0)
    """Seconds a whole call may take, retries, backoff and fallbacks included (over the
    provider's `deadlineMs`; a call's own `deadline=` wins). None: no total bound."""
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
    reasoning: dict[str, Any] | None = None
    """ChatOpenAI's reasoning dict: `{"effort": ..., "summary": ...}`."""
    logit_bias: dict[int, int] | None = None
    logprobs: bool | None = None
    """Return token log probabilities in `response_metadata["logprobs"]`."""
    top_logprobs: int | None = None
    n: int | None = None
    """Choices per call: several generations in one `ChatResult` (not when streaming)."""
    service_tier: str | None = None
    verbosity: str | None = None
    prompt_cache_retention: str | None = None
    """`in_memory` or `24h`, sent as the server's `prompt_cache_retention`."""
    store: bool | None = None
    truncation: str | None = None
    include: list[str] | None = None
    safety_identifier: str | None = None
    include_response_headers: bool = False
    """Put the response's HTTP headers (without cookies or credentials) in
    `response_metadata["headers"]`."""
    stream_granularity: Literal["read", "event"] = "read"
    """"read": what arrived in one network read becomes one chunk (text joined; nothing waits
    for more data), so LangChain's per-chunk cost is paid once per read; "event": one chunk
    per server event."""
    use_responses_api: bool | None = None
    """True sends to `/responses` (api_shape="responses"), False to `/chat/completions`."""
    model_kwargs: dict[str, Any] | None = None
    """Request params by ChatOpenAI's names; unknown names are sent as body fields."""
    default_query: dict[str, str] | None = None
    """Query parameters added to every request URL (Azure's `api-version`, ...)."""
    system_message_mode: Literal["system", "developer", "remove"] | None = None
    url_mode: Literal["auto", "verbatim"] | None = None
    verify_tls: bool | None = None
    model_params: dict[str, dict[str, Any]] | None = None
    """Per-model params by camelCase name, as in the settings file."""
    conversation_id: str | None = None
    """Sent (hashed) as `prompt_cache_key`; per run, the config's metadata `thread_id` or
    `session_id` is used when this is not given."""
    default_params: dict[str, Any] | None = None
    """More request params by their camelCase names (see the README), under the fields above."""
    extra_body: dict[str, Any] | None = None
    """Vendor fields sent untouched, merged over the body (`top_k`, `chat_template_kwargs`...)."""
    streaming: bool = False
    """Stream even for `invoke`."""
    stream_usage: bool = True
    """Ask for usage when streaming (`stream_options`); servers that reject it are retried
    once without it, and remembered."""
    http_client: Any = Field(default=None, exclude=True, repr=False)
    """An `httpx2.Client` you own, used as is for this model's sync requests (its transport,
    proxies, TLS settings, headers and event hooks apply; never closed here), with the same
    retries, breaker, redaction and errors as the core's own pools. An `httpx.Client` is
    refused: build it with httpx2 (same API)."""
    http_async_client: Any = Field(default=None, exclude=True, repr=False)
    """The same for async requests: an `httpx2.AsyncClient` you own."""
    runtime: Runtime | None = Field(default=None, exclude=True, repr=False)
    """The `Runtime` that owns connection pools, breakers and learned quirks (the process's
    default one when None); never serialized."""

    _resolved: Target = PrivateAttr()
    _client: Client | None = PrivateAttr(default=None)
    _async_client: AsyncClient | None = PrivateAttr(default=None)
    _ls_provider: str = PrivateAttr()
    _server_counts: bool = PrivateAttr(default=True)

    # -- configuration ---------------------------------------------------------------------

    @model_validator(mode="before")
    @classmethod
    def _chat_openai_names(cls, data: Any) -> Any:
        """ChatOpenAI's other field names, and a one-line refusal for what does not apply."""
        if not isinstance(data, dict):
            return data
        for name, why in _NOT_APPLICABLE.items():
            if data.get(name) is not None:
                raise ConfigError(f"ChatOpenAICompat does not take {name}: {why}", field=name)
        version = data.get("output_version")
        if version is not None and version not in _OUTPUT_VERSIONS:
            raise ConfigError(
                f"output_version {version!r} is unknown: use 'v0' (text content), 'v1' "
                "(LangChain's standard blocks) or 'responses/v1' (ChatOpenAI's Responses-style "
                "blocks)", field="output_version",
            )
        if any(alias in data for alias in _ALIASES):
            data = dict(data)
            for alias, name in _ALIASES.items():
                if alias in data:
                    value = data.pop(alias)
                    if data.get(name) not in (None, value):
                        raise ConfigError(f"give either {alias} or {name}, not both", field=name)
                    data[name] = value
        return data

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
            name = _with_query(self.base_url, self.default_query or {})
        else:
            name, active = named_or_active(
                self.provider, settings_path=self.settings_path, runtime=self._runtime()
            )
        target = resolve_provider(name, settings_path=self.settings_path, runtime=self._runtime())
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
            target = resolve_provider(
                name, settings_path=self.settings_path, runtime=self._runtime(), **overrides
            )
        try:  # an unknown profile fails now, naming the known ones
            profile = self._runtime().get_profile(target.settings.profile, target.settings.base_url)
        except ConfigError as error:
            raise error.at(provider=target.id) from None
        if self.base_url:
            self._ls_provider = _inline_ls_provider(self.base_url, profile.name)
        validate_params(self._params({}, None), target.settings.api_shape, where="ChatOpenAICompat")
        self._resolved = target
        self._bind_given_clients()
        if self.profile is None:
            self.profile = _model_profile(target.settings.capabilities_of(self.model))
        return self

    def _overrides(self, base: ProviderSettings) -> dict[str, Any]:
        """Connection fields set on this model, over the provider's."""
        out: dict[str, Any] = {}
        if self.api_shape is not None:
            out["api_shape"] = self.api_shape
        elif self.use_responses_api is not None:
            out["api_shape"] = "responses" if self.use_responses_api else "chat-completions"
        elif self.output_version == "responses/v1":  # as ChatOpenAI: it implies that API
            out["api_shape"] = "responses"
        for field in ("system_message_mode", "url_mode", "verify_tls"):
            if getattr(self, field) is not None:
                out[field] = getattr(self, field)
        if self.model_params:
            out["model_params"] = {**base.model_params, **self.model_params}
        if self.default_query and not self.base_url:
            out["base_url"] = _with_query(base.base_url, self.default_query)
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

    def _client_target(self) -> Target:
        return self._target()

    # -- LangChain metadata ----------------------------------------------------------------

    @property
    def _llm_type(self) -> str:
        return "openai-compat-chat"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        values = self.__dict__  # pydantic's field values: a getattr miss costs an exception
        params = {field: values.get(field) for field in _PARAMS}
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
        has no such field), from this model's fields, `model_kwargs` and the call's options."""
        values = self.__dict__  # pydantic's field values (`reasoning_summary` is only a call's)
        explicit: dict[str, Any] = {
            camel: call[field] if field in call else values.get(field)
            for field, camel in _PARAMS.items()
        }
        kwargs_params, _ = _split_model_kwargs(
            {**(self.model_kwargs or {}), **(call.get("model_kwargs") or {})}
        )
        for camel, value in kwargs_params.items():
            if explicit.get(camel) is None:
                explicit[camel] = value
        logprobs = call.get("logprobs", self.logprobs)
        top = call.get("top_logprobs", self.top_logprobs)
        if logprobs is not None:
            # The core's one `logprobs` param: true, false, or how many top logprobs.
            explicit["logprobs"] = top if logprobs and top else bool(logprobs)
        reasoning = call.get("reasoning", self.reasoning)
        if reasoning:
            if explicit.get("reasoningEffort") is None:
                explicit["reasoningEffort"] = reasoning.get("effort")
            explicit["reasoningSummary"] = reasoning.get("summary")
        if explicit.get("logitBias"):  # ChatOpenAI's int token ids; JSON keys are strings
            explicit["logitBias"] = {str(k): v for k, v in explicit["logitBias"].items()}
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
                "go in extra_body={...} or model_kwargs={...}"
            )
        if stream and (call.get("n") or self.n or 1) > 1:
            raise ValueError("ChatOpenAICompat streams only with n=1 (as ChatOpenAI); "
                             "use invoke/generate for n choices")
        tools = to_tool_specs(call.get("tools") or ())
        server_tools = tuple(dict(t) for t in call.get("tools") or () if is_server_tool(t))
        _, kwargs_body = _split_model_kwargs(
            {**(self.model_kwargs or {}), **(call.get("model_kwargs") or {})}
        )
        return RequestOptions(
            model=call.get("model") or self.model or "",
            stream=stream,
            tools=tools,
            tool_choice=tool_choice_for(call.get("tool_choice"), [t.name for t in tools]),
            response_format=to_response_format(call.get("response_format")),
            params=self._params(call, stop if stop is not None else self.stop),
            extra_body={**kwargs_body, **(call.get("extra_body") or {})},
            include_usage=call.get("stream_usage", self.stream_usage),
            system_message_mode=call.get("system_message_mode"),
            prompt_cache_key=call.get("prompt_cache_key"),
            server_tools=server_tools,
            include_headers=call.get("include_response_headers", self.include_response_headers),
            deadline=call.get("deadline"),
        )

    def _conversation(self, messages: list[BaseMessage], call: Mapping[str, Any],
                      run_manager: Any) -> Conversation:
        """The messages, with the id the prompt cache key is derived from: the call's or the
        model's `conversation_id`, else the run's `thread_id` / `session_id` metadata."""
        conversation = to_conversation(messages)
        metadata = getattr(run_manager, "metadata", None) or {}
        key = call.get("conversation_id") or self.conversation_id or next(
            (str(metadata[k]) for k in ("thread_id", "session_id") if metadata.get(k)), None
        )
        return replace(conversation, id=key) if key else conversation

    def _client_for(self, call: Mapping[str, Any], *, sync: bool) -> Client | AsyncClient:
        """The shared client, or a one-off one when the call sets its own `max_retries`."""
        retries = call.get("max_retries")
        if retries is None:
            return self._sync() if sync else self._async()
        target = self._target()
        settings = target.settings.model_copy(update={"max_retries": retries})
        if sync:
            return Client(replace(target, settings=settings), runtime=self._runtime(),
                          http_client=self.http_client, deadline=self.deadline)
        return AsyncClient(replace(target, settings=settings), runtime=self._runtime(),
                           http_client=self.http_async_client, deadline=self.deadline)

    def _builder(self, options: RequestOptions) -> ChunkBuilder:
        return ChunkBuilder(options.model, v1=self.output_version == "v1",
                            responses=self.output_version == "responses/v1")

    def _run(self, messages: list[BaseMessage], stop: list[str] | None, call: Mapping[str, Any],
             *, stream: bool, run_manager: Any = None,
             builders: list[ChunkBuilder] | None = None) -> Iterator[ChatGenerationChunk]:
        options = self._options(stop, call, stream=stream)
        builder = self._builder(options)
        if builders is not None:
            builders.append(builder)
        client = self._client_for(call, sync=True)
        assert isinstance(client, Client)
        conversation = self._conversation(messages, call, run_manager)
        if self.stream_granularity == "event":
            events = client.stream(conversation, options)
            with closing(events), translated_errors():
                for event in events:
                    chunk = builder.feed(event)
                    if chunk is not None:
                        yield chunk
            return
        batches = client.stream_reads(conversation, options)
        with closing(batches), translated_errors():
            for batch in batches:
                yield from builder.feed_batch(batch)

    async def _arun(self, messages: list[BaseMessage], stop: list[str] | None,
                    call: Mapping[str, Any], *, stream: bool, run_manager: Any = None,
                    builders: list[ChunkBuilder] | None = None,
                    ) -> AsyncGenerator[ChatGenerationChunk, None]:
        options = self._options(stop, call, stream=stream)
        builder = self._builder(options)
        if builders is not None:
            builders.append(builder)
        client = self._client_for(call, sync=False)
        assert isinstance(client, AsyncClient)
        conversation = self._conversation(messages, call, run_manager)
        if self.stream_granularity == "event":
            events = client.stream(conversation, options)
            # aclosing: an abandoned or cancelled stream closes the HTTP response at once.
            async with aclosing(events):
                with translated_errors():
                    async for event in events:
                        chunk = builder.feed(event)
                        if chunk is not None:
                            yield chunk
            return
        batches = client.stream_reads(conversation, options)
        async with aclosing(batches):
            with translated_errors():
                async for batch in batches:
                    for chunk in builder.feed_batch(batch):
                        yield chunk

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        builders: list[ChunkBuilder] = []
        result = generate_from_stream(
            self._run(messages, stop, kwargs, stream=False, run_manager=run_manager,
                      builders=builders)
        )
        return _with_other_choices(result, builders)

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None,
                **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        yield from self._run(messages, stop, kwargs, stream=True, run_manager=run_manager)

    async def _agenerate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                         run_manager: AsyncCallbackManagerForLLMRun | None = None,
                         **kwargs: Any) -> ChatResult:
        builders: list[ChunkBuilder] = []
        chunks = [c async for c in self._arun(messages, stop, kwargs, stream=False,
                                              run_manager=run_manager, builders=builders)]
        # merging is cheap: no executor hop
        return _with_other_choices(generate_from_stream(iter(chunks)), builders)

    async def _astream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                       run_manager: AsyncCallbackManagerForLLMRun | None = None,
                       **kwargs: Any) -> AsyncIterator[ChatGenerationChunk]:
        async with aclosing(self._arun(messages, stop, kwargs, stream=True,
                                       run_manager=run_manager)) as chunks:
            async for chunk in chunks:
                yield chunk

    # -- token counting --------------------------------------------------------------------------

    def get_num_tokens_from_messages(
        self, messages: list[BaseMessage], tools: Sequence[Any] | None = None
    ) -> int:
        """The server's tokenizer where it has one (vLLM's and llama.cpp's `/tokenize`, the
        Responses `input_tokens` endpoint), else LangChain's approximate counter (about four
        characters a token, plus per-message overhead): no `transformers` download, and
        `trim_messages(token_counter=model)` works. A server without a tokenizer is asked
        once per model object. Tool schemas are always estimated."""
        extra = count_tokens_approximately([], tools=list(tools)) if tools else 0
        if self._server_counts:
            with translated_errors():
                counted = self._sync().count_tokens(
                    self._conversation(messages, {}, None), self.model or ""
                )
            if counted is not None:
                return counted.tokens + extra
            self._server_counts = False
        return count_tokens_approximately(messages) + extra

    def get_num_tokens(self, text: str) -> int:
        """An estimate of `text`'s tokens: four characters a token, rounded up, as LangChain's
        approximate counter reckons message text."""
        return -(-len(text) // 4)

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


# Capability flags (the provider's probe, under what `add`, `models --refresh` and
# `test --model` stored for the model from its native listing or its own probe) -> LangChain's
# ModelProfile keys. A flag nobody stated stays out of the profile: unknown.
_PROFILE_FLAGS = {
    "tools": "tool_calling",
    "toolsStreamed": "tool_call_streaming",
    "jsonSchema": "structured_output",
    "images": "image_inputs",
    "audio": "audio_inputs",
    "pdf": "pdf_inputs",
    "video": "video_inputs",
    "reasoning": "reasoning_output",
}
_PROFILE_LIMITS = {
    "contextLength": "max_input_tokens",  # what native listings state (capabilities.py)
    "contextWindow": "max_input_tokens",
    "maxInputTokens": "max_input_tokens",
    "maxOutputTokens": "max_output_tokens",
}


def _model_profile(capabilities: Mapping[str, Any]) -> ModelProfile | None:
    """LangChain's `profile` from what is known about the model (None when nothing is)."""
    profile: dict[str, Any] = {}
    for flag, key in _PROFILE_FLAGS.items():
        if isinstance(capabilities.get(flag), bool):
            profile[key] = capabilities[flag]
    for flag, key in _PROFILE_LIMITS.items():
        value = capabilities.get(flag)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            profile[key] = value
    return ModelProfile(**profile) if profile else None  # type: ignore[typeddict-item]


def _with_other_choices(result: ChatResult, builders: list[ChunkBuilder]) -> ChatResult:
    """Choices 1.. of an `n` call, each built into a message the way choice 0 was."""
    others = builders[0].other_choices if builders else []
    if not others:
        return _finished(result, builders)
    generations = list(result.generations)
    for choice in sorted(others, key=lambda c: c.index):
        builder = builders[0].for_other_choice()
        chunks = [c for c in map(builder.feed, choice.events) if c is not None]
        if chunks:
            generations.extend(generate_from_stream(iter(chunks)).generations)
    return _finished(ChatResult(generations=generations, llm_output=result.llm_output), builders)


def _finished(result: ChatResult, builders: list[ChunkBuilder]) -> ChatResult:
    """Non-streamed `responses/v1` messages in ChatOpenAI's `invoke` form (see
    `convert.as_responses_message`)."""
    if builders and builders[0].responses:
        for generation in result.generations:
            as_responses_message(generation.message)
    return result


def _with_query(base_url: str, query: Mapping[str, str]) -> str:
    """`base_url` with `query` added (the core keeps a base URL's query on every request)."""
    parts = urlsplit(base_url)
    if not query:
        return base_url
    extra = urlencode(dict(query))
    return urlunsplit(parts._replace(query=f"{parts.query}&{extra}" if parts.query else extra))


def _split_model_kwargs(kwargs: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """ChatOpenAI's `model_kwargs`: names in the core's option table become params (so they
    are validated and mapped per shape); anything else is a body field sent as given."""
    params: dict[str, Any] = {}
    body: dict[str, Any] = {}
    for name, value in kwargs.items():
        if name in OPTION_PARAMS and name not in ("stop", "metadata"):
            params[OPTION_PARAMS[name]] = value
        else:
            body[name] = value
    return params, body


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
