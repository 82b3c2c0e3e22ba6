"""One state machine that turns parsed wire deltas into the event union.

Both wire shapes parse their chunks/events into the small delta types below and feed them
here, so tool-call keying, `<think>` splitting, usage (last wins), finish normalization and the
"stream ended without finishing" check exist once. Streamed and non-streamed responses go
through the same path, so their results agree.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from ..errors import MalformedJSON, StreamError, loads_json, redact
from ..events import (
    Annotation,
    Event,
    Finish,
    FinishReason,
    Logprobs,
    OtherChoice,
    ReasoningDelta,
    ReasoningItem,
    RefusalDelta,
    ResponseMeta,
    ServerToolItem,
    StreamFailure,
    TextDelta,
    ToolCall,
    ToolCallArgumentsDelta,
    ToolCallStart,
    Usage,
)
from ..redaction import MASK as _MASK

__all__ = [
    "Assembler",
    "Delta",
    "DoneSignal",
    "FinishSignal",
    "ToolCallFragment",
    "annotation_of",
    "logprobs_of",
    "normalize_finish_reason",
    "parse_arguments",
]


@dataclass(frozen=True, slots=True)
class ToolCallFragment:
    """A piece of a tool call as the server sent it. `id` is None when absent or empty."""

    id: str | None = None
    index: int | None = None
    name: str | None = None
    arguments: str | None = None
    # Responses `.done` events carry the whole arguments, which win over the deltas.
    replace_arguments: bool = False
    extra: Mapping[str, Any] | None = None
    type: Literal["tool_fragment"] = "tool_fragment"


@dataclass(frozen=True, slots=True)
class FinishSignal:
    """The server's finish reason (chat `finish_reason`, Responses status / incomplete reason)."""

    raw_reason: str | None
    type: Literal["finish_signal"] = "finish_signal"


@dataclass(frozen=True, slots=True)
class DoneSignal:
    """The server said the stream is over (`data: [DONE]`, `response.completed`)."""

    type: Literal["done"] = "done"


Delta = (
    TextDelta
    | RefusalDelta
    | Logprobs
    | Annotation
    | ServerToolItem
    | OtherChoice
    | ReasoningDelta
    | ReasoningItem
    | ToolCallFragment
    | Usage
    | ResponseMeta
    | FinishSignal
    | DoneSignal
    | StreamFailure
)

_FINISH_REASONS: dict[str, FinishReason] = {
    "stop": "stop",
    "end_turn": "stop",
    "eos": "stop",
    "stop_sequence": "stop",
    "completed": "stop",
    "length": "length",
    "max_tokens": "length",
    "max_output_tokens": "length",
    "model_length": "length",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "tool_use": "tool_calls",
    "content_filter": "content_filter",
    "safety": "content_filter",
    "error": "error",
    "failed": "error",
}


def annotation_of(raw: Mapping[str, Any]) -> Annotation | None:
    """An annotation in either form: chat nests the fields under the type's name
    (`{"type": "url_citation", "url_citation": {...}}`), Responses puts them beside `type`."""
    kind = raw.get("type")
    if not isinstance(kind, str) or not kind:
        return None
    inner = raw.get(kind)
    fields: Mapping[str, Any] = inner if isinstance(inner, Mapping) else raw
    url, title = fields.get("url"), fields.get("title")
    return Annotation(
        kind=kind,
        url=url if isinstance(url, str) else None,
        title=title if isinstance(title, str) else None,
        start_index=count_of(fields.get("start_index")),
        end_index=count_of(fields.get("end_index")),
        raw=_scrubbed(raw),
    )


def logprobs_of(entries: Any, of: Literal["content", "refusal"] = "content") -> Logprobs | None:
    """A `Logprobs` event for a list of logprob entries (None when there are none)."""
    if not entries or not isinstance(entries, list):
        return None
    return Logprobs(tuple(e for e in entries if isinstance(e, Mapping)), of)


