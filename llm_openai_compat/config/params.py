"""Default params: camelCase names -> wire names per shape, validation, reserved keys, merge.

Users write the camelCase names (`reasoningEffort`, `maxOutputTokens`, ...) in the settings
file (`defaultParams`, `modelParams`) and per call; this module is the one place that knows
what each becomes on the wire of each shape, which values are allowed, and which names the
adapter keeps for itself. Wire snake_case names are refused with a pointer to the camelCase
name, so one spelling works everywhere. Vendor-only fields (`top_k`, `min_p`,
`chat_template_kwargs`, ...) belong in the provider's `extraBody`, which is never validated.

Merge order, lowest to highest priority (`merge_params`):

1. built-in defaults (none today; the wire builders pick their own, e.g. `store: false`),
2. the provider's `defaultParams`,
3. per-model params (`modelParams[model]`),
4. per-call options.

A later layer wins key by key; a value of None in a later layer removes the key.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Literal

from ..errors import ConfigError, clip

__all__ = [
    "ALLOWED_VALUES",
    "OPTION_PARAMS",
    "PARAMS",
    "RESERVED",
    "Shape",
    "has_wire_field",
    "merge_params",
    "to_wire",
    "validate_params",
]

Shape = Literal["chat-completions", "responses"]

# camelCase name -> (chat-completions wire path, responses wire path); None = not on that shape.
# A path is a dotted location in the request body ("reasoning.effort"). `$` paths are special:
# `$max_tokens` is the profile's max-tokens field, `$logprobs` and `$include` are rendered by
# helpers below, `$none` is read by the request builders and never sent as such.
PARAMS: dict[str, tuple[str | None, str | None]] = {
    "temperature": ("temperature", "temperature"),
    "topP": ("top_p", "top_p"),
    "maxOutputTokens": ("$max_tokens", "max_output_tokens"),
    "maxCompletionTokens": ("max_completion_tokens", "max_output_tokens"),
    "seed": ("seed", None),
    "stop": ("stop", None),
    "presencePenalty": ("presence_penalty", None),
    "frequencyPenalty": ("frequency_penalty", None),
    "logitBias": ("logit_bias", None),
    "reasoningEffort": ("reasoning_effort", "reasoning.effort"),
    "reasoningSummary": (None, "reasoning.summary"),
    "textVerbosity": ("verbosity", "text.verbosity"),
    "serviceTier": ("service_tier", "service_tier"),
    "safetyIdentifier": ("safety_identifier", "safety_identifier"),
    "parallelToolCalls": ("parallel_tool_calls", "parallel_tool_calls"),
    "store": ("store", "store"),
    "maxToolCalls": (None, "max_tool_calls"),
    "metadata": ("metadata", "metadata"),
    "user": ("user", "user"),
    "logprobs": ("$logprobs", "$logprobs"),
    "truncation": (None, "truncation"),
    "include": (None, "$include"),
    "conversation": (None, "conversation"),
    "previousResponseId": (None, "previous_response_id"),
    "promptCacheRetention": ("prompt_cache_retention", "prompt_cache_retention"),
    "n": ("n", None),
    # Read by the request builders, never sent as such.
    "strictJsonSchema": ("$none", "$none"),
    "forceReasoning": ("$none", "$none"),
}

# The snake_case option names the adapters take (llm's `-o top_p 0.9`, LangChain's fields and
# call options, which are ChatOpenAI's names) -> the camelCase params above: one table, so no
# adapter spells one differently. An adapter offers the subset it has options for.
OPTION_PARAMS: dict[str, str] = {
    "temperature": "temperature",
    "top_p": "topP",
    "max_tokens": "maxOutputTokens",
    "stop": "stop",
    "seed": "seed",
    "frequency_penalty": "frequencyPenalty",
    "presence_penalty": "presencePenalty",
    "reasoning_effort": "reasoningEffort",
    "logit_bias": "logitBias",
    "service_tier": "serviceTier",
    "verbosity": "textVerbosity",
    # `top_logprobs` N is sent as logprobs N (logprobs plus top_logprobs on the wire).
    "logprobs": "logprobs",
    "prompt_cache_retention": "promptCacheRetention",
    "store": "store",
    "truncation": "truncation",
    "include": "include",
    "safety_identifier": "safetyIdentifier",
    "user": "user",
    "metadata": "metadata",
    "n": "n",
    "reasoning_summary": "reasoningSummary",
    "parallel_tool_calls": "parallelToolCalls",
}

# Names the adapter manages itself; the reason is part of the error a user sees.
RESERVED: dict[str, str] = {
    "promptCacheKey": (
        "cache identity is managed by the adapter (prompt_cache_key is derived from the "
        "conversation id so the server's prefix cache keeps hitting)"
    ),
    "instructions": (
        "it would be a second system-prompt surface that bypasses the assembled system text "
        "(the system prompt is the one source of instructions)"
    ),
    "prediction": "speculative-decoding hints are reserved until a dedicated contract exists",
}

# Settings that live next to defaultParams, not inside it.
_PROVIDER_FIELDS = ("extraBody", "systemMessageMode", "modelParams", "headers", "timeoutMs")

_EFFORT_CHAT = ("minimal", "low", "medium", "high")
_EFFORT_RESPONSES = ("none", "minimal", "low", "medium", "high", "xhigh")

# Closed value sets; a pair is (chat-completions, responses) when they differ.
ALLOWED_VALUES: dict[str, tuple[str, ...] | tuple[tuple[str, ...], tuple[str, ...]]] = {
    "reasoningEffort": (_EFFORT_CHAT, _EFFORT_RESPONSES),
    "reasoningSummary": ("auto", "concise", "detailed"),
    "textVerbosity": ("low", "medium", "high"),
    "serviceTier": ("auto", "flex", "priority", "default"),
    "truncation": ("auto", "disabled"),
    "promptCacheRetention": ("in_memory", "24h"),
}

# -- merge ----------------------------------------------------------------------------------


def merge_params(*layers: Mapping[str, Any] | None) -> dict[str, Any]:
    """Merge layers left to right (lowest priority first, see the module docstring); a later
    layer wins; a value of None removes the key."""
    merged: dict[str, Any] = {}
    for layer in layers:
        if not layer:
            continue
        for key, value in layer.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
    return merged


# -- to wire --------------------------------------------------------------------------------


def _put(body: dict[str, Any], path: str, value: Any) -> None:
    target = body
    *parents, leaf = path.split(".")
    for part in parents:
        nested = target.get(part)
        if not isinstance(nested, dict):
            nested = {}
            target[part] = nested
        target = nested
    target[leaf] = value


def has_wire_field(name: str, shape: Shape) -> bool:
    """Whether the camelCase param `name` has a field on `shape`'s wire (`stop` has none on
    Responses, so the client applies it: stops.py)."""
    spec = PARAMS.get(name)
    return spec is not None and spec[0 if shape == "chat-completions" else 1] is not None


def to_wire(
    params: Mapping[str, Any],
    shape: Shape,
    *,
    max_tokens_field: str = "max_tokens",
) -> dict[str, Any]:
    """Translate merged camelCase params into a (nested) dict of wire fields for `shape`.

    Names unknown here, or not available on this shape, are skipped: validation of what the
    user wrote happens when settings are loaded (`validate_params`), not on every request.
    """
    body: dict[str, Any] = {}
    column = 0 if shape == "chat-completions" else 1
    for name, value in params.items():
        spec = PARAMS.get(name)
        if spec is None:
            continue
        path = spec[column]
        if path is None or path == "$none":
            continue
        if path == "$max_tokens":
            path = max_tokens_field
        elif path == "$logprobs":
            _logprobs(body, shape, value)
            continue
        elif path == "$include":
            _add_include(body, value if isinstance(value, (list, tuple)) else [value])
            continue
        _put(body, path, value)
    return body


def _add_include(body: dict[str, Any], values: Any) -> None:
    """`include` is a set on the wire: several params (include, logprobs) add to it, in order."""
    include: list[Any] = body.setdefault("include", [])
    for value in values:
        if value not in include:
            include.append(value)


def _logprobs(body: dict[str, Any], shape: Shape, value: Any) -> None:
    top = value if isinstance(value, int) and not isinstance(value, bool) else None
    if shape == "chat-completions":
        body["logprobs"] = bool(value)
        if top:
            body["top_logprobs"] = top
    else:
        if value:
            _add_include(body, ["message.output_text.logprobs"])
        if top:
            body["top_logprobs"] = top


# -- validation -----------------------------------------------------------------------------


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _number_in(low: float, high: float) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if not _is_number(value) or not low <= value <= high:
            return f"must be a number from {low:g} to {high:g}"
        return None

    return check


def _positive_int(value: Any) -> str | None:
    return None if _is_int(value) and value > 0 else "must be a positive integer"


def _int(value: Any) -> str | None:
    return None if _is_int(value) else "must be an integer"


def _bool(value: Any) -> str | None:
    return None if isinstance(value, bool) else "must be true or false"


def _str(value: Any) -> str | None:
    return None if isinstance(value, str) and value else "must be a non-empty string"


def _metadata(value: Any) -> str | None:
    if isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        return None
    return "must be an object mapping strings to strings"


def _stop(value: Any) -> str | None:
    return (
        None
        if isinstance(value, str) or _is_str_list(value)
        else ("must be a string or a list of strings")
    )


def _str_list(value: Any) -> str | None:
    return None if _is_str_list(value) else "must be a list of strings"


def _logit_bias(value: Any) -> str | None:
    if isinstance(value, dict) and all(
        isinstance(k, str) and _is_number(v) for k, v in value.items()
    ):
        return None
    return "must be an object mapping token ids to numbers"


def _logprobs_value(value: Any) -> str | None:
    if isinstance(value, bool) or (_is_int(value) and 0 <= value <= 20):
        return None
    return "must be true, false or a number of top logprobs from 0 to 20"


_CHECKS: dict[str, Callable[[Any], str | None]] = {
    "temperature": _number_in(0, 2),
    "topP": _number_in(0, 1),
    "maxOutputTokens": _positive_int,
    "maxCompletionTokens": _positive_int,
    "maxToolCalls": _positive_int,
    "seed": _int,
    "stop": _stop,
    "presencePenalty": _number_in(-2, 2),
    "frequencyPenalty": _number_in(-2, 2),
    "logitBias": _logit_bias,
    "safetyIdentifier": _str,
    "user": _str,
    "conversation": _str,
    "previousResponseId": _str,
    "parallelToolCalls": _bool,
    "store": _bool,
    "strictJsonSchema": _bool,
    "forceReasoning": _bool,
    "metadata": _metadata,
    "include": _str_list,
    "logprobs": _logprobs_value,
    "n": _positive_int,
}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def _wire_names() -> dict[str, str]:
    """Every wire spelling (top-level or leaf of a dotted path) -> its camelCase name."""
    names: dict[str, str] = {}
    for camel, paths in PARAMS.items():
        for path in paths:
            if path and not path.startswith("$"):
                names.setdefault(path.replace(".", "_"), camel)
                names.setdefault(path, camel)
    names["max_tokens"] = "maxOutputTokens"
    names["max_output_tokens"] = "maxOutputTokens"
    names["top_logprobs"] = "logprobs"
    return names


_WIRE_NAMES = _wire_names()
_SNAKE = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)+$")


def _fail(where: str, name: str, message: str, hint: str | None = None) -> ConfigError:
    return ConfigError(message, field=f"{where}.{name}", hint=hint)


def validate_params(params: Mapping[str, Any], shape: Shape, *, where: str) -> None:
    """Check params written by a user (`where` names them, e.g. "defaultParams"); raise a
    one-line `ConfigError` for the first problem, naming the field and the fix."""
    if not isinstance(params, Mapping):
        raise ConfigError(
            f"must be an object of camelCase param names, got {type(params).__name__}",
            field=where,
        )
    for name, value in params.items():
        _validate_one(str(name), value, shape, where)
    if params.get("conversation") is not None and params.get("previousResponseId") is not None:
        raise _fail(
            where,
            "conversation",
            "conversation and previousResponseId cannot both be set: each names the server-side "
            "state to continue",
            "Keep one of them",
        )


def _validate_one(name: str, value: Any, shape: Shape, where: str) -> None:
    camel = _camel(name) if "_" in name else name
    if camel in RESERVED:
        raise _fail(
            where,
            name,
            f"{camel} is reserved: {RESERVED[camel]}",
            "Remove it from the settings",
        )
    if camel in _PROVIDER_FIELDS:
        raise _fail(
            where,
            name,
            f"{camel} is a provider setting, not a param",
            f"Move it out of {where}, up into the provider's entry",
        )
    if name not in PARAMS:
        raise _unknown(name, where)
    if value is None:
        return  # None removes an inherited value; always allowed
    spec = PARAMS[name]
    column = 0 if shape == "chat-completions" else 1
    if spec[column] is None:
        other: Shape = "responses" if shape == "chat-completions" else "chat-completions"
        raise _fail(
            where,
            name,
            f"{name} is not available on apiShape {shape!r} (only on {other!r})",
            f"Remove it, or set apiShape to {other!r}",
        )
    allowed_spec = ALLOWED_VALUES.get(name)
    if allowed_spec is not None:
        allowed = allowed_spec[column] if isinstance(allowed_spec[0], tuple) else allowed_spec
        if value not in allowed:
            raise _fail(
                where,
                name,
                f"{name} {value!r} is not allowed on apiShape {shape!r}; allowed values: "
                + ", ".join(allowed),
                "Use one of the allowed values",
            )
        return
    check = _CHECKS.get(name)
    problem = check(value) if check else None
    if problem:
        raise _fail(where, name, clip(f"{name} {problem}, got {value!r}", 300), "Fix the value")


def _unknown(name: str, where: str) -> ConfigError:
    camel = _camel(name)
    target = camel if camel in PARAMS else _WIRE_NAMES.get(name)
    if target is not None and (_SNAKE.match(name) or name in _WIRE_NAMES):
        return _fail(
            where,
            name,
            f"{name!r} is a wire name (did you mean {target}?); params take the camelCase names",
            f"Rename it to {target}",
        )
    alias = _WIRE_NAMES.get(_snake(name))
    import difflib  # only for a misspelling: not on every command's path

    close = [alias] if alias else difflib.get_close_matches(camel, list(PARAMS), n=1, cutoff=0.8)
    suggestion = f" (did you mean {close[0]}?)" if close else ""
    return _fail(
        where,
        name,
        f"unknown param {name!r}{suggestion}",
        "Vendor-specific fields (top_k, min_p, ...) go in the provider's extraBody, "
        "which is sent as is",
    )
