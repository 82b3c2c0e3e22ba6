"""The stream-event union both wire shapes normalize into.

Small frozen dataclasses with a literal `type` tag, so adapters can `match` on them and never
care which wire shape (Chat Completions or Responses) produced them. The order a consumer sees:
`ResponseMeta` (once, when known), then any interleaving of text, refusal, logprobs,
annotation, reasoning, server-side tool and tool-call events, then complete `ToolCall`s, one
`Usage` (if the server reported any), one `Finish`. Nothing the server said about the answer is
dropped: a refusal is its own event (never an empty text), logprobs and citations ride beside
the text they describe.
`StreamFailure` replaces `Finish` when the server reported an error inside the stream.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from .errors import OpenAICompatError

__all__ = [
    "Annotation",
    "Event",
    "Finish",
    "FinishReason",
    "Logprobs",
    "OtherChoice",
    "ReasoningDelta",
    "ReasoningItem",
    "ReasoningKind",
    "RefusalDelta",
    "ResponseMeta",
    "ServerToolItem",
    "StreamFailure",
    "TextDelta",
    "ToolCall",
    "ToolCallArgumentsDelta",
    "ToolCallStart",
    "Usage",
    "coalesce",
]

FinishReason = Literal["stop", "length", "tool_calls", "content_filter", "error", "other"]
ReasoningKind = Literal["raw", "summary"]


@dataclass(frozen=True, slots=True)
class ResponseMeta:
    """Identifiers of the response: its id, the model that served it, and extras worth keeping
    (e.g. Perplexity's citations, Azure's prompt filter results)."""

    id: str | None
    model: str | None
    extra: Mapping[str, Any] = field(default_factory=dict)
    type: Literal["meta"] = "meta"


@dataclass(frozen=True, slots=True)
class TextDelta:
    text: str
    type: Literal["text"] = "text"


@dataclass(frozen=True, slots=True)
class RefusalDelta:
    """The model declined (chat `refusal`, a Responses `refusal` part). Its own event, so a
    refusal is never mistaken for an empty answer."""

    text: str
    type: Literal["refusal"] = "refusal"


@dataclass(frozen=True, slots=True)
class Logprobs:
    """Token log probabilities as the server sent them (OpenAI's `{token, logprob, bytes,
    top_logprobs}` entries), for the text (`of="content"`) or the refusal."""

    entries: tuple[Mapping[str, Any], ...]
    of: Literal["content", "refusal"] = "content"
    type: Literal["logprobs"] = "logprobs"


@dataclass(frozen=True, slots=True)
class Annotation:
    """A citation (or other annotation) on the answer text. `kind` is the server's type
    (`url_citation`, `file_citation`, ...); url/title/indexes are read from the nested (chat) or
    flat (Responses) form; `raw` is the server's object."""

    kind: str
    url: str | None = None
    title: str | None = None
    start_index: int | None = None
    end_index: int | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)
    type: Literal["annotation"] = "annotation"


@dataclass(frozen=True, slots=True)
class ServerToolItem:
    """A built-in tool the server ran itself (Responses `web_search_call`, `file_search_call`,
    `code_interpreter_call`, ...): kept as the server sent it, never executed here."""

    kind: str
    id: str | None
    raw: Mapping[str, Any] = field(default_factory=dict)
    type: Literal["server_tool"] = "server_tool"


@dataclass(frozen=True, slots=True)
class OtherChoice:
    """Choice `index` (1, 2, ...) of a non-streamed response asked for `n` choices: its events,
    assembled like choice 0's (which are the call's own events)."""

    index: int
    events: tuple[Event, ...]
    type: Literal["choice"] = "choice"


@dataclass(frozen=True, slots=True)
class ReasoningDelta:
    """Reasoning text: `raw` chain of thought, or a `summary` of it (Responses)."""

    text: str
    kind: ReasoningKind = "raw"
    type: Literal["reasoning"] = "reasoning"


@dataclass(frozen=True, slots=True)
class ReasoningItem:
    """An opaque reasoning item to send back on the next turn (Responses `reasoning` output
    items: id, summary, encrypted_content; or a reasoning_details list from a chat server)."""

    id: str | None
    summary: tuple[str, ...] = ()
    encrypted_content: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)
    type: Literal["reasoning_item"] = "reasoning_item"


@dataclass(frozen=True, slots=True)
class ToolCallStart:
    """A tool call began. `index` is stable and dense (0, 1, 2, ...) whatever the server sent."""

    index: int
    id: str
    name: str
    type: Literal["tool_call_start"] = "tool_call_start"


@dataclass(frozen=True, slots=True)
class ToolCallArgumentsDelta:
    index: int
    id: str
    delta: str
    type: Literal["tool_call_delta"] = "tool_call_delta"


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A complete tool call, emitted at finish or end of stream, never earlier.

    `arguments` is the parsed JSON object (`{}` for an empty string); when the raw text is not
    a JSON object, `arguments` is None and `arguments_error` says why.
    `extra` carries provider data that must be echoed back (Gemini's `extra_content`).
    """

    index: int
    id: str
    name: str
    arguments_raw: str
    arguments: Mapping[str, Any] | None
    arguments_error: str | None = None
    extra: Mapping[str, Any] | None = None
    type: Literal["tool_call"] = "tool_call"


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts, normalized; `raw` is the server's own usage object (last one wins)."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    total_tokens: int | None = None
    cached_input_tokens: int | None = None
    reasoning_tokens: int | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)
    type: Literal["usage"] = "usage"


@dataclass(frozen=True, slots=True)
class Finish:
    """The response ended. `raw_reason` is what the server said (None if it said nothing,
    in which case `reason` was inferred and `inferred` is True)."""

    reason: FinishReason
    raw_reason: str | None = None
    inferred: bool = False
    type: Literal["finish"] = "finish"


@dataclass(frozen=True, slots=True)
class StreamFailure:
    """The server reported an error inside a 200 response (an `error` frame or event)."""

    error: OpenAICompatError
    type: Literal["error"] = "error"


Event = (
    ResponseMeta
    | TextDelta
    | RefusalDelta
    | Logprobs
    | Annotation
    | ServerToolItem
    | OtherChoice
    | ReasoningDelta
    | ReasoningItem
    | ToolCallStart
    | ToolCallArgumentsDelta
    | ToolCall
    | Usage
    | Finish
    | StreamFailure
)


def coalesce(events: list[Event]) -> list[Event]:
    """`events` with each run of adjacent pieces of one kind joined into one event: text,
    refusal, reasoning of one kind, and the argument pieces of one tool call. Order, and every
    other event, are kept as they are; nothing is dropped. The clients' `stream_reads` applies
    it to what arrived in one network read, so a host pays its per-chunk cost (callbacks,
    chunk merging, partial-JSON parsing) once per read instead of once per server event."""
    if len(events) < 2:
        return events
    out: list[Event] = []
    run: list[str] = []
    head: Event | None = None  # the first event of the run being joined
    head_kind: type | None = None
    for event in events:
        kind = type(event)
        # Text (by far the most frequent) joins without a call; others ask `_joins`.
        if kind is head_kind and (kind is TextDelta or _joins(head, event)):  # type: ignore[arg-type]
            run.append(_piece(event) if kind is not TextDelta else event.text)  # type: ignore[union-attr]
            continue
        if head is not None:
            out.append(_joined(head, run) if len(run) > 1 else head)
            head = head_kind = None
        if kind in _JOINABLE:
            head, head_kind, run = event, kind, [_piece(event)]
        else:
            out.append(event)
    if head is not None:
        out.append(_joined(head, run) if len(run) > 1 else head)
    return out


_JOINABLE = (TextDelta, RefusalDelta, ReasoningDelta, ToolCallArgumentsDelta)


def _joins(head: Event, event: Event) -> bool:
    if isinstance(head, ReasoningDelta):
        return head.kind == event.kind  # type: ignore[union-attr]
    if isinstance(head, ToolCallArgumentsDelta):
        return head.index == event.index and head.id == event.id  # type: ignore[union-attr]
    return True


def _piece(event: Event) -> str:
    if isinstance(event, ToolCallArgumentsDelta):
        return event.delta
    return event.text  # type: ignore[union-attr]


def _joined(head: Event, run: list[str]) -> Event:
    text = "".join(run)
    if isinstance(head, TextDelta):
        return TextDelta(text)
    if isinstance(head, RefusalDelta):
        return RefusalDelta(text)
    if isinstance(head, ReasoningDelta):
        return ReasoningDelta(text, head.kind)
    assert isinstance(head, ToolCallArgumentsDelta)
    return ToolCallArgumentsDelta(head.index, head.id, text)
