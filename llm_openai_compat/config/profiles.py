"""Vendor quirks as data.

The wire code reads these fields and never asks which vendor it is talking to. A profile is
chosen by the provider's `profile` setting, else detected from the base URL, else `default`.
Third-party packages add profiles through the `openai_compat_profiles` pluggy hook; they are
loaded the first time a profile is looked up (at request time, never while llm starts).

The `default` profile is deliberately generous: it reads every usage/tool-call/error shape
known to be unambiguous, so an unknown server (or a gateway in front of a known one) works.
A vendor profile states its vendor's behaviour explicitly, and changes the default where the
generous reading would be wrong for that vendor (tests/config/test_vendor_profiles.py shows
each difference).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any, Literal

__all__ = [
    "ADAPTATIONS",
    "DEFAULT",
    "PROFILES",
    "Adaptation",
    "Profile",
    "builtin_profile",
    "detect_profile",
    "get_profile",
]


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    # Base URLs this profile is detected from (regular expressions, searched).
    url_patterns: tuple[str, ...] = ()
    # -- requests --
    system_role: Literal["system", "developer"] = "system"
    supports_developer_role: bool = True
    supports_stream_options: bool = True
    max_tokens_field: Literal["max_tokens", "max_completion_tokens"] = "max_tokens"
    supports_prompt_cache_key: bool = False
    supports_json_schema: bool = True
    supports_tools: bool = True
    supports_parallel_tool_calls: bool = True
    # Send `tool_choice: "auto"` when tools go out and the caller chose nothing (OpenAI's
    # default, which some servers only honour when it is explicit). False where the server
    # rejects "auto" (vLLM without --enable-auto-tool-choice): it is then never sent.
    supports_auto_tool_choice: bool = True
    # False where the server cannot stream a tool call it chose itself (llama-cpp-python's
    # chatml-function-calling fails such a stream): Chat Completions requests with tools and
    # choice "auto" are sent unstreamed, and the whole answer is delivered as events at once.
    stream_auto_tool_calls: bool = True
    # An assistant turn with only tool calls has `content: null` (OpenAI). False sends "" for
    # servers whose validation rejects null there (llama-cpp-python answers 500).
    null_tool_call_content: bool = True
    # Send earlier reasoning back as `reasoning_content` on assistant messages (DeepSeek's
    # tool-call turns require it; most servers ignore or reject it).
    replay_reasoning_field: str | None = None
    auth_header: Literal["bearer", "api-key"] = "bearer"
    # -- responses --
    # Delta/message fields that carry raw reasoning text, in the order they are looked for.
    reasoning_fields: tuple[str, ...] = ("reasoning_content", "reasoning")
    # Split `<think>...</think>` at the start of content into reasoning.
    think_tags: bool = True
    # Top-level response/chunk fields kept in `ResponseMeta.extra` (Perplexity's citations,
    # Azure's prompt filter results, OpenRouter's upstream provider).
    response_meta_fields: tuple[str, ...] = (
        "citations",
        "search_results",
        "prompt_filter_results",
        "provider",
    )
    # Objects that may carry `usage` when the top-level field is absent (Groq's `x_groq`).
    nested_usage_fields: tuple[str, ...] = ("x_groq",)
    # -- usage --
    # Where the cached-input count is (dotted paths into the usage object); the first non-zero
    # value wins, else the first zero (DeepSeek's own field is `prompt_cache_hit_tokens`).
    cached_tokens_fields: tuple[str, ...] = (
        "prompt_tokens_details.cached_tokens",
        "input_tokens_details.cached_tokens",
        "prompt_cache_hit_tokens",
    )
    # OpenAI counts reasoning inside `completion_tokens`. Where a server leaves it out (xAI,
    # Gemini), output = completion + reasoning, and reasoning is the reported count or else
    # `total - prompt - completion`.
    completion_includes_reasoning: bool = True
    # Which streamed chunks carry the usage. "any": whichever has it, last wins (LiteLLM and
    # OpenRouter send it on a chunk that still has a `choices` entry). "final": only a chunk
    # with empty `choices` or with the finish reason, because every other chunk carries a
    # running count (Perplexity) that must never be reported (or summed) as the total.
    usage_chunks: Literal["any", "final"] = "any"
    # -- tool calls (streams) --
    # What names a streamed call. "id": a new id is a new call (OpenAI, Groq). "index": the
    # index is what stays; ids and names repeated or regenerated on later fragments are
    # restatements (llama.cpp; gateways that regenerate ids, as LiteLLM did in front of OCI).
    tool_call_key: Literal["id", "index"] = "id"
    # Where a call's id may be (dotted paths; early streaming llama.cpp put it in function.id).
    tool_call_id_fields: tuple[str, ...] = ("id",)
    # A named fragment with neither index nor id: "continue" the last open call, or start a
    # "new" one (Gemini sends each of several parallel calls whole, without index or id).
    unkeyed_tool_call: Literal["continue", "new"] = "continue"
    # Non-standard tool-call fields kept on the call and sent back with it (Gemini's
    # `extra_content` carries the thought signature it requires back). None keeps them all.
    tool_call_extra_fields: tuple[str, ...] | None = None
    # -- errors --
    # SSE event names whose data is an error payload (Groq's `event: error`).
    error_events: tuple[str, ...] = ("error",)
    # -- discovery --
    # A native model listing that says more than `/models` (path from the server's root).
    native_models_path: str | None = None
    # -- embeddings --
    # Inputs and JSON bytes of inputs per `/embeddings` request; larger calls are split. A
    # server's 413 or "too many inputs" lowers them for the process (`embeddings.py`).
    embedding_max_inputs: int = 512
    embedding_max_bytes: int = 2 * 1024 * 1024
    # Ask for `encoding_format: "base64"` (a quarter of the bytes, and no float parsing); a
    # server that rejects the field is learned from its 400 (ADAPTATIONS).
    supports_embedding_base64: bool = True
    # Whether the server embeds bytes (llm's binary content), sent as base64 strings.
    embedding_binary_input: bool = False
    # Lower-cased phrases of a 400/422 that mean "fewer inputs per request, please".
    embedding_too_many: tuple[str, ...] = (
        "too many inputs",
        "maximum number of inputs",
        "max number of inputs",
        "array too long",
        "batch size",
    )

    def with_(self, **changes: Any) -> Profile:
        return replace(self, **changes)


DEFAULT = Profile(name="default")

_LOOPBACK = r"^https?://(localhost|127\.0\.0\.1|\[::1\])"

# Read-only: a runtime adds the profiles extensions bring to its own registry.
PROFILES: Mapping[str, Profile] = MappingProxyType({
    "default": DEFAULT,
    "openai": Profile(
        name="openai",
        url_patterns=(r"^https://api\.openai\.com(/|$)",),
        supports_prompt_cache_key=True,
        # Reasoning models reject `max_tokens`; every current model accepts this.
        max_tokens_field="max_completion_tokens",
        # "The max number of inputs is 2048"; 300k tokens per request, ~1.2 MB of text.
        embedding_max_inputs=2048,
        embedding_max_bytes=1_000_000,
    ),
    "azure": Profile(
        name="azure",
        url_patterns=(r"\.openai\.azure\.com(/|$)", r"\.cognitiveservices\.azure\.com(/|$)"),
        auth_header="api-key",
        max_tokens_field="max_completion_tokens",
        # The first chunk has `choices: []`, empty id/model and the prompt filter verdicts.
        response_meta_fields=("prompt_filter_results",),
    ),
    "deepseek": Profile(
        name="deepseek",
        url_patterns=(r"^https://api\.deepseek\.com(/|$)",),
        supports_developer_role=False,
        cached_tokens_fields=("prompt_cache_hit_tokens", "prompt_tokens_details.cached_tokens"),
    ),
    "mistral": Profile(
        name="mistral",
        url_patterns=(r"^https://api\.mistral\.ai(/|$)",),
        supports_developer_role=False,
    ),
    "groq": Profile(
        name="groq",
        url_patterns=(r"^https://api\.groq\.com(/|$)",),
        nested_usage_fields=("x_groq",),
        error_events=("error",),
    ),
    "openrouter": Profile(
        name="openrouter",
        url_patterns=(r"^https://openrouter\.ai(/|$)",),
        response_meta_fields=("provider",),
    ),
    "gemini": Profile(
        name="gemini",
        url_patterns=(r"generativelanguage\.googleapis\.com",),
        supports_developer_role=False,
        completion_includes_reasoning=False,
        unkeyed_tool_call="new",
        tool_call_extra_fields=("extra_content",),
    ),
    "xai": Profile(
        name="xai",
        url_patterns=(r"^https://api\.x\.ai(/|$)",),
        completion_includes_reasoning=False,
    ),
    "perplexity": Profile(
        name="perplexity",
        url_patterns=(r"^https://api\.perplexity\.ai(/|$)",),
        usage_chunks="final",
        response_meta_fields=("citations", "search_results"),
    ),
    "ollama": Profile(
        name="ollama",
        url_patterns=(_LOOPBACK + r":11434(/|$)", r"^https://ollama\.com(/|$)"),
        native_models_path="/api/tags",
    ),
    "lmstudio": Profile(
        name="lmstudio",
        url_patterns=(_LOOPBACK + r":1234(/|$)",),
        native_models_path="/api/v0/models",
    ),
    "llamacpp": Profile(
        name="llamacpp",  # port 8080 is too common to detect from; chosen by name
        tool_call_key="index",
        tool_call_id_fields=("id", "function.id"),
    ),
    "llama-cpp-python": Profile(
        name="llama-cpp-python",  # the Python server (`python -m llama_cpp.server`); by name
        stream_auto_tool_calls=False,
        null_tool_call_content=False,
    ),
    "litellm": Profile(
        name="litellm",  # self-hosted anywhere; chosen by name
        # The proxy's usage chunk keeps a `choices: [{"index": 0, "delta": {}}]` entry (it
        # rewrites the upstream's empty `choices`), so usage must be read from any chunk.
        usage_chunks="any",
    ),
})


def detect_profile(base_url: str, profiles: Mapping[str, Profile] = PROFILES) -> Profile:
    for profile in profiles.values():
        if any(re.search(pattern, base_url) for pattern in profile.url_patterns):
            return profile
    return DEFAULT


def builtin_profile(name: str | None, base_url: str) -> Profile:
    """The profile from the built-in table alone (the default for a name it lacks), without
    loading extension profiles: for llm's registration, which must not load plugins' code."""
    return PROFILES.get(name or "") or detect_profile(base_url)


def get_profile(name: str | None, base_url: str, profiles: Mapping[str, Profile] = PROFILES) -> Profile:
    """The profile named by the provider's settings, else the one its URL suggests, among
    `profiles` (a runtime's registry, with the profiles extensions add: `Runtime.get_profile`)."""
    if name:
        try:
            return profiles[name]
        except KeyError:
            from ..errors import ConfigError

            raise ConfigError(
                f"unknown profile {name!r}; known: {', '.join(sorted(profiles))}",
                field="profile",
                hint="Remove the field to detect the profile from the base URL",
            ) from None
    return detect_profile(base_url, profiles)


@dataclass(frozen=True, slots=True)
class Adaptation:
    """A quirk learned from a server's 400: when the error names `param` (a regular expression
    matched against the error's param, else its message) and its message contains every one of
    `needles`, at least one of `any_of` (when given) and none of `unless`, retry once with
    `changes` applied to the profile, and keep them for the process. `statuses` are the HTTP
    statuses it is learned from. `error` names the error class instead of `param` and the
    phrases (the class already read the message). `retry` False learns without retrying: the
    next call fails before sending. `description` says what changed, for `llm openai-compat
    test` and logs.
    """

    name: str
    param: str
    needles: tuple[str, ...]
    changes: dict[str, Any]
    description: str = ""
    any_of: tuple[str, ...] = ()
    unless: tuple[str, ...] = ()
    statuses: tuple[int, ...] = (400, 422)
    error: str | None = None
    retry: bool = True

    def matches(self, param: str | None, message: str | None) -> bool:
        """Whether a 400's param and message call for this adaptation (never, for one that
        is recognised by its error class)."""
        if self.error is not None:
            return False
        text = (message or "").lower()
        if not re.search(self.param, param or text):
            return False
        if self.any_of and not any(phrase in text for phrase in self.any_of):
            return False
        if any(phrase in text for phrase in self.unless):
            return False
        return all(needle in text for needle in self.needles)


ADAPTATIONS: tuple[Adaptation, ...] = (
    Adaptation(
        "no-stream-options",
        r"stream_options",
        (),
        {"supports_stream_options": False},
        "the server rejects stream_options: requests omit it (usage in streams may be missing)",
    ),
    Adaptation(
        "no-developer-role",
        r"^messages\[\d+\]\.role$|role",
        ("developer",),
        {"supports_developer_role": False, "system_role": "system"},
        "the server rejects the developer role: system text is sent as a system message",
    ),
    Adaptation(
        "max-completion-tokens",
        r"^max_tokens$",
        ("max_completion_tokens",),
        {"max_tokens_field": "max_completion_tokens"},
        "the server rejects max_tokens: the limit is sent as max_completion_tokens",
    ),
    Adaptation(
        "no-base64-embeddings",
        r"encoding_format",
        (),
        {"supports_embedding_base64": False},
        "the server rejects encoding_format: embeddings are asked for as floats",
    ),
    Adaptation(
        # vLLM: '"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser
        # to be set' (param null, so the message is what matches).
        "no-auto-tool-choice",
        r"^tool_choice$|tool.choice",
        ("auto",),
        {"supports_auto_tool_choice": False},
        'the server rejects tool_choice "auto": requests with tools leave the choice to the server',
    ),
    Adaptation(
        # The fallback `capabilities.jsonSchema: false` selects (json_object plus the schema in
        # the instructions), learned from the first refusal instead of from a probe. Phrasings:
        # vLLM before json_schema (pydantic: "Input should be 'text' or 'json_object'", input
        # 'json_schema'), llama.cpp's server before it ('response_format type must be one of
        # "text" or "json_object", but got: json_schema', a 500 in some builds), OpenAI-style
        # gateways ("invalid value: `json_schema`, supported values are: `json_object` and
        # `text`"), LiteLLM ("does not support parameters: {'response_format': {'type':
        # 'json_schema'..."), and the Responses shape's `text.format` equivalents. Not LM
        # Studio's "'response_format.type' must be 'json_schema'": that refuses json_object.
        "no-json-schema",
        r"response_format|text\.format|json_schema",
        ("json_schema",),
        {"supports_json_schema": False},
        "the server rejects json_schema: schemas are sent as json_object, with the schema in "
        "the instructions",
        any_of=(
            "not supported", "unsupported", "not support", "must be one of", "should be",
            "supported values", "invalid value", "not implemented", "unknown", "not allowed",
        ),
        unless=("must be 'json_schema'", 'must be "json_schema"'),
        statuses=(400, 422, 500),
    ),
    Adaptation(
        # errors.classify_response made the 400 a MissingToolCalling; retrying cannot help,
        # but the next call with tools fails before sending, naming the provider and model.
        "no-tools",
        r"",
        (),
        {"supports_tools": False},
        "the server says it cannot call tools: requests with tools fail before sending",
        statuses=(400, 422, 500),
        error="MissingToolCalling",
        retry=False,
    ),
)