def normalize_finish_reason(raw: str | None) -> FinishReason:
    if raw is None:
        return "other"
    return _FINISH_REASONS.get(raw.lower(), "other")


# Larger counts are not counts: no response has 2**53 tokens, and llm stores usage in SQLite
# INTEGER columns (64-bit), which a hostile 1e308 would overflow far from where it came in.
_MAX_COUNT = 2**53


def count_of(value: Any) -> int | None:
    """A server's token count, or None when it is not one: a bool, a string ("12"), NaN,
    infinity, a fraction, a negative number or an absurdly large one."""
    if type(value) is int:  # the common case first (bool is a subclass, not this type)
        return value if 0 <= value <= _MAX_COUNT else None
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float):
        if not value.is_integer():  # also NaN and infinity
            return None
        value = int(value)
    if isinstance(value, int) and 0 <= value <= _MAX_COUNT:
        return value
    return None


# One encoder for every scrub: `json.dumps` with options builds a new one per call.
_to_json = json.JSONEncoder(ensure_ascii=False, default=str).encode


def _scrubbed(value: Any, secrets: tuple[str, ...] = ()) -> Any:
    """`value` (JSON data from the server) with known secrets and credential-shaped strings
    redacted: a server may echo the request's key into metadata that adapters store (llm's
    logs.db `response_json`, LangChain's `response_metadata`). Redacting the JSON text keeps it
    valid JSON (the replacement holds no quote or backslash). `secrets`: the call's own."""
    if isinstance(value, str):
        return redact(value, secrets)
    try:
        text = _to_json(value)
    except (TypeError, ValueError, RecursionError):
        return {}
    scrubbed = redact(text, secrets)
    if scrubbed == text:
        return value
    try:
        return json.loads(scrubbed)
    except ValueError:  # a number masked (`"api_key": 12345678`): no longer JSON
        return _scrubbed_items(value, secrets)


def _scrubbed_items(value: Any, secrets: tuple[str, ...]) -> Any:
    """`value` masked item by item, each tested as `name=value` (what its JSON text showed):
    a value found only through its name is masked whole."""
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, list):
        return [_scrubbed_items(item, secrets) for item in value]
    if not isinstance(value, dict):
        return value
    out: dict[Any, Any] = {}
    for name, item in value.items():
        key = redact(name, secrets) if isinstance(name, str) else name
        if isinstance(item, (dict, list)):
            out[key] = _scrubbed_items(item, secrets)
            continue
        text = f"{name}={item}"
        if redact(text, secrets) == text:
            out[key] = item
        else:
            masked = redact(item, secrets) if isinstance(item, str) else item
            out[key] = masked if masked != item else _MASK
    return out


def _flat_text(extra: Mapping[str, Any]) -> str | None:
    """Metadata whose values are all strings, integers, booleans or null (a chunk's `created`,
    `system_fingerprint`...) as `name=value` lines: redaction finds in it whatever it would
    find in the JSON text (a value after its `api_key` name, a key in a value), without the
    encoding, which cost more than the rest of a stream's first chunk. None for anything
    else (nested, floats): the JSON text is tested."""
    parts: list[str] = []
    for name, value in extra.items():
        kind = type(value)
        if kind is str or kind is int:
            parts.append(f"{name}={value}")
        elif kind is not bool and value is not None:
            return None
    return "\x00".join(parts)


def _scrubbed_meta(meta: ResponseMeta, secrets: tuple[str, ...] = ()) -> ResponseMeta:
    # One test of the three together first (each as `_scrubbed` sees it), since most often
    # nothing is masked; a match spanning two parts only sends it down the exact road.
    extra = _flat_text(meta.extra) if meta.extra else ""
    if extra is None:
        try:
            extra = _to_json(meta.extra)
        except (TypeError, ValueError, RecursionError):
            extra = None
    ident, model = meta.id or "", meta.model or ""
    if extra is not None and isinstance(ident, str) and isinstance(model, str):
        text = "\x00".join((ident, model, extra))
        if redact(text, secrets) == text:
            return meta
    return ResponseMeta(
        id=_scrubbed(meta.id, secrets) if meta.id else meta.id,
        model=_scrubbed(meta.model, secrets) if meta.model else meta.model,
        extra=_scrubbed(meta.extra, secrets) if meta.extra else meta.extra,
    )


