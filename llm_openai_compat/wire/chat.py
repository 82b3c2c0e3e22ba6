"""Chat Completions: request bodies (built in `chat_request`) and response parsing.

Streamed chunks and non-streamed `chat.completion` bodies go through the same extraction code,
so the events `assemble.Assembler` makes from either agree. The parser only turns wire JSON
into deltas; tool-call keying, `<think>` splitting, usage (last wins) and finish inference all
happen once, in the assembler.

This is on the hot path, so a plain `{"choices":[{"delta":{"content":"..."}}]}` chunk costs a
few dict lookups: the response id/model/extras are reported only when they change, and usage
only when it differs from the last one seen.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from typing import Any

from ..config.profiles import DEFAULT, Profile
from ..errors import (
    MalformedJSON,
    OpenAICompatError,
    StreamError,
    clip,
    error_from_payload,
    loads_json,
    parse_error_body,
)
from ..events import (
    OtherChoice,
    ReasoningDelta,
    ReasoningItem,
    RefusalDelta,
    ResponseMeta,
    StreamFailure,
    TextDelta,
    Usage,
)
from .assemble import (
    Assembler,
    Delta,
    DoneSignal,
    FinishSignal,
    ToolCallFragment,
    annotation_of,
    count_of,
    logprobs_of,
)
from .chat_request import build_request

__all__ = ["ChatStreamParser", "build_request", "error_from_chunk", "parse_body", "parse_usage"]

# `dict` first: parsed JSON is always a dict, and an exact type match skips the ABC check
# (a few hundred ns, paid dozens of times per body); other mappings are still accepted.
_MAPPING = (dict, Mapping)
_DONE = DoneSignal()
_TOOL_CALL_KEYS = frozenset({"id", "index", "type", "function"})
# Message/delta fields that belong to the first tool call of that message: Gemini once sent its
# thought signature (`extra_content`) beside the calls, and wants it back on the call.
_MESSAGE_CALL_EXTRAS = ("extra_content",)
_ECHO_LIMIT = 200
# Top-level fields every profile keeps in `ResponseMeta.extra` (OpenAI's own), besides the
# profile's `response_meta_fields`.
_ALWAYS_META = ("system_fingerprint", "service_tier")


@functools.lru_cache(maxsize=64)  # a profile's few names; a parser is made for every call
def _meta_fields(extra: tuple[str, ...]) -> tuple[str, ...]:
    return _ALWAYS_META + tuple(f for f in extra if f not in _ALWAYS_META)


class ChatStreamParser:
    """Turns one SSE event (or one parsed chunk) of a Chat Completions stream into deltas.

    Stateful only to avoid repeating itself: it remembers the id, model and extras it last
    reported and the last usage object, so repeated values produce no new deltas.
    """

    __slots__ = (
        "_call_ids",
        "_extra",
        "_fields",
        "_id",
        "_meta_fields",
        "_model",
        "_profile",
        "_unkeyed",
        "_usage",
        "_usage_fields",
    )

    def __init__(self, profile: Profile) -> None:
        self._profile = profile
        self._fields = profile.reasoning_fields
        self._meta_fields = _meta_fields(profile.response_meta_fields)
        self._usage_fields = profile.nested_usage_fields
        self._id: Any = None
        self._model: Any = None
        self._extra: dict[str, Any] = {}
        self._usage: Any = None
        # Streamed tool calls: the server index of each call seen (for `tool_call_key`
        # "index"), and how many unkeyed calls were started (for `unkeyed_tool_call` "new").
        self._call_ids: set[int] = set()
        self._unkeyed = 0

    def feed_event(self, event: str, data: str) -> list[Delta]:
        """One SSE event: `[DONE]`, an `event: error` frame, or a JSON chunk."""
        if event and event in self._profile.error_events:
            return [StreamFailure(_error_frame(data))]
        if data == "[DONE]":
            return [_DONE]
        try:
            obj = loads_json(data)
        except MalformedJSON:
            stripped = data.strip()
            if stripped == "[DONE]":
                return [_DONE]
            if not stripped:
                return []  # an empty `data:` line used as a keep-alive
            return [_not_a_chunk("an event that is not valid JSON", data)]
        if not isinstance(obj, dict):
            return [_not_a_chunk("an event that is not a JSON object", data)]
        return self.feed_chunk(obj)

    def feed_chunk(self, obj: Mapping[str, Any]) -> list[Delta]:
        """One parsed `chat.completion.chunk` (or an `{"error": ...}` object)."""
        out: list[Delta] = []
        get = obj.get
        changed = False
        value = get("id")
        if value and value != self._id:
            self._id, changed = value, True
        value = get("model")
        if value and value != self._model:
            self._model, changed = value, True
        for key in self._meta_fields:
            if key in obj:
                value = obj[key]
                if value is not None and value != "" and self._extra.get(key) != value:
                    self._extra[key], changed = value, True
        if changed:
            out.append(self._meta())

        finish = None
        choices = get("choices")
        if choices and isinstance(choices, list):
            choice = choices[0]
            if not isinstance(choice, _MAPPING) or choice.get("index"):
                choice = _choice_zero(choices)  # only choice 0 is followed
            if choice is not None:
                delta = choice.get("delta")
                if delta and isinstance(delta, _MAPPING):
                    content = delta.get("content")
                    if len(delta) == 1 and isinstance(content, str):
                        if content:  # the fast path: a plain content chunk
                            out.append(TextDelta(content))
                    else:
                        self._message(delta, out, whole=False)
                logprobs = choice.get("logprobs")
                if logprobs:
                    _logprobs(logprobs, out)
                finish = choice.get("finish_reason")

        usage = get("usage")
        if usage is None:
            usage = self._nested_usage(obj)
        # With "final" usage, a chunk that still streams a choice carries a running count.
        if (
            usage
            and isinstance(usage, _MAPPING)
            and usage != self._usage
            and (self._profile.usage_chunks == "any" or finish or not choices)
        ):
            self._usage = usage
            out.append(parse_usage(usage, self._profile))
        if finish:
            out.append(FinishSignal(str(finish)))
        if get("error"):
            out.append(StreamFailure(error_from_chunk(obj, in_stream=True)))
        return out

    def feed_body(self, obj: Mapping[str, Any]) -> list[Delta]:
        """A whole non-streamed `chat.completion` body, ending with `DoneSignal`."""
        if obj.get("error"):
            return [StreamFailure(error_from_chunk(obj, in_stream=False))]
        out: list[Delta] = []
        value = obj.get("id")
        self._id = value or None
        value = obj.get("model")
        self._model = value or None
        for key in self._meta_fields:
            value = obj.get(key)
            if value is not None and value != "":
                self._extra[key] = value
        out.append(self._meta())
        finish = None
        choice = _choice_zero(obj.get("choices"))
        if choice is not None:
            message = choice.get("message")
            if isinstance(message, _MAPPING):
                self._message(message, out, whole=True)
            logprobs = choice.get("logprobs")
            if logprobs:
                _logprobs(logprobs, out)
            finish = choice.get("finish_reason")
        usage = obj.get("usage")
        if usage is None:
            usage = self._nested_usage(obj)
        if usage and isinstance(usage, _MAPPING):
            out.append(parse_usage(usage, self._profile))
        choices = obj.get("choices")
        if isinstance(choices, list) and len(choices) > 1:
            self._other_choices(choices, out)
        if finish:
            out.append(FinishSignal(str(finish)))
        out.append(_DONE)
        return out

    def _other_choices(self, choices: list[Any], out: list[Delta]) -> None:
        """Choices 1.. of a body asked for `n`: each parsed and assembled on its own."""
        for choice in choices:
            index = choice.get("index") if isinstance(choice, _MAPPING) else None
            if not isinstance(index, int) or isinstance(index, bool) or index <= 0:
                continue
            deltas = ChatStreamParser(self._profile).feed_body({"choices": [{**choice, "index": 0}]})
            assembler = Assembler(think_tags=self._profile.think_tags)
            events = assembler.feed(d for d in deltas if not isinstance(d, ResponseMeta))
            events += assembler.close()
            out.append(OtherChoice(index, tuple(events)))

    # -- internals -------------------------------------------------------------------------

    def _meta(self) -> ResponseMeta:
        return ResponseMeta(
            str(self._id) if self._id else None,
            str(self._model) if self._model else None,
            dict(self._extra),
        )

    def _nested_usage(self, obj: Mapping[str, Any]) -> Any:
        for key in self._usage_fields:
            holder = obj.get(key)
            if holder is not None and isinstance(holder, _MAPPING):  # absent: no ABC check
                usage = holder.get("usage")
                if usage is not None:
                    return usage
        return None

    def _message(self, message: Mapping[str, Any], out: list[Delta], *, whole: bool) -> None:
        """A streamed `delta` or a whole `message`: reasoning, then text, then tool calls."""
        details = message.get("reasoning_details")
        if details and isinstance(details, list):
            # OpenRouter repeats the text in `reasoning`; the typed details are authoritative.
            _reasoning_details(details, out)
        else:
            for field in self._fields:
                value = message.get(field)
                if value and isinstance(value, str):
                    out.append(ReasoningDelta(value))
                    break  # vLLM sends the same text as both reasoning and reasoning_content
        content = message.get("content")
        if content:
            if isinstance(content, str):
                out.append(TextDelta(content))
            elif isinstance(content, list):
                _content_parts(content, out)
        refusal = message.get("refusal")
        if refusal and isinstance(refusal, str):
            out.append(RefusalDelta(refusal))
        annotations = message.get("annotations")
        if annotations and isinstance(annotations, list):
            for raw in annotations:
                annotation = annotation_of(raw) if isinstance(raw, _MAPPING) else None
                if annotation is not None:
                    out.append(annotation)
        calls = message.get("tool_calls")
        if calls and isinstance(calls, list):
            self._tool_calls(calls, message, out, whole=whole)

    def _tool_calls(
        self, calls: Sequence[Any], message: Mapping[str, Any], out: list[Delta], *, whole: bool
    ) -> None:
        """One fragment per call entry. In a whole message each entry is a separate call, so
        its position is its index; in a stream the server's index (or id) says which call
        continues, as the profile's `tool_call_key` and `unkeyed_tool_call` read them."""
        profile = self._profile
        keep = profile.tool_call_extra_fields
        carried = {
            k: message[k]
            for k in _MESSAGE_CALL_EXTRAS
            if message.get(k) is not None and (keep is None or k in keep)
        }
        for position, call in enumerate(calls):
            if not isinstance(call, _MAPPING):
                continue
            name = arguments = None
            function = call.get("function")
            if isinstance(function, _MAPPING):
                name = function.get("name")
                arguments = function.get("arguments")
                if arguments is not None and not isinstance(arguments, str):
                    arguments = json.dumps(arguments, ensure_ascii=False)  # an object, not text
            index = position if whole else call.get("index")
            if not isinstance(index, int) or isinstance(index, bool) or index < 0:
                index = None  # negative indexes are this parser's own (unkeyed calls)
            call_id = _first_present(call, profile.tool_call_id_fields)
            if not whole:
                if profile.tool_call_key == "index" and index is not None:
                    if index in self._call_ids:
                        call_id = None  # a restated (or regenerated) id: the index decides
                    self._call_ids.add(index)
                elif index is None and not call_id and name and profile.unkeyed_tool_call == "new":
                    self._unkeyed += 1
                    index = -self._unkeyed  # a call of its own, never a server's index
            extra = {
                k: v
                for k, v in call.items()
                if k not in _TOOL_CALL_KEYS and (keep is None or k in keep)
            }
            if carried:
                for key, value in carried.items():
                    extra.setdefault(key, value)
                carried = {}
            out.append(
                ToolCallFragment(
                    id=str(call_id) if call_id else None,
                    index=index,
                    name=str(name) if name else None,
                    arguments=arguments,
                    extra=extra or None,
                )
            )


