"""Replay recorded Chat Completions transcripts through the real decoder, parser and assembler.

Reused by other suites (e.g. the local-server tests serve `sse_bytes(name)` and compare their
events with `replay_chat(name)`), so it exposes the pieces as well as the whole:

- `chat_transcripts()`: every `*__chat__*.txt` in tests/fixtures/transcripts
- `kind_of(name)`: "sse" (raw SSE), "jsonl" (one JSON chunk per line), "body", "error"
- `sse_bytes(name)`: a stream transcript as SSE bytes (JSON-lines framed, `[DONE]` appended)
- `replay_sse(chunks)`, `replay_body(obj)`: events from bytes or from a parsed body
- `replay_chat(name)`: events for any transcript; an `error_NNN_` body becomes one
  `StreamFailure` carrying `errors.classify_response(NNN, {}, body)`
- `summarize(events)`: the normalized result; `comparable(events)`: events with errors
  replaced by (class, message), so two runs can be compared with `==`
- `body_from_summary(summary)`: the non-streamed body that says the same as a stream
- `Expectations`: a per-file registry of checks; `usage_numbers`, `finish_triple`,
  `call_tuples`, `of_type`: short accessors for those checks
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from llm_openai_compat.config.profiles import PROFILES, Profile
from llm_openai_compat.errors import OpenAICompatError, classify_response
from llm_openai_compat.events import (
    Event,
    Finish,
    ReasoningDelta,
    ReasoningItem,
    ResponseMeta,
    StreamFailure,
    TextDelta,
    ToolCall,
    Usage,
)
from llm_openai_compat.wire.assemble import Assembler
from llm_openai_compat.wire.chat import ChatStreamParser, parse_body
from llm_openai_compat.wire.sse import SSEDecoder
from tests.support.openapi import TRANSCRIPTS, read_transcript

__all__ = [
    "Check",
    "Expectations",
    "Kind",
    "Summary",
    "body_from_summary",
    "call_tuples",
    "chat_transcripts",
    "comparable",
    "finish_triple",
    "kind_of",
    "of_type",
    "replay_body",
    "replay_chat",
    "replay_sse",
    "sse_bytes",
    "summarize",
    "usage_numbers",
]

Kind = Literal["sse", "jsonl", "body", "error"]
DEFAULT = PROFILES["default"]
_ERROR_NAME = re.compile(r"__error_(\d{3})_")


def chat_transcripts(*kinds: Kind) -> list[str]:
    """Every chat transcript, or those of the given kinds."""
    names = sorted(p.name for p in TRANSCRIPTS.glob("*__chat__*.txt"))
    return [n for n in names if kind_of(n) in kinds] if kinds else names


def kind_of(name: str) -> Kind:
    header, _ = read_transcript(name)
    if _ERROR_NAME.search(name):
        return "error"
    if "__nonstream_" in name:
        return "body"
    if "one json chunk per line" in header.get("notes", "").lower():
        return "jsonl"
    return "sse"


def sse_bytes(name: str) -> bytes:
    """The stream as the server would send it (JSON-lines transcripts had their SSE framing and
    `[DONE]` stripped by the recorder; both are put back)."""
    kind = kind_of(name)
    _, body = read_transcript(name)
    if kind == "sse":
        return body.encode("utf-8")
    if kind != "jsonl":
        raise ValueError(f"{name} is not a stream transcript")
    lines = [line for line in body.split("\n") if line.strip()]
    return "".join(f"data: {line}\n\n" for line in [*lines, "[DONE]"]).encode("utf-8")


def replay_sse(
    chunks: Iterable[bytes],
    profile: Profile = DEFAULT,
    parser_class: Callable[[Profile], Any] = ChatStreamParser,
) -> list[Event]:
    """Bytes -> SSE decoder -> shape parser -> assembler, as the client does it."""
    decoder = SSEDecoder()
    parser = parser_class(profile)
    assembler = Assembler(think_tags=profile.think_tags)
    events: list[Event] = []
    for chunk in chunks:
        for sse in decoder.feed(chunk):
            events.extend(assembler.feed(parser.feed_event(sse.event, sse.data)))
    for sse in decoder.flush():
        events.extend(assembler.feed(parser.feed_event(sse.event, sse.data)))
    events.extend(assembler.close())
    return events


def replay_body(obj: Mapping[str, Any], profile: Profile = DEFAULT) -> list[Event]:
    assembler = Assembler(think_tags=profile.think_tags)
    return [*assembler.feed(parse_body(obj, profile)), *assembler.close()]


def replay_chat(
    name: str,
    *,
    chunker: Callable[[bytes], Iterable[bytes]] | None = None,
    crlf: bool = False,
    profile: Profile = DEFAULT,
) -> list[Event]:
    """Events for one transcript. Streams may be re-chunked (`chunker`) and given CRLF endings."""
    kind = kind_of(name)
    _, body = read_transcript(name)
    if kind == "error":
        match = _ERROR_NAME.search(name)
        assert match is not None
        return [StreamFailure(classify_response(int(match.group(1)), {}, body.encode("utf-8")))]
    if kind == "body":
        return replay_body(json.loads(body), profile)
    data = sse_bytes(name)
    if crlf:
        data = data.replace(b"\n", b"\r\n")
    return replay_sse(chunker(data) if chunker else [data], profile)


@dataclass(frozen=True)
class Summary:
    """What a response said, normalized: joined text and reasoning, complete tool calls, the
    last usage, the finish (or the error), and the merged response metadata."""

    text: str
    reasoning: str
    tool_calls: tuple[ToolCall, ...]
    usage: Usage | None
    finish: Finish | None
    error: OpenAICompatError | None
    meta: ResponseMeta | None
    reasoning_summary: str = ""
    reasoning_items: tuple[ReasoningItem, ...] = ()


def summarize(events: Iterable[Event]) -> Summary:
    text: list[str] = []
    reasoning: list[str] = []
    summary: list[str] = []
    calls: list[ToolCall] = []
    items: list[ReasoningItem] = []
    usage = finish = error = meta = None
    for event in events:
        if isinstance(event, TextDelta):
            text.append(event.text)
        elif isinstance(event, ReasoningDelta):
            (reasoning if event.kind == "raw" else summary).append(event.text)
        elif isinstance(event, ToolCall):
            calls.append(event)
        elif isinstance(event, ReasoningItem):
            items.append(event)
        elif isinstance(event, Usage):
            usage = event
        elif isinstance(event, Finish):
            finish = event
        elif isinstance(event, StreamFailure):
            error = event.error
        elif isinstance(event, ResponseMeta):
            meta = event  # the assembler re-emits the merged meta last
    return Summary(
        text="".join(text),
        reasoning="".join(reasoning),
        tool_calls=tuple(calls),
        usage=usage,
        finish=finish,
        error=error,
        meta=meta,
        reasoning_summary="".join(summary),
        reasoning_items=tuple(items),
    )


def comparable(events: Iterable[Event]) -> list[Any]:
    """Events as values: exceptions compare by identity, so errors become (class, message)."""
    return [
        (type(e.error).__name__, str(e.error)) if isinstance(e, StreamFailure) else e
        for e in events
    ]


def body_from_summary(summary: Summary) -> dict[str, Any]:
    """A non-streamed `chat.completion` body that says what a streamed response said."""
    message: dict[str, Any] = {"role": "assistant", "content": summary.text or None}
    if summary.reasoning_items:  # opaque items only travel in OpenRouter's reasoning_details
        details = (
            [{"type": "reasoning.text", "text": summary.reasoning}] if summary.reasoning else []
        )
        message["reasoning_details"] = details + [dict(i.raw) for i in summary.reasoning_items]
    elif summary.reasoning:
        message["reasoning_content"] = summary.reasoning
    if summary.tool_calls:
        message["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments_raw},
                **(call.extra or {}),
            }
            for call in summary.tool_calls
        ]
    choice: dict[str, Any] = {"index": 0, "message": message}
    if summary.finish is not None:
        choice["finish_reason"] = summary.finish.raw_reason
    body: dict[str, Any] = {"object": "chat.completion", "choices": [choice]}
    if summary.meta is not None:
        body["id"] = summary.meta.id
        body["model"] = summary.meta.model
        body.update(summary.meta.extra)
    if summary.usage is not None:
        body["usage"] = dict(summary.usage.raw)
    return body


# -- for per-file expectations ------------------------------------------------------------------

Check = Callable[[Summary, list[Event]], None]


class Expectations:
    """Checks registered per transcript file with `@expectations("name.txt")`."""

    def __init__(self) -> None:
        self.checks: dict[str, Check] = {}

    def __call__(self, name: str) -> Callable[[Check], Check]:
        def register(check: Check) -> Check:
            assert name not in self.checks, f"two expectations for {name}"
            self.checks[name] = check
            return check

        return register

    def run(self, name: str) -> None:
        events = replay_chat(name)
        self.checks[name](summarize(events), events)


def usage_numbers(s: Summary) -> tuple[int | None, ...]:
    """(input, output, total, cached input, reasoning)."""
    assert s.usage is not None, "no usage"
    u = s.usage
    return (
        u.input_tokens,
        u.output_tokens,
        u.total_tokens,
        u.cached_input_tokens,
        u.reasoning_tokens,
    )


def finish_triple(s: Summary) -> tuple[str, str | None, bool]:
    """(normalized reason, raw reason, inferred); fails if the response ended in an error."""
    assert s.error is None, s.error
    assert s.finish is not None, "no finish"
    return (s.finish.reason, s.finish.raw_reason, s.finish.inferred)


def call_tuples(s: Summary) -> list[tuple[int, str, str, Any]]:
    """(index, id, name, parsed arguments) per complete call; all arguments must parse."""
    for call in s.tool_calls:
        assert call.arguments_error is None, call
    return [(c.index, c.id, c.name, c.arguments) for c in s.tool_calls]


def of_type(events: Iterable[Event], kind: type[Any]) -> list[Any]:
    return [e for e in events if isinstance(e, kind)]