def parse_arguments(raw: str) -> tuple[Mapping[str, Any] | None, str | None]:
    """Parse tool-call arguments. Empty means `{}`; anything but a JSON object is an error
    that is reported, not raised, so the caller can show it or send it back to the model."""
    if not raw.strip():
        return {}, None
    try:
        value = loads_json(raw)
    except MalformedJSON as exc:
        return None, f"arguments are not valid JSON: {exc.message.removeprefix('Not valid JSON: ')}"
    if not isinstance(value, dict):
        return None, f"arguments are JSON but not an object: {type(value).__name__}"
    return value, None


@dataclass(slots=True)
class _OpenCall:
    index: int
    id: str
    name: str
    parts: list[str] = field(default_factory=list)
    length: int = 0
    extra: dict[str, Any] | None = None
    started: bool = False

    def text(self) -> str:
        if len(self.parts) > 1:
            self.parts[:] = ["".join(self.parts)]
        return self.parts[0] if self.parts else ""


_THINK_OPEN = "<think>"
_THINK_CLOSE = "</think>"


# Whitespace before a `<think>` tag is withheld (and dropped if the tag follows); past this much
# the text is plain text and is delivered, so a whitespace-only stream is not held back.
_MAX_LEADING_WHITESPACE = 4096


class _ThinkSplitter:
    """Splits `<think>...</think>` at the start of the text into reasoning, across chunks.

    Linear in the text: each piece is looked at once (leading whitespace is kept as a list of
    pieces, not re-joined and re-stripped per chunk); at most `_MAX_LEADING_WHITESPACE`
    characters, or a partial tag, are held back."""

    __slots__ = ("_buffer", "_head", "_held", "_held_size", "_state")

    def __init__(self) -> None:
        self._state: Literal["start", "think", "after", "text"] = "start"
        self._buffer = ""  # "think": a partial `</think>` at the end; "after": always empty
        self._held: list[str] = []  # "start": every piece seen, in case it is plain text
        self._held_size = 0
        self._head = ""  # "start": what follows the leading whitespace (shorter than the tag)

    def feed(self, text: str) -> list[TextDelta | ReasoningDelta]:
        if self._state == "text":
            return [TextDelta(text)]
        out: list[TextDelta | ReasoningDelta] = []
        if self._state == "start":
            self._held.append(text)
            self._held_size += len(text)
            self._head += text if self._head else text.lstrip()
            if self._head.startswith(_THINK_OPEN):
                self._state = "think"
                text = self._head[len(_THINK_OPEN) :]
                self._held, self._held_size, self._head = [], 0, ""
            elif self._head and _THINK_OPEN.startswith(self._head):
                return out  # maybe a tag still arriving
            elif not self._head and self._held_size <= _MAX_LEADING_WHITESPACE:
                return out  # only whitespace so far
            else:
                return self._give_up_on_tag()
        self._buffer += text
        if self._state == "think":
            end = self._buffer.find(_THINK_CLOSE)
            if end >= 0:
                if end:
                    out.append(ReasoningDelta(self._buffer[:end]))
                self._buffer = self._buffer[end + len(_THINK_CLOSE) :]
                self._state = "after"
            else:
                keep = _partial_suffix(self._buffer, _THINK_CLOSE)
                emit = self._buffer[: len(self._buffer) - keep]
                self._buffer = self._buffer[len(self._buffer) - keep :]
                if emit:
                    out.append(ReasoningDelta(emit))
                return out
        if self._state == "after":
            rest = self._buffer.lstrip("\r\n")  # newlines after the tag are dropped, not kept
            self._buffer = ""
            if rest:
                self._state = "text"
                out.append(TextDelta(rest))
        return out

    def _give_up_on_tag(self) -> list[TextDelta | ReasoningDelta]:
        self._state = "text"
        held = "".join(self._held)
        self._held, self._held_size, self._head = [], 0, ""
        return [TextDelta(held)]

    def flush(self) -> list[TextDelta | ReasoningDelta]:
        if self._state == "start":
            return self._give_up_on_tag() if self._held_size else []
        buffered, self._buffer = self._buffer, ""
        if not buffered:
            return []
        return [ReasoningDelta(buffered) if self._state == "think" else TextDelta(buffered)]