def parse_body(obj: Mapping[str, Any], profile: Profile) -> list[Delta]:
    """Deltas for a non-streamed `chat.completion` body (or an `{"error": ...}` body)."""
    return ChatStreamParser(profile).feed_body(obj)


def parse_usage(raw: Mapping[str, Any], profile: Profile = DEFAULT) -> Usage:
    """Normalize a usage object the way `profile` reads it; `raw` is kept as the server sent
    it. Output tokens always include reasoning tokens, as OpenAI counts them."""
    cached = None
    for path in profile.cached_tokens_fields:
        value = _int(_first_present(raw, (path,)))
        if value:
            cached = value
            break
        if cached is None:
            cached = value  # a zero counts unless a later field has more
    details = raw.get("completion_tokens_details") or raw.get("output_tokens_details")
    reasoning = _int(details.get("reasoning_tokens")) if isinstance(details, _MAPPING) else None
    prompt = raw.get("prompt_tokens")
    completion = raw.get("completion_tokens")
    input_tokens = _int(raw.get("input_tokens") if prompt is None else prompt)
    output_tokens = _int(raw.get("output_tokens") if completion is None else completion)
    total = _int(raw.get("total_tokens"))
    if not profile.completion_includes_reasoning and output_tokens is not None:
        # xAI and Gemini leave reasoning out of completion_tokens (but not out of the total).
        if not reasoning and total is not None and input_tokens is not None:
            unreported = total - input_tokens - output_tokens
            reasoning = unreported if unreported > 0 else reasoning
        if reasoning:
            output_tokens += reasoning
    return Usage(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        total_tokens=total,
        cached_input_tokens=cached,
        reasoning_tokens=reasoning,
        raw=raw,
    )


