"""The assembled result of one call, built from the event stream by one pure function.

`Client.complete` and both adapters' non-streaming paths use `ResultBuilder`, so a streamed and
a non-streamed call of the same response produce the same `Result`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .events import (
    Annotation,
    Event,
    Finish,
    Logprobs,
    OtherChoice,
    ReasoningDelta,
    ReasoningItem,
    RefusalDelta,
    ResponseMeta,
    ServerToolItem,
    TextDelta,
    ToolCall,
    Usage,
)

__all__ = ["Result", "ResultBuilder", "collect"]


@dataclass(frozen=True, slots=True)
class Result:
    text: str
    reasoning: str
    reasoning_summary: str
    tool_calls: tuple[ToolCall, ...]
    reasoning_items: tuple[ReasoningItem, ...]
    usage: Usage | None
    finish: Finish | None
    meta: ResponseMeta | None
    refusal: str = ""
    logprobs: tuple[Mapping[str, Any], ...] = ()
    refusal_logprobs: tuple[Mapping[str, Any], ...] = ()
    annotations: tuple[Annotation, ...] = ()
    server_tools: tuple[ServerToolItem, ...] = ()
    # Choices 1.. of a call that asked for `n` (this Result is choice 0).
    other_choices: tuple[OtherChoice, ...] = ()
    events: tuple[Event, ...] = field(default=(), repr=False)

    @property
    def finish_reason(self) -> str | None:
        return self.finish.reason if self.finish else None


class ResultBuilder:
    """Accumulates events; text pieces are joined once at the end (no quadratic building)."""

    __slots__ = (
        "_annotations",
        "_events",
        "_finish",
        "_items",
        "_keep_events",
        "_logprobs",
        "_meta",
        "_others",
        "_reasoning",
        "_refusal",
        "_refusal_logprobs",
        "_server_tools",
        "_summary",
        "_text",
        "_tool_calls",
        "_usage",
    )

    def __init__(self, *, keep_events: bool = False) -> None:
        self._keep_events = keep_events
        self._events: list[Event] = []
        self._text: list[str] = []
        self._reasoning: list[str] = []
        self._summary: list[str] = []
        self._tool_calls: list[ToolCall] = []
        self._items: list[ReasoningItem] = []
        self._usage: Usage | None = None
        self._finish: Finish | None = None
        self._meta: ResponseMeta | None = None
        self._refusal: list[str] = []
        self._logprobs: list[Mapping[str, Any]] = []
        self._refusal_logprobs: list[Mapping[str, Any]] = []
        self._annotations: list[Annotation] = []
        self._server_tools: list[ServerToolItem] = []
        self._others: list[OtherChoice] = []

    def add(self, event: Event) -> None:
        if self._keep_events:
            self._events.append(event)
        kind = type(event)
        if kind is TextDelta:  # the most frequent by far
            self._text.append(event.text)  # type: ignore[union-attr]
            return
        # One dict lookup by exact type (an isinstance chain costs up to a dozen calls per
        # event, docs/performance.md); a subclass of an event type takes the slow road.
        handler = _ADD.get(kind)
        if handler is None:
            handler = next((h for cls, h in _ADD.items() if isinstance(event, cls)), None)
            if handler is None:
                return
        handler(self, event)

    def _add_text(self, event: TextDelta) -> None:
        self._text.append(event.text)

    def _add_reasoning(self, event: ReasoningDelta) -> None:
        (self._summary if event.kind == "summary" else self._reasoning).append(event.text)

    def _add_tool_call(self, event: ToolCall) -> None:
        self._tool_calls.append(event)

    def _add_item(self, event: ReasoningItem) -> None:
        self._items.append(event)

    def _add_usage(self, event: Usage) -> None:
        self._usage = event

    def _add_finish(self, event: Finish) -> None:
        self._finish = event

    def _add_logprobs(self, event: Logprobs) -> None:
        target = self._logprobs if event.of == "content" else self._refusal_logprobs
        target.extend(event.entries)

    def _add_meta(self, event: ResponseMeta) -> None:
        meta = self._meta  # a headers-only meta may come first: merged, not replaced
        self._meta = event if meta is None else ResponseMeta(
            event.id or meta.id, event.model or meta.model, {**meta.extra, **event.extra}
        )

    def _add_refusal(self, event: RefusalDelta) -> None:
        self._refusal.append(event.text)

    def _add_annotation(self, event: Annotation) -> None:
        self._annotations.append(event)

    def _add_server_tool(self, event: ServerToolItem) -> None:
        self._server_tools.append(event)

    def _add_other(self, event: OtherChoice) -> None:
        self._others.append(event)

    def build(self) -> Result:
        return Result(
            text="".join(self._text),
            reasoning="".join(self._reasoning),
            reasoning_summary="".join(self._summary),
            tool_calls=tuple(self._tool_calls),
            reasoning_items=tuple(self._items),
            usage=self._usage,
            finish=self._finish,
            meta=self._meta,
            refusal="".join(self._refusal),
            logprobs=tuple(self._logprobs),
            refusal_logprobs=tuple(self._refusal_logprobs),
            annotations=tuple(self._annotations),
            server_tools=tuple(self._server_tools),
            other_choices=tuple(self._others),
            events=tuple(self._events),
        )


# Event type -> how `ResultBuilder` keeps it (events it does not keep are absent).
_ADD: dict[type[Any], Callable[[ResultBuilder, Any], None]] = {
    TextDelta: ResultBuilder._add_text,
    ReasoningDelta: ResultBuilder._add_reasoning,
    ToolCall: ResultBuilder._add_tool_call,
    ReasoningItem: ResultBuilder._add_item,
    Usage: ResultBuilder._add_usage,
    Finish: ResultBuilder._add_finish,
    Logprobs: ResultBuilder._add_logprobs,
    ResponseMeta: ResultBuilder._add_meta,
    RefusalDelta: ResultBuilder._add_refusal,
    Annotation: ResultBuilder._add_annotation,
    ServerToolItem: ResultBuilder._add_server_tool,
    OtherChoice: ResultBuilder._add_other,
}


def collect(events: Iterable[Event], *, keep_events: bool = False) -> Result:
    builder = ResultBuilder(keep_events=keep_events)
    for event in events:
        builder.add(event)
    return builder.build()