def _partial_suffix(text: str, tag: str) -> int:
    """Length of the longest suffix of `text` that is a proper prefix of `tag`."""
    for size in range(min(len(tag) - 1, len(text)), 0, -1):
        if text.endswith(tag[:size]):
            return size
    return 0


# Deltas that are already events: passed on as they come.
_PASSED_THROUGH = (
    ReasoningDelta, ReasoningItem, Logprobs, RefusalDelta, Annotation, ServerToolItem, OtherChoice,
)


class Assembler:
    """Feed deltas, get events. Call `close()` once at the end of the body or stream."""

    def __init__(self, *, think_tags: bool = True, secrets: tuple[str, ...] = ()) -> None:
        self._secrets = secrets  # the call's, masked in what the server echoes into metadata
        self._think = _ThinkSplitter() if think_tags else None
        self._calls: list[_OpenCall] = []
        self._by_id: dict[str, _OpenCall] = {}
        self._open: list[_OpenCall] = []
        self._by_server_index: dict[int, _OpenCall] = {}
        self._meta: ResponseMeta | None = None
        self._meta_dirty = False
        self._usage: Usage | None = None
        self._finish_raw: str | None = None
        self._finished = False
        self._done = False
        self._failed = False
        self._closed = False

    @property
    def failed(self) -> bool:
        """True once a `StreamFailure` was emitted (by `feed` or `close`)."""
        return self._failed

    def feed(self, deltas: Iterable[Delta]) -> list[Event]:
        out: list[Event] = []
        for delta in deltas:
            # By exact type, most frequent first; anything else (and subclasses) in `_feed_one`:
            # an isinstance chain (or a `match`) costs up to a dozen calls per delta.
            kind = type(delta)
            if kind is TextDelta:
                if self._think is None:
                    out.append(delta)  # type: ignore[arg-type]
                else:
                    out.extend(self._think.feed(delta.text))  # type: ignore[union-attr]
            elif kind is ToolCallFragment:
                self._tool_fragment(delta, out)  # type: ignore[arg-type]
            elif kind in _PASSED_THROUGH:
                out.append(delta)  # type: ignore[arg-type]
            elif kind is Usage:
                self._usage = delta  # type: ignore[assignment]
            else:
                self._feed_one(delta, out)
        return out

    def _feed_one(self, delta: Delta, out: list[Event]) -> None:
        if isinstance(delta, TextDelta):
            if self._think is None:
                out.append(delta)
            else:
                out.extend(self._think.feed(delta.text))
        elif isinstance(delta, ToolCallFragment):
            self._tool_fragment(delta, out)
        elif isinstance(delta, _PASSED_THROUGH):
            out.append(delta)
        elif isinstance(delta, Usage):
            self._usage = delta
        elif isinstance(delta, ResponseMeta):
            self._merge_meta(delta, out)
        elif isinstance(delta, FinishSignal):
            if not self._finished:
                self._finished = True
                raw = delta.raw_reason
                self._finish_raw = raw if raw is None or raw.isalnum() else _scrubbed(raw, self._secrets)
                self._complete_calls(out)
        elif isinstance(delta, DoneSignal):
            self._done = True
        elif isinstance(delta, StreamFailure) and not self._failed:
            self._failed = True
            out.append(delta)

    def close(self) -> list[Event]:
        """End of stream: flush, complete open calls, then usage and finish (or a failure)."""
        if self._closed:
            return []
        self._closed = True
        out: list[Event] = []
        if self._failed:
            return out
        if self._think is not None:
            out.extend(self._think.flush())
        self._complete_calls(out)
        if self._meta_dirty and self._meta is not None:
            out.append(_scrubbed_meta(self._meta, self._secrets))
        if self._usage is not None:
            usage = self._usage
            if usage.raw:
                raw = _scrubbed(usage.raw, self._secrets)
                if raw is not usage.raw:  # most often nothing to mask: no copy
                    usage = replace(usage, raw=raw)
            out.append(usage)
        if self._finished:
            reason = normalize_finish_reason(self._finish_raw)
            if reason == "stop" and self._calls:
                reason = "tool_calls"
            out.append(Finish(reason, self._finish_raw, inferred=self._finish_raw is None))
        elif self._done:
            out.append(Finish("tool_calls" if self._calls else "stop", None, inferred=True))
        else:
            self._failed = True
            out.append(
                StreamFailure(
                    StreamError(
                        "The stream ended before the server said it was finished "
                        "(no finish reason and no [DONE])",
                    )
                )
            )
        return out

    # -- internals -------------------------------------------------------------------------

    def _merge_meta(self, meta: ResponseMeta, out: list[Event]) -> None:
        if self._meta is None:
            self._meta = meta = _scrubbed_meta(meta, self._secrets)
            out.append(meta)
            return
        current = self._meta
        merged_extra = dict(current.extra)
        merged_extra.update(meta.extra)
        updated = ResponseMeta(
            id=current.id or meta.id, model=current.model or meta.model, extra=merged_extra
        )
        if updated != current:
            self._meta = updated
            self._meta_dirty = True

    def _find(self, fragment: ToolCallFragment) -> _OpenCall | None:
        if fragment.id:
            return self._by_id.get(fragment.id)
        if fragment.index is not None:
            return self._by_server_index.get(fragment.index)
        return self._open[-1] if self._open else None

    def _tool_fragment(self, fragment: ToolCallFragment, out: list[Event]) -> None:
        call = self._find(fragment)
        if call is None:
            index = len(self._calls)
            call = _OpenCall(
                index=index,
                id=fragment.id or f"call_{index}",
                name=fragment.name or "",
            )
            self._calls.append(call)
            self._open.append(call)
            self._by_id[call.id] = call
            if fragment.index is not None:
                self._by_server_index[fragment.index] = call
        elif fragment.name and not call.name:
            call.name = fragment.name
        if fragment.extra:
            call.extra = {**(call.extra or {}), **fragment.extra}
        if call.name and not call.started:
            call.started = True
            out.append(ToolCallStart(call.index, call.id, call.name))
        piece = fragment.arguments
        if piece is None:
            return
        if fragment.replace_arguments:
            call.parts = [piece]
            call.length = len(piece)
            return
        if not piece:
            return
        if call.length and len(piece) == call.length and piece == call.text():
            return  # a server restating the whole arguments (already complete)
        call.parts.append(piece)
        call.length += len(piece)
        if call.started:
            out.append(ToolCallArgumentsDelta(call.index, call.id, piece))

    def _complete_calls(self, out: list[Event]) -> None:
        """Emit every open call as complete; later fragments start new calls."""
        for call in self._open:
            raw = call.text()
            arguments, error = parse_arguments(raw)
            out.append(
                ToolCall(
                    index=call.index,
                    id=call.id,
                    name=call.name,
                    arguments_raw=raw,
                    arguments=arguments,
                    arguments_error=error,
                    extra=call.extra,
                )
            )
        self._open.clear()
        self._by_id.clear()
        self._by_server_index.clear()