def error_from_chunk(payload: Any, *, in_stream: bool) -> OpenAICompatError:
    """The error in a chunk or body carrying `error` (or any error-shaped payload)."""
    message, code, etype, param = parse_error_body(payload)
    status = None
    error = payload.get("error") if isinstance(payload, _MAPPING) else None
    if isinstance(error, _MAPPING):
        for key in ("status_code", "status"):  # Groq's error frames carry the status inside
            value = error.get(key)
            if isinstance(value, int) and not isinstance(value, bool):
                status = value
                break
    return error_from_payload(message, code, etype, status=status, param=param, in_stream=in_stream)


# -- helpers ----------------------------------------------------------------------------------


def _error_frame(data: str) -> OpenAICompatError:
    try:
        payload: Any = loads_json(data)
    except MalformedJSON:
        payload = data
    return error_from_chunk(payload, in_stream=True)


def _not_a_chunk(what: str, data: str) -> StreamFailure:
    shown = clip(data, _ECHO_LIMIT) + (f" ({len(data)} chars)" if len(data) > _ECHO_LIMIT else "")
    return StreamFailure(StreamError(f"The server sent {what}", server_message=shown))


def _choice_zero(choices: Any) -> Mapping[str, Any] | None:
    if not isinstance(choices, list):
        return None
    for choice in choices:
        if isinstance(choice, _MAPPING) and not choice.get("index"):
            return choice
    return None


_int = count_of


def _logprobs(value: Any, out: list[Delta]) -> None:
    """A choice's `logprobs`: `content` entries score the text, `refusal` entries the refusal."""
    if not isinstance(value, _MAPPING):
        return
    for of in ("content", "refusal"):
        event = logprobs_of(value.get(of), of)
        if event is not None:
            out.append(event)


def _content_parts(parts: Sequence[Any], out: list[Delta]) -> None:
    """Content as an array of typed parts (Mistral): text, and `thinking` as reasoning."""
    for part in parts:
        if isinstance(part, str):
            if part:
                out.append(TextDelta(part))
            continue
        if not isinstance(part, _MAPPING):
            continue
        kind = part.get("type")
        if kind == "text":
            text = part.get("text")
            if text and isinstance(text, str):
                out.append(TextDelta(text))
        elif kind == "thinking":
            _thinking(part.get("thinking"), out)


def _thinking(value: Any, out: list[Delta]) -> None:
    if isinstance(value, str):
        if value:
            out.append(ReasoningDelta(value))
    elif isinstance(value, list):
        for item in value:
            text = item.get("text") if isinstance(item, _MAPPING) else item
            if text and isinstance(text, str):
                out.append(ReasoningDelta(text))


def _reasoning_details(details: Sequence[Any], out: list[Delta]) -> None:
    """OpenRouter's `reasoning_details`: text (raw), summaries, and opaque items to send back
    (encrypted reasoning, and the signature that proves a block of Anthropic thinking)."""
    for item in details:
        if not isinstance(item, _MAPPING):
            continue
        kind = item.get("type")
        if kind == "reasoning.text":
            text = item.get("text")
            if text and isinstance(text, str):
                out.append(ReasoningDelta(text))
            opaque = item.get("signature")
        elif kind == "reasoning.summary":
            summary = item.get("summary")
            if summary and isinstance(summary, str):
                out.append(ReasoningDelta(summary, "summary"))
            continue
        elif kind == "reasoning.encrypted":
            opaque = item.get("data")
        else:
            continue
        if opaque and isinstance(opaque, str):
            item_id = item.get("id")
            out.append(
                ReasoningItem(
                    id=str(item_id) if item_id else None, encrypted_content=opaque, raw=item
                )
            )


@functools.lru_cache(maxsize=64)  # a profile's few dotted paths, read for every usage object
def _split_path(path: str) -> tuple[str, ...]:
    return tuple(path.split("."))


def _first_present(obj: Mapping[str, Any], paths: Sequence[str]) -> Any:
    """The first non-empty value found at one of the dotted `paths` in `obj`."""
    for path in paths:
        value: Any = obj
        for key in _split_path(path):
            value = value.get(key) if isinstance(value, _MAPPING) else None
        if value is not None and value != "":
            return value
    return None
